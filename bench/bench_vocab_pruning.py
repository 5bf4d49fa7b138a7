"""Benchmark: how much of the vocab a corpus keeps (prune_vocab.py's rule).

For each training set of ../shared/data, the vocab prune_vocab.py keeps
(the special tokens and every piece the tokenizer makes of the file's
texts; bert_toolkit/compression/vocab.py): Google's 21,128-token Chinese
vocab for the Chinese sets, the 30,522-token English uncased vocab of
all-MiniLM-L6-v2 for the English ones. Plain-text files are read a whole
line at a time (tags and labels included), JSON files as their strings.

  .venv/bin/python bench/bench_vocab_pruning.py

Writes bench/results/vocab_pruning.json. Counts only: no timing, so it
needs no quiet machine.
"""

import json
import os
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)

from bert_toolkit.compression import vocab as vocab_pruning  # pylint: disable=g-import-not-at-top
import tokenization  # pylint: disable=g-import-not-at-top

SHARED = os.path.join(os.path.dirname(REPO_DIR), "shared")
DATA = os.path.join(SHARED, "data")
CHINESE_VOCAB = os.path.join(SHARED, "reference", "bert_zh_tiny", "vocab.txt")
ENGLISH_VOCAB = os.path.join(SHARED, "reference", "distilbert_en_tiny",
                             "vocab.txt")
CHINESE = (("ChnSentiCorp", ("chnsenticorp/train.tsv",)),
           ("MSRA NER", ("msra_ner/msra_train_bio",)),
           ("CLUENER 2020", ("cluener2020/train.json",)),
           ("TNEWS", ("clue_tnews/train.json",)),
           ("CMRC 2018 trial", ("cmrc2018/cmrc2018_trial.json",)))
ENGLISH = (("SST-2", ("sst2/train.tsv",)),
           ("CoNLL-2003", ("conll2003/train.txt",)))


def measure(tokenizer, files):
  used, texts = vocab_pruning.used_tokens(
      tokenizer, [os.path.join(DATA, f) for f in files])
  kept = vocab_pruning.kept_ids(tokenizer.vocab, used)
  return {"files": list(files), "texts": texts,
          "vocab": len(tokenizer.vocab), "kept": len(kept)}


def main():
  chinese = tokenization.from_vocab(CHINESE_VOCAB, do_lower_case=True)
  english = tokenization.from_vocab(ENGLISH_VOCAB, do_lower_case=True)
  rows = {}
  for name, files in CHINESE:
    rows[name] = dict(measure(chinese, files), language="Chinese")
  rows["the five Chinese sets together"] = dict(
      measure(chinese, sum((files for _, files in CHINESE), ())),
      language="Chinese")
  for name, files in ENGLISH:
    rows[name] = dict(measure(english, files), language="English")
  for name, row in rows.items():
    print("%-32s %9d texts %6d -> %6d tokens (%.1f%%)" % (
        name, row["texts"], row["vocab"], row["kept"],
        100.0 * row["kept"] / row["vocab"]))
  out = os.path.join(BENCH_DIR, "results", "vocab_pruning.json")
  with open(out, "w", encoding="utf-8") as f:
    json.dump({"command": ".venv/bin/python bench/bench_vocab_pruning.py",
               "corpora": rows}, f, indent=2, ensure_ascii=False)
    f.write("\n")


if __name__ == "__main__":
  main()

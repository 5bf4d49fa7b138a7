"""Long texts: head vs head_tail truncation vs windows, on ChnSentiCorp.

Model: the small Chinese BERT built by tools/pretrain_small_chinese.sh
(4 layers, hidden 256; .cache/small_chinese/model). For each max_seq_length
(128, 256) and each way of reading a long review (--truncation=head,
--truncation=head_tail, --long_text=windows with mean pooling), one
run_classifier.py run: batch 32, lr 1e-4, seed 1 (the settings of the
model's ChnSentiCorp row in the README) but 1 epoch (--epochs; at 256 a
3-epoch run takes ~40 minutes on 2 cores), dev and test accuracy.

  flock /tmp/bench.lock .venv/bin/python bench/bench_long_text.py
  -> bench/results/long_text.json and a Markdown table

Runs live in bench/runs/long_text/ and resume when rerun.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "chnsenticorp")
MODES = (("head", ["--truncation=head"]),
         ("head_tail", ["--truncation=head_tail"]),
         ("windows", ["--long_text=windows"]))


def long_share(vocab, max_seq_length):
  """Share of dev+test reviews longer than the room (WordPieces)."""
  sys.path.insert(0, ROOT)
  import tokenization  # pylint: disable=g-import-not-at-top
  tokenizer = tokenization.FullTokenizer(vocab, True)
  lengths = []
  for split in ("dev", "test"):
    with open(os.path.join(DATA, split + ".tsv"), encoding="utf-8") as f:
      for line in f.readlines()[1:]:
        lengths.append(len(tokenizer.tokenize(line.split("\t", 1)[1])))
  return sum(n > max_seq_length - 2 for n in lengths) / len(lengths)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", default=os.path.join(
      ROOT, ".cache", "small_chinese", "model"))
  parser.add_argument("--epochs", default="1")
  parser.add_argument("--lengths", default="128,256")
  parser.add_argument("--out", default=os.path.join(
      ROOT, "bench", "results", "long_text.json"))
  args = parser.parse_args()
  runs = os.path.join(ROOT, "bench", "runs", "long_text")
  os.makedirs(runs, exist_ok=True)
  results = {"command": " ".join(sys.argv),
             "model": os.path.relpath(args.model, ROOT),
             "epochs": args.epochs, "rows": []}
  for length in [int(n) for n in args.lengths.split(",")]:
    share = long_share(os.path.join(args.model, "vocab.txt"), length)
    for mode, flags in MODES:
      out = os.path.join(runs, "%s_%d_e%s" % (mode, length, args.epochs))
      cmd = [sys.executable, os.path.join(ROOT, "run_classifier.py"),
             "--task=chnsenticorp", "--data_dir=" + DATA,
             "--init_checkpoint=" + args.model, "--output_dir=" + out,
             "--cache_dir=" + os.path.join(runs, "features"),
             "--do_train", "--do_eval", "--do_predict",
             "--max_seq_length=%d" % length, "--train_batch_size=32",
             "--learning_rate=1e-4", "--num_train_epochs=" + args.epochs,
             "--seed=1", "--log_every_seconds=120"] + flags
      start = time.time()
      with open(out + ".log", "a") as log:
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
      if code:
        sys.exit("%s failed (exit %d): see %s.log" % (mode, code, out))
      with open(os.path.join(out, "run_results.json")) as f:
        run = json.load(f)
      row = {"max_seq_length": length, "mode": mode,
             "long_share": round(share, 4),
             "dev_accuracy": run["eval"]["accuracy"],
             "test_accuracy": run["predict"]["accuracy"],
             "seconds_this_call": round(time.time() - start, 1)}
      results["rows"].append(row)
      print(json.dumps(row), flush=True)
  with open(args.out, "w") as f:
    json.dump(results, f, indent=2)
  print("| max_seq_length | reviews longer than the room | mode | dev acc | "
        "test acc |\n|---|---|---|---|---|")
  for row in results["rows"]:
    print("| %d | %.1f%% | %s | %.4f | %.4f |" % (
        row["max_seq_length"], 100 * row["long_share"], row["mode"],
        row["dev_accuracy"], row["test_accuracy"]))


if __name__ == "__main__":
  main()

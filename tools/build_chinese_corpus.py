"""Builds the pre-training corpus of the small Chinese model from the
TRAINING splits of ../shared/data only (one sentence a line, a blank line
between documents), and lists exactly what went in.

  .venv/bin/python tools/build_chinese_corpus.py --output_file corpus.txt

Files read (nothing else; no dev or test file of any data set):
  chnsenticorp/train.tsv         each review a document, cut into sentences
  msra_ner/msra_train_bio        the sentences of the train split that
                                 run_ner.py trains on: the 5% it carves off
                                 as dev (seed 12345) are left out; every 10
                                 consecutive sentences (one newspaper
                                 stretch) form a document
  cluener2020/train.json         each text a document, cut into sentences
  clue_tnews/train.json          headlines grouped 8 at a time by category
                                 into documents (a headline alone has no
                                 next sentence)
Writes OUTPUT and OUTPUT.json (files, sha256, documents, lines, chars).
"""

import argparse
import collections
import hashlib
import json
import os
import re
import sys

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_DIR)

from bert_toolkit.data import ner_data  # pylint: disable=g-import-not-at-top
from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top

DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data")
SOURCES = ("chnsenticorp/train.tsv", "msra_ner/msra_train_bio",
           "cluener2020/train.json", "clue_tnews/train.json")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；])")


def sentences(text):
  """Cuts a text after 。！？!?； (keeping them), dropping empty pieces."""
  return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def chnsenticorp(path):
  with open(path, encoding="utf-8") as f:
    next(f)
    for line in f:
      label_text = line.rstrip("\n").split("\t", 1)
      if len(label_text) == 2:
        yield sentences(label_text[1])


def msra(path):
  """The train part of run_ner.py's split (the carved dev left out)."""
  examples = ner_data.read_msra(path)
  train, _ = ner_data.carve_dev_split(examples)
  for start in range(0, len(train), 10):
    yield ["".join(e.units) for e in train[start:start + 10]]


def cluener(path):
  with open(path, encoding="utf-8") as f:
    for line in f:
      if line.strip():
        yield sentences(json.loads(line)["text"])


def tnews(path):
  by_label = collections.defaultdict(list)
  with open(path, encoding="utf-8") as f:
    for line in f:
      if line.strip():
        record = json.loads(line)
        by_label[record["label"]].append(record["sentence"].strip())
  for label in sorted(by_label):
    headlines = by_label[label]
    for start in range(0, len(headlines), 8):
      yield headlines[start:start + 8]


READERS = {"chnsenticorp/train.tsv": chnsenticorp,
           "msra_ner/msra_train_bio": msra,
           "cluener2020/train.json": cluener,
           "clue_tnews/train.json": tnews}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--output_file", required=True)
  parser.add_argument("--data_dir", default=DATA_DIR)
  args = parser.parse_args()
  report = {"files": [], "documents": 0, "lines": 0, "chars": 0}
  with atomic.replacing(args.output_file) as out:
    for source in SOURCES:
      path = os.path.join(args.data_dir, source)
      with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
      documents = lines = chars = 0
      for document in READERS[source](path):
        document = [s for s in document if s]
        if not document:
          continue
        out.write("\n".join(document) + "\n\n")
        documents += 1
        lines += len(document)
        chars += sum(len(s) for s in document)
      report["files"].append({"file": source, "sha256": digest,
                              "documents": documents, "lines": lines,
                              "chars": chars})
      report["documents"] += documents
      report["lines"] += lines
      report["chars"] += chars
  with open(args.output_file + ".json", "w") as f:
    json.dump(report, f, indent=2)
  print(json.dumps(report, indent=2))


if __name__ == "__main__":
  main()

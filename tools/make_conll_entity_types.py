"""Builds a multi-label classification task from CoNLL-2003: which entity
types (PER, LOC, ORG, MISC) does a sentence contain, from its words alone.

  python tools/make_conll_entity_types.py ../shared/data/conll2003 OUT_DIR
  -> OUT_DIR/{train,dev,test}.tsv with the header `labels<TAB>sentence`

Rules:
- Sentences are read by the project's own CoNLL-2003 reader
  (bert_toolkit.data.ner_data.read_conll2003: -DOCSTART- lines skipped, IOB2 tags).
- A sentence's labels are the distinct types of its entities, in the fixed
  order PER, LOC, ORG, MISC, joined by ","; a sentence without an entity has
  an empty label cell (no label).
- The sentence is its words joined by single spaces.
- Sentences of one or two words are dropped: they are mostly document
  headers and bylines ("LONDON 1996-08-30", "SOCCER -") whose type is a
  lookup, not a reading; the count dropped is printed per file.
- The CoNLL train/dev/test splits stay as they are (dev = testa, test =
  testb), so no test sentence was seen in training.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))

from bert_toolkit.data import ner_data  # pylint: disable=g-import-not-at-top
from bert_toolkit.data import tag_schemes  # pylint: disable=g-import-not-at-top

TYPES = ("PER", "LOC", "ORG", "MISC")
MIN_WORDS = 3


def sentence_labels(tags):
  """IOB2 tags -> the sorted (by TYPES) distinct entity types."""
  found = {entity_type for entity_type, _, _ in
           tag_schemes.entity_spans(tags, "BIO")}
  return [t for t in TYPES if t in found]


def convert(src_path, dst_path):
  """One CoNLL file -> one TSV; returns (written, dropped)."""
  examples = ner_data.read_conll2003(src_path)
  written = dropped = 0
  with open(dst_path, "w", encoding="utf-8") as out:
    out.write("labels\tsentence\n")
    for example in examples:
      if len(example.units) < MIN_WORDS:
        dropped += 1
        continue
      text = " ".join(example.units).replace("\t", " ")
      out.write(",".join(sentence_labels(example.tags)) + "\t" + text + "\n")
      written += 1
  return written, dropped


def main(src, dst):
  os.makedirs(dst, exist_ok=True)
  for split in ("train", "dev", "test"):
    written, dropped = convert(os.path.join(src, split + ".txt"),
                               os.path.join(dst, split + ".tsv"))
    print("%s: %d sentences, %d of under %d words dropped"
          % (split, written, dropped, MIN_WORDS))


if __name__ == "__main__":
  if len(sys.argv) != 3:
    sys.exit("usage: python tools/make_conll_entity_types.py "
             "CONLL2003_DIR OUT_DIR")
  main(sys.argv[1], sys.argv[2])

"""Classification data sets: where each split lives and how a line is read.

A `ClassificationTask` names the files of the train/dev/test splits in
`--data_dir`, their format (tsv, csv, jsonl), which columns hold text_a,
text_b and the label, and the label list (fixed, or read from the training
file and saved as labels.txt). Known tasks:

  chnsenticorp  train/dev/test.tsv, header `label<TAB>text_a`
  sst2          GLUE train/dev.tsv `sentence<TAB>label`; test.tsv unlabeled
  lcqmc         train/dev/test.txt `text_a<TAB>text_b<TAB>label`, no header
  tnews         CLUE train/dev/test.json lines {"sentence", "label"}
  tsv, csv, jsonl  generic: --text_a_column/--text_b_column/--label_column
                (names: the first line is a header; 0-based numbers: none)

Bad lines raise `InputError` with file, line and the fix; lines with an
empty text are skipped and counted (documented in the README).
"""

import collections
import csv
import json
import os

import tensorflow.compat.v1 as tf

from finetuning import split_files
from finetuning.errors import InputError

InputExample = collections.namedtuple(
    "InputExample", ["guid", "text_a", "text_b", "label"])

SPLITS = ("train", "dev", "test")


class ClassificationTask(split_files.SplitFiles):
  """Reads the splits of one classification data set."""

  def __init__(self, name, fmt, files, text_a, label, text_b=None,
               header=None, labels=None, label_file=None):
    """Args:
      name: task name.
      fmt: "tsv", "csv" or "jsonl".
      files: dict split -> list of candidate file names in data_dir.
      text_a, text_b, label: column names (header / JSON keys) or 0-based
        column numbers; text_b may be None.
      header: whether the first line is a header (default: columns are
        names).
      labels: fixed label list, or None to read it from the training file.
      label_file: optional JSON-lines file in data_dir with {"label": ...}
        per line (CLUE's labels.json), read when present.
    """
    self.name = name
    self.fmt = fmt
    self.files = files
    self.text_a = text_a
    self.text_b = text_b
    self.label = label
    self.header = (isinstance(text_a, str) if header is None else header)
    self.labels = list(labels) if labels else None
    self.label_file = label_file

  def get_examples(self, data_dir, split, label_list=None):
    """Reads a split; returns a list of InputExample.

    Args:
      data_dir: folder with the split files.
      split: "train", "dev" or "test".
      label_list: labels the model knows; a label outside it is an error
        (None: the task's fixed labels, or any label while reading the
        training file of a task whose labels come from the data).

    Test files without a label column give examples with label None.
    """
    path = self.require_file(data_dir, split)
    if label_list is None and self.labels:
      label_list = self.labels  # a fixed label set checks every split
    examples, skipped = [], []
    for line_number, row in self._rows(path):
      example = self._example(path, line_number, row, split, label_list)
      if example is None:
        skipped.append(line_number)
      else:
        examples.append(example)
    if skipped:
      tf.logging.warning("%s: skipped %d line(s) with an empty text (lines %s)",
                         path, len(skipped),
                         ", ".join(str(n) for n in skipped[:10]) +
                         (", ..." if len(skipped) > 10 else ""))
    if not examples:
      raise InputError(path, None, "no examples in the file",
                       "Check --task and --data_dir")
    return examples

  def get_labels(self, data_dir, train_examples=None):
    """The label list: fixed, from label_file, or sorted training labels."""
    if self.labels:
      return list(self.labels)
    if self.label_file:
      path = os.path.join(data_dir, self.label_file)
      if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
          return [str(json.loads(line)["label"]) for line in f if line.strip()]
    if train_examples is None:
      raise InputError(data_dir, None, "the label list of task %s comes from "
                       "the training data" % self.name,
                       "Run with --do_train, or keep labels.txt in "
                       "--output_dir")
    return sorted({e.label for e in train_examples if e.label is not None})

  # --------------------------------------------------------------- rows ---

  def _rows(self, path):
    """Yields (line_number, row) with row a list (tsv/csv) or dict (jsonl)."""
    with open(path, "r", encoding="utf-8", newline="") as f:
      if self.fmt == "jsonl":
        for line_number, line in enumerate(f, start=1):
          if not line.strip():
            continue
          try:
            yield line_number, json.loads(line)
          except ValueError as e:
            raise InputError(path, line_number, "not valid JSON (%s)" % e,
                             "Each line must be one JSON object")
        return
      if self.fmt == "csv":
        rows = csv.reader(f)
      else:
        rows = (line.rstrip("\r\n").split("\t") for line in f)
      header = None
      for line_number, row in enumerate(rows, start=1):
        if header is None and self.header:
          header = row
          self._header = header
          continue
        if row == [""] or not row:
          continue
        yield line_number, row

  def _column(self, path, line_number, row, column, split):
    """The value of `column` in `row`, or None if the file lacks it."""
    if column is None:
      return None
    if isinstance(row, dict):
      if column not in row:
        return None
      return str(row[column])
    if isinstance(column, str):
      header = getattr(self, "_header", None) or []
      if column not in header:
        return None
      index = header.index(column)
      expected = len(header)
    else:
      index = column
      expected = None
    if expected is not None and len(row) != expected:
      raise InputError(
          path, line_number,
          "expected %d %s columns (as the header), found %d" %
          (expected, self._separator_name(), len(row)),
          "Check for a stray tab or a missing column on that line")
    if index >= len(row):
      raise InputError(
          path, line_number, "expected at least %d %s columns, found %d" %
          (index + 1, self._separator_name(), len(row)),
          "Check the column options and that line")
    return row[index]

  def _separator_name(self):
    return {"tsv": "tab-separated", "csv": "comma-separated"}.get(self.fmt, "")

  def _example(self, path, line_number, row, split, label_list):
    """One row -> InputExample (None when a text is empty)."""
    text_a = self._column(path, line_number, row, self.text_a, split)
    if text_a is None:
      raise InputError(path, line_number,
                       "no column %r for text_a" % (self.text_a,),
                       "Set --text_a_column to a column of the file")
    text_b = self._column(path, line_number, row, self.text_b, split)
    if self.text_b is not None and text_b is None:
      raise InputError(path, line_number,
                       "no column %r for text_b" % (self.text_b,),
                       "Set --text_b_column to a column of the file")
    label = self._column(path, line_number, row, self.label, split)
    if label is None and split != "test":
      raise InputError(path, line_number,
                       "no label column %r" % (self.label,),
                       "Set --label_column to the label column")
    if label is not None:
      label = label.strip()
      if label_list is not None and label not in label_list:
        raise InputError(
            path, line_number,
            "label %r is not one the model was trained on (%s)" %
            (label, ", ".join(label_list[:20])),
            "Fix the label, or add examples of it to the training file")
    if not text_a.strip() or (text_b is not None and not text_b.strip()):
      return None
    return InputExample("%s-%d" % (split, line_number), text_a, text_b, label)


def _generic(name, fmt, text_a, text_b, label):
  ext = {"tsv": ["tsv", "txt"], "csv": ["csv"], "jsonl": ["jsonl", "json"]}
  files = {s: ["%s.%s" % (s, e) for e in ext[fmt]] for s in SPLITS}
  return ClassificationTask(name, fmt, files, text_a, label, text_b=text_b)


def _column_arg(value):
  """'3' -> 3 (a column number), 'sentence' -> 'sentence', '' -> None."""
  if value is None or value == "":
    return None
  return int(value) if str(value).isdigit() else value


def get_task(name, text_a_column=None, text_b_column=None,
             label_column=None):
  """Returns the ClassificationTask called `name`.

  Raises:
    ValueError: an unknown task name, listing the known ones.
  """
  name = name.lower()
  if name == "chnsenticorp":
    return ClassificationTask(
        name, "tsv", {s: [s + ".tsv"] for s in SPLITS}, "text_a", "label",
        labels=["0", "1"])
  if name in ("sst2", "sst-2"):
    return ClassificationTask(
        "sst2", "tsv", {s: [s + ".tsv"] for s in SPLITS}, "sentence",
        "label", labels=["0", "1"])
  if name == "lcqmc":
    return ClassificationTask(
        name, "tsv", {s: [s + ".txt", s + ".tsv"] for s in SPLITS}, 0, 2,
        text_b=1, header=False, labels=["0", "1"])
  if name == "tnews":
    return ClassificationTask(
        name, "jsonl", {s: [s + ".json", s + ".jsonl"] for s in SPLITS},
        "sentence", "label", label_file="labels.json")
  if name in ("tsv", "csv", "jsonl"):
    text_a = _column_arg(text_a_column)
    label = _column_arg(label_column)
    if text_a is None or label is None:
      raise ValueError("--task=%s needs --text_a_column and --label_column"
                       % name)
    return _generic(name, name, text_a, _column_arg(text_b_column), label)
  raise ValueError("unknown task %r; known: chnsenticorp, sst2, lcqmc, tnews, "
                   "tsv, csv, jsonl" % name)


def write_labels(path, labels):
  """Saves the label list, one a line."""
  with open(path, "w", encoding="utf-8") as f:
    for label in labels:
      f.write(label + "\n")


def read_labels(path):
  """Reads a labels.txt written by write_labels."""
  with open(path, encoding="utf-8") as f:
    return [line.rstrip("\n") for line in f if line.rstrip("\n")]

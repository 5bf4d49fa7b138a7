"""Classification data sets: where each split lives and how a line is read.

A `ClassificationData` names the files of the train/dev/test splits in
`--data_dir`, their format (tsv, csv, jsonl), which columns hold text_a,
text_b and the label, and the label list (fixed, or read from the training
file). Known tasks:

  chnsenticorp  train/dev/test.tsv, header `label<TAB>text_a`
  sst2          GLUE train/dev.tsv `sentence<TAB>label`; test.tsv
                `index<TAB>sentence`, unlabeled
  lcqmc         train/dev/test.txt `text_a<TAB>text_b<TAB>label`, no header
  tnews         CLUE train/dev/test.json lines {"sentence", "label"}, labels
                from labels.json when present
  cola, mrpc, mnli, xnli   Google's GLUE / XNLI processors (run_classifier.py
                of google-research/bert), the same files and columns:
                cola   train/dev.tsv header-less (source, label, *, sentence);
                       test.tsv `index<TAB>sentence`
                mrpc   train/dev/test.tsv, `Quality`, `#1 String`, `#2 String`
                mnli   train.tsv, dev_matched.tsv, test_matched.tsv;
                       `sentence1`, `sentence2`, `gold_label`
                xnli   train multinli/multinli.train.zh.tsv (`premise`,
                       `hypo`, `label`; "contradictory" read as
                       "contradiction"); dev/test xnli.dev/test.tsv, the
                       rows whose `language` is zh
  afqmc, cmnli, iflytek, csl   CLUE's JSON lines (train/dev/test.json; the
                test files are unlabelled, with an `id`): afqmc and cmnli
                `sentence1`, `sentence2`, `label` (cmnli rows labelled "-"
                are skipped, as CLUE's baseline does); iflytek `sentence`,
                `label` (labels from labels.json when present); csl text_a
                the `keyword` list joined by spaces, text_b `abst`
  tsv, csv, jsonl  generic: --text_a_column/--text_b_column/--label_column
                (names: the first line is a header; 0-based numbers: none)

Reading rules:
- UTF-8, a leading BOM dropped (split_files.read_text_lines); a file that
  is not UTF-8 is an error naming the line.
- Line numbers are physical lines, also for CSV records that span lines.
- Every row has the file's number of columns: the header's, the task's
  (lcqmc: 3, or 2 in an unlabelled test file), or for a header-less
  generic file the first row's.
- JSON values: texts must be strings; a label a string or an integer
  (written in decimal). null, numbers with a fraction, booleans, lists and
  objects are errors naming the file and line.
- A row whose text is empty is skipped and counted (one warning).
- A label is never empty: an empty label cell is an error naming the line
  (in a test file it marks the row unlabelled). A multi-label cell may be
  empty (no labels), but not hold an empty label ("a,,b").
- Columns given by number read every line as data: a first line that looks
  like a header (its label cell a column name such as `label` that no other
  row has) is an error naming the line; name the columns instead.
- `InputExample.index` is the example's own id: the file's `index` / `id`
  column (key) when it has one, else its data row number counted from 0,
  skipped rows included. test_results.tsv writes it, so rows line up with
  the input file.

Bad lines raise `InputError` with file, line and the fix.
"""

import collections
import csv
import json
import logging
import os


from bert_toolkit.data import split_files
from bert_toolkit.errors import InputError

# TensorFlow's logger (tf.logging's), without importing TensorFlow: the
# readers are TF-free, so the studio can read the data set table.
_LOG = logging.getLogger("tensorflow")

InputExample = collections.namedtuple(
    "InputExample", ["guid", "text_a", "text_b", "label", "index", "line"],
    defaults=(None, None))

SPLITS = ("train", "dev", "test")
ID_COLUMNS = ("index", "id", "idx")
# What a header calls a label column: a header-less file's first row whose
# label is one of these (and no other row's) is a header read as data.
HEADER_LABELS = ("label", "labels", "class", "category", "target", "y",
                 "tag", "sentiment", "score", "gold_label", "quality")


class ClassificationData(split_files.SplitFiles):
  """Reads the splits of one classification data set."""

  def __init__(self, name, fmt, files, text_a, label, text_b=None,
               header=None, labels=None, label_file=None, num_columns=None,
               test_layout=None, row_filter=None, label_map=None,
               skip_labels=(), list_columns=(), label_separator=None):
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
      num_columns: columns of every row of a header-less file (None: the
        first row's count).
      test_layout: another ClassificationData that reads the test split
        (Google's CoLA: its test file has a header, train and dev none).
      row_filter: (column, value): only rows with that value are read
        (XNLI's language column).
      label_map: {label in the file: label the task uses}.
      skip_labels: labels whose rows are skipped (counted in the warning).
      list_columns: JSON keys whose value is a list of strings, read
        joined by spaces (CLUE csl's keywords); elsewhere a list is an
        error.
      label_separator: multi-label data: the label column holds several
        labels joined by this string (or, in JSON lines, a list of
        strings); an example's label is then a tuple (maybe empty).
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
    self.num_columns = num_columns
    self.test_layout = test_layout
    self.row_filter = row_filter
    self.label_map = dict(label_map or {})
    self.skip_labels = set(skip_labels)
    self.list_columns = tuple(list_columns)
    self.label_separator = label_separator

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
    if split == "test" and self.test_layout is not None:
      return self.test_layout.get_examples(data_dir, split, label_list)
    path = self.require_file(data_dir, split)
    if label_list is None and self.labels:
      label_list = self.labels  # a fixed label set checks every split
    examples, skipped = [], []
    reader = _Rows(path, self, split)
    rows = list(reader)
    if not self.header and self.fmt != "jsonl":
      self._check_no_header(reader, rows, label_list)
    for row_number, (line_number, row) in enumerate(rows):
      example = self._example(reader, line_number, row_number, row, split,
                              label_list)
      if example is None:
        skipped.append(line_number)
      elif example is not False:     # False: another language's row
        examples.append(example)
    if skipped:
      _LOG.warning("%s: skipped %d line(s) with an empty text%s "
                         "(lines %s)", path, len(skipped),
                         " or a label in %s" % sorted(self.skip_labels)
                         if self.skip_labels else "",
                         ", ".join(str(n) for n in skipped[:10]) +
                         (", ..." if len(skipped) > 10 else ""))
    if not examples:
      raise InputError(path, None, "no examples in the file",
                       "Check --task and --data_dir")
    return examples

  def get_labels(self, data_dir, train_examples=None):
    """The label list: fixed, from label_file, or sorted training labels.

    With training examples, each of their labels must be in the list
    (InputError naming the training line and the label file otherwise).
    """
    labels, source = None, None
    if self.labels:
      labels = list(self.labels)
    elif self.label_file and os.path.isfile(
        os.path.join(data_dir, self.label_file)):
      source = os.path.join(data_dir, self.label_file)
      labels = _read_label_file(source)
    elif train_examples is None:
      raise InputError(data_dir, None, "the label list of task %s comes from "
                       "the training data" % self.name,
                       "Run with --do_train, or keep labels.txt in "
                       "--output_dir")
    else:
      if self.label_separator is not None:
        return sorted({label for e in train_examples
                       for label in (e.label or ())})
      return sorted({e.label for e in train_examples if e.label is not None})
    for example in train_examples or ():
      given = (example.label or () if self.label_separator is not None
               else [example.label] if example.label is not None else [])
      for label in given:
        if label not in labels:
          raise InputError(
              self.require_file(data_dir, "train"), example.line,
              "label %r is not in %s" % (
                  label, source or "the task's labels (%s)" %
                  ", ".join(labels[:20])),
              "Add it to %s or fix the label" % (source or "the data"))
    return labels

  # ------------------------------------------------------------- rows ---

  def _check_no_header(self, reader, rows, label_list):
    """Columns given by number read every line as data: a first line that
    is a header (its label cell a column name such as `label`, which no
    other row has as its label, nor the label list) is an InputError."""
    if not rows or self.label is None or self.label_separator is not None:
      return
    def label_of(row):
      if isinstance(self.label, int) and self.label < len(row):
        return row[self.label].strip()
      return None
    line_number, first = rows[0]
    label = label_of(first)
    if label is None or label.lower() not in HEADER_LABELS:
      return
    if label in (label_list or ()) or any(
        label_of(row) == label for _, row in rows[1:]):
      return
    names = ["--%s_column=%s" % (what, first[column].strip())
             for what, column in (("text_a", self.text_a),
                                  ("text_b", self.text_b),
                                  ("label", self.label))
             if isinstance(column, int) and column < len(first)]
    raise InputError(
        reader.path, line_number,
        "the first line looks like a header (its label column holds %r, "
        "which no other row has), and columns given by number read every "
        "line as data" % label,
        "Name the columns instead (%s), or remove the header line" %
        " ".join(names))

  def _example(self, reader, line_number, row_number, row, split,
               label_list):
    """One row -> InputExample (None when a text is empty or the label is
    skipped; False for a row that row_filter leaves out)."""
    path = reader.path
    if self.row_filter is not None:
      column, wanted = self.row_filter
      if reader.value(line_number, row, column, "filter") != wanted:
        return False
    text_a = reader.value(line_number, row, self.text_a, "text_a")
    if text_a is None:
      raise InputError(path, line_number,
                       "no column %r for text_a" % (self.text_a,),
                       "Set --text_a_column to a column of the file")
    text_b = reader.value(line_number, row, self.text_b, "text_b")
    if self.text_b is not None and text_b is None:
      raise InputError(path, line_number,
                       "no column %r for text_b" % (self.text_b,),
                       "Set --text_b_column to a column of the file")
    if self.label_separator is not None:
      label = self._label_set(reader, line_number, row, label_list)
    else:
      label = reader.value(line_number, row, self.label, "label")
    if label is None and split != "test":
      raise InputError(path, line_number,
                       "no label column %r" % (self.label,),
                       "Set --label_column to the label column")
    if label is not None and self.label_separator is None:
      label = label.strip()
      if not label:
        if split == "test":
          label = None             # an unlabelled test row
        else:
          raise InputError(path, line_number, "the label is empty",
                           "Give the row its label, or remove the row")
    if label is not None and self.label_separator is None:
      label = self.label_map.get(label, label)
      if label in self.skip_labels:
        return None
      _check_known_label(path, line_number, label, label_list)
    if not text_a.strip() or (text_b is not None and not text_b.strip()):
      return None
    index = reader.own_index(line_number, row)
    return InputExample("%s-%d" % (split, line_number), text_a, text_b,
                        label, row_number if index is None else index,
                        line_number)


  def _label_set(self, reader, line_number, row, label_list):
    """Multi-label: the row's labels as a sorted tuple (None if absent)."""
    if isinstance(row, dict) and isinstance(row.get(self.label), list):
      values = _string_list(reader.path, line_number, row[self.label],
                            self.label, "labels")
    else:
      text = reader.value(line_number, row, self.label, "label")
      if text is None:
        return None
      values = text.split(self.label_separator) if text.strip() else []
    if any(not v.strip() for v in values):
      raise InputError(reader.path, line_number,
                       "an empty label in %r (labels joined by %r)" % (
                           self.label_separator.join(values),
                           self.label_separator),
                       "Remove the extra separator; an example without "
                       "labels leaves the cell empty")
    labels = tuple(sorted({v.strip() for v in values}))
    for label in labels:
      _check_known_label(reader.path, line_number, label, label_list)
    return labels


class _Rows(object):
  """The data rows of one file, with the header read once.

  Iterating yields (physical line number, row): a list of strings (tsv /
  csv) or a dict (jsonl). `value` reads a column of a row with the file's
  rules.
  """

  def __init__(self, path, data, split):
    self.path = path
    self.fmt = data.fmt
    self.split = split
    self.list_columns = data.list_columns
    self.lines = split_files.read_text_lines(path)
    self.header = None
    self.expected = None             # columns every row must have
    self.layout = "as the first row"
    self.label_optional = False      # an unlabelled test file may lack it
    if data.header and self.fmt != "jsonl":
      first = next(self._split_rows(), None)
      self.header = first[1] if first else []
      self.expected = len(self.header)
      self.layout = "as the header"
    elif data.num_columns:
      self.expected = data.num_columns
      self.layout = "as the task's layout"
      self.label_optional = split == "test"

  def __iter__(self):
    if self.fmt == "jsonl":
      for line_number, line in enumerate(self.lines, start=1):
        if line.strip():
          yield line_number, self._json(line_number, line)
      return
    rows = self._split_rows()
    if self.header is not None:
      next(rows, None)
    for line_number, row in rows:
      if row == [""] or not row:
        continue
      self._check_width(line_number, row)
      yield line_number, row

  def _split_rows(self):
    """(first physical line, list of fields) per record."""
    if self.fmt == "csv":
      reader = csv.reader(line + "\n" for line in self.lines)
      start = 1
      try:
        for row in reader:
          yield start, row
          start = reader.line_num + 1
      except csv.Error as e:
        raise InputError(self.path, reader.line_num, "bad CSV (%s)" % e,
                         "Check the quotes on that line")
      return
    for line_number, line in enumerate(self.lines, start=1):
      yield line_number, line.split("\t")

  def _check_width(self, line_number, row):
    if self.expected is None:
      self.expected = len(row)  # header-less: the first row sets the width
    allowed = {self.expected, self.expected - 1} if self.label_optional \
        else {self.expected}
    if len(row) not in allowed:
      raise InputError(
          self.path, line_number, "expected %d %s columns (%s), found %d" %
          (self.expected, self._separator_name(), self.layout, len(row)),
          "Check for a stray tab or a missing column on that line")

  def _separator_name(self):
    return {"tsv": "tab-separated", "csv": "comma-separated"}.get(self.fmt, "")

  def _json(self, line_number, line):
    try:
      record = json.loads(line)
    except ValueError as e:
      raise InputError(self.path, line_number, "not valid JSON (%s)" % e,
                       "Each line must be one JSON object")
    if not isinstance(record, dict):
      raise InputError(self.path, line_number, "a JSON %s, not an object" %
                       type(record).__name__,
                       "Each line must be one JSON object")
    return record

  def value(self, line_number, row, column, what):
    """The value of `column` in `row` as a string, or None if absent."""
    if column is None:
      return None
    if isinstance(row, dict):
      if column not in row:
        return None
      value = row[column]
      if column in self.list_columns and isinstance(value, list):
        return " ".join(_string_list(self.path, line_number, value, column,
                                     what))
      return _json_string(self.path, line_number, value, column, what)
    if isinstance(column, str):
      if column not in (self.header or []):
        return None
      index = self.header.index(column)
    else:
      index = column
    if index >= len(row):
      if what == "label" and self.split == "test":
        return None
      raise InputError(
          self.path, line_number, "expected at least %d %s columns, found "
          "%d" % (index + 1, self._separator_name(), len(row)),
          "Check the column options and that line")
    return row[index]

  def own_index(self, line_number, row):
    """The row's id from an index / id column, or None."""
    for name in ID_COLUMNS:
      if isinstance(row, dict):
        if name in row:
          return _json_string(self.path, line_number, row[name], name, "id")
      elif self.header and name in self.header:
        return row[self.header.index(name)]
    return None


def _check_known_label(path, line_number, label, label_list):
  """InputError for a label outside label_list (None: any label)."""
  if label_list is not None and label not in label_list:
    raise InputError(
        path, line_number,
        "label %r is not one the model was trained on (%s)" %
        (label, ", ".join(label_list[:20])),
        "Fix the label, or add examples of it to the training file")


def _string_list(path, line_number, values, key, what):
  """A JSON list that must hold strings only (csl keywords, label sets)."""
  if not all(isinstance(value, str) for value in values):
    raise InputError(path, line_number, "%r (%s) is a list with a "
                     "non-string item: %s" % (key, what, json.dumps(
                         values, ensure_ascii=False)[:40]),
                     "Write the %s as a list of strings" % what)
  return values


def _json_string(path, line_number, value, key, what):
  """A JSON text value as str: strings as they are, integer labels / ids in
  decimal; anything else is an InputError."""
  if isinstance(value, str):
    return value
  if what in ("label", "id") and isinstance(value, int) and not isinstance(
      value, bool):
    return str(value)
  kind = "null" if value is None else type(value).__name__
  wanted = ("a string or an integer" if what in ("label", "id")
            else "a string")
  raise InputError(path, line_number, "%r (%s) is %s, not %s" % (
      key, what, kind if value is None else "%s %s" % (
          kind, json.dumps(value, ensure_ascii=False)[:40]), wanted),
                   "Write the %s as %s" % (what, wanted))


def _read_label_file(path):
  """The "label" of every JSON line of a CLUE labels.json."""
  labels = []
  for line_number, line in enumerate(split_files.read_text_lines(path),
                                     start=1):
    if not line.strip():
      continue
    try:
      record = json.loads(line)
    except ValueError as e:
      raise InputError(path, line_number, "not valid JSON (%s)" % e,
                       "Each line must be {\"label\": ...}")
    if not isinstance(record, dict) or "label" not in record:
      raise InputError(path, line_number, "no \"label\" key",
                       "Each line must be {\"label\": ...}")
    labels.append(_json_string(path, line_number, record["label"], "label",
                               "label"))
  return labels


def _generic(name, fmt, text_a, text_b, label, label_separator=None):
  ext = {"tsv": ["tsv", "txt"], "csv": ["csv"], "jsonl": ["jsonl", "json"]}
  files = {s: ["%s.%s" % (s, e) for e in ext[fmt]] for s in SPLITS}
  return ClassificationData(name, fmt, files, text_a, label, text_b=text_b,
                            label_separator=label_separator)


def _column_arg(value):
  """'3' -> 3 (a column number), 'sentence' -> 'sentence', '' -> None."""
  if value is None or value == "":
    return None
  return int(value) if str(value).isdigit() else value


NLI_LABELS = ("contradiction", "entailment", "neutral")   # Google's order


def _tsv_splits(train, dev, test):
  """{split: [file name]} (no candidates for a split given as None)."""
  return {split: [name] if name else [] for split, name in
          (("train", train), ("dev", dev), ("test", test))}


def _clue_json(name, text_a, text_b, labels=None, label_file=None,
               skip_labels=(), list_columns=(), label_separator=None):
  return ClassificationData(
      name, "jsonl", {s: [s + ".json", s + ".jsonl"] for s in SPLITS},
      text_a, "label", text_b=text_b, labels=labels, label_file=label_file,
      skip_labels=skip_labels, list_columns=list_columns)


def _google_task(name):
  """Google's GLUE / XNLI processors (google-research/bert run_classifier.py)
  as ClassificationData; None for another name."""
  if name == "cola":
    test = ClassificationData(name, "tsv", _tsv_splits(None, None, "test.tsv"),
                              "sentence", None, labels=["0", "1"])
    return ClassificationData(
        name, "tsv", {s: [s + ".tsv"] for s in SPLITS}, 3, 1, header=False,
        labels=["0", "1"], num_columns=4, test_layout=test)
  if name == "mrpc":
    return ClassificationData(
        name, "tsv", {s: [s + ".tsv"] for s in SPLITS}, "#1 String",
        "Quality", text_b="#2 String", labels=["0", "1"])
  if name == "mnli":
    return ClassificationData(
        name, "tsv", _tsv_splits("train.tsv", "dev_matched.tsv",
                                 "test_matched.tsv"),
        "sentence1", "gold_label", text_b="sentence2", labels=NLI_LABELS)
  if name == "xnli":
    # Google's XnliProcessor: language "zh" (its only setting).
    evaluation = ClassificationData(
        name, "tsv", _tsv_splits(None, "xnli.dev.tsv", "xnli.test.tsv"),
        "sentence1", "gold_label", text_b="sentence2", labels=NLI_LABELS,
        row_filter=("language", "zh"))
    return _XnliData(
        name, "tsv", _tsv_splits("multinli/multinli.train.zh.tsv",
                                 "xnli.dev.tsv", "xnli.test.tsv"),
        "premise", "label", text_b="hypo", labels=NLI_LABELS,
        label_map={"contradictory": "contradiction"},
        evaluation=evaluation)
  return None


class _XnliData(ClassificationData):
  """XNLI: train from the MultiNLI translation, dev and test from the XNLI
  files (another layout)."""

  def __init__(self, *args, **kwargs):
    self.evaluation = kwargs.pop("evaluation")
    super(_XnliData, self).__init__(*args, **kwargs)

  def get_examples(self, data_dir, split, label_list=None):
    if split == "train":
      return super(_XnliData, self).get_examples(data_dir, split, label_list)
    return self.evaluation.get_examples(data_dir, split, label_list)


def _clue_task(name):
  """CLUE's classification tasks (tnews is get_task's own); None for
  another name."""
  if name == "afqmc":
    return _clue_json(name, "sentence1", "sentence2", labels=["0", "1"])
  if name == "cmnli":
    return _clue_json(name, "sentence1", "sentence2", labels=NLI_LABELS,
                      skip_labels=("-",))
  if name == "iflytek":
    return _clue_json(name, "sentence", None, label_file="labels.json")
  if name == "csl":
    return _clue_json(name, "keyword", "abst", labels=["0", "1"],
                      list_columns=("keyword",))
  return None


def _chnsenticorp(name):
  return ClassificationData(
      name, "tsv", {s: [s + ".tsv"] for s in SPLITS}, "text_a", "label",
      labels=["0", "1"])


def _sst2(name):
  return ClassificationData(
      name, "tsv", {s: [s + ".tsv"] for s in SPLITS}, "sentence",
      "label", labels=["0", "1"])


def _lcqmc(name):
  return ClassificationData(
      name, "tsv", {s: [s + ".txt", s + ".tsv"] for s in SPLITS}, 0, 2,
      text_b=1, header=False, labels=["0", "1"], num_columns=3)


def _tnews(name):
  return ClassificationData(
      name, "jsonl", {s: [s + ".json", s + ".jsonl"] for s in SPLITS},
      "sentence", "label", label_file="labels.json")


GENERIC = ("tsv", "csv", "jsonl")

# The data sets, one row each: (name, aliases, factory(name)); the generic
# formats (GENERIC) come last and are made from the column settings.
DATA_SETS = (
    ("chnsenticorp", (), _chnsenticorp),
    ("sst2", ("sst-2",), _sst2),
    ("lcqmc", (), _lcqmc),
    ("tnews", (), _tnews),
    ("cola", (), _google_task),
    ("mrpc", (), _google_task),
    ("mnli", (), _google_task),
    ("xnli", (), _google_task),
    ("afqmc", (), _clue_task),
    ("cmnli", (), _clue_task),
    ("iflytek", (), _clue_task),
    ("csl", (), _clue_task),
)

TASK_NAMES = tuple(row[0] for row in DATA_SETS) + GENERIC


def get_task(name, text_a_column=None, text_b_column=None,
             label_column=None, label_separator=None):
  """Returns the ClassificationData called `name` (a DATA_SETS row, or a
  generic format with its columns); `label_separator` makes a generic task
  (tsv, csv, jsonl) multi-label.

  Raises:
    ValueError: an unknown task name, listing the known ones.
  """
  name = name.lower()
  for known, aliases, factory in DATA_SETS:
    if name == known or name in aliases:
      return factory(known)
  if name in GENERIC:
    text_a = _column_arg(text_a_column)
    label = _column_arg(label_column)
    if text_a is None or label is None:
      raise ValueError("--task=%s needs --text_a_column and --label_column"
                       % name)
    return _generic(name, name, text_a, _column_arg(text_b_column), label,
                    label_separator)
  raise ValueError("unknown --task %r; known: %s" % (name,
                                                      ", ".join(TASK_NAMES)))


def run_reads_pair(info):
  """Whether a classification (or regression) run reads a second text, from
  its run_info.json: its data set's text_b, or its generic task's
  text_b_column. An unknown task (a newer version's) counts as a pair, so
  nothing is hidden that the run may take."""
  head = info.get("head") or {}
  try:
    data = get_task(str(info.get("task") or ""), head.get("text_a_column"),
                    head.get("text_b_column"), head.get("label_column"))
  except ValueError:
    return True
  return data.text_b is not None


PREVIEW_LENGTHS = 5000          # texts a preview measures, per data folder


def preview(data_dir, given, tokenize):
  """What the studio shows of a data folder before a run: the reading
  (`given` settings, the rest guessed as guess_reading does), the columns
  of the train file's header (tsv / csv) or first JSON line, each split's
  examples, the train labels' counts, the WordPiece length of the first
  PREVIEW_LENGTHS train texts (both texts of a pair, without [CLS]/[SEP]),
  and the problems the reader raises, one a split, with file and line."""
  reading = dict(given)
  reading.update(guess_reading(data_dir, given))

  def describe_train(data, examples):
    return {"columns": _columns_of(data.find_file(data_dir, "train")),
            "labels": dict(collections.Counter(
                str(e.label) for e in examples).most_common()),
            "lengths": [len(tokenize(e.text_a)) +
                        len(tokenize(e.text_b or ""))
                        for e in examples[:PREVIEW_LENGTHS]]}
  return split_files.preview(
      data_dir, reading, lambda: get_task(
          reading["task"], reading.get("text_a_column"),
          reading.get("text_b_column"), reading.get("label_column")),
      describe_train)


def _columns_of(path):
  """The header's names (tsv / csv) or the first JSON object's keys."""
  try:
    with open(path, encoding="utf-8", newline="") as f:
      first = f.readline()
  except (OSError, UnicodeDecodeError):
    return []
  if first.lstrip().startswith("{"):
    try:
      return sorted(json.loads(first))
    except (ValueError, TypeError):
      return []
  try:
    return [h.strip() for h in next(csv.reader(
        [first], delimiter="," if path.endswith(".csv") else "\t"))]
  except (StopIteration, csv.Error):
    return []


# ------------------------------------------------- guessing a data folder ---

TEXT_COLUMNS = ("text_a", "sentence", "text", "review", "content", "sentence1",
                "question1")
PAIR_COLUMNS = ("text_b", "sentence2", "question2")


def guess_reading(data_dir, given):
  """The reading settings a data folder most likely needs, beyond those
  `given` ({setting: value}): --task is the folder's name when that is a
  data set, else the generic format of its train file (csv, jsonl, else
  tsv); a generic tsv / csv file with usual header names also gets its
  columns (guess_columns). What the studio fills in when left empty."""
  files = sorted(os.listdir(data_dir))
  name = os.path.basename(os.path.normpath(data_dir))
  guess = {}
  task = given.get("task")
  if not task:
    exts = {f.partition(".")[2] for f in files if split_files.split_of(f) == "train"}
    task = name if name in TASK_NAMES else next(
        (task for ext, task in (("csv", "csv"), ("json", "jsonl"),
                                ("jsonl", "jsonl")) if ext in exts), "tsv")
    guess["task"] = task
  if task in ("tsv", "csv") and "text_a_column" not in given:
    train = [f for f in files if f.startswith("train.")]
    if train:
      guess.update(guess_columns(os.path.join(data_dir, train[0])))
  return guess


def guess_columns(path):
  """{"text_a_column", "label_column"[, "text_b_column"]} from the header of
  a generic tsv / csv train file, or {} when the names are not the usual
  ones (the user then names the columns)."""
  try:
    with open(path, encoding="utf-8", newline="") as f:
      header = next(csv.reader(f, delimiter="," if path.endswith(".csv")
                               else "\t"))
  except (OSError, StopIteration, UnicodeDecodeError, csv.Error):
    return {}
  names = [h.strip() for h in header]
  text_a = [c for c in TEXT_COLUMNS if c in names]
  if "label" not in names or not text_a:
    return {}
  guess = {"text_a_column": text_a[0], "label_column": "label"}
  text_b = [c for c in PAIR_COLUMNS if c in names]
  if text_b:
    guess["text_b_column"] = text_b[0]
  return guess

"""The files of a data set: where each split's file is (`SplitFiles`, a base
class) and how a text file is read (`read_text_lines`). No TensorFlow.

Classification tasks (bert_toolkit.data.classification) and NER tasks (bert_toolkit.data.ner_data)
both name each split's file by a list of candidate names in --data_dir;
SplitFiles finds the first that exists, or says which names were expected.
Every reader reads text through read_text_lines: UTF-8 (a leading BOM
dropped), \\r\\n and \\r read as \\n, and a file that is not UTF-8 is an
InputError naming the line.
"""

import os

from bert_toolkit.errors import InputError


def read_text_lines(path):
  """The lines of a UTF-8 text file, without line endings or a leading BOM.

  Args:
    path: file path.

  Returns:
    list of strings; line number n is element n - 1.

  Raises:
    InputError if the file is missing or not UTF-8.
  """
  if not os.path.isfile(path):
    raise InputError(path, None, "file not found",
                     "Check the path (--data_dir, --input_file) and the "
                     "file name")
  with open(path, "rb") as f:
    data = f.read()
  try:
    text = data.decode("utf-8-sig")
  except UnicodeDecodeError as e:
    raise InputError(path, data[:e.start].count(b"\n") + 1,
                     "not UTF-8 (%s at byte %d of the file)" %
                     (e.reason, e.start),
                     "Save the file as UTF-8 (e.g. iconv -f GBK -t UTF-8)")
  lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
  if lines[-1] == "":
    lines.pop()  # the final line ending
  return lines


class SplitFiles(object):
  """Mixin: needs `self.name` (task name) and `self.files` (dict split ->
  list of candidate file names in data_dir)."""

  name = None
  files = None

  def find_file(self, data_dir, split):
    """The file of `split` in data_dir, or None if there is none."""
    for candidate in self.files[split]:
      path = os.path.join(data_dir, candidate)
      if os.path.isfile(path):
        return path
    return None

  def require_file(self, data_dir, split):
    """Like find_file, but a missing file is an InputError naming the fix."""
    path = self.find_file(data_dir, split)
    if path is None:
      raise InputError(
          os.path.join(data_dir, self.files[split][0]), None,
          "no %s file for task %s" % (split, self.name),
          "Put one of %s in --data_dir" % ", ".join(self.files[split]))
    return path


def split_of(file_name):
  """"train" for train.tsv, example.train, train.json, ...; else None."""
  for split in ("train", "dev", "test"):
    stem, _, ext = file_name.partition(".")
    if stem == split or ext == split:
      return split
  return None


def preview(data_dir, reading, make_task, describe_train):
  """A data folder as a studio preview shows it (the kinds' preview
  functions): {"reading", "columns": [], "splits": {split: examples},
  "labels": {}, "lengths": [], "problems": [...]}, updated with
  describe_train(task, train examples). `make_task()` builds the reader
  from `reading`; its ValueError, and each split's (an InputError names the
  file and line), is a problem, and the preview goes on without that
  split."""
  out = {"reading": reading, "columns": [], "splits": {}, "labels": {},
         "lengths": [], "problems": []}
  try:
    task = make_task()
  except ValueError as e:
    out["problems"].append(str(e))
    return out
  for split in ("train", "dev", "test"):
    if not task.find_file(data_dir, split):
      continue
    try:
      examples = task.get_examples(data_dir, split)
    except ValueError as e:
      out["problems"].append(str(e))
      continue
    out["splits"][split] = len(examples)
    if split == "train":
      out.update(describe_train(task, examples))
  return out

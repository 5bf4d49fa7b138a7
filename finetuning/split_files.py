"""Where a task's train/dev/test files are: `SplitFiles`, a base class.

Classification tasks (finetuning.tasks) and NER tasks (finetuning.ner_data)
both name each split's file by a list of candidate names in --data_dir; this
finds the first that exists, or says which names were expected.
"""

import os

from finetuning.errors import InputError


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

"""Every task kind, written once: the name run_info.json's "kind" holds,
the module that implements it and the script that trains it.

The table is data (module names as strings, no imports), so every floor
may read it: the run directory's checks name the script of a kind, the
engine rebuilds a run's task from its kind, the predictor finds the task's
serving codec. A new task is one module plus one row here; the module
defines `TASK_CLASS`, its `engine.task.Task` subclass.
"""

import collections
import importlib

from bert_toolkit.errors import SettingsError

TaskKind = collections.namedtuple("TaskKind", ["kind", "module", "script"])

KINDS = (
    TaskKind("classifier", "bert_toolkit.tasks.classifier",
             "run_classifier.py"),
    TaskKind("ner", "bert_toolkit.tasks.tagging", "run_ner.py"),
    TaskKind("pretraining", "bert_toolkit.tasks.pretraining",
             "run_pretraining.py"),
)


class UnknownKindError(SettingsError):
  """A run_info kind this version does not know (a one-line user error)."""


def get(kind):
  """The TaskKind row of `kind`.

  Raises:
    UnknownKindError: no such kind (the message lists the known ones).
  """
  for row in KINDS:
    if row.kind == kind:
      return row
  raise UnknownKindError("run_info kind %r: this version knows %s" % (
      kind, ", ".join(row.kind for row in KINDS)))


def task_class(kind):
  """The Task subclass that implements `kind` (imports its module)."""
  return importlib.import_module(get(kind).module).TASK_CLASS


def script_of(kind):
  """The script that trains `kind` ("run_ner.py"), or the kind itself."""
  try:
    return get(kind).script
  except UnknownKindError:
    return kind

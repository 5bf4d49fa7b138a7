"""Every task kind, written once: the registry the run directories, the
engine, serving, the command lines and the studio read.

A row (`TaskKind`) says:
  kind       the name run_info.json's "kind" holds
  module     the module that implements it; it defines TASK_CLASS, its
             engine.task.Task subclass
  script     the command that trains it (a root script, or run_task.py
             with `--kind=<kind>`)
  studio     its name in the studio (runs/<id>/job.json); None keeps it
             out of the studio
  title      what the studio's form calls it
  settings   its own settings (bert_toolkit.settings.Setting rows), from
             which the command's flags and the studio's form are made
  tasks      the data sets its --task takes: a tuple, or "module:NAME"
             of a TensorFlow-free module's tuple
  guess      "module:function" guessing a data folder's reading settings
             (guess_reading(data_dir, given) -> {setting: value}), or None
  text_b     whether its model takes a second text: True or False, or
             "module:function" of a TensorFlow-free module that tells from
             a run's run_info.json (function(info) -> bool)
  inputs     what the studio's try box calls its text and second text
             (None: a sentence, and an optional second sentence)
  run_defaults  ((setting, value), ...): shared settings (RUN_SETTINGS)
             whose default this kind changes, for its command's flags, the
             studio's form and the runner alike
  preview    "module:function" of a TensorFlow-free module previewing a
             data folder for the studio (preview(data_dir, given,
             tokenize) -> {"reading", "columns", "splits", "labels",
             "lengths", "problems"}), or None
  shared     the shared settings (RUN_SETTINGS, TRAIN_SETTINGS) its command
             takes, by name; None: all of them
  serves     whether its runs export and serve (export_savedmodel.py,
             the studio's Try and Export)
  presets    ((setting, value), ...): values the studio's form starts from
             for this kind, beside the studio's own presets (a value a run
             watched in the studio needs, where the script's default suits
             a long unattended run)

The table is data (modules named as strings, imported only when asked
for), so every floor may read it and the studio loads no TensorFlow. A new
task is one module plus one row here: it then trains (`run_task.py
--kind=...`), evaluates, exports, serves and shows in the studio without
another edit.
"""

import collections
import importlib

from bert_toolkit import settings as settings_lib
from bert_toolkit.errors import SettingsError

# The command of a kind without a script of its own: it takes --kind.
GENERIC_SCRIPT = "run_task.py"

TaskKind = collections.namedtuple("TaskKind", [
    "kind", "module", "script", "studio", "title", "settings", "tasks",
    "guess", "text_b", "inputs", "run_defaults", "preview", "shared",
    "serves", "presets"],
    defaults=(None, (), None, None, True, ()))


def _rows(table, *names):
  """The rows of a settings table named, in the table's order."""
  return tuple(row for row in table if row.name in names)


KINDS = (
    TaskKind("classifier", "bert_toolkit.tasks.classifier",
             "run_classifier.py", "classification", "Classification",
             settings_lib.CLASSIFIER_SETTINGS,
             "bert_toolkit.data.classification:TASK_NAMES",
             "bert_toolkit.data.classification:guess_reading",
             "bert_toolkit.data.classification:run_reads_pair",
             preview="bert_toolkit.data.classification:preview"),
    TaskKind("ner", "bert_toolkit.tasks.tagging", "run_ner.py", "ner",
             "Named entities (NER)", settings_lib.NER_SETTINGS,
             "bert_toolkit.data.ner_data:TASK_NAMES",
             "bert_toolkit.data.ner_data:guess_reading", False,
             preview="bert_toolkit.data.ner_data:preview"),
    TaskKind("regression", "bert_toolkit.tasks.regression", "run_task.py",
             "regression", "Regression (a score per text or pair)",
             _rows(settings_lib.CLASSIFIER_SETTINGS, "task", "text_a_column",
                   "text_b_column", "label_column", "truncation"),
             ("stsb", "tsv", "csv", "jsonl"),
             "bert_toolkit.data.classification:guess_reading",
             "bert_toolkit.data.classification:run_reads_pair"),
    TaskKind("squad", "bert_toolkit.tasks.squad", "run_squad.py", "squad",
             "Reading comprehension (SQuAD, CMRC 2018)",
             settings_lib.SQUAD_SETTINGS, ("squad",), None, True,
             ("Question", "Context: the passage the answer is taken from"),
             (("max_seq_length", 384),)),      # Google's run_squad.py
    TaskKind("pretraining", "bert_toolkit.tasks.pretraining",
             "run_pretraining.py", "pretraining",
             "Pre-training (masked LM on raw text)",
             settings_lib.PRETRAINING_SETTINGS, (), None, False,
             # Google's defaults; the length is read from the input files
             run_defaults=(("eval_batch_size", 8),
                           ("num_train_steps", 100000),
                           ("num_warmup_steps", 10000),
                           ("max_seq_length", None)),
             preview="bert_toolkit.data.pretraining_data:preview",
             shared=("data_dir", "output_dir", "init_checkpoint",
                     "bert_config_file", "vocab_file", "model_type",
                     "do_lower_case", "max_seq_length", "cache_dir",
                     "do_train", "do_eval", "train_batch_size",
                     "eval_batch_size", "learning_rate", "num_train_steps",
                     "num_warmup_steps", "save_checkpoints_steps",
                     "keep_checkpoint_max", "eval_every_steps",
                     "early_stopping_patience",
                     "gradient_accumulation_steps", "optimizer",
                     "weight_decay_rate", "seed", "overwrite_output_dir",
                     "allow_partial_restore", "log_every_seconds",
                     "num_threads", "distribution_strategy", "num_gpus",
                     "use_amp", "use_xla"),
             serves=False,
             presets=(("num_train_steps", 1000), ("num_warmup_steps", 100),
                      ("dupe_factor", 5))),
)


class UnknownKindError(SettingsError):
  """A kind this version does not know (a one-line user error)."""


def get(kind):
  """The TaskKind row of `kind`.

  Raises:
    UnknownKindError: no such kind (the message lists the known ones).
  """
  for row in KINDS:
    if row.kind == kind:
      return row
  raise UnknownKindError("kind %r: this version knows %s" % (
      kind, ", ".join(row.kind for row in KINDS)))


def run_defaults(kind):
  """{shared setting: default} that `kind` changes; {} for an unknown kind
  (a task class defined outside the table, as tests do)."""
  try:
    return dict(get(kind).run_defaults)
  except UnknownKindError:
    return {}


def takes_text_b(kind, info=None):
  """Whether a model of `kind` takes a second text; with `info` (a run's
  run_info.json), whether that run's does. Without it, a kind whose answer
  depends on the run says True."""
  value = get(kind).text_b
  if isinstance(value, bool):
    return value
  return bool(reference(value)(info)) if info else True


def task_class(kind):
  """The Task subclass that implements `kind` (imports its module)."""
  return importlib.import_module(get(kind).module).TASK_CLASS


def command(row):
  """The script and first arguments that train a row's kind:
  ["run_ner.py"], or ["run_task.py", "--kind=regression"]."""
  if row.script == GENERIC_SCRIPT:
    return [row.script, "--kind=%s" % row.kind]
  return [row.script]


def script_of(kind):
  """The command that trains `kind` ("run_ner.py"), or the kind itself."""
  try:
    return " ".join(command(get(kind)))
  except UnknownKindError:
    return kind


def reference(value):
  """A row's tasks / guess: the value itself, or the object a
  "module:NAME" string names (imported here)."""
  if not isinstance(value, str):
    return value
  module, _, name = value.partition(":")
  return getattr(importlib.import_module(module), name)

"""What the studio may run: the project's scripts, with validated flags.

A request names a kind (classification, ner, distillation), a data folder,
a pre-trained model folder (or a teacher run) and values for the kind's
fields. `build` turns it into an argv list for subprocess (never a shell
string):

  python run_classifier.py --data_dir=data/sst2 --init_checkpoint=models/m
      --output_dir=runs/r3/output --do_train --do_eval --task=sst2 [changed
      fields only]

Rules:
  - Only a kind's fields become flags; an unknown name is refused.
  - Values are checked by type (int, float, bool, one of the choices, or a
    short string of one line) before any process starts.
  - Paths come only from the workspace's data/, models/ and runs/ folders
    (workspace.Workspace.resolve); output goes to runs/<id>/output.
  - A field left at its default is not passed, so the run gets the
    script's own default. The task, left empty, is guessed from the data
    folder (its name, its files, a tsv/csv header's column names). The defaults shown come from the same settings
    table the scripts' flags are made from (bert_toolkit/settings.py); the
    script-specific fields below repeat their flags' defaults, and
    tests/test_studio.py checks them against each script's --helpxml.
"""

import collections
import os
import shlex
import types

from bert_toolkit import settings as settings_lib
from bert_toolkit.studio import workspace as workspace_lib

Field = collections.namedtuple("Field", ["name", "type", "default", "choices",
                                         "help", "main"])

# The scripts' task names (tests check them against bert_toolkit.data.classification and
# run_ner.py, whose modules load TensorFlow, which the studio does not).
CLASSIFIER_TASKS = ("chnsenticorp", "sst2", "lcqmc", "tnews", "cola", "mrpc",
                    "mnli", "xnli", "afqmc", "cmnli", "iflytek", "csl", "tsv",
                    "csv", "jsonl")
NER_TASKS = ("peoples_daily", "msra", "cluener", "conll2003", "bio")

# Settings the form leaves out: set by the studio itself (paths, what to
# do), or for clusters and GPUs rather than one machine's studio.
NOT_IN_FORM = ("data_dir", "output_dir", "init_checkpoint",
               "bert_config_file", "vocab_file", "cache_dir",
               "overwrite_output_dir", "do_train", "do_eval",
               "allow_partial_restore", "skip_case_check", "electra_size",
               "distribution_strategy", "num_gpus", "use_xla", "use_amp")
MAIN = ("task", "max_seq_length", "train_batch_size", "learning_rate",
        "num_train_epochs", "eval_every_steps", "seed", "crf",
        "student_layers", "alpha", "temperature")
MAX_STRING = 200


def _field(name, kind, default, help_text):
  """A Field from a settings-table-like row (kind: a type or choices)."""
  if isinstance(kind, tuple):
    return Field(name, "choice", default, kind, help_text, name in MAIN)
  type_name = {bool: "bool", int: "int", float: "float", str: "str"}[kind]
  return Field(name, type_name, default, None, help_text, name in MAIN)


def _table_fields():
  rows = settings_lib.RUN_SETTINGS + settings_lib.TRAIN_SETTINGS
  return [_field(r.name, r.type, r.default, r.help) for r in rows
          if r.name not in NOT_IN_FORM]


CLASSIFIER_FIELDS = (
    _field("task", CLASSIFIER_TASKS, None, "Data format (default: the data "
           "folder's name when it is a task, else tsv/csv/jsonl from its "
           "files)."),
    _field("text_a_column", str, None, "Generic tasks: text_a column."),
    _field("text_b_column", str, None, "Generic tasks: text_b column."),
    _field("label_column", str, None, "Generic tasks: label column."),
    _field("truncation", ("head", "tail", "head_tail"), None, "Which "
           "WordPieces of a long text are kept (default head)."),
    _field("long_text", ("truncate", "windows"), None, "Long texts: cut, or "
           "pooled windows."),
    _field("multi_label", bool, None, "Several labels per example."),
)
NER_FIELDS = (
    _field("task", NER_TASKS, None, "Data format (default: peoples_daily "
           "for example.* files, else bio)."),
    _field("crf", bool, False, "CRF head instead of the token softmax."),
    _field("lstm_size", int, 0, "> 0: BiLSTM units each way."),
    _field("scheme", ("BIO", "BIOES"), "BIO", "Tag scheme trained on."),
    _field("window_stride", int, None, "WordPieces between window starts."),
)
DISTILL_FIELDS = (
    _field("student_layers", str, None, "Teacher layers the student keeps, "
           "e.g. 0,2,4 (instead of a pre-trained student model)."),
    _field("alpha", float, 0.5, "Weight of the hard-label loss."),
    _field("temperature", float, 2.0, "Softmax temperature of the soft "
           "loss."),
    _field("hidden_loss_weight", float, 0.0, "TinyBERT hidden-state MSE."),
    _field("attention_loss_weight", float, 0.0, "TinyBERT attention MSE."),
)

Kind = collections.namedtuple("Kind", ["name", "script", "title", "fields",
                                       "tasks"])
KINDS = types.MappingProxyType(collections.OrderedDict((k.name, k) for k in (
    Kind("classification", "run_classifier.py", "Classification",
         CLASSIFIER_FIELDS, CLASSIFIER_TASKS),
    Kind("ner", "run_ner.py", "Named entities (NER)", NER_FIELDS, NER_TASKS),
    Kind("distillation", "run_distill.py", "Distillation", DISTILL_FIELDS,
         CLASSIFIER_TASKS + NER_TASKS),
)))


class RequestError(ValueError):
  """A run request the studio refuses (a 400 reply naming the field)."""


def fields(kind):
  """The Fields of a kind: its own first, then the shared settings."""
  own = list(KINDS[kind].fields)
  names = {f.name for f in own}
  return own + [f for f in _table_fields() if f.name not in names]


def describe():
  """{kind: [field dicts]} for the page."""
  return {name: [dict(f._asdict(), choices=list(f.choices) if f.choices
                      else None) for f in fields(name)] for name in KINDS}


def parse_value(field, value):
  """A request value as the field's type; None means "the default".

  Raises:
    RequestError: naming the field and the value.
  """
  if value is None or (isinstance(value, str) and not value.strip()):
    return None
  text = str(value).strip()
  try:
    if field.type == "bool":
      if isinstance(value, bool):
        return value
      if text.lower() in ("true", "1", "yes", "on"):
        return True
      if text.lower() in ("false", "0", "no", "off"):
        return False
      raise ValueError
    if field.type == "int":
      if isinstance(value, bool) or isinstance(value, float):
        raise ValueError
      return int(text)
    if field.type == "float":
      if isinstance(value, bool):
        raise ValueError
      number = float(text)
      if number != number or number in (float("inf"), float("-inf")):
        raise ValueError
      return number
  except ValueError:
    raise RequestError("%s: not a%s %s: %r" % (
        field.name, "n" if field.type == "int" else "", field.type, value))
  if field.type == "choice":
    if text not in field.choices:
      raise RequestError("%s: %r is not one of %s" % (
          field.name, value, ", ".join(field.choices)))
    return text
  if len(text) > MAX_STRING or any(c in text for c in "\r\n\x00"):
    raise RequestError("%s: a string of one line, at most %d characters" %
                       (field.name, MAX_STRING))
  return text


def _flag(name, value):
  if isinstance(value, bool):
    return "--%s=%s" % (name, "true" if value else "false")
  return "--%s=%s" % (name, value)


class Command(object):
  """A validated run request.

  Attributes:
    kind: the Kind.
    paths: {"data_dir", "init_checkpoint", "teacher_dir"}: workspace-
      relative paths (or None).
    values: {field name: parsed value} of the fields given (not default).
    settings: every field's effective value (given, else default).
  """

  def __init__(self, kind, paths, values, settings):
    self.kind = kind
    self.paths = paths
    self.values = values
    self.settings = settings

  def argv(self, output_dir):
    """The script and its flags (the script as named, not resolved)."""
    args = [self.kind.script]
    for name in ("data_dir", "init_checkpoint", "teacher_dir"):
      if self.paths.get(name):
        args.append("--%s=%s" % (name, self.paths[name]))
    args += ["--output_dir=%s" % output_dir, "--do_train=true",
             "--do_eval=true"]
    args += [_flag(n, v) for n, v in sorted(self.values.items())]
    return args


def display(argv):
  """The command line a user would type in the workspace."""
  return " ".join(shlex.quote(a) for a in ["python"] + list(argv))


def build(request, workspace):
  """A Command from a request dict (the page's JSON).

  Raises:
    RequestError / workspace.PathError: what is wrong, in one line.
  """
  if not isinstance(request, dict):
    raise RequestError("the request must be a JSON object")
  kind = KINDS.get(request.get("kind"))
  if kind is None:
    raise RequestError("kind: one of %s, got %r" % (", ".join(KINDS),
                                                    request.get("kind")))
  values = request.get("values") or {}
  if not isinstance(values, dict):
    raise RequestError("values: a JSON object of field: value")
  by_name = {f.name: f for f in fields(kind.name)}
  unknown = sorted(set(values) - set(by_name))
  if unknown:
    raise RequestError("unknown field(s) for %s: %s (the studio passes only "
                       "the form's fields)" % (kind.name, ", ".join(unknown)))
  parsed = {}
  for name, value in values.items():
    value = parse_value(by_name[name], value)
    if value is not None and value != by_name[name].default:
      parsed[name] = value

  paths = {"data_dir": _folder(request, "data", workspace,
                               workspace_lib.DATA)}
  if kind.name == "distillation":
    paths["teacher_dir"] = _folder(request, "teacher", workspace,
                                   workspace_lib.RUNS)
    if request.get("model"):
      paths["init_checkpoint"] = _folder(request, "model", workspace,
                                         workspace_lib.MODELS)
    elif "student_layers" not in parsed:
      raise RequestError("distillation: pick a student model, or give "
                         "student_layers (teacher layers to keep)")
  else:
    paths["init_checkpoint"] = _folder(request, "model", workspace,
                                       workspace_lib.MODELS)
    data = os.path.join(workspace.root, paths["data_dir"])   # resolved
    files = sorted(os.listdir(data))
    if "task" not in parsed:
      parsed["task"] = workspace_lib.guess_task(
          os.path.basename(data), files, kind.name, kind.tasks)
    if parsed["task"] in ("tsv", "csv") and "text_a_column" not in parsed:
      train = [f for f in files if f.startswith("train.")]
      if train:
        parsed.update(workspace_lib.guess_columns(
            os.path.join(data, train[0])))

  effective = {f.name: parsed.get(f.name, f.default)
               for f in fields(kind.name)}
  effective.update({"data": request.get("data"),
                    "model": request.get("model"),
                    "teacher": request.get("teacher")})
  return Command(kind, paths, parsed, effective)


def _folder(request, key, workspace, top):
  """The request's `key` path, checked to be a folder under `top`."""
  relative = request.get(key)
  if not relative:
    raise RequestError("%s: pick a folder under %s/" % (key, top))
  path = workspace.resolve(relative, top)
  if not os.path.isdir(path):
    raise RequestError("%s: %r is not a folder in the workspace" %
                       (key, relative))
  return workspace.relative(path)

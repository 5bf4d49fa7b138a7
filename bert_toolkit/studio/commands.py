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
    short string of one line; never a list or an object) before any
    process starts.
  - Paths come only from the workspace's data/, models/ and runs/ folders
    (workspace.Workspace.resolve); output goes to runs/<id>/output.
  - A field left at its default is not passed, so the run gets the
    script's own default. The task, left empty, is guessed from the data
    folder (its name, its files, a tsv/csv header's column names) by the
    data set tables' guess_reading. A distillation's task and columns,
    left empty, are not guessed: the script reads as the teacher run did
    (its run_info.json). A resume runs the job's command again as it was
    built. Fields, defaults and task names come
    from the tables the scripts' flags are made from (bert_toolkit/settings.py
    and the data set tables), so they are written once.
"""

import collections
import os
import shlex
import types

from bert_toolkit import kinds
from bert_toolkit import settings as settings_lib
from bert_toolkit.studio import i18n
from bert_toolkit.studio import workspace as workspace_lib

Field = collections.namedtuple("Field", ["name", "type", "default", "choices",
                                         "help", "main", "preset"],
                               defaults=(None,))

# Settings the form leaves out: set by the studio itself (paths, what to
# do), a path the studio cannot check (a SQuAD run reads its data folder's
# train.json and dev.json instead), an alias, or for clusters and GPUs
# rather than one machine's studio. (use_amp stays in the form: on a CPU
# with AMX it is the one machine's bfloat16 matmuls.)
NOT_IN_FORM = ("data_dir", "output_dir", "init_checkpoint",
               "train_file", "predict_file",
               "bert_config_file", "vocab_file", "cache_dir",
               "overwrite_output_dir", "do_train", "do_eval",
               "allow_partial_restore", "skip_case_check", "electra_size",
               "distribution_strategy", "num_gpus", "use_xla",
               "teacher_dir", "unlabeled_file", "task_name",
               "input_file", "eval_input_file", "word_list")
MAIN = ("task", "max_seq_length", "train_batch_size", "learning_rate",
        "num_train_epochs", "eval_every_steps", "seed", "crf",
        "student_layers", "alpha", "temperature", "num_train_steps",
        "dupe_factor", "masked_lm_only")
MAX_STRING = 200
# Values the form starts from where the script's default would not suit a
# run watched in the studio: the script evaluates only at the end unless
# told, and a chart that stays empty until then says nothing about the run.
# A preset differs from the script's default, so it is passed as a flag;
# emptying the field gives the script's default.
FORM_PRESETS = types.MappingProxyType({"eval_every_steps": 200})
TASK_HELP = ("Data format (default: the data folder's name when it is a "
             "data set, else guessed from its files).")


def _field(row, choices=None, presets=None):
  """A Field from a settings row (bert_toolkit.settings); `choices` for a
  free-text row whose values the studio knows (the --task names);
  `presets` the kind's own form presets (kinds.TaskKind.presets)."""
  help_text = TASK_HELP if row.name == "task" else row.help
  default = row.default
  preset = dict(FORM_PRESETS, **(presets or {})).get(row.name)
  if isinstance(row.type, tuple) or choices:
    return Field(row.name, "choice", default,
                 tuple(choices or row.type), help_text, row.name in MAIN,
                 preset)
  type_name = {bool: "bool", int: "int", float: "float", str: "str"}[row.type]
  return Field(row.name, type_name, default, None, help_text,
               row.name in MAIN, preset)


# What the studio runs, one row a kind: each task kind of the registry
# (bert_toolkit.kinds) that has a studio name, and distillation (a run that
# trains a student from a finished run). A row gives the command's first
# words, its own settings, the data sets its --task takes, how a data
# folder's reading is guessed (None: not guessed), whether it trains from a
# teacher run and whether its model takes a second text.
Kind = collections.namedtuple("Kind", [
    "name", "command", "title", "settings", "tasks", "guess", "teacher",
    "text_b", "inputs", "run_defaults", "preview", "shared", "serves",
    "presets"])


def _kinds():
  rows = [Kind(row.studio, tuple(kinds.command(row)), row.title, row.settings,
               tuple(kinds.reference(row.tasks)),
               kinds.reference(row.guess) if row.guess else None, False,
               row.text_b, row.inputs, dict(row.run_defaults),
               kinds.reference(row.preview) if row.preview else None,
               row.shared, row.serves, dict(row.presets))
          for row in kinds.KINDS if row.studio]
  distilled = tuple(name for row in kinds.KINDS if row.studio
                    for name in kinds.reference(row.tasks))
  rows.append(Kind("distillation", ("run_distill.py",), "Distillation",
                   settings_lib.DISTILL_SETTINGS, distilled, None, True,
                   False, None, {}, None, None, True, {}))
  return types.MappingProxyType(collections.OrderedDict(
      (k.name, k) for k in rows))


KINDS = _kinds()


class RequestError(i18n.Translated, ValueError):
  """A run request the studio refuses (a 400 reply naming the field):
  RequestError(template, *args) (i18n.Translated)."""


def fields(kind):
  """The Fields of a kind: its script's own settings first, then the
  shared ones (bert_toolkit.settings) its command takes, less NOT_IN_FORM."""
  row_of = KINDS[kind]
  own = [_field(row, row_of.tasks if row.name == "task" else None,
                presets=row_of.presets)
         for row in row_of.settings if row.name not in NOT_IN_FORM]
  names = {f.name for f in own}
  changed = row_of.run_defaults
  shared = [_field(row._replace(default=changed[row.name])
                   if row.name in changed else row, presets=row_of.presets)
            for row in
            settings_lib.RUN_SETTINGS + settings_lib.TRAIN_SETTINGS
            if row.name not in NOT_IN_FORM and row.name not in names and (
                row_of.shared is None or row.name in row_of.shared)]
  return own + shared


def describe():
  """{kind: [field dicts]} for the page; label_zh and help_zh: the field's
  Chinese (i18n.SETTINGS_ZH), or None."""
  return {name: [dict(f._asdict(), choices=list(f.choices) if f.choices
                      else None,
                      label_zh=i18n.setting_zh(f.name)[0],
                      help_zh=i18n.setting_zh(f.name)[1])
                 for f in fields(name)] for name in KINDS}


def parse_value(field, value):
  """A request value as the field's type; None means "the default".

  Raises:
    RequestError: naming the field and the value.
  """
  if value is None or (isinstance(value, str) and not value.strip()):
    return None
  if not isinstance(value, (str, int, float, bool)):
    raise RequestError("%s: a number, a string or true/false, got %s",
                       field.name, i18n.Text("a list") if isinstance(
                           value, list) else i18n.Text("a JSON object")
                       if isinstance(value, dict) else type(value).__name__)
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
    if field.type == "int":
      raise RequestError("%s: not an int: %r", field.name, value)
    raise RequestError("%s: not a %s: %r", field.name, field.type, value)
  if field.type == "choice":
    if text not in field.choices:
      raise RequestError("%s: %r is not one of %s", field.name, value,
                         ", ".join(field.choices))
    return text
  if len(text) > MAX_STRING or any(c in text for c in "\r\n\x00"):
    raise RequestError("%s: a string of one line, at most %d characters",
                       field.name, MAX_STRING)
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
    guessed: {field name: value} of the values guessed from the data
      folder (part of `values`), for the form to show.
  """

  def __init__(self, kind, paths, values, settings, guessed=None):
    self.kind = kind
    self.paths = paths
    self.values = values
    self.settings = settings
    self.guessed = guessed or {}

  def argv(self, output_dir):
    """The script and its flags (the script as named, not resolved)."""
    args = list(self.kind.command)
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
    raise RequestError("kind: one of %s, got %r", ", ".join(KINDS),
                       request.get("kind"))
  values = request.get("values") or {}
  if not isinstance(values, dict):
    raise RequestError("values: a JSON object of field: value")
  by_name = {f.name: f for f in fields(kind.name)}
  unknown = sorted(set(values) - set(by_name))
  if unknown:
    raise RequestError("unknown field(s) for %s: %s (the studio passes only "
                       "the form's fields)", kind.name, ", ".join(unknown))
  parsed = {}
  for name, value in values.items():
    value = parse_value(by_name[name], value)
    if value is not None and value != by_name[name].default:
      parsed[name] = value

  paths = {"data_dir": _folder(request, "data", workspace,
                               workspace_lib.DATA)}
  if kind.teacher:
    paths["teacher_dir"] = _folder(request, "teacher", workspace,
                                   workspace_lib.RUNS)
  if not kind.teacher or request.get("model"):
    paths["init_checkpoint"] = _folder(
        request, "model", workspace,
        workspace_lib.model_top(request.get("model")))
  elif "student_layers" not in parsed:
    raise RequestError("%s: pick a student model, or give student_layers "
                       "(teacher layers to keep)", kind.name)
  guessed = {}
  if kind.guess:
    guessed = kind.guess(os.path.join(workspace.root, paths["data_dir"]),
                         parsed)
    parsed.update(guessed)

  effective = {f.name: parsed.get(f.name, f.default)
               for f in fields(kind.name)}
  effective.update({"data": request.get("data"),
                    "model": request.get("model"),
                    "teacher": request.get("teacher")})
  return Command(kind, paths, parsed, effective, guessed)


def _folder(request, key, workspace, top):
  """The request's `key` path, checked to be a folder under `top`."""
  relative = request.get(key)
  if not relative:
    raise RequestError("%s: pick a folder under %s/", key, top)
  path = workspace.resolve(relative, top)
  if not os.path.isdir(path):
    raise RequestError("%s: %r is not a folder in the workspace", key,
                       relative)
  return workspace.relative(path)

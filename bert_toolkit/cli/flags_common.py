"""The one flags module: the shared flags of every run script, made from the
settings tables, and the plain settings built from their parsed values.

Library code never reads flags; the run_*.py scripts and this module do. A
script calls `define_run_flags()` once at import time (before absl parses
argv), defines its own task flags, and hands
`run_settings(FLAGS)` (a settings.RunSettings) to `runner.run`.

Defaults live in bert_toolkit.settings (RUN_SETTINGS, TRAIN_SETTINGS): the
flags here are made from those rows, so a default is written once. Flags
that define the model's inputs (--max_seq_length, --do_lower_case) and the
task's head flags reach the library as None when they are not on the
command line (`given`), so that the run directory's values win over a
default, and a value that is given is checked against them.

Google's TPU flags (`--use_tpu=false`, `--tpu_name`, `--num_tpu_cores`, ...)
are defined beside them and ignored; `--use_tpu=true` is refused.

`define_model_flags()` is the pre-trained model subset (init_checkpoint,
bert_config_file, vocab_file, model_type, do_lower_case, max_seq_length),
for scripts that are not training runs (extract_features.py).
"""

from absl import flags

from bert_toolkit import kinds
from bert_toolkit import settings as settings_lib
from bert_toolkit.errors import SettingsError

MODEL_FLAGS = ("init_checkpoint", "bert_config_file", "vocab_file",
               "model_type", "electra_size", "do_lower_case",
               "skip_case_check", "max_seq_length")


def _define(row, help_text=None):
  """An absl flag from a settings row; a number flag is checked against
  the row (settings.value_problem: finite, in its range) when absl parses
  the command line, so every script refuses a bad value the same way."""
  help_text = help_text or row.help
  if isinstance(row.type, tuple):
    flags.DEFINE_enum(row.name, row.default, list(row.type), help_text)
  elif row.type is bool:
    flags.DEFINE_bool(row.name, row.default, help_text)
  elif row.type is int:
    flags.DEFINE_integer(row.name, row.default, help_text)
  elif row.type is float:
    flags.DEFINE_float(row.name, row.default, help_text)
  else:
    flags.DEFINE_string(row.name, row.default, help_text)
  if row.type in (int, float):
    flags.register_validator(row.name, _validator(row))


def _validator(row):
  """absl's checker of one number flag: its row's rule."""
  def check(value):
    problem = settings_lib.value_problem(row, value)
    if problem:
      raise flags.ValidationError(problem)
    return True
  return check


# Google's TPU flags (its run_classifier.py, run_pretraining.py and the
# BERT-NER scripts that copy them). They are accepted so that a copied
# Google command runs unchanged, and ignored: this toolkit trains with
# tf.estimator on CPU and GPU, and --use_tpu=true is refused.
TPU_FLAGS = (
    settings_lib.Setting("use_tpu", False, bool, "Google's flag: TPU "
                         "training is not supported here; false is "
                         "accepted, true is an error.", settings_lib.NONE),
    settings_lib.Setting("tpu_name", None, str, "Google's flag; ignored.",
                         settings_lib.NONE),
    settings_lib.Setting("tpu_zone", None, str, "Google's flag; ignored.",
                         settings_lib.NONE),
    settings_lib.Setting("gcp_project", None, str, "Google's flag; ignored.",
                         settings_lib.NONE),
    settings_lib.Setting("master", None, str, "Google's flag; ignored.",
                         settings_lib.NONE),
    settings_lib.Setting("num_tpu_cores", 8, int, "Google's flag; ignored.",
                         settings_lib.NONE),
    settings_lib.Setting("iterations_per_loop", 1000, int, "Google's flag; "
                         "ignored.", settings_lib.NONE),
)


def non_finite_flag(values):
  """The message for the first float flag of a parsed command line whose
  value is not a finite number (NaN, inf, or beyond float32), or None:
  what bert_toolkit.cli.command checks for every script after absl parses
  it (flags made from settings rows are also range-checked by absl)."""
  for name, flag in sorted(values._flags().items()):  # pylint: disable=protected-access
    if flag.parser.flag_type() == "float":
      problem = settings_lib.value_problem(
          settings_lib.Setting(name, None, float, ""), flag.value)
      if problem:
        return problem
  return None


def define_run_flags():
  """Defines every RUN_SETTINGS and TRAIN_SETTINGS flag, and Google's TPU
  flags."""
  for row in settings_lib.RUN_SETTINGS + settings_lib.TRAIN_SETTINGS:
    _define(row)
  define_tpu_flags()


def define_tpu_flags():
  """Defines Google's TPU flags (TPU_FLAGS)."""
  for row in TPU_FLAGS:
    _define(row)


def check_tpu_flags(values):
  """SettingsError for --use_tpu=true; a warning naming the TPU flags that
  were given and are ignored. Scripts without the flags pass."""
  if "use_tpu" not in values:
    return
  if values.use_tpu:
    raise SettingsError(
        "--use_tpu=true: this toolkit trains with tf.estimator on CPU and "
        "GPU, not on TPUs; drop --use_tpu (or set it to false) and the "
        "other TPU flags are ignored")
  ignored = ["--%s" % row.name for row in TPU_FLAGS[1:]
             if values[row.name].present]
  if ignored:
    import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
    tf.logging.warning("TPU is off: ignoring %s", ", ".join(ignored))


def define_flags(names, default_overrides=None, help_overrides=None):
  """Defines the RUN_SETTINGS / TRAIN_SETTINGS flags named, for a script
  that takes a subset (run_pretraining.py); `default_overrides` gives a
  script's own defaults (Google's run_pretraining.py ones), and
  `help_overrides` what a flag means to that script."""
  default_overrides = default_overrides or {}
  help_overrides = help_overrides or {}
  rows = {row.name: row for row in
          settings_lib.RUN_SETTINGS + settings_lib.TRAIN_SETTINGS}
  for name in names:
    row = rows[name]
    if name in default_overrides:
      row = row._replace(default=default_overrides[name])
    _define(row, help_overrides.get(name))


def define_table(rows, help_overrides=None):
  """Defines the flags of a script's own settings table (e.g.
  settings.CLASSIFIER_SETTINGS); `help_overrides` adds what the table
  cannot know (the data set names of a --task)."""
  help_overrides = help_overrides or {}
  for row in rows:
    _define(row, help_overrides.get(row.name))


def define_kind_flags(kind, task_help=""):
  """A training script's flags: the shared ones and the own settings of
  task kind `kind` (its bert_toolkit.kinds row; none for None or an
  unknown kind), --task's help naming the kind's data sets."""
  rows = kind_settings(kind)
  define_run_flags()
  for name, value in kinds.run_defaults(kind).items():
    flags.FLAGS.set_default(name, value)
  if rows:
    names = kinds.reference(kinds.get(kind).tasks)
    define_table(rows, {"task": "One of: %s.%s" % (", ".join(names),
                                                   task_help)})


def kind_settings(kind):
  """The own settings rows of a known kind, else ()."""
  try:
    return kinds.get(kind).settings if kind else ()
  except kinds.UnknownKindError:
    return ()


def kind_values(values, kind):
  """{setting: value given on the command line, else None} of a kind's own
  settings: what Task.from_settings takes (a None head setting then comes
  from the run directory, or its default)."""
  return {row.name: given(values, row.name) for row in kind_settings(kind)}


def define_model_flags(help_overrides=None):
  """Defines only the pre-trained model flags (MODEL_FLAGS)."""
  help_overrides = help_overrides or {}
  for row in settings_lib.RUN_SETTINGS:
    if row.name in MODEL_FLAGS:
      _define(row, help_overrides.get(row.name))


def given(values, name):
  """The flag's value if it is on the command line, else None."""
  return values[name].value if values[name].present else None


def _values(values, table):
  """{setting: parsed flag value} of a table's rows that are flags."""
  return {row.name: getattr(values, row.name) for row in table
          if row.name in values}


def train_settings(values):
  """settings.TrainSettings from the parsed flags."""
  return settings_lib.TrainSettings(
      **_values(values, settings_lib.TRAIN_SETTINGS))


def run_settings(values):
  """settings.RunSettings from the parsed flags (see the module docstring);
  settings a script has no flag for keep their defaults."""
  check_tpu_flags(values)
  fields = _values(values, settings_lib.RUN_SETTINGS)
  for name in ("do_lower_case", "max_seq_length"):
    if name in values:
      fields[name] = given(values, name)
  return settings_lib.RunSettings(train=train_settings(values), **fields)


def require(values, *names):
  """SettingsError naming the first of `names` whose flag is empty."""
  for name in names:
    if getattr(values, name) in (None, ""):
      raise SettingsError("--%s is required" % name)

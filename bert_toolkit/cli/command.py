"""Shared plumbing of the command lines: flag parsing, logging, errors.

`run(main)` starts an absl app. Every user error -- a flag absl cannot
parse, a missing or bad setting, bad input data, a config or checkpoint that
does not fit -- ends the script with ONE line `error: ...` on stderr and
exit status 2, instead of a traceback from deep inside TensorFlow.
"""

import logging as std_logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def xla_cpu_environment(argv, environ):
  """The variables to set before TensorFlow loads for this command line:
  --use_xla on CPU needs TF_XLA_FLAGS=--tf_xla_cpu_global_jit, and XLA
  reads that variable once, when TensorFlow loads. {} when nothing is to
  change."""
  if any(a in ("--use_xla", "--use_xla=true", "--use_xla=True")
         for a in argv):
    flags_now = environ.get("TF_XLA_FLAGS", "")
    if "--tf_xla_cpu_global_jit" not in flags_now:
      return {"TF_XLA_FLAGS": (flags_now +
                               " --tf_xla_cpu_global_jit").strip()}
  return {}


def _xla_cpu_flag(argv):
  """Sets xla_cpu_environment's variables from the raw command line,
  before the import below."""
  os.environ.update(xla_cpu_environment(argv, os.environ))


_xla_cpu_flag(sys.argv)

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags  # pylint: disable=g-import-not-at-top
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

from bert_toolkit.errors import EXIT_USER_ERROR  # pylint: disable=g-import-not-at-top
from bert_toolkit.errors import InputError  # pylint: disable=g-import-not-at-top
from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
from modeling.checkpoint import CheckpointError  # pylint: disable=g-import-not-at-top
from modeling.config import ConfigError  # pylint: disable=g-import-not-at-top
from tokenization import VocabError  # pylint: disable=g-import-not-at-top

USER_ERRORS = (InputError, SettingsError, ConfigError, CheckpointError,
               VocabError)


def setup_logging():
  """INFO logging to stderr, without TF's deprecation chatter."""
  tf.disable_eager_execution()
  tf.logging.set_verbosity(tf.logging.INFO)
  tf_logger = std_logging.getLogger("tensorflow")
  tf_logger.setLevel(std_logging.INFO)
  tf_logger.propagate = False  # TF has its own handler; absl's would repeat.
  try:
    from tensorflow.python.util import deprecation  # pylint: disable=g-import-not-at-top
    deprecation._PRINT_DEPRECATION_WARNINGS = False  # pylint: disable=protected-access
  except ImportError:
    pass


def fail(message):
  """Prints `error: message` as one line and exits with status 2."""
  sys.stderr.write("error: %s\n" % " ".join(str(message).split("\n")))
  sys.exit(EXIT_USER_ERROR)


def _parse_flags(argv):
  """absl's parser, with a flag error as one `error:` line (status 2)."""
  try:
    argv = flags.FLAGS(argv)
  except flags.Error as e:
    fail("%s (see --help)" % e)
  from bert_toolkit.cli import flags_common  # pylint: disable=g-import-not-at-top
  problem = flags_common.non_finite_flag(flags.FLAGS)
  if problem:
    fail(problem)
  return argv


def _help_for_console_command(module_name):
  """absl's --help lists the flags of the module named like sys.argv[0]. A
  console command (bert-run-classifier) is a wrapper, not the script, so
  its help would list no flags: name the script's flags for it too."""
  if module_name == "__main__":
    return
  for flag in flags.FLAGS.get_key_flags_for_module(module_name):
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)


def run(main, extra_errors=()):
  """Runs `main(argv)` under absl; user errors exit 2 with one message."""
  _help_for_console_command(main.__module__)

  def wrapped(argv):
    setup_logging()
    try:
      return main(argv)
    except USER_ERRORS + tuple(extra_errors) as e:
      fail(e)

  app.run(wrapped, flags_parser=_parse_flags)

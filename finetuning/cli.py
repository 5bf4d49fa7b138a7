"""Shared plumbing of the command lines: logging set-up and error reporting.

`run(main)` starts an absl app and turns the toolkit's user errors (bad path,
bad config, bad input line) into one `error: ...` line on stderr and exit
code 1, instead of a traceback from deep inside TensorFlow.
"""

import logging as std_logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

from finetuning.errors import USER_ERRORS  # pylint: disable=g-import-not-at-top


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


def run(main, extra_errors=()):
  """Runs `main(argv)` under absl; user errors exit 1 with one message."""

  def wrapped(argv):
    setup_logging()
    try:
      return main(argv)
    except USER_ERRORS + tuple(extra_errors) as e:
      sys.stderr.write("error: %s\n" % e)
      sys.exit(1)

  app.run(wrapped)

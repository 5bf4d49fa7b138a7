"""Test helper: short fine-tuning runs from the reference tiny Chinese BERT
(../shared/reference/bert_zh_tiny), for tests that need a trained run to
export, serve or prune."""

import os

from bert_toolkit import settings as settings_lib
from bert_toolkit.engine import runner
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")

# TrainSettings of every tiny run unless a test overrides them.
TRAIN_DEFAULTS = {"num_train_epochs": 1.0, "train_batch_size": 16,
                  "learning_rate": 1e-3, "save_checkpoints_steps": 2,
                  "log_every_seconds": 5.0, "seed": 3}


def fine_tune(task, data_dir, run_dir, max_seq_length, **train):
  """Trains `task` (a task object) for one epoch on data_dir, from
  bert_zh_tiny, into run_dir; `train` overrides TRAIN_DEFAULTS.

  Returns run_dir as str.
  """
  values = dict(TRAIN_DEFAULTS, **train)
  runner.run(task, settings_lib.RunSettings(
      data_dir=str(data_dir), output_dir=str(run_dir),
      init_checkpoint=BERT_DIR, train=settings_lib.TrainSettings(**values),
      max_seq_length=max_seq_length, do_train=True))
  return str(run_dir)

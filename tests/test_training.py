"""Checks every run makes before any work (finetuning.training.validate_run)."""

import os

import pytest

import modeling
from finetuning import training
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def _files(checkpoint):
  config = modeling.BertConfig.from_json_file(
      os.path.join(BERT_DIR, "bert_config.json"))
  return modeling.PretrainedFiles(checkpoint, "bert_config.json",
                                  os.path.join(BERT_DIR, "vocab.txt"), "bert",
                                  config)


def test_case_that_contradicts_a_google_model_name_is_a_user_error():
  files = _files("/models/uncased_L-12_H-768_A-12/bert_model.ckpt")
  with pytest.raises(modeling.ConfigError, match="--do_lower_case=True"):
    training.validate_run(files, False, 64, True, False, False)
  training.validate_run(files, True, 64, True, False, False)


def test_too_long_and_nothing_to_do():
  files = _files(None)
  with pytest.raises(modeling.ConfigError, match="max_position_embeddings"):
    training.validate_run(files, True, 10 ** 6, True, False, False)
  with pytest.raises(modeling.ConfigError, match="nothing to do"):
    training.validate_run(files, True, 64, False, False, False)

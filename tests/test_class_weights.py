"""--class_weights and --focal_loss_gamma: the losses against numpy, the
"balanced" rule, and the command lines (including what they refuse)."""

import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_toolkit import class_weights
from bert_toolkit.errors import SettingsError
from modeling import heads
from tests import clirun
from tests import datasets
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

tf.disable_eager_execution()

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def _numpy_loss(logits, labels, mask, weights, gamma):
  shifted = logits - logits.max(-1, keepdims=True)
  log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
  log_p = np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
  loss = -log_p * (1.0 - np.exp(log_p)) ** gamma
  w = mask * (np.asarray(weights)[labels] if weights is not None else 1.0)
  return (loss * w).sum() / w.sum()


@pytest.mark.parametrize("weights,gamma", [(None, 0.0), ([0.5, 3.0, 1.0], 0.0),
                                           (None, 2.0), ([0.5, 3.0, 1.0], 2.0)])
def test_weighted_and_focal_losses_equal_numpy(weights, gamma):
  rng = np.random.RandomState(3)
  logits = rng.normal(size=[16, 3]).astype(np.float32) * 2
  labels = rng.randint(0, 3, size=[16])
  token_logits = rng.normal(size=[4, 6, 3]).astype(np.float32) * 2
  token_labels = rng.randint(0, 3, size=[4, 6])
  mask = (rng.uniform(size=[4, 6]) > 0.3).astype(np.float32)
  with tf.Graph().as_default(), tf.Session() as sess:
    loss, _, _ = heads.softmax_cross_entropy(
        tf.constant(logits), tf.constant(labels), 3, weights, gamma)
    token_loss = heads.masked_token_cross_entropy(
        tf.constant(token_logits), tf.constant(token_labels),
        tf.constant(mask), weights, gamma)
    got, got_tokens = sess.run([loss, token_loss])
  want = _numpy_loss(logits, labels, np.ones(16), weights, gamma)
  want_tokens = _numpy_loss(token_logits, token_labels, mask, weights, gamma)
  assert abs(got - want) < 1e-5 * max(1.0, abs(want))
  assert abs(got_tokens - want_tokens) < 1e-5 * max(1.0, abs(want_tokens))
  if weights is not None or gamma:   # the options really change the loss
    plain = _numpy_loss(logits, labels, np.ones(16), None, 0.0)
    assert abs(want - plain) > 1e-3


def test_balanced_rule_and_bad_specs():
  weights = class_weights.resolve("balanced", ["a", "b", "c"],
                                  {"a": 6, "b": 2})
  # n = 8 items, k = 3 labels: 8 / (3 * 6), 8 / (3 * 2); c unseen -> 1.
  np.testing.assert_allclose(weights, [8 / 18.0, 8 / 6.0, 1.0])
  assert class_weights.resolve("1,2.5", ["a", "b"], {}) == [1.0, 2.5]
  assert class_weights.resolve(None, ["a"], {}) is None
  with pytest.raises(SettingsError, match="2 weights but the task has 3"):
    class_weights.resolve("1,2", ["a", "b", "c"], {})
  with pytest.raises(SettingsError, match="one number per label"):
    class_weights.parse("heavy")
  with pytest.raises(SettingsError, match="positive"):
    class_weights.parse("1,0")


@pytest.fixture(scope="module")
def chnsenticorp(tmp_path_factory):
  return datasets.chnsenticorp(tmp_path_factory.mktemp("chnsenticorp"),
                               train=32, dev=16)


def _classify(data_dir, out, *extra):
  return clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + data_dir,
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out, "--do_train",
      "--max_seq_length=32", "--train_batch_size=16",
      "--num_train_epochs=1", *extra)


@pytest.mark.slow
def test_cli_balanced_focal_classifier(chnsenticorp, tmp_path):
  out = str(tmp_path / "run")
  proc = _classify(chnsenticorp, out, "--class_weights=balanced",
                   "--focal_loss_gamma=2", "--do_eval")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Class weights: 0 " in proc.stderr
  results = json.load(open(os.path.join(out, "run_results.json")))
  assert results["settings"]["train"]["class_weights"] == "balanced"
  assert results["settings"]["train"]["focal_loss_gamma"] == 2.0


@pytest.mark.parametrize("extra,fragments", [
    (("--class_weights=1,2,3",), ["3 weights but the task has 2 labels"]),
    (("--focal_loss_gamma=-1",), ["--focal_loss_gamma must be >= 0"]),
    (("--class_weights=heavy",), ["--class_weights=heavy"]),
])
def test_cli_bad_weights_are_one_line(chnsenticorp, tmp_path, extra,
                                      fragments):
  proc = _classify(chnsenticorp, str(tmp_path / "run"), *extra)
  clirun.assert_user_error(proc, *fragments)


@pytest.mark.slow
def test_cli_ner_crf_refuses_class_weights(tmp_path):
  data = datasets.ner_splits(
      os.path.join(DATA_DIR, "peoples_daily_ner", "example.dev"),
      str(tmp_path / "pd"), train=(0, 16), dev=(16, 20), test=(20, 24))
  args = ("run_ner.py", "--task=peoples_daily", "--data_dir=" + data,
          "--init_checkpoint=" + BERT_DIR, "--do_train",
          "--max_seq_length=32", "--train_batch_size=16",
          "--num_train_epochs=1", "--class_weights=balanced")
  proc = clirun.run_script(*args, "--crf",
                           "--output_dir=" + str(tmp_path / "crf"))
  clirun.assert_user_error(proc, "not to the CRF head")
  proc = clirun.run_script(*args, "--output_dir=" + str(tmp_path / "soft"))
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Class weights: O " in proc.stderr

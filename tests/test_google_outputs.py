"""Drop-in outputs: google-research/bert's keys in eval_results.txt, and
the debugging subsets --max_train_samples / --max_eval_samples /
--max_predict_samples (the first N examples of a split)."""

import collections
import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_toolkit import kinds
from bert_toolkit import settings as settings_lib
from bert_toolkit.data import features as features_lib
from bert_toolkit.engine import runner
from bert_toolkit.tasks import classifier
from bert_toolkit.tasks import metrics
from tests import clirun
from tests import datasets
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
GOOGLE_CLASSIFIER_KEYS = ["eval_accuracy", "eval_loss", "global_step", "loss"]


def _googles_writer(result):
  """What google-research/bert's run_classifier.py writes for `result`."""
  return "".join("%s = %s\n" % (key, str(result[key]))
                 for key in sorted(result.keys()))


# ------------------------------------------------- eval_results.txt ---

def test_eval_results_text_starts_with_googles_lines():
  google = {"loss": np.float32(0.6931), "global_step": np.int64(8),
            "eval_accuracy": np.float32(0.75), "eval_loss": np.float32(0.7)}
  report = ("checkpoint = /r/model.ckpt-8\naccuracy = 0.750000\n"
            "eval_loss = 0.700000\nglobal_step = 8\nloss = 0.693100\n"
            "macro_f1 = 0.700000\n\nlabel  precision\nloss-free line\n")
  text = runner.eval_results_text(google, report)
  assert text.startswith(_googles_writer(google))
  lines = text.splitlines()
  assert [line.split(" = ")[0] for line in lines[:4]] == \
      GOOGLE_CLASSIFIER_KEYS
  # The project's own lines follow, each key once.
  keys = [line.split(" = ")[0] for line in lines if " = " in line]
  assert len(keys) == len(set(keys))
  for kept in ("checkpoint = ", "accuracy = 0.750000", "macro_f1 = ",
               "label  precision", "loss-free line"):
    assert kept in text


def test_no_google_keys_leaves_the_report_as_it_is():
  report = "masked_lm_loss = 1.5\nloss = 2\n"
  assert runner.eval_results_text({}, report) == report


def test_classifier_gives_googles_four_keys():
  scores = {"accuracy": np.float32(0.5), "macro_f1": np.float32(0.4),
            "eval_loss": np.float32(0.69), "loss": np.float32(0.7),
            "global_step": np.int64(3), "f1/0": np.float32(0.1),
            "confusion_matrix": np.zeros([2, 2])}
  got = classifier.Classifier("chnsenticorp").google_eval_results(scores)
  assert sorted(got) == GOOGLE_CLASSIFIER_KEYS
  assert got["eval_accuracy"] == scores["accuracy"]


def test_ner_gives_the_analogous_eval_keys():
  task = kinds.task_class("ner").from_settings({"task": "bio"})
  scores = {"precision": 0.5, "recall": 0.25, "f1": 1 / 3.0,
            "per_type": {}, "report": "...", "global_step": 12}
  got = task.google_eval_results(scores)
  assert got == {"eval_precision": 0.5, "eval_recall": 0.25,
                 "eval_f1": 1 / 3.0, "global_step": 12}


def test_eval_loss_is_the_mean_over_examples():
  """Google's eval_loss weighs every example alike (tf.metrics.mean of the
  per-example losses), not every batch."""
  with tf.Graph().as_default():
    labels = tf.placeholder(tf.int32, [None])
    losses = tf.placeholder(tf.float32, [None])
    ops = metrics.classification_metric_ops(labels, labels, ["a", "b"],
                                            per_example_loss=losses)
    value, update = ops[metrics.EVAL_LOSS]
    with tf.Session() as sess:
      sess.run(tf.local_variables_initializer())
      sess.run(update, {labels: [0, 1, 0], losses: [1.0, 1.0, 1.0]})
      sess.run(update, {labels: [1], losses: [5.0]})
      assert abs(sess.run(value) - 2.0) < 1e-6   # (1+1+1+5)/4, not 3


# ------------------------------------------------ debugging subsets ---

def test_split_limits_keep_the_first_n_examples():
  examples = list(range(10))
  settings = settings_lib.RunSettings(max_train_samples=3,
                                      max_predict_samples=20)
  assert settings.first_examples("train", examples) == [0, 1, 2]
  assert settings.first_examples("dev", examples) == examples
  assert settings.first_examples("test", examples) == examples
  assert settings_lib.RunSettings().first_examples("train", examples) == \
      examples


@pytest.mark.parametrize("name", sorted(n for _, n in settings_lib.SPLIT_LIMITS))
def test_split_limit_rows_refuse_zero(name):
  row = next(r for r in settings_lib.RUN_SETTINGS if r.name == name)
  assert row.features == settings_lib.KEY
  assert settings_lib.value_problem(row, 0) == \
      "--%s must be at least 1, got 0" % name
  assert settings_lib.value_problem(row, None) is None
  with pytest.raises(settings_lib.SettingsError):
    runner._check_settings(  # pylint: disable=protected-access
        classifier.Classifier("chnsenticorp"),
        settings_lib.RunSettings(data_dir="d", output_dir="o", do_eval=True,
                                 **{name: 0}))


class _Task(object):
  name = "stub"
  label_list = ["0", "1"]

  def __init__(self, data_file):
    self.data_file = data_file

  def prebuilt_features(self, split):
    del split

  def encode(self, split, examples, tokenizer, max_seq_length):
    del split, tokenizer, max_seq_length
    return collections.namedtuple("E", "records count extra")(
        lambda: iter(()), len(examples), None)

  def source_file(self, data_dir, split):
    del data_dir, split
    return self.data_file

  def cache_settings(self, split):
    del split
    return {"text_a_column": "a"}


def test_split_limit_enters_the_feature_cache_key(tmp_path, monkeypatch):
  """Another N is another feature file; no limit keeps the key it had."""
  data = tmp_path / "train.tsv"
  data.write_text("a\tb\n", encoding="utf-8")
  keys = []
  monkeypatch.setattr(
      features_lib, "cached_feature_file",
      lambda cache_dir, split, key, parts, records, count: keys.append(key))

  def key_with(**limits):
    run = runner.Run.__new__(runner.Run)
    run.task = _Task(str(data))
    run.settings = settings_lib.RunSettings(output_dir=str(tmp_path),
                                            **limits)
    run.files = collections.namedtuple("F", "vocab_file")(str(data))
    run.do_lower_case, run.max_seq_length = True, 16
    run.feature_dir, run.tokenizer = str(tmp_path), None
    run.split("train", [1, 2, 3])
    return keys[-1]

  plain = key_with()
  assert plain == features_lib.cache_key(
      str(data), str(data), True, 16, ["0", "1"], "stub",
      extra={"text_a_column": "a"})[0]
  assert len({plain, key_with(max_train_samples=2),
              key_with(max_train_samples=3)}) == 3
  assert key_with(max_eval_samples=2) == plain   # another split's limit


@pytest.fixture
def chnsenticorp(tmp_path):
  return datasets.chnsenticorp(tmp_path / "chnsenticorp", train=32, dev=16,
                               test=12)


@pytest.mark.slow
def test_cli_subsets_and_googles_eval_results(chnsenticorp, tmp_path):
  out = str(tmp_path / "run")

  def run(*extra):
    proc = clirun.run_script(
        "run_classifier.py", "--task=chnsenticorp",
        "--data_dir=" + chnsenticorp, "--output_dir=" + out,
        "--max_seq_length=16", *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, json.load(open(os.path.join(out, "run_results.json")))

  proc, results = run(
      "--init_checkpoint=" + BERT_DIR, "--do_train", "--do_eval",
      "--do_predict", "--train_batch_size=2", "--num_train_epochs=1",
      "--max_train_samples=5", "--max_eval_samples=3",
      "--max_predict_samples=4")
  assert results["num_train_examples"] == 5
  assert results["settings"]["max_train_samples"] == 5
  assert results["num_train_steps"] == 2          # int(5 / 2), Google's
  assert "cached train features" not in proc.stderr
  assert np.sum(results["eval"]["confusion_matrix"]) == 3
  with open(os.path.join(out, "test_results.tsv"), encoding="utf-8") as f:
    assert len(f.read().splitlines()) == 1 + 4    # header, 4 examples
  assert results["predict"]["num_examples"] == 4
  with open(os.path.join(out, "eval_results.txt"), encoding="utf-8") as f:
    lines = f.read().splitlines()
  assert [line.split(" = ")[0] for line in lines[:4]] == \
      GOOGLE_CLASSIFIER_KEYS
  values = dict(line.split(" = ", 1) for line in lines[:4])
  assert int(values["global_step"]) == 2
  assert float(values["eval_accuracy"]) == pytest.approx(
      results["eval"]["accuracy"])
  assert "accuracy = " in "\n".join(lines[4:])   # the project's keys too
  # Another N of dev: other features, not the cached three.
  proc, results = run("--do_eval", "--max_eval_samples=7")
  assert "cached dev features" not in proc.stderr
  assert np.sum(results["eval"]["confusion_matrix"]) == 7
  proc, results = run("--do_eval", "--max_eval_samples=7")
  assert "Reusing 7 cached dev features" in proc.stderr


@pytest.mark.slow
def test_cli_ner_subsets_and_googles_keys(tmp_path):
  """run_ner.py: the first N sentences of each split, and Google's keys
  (eval_f1, eval_precision, eval_recall, global_step) first."""
  d = tmp_path / "bio"
  d.mkdir()
  sentence = "张 B-PER\n三 I-PER\n在 O\n北 B-LOC\n京 I-LOC\n"
  for split in ("train", "dev", "test"):
    (d / (split + ".txt")).write_text("\n".join([sentence] * 6),
                                      encoding="utf-8")
  out = str(tmp_path / "run")
  proc = clirun.run_script(
      "run_ner.py", "--task=bio", "--data_dir=" + str(d),
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out,
      "--max_seq_length=16", "--train_batch_size=2", "--do_train",
      "--do_eval", "--do_predict", "--max_train_samples=4",
      "--max_eval_samples=2", "--max_predict_samples=3")
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = json.load(open(os.path.join(out, "run_results.json")))
  assert results["num_train_examples"] == 4
  assert results["predict"]["num_sentences"] == 3
  with open(os.path.join(out, "test_predictions.jsonl"),
            encoding="utf-8") as f:
    assert len(f.read().splitlines()) == 3
  with open(os.path.join(out, "eval_results.txt"), encoding="utf-8") as f:
    lines = f.read().splitlines()
  assert [line.split(" = ")[0] for line in lines[:4]] == [
      "eval_f1", "eval_precision", "eval_recall", "global_step"]
  assert "sentences = 2" in lines

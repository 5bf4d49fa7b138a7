"""Run directories and caches never mix, never lose work, never give a
silently wrong number: a second command on a run directory is that run or
is refused, evaluate-only runs take the trained settings, the feature cache
is shared safely and never reused when damaged."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from bert_toolkit.data import features as features_lib
from bert_toolkit.errors import SettingsError
from bert_toolkit.runs import run_info
from tests import clirun
from tests import datasets
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
ALBERT_DIR = os.path.join(REFERENCE_DIR, "albert_zh_tiny")
MAX_SEQ_LENGTH = 32



@pytest.fixture(scope="module")
def data(tmp_path_factory):
  d = tmp_path_factory.mktemp("chnsenticorp")
  for split, n in (("train", 64), ("dev", 32), ("test", 24)):
    datasets.head(os.path.join(DATA_DIR, "chnsenticorp", split + ".tsv"),
          str(d / (split + ".tsv")), n)
  return str(d)


def _train_args(data_dir, out, *extra):
  return ("--task=chnsenticorp", "--data_dir=" + data_dir,
          "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out,
          "--max_seq_length=%d" % MAX_SEQ_LENGTH, "--train_batch_size=16",
          "--num_train_epochs=1", "--learning_rate=1e-3", "--seed=1",
          "--log_every_seconds=5") + extra


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
  """A finished chnsenticorp run at max_seq_length 32 (train + eval)."""
  out = str(tmp_path_factory.mktemp("run") / "run")
  proc = clirun.run_script("run_classifier.py",
                           *_train_args(data, out, "--do_train", "--do_eval"))
  assert proc.returncode == 0, proc.stderr[-3000:]
  return out


def _snapshot(out):
  """Bytes of the files a refused command must leave alone."""
  return {name: open(os.path.join(out, name), "rb").read()
          for name in ("run_info.json", "vocab.txt", "labels.txt",
                       "checkpoint")}


@pytest.mark.slow
def test_another_task_is_refused_and_nothing_is_written(data, trained):
  before = _snapshot(trained)
  proc = clirun.run_script(
      "run_classifier.py", "--task=sst2", "--data_dir=" + data,
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + trained,
      "--do_train", "--do_eval")
  clirun.assert_user_error(proc, "trained on --task=chnsenticorp",
                           "--task=sst2", "--overwrite_output_dir")
  assert _snapshot(trained) == before


@pytest.mark.slow
def test_another_model_is_refused_and_the_run_still_evaluates(data,
                                                              trained):
  before = _snapshot(trained)
  proc = clirun.run_script(
      "run_classifier.py", *_train_args(data, trained, "--do_train")[:2],
      "--init_checkpoint=" + ALBERT_DIR, "--output_dir=" + trained,
      "--do_train", "--max_seq_length=%d" % MAX_SEQ_LENGTH)
  clirun.assert_user_error(proc, "holds a bert model", "albert")
  assert _snapshot(trained) == before
  proc = clirun.run_script("run_ner.py", "--task=peoples_daily",
                           "--data_dir=" + data, "--output_dir=" + trained,
                           "--do_eval")
  clirun.assert_user_error(proc, "holds a classifier run",
                           "run_classifier.py")
  assert _snapshot(trained) == before


@pytest.mark.slow
def test_evaluate_only_takes_the_trained_max_seq_length(data, trained):
  """Trained at 32; an evaluate-only command from the directory alone gets
  the training run's own evaluation, number for number; a different
  --max_seq_length is refused."""
  results = json.load(open(os.path.join(trained, "run_results.json")))
  expected = open(os.path.join(trained, "eval_results.txt")).read()
  proc = clirun.run_script("run_classifier.py", "--task=chnsenticorp",
                           "--data_dir=" + data, "--output_dir=" + trained,
                           "--do_eval")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert open(os.path.join(trained, "eval_results.txt")).read() == expected
  again = json.load(open(os.path.join(trained, "run_results.json")))
  assert again["settings"]["max_seq_length"] == MAX_SEQ_LENGTH
  assert again["eval"]["loss"] == results["eval"]["loss"]
  proc = clirun.run_script("run_classifier.py", "--task=chnsenticorp",
                           "--data_dir=" + data, "--output_dir=" + trained,
                           "--do_eval", "--max_seq_length=128")
  clirun.assert_user_error(proc, "--max_seq_length=32", "asks for 128")


@pytest.mark.slow
def test_prediction_index_survives_a_skipped_empty_line(data, trained,
                                                        tmp_path):
  """test_results.tsv keeps each row's own id: the file's index column, or
  its data row number; a skipped empty text does not shift the rest."""
  d = tmp_path / "with_gap"
  d.mkdir()
  (d / "test.tsv").write_text(
      "label\ttext_a\n1\t很好\n0\t \n1\t不错\n0\t很差\n", encoding="utf-8")
  proc = clirun.run_script("run_classifier.py", "--task=chnsenticorp",
                           "--data_dir=" + str(d), "--output_dir=" + trained,
                           "--do_predict")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "skipped 1 line(s) with an empty text (lines 3)" in proc.stderr
  rows = [line.split("\t") for line in
          open(os.path.join(trained, "test_results.tsv"),
               encoding="utf-8").read().splitlines()]
  assert [(r[0], r[-2]) for r in rows[1:]] == [
      ("0", "很好"), ("2", "不错"), ("3", "很差")]


@pytest.mark.slow
def test_resume_keeps_the_batch_size_and_a_finished_run_says_so(data,
                                                                trained,
                                                                tmp_path):
  out = str(tmp_path / "copy")
  shutil.copytree(trained, out)
  proc = clirun.run_script("run_classifier.py", *_train_args(
      data, out, "--do_train", "--train_batch_size=8"))
  clirun.assert_user_error(proc, "--train_batch_size=16", "has 8")
  # The training subset is the data too: another one is another run.
  proc = clirun.run_script("run_classifier.py", *_train_args(
      data, out, "--do_train", "--max_train_samples=2"))
  clirun.assert_user_error(proc, "--max_train_samples left out", "has 2")
  proc = clirun.run_script("run_classifier.py",
                           *_train_args(data, out, "--do_train"))
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Training is finished" in proc.stderr
  assert json.load(open(os.path.join(out, "run_results.json")))[
      "train"]["global_step"] == 4


@pytest.mark.slow
def test_overwrite_output_dir_starts_again(data, trained, tmp_path):
  out = str(tmp_path / "copy")
  shutil.copytree(trained, out)
  (tmp_path / "copy" / "notes.txt").write_text("mine")
  proc = clirun.run_script("run_classifier.py", *_train_args(
      data, out, "--do_train", "--overwrite_output_dir",
      "--max_seq_length=24"))
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "removed" in proc.stderr and "Resuming" not in proc.stderr
  info = run_info.read(out)
  assert info["max_seq_length"] == 24
  assert not os.path.exists(os.path.join(out, "eval_results.txt"))
  assert open(os.path.join(out, "notes.txt")).read() == "mine"


def test_a_directory_in_use_is_refused(data, trained):
  with run_info.DirectoryLock(trained):
    proc = clirun.run_script("run_classifier.py", "--task=chnsenticorp",
                             "--data_dir=" + data, "--output_dir=" + trained,
                             "--do_eval")
  clirun.assert_user_error(proc, "is in use by another run (pid %d)" %
                           os.getpid())


def test_checkpoints_without_run_info_are_not_resumed(data, trained,
                                                      tmp_path):
  out = str(tmp_path / "foreign")
  shutil.copytree(trained, out)
  os.remove(os.path.join(out, "run_info.json"))
  proc = clirun.run_script("run_classifier.py",
                           *_train_args(data, out, "--do_train"))
  clirun.assert_user_error(proc, "holds checkpoints but no run_info.json")


# --------------------------------------------------------------- cache ---

def _records(n, calls=None):
  def make():
    if calls is not None:
      calls.append(1)
    for i in range(n):
      yield {"input_ids": [101, 5 + i, 102], "segment_ids": [0, 0, 0]}
  return make


def _key(tmp_path, name):
  data = tmp_path / (name + ".tsv")
  data.write_text(name, encoding="utf-8")
  return features_lib.cache_key(str(data), os.path.join(BERT_DIR,
                                                        "vocab.txt"),
                                True, 32, ["0", "1"], name)


def test_a_shared_cache_never_deletes_another_runs_file(tmp_path):
  cache = str(tmp_path / "cache")
  key_a, parts_a = _key(tmp_path, "chnsenticorp")
  key_b, parts_b = _key(tmp_path, "lcqmc")
  a = features_lib.cached_feature_file(cache, "train", key_a, parts_a,
                                       _records(5))
  features_lib.cached_feature_file(cache, "train", key_b, parts_b,
                                   _records(7))
  assert os.path.isfile(a.path)
  again = features_lib.cached_feature_file(cache, "train", key_a, parts_a,
                                           _records(5))
  assert again.reused and again.num_examples == 5


@pytest.mark.parametrize("damage", ["truncate", "flip", "meta"])
def test_a_damaged_cache_file_is_rebuilt(tmp_path, damage):
  cache = str(tmp_path / "cache")
  key, parts = _key(tmp_path, "chnsenticorp")
  calls = []
  first = features_lib.cached_feature_file(cache, "train", key, parts,
                                           _records(50, calls))
  if damage == "truncate":
    with open(first.path, "r+b") as f:
      f.truncate(os.path.getsize(first.path) // 2)
  elif damage == "flip":
    with open(first.path, "r+b") as f:
      f.seek(40)
      byte = f.read(1)
      f.seek(40)
      f.write(bytes([byte[0] ^ 0xFF]))
  else:
    with open(first.path[:-len(".tf_record")] + ".json", "w") as f:
      f.write("{not json")
  again = features_lib.cached_feature_file(cache, "train", key, parts,
                                           _records(50, calls))
  assert not again.reused and len(calls) == 2
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  assert sum(1 for _ in tf.io.tf_record_iterator(again.path)) == 50


def test_temporaries_of_killed_writers_are_removed(tmp_path):
  cache = tmp_path / "cache"
  cache.mkdir()
  dead = subprocess.Popen([sys.executable, "-c", "pass"])
  dead.wait()
  stale = cache / ("train-abc.tf_record.tmp-%d" % dead.pid)
  live = cache / ("train-def.tf_record.tmp-%d" % os.getppid())
  stale.write_bytes(b"half")
  live.write_bytes(b"being written")
  key, parts = _key(tmp_path, "chnsenticorp")
  features_lib.cached_feature_file(str(cache), "train", key, parts,
                                   _records(3))
  assert not stale.exists() and live.exists()


def test_training_data_with_other_labels_is_refused():
  """The labels are checked where the training data gives them."""
  info = {"labels": ["0", "1"]}
  run_info.check_same_labels("runs/r", info, ["0", "1"])
  with pytest.raises(SettingsError) as e:
    run_info.check_same_labels("runs/r", info, ["0", "1", "2"])
  assert "trained with labels" in str(e.value)
  assert "--overwrite_output_dir" in str(e.value)

"""export_savedmodel.py's checks of what it restores: the checkpoint holds
every variable of the run's graph with the same shape (the training
restore's check), and its data files are complete and readable."""

import os
import shutil

import pytest
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit.engine import task as task_lib
from bert_toolkit.runs import run_info as run_info_lib
from bert_toolkit.serving import export as export_lib
from tests.paths import REFERENCE_DIR

tf.disable_eager_execution()

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def _fake_run(run_dir, labels):
  """A classifier run directory (run_info.json, vocab, one checkpoint of
  random weights) without training; returns the checkpoint prefix."""
  config = modeling.BertConfig.from_json_file(
      os.path.join(BERT_DIR, "bert_config.json"))
  run_info_lib.write(run_dir, "classifier", "bert", config,
                     os.path.join(BERT_DIR, "vocab.txt"), True, 16, labels,
                     "chnsenticorp")
  info = run_info_lib.read(run_dir)
  with tf.Graph().as_default():
    _, _, features = export_lib.serving_inputs(config.max_position_embeddings)
    task_lib.model_fn_from_run_info(info)(
        features, None, tf.estimator.ModeKeys.PREDICT, {})
    tf.train.get_or_create_global_step()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      return tf.train.Saver().save(sess, os.path.join(run_dir, "model.ckpt"),
                                   global_step=1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp("export_checks")
  two = _fake_run(str(root / "two"), ["0", "1"])
  three = _fake_run(str(root / "three"), ["a", "b", "c"])
  return {"run": str(root / "two"), "two": two, "three": three}


def test_checkpoint_of_a_run_with_other_labels_is_refused(runs, tmp_path):
  base = str(tmp_path / "export")
  with pytest.raises(modeling.CheckpointError) as e:
    export_lib.export(runs["run"], base, checkpoint=runs["three"])
  message = str(e.value)
  assert "shape mismatch for output_weights" in message
  assert "[2, 64]" in message and "[3, 64]" in message
  assert "--checkpoint" in message
  assert not os.path.exists(os.path.join(base, "1"))
  # The run's own checkpoint exports.
  assert export_lib.export(runs["run"], base)["version"] == 1


def _copy(prefix, folder):
  os.makedirs(folder)
  for name in os.listdir(os.path.dirname(prefix)):
    if name.startswith(os.path.basename(prefix) + "."):
      shutil.copy(os.path.join(os.path.dirname(prefix), name), folder)
  return os.path.join(folder, os.path.basename(prefix))


def test_missing_or_truncated_data_file_is_named(runs, tmp_path):
  copy = _copy(runs["two"], str(tmp_path / "ckpt"))
  data = copy + ".data-00000-of-00001"
  with open(data, "rb") as f:
    content = f.read()
  os.remove(data)
  with pytest.raises(modeling.CheckpointError, match="copied incompletely"):
    export_lib.export(runs["run"], str(tmp_path / "e1"), checkpoint=copy)
  with open(data, "wb") as f:
    f.write(content[:len(content) // 2])
  with pytest.raises(modeling.CheckpointError) as e:
    export_lib.export(runs["run"], str(tmp_path / "e2"), checkpoint=copy)
  assert "cannot read the checkpoint %s" % copy in str(e.value)
  assert not os.path.exists(os.path.join(str(tmp_path / "e2"), "1"))

"""--distribution_strategy: the same training on several replicas as on one
device with the same global batch (finetuning/distribution.py)."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from finetuning import distribution
from finetuning.errors import SettingsError
from tests import clirun
from tests import datasets
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def _model_without_dropout(root):
  folder = os.path.join(str(root), "bert")
  shutil.copytree(BERT_DIR, folder)
  path = os.path.join(folder, "bert_config.json")
  with open(path) as f:
    config = json.load(f)
  config["hidden_dropout_prob"] = config["attention_probs_dropout_prob"] = 0
  with open(path, "w") as f:
    json.dump(config, f)
  return folder


def _weights(run_dir):
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(run_dir))
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
  root = tmp_path_factory.mktemp("distribution")
  data = datasets.chnsenticorp(root / "data", train=96, dev=16)
  return data, _model_without_dropout(root), root


def _train(setup, name, *extra):
  data, model, root = setup
  out = str(root / name)
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + data,
      "--init_checkpoint=" + model, "--output_dir=" + out, "--do_train",
      "--max_seq_length=48", "--train_batch_size=16", "--num_train_steps=6",
      "--learning_rate=1e-3", "--seed=3", *extra)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return out


@pytest.mark.parametrize("extra", [
    (),                                           # length buckets
    ("--gradient_accumulation_steps=2", "--layerwise_lr_decay=0.8",
     "--freeze_embeddings"),
    ("--pack_sequences",),
])
def test_mirrored_on_two_devices_equals_one_device(setup, extra):
  one = _train(setup, "one" + "".join(extra), *extra)
  two = _train(setup, "two" + "".join(extra), *extra,
               "--distribution_strategy=mirrored", "--num_gpus=2")
  with open(os.path.join(two, "run_results.json")) as f:
    results = json.load(f)
  assert results["distribution"] == {
      "strategy": "mirrored", "replicas": 2, "per_replica_batch": 8,
      "devices": ["/cpu:0", "/cpu:1"]}
  a, b = _weights(one), _weights(two)
  assert set(a) == set(b)
  init = _init_weights(setup[1])
  moved = [n for n in init if n.startswith("bert/encoder")
           and not np.allclose(a[n], init[n])]
  assert moved, "the encoder did not train"


def _init_weights(model):
  reader = tf.train.load_checkpoint(os.path.join(model, "bert_model.ckpt"))
  return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


def test_plan_rules():
  p = distribution.plan("mirrored", 2, 32, gpus=[])
  assert (p.replicas, p.per_replica_batch, p.cpu_devices) == (2, 16, 2)
  p = distribution.plan("mirrored", None, 32, gpus=["g0", "g1", "g2", "g3"])
  assert p.devices == ("/gpu:0", "/gpu:1", "/gpu:2", "/gpu:3")
  assert p.per_replica_batch == 8 and p.cpu_devices == 0
  assert distribution.plan("none", None, 32).replicas == 1
  with pytest.raises(SettingsError, match="multiple of 3"):
    distribution.plan("mirrored", 3, 32, gpus=[])
  with pytest.raises(SettingsError, match="has 2 GPU"):
    distribution.plan("mirrored", 4, 32, gpus=["g0", "g1"])
  with pytest.raises(SettingsError, match="needs --distribution_strategy"):
    distribution.plan("none", 2, 32)


def test_uneven_batch_is_a_user_error(setup, tmp_path):
  data, model, _ = setup
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + data,
      "--init_checkpoint=" + model, "--output_dir=" + str(tmp_path / "o"),
      "--do_train", "--train_batch_size=15",
      "--distribution_strategy=mirrored", "--num_gpus=2")
  clirun.assert_user_error(proc, "--train_batch_size=15", "multiple of 2")

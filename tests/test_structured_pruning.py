"""Structured pruning (bert_toolkit/compression/structure.py, prune_model.py):
per-layer sizes in the config and the layers, a pruned model computes
exactly the unpruned one with those heads and neurons masked to zero, the
importance scores follow the gradient of the task loss, and a pruned run
is a normal run."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
from modeling import layers
from modeling.hf import convert as hf_convert
from bert_toolkit.compression import structure
from bert_toolkit.errors import SettingsError
from tests import clirun
from tests import datasets
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

tf.disable_eager_execution()

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def _reference(name):
  ref = np.load(os.path.join(REFERENCE_DIR, name, "reference.npz"))
  return {k: ref[k] for k in ("input_ids", "input_mask", "segment_ids")}


def _layers_out(model_type, config, checkpoint, inputs, head_masks=None,
                ffn_masks=None):
  """Every layer's output [layers, batch, seq, hidden]; with masks, the
  importance masks are fed with them (one array per layer)."""
  graph = tf.Graph()
  with graph.as_default():
    if head_masks is not None:
      layers.importance_masks()
    feeds = {name: tf.placeholder(tf.int32, [None, None]) for name in inputs}
    model = modeling.build_model(
        model_type, config, False, feeds["input_ids"], feeds["input_mask"],
        feeds["segment_ids"])
    modeling.init_from_checkpoint(checkpoint,
                                  modeling.encoder_scope(model_type),
                                  log=False)
    feed = {feeds[name]: value for name, value in inputs.items()}
    if head_masks is not None:
      for mask, value in zip(tf.get_collection(layers.HEAD_MASKS) +
                             tf.get_collection(layers.FFN_MASKS),
                             list(head_masks) + list(ffn_masks)):
        feed[mask] = value
    with tf.Session(graph=graph) as sess:
      sess.run(tf.global_variables_initializer())
      return np.stack(sess.run(model.get_all_encoder_layers(), feed))


def _pruned_checkpoint(tmp, model_type, config, checkpoint, kept_heads,
                       kept_neurons):
  values, pruned_config = structure.pruned_values(
      structure.read_values(checkpoint), modeling.encoder_scope(model_type),
      config, kept_heads, kept_neurons)
  prefix = os.path.join(str(tmp), "model.ckpt")
  hf_convert.write_tf1_checkpoint(values, prefix)
  return prefix, pruned_config


def _masks(kept, sizes):
  return [np.isin(np.arange(n), k).astype(np.float32)
          for k, n in zip(kept, sizes)]


def _check_exact(tmp, model_type, config, checkpoint, ref):
  """Two layers (or more): a few heads kept in the first, none in the
  second; some neurons in the first, none in the second."""
  num = config.num_hidden_layers
  heads, width = config.num_attention_heads, config.intermediate_size
  rng = np.random.RandomState(0)
  kept_heads = [sorted(rng.choice(heads, heads // 2, replace=False))
                if i % 2 == 0 else [] for i in range(num)]
  kept_neurons = [sorted(rng.choice(width, width // 3, replace=False))
                  if i % 2 == 0 else [] for i in range(num)]
  prefix, pruned_config = _pruned_checkpoint(
      tmp, model_type, config, checkpoint, kept_heads, kept_neurons)
  assert getattr(pruned_config, layers.LAYER_HEADS_KEY) == [
      len(h) for h in kept_heads]
  masked = _layers_out(model_type, config, checkpoint, ref,
                       _masks(kept_heads, [heads] * num),
                       _masks(kept_neurons, [width] * num))
  pruned = _layers_out(model_type, pruned_config, prefix, ref)
  mask = ref["input_mask"].astype(bool)
  assert np.abs(masked - pruned)[:, mask].max() < 1e-5
  # Not the unpruned model's outputs: something was removed.
  full = _layers_out(model_type, config, checkpoint, ref)
  assert np.abs(full - pruned)[:, mask].max() > 1e-3


def test_pruned_bert_equals_the_masked_model_and_keeping_all_is_identical(
    tmp_path):
  files = modeling.find_pretrained(init_checkpoint=BERT_DIR)
  ref = _reference("bert_zh_tiny")
  _check_exact(tmp_path / "some", "bert", files.config, files.checkpoint, ref)
  num = files.config.num_hidden_layers
  everything = ([list(range(files.config.num_attention_heads))] * num,
                [list(range(files.config.intermediate_size))] * num)
  prefix, config = _pruned_checkpoint(tmp_path / "all", "bert", files.config,
                                      files.checkpoint, *everything)
  assert np.array_equal(
      _layers_out("bert", config, prefix, ref),
      _layers_out("bert", files.config, files.checkpoint, ref))


def test_pruned_distilbert_equals_the_masked_model(tmp_path):
  result = hf_convert.convert_hf_folder(
      os.path.join(REFERENCE_DIR, "distilbert_en_tiny"),
      str(tmp_path / "converted"))
  config = modeling.BertConfig.from_json_file(result.config_file)
  _check_exact(tmp_path, result.model_type, config, result.checkpoint,
               _reference("distilbert_en_tiny"))


def test_pruned_electra_equals_the_masked_model(tmp_path):
  files = modeling.find_pretrained(
      init_checkpoint=os.path.join(REFERENCE_DIR, "electra_zh_tiny"))
  assert files.model_type == "electra"
  _check_exact(tmp_path, "electra", files.config, files.checkpoint,
               _reference("electra_zh_tiny"))


def test_the_config_keeps_its_json_and_checks_per_layer_sizes():
  with open(os.path.join(BERT_DIR, "bert_config.json")) as f:
    given = json.load(f)
  config = modeling.BertConfig.from_dict(given)
  assert not {layers.LAYER_HEADS_KEY, layers.LAYER_INTERMEDIATE_KEY} & set(
      config.to_dict())
  assert layers.layer_sizes(config, 1) == (4, 128)
  for bad in ([4], [4, 5], [4, -1], [4, 1.5], "4,4"):
    with pytest.raises(modeling.ConfigError, match=layers.LAYER_HEADS_KEY):
      modeling.BertConfig.from_dict(dict(given, **{
          layers.LAYER_HEADS_KEY: bad}))
  sized = modeling.BertConfig.from_dict(dict(given, **{
      layers.LAYER_HEADS_KEY: [1, 0], layers.LAYER_INTERMEDIATE_KEY: [0, 7]}))
  assert layers.layer_sizes(sized, 0) == (1, 0)
  assert layers.layer_sizes(sized, 1) == (0, 7)
  assert layers.layer_sizes(sized, None) == (4, 128)


def test_albert_refuses_per_layer_sizes():
  config = modeling.BertConfig.from_json_file(os.path.join(
      REFERENCE_DIR, "albert_zh_tiny", "albert_config.json"))
  sized = structure.with_layer_sizes(config)
  with tf.Graph().as_default():
    ids = tf.placeholder(tf.int32, [None, None])
    with pytest.raises(modeling.ConfigError, match="ALBERT shares"):
      modeling.build_model("albert", sized, False, ids)


def test_a_graph_without_masks_asked_for_holds_none():
  config = modeling.BertConfig.from_json_file(
      os.path.join(BERT_DIR, "bert_config.json"))
  with tf.Graph().as_default() as graph:
    ids = tf.placeholder(tf.int32, [None, None])
    modeling.build_model("bert", config, False, ids)
    assert not tf.get_collection(layers.HEAD_MASKS)
    assert not [op for op in graph.get_operations()
                if "mask" in op.name.split("/")[-1] and
                op.type == "PlaceholderWithDefault"]


def test_ranking_normalises_heads_per_layer_and_ranks_globally():
  heads = [np.array([10.0, 0.0, 0.0, 0.0]), np.array([1.0, 0.9, 0.8, 0.1])]
  neurons = [np.array([5.0, 1.0]), np.array([4.0, 3.0])]
  kept_heads, kept_neurons = structure.choose(heads, neurons, 0.5, 0.5)
  # Layer 0 normalised: [1, 0, 0, 0]; layer 1: ~[.66, .60, .53, .07].
  assert kept_heads == [[0], [0, 1, 2]]
  assert kept_neurons == [[0], [0]]
  assert structure.choose(heads, neurons, 1.0, 1.0) == (
      [[0, 1, 2, 3]] * 2, [[0, 1]] * 2)


@pytest.mark.parametrize("value", [0.0, -0.1, 1.01, None])
def test_fractions_outside_zero_one_are_refused(value):
  with pytest.raises(SettingsError, match="--keep_heads"):
    structure.check_fraction("--keep_heads", value)


# ----------------------------------------------------- a classifier run ---

def _fake_run(folder, values=None):
  """bert_zh_tiny with a classifier head, as a run directory (no
  training)."""
  files = modeling.find_pretrained(init_checkpoint=BERT_DIR)
  if values is None:
    values = structure.read_values(files.checkpoint)
    rng = np.random.RandomState(1)
    values["output_weights"] = rng.normal(
        0, 0.5, [2, files.config.hidden_size]).astype(np.float32)
    values["output_bias"] = np.zeros([2], np.float32)
    values["global_step"] = np.int64(0)
  from bert_toolkit.runs import run_info  # pylint: disable=g-import-not-at-top
  run_info.write(folder, "classifier", "bert", files.config,
                 files.vocab_file, True, 32, ["0", "1"], "chnsenticorp",
                 head={"truncation": "head"})
  hf_convert.write_tf1_checkpoint(values, os.path.join(folder, "model.ckpt-0"))
  return folder, values


def _data(folder, n=24):
  os.makedirs(folder, exist_ok=True)
  for split in ("train", "dev"):
    datasets.head(os.path.join(DATA_DIR, "chnsenticorp", split + ".tsv"),
                  os.path.join(folder, split + ".tsv"), n)
  return folder


def test_a_head_whose_output_rows_are_zero_has_no_importance(tmp_path):
  run, values = _fake_run(str(tmp_path / "run"))
  width = 64 // 4
  name = "bert/encoder/layer_0/attention/output/dense/kernel"
  values[name] = values[name].copy()
  values[name][width:2 * width] = 0.0         # head 1 of layer 0
  _fake_run(run, values)
  source = structure.Source(run)
  task, records = structure.training_records(
      source, _data(str(tmp_path / "data")), 16)
  assert len(records) == 16
  heads, neurons = structure.importance(source, task, records, batch_size=8)
  assert heads[0][1] == 0.0
  assert (np.delete(heads[0], 1) > 0).all() and (heads[1] > 0).all()
  assert [len(n) for n in neurons] == [128, 128]


@pytest.mark.slow
def test_a_pruned_run_exports_predicts_and_starts_a_new_run(
    tmp_path):
  run, _ = _fake_run(str(tmp_path / "run"))
  data = _data(str(tmp_path / "data"))
  out = str(tmp_path / "pruned")
  proc = clirun.run_script("prune_model.py", "--model_dir=" + run,
                           "--data_dir=" + data, "--output_dir=" + out,
                           "--keep_heads=0.5", "--keep_ffn=0.25")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "heads 8 -> 4, feed-forward neurons 256 -> 64" in proc.stdout
  with open(os.path.join(out, "run_info.json")) as f:
    config = json.load(f)["config"]
  assert sum(config[layers.LAYER_HEADS_KEY]) == 4
  assert sum(config[layers.LAYER_INTERMEDIATE_KEY]) == 64
  # A rerun replaces its own output; a foreign folder is refused.
  structure.check_output(out)
  (tmp_path / "other").mkdir()
  (tmp_path / "other" / "x.txt").write_text("x")
  with pytest.raises(SettingsError, match="did not write"):
    structure.check_output(str(tmp_path / "other"))
  # It exports and predicts.
  predictor = clirun.export_predictor(out, out + "_export")
  try:
    answers = predictor.predict([{"text": "房间很干净"}, {"text": "太差了"}])
  finally:
    predictor.close()
  assert all(a["label"] in ("0", "1") for a in answers)
  # It is a pre-trained model for a new run (--init_checkpoint=OUT): the
  # per-layer sizes come along and every encoder weight restores.
  files = modeling.find_pretrained(init_checkpoint=out)
  assert getattr(files.config, layers.LAYER_HEADS_KEY) == config[
      layers.LAYER_HEADS_KEY]
  with tf.Graph().as_default():
    ids = tf.placeholder(tf.int32, [None, None])
    modeling.build_model("bert", files.config, True, ids)
    report = modeling.init_from_checkpoint(files.checkpoint, "bert",
                                           log=False)
  assert not report.to_initialize and not report.shape_mismatch
  # A half-written copy is refused.
  broken = str(tmp_path / "broken")
  shutil.copytree(out, broken)
  for name in os.listdir(broken):
    if ".data-" in name:
      os.remove(os.path.join(broken, name))
  with pytest.raises(modeling.CheckpointError, match="incompletely"):
    structure.Source(broken)

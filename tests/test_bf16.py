"""--use_amp on a CPU with AMX: the encoder's matmuls in bfloat16
(modeling.bf16_matmuls), everything else float32, and only in training.

The bfloat16 kernels run on any x86 CPU (slowly without AMX), so these
checks run everywhere; which machines use them is amp_precision's rule."""

import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit import settings as settings_lib
from bert_toolkit.engine import training
from bert_toolkit.tasks import classifier
from tests import modelrun
from tests import tinyrun
from tests import datasets
from tests.test_packing import _family
from tests.test_packing import _reference

tf.disable_eager_execution()

MATMULS = ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")


def _build(bf16, name="bert_zh_tiny", tmp_path=None, is_training=True):
  """(graph, loss) of a family's encoder on the reference inputs, with a
  loss that reaches every layer (dropout on while is_training)."""
  model_type, config, checkpoint = _family(name, tmp_path)
  ref = _reference(name)
  graph = tf.Graph()
  with graph.as_default():
    if bf16:
      modeling.bf16_matmuls()
    model = modeling.build_model(
        model_type, config, is_training, tf.constant(ref["input_ids"]),
        tf.constant(ref["input_mask"]), tf.constant(ref["segment_ids"]))
    modeling.init_from_checkpoint(checkpoint,
                                  modeling.encoder_scope(model_type),
                                  log=False)
    loss = tf.reduce_mean(tf.square(model.get_sequence_output()))
  return graph, loss


def _matmul_types(graph, prefix):
  """{op name: input dtype} of the matmuls whose name starts with prefix."""
  return {op.name: op.get_attr("T") for op in graph.get_operations()
          if op.type in MATMULS and op.name.startswith(prefix)}


@pytest.mark.parametrize("name", ["bert_zh_tiny", "albert_zh_tiny"])
def test_every_encoder_matmul_forward_and_backward_is_bfloat16(name,
                                                               tmp_path):
  graph, loss = _build(True, name, tmp_path)
  with graph.as_default():
    variables = tf.trainable_variables()
    tf.gradients(loss, variables)
  forward = _matmul_types(graph, modeling.encoder_scope(
      "albert" if name.startswith("albert") else "bert") + "/encoder")
  backward = _matmul_types(graph, "gradients/")
  assert forward and backward
  assert set(forward.values()) == {tf.bfloat16}, forward
  # the one-hot token-type embedding's matmul stays float32, as do the
  # embeddings' gradients; every gradient matmul of a layer is bfloat16
  layer_grads = {n: t for n, t in backward.items() if "/encoder/" in n}
  assert layer_grads and set(layer_grads.values()) == {tf.bfloat16}
  assert {v.dtype.base_dtype for v in variables} == {tf.float32}


def test_the_masked_lm_output_layer_is_bfloat16_its_loss_float32():
  from modeling import heads  # pylint: disable=g-import-not-at-top
  model_type, config, _ = _family("bert_zh_tiny", None)
  with tf.Graph().as_default() as graph:
    modeling.bf16_matmuls()
    ids = tf.constant(_reference("bert_zh_tiny")["input_ids"])
    model = modeling.build_model(model_type, config, True, ids,
                                 tf.ones_like(ids), tf.zeros_like(ids))
    loss, _, log_probs = heads.masked_lm_output(
        config, model.get_sequence_output(), model.get_embedding_table(),
        tf.zeros([ids.shape[0], 2], tf.int32),
        tf.ones([ids.shape[0], 2], tf.int32), tf.ones([ids.shape[0], 2]))
  output = _matmul_types(graph, "cls/predictions/MatMul")
  assert list(output.values()) == [tf.bfloat16], output
  assert loss.dtype == tf.float32 and log_probs.dtype == tf.float32


def test_a_graph_without_the_call_holds_no_bfloat16():
  graph, loss = _build(False)
  with graph.as_default():
    tf.gradients(loss, tf.trainable_variables())
  for op in graph.get_operations():
    for tensor in list(op.inputs) + list(op.outputs):
      assert tensor.dtype.base_dtype != tf.bfloat16, op.name


def test_bfloat16_outputs_and_gradients_follow_float32():
  """bfloat16 keeps 8 significant bits: the last layer's outputs
  (layer-normed, unit scale) agree with float32 to a few hundredths, the
  gradients in direction (dropout off: the same function in both)."""
  results = []
  for bf16 in (False, True):
    graph, loss = _build(bf16, is_training=False)
    with graph.as_default():
      variables = tf.trainable_variables()
      grads = tf.gradients(loss, variables)
      flat = tf.concat([tf.reshape(g, [-1]) for g in grads if g is not None],
                       0)
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        results.append(sess.run([loss, flat]))
  (loss32, grad32), (loss16, grad16) = results
  assert abs(loss16 - loss32) <= 1e-2 * abs(loss32)
  cosine = grad16.dot(grad32) / np.linalg.norm(grad16) / np.linalg.norm(
      grad32)
  assert cosine > 0.999, cosine
  assert not np.array_equal(grad16, grad32)   # really computed otherwise
  ref = _reference("bert_zh_tiny")
  model_type, config, checkpoint = _family("bert_zh_tiny", None)
  args = (model_type, config, checkpoint, ref["input_ids"],
          ref["input_mask"], ref["segment_ids"])
  full = modelrun.run_model(*args)
  half = modelrun.run_model(*args, bf16=True)
  diff = modelrun.max_diff(half["sequence_output"], full["sequence_output"],
                           ref["input_mask"])
  assert 1e-6 < diff < 0.1, diff   # measured 0.044 over the tiny BERT


def test_amp_precision_by_machine():
  on = settings_lib.TrainSettings(use_amp=True)
  off = settings_lib.TrainSettings()
  assert training.amp_precision(on, gpus=["/gpu:0"], flags=set()) == \
      training.FLOAT16
  assert training.amp_precision(on, gpus=[], flags={"avx512f", "amx_bf16",
                                                    "amx_tile"}) == \
      training.BFLOAT16
  # bfloat16 instructions without AMX's tiles: float32 is faster there
  assert training.amp_precision(on, gpus=[], flags={"avx512_bf16"}) is None
  assert training.amp_precision(off, gpus=["/gpu:0"],
                                flags={"amx_bf16"}) is None


def test_cpu_flags_read_proc_cpuinfo(tmp_path):
  path = tmp_path / "cpuinfo"
  path.write_text("processor\t: 0\nmodel name\t: X\n"
                  "flags\t\t: fpu avx512f amx_bf16 amx_tile\n\n"
                  "processor\t: 1\nflags\t\t: fpu avx512f amx_bf16\n")
  assert training.cpu_flags(str(path)) == {"fpu", "avx512f", "amx_bf16",
                                           "amx_tile"}
  assert training.cpu_flags(str(tmp_path / "absent")) == set()
  path.write_text("processor\t: 0\n")
  assert training.cpu_flags(str(path)) == set()


def _amp_run(tmp_path, monkeypatch, flags):
  """A tiny --use_amp run on a machine without a GPU whose CPU has
  `flags`: (run dir, its mixed_precision, whether its training graph
  holds bfloat16)."""
  monkeypatch.setattr(training, "cpu_flags", lambda: flags)
  monkeypatch.setattr(training.distribution, "local_gpus", lambda: [])
  data = datasets.chnsenticorp(tmp_path / "data", train=32, dev=8)
  run = tinyrun.fine_tune(classifier.Classifier("chnsenticorp"), data,
                          tmp_path / "run", 32, use_amp=True)
  with open(os.path.join(run, "run_results.json")) as f:
    precision = json.load(f)["mixed_precision"]
  with open(os.path.join(run, "graph.pbtxt")) as f:
    return run, precision, "DT_BFLOAT16" in f.read()


def test_a_run_with_use_amp_trains_in_bfloat16_and_says_so(tmp_path,
                                                           monkeypatch):
  run, precision, bf16 = _amp_run(tmp_path, monkeypatch, {"amx_bf16"})
  assert precision == "bfloat16" and bf16
  # what it trained is float32, finite, and moved
  trained = tf.train.load_checkpoint(run)
  start = tf.train.load_checkpoint(tinyrun.BERT_DIR + "/bert_model.ckpt")
  name = "bert/encoder/layer_0/intermediate/dense/kernel"
  weights = trained.get_tensor(name)
  assert weights.dtype == np.float32 and np.all(np.isfinite(weights))
  assert not np.allclose(weights, start.get_tensor(name))


def test_without_amx_use_amp_trains_in_float32(tmp_path, monkeypatch):
  _, precision, bf16 = _amp_run(tmp_path, monkeypatch, {"avx512_bf16"})
  assert precision == "none" and not bf16

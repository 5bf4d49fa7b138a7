"""Our graphs vs the official implementations' outputs in ../shared/reference.

Google checkpoints (bert_zh_tiny, albert_zh_tiny) restore directly; the
Hugging Face folders (distilbert_en_tiny, the real all-MiniLM-L6-v2) go through
convert_checkpoint first. Every encoder layer, the embedding output and the
pooled output must agree within 1e-4 on unmasked positions.
"""

import os

import numpy as np
import pytest

import modeling
from tests import modelrun
from tests.paths import REFERENCE_DIR

TOL = 1e-4


def _reference(name):
  return dict(np.load(os.path.join(REFERENCE_DIR, name, "reference.npz")))


def _check_all(out, ref, has_pooler=True):
  mask = ref["input_mask"]
  assert modelrun.max_diff(out["embedding_output"], ref["embedding_output"],
                           mask) < TOL
  assert out["all_encoder_layers"].shape == ref["all_encoder_layers"].shape
  assert modelrun.max_diff(out["all_encoder_layers"],
                           ref["all_encoder_layers"], mask) < TOL
  np.testing.assert_array_equal(out["sequence_output"],
                                out["all_encoder_layers"][-1])
  if has_pooler:
    assert np.abs(out["pooled_output"] - ref["pooled_output"]).max() < TOL


@pytest.mark.parametrize("static_shape", [False, True])
def test_bert_zh_tiny_matches_google(static_shape):
  folder = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
  ref = _reference("bert_zh_tiny")
  config = modeling.BertConfig.from_json_file(
      os.path.join(folder, "bert_config.json"))
  out = modelrun.run_model("bert", config,
                           os.path.join(folder, "bert_model.ckpt"),
                           ref["input_ids"], ref["input_mask"],
                           ref["segment_ids"], static_shape=static_shape)
  _check_all(out, ref)
  assert out["report"].unused_heads  # cls/* reported, not restored


def test_albert_zh_tiny_matches_google():
  folder = os.path.join(REFERENCE_DIR, "albert_zh_tiny")
  ref = _reference("albert_zh_tiny")
  config = modeling.BertConfig.from_json_file(
      os.path.join(folder, "albert_config.json"))
  out = modelrun.run_model("albert", config,
                           os.path.join(folder, "albert_model.ckpt"),
                           ref["input_ids"], ref["input_mask"],
                           ref["segment_ids"])
  # Google's ALBERT embedding output is E-wide (32), before the projection.
  assert out["embedding_output"].shape[-1] == 32
  _check_all(out, ref)


def test_wrong_activation_would_show():
  """The fixtures are sensitive: tanh-GELU vs erf-GELU differ above TOL."""
  folder = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
  ref = _reference("bert_zh_tiny")
  config = modeling.BertConfig.from_json_file(
      os.path.join(folder, "bert_config.json"))
  config.hidden_act = "gelu_exact"
  out = modelrun.run_model("bert", config,
                           os.path.join(folder, "bert_model.ckpt"),
                           ref["input_ids"], ref["input_mask"],
                           ref["segment_ids"])
  assert modelrun.max_diff(out["all_encoder_layers"],
                           ref["all_encoder_layers"], ref["input_mask"]) > TOL


def test_padding_does_not_change_real_positions():
  """The same sentence padded to two lengths gives the same vectors."""
  folder = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
  ref = _reference("bert_zh_tiny")
  config = modeling.BertConfig.from_json_file(
      os.path.join(folder, "bert_config.json"))
  n = int(ref["input_mask"][0].sum())
  short = {k: ref[k][:1, :n] for k in ("input_ids", "input_mask",
                                       "segment_ids")}
  out = modelrun.run_model("bert", config,
                           os.path.join(folder, "bert_model.ckpt"),
                           short["input_ids"], short["input_mask"],
                           short["segment_ids"])
  np.testing.assert_allclose(out["all_encoder_layers"][:, 0],
                             ref["all_encoder_layers"][:, 0, :n], atol=TOL)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
  """fn(name, hf_dir) -> ConversionResult, converting each folder once."""
  from modeling.hf import convert as hf_convert
  done = {}

  def convert(name, hf_dir):
    if name not in done:
      out = str(tmp_path_factory.mktemp(name))
      done[name] = hf_convert.convert_hf_folder(hf_dir, out)
    return done[name]

  return convert


def _run_converted(result, ref):
  config = modeling.BertConfig.from_json_file(result.config_file)
  return modelrun.run_model(result.model_type, config, result.checkpoint,
                            ref["input_ids"], ref["input_mask"],
                            ref["segment_ids"])


def test_distilbert_en_tiny_matches_transformers(converted):
  result = converted("distilbert",
                     os.path.join(REFERENCE_DIR, "distilbert_en_tiny"))
  ref = _reference("distilbert_en_tiny")
  out = _run_converted(result, ref)
  assert result.config.get("hidden_act") == "gelu_exact"
  _check_all(out, ref, has_pooler=False)
  # No pooler: the "pooled" output is the [CLS] hidden state.
  np.testing.assert_array_equal(out["pooled_output"],
                                out["sequence_output"][:, 0])


def test_minilm_real_weights_match_transformers(converted):
  from tests import hf_fixtures
  result = converted("minilm", hf_fixtures.minilm_dir())
  ref = _reference("minilm_en")
  out = _run_converted(result, ref)
  assert out["all_encoder_layers"].shape[0] == 6
  _check_all(out, ref)


def test_electra_zh_tiny_matches_google_electra():
  """HFL's release layout: electra_tiny.* + tiny_discriminator_config.json,
  the checkpoint also carrying the generator and both prediction heads."""
  folder = os.path.join(REFERENCE_DIR, "electra_zh_tiny")
  ref = _reference("electra_zh_tiny")
  files = modeling.find_pretrained(folder)
  assert files.model_type == "electra"
  assert files.config_file.endswith("tiny_discriminator_config.json")
  out = modelrun.run_model("electra", files.config, files.checkpoint,
                           ref["input_ids"], ref["input_mask"],
                           ref["segment_ids"])
  # After embeddings_project: hidden-wide, not embedding-wide.
  assert out["embedding_output"].shape[-1] == 64
  _check_all(out, ref)
  np.testing.assert_array_equal(out["pooled_output"],
                                out["sequence_output"][:, 0])
  report = out["report"]
  prefixes = {n.split("/")[0] for n in report.unused_heads}
  assert prefixes == {"generator", "generator_predictions",
                      "discriminator_predictions"}, prefixes
  assert "global_step" in report.unused_slots
  assert not report.unused_other and not report.to_initialize


def test_electra_en_tiny_hf_matches_transformers(converted):
  result = converted("electra",
                     os.path.join(REFERENCE_DIR, "electra_en_tiny_hf"))
  assert result.model_type == "electra"
  assert result.config["hidden_act"] == "gelu_exact"
  # ElectraForPreTraining: the discriminator head converts with the encoder,
  # under google-research/electra's names.
  assert [n for n in result.converted
          if n.startswith("discriminator_predictions/")] == [
              "discriminator_predictions/dense/kernel",
              "discriminator_predictions/dense/bias",
              "discriminator_predictions/dense_1/kernel",
              "discriminator_predictions/dense_1/bias"]
  assert not result.unused
  ref = _reference("electra_en_tiny_hf")
  out = _run_converted(result, ref)
  _check_all(out, ref)


def test_electra_checkpoint_with_the_wrong_family_or_size_is_named():
  folder = os.path.join(REFERENCE_DIR, "electra_zh_tiny")
  with pytest.raises(modeling.CheckpointError) as err:
    modeling.find_pretrained(folder, model_type="bert")
  message = str(err.value)
  assert "ELECTRA" in message and "electra/embeddings/word_embeddings" in \
      message and "[21128, 32]" in message
  files = modeling.find_pretrained(folder)
  files.config.embedding_size = 48
  with pytest.raises(modeling.CheckpointError) as err:
    modelrun.run_model("electra", files.config, files.checkpoint,
                       np.zeros([1, 4], np.int32), np.ones([1, 4], np.int32),
                       np.zeros([1, 4], np.int32))
  assert "electra/embeddings/word_embeddings" in str(err.value)
  assert "[21128, 48]" in str(err.value) and "[21128, 32]" in str(err.value)


def test_electra_published_sizes():
  from modeling import electra  # pylint: disable=g-import-not-at-top
  vocab = os.path.join(REFERENCE_DIR, "electra_zh_tiny", "vocab.txt")
  small = electra.published_config("small", vocab)
  assert (small.embedding_size, small.hidden_size, small.num_hidden_layers,
          small.num_attention_heads, small.intermediate_size,
          small.vocab_size) == (128, 256, 12, 4, 1024, 21128)
  large = electra.published_config("large", vocab)
  assert (large.hidden_size, large.num_hidden_layers) == (1024, 24)
  with pytest.raises(modeling.ConfigError, match="small, base, large"):
    electra.published_config("huge", vocab)


def test_electra_gelu_is_the_erf_form():
  """google-research/electra's gelu is erf: the tanh form would miss."""
  folder = os.path.join(REFERENCE_DIR, "electra_zh_tiny")
  ref = _reference("electra_zh_tiny")
  files = modeling.find_pretrained(folder)
  assert files.config.hidden_act == "gelu"
  files.config.hidden_act = "gelu_tanh"
  out = modelrun.run_model("electra", files.config, files.checkpoint,
                           ref["input_ids"], ref["input_mask"],
                           ref["segment_ids"])
  assert modelrun.max_diff(out["all_encoder_layers"],
                           ref["all_encoder_layers"], ref["input_mask"]) > TOL


@pytest.mark.parametrize("name", ["gelu", "gelu_exact"])
def test_gelu_written_out_gradient_equals_autodiff(name):
  """The GELUs' hand-written gradients (which keep only x for the backward
  pass) equal automatic differentiation of the same forward arithmetic,
  and the forward pass is unchanged."""
  import math  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  values = np.linspace(-6.0, 6.0, 2001).astype(np.float32)
  with tf.Graph().as_default():
    x = tf.constant(values)
    if name == "gelu":
      plain = x * (0.5 * (1.0 + tf.tanh(
          math.sqrt(2.0 / math.pi) * (x + 0.044715 * tf.pow(x, 3)))))
    else:
      plain = 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0)))
    ours = modeling.get_activation(name)(x)
    dy = tf.constant(np.random.RandomState(0).normal(
        size=values.shape).astype(np.float32))
    grads = [tf.gradients(y, x, grad_ys=dy)[0] for y in (ours, plain)]
    with tf.Session() as sess:
      y_ours, y_plain, g_ours, g_plain = sess.run([ours, plain] + grads)
  np.testing.assert_array_equal(y_ours, y_plain)
  np.testing.assert_allclose(g_ours, g_plain, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("shape", [(7, 16), (3, 5, 16)])
def test_layer_norm_written_out_gradient_equals_autodiff(shape):
  """Layer norm's hand-written gradient (which keeps only x for the
  backward pass) equals automatic differentiation of contrib's forward
  arithmetic for x, gamma and beta, and the forward pass is unchanged."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(0)
  with tf.Graph().as_default():
    x = tf.constant((rng.normal(size=shape) * 3 + 1).astype(np.float32))
    dy = tf.constant(rng.normal(size=shape).astype(np.float32))
    with tf.variable_scope("ln"):
      ours = modeling.layers.layer_norm(x)
    with tf.variable_scope("ln", reuse=True):
      gamma = tf.get_variable("LayerNorm/gamma")
      beta = tf.get_variable("LayerNorm/beta")
    mean, variance = tf.nn.moments(x, [-1], keepdims=True)
    inv = tf.rsqrt(variance + 1e-12) * gamma
    plain = x * inv + (beta - mean * inv)
    grads = [tf.gradients(y, [x, gamma, beta], grad_ys=dy)
             for y in (ours, plain)]
    with tf.Session() as sess:
      sess.run([gamma.assign(rng.normal(size=[16]).astype(np.float32)),
                beta.assign(rng.normal(size=[16]).astype(np.float32))])
      (y_ours, g_ours), (y_plain, g_plain) = sess.run(
          [(ours, grads[0]), (plain, grads[1])])
  np.testing.assert_array_equal(y_ours, y_plain)
  for a, b in zip(g_ours, g_plain):
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def test_dropped_context_gradient_equals_autodiff():
  """The attention context with dropout, whose backward pass computes the
  dropped probabilities again from the probabilities and the mask, has
  the forward value and the gradients of plain dropout then probs .
  value with that mask."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(0)
  with tf.Graph().as_default():
    probs = tf.nn.softmax(tf.constant(
        rng.normal(size=(2, 3, 5, 5)).astype(np.float32)))
    value = tf.constant(rng.normal(size=(2, 3, 5, 4)).astype(np.float32))
    dy = tf.constant(rng.normal(size=(2, 3, 5, 4)).astype(np.float32))
    ours = modeling.layers.dropped_weighted_values(probs, value, 0.3)
    keep, scale = ours.op.inputs[3], ours.op.inputs[4]
    plain = tf.matmul(tf.where_v2(keep, probs * scale, 0.0), value)
    grads = [tf.gradients(y, [probs, value], grad_ys=dy)
             for y in (ours, plain)]
    with tf.Session() as sess:   # one run: one mask for both
      (y_ours, g_ours), (y_plain, g_plain), kept = sess.run(
          [(ours, grads[0]), (plain, grads[1]), keep])
  assert 0 < kept.mean() < 1
  np.testing.assert_array_equal(y_ours, y_plain)
  for a, b in zip(g_ours, g_plain):
    np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-6)

"""A model family defined outside modeling/, through its extension points
only: a class that overrides `attention_scores`, and one registration call.

The toy family is BERT with a learned bias on the attention scores per head
and relative distance (clipped), a variable of each layer's attention. It
builds, trains a step, saves and restores like any family, and its outputs
are not BERT's.
"""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
from modeling import families
from modeling import layers

tf.disable_eager_execution()


class RelativeBiasBertModel(modeling.BertModel):
  """BERT + a learned [heads] bias per query-key distance, clipped to
  +-max_distance, added to every layer's attention scores."""

  model_type = "relative_bias_bert"
  config_file = "relative_bias_bert_config.json"
  max_distance = 3

  def attention_scores(self, query, key):
    """query, key [B, N, S, D] -> [B, N, S, S]: BERT's + bias[distance]."""
    scores = super().attention_scores(query, key)               # [B, N, S, S]
    heads = query.shape.as_list()[1]
    seq_length = tf.shape(query)[2]
    table = tf.get_variable(
        "relative_bias", [2 * self.max_distance + 1, heads],
        initializer=layers.create_initializer(self.config.initializer_range))
    positions = tf.range(seq_length)
    distance = positions[tf.newaxis, :] - positions[:, tf.newaxis]  # [S, S]
    distance = tf.clip_by_value(distance, -self.max_distance,
                                self.max_distance) + self.max_distance
    bias = tf.gather(table, distance)                           # [S, S, N]
    return scores + tf.transpose(bias, [2, 0, 1])[tf.newaxis]   # [1, N, S, S]


FAMILIES = families.FAMILIES.with_family(RelativeBiasBertModel)
TOY = RelativeBiasBertModel.model_type
BATCH, SEQ, VOCAB, LABELS = 4, 8, 30, 2


def _config():
  return modeling.BertConfig(
      vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2,
      num_attention_heads=4, intermediate_size=64, hidden_act="gelu",
      hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
      max_position_embeddings=SEQ, type_vocab_size=2,
      initializer_range=0.2, model_type=TOY)


def _inputs():
  rng = np.random.RandomState(0)
  input_ids = rng.randint(1, VOCAB, size=[BATCH, SEQ]).astype(np.int32)
  input_mask = np.ones([BATCH, SEQ], np.int32)
  input_mask[1, 5:] = 0
  segment_ids = np.zeros([BATCH, SEQ], np.int32)
  segment_ids[:, 4:] = 1
  labels = np.array([0, 1, 1, 0], np.int32)
  return input_ids, input_mask, segment_ids, labels


def _placeholders():
  return [tf.placeholder(tf.int32, [None, None], name=n)
          for n in ("input_ids", "input_mask", "segment_ids")]


def _sequence_output(model_type, checkpoint, allow_partial=False):
  """Builds `model_type` in a fresh graph, restores `checkpoint` by name
  and returns (sequence output [B, S, H], restore report)."""
  input_ids, input_mask, segment_ids, _ = _inputs()
  with tf.Graph().as_default():
    ids, mask, seg = _placeholders()
    model = FAMILIES.build_model(model_type, _config(), False, ids, mask, seg)
    report = modeling.init_from_checkpoint(
        checkpoint, FAMILIES.encoder_scope(model_type), log=False,
        allow_partial=allow_partial)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      out = sess.run(model.get_sequence_output(),
                     {ids: input_ids, mask: input_mask, seg: segment_ids})
  return out, report


def test_one_registration_call_adds_the_family():
  assert TOY in FAMILIES.model_types
  assert TOY not in families.MODEL_TYPES  # the package's own is untouched
  assert FAMILIES.family(TOY) is RelativeBiasBertModel
  assert FAMILIES.encoder_scope(TOY) == "bert"
  bert_names = ["bert/embeddings/word_embeddings",
                "bert/encoder/layer_0/attention/self/query/kernel"]
  # Same variable names as BERT: the config's model_type decides...
  assert FAMILIES.infer_model_type(_config(), bert_names) == TOY
  # ...and without it, the checkpoint is BERT's, as before.
  assert FAMILIES.infer_model_type(modeling.BertConfig(VOCAB),
                                   bert_names) == "bert"
  with pytest.raises(ValueError):
    FAMILIES.with_family(RelativeBiasBertModel)


def test_trains_saves_restores_and_differs_from_bert(tmp_path):
  input_ids, input_mask, segment_ids, labels = _inputs()
  checkpoint = str(tmp_path / "model.ckpt")
  with tf.Graph().as_default():
    tf.set_random_seed(1)
    ids, mask, seg = _placeholders()
    model = FAMILIES.build_model(TOY, _config(), True, ids, mask, seg)
    with tf.variable_scope("cls"):
      logits = layers.dense(model.get_pooled_output(), LABELS,
                            layers.create_initializer(0.2))
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits))
    biases = [v for v in tf.global_variables()
              if v.name.endswith("/relative_bias:0")]
    gradients = [tf.convert_to_tensor(g)  # [7, heads], dense
                 for g in tf.gradients(loss, biases)]
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    feed = {ids: input_ids, mask: input_mask, seg: segment_ids}
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      loss_before, bias_grads = sess.run([loss, gradients], feed)
      sess.run(train_op, feed)
      loss_after, trained = sess.run([loss, model.get_sequence_output()],
                                     feed)
      tf.train.Saver().save(sess, checkpoint)

  # One bias per layer, in the layer's attention scope, beside BERT's own.
  assert [v.name for v in biases] == [
      "bert/encoder/layer_%d/attention/self/relative_bias:0" % i
      for i in range(2)]
  for grad in bias_grads:
    assert grad.shape == (7, 4) and np.abs(grad).max() > 1e-6
  assert loss_after < loss_before

  restored, report = _sequence_output(TOY, checkpoint)
  np.testing.assert_array_equal(restored, trained)
  assert not [n for n in report.to_initialize if n.startswith("bert/")]
  assert len([n for n in report.restored if "relative_bias" in n]) == 2

  # Plain BERT on the same weights: the biases go unused, the outputs move.
  plain, report = _sequence_output("bert", checkpoint, allow_partial=True)
  assert sorted(n for n in report.unused_other if "relative_bias" in n) == [
      "bert/encoder/layer_%d/attention/self/relative_bias" % i
      for i in range(2)]
  assert np.abs(plain - restored)[input_mask.astype(bool)].max() > 1e-3

"""The last layer at the first tokens alone (first_token_only): what a
classifier reads, equal to the full encoder's, for every family, packed or
not, in outputs and in training gradients; and really less work."""

import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
from modeling import base
from modeling import layers
from bert_toolkit.engine import task as task_lib
from bert_toolkit.tasks import classifier
from bert_toolkit.tasks import regression
from bert_toolkit.tasks import tagging
from tests import modelrun
from tests.paths import REFERENCE_DIR
from tests.test_packing import _family
from tests.test_packing import _reference

tf.disable_eager_execution()

SAME = 1e-5      # against our own full graph
TOL = 1e-4       # against the official implementation's outputs
FAMILIES = ["bert_zh_tiny", "albert_zh_tiny", "electra_zh_tiny",
            "distilbert_en_tiny"]


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("name", FAMILIES)
def test_pooled_output_is_the_full_encoders(name, packed, tmp_path):
  model_type, config, checkpoint = _family(name, tmp_path)
  ref = _reference(name)
  args = (ref["input_ids"], ref["input_mask"], ref["segment_ids"])
  pack = (64,) if packed else None
  full = modelrun.run_model(model_type, config, checkpoint, *args)
  first = modelrun.run_model(model_type, config, checkpoint, *args,
                             pack_sizes=pack, first_token_only=True)
  batch, _, hidden = full["sequence_output"].shape
  assert first["sequence_output"].shape == (batch, 1, hidden)
  np.testing.assert_allclose(first["sequence_output"][:, 0],
                             full["sequence_output"][:, 0], atol=SAME)
  np.testing.assert_allclose(first["pooled_output"], full["pooled_output"],
                             atol=SAME)
  if ref.get("pooled_output", np.zeros(0)).size:   # DistilBERT has none
    np.testing.assert_allclose(first["pooled_output"], ref["pooled_output"],
                               atol=TOL)
  # The layers before the last are computed in full, as before.
  mask = ref["input_mask"]
  for i in range(len(first["all_encoder_layers"]) - 1):
    assert modelrun.max_diff(first["all_encoder_layers"][i],
                             full["all_encoder_layers"][i], mask) < SAME


def test_a_wrong_query_position_would_show(monkeypatch, tmp_path):
  """The test above can fail: queries at the second token instead of the
  first change the pooled output far beyond 1e-5."""
  real = base.first_token_queries

  def second_token(*args, **kwargs):
    q = real(*args, **kwargs)
    return q._replace(index=q.index + 1)

  monkeypatch.setattr(base, "first_token_queries", second_token)
  model_type, config, checkpoint = _family("bert_zh_tiny", tmp_path)
  ref = _reference("bert_zh_tiny")
  first = modelrun.run_model(model_type, config, checkpoint,
                             ref["input_ids"], ref["input_mask"],
                             ref["segment_ids"], first_token_only=True)
  assert np.abs(first["pooled_output"] - ref["pooled_output"]).max() > 1e-2


def _feed_forward_rows(first_token_only):
  """The rows of each layer's feed-forward input, read from the graph."""
  config = modeling.BertConfig(vocab_size=50, hidden_size=16,
                               num_hidden_layers=3, num_attention_heads=2,
                               intermediate_size=32)
  with tf.Graph().as_default() as graph:
    ids = tf.zeros([4, 10], tf.int32)
    modeling.BertModel(config, False, ids, first_token_only=first_token_only)
    return [op.inputs[0].shape.as_list()[0] for op in graph.get_operations()
            if op.type == "MatMul" and "intermediate/dense" in op.name]


def test_the_last_layer_does_a_fraction_of_the_work():
  assert _feed_forward_rows(False) == [40, 40, 40]   # batch * seq each
  assert _feed_forward_rows(True) == [40, 40, 4]     # one row an example


def _loss_and_grads(task, batch, first_token_only):
  folder = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
  config = modeling.BertConfig.from_json_file(
      os.path.join(folder, "bert_config.json"))
  config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
  with tf.Graph().as_default():
    features = {k: tf.constant(v) for k, v in batch.items()}
    model = task_lib.encoder_from_features("bert", config, features, True,
                                           first_token_only)
    out = task.head(model, features, task_lib.HeadContext(
        tf.estimator.ModeKeys.TRAIN, "bert", config, None))
    tvars = tf.trainable_variables()
    grads = [tf.convert_to_tensor(g)
             for g in tf.gradients(out.loss, tvars)]
    modeling.init_from_checkpoint(os.path.join(folder, "bert_model.ckpt"),
                                  "bert", log=False)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for v in tvars:
        if not v.name.startswith("bert/"):   # the same head in both graphs
          rng = np.random.RandomState(len(v.name))
          sess.run(v.assign(rng.normal(0, 0.1, v.shape.as_list())))
      loss, values = sess.run([out.loss, grads])
  return loss, {v.name: g for v, g in zip(tvars, values)}


def test_classifier_training_has_the_full_encoders_loss_and_gradients():
  ref = _reference("bert_zh_tiny")
  batch = {"input_ids": ref["input_ids"], "input_mask": ref["input_mask"],
           "segment_ids": ref["segment_ids"],
           "label_ids": np.arange(len(ref["input_ids"]), dtype=np.int32) % 2}
  task = classifier.Classifier("chnsenticorp")
  task.label_list = ["0", "1"]
  loss_f, grads_f = _loss_and_grads(task, batch, False)
  loss_1, grads_1 = _loss_and_grads(task, batch, True)
  assert abs(loss_1 - loss_f) < SAME * max(1.0, abs(loss_f))
  assert set(grads_1) == set(grads_f) and len(grads_f) > 10
  last = [n for n in grads_f if "layer_%d/" % 1 in n]
  assert last, sorted(grads_f)   # the last layer's weights are trained too
  for name, grad in grads_f.items():
    scale = max(1.0, float(np.abs(grad).max()))
    assert np.abs(grads_1[name] - grad).max() < SAME * scale, name


def test_which_tasks_read_the_first_token_alone():
  assert classifier.Classifier.first_token_only
  assert regression.Regressor.first_token_only
  assert not tagging.Tagger.first_token_only   # NER reads every token
  assert not task_lib.Task.first_token_only

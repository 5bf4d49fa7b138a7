"""Checks every run makes before any work, and the train/evaluate loop."""

import os

import pytest
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit.runs import run_info
from bert_toolkit import settings as settings_lib
from bert_toolkit.engine import training
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def _files(checkpoint):
  config = modeling.BertConfig.from_json_file(
      os.path.join(BERT_DIR, "bert_config.json"))
  return modeling.PretrainedFiles(checkpoint, "bert_config.json",
                                  os.path.join(BERT_DIR, "vocab.txt"), "bert",
                                  config)


def test_case_that_contradicts_a_google_model_name_is_a_user_error():
  files = _files("/models/uncased_L-12_H-768_A-12/bert_model.ckpt")
  with pytest.raises(modeling.ConfigError, match="--do_lower_case=True"):
    modeling.check_inputs(files, False, 64)
  modeling.check_inputs(files, True, 64)


def test_too_long():
  files = _files(None)
  with pytest.raises(modeling.ConfigError, match="max_position_embeddings"):
    modeling.check_inputs(files, True, 10 ** 6)


class _CheckpointingEstimator(object):
  """Stands in for an Estimator: train() saves a checkpoint at max_steps."""

  def __init__(self, output_dir):
    self.output_dir = output_dir
    self.calls = []

  def train(self, input_fn, max_steps):
    self.calls.append((input_fn, max_steps))
    with tf.Graph().as_default():
      step = tf.train.get_or_create_global_step()
      with tf.Session() as sess:
        sess.run(step.assign(max_steps))
        tf.train.Saver().save(sess, os.path.join(self.output_dir, "model.ckpt"),
                              global_step=max_steps)


def test_best_checkpoint_and_early_stopping(tmp_path):
  out = str(tmp_path)
  estimator = _CheckpointingEstimator(out)
  accuracies = iter([0.5, 0.7, 0.6, 0.65, 0.9])
  settings = settings_lib.TrainSettings(eval_every_steps=10,
                                    early_stopping_patience=2,
                                    best_metric="accuracy")
  outcome = training.train_and_evaluate(
      estimator, lambda step: "input@%d" % step, 100, settings, out,
      lambda: {"accuracy": next(accuracies), "global_step": 0})
  # Evaluations at 10, 20, 30, 40: best at 20, then two worse ones: stop.
  assert outcome["stopped_early"] and outcome["global_step"] == 40
  assert outcome["best"]["step"] == 20 and outcome["best"]["value"] == 0.7
  assert [c[1] for c in estimator.calls] == [10, 20, 30, 40]
  # Each training call resumes the input where the last one stopped.
  assert [c[0] for c in estimator.calls] == ["input@0", "input@10",
                                             "input@20", "input@30"]
  best = tf.train.latest_checkpoint(os.path.join(out, training.BEST_DIR))
  assert best.endswith("model.ckpt-20")
  assert run_info.fine_tuned_checkpoint(out) == best
  assert int(tf.train.load_variable(best, "global_step")) == 20


def test_a_run_that_stopped_early_is_finished(tmp_path):
  """Rerunning an early-stopped run trains nothing more (it used to train
  another evaluation interval each time)."""
  out = str(tmp_path)
  settings = settings_lib.TrainSettings(eval_every_steps=10,
                                        early_stopping_patience=1,
                                        best_metric="accuracy")
  values = iter([0.5, 0.4])
  first = training.train_and_evaluate(
      _CheckpointingEstimator(out), lambda step: step, 100, settings, out,
      lambda: {"accuracy": next(values)})
  assert first["stopped_early"] and first["global_step"] == 20
  estimator = _CheckpointingEstimator(out)
  again = training.train_and_evaluate(
      estimator, lambda step: step, 100, settings, out,
      lambda: pytest.fail("a finished run evaluates nothing"))
  assert estimator.calls == []
  assert again["finished_before"] and again["stopped_early"]
  assert again["global_step"] == 20 and again["best"]["step"] == 10


def test_a_checkpoint_killed_before_its_evaluation_is_evaluated_first(
    tmp_path):
  """Killed between the checkpoint at step 20 and its evaluation: the
  rerun evaluates step 20 before it trains on, so the best checkpoint is
  the one an uninterrupted run keeps."""
  out = str(tmp_path)
  settings = settings_lib.TrainSettings(eval_every_steps=10,
                                        best_metric="accuracy")
  values = iter([0.5])
  training.train_and_evaluate(_CheckpointingEstimator(out), lambda s: s, 10,
                              settings, out,
                              lambda: {"accuracy": next(values)})
  _CheckpointingEstimator(out).train(None, 20)  # the kill: no evaluation
  seen = []

  def evaluate():
    seen.append(training.current_step(out))
    return {"accuracy": 0.9 if len(seen) == 1 else 0.1}

  estimator = _CheckpointingEstimator(out)
  outcome = training.train_and_evaluate(estimator, lambda s: s, 30, settings,
                                        out, evaluate)
  assert seen == [20, 30]
  assert outcome["best"]["step"] == 20 and outcome["global_step"] == 30
  assert [c[1] for c in estimator.calls] == [30]


def test_a_kill_while_best_is_replaced_keeps_a_best(tmp_path):
  """copy_checkpoint moves the old best/ aside first; recover_best puts it
  back when the kill came before the new one took its place."""
  out = str(tmp_path)
  _CheckpointingEstimator(out).train(None, 10)
  best = os.path.join(out, training.BEST_DIR)
  training.copy_checkpoint(os.path.join(out, "model.ckpt-10"), best)
  os.replace(best, best + ".old")  # the kill, halfway through the swap
  os.makedirs(best + ".tmp")
  training.recover_best(out)
  assert sorted(os.listdir(out)) == ["best", "checkpoint",
                                     "model.ckpt-10.data-00000-of-00001",
                                     "model.ckpt-10.index",
                                     "model.ckpt-10.meta"]
  assert tf.train.latest_checkpoint(best).endswith("model.ckpt-10")


def test_freeze_regex_matching_nothing_is_a_warning():
  import logging  # pylint: disable=g-import-not-at-top
  config = modeling.BertConfig.from_json_file(
      os.path.join(BERT_DIR, "bert_config.json"))
  messages = []
  handler = logging.Handler()
  handler.emit = lambda record: messages.append(record.getMessage())
  tf_logger = logging.getLogger("tensorflow")
  tf_logger.addHandler(handler)
  try:
    with tf.Graph().as_default():
      modeling.BertModel(config, True, tf.placeholder(tf.int32, [None, None]))
      trainer = training.Trainer("bert", config, None,
                                 settings_lib.TrainSettings(freeze="nomatch"),
                                 10)
      trainable, _ = trainer.restore_and_select()
      assert len(trainable) == len(tf.trainable_variables())
  finally:
    tf_logger.removeHandler(handler)
  assert any("--freeze='nomatch' matches no variable" in m for m in messages)


def test_lamb_scales_the_update_by_the_trust_ratio():
  """One LAMB step against numpy: update = m/(sqrt(v)+eps) + wd*w, scaled
  by ||w|| / ||update||; a bias (no decay) takes the plain update."""
  from bert_toolkit.engine import optimization  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  w0, g = np.array([3.0, 4.0], np.float32), np.array([0.5, -2.0], np.float32)
  with tf.Graph().as_default():
    w = tf.Variable(w0, name="layer/kernel")
    b = tf.Variable(w0, name="layer/bias")
    optimizer = optimization.LambOptimizer(0.1, weight_decay_rate=0.01)
    step = optimizer.apply_gradients([(tf.constant(g), w),
                                      (tf.constant(g), b)])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(step)
      got_w, got_b = sess.run([w, b])
  m, v = 0.1 * g, 0.001 * g * g
  plain = m / (np.sqrt(v) + 1e-6)
  update = plain + 0.01 * w0
  ratio = np.linalg.norm(w0) / np.linalg.norm(update)
  np.testing.assert_allclose(got_w, w0 - 0.1 * ratio * update, rtol=1e-5)
  np.testing.assert_allclose(got_b, w0 - 0.1 * plain, rtol=1e-5)


def _adamw_steps(fused, use_resource, grads, w0):
  """Weights after AdamWeightDecay steps (decay 0.01, a 0.5 multiplier on
  the kernel) on a kernel and a bias (no decay)."""
  from bert_toolkit.engine import optimization  # pylint: disable=g-import-not-at-top
  with tf.Graph().as_default():
    w = tf.get_variable("layer/kernel", initializer=w0,
                        use_resource=use_resource)
    b = tf.get_variable("layer/bias", initializer=w0,
                        use_resource=use_resource)
    g = tf.placeholder(tf.float32, w0.shape)
    optimizer = optimization.AdamWeightDecayOptimizer(
        0.1, weight_decay_rate=0.01, lr_multipliers={"layer/kernel": 0.5})
    optimizer.fused = fused
    step = optimizer.apply_gradients([(g, w), (2.0 * g, b)])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for grad in grads:
        sess.run(step, {g: grad})
      return sess.run([w, b])


def _google_adamw(w0, grads, scale, lr, decay, one_minus_b1, one_minus_b2):
  """numpy: Google's AdamWeightDecay update, in float64."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  p, m, v = w0.astype(np.float64), 0.0, 0.0
  for grad in grads:
    m = (1 - one_minus_b1) * m + one_minus_b1 * scale * grad
    v = (1 - one_minus_b2) * v + one_minus_b2 * (scale * grad) ** 2
    p = p - lr * (m / (np.sqrt(v) + 1e-6) + decay * p)
  return p


def test_fused_adamw_equals_googles_update():
  """5 steps on a decayed kernel (lr multiplier 0.5) and a bias, resource
  and ref variables, against numpy. The unfused graph is Google's update to
  float rounding. The fused kernel (ApplyAdam, beta powers 0, decay first)
  is the same update except that the kernel forms 1 - beta in float32
  (1 - 0.999f = 0.00099998713): equal to numpy with those weights, and
  within 1e-4 of Google's."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(3)
  w0 = rng.normal(size=(4, 3)).astype(np.float32)
  grads = [rng.normal(size=(4, 3)).astype(np.float32) for _ in range(5)]
  f32 = lambda b: float(np.float32(1.0) - np.float32(b))
  exact = {"w": _google_adamw(w0, grads, 1.0, 0.05, 0.01, 0.1, 0.001),
           "b": _google_adamw(w0, grads, 2.0, 0.1, 0.0, 0.1, 0.001)}
  kernel = {"w": _google_adamw(w0, grads, 1.0, 0.05, 0.01, f32(0.9),
                               f32(0.999)),
            "b": _google_adamw(w0, grads, 2.0, 0.1, 0.0, f32(0.9),
                               f32(0.999))}
  for use_resource in (True, False):
    got_w, got_b = _adamw_steps(False, use_resource, grads, w0)
    np.testing.assert_allclose(got_w, exact["w"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_b, exact["b"], rtol=1e-5, atol=1e-6)
    got_w, got_b = _adamw_steps(True, use_resource, grads, w0)
    np.testing.assert_allclose(got_w, kernel["w"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_b, kernel["b"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_w, exact["w"], rtol=1e-4, atol=1e-4)
  assert not np.allclose(exact["w"], w0, atol=1e-2)  # it moved
  assert not np.allclose(kernel["b"], exact["b"], rtol=1e-7, atol=0)


def _embedding_steps(sparse, ids, steps=3):
  """An embedding table and a kernel after `steps` clipped AdamWeightDecay
  steps, the table's gradient sparse (a gather, as the encoder looks up
  words) or dense (a one-hot matmul)."""
  from bert_toolkit.engine import optimization  # pylint: disable=g-import-not-at-top
  from modeling import layers  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(5)
  with tf.Graph().as_default():
    tf.train.get_or_create_global_step()
    table = tf.get_variable("word_embeddings",
                            initializer=rng.normal(size=(10, 3)).astype(
                                np.float32), use_resource=True)
    kernel = tf.get_variable("layer/kernel",
                             initializer=rng.normal(size=(3, 2)).astype(
                                 np.float32), use_resource=True)
    if sparse:   # the encoder's own lookup, on the table above
      with tf.variable_scope(tf.get_variable_scope(), reuse=True):
        rows, _ = layers.embedding_lookup(tf.constant([ids]), 10, 3)
      rows = tf.reshape(rows, [len(ids), 3])
      assert isinstance(tf.gradients(tf.reduce_sum(rows), table)[0],
                        tf.IndexedSlices)
    else:
      rows = tf.matmul(tf.one_hot(ids, 10), table)
    # large enough a loss that the global norm is over 1: clipping acts
    loss = 50.0 * tf.reduce_sum(tf.square(tf.matmul(rows, kernel) - 1.0))
    train_op, _ = optimization.create_train_op(
        loss, 0.1, 100, 0, [table, kernel], clip_norm=1.0)
    norm = tf.global_norm(tf.gradients(loss, [table, kernel]))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      assert sess.run(norm) > 10.0
      for _ in range(steps):
        sess.run(train_op)
      return sess.run([table, kernel]), tf.get_default_graph()


def test_a_sparse_embedding_gradient_steps_as_the_dense_one():
  """Repeated ids in a batch: the gathered table's sparse gradient, its
  rows summed and clipped at the global norm, moves every variable as the
  dense gradient of a one-hot lookup does, including rows the batch did
  not touch (decay and momentum). And the lookup reads the table whole:
  no gather on the variable itself, which would make every later dense
  read of it a copy."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  ids = [1, 1, 2, 5, 1, 2]
  (sparse_table, sparse_kernel), graph = _embedding_steps(True, ids)
  (dense_table, dense_kernel), _ = _embedding_steps(False, ids)
  np.testing.assert_allclose(sparse_table, dense_table, rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(sparse_kernel, dense_kernel, rtol=1e-5,
                             atol=1e-6)
  assert "ResourceGather" not in {op.type for op in graph.get_operations()}


def test_dropout_drops_at_its_rate_and_keeps_the_expectation():
  """The 16-bit mask: about dropout_prob of the elements are zero (an odd
  count of elements too), the rest scaled so that the mean is kept, and
  the gradient flows through the same mask."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from modeling import layers  # pylint: disable=g-import-not-at-top
  with tf.Graph().as_default():
    tf.set_random_seed(1)
    x = tf.ones([1001, 999])
    y = layers.dropout(x, 0.1)
    grad = tf.gradients(tf.reduce_sum(3.0 * y), x)[0]
    assert layers.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="not in"):
      layers.dropout(x, 1.0)
    with tf.Session() as sess:
      got, got_grad = sess.run([y, grad])
  dropped = got == 0
  assert abs(dropped.mean() - 0.1) < 0.003        # ~1M draws: sd 0.0003
  assert abs(got.mean() - 1.0) < 0.005
  np.testing.assert_allclose(np.unique(got), [0.0, 65536 / 58982.0],
                             rtol=1e-6)
  np.testing.assert_array_equal(got_grad == 0, dropped)
  # every row and column drops some: the mask is not one repeated block
  assert dropped.any(axis=0).all() and dropped.any(axis=1).all()

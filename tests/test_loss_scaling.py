"""--use_amp's dynamic loss scaling (bert_toolkit.engine.optimization.
DynamicLossScale), checked in float32 on CPU: the float16 rewrite itself
runs on GPUs only."""

import numpy as np
import tensorflow.compat.v1 as tf

from bert_toolkit.engine import optimization


def _train(loss_scaling, xs):
  """Steps a linear model over the rows of xs; returns (w, scales)."""
  graph = tf.Graph()
  with graph.as_default():
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.reduce_sum(x, axis=1)
    w = tf.get_variable("w", [3], initializer=tf.constant_initializer(0.1))
    loss = tf.reduce_mean(tf.square(tf.reduce_sum(x * w, axis=1) - y))
    train_op, _ = optimization.create_train_op(
        loss, 0.01, 10, 0, [w], loss_scaling=loss_scaling)
    scale = ([v for v in tf.global_variables()
              if v.op.name == "loss_scale"] or [None])[0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      ws, scales = [], []
      for row in xs:
        sess.run(train_op, {x: row[None, :]})
        ws.append(sess.run(w))
        scales.append(sess.run(scale) if scale is not None else None)
  return ws, scales


def test_scaled_gradients_give_the_same_weights():
  xs = np.random.RandomState(0).normal(size=(5, 3)).astype(np.float32)
  plain, _ = _train(False, xs)
  scaled, scales = _train(True, xs)
  np.testing.assert_allclose(scaled, plain, rtol=0, atol=1e-7)
  assert scales == [2.0 ** 15] * 5


def test_a_step_with_inf_gradients_is_skipped_and_halves_the_scale():
  xs = np.random.RandomState(1).normal(size=(4, 3)).astype(np.float32)
  xs[2, 0] = np.inf
  scaled, scales = _train(True, xs)
  np.testing.assert_array_equal(scaled[2], scaled[1])   # skipped
  assert not np.array_equal(scaled[3], scaled[2])       # then goes on
  assert np.all(np.isfinite(scaled[3]))
  assert scales == [2.0 ** 15, 2.0 ** 15, 2.0 ** 14, 2.0 ** 14]


def test_growth_after_enough_finite_steps(monkeypatch):
  monkeypatch.setattr(optimization.DynamicLossScale, "GROWTH_STEPS", 3)
  xs = np.random.RandomState(2).normal(size=(4, 3)).astype(np.float32)
  _, scales = _train(True, xs)
  assert scales == [2.0 ** 15, 2.0 ** 15, 2.0 ** 16, 2.0 ** 16]

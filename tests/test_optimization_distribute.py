"""AdamWeightDecay under a tf.distribute strategy (Google's optimizer can't).

An Estimator trains the same small linear model twice on the same data, once
plainly and once with `train_distribute=MirroredStrategy` on one CPU device;
our optimizer must run under the strategy and give the same weights.
"""

import numpy as np
import tensorflow.compat.v1 as tf

from bert_toolkit.engine import optimization

STEPS = 6


def _input_fn():
  rng = np.random.RandomState(0)
  x = rng.normal(size=(64, 4)).astype(np.float32)
  y = x.dot(np.array([1.0, -2.0, 0.5, 3.0], np.float32))
  return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(16).repeat()


def _model_fn(features, labels, mode):
  w = tf.get_variable("dense/kernel", [4, 1],
                      initializer=tf.constant_initializer(0.1))
  b = tf.get_variable("dense/bias", [1], initializer=tf.zeros_initializer())
  predictions = tf.squeeze(tf.matmul(features["x"], w) + b, -1)
  loss = tf.reduce_mean(tf.square(predictions - labels))
  train_op, _ = optimization.create_train_op(
      loss, 0.1, STEPS, 1, [w, b], weight_decay_rate=0.01)
  return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def _train(model_dir, strategy=None):
  config = tf.estimator.RunConfig(model_dir=model_dir, train_distribute=strategy,
                                  tf_random_seed=1)
  estimator = tf.estimator.Estimator(_model_fn, config=config)
  estimator.train(_input_fn, max_steps=STEPS)
  return {name: estimator.get_variable_value(name)
          for name in ("dense/kernel", "dense/bias", "global_step")}


def test_same_weights_with_and_without_mirrored_strategy(tmp_path):
  plain = _train(str(tmp_path / "plain"))
  mirrored = _train(str(tmp_path / "mirrored"),
                    tf.distribute.MirroredStrategy(["/cpu:0"]))
  assert int(plain["global_step"]) == int(mirrored["global_step"]) == STEPS
  assert not np.allclose(plain["dense/kernel"], 0.1)  # it did train
  np.testing.assert_allclose(mirrored["dense/kernel"], plain["dense/kernel"],
                             atol=1e-6)
  np.testing.assert_allclose(mirrored["dense/bias"], plain["dense/bias"],
                             atol=1e-6)

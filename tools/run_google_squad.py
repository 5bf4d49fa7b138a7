#!/usr/bin/env python
"""Launcher: runs google-research/bert's run_squad.py UNMODIFIED under TF 2.x,
for the parity tests (tests/test_run_squad.py) and benchmarks.

Usage (Google's flags):
  python tools/run_google_squad.py --vocab_file=vocab.txt \
      --bert_config_file=bert_config.json --init_checkpoint=bert_model.ckpt \
      --train_file=train.json --predict_file=dev.json --output_dir=out \
      --do_train --do_predict

BERT_SRC (environment) is the folder of Google's code (default
../shared/anchors/google_bert next to the repository). Google's modules are
imported by tools/google_squad_shim.py (tf -> tensorflow.compat.v1, each
script's flags in a FlagValues of its own); this launcher gives Google's
code, in memory, stand-ins for what it takes from TF 1's contrib module
(which TF 2 no longer has):

  layers.layer_norm      a layer norm with contrib's variables (scope/beta,
                         scope/gamma) and arithmetic (moments over the last
                         axis, epsilon 1e-12)
  tpu.*                  tf.compat.v1.estimator.tpu (TPUEstimator on CPU with
                         --use_tpu=false), CrossShardOptimizer
  data.map_and_batch     tf.data.experimental.map_and_batch
  cluster_resolver       tf.distribute.cluster_resolver

Nothing on disk is modified and nothing of Google's code is copied here.
"""

import os
import sys
import types

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _layer_norm(tf1):
  """contrib's layers.layer_norm as Google's modeling.py calls it."""
  def layer_norm(inputs, center=True, scale=True, begin_norm_axis=-1,
                 begin_params_axis=-1, scope=None, **unused):
    del unused, begin_norm_axis, begin_params_axis   # Google's: last axis
    with tf1.variable_scope(scope, "LayerNorm", [inputs]):
      shape = inputs.shape[-1:]
      beta = tf1.get_variable("beta", shape, dtype=inputs.dtype,
                              initializer=tf1.zeros_initializer(),
                              trainable=center)
      gamma = tf1.get_variable("gamma", shape, dtype=inputs.dtype,
                               initializer=tf1.ones_initializer(),
                               trainable=scale)
      mean, variance = tf1.nn.moments(inputs, [-1], keep_dims=True)
      return tf1.nn.batch_normalization(inputs, mean, variance, offset=beta,
                                        scale=gamma, variance_epsilon=1e-12)
  return layer_norm


def contrib_shim():
  """The in-memory stand-in for the contrib module Google's code calls."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf1  # pylint: disable=g-import-not-at-top
  tpu = tf1.estimator.tpu
  contrib = types.SimpleNamespace()
  contrib.layers = types.SimpleNamespace(layer_norm=_layer_norm(tf1))
  contrib.tpu = types.SimpleNamespace(
      TPUEstimator=tpu.TPUEstimator, TPUEstimatorSpec=tpu.TPUEstimatorSpec,
      RunConfig=tpu.RunConfig, TPUConfig=tpu.TPUConfig,
      InputPipelineConfig=tpu.InputPipelineConfig,
      CrossShardOptimizer=tf1.tpu.CrossShardOptimizer)
  contrib.data = types.SimpleNamespace(
      map_and_batch=tf.data.experimental.map_and_batch)
  contrib.cluster_resolver = tf.distribute.cluster_resolver
  return contrib


def load_google():
  """Google's run_squad module with the contrib stand-in in place."""
  sys.path.insert(0, REPO_DIR)
  from tools import google_squad_shim  # pylint: disable=g-import-not-at-top
  google = google_squad_shim.load_google()
  # The module attribute all of Google's modules read through `tf`.
  setattr(google.tf, "contrib", contrib_shim())
  return google


def main(argv):
  import tensorflow.compat.v1 as tf1  # pylint: disable=g-import-not-at-top
  tf1.disable_v2_behavior()
  google = load_google()
  google.FLAGS.unparse_flags()
  google.FLAGS(argv)
  google.main(None)


if __name__ == "__main__":
  main(sys.argv)

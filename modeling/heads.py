"""Task heads on top of an encoder: sentence classification.

`classifier_logits` is google-research/bert's run_classifier head: dropout on
the pooled output, then `output_weights` [num_labels, hidden] and
`output_bias` [num_labels] (Google's variable names, outside the encoder
scope, so a restore report lists them as "initialised here").
"""

import tensorflow.compat.v1 as tf

from modeling import layers


def classifier_logits(pooled_output, num_labels, is_training,
                      dropout_prob=0.1, initializer_range=0.02):
  """Args:
    pooled_output: float Tensor [batch, hidden].
    num_labels: number of classes.
    is_training: apply dropout.

  Returns:
    float Tensor [batch, num_labels] of logits.
  """
  hidden_size = pooled_output.shape[-1]
  output_weights = tf.get_variable(
      "output_weights", [num_labels, hidden_size],
      initializer=tf.truncated_normal_initializer(stddev=initializer_range))
  output_bias = tf.get_variable("output_bias", [num_labels],
                                initializer=tf.zeros_initializer())
  if is_training:
    pooled_output = layers.dropout(pooled_output, dropout_prob)
  logits = tf.matmul(pooled_output, output_weights, transpose_b=True)
  return tf.nn.bias_add(logits, output_bias)


def softmax_cross_entropy(logits, label_ids, num_labels):
  """Mean cross-entropy of [batch, num_labels] logits vs [batch] ids.

  Returns:
    (loss scalar, per_example_loss [batch], probabilities [batch, labels]).
  """
  log_probs = tf.nn.log_softmax(logits, axis=-1)
  one_hot = tf.one_hot(label_ids, depth=num_labels, dtype=tf.float32)
  per_example_loss = -tf.reduce_sum(one_hot * log_probs, axis=-1)
  return (tf.reduce_mean(per_example_loss), per_example_loss,
          tf.nn.softmax(logits, axis=-1))

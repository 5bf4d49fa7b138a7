"""Task heads on top of an encoder: sentence classification and tagging.

`classifier_logits` is google-research/bert's run_classifier head: dropout on
the pooled output, then `output_weights` [num_labels, hidden] and
`output_bias` [num_labels] (Google's variable names, outside the encoder
scope, so a restore report lists them as "initialised here").
`pool_windows` turns the logits of a long text's windows into the text's.

Tagging (bert_toolkit/tasks/tagging.py): `token_logits` (optional BiLSTM, then a
per-token projection), `masked_token_cross_entropy` (softmax loss over the
labelled positions only) and `crf_partial_log_likelihood` (CRF loss with
unlabelled positions summed out).
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


def pool_windows(window_logits, window_example, pooling="mean"):
  """Logits of the windows of long texts -> one row of logits per text.

  Args:
    window_logits: float Tensor [windows, num_labels].
    window_example: int32 Tensor [windows]: the text (0 .. texts - 1, each
      text at least one window) that each window belongs to.
    pooling: "mean" over a text's windows, or "max" per label.

  Returns:
    float Tensor [texts, num_labels] (texts = max(window_example) + 1).
  """
  num_texts = tf.reduce_max(window_example) + 1
  if pooling == "max":
    return tf.math.unsorted_segment_max(window_logits, window_example,
                                        num_texts)
  if pooling == "mean":
    return tf.math.unsorted_segment_mean(window_logits, window_example,
                                         num_texts)
  raise ValueError("window pooling must be mean or max, got %r" % pooling)


def _weighted_mean(per_item, label_ids, mask, class_weights):
  """sum(w * loss) / sum(w), w = mask * class_weights[label]: PyTorch's
  CrossEntropyLoss(weight=...) mean (plain mean without class weights)."""
  weights = mask
  if class_weights is not None:
    table = tf.constant(list(class_weights), tf.float32)
    weights = weights * tf.gather(table, label_ids)
  total, replicas = replica_total(tf.reduce_sum(weights))
  return (tf.reduce_sum(per_item * weights) * replicas /
          tf.maximum(total, 1e-12))


def synced_replica_context():
  """The tf.distribute ReplicaContext when this graph code runs in one of
  several replicas in sync, else None (no strategy, one replica, or
  cross-replica context)."""
  if not tf.distribute.has_strategy() or \
      tf.distribute.in_cross_replica_context():
    return None
  context = tf.distribute.get_replica_context()
  return context if context.num_replicas_in_sync > 1 else None


def replica_total(value):
  """(value summed over the replicas in sync, their number).

  A token-level mean under a tf.distribute strategy: each replica divides
  its own sum by the whole batch's count times the replicas, so the
  replicas' losses average to the whole batch's mean (and their averaged
  gradients to its gradient), even when the replicas' slices hold
  different numbers of tokens. Outside a strategy: (value, 1).
  """
  context = synced_replica_context()
  if context is None:
    return value, 1
  replicas = context.num_replicas_in_sync

  def total(strategy, value):  # cross-replica context
    return strategy.extended.reduce_to(tf.distribute.ReduceOp.SUM, value,
                                       destinations=value)

  return context.merge_call(total, args=(tf.stop_gradient(value),)), \
      float(replicas)


def _cross_entropy(logits, label_ids, num_labels, focal_gamma):
  """-log p(label) per item, times (1 - p)^gamma when focal_gamma > 0
  (focal loss, Lin et al. 2017)."""
  log_probs = tf.nn.log_softmax(logits, axis=-1)
  one_hot = tf.one_hot(label_ids, depth=num_labels, dtype=tf.float32)
  log_p = tf.reduce_sum(one_hot * log_probs, axis=-1)
  loss = -log_p
  if focal_gamma:
    loss *= tf.pow(1.0 - tf.exp(log_p), focal_gamma)
  return loss


def softmax_cross_entropy(logits, label_ids, num_labels, class_weights=None,
                          focal_gamma=0.0):
  """Mean cross-entropy of [batch, num_labels] logits vs [batch] ids.

  Args:
    class_weights: optional list, one weight per label: the loss is then
      sum(w[y] * loss) / sum(w[y]) over the batch.
    focal_gamma: > 0 scales each example's loss by (1 - p(y))^gamma.

  Returns:
    (loss scalar, per_example_loss [batch], probabilities [batch, labels]).
  """
  per_example_loss = _cross_entropy(logits, label_ids, num_labels,
                                    focal_gamma)
  loss = _weighted_mean(per_example_loss, label_ids,
                        tf.ones_like(per_example_loss), class_weights)
  return loss, per_example_loss, tf.nn.softmax(logits, axis=-1)


# ------------------------------------------------------- token tagging ---
#
# The tagging head (bert_toolkit/tasks/tagging.py): optional BiLSTM over the
# encoder's sequence output, then a per-token projection to tag scores, under
# the variable scope "tagger" ("tagger/output_weights", "tagger/output_bias",
# "tagger/bilstm/...", "tagger/transitions" for the CRF).

TAGGER_SCOPE = "tagger"


def token_logits(sequence_output, sequence_lengths, num_labels, is_training,
                 dropout_prob=0.1, lstm_size=0, initializer_range=0.02):
  """Per-token tag scores.

  Args:
    sequence_output: float [batch, seq, hidden] (encoder output).
    sequence_lengths: int32 [batch], real tokens per row (for the BiLSTM).
    num_labels: number of tags.
    is_training: apply dropout.
    dropout_prob: dropout before the projection.
    lstm_size: > 0 puts a BiLSTM (lstm_size units each way, outputs
      concatenated) between encoder and projection.

  Returns:
    float [batch, seq, num_labels] logits.
  """
  hidden = sequence_output
  if lstm_size:
    with tf.variable_scope("bilstm"):
      forward = tf.nn.rnn_cell.LSTMCell(lstm_size)
      backward = tf.nn.rnn_cell.LSTMCell(lstm_size)
      (out_fw, out_bw), _ = tf.nn.bidirectional_dynamic_rnn(
          forward, backward, hidden, sequence_length=sequence_lengths,
          dtype=tf.float32)
      hidden = tf.concat([out_fw, out_bw], axis=-1)  # [batch, seq, 2*lstm]
  width = hidden.shape[-1]
  width = width.value if hasattr(width, "value") else width
  output_weights = tf.get_variable(
      "output_weights", [num_labels, width],
      initializer=tf.truncated_normal_initializer(stddev=initializer_range))
  output_bias = tf.get_variable("output_bias", [num_labels],
                                initializer=tf.zeros_initializer())
  if is_training:
    hidden = layers.dropout(hidden, dropout_prob)
  # [batch, seq, width] x [width, labels] -> [batch, seq, labels]
  logits = tf.tensordot(hidden, output_weights, axes=[[2], [1]])
  return tf.nn.bias_add(logits, output_bias)


def masked_token_cross_entropy(logits, label_ids, weights,
                               class_weights=None, focal_gamma=0.0):
  """Mean cross-entropy over the positions with weight 1.

  Args:
    logits: float [batch, seq, num_labels].
    label_ids: int [batch, seq]; ids at weight-0 positions are ignored (may
      be -1).
    weights: float [batch, seq] of 0/1.
    class_weights, focal_gamma: as softmax_cross_entropy, per token.

  Returns:
    scalar loss (0 when no position has weight).
  """
  label_ids = tf.maximum(label_ids, 0)
  per_token = _cross_entropy(logits, label_ids, tf.shape(logits)[-1],
                             focal_gamma)                     # [batch, seq]
  return _weighted_mean(per_token, label_ids, weights, class_weights)


def crf_partial_log_likelihood(potentials, label_ids, label_weights,
                               sequence_lengths, transitions,
                               penalty=-10000.0):
  """log p(gold tags at the labelled positions) under a linear-chain CRF.

  The CRF runs over every real token (including [CLS], [SEP] and the
  non-first WordPieces of a word); positions with weight 0 carry no label
  and are summed out:

    log sum_{paths agreeing with gold where weight=1} exp(score)  -  log Z

  computed as two forward passes (modeling.crf.crf_log_norm), the first with
  every non-gold tag at a labelled position pushed down by `penalty`. With
  every position labelled it equals modeling.crf.crf_log_likelihood.

  Args:
    potentials: float [batch, seq, num_tags].
    label_ids: int [batch, seq] gold ids (ignored where weight is 0).
    label_weights: float [batch, seq] 0/1.
    sequence_lengths: int32 [batch].
    transitions: float [num_tags, num_tags].

  Returns:
    float [batch] log-likelihoods.
  """
  from modeling import crf  # pylint: disable=g-import-not-at-top
  num_tags = tf.shape(potentials)[-1]
  gold = tf.one_hot(tf.maximum(label_ids, 0), num_tags, dtype=potentials.dtype)
  labelled = tf.expand_dims(tf.cast(label_weights, potentials.dtype), -1)
  clamped = potentials + labelled * (1.0 - gold) * penalty
  return (crf.crf_log_norm(clamped, sequence_lengths, transitions) -
          crf.crf_log_norm(potentials, sequence_lengths, transitions))


# ----------------------------------------------------- pre-training ---
#
# google-research/bert's run_pretraining.py heads, variable for variable, so
# an official checkpoint's cls/* restores into them and back:
#   cls/predictions/transform/dense/{kernel,bias}   [H, W], W = hidden (BERT)
#                                                   or embedding_size (ALBERT)
#   cls/predictions/transform/LayerNorm/{gamma,beta}
#   cls/predictions/output_bias [vocab]; output weights = the word embeddings
#   cls/seq_relationship/{output_weights [2, H], output_bias [2]}


def gather_indexes(sequence_tensor, positions):
  """[batch, seq, width] at [batch, k] positions -> [batch * k, width]."""
  shape = layers.get_shape_list(sequence_tensor, expected_rank=3)
  batch_size, seq_length, width = shape
  flat_offsets = tf.reshape(
      tf.range(0, batch_size, dtype=tf.int32) * seq_length, [-1, 1])
  flat_positions = tf.reshape(positions + flat_offsets, [-1])  # [batch * k]
  flat_sequence = tf.reshape(sequence_tensor,
                             [batch_size * seq_length, width])
  return tf.gather(flat_sequence, flat_positions)


def masked_lm_output(config, sequence_output, embedding_table, positions,
                     label_ids, label_weights, transform_width=None):
  """The masked LM head and loss (Google's get_masked_lm_output).

  Args:
    config: BertConfig (hidden_act, initializer_range, vocab_size).
    sequence_output: float [batch, seq, hidden].
    embedding_table: float [vocab, W] (the tied output weights).
    positions, label_ids: int [batch, k]; label_weights: float [batch, k]
      (0 for padding predictions).
    transform_width: W of the transform (default hidden_size; ALBERT uses
      embedding_size).

  Returns:
    (loss scalar, per_example_loss [batch * k], log_probs [batch * k, vocab]).
  """
  hidden = gather_indexes(sequence_output, positions)  # [batch * k, H]
  with tf.variable_scope("cls/predictions"):
    with tf.variable_scope("transform"):
      hidden = layers.dense(  # [batch * k, W]
          hidden, transform_width or config.hidden_size,
          layers.create_initializer(config.initializer_range),
          activation=layers.get_activation(config.hidden_act))
      hidden = layers.layer_norm(hidden, getattr(config, "layer_norm_eps",
                                                 1e-12))
    output_bias = tf.get_variable("output_bias", [config.vocab_size],
                                  initializer=tf.zeros_initializer())
    logits = tf.nn.bias_add(  # [batch * k, vocab]
        layers.matmul(hidden, embedding_table, transpose_b=True),
        output_bias)
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    label_ids = tf.reshape(label_ids, [-1])
    label_weights = tf.reshape(tf.cast(label_weights, tf.float32), [-1])
    one_hot = tf.one_hot(label_ids, depth=config.vocab_size, dtype=tf.float32)
    per_example_loss = -tf.reduce_sum(log_probs * one_hot, axis=[-1])
    loss = (tf.reduce_sum(label_weights * per_example_loss) /
            (tf.reduce_sum(label_weights) + 1e-5))
  return loss, per_example_loss, log_probs


def next_sentence_output(config, pooled_output, labels):
  """The next-sentence (or sentence-order) head and loss (Google's
  get_next_sentence_output; label 1: random next / swapped).

  Returns:
    (loss scalar, per_example_loss [batch], log_probs [batch, 2]).
  """
  with tf.variable_scope("cls/seq_relationship"):
    output_weights = tf.get_variable(
        "output_weights", [2, config.hidden_size],
        initializer=layers.create_initializer(config.initializer_range))
    output_bias = tf.get_variable("output_bias", [2],
                                  initializer=tf.zeros_initializer())
    logits = tf.nn.bias_add(
        tf.matmul(pooled_output, output_weights, transpose_b=True),
        output_bias)
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    one_hot = tf.one_hot(tf.reshape(labels, [-1]), depth=2, dtype=tf.float32)
    per_example_loss = -tf.reduce_sum(one_hot * log_probs, axis=-1)
  return tf.reduce_mean(per_example_loss), per_example_loss, log_probs

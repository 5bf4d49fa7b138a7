"""Linear-chain CRF in plain TF1 graph ops (TF 1.x contrib's crf, rewritten).

  crf_log_likelihood  log p(tags | potentials) per sequence, for the loss
  crf_decode          in-graph Viterbi: best tag path and its score
  transition_variable the [num_tags, num_tags] `transitions` variable
  allowed_transitions_mask / constrain_transitions
                      optional hard BIO/BIOES constraints for a head

Semantics are those of the contrib crf and tensorflow_addons' crf: no explicit
start or end transitions; the score of a path y over a sequence of length L is

  sum_{t < L} potentials[t, y_t] + sum_{0 < t < L} transitions[y_{t-1}, y_t]

and positions t >= L are ignored (padding). A length-0 sequence has score 0
and log Z = 0, so its log-likelihood is 0. Time loops are `tf.while_loop`s
over the dynamic length, so batch size and max_len may be unknown when the
graph is built (an exported SavedModel feeds [None, None, num_tags]).
max_len itself must be at least 1 at run time.
"""

import numpy as np
import tensorflow.compat.v1 as tf

# What constrain_transitions adds to a forbidden transition: large enough
# that Viterbi never takes it, small enough to keep float32 sums finite.
FORBIDDEN_PENALTY = -10000.0


def transition_variable(num_tags, name="transitions", initializer_range=0.02):
  """Creates the CRF transition matrix for a head.

  Args:
    num_tags: number of tags n.
    name: variable name (tf.get_variable, so the current variable scope and
      reuse apply).
    initializer_range: stddev of the truncated-normal initializer (0.02, as
      BERT's other head weights; values stay within 2 stddev of 0).

  Returns:
    float32 Variable [n, n]; entry [i, j] scores tag i followed by tag j.
  """
  return tf.get_variable(
      name, [num_tags, num_tags], dtype=tf.float32,
      initializer=tf.truncated_normal_initializer(stddev=initializer_range))


def crf_unary_score(potentials, tag_indices, sequence_lengths):
  """Sum of the unary scores of the given tags at positions < length.

  Args:
    potentials: float [batch, max_len, num_tags].
    tag_indices: int [batch, max_len]; values at padded positions may be
      anything (an out-of-range id scores 0 there).
    sequence_lengths: int [batch].

  Returns:
    float [batch].
  """
  num_tags = _num_tags(potentials)
  max_len = tf.shape(potentials)[1]
  one_hot = tf.one_hot(tag_indices, num_tags, dtype=potentials.dtype)
  scores = tf.reduce_sum(potentials * one_hot, axis=2)  # [batch, max_len]
  mask = tf.sequence_mask(sequence_lengths, max_len, dtype=potentials.dtype)
  return tf.reduce_sum(scores * mask, axis=1)


def crf_binary_score(tag_indices, sequence_lengths, transitions):
  """Sum of transitions[y_{t-1}, y_t] over 0 < t < length.

  Args:
    tag_indices: int [batch, max_len].
    sequence_lengths: int [batch].
    transitions: float [num_tags, num_tags].

  Returns:
    float [batch] (0 for lengths 0 and 1).
  """
  num_tags = _num_tags(transitions)
  max_len = tf.shape(tag_indices)[1]
  previous = tf.one_hot(tag_indices[:, :-1], num_tags,
                        dtype=transitions.dtype)  # [batch, max_len-1, n]
  current = tf.one_hot(tag_indices[:, 1:], num_tags,
                       dtype=transitions.dtype)  # [batch, max_len-1, n]
  # [batch, max_len-1, n]: row y_{t-1} of transitions, then pick column y_t.
  rows = tf.tensordot(previous, transitions, axes=[[2], [0]])
  scores = tf.reduce_sum(rows * current, axis=2)  # [batch, max_len-1]
  mask = tf.sequence_mask(sequence_lengths, max_len,
                          dtype=transitions.dtype)[:, 1:]
  return tf.reduce_sum(scores * mask, axis=1)


def crf_sequence_score(potentials, tag_indices, sequence_lengths, transitions):
  """Unnormalised score of the given tag paths: float [batch]."""
  return (crf_unary_score(potentials, tag_indices, sequence_lengths) +
          crf_binary_score(tag_indices, sequence_lengths, transitions))


def crf_log_norm(potentials, sequence_lengths, transitions):
  """log Z by the forward algorithm (log-sum-exp over all tag paths).

  Args:
    potentials: float [batch, max_len, num_tags].
    sequence_lengths: int32 [batch].
    transitions: float [num_tags, num_tags].

  Returns:
    float [batch]; 0 where the length is 0.
  """
  max_len = tf.shape(potentials)[1]
  alpha = potentials[:, 0, :]  # [batch, n]: log-sum over paths ending here

  def step(t, alpha):
    # [batch, n_prev, n_next] = alpha[b, i] + transitions[i, j]
    scores = tf.expand_dims(alpha, 2) + tf.expand_dims(transitions, 0)
    new_alpha = tf.reduce_logsumexp(scores, axis=1) + potentials[:, t, :]
    # Past a sequence's end its state is carried unchanged.
    return t + 1, tf.where(t < sequence_lengths, new_alpha, alpha)

  _, alpha = tf.while_loop(lambda t, _: t < max_len, step,
                           [tf.constant(1), alpha])
  log_norm = tf.reduce_logsumexp(alpha, axis=1)  # [batch]
  return tf.where(sequence_lengths > 0, log_norm, tf.zeros_like(log_norm))


def crf_log_likelihood(potentials, tag_indices, sequence_lengths,
                       transitions):
  """Log-likelihood of tag paths under a linear-chain CRF.

  Args:
    potentials: float [batch, max_len, num_tags] unary scores (logits).
    tag_indices: int [batch, max_len] gold tag ids.
    sequence_lengths: int [batch] true lengths (0 <= length <= max_len).
    transitions: float [num_tags, num_tags]; [i, j] scores tag i -> tag j
      (e.g. from transition_variable).

  Returns:
    (log_likelihood float [batch], transitions), as contrib's crf did; the
    loss is usually tf.reduce_mean(-log_likelihood).
  """
  sequence_lengths = tf.cast(sequence_lengths, tf.int32)
  tag_indices = tf.cast(tag_indices, tf.int32)
  transitions = tf.cast(transitions, potentials.dtype)
  score = crf_sequence_score(potentials, tag_indices, sequence_lengths,
                             transitions)
  log_norm = crf_log_norm(potentials, sequence_lengths, transitions)
  return score - log_norm, transitions


def crf_decode(potentials, transition_params, sequence_length):
  """Viterbi decoding in the graph.

  Args:
    potentials: float [batch, max_len, num_tags]; batch and max_len may be
      unknown at graph-build time.
    transition_params: float [num_tags, num_tags].
    sequence_length: int [batch].

  Returns:
    (decode_tags int32 [batch, max_len], best_score float [batch]).
    Tags at positions >= length are 0; a length-0 sequence gets all-0 tags
    and score 0.
  """
  sequence_length = tf.cast(sequence_length, tf.int32)
  transitions = tf.cast(transition_params, potentials.dtype)
  backpointers, last_scores = _viterbi_forward(potentials, sequence_length,
                                               transitions)
  best_score = tf.reduce_max(last_scores, axis=1)  # [batch]
  last_tags = tf.argmax(last_scores, axis=1, output_type=tf.int32)
  tags = _viterbi_backtrack(backpointers, last_tags, tf.shape(potentials)[1],
                            _num_tags(transitions))
  mask = tf.sequence_mask(sequence_length, tf.shape(potentials)[1],
                          dtype=tf.int32)
  best_score = tf.where(sequence_length > 0, best_score,
                        tf.zeros_like(best_score))
  return tags * mask, best_score


def _viterbi_forward(potentials, sequence_length, transitions):
  """Forward max pass.

  Returns:
    backpointers: int32 [max_len, batch, n]; element t holds,
      for each tag at t, the best tag at t-1 (identity past the end and at
      t = 0, so backtracking from max_len-1 lands on the last real tag).
    scores: float [batch, n], best path score ending in each tag at the
      sequence's last position.
  """
  max_len = tf.shape(potentials)[1]
  num_tags = _num_tags(transitions)
  identity = tf.zeros_like(potentials[:, 0, :], dtype=tf.int32) + tf.range(
      num_tags)  # [batch, n]
  scores = potentials[:, 0, :]  # [batch, n]

  # The backpointers are a fixed-shape loop variable updated in place (not
  # a TensorArray), so the loop also converts to an ONNX Loop
  # (bert_toolkit/serving/onnx_export.py).
  def step(t, scores, backpointers):
    candidates = tf.expand_dims(scores, 2) + tf.expand_dims(transitions, 0)
    best_previous = tf.argmax(candidates, axis=1, output_type=tf.int32)
    new_scores = tf.reduce_max(candidates, axis=1) + potentials[:, t, :]
    active = t < sequence_length  # [batch]
    scores = tf.where(active, new_scores, scores)
    pointers = tf.where(active, best_previous, identity)
    return t + 1, scores, tf.tensor_scatter_nd_update(
        backpointers, [[t]], pointers[None])

  _, scores, backpointers = tf.while_loop(
      lambda t, *_: t < max_len, step,
      [tf.constant(1), scores,
       tf.tile(identity[None], tf.stack([max_len, 1, 1]))])
  return backpointers, scores


def _viterbi_backtrack(backpointers, last_tags, max_len, num_tags):
  """Follows backpointers from position max_len-1 down to 0.

  Args:
    backpointers: int32 [max_len, batch, n].
    last_tags: int32 [batch], the best tag at position max_len-1.
    max_len: int32 scalar.
    num_tags: n (int or scalar Tensor).

  Returns:
    int32 [batch, max_len].
  """
  def step(t, tag, tags):
    # Best tag at t-1 given tag at t: backpointers[t][b, tag[b]].
    pointers = tf.gather(backpointers, t)  # [batch, n]
    chosen = tf.one_hot(tag, num_tags, dtype=tf.int32)  # [batch, n]
    previous = tf.reduce_sum(pointers * chosen, axis=1)  # [batch]
    return t - 1, previous, tf.tensor_scatter_nd_update(
        tags, [[t - 1]], previous[None])

  tags = tf.tile(last_tags[None], tf.stack([max_len, 1]))  # [max_len, batch]
  _, _, tags = tf.while_loop(lambda t, *_: t > 0, step,
                             [max_len - 1, last_tags, tags])
  return tf.transpose(tags, [1, 0])  # [batch, max_len]


def _num_tags(tensor):
  """Size of the last axis: a Python int when static, else a scalar Tensor."""
  static = tensor.shape[-1]
  if hasattr(static, "value"):  # TF1 Dimension
    static = static.value
  return static if static is not None else tf.shape(tensor)[-1]


def allowed_transitions_mask(tag_names, scheme="BIO"):
  """Which tag-to-tag transitions a scheme allows.

  BIO: I-X may only follow B-X or I-X. BIOES: I-X and E-X may only follow
  B-X or I-X; B-X and I-X may only be followed by I-X or E-X. A tag without a
  scheme prefix ("O", "[CLS]", "X", ...) is treated as outside any entity.
  There are no start/end transitions in this CRF, so "no I-X at position 0"
  cannot be expressed here (with BERT, position 0 is [CLS], tagged O).

  Args:
    tag_names: list of n tag strings, in label-id order.
    scheme: "BIO" or "BIOES".

  Returns:
    numpy float32 [n, n]; [i, j] is 1 if tag i may be followed by tag j,
    else 0. Feed it to constrain_transitions.
  """
  scheme = scheme.upper()
  if scheme not in ("BIO", "BIOES"):
    raise ValueError("scheme must be BIO or BIOES, got %r" % scheme)
  parsed = [_prefix_and_type(tag, scheme) for tag in tag_names]
  mask = np.ones([len(tag_names), len(tag_names)], dtype=np.float32)
  for i, (prefix_i, type_i) in enumerate(parsed):
    inside_i = prefix_i in ("B", "I")
    for j, (prefix_j, type_j) in enumerate(parsed):
      continues = prefix_j in ("I", "E")
      if scheme == "BIO":
        allowed = not continues or (inside_i and type_i == type_j)
      else:
        allowed = (continues and inside_i and type_i == type_j) or (
            not continues and not inside_i)
      mask[i, j] = 1.0 if allowed else 0.0
  return mask


def constrain_transitions(transitions, allowed_mask,
                          penalty=FORBIDDEN_PENALTY):
  """transitions + penalty where allowed_mask is 0.

  Args:
    transitions: float Tensor [n, n].
    allowed_mask: numpy or Tensor [n, n] of 0/1 (allowed_transitions_mask).
    penalty: added to forbidden entries (default -10000).

  Returns:
    float Tensor [n, n], to pass to crf_log_likelihood and crf_decode.
  """
  allowed = tf.cast(allowed_mask, transitions.dtype)
  return transitions + (1.0 - allowed) * penalty


def _prefix_and_type(tag, scheme):
  """("B"/"I"/"E"/"S", type) for a scheme tag, else ("O", None)."""
  prefix, dash, entity_type = tag.partition("-")
  prefixes = ("B", "I") if scheme == "BIO" else ("B", "I", "E", "S")
  if dash and entity_type and prefix in prefixes:
    return prefix, entity_type
  return "O", None

"""Building blocks shared by BERT, ALBERT, DistilBERT and ELECTRA.

Shapes, activations, dropout, layer norm, dense layers, embeddings, multi-head
attention (its scores and context an `Attention` a family may replace) and
one Transformer layer, all in plain `tf.compat.v1` ops (nothing
from TF 1.x contrib, nothing TF2-only), with the variable names of
google-research/bert so official checkpoints restore by name.

Batch size and sequence length may be unknown at graph time: every function
takes them as either Python ints or scalar tensors.
"""

import collections
import contextlib
import math
import types

import numpy as np
import tensorflow.compat.v1 as tf


# ------------------------------------------------------------ graph marks ---

def _mark(collection):
  """Marks the default graph with `collection` (once): a graph-wide choice
  the layers built later read (`bf16_matmuls`, `slopes_in_forward`)."""
  if not tf.get_collection(collection):
    tf.add_to_collection(collection, True)


# --------------------------------------------------------------- bfloat16 ---

# Graph collection marking a graph whose matmuls `bf16_matmuls()` asked
# to multiply in bfloat16.
_BF16_WANTED = "bf16_matmuls_wanted"


def bf16_matmuls():
  """Makes the encoder matmuls built later in the default graph multiply
  in bfloat16 (`matmul`): the dense layers, the attention scores and
  context, and the masked LM's output layer, forward and backward.

  Only the products change. The variables, the optimizer and its slots,
  the embeddings, softmax, layer norm, GELU, dropout and the loss stay
  float32, as under torch's CPU autocast: each matmul's inputs are cast
  to bfloat16 and its product, which oneDNN accumulates in float32, back
  to float32. A weight's gradient comes out of a bfloat16 matmul, so it
  is rounded to 8 significant bits before the float32 update. Graphs
  built without this call (evaluation, prediction, every export) hold
  no bfloat16 op.
  """
  _mark(_BF16_WANTED)


def matmul(a, b, **kwargs):
  """tf.matmul(a, b, **kwargs), in bfloat16 when the default graph asked
  for it (`bf16_matmuls`); float32 in, float32 out either way."""
  if a.dtype != tf.float32 or not tf.get_collection(_BF16_WANTED):
    return tf.matmul(a, b, **kwargs)
  product = tf.matmul(tf.cast(a, tf.bfloat16), tf.cast(b, tf.bfloat16),
                      **kwargs)
  return tf.cast(product, tf.float32)


# ----------------------------------------------------------------- shapes ---

def get_shape_list(tensor, expected_rank=None, name=None):
  """Returns the shape of `tensor`, static dims as ints, dynamic ones as tensors.

  Args:
    tensor: a tf.Tensor.
    expected_rank: int or list of ints; raises ValueError if the rank differs.
    name: name used in the error message.

  Returns:
    A list with one entry per dimension.
  """
  if expected_rank is not None:
    assert_rank(tensor, expected_rank, name)
  shape = tensor.shape.as_list()
  non_static = [i for (i, dim) in enumerate(shape) if dim is None]
  if not non_static:
    return shape
  dyn_shape = tf.shape(tensor)
  for index in non_static:
    shape[index] = dyn_shape[index]
  return shape


def shape_dim(tensor, index):
  """One dimension of `tensor`: an int if static, else a scalar tensor.

  Unlike `get_shape_list`, makes no op for the dimensions not asked for,
  so a graph holds no shape op nobody reads."""
  static = tensor.shape.as_list()[index]
  if static is not None:
    return static
  return tf.shape(tensor)[index]


def assert_rank(tensor, expected_rank, name=None):
  """Raises ValueError if `tensor` does not have one of `expected_rank`."""
  if name is None:
    name = tensor.name
  if isinstance(expected_rank, int):
    expected_rank = [expected_rank]
  actual_rank = tensor.shape.ndims
  if actual_rank not in expected_rank:
    raise ValueError(
        "tensor %s has rank %d, expected one of %s" %
        (name, actual_rank, expected_rank))


def reshape_to_matrix(input_tensor):
  """[d0, ..., dn-1, width] -> [d0*...*dn-1, width]."""
  if input_tensor.shape.ndims == 2:
    return input_tensor
  width = input_tensor.shape[-1]
  return tf.reshape(input_tensor, [-1, width])


def reshape_from_matrix(output_tensor, orig_shape_list):
  """[rows, width] -> orig_shape_list[:-1] + [width]."""
  if len(orig_shape_list) == 2:
    return output_tensor
  width = shape_dim(output_tensor, -1)
  return tf.reshape(output_tensor, list(orig_shape_list[:-1]) + [width])


# ------------------------------------------------------------ activations ---

_TANH_SCALE = math.sqrt(2.0 / math.pi)


def _gelu_tanh_forward(x):
  """Google's tanh GELU, op for op as google-research/bert computes it."""
  cdf = 0.5 * (1.0 + tf.tanh(
      (_TANH_SCALE * (x + 0.044715 * tf.pow(x, 3)))))
  return x * cdf


def _gelu_tanh_slope(x):
  """d gelu / dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2),
  t = tanh(c (x + a x^3)), from x alone."""
  squared = tf.square(x)
  t = tf.tanh(_TANH_SCALE * x * (1.0 + 0.044715 * squared))
  slope = _TANH_SCALE * (1.0 + 3.0 * 0.044715 * squared)
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - tf.square(t)) * slope


def _gelu_exact_forward(x):
  """x * Phi(x) with the erf, in the order ONNX Runtime's transformer
  optimizer recognises as one Gelu op (x * (1 + erf(x / sqrt 2)) * 0.5)."""
  return x * (1.0 + tf.math.erf(x / math.sqrt(2.0))) * 0.5


def _gelu_exact_slope(x):
  """d gelu_exact / dx = Phi(x) + x phi(x), from x alone."""
  cdf = 0.5 * (1.0 + tf.math.erf(x / math.sqrt(2.0)))
  pdf = tf.exp(-0.5 * tf.square(x)) / math.sqrt(2.0 * math.pi)
  return cdf + x * pdf


# Gradient names of the graph-mode activations (see `_with_slope`).
_GELU_GRADIENT = "BertToolkitGeluTanhGrad"
_GELU_EXACT_GRADIENT = "BertToolkitGeluExactGrad"


def _register_gradient(gradient_name, gradient):
  """tf.RegisterGradient, once: a reload of this module finds it there."""
  try:
    tf.RegisterGradient(gradient_name)(gradient)
  except KeyError:
    pass


def _in_graph():
  """Whether ops are being added to a TF1 graph, where gradient_override_map
  applies (not eagerly, nor while a tf.function is traced)."""
  return not (tf.executing_eagerly() or
              tf.get_default_graph().building_function)


def _fused(tensor):
  """A scope whose elementwise ops XLA compiles into one loop, when
  `tensor`'s shape is known in full and TF has XLA
  (tf.xla.experimental.jit_scope); else no scope.

  Used for the written-out gradients only, so a forward pass, and any
  graph exported for serving, stays Google's ops. TensorFlow on CPU runs
  each elementwise op as one pass over memory: the GELU slope's eleven
  ops over [tokens, intermediate] took 18 ms a layer at 4,096 tokens,
  and 6 ms compiled (measured on 2 cores). XLA compiles once a shape, so
  a graph whose length varies from batch to batch (dynamic padding,
  packing) is left alone: there the compiling cost more than it saved
  (measured: 10% slower over 64 steps of SST-2).
  """
  experimental = getattr(getattr(tf, "xla", None), "experimental", None)
  jit_scope = getattr(experimental, "jit_scope", None)
  if jit_scope is None or not tensor.shape.is_fully_defined():
    return contextlib.nullcontext()
  return jit_scope(compile_ops=True, separate_compiled_gradients=False)


def _register_slope_gradient(gradient_name, slope_fn):
  """Registers the gradient of the IdentityN([y, x]) op `_with_slope`
  builds: nothing for y, dy * slope(x) for x."""

  def gradient(op, dy, unused_dx):
    # The slope waits for dy: from x alone, the executor would compute it
    # in the forward pass (and Grappler merges it with the forward's own
    # erf or tanh), keeping a [tokens, intermediate] tensor a layer alive
    # until the backward pass reaches it.
    with tf.control_dependencies([dy]):
      x = tf.identity(op.inputs[1])
    with _fused(x):
      return [None, dy * slope_fn(x)]

  _register_gradient(gradient_name, gradient)


_register_slope_gradient(_GELU_GRADIENT, _gelu_tanh_slope)
_register_slope_gradient(_GELU_EXACT_GRADIENT, _gelu_exact_slope)


# Graph collection marking a graph that will be differentiated, whose
# activations of varying shape keep their slope (`slopes_in_forward`).
_SLOPES_WANTED = "activation_slopes_in_forward"
_KEPT_SLOPE_GRADIENT = "BertToolkitKeptSlopeGrad"


def slopes_in_forward():
  """Makes the activations built later in the default graph (a training
  graph) compute their gradient's slope in the forward pass, where their
  shape varies from batch to batch (dynamic padding, packing), and keep it
  for the backward pass in place of x: the same memory (one [tokens,
  intermediate] tensor a layer either way), and the backward pass is one
  product, dy * slope.

  The slope shares the forward's erf or tanh (Grappler merges the common
  ops), so a step makes fewer elementwise passes than when the backward
  pass recomputes the slope from x. Where the shape is fixed, the
  recomputed slope stays: XLA compiles it into one loop there, which is
  faster still. Both are measured in docs/benchmarks.md ("Tried and not
  kept"). Graphs built without this call (evaluation, prediction,
  exports) compute no slope.
  """
  _mark(_SLOPES_WANTED)


@contextlib.contextmanager
def no_slopes():
  """Within it, activations compute no slope in the forward pass even in a
  graph marked by `slopes_in_forward`: for a model the training graph
  does not differentiate (a frozen distillation teacher)."""
  marks = tf.get_collection_ref(_SLOPES_WANTED)
  saved = list(marks)
  del marks[:]
  try:
    yield
  finally:
    marks[:] = saved


def _kept_slope_gradient(op, dy, *unused_dys):
  """The gradient of the IdentityN([y, x, slope]) op `_with_slope` builds
  in a graph marked by `slopes_in_forward`: dy * slope for x, nothing for
  y and the slope (no path back through the forward arithmetic)."""
  return [None, dy * op.inputs[2], None]


_register_gradient(_KEPT_SLOPE_GRADIENT, _kept_slope_gradient)


def _with_slope(x, forward_fn, slope_fn, gradient_name):
  """forward_fn(x), whose gradient is dy * slope_fn(x), recomputed from x.

  The backward pass keeps only x, where automatic differentiation of the
  forward arithmetic kept four [tokens, intermediate] tensors of every
  layer (a third of the training step's activation memory, measured in
  bench/bench_training.py).

  In a graph (TF1) the forward value goes through one IdentityN([y, x])
  op whose gradient is `gradient_name`'s: every op of the graph stays
  reachable from the model's outputs, as google-research/bert's
  modeling_test.py checks (tf.custom_gradient leaves a stray Identity per
  call there). Eagerly, or while a tf.function is traced, where a
  gradient tape ignores gradient_override_map, tf.custom_gradient does it.
  In a training graph (`slopes_in_forward`) where x's shape varies, the
  slope is computed beside y and kept instead of x: IdentityN([y, x,
  slope]).
  """
  x = tf.convert_to_tensor(x)
  if not _in_graph():

    @tf.custom_gradient
    def activation(inputs):
      return forward_fn(inputs), lambda dy: dy * slope_fn(inputs)

    return activation(x)
  y = forward_fn(x)
  if tf.get_collection(_SLOPES_WANTED) and not x.shape.is_fully_defined():
    slope = slope_fn(x)
    with tf.get_default_graph().gradient_override_map(
        {"IdentityN": _KEPT_SLOPE_GRADIENT}):
      return tf.identity_n([y, x, slope])[0]
  with tf.get_default_graph().gradient_override_map(
      {"IdentityN": gradient_name}):
    return tf.identity_n([y, x])[0]


def gelu(x):
  """Google's GELU: the tanh approximation used to pre-train BERT.

  The forward pass is Google's arithmetic op for op. The gradient is
  written out, 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2) with
  t = tanh(c (x + a x^3)), and recomputed from x (see `_with_slope`).
  """
  return _with_slope(x, _gelu_tanh_forward, _gelu_tanh_slope, _GELU_GRADIENT)


def gelu_exact(x):
  """The exact GELU, x * Phi(x) with the erf; Hugging Face's "gelu".

  Gradient Phi(x) + x phi(x), recomputed from x (see `_with_slope`)."""
  return _with_slope(x, _gelu_exact_forward, _gelu_exact_slope,
                     _GELU_EXACT_GRADIENT)


def swish(x):
  """x * sigmoid(x), also called SiLU."""
  return x * tf.sigmoid(x)


_ACTIVATIONS = types.MappingProxyType({
    "linear": None,
    "gelu": gelu,
    "gelu_new": gelu,
    "gelu_tanh": gelu,
    "gelu_exact": gelu_exact,
    "relu": tf.nn.relu,
    "tanh": tf.tanh,
    "swish": swish,
    "silu": swish,
})


def get_activation(activation_string):
  """Maps a config's `hidden_act` string to a function (None for linear).

  "gelu", "gelu_new" and "gelu_tanh" are Google's tanh approximation;
  "gelu_exact" is the erf form. A callable is returned unchanged.

  Raises:
    ValueError: an unknown name, listing the known ones.
  """
  if not isinstance(activation_string, str):
    return activation_string
  act = activation_string.lower()
  if not act:
    return None
  if act not in _ACTIVATIONS:
    raise ValueError("Unsupported activation %r; known: %s" %
                     (activation_string, ", ".join(sorted(_ACTIVATIONS))))
  return _ACTIVATIONS[act]


# -------------------------------------------------------- basic layers ---

def create_initializer(initializer_range=0.02):
  """A truncated normal initializer with the given stddev."""
  return tf.truncated_normal_initializer(stddev=initializer_range)


# Dropout draws 16 random bits an element (see `dropout`).
_MASK_LEVELS = 65536


def _check_dropout(dropout_prob):
  if not 0.0 < dropout_prob < 1.0:
    raise ValueError("dropout probability %r is not in [0, 1)" %
                     (dropout_prob,))


def _keep_mask(input_tensor, dropout_prob):
  """(bool Tensor shaped as input_tensor, scale): which elements dropout
  keeps, and the factor on them (see `dropout`)."""
  threshold = int(round(dropout_prob * _MASK_LEVELS))
  size = tf.size(input_tensor)
  words = tf.random.uniform([(size + 1) // 2], minval=-2 ** 31,
                            maxval=2 ** 31 - 1, dtype=tf.int32)
  bits = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:size]
  keep = tf.reshape(bits >= threshold, tf.shape(input_tensor))
  return keep, float(_MASK_LEVELS) / (_MASK_LEVELS - threshold)


def _apply_mask(input_tensor, keep, scale):
  return tf.where_v2(keep, input_tensor * scale,
                     tf.zeros([], input_tensor.dtype))


def dropout(input_tensor, dropout_prob):
  """Dropout with drop probability `dropout_prob` (no-op for None or 0).

  The mask takes 16 random bits an element, two elements from each 32-bit
  random number, where tf.nn.dropout draws a float an element: the random
  numbers were the largest cost of dropout (measured: 6% of a training
  step at length 128). An element is dropped when its 16 bits, as an
  unsigned number, are below t = round(dropout_prob * 65536), so with
  probability t / 65536, within 1/131072 of dropout_prob; kept elements
  are scaled by 65536 / (65536 - t), which keeps the expectation exact.
  """
  if dropout_prob is None or dropout_prob == 0.0:
    return input_tensor
  _check_dropout(dropout_prob)
  with tf.name_scope("dropout"):
    keep, scale = _keep_mask(input_tensor, dropout_prob)
    return _apply_mask(input_tensor, keep, scale)


_DROPPED_CONTEXT_GRADIENT = "BertToolkitDroppedContextGrad"


def _dropped_context_gradient(op, dy, *unused_dys):
  """The gradient of the IdentityN([context, probs, value, keep, scale])
  op that `dropped_weighted_values` builds, with the dropped
  probabilities d = where(keep, probs * scale, 0) computed again once dy
  exists: d(probs) = where(keep, (dy . value^T) * scale, 0),
  d(value) = d^T . dy."""
  probs, value, keep, scale = op.inputs[1:5]
  with tf.control_dependencies([dy]):
    probs = tf.identity(probs)
  dropped = _apply_mask(probs, keep, scale)
  d_dropped = matmul(dy, value, transpose_b=True)
  return [None, _apply_mask(d_dropped, keep, scale),
          matmul(dropped, dy, transpose_a=True), None, None]


_register_gradient(_DROPPED_CONTEXT_GRADIENT, _dropped_context_gradient)


def dropped_weighted_values(probs, value, dropout_prob):
  """weighted_values(dropout(probs), value), keeping for the backward pass
  the probabilities (which the softmax's gradient needs anyway) and the
  1-byte mask, not the dropped copy: a [batch, heads, seq, seq] float
  tensor less a layer, at the price of one masked product in the backward
  pass (`_dropped_context_gradient`, through one IdentityN as the GELU's).
  Eagerly, or without dropout, it is plain dropout then weighted_values.
  """
  if dropout_prob is None or dropout_prob == 0.0 or not _in_graph():
    return weighted_values(dropout(probs, dropout_prob), value)
  _check_dropout(dropout_prob)
  with tf.name_scope("dropout"):
    keep, scale = _keep_mask(probs, dropout_prob)
    scale = tf.constant(scale, probs.dtype)
    dropped = _apply_mask(probs, keep, scale)
  context = weighted_values(dropped, value)
  with tf.get_default_graph().gradient_override_map(
      {"IdentityN": _DROPPED_CONTEXT_GRADIENT}):
    return tf.identity_n([context, probs, value, keep, scale])[0]


_LAYER_NORM_GRADIENT = "BertToolkitLayerNormGrad"


def _layer_norm_gradient(op, dy, *unused_dys):
  """The gradient of the IdentityN([y, x, gamma, beta, mean, rstd]) op
  that `layer_norm` builds, written out from x and the per-row mean and
  1 / std: with n = (x - mean) * rstd and g = dy * gamma,
    dx = rstd * (g - mean(g) - n * mean(g * n))   (means over the last axis)
    dgamma = sum(dy * n),  dbeta = sum(dy)        (sums over the rows).
  Autodiff of the forward arithmetic kept two [rows, hidden] tensors a
  layer norm and built a dozen more ops; this keeps x alone."""
  x, gamma, unused_beta, mean, rstd = op.inputs[1:6]
  normalized = (x - mean) * rstd
  scaled = dy * gamma
  rows = list(range(len(x.shape) - 1))
  dx = rstd * (scaled - tf.reduce_mean(scaled, -1, keepdims=True) -
               normalized * tf.reduce_mean(scaled * normalized, -1,
                                           keepdims=True))
  return [None, dx, tf.reduce_sum(dy * normalized, rows),
          tf.reduce_sum(dy, rows), None, None]


_register_gradient(_LAYER_NORM_GRADIENT, _layer_norm_gradient)


def layer_norm(input_tensor, epsilon=1e-12, name="LayerNorm"):
  """Layer normalisation over the last axis, variables `name/{gamma,beta}`.

  Same arithmetic as contrib's layers.layer_norm, which Google's BERT and
  ALBERT used (epsilon 1e-12). In a graph its gradient is written out
  (`_layer_norm_gradient`, from x alone), through one IdentityN as the
  GELU's (see `_with_slope`); eagerly autodiff's.
  """
  with tf.variable_scope(name):
    width = input_tensor.shape[-1]
    beta = tf.get_variable("beta", [width], initializer=tf.zeros_initializer())
    gamma = tf.get_variable("gamma", [width], initializer=tf.ones_initializer())
    mean, variance = tf.nn.moments(input_tensor, [-1], keepdims=True)
    rstd = tf.rsqrt(variance + epsilon)
    inv = rstd * gamma
    output = input_tensor * inv + (beta - mean * inv)
    if not _in_graph():
      return output
    with tf.get_default_graph().gradient_override_map(
        {"IdentityN": _LAYER_NORM_GRADIENT}):
      return tf.identity_n([output, input_tensor, gamma, beta, mean,
                            rstd])[0]


def layer_norm_and_dropout(input_tensor, dropout_prob, epsilon=1e-12,
                           name="LayerNorm"):
  """Layer norm followed by dropout."""
  return dropout(layer_norm(input_tensor, epsilon, name), dropout_prob)


def dense(input_tensor, units, initializer, activation=None, name="dense",
          use_bias=True, kernel_name="kernel"):
  """A fully connected layer with variables `name/kernel` [in, units], `name/bias`.

  With `kernel_name=None` the kernel is the variable `name` itself and there
  is no scope (brightmart's `word_embeddings_2` projection).

  Args:
    input_tensor: float Tensor [..., in].
    units: output width.
    initializer: kernel initializer.
    activation: function or None.
    name: variable scope.
    use_bias: whether to add `name/bias`.
    kernel_name: name of the kernel variable inside scope `name`.

  Returns:
    float Tensor [..., units].
  """
  width = input_tensor.shape[-1]
  if kernel_name is None:
    kernel = tf.get_variable(name, [width, units], initializer=initializer)
    return _apply_dense(input_tensor, kernel, None, activation)
  with tf.variable_scope(name):
    kernel = tf.get_variable(kernel_name, [width, units],
                             initializer=initializer)
    bias = None
    if use_bias:
      bias = tf.get_variable("bias", [units], initializer=tf.zeros_initializer())
    return _apply_dense(input_tensor, kernel, bias, activation)


def _apply_dense(input_tensor, kernel, bias, activation):
  """x [..., in] @ kernel [in, out] (+ bias), then activation."""
  shape = [None, None]   # a matrix stays one: no shape needed
  if input_tensor.shape.ndims != 2:
    shape = get_shape_list(input_tensor)
  output = matmul(reshape_to_matrix(input_tensor), kernel)
  if bias is not None:
    output = tf.nn.bias_add(output, bias)
  if activation is not None:
    output = activation(output)
  return reshape_from_matrix(output, shape)


def einsum_via_matmul(input_tensor, w, num_inner_dims):
  """A tensor contraction as one matmul: google-research/albert's name.

  Contracts the last `num_inner_dims` dimensions of `input_tensor` with the
  first `num_inner_dims` of `w` (what an einsum "...ij,ijk->...k" does),
  through reshapes to matrices and back.

  Args:
    input_tensor: float Tensor [<batch dims>, <inner dims>].
    w: float Tensor [<inner dims>, <outer dims>], static shape.
    num_inner_dims: int, how many dimensions the contraction runs over.

  Returns:
    float Tensor [<batch dims>, <outer dims>].
  """
  rank = input_tensor.shape.ndims
  w_shape = w.shape.as_list()
  if num_inner_dims < 1 or num_inner_dims > min(rank, len(w_shape)):
    raise ValueError("num_inner_dims must be between 1 and the rank of both "
                     "tensors, got %r" % num_inner_dims)
  batch_dims = [shape_dim(input_tensor, i)
                for i in range(rank - num_inner_dims)]
  inner_dims = w_shape[:num_inner_dims]
  outer_dims = w_shape[num_inner_dims:]
  static_inner = input_tensor.shape.as_list()[-num_inner_dims:]
  if any(a is not None and a != b for a, b in zip(static_inner, inner_dims)):
    raise ValueError("inner dimensions differ: %s (input) vs %s (w)" %
                     (static_inner, inner_dims))
  inner = int(np.prod(inner_dims))
  outer = int(np.prod(outer_dims))
  matrix = tf.reshape(input_tensor, [-1, inner])
  output = matmul(matrix, tf.reshape(w, [inner, outer]))
  return tf.reshape(output, list(batch_dims) + list(outer_dims))


# ------------------------------------------------------------ embeddings ---

def read_table(table):
  """The value of an embedding table variable, read whole, to gather from.

  A gather on a resource variable itself (ResourceGather) marks it as read
  sparsely, and TensorFlow then copies the whole table at every dense read
  of it: the weight decay's and the optimizer's, on the critical path of
  each training step (measured: a 12 ms copy a step for a 30,522 x 384
  table). Reading the value first (no copy) and gathering from it gives
  the same rows and the same sparse gradient."""
  return tf.convert_to_tensor(table)


def embedding_lookup(input_ids, vocab_size, embedding_size=128,
                     initializer_range=0.02,
                     word_embedding_name="word_embeddings",
                     use_one_hot_embeddings=False):
  """Looks up word embeddings for an id tensor.

  Args:
    input_ids: int Tensor [batch_size, seq_length].
    vocab_size: rows of the table.
    embedding_size: width of the table.
    initializer_range: embedding initializer stddev.
    word_embedding_name: name of the table variable.
    use_one_hot_embeddings: one-hot matmul (faster on TPU) instead of gather.

  Returns:
    (float Tensor [batch_size, seq_length, embedding_size],
     embedding table [vocab_size, embedding_size]).
  """
  embedding_table = tf.get_variable(
      name=word_embedding_name,
      shape=[vocab_size, embedding_size],
      initializer=create_initializer(initializer_range))
  if use_one_hot_embeddings:
    flat_ids = tf.reshape(input_ids, [-1])
    one_hot = tf.one_hot(flat_ids, depth=vocab_size)
    output = tf.matmul(one_hot, embedding_table)
  else:
    output = tf.gather(read_table(embedding_table), input_ids)
  input_shape = get_shape_list(input_ids)
  output = tf.reshape(output, [input_shape[0], input_shape[1], embedding_size])
  return output, embedding_table


def add_token_type_embeddings(input_tensor, token_type_ids, token_type_vocab_size,
                              initializer_range=0.02,
                              name="token_type_embeddings"):
  """Adds segment embeddings to `input_tensor` [batch, seq, width]."""
  width = input_tensor.shape[-1]
  input_shape = get_shape_list(input_tensor, expected_rank=3)
  table = tf.get_variable(name=name, shape=[token_type_vocab_size, width],
                          initializer=create_initializer(initializer_range))
  # One-hot matmul: faster than gather for a 2-row table.
  flat_ids = tf.reshape(token_type_ids, [-1])
  one_hot = tf.one_hot(flat_ids, depth=token_type_vocab_size)
  embeddings = tf.matmul(one_hot, table)
  return input_tensor + tf.reshape(embeddings, input_shape)


def add_position_embeddings(input_tensor, max_position_embeddings,
                            initializer_range=0.02,
                            name="position_embeddings", position_ids=None):
  """Adds learned absolute position embeddings to `input_tensor` [b, s, w].

  Without `position_ids`, token i gets position i (Google's way); the
  sequence length may be dynamic and is checked against
  `max_position_embeddings` at run time. With `position_ids` (int [b, s],
  packed rows, where positions restart at each example) each token gets
  its own row of the table.
  """
  width = input_tensor.shape[-1]
  assert_rank(input_tensor, 3)
  seq_length = shape_dim(input_tensor, 1)
  table = tf.get_variable(name=name, shape=[max_position_embeddings, width],
                          initializer=create_initializer(initializer_range))
  if position_ids is not None:
    return input_tensor + tf.gather(read_table(table), position_ids)
  check = tf.assert_less_equal(
      seq_length, max_position_embeddings,
      message="sequence longer than max_position_embeddings")
  with tf.control_dependencies([check]):
    position_embeddings = tf.slice(table, [0, 0], [seq_length, -1])
  # [seq, width] broadcasts over the batch.
  return input_tensor + tf.expand_dims(position_embeddings, 0)


def embedding_postprocessor(input_tensor, token_type_ids, config,
                           position_ids=None):
  """The tail of every embedding: + segments, + positions, LayerNorm, dropout.

  google-research/bert's `embedding_postprocessor`, reading its settings from
  the config. Variables (in the current scope, `<model>/embeddings`):
  `token_type_embeddings` [type_vocab_size, width] (none when the config's
  `type_vocab_size` is 0, as DistilBERT), `position_embeddings`
  [max_position_embeddings, width], `LayerNorm/{gamma,beta}` [width].

  Args:
    input_tensor: float Tensor [batch_size, seq_length, width], the word
      embeddings (ALBERT's E-wide, or brightmart's projected to H).
    token_type_ids: int Tensor [batch_size, seq_length], or None for all
      zeros (segment A, as google-research/bert).
    config: `BertConfig` (type_vocab_size, max_position_embeddings,
      initializer_range, hidden_dropout_prob, layer_norm_eps).
    position_ids: optional int Tensor [batch_size, seq_length] (packed rows).

  Returns:
    float Tensor [batch_size, seq_length, width].
  """
  output = input_tensor
  if config.type_vocab_size:
    if token_type_ids is None:
      token_type_ids = tf.zeros(get_shape_list(input_tensor)[:2], tf.int32)
    output = add_token_type_embeddings(
        output, token_type_ids, config.type_vocab_size,
        config.initializer_range)
  output = add_position_embeddings(
      output, config.max_position_embeddings, config.initializer_range,
      position_ids=position_ids)
  return layer_norm_and_dropout(
      output, config.hidden_dropout_prob,
      getattr(config, "layer_norm_eps", 1e-12))


# ------------------------------------------------------------- attention ---

# Graph collection of every attention layer's scores [B, N, S, S] (scaled
# query-key products plus the mask bias, before the softmax).
ATTENTION_SCORES = "attention_scores"


def attention_bias_from_mask(input_mask, dtype=tf.float32):
  """Turns a [batch, seq] 0/1 mask into an additive bias [batch, 1, 1, seq].

  Google's code builds a [batch, seq, seq] mask then adds -10000 where it is
  0; this is the same bias in a form that broadcasts over heads and queries.
  """
  mask = tf.cast(input_mask, dtype)
  return (1.0 - mask)[:, tf.newaxis, tf.newaxis, :] * -10000.0


def block_attention_bias(example_ids, dtype=tf.float32):
  """The additive bias of packed rows: [batch, 1, seq, seq].

  `example_ids` is int [batch, seq]: 0 for padding, k for the tokens of
  the k-th example packed in the row. A token attends to the keys of its
  own example only (a block-diagonal mask); padding keys get -10000 as in
  `attention_bias_from_mask`, so each example's softmax equals the one it
  would have alone in its own row.
  """
  same = tf.equal(example_ids[:, :, tf.newaxis],
                  example_ids[:, tf.newaxis, :])          # [b, s(q), s(k)]
  real_key = tf.greater(example_ids, 0)[:, tf.newaxis, :]  # [b, 1, s(k)]
  allowed = tf.cast(tf.logical_and(same, real_key), dtype)
  return (1.0 - allowed)[:, tf.newaxis, :, :] * -10000.0


def dot_product_scores(query, key):
  """Google's attention logits: query . key / sqrt(size_per_head).

  Args:
    query, key: float Tensors [batch, heads, seq, size_per_head].

  Returns:
    float Tensor [batch, heads, seq (queries), seq (keys)].
  """
  size_per_head = key.shape.as_list()[-1]
  # The scale multiplies the query [B, N, S, D] rather than the scores
  # [B, N, S, S]: the same logits (to float rounding), a product over
  # S / D times fewer elements, and nothing that training must keep of
  # the scores' size. Scaled after the product, Grappler moves the scale
  # of the softmax's gradient onto the softmax output in the forward
  # pass, a second [B, N, S, S] tensor held until the backward pass.
  query *= 1.0 / math.sqrt(float(size_per_head))
  return matmul(query, key, transpose_b=True)        # [B, N, S, S]


def weighted_values(probs, value):
  """Google's attention context: the values averaged by the probabilities.

  Args:
    probs: float Tensor [batch, heads, seq (queries), seq (keys)].
    value: float Tensor [batch, heads, seq, size_per_head].

  Returns:
    float Tensor [batch, heads, seq, size_per_head].
  """
  return matmul(probs, value)


# The arithmetic of one attention layer between its projections, the
# extension point of a model family whose attention differs (relative
# positions, a bias on the scores, another scale):
#   scores: fn(query, key [B, N, S, D]) -> logits [B, N, S, S], before the
#     mask bias and the softmax;
#   context: fn(probs [B, N, S, S], value [B, N, S, D]) -> [B, N, S, D].
# Both are called inside the layer's attention scope (e.g.
# `bert/encoder/layer_3/attention/self`), so a variable they create with
# tf.get_variable belongs to that layer, and is shared where the layer is
# (ALBERT). A family supplies its own through `EncoderModel.attention()`.
Attention = collections.namedtuple("Attention", ["scores", "context"])


class Queries(collections.namedtuple("Queries", ["index", "rows", "bias"])):
  """The positions a layer computes its output at, when not every one.

  A classifier reads one position of the last layer, each example's first
  token ([CLS]): the keys and values need every token, but the queries,
  the attention output, the feed-forward and the layer norms need that
  position alone (`base.first_token_queries`). A layer given `Queries`
  returns one row per query; the rows equal those of the full layer at
  these positions.

    index: int Tensor [q], each query's flat position in the layer's
      input [batch * seq, hidden].
    rows: int Tensor [q], the input row holding each query's keys, or
      None when query i reads row i (one query per row).
    bias: float Tensor [q, 1, 1, seq], each query's attention bias over
      its row's keys.
  """

# google-research/bert's attention, every built-in family's.
DOT_PRODUCT_ATTENTION = Attention(scores=dot_product_scores,
                                  context=weighted_values)


def multi_head_attention(from_tensor, attention_bias, batch_size, seq_length,
                         num_attention_heads, size_per_head,
                         attention_probs_dropout_prob=0.0,
                         initializer_range=0.02,
                         attention=DOT_PRODUCT_ATTENTION, head_mask=None,
                         queries=None):
  """Self-attention, variables `query`, `key`, `value` in the current scope.

  Args:
    from_tensor: float Tensor [batch_size * seq_length, hidden].
    attention_bias: float Tensor [batch_size, 1, 1, seq_length] (0 or
      -10000), or [batch_size, 1, seq_length, seq_length] for packed rows.
    batch_size, seq_length: ints or scalar tensors.
    num_attention_heads: N.
    size_per_head: D, with N * D the output width.
    attention_probs_dropout_prob: dropout on the attention probabilities.
    initializer_range: kernel initializer stddev.
    attention: an `Attention`: how scores and context are computed.
    head_mask: optional float Tensor [N] multiplying each head's context
      (importance scores; see `importance_masks`).
    queries: optional `Queries`: attend from these positions only (their
      bias replaces `attention_bias`).

  Returns:
    float Tensor [batch_size * seq_length, N * D] (heads concatenated);
    [q, N * D] with `queries`.
  """
  init = create_initializer(initializer_range)
  width = num_attention_heads * size_per_head

  def split_heads(x, rows, length):
    # [rows*length, N*D] -> [rows, N, length, D]
    x = tf.reshape(x, [rows, length, num_attention_heads, size_per_head])
    return tf.transpose(x, [0, 2, 1, 3])

  query_input = from_tensor
  query_rows, query_length = batch_size, seq_length
  if queries is not None:
    query_input = tf.gather(from_tensor, queries.index)      # [q, hidden]
    query_rows, query_length = -1, 1
    attention_bias = queries.bias
  query = split_heads(dense(query_input, width, init, name="query"),
                      query_rows, query_length)              # [B, N, Sq, D]
  key = split_heads(dense(from_tensor, width, init, name="key"),
                    batch_size, seq_length)                  # [B, N, S, D]
  value = split_heads(dense(from_tensor, width, init, name="value"),
                      batch_size, seq_length)
  if queries is not None and queries.rows is not None:
    key = tf.gather(key, queries.rows)                      # [q, N, S, D]
    value = tf.gather(value, queries.rows)

  scores = attention.scores(query, key)             # [B, N, Sq, S]
  scores += attention_bias
  # Kept in a graph collection for whoever needs them (distillation's
  # attention loss); EncoderModel.get_attention_scores finds its own.
  tf.add_to_collection(ATTENTION_SCORES, scores)
  probs = tf.nn.softmax(scores)
  if attention.context is weighted_values:
    context = dropped_weighted_values(probs, value,
                                      attention_probs_dropout_prob)
  else:
    context = attention.context(dropout(probs, attention_probs_dropout_prob),
                                value)              # [B, N, Sq, D]
  if head_mask is not None:
    context *= head_mask[tf.newaxis, :, tf.newaxis, tf.newaxis]
  context = tf.transpose(context, [0, 2, 1, 3])      # [B, Sq, N, D]
  return tf.reshape(context, [-1, width])            # [B*Sq, N*D]


# ------------------------------------------------------ transformer layer ---

# Where each sub-layer's variables live, relative to the layer's own scope.
LayerNames = collections.namedtuple(
    "LayerNames", ["attention", "attention_output", "attention_norm",
                   "intermediate", "output", "output_norm"])

# google-research/bert (also brightmart's albert_zh and our DistilBERT).
BERT_LAYER_NAMES = LayerNames(
    attention="attention/self",
    attention_output="attention/output/dense",
    attention_norm="attention/output/LayerNorm",
    intermediate="intermediate/dense",
    output="output/dense",
    output_norm="output/LayerNorm")

# google-research/albert.
ALBERT_LAYER_NAMES = LayerNames(
    attention="attention_1/self",
    attention_output="attention_1/output/dense",
    attention_norm="LayerNorm",
    intermediate="ffn_1/intermediate/dense",
    output="ffn_1/intermediate/output/dense",
    output_norm="LayerNorm_1")


def _scoped(path, fn, *args, **kwargs):
  """Calls fn inside the nested variable scopes of a "a/b/c" path.

  The last path element is passed as `name` so that layer norm and dense
  create `.../c/gamma` or `.../c/kernel`.
  """
  parts = path.split("/")
  if len(parts) == 1:
    return fn(*args, name=parts[0], **kwargs)
  with tf.variable_scope(parts[0]):
    return _scoped("/".join(parts[1:]), fn, *args, **kwargs)


def _attention_block(layer_input, attention_bias, batch_size, seq_length,
                     num_attention_heads, size_per_head,
                     attention_probs_dropout_prob, initializer_range,
                     attention, head_mask, queries, name):
  """multi_head_attention inside the scope `name` (for `_scoped`)."""
  with tf.variable_scope(name):
    return multi_head_attention(
        layer_input, attention_bias, batch_size, seq_length,
        num_attention_heads, size_per_head, attention_probs_dropout_prob,
        initializer_range, attention, head_mask, queries)


# Per-layer sizes of a structurally pruned model: optional config keys, each
# a list of one int per layer. Absent, every layer has num_attention_heads
# heads and intermediate_size neurons.
LAYER_HEADS_KEY = "layer_num_attention_heads"
LAYER_INTERMEDIATE_KEY = "layer_intermediate_sizes"


def layer_sizes(config, layer_index=None):
  """(attention heads, intermediate width) of one layer.

  `layer_index` None (a family whose layers share weights) is the
  uniform num_attention_heads / intermediate_size. A head is always
  hidden_size // num_attention_heads wide.
  """
  heads = config.num_attention_heads
  width = config.intermediate_size
  if layer_index is not None:
    heads = (getattr(config, LAYER_HEADS_KEY, None) or
             [heads] * (layer_index + 1))[layer_index]
    width = (getattr(config, LAYER_INTERMEDIATE_KEY, None) or
             [width] * (layer_index + 1))[layer_index]
  return heads, width


def has_layer_sizes(config):
  """Whether the config gives per-layer sizes (a pruned model)."""
  return bool(getattr(config, LAYER_HEADS_KEY, None) or
              getattr(config, LAYER_INTERMEDIATE_KEY, None))


# Graph collections of importance masks: each built transformer layer's
# head mask [heads] and feed-forward mask [intermediate], in layer order,
# once `importance_masks()` switched them on for the graph.
HEAD_MASKS = "head_importance_masks"
FFN_MASKS = "ffn_importance_masks"
_MASKS_WANTED = "importance_masks_wanted"


def importance_masks():
  """Makes every transformer layer built later in the default graph
  multiply each head's context and each feed-forward neuron's activation
  by a mask (a `tf.placeholder_with_default` of ones, in the collections
  HEAD_MASKS and FFN_MASKS): d loss / d mask is Michel et al. (2019)'s
  importance, and feeding zeros removes a head or neuron. Graphs built
  without this call hold no mask."""
  if not tf.get_collection(_MASKS_WANTED):
    tf.add_to_collection(_MASKS_WANTED, True)


def _importance_mask(size, collection, name):
  """A mask of ones [size] in `collection`, or None if none was asked for."""
  if not tf.get_collection(_MASKS_WANTED):
    return None
  mask = tf.placeholder_with_default(tf.ones([size]), [size], name=name)
  tf.add_to_collection(collection, mask)
  return mask


def _bias_only(input_tensor, name):
  """What a dense layer with no input left (every head or neuron pruned)
  gives: its bias `name/bias` on every row of input_tensor's shape."""
  with tf.variable_scope(name):
    bias = tf.get_variable("bias", [input_tensor.shape[-1]],
                           initializer=tf.zeros_initializer())
  return tf.zeros_like(input_tensor) + bias


def transformer_layer(layer_input, attention_bias, batch_size, seq_length,
                      config, names=BERT_LAYER_NAMES,
                      attention=DOT_PRODUCT_ATTENTION, layer_index=None,
                      queries=None):
  """One post-LN Transformer layer (attention + feed-forward).

  Args:
    layer_input: float Tensor [batch_size * seq_length, hidden_size].
    attention_bias: float Tensor [batch_size, 1, 1, seq_length].
    batch_size, seq_length: ints or scalar tensors.
    config: `BertConfig` (hidden_size, heads, intermediate_size, hidden_act,
      dropouts, initializer_range, layer_norm_eps; per-layer sizes, see
      `layer_sizes`).
    names: a `LayerNames`, the variable layout of this family.
    attention: an `Attention`, the family's scores and context.
    layer_index: which layer this is, for per-layer sizes (None: the
      uniform sizes). A layer of 0 heads (0 neurons) has only the bias of
      its attention output (feed-forward output), no kernel.
    queries: optional `Queries`: the output at these positions only.

  Returns:
    float Tensor [batch_size * seq_length, hidden_size]; [q, hidden_size]
    with `queries`.
  """
  hidden_size = config.hidden_size
  size_per_head = hidden_size // config.num_attention_heads
  heads, intermediate_size = layer_sizes(config, layer_index)
  # Dropout is on whenever the config has it: models pass a config with
  # dropout zeroed when not training (base.inference_config).
  hidden_dropout = config.hidden_dropout_prob
  attention_dropout = config.attention_probs_dropout_prob
  eps = getattr(config, "layer_norm_eps", 1e-12)
  init = create_initializer(config.initializer_range)
  act = get_activation(config.hidden_act)
  residual = layer_input                  # [b*s, hidden], or [q, hidden]
  if queries is not None:
    residual = tf.gather(layer_input, queries.index)

  if heads:
    head_mask = _importance_mask(heads, HEAD_MASKS, "head_mask")
    attention = _scoped(names.attention, _attention_block, layer_input,
                        attention_bias, batch_size, seq_length, heads,
                        size_per_head, attention_dropout,
                        config.initializer_range, attention, head_mask,
                        queries)
    attention = _scoped(names.attention_output, dense, attention,
                        hidden_size, init)
  else:
    attention = _scoped(names.attention_output, _bias_only, residual)
  attention = dropout(attention, hidden_dropout)
  attention = _scoped(names.attention_norm, layer_norm,
                      attention + residual, eps)

  if intermediate_size:
    intermediate = _scoped(names.intermediate, dense, attention,
                           intermediate_size, init, activation=act)
    ffn_mask = _importance_mask(intermediate_size, FFN_MASKS, "ffn_mask")
    if ffn_mask is not None:
      intermediate *= ffn_mask
    output = _scoped(names.output, dense, intermediate, hidden_size, init)
  else:
    output = _scoped(names.output, _bias_only, attention)
  output = dropout(output, hidden_dropout)
  return _scoped(names.output_norm, layer_norm, output + attention, eps)


def check_hidden_size(config):
  """Raises ValueError unless hidden_size splits evenly over the heads."""
  if config.hidden_size % config.num_attention_heads != 0:
    raise ValueError(
        "The hidden size (%d) is not a multiple of the number of attention "
        "heads (%d)" % (config.hidden_size, config.num_attention_heads))


def to_int32(x):
  """Casts an id/mask tensor to int32 (accepts int64 from tf.Example)."""
  return x if x.dtype == tf.int32 else tf.cast(x, tf.int32)

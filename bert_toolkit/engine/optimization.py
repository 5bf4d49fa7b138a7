"""Fine-tuning optimisation: AdamWeightDecay, schedule, accumulation, freezing.

- `AdamWeightDecayOptimizer`: Google's update rule (Adam without bias
  correction, decoupled weight decay, none on LayerNorm and biases), run in
  TF's fused Adam kernel (`_fused_update`), written as
  a real `tf.train.Optimizer` subclass with slots, so it also runs under a
  `tf.distribute` strategy (Google's overrides `apply_gradients` wholesale
  and does not). Per-variable learning-rate multipliers carry layer-wise
  decay and head-specific rates (e.g. a CRF's).
- `learning_rate_schedule`: linear warm-up, then linear decay to 0.
- `select_trainable`: one filter for every way of freezing variables.
- `LambOptimizer`: the same update scaled by the per-variable trust ratio,
  for large batches (pre-training).
- `create_train_op`: clipping at global norm 1.0 and gradient accumulation.
"""

import re

import tensorflow.compat.v1 as tf

from bert_toolkit.engine import distribution

NO_DECAY_PATTERNS = ("LayerNorm", "layer_norm", "bias")


class AdamWeightDecayOptimizer(tf.train.Optimizer):
  """Adam with decoupled weight decay, as google-research/bert fine-tunes.

  update = m / (sqrt(v) + epsilon) + weight_decay_rate * w  (no bias
  correction); w -= learning_rate * lr_multiplier(w) * update.
  """

  def __init__(self, learning_rate, weight_decay_rate=0.0, beta_1=0.9,
               beta_2=0.999, epsilon=1e-6, exclude_from_weight_decay=None,
               lr_multipliers=None, name="AdamWeightDecay"):
    """Args:
      learning_rate: float or scalar Tensor.
      weight_decay_rate: decoupled L2 factor.
      beta_1, beta_2, epsilon: Adam constants (Google's defaults).
      exclude_from_weight_decay: regexes of variable names without decay.
      lr_multipliers: dict variable name -> learning-rate factor.
      name: optimizer name (slot variables are named `<var>/<name>_m|_v`).
    """
    super(AdamWeightDecayOptimizer, self).__init__(False, name)
    self.learning_rate = learning_rate
    self.weight_decay_rate = weight_decay_rate
    self.beta_1 = beta_1
    self.beta_2 = beta_2
    self.epsilon = epsilon
    self.exclude_from_weight_decay = exclude_from_weight_decay
    self.lr_multipliers = dict(lr_multipliers or {})

  def _create_slots(self, var_list):
    for var in var_list:
      self._zeros_slot(var, "m", self._name + "_m")
      self._zeros_slot(var, "v", self._name + "_v")

  # Whether the update may run in TensorFlow's fused Adam kernel (see
  # _fused_update); LAMB, whose update is scaled per variable, may not.
  fused = True

  # A boolean scalar Tensor, or None: when set, each variable's update
  # runs only where it is true (gradient accumulation's update steps). The
  # condition sits inside the per-variable update, past the point where a
  # tf.distribute strategy synchronizes the replicas, so it also works
  # under one.
  apply_if = None

  def _apply_update(self, grad, var, resource):
    """The update of one dense variable (only when apply_if holds)."""
    if self.apply_if is None:
      return self._update(grad, var, resource)

    def update():
      with tf.control_dependencies([self._update(grad, var, resource)]):
        return tf.constant(True)

    return tf.cond(self.apply_if, update, lambda: tf.constant(False))

  def _update(self, grad, var, resource):
    """The update of one dense variable; returns the grouped assign ops."""
    if self.fused and hasattr(tf, "raw_ops"):
      return self._fused_update(grad, var, resource)
    name = _var_name(var)
    m = self.get_slot(var, "m")
    v = self.get_slot(var, "v")
    next_m = self.beta_1 * m + (1.0 - self.beta_1) * grad
    next_v = self.beta_2 * v + (1.0 - self.beta_2) * tf.square(grad)
    update = next_m / (tf.sqrt(next_v) + self.epsilon)
    decayed = self._do_use_weight_decay(name)
    if decayed:
      update += self.weight_decay_rate * var
    lr = self.learning_rate * self.lr_multipliers.get(name, 1.0)
    step = lr * self._scale(update, var, decayed) * update
    return tf.group(var.assign_sub(step), m.assign(next_m), v.assign(next_v))

  def _fused_update(self, grad, var, resource):
    """The same update in two passes over the weights instead of a dozen.

    TF's ApplyAdam kernel updates m, v and w in one pass:
    lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power), which is lr with
    both powers 0 (no bias correction, as Google's); then
    w -= lr_t * m / (sqrt(v) + epsilon). The decoupled weight decay
    w *= 1 - lr * weight_decay_rate runs first, so it sees the old weights,
    as in Google's single expression. One difference: the kernel forms
    1 - beta in float32, so v takes 0.00099998713 of g^2 instead of 0.001
    (as TF's own Adam does); after 5 steps the weights are within 1e-4 of
    Google's update (tested against numpy). Measured here: the update of
    all-MiniLM-L6-v2's 22.7M weights takes ~28 ms instead of ~80 ms.
    """
    name = _var_name(var)
    m = self.get_slot(var, "m")
    v = self.get_slot(var, "v")
    dtype = var.dtype.base_dtype
    lr = tf.cast(self.learning_rate * self.lr_multipliers.get(name, 1.0),
                 dtype)
    decay = []
    if self._do_use_weight_decay(name):
      # After the gradient, hence after the forward pass read the weights
      # (nothing else orders a decay that needs only lr and w). Written
      # as w * (1 - lr * rate), assigned: the product's buffer becomes the
      # variable's, one pass over w where w -= lr * rate * w takes three
      # (measured: 2.7 ms instead of 5.2 on MiniLM's word embeddings).
      with tf.control_dependencies([grad]):
        decay.append(var.assign(
            var * (1.0 - lr * self.weight_decay_rate)))
    zero = tf.constant(0.0, dtype)
    constants = dict(beta1_power=zero, beta2_power=zero, lr=lr,
                     beta1=tf.constant(self.beta_1, dtype),
                     beta2=tf.constant(self.beta_2, dtype),
                     epsilon=tf.constant(self.epsilon, dtype), grad=grad)
    with tf.control_dependencies(decay):
      if resource:
        return tf.raw_ops.ResourceApplyAdam(var=var.handle, m=m.handle,
                                            v=v.handle, **constants)
      return tf.raw_ops.ApplyAdam(var=var, m=m, v=v, **constants).op

  def _scale(self, update, var, decayed):
    """A factor on the update (1 here; LAMB's trust ratio)."""
    del update, var, decayed
    return 1.0

  def _apply_dense(self, grad, var):
    return self._apply_update(grad, var, resource=False)

  def _resource_apply_dense(self, grad, var):
    return self._apply_update(grad, var, resource=True)

  def _apply_sparse(self, grad, var):
    return self._apply_update(tf.convert_to_tensor(grad), var,
                              resource=False)

  # A sparse gradient becomes dense here, where repeated rows are summed
  # anyway: no separate de-duplication first.
  def _resource_apply_sparse_duplicate_indices(self, grad, var, indices):
    return self._resource_apply_sparse(grad, var, indices)

  def _apply_sparse_duplicate_indices(self, grad, var):
    return self._apply_sparse(grad, var)

  def _resource_apply_sparse(self, grad, var, indices):
    dense = tf.math.unsorted_segment_sum(grad, indices, tf.shape(var)[0])
    return self._apply_update(dense, var, resource=True)

  def _do_use_weight_decay(self, param_name):
    """Whether to use L2 weight decay for `param_name`."""
    if not self.weight_decay_rate:
      return False
    for pattern in self.exclude_from_weight_decay or NO_DECAY_PATTERNS:
      if re.search(pattern, param_name) is not None:
        return False
    return True


class LambOptimizer(AdamWeightDecayOptimizer):
  """LAMB for large batches (google-research/albert's lamb_optimizer.py):
  the AdamWeightDecay update scaled per variable by the trust ratio
  ||w|| / ||update|| (1 when either is 0, and for the variables without
  weight decay: LayerNorm and biases).
  """

  fused = False  # the trust ratio needs the whole update as a tensor

  def __init__(self, learning_rate, weight_decay_rate=0.0, beta_1=0.9,
               beta_2=0.999, epsilon=1e-6, exclude_from_weight_decay=None,
               lr_multipliers=None, name="LAMB"):
    super(LambOptimizer, self).__init__(
        learning_rate, weight_decay_rate, beta_1, beta_2, epsilon,
        exclude_from_weight_decay, lr_multipliers, name)

  def _scale(self, update, var, decayed):
    """||w|| / ||update|| for decayed variables (1 if either is 0)."""
    if not decayed:
      return 1.0
    w_norm = tf.norm(var, ord=2)
    u_norm = tf.norm(update, ord=2)
    return tf.where(tf.greater(w_norm, 0),
                    tf.where(tf.greater(u_norm, 0), w_norm / u_norm, 1.0),
                    1.0)


OPTIMIZERS = (("adamw", AdamWeightDecayOptimizer), ("lamb", LambOptimizer))


def _var_name(var):
  """'scope/w:0' -> 'scope/w'. A mirrored variable's copy on another
  device ('scope/w/replica_1') answers its variable's name, so learning-rate
  multipliers, decay rules and accumulators treat every copy alike."""
  name = var.op.name if hasattr(var, "op") else var.name.split(":")[0]
  return re.sub(r"/replica_\d+$", "", name)


def learning_rate_schedule(init_lr, step, num_train_steps, num_warmup_steps):
  """Linear warm-up to `init_lr` over `num_warmup_steps`, then linear decay.

  Args:
    init_lr: peak learning rate.
    step: int64 scalar Tensor, optimizer updates done so far.
    num_train_steps: updates at which the rate reaches 0.
    num_warmup_steps: updates of warm-up.

  Returns:
    float32 scalar Tensor.
  """
  step_f = tf.cast(step, tf.float32)
  decayed = init_lr * tf.maximum(
      0.0, 1.0 - step_f / float(max(num_train_steps, 1)))
  if not num_warmup_steps:
    return decayed
  warmup = init_lr * step_f / float(num_warmup_steps)
  return tf.where(step_f < float(num_warmup_steps), warmup, decayed)


# ------------------------------------------------------------- freezing ---

_LAYER = re.compile(r"/(?:encoder/)?layer_(\d+)/")


def encoder_layer_index(name):
  """Index of the encoder layer a variable belongs to, or None."""
  m = _LAYER.search(name)
  return int(m.group(1)) if m else None


def select_trainable(variables, encoder_scope, num_layers,
                     freeze_embeddings=False, trainable_layers=None,
                     freeze_encoder=False, freeze_regex=None):
  """The one place that decides which variables train.

  Args:
    variables: candidate variables (tf.trainable_variables()).
    encoder_scope: "bert" / "distilbert": everything under it is the
      pre-trained encoder; everything else is the task head.
    num_layers: encoder layers L.
    freeze_embeddings: freeze `<scope>/embeddings/*` (and ALBERT's
      embedding projection).
    trainable_layers: train only the top N encoder layers (plus pooler and
      head); embeddings and lower layers are frozen. ALBERT's shared layers
      train if N >= 1.
    freeze_encoder: freeze everything under the encoder scope (pooler too):
      only the task head trains, on fixed features.
    freeze_regex: also freeze variables whose name matches this regex.

  Returns:
    (trainable, frozen): two lists of variables.
  """
  prefix = encoder_scope + "/"
  trainable, frozen = [], []
  pattern = re.compile(freeze_regex) if freeze_regex else None
  for var in variables:
    name = _var_name(var)
    in_encoder = name.startswith(prefix)
    freeze = False
    if in_encoder and freeze_encoder:
      freeze = True
    if in_encoder and freeze_embeddings and _is_embedding(name, prefix):
      freeze = True
    if in_encoder and trainable_layers is not None:
      freeze = freeze or _below_top_layers(name, prefix, num_layers,
                                           trainable_layers)
    if pattern is not None and pattern.search(name):
      freeze = True
    (frozen if freeze else trainable).append(var)
  return trainable, frozen


def _is_embedding(name, prefix):
  """Embedding tables and the E->H projection (ALBERT's
  embedding_hidden_mapping_in, ELECTRA's embeddings_project)."""
  return (name.startswith(prefix + "embeddings/") or
          name.startswith(prefix + "embeddings_project/") or
          "embedding_hidden_mapping_in" in name)


def _below_top_layers(name, prefix, num_layers, trainable_layers):
  """True for embeddings and encoder layers below the top `trainable_layers`."""
  if _is_embedding(name, prefix):
    return trainable_layers <= num_layers
  index = encoder_layer_index(name)
  if index is not None:
    return index < num_layers - trainable_layers
  if "/transformer/" in name or "/layer_shared/" in name:  # ALBERT: shared.
    return trainable_layers < 1
  return False  # pooler


def layerwise_lr_multipliers(variables, encoder_scope, num_layers, decay):
  """Learning-rate factors: head and pooler 1, layer i decay**(L - i),
  embeddings decay**(L + 1). ALBERT's shared layers get decay**1."""
  if not decay or decay == 1.0:
    return {}
  prefix = encoder_scope + "/"
  multipliers = {}
  for var in variables:
    name = _var_name(var)
    if not name.startswith(prefix):
      continue
    if _is_embedding(name, prefix):
      multipliers[name] = decay ** (num_layers + 1)
      continue
    index = encoder_layer_index(name)
    if index is not None:
      multipliers[name] = decay ** (num_layers - index)
    elif "/transformer/" in name or "/layer_shared/" in name:
      multipliers[name] = decay
  return multipliers


# ------------------------------------------------------------ train op ---

def create_train_op(loss, init_lr, num_train_steps, num_warmup_steps,
                    variables, weight_decay_rate=0.01, lr_multipliers=None,
                    accumulation_steps=1, clip_norm=1.0, optimizer="adamw",
                    loss_scaling=False):
  """Builds the training op for `loss` over `variables`.

  With accumulation_steps k, every call adds the gradients of one
  micro-batch (scaled by 1/k) to accumulators; every k-th call applies the
  accumulated gradient, so k micro-batches of b equal one batch of k*b.
  `global_step` counts micro-batches; the schedule counts updates
  (global_step // k).

  Args:
    loss: scalar Tensor (mean over the micro-batch).
    init_lr: peak learning rate.
    num_train_steps: micro-batches in the whole run.
    num_warmup_steps: micro-batches of warm-up.
    variables: variables to train (frozen ones are simply not passed: they
      get no gradient, no slot and no change).
    weight_decay_rate: decoupled weight decay.
    lr_multipliers: dict variable name -> factor.
    accumulation_steps: k >= 1.
    clip_norm: global-norm clipping of the (accumulated) gradient.
    optimizer: "adamw" (AdamWeightDecay) or "lamb".
    loss_scaling: dynamic loss scaling for float16 gradients (--use_amp
      on a GPU; see DynamicLossScale).

  Returns:
    (train_op, learning_rate tensor).
  """
  global_step = tf.train.get_or_create_global_step()
  k = max(int(accumulation_steps), 1)
  update_step = global_step // k
  learning_rate = learning_rate_schedule(init_lr, update_step,
                                         max(num_train_steps // k, 1),
                                         num_warmup_steps // k)
  optimizer = dict(OPTIMIZERS)[optimizer](
      learning_rate=learning_rate, weight_decay_rate=weight_decay_rate,
      lr_multipliers=lr_multipliers)
  scale = DynamicLossScale() if loss_scaling else None
  grads = (scale.gradients(loss, variables) if scale
           else tf.gradients(loss, variables))
  grads, replicas = distribution.replica_mean(grads, variables)
  pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
  if scale:
    finite = scale.all_finite([g for g, _ in pairs])
    pairs = [(tf.where(finite, g, tf.zeros_like(g)), v) for g, v in pairs]
  if k == 1:
    if scale:
      optimizer.apply_if = finite   # a step with inf/nan gradients is skipped
    apply_op = _clip_and_apply(optimizer, pairs, clip_norm, replicas)
    with tf.control_dependencies([apply_op]):
      updates = [global_step.assign_add(1)]
      if scale:
        updates.append(scale.update(finite))
      train_op = tf.group(*updates)
    return train_op, learning_rate

  accumulators = [
      tf.get_variable(_var_name(v) + "/grad_accum", v.shape.as_list(),
                      dtype=v.dtype.base_dtype, trainable=False,
                      initializer=tf.zeros_initializer(),
                      collections=[tf.GraphKeys.GLOBAL_VARIABLES],
                      # replicas add the same (all-reduced) gradient
                      aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
      for _, v in pairs]
  accumulate = tf.group(*[
      acc.assign_add(tf.convert_to_tensor(g) / float(k))
      for acc, (g, _) in zip(accumulators, pairs)])
  with tf.control_dependencies([accumulate]):
    is_update = tf.equal((global_step + 1) % k, 0)
    # Every call goes through apply_gradients (under a strategy it is where
    # the replicas meet, which must not sit inside a tf.cond); the update of
    # each variable runs only on update steps (optimizer.apply_if).
    optimizer.apply_if = is_update
    acc_pairs = [(acc.read_value(), v)
                 for acc, (_, v) in zip(accumulators, pairs)]
    apply_op = _clip_and_apply(optimizer, acc_pairs, clip_norm, replicas)
  keep = tf.logical_not(is_update)
  with tf.control_dependencies([apply_op]):
    reset = tf.group(*[acc.assign(acc * tf.cast(keep, acc.dtype))
                       for acc in accumulators])
  with tf.control_dependencies([reset]):
    updates = [global_step.assign_add(1)]
    if scale:  # (a micro-batch with inf/nan gradients adds zeros)
      updates.append(scale.update(finite))
    train_op = tf.group(*updates)
  return train_op, learning_rate


class DynamicLossScale(object):
  """Dynamic loss scaling (Micikevicius et al., "Mixed Precision
  Training"; TF's tf.train.experimental.DynamicLossScale rules): the loss
  is multiplied by S before the backward pass and the gradients divided by
  S after it, so that small float16 gradients do not flush to zero. A step
  whose gradients hold an inf or nan is skipped and halves S; 2000 finite
  steps in a row double it. S starts at 2**15 and is kept in the
  checkpoint (`loss_scale`, `loss_scale_good_steps`), so a resumed run
  goes on with it. With float32 and powers of two, the scaled and unscaled
  gradients are bit-identical.
  """

  INITIAL = 2.0 ** 15
  GROWTH_STEPS = 2000

  def __init__(self):
    only_first = tf.VariableAggregation.ONLY_FIRST_REPLICA
    self.scale = tf.get_variable(
        "loss_scale", [], tf.float32, trainable=False,
        initializer=tf.constant_initializer(self.INITIAL),
        aggregation=only_first)
    self.good_steps = tf.get_variable(
        "loss_scale_good_steps", [], tf.int64, trainable=False,
        initializer=tf.zeros_initializer(), aggregation=only_first)

  def gradients(self, loss, variables):
    """d(loss)/d(variables) through the scaled loss, unscaled."""
    scale = self.scale.read_value()
    grads = tf.gradients(loss * tf.cast(scale, loss.dtype), variables)
    return [None if g is None else
            tf.convert_to_tensor(g) / tf.cast(scale, g.dtype) for g in grads]

  @staticmethod
  def all_finite(grads):
    """Scalar bool: no inf or nan in any gradient."""
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])

  def update(self, finite):
    """The scale's update after a step (finite: its gradients were)."""
    grow = tf.logical_and(finite, self.good_steps + 1 >= self.GROWTH_STEPS)
    new_scale = tf.where(finite, tf.where(grow, self.scale * 2.0,
                                          self.scale),
                         tf.maximum(self.scale / 2.0, 1.0))
    new_good = tf.where(tf.logical_and(finite, tf.logical_not(grow)),
                        self.good_steps + 1, tf.zeros_like(self.good_steps))
    return tf.group(self.scale.assign(new_scale),
                    self.good_steps.assign(new_good))


def _clip_and_apply(optimizer, pairs, clip_norm, replicas=1):
  """Clips gradients by global norm and applies them (no step increment).

  Under a strategy every replica holds the same averaged gradient, and
  tf.train.Optimizer.apply_gradients sums the replicas' gradients: each
  passes 1/replicas of it."""
  grads = [_rows_summed(g) if isinstance(g, tf.IndexedSlices)
           else tf.convert_to_tensor(g) for g, _ in pairs]
  if clip_norm:
    grads, _ = tf.clip_by_global_norm(grads, clip_norm=clip_norm)
  if replicas > 1:
    grads = [g / float(replicas) for g in grads]   # dense: replica_mean
  return optimizer.apply_gradients(zip(grads, [v for _, v in pairs]))


def _rows_summed(grad):
  """A sparse gradient (an embedding table's) with its repeated rows summed.

  Its norm is then the dense gradient's norm, and clipping scales only the
  rows a batch touched: a few hundred, not the whole vocabulary. It
  becomes dense only in the optimizer's update (which changes every row)."""
  rows, position = tf.unique(grad.indices)
  values = tf.math.unsorted_segment_sum(grad.values, position,
                                        tf.shape(rows)[0])
  return tf.IndexedSlices(values, rows, grad.dense_shape)


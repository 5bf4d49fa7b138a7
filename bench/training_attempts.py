"""Benchmark: alternatives for the training step, measured and not kept.

Each part times one candidate against what the code does, on the real
all-MiniLM-L6-v2's shapes (hidden 384, intermediate 1536, batch 32), in
this process, the two alternating:

  threads     one training step (profile_step.build: the classifier's
              graph on constants) at 128 and 24 tokens, with 2 intra- and
              2 inter-op threads (the default), 2 and 1, 1 and 2
  qkv         the query, key and value projections and their gradients as
              three matmuls (Google's variables) or one matmul on the
              concatenated kernels, at 512 and 4,096 tokens
  layer_norm  layer norm and its gradient: ours (modeling/layers.py) or
              TF's FusedBatchNormV3 over rows (Keras's trick), then gamma
              and beta, at 512 and 4,096 tokens
  optimizer   one AdamWeightDecay update of MiniLM's 105 variables,
              clipping included: ours (TF's fused Adam kernel) or the
              whole update written out in one XLA cluster a variable
  clipping    how many steps of real SST-2 fine-tuning have a gradient
              norm above the clipping norm 1.0 (where the clip's
              multiplication could be skipped), over --clip_steps steps
  bias_grad   the dense layers' bias gradients as TF's BiasAddGrad (what
              the code does) or as a matmul of a row of ones by dy (oneDNN):
              one training step of the any-length graph at 16 tokens and of
              the fixed-shape graph at 128
  adam_memory the fused Adam update of the word embeddings alone (30,522 x
              384 weights, their two slots and a dense gradient): one op
              at 1 and at 2 intra-op threads, and split into two ops of half
              the rows run side by side, with the memory each moves a second
              (7 passes of the table: 4 read, 3 written). The tables are
              placed as in a training process, inside one large region of
              TF's allocator (_one_region): each in a mapping of its own,
              as a fresh process places them, the same update measured
              twice as slow here (21 ms, where a training step's trace
              shows 12)
  table_update
              the word embeddings' update, one training step of the
              any-length graph at 16 tokens: ours; the table's weight
              decay run as soon as the model has read the table (not after
              its gradient); and, there too, the fused Adam update of every
              row with a zero gradient, the batch's rows written again after
              the clip by scatters (the clip's factor needs every gradient);
              and the time a traced step spends reading variables
              (ReadVariableOp) in each, and the largest difference of the
              table, its slots and a dense kernel from ours after 3 steps
  layer_norm_xla
              the layer norm's gradient compiled by XLA (as the GELU's is),
              one training step at the fixed shape of 128 tokens
  slope       the GELU's slope kept from the forward pass
              (modeling.slopes_in_forward) or recomputed from x: a graph of
              varying length at 16 and 128 tokens, and the fixed-shape
              graph (slope recomputed, compiled by XLA) at 128

  flock /tmp/bench.lock .venv/bin/python bench/training_attempts.py \
      [--only threads,qkv,...] [--clip_steps 315]

Writes bench/results/training_attempts.json (milliseconds or seconds, each
round) and prints it.
"""

import argparse
import contextlib
import json
import os
import runpy
import sys
import tempfile
import time

import numpy as np

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)
sys.path.insert(0, BENCH_DIR)

import profile_step  # pylint: disable=g-import-not-at-top
import machine  # pylint: disable=g-import-not-at-top
from minilm_model import converted_model  # pylint: disable=g-import-not-at-top
from bert_toolkit.engine import optimization  # pylint: disable=g-import-not-at-top
from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top
import modeling  # pylint: disable=g-import-not-at-top
from modeling import layers  # pylint: disable=g-import-not-at-top

tf = profile_step.tf
HIDDEN, INTERMEDIATE, VOCAB, BATCH = 384, 1536, 30522, 32
DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data")


def _config():
  return modeling.BertConfig.from_json_file(
      os.path.join(converted_model()[1], "bert_config.json"))


def _started(graph, fetch, feed=None, intra=2, inter=2):
  """(session, fetch, feed) of `graph`, its variables initialized."""
  with graph.as_default():
    init = tf.global_variables_initializer()
  sess = tf.Session(graph=graph, config=tf.ConfigProto(
      intra_op_parallelism_threads=intra, inter_op_parallelism_threads=inter))
  sess.run(init)
  return sess, fetch, feed


def _gradient_sums(loss, wrt):
  """One scalar a gradient of the loss with respect to each of `wrt`
  (fetching the sums makes every gradient run)."""
  return [tf.reduce_sum(g) for g in tf.gradients(loss, wrt)]


def _by_tokens(build, labels, rounds, runs=30):
  """{tokens: {label: seconds each round}} at 512 and 4,096 tokens:
  build(tokens, flag) for each (label, flag) of `labels`, alternating."""
  return {str(tokens): _alternate({label: build(tokens, flag)
                                   for label, flag in labels}, rounds, runs)
          for tokens in (512, 4096)}


def _alternate(candidates, rounds, runs):
  """{name: [seconds of each round]}: candidates = {name: (sess, fetch,
  feed)}, timed in turn, round after round."""
  times = {name: [] for name in candidates}
  for _ in range(rounds):
    for name, (sess, fetch, feed) in candidates.items():
      times[name].append(round(profile_step.mean_seconds(sess, fetch, feed,
                                                             runs), 5))
  return times


def threads(rounds):
  config = _config()
  out = {}
  for length in (128, 24):
    graph = tf.Graph()
    with graph.as_default():
      tf.train.get_or_create_global_step()
      train_op, _ = profile_step.build(config, BATCH, length)
    sessions = {name: _started(graph, train_op, None, intra, inter)
                for name, (intra, inter) in (("intra 2, inter 2", (2, 2)),
                                             ("intra 2, inter 1", (2, 1)),
                                             ("intra 1, inter 2", (1, 2)))}
    out[str(length)] = _alternate(sessions, rounds, 5 if length > 64 else 10)
  return out


def _qkv_graph(tokens, fused):
  graph = tf.Graph()
  with graph.as_default():
    x = tf.Variable(tf.random.normal([tokens, HIDDEN]))
    kernels = [tf.Variable(tf.random.normal([HIDDEN, HIDDEN]) * 0.05)
               for _ in range(3)]
    biases = [tf.Variable(tf.zeros([HIDDEN])) for _ in range(3)]
    inputs = x * 1.0
    if fused:
      product = tf.nn.bias_add(tf.matmul(inputs, tf.concat(kernels, 1)),
                               tf.concat(biases, 0))
      outputs = tf.split(product, 3, axis=1)
    else:
      outputs = [tf.nn.bias_add(tf.matmul(inputs, k), b)
                 for k, b in zip(kernels, biases)]
    fetch = _gradient_sums(tf.add_n([tf.reduce_sum(o * o) for o in outputs]),
                           [inputs] + kernels + biases)
  return _started(graph, fetch)


def qkv(rounds):
  return _by_tokens(_qkv_graph, (("three matmuls", False),
                                 ("one matmul", True)), rounds)


def _fused_batch_norm_layer_norm(x, epsilon=1e-12):
  """Layer norm through FusedBatchNormV3: each row a channel of an NCHW
  [1, rows, hidden, 1] tensor; then gamma and beta."""
  beta = tf.get_variable("beta", [HIDDEN], initializer=tf.zeros_initializer())
  gamma = tf.get_variable("gamma", [HIDDEN],
                          initializer=tf.ones_initializer())
  rows = tf.shape(x)[0]
  normalized, _, _, _, _, _ = tf.raw_ops.FusedBatchNormV3(
      x=tf.reshape(x, [1, rows, HIDDEN, 1]), scale=tf.ones([rows]),
      offset=tf.zeros([rows]), mean=tf.zeros([0]), variance=tf.zeros([0]),
      epsilon=epsilon, exponential_avg_factor=1.0, data_format="NCHW",
      is_training=True)
  return tf.reshape(normalized, [rows, HIDDEN]) * gamma + beta


def _layer_norm_graph(tokens, fused):
  graph = tf.Graph()
  with graph.as_default():
    x = tf.Variable(tf.random.normal([tokens, HIDDEN]) * 3.0 + 1.0)
    inputs = x * 1.0
    if fused:
      with tf.variable_scope("LayerNorm"):
        y = _fused_batch_norm_layer_norm(inputs)
    else:
      y = modeling.layers.layer_norm(inputs)
    weights = tf.constant(np.random.RandomState(0).normal(
        size=(tokens, HIDDEN)).astype(np.float32))
    variables = [v for v in tf.trainable_variables() if "LayerNorm" in v.name]
    fetch = _gradient_sums(tf.reduce_sum(y * weights), [inputs] + variables)
  return _started(graph, fetch)


def layer_norm(rounds):
  return _by_tokens(_layer_norm_graph, (("ours", False),
                                        ("FusedBatchNormV3", True)), rounds)


def _minilm_shapes():
  """(name, shape) of MiniLM's trainable variables."""
  shapes = [("bert/embeddings/word_embeddings", [VOCAB, HIDDEN]),
            ("bert/embeddings/position_embeddings", [512, HIDDEN]),
            ("bert/embeddings/token_type_embeddings", [2, HIDDEN]),
            ("bert/embeddings/LayerNorm/gamma", [HIDDEN]),
            ("bert/embeddings/LayerNorm/beta", [HIDDEN])]
  for layer in range(6):
    prefix = "bert/encoder/layer_%d/" % layer
    for dense in ("attention/self/query", "attention/self/key",
                  "attention/self/value", "attention/output/dense"):
      shapes += [(prefix + dense + "/kernel", [HIDDEN, HIDDEN]),
                 (prefix + dense + "/bias", [HIDDEN])]
    shapes += [(prefix + "intermediate/dense/kernel", [HIDDEN, INTERMEDIATE]),
               (prefix + "intermediate/dense/bias", [INTERMEDIATE]),
               (prefix + "output/dense/kernel", [INTERMEDIATE, HIDDEN]),
               (prefix + "output/dense/bias", [HIDDEN])]
    for norm in ("attention/output/LayerNorm", "output/LayerNorm"):
      shapes += [(prefix + norm + "/gamma", [HIDDEN]),
                 (prefix + norm + "/beta", [HIDDEN])]
  return shapes


def _optimizer_graph(xla):
  """One update of MiniLM's variables from fixed gradients (the word
  embeddings' sparse: 512 rows, as a batch of 16 tokens touches)."""
  graph = tf.Graph()
  with graph.as_default():
    step = tf.train.get_or_create_global_step()
    variables, grads = profile_step.stored_gradients(_minilm_shapes(), 512)
    learning_rate = optimization.learning_rate_schedule(5e-5, step, 2104, 210)
    if not xla:
      optimizer = optimization.AdamWeightDecayOptimizer(learning_rate, 0.01)
      fetch = optimization._clip_and_apply(  # pylint: disable=protected-access
          optimizer, list(zip(grads, variables)), 1.0)
    else:
      grads = [optimization._rows_summed(grads[0])] + grads[1:]  # pylint: disable=protected-access
      scale = 1.0 / tf.maximum(tf.linalg.global_norm(grads), 1.0)
      updates = []
      for grad, var in zip(grads, variables):
        m, v = [tf.get_variable(var.op.name + suffix, var.shape,
                                use_resource=True, trainable=False,
                                initializer=tf.zeros_initializer())
                for suffix in ("/m", "/v")]
        decayed = not any(p in var.op.name
                          for p in optimization.NO_DECAY_PATTERNS)
        with tf.xla.experimental.jit_scope(compile_ops=True):
          if isinstance(grad, tf.IndexedSlices):
            grad = tf.scatter_nd(tf.expand_dims(grad.indices, 1),
                                 grad.values * scale, [VOCAB, HIDDEN])
          else:
            grad = grad * scale
          next_m = 0.9 * m.read_value() + 0.1 * grad
          next_v = 0.999 * v.read_value() + 0.001 * grad * grad
          update = next_m / (tf.sqrt(next_v) + 1e-6)
          weights = var.read_value()
          if decayed:
            update += 0.01 * weights
          updates += [var.assign(weights - learning_rate * update,
                                 read_value=False),
                      m.assign(next_m, read_value=False),
                      v.assign(next_v, read_value=False)]
      fetch = tf.group(*updates)
  return _started(graph, fetch)


def optimizer(rounds):
  return _alternate({"fused Adam kernel (ours)": _optimizer_graph(False),
                     "one XLA cluster a variable": _optimizer_graph(True)},
                    rounds, 20)


def clipping(steps):
  """{"steps": n, "clipped": k, "median_norm": ...} of a real run."""
  norms_file = tempfile.NamedTemporaryFile(suffix=".txt", delete=False).name
  clip = tf.clip_by_global_norm

  def logged(t_list, clip_norm, use_norm=None, name=None):
    del use_norm
    norm = tf.linalg.global_norm(t_list)
    printed = tf.print(norm, output_stream="file://" + norms_file)
    with tf.control_dependencies([printed]):
      t_list = [tf.identity(t) for t in t_list]
    return clip(t_list, clip_norm, use_norm=norm, name=name)

  with tempfile.TemporaryDirectory() as out:
    argv = sys.argv
    sys.argv = [
        "run_classifier.py", "--task", "sst2",
        "--data_dir", os.path.join(DATA_DIR, "sst2"),
        "--init_checkpoint", converted_model()[1], "--output_dir", out,
        "--cache_dir", os.path.join(BENCH_DIR, "runs", "attempts",
                                    "features"), "--do_train",
        "--max_seq_length", "128", "--train_batch_size", str(BATCH),
        "--learning_rate", "5e-5", "--seed", "1",
        "--num_train_epochs", repr((steps + 0.5) * BATCH / 67349),
        "--save_checkpoints_steps", "100000"]
    tf.clip_by_global_norm = logged
    try:
      with contextlib.redirect_stdout(sys.stderr):
        runpy.run_module("bert_toolkit.cli.run_classifier",
                         run_name="__main__", alter_sys=True)
    except SystemExit as e:
      if e.code:
        raise
    finally:
      tf.clip_by_global_norm = clip
      sys.argv = argv
  with open(norms_file) as f:
    norms = [float(line) for line in f if line.strip()]
  os.unlink(norms_file)
  return {"steps": len(norms), "clipped": sum(n > 1.0 for n in norms),
          "median_norm": round(float(np.median(norms)), 3)}


def _step_graph(config, length, fixed, within=contextlib.nullcontext):
  """(sess, train_op, feed) of the classifier's training step at `length`
  tokens: the fixed-shape graph, or the any-length one fed random ids;
  `within()`: a context the model and its train op are built in."""
  graph = tf.Graph()
  with graph.as_default(), within():
    tf.train.get_or_create_global_step()
    train_op, _ = profile_step.build(config, BATCH, length if fixed else None)
  feed = (None if fixed else profile_step.random_batch(
      config, BATCH, length, np.random.RandomState(1)))
  return _started(graph, train_op, feed)


@contextlib.contextmanager
def _replaced(owner, name, value):
  """owner.name = value within (a module's function or constant)."""
  saved = getattr(owner, name)
  setattr(owner, name, value)
  try:
    yield
  finally:
    setattr(owner, name, saved)


def _slope_graph(config, length, keep, fixed):
  """_step_graph with the activations' slope kept (`keep`: slopes_in_forward
  as a training graph sets it) or not."""
  return _step_graph(config, length, fixed, contextlib.nullcontext if keep
                     else lambda: _replaced(modeling, "slopes_in_forward",
                                            lambda: None))


_ROWS_OF_ONES = "BertToolkitAttemptBiasGradByMatmul"


def _bias_grad_by_matmul(op, dy):
  """BiasAdd's gradient with the bias part as ones[1, rows] . dy."""
  del op
  rows = tf.reshape(dy, [-1, tf.shape(dy)[-1]])
  ones = tf.ones(tf.stack([1, tf.shape(rows)[0]]), dy.dtype)
  return [dy, tf.reshape(tf.matmul(ones, rows), [-1])]


tf.RegisterGradient(_ROWS_OF_ONES)(_bias_grad_by_matmul)


def bias_grad(rounds):
  config = _config()
  out = {}
  for length, fixed in ((16, False), (128, True)):
    out[str(length)] = _alternate({
        "BiasAddGrad (ours)": _step_graph(config, length, fixed),
        "a matmul by ones": _step_graph(
            config, length, fixed,
            lambda: tf.get_default_graph().gradient_override_map(
                {"BiasAdd": _ROWS_OF_ONES}))},
                                  rounds, 16 if length < 64 else 5)
  return out


def _table_reads(var):
  """The model's ops that read `var` (through a read of its value, or its
  handle): an update of it must wait for them."""
  reads = []
  for op in var.handle.consumers():
    if op.type == "ReadVariableOp":
      reads += [c for out in op.outputs for c in out.consumers()]
    elif op.type not in ("AssignVariableOp", "VarIsInitializedOp"):
      reads.append(op)
  return [op for op in reads if not op.name.startswith("AdamWeightDecay")]


def _split_tables(decay_only):
  """A _clip_and_apply whose embedding tables (the variables with a sparse
  gradient) start their update as soon as the model has read them:
  `decay_only`, the weight decay alone moves there (the rest as ours);
  else the decay and the fused Adam update of every row with a zero
  gradient run there (the optimizer's own _fused_update), and after the
  clip the batch's rows are written again from their values before (Adam
  with their gradient, the kernel's arithmetic), by scatters."""
  f32 = tf.float32

  def clip_and_apply(optimizer, pairs, clip_norm, replicas=1):
    del replicas
    grads = [optimization._rows_summed(g) if isinstance(g, tf.IndexedSlices)  # pylint: disable=protected-access
             else tf.convert_to_tensor(g) for g, _ in pairs]
    tables = {var: grad.indices for grad, (_, var) in zip(grads, pairs)
              if isinstance(grad, tf.IndexedSlices)}
    lr = tf.cast(optimizer.learning_rate, f32)
    keep = 1.0 - lr * optimizer.weight_decay_rate
    early, before = {}, {}
    for var, rows in tables.items():
      reads = _table_reads(var)
      if decay_only:
        with tf.control_dependencies(reads):
          early[var] = var.assign(var.read_value() * keep, read_value=False)
        continue
      optimizer._create_slots([var])  # pylint: disable=protected-access
      slots = [optimizer.get_slot(var, name) for name in ("m", "v")]
      zeros = tf.get_variable(var.op.name + "/zero_gradient", var.shape,
                              trainable=False, use_resource=True,
                              initializer=tf.zeros_initializer())
      with tf.control_dependencies(reads):
        before[var] = [tf.gather(t.read_value(), rows)
                       for t in [var] + slots]
      with tf.control_dependencies(before[var]):   # decay, then Adam
        early[var] = optimizer._fused_update(  # pylint: disable=protected-access
            zeros.read_value(), var, resource=True)
    if clip_norm:
      grads, _ = tf.clip_by_global_norm(grads, clip_norm=clip_norm)
    if decay_only:
      rule = optimizer._do_use_weight_decay  # pylint: disable=protected-access
      names = {t.op.name for t in tables}
      optimizer._do_use_weight_decay = (  # pylint: disable=protected-access
          lambda name: name not in names and rule(name))
      applied = []
      for grad, (_, var) in zip(grads, pairs):
        if var in early:
          with tf.control_dependencies([early[var]]):
            grad = tf.IndexedSlices(tf.identity(grad.values), grad.indices,
                                    grad.dense_shape)
        applied.append((grad, var))
      return optimizer.apply_gradients(applied)
    updates = [optimizer.apply_gradients(
        [(g, v) for g, (_, v) in zip(grads, pairs) if v not in early])]
    one = tf.constant(1.0, f32)
    beta_1, beta_2, epsilon = (tf.constant(c, f32) for c in (
        optimizer.beta_1, optimizer.beta_2, optimizer.epsilon))
    for grad, (_, var) in zip(grads, pairs):
      if var not in early:
        continue
      w, m, v = before[var]
      g = grad.values
      m = m + (g - m) * (one - beta_1)
      v = v + (tf.square(g) - v) * (one - beta_2)
      w = w * keep - (m * lr) / (tf.sqrt(v) + epsilon)
      with tf.control_dependencies([early[var]]):
        updates += [tf.raw_ops.ResourceScatterUpdate(
            resource=t.handle, indices=grad.indices, updates=value)
                    for t, value in ((var, w),
                                     (optimizer.get_slot(var, "m"), m),
                                     (optimizer.get_slot(var, "v"), v))]
    return tf.group(*updates)

  return clip_and_apply


# The table_update alternatives: name -> _split_tables(decay_only).
TABLE_UPDATES = {
    "the decay after the table's reads": True,
    "every row's zero-gradient update early, the batch's rows after the "
    "clip": False}


def table_update(rounds):
  config = _config()

  def split(decay_only):
    return lambda: _replaced(optimization, "_clip_and_apply",
                             _split_tables(decay_only))

  candidates = {"ours": _step_graph(config, 16, False)}
  candidates.update({name: _step_graph(config, 16, False, split(decay_only))
                     for name, decay_only in TABLE_UPDATES.items()})
  ours = _after_steps(config, contextlib.nullcontext)
  return {"16": _alternate(candidates, rounds, 16),
          "read_variable_seconds": {name: _op_seconds(*run, "ReadVariableOp")
                                    for name, run in candidates.items()},
          "largest_difference_after_3_steps": {
              name: _largest_difference(ours, _after_steps(
                  config, split(decay_only)))
              for name, decay_only in TABLE_UPDATES.items()}}


def _after_steps(config, within, steps=3):
  """The word embeddings, their Adam slots and one dense kernel after
  `steps` training steps from one seed (so one set of dropout masks)."""
  graph = tf.Graph()
  names = ("bert/embeddings/word_embeddings",
           "bert/embeddings/word_embeddings/AdamWeightDecay_m",
           "bert/embeddings/word_embeddings/AdamWeightDecay_v",
           "bert/encoder/layer_0/output/dense/kernel")
  with graph.as_default(), within():
    tf.set_random_seed(7)
    tf.train.get_or_create_global_step()
    train_op, _ = profile_step.build(config, BATCH, None)
    by_name = {v.op.name: v for v in tf.global_variables()}
    init = tf.global_variables_initializer()
  with tf.Session(graph=graph) as sess:
    sess.run(init)
    rng = np.random.RandomState(1)
    for _ in range(steps):
      sess.run(train_op, profile_step.random_batch(config, BATCH, 16, rng))
    return sess.run([by_name[name] for name in names])


def _largest_difference(ours, theirs):
  """The largest difference of two _after_steps (0.0: bit-identical)."""
  return max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs))


def _op_seconds(sess, fetch, feed, op_type):
  """Seconds the ops of `op_type` take in one traced run of `fetch`."""
  metadata = tf.RunMetadata()
  sess.run(fetch, feed, run_metadata=metadata, options=tf.RunOptions(
      trace_level=tf.RunOptions.FULL_TRACE))
  labels = ((node, profile_step._LABEL.match(node.timeline_label or ""))  # pylint: disable=protected-access
            for device in metadata.step_stats.dev_stats
            for node in device.node_stats)
  return round(sum(node.op_end_rel_micros - node.op_start_rel_micros
                   for node, match in labels
                   if match and match.group(1) == op_type) / 1e6, 5)


_LAYER_NORM_XLA = "BertToolkitAttemptLayerNormGradXla"


def _layer_norm_gradient_by_xla(op, dy, *unused_dys):
  """Ours (modeling/layers.py), its ops compiled by XLA in one cluster."""
  with layers._fused(op.inputs[1]):  # pylint: disable=protected-access
    return layers._layer_norm_gradient(op, dy, *unused_dys)  # pylint: disable=protected-access


tf.RegisterGradient(_LAYER_NORM_XLA)(_layer_norm_gradient_by_xla)


def layer_norm_xla(rounds):
  config = _config()
  return {"128": _alternate({
      "ours": _step_graph(config, 128, True),
      "the layer norm's gradient compiled by XLA": _step_graph(
          config, 128, True,
          lambda: _replaced(layers, "_LAYER_NORM_GRADIENT", _LAYER_NORM_XLA))},
                            rounds, 5)}


def _adam_graph(halves):
  """ResourceApplyAdam over the word-embedding table's shape, as one op or
  as two of half the rows each (independent: TF runs them side by side)."""
  graph = tf.Graph()
  with graph.as_default():
    updates = []
    for part in range(halves):
      rows = VOCAB // halves

      def table(name, part=part, rows=rows):
        return tf.get_variable(
            "%s_%d" % (name, part), [rows, HIDDEN], use_resource=True,
            initializer=tf.random_normal_initializer(stddev=0.02))

      var, m, v, grad = table("w"), table("m"), table("v"), table("g")
      updates.append(tf.raw_ops.ResourceApplyAdam(
          var=var.handle, m=m.handle, v=v.handle, beta1_power=0.0,
          beta2_power=0.0, lr=5e-5, beta1=0.9, beta2=0.999, epsilon=1e-6,
          grad=grad.read_value()))
    fetch = tf.group(*updates)
  return graph, fetch


def _one_region(megabytes=1024):
  """Makes TF's CPU allocator hold one region of `megabytes`, never
  touched (no memory is used): an uninitialized tensor of that size,
  allocated and freed. Later tensors are cut from it, as in a training
  process, whose many earlier tensors grew the allocator's regions."""
  graph = tf.Graph()
  with graph.as_default():
    size = tf.placeholder(tf.int32, [])
    first = tf.raw_ops.Empty(shape=tf.stack([size]), dtype=tf.float32,
                             init=False)[:1]
  with tf.Session(graph=graph) as sess:
    sess.run(first, {size: megabytes * 1024 * 1024 // 4})


def adam_memory(rounds):
  _one_region()
  times = _alternate({
      "one op, 1 thread": _started(*_adam_graph(1), None, 1, 1),
      "one op, 2 threads": _started(*_adam_graph(1), None, 2, 2),
      "two ops of half the rows, 2 threads": _started(*_adam_graph(2), None,
                                                      2, 2)}, rounds, 20)
  moved = 7 * 4 * VOCAB * HIDDEN
  return {"seconds": times, "bytes_moved": moved}


def slope(rounds):
  config = _config()
  out = {}
  for length in (16, 128):
    candidates = {
        "varying length, slope kept (default)": _slope_graph(
            config, length, True, False),
        "varying length, slope recomputed": _slope_graph(
            config, length, False, False)}
    if length == 128:
      candidates["fixed shape, slope recomputed by XLA (default)"] = (
          _slope_graph(config, length, True, True))
    out[str(length)] = _alternate(candidates, rounds,
                                  16 if length < 64 else 5)
  return out


PARTS = ("threads", "qkv", "layer_norm", "optimizer", "clipping",
         "bias_grad", "adam_memory", "table_update", "layer_norm_xla",
         "slope")


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--only", default=",".join(PARTS))
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--clip_steps", type=int, default=315)
  parser.add_argument("--output", default=os.path.join(
      BENCH_DIR, "results", "training_attempts.json"))
  args = parser.parse_args()
  results = {"model": "all-MiniLM-L6-v2 shapes", "batch_size": BATCH,
             "rounds": args.rounds, "tf": tf.__version__,
             "machine": machine.describe()}
  if os.path.isfile(args.output):   # parts not re-run keep their figures
    with open(args.output) as f:
      kept = json.load(f)
    results.update({k: v for k, v in kept.items() if k in PARTS})
  for part in args.only.split(","):
    started = time.time()
    if part == "clipping":
      results[part] = clipping(args.clip_steps)
    else:
      results[part] = globals()[part](args.rounds)
    print("%s (%.0f s): %s" % (part, time.time() - started,
                               json.dumps(results[part])), flush=True)
  atomic.atomic_json(args.output, results)


if __name__ == "__main__":
  main()

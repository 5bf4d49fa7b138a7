"""Profile: where one training step of the classifier spends its time.

Builds the training graph run_classifier.py builds (encoder, classifier
head, AdamWeightDecay with warm-up and decay; model_fn_builder + Trainer),
feeds it random token ids of one length (no input pipeline), runs warm-up
steps, then traces --traced steps with TF's step_stats (RunOptions
FULL_TRACE) and sums the op times by kind. At --max_seq_length the graph is
the one --dynamic_padding=false trains: its inputs are constants of that
shape. Shorter lengths are profiled on the graph the default run trains:
inputs of any length (placeholders, fed new ids every step), whose
activations keep their GELU slope and which XLA leaves alone. The kinds:

  matmul            MatMul / BatchMatMul, fused or not (dense layers and
                    attention scores)
  attention         softmax, the mask and the scaling inside attention/self
  layer_norm        ops under LayerNorm scopes
  gelu              the activation inside intermediate/ (not its matmul)
  dropout           ops under dropout scopes (random masks, the scaling)
  bias_add          BiasAdd and its gradient
  reshape_transpose Reshape, Transpose, concat, slices
  embeddings        lookups and their gradients under embeddings/
  optimizer         the AdamWeightDecay update and the gradient clipping
  optimizer_word_embeddings
                    the part of the update on the word embeddings: dense
                    over the whole vocabulary, as Google's optimizer does
  cast              Cast ops (with --bf16, those around each matmul)
  other             the rest (loss, ...)

The ops XLA runs for a compiled cluster (the GELU's written-out gradient,
where the shape is fixed) count as the kind of the ops the graph marks for
it. Each kind is split into forward and backward (gradients/...). Op times
overlap on 2 cores (TF runs independent ops in parallel), so the shares are
of summed op time; the wall step time is measured separately, untraced, and
with it MFU = analytic FLOPs per step / step time / the matmul peak measured
in the same process (one large fp32 MatMul in a TF session). Each length
also records the ops a step executes and the summed op time over the wall
step time: the cores the ops keep busy (at most 2 here).

Each length also times two parts of the step run alone, in the same
process: the step's own matmuls (every MatMul / BatchMatMul of its graph,
each on inputs of its shape, none waiting for another) and its update
(clipping and AdamWeightDecay on every trained variable, from gradients
held in variables). Their sum against the step time is what everything
else costs (GELU, layer norm, dropout, softmax, bias gradients, the
ops' dispatch). And the dispatch alone, near enough: the same step graph
at batch 1, one head, hidden size 2 (the same ops, next to no arithmetic).

  flock /tmp/bench.lock .venv/bin/python bench/profile_step.py \
      [--lengths 128,16] [--max_seq_length 128] [--batch_size 32] [--tiny]
      [--bf16]

Writes bench/results/profile.json and prints a Markdown table. --bf16
profiles the graph of --use_amp on AMX (modeling.bf16_matmuls; its MFU is
still over the float32 peak).

--new_lengths 8,12,... measures instead what a batch length the session
has not run yet costs: one graph on placeholders of any length (as a
training run's), each length's first step timed, then each length again;
writes bench/results/new_lengths.json.
"""

import argparse
import collections
import os
import re
import sys
import time

import numpy as np

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)
sys.path.insert(0, BENCH_DIR)

import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

from bert_toolkit.tasks import classifier  # pylint: disable=g-import-not-at-top
from bert_toolkit import settings as settings_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.engine import task as task_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.engine import training  # pylint: disable=g-import-not-at-top
import modeling  # pylint: disable=g-import-not-at-top
from bert_toolkit.engine import optimization  # pylint: disable=g-import-not-at-top
from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top
import machine  # pylint: disable=g-import-not-at-top

KINDS = ("matmul", "attention", "layer_norm", "gelu", "dropout", "bias_add",
         "reshape_transpose", "embeddings", "optimizer",
         "optimizer_word_embeddings", "cast", "other")
OPTIMIZER_SCOPES = ("AdamWeightDecay", "LAMB", "Lamb", "global_norm",
                    "clip_by_global_norm", "gradient_accumulation")
SHAPE_OPS = {"Reshape", "Transpose", "ConcatV2", "Slice", "StridedSlice",
             "StridedSliceGrad", "Pack", "Unpack", "Split", "SplitV",
             "_MklTranspose", "ExpandDims", "Squeeze", "Tile", "Identity"}
# "[allocator memory] name = Op[attrs](args)" in a node's timeline label
# (the memory part only when the op allocated).
_LABEL = re.compile(r"^(?:\[[^\]]*\] )?\S+ = (\w+)")


MATMUL_OPS = ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")


# The ops TensorFlow runs for a cluster XLA compiled, named after the
# cluster, not after the ops in it.
XLA_OPS = ("_XlaCompile", "_XlaRun", "_XlaMerge")


def compiled_kind(graph):
  """(kind, direction) of every op the graph marks for XLA
  (modeling/layers.py `_fused`: the GELU's written-out gradient), or
  ("other", "forward") when the marked ops are of several kinds."""
  kinds = set()
  for op in graph.get_operations():
    try:
      marked = op.get_attr("_XlaCompile")
    except ValueError:
      marked = False
    if marked:
      kinds.add((kind_of(op.name, op.type),
                 "backward" if op.name.startswith("gradients/")
                 else "forward"))
  return kinds.pop() if len(kinds) == 1 else ("other", "forward")


def kind_of(name, op):
  """The kind of one executed op (see the module docstring)."""
  if (name.startswith(OPTIMIZER_SCOPES) or "/update_" in name or
      name.endswith(("/AdamWeightDecay_m", "/AdamWeightDecay_v"))):
    if "word_embeddings" in name:
      return "optimizer_word_embeddings"
    return "optimizer"
  if op == "Cast":
    return "cast"
  if "MatMul" in op:  # also MKL's fused MatMul + BiasAdd
    return "matmul"
  if "dropout" in name:
    return "dropout"
  if "LayerNorm" in name:
    return "layer_norm"
  if op in ("BiasAdd", "BiasAddGrad"):
    return "bias_add"
  if op in SHAPE_OPS:
    return "reshape_transpose"
  if "attention/self" in name:
    return "attention"
  if "intermediate" in name:
    return "gelu"
  if "embeddings" in name:
    return "embeddings"
  return "other"


def matmul_peak(seconds=3.0, dtype="float32"):
  """GFLOP/s of one [4096, 384] x [384, 1536] MatMul of `dtype` (float32,
  or bfloat16 for the matmuls of --use_amp on AMX), repeated."""
  with tf.Graph().as_default():
    a = tf.Variable(tf.cast(tf.random.normal([4096, 384]), dtype))
    b = tf.Variable(tf.cast(tf.random.normal([384, 1536]), dtype))
    product = tf.reduce_sum(tf.matmul(a, b))
    flops = 2.0 * 4096 * 384 * 1536
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for _ in range(3):
        sess.run(product)
      runs, started = 0, time.perf_counter()
      while time.perf_counter() - started < seconds:
        sess.run(product)
        runs += 1
      return flops * runs / (time.perf_counter() - started) / 1e9


def train_flops_per_example(config, length, first_token_only=False):
  """Analytic matmul FLOPs of one training example (forward x 3), the
  encoder's dense layers and attention scores (embeddings and head
  left out). first_token_only: the last layer as a classifier computes it,
  keys and values at every token, the rest at [CLS] alone."""
  h, i, n = config.hidden_size, config.intermediate_size, config.num_hidden_layers

  def layer(queries):  # `queries` rows attend over `length` keys
    keys_values = 2 * length * 2 * h * h
    rest = 2 * queries * (2 * h * h + 2 * h * i)
    attention = 2 * 2 * queries * length * h
    return keys_values + rest + attention

  last = layer(1 if first_token_only else length)
  return 3.0 * ((n - 1) * layer(length) + last)


def build(config, batch_size, length, seed=1, bf16=False):
  """(train_op, loss) of the classifier's training graph on constants, or
  on placeholders of any length when `length` is None; `bf16`: its
  matmuls in bfloat16."""
  if bf16:
    modeling.bf16_matmuls()
  rng = np.random.RandomState(seed)
  if length is None:
    features = {name: tf.placeholder(tf.int32, [batch_size, None], name)
                for name in ("input_ids", "input_mask", "segment_ids")}
    features["label_ids"] = tf.zeros([batch_size], tf.int32)
  else:
    features = {
        "input_ids": tf.constant(rng.randint(
            1000, config.vocab_size, (batch_size, length)).astype(np.int32)),
        "input_mask": tf.ones([batch_size, length], tf.int32),
        "segment_ids": tf.zeros([batch_size, length], tf.int32),
        "label_ids": tf.constant(rng.randint(0, 2, batch_size).astype(
            np.int32)),
    }
  task = classifier.Classifier("sst2")
  task.label_list = ["0", "1"]
  train = settings_lib.TrainSettings(train_batch_size=batch_size,
                                     log_every_seconds=1e9)
  trainer = training.Trainer("bert", config, None, train,
                             num_train_steps=10000)
  model_fn = task_lib.model_fn_builder(task, "bert", config, None, trainer)
  spec = model_fn(features, None, tf.estimator.ModeKeys.TRAIN, {})
  return spec.train_op, spec.loss


def _threads(threads):
  """A session config with `threads` intra- and inter-op (0: TF's own)."""
  return tf.ConfigProto(intra_op_parallelism_threads=threads,
                        inter_op_parallelism_threads=threads)


def random_batch(config, batch_size, length, rng):
  """A feed for the any-length graph: random ids, no padding."""
  return {"input_ids:0": rng.randint(1000, config.vocab_size,
                                     (batch_size, length)),
          "input_mask:0": np.ones((batch_size, length)),
          "segment_ids:0": np.zeros((batch_size, length))}


def profile(config, batch_size, length, warmup, timed, traced, threads,
            bf16=False, fixed=True):
  """(step seconds, {(kind, direction): op microseconds a step}, ops a
  step): on constants of `length` when `fixed`, else on the any-length
  graph fed `length`."""
  with tf.Graph().as_default():
    tf.train.get_or_create_global_step()
    train_op, loss = build(config, batch_size, length if fixed else None,
                           bf16=bf16)
    compiled = compiled_kind(tf.get_default_graph())
    rng = np.random.RandomState(2)

    def feed():
      return None if fixed else random_batch(config, batch_size, length, rng)

    with tf.Session(config=_threads(threads)) as sess:
      sess.run(tf.global_variables_initializer())
      for _ in range(warmup):
        sess.run(train_op, feed())
      started = time.perf_counter()
      for _ in range(timed):
        sess.run(train_op, feed())
      step_seconds = (time.perf_counter() - started) / timed
      totals = collections.defaultdict(float)  # (kind, direction) -> us
      executed = 0
      options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
      for _ in range(traced):
        metadata = tf.RunMetadata()
        sess.run([train_op, loss], feed(), options=options,
                 run_metadata=metadata)
        for device in metadata.step_stats.dev_stats:
          for node in device.node_stats:
            match = _LABEL.match(node.timeline_label or "")
            if not match:
              continue
            executed += 1
            name = node.node_name
            direction = ("backward" if name.startswith("gradients/")
                         else "forward")
            kind = kind_of(name, match.group(1))
            if match.group(1) in XLA_OPS:
              kind, direction = compiled
            if kind.startswith("optimizer"):
              direction = "update"
            totals[(kind, direction)] += (
                node.op_end_rel_micros - node.op_start_rel_micros) / traced
  return step_seconds, totals, executed / traced


def mean_seconds(sess, fetch, feed=None, runs=20, warmup=3):
  """Seconds a run of `fetch`, the mean of `runs` after `warmup`."""
  for _ in range(warmup):
    sess.run(fetch, feed)
  started = time.perf_counter()
  for _ in range(runs):
    sess.run(fetch, feed)
  return (time.perf_counter() - started) / runs


def _median_seconds(sess, fetch, runs=10, rounds=5):
  """The median over `rounds` of mean_seconds (warmed up once)."""
  return float(np.median([mean_seconds(sess, fetch, None, runs,
                                       3 if i == 0 else 0)
                          for i in range(rounds)]))


def step_parts(config, batch_size, length):
  """What one training step at `length` is made of, read from the graph
  built on inputs of that shape (the any-length graph runs the same):
  (every matmul as (a's shape, b's shape, transpose_a, transpose_b),
  [(name, shape)] of every trained variable)."""
  with tf.Graph().as_default() as graph:
    tf.train.get_or_create_global_step()
    build(config, batch_size, length)

    def flipped(op, *names):
      return any(name in op.node_def.attr and op.get_attr(name)
                 for name in names)

    matmuls = [(op.inputs[0].shape.as_list(), op.inputs[1].shape.as_list(),
                flipped(op, "transpose_a", "adj_x"),
                flipped(op, "transpose_b", "adj_y"))
               for op in graph.get_operations() if op.type in MATMUL_OPS]
    shapes = [(v.op.name, v.shape.as_list())
              for v in tf.trainable_variables()]
  return matmuls, shapes


def matmul_gflop(a, b, transpose_a, transpose_b):
  """GFLOP of one matmul of shapes a x b (leading dimensions: a batch)."""
  rows, inner = (a[-1], a[-2]) if transpose_a else (a[-2], a[-1])
  columns = b[-2] if transpose_b else b[-1]
  return 2.0 * float(np.prod(a[:-2])) * rows * inner * columns / 1e9


def matmuls_alone(matmuls, threads):
  """(seconds, GFLOP) of `matmuls` (step_parts') with nothing else: each
  on inputs of its own shape held in variables, none waiting for another.
  One element of each product is summed (a product nobody reads would be
  pruned)."""
  with tf.Graph().as_default():
    corners = []
    for a, b, transpose_a, transpose_b in matmuls:
      x, y = (tf.Variable(tf.random.normal(shape)) for shape in (a, b))
      product = tf.matmul(x, y, transpose_a=transpose_a,
                          transpose_b=transpose_b)
      corners.append(tf.reshape(product, [-1])[0])
    total = tf.add_n(corners)
    with tf.Session(config=_threads(threads)) as sess:
      sess.run(tf.global_variables_initializer())
      seconds = _median_seconds(sess, total)
  return seconds, sum(matmul_gflop(*m) for m in matmuls)


def stored_gradients(shapes, table_rows, table="word_embeddings"):
  """(variables, gradients) for [(name, shape)]: random weights, and
  gradients held in variables (read each run); the gradient of the
  variable named ...`table` is sparse, `table_rows` random rows, as a
  lookup's."""
  variables, grads = [], []
  for name, shape in shapes:
    variables.append(tf.get_variable(
        name, shape, use_resource=True,
        initializer=tf.random_normal_initializer(stddev=0.02)))
    sparse = name.endswith(table)
    stored = tf.get_variable(
        name + "_grad", [table_rows] + shape[1:] if sparse else shape,
        use_resource=True, trainable=False,
        initializer=tf.random_normal_initializer(stddev=0.01))
    if sparse:
      rows = np.random.RandomState(0).randint(0, shape[0], table_rows)
      grads.append(tf.IndexedSlices(stored.read_value(),
                                    tf.constant(rows.astype(np.int32)),
                                    tf.constant(shape)))
    else:
      grads.append(stored.read_value())
  return variables, grads


def update_alone(shapes, table_rows, threads):
  """Seconds of the step's update alone: clipping at global norm 1 and
  AdamWeightDecay (optimization._clip_and_apply, as the training graph
  runs them) on the trained variables [(name, shape)] (step_parts'), from
  stored gradients; the word embeddings' sparse, on `table_rows` rows."""
  with tf.Graph().as_default():
    step = tf.train.get_or_create_global_step()
    variables, grads = stored_gradients(shapes, table_rows)
    optimizer = optimization.AdamWeightDecayOptimizer(
        optimization.learning_rate_schedule(5e-5, step, 10000, 1000), 0.01)
    update = optimization._clip_and_apply(  # pylint: disable=protected-access
        optimizer, list(zip(grads, variables)), 1.0)
    with tf.Session(config=_threads(threads)) as sess:
      sess.run(tf.global_variables_initializer())
      return _median_seconds(sess, update)


def dispatch_alone(config, length, threads, fixed):
  """Seconds of the same training step shrunk to next to no arithmetic:
  batch 1, one attention head, hidden size 2 (the FFN 8): the same ops on
  the same graph, so mostly their dispatch."""
  narrow = dict(config.to_dict(), hidden_size=2, num_attention_heads=1,
                intermediate_size=8)
  if "embedding_size" in narrow:
    narrow["embedding_size"] = 2
  seconds, _, _ = profile(type(config).from_dict(narrow), 1, length,
                          warmup=5, timed=30, traced=1, threads=threads,
                          fixed=fixed)
  return seconds


def new_length_cost(config, batch_size, lengths, threads):
  """{length: (first step's seconds, a later step's)} in one session."""
  with tf.Graph().as_default():
    tf.train.get_or_create_global_step()
    train_op, _ = build(config, batch_size, None)
    rng = np.random.RandomState(1)

    def step(sess, length):
      feed = random_batch(config, batch_size, length, rng)
      started = time.perf_counter()
      sess.run(train_op, feed)
      return time.perf_counter() - started

    with tf.Session(config=_threads(threads)) as sess:
      sess.run(tf.global_variables_initializer())
      step(sess, 4)   # the session's own start-up, at a length shorter
      first = {n: step(sess, n) for n in lengths}  # than all of them
      later = {n: step(sess, n) for n in lengths}
  return {n: (first[n], later[n]) for n in lengths}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--lengths", default="128,16")
  parser.add_argument("--max_seq_length", type=int, default=128,
                      help="the length profiled as the fixed-length graph")
  parser.add_argument("--batch_size", type=int, default=32)
  parser.add_argument("--warmup", type=int, default=3)
  parser.add_argument("--timed", type=int, default=10)
  parser.add_argument("--traced", type=int, default=3)
  parser.add_argument("--threads", type=int, default=0)
  parser.add_argument("--new_lengths", default="",
                      help="lengths to time a first step of, then again")
  parser.add_argument("--bf16", action="store_true",
                      help="the matmuls in bfloat16 (--use_amp on AMX)")
  parser.add_argument("--tiny", action="store_true",
                      help="the tiny test BERT (a smoke test)")
  parser.add_argument("--output", default=os.path.join(
      BENCH_DIR, "results", "profile.json"))
  args = parser.parse_args()
  if args.tiny:
    config_file = os.path.join(os.path.dirname(REPO_DIR), "shared",
                               "reference", "bert_zh_tiny",
                               "bert_config.json")
    model = "tiny BERT (tests)"
  else:
    from minilm_model import converted_model  # pylint: disable=g-import-not-at-top
    config_file = os.path.join(converted_model()[1], "bert_config.json")
    model = "all-MiniLM-L6-v2"
  config = modeling.BertConfig.from_json_file(config_file)
  if args.new_lengths:
    lengths = [int(x) for x in args.new_lengths.split(",")]
    cost = new_length_cost(config, args.batch_size, lengths, args.threads)
    firsts = [cost[n][0] for n in lengths]
    laters = [cost[n][1] for n in lengths]
    results = {"model": model, "batch_size": args.batch_size,
               "tf": tf.__version__, "machine": machine.describe(),
               "lengths": {str(n): {"first_seconds": round(cost[n][0], 4),
                                    "later_seconds": round(cost[n][1], 4)}
                           for n in lengths},
               "mean_first_seconds": round(float(np.mean(firsts)), 4),
               "mean_later_seconds": round(float(np.mean(laters)), 4)}
    atomic.atomic_json(os.path.join(BENCH_DIR, "results",
                                    "new_lengths.json"), results)
    print("a new length's first step %.3f s, the same length later %.3f s "
          "(means over %s)" % (np.mean(firsts), np.mean(laters),
                               args.new_lengths))
    return
  peak = matmul_peak()
  print("matmul peak: %.0f GFLOP/s" % peak, flush=True)
  results = {"model": model, "batch_size": args.batch_size,
             "matmul_peak_gflops": round(peak, 1), "tf": tf.__version__,
             "machine": machine.describe(), "bf16_matmuls": args.bf16,
             "lengths": {}}
  for length in (int(x) for x in args.lengths.split(",")):
    fixed = length == args.max_seq_length
    seconds, totals, executed = profile(
        config, args.batch_size, length, args.warmup, args.timed,
        args.traced, args.threads, args.bf16, fixed)
    flops = train_flops_per_example(config, length) * args.batch_size
    total = sum(totals.values())
    row = {"step_seconds": round(seconds, 4),
           "examples_per_sec": round(args.batch_size / seconds, 1),
           "gflop_per_step": round(flops / 1e9, 1),
           "achieved_gflops": round(flops / seconds / 1e9, 1),
           "mfu": round(flops / seconds / 1e9 / peak, 3),
           "graph": "fixed length" if fixed else "any length",
           "op_microseconds": round(total),
           "ops_per_step": round(executed),
           "busy_cores": round(total / 1e6 / seconds, 2),
           "shares": {}}
    matmuls, shapes = step_parts(config, args.batch_size, length)
    alone, gflop = matmuls_alone(matmuls, args.threads)
    row["matmuls_alone"] = {"seconds": round(alone, 4),
                            "gflop": round(gflop, 2),
                            "gflops": round(gflop / alone, 1)}
    row["update_alone_seconds"] = round(update_alone(
        shapes, args.batch_size * length, args.threads), 4)
    row["dispatch_alone_seconds"] = round(dispatch_alone(
        config, length, args.threads, fixed), 4)
    for kind in KINDS:
      for direction in ("forward", "backward", "update"):
        value = totals.get((kind, direction))
        if value:
          row["shares"]["%s/%s" % (kind, direction)] = round(value / total,
                                                             4)
    results["lengths"][str(length)] = row
    print("length %d (%s graph): %.3f s a step, %.1f examples/sec, MFU "
          "%.2f, %d ops a step, %.2f cores busy with ops; alone, its "
          "matmuls take %.3f s (%.0f GFLOP/s), its update %.3f s, its ops "
          "with next to no arithmetic %.3f s" % (
              length, row["graph"], seconds, row["examples_per_sec"],
              row["mfu"], executed, row["busy_cores"], alone, gflop / alone,
              row["update_alone_seconds"], row["dispatch_alone_seconds"]),
          flush=True)
  atomic.atomic_json(args.output, results)
  lengths = list(results["lengths"])
  print("\n| kind | " + " | ".join("length %s: fwd / bwd" % n
                                     for n in lengths) + " |")
  print("|---|" + "---|" * len(lengths))
  for kind in KINDS:
    cells = []
    for n in lengths:
      shares = results["lengths"][n]["shares"]
      if kind.startswith("optimizer"):
        cells.append("%.1f%%" % (100 * shares.get(kind + "/update", 0)))
      else:
        cells.append("%.1f%% / %.1f%%" % (
            100 * shares.get(kind + "/forward", 0),
            100 * shares.get(kind + "/backward", 0)))
    print("| %s | %s |" % (kind, " | ".join(cells)))


if __name__ == "__main__":
  main()

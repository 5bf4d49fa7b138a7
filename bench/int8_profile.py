"""Where an int8 ONNX export's time goes, against this CPU's int8 peak.

For an ONNX Runtime export (export_onnx.py --quantize=dynamic) of a
classifier:

  peak      ONNX Runtime's MatMulInteger (uint8 x int8 -> int32, the kernel
            under DynamicQuantizeMatMul and QAttention) on the encoder's own
            shapes at a batch's token count, 2 threads, in G multiply-adds
            (MAC) a second.
  model     the export on the first --sentences SST-2 dev sentences, sorted
            by length, in batches of 32 padded to their longest (token ids
            from the export's own tokenizer; ONNX Runtime alone, no Python
            around it): sentences/s, the
            encoder's linear-layer MACs a pass (the QKV, attention output
            and feed-forward products at the rows each kernel ran, read
            from ONNX Runtime's profile of a pass), the MAC rate
            that gives, and the ceiling: the sentences/s if everything but
            those matmuls took no time, at the measured peak. Each of
            --rounds rounds runs a pass of each model, then the peak;
            figures are the rounds' medians, and the share of the peak is
            each round's own.
  operators ONNX Runtime's profiler over one more pass: each operator
            type's share of the summed kernel time.

--peer_model adds an ONNX model with the inputs input_ids / attention_mask /
token_type_ids (int64), such as Hugging Face's export quantized with
quantize_dynamic (bench/peer_hf_serving.py writes one): its sentences/s and
operator shares on the same batches, interleaved round by round with ours.

  flock /tmp/bench.lock .venv/bin/python bench/int8_profile.py \
      [--export_dir DIR] [--peer_model FILE]

Without --export_dir, a 2-step fine-tuning of all-MiniLM-L6-v2 on SST-2 is
exported to bench/runs/int8_profile/ (speed does not depend on the
weights). Writes bench/results/int8_profile.json.
"""

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)
sys.path.insert(0, BENCH_DIR)

import latency_protocol  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_toolkit.serving import predictor as predictor_lib  # pylint: disable=g-import-not-at-top,wrong-import-position

RESULTS = os.path.join(BENCH_DIR, "results", "int8_profile.json")
RUNS = os.path.join(BENCH_DIR, "runs", "int8_profile")
DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data")
SST2_DEV = os.path.join(DATA_DIR, "sst2", "dev.tsv")
BATCH = 32


def default_export():
  """A 2-step MiniLM SST-2 run exported as dynamic int8, made once."""
  export = os.path.join(RUNS, "export")
  if os.path.isdir(export):
    return export
  from minilm_model import converted_model  # pylint: disable=g-import-not-at-top
  _, tf_dir = converted_model()
  run = os.path.join(RUNS, "run")
  for command in (
      ["run_classifier.py", "--task=sst2",
       "--data_dir=" + os.path.dirname(SST2_DEV), "--init_checkpoint=" +
       tf_dir, "--output_dir=" + run, "--do_train", "--max_seq_length=64",
       "--train_batch_size=32", "--num_train_steps=2",
       "--max_train_samples=256"],
      ["export_onnx.py", "--model_dir=" + run, "--export_dir=" + export,
       "--quantize=dynamic"]):
    subprocess.run([sys.executable, os.path.join(REPO_DIR, command[0])] +
                   command[1:], check=True, cwd=REPO_DIR)
  return export


def batches(predictor, sentences):
  """Length-sorted padded batches of SST-2 dev rows, as the predictor
  makes them."""
  texts, _ = latency_protocol.read_sst2(SST2_DEV)
  rows = sorted((predictor.encode(text) for text in texts[:sentences]),
                key=lambda row: len(row["input_ids"]))
  return [predictor_lib.pad_batch(rows[i:i + BATCH])
          for i in range(0, len(rows), BATCH)]


# The int8 product kernels ONNX Runtime runs after its own fusions.
INT8_PRODUCTS = ("QAttention", "DynamicQuantizeMatMul", "MatMulInteger",
                 "MatMulIntegerToFloat")


def token_weights(model_path):
  """[K, N] of every weight an encoder token goes through (QAttention's
  QKV, the encoder's MatMulIntegers), from the ONNX file."""
  import onnx  # pylint: disable=g-import-not-at-top
  model = onnx.load(model_path)
  shapes = {i.name: tuple(i.dims) for i in model.graph.initializer}
  weights = []
  for node in model.graph.node:
    if node.op_type == "QAttention" or (
        node.op_type == "MatMulInteger" and "/encoder/" in node.name):
      weights.append(shapes[node.input[1]])
  return weights


def session(path, profile_prefix=None):
  import onnxruntime as ort  # pylint: disable=g-import-not-at-top
  options = ort.SessionOptions()
  options.intra_op_num_threads = 2
  if profile_prefix:
    options.enable_profiling = True
    options.profile_file_prefix = profile_prefix
  return ort.InferenceSession(path, options,
                              providers=["CPUExecutionProvider"])


def peak_sessions(tokens, shapes):
  """(K, N) -> (session, feed) of MatMulInteger [tokens, K] x [K, N]."""
  from onnx import TensorProto, helper, numpy_helper  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(0)
  out = {}
  for k, n in shapes:
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], "peak",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [tokens, k])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [tokens, n])],
        [numpy_helper.from_array(
            rng.randint(-127, 128, (k, n)).astype(np.int8), "B")])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    with tempfile.NamedTemporaryFile(suffix=".onnx") as f:
      f.write(model.SerializeToString())
      f.flush()
      run = session(f.name)
    feed = {"A": rng.randint(0, 256, (tokens, k)).astype(np.uint8)}
    for _ in range(20):
      run.run(None, feed)
    out[(k, n)] = (run, feed)
  return out


def peak_rate(run, feed, macs, repeats=100):
  """G MAC/s of one MatMulInteger session."""
  start = time.perf_counter()
  for _ in range(repeats):
    run.run(None, feed)
  return macs * repeats / (time.perf_counter() - start) / 1e9


def _int8_macs(event, weights):
  """Multiply-adds of one profiled int8 product whose weight is one of the
  encoder's `weights` shapes (K, N): the rows it took (its first input's
  leading dimensions) x K x N; 0 for any other kernel. The profile lists
  no initializer, so K is the first input's last dimension and N the
  output's (QAttention: 3 K, its query, key and value)."""
  args = event["args"]
  inputs = [list(shape.values())[0]
            for shape in args.get("input_type_shape", [])]
  outputs = [list(shape.values())[0]
             for shape in args.get("output_type_shape", [])]
  if not inputs or not outputs or not inputs[0]:
    return 0
  k = inputs[0][-1]
  n = 3 * k if args["op_name"] == "QAttention" else outputs[0][-1]
  if (k, n) not in weights:
    return 0
  return int(np.prod(inputs[0][:-1])) * k * n


def operator_shares(path, feeds, prefix, weights):
  """(operator type -> share of summed kernel time over one pass, the
  multiply-adds of that pass's int8 products on the encoder's `weights`
  shapes, as the kernels ran them: a classifier's last layer takes one
  row a sentence where the others take every token)."""
  run = session(path, prefix)
  for feed in feeds:
    run.run(None, feed)
  with open(run.end_profiling()) as f:
    events = json.load(f)
  totals = collections.Counter()
  macs = 0
  for event in events:
    if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
      totals[event["args"]["op_name"]] += event["dur"]
      if event["args"]["op_name"] in INT8_PRODUCTS:
        macs += _int8_macs(event, weights)
  whole = float(sum(totals.values()))
  return {op: round(100.0 * t / whole, 1)
          for op, t in totals.most_common(8)}, macs


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--export_dir")
  parser.add_argument("--peer_model")
  parser.add_argument("--sentences", type=int, default=864)
  parser.add_argument("--rounds", type=int, default=5)
  args = parser.parse_args()
  # The predictor tokenizes, and its ONNX Runtime session is the one timed.
  predictor = predictor_lib.Predictor(args.export_dir or default_export(),
                                      batch_size=BATCH, num_threads=2)
  export_dir = predictor.export_dir
  model_path = os.path.join(export_dir, "model.onnx")
  padded = batches(predictor, args.sentences)
  sentences = sum(len(b["input_ids"]) for b in padded)
  tokens = sum(b["input_ids"].size for b in padded)
  tokens_per_batch = tokens / float(len(padded))
  weights = token_weights(model_path)
  paths = {"ours": model_path}
  feeds = {"ours": [{"input_ids": b["input_ids"],
                     "input_mask": b["input_mask"],
                     "segment_ids": b["segment_ids"]} for b in padded]}
  if args.peer_model:
    paths["peer"] = args.peer_model
    feeds["peer"] = [{"input_ids": b["input_ids"].astype(np.int64),
                      "attention_mask": b["input_mask"].astype(np.int64),
                      "token_type_ids": b["segment_ids"].astype(np.int64)}
                     for b in padded]
  runs = {name: predictor.onnx.session if name == "ours" else session(path)
          for name, path in paths.items()}
  for name, run in runs.items():
    for feed in feeds[name]:
      run.run(None, feed)
  # This machine's speed drifts by up to 2x from one minute to the next:
  # each round runs a pass of each model (in turn, the order alternating)
  # and measures the int8 peak right after, so a round's figures share one
  # stretch of time. (Alternating batch by batch instead measured both
  # models slower: an idle session's threads spin for a while after it.)
  peaks = peak_sessions(int(tokens_per_batch), sorted(set(weights)))
  rates = collections.defaultdict(list)
  for round_index in range(args.rounds):
    for name in sorted(runs, reverse=round_index % 2 == 1):
      start = time.perf_counter()
      for feed in feeds[name]:
        runs[name].run(None, feed)
      rates[name].append(sentences / (time.perf_counter() - start))
    for (k, n), (run, feed) in peaks.items():
      macs_one = int(tokens_per_batch) * k * n
      peak_rate(run, feed, macs_one, 20)     # warm-up
      rates["%dx%d" % (k, n)].append(peak_rate(run, feed, macs_one))
  peak = {"%dx%d" % shape: round(statistics.median(rates["%dx%d" % shape]),
                                 1) for shape in peaks}
  # The share of the peak each round's own linear MAC rate reaches.
  peak_rounds = [statistics.mean(rates[key][r] for key in peak)
                 for r in range(args.rounds)]
  # One profiled pass of each model: operator shares, and our int8
  # products' multiply-adds at the rows each kernel ran.
  profiles = {name: operator_shares(
      path, feeds[name], os.path.join(tempfile.gettempdir(),
                                      "int8_profile_" + name), set(weights))
              for name, path in paths.items()}
  macs = profiles["ours"][1]
  of_peak = [macs / 1e9 * rate / sentences / p
             for rate, p in zip(rates["ours"], peak_rounds)]
  peak_median = statistics.median(peak_rounds)
  ours = statistics.median(rates["ours"])
  result = {
      "date": time.strftime("%Y-%m-%d"),
      "export": os.path.relpath(export_dir, REPO_DIR),
      "sentences": sentences, "batch_size": BATCH,
      "padded_tokens": tokens,
      "tokens_per_batch": round(tokens_per_batch, 1),
      "int8_peak_gmac_per_s": peak,
      "linear_gmac_per_pass": round(macs / 1e9, 2),
      "int8_peak_gmac_per_s_rounds": [round(p, 1) for p in peak_rounds],
      "sentences_per_s": {k: round(statistics.median(rates[k]), 1)
                          for k in runs},
      "sentences_per_s_rounds": {k: [round(x, 1) for x in rates[k]]
                                 for k in runs},
      "linear_gmac_per_s": round(macs / 1e9 * ours / sentences, 1),
      "linear_share_of_peak_rounds": [round(x, 3) for x in of_peak],
      "linear_share_of_peak": round(statistics.median(of_peak), 3),
      "ceiling_sentences_per_s": round(
          sentences / (macs / 1e9 / peak_median), 1),
      "operator_shares": {name: shares
                          for name, (shares, _) in profiles.items()},
  }
  atomic.atomic_json(RESULTS, result)
  print(json.dumps(result, indent=1))


if __name__ == "__main__":
  main()

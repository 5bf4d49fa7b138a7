"""Benchmark: online prediction with the Predictor and the HTTP server vs
`estimator.predict`, on the real all-MiniLM-L6-v2 fine-tuned on SST-2.

Model: the quickstart's run (output/quickstart/sst2_run; made here with the
quickstart's own command when missing), exported afresh to
bench/runs/serving_export. Inputs: sentences of samples/sst2/dev.tsv.

  1. Predictor (SavedModel loaded once): single-sentence latency, median and
     p99 over --single calls; batch-32 throughput over --batches batches.
  2. estimator.predict on the same checkpoint and the same token ids: each
     call rebuilds the graph and restores the checkpoint (what users of
     google-research/bert's run_classifier do for online prediction).
  3. serve.py in a subprocess on 127.0.0.1, --clients threads each sending
     --requests single-sentence raw-text requests: requests/sec, median and
     p99 latency, errors (must be 0).

  flock /tmp/bench.lock .venv/bin/python bench/bench_serving.py

Writes bench/results/serving.json and prints a Markdown table.
"""

import argparse
import http.client
import json
import os
import platform
import subprocess
import sys
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

import latency_protocol  # pylint: disable=g-import-not-at-top
from bert_toolkit import settings as settings_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.engine import task as task_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.runs import run_info as run_info_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.engine import training  # pylint: disable=g-import-not-at-top
from bert_toolkit.serving import export as export_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.serving import predictor as predictor_lib  # pylint: disable=g-import-not-at-top

RUN_DIR = os.path.join(REPO_DIR, "output", "quickstart", "sst2_run")
EXPORT_DIR = os.path.join(BENCH_DIR, "runs", "serving_export")
RESULTS = os.path.join(BENCH_DIR, "results", "serving.json")
DEV = os.path.join(REPO_DIR, "samples", "sst2", "dev.tsv")


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def stats(seconds):
  ms = np.asarray(seconds) * 1000.0
  return {"n": int(ms.size), "median_ms": round(float(np.median(ms)), 2),
          "p99_ms": round(float(np.percentile(ms, 99)), 2),
          "mean_ms": round(float(ms.mean()), 2),
          "max_ms": round(float(ms.max()), 2)}


def ensure_run(run_dir):
  """The quickstart's fine-tuned run; trains it (quickstart settings) if
  missing."""
  if os.path.isfile(os.path.join(run_dir, "run_info.json")) and (
      tf.train.latest_checkpoint(run_dir)):
    return
  log("no run in %s: fine-tuning with the quickstart's settings" % run_dir)
  tf_dir = os.path.join(REPO_DIR, ".cache", "minilm_tf1")
  if not os.path.isfile(os.path.join(tf_dir, "model.ckpt.index")):
    sys.exit("%s missing: run bash quickstart.sh first" % tf_dir)
  subprocess.run(
      [sys.executable, os.path.join(REPO_DIR, "run_classifier.py"),
       "--task=sst2", "--data_dir=" + os.path.join(REPO_DIR, "samples",
                                                    "sst2"),
       "--init_checkpoint=" + tf_dir, "--output_dir=" + run_dir,
       "--do_train", "--do_eval", "--max_seq_length=64",
       "--train_batch_size=32", "--num_train_epochs=3",
       "--learning_rate=1e-4", "--eval_every_steps=100",
       "--save_checkpoints_steps=100", "--seed=1",
       "--log_every_seconds=30"], check=True)


def sentences():
  return latency_protocol.read_sst2(DEV)[0]


def bench_predictor(predictor, texts, single, batches):
  for text in texts[:10]:
    predictor.predict([text])
  times = []
  for i in range(single):
    start = time.perf_counter()
    predictor.predict([texts[i % len(texts)]])
    times.append(time.perf_counter() - start)
  one = stats(times)
  predictor.predict(texts[:32])  # warm-up of the batch path
  batch_times = []
  for b in range(batches):
    chunk = [texts[(b * 32 + j) % len(texts)] for j in range(32)]
    start = time.perf_counter()
    predictor.predict(chunk)
    batch_times.append(time.perf_counter() - start)
  return one, {"batches": batches, "batch_size": 32,
               "sentences_per_sec": round(32 * batches / sum(batch_times), 1),
               "batch": stats(batch_times)}


def bench_estimator(run_dir, checkpoint, predictor, texts, single, batches):
  info = run_info_lib.read(run_dir)
  estimator = training.make_estimator(
      task_lib.model_fn_from_run_info(info),
      os.path.join(BENCH_DIR, "runs", "serving_estimator"),
      settings_lib.TrainSettings())

  def call(chunk):
    arrays = predictor_lib.pad_batch([predictor.encode(t) for t in chunk])

    def input_fn(params=None):
      del params
      return tf.data.Dataset.from_tensor_slices(arrays).batch(len(chunk))

    return list(estimator.predict(input_fn, checkpoint_path=checkpoint))

  call(texts[:1])  # warm-up (imports, first graph)
  times = []
  for i in range(single):
    start = time.perf_counter()
    call([texts[i % len(texts)]])
    times.append(time.perf_counter() - start)
  batch_times = []
  for b in range(batches):
    chunk = [texts[(b * 32 + j) % len(texts)] for j in range(32)]
    start = time.perf_counter()
    call(chunk)
    batch_times.append(time.perf_counter() - start)
  return stats(times), {
      "batches": batches, "batch_size": 32,
      "sentences_per_sec": round(32 * batches / sum(batch_times), 1),
      "batch": stats(batch_times)}


def start_server(export_dir, extra=()):
  proc = subprocess.Popen(
      [sys.executable, os.path.join(REPO_DIR, "serve.py"),
       "--export_dir=" + export_dir, "--model_name=sst2", "--port=0"] +
      list(extra),
      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
      universal_newlines=True, cwd=REPO_DIR)
  deadline = time.time() + 300
  while time.time() < deadline:
    line = proc.stdout.readline()
    if not line:
      break
    if line.startswith("serving "):
      port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
      return proc, port
  proc.kill()
  sys.exit("serve.py did not start")


def bench_server(export_dir, texts, clients, requests, extra=()):
  proc, port = start_server(export_dir, extra)
  try:
    latencies, errors = [], []
    lock = threading.Lock()

    def client(k, n=requests):
      conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
      mine = []
      for i in range(n):
        body = json.dumps({"instances": [
            {"text": texts[(k * requests + i) % len(texts)]}]})
        start = time.perf_counter()
        try:
          conn.request("POST", "/v1/models/sst2:predict", body=body,
                       headers={"Content-Type": "application/json"})
          response = conn.getresponse()
          answer = json.loads(response.read())
          if response.status != 200 or "predictions" not in answer:
            raise RuntimeError("%d %s" % (response.status, answer))
        except Exception as e:  # pylint: disable=broad-except
          with lock:
            errors.append(str(e))
          conn.close()
          conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
          continue
        mine.append(time.perf_counter() - start)
      conn.close()
      with lock:
        latencies.extend(mine)

    client(0, 10)  # warm-up
    latencies.clear()
    del errors[:]
    threads = [threading.Thread(target=client, args=(k,))
               for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
      t.start()
    for t in threads:
      t.join(600)
    wall = time.perf_counter() - start
    result = {"clients": clients, "requests_per_client": requests,
              "requests": clients * requests,
              "requests_per_sec": round(len(latencies) / wall, 1),
              "errors": len(errors), "error_samples": errors[:3],
              "latency": stats(latencies) if latencies else None}
    return result
  finally:
    proc.terminate()
    proc.wait(30)


def bench_batching(args, texts):
  """serve.py with request batching off and on: 8 concurrent clients, and
  one client alone (idle latency), interleaved off / on / off / on."""
  modes = (("off", ["--max_batch_size=0"]),
           ("on", ["--max_batch_size=%d" % args.max_batch_size,
                   "--batch_timeout_micros=%d" % args.batch_timeout_micros]))
  results = {}
  for round_index in range(args.rounds):
    for name, extra in modes:
      log("round %d, batching %s: %d clients x %d requests" % (
          round_index, name, args.clients, args.requests))
      loaded = bench_server(EXPORT_DIR, texts, args.clients, args.requests,
                            extra)
      log("round %d, batching %s: 1 client x %d requests" % (
          round_index, name, args.requests))
      idle = bench_server(EXPORT_DIR, texts, 1, args.requests, extra)
      results.setdefault(name, []).append({"loaded": loaded, "idle": idle})
  return results


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--run_dir", default=RUN_DIR)
  parser.add_argument("--single", type=int, default=300,
                      help="single-sentence predictor calls")
  parser.add_argument("--batches", type=int, default=20,
                      help="batch-32 predictor calls")
  parser.add_argument("--estimator_single", type=int, default=10)
  parser.add_argument("--estimator_batches", type=int, default=5)
  parser.add_argument("--clients", type=int, default=4)
  parser.add_argument("--requests", type=int, default=100,
                      help="requests per client")
  parser.add_argument("--out", default=RESULTS)
  parser.add_argument("--batching_only", action="store_true",
                      help="compare serve.py with request batching off and "
                      "on (bench/results/serving_batching.json)")
  parser.add_argument("--max_batch_size", type=int, default=32)
  parser.add_argument("--batch_timeout_micros", type=int, default=0)
  parser.add_argument("--rounds", type=int, default=2)
  args = parser.parse_args()
  tf.disable_eager_execution()
  tf.logging.set_verbosity(tf.logging.ERROR)

  load_at_start = os.getloadavg()
  ensure_run(args.run_dir)
  subprocess.run(["rm", "-rf", EXPORT_DIR], check=True)
  log("export %s" % args.run_dir)
  start = time.perf_counter()
  exported = export_lib.export(args.run_dir, EXPORT_DIR)
  export_seconds = time.perf_counter() - start
  texts = sentences()
  if args.batching_only:
    results = {"clients": args.clients, "requests_per_client": args.requests,
               "max_batch_size": args.max_batch_size,
               "batch_timeout_micros": args.batch_timeout_micros,
               "loadavg_at_start": [round(x, 2) for x in load_at_start],
               "command": "flock /tmp/bench.lock .venv/bin/python "
                          "bench/bench_serving.py --batching_only "
                          "--clients %d --requests %d" % (args.clients,
                                                          args.requests),
               "modes": bench_batching(args, texts)}
    path = os.path.join(os.path.dirname(args.out), "serving_batching.json")
    with open(path, "w") as f:
      json.dump(results, f, indent=2)
    print(batching_table(results))
    return

  start = time.perf_counter()
  predictor = predictor_lib.Predictor(exported["export_dir"])
  load_seconds = time.perf_counter() - start
  log("predictor: %d single calls, %d batches of 32" % (args.single,
                                                        args.batches))
  p_one, p_batch = bench_predictor(predictor, texts, args.single,
                                   args.batches)
  log("estimator.predict: %d single calls, %d batches of 32" %
      (args.estimator_single, args.estimator_batches))
  e_one, e_batch = bench_estimator(args.run_dir, exported["checkpoint"],
                                   predictor, texts, args.estimator_single,
                                   args.estimator_batches)
  predictor.close()
  log("server: %d clients x %d requests" % (args.clients, args.requests))
  server = bench_server(EXPORT_DIR, texts, args.clients, args.requests)

  results = {
      "model": "all-MiniLM-L6-v2 fine-tuned on samples/sst2 (%s)" %
               os.path.relpath(args.run_dir, REPO_DIR),
      "checkpoint": os.path.relpath(exported["checkpoint"], REPO_DIR),
      "max_seq_length": predictor.max_seq_length,
      "inputs": "samples/sst2/dev.tsv sentences",
      "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                  "tensorflow": tf.__version__,
                  # Other processes' load (1/5/15 min) when this started.
                  "loadavg_at_start": [round(x, 2) for x in load_at_start]},
      "command": "flock /tmp/bench.lock .venv/bin/python "
                 "bench/bench_serving.py",
      "export_seconds": round(export_seconds, 1),
      "predictor_load_seconds": round(load_seconds, 2),
      "predictor": {"single": p_one, "batch32": p_batch},
      "estimator_predict": {"single": e_one, "batch32": e_batch},
      "server": server,
  }
  os.makedirs(os.path.dirname(args.out), exist_ok=True)
  with open(args.out, "w") as f:
    json.dump(results, f, indent=2)
  print(table(results))
  print("wrote %s" % args.out)
  if server["errors"]:
    sys.exit("server errors: %s" % server["error_samples"])


def batching_table(r):
  lines = ["| serve.py, request batching | round | %d clients: requests/s | "
           "median | p99 | errors | 1 client: median | p99 |" % r["clients"],
           "|---|---|---|---|---|---|---|---|"]
  for name, rounds in r["modes"].items():
    for i, row in enumerate(rounds):
      loaded, idle = row["loaded"], row["idle"]
      lines.append("| %s | %d | %.1f | %.1f ms | %.1f ms | %d | %.1f ms | "
                   "%.1f ms |" % (
                       name, i + 1, loaded["requests_per_sec"],
                       loaded["latency"]["median_ms"],
                       loaded["latency"]["p99_ms"], loaded["errors"],
                       idle["latency"]["median_ms"],
                       idle["latency"]["p99_ms"]))
  return "\n".join(lines)


def table(r):
  p, e, s = r["predictor"], r["estimator_predict"], r["server"]
  rows = [
      "| | single sentence median | single p99 | batch of 32 |",
      "|---|---|---|---|",
      "| Predictor (SavedModel loaded once) | %.1f ms | %.1f ms | %.0f "
      "sentences/s |" % (p["single"]["median_ms"], p["single"]["p99_ms"],
                         p["batch32"]["sentences_per_sec"]),
      "| estimator.predict (per call) | %.0f ms | %.0f ms | %.1f "
      "sentences/s |" % (e["single"]["median_ms"], e["single"]["p99_ms"],
                         e["batch32"]["sentences_per_sec"]),
      "",
      "| serve.py, %d clients x %d requests (1 sentence each) | "
      "requests/s | median | p99 | errors |" % (s["clients"],
                                                s["requests_per_client"]),
      "|---|---|---|---|---|",
      "| loopback | %.1f | %.1f ms | %.1f ms | %d |" % (
          s["requests_per_sec"], s["latency"]["median_ms"],
          s["latency"]["p99_ms"], s["errors"]),
  ]
  return "\n".join(rows)


if __name__ == "__main__":
  main()

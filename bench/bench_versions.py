"""Benchmark: training speed of this checkout against an earlier commit.

Runs run_classifier.py from the working tree and from a `git worktree` of
--base, alternating (A B A B ...), the same steps on the same data and
model, so that a change to the code can be shown not to cost speed (or to
gain it). Rates leave out the first step, as run_results.json does.

  flock /tmp/bench.lock .venv/bin/python bench/bench_versions.py \
      --base 4db5191 [--rounds 2] [--steps 60] [--padding dynamic,fixed]

Model: the real all-MiniLM-L6-v2 (bench/minilm_model.py), SST-2 train at
max_seq_length 128, batch 32, lr 5e-5, seed 1. Writes
bench/results/versions_<base>.json and prints a Markdown table.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)

import machine  # pylint: disable=g-import-not-at-top
from minilm_model import converted_model  # pylint: disable=g-import-not-at-top
from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top

DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data")
RUNS = os.path.join(BENCH_DIR, "runs", "versions")
SST2_TRAIN = 67349
BATCH = 32


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def worktree(base):
  """A checkout of `base` beside the runs (made once)."""
  path = os.path.join(RUNS, "tree-%s" % base)
  if not os.path.isdir(path):
    subprocess.run(["git", "-C", REPO_DIR, "worktree", "add", "--detach",
                    path, base], check=True, stdout=subprocess.DEVNULL)
  return path


def train(repo, name, tf_dir, steps, dynamic):
  """One run_classifier.py training run; returns examples/sec."""
  out = os.path.join(RUNS, name)
  subprocess.run(["rm", "-rf", out], check=True)
  epochs = (steps + 0.5) * BATCH / SST2_TRAIN
  cmd = [sys.executable, os.path.join(repo, "run_classifier.py"),
         "--task", "sst2", "--data_dir", os.path.join(DATA_DIR, "sst2"),
         "--init_checkpoint", tf_dir, "--output_dir", out,
         "--cache_dir", os.path.join(RUNS, "features-%s" % os.path.basename(
             repo)),
         "--do_train", "--max_seq_length", "128",
         "--train_batch_size", str(BATCH), "--learning_rate", "5e-5",
         "--num_train_epochs", repr(epochs), "--seed", "1",
         "--save_checkpoints_steps", "100000", "--log_every_seconds", "60",
         "--dynamic_padding=%s" % ("true" if dynamic else "false")]
  with open(out + ".log", "w") as logf:
    subprocess.run(cmd, check=True, stderr=logf, stdout=logf, cwd=repo)
  with open(os.path.join(out, "run_results.json")) as f:
    rates = json.load(f)["train"]["rates"]
  return rates["examples_per_sec"]


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--base", required=True, help="commit to compare to")
  parser.add_argument("--rounds", type=int, default=2)
  parser.add_argument("--steps", type=int, default=60)
  parser.add_argument("--padding", default="dynamic,fixed")
  args = parser.parse_args()
  os.makedirs(RUNS, exist_ok=True)
  _, tf_dir = converted_model()
  trees = {"head": REPO_DIR, args.base: worktree(args.base)}
  rates = {}
  for padding in args.padding.split(","):
    for r in range(args.rounds):
      for label, repo in trees.items():
        name = "%s_%s_%d" % (label, padding, r)
        rate = train(repo, name, tf_dir, args.steps, padding == "dynamic")
        rates.setdefault(padding, {}).setdefault(label, []).append(rate)
        log("%s: %.2f examples/sec" % (name, rate))
  results = {"base": args.base, "steps": args.steps, "batch_size": BATCH,
             "max_seq_length": 128, "machine": machine.describe(),
             "rates": rates, "loadavg_after": os.getloadavg()[0]}
  os.makedirs(os.path.join(BENCH_DIR, "results"), exist_ok=True)
  atomic.atomic_json(os.path.join(BENCH_DIR, "results",
                                  "versions_%s.json" % args.base), results)
  print("| padding | this checkout (ex/s, each round) | %s (ex/s, each "
        "round) | mean ratio |" % args.base)
  print("|---|---|---|---|")
  for padding, by in rates.items():
    print("| %s | %s | %s | %.3f |" % (
        padding, " / ".join("%.1f" % x for x in by["head"]),
        " / ".join("%.1f" % x for x in by[args.base]),
        statistics.mean(by["head"]) / statistics.mean(by[args.base])))


if __name__ == "__main__":
  main()

"""Benchmark: one process against two workers on this machine, and XLA.

The real all-MiniLM-L6-v2 on SST-2 train (max_seq_length 128, length
buckets, global batch 32, lr 5e-5, seed 1), --steps steps each, one
configuration at a time:

  1 process x 2 threads     run_classifier.py --num_threads=2
  2 workers x 1 thread      tools/local_cluster.py --num_workers=2
                            --threads_per_worker=1 -- run_classifier.py
                            --distribution_strategy=multi_worker_mirrored
                            --num_threads=1 (16 examples per worker a step)
  1 process x 1 thread, 16  the compute of one worker's step alone: the
                            same 16-example slices without the all-reduce
  1 process x 2 threads XLA --use_xla
  fixed 128, with and without --use_xla: --dynamic_padding=false, one
                            shape, so XLA compiles once (--fixed_steps)

The all-reduce share of a two-worker step is 1 - t(16 alone) / t(2
workers): what the step spends beyond one worker's own compute (the
gradient all-reduce of 22.7M floats and the wait for the slower worker).
Rates leave out the first step, as run_results.json does.

  flock /tmp/bench.lock .venv/bin/python bench/bench_distribution.py \
      [--steps 60] [--fixed_steps 40]

Writes bench/results/distribution.json and prints a Markdown table.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

from minilm_model import converted_model  # pylint: disable=g-import-not-at-top

DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data")
RUNS = os.path.join(BENCH_DIR, "runs", "distribution")


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def _classifier(model, out, steps, batch, *extra):
  return [sys.executable, os.path.join(REPO_DIR, "run_classifier.py"),
          "--task=sst2", "--data_dir=" + os.path.join(DATA_DIR, "sst2"),
          "--init_checkpoint=" + model, "--output_dir=" + out,
          "--cache_dir=" + os.path.join(BENCH_DIR, "runs",
                                        "features_sst2_128"),
          "--do_train", "--max_seq_length=128",
          "--train_batch_size=%d" % batch, "--learning_rate=5e-5",
          "--num_train_steps=%d" % steps, "--seed=1",
          "--save_checkpoints_steps=100000", "--log_every_seconds=60"] + \
      list(extra)


def _run(name, command, out, env=None):
  if os.path.exists(out):
    shutil.rmtree(out)
  log("%s: %s" % (name, " ".join(command[-4:])))
  start = time.time()
  with open(out + ".log", "w") as f:
    code = subprocess.call(command, stdout=f, stderr=subprocess.STDOUT,
                           env=env)
  if code:
    sys.exit("%s failed (exit %d): see %s.log" % (name, code, out))
  with open(os.path.join(out, "run_results.json")) as f:
    rates = json.load(f)["train"]["rates"]
  row = {"config": name, "examples_per_sec": rates["examples_per_sec"],
         "seconds_per_step": 1.0 / rates["steps_per_sec"],
         "wall_seconds": round(time.time() - start, 1)}
  log(json.dumps(row))
  return row


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--steps", type=int, default=60)
  parser.add_argument("--fixed_steps", type=int, default=40,
                      help="steps of the fixed-length pair (0: skip)")
  args = parser.parse_args()
  os.makedirs(RUNS, exist_ok=True)
  _, model = converted_model()
  env = dict(os.environ)
  env.pop("TF_CONFIG", None)
  rows = [
      _run("1 process x 2 threads", _classifier(
          model, os.path.join(RUNS, "one"), args.steps, 32,
          "--num_threads=2"), os.path.join(RUNS, "one"), env),
      _run("2 workers x 1 thread", [
          sys.executable, os.path.join(REPO_DIR, "tools", "local_cluster.py"),
          "--num_workers=2", "--threads_per_worker=1", "--"] + _classifier(
              model, os.path.join(RUNS, "two"), args.steps, 32,
              "--num_threads=1",
              "--distribution_strategy=multi_worker_mirrored"),
           os.path.join(RUNS, "two"), env),
      _run("1 process x 1 thread, batch 16 (one worker's compute)",
           _classifier(model, os.path.join(RUNS, "half"), args.steps, 16,
                       "--num_threads=1"), os.path.join(RUNS, "half"), env),
      _run("1 process x 2 threads, --use_xla", _classifier(
          model, os.path.join(RUNS, "xla"), args.steps, 32,
          "--num_threads=2", "--use_xla"), os.path.join(RUNS, "xla"), env),
  ]
  if args.fixed_steps:  # one shape: XLA compiles once
    for name, extra in (("fixed", ()), ("fixedxla", ("--use_xla",))):
      out = os.path.join(RUNS, name)
      rows.append(_run(
          "1 process x 2 threads, fixed 128%s" % (", --use_xla" if extra
                                                  else ""),
          _classifier(model, out, args.fixed_steps, 32, "--num_threads=2",
                      "--dynamic_padding=false", *extra), out, env))
  base = rows[0]["examples_per_sec"]
  for row in rows:
    row["vs_one_process"] = round(row["examples_per_sec"] / base, 3)
  share = 1.0 - rows[2]["seconds_per_step"] / rows[1]["seconds_per_step"]
  results = {"command": " ".join(sys.argv), "steps": args.steps,
             "rows": rows, "all_reduce_share_two_workers": round(share, 3),
             "parameters": 22713216}
  with open(os.path.join(BENCH_DIR, "results", "distribution.json"),
            "w") as f:
    json.dump(results, f, indent=2)
  print("| configuration | examples/s | s/step | vs 1 process |")
  print("|---|---|---|---|")
  for row in rows:
    print("| %s | %.1f | %.3f | %.2fx |" % (
        row["config"], row["examples_per_sec"], row["seconds_per_step"],
        row["vs_one_process"]))
  print("all-reduce share of a two-worker step: %.0f%%" % (100 * share))


if __name__ == "__main__":
  main()

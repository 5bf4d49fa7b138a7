"""Benchmark: training speed and peak memory, interleaved, against the peers.

One run, in rounds; each round trains the same steps of the real
all-MiniLM-L6-v2 on SST-2 train (max_seq_length 128, batch 32, lr 5e-5)
in every configuration, one process at a time:

  google      google-research/bert's own run_classifier.py, unmodified
              (../shared/anchors/google_bert, run through
              ../shared/anchors/run_google_classifier.py in the bench venv:
              TensorFlow 2.15.1 with tf_slim): every batch padded to 128
  fixed       this project's run_classifier.py --dynamic_padding=false:
              every batch padded to 128, as Google's
  default     run_classifier.py (batches grouped by length, the default)
  packed      run_classifier.py --pack_sequences
  hf          Hugging Face transformers (PyTorch), batches padded to their
              longest sentence (bench/peer_hf_classifier.py)
  hf_fixed    the same with every batch padded to 128 (--pad_to_max_length):
              HF's speed and memory at Google's padding
  amp         the default with --use_amp: on a CPU with AMX, the matmuls in
              bfloat16 (float32 elsewhere, where it equals the default)
  amp_fixed   --dynamic_padding=false --use_amp
  hf_bf16     HF under torch's CPU autocast to bfloat16 (what transformers'
              Trainer does with --bf16)

Rates leave out the first step (graph start-up): run_results.json's rate
for this project, the launcher's steady rate with ANCHOR_SKIP=1 for
Google's. Peak RSS is each process's own high-water mark (os.wait4's
ru_maxrss).

MFU is one figure per configuration: the useful matmul FLOPs of the
sequences it trains per second, over the fp32 matmul peak measured in the
same run on the model's largest shape (bench/profile_step.py's
[4096, 384] x [384, 1536] MatMul). Useful FLOPs are the ones a classifier's
output depends on, one count for every configuration: no padding, and the
last layer at [CLS] alone (its keys and values at every token), which is
what this project computes; Google's and HF's compute the whole last layer
(the results file also gives that whole-encoder count). The fixed-length
runs (google, fixed, hf_fixed, amp_fixed) train sequences of 128 by
definition, so theirs count 128 tokens an example; the others count each
example's own WordPiece length (the mean over SST-2 train of the FLOPs at
each length). The bfloat16 configurations (amp, amp_fixed, hf_bf16) are
counted against the bfloat16 peak of the same shape, measured beside the
float32 one.

  flock /tmp/bench.lock .venv/bin/python bench/bench_training.py \
      [--rounds 2] [--steps 64] [--only google,fixed,default,packed,hf,...]
      [--epoch] [--out bench/results/training.json]

--epoch adds one full epoch of SST-2 train by default, with packing and
with --use_amp, and their dev accuracy (the check that the speed work kept
accuracy).

Writes bench/results/training.json and prints a Markdown table.
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
sys.path.insert(0, BENCH_DIR)

import machine  # pylint: disable=g-import-not-at-top
from minilm_model import converted_model  # pylint: disable=g-import-not-at-top
from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top

DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data")
RUNS = os.path.join(BENCH_DIR, "runs", "training")
PEER_PY = os.path.join(BENCH_DIR, ".peer-venv", "bin", "python")
ANCHORS = os.path.join(os.path.dirname(REPO_DIR), "shared", "anchors")
SST2_TRAIN = 67349
BATCH = 32
LENGTH = 128
CONFIGS = ("google", "fixed", "default", "packed", "hf", "hf_fixed", "amp",
           "amp_fixed", "hf_bf16")
# The configurations that train every example at LENGTH (for the MFU).
FIXED_LENGTH = ("google", "fixed", "hf_fixed", "amp_fixed")
# The configurations whose matmuls run in bfloat16 (their MFU's peak).
BFLOAT16 = ("amp", "amp_fixed", "hf_bf16")
# --epoch: (name, run_classifier.py flags) of each full epoch.
EPOCHS = (("default", ()), ("packed", ("--pack_sequences",)),
          ("amp", ("--use_amp",)))


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run_measured(cmd, log_path, cwd=None):
  """Runs cmd to completion; returns its peak RSS in GB (its own, not its
  parent's or siblings')."""
  with open(log_path, "w") as logf:
    proc = subprocess.Popen(cmd, stdout=logf, stderr=logf, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
  if proc.returncode:
    raise RuntimeError("%s failed (exit %d): see %s" % (cmd[1],
                                                        proc.returncode,
                                                        log_path))
  return usage.ru_maxrss / 1024.0 / 1024.0      # KiB -> GiB


def ours(repo, name, tf_dir, steps, *flags, results=False):
  """One run_classifier.py training run: (examples/sec, peak RSS GB), or
  with `results` (run_results.json, peak RSS GB). steps=None: one epoch."""
  out = os.path.join(RUNS, name)
  subprocess.run(["rm", "-rf", out], check=True)
  epochs = 1.0 if steps is None else (steps + 0.5) * BATCH / SST2_TRAIN
  cmd = [sys.executable, os.path.join(repo, "run_classifier.py"),
         "--task", "sst2", "--data_dir", os.path.join(DATA_DIR, "sst2"),
         "--init_checkpoint", tf_dir, "--output_dir", out,
         "--cache_dir", os.path.join(RUNS, "features-%s" %
                                     os.path.basename(repo)),
         "--do_train", "--max_seq_length", str(LENGTH),
         "--train_batch_size", str(BATCH), "--learning_rate", "5e-5",
         "--num_train_epochs", repr(epochs), "--seed", "1",
         "--save_checkpoints_steps", "100000",
         "--log_every_seconds", "60"] + list(flags)
  rss = run_measured(cmd, out + ".log", cwd=repo)
  with open(os.path.join(out, "run_results.json")) as f:
    run_results = json.load(f)
  if results:
    return run_results, rss
  return run_results["train"]["rates"]["examples_per_sec"], rss


def label_first_sst2():
  """SST-2 train and dev as the anchors' launcher reads an "sst2" task (a
  header, then label<TAB>sentence), made once under RUNS from the shared
  files (sentence<TAB>label)."""
  folder = os.path.join(RUNS, "sst2_label_first")
  for split in ("train", "dev"):
    target = os.path.join(folder, split + ".tsv")
    if os.path.isfile(target):
      continue
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(DATA_DIR, "sst2", split + ".tsv"),
              encoding="utf-8") as f:
      rows = f.read().splitlines()[1:]
    with atomic.replacing(target) as f:
      f.write("label\tsentence\n")
      for row in rows:
        sentence, label = row.rsplit("\t", 1)
        f.write("%s\t%s\n" % (label, sentence))
  return folder


def google_config(tf_dir):
  """The model's config as Google's modeling.py reads it: hidden_act
  "gelu", which the launcher makes the exact (erf) GELU (ANCHOR_GELU=erf),
  the function this project's "gelu_exact" and HF's "gelu" compute."""
  with open(os.path.join(tf_dir, "bert_config.json")) as f:
    config = json.load(f)
  config["hidden_act"] = "gelu"
  path = os.path.join(RUNS, "google_bert_config.json")
  with atomic.replacing(path) as f:
    json.dump(config, f, indent=2)
  return path


def google(name, tf_dir, steps):
  """google-research/bert's run_classifier.py, unmodified, through the
  anchors' launcher: (examples/sec after the first step, peak RSS GB)."""
  out = os.path.join(RUNS, name)
  subprocess.run(["rm", "-rf", out], check=True)
  os.makedirs(out)
  epochs = (steps + 0.5) * BATCH / SST2_TRAIN
  cmd = [PEER_PY, os.path.join(ANCHORS, "run_google_classifier.py"),
         "--task_name=sst2", "--do_train=true", "--do_lower_case=true",
         "--data_dir=" + label_first_sst2(),
         "--vocab_file=" + os.path.join(tf_dir, "vocab.txt"),
         "--bert_config_file=" + google_config(tf_dir),
         "--init_checkpoint=" + os.path.join(tf_dir, "model.ckpt"),
         "--max_seq_length=%d" % LENGTH, "--train_batch_size=%d" % BATCH,
         "--learning_rate=5e-5", "--num_train_epochs=%r" % epochs,
         "--save_checkpoints_steps=100000", "--output_dir=" + out]
  env = dict(os.environ, BERT_SRC=os.path.join(ANCHORS, "google_bert"),
             ANCHOR_SKIP="1", ANCHOR_GELU="erf")
  with open(out + ".log", "w") as logf:
    proc = subprocess.Popen(cmd, stdout=logf, stderr=logf, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
  if os.waitstatus_to_exitcode(status):
    raise RuntimeError("Google's run_classifier.py failed: see %s.log" % out)
  with open(os.path.join(out, "anchor_stats.json")) as f:
    stats = json.load(f)
  (train,) = stats["train"]
  if train["steps"] != steps:
    raise RuntimeError("Google's run trained %d steps, not %d" % (
        train["steps"], steps))
  return train["steady_ex_per_sec"], usage.ru_maxrss / 1024.0 / 1024.0


def epoch(tf_dir, name, *flags):
  """One full epoch of SST-2 train, then dev accuracy (872 sentences)."""
  started = time.time()
  run_results, rss = ours(REPO_DIR, "epoch_" + name, tf_dir, None,
                          "--do_eval", *flags, results=True)
  return {"dev_accuracy": run_results["eval"]["accuracy"],
          "examples_per_sec": round(
              run_results["train"]["rates"]["examples_per_sec"], 2),
          "steps": run_results["train"]["global_step"],
          "wall_seconds": round(time.time() - started, 1),
          "peak_rss_gb": round(rss, 3)}


def peer(name, hf_dir, steps, *flags):
  """The HF peer: (examples/sec, peak RSS GB)."""
  out = os.path.join(RUNS, name + ".json")
  cmd = [PEER_PY, os.path.join(BENCH_DIR, "peer_hf_classifier.py"),
         "--hf_dir", hf_dir, "--data_dir", os.path.join(DATA_DIR, "sst2"),
         "--task", "sst2", "--max_seq_length", str(LENGTH),
         "--batch_size", str(BATCH), "--learning_rate", "5e-5",
         "--max_steps", str(steps), "--skip_eval", "--out", out] + list(flags)
  rss = run_measured(cmd, os.path.join(RUNS, name + ".log"))
  with open(out) as f:
    return json.load(f)["train_examples_per_sec"], rss


def sst2_lengths(tf_dir):
  """WordPiece lengths of the SST-2 training sentences with [CLS] and
  [SEP], at most LENGTH (the vocabulary of the model in tf_dir). Imports
  the tokenizer here: the benchmark's own process stays free of TF."""
  import tokenization  # pylint: disable=g-import-not-at-top
  tok = tokenization.FullTokenizer(os.path.join(tf_dir, "vocab.txt"), True)
  with open(os.path.join(DATA_DIR, "sst2", "train.tsv"),
            encoding="utf-8") as f:
    lines = f.read().splitlines()[1:]
  return [min(LENGTH, len(tok.tokenize(line.rsplit("\t", 1)[0])) + 2)
          for line in lines]


def matmul_peak_and_flops():
  """[matmul peak GFLOP/s in float32, the same in bfloat16, the whole
  encoder's training GFLOP per example at LENGTH, its mean per SST-2 train
  example at the example's own WordPiece length, the same two with the
  last layer at [CLS] alone (the useful FLOPs)], measured in a child
  process (so this one holds no TF threads)."""
  code = ("import json, statistics, profile_step, modeling\n"
          "from bench_training import sst2_lengths, LENGTH\n"
          "from minilm_model import converted_model\n"
          "tf_dir = converted_model()[1]\n"
          "config = modeling.BertConfig.from_json_file(\n"
          "    tf_dir + '/bert_config.json')\n"
          "lengths = sst2_lengths(tf_dir)\n"
          "def gflop(first_token_only):\n"
          "  flops = [profile_step.train_flops_per_example(\n"
          "      config, n, first_token_only) for n in lengths]\n"
          "  return [profile_step.train_flops_per_example(\n"
          "      config, LENGTH, first_token_only) / 1e9,\n"
          "      statistics.mean(flops) / 1e9]\n"
          "print(json.dumps([profile_step.matmul_peak(),\n"
          "                  profile_step.matmul_peak(dtype='bfloat16')]\n"
          "                 + gflop(False) + gflop(True)))\n")
  out = subprocess.run([sys.executable, "-c", code], cwd=BENCH_DIR,
                       check=True, stdout=subprocess.PIPE,
                       universal_newlines=True,
                       env=dict(os.environ, PYTHONPATH=REPO_DIR,
                                TF_CPP_MIN_LOG_LEVEL="2"))
  return json.loads(out.stdout.strip().splitlines()[-1])


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--rounds", type=int, default=2)
  parser.add_argument("--steps", type=int, default=64)
  parser.add_argument("--only", default=",".join(CONFIGS))
  parser.add_argument("--out", default=os.path.join(
      BENCH_DIR, "results", "training.json"))
  parser.add_argument("--epoch", action="store_true",
                      help="also one full epoch by default and with "
                      "packing, and their dev accuracy")
  args = parser.parse_args()
  os.makedirs(RUNS, exist_ok=True)
  hf_dir, tf_dir = converted_model()
  configs = [c for c in args.only.split(",") if c]
  runs = {
      "google": lambda r: google("google_%d" % r, tf_dir, args.steps),
      "fixed": lambda r: ours(REPO_DIR, "fixed_%d" % r, tf_dir, args.steps,
                              "--dynamic_padding=false"),
      "default": lambda r: ours(REPO_DIR, "default_%d" % r, tf_dir,
                                args.steps),
      "packed": lambda r: ours(REPO_DIR, "packed_%d" % r, tf_dir,
                               args.steps, "--pack_sequences"),
      "hf": lambda r: peer("hf_%d" % r, hf_dir, args.steps),
      "hf_fixed": lambda r: peer("hf_fixed_%d" % r, hf_dir, args.steps,
                                 "--pad_to_max_length"),
      "amp": lambda r: ours(REPO_DIR, "amp_%d" % r, tf_dir, args.steps,
                            "--use_amp"),
      "amp_fixed": lambda r: ours(REPO_DIR, "amp_fixed_%d" % r, tf_dir,
                                  args.steps, "--dynamic_padding=false",
                                  "--use_amp"),
      "hf_bf16": lambda r: peer("hf_bf16_%d" % r, hf_dir, args.steps,
                                "--bf16"),
  }
  results = {"model": "all-MiniLM-L6-v2", "data": "SST-2 train",
             "max_seq_length": LENGTH, "batch_size": BATCH,
             "steps": args.steps, "machine": machine.describe(),
             "rounds": []}
  (peak, peak_bf16, encoder, encoder_real, useful,
   useful_real) = matmul_peak_and_flops()
  results.update(matmul_peak_gflops=round(peak, 1),
                 matmul_peak_bf16_gflops=round(peak_bf16, 1),
                 encoder_gflop_per_example=round(encoder, 3),
                 encoder_gflop_per_example_real_lengths=round(encoder_real,
                                                              4),
                 train_gflop_per_example=round(useful, 3),
                 train_gflop_per_example_real_lengths=round(useful_real, 4))
  log("matmul peak %.0f GFLOP/s (bfloat16 %.0f); %.2f GFLOP per training "
      "example at %d, %.3f at SST-2's own lengths (useful FLOPs)" % (
          peak, peak_bf16, useful, LENGTH, useful_real))
  for r in range(args.rounds):
    row = {}
    for name in configs:
      rate, rss = runs[name](r)
      row[name] = {"examples_per_sec": round(rate, 2),
                   "peak_rss_gb": round(rss, 3)}
      log("round %d %s: %.1f ex/s, %.2f GB" % (r + 1, name, rate, rss))
    row["loadavg_after"] = os.getloadavg()[0]
    results["rounds"].append(row)
  if args.epoch:
    results["epoch"] = {}
    for name, flags in EPOCHS:
      results["epoch"][name] = epoch(tf_dir, name, *flags)
      log("epoch %s: %s" % (name, results["epoch"][name]))
  path = args.out
  os.makedirs(os.path.dirname(path), exist_ok=True)
  atomic.atomic_json(path, results)
  print(table(results, configs))


def mfu(results, name, rate):
  """The useful-FLOP MFU of configuration `name` training `rate` examples a
  second: the useful FLOPs of the sequences it trains (LENGTH for the
  FIXED_LENGTH runs, each example's own length otherwise) over the matmul
  peak of the same run (the bfloat16 one for a BFLOAT16 run)."""
  flops = results["train_gflop_per_example" + (
      "" if name in FIXED_LENGTH else "_real_lengths")]
  return rate * flops / results["matmul_peak_bf16_gflops" if name in
                                BFLOAT16 else "matmul_peak_gflops"]


def table(results, configs):
  """Markdown: rate per round, peak RSS, ratios to google and hf, MFU."""
  def rates(name):
    return [row[name]["examples_per_sec"] for row in results["rounds"]]

  def mean(name):
    return statistics.mean(rates(name))

  lines = ["| SST-2 (128), %d x %d | ex/s, each round | peak RSS (GB) | "
           "x google | x hf | MFU |" % (results["steps"],
                                          results["batch_size"]),
           "|---|---|---|---|---|---|"]
  for name in configs:
    rss = [row[name]["peak_rss_gb"] for row in results["rounds"]]
    versus = lambda other: ("%.2fx" % (mean(name) / mean(other))
                            if other in configs else "")
    lines.append("| %s | %s | %s | %s | %s | %s |" % (
        name, " / ".join("%.1f" % v for v in rates(name)),
        " / ".join("%.2f" % v for v in rss), versus("google"), versus("hf"),
        "%.0f%%" % (100 * mfu(results, name, mean(name)))))
  for name, row in (results.get("epoch") or {}).items():
    lines.append("")
    lines.append("one epoch, %s: dev accuracy %.4f, %.1f ex/s, %d steps, "
                 "%.0f s, %.2f GB" % (name, row["dev_accuracy"],
                                      row["examples_per_sec"], row["steps"],
                                      row["wall_seconds"],
                                      row["peak_rss_gb"]))
  return "\n".join(lines)


if __name__ == "__main__":
  main()

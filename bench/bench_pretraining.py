"""Benchmark: domain-adaptive pre-training, and pre-training throughput.

1. Domain-adaptive: the real all-MiniLM-L6-v2, further pre-trained with the
   masked LM alone (run_pretraining.py --masked_lm_only) on the SST-2
   training sentences without their labels, then fine-tuned on SST-2;
   against fine-tuning it directly with the same settings. SST-2 dev
   accuracy, several seeds.
2. Throughput: run_pretraining.py training examples/sec at max_seq_length
   128 (batch 32), for MiniLM and for the small Chinese BERT's config.

  flock /tmp/bench.lock .venv/bin/python bench/bench_pretraining.py \
      [--dapt_steps 2000] [--finetune_examples 8000] [--seeds 1,2]

Writes bench/results/pretraining.json and prints Markdown tables.
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

from minilm_model import converted_model  # pylint: disable=g-import-not-at-top

DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data")
RUNS = os.path.join(BENCH_DIR, "runs", "pretraining")
PY = sys.executable


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(name, args):
  """Runs a repo script, its log in RUNS/name.log; fails loudly."""
  log("%s: %s" % (name, " ".join(args[:2])))
  with open(os.path.join(RUNS, name + ".log"), "w") as logf:
    subprocess.run([PY] + [os.path.join(REPO_DIR, args[0])] + list(args[1:]),
                   check=True, stdout=logf, stderr=logf, cwd=REPO_DIR)


def results_of(out):
  with open(os.path.join(out, "run_results.json")) as f:
    return json.load(f)


def sst2_sentences(path, out_path):
  """The SST-2 training sentences, one a document (labels dropped)."""
  with open(path, encoding="utf-8") as f, open(out_path, "w",
                                               encoding="utf-8") as out:
    next(f)
    for line in f:
      sentence = line.rstrip("\n").split("\t")[0].strip()
      if sentence:
        out.write(sentence + "\n\n")


def sst2_subset(n, out_dir):
  """The first n SST-2 training rows and the whole dev set."""
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(DATA_DIR, "sst2", "train.tsv"),
            encoding="utf-8") as f:
    lines = f.readlines()
  with open(os.path.join(out_dir, "train.tsv"), "w", encoding="utf-8") as f:
    f.writelines(lines[:n + 1])
  with open(os.path.join(DATA_DIR, "sst2", "dev.tsv"),
            encoding="utf-8") as src, open(os.path.join(out_dir, "dev.tsv"),
                                           "w", encoding="utf-8") as dst:
    dst.write(src.read())
  return out_dir


def finetune(name, init, data_dir, seed, epochs):
  out = os.path.join(RUNS, name)
  subprocess.run(["rm", "-rf", out], check=True)
  run(name, ["run_classifier.py", "--task=sst2", "--data_dir=" + data_dir,
             "--init_checkpoint=" + init, "--output_dir=" + out,
             "--cache_dir=" + os.path.join(RUNS, "features"),
             "--do_lower_case", "--do_train", "--do_eval",
             "--max_seq_length=64", "--train_batch_size=32",
             "--learning_rate=5e-5", "--num_train_epochs=%g" % epochs,
             "--seed=%d" % seed, "--log_every_seconds=60"])
  return results_of(out)["eval"]["accuracy"]


def throughput(name, init_args, data, steps):
  out = os.path.join(RUNS, name)
  subprocess.run(["rm", "-rf", out], check=True)
  run(name, ["run_pretraining.py", "--input_file=" + data,
             "--output_dir=" + out, "--do_train", "--train_batch_size=32",
             "--num_train_steps=%d" % steps, "--num_warmup_steps=10",
             "--learning_rate=1e-4", "--save_checkpoints_steps=100000",
             "--log_every_seconds=60"] + init_args)
  return results_of(out)["train"]["rates"]["examples_per_sec"]


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--dapt_steps", type=int, default=2000)
  parser.add_argument("--finetune_examples", type=int, default=8000)
  parser.add_argument("--finetune_epochs", type=float, default=2.0)
  parser.add_argument("--seeds", default="1,2")
  parser.add_argument("--throughput_steps", type=int, default=40)
  parser.add_argument("--skip_dapt", action="store_true")
  args = parser.parse_args()
  os.makedirs(RUNS, exist_ok=True)
  _, minilm = converted_model()
  results = {"model": "all-MiniLM-L6-v2", "cpu_count": os.cpu_count()}

  # Pre-training data from the SST-2 training sentences (no labels).
  corpus = os.path.join(RUNS, "sst2_sentences.txt")
  sst2_sentences(os.path.join(DATA_DIR, "sst2", "train.tsv"), corpus)
  data64 = os.path.join(RUNS, "sst2_mlm_64.tfrecord")
  data128 = os.path.join(RUNS, "sst2_mlm_128.tfrecord")
  for path, length, predictions in ((data64, 64, 10), (data128, 128, 20)):
    if not os.path.isfile(path):
      run(os.path.basename(path), [
          "create_pretraining_data.py", "--input_file=" + corpus,
          "--output_file=" + path,
          "--vocab_file=" + os.path.join(minilm, "vocab.txt"),
          "--do_lower_case", "--max_seq_length=%d" % length,
          "--max_predictions_per_seq=%d" % predictions, "--dupe_factor=1"])

  # 2. Throughput at max_seq_length 128.
  small = os.path.join(REPO_DIR, ".cache", "small_chinese")
  rows = {"minilm": throughput("throughput_minilm",
                               ["--init_checkpoint=" + minilm,
                                "--masked_lm_only"], data128,
                               args.throughput_steps)}
  if os.path.isfile(os.path.join(small, "bert_config.json")):
    rows["small_chinese_4L_256H"] = throughput(
        "throughput_small_chinese",
        ["--bert_config_file=" + os.path.join(small, "bert_config.json"),
         "--vocab_file=" + os.path.join(small, "vocab.txt")],
        os.path.join(small, "data-0.tfrecord"), args.throughput_steps)
  results["throughput_128"] = rows
  log("throughput: %s" % rows)

  # 1. Domain-adaptive pre-training, then fine-tuning, against fine-tuning.
  if not args.skip_dapt:
    dapt = os.path.join(RUNS, "minilm_sst2_dapt")
    run("minilm_sst2_dapt", [
        "run_pretraining.py", "--input_file=" + data64,
        "--output_dir=" + dapt, "--init_checkpoint=" + minilm,
        "--masked_lm_only", "--do_train", "--do_eval",
        "--train_batch_size=32", "--num_train_steps=%d" % args.dapt_steps,
        "--num_warmup_steps=%d" % (args.dapt_steps // 10),
        "--learning_rate=1e-4", "--max_eval_steps=50",
        "--save_checkpoints_steps=500", "--seed=1",
        "--log_every_seconds=60"])
    dapt_results = results_of(dapt)
    data_dir = sst2_subset(args.finetune_examples,
                           os.path.join(RUNS, "sst2_subset"))
    direct, adapted = [], []
    for seed in (int(s) for s in args.seeds.split(",")):
      direct.append(finetune("sst2_direct_%d" % seed, minilm, data_dir, seed,
                             args.finetune_epochs))
      adapted.append(finetune("sst2_dapt_%d" % seed, dapt, data_dir, seed,
                              args.finetune_epochs))
      log("seed %d: direct %.4f, after DAPT %.4f" % (seed, direct[-1],
                                                     adapted[-1]))
    results["domain_adaptive"] = {
        "dapt_steps": args.dapt_steps, "dapt_batch": 32,
        "dapt_max_seq_length": 64,
        "dapt_examples_per_sec": dapt_results["train"]["rates"][
            "examples_per_sec"],
        "dapt_eval": dapt_results.get("eval"),
        "finetune_examples": args.finetune_examples,
        "finetune_epochs": args.finetune_epochs,
        "dev_accuracy_direct": direct, "dev_accuracy_after_dapt": adapted}
    log("domain adaptive: %s" % results["domain_adaptive"])
  os.makedirs(os.path.join(BENCH_DIR, "results"), exist_ok=True)
  with open(os.path.join(BENCH_DIR, "results", "pretraining.json"),
            "w") as f:
    json.dump(results, f, indent=2)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  main()

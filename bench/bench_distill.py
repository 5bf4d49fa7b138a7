"""Benchmark: knowledge distillation of the real all-MiniLM-L6-v2.

SST-2. Teacher: MiniLM fine-tuned on the GLUE SST-2 train set (67,349
sentences, 1 epoch). Students keep teacher layers 0,2,4 (run_distill.py
--student_layers) and train on the first --labeled sentences of train:
  1. no distillation (--alpha=1.0: plain fine-tuning of the student);
  2. logit distillation (--alpha, --temperature);
  3. 2. plus --unlabeled_file: the other SST-2 train sentences, labels
     dropped, labelled by the teacher;
  4. 3. plus TinyBERT's hidden and attention losses.
Reported: SST-2 dev accuracy, and predictor throughput (export, loaded
once, batches of 32 dev sentences) for the teacher and a student.

NER (CoNLL-2003): a MiniLM CRF teacher (1 epoch of train), then a 3-layer
student (layers 0,2,4) with and without distillation; test entity F1.

  flock /tmp/bench.lock .venv/bin/python bench/bench_distill.py \
      [--labeled 20000] [--skip_ner] [--skip_sst2]

Writes bench/results/distill.json and prints Markdown tables.
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
RUNS = os.path.join(BENCH_DIR, "runs", "distill")
PY = sys.executable
MAX_SEQ_LENGTH = 64
COMMON = ["--max_seq_length=%d" % MAX_SEQ_LENGTH, "--train_batch_size=32",
          "--seed=1", "--save_checkpoints_steps=100000",
          "--log_every_seconds=60"]


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(name, script, args):
  """Runs a repo script once (a finished run directory is kept)."""
  out = os.path.join(RUNS, name)
  if os.path.isfile(os.path.join(out, "run_results.json")):
    log("%s: kept" % name)
  else:
    log("%s: %s" % (name, script))
    started = time.time()
    with open(out + ".log", "w") as logf:
      subprocess.run([PY, os.path.join(REPO_DIR, script),
                      "--output_dir=" + out] + list(args), check=True,
                     stdout=logf, stderr=logf, cwd=REPO_DIR)
    log("%s: %.0f s" % (name, time.time() - started))
  with open(os.path.join(out, "run_results.json")) as f:
    return out, json.load(f)


def sst2_split(labeled):
  """train.tsv with the first `labeled` rows (+ dev), and the other train
  sentences as an unlabeled file."""
  folder = os.path.join(RUNS, "sst2_%d" % labeled)
  os.makedirs(folder, exist_ok=True)
  with open(os.path.join(DATA_DIR, "sst2", "train.tsv"),
            encoding="utf-8") as f:
    lines = f.readlines()
  with open(os.path.join(folder, "train.tsv"), "w", encoding="utf-8") as f:
    f.writelines(lines[:labeled + 1])
  with open(os.path.join(folder, "unlabeled.txt"), "w",
            encoding="utf-8") as f:
    for line in lines[labeled + 1:]:
      f.write(line.split("\t")[0].strip() + "\n")
  with open(os.path.join(DATA_DIR, "sst2", "dev.tsv"),
            encoding="utf-8") as src, open(os.path.join(folder, "dev.tsv"),
                                           "w", encoding="utf-8") as dst:
    dst.write(src.read())
  return folder


def predictor_rate(run_dir, name, batches=20):
  """Sentences/sec of the exported model, batches of 32 dev sentences."""
  from bert_toolkit.serving import export as export_lib  # pylint: disable=g-import-not-at-top
  from bert_toolkit.serving import predictor as predictor_lib  # pylint: disable=g-import-not-at-top
  base = os.path.join(RUNS, "export_" + name)
  if not os.path.isdir(base):
    export_lib.export(run_dir, base)
  with open(os.path.join(DATA_DIR, "sst2", "dev.tsv"),
            encoding="utf-8") as f:
    next(f)
    texts = [line.split("\t")[0] for line in f]
  predictor = predictor_lib.Predictor(base, batch_size=32)
  predictor.predict(texts[:32])  # warm-up
  started = time.perf_counter()
  for b in range(batches):
    predictor.predict([texts[(b * 32 + j) % len(texts)] for j in range(32)])
  seconds = time.perf_counter() - started
  predictor.close()
  return round(32 * batches / seconds, 1)


def sst2(args, minilm):
  out = {}
  teacher, teacher_results = run("sst2_teacher", "run_classifier.py", [
      "--task=sst2", "--data_dir=" + os.path.join(DATA_DIR, "sst2"),
      "--init_checkpoint=" + minilm, "--do_lower_case", "--do_train",
      "--do_eval", "--learning_rate=5e-5", "--num_train_epochs=1",
      "--cache_dir=" + os.path.join(RUNS, "features")] + COMMON)
  out["teacher"] = {"dev_accuracy": teacher_results["eval"]["accuracy"],
                    "train_examples": teacher_results["num_train_examples"]}
  data = sst2_split(args.labeled)
  distill = ["--teacher_dir=" + teacher, "--data_dir=" + data,
             "--student_layers=0,2,4", "--do_train", "--do_eval",
             "--learning_rate=1e-4", "--num_train_epochs=%g" % args.epochs,
             "--cache_dir=" + os.path.join(RUNS, "features")] + COMMON
  soft = ["--alpha=%g" % args.alpha, "--temperature=%g" % args.temperature]
  unlabeled = ["--unlabeled_file=" + os.path.join(data, "unlabeled.txt")]
  intermediate = ["--hidden_loss_weight=%g" % args.hidden_loss_weight,
                  "--attention_loss_weight=%g" % args.attention_loss_weight]
  students = (("student_plain", ["--alpha=1.0"]),
              ("student_logits", soft),
              ("student_logits_unlabeled", soft + unlabeled),
              ("student_logits_unlabeled_intermediate",
               soft + unlabeled + intermediate))
  for name, extra in students:
    run_dir, results = run("sst2_" + name, "run_distill.py", distill + extra)
    out[name] = {"dev_accuracy": results["eval"]["accuracy"],
                 "train_examples": results.get("num_train_examples"),
                 "train_examples_per_sec": results["train"]["rates"][
                     "examples_per_sec"]}
    log("%s: %s" % (name, out[name]))
  out["teacher"]["predictor_sentences_per_sec"] = predictor_rate(
      teacher, "teacher")
  out["student_plain"]["predictor_sentences_per_sec"] = predictor_rate(
      os.path.join(RUNS, "sst2_student_plain"), "student")
  return out


def ner(args, minilm):
  conll = os.path.join(DATA_DIR, "conll2003")
  common = ["--task=conll2003", "--data_dir=" + conll, "--do_lower_case",
            "--do_train", "--do_eval", "--do_predict", "--crf",
            "--crf_learning_rate=0.01", "--max_seq_length=128",
            "--train_batch_size=32", "--seed=1",
            "--save_checkpoints_steps=100000", "--log_every_seconds=60",
            "--cache_dir=" + os.path.join(RUNS, "features_ner")]
  teacher, teacher_results = run("ner_teacher", "run_ner.py", [
      "--init_checkpoint=" + minilm, "--learning_rate=1e-4",
      "--num_train_epochs=1"] + common)
  out = {"teacher": {"test_f1": teacher_results["predict"]["f1"]}}
  student_args = ["--teacher_dir=" + teacher, "--data_dir=" + conll,
                  "--student_layers=0,2,4", "--do_train", "--do_eval",
                  "--do_predict", "--learning_rate=1e-4",
                  "--num_train_epochs=1", "--train_batch_size=32",
                  "--seed=1", "--save_checkpoints_steps=100000",
                  "--log_every_seconds=60",
                  "--cache_dir=" + os.path.join(RUNS, "features_ner")]
  for name, extra in (("student_plain", ["--alpha=1.0"]),
                      ("student_logits", ["--alpha=%g" % args.alpha,
                                          "--temperature=%g" %
                                          args.temperature])):
    _, results = run("ner_" + name, "run_distill.py", student_args + extra)
    out[name] = {"test_f1": results["predict"]["f1"]}
    log("ner %s: %s" % (name, out[name]))
  return out


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--labeled", type=int, default=20000)
  parser.add_argument("--epochs", type=float, default=1.0)
  parser.add_argument("--alpha", type=float, default=0.5)
  parser.add_argument("--temperature", type=float, default=2.0)
  parser.add_argument("--hidden_loss_weight", type=float, default=1.0)
  parser.add_argument("--attention_loss_weight", type=float, default=0.1)
  parser.add_argument("--skip_sst2", action="store_true")
  parser.add_argument("--skip_ner", action="store_true")
  args = parser.parse_args()
  os.makedirs(RUNS, exist_ok=True)
  _, minilm = converted_model()
  results = {"model": "all-MiniLM-L6-v2", "max_seq_length": MAX_SEQ_LENGTH,
             "labeled": args.labeled, "alpha": args.alpha,
             "temperature": args.temperature,
             "hidden_loss_weight": args.hidden_loss_weight,
             "attention_loss_weight": args.attention_loss_weight}
  path = os.path.join(BENCH_DIR, "results", "distill.json")
  if not args.skip_sst2:
    results["sst2"] = sst2(args, minilm)
    with open(path, "w") as f:
      json.dump(results, f, indent=2)
  if not args.skip_ner:
    results["ner"] = ner(args, minilm)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    json.dump(results, f, indent=2)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  main()

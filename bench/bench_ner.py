"""Benchmark: run_ner.py on CoNLL-2003 with the real all-MiniLM-L6-v2.

  flock /tmp/bench.lock .venv/bin/python bench/bench_ner.py [--quick]

For each head (token softmax, CRF): fine-tune on the FULL CoNLL-2003 train
set (14,041 sentences) for one epoch (do_lower_case: MiniLM is uncased),
entity-level (seqeval) F1 on dev and test, training examples/sec; then the
time to tag 1,000 test sentences from raw text through the predictor path
(bert_toolkit.data.windows: text_to_units -> unit_windows -> Estimator predict ->
merge_windows -> entities_from_tags, model rebuilt from run_info.json alone),
with and without graph build / restore.

Writes bench/results/ner.json (ner_quick.json with --quick) and prints a
Markdown table.
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

DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data",
                        "conll2003")
RUNS = os.path.join(BENCH_DIR, "runs")
BATCH = 32
LR = 1e-4
CRF_LR = 1e-2
MAX_SEQ_LENGTH = 128
TAG_SENTENCES = 1000


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def train_command(tf_dir, name, crf, epochs, data_dir=DATA_DIR):
  """The run_ner.py command line of one head."""
  cmd = [sys.executable, os.path.join(REPO_DIR, "run_ner.py"),
         "--task", "conll2003", "--data_dir", data_dir,
         "--init_checkpoint", tf_dir, "--output_dir",
         os.path.join(RUNS, name), "--cache_dir",
         os.path.join(RUNS, "features_conll2003"),
         "--do_lower_case", "--do_train", "--do_eval", "--do_predict",
         "--max_seq_length", str(MAX_SEQ_LENGTH),
         "--train_batch_size", str(BATCH), "--learning_rate", str(LR),
         "--num_train_epochs", repr(epochs), "--seed", "1",
         "--save_checkpoints_steps", "100000", "--log_every_seconds", "60"]
  if crf:
    cmd += ["--crf", "--crf_learning_rate", str(CRF_LR)]
  return cmd


def train(tf_dir, name, crf, epochs, data_dir=DATA_DIR):
  """Runs run_ner.py; returns its run_results.json."""
  out = os.path.join(RUNS, name)
  subprocess.run(["rm", "-rf", out], check=True)
  cmd = train_command(tf_dir, name, crf, epochs, data_dir)
  log("run_ner: %s" % " ".join(os.path.relpath(c, REPO_DIR)
                               if c.startswith(REPO_DIR) else c for c in cmd))
  with open(out + ".log", "w") as logf:
    subprocess.run(cmd, check=True, stderr=logf, stdout=logf)
  with open(os.path.join(out, "run_results.json")) as f:
    return json.load(f)


def tag_sentences(run_dir, texts, batch_size=32):
  """Tags raw texts with the run's model; returns (entities, timings).

  The clock runs from reading run_info.json to the last entity list:
  tokenization, windows, graph build, restore, inference and merging.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  import tokenization  # pylint: disable=g-import-not-at-top
  from bert_toolkit.runs import run_info  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import task as task_lib  # pylint: disable=g-import-not-at-top
  from bert_toolkit.data import windows as windows_lib  # pylint: disable=g-import-not-at-top
  tf.disable_eager_execution()
  tf.logging.set_verbosity(tf.logging.WARN)

  started = time.time()
  info = run_info.read(run_dir)
  head = info["head"]
  tokenizer = tokenization.FullTokenizer(info["vocab_file"],
                                         info["do_lower_case"])
  sentences = []
  for text in texts:
    units, offsets = windows_lib.text_to_units(text, head["unit_joiner"])
    windows = windows_lib.unit_windows(units, tokenizer,
                                       info["max_seq_length"],
                                       head.get("window_stride"))
    sentences.append((text, units, offsets, windows))
  flat = [(i, w) for i, s in enumerate(sentences) for w in s[3]]

  def input_fn(params=None):
    del params

    def gen():
      for start in range(0, len(flat), batch_size):
        chunk = [w for _, w in flat[start:start + batch_size]]
        width = max(len(w.input_ids) for w in chunk)

        def pad(rows, width=width):
          return np.array([r + [0] * (width - len(r)) for r in rows],
                          np.int32)
        yield {"input_ids": pad([w.input_ids for w in chunk]),
               "input_mask": pad([w.input_mask for w in chunk]),
               "segment_ids": pad([w.segment_ids for w in chunk])}
    names = ("input_ids", "input_mask", "segment_ids")
    return tf.data.Dataset.from_generator(
        gen, {k: tf.int32 for k in names},
        {k: tf.TensorShape([None, None]) for k in names})

  estimator = tf.estimator.Estimator(task_lib.model_fn_from_run_info(info),
                                     model_dir=run_dir)
  checkpoint = (tf.train.latest_checkpoint(os.path.join(run_dir, "best")) or
                tf.train.latest_checkpoint(run_dir))
  rows = []
  first_row_at = None
  for row in estimator.predict(input_fn, checkpoint_path=checkpoint,
                               yield_single_examples=True):
    if first_row_at is None:
      first_row_at = time.time()
    rows.append(row)
  per_sentence = [[] for _ in sentences]
  for (i, _), row in zip(flat, rows):
    per_sentence[i].append(row)
  results = []
  for (text, units, offsets, windows), got in zip(sentences, per_sentence):
    tags, _ = windows_lib.merge_windows(
        windows, [r["tag_ids"] for r in got], len(units), info["labels"],
        head["scheme"], [r["tag_scores"] for r in got])
    results.append(windows_lib.entities_from_tags(text, units, offsets, tags,
                                                  head["scheme"]))
  total = time.time() - started
  return results, {"sentences": len(texts), "windows": len(flat),
                   "seconds_total": round(total, 2),
                   "seconds_after_first_batch": round(
                       time.time() - first_row_at, 2),
                   "sentences_per_sec": round(len(texts) / total, 1)}


def test_texts(n):
  """The first n CoNLL-2003 test sentences as raw text (words + spaces)."""
  from bert_toolkit.data import ner_data  # pylint: disable=g-import-not-at-top
  task = ner_data.get_ner_task("conll2003")
  return [e.text for e in task.get_examples(DATA_DIR, "test")[:n]]


def quick_data_dir():
  """A 600/200/200-sentence CoNLL subset for --quick."""
  target = os.path.join(RUNS, "conll_quick")
  os.makedirs(target, exist_ok=True)
  for split, n in (("train", 600), ("dev", 200), ("test", 200)):
    with open(os.path.join(DATA_DIR, split + ".txt"), encoding="utf-8") as f:
      blocks = f.read().split("\n\n")
    with open(os.path.join(target, split + ".txt"), "w",
              encoding="utf-8") as f:
      f.write("\n\n".join(blocks[:n]) + "\n")
  return target


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true",
                      help="600 training sentences (a smoke test)")
  parser.add_argument("--epochs", type=float, default=1.0)
  parser.add_argument("--tag_only", action="store_true",
                      help="reuse the trained runs in bench/runs; only "
                      "re-time tagging 1,000 sentences")
  parser.add_argument("--tag_repeats", type=int, default=3,
                      help="tagging timings per head (the fastest is kept)")
  args = parser.parse_args()
  os.makedirs(RUNS, exist_ok=True)
  _, tf_dir = converted_model()
  data_dir = quick_data_dir() if args.quick else DATA_DIR
  results = {"model": "all-MiniLM-L6-v2", "data": "CoNLL-2003",
             "quick": args.quick, "batch_size": BATCH,
             "learning_rate": LR, "crf_learning_rate": CRF_LR,
             "max_seq_length": MAX_SEQ_LENGTH, "epochs": args.epochs,
             "cpu_count": os.cpu_count(), "heads": {},
             "command": "flock /tmp/bench.lock .venv/bin/python "
                        "bench/bench_ner.py" + (" --quick" if args.quick
                                                else "")}
  texts = test_texts(TAG_SENTENCES)
  for name, crf in (("softmax", False), ("crf", True)):
    run_name = "ner_conll_%s%s" % (name, "_quick" if args.quick else "")
    if args.tag_only:
      with open(os.path.join(RUNS, run_name, "run_results.json")) as f:
        mine = json.load(f)
    else:
      mine = train(tf_dir, run_name, crf, args.epochs, data_dir)
    timings = [tag_sentences(os.path.join(RUNS, run_name), texts)[1]
               for _ in range(args.tag_repeats)]
    timing = min(timings, key=lambda t: t["seconds_total"])
    timing["all_seconds_total"] = [t["seconds_total"] for t in timings]
    row = {"dev_f1": mine["eval"]["f1"],
           "test_precision": mine["predict"]["precision"],
           "test_recall": mine["predict"]["recall"],
           "test_f1": mine["predict"]["f1"],
           "test_per_type_f1": {k: v["f1-score"] for k, v in
                                mine["predict"]["per_type"].items()},
           "train_examples": mine["num_train_examples"],
           "train_windows": mine["num_train_windows"],
           "train_steps": mine["train"]["global_step"],
           "train_examples_per_sec": mine["train"]["rates"][
               "examples_per_sec"],
           "train_seconds": mine["train"]["rates"]["seconds"],
           "tag_1000": timing,
           "loadavg_after": os.getloadavg()[0],
           "command": " ".join(train_command(tf_dir, run_name, crf,
                                             args.epochs, data_dir))}
    results["heads"][name] = row
    log("%s: %s" % (name, json.dumps(row)))
  os.makedirs(os.path.join(BENCH_DIR, "results"), exist_ok=True)
  path = os.path.join(BENCH_DIR, "results",
                      "ner_quick.json" if args.quick else "ner.json")
  with open(path, "w") as f:
    json.dump(results, f, indent=2)
  print(table(results))


def table(results):
  """Markdown table of a results dict."""
  lines = ["| head | test F1 | test P | test R | dev F1 | train ex/s | "
           "tag 1,000 sentences (total / after start-up) |",
           "|---|---|---|---|---|---|---|"]
  for name, row in results["heads"].items():
    t = row["tag_1000"]
    lines.append("| %s | %.4f | %.4f | %.4f | %.4f | %.1f | %.1f s / %.1f s |"
                 % (name, row["test_f1"], row["test_precision"],
                    row["test_recall"], row["dev_f1"],
                    row["train_examples_per_sec"], t["seconds_total"],
                    t["seconds_after_first_batch"]))
  return "\n".join(lines)


if __name__ == "__main__":
  main()

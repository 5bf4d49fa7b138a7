"""Benchmark: run_squad.py on CMRC 2018 (span extraction, Chinese).

  flock /tmp/bench.lock .venv/bin/python bench/bench_squad.py
  .venv/bin/python bench/bench_squad.py --questions=16 --max_seq_length=128 \
      --init_checkpoint=../shared/reference/bert_zh_tiny     # a quick check

Fine-tunes on cmrc2018_trial.json (1,002 questions) and predicts
cmrc2018_dev.json (3,219), scored with CMRC 2018's official rules (EM and
character-level F1), twice: from --init_checkpoint (default the real
all-MiniLM-L6-v2 converted at .cache/minilm_tf1; its vocab holds the common
CJK characters) and from a random initialisation of the same architecture
(tools/random_init_checkpoint.py), with --squad_style=hfl_cmrc. Also
counts how much of the predict file's text the model's vocab covers (the
characters that become [UNK]). Writes bench/results/squad.json
(squad_quick.json with --questions) and prints a Markdown table.
--reuse_runs takes a finished run's run_results.json instead of training
it again.
"""

import argparse
import json
import os
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data",
                        "cmrc2018")
RUNS = os.path.join(BENCH_DIR, "runs")
RESULTS = os.path.join(BENCH_DIR, "results")


def repo_path(path):
  """A path as the results file records it: relative to the repository, so
  that the file names no machine's folders."""
  return os.path.relpath(os.path.abspath(path), REPO_DIR)


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def first_questions(path, count, out):
  """The SQuAD file with only its first `count` questions."""
  with open(path, encoding="utf-8") as f:
    data = json.load(f)
  left = count
  articles = []
  for article in data["data"]:
    paragraphs = []
    for paragraph in article["paragraphs"]:
      qas = paragraph["qas"][:left]
      left -= len(qas)
      if qas:
        paragraphs.append(dict(paragraph, qas=qas))
    if paragraphs:
      articles.append(dict(article, paragraphs=paragraphs))
    if left <= 0:
      break
  with open(out, "w", encoding="utf-8") as f:
    json.dump(dict(data, data=articles), f, ensure_ascii=False)
  return out


def random_init(model_dir, out):
  """A random initialisation of model_dir's architecture (same vocab)."""
  if not os.path.isdir(out):
    subprocess.run([sys.executable, os.path.join(REPO_DIR, "tools",
                                                 "random_init_checkpoint.py"),
                    "--bert_config_file",
                    os.path.join(model_dir, "bert_config.json"),
                    "--vocab_file", os.path.join(model_dir, "vocab.txt"),
                    "--output_dir", out], check=True)
  return out


def count_questions(path):
  with open(path, encoding="utf-8") as f:
    data = json.load(f)
  return sum(len(p["qas"]) for a in data["data"] for p in a["paragraphs"])


def vocab_coverage(vocab_file, predict_file, do_lower_case):
  """{"cjk_tokens": single CJK characters in the vocab, "unk_share": the
  share of the predict file's context and question characters (spaces
  left out) that the model's tokenizer turns into [UNK]}."""
  sys.path.insert(0, REPO_DIR)
  import tokenization  # pylint: disable=g-import-not-at-top
  tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case)
  vocab = tokenizer.vocab
  cjk = sum(1 for token in vocab if len(token) == 1 and
            tokenization.BasicTokenizer()._is_chinese_char(ord(token)))  # pylint: disable=protected-access
  with open(predict_file, encoding="utf-8") as f:
    data = json.load(f)
  chars = unknown = 0
  for article in data["data"]:
    for paragraph in article["paragraphs"]:
      texts = [paragraph["context"]] + [q["question"]
                                        for q in paragraph["qas"]]
      for text in texts:
        for word in tokenizer.basic_tokenizer.tokenize(text):
          pieces = tokenizer.wordpiece_tokenizer.tokenize(word)
          chars += len(word)
          if pieces == ["[UNK]"]:
            unknown += len(word)
  return {"cjk_tokens": cjk, "vocab_size": len(vocab),
          "unk_share": round(unknown / max(chars, 1), 4)}


def fine_tune(name, init, args, train_file, predict_file):
  """run_squad.py --do_train --do_predict; returns its results entry."""
  out = os.path.join(RUNS, "squad_" + name)
  if args.reuse_runs and os.path.isfile(os.path.join(out,
                                                     "run_results.json")):
    log("reusing %s" % out)
    return _entry(init, out, None)
  cmd = [sys.executable, os.path.join(REPO_DIR, "run_squad.py"),
         "--train_file", train_file, "--predict_file", predict_file,
         "--init_checkpoint", init, "--output_dir", out,
         "--overwrite_output_dir", "--do_train", "--do_predict",
         "--squad_style", args.squad_style,
         "--max_seq_length", str(args.max_seq_length),
         "--doc_stride", str(args.doc_stride),
         "--max_query_length", str(args.max_query_length),
         "--train_batch_size", str(args.batch),
         "--learning_rate", str(args.learning_rate),
         "--num_train_epochs", repr(args.epochs), "--seed", "1",
         "--save_checkpoints_steps", "100000", "--log_every_seconds", "60"]
  if args.do_lower_case is not None:
    cmd.append("--do_lower_case=%s" % args.do_lower_case)
  log(" ".join(cmd))
  started = time.time()
  subprocess.run(cmd, check=True, cwd=REPO_DIR)
  return _entry(init, out, round(time.time() - started, 1))


def _entry(init, out, seconds):
  """The results entry of a finished run directory."""
  with open(os.path.join(out, "run_results.json"), encoding="utf-8") as f:
    results = json.load(f)
  scores = results["predict"]["scores"]
  return {"init": repo_path(init), "exact_match": scores["exact_match"],
          "f1": scores["f1"], "metric": scores["metric"],
          "num_train_examples": results.get("num_train_examples"),
          "num_train_steps": results.get("num_train_steps"),
          "train_examples_per_sec":
              (results.get("train", {}).get("rates") or {}).get(
                  "examples_per_sec"),
          "seconds": seconds}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--init_checkpoint",
                      default=os.path.join(REPO_DIR, ".cache", "minilm_tf1"))
  parser.add_argument("--train_file",
                      default=os.path.join(DATA_DIR, "cmrc2018_trial.json"))
  parser.add_argument("--predict_file",
                      default=os.path.join(DATA_DIR, "cmrc2018_dev.json"))
  parser.add_argument("--squad_style", default="hfl_cmrc")
  parser.add_argument("--max_seq_length", type=int, default=384)
  parser.add_argument("--doc_stride", type=int, default=128)
  parser.add_argument("--max_query_length", type=int, default=64)
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--learning_rate", type=float, default=1e-4)
  parser.add_argument("--epochs", type=float, default=2.0)
  parser.add_argument("--do_lower_case", default=None,
                      help="true/false (default: the model's)")
  parser.add_argument("--reuse_runs", action="store_true",
                      help="take finished runs' results instead of training "
                      "them again")
  parser.add_argument("--questions", type=int, default=None,
                      help="a quick check: the first N questions of each "
                      "file (writes squad_quick.json)")
  args = parser.parse_args()
  os.makedirs(RUNS, exist_ok=True)
  train_file, predict_file = args.train_file, args.predict_file
  if args.questions:
    train_file = first_questions(train_file, args.questions,
                                 os.path.join(RUNS, "squad_train_quick.json"))
    predict_file = first_questions(
        predict_file, args.questions,
        os.path.join(RUNS, "squad_predict_quick.json"))
  random_dir = random_init(args.init_checkpoint, os.path.join(
      RUNS, "squad_random_init_" + os.path.basename(
          os.path.normpath(args.init_checkpoint))))
  report = {"train_file": os.path.basename(args.train_file),
            "predict_file": os.path.basename(args.predict_file),
            "questions": args.questions,
            "train_questions": count_questions(train_file),
            "predict_questions": count_questions(predict_file),
            "settings": dict({k: v for k, v in vars(args).items()
                              if k not in ("train_file", "predict_file")},
                             init_checkpoint=repo_path(args.init_checkpoint)),
            "runs": {},
            "coverage": vocab_coverage(
                os.path.join(args.init_checkpoint, "vocab.txt"),
                predict_file, args.do_lower_case != "false")}
  for name, init in (("pretrained", args.init_checkpoint),
                     ("random_init", random_dir)):
    report["runs"][name] = fine_tune(name, init, args, train_file,
                                     predict_file)
  os.makedirs(RESULTS, exist_ok=True)
  path = os.path.join(RESULTS, "squad_quick.json" if args.questions
                      else "squad.json")
  with open(path, "w", encoding="utf-8") as f:
    json.dump(report, f, indent=2)
  print("| init | EM | F1 | train ex/s |\n|---|---|---|---|")
  for name, run in report["runs"].items():
    print("| %s | %.2f | %.2f | %s |" % (name, run["exact_match"], run["f1"],
                                        run["train_examples_per_sec"]))
  log("wrote %s" % path)


if __name__ == "__main__":
  main()

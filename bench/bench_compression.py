"""Benchmark: the compression recipe on SST-2, stage by stage, and the
inference speed of each stage beside the Hugging Face peers.

The recipe (docs/compression.md gives it as commands; RECIPE below runs
exactly those):
  1. teacher    all-MiniLM-L6-v2 fine-tuned as quickstart.sh does
                (samples/sst2, 10,000 sentences, 2 epochs, length 64,
                learning rate 5e-5, packed);
  2. student    run_distill.py: the teacher's layers 0, 2, 4, soft loss
                (alpha 0.5, T 2), TinyBERT's hidden (1) and attention (0.1)
                losses, the SST-2 train sentences not in the sample
                (../shared/data/sst2 minus the sample) as --unlabeled_file;
  3. pruned     prune_model.py: half the heads, half the FFN neurons;
  4. recovered  run_distill.py again, the pruned student from the teacher,
                with the hidden loss (the heads differ: no attention loss);
  5. vocab      prune_vocab.py on the training and unlabeled sentences;
  6. int8       export_onnx.py --quantize=dynamic / static (per-column
                weight scales; the teacher also per tensor).
Finished stages are kept (a run directory with run_results.json or an
output folder), so the command resumes.

Each export is measured in a fresh process (bench/latency_protocol.py),
--rounds times, interleaved with the others and the peers (the median is
reported, each round kept):
SST-2 dev accuracy over the 872 dev sentences, batch-1 p50/p99 latency over
the first --sentences of them, batch-32 throughput over all 872 sorted by
length, peak RSS, and the export's size on disk. Then the peers in
bench/.peer-venv (bench/peer_hf_serving.py): HF torch fp32 and dynamic int8,
the HF model exported to ONNX Runtime fp32 and dynamic int8, same
sentences, same protocol, same threads.

  flock /tmp/bench.lock .venv/bin/python bench/bench_compression.py
      [--skip_peers] [--threads 2]

Writes bench/results/compression.json and prints a Markdown table.
"""

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)
sys.path.insert(0, BENCH_DIR)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import latency_protocol  # pylint: disable=g-import-not-at-top
import machine  # pylint: disable=g-import-not-at-top
from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top

DATA_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "data")
RUNS = os.path.join(BENCH_DIR, "runs", "compression")
RESULTS = os.path.join(BENCH_DIR, "results", "compression.json")
SAMPLE = os.path.join(REPO_DIR, "samples", "sst2")
PEER_PY = os.path.join(BENCH_DIR, ".peer-venv", "bin", "python")
PY = sys.executable
SPEED_KEYS = ("batch1_p50_ms", "batch1_p99_ms", "batch32_sentences_per_sec",
              "peak_rss_mb")


def log(msg):
  print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def recipe(minilm, unlabeled):
  """[(stage, script, args)]: the recipe's commands, in order. Paths are
  relative to RUNS except the data."""
  common = ["--max_seq_length=64", "--train_batch_size=32", "--seed=1",
            "--log_every_seconds=60"]
  distill = ["--teacher_dir=teacher", "--data_dir=" + SAMPLE,
             "--unlabeled_file=" + unlabeled, "--alpha=0.5",
             "--temperature=2", "--learning_rate=1e-4",
             "--num_train_epochs=1", "--do_train", "--do_eval",
             "--save_checkpoints_steps=100000", "--cache_dir=distill_features"
             ] + common
  return [
      ("teacher", "run_classifier.py",
       ["--task=sst2", "--data_dir=" + SAMPLE, "--init_checkpoint=" + minilm,
        "--output_dir=teacher", "--do_train", "--do_eval",
        "--num_train_epochs=2", "--learning_rate=5e-5", "--pack_sequences",
        "--eval_every_steps=200", "--save_checkpoints_steps=200"] + common),
      ("student", "run_distill.py",
       ["--output_dir=student", "--student_layers=0,2,4",
        "--hidden_loss_weight=1", "--attention_loss_weight=0.1"] + distill),
      ("pruned", "prune_model.py",
       ["--model_dir=student", "--data_dir=" + SAMPLE, "--output_dir=pruned",
        "--keep_heads=0.5", "--keep_ffn=0.5"]),
      ("recovered", "run_distill.py",
       ["--output_dir=recovered", "--init_checkpoint=pruned",
        "--hidden_loss_weight=1"] + distill),
      ("vocab", "prune_vocab.py",
       ["--model_dir=recovered", "--output_dir=vocab",
        "--corpus_files=%s,%s" % (os.path.join(SAMPLE, "train.tsv"),
                                  unlabeled)]),
  ]


# The exports measured: every trained stage as a SavedModel, and the
# teacher and the recipe's last stage in each ONNX variant.
ONNX_VARIANTS = (
    ("onnx_fp32", ["--quantize=none"]),
    ("onnx_int8_dynamic", ["--quantize=dynamic"]),
    ("onnx_int8_static", ["--quantize=static",
                          "--calibration_file=calibration.txt"]),
    ("onnx_int8_dynamic_tables", ["--quantize=dynamic",
                                  "--quantize_embeddings"]),
)
# (export name, stage run directory, script, extra args); the teacher also
# with one weight scale per tensor, beside the default per-column scales.
EXPORTS = tuple(
    [(stage + "_tf_fp32", stage, "export_savedmodel.py", [])
     for stage in ("teacher", "student", "recovered", "vocab")] +
    [("%s_%s" % (stage, variant), stage, "export_onnx.py", args)
     for stage in ("teacher", "vocab") for variant, args in ONNX_VARIANTS] +
    [("teacher_onnx_int8_dynamic_per_tensor", "teacher", "export_onnx.py",
      ["--quantize=dynamic", "--noper_channel"])])


def unlabeled_file():
  """The SST-2 train sentences that are not in samples/sst2, one a line."""
  path = os.path.join(RUNS, "unlabeled.txt")
  if not os.path.isfile(path):
    sample = set(latency_protocol.read_sst2(
        os.path.join(SAMPLE, "train.tsv"))[0])
    full = latency_protocol.read_sst2(os.path.join(DATA_DIR, "sst2",
                                                   "train.tsv"))[0]
    with atomic.replacing(path) as f:
      f.writelines(s + "\n" for s in full if s not in sample)
  return path


def calibration_file(count=200):
  """The first `count` training sentences of the sample, one a line: the
  static int8 exports' calibration texts."""
  path = os.path.join(RUNS, "calibration.txt")
  texts = latency_protocol.read_sst2(os.path.join(SAMPLE, "train.tsv"))[0]
  with open(path, "w", encoding="utf-8") as f:
    f.writelines(t + "\n" for t in texts[:count])
  return path


def done(stage):
  path = os.path.join(RUNS, stage)
  return (os.path.isfile(os.path.join(path, "run_results.json")) or
          os.path.isfile(os.path.join(path, "structure_pruning.json")) or
          os.path.isfile(os.path.join(path, "vocab_pruning.json")))


def run_script(name, script, args):
  log("%s: %s %s" % (name, script, " ".join(args)))
  started = time.time()
  with open(os.path.join(RUNS, name + ".log"), "w") as logf:
    subprocess.run([PY, os.path.join(REPO_DIR, script)] + list(args),
                   check=True, stdout=logf, stderr=logf, cwd=RUNS)
  seconds = round(time.time() - started, 1)
  log("%s: %.0f s" % (name, seconds))
  return seconds


def size_mb(folder):
  return round(sum(os.path.getsize(os.path.join(d, f))
                   for d, _, files in os.walk(folder) for f in files)
               / 2.0 ** 20, 2)


def measure_export(export_dir, sentences, threads):
  """Runs in a fresh process: accuracy and speed of one export."""
  from bert_toolkit.serving import predictor as predictor_lib  # pylint: disable=g-import-not-at-top
  texts, gold = latency_protocol.read_sst2(os.path.join(SAMPLE, "dev.tsv"))
  predictor = predictor_lib.Predictor(export_dir, batch_size=32,
                                      num_threads=threads)
  labels = [a["label"] for a in predictor.predict(texts)]
  speed = latency_protocol.measure(
      predictor.predict, texts[:sentences], texts,
      lambda t: len(predictor.encode(t)["input_ids"]))
  speed["dev_accuracy"] = round(sum(a == b for a, b in zip(labels, gold))
                                / float(len(gold)), 4)
  speed["labels"] = labels
  return speed


# serve.py on the int8 exports: request batching off and on.
SERVER_EXPORTS = ("teacher_tf_fp32", "teacher_onnx_int8_dynamic",
                  "vocab_onnx_int8_dynamic_tables")
SERVER_MODES = (("batching_off", ["--max_batch_size=0"]),
                ("batching_on", ["--max_batch_size=32"]))


def server_figures(export_dir, clients, requests):
  """serve.py alone on the machine: one client (idle latency), then
  `clients` concurrent clients, each sending `requests` single-sentence
  requests (bench/bench_serving.py's client)."""
  import bench_serving  # pylint: disable=g-import-not-at-top
  texts = bench_serving.sentences()
  out = {}
  for mode, extra in SERVER_MODES:
    idle = bench_serving.bench_server(export_dir, texts, 1, requests, extra)
    loaded = bench_serving.bench_server(export_dir, texts, clients, requests,
                                        extra)
    out[mode] = {"idle": idle, "loaded": loaded}
  return out


def measured(command, out):
  subprocess.run(command, check=True, cwd=REPO_DIR)
  with open(out) as f:
    return json.load(f)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--sentences", type=int, default=256)
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--skip_peers", action="store_true")
  parser.add_argument("--skip_speed", action="store_true",
                      help="train and export only")
  parser.add_argument("--rounds", type=int, default=5,
                      help="measurements of each model, interleaved")
  parser.add_argument("--server_rounds", type=int, default=2)
  parser.add_argument("--clients", type=int, default=8)
  parser.add_argument("--requests", type=int, default=200)
  parser.add_argument("--skip_server", action="store_true")
  parser.add_argument("--measure", help=argparse.SUPPRESS)
  parser.add_argument("--out", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.measure:                  # the fresh process of one measurement
    result = measure_export(args.measure, args.sentences, args.threads)
    with open(args.out, "w") as f:
      json.dump(result, f)
    return

  from minilm_model import converted_model  # pylint: disable=g-import-not-at-top
  hf_dir, tf_dir = converted_model()
  os.makedirs(RUNS, exist_ok=True)
  results = {"machine": machine.describe(),
             "threads": args.threads, "sentences": args.sentences,
             "train_seconds": {}, "stages": {}, "peers": {}}
  if os.path.isfile(RESULTS):
    with open(RESULTS) as f:
      results["train_seconds"] = json.load(f).get("train_seconds", {})
  for stage, script, stage_args in recipe(tf_dir, unlabeled_file()):
    if done(stage):
      log("%s: kept" % stage)
      continue
    shutil.rmtree(os.path.join(RUNS, stage), ignore_errors=True)
    results["train_seconds"][stage] = run_script(stage, script, stage_args)
  for stage in ("teacher", "student", "recovered"):
    with open(os.path.join(RUNS, stage, "run_results.json")) as f:
      results.setdefault("run_eval", {})[stage] = json.load(f)["eval"]
  with open(os.path.join(RUNS, "pruned", "structure_pruning.json")) as f:
    structure = json.load(f)
  with open(os.path.join(RUNS, "vocab", "vocab_pruning.json")) as f:
    vocab = json.load(f)
  results["pruning"] = {
      key: structure[key] for key in ("heads_before", "heads_after",
                                      "neurons_before", "neurons_after")}
  results["pruning"].update(vocab_before=vocab["vocab_size_before"],
                            vocab_after=vocab["vocab_size_after"],
                            corpus_texts=vocab["texts"])
  with open(unlabeled_file(), encoding="utf-8") as f:
    results["unlabeled_sentences"] = sum(1 for _ in f)
  exports = os.path.join(RUNS, "exports")
  calibration_file()
  for name, stage, script, extra in EXPORTS:
    target = os.path.join(exports, name)
    if not os.path.isdir(target):
      run_script("export_" + name, script,
                 ["--model_dir=" + stage, "--export_dir=" + target] + extra)
  if args.skip_speed:
    return
  # Rounds, interleaved (every model once, then again): this machine's
  # speed drifts by up to 2x between minutes, so each figure is the median
  # of its rounds, all taken in the same stretch of time.
  peer_backends = () if args.skip_peers else (
      "torch_fp32", "torch_int8_dynamic", "ort_fp32", "ort_int8_dynamic")
  if peer_backends and not os.path.isfile(PEER_PY):
    sys.exit("%s missing: run bash bench/setup_peer_venv.sh" % PEER_PY)
  rounds = collections.defaultdict(list)
  for round_index in range(args.rounds):
    for name, _, _, _ in EXPORTS:
      log("round %d: %s" % (round_index + 1, name))
      out = os.path.join(RUNS, "measure_%s.json" % name)
      rounds[("stages", name)].append(measured(
          [PY, __file__, "--measure", os.path.join(exports, name), "--out",
           out, "--threads", str(args.threads), "--sentences",
           str(args.sentences)], out))
    for backend in peer_backends:
      log("round %d: HF %s" % (round_index + 1, backend))
      out = os.path.join(RUNS, "peer_%s.json" % backend)
      rounds[("peers", backend)].append(measured(
          [PEER_PY, os.path.join(BENCH_DIR, "peer_hf_serving.py"),
           "--hf_dir", hf_dir, "--backend", backend,
           "--dev_file", os.path.join(SAMPLE, "dev.tsv"),
           "--work_dir", os.path.join(RUNS, "peer"), "--out", out,
           "--threads", str(args.threads), "--sentences",
           str(args.sentences)], out))
  for (group, name), measurements in rounds.items():
    entry = dict(measurements[0])
    for key in SPEED_KEYS:
      entry[key] = statistics.median(m[key] for m in measurements)
      entry[key + "_rounds"] = [m[key] for m in measurements]
    if group == "stages":
      entry["size_mb"] = size_mb(os.path.join(exports, name))
    results[group][name] = entry
  results["rounds"] = args.rounds
  reference = results["stages"]["teacher_tf_fp32"]["labels"]
  for entry in results["stages"].values():
    labels = entry.pop("labels")
    entry["agreement_with_teacher_tf"] = round(sum(
        a == b for a, b in zip(labels, reference)) / float(len(labels)), 4)
  if not args.skip_server:                 # a list of rounds per export
    for round_index in range(args.server_rounds):
      for name in SERVER_EXPORTS:
        log("round %d: serve.py %s" % (round_index + 1, name))
        results.setdefault("server", {}).setdefault(name, []).append(
            server_figures(os.path.join(exports, name), args.clients,
                           args.requests))
  os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
  from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top
  with atomic.replacing(RESULTS) as f:
    json.dump(results, f, indent=2)
  print(table(results))
  log("wrote %s" % RESULTS)


def table(results):
  lines = ["| model | SST-2 dev accuracy | batch-1 p50 ms | p99 ms | "
           "batch-32 sent/s | size MB | peak RSS MB |",
           "|---|---|---|---|---|---|---|"]
  for name, e in list(results["stages"].items()) + [
      ("HF " + k, v) for k, v in results["peers"].items()]:
    lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
        name, e.get("dev_accuracy", ""), e["batch1_p50_ms"],
        e["batch1_p99_ms"], e["batch32_sentences_per_sec"],
        e.get("size_mb", ""), e["peak_rss_mb"]))
  return "\n".join(lines)


if __name__ == "__main__":
  main()

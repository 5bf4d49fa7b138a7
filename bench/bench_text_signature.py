"""Benchmark: the `text` signature (tokenization in the graph) against
serving_default fed by the Python tokenizer, batch 32, on SST-2 sentences.

Model: all-MiniLM-L6-v2 (.cache/minilm_tf1, bench/minilm_model.py), a
classifier fine-tuned for 10 steps on the first 320 sentences of
samples/sst2/train.tsv (latency does not depend on the weights), exported to
bench/runs/text_signature_export. Inputs: samples/sst2/dev.tsv sentences in
batches of 32, max_seq_length 64.

  text signature  Predictor.run_text(batch): one Session.run, tokenizing in
                  the graph.
  python + graph  encode each sentence with the Python tokenizer (as the
                  Predictor does), pad, Predictor.run(...) on serving_default.

  flock /tmp/bench.lock .venv/bin/python bench/bench_text_signature.py

Writes bench/results/text_signature.json and prints a Markdown table.
"""

import json
import os
import shutil
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

from bench import minilm_model  # pylint: disable=g-import-not-at-top
from bert_toolkit import settings as settings_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top
from bert_toolkit.serving import export as export_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.serving import predictor as predictor_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.tasks import classifier  # pylint: disable=g-import-not-at-top

RUNS = os.path.join(BENCH_DIR, "runs")
RUN_DIR = os.path.join(RUNS, "text_signature_run")
EXPORT_DIR = os.path.join(RUNS, "text_signature_export")
RESULTS = os.path.join(BENCH_DIR, "results", "text_signature.json")
SST2 = os.path.join(REPO_DIR, "samples", "sst2")
BATCH = 32


def ensure_export():
  """A version dir of the MiniLM SST-2 export, trained and exported once."""
  if not os.path.isfile(os.path.join(RUN_DIR, "run_info.json")):
    _, tf_dir = minilm_model.converted_model()
    data = os.path.join(RUNS, "text_signature_data")
    os.makedirs(data, exist_ok=True)
    for split, n in (("train", 320), ("dev", 32)):
      with open(os.path.join(SST2, split + ".tsv"), encoding="utf-8") as f:
        lines = f.readlines()[:n + 1]
      with open(os.path.join(data, split + ".tsv"), "w",
                encoding="utf-8") as f:
        f.writelines(lines)
    runner.run(classifier.Classifier("sst2"), settings_lib.RunSettings(
        data_dir=data, output_dir=RUN_DIR, init_checkpoint=tf_dir,
        train=settings_lib.TrainSettings(
            num_train_epochs=1.0, train_batch_size=32, learning_rate=1e-4,
            save_checkpoints_steps=100, log_every_seconds=30.0, seed=1),
        max_seq_length=64, do_train=True))
  shutil.rmtree(EXPORT_DIR, ignore_errors=True)
  return export_lib.export(RUN_DIR, EXPORT_DIR)["export_dir"]


def python_and_graph(predictor, batch):
  rows = [predictor.encode(t) for t in batch]
  arrays = predictor_lib.pad_batch(rows)
  return predictor.run(arrays["input_ids"], arrays["input_mask"],
                       arrays["segment_ids"])


def timed(fn, batches, repeats):
  seconds = []
  for _ in range(repeats):
    for batch in batches:
      start = time.perf_counter()
      fn(batch)
      seconds.append(time.perf_counter() - start)
  ms = np.asarray(seconds) * 1000
  return {"n": int(ms.size), "median_ms": round(float(np.median(ms)), 2),
          "p90_ms": round(float(np.percentile(ms, 90)), 2)}


def main():
  tf.disable_eager_execution()
  export_dir = ensure_export()
  predictor = predictor_lib.Predictor(export_dir, num_threads=2)
  with open(os.path.join(SST2, "dev.tsv"), encoding="utf-8") as f:
    texts = [l.split("\t")[0].strip() for l in f.readlines()[1:]]
  batches = [texts[i:i + BATCH] for i in range(0, len(texts) - BATCH + 1,
                                                BATCH)]
  for batch in batches[:3]:                            # warm up, and check
    a, b = predictor.run_text(batch), python_and_graph(predictor, batch)
    assert a["label"].tolist() == b["label"].tolist()
    assert np.abs(a["probabilities"] - b["probabilities"]).max() < 1e-5
  tokenize_only = timed(lambda batch: [predictor.encode(t) for t in batch],
                        batches, 2)
  text = timed(predictor.run_text, batches, 2)
  python = timed(lambda batch: python_and_graph(predictor, batch), batches, 2)
  result = {"model": "all-MiniLM-L6-v2, SST-2 classifier (max_seq_length "
                     "64)", "batch": BATCH, "batches": len(batches),
            "text_signature": text, "python_tokenizer_and_serving_default":
            python, "python_tokenizer_alone": tokenize_only,
            "date": time.strftime("%Y-%m-%d"),
            "machine": "shared, 2 cores (others working at the same time)"}
  os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
  with open(RESULTS, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=2)
  print("| batch of 32 SST-2 sentences | median ms | p90 ms |")
  print("| --- | --- | --- |")
  for name, key in (("`text` signature (tokenizing in the graph)",
                     "text_signature"),
                    ("Python tokenizer + `serving_default`",
                     "python_tokenizer_and_serving_default"),
                    ("Python tokenizer alone", "python_tokenizer_alone")):
    print("| %s | %s | %s |" % (name, result[key]["median_ms"],
                                result[key]["p90_ms"]))


if __name__ == "__main__":
  main()

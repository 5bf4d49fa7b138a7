"""One inference-speed protocol, shared by this project's backends and the
Hugging Face peers (bench/peer_hf_serving.py imports it from the peer venv,
so it needs only numpy and the standard library).

  measure(predict, single_texts, batch_texts, length)
    predict(list of texts) -> anything; runs the model, tokenization
      included;
    length(text) -> its length in WordPieces (orders the batches).

  batch-1 latency: each of single_texts on its own, after WARMUP_SECONDS of
    batch-1 calls; the median (p50) and p99 in milliseconds. (Measured
    here: a fresh process runs batch 1 up to 1.8x slower for its first
    second or so, whatever ran before; a fixed count of warm-up calls left
    some rounds inside that phase.)
  batch-32 throughput: batch_texts sorted by length, in batches of 32 (each
    padded to its own longest), after one warm-up batch; sentences/second.
  peak RSS: the process's maximum resident set so far (ru_maxrss), in MB;
    measure each model in a fresh process for it to mean that model.
"""

import resource
import sys
import time

import numpy as np

BATCH = 32
WARMUP_SECONDS = 2.0


def peak_rss_mb():
  """The process's peak resident set in MB (Linux reports KB)."""
  kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  return round(kb / 1024.0 if sys.platform != "darwin" else
               kb / 2.0 ** 20, 1)


def measure(predict, single_texts, batch_texts, length):
  """{batch1_p50_ms, batch1_p99_ms, batch32_sentences_per_sec, peak_rss_mb}."""
  start = time.perf_counter()
  while time.perf_counter() - start < WARMUP_SECONDS:
    for text in single_texts[:16]:
      predict([text])
  times = []
  for text in single_texts:
    start = time.perf_counter()
    predict([text])
    times.append(time.perf_counter() - start)
  ms = np.asarray(times) * 1000.0
  ordered = sorted(batch_texts, key=length)
  batches = [ordered[i:i + BATCH] for i in range(0, len(ordered), BATCH)]
  predict(batches[0])
  start = time.perf_counter()
  for batch in batches:
    predict(batch)
  seconds = time.perf_counter() - start
  return {"batch1_p50_ms": round(float(np.median(ms)), 2),
          "batch1_p99_ms": round(float(np.percentile(ms, 99)), 2),
          "batch32_sentences_per_sec": round(len(batch_texts) / seconds, 1),
          "peak_rss_mb": peak_rss_mb()}


def read_sst2(path):
  """(sentences, labels) of an SST-2 TSV (sentence<TAB>label, a header)."""
  with open(path, encoding="utf-8") as f:
    rows = [line.rstrip("\n").split("\t") for line in f.readlines()[1:]]
  return [r[0].strip() for r in rows], [r[1].strip() for r in rows]

"""Padding: how much of what the encoder computes in an epoch is padding,
for each way of batching SST-2 train (batch 32, max_seq_length 128).

The sentences' lengths are their WordPiece lengths with all-MiniLM-L6-v2's
vocabulary ([CLS] and [SEP] included, at most 128). Each scheme's batches
of one epoch (2,104 batches of 32) are counted as the encoder sees them:

  default     the default: this project's training input_fn, run on
              records of those lengths (batches grouped by length, each
              padded to its longest: input_pipeline.group_by_length)
  packed      --pack_sequences: the same input_fn; the packed rows
  buckets     each sentence padded to the smallest of 16, 32, 48, 64, 96,
              128 that holds it (input_pipeline.bucket_sizes: the rule the
              default followed before grouping, and packing's row lengths)
  longest     shuffled batches padded to their longest sentence (what HF's
              DataCollatorWithPadding does)
  fixed       every sentence padded to 128 (Google's run_classifier.py)

No timing: the figures are counts, and the same on any machine.

  .venv/bin/python bench/padding.py [--out bench/results/padding.json]

Writes bench/results/padding.json and prints a Markdown table.
"""

import argparse
import os
import sys
import tempfile

import numpy as np

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, REPO_DIR)
sys.path.insert(0, BENCH_DIR)

import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

from bench_training import BATCH, LENGTH, sst2_lengths  # pylint: disable=g-import-not-at-top
from minilm_model import converted_model  # pylint: disable=g-import-not-at-top
from bert_toolkit.data import features as features_lib  # pylint: disable=g-import-not-at-top
from bert_toolkit.engine import input_pipeline  # pylint: disable=g-import-not-at-top
from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top


def pipeline_counts(path, num_examples, steps, pack):
  """(computed tokens, real tokens, distinct shapes) of `steps` training
  batches of this project's input_fn."""
  input_fn = input_pipeline.input_fn_builder(
      path, BATCH, LENGTH, True, pack_sequences=pack,
      num_examples=num_examples)
  name = "packed_input_ids" if pack else "input_ids"
  computed = real = 0
  shapes = set()
  with tf.Graph().as_default():
    batch = tf.data.make_one_shot_iterator(input_fn()).get_next()
    fetch = {"ids": tf.shape(batch[name]), "length": batch["length"]}
    with tf.Session() as sess:
      for _ in range(steps):
        out = sess.run(fetch)
        computed += int(np.prod(out["ids"]))
        real += int(out["length"].sum())
        shapes.add(tuple(out["ids"]))
  return computed, real, len(shapes)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--out", default=os.path.join(
      BENCH_DIR, "results", "padding.json"))
  args = parser.parse_args()
  lengths = np.array(sst2_lengths(converted_model()[1]))
  steps = len(lengths) // BATCH
  results = {"data": "SST-2 train", "examples": len(lengths),
             "batch_size": BATCH, "max_seq_length": LENGTH,
             "batches": steps,
             "lengths": {"mean": round(float(lengths.mean()), 2),
                         "median": float(np.median(lengths)),
                         "longest": int(lengths.max())},
             "schemes": {}}

  def add(name, computed, real, shapes):
    results["schemes"][name] = {
        "computed_tokens": computed, "real_tokens": real,
        "padding": round(1 - real / computed, 4), "shapes": shapes}

  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "train.tf_record")
    with tf.io.TFRecordWriter(path) as writer:
      for i, n in enumerate(lengths):
        writer.write(features_lib.serialize({
            "input_ids": [1] * int(n), "segment_ids": [0] * int(n),
            "label_ids": [0], "example_index": [i]}))
    add("default", *pipeline_counts(path, len(lengths), steps, False))
    add("packed", *pipeline_counts(path, len(lengths), steps, True))
  order = np.random.RandomState(0).permutation(len(lengths))
  shuffled = lengths[order][:steps * BATCH].reshape(steps, BATCH)
  real = int(shuffled.sum())
  buckets = np.array(input_pipeline.bucket_sizes(LENGTH))
  padded = buckets[np.searchsorted(buckets, shuffled)]
  add("buckets", int(padded.sum()), real, len(np.unique(padded)))
  longest = shuffled.max(1)
  add("longest", int(longest.sum()) * BATCH, real, len(np.unique(longest)))
  add("fixed", steps * BATCH * LENGTH, real, 1)
  atomic.atomic_json(args.out, results)
  print("| batching | padding | computed tokens | distinct shapes |")
  print("|---|---|---|---|")
  for name, s in results["schemes"].items():
    print("| %s | %.1f%% | %.2fM | %d |" % (
        name, 100 * s["padding"], s["computed_tokens"] / 1e6, s["shapes"]))


if __name__ == "__main__":
  main()

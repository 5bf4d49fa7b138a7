"""Fault test: kill -9 a short training run at many points, rerun the same
command each time, and get the uninterrupted run's weights, best
checkpoint and results, with no stale file left behind.

Kill points: while the training features are written (the test waits for
the temporary file to appear), during training, at checkpoint saves,
during evaluations, right after an evaluation (while best/ is replaced),
during the final evaluation / prediction, and at random times. Dropout is
off (a resumed session cannot replay dropout masks) and the data order is
seeded, so a resumed run sees exactly the batches an uninterrupted one
does.
"""

import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR
from tests.paths import REPO_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
STEPS = 40

# (what to wait for, which occurrence in that run, extra delay in seconds)
# or ("after", seconds since start, None). "features" waits for the
# training features' temporary file.
# One kill at each kind of point: feature writing, a training step, a
# checkpoint being written, an evaluation starting and being recorded, the
# best checkpoint being kept, and at a random time.
KILL_PLAN = [
    ("features", 1, 0.0),
    ("train: step", 1, 0.0),
    ("Saving checkpoints for", 2, 0.01),
    ("Starting evaluation", 1, 0.3),
    ("Saving dict for global step", 1, 0.0),
    ("Eval results", 1, 0.0),
    ("after", 3.0, None),
]


def _data(root):
  d = os.path.join(root, "data")
  os.makedirs(d)
  for split, n in (("train", 2000), ("dev", 48), ("test", 24)):
    with open(os.path.join(DATA_DIR, "chnsenticorp", split + ".tsv"),
              encoding="utf-8") as f:
      lines = f.readlines()[:n + 1]
    with open(os.path.join(d, split + ".tsv"), "w", encoding="utf-8") as f:
      f.writelines(lines)
  return d


def _model_without_dropout(root):
  folder = os.path.join(root, "bert")
  shutil.copytree(BERT_DIR, folder)
  path = os.path.join(folder, "bert_config.json")
  config = json.load(open(path))
  config["hidden_dropout_prob"] = config["attention_probs_dropout_prob"] = 0
  json.dump(config, open(path, "w"))
  return folder


def _command(data, model, out):
  epochs = STEPS * 16 / 2000.0
  return [sys.executable, os.path.join(REPO_DIR, "run_classifier.py"),
          "--task=chnsenticorp", "--data_dir=" + data,
          "--init_checkpoint=" + model, "--output_dir=" + out,
          "--do_train", "--do_eval", "--do_predict", "--max_seq_length=64",
          "--train_batch_size=16", "--num_train_epochs=%r" % epochs,
          "--learning_rate=1e-3", "--seed=7", "--eval_every_steps=10",
          "--save_checkpoints_steps=5", "--log_every_seconds=0.2"]


def _run(cmd, out, what=None, nth=1, delay=0.0):
  """Runs cmd; kills it with SIGKILL at the given point. Returns
  (killed, returncode, log, note)."""
  proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          cwd=REPO_DIR,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  note = {}
  lines = []

  def kill():
    try:
      proc.send_signal(signal.SIGKILL)
    except ProcessLookupError:
      pass

  if what == "after":
    threading.Timer(nth, kill).start()
  elif what == "features":
    def watch():
      pattern = os.path.join(out, "features", "train-*.tf_record.tmp-*")
      while proc.poll() is None:
        if glob.glob(pattern):
          kill()
          note["tmp_seen"] = True
          return
        time.sleep(0.005)
    threading.Thread(target=watch, daemon=True).start()
  seen = 0
  for line in proc.stderr:
    lines.append(line)
    if what not in (None, "after", "features") and what in line:
      seen += 1
      if seen == nth:
        time.sleep(delay)
        kill()
  proc.wait()
  return proc.returncode == -signal.SIGKILL, proc.returncode, "".join(
      lines), note


def _values(prefix):
  reader = tf.train.load_checkpoint(prefix)
  return {n: reader.get_tensor(n)
          for n in reader.get_variable_to_shape_map()}


def _evaluated_steps(out):
  """Global steps of the evaluations during training (TensorBoard)."""
  steps = set()
  for path in glob.glob(os.path.join(out, "eval", "events.out.tfevents*")):
    for event in tf.train.summary_iterator(path):
      if any(v.tag == "accuracy" for v in event.summary.value):
        steps.add(event.step)
  return steps


def _stale(out):
  found = []
  for root, dirs, files in os.walk(out):
    for name in dirs + files:
      if (".tmp" in name or name.endswith((".old", "_temp")) or
          "_temp_" in name):
        found.append(os.path.join(root, name))
  return found


@pytest.mark.slow
def test_killed_at_random_points_finishes_with_the_same_weights(tmp_path):
  root = str(tmp_path)
  data = _data(root)
  model = _model_without_dropout(root)
  clean = os.path.join(root, "clean")
  killed_out = os.path.join(root, "killed")
  killed, code, log, _ = _run(_command(data, model, clean), clean)
  assert code == 0, log[-3000:]

  random.seed(12)
  kills, notes = 0, []
  for what, nth, delay in KILL_PLAN:
    if what == "after":
      nth = nth + random.uniform(-0.5, 0.5)
    killed, code, log, note = _run(_command(data, model, killed_out),
                                   killed_out, what, nth, delay)
    assert killed or code == 0, log[-3000:]
    kills += int(killed)
    last = [l for l in log.splitlines() if l.startswith("INFO")][-1:]
    notes.append((what, killed, note, last[0][:100] if last else ""))
  for note in notes:
    print("kill %-28s killed=%s %s | last line: %s" % note)
  assert kills >= 5, notes
  assert notes[0][2].get("tmp_seen"), "the first kill missed feature writing"
  killed, code, log, _ = _run(_command(data, model, killed_out), killed_out)
  assert code == 0, log[-3000:]

  # Same final weights (and optimizer state), same best checkpoint, same
  # results.
  a = _values(tf.train.latest_checkpoint(clean))
  b = _values(tf.train.latest_checkpoint(killed_out))
  assert set(a) == set(b)
  for name in a:
    np.testing.assert_allclose(a[name], b[name], atol=1e-5, err_msg=name)
  best_a = json.load(open(os.path.join(clean, "best", "best.json")))
  best_b = json.load(open(os.path.join(killed_out, "best", "best.json")))
  assert best_a["step"] == best_b["step"]
  assert best_a["last_eval_step"] == best_b["last_eval_step"] == STEPS
  # Evaluated at the same steps (the killed run at some of them twice).
  assert _evaluated_steps(clean) == _evaluated_steps(killed_out) == set(
      range(10, STEPS + 1, 10))
  results_a = json.load(open(os.path.join(clean, "run_results.json")))
  results_b = json.load(open(os.path.join(killed_out, "run_results.json")))
  assert results_b["train"]["global_step"] == STEPS
  assert results_a["eval"]["accuracy"] == results_b["eval"]["accuracy"]
  assert abs(results_a["eval"]["loss"] - results_b["eval"]["loss"]) < 1e-4
  rows_a = open(os.path.join(clean, "test_results.tsv")).read().split("\n")
  rows_b = open(os.path.join(killed_out, "test_results.tsv")).read().split(
      "\n")
  assert [r.split("\t")[:2] for r in rows_a] == [
      r.split("\t")[:2] for r in rows_b]
  # Nothing stale: no temporaries of killed writers, no half-swapped best.
  assert _stale(killed_out) == []

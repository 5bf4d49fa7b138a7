"""A run's learning curves as JSON lines: output_dir/curves.jsonl.

Training appends, and the studio (or anyone) reads. One object a line:

  {"kind": "start", "step": 0, "total_steps": 120}    training (re)starts
  {"kind": "train", "step": 20, "loss": 0.41, "lr": 4.8e-05}
  {"kind": "eval", "step": 100, "accuracy": 0.86, "loss": 0.38, ...}

Eval lines come from each evaluation during training and from the final
evaluation (at the step of the checkpoint it evaluated).

Rules:
  - A "train" line holds the means of loss and lr over the steps since the
    previous train line (at most `every_steps` of them); `step` is the
    global step after the last of them.
  - A "start" line is written each time training starts, with the global
    step it starts from and the step training ends at (`total_steps`). A run killed after step 130 but last saved at 100
    trains steps 101..130 again: the reader drops every train and eval
    line with a step above a later start's step, written before it.
  - For two lines of one kind and step, the later one wins.
  - Nothing here needs TensorFlow; a line that does not parse (a write cut
    short by a kill) is skipped by the reader. A loss that is not finite
    (a diverged run) is written as null, a gap in the curve.
"""

import json
import math
import os

CURVES_FILE = "curves.jsonl"


def append(path, record):
  """Appends one record as a line (a single write, flushed), on a new line
  if the file's last line was cut short. A value that is not a finite
  number (a diverged loss) is written as null."""
  record = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in record.items()}
  line = (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode(
      "utf-8")
  with open(path, "ab+") as f:
    # A write cut short by a kill leaves a line without its end: the next
    # record starts on a line of its own, not glued to that one.
    if f.seek(0, os.SEEK_END):
      f.seek(-1, os.SEEK_END)
      if f.read(1) != b"\n":
        line = b"\n" + line
    f.write(line)


class Averager(object):
  """Means of named scalars over the steps between two train lines."""

  def __init__(self, every_steps):
    self.every_steps = max(1, int(every_steps))
    self.sums = {}
    self.count = 0

  def add(self, step, values):
    """Counts one step's values; returns a train record when `step` is a
    multiple of every_steps (else None)."""
    for name, value in values.items():
      self.sums[name] = self.sums.get(name, 0.0) + float(value)
    self.count += 1
    if step % self.every_steps:
      return None
    return self.flush(step)

  def flush(self, step):
    """The record of the steps counted so far (None if none), and reset."""
    if not self.count:
      return None
    record = {"kind": "train", "step": int(step)}
    record.update({k: v / self.count for k, v in sorted(self.sums.items())})
    self.sums, self.count = {}, 0
    return record


def every_steps_for(total_steps, points=200):
  """A train line every this many steps: about `points` lines a run."""
  return max(1, int(total_steps or 0) // points)


def read(path):
  """{"train": [records], "eval": [records]}, by step, with the rules of the
  module docstring applied (records without "kind"). Missing file: empty."""
  curves = {"train": {}, "eval": {}}
  for kind, step, record in _records(path):
    if kind == "start":
      for points in curves.values():
        for later in [s for s in points if s > step]:
          del points[later]
    elif kind in curves:
      curves[kind][step] = {k: v for k, v in record.items() if k != "kind"}
  return {kind: [points[s] for s in sorted(points)]
          for kind, points in curves.items()}


def progress(path):
  """(step, total_steps) of the run writing `path`: the newest start or
  train line's step, and the newest start line's total_steps; (None, None)
  before training has started (or a missing file). Train lines come every
  `every_steps_for(total)` steps (every step up to 400 steps), so this
  moves long before a log's timed progress line."""
  step = total = None
  for kind, at, record in _records(path):
    if kind == "start":
      step, total = at, record.get("total_steps", total)
    elif kind == "train":
      step = at
  return step, total


def _records(path):
  """(kind, step, record) of each line that parses, in file order; none
  for a missing file."""
  if not os.path.isfile(path):
    return
  with open(path, encoding="utf-8") as f:
    for line in f:
      try:
        record = json.loads(line)
        kind, step = record["kind"], int(record["step"])
      except (ValueError, KeyError, TypeError):
        continue
      yield kind, step, record

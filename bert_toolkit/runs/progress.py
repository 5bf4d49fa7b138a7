"""Progress lines for long loops: steps/sec, examples/sec, ETA.

    progress = Progress("extract", total_examples=n)
    for batch in batches:
      ...
      progress.update(examples=len(batch))
    progress.done()
"""

import time

import tensorflow.compat.v1 as tf


def format_seconds(seconds):
  """12345 -> '3:25:45'."""
  seconds = int(max(0, seconds))
  return "%d:%02d:%02d" % (seconds // 3600, (seconds // 60) % 60, seconds % 60)


class Progress(object):
  """Logs rate and ETA at most every `every_seconds` seconds.

  The final rates and time (rates, done) run to the last counted work:
  what follows it before done() (a training run's final checkpoint) is
  not in them, as a first step's start-up is not (untimed_steps).
  """

  def __init__(self, name, total_examples=None, total_steps=None,
               every_seconds=10.0, log_fn=None, clock=time.time,
               start_step=0):
    """Args:
      name: what is running ("train", "write train features", ...).
      total_examples / total_steps: for the ETA (either may be None).
      every_seconds: minimum time between two lines.
      log_fn: where lines go (tf.logging.info).
      clock: time source (tests pass a fake).
      start_step: steps already done before this loop (a resumed run):
        shown in the step count and the ETA, not in the rates.
    """
    self.name = name
    self.start_step = start_step
    self.total_examples = total_examples
    self.total_steps = total_steps
    self.every_seconds = every_seconds
    self.log_fn = log_fn or tf.logging.info
    self.clock = clock
    self.start = clock()
    self.last_log = self.start
    self.last_update = self.start
    self.steps = 0
    self.examples = 0
    # Work done before the clock started (e.g. a first step that carries
    # graph start-up): in the totals of the final line, not in the rates.
    self.untimed_steps = 0
    self.untimed_examples = 0

  def update(self, examples=0, steps=1, extra=""):
    """Counts work done; logs when `every_seconds` have passed."""
    self.steps += steps
    self.examples += examples
    now = self.clock()
    self.last_update = now
    if now - self.last_log >= self.every_seconds:
      self.last_log = now
      self.log_fn(self.line(extra))

  def line(self, extra=""):
    """The progress line for the work counted so far."""
    elapsed = max(self.clock() - self.start, 1e-9)
    steps_per_sec = self.steps / elapsed
    examples_per_sec = self.examples / elapsed
    parts = ["%s: step %d" % (self.name, self.start_step + self.steps)]
    if self.total_steps:
      parts[0] += "/%d" % self.total_steps
    parts.append("%.2f steps/sec" % steps_per_sec)
    parts.append("%.1f examples/sec" % examples_per_sec)
    eta = self.eta(steps_per_sec, examples_per_sec)
    if eta is not None:
      parts.append("ETA %s" % format_seconds(eta))
    if extra:
      parts.append(extra)
    return ", ".join(parts)

  def eta(self, steps_per_sec, examples_per_sec):
    """Seconds left, from whichever total is known (None if neither)."""
    if self.total_steps and steps_per_sec > 0:
      return (self.total_steps - self.start_step - self.steps) / steps_per_sec
    if self.total_examples and examples_per_sec > 0:
      return (self.total_examples - self.examples) / examples_per_sec
    return None

  def rates(self):
    """dict: steps, examples, seconds, steps_per_sec, examples_per_sec."""
    seconds = max(self.last_update - self.start, 1e-9)
    return {"steps": self.steps, "examples": self.examples,
            "seconds": round(seconds, 3),
            "steps_per_sec": self.steps / seconds,
            "examples_per_sec": self.examples / seconds}

  def done(self, extra=""):
    """Logs the final line with totals and elapsed time."""
    elapsed = self.last_update - self.start
    total_steps = self.steps + self.untimed_steps
    steps = "%d steps, " % total_steps if total_steps else ""
    untimed = (", the first %d not timed" % self.untimed_steps
               if self.untimed_steps else "")
    self.log_fn("%s: done, %s%d examples in %s (%.1f examples/sec%s)%s"
                % (self.name, steps, self.examples + self.untimed_examples,
                   format_seconds(elapsed),
                   self.examples / max(elapsed, 1e-9), untimed,
                   ", " + extra if extra else ""))


def track(iterable, name, total_examples=None, every_seconds=10.0):
  """Yields from `iterable`, logging progress (one item = one example)."""
  progress = Progress(name, total_examples=total_examples,
                      every_seconds=every_seconds)
  for item in iterable:
    progress.update(examples=1, steps=0)
    yield item
  progress.done()

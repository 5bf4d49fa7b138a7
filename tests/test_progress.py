"""Progress lines: rates, ETA, and totals that count every batch."""

import tensorflow.compat.v1 as tf

from bert_toolkit.engine import training
from bert_toolkit.runs.progress import Progress


class FakeClock(object):

  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


def test_rates_eta_and_untimed_work_in_the_totals():
  clock, lines = FakeClock(), []
  progress = Progress("eval", total_examples=100, every_seconds=1.0,
                      log_fn=lines.append, clock=clock)
  progress.untimed_steps, progress.untimed_examples = 1, 20
  clock.now += 2.0
  progress.update(examples=40, steps=2)
  assert lines[-1] == ("eval: step 2, 1.00 steps/sec, 20.0 examples/sec, "
                       "ETA 0:00:03")
  clock.now += 2.0
  progress.update(examples=20, steps=1)
  # What follows the last counted work (a final checkpoint) is not timed.
  clock.now += 5.0
  progress.done()
  assert lines[-1] == ("eval: done, 4 steps, 80 examples in 0:00:04 "
                       "(15.0 examples/sec, the first 1 not timed)")
  assert progress.rates()["examples_per_sec"] == 15.0
  assert progress.rates()["seconds"] == 4.0


def test_hook_counts_the_first_batch_in_the_totals():
  lines = []
  with tf.Graph().as_default():
    batch = tf.placeholder(tf.int32, [])
    hook = training.ProgressHook("evaluate", {"batch_size": batch},
                                 total_examples=72, every_seconds=1e9)
    with tf.train.MonitoredSession(hooks=[hook]) as sess:
      for size in (32, 32, 8):
        sess.run(batch, {batch: size})
      hook.progress.log_fn = lines.append
  assert lines and lines[-1].startswith("evaluate: done, 3 steps, 72 examples")

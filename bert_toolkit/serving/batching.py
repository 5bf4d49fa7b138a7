"""Request batching: rows of concurrent requests share one Session.run.

  batcher = Batcher(predictor.run_rows, max_batch_size=32,
                    batch_timeout_micros=0)
  outputs = batcher.run_rows(rows)      # from any thread; blocks

One worker thread takes the waiting requests in arrival order, up to
`max_batch_size` rows in all (a larger request runs alone), waits up to
`batch_timeout_micros` for more when the batch is not full, runs them as one
call of the predictor's run_rows (which sorts by length and pads each batch
to its longest row) and hands each request its own rows' outputs. The
parameters mean what TF Serving's batching parameters of the same names
mean. With the default timeout of 0 an idle server runs a lone request at
once, so batching costs nothing when there is nothing to batch; under load,
the requests that arrive while a batch runs form the next one.

No TensorFlow here; errors of a batch go to every request in it.
"""

import collections
import threading
import time

_Request = collections.namedtuple("_Request", ["rows", "done", "result"])


class Batcher(object):
  """Gathers rows of concurrent calls into shared batches (see above)."""

  def __init__(self, run_rows, max_batch_size=32, batch_timeout_micros=0):
    """Args:
      run_rows: fn(list of rows) -> list of outputs, in order (e.g.
        Predictor.run_rows).
      max_batch_size: most rows per batch (>= 1).
      batch_timeout_micros: how long a batch that is not full waits for
        more requests (>= 0).
    """
    if max_batch_size < 1 or batch_timeout_micros < 0:
      raise ValueError("max_batch_size must be >= 1 and "
                       "batch_timeout_micros >= 0")
    self._run_rows = run_rows
    self.max_batch_size = max_batch_size
    self.timeout = batch_timeout_micros / 1e6
    self._queue = collections.deque()
    self._cv = threading.Condition()
    self._stopped = False
    self.batches = 0          # batches run (for tests and logs)
    self.rows = 0             # rows run
    self._thread = threading.Thread(target=self._work, name="batcher",
                                    daemon=True)
    self._thread.start()

  def run_rows(self, rows):
    """Outputs of `rows` (as run_rows gives them), computed in a batch."""
    if not rows:
      return []
    request = _Request(list(rows), threading.Event(), {})
    with self._cv:
      if self._stopped:
        raise RuntimeError("the batcher is stopped")
      self._queue.append(request)
      self._cv.notify()
    request.done.wait()
    if "error" in request.result:
      raise request.result["error"]
    return request.result["outputs"]

  def stop(self):
    with self._cv:
      self._stopped = True
      self._cv.notify()
    self._thread.join(timeout=10)

  def _take(self):
    """The next batch of requests (blocks until there is one)."""
    with self._cv:
      while not self._queue and not self._stopped:
        self._cv.wait()
      if self._stopped and not self._queue:
        return None
      batch = [self._queue.popleft()]
      size = len(batch[0].rows)
      deadline = time.monotonic() + self.timeout
      while size < self.max_batch_size:
        if self._queue:
          if size + len(self._queue[0].rows) > self.max_batch_size:
            break
          request = self._queue.popleft()
          batch.append(request)
          size += len(request.rows)
          continue
        left = deadline - time.monotonic()
        if left <= 0 or self._stopped:
          break
        self._cv.wait(left)
      return batch

  def _work(self):
    while True:
      batch = self._take()
      if batch is None:
        return
      rows = [row for request in batch for row in request.rows]
      try:
        outputs = self._run_rows(rows)
      except Exception as e:  # pylint: disable=broad-except
        for request in batch:
          request.result["error"] = e
          request.done.set()
        continue
      self.batches += 1
      self.rows += len(rows)
      start = 0
      for request in batch:
        request.result["outputs"] = outputs[start:start + len(request.rows)]
        start += len(request.rows)
        request.done.set()

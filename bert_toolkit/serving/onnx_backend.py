"""ONNX Runtime session of an ONNX export (bert_toolkit/serving/onnx_export.py).

The Predictor (bert_toolkit/serving/predictor.py) uses it in place of its
tf.Session when a version directory holds model.onnx: the same rows go in,
the same named outputs come out, so the task codecs give the same answers.
onnxruntime is imported when such a directory is loaded, not before.
"""

import os

import numpy as np

from bert_toolkit.serving import signatures


class OnnxSession(object):
  """An onnxruntime.InferenceSession on a version directory's model.onnx.

  run(input_ids, input_mask, segment_ids) -> {output name: numpy array},
  as Predictor.run answers from the SavedModel's serving_default.
  Thread-safe: InferenceSession.run may be called from many threads.
  """

  def __init__(self, version_dir, num_threads=0, error=ValueError):
    try:
      import onnxruntime  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise error("%s is an ONNX export and onnxruntime is not installed "
                  "(%s): pip install '.[onnx]'" % (version_dir, e))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(num_threads)
    options.inter_op_num_threads = int(num_threads)
    self.session = onnxruntime.InferenceSession(
        os.path.join(version_dir, signatures.ONNX_MODEL), options,
        providers=["CPUExecutionProvider"])
    self.output_names = [o.name for o in self.session.get_outputs()]
    # The inputs the model reads (DistilBERT's has no segment_ids).
    self.input_names = [i.name for i in self.session.get_inputs()]

  def run(self, input_ids, input_mask, segment_ids):
    feed = {"input_ids": input_ids, "input_mask": input_mask,
            "segment_ids": segment_ids}
    feed = {k: np.asarray(feed[k], np.int32) for k in self.input_names}
    values = self.session.run(self.output_names, feed)
    return dict(zip(self.output_names, values))

  def close(self):
    self.session = None

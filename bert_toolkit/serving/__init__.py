"""Serving a fine-tuned run: SavedModel export, an in-process predictor and a
small HTTP server speaking TF Serving's REST predict API.

  export.py       run directory -> export_base/<version>/ (two signatures,
                  labels and tokenizer settings as assets)
  predictor.py    Predictor: loads an export once; texts -> labels/entities
  server.py       ThreadingHTTPServer over a Predictor (/v1/models/<name>)
  http_framing.py the HTTP request framing both servers (this one and the
                  studio's) share; TensorFlow-free

`Predictor` and `PredictorError` are loaded on first use, so importing a
TensorFlow-free module of this package (http_framing) loads no TensorFlow.
"""

__all__ = ("Predictor", "PredictorError")


def __getattr__(name):
  if name in __all__:
    from bert_toolkit.serving import predictor  # pylint: disable=g-import-not-at-top
    return getattr(predictor, name)
  raise AttributeError("module %r has no attribute %r" % (__name__, name))

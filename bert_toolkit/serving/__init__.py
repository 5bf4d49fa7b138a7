"""Serving a fine-tuned run: SavedModel export, an in-process predictor and a
small HTTP server speaking TF Serving's REST predict API.

  export.py     run directory -> export_base/<version>/ (two signatures,
                labels and tokenizer settings as assets)
  predictor.py  Predictor: loads an export once; texts -> labels/entities
  server.py     ThreadingHTTPServer over a Predictor (/v1/models/<name>)
"""

from bert_toolkit.serving.predictor import Predictor
from bert_toolkit.serving.predictor import PredictorError

__all__ = ("Predictor", "PredictorError")

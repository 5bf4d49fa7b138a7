"""`ConversionError`: what the HF -> TF1 converter raises on bad input.

A `ValueError` subclass whose message names the file or field at fault and
the fix; `convert_checkpoint.py` prints it without a traceback.
"""


class ConversionError(ValueError):
  """A Hugging Face folder that cannot be converted (message says why)."""

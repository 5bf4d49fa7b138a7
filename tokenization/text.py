"""Text helpers shared by the tokenizers: unicode conversion and whitespace splitting.

`convert_to_unicode`, `printable_text` and `whitespace_tokenize` behave as the
functions of the same names in google-research/bert's tokenization.py.
"""


def convert_to_unicode(text):
  """str -> the same str; bytes -> str decoded as UTF-8, bad bytes dropped.

  Raises ValueError for any other type.
  """
  if isinstance(text, str):
    return text
  if isinstance(text, bytes):
    return text.decode("utf-8", "ignore")
  raise ValueError("Unsupported string type: %s" % type(text))


def printable_text(text):
  """str or bytes -> str fit for print() or tf.logging (same as convert_to_unicode)."""
  return convert_to_unicode(text)


def whitespace_tokenize(text):
  """str -> list of the words between runs of whitespace (Python's str.split()).

  Whitespace is whatever str.isspace() accepts, so U+2028/U+2029, U+3000 and
  U+00A0 separate words too. An empty or all-space text gives [].
  """
  return text.split()

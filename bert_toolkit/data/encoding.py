"""Text to model inputs, written once: `[CLS] a [SEP] (b [SEP])`, ids,
segments, and padding a batch. No TensorFlow.

  encode(tokenizer, text_a, text_b, max_seq_length) -> Encoded
  encode_windows(tokenizer, text, max_seq_length, stride) -> [Encoded]
  pool_logits(window_logits, pooling) -> one text's logits
  pad_batch(rows, pad_to=None) -> {input_ids, input_mask, segment_ids}

Rules (google-research/bert's run_classifier.py and extract_features.py):
a single text keeps its first max_seq_length - 2 WordPieces (or, with a
classifier's --truncation, its last ones, or the first 128/510 and the
last 382/510 of them); a pair is cut
from the longer side (from text_b when both are as long) until it fits in
max_seq_length - 3. Segment ids are 0 for [CLS], text_a and its [SEP], 1
for text_b and its [SEP]. Features are stored unpadded; `pad_batch` pads a
batch to its longest row (or `pad_to`) with 0, mask 0.

Long texts as windows (classification's --long_text=windows): nothing is
cut. A text becomes overlapping windows by NER's windowing rule
(bert_toolkit.data.windows.unit_windows): the units are the basic tokenizer's
words (a CJK character is a word), each window is [CLS] whole words [SEP]
of at most max_seq_length pieces, and window k+1 starts at the first word
boundary at least `stride` pieces after window k's start (default: half a
window). A text that fits is one window, the same ids as encode(). The
classifier's logits of a text are the mean (or the maximum, per label) of
its windows' logits: in the graph for training, evaluation and prediction
(modeling.heads.pool_windows) and in pool_logits for the predictor; a test
checks that the two agree.

Training features (bert_toolkit.tasks.classifier), extract_features.py
(bert_toolkit.tasks.extraction) and the predictor (bert_toolkit.serving.predictor) all call these
two functions, so a text becomes the same ids everywhere. NER's units and
windows are in bert_toolkit.data.windows.
"""

import collections

import numpy as np

import tokenization
from bert_toolkit.data import windows as windows_lib

MODEL_INPUTS = ("input_ids", "input_mask", "segment_ids")
# Windowed batches: the text each row (window) belongs to, int32 [windows].
WINDOW_EXAMPLE = "window_example"

Encoded = collections.namedtuple(
    "Encoded", ["tokens", "input_ids", "segment_ids", "truncated"])


def encode(tokenizer, text_a, text_b, max_seq_length, truncation="head"):
  """One text (pair) -> Encoded (unpadded).

  Args:
    tokenizer: tokenization.FullTokenizer.
    text_a: str.
    text_b: str or None (an empty string counts as None, as in Google's
      code).
    max_seq_length: room including [CLS] and [SEP]s (>= 2, >= 3 for pairs).
    truncation: "head" (Google's), "tail" or "head_tail": which pieces of a
      single text that is too long are kept (tokenization.truncate_single).

  Returns:
    Encoded(tokens, input_ids, segment_ids, truncated): truncated is True
    when WordPieces were cut to fit.
  """
  tokens_a = tokenizer.tokenize(text_a)
  tokens_b = tokenizer.tokenize(text_b) if text_b else None
  natural = len(tokens_a) + (len(tokens_b) + 3 if tokens_b else 2)
  tokens, segment_ids = tokenization.build_inputs(tokens_a, tokens_b,
                                                  max_seq_length, truncation)
  return Encoded(tokens, tokenizer.convert_tokens_to_ids(tokens),
                 segment_ids, natural > max_seq_length)


def encode_windows(tokenizer, text, max_seq_length, stride=None):
  """One single text -> list of Encoded windows (see the module docstring).

  Args:
    tokenizer: tokenization.FullTokenizer.
    text: str (a text pair is not windowed).
    max_seq_length: room of each window, [CLS] and [SEP] included (>= 3).
    stride: pieces between window starts (None or 0: half a window).

  Returns:
    list of Encoded (at least one; `truncated` is False: a single word
    longer than a window keeps its first max_seq_length - 2 pieces and is
    the only cut, as in NER).
  """
  units = tokenizer.basic_tokenizer.tokenize(text)
  out = []
  for window in windows_lib.unit_windows(units, tokenizer, max_seq_length,
                                         stride or None):
    out.append(Encoded(tokenizer.convert_ids_to_tokens(window.input_ids),
                       window.input_ids, window.segment_ids, False))
  return out


def pool_logits(window_logits, pooling="mean"):
  """One text's windows' logits [windows, labels] -> its logits [labels]:
  the mean over windows, or with pooling="max" the maximum per label."""
  window_logits = np.asarray(window_logits, np.float32)
  if pooling == "max":
    return window_logits.max(axis=0)
  if pooling == "mean":
    return window_logits.mean(axis=0)
  raise ValueError("window pooling must be mean or max, got %r" % pooling)


def _field(row, name):
  return row[name] if isinstance(row, dict) else getattr(row, name)


def pad_batch(rows, pad_to=None):
  """Pads unpadded rows into int32 arrays.

  Args:
    rows: dicts (or objects with attributes) holding int lists input_ids
      and segment_ids, and optionally input_mask (default: 1 for every
      id).
    pad_to: length to pad to (default: the longest row).

  Returns:
    dict input_ids / input_mask / segment_ids -> int32 [len(rows), length],
    zero-padded.
  """
  length = pad_to or max(len(_field(r, "input_ids")) for r in rows)
  out = {name: np.zeros([len(rows), length], np.int32)
         for name in MODEL_INPUTS}
  for i, row in enumerate(rows):
    ids = _field(row, "input_ids")
    out["input_ids"][i, :len(ids)] = ids
    out["segment_ids"][i, :len(ids)] = _field(row, "segment_ids")
    mask = (row.get("input_mask") if isinstance(row, dict)
            else getattr(row, "input_mask", None))
    out["input_mask"][i, :len(ids)] = mask if mask is not None else 1
  return out

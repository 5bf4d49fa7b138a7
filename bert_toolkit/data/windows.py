"""NER text <-> units <-> WordPiece windows, and back to tags and entities.
No TensorFlow: the predictor imports this without the training code.

  text_to_units(text, unit_joiner) -> (units, unit_offsets)
      "" : every character of text is a unit (Chinese); " ": the
      whitespace-separated words (English). text[o:o + len(u)] == u.
  unit_windows(units, tokenizer, max_seq_length, stride=None, tags=None,
               label_map=None, label_x=False) -> list of Window
      The model inputs of one sentence: one or more overlapping windows,
      each [CLS] pieces [SEP], with input_ids/input_mask/segment_ids (plain
      int lists, unpadded), piece_units (unit index of every position, -1
      for [CLS]/[SEP]), first_piece (True where a unit's tag is read) and
      label_ids (when tags are given).
  merge_windows(windows, window_tag_ids, num_units, labels, scheme="BIO",
                window_tag_scores=None) -> (tags, scores)
      Exactly one tag string (and score) per unit from the per-window
      decoded tag ids (e.g. predictions["tag_ids"]).
  entities_from_tags(text, units, unit_offsets, tags, scheme="BIO")
      -> [{"type", "start", "end", "mention"}]: character offsets into text,
      `end` EXCLUSIVE (Python slice: text[start:end] == mention).
  window_record(window, example_index, window_index) -> a feature record.

Alignment rule: each unit (character or word) is tokenized on its own
(tokenization.spans.tokenize_units); its tag sits on its FIRST WordPiece.
Other pieces, [CLS], [SEP] and padding get label -1 (ignored by the loss),
unless label_x: then non-first pieces are trained as the extra label "X"
(kyzhouhzau/BERT-NER's scheme; "X" predicted at a first piece reads as "O").
A unit that gives no piece (space, control or zero-width character) takes
no position; merge_windows fills its tag: I-TYPE when the tagged units
around it are in one entity, else O. [UNK] is an ordinary piece. So every
unit gets exactly one tag back.

Windowing rule (training, evaluation and prediction alike: nothing is
truncated): a sentence whose pieces do not fit in max_seq_length - 2 is cut
into windows of whole units; window k+1 starts at the first unit boundary at
least `stride` pieces after window k's start (default stride: half the
window). A unit is read from the window where it has the most context
(max of min(pieces before, pieces after), earliest on ties), as Google's
run_squad does for doc_stride. A single unit longer than a window keeps its
first max_seq_length - 2 pieces (its tag is on the first).
"""

import collections

from bert_toolkit.data import tag_schemes

X_LABEL = "X"
IGNORE = -1

Window = collections.namedtuple(
    "Window", ["input_ids", "input_mask", "segment_ids", "label_ids",
               "piece_units", "first_piece", "first_unit", "end_unit"])


# ------------------------------------------------------ text and units ---

def text_to_units(text, unit_joiner=""):
  """Splits raw text into tagging units.

  Args:
    text: str.
    unit_joiner: "" -> every character is a unit (spaces included: they get
      a tag too); " " -> maximal runs of non-whitespace characters.

  Returns:
    (units list of str, unit_offsets list of int) with
    text[offset:offset + len(unit)] == unit.
  """
  if unit_joiner == "":
    return list(text), list(range(len(text)))
  if unit_joiner != " ":
    raise ValueError("unit_joiner must be \"\" or \" \", got %r" % unit_joiner)
  units, offsets = [], []
  start = None
  for i, char in enumerate(text):
    if char.isspace():
      if start is not None:
        units.append(text[start:i])
        offsets.append(start)
        start = None
    elif start is None:
      start = i
  if start is not None:
    units.append(text[start:])
    offsets.append(start)
  return units, offsets


# ------------------------------------------------------------ windows ---

def unit_windows(units, tokenizer, max_seq_length, stride=None, tags=None,
                 label_map=None, label_x=False):
  """Units -> model input windows (see the module docstring's rules).

  Args:
    units: list of str (characters or words).
    tokenizer: tokenization.FullTokenizer.
    max_seq_length: longest window, [CLS] and [SEP] included (>= 3).
    stride: pieces between window starts (None or 0: (max_seq_length-2)//2;
      negative: ValueError).
    tags: optional list of tag strings, one per unit (training/eval).
    label_map: dict tag -> id (needed with tags).
    label_x: non-first pieces get label_map["X"] instead of -1.

  Returns:
    list of Window (at least one; an empty sentence gives [CLS] [SEP]).
    Lists are unpadded: len(input_ids) <= max_seq_length.
  """
  budget = max_seq_length - 2
  if budget < 1:
    raise ValueError("max_seq_length must be at least 3")
  if stride is not None and stride < 0:   # never read as another stride
    raise ValueError("window stride must be 0 (half a window) or more, "
                     "got %d" % stride)
  stride = max(1, stride or budget // 2)
  pieces = tokenizer.tokenize_units(units)
  flat_ids, flat_units, flat_first = [], [], []
  for index, unit_pieces in enumerate(pieces):
    ids = tokenizer.convert_tokens_to_ids(unit_pieces)
    for k, piece_id in enumerate(ids):
      flat_ids.append(piece_id)
      flat_units.append(index)
      flat_first.append(k == 0)
  cls_id, sep_id = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
  x_id = label_map[X_LABEL] if label_x else IGNORE

  windows = []
  for start, end in _window_bounds(flat_first, budget, stride):
    input_ids = [cls_id] + flat_ids[start:end] + [sep_id]
    piece_units = [IGNORE] + flat_units[start:end] + [IGNORE]
    first = [False] + flat_first[start:end] + [False]
    label_ids = None
    if tags is not None:
      label_ids = [IGNORE] * len(input_ids)
      for p in range(1, len(input_ids) - 1):
        label_ids[p] = label_map[tags[piece_units[p]]] if first[p] else x_id
    windows.append(Window(
        input_ids=input_ids, input_mask=[1] * len(input_ids),
        segment_ids=[0] * len(input_ids), label_ids=label_ids,
        piece_units=piece_units, first_piece=first,
        first_unit=flat_units[start] if end > start else 0,
        end_unit=flat_units[end - 1] + 1 if end > start else 0))
  return windows


def _window_bounds(first, budget, stride):
  """[(start, end)] piece ranges of the windows over a flat piece list."""
  total = len(first)
  if total == 0:
    return [(0, 0)]
  bounds = []
  start = 0
  while True:
    end = min(start + budget, total)
    if end < total and not first[end]:
      boundary = end
      while boundary > start and not first[boundary]:
        boundary -= 1
      if boundary > start:
        end = boundary  # else: one unit longer than a window, cut it
    bounds.append((start, end))
    if end >= total:
      return bounds
    nxt = min(start + stride, end)
    while nxt < total and not first[nxt]:
      nxt += 1
    if nxt >= total:
      return bounds
    start = nxt


def merge_windows(windows, window_tag_ids, num_units, labels, scheme="BIO",
                  window_tag_scores=None):
  """Per-window decoded tags -> exactly one tag per unit.

  Args:
    windows: list of Window of one sentence (from unit_windows).
    window_tag_ids: per window an int sequence of length >= its
      len(input_ids) (padding beyond is ignored), e.g. predictions
      ["tag_ids"].
    num_units: units in the sentence.
    labels: list of tag strings (ids are positions).
    scheme: "BIO" or "BIOES" (for filling units without a piece).
    window_tag_scores: optional per window float sequences (tag_scores).

  Returns:
    (tags list of num_units str, scores list of num_units float; a unit
    without a piece scores 0.0). Predicted "X" reads as "O".
  """
  best = [None] * num_units  # (context, tag, score)
  for w, window in enumerate(windows):
    ids = window_tag_ids[w]
    scores = window_tag_scores[w] if window_tag_scores is not None else None
    length = len(window.input_ids)
    for p in range(1, length - 1):
      if not window.first_piece[p]:
        continue
      context = min(p - 1, length - 2 - p)
      unit = window.piece_units[p]
      if best[unit] is None or context > best[unit][0]:
        tag = labels[int(ids[p])]
        if tag == X_LABEL:
          tag = tag_schemes.OUTSIDE
        best[unit] = (context, tag,
                      float(scores[p]) if scores is not None else 1.0)
  tags = [b[1] if b is not None else None for b in best]
  out_scores = [b[2] if b is not None else 0.0 for b in best]
  return fill_missing_tags(tags, scheme), out_scores


def fill_missing_tags(tags, scheme="BIO"):
  """Replaces None (units without a piece) by the documented fill rule.

  A missing unit inside an entity -- the previous tagged unit is B-/I-TYPE
  and the next tagged unit continues it (I-/E-TYPE) -- becomes I-TYPE;
  anything else becomes O.
  """
  scheme = tag_schemes.check_scheme(scheme)
  out = list(tags)
  for i, tag in enumerate(out):
    if tag is not None:
      continue
    previous = next((t for t in reversed(out[:i]) if t is not None), None)
    following = next((t for t in tags[i + 1:] if t is not None), None)
    fill = tag_schemes.OUTSIDE
    if previous and following and previous != tag_schemes.OUTSIDE and \
        following != tag_schemes.OUTSIDE:
      p_prefix, _, p_type = previous.partition("-")
      f_prefix, _, f_type = following.partition("-")
      if p_prefix in ("B", "I") and f_prefix in ("I", "E") and \
          p_type == f_type:
        fill = "I-" + p_type
    out[i] = fill
  return out


def entities_from_tags(text, units, unit_offsets, tags, scheme="BIO"):
  """Entities with character offsets into the original text.

  Args:
    text: the original str.
    units, unit_offsets: from text_to_units (or a NerExample).
    tags: one tag per unit ("X" reads as O; invalid sequences are read by
      tag_schemes.entity_spans' repair rule: an I-X that does not continue
      an entity starts one).
    scheme: "BIO" or "BIOES".

  Returns:
    list of {"type": str, "start": int, "end": int (EXCLUSIVE),
    "mention": text[start:end]}, in order.
  """
  clean = [tag_schemes.OUTSIDE if t == X_LABEL else t for t in tags]
  entities = []
  for entity_type, first, last in tag_schemes.entity_spans(clean, scheme):
    start = unit_offsets[first]
    end = unit_offsets[last - 1] + len(units[last - 1])
    entities.append({"type": entity_type, "start": start, "end": end,
                     "mention": text[start:end]})
  return entities


def window_record(window, example_index, window_index):
  """Window -> dict of int lists for features.cached_feature_file."""
  return collections.OrderedDict([
      ("input_ids", window.input_ids),
      ("segment_ids", window.segment_ids),
      ("label_ids", window.label_ids if window.label_ids is not None
       else [IGNORE] * len(window.input_ids)),
      ("example_index", [example_index]),
      ("window_index", [window_index]),
  ])

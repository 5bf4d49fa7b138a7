"""Token tagging (NER): text <-> units <-> WordPiece windows, and the model_fn.

Public API (the predictor / serving code calls these; names are stable):

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
  model_fn_builder(model_type, config, labels, crf=False, lstm_size=0,
                   label_x=False, init_checkpoint=None, settings=None,
                   num_train_steps=0, crf_learning_rate=None, ...)
      -> Estimator model_fn (TRAIN, EVAL, PREDICT).
  model_fn_from_run_info(info) -> PREDICT-capable model_fn from
      finetuning.run_info.read(run_dir) alone.
  head_settings(...) -> the run_info.json "head" dict.

Alignment rule: each unit (character or word) is tokenized on its own
(tokenization.spans.tokenize_units); its tag sits on its FIRST WordPiece.
Other pieces, [CLS], [SEP] and padding get label -1 (ignored by the loss),
unless label_x: then non-first pieces are trained as the extra label "X"
(the seed's scheme; "X" predicted at a first piece reads as "O"). A unit
that gives no piece (space, control or zero-width character) takes no
position; merge_windows fills its tag: I-TYPE (E-TYPE/I-TYPE under BIOES
as the next unit needs) when the units around it are in one entity, else O.
[UNK] is an ordinary piece. So every unit gets exactly one tag back.

Windowing rule (training, evaluation and prediction alike: nothing is
truncated): a sentence whose pieces do not fit in max_seq_length - 2 is cut
into windows of whole units; window k+1 starts at the first unit boundary at
least `stride` pieces after window k's start (default stride: half the
window). A unit is read from the window where it has the most context
(max of min(pieces before, pieces after), earliest on ties), as Google's
run_squad does for doc_stride. A single unit longer than a window keeps its
first max_seq_length - 2 pieces (its tag is on the first).

PREDICT outputs: "tag_ids" int32 [batch, seq] (softmax: argmax; CRF:
Viterbi in the graph over all real tokens) and "tag_scores" float32
[batch, seq], the probability of the chosen tag under the token softmax of
the emission scores (for the CRF too: the per-token softmax of the CRF's
unary scores, not a CRF marginal). Feature keys other than input_ids,
input_mask and segment_ids are passed through. export_outputs holds the
prediction without pass-through keys, so export_saved_model works.
"""

import collections

import tensorflow.compat.v1 as tf

from finetuning import tag_schemes
from finetuning import training
from modeling import crf as crf_lib
from modeling import heads

X_LABEL = "X"
IGNORE = -1
MODEL_INPUTS = ("input_ids", "input_mask", "segment_ids")

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
    stride: pieces between window starts (default (max_seq_length-2)//2).
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


# ----------------------------------------------------------- model_fn ---

def head_settings(crf, lstm_size, scheme, unit_joiner, label_x, stride=None,
                  crf_learning_rate=None):
  """The run_info.json "head" dict of a NER run."""
  return {"crf": bool(crf), "lstm_size": int(lstm_size or 0),
          "scheme": tag_schemes.check_scheme(scheme),
          "unit_joiner": unit_joiner, "label_x": bool(label_x),
          "window_stride": stride, "crf_learning_rate": crf_learning_rate,
          "tag_scores": "softmax of the emission scores"}


def model_fn_from_run_info(info):
  """PREDICT-capable model_fn rebuilt from run_info.read(run_dir) alone."""
  head = info.get("head") or {}
  return model_fn_builder(info["model_type"], info["config"], info["labels"],
                          crf=head.get("crf", False),
                          lstm_size=head.get("lstm_size", 0),
                          label_x=head.get("label_x", False))


def model_fn_builder(model_type, config, labels, crf=False, lstm_size=0,
                     label_x=False, init_checkpoint=None, settings=None,
                     num_train_steps=0, crf_learning_rate=None,
                     config_file=None, totals=None):
  """Returns an Estimator model_fn for token tagging.

  Args:
    model_type, config: the encoder (modeling.build_model).
    labels: list of tag strings (ids are positions; "X" last with label_x).
    crf: CRF head (partial log-likelihood loss, Viterbi decode) instead of
      the token softmax.
    lstm_size: > 0 adds a BiLSTM below the projection.
    label_x: the labels hold "X" (only recorded; features carry it).
    init_checkpoint: pre-trained checkpoint restored when training.
    settings: training.TrainSettings (default TrainSettings()).
    num_train_steps: micro-batches of the run (TRAIN).
    crf_learning_rate: learning rate of the CRF transitions (None: the
      run's learning_rate); applied as a multiplier crf_lr / learning_rate.
    config_file: named in restore errors.
    totals: dict with "eval" example counts for progress ETAs.

  Features: input_ids, input_mask, segment_ids int32 [batch, seq] (seq may
  be unknown); label_ids int32 [batch, seq] (-1: ignored) for TRAIN/EVAL.
  """
  num_labels = len(labels)
  del labels  # only its length is needed in the graph
  settings = settings or training.TrainSettings()
  totals = totals if totals is not None else {}

  # pylint: disable=redefined-outer-name
  def model_fn(features, labels, mode, params):
    del labels, params
    is_training = mode == tf.estimator.ModeKeys.TRAIN
    model = training.encoder_from_features(model_type, config, features,
                                           is_training)
    input_mask = tf.cast(features["input_mask"], tf.int32)
    lengths = tf.reduce_sum(input_mask, axis=1)  # [batch]
    with tf.variable_scope(heads.TAGGER_SCOPE):
      logits = heads.token_logits(  # [batch, seq, num_labels]
          model.get_sequence_output(), lengths, num_labels, is_training,
          config.hidden_dropout_prob, lstm_size)
      transitions = (crf_lib.transition_variable(num_labels) if crf
                     else None)
    probabilities = tf.nn.softmax(logits, axis=-1)
    if crf:
      tag_ids, _ = crf_lib.crf_decode(logits, transitions, lengths)
    else:
      tag_ids = tf.argmax(logits, axis=-1, output_type=tf.int32)
    tag_ids = tag_ids * input_mask  # [batch, seq]
    tag_scores = tf.reduce_sum(  # [batch, seq]
        probabilities * tf.one_hot(tag_ids, num_labels, dtype=tf.float32),
        axis=-1) * tf.cast(input_mask, tf.float32)

    if mode == tf.estimator.ModeKeys.PREDICT:
      outputs = {"tag_ids": tag_ids, "tag_scores": tag_scores}
      predictions = dict(outputs)
      for key, value in features.items():
        if key not in MODEL_INPUTS and key not in predictions:
          predictions[key] = value
      return tf.estimator.EstimatorSpec(
          mode, predictions=predictions,
          export_outputs={"serving_default":
                          tf.estimator.export.PredictOutput(outputs)})

    label_ids = tf.cast(features["label_ids"], tf.int32)
    weights = tf.cast((label_ids >= 0) & (input_mask > 0), tf.float32)
    if crf:
      log_likelihood = heads.crf_partial_log_likelihood(
          logits, label_ids, weights, lengths, transitions)
      loss = tf.reduce_mean(-log_likelihood)
    else:
      loss = heads.masked_token_cross_entropy(logits, label_ids, weights)
    batch = training.batch_size_of(features)

    if mode == tf.estimator.ModeKeys.EVAL:
      hook = training.ProgressHook("evaluate", {"batch_size": batch},
                                   total_examples=totals.get("eval"),
                                   every_seconds=settings.log_every_seconds)
      accuracy = tf.metrics.accuracy(tf.maximum(label_ids, 0), tag_ids,
                                     weights=weights)
      return tf.estimator.EstimatorSpec(
          mode, loss=loss, eval_metric_ops={"token_accuracy": accuracy},
          evaluation_hooks=[hook])

    trainable, multipliers = training.restore_and_select(
        model_type, config, init_checkpoint, settings, config_file)
    if crf and crf_learning_rate:
      name = transitions.op.name
      if any(v.op.name == name for v in trainable):
        multipliers[name] = crf_learning_rate / settings.learning_rate
    return training.train_spec(loss, batch, trainable, multipliers, settings,
                               num_train_steps)

  return model_fn


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


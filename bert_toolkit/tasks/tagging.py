"""Token tagging (NER): the task run_ner.py plugs into the runner.

  Tagger(name, crf=None, lstm_size=None, scheme=None, label_x=None,
         window_stride=None, unit_joiner=None, crf_learning_rate=None)

Data sets and their readers are in bert_toolkit.data.ner_data; units, windows and
merging (TF-free, shared with the predictor) in bert_toolkit.data.windows, whose
docstring states the alignment and windowing rules. Head settings left None
are taken from the run directory (a resumed or evaluate-only run), else the
defaults: softmax head, no BiLSTM, BIO, no X label.

Head (variable scope "tagger"): optional BiLSTM, then a per-token
projection; a token softmax with masked cross-entropy over the labelled
positions, or a CRF (`tagger/transitions`) whose likelihood sums the
unlabelled positions out, decoded by Viterbi in the graph.

PREDICT outputs: "tag_ids" int32 [batch, seq] (softmax: argmax; CRF:
Viterbi over all real tokens) and "tag_scores" float32 [batch, seq], the
probability of the chosen tag under the token softmax of the emission
scores (for the CRF too: not a CRF marginal).

Evaluation and prediction run the PREDICT graph over every window of every
sentence and merge the windows back to one tag per unit, so scores count
every entity of every sentence, however long: seqeval entity-level
precision / recall / F1 (eval_results.txt, TensorBoard), CoNLL-style
test_predictions.txt and test_predictions.jsonl with character offsets.
"""

import collections
import json
import os
import time

import numpy as np
import tensorflow.compat.v1 as tf
from seqeval import metrics as seqeval_metrics

from bert_toolkit import kinds
from bert_toolkit import settings as settings_lib
from bert_toolkit.data import ner_data
from bert_toolkit.runs import run_info
from bert_toolkit.data import tag_schemes
from bert_toolkit.engine import task as task_lib
from bert_toolkit.data import windows as windows_lib
from bert_toolkit.tasks import metrics
from bert_toolkit.errors import InputError
from bert_toolkit.errors import SettingsError
from modeling import crf as crf_lib
from modeling import heads

class TaggerCodec(task_lib.ServingCodec):
  """Raw texts to a served tagger (NER) and back.

  A text becomes units as the run read them (characters, or words for a
  run with unit_joiner " "), the units become the NER windows of
  bert_toolkit.data.windows (nothing is truncated), and the windows' tags
  are merged back. Single texts only.

  Answer: {"entities": [{"type", "start", "end", "mention", "score"}],
  "tags": [one tag per unit]}: start/end are character offsets into the
  text (end exclusive: text[start:end] == mention); score is the mean tag
  score of the entity's units.
  """

  token_outputs = ("tag_ids", "tag_scores")

  def rows(self, text, text_b=None):
    if text_b:
      raise self.error("NER takes single texts, got a text_b (%r)" %
                       text_b[:40])
    units, offsets = windows_lib.text_to_units(
        text, self.head.get("unit_joiner") or "")
    windows = windows_lib.unit_windows(units, self.tokenizer,
                                       self.max_seq_length,
                                       self.head.get("window_stride"))
    rows = [{n: list(getattr(w, n))
             for n in task_lib.MODEL_INPUTS}
            for w in windows]
    return rows, (text, units, offsets, windows)

  def decode(self, state, outputs):
    text, units, offsets, windows = state
    scheme = self.head.get("scheme", "BIO")
    tags, scores = windows_lib.merge_windows(
        windows, [o["tag_ids"] for o in outputs], len(units), self.labels,
        scheme, [o["tag_scores"] for o in outputs] if outputs and
        "tag_scores" in outputs[0] else None)
    entities = windows_lib.entities_from_tags(text, units, offsets, tags,
                                              scheme)
    for entity in entities:
      inside = [scores[u] for u, o in enumerate(offsets)
                if entity["start"] <= o < entity["end"]]
      entity["score"] = float(np.mean(inside)) if inside else 0.0
    return {"entities": entities, "tags": tags}


class TaggerDistill(task_lib.DistillAdaptor):
  """Distilling a tagger: a record (one window) carries the teacher's
  emission scores, max_seq_length x labels (zero past the window); the
  soft loss compares them at the labelled first pieces of real tokens. A
  line of --unlabeled_file is one text, read into units as the run reads
  them, and tagged with the teacher's argmax at first pieces."""

  def teacher_width(self):
    return self.max_seq_length * self.num_labels

  def record_extras(self, encoded):
    return [w for per_example in encoded.extra for w in per_example]

  def attach(self, row, values, window):
    if all(i < 0 for i in row["label_ids"]):          # unlabeled
      argmax = np.argmax(values, axis=-1)
      row["label_ids"] = [int(argmax[p]) if first else -1
                          for p, first in enumerate(window.first_piece)]
    flat = np.zeros([self.max_seq_length, self.num_labels], np.float32)
    flat[:len(values)] = values
    row["teacher_logits"] = [float(v) for v in flat.ravel()]

  def unlabeled_example(self, number, line):
    units, offsets = windows_lib.text_to_units(line.strip(),
                                               self.task.unit_joiner)
    if not units:
      return None
    return ner_data.NerExample("unlabeled-%d" % number, units, None,
                               line.strip(), offsets)

  def soft_targets(self, head_output, features):
    student = head_output.predictions["logits"]      # [batch, seq, labels]
    teacher = tf.reshape(features["teacher_logits"],
                         [-1, self.max_seq_length, self.num_labels])
    teacher = teacher[:, :tf.shape(student)[1], :]
    weights = tf.cast((features["label_ids"] >= 0) &
                      (features["input_mask"] > 0), tf.float32)
    return student, teacher, weights


class Tagger(task_lib.Task):
  """Named-entity recognition as token tagging over windows."""

  kind = "ner"
  CODEC = TaggerCodec
  DISTILL = TaggerDistill
  best_metrics = ("f1", "precision", "recall")
  sequence_names = ("input_ids", "segment_ids", "label_ids")
  scalar_names = ("example_index", "window_index")
  HEAD_DEFAULTS = (("crf", False), ("lstm_size", 0), ("scheme", "BIO"),
                   ("label_x", False), ("unit_joiner", None))

  def __init__(self, name, crf=None, lstm_size=None, scheme=None,
               label_x=None, window_stride=None, unit_joiner=None,
               crf_learning_rate=None):
    """Args:
      name: peoples_daily, msra, cluener, conll2003 or bio.
      crf, lstm_size, scheme, label_x: the head (None: not given).
      window_stride: pieces between window starts (None: the run's, else
        half a window).
      unit_joiner: bio only: "" characters or " " words (None: not given).
      crf_learning_rate: absolute learning rate of the CRF transitions.
    """
    super(Tagger, self).__init__()
    if unit_joiner is not None and name.lower() != "bio":
      raise SettingsError("--word_units applies to --task=bio only")
    try:
      self.name = ner_data.get_ner_task(name).name
      if scheme is not None:
        scheme = tag_schemes.check_scheme(scheme)
    except ValueError as e:
      raise SettingsError(str(e))
    self.crf = crf
    self.lstm_size = lstm_size
    self.scheme = scheme
    self.label_x = label_x
    self.unit_joiner = unit_joiner
    self.window_stride = window_stride
    self.crf_learning_rate = crf_learning_rate
    self._data = None

  def flag_for(self, key, value):
    if key == "unit_joiner":
      return "--word_units=%s" % ("true" if value == " " else "false")
    return super(Tagger, self).flag_for(key, value)

  def resolve_head(self, saved_head, where):
    super(Tagger, self).resolve_head(saved_head, where)
    if self.unit_joiner is None:
      self.unit_joiner = ner_data.get_ner_task(self.name).unit_joiner
    if self.window_stride is None and saved_head:
      self.window_stride = saved_head.get("window_stride")

  def head_info(self):
    return {"crf": bool(self.crf), "lstm_size": int(self.lstm_size or 0),
            "scheme": self.scheme, "unit_joiner": self.unit_joiner,
            "label_x": bool(self.label_x),
            "window_stride": self.window_stride,
            "crf_learning_rate": self.crf_learning_rate,
            "tag_scores": "softmax of the emission scores"}

  @classmethod
  def text_signature(cls, info):
    """A single text, tokenized whole and cut to max_seq_length (no
    windows): the `text` signature's tags are per WordPiece of that row;
    aligning them to characters and entities is the Python codec's work."""
    del info
    return {"pair": False, "truncation": "head"}

  @classmethod
  def from_run_info(cls, info):
    head = info.get("head") or {}
    task = cls.__new__(cls)
    task_lib.Task.__init__(task)
    task.name = info.get("task")
    task.crf = head.get("crf", False)
    task.lstm_size = head.get("lstm_size", 0)
    task.scheme = head.get("scheme", "BIO")
    task.label_x = head.get("label_x", False)
    task.unit_joiner = head.get("unit_joiner", "")
    task.window_stride = head.get("window_stride")
    task.crf_learning_rate = None
    task.label_list = list(info["labels"])
    task._data = None  # pylint: disable=protected-access
    return task

  @classmethod
  def from_settings(cls, values):
    """The task of run_ner.py's flags (None: not given)."""
    name = values.get("task") or values.get("task_name")
    if not name:
      raise SettingsError("--task is required")
    word_units = values.get("word_units")
    return cls(name, crf=values.get("crf"),
               lstm_size=values.get("lstm_size"),
               scheme=values.get("scheme"), label_x=values.get("label_x"),
               window_stride=values.get("window_stride"),
               unit_joiner=None if word_units is None else (
                   " " if word_units else ""),
               crf_learning_rate=values.get("crf_learning_rate"))

  @classmethod
  def student_task(cls, info, where, task_name=None, **columns):
    """The teacher's head and units; reading `task_name` (default the
    teacher's). NER data have no column settings: `columns` is unused."""
    del where, columns
    head = info.get("head") or {}
    name = task_name or info["task"]
    return cls(
        name, crf=head.get("crf", False), lstm_size=head.get("lstm_size", 0),
        scheme=head.get("scheme", "BIO"), label_x=head.get("label_x", False),
        window_stride=head.get("window_stride"),
        unit_joiner=head.get("unit_joiner") if name == "bio" else None,
        crf_learning_rate=head.get("crf_learning_rate"))

  @property
  def data(self):
    """The ner_data reader, in the resolved scheme and units."""
    if self._data is None:
      self._data = ner_data.get_ner_task(
          self.name, self.scheme,
          self.unit_joiner if self.name == "bio" else None)
    return self._data

  # ----------------------------------------------------- data, features ---

  def label_counts(self, train_examples):
    """Units per tag in the training sentences (None with a CRF: its loss
    is a sequence likelihood)."""
    if self.crf:
      return None
    counts = collections.Counter()
    for example in train_examples:
      counts.update(example.tags or ())
    return counts

  def describe_loss(self):
    return "the CRF head (its loss is a sequence likelihood)"

  def read_labels(self, data_dir, train_examples):
    try:
      labels = self.data.get_labels(train_examples, self.scheme)
    except ValueError as e:
      raise InputError(self.data.require_file(data_dir, "train"), None,
                       str(e), "Train with --do_train on labelled data first")
    return labels + [windows_lib.X_LABEL] if self.label_x else labels

  def read_split(self, data_dir, split, labels=None):
    """A split's sentences; with `labels` (the model's), a tag outside them
    (an entity type the training data did not have) is an InputError."""
    examples = self.data.get_examples(data_dir, split)
    if labels is not None:
      self._check_known_tags(self.source_file(data_dir, split), examples,
                             labels)
    return examples

  def _check_known_tags(self, path, examples, labels):
    known = set(labels)
    for example in examples:
      for position, tag in enumerate(example.tags or ()):
        if tag not in known:
          raise InputError(
              path, example.line_numbers[position]
              if example.line_numbers else None,
              "tag %r: the model knows no entity type %r (its labels "
              "come from the training data: %s)" % (
                  tag, tag.partition("-")[2], ", ".join(labels[:12])),
              "Fix the tag, or add %s entities to the training file and "
              "train again (--overwrite_output_dir)" % tag.partition("-")[2])

  def source_file(self, data_dir, split):
    carved = split == "dev" and not self.data.files["dev"]
    return self.data.require_file(data_dir, "train" if carved else split)

  def cache_settings(self, split):
    """The split (msra's dev is carved from the train file) and the
    resolved value of every setting of the kind's table that changes what
    is read or how it is encoded (its settings.KEY rows)."""
    values = settings_lib.feature_values(kinds.get(self.kind).settings,
                                         self.setting_value)
    values.update(kind=self.kind, split=split)
    return values

  def setting_value(self, name):
    """The resolved value of the kind's setting `name`."""
    if name in ("task", "task_name"):
      return self.name
    if name == "word_units":
      return self.unit_joiner
    return getattr(self, name)

  def validate(self, settings):
    del settings
    settings_lib.check_values(kinds.get(self.kind).settings, {
        "window_stride": self.window_stride, "lstm_size": self.lstm_size,
        "crf_learning_rate": self.crf_learning_rate})

  def encode(self, split, examples, tokenizer, max_seq_length):
    label_map = {label: i for i, label in enumerate(self.label_list)}
    windows = [windows_lib.unit_windows(
        e.units, tokenizer, max_seq_length, self.window_stride, tags=e.tags,
        label_map=label_map if e.tags is not None else None,
        label_x=self.label_x) for e in examples]

    def records():
      for index, example_windows in enumerate(windows):
        for w, window in enumerate(example_windows):
          yield windows_lib.window_record(window, index, w)

    return task_lib.EncodedSplit(records, sum(len(w) for w in windows),
                                 windows)

  def counts(self, data):
    return {"num_windows": data.num_features}

  # --------------------------------------------------------------- head ---

  def check_distribution(self, plan):
    # Measured: TF cannot place the gradient of the CRF's time loop when one
    # process holds several replicas (a colocation error across devices);
    # one replica per process (multi_worker_mirrored) trains.
    if self.crf and plan.strategy == "mirrored" and plan.replicas > 1:
      raise SettingsError(
          "a CRF head does not train with several replicas in one process "
          "(--distribution_strategy=mirrored): use the softmax head, or "
          "multi_worker_mirrored with one worker per device")

  def head(self, model, features, context):
    num_labels = len(self.label_list)
    input_mask = tf.cast(features["input_mask"], tf.int32)  # [batch, seq]
    lengths = tf.reduce_sum(input_mask, axis=1)  # [batch]
    with tf.variable_scope(heads.TAGGER_SCOPE):
      logits = heads.token_logits(  # [batch, seq, num_labels]
          model.get_sequence_output(), lengths, num_labels,
          context.is_training, context.config.hidden_dropout_prob,
          self.lstm_size or 0)
      transitions = (crf_lib.transition_variable(num_labels) if self.crf
                     else None)
    probabilities = tf.nn.softmax(logits, axis=-1)
    if self.crf:
      tag_ids, _ = crf_lib.crf_decode(logits, transitions, lengths)
    else:
      tag_ids = tf.argmax(logits, axis=-1, output_type=tf.int32)
    tag_ids = tag_ids * input_mask  # [batch, seq]
    tag_scores = tf.reduce_sum(  # [batch, seq]
        probabilities * tf.one_hot(tag_ids, num_labels, dtype=tf.float32),
        axis=-1) * tf.cast(input_mask, tf.float32)
    exported = {"tag_ids": tag_ids, "tag_scores": tag_scores}
    # The emission scores too, for distillation (not exported).
    predictions = dict(exported, logits=logits)
    if context.mode == tf.estimator.ModeKeys.PREDICT:
      return task_lib.HeadOutput(predictions, export_outputs=exported)

    label_ids = tf.cast(features["label_ids"], tf.int32)  # [batch, seq]
    weights = tf.cast((label_ids >= 0) & (input_mask > 0), tf.float32)
    if self.crf:
      log_likelihood = heads.crf_partial_log_likelihood(
          logits, label_ids, weights, lengths, transitions)
      loss = tf.reduce_mean(-log_likelihood)
    else:
      training = context.is_training   # weights: the training loss only
      loss = heads.masked_token_cross_entropy(
          logits, label_ids, weights,
          class_weights=self.class_weights if training else None,
          focal_gamma=self.focal_gamma if training else 0.0)
    metric_ops = None
    if context.mode == tf.estimator.ModeKeys.EVAL:
      metric_ops = {"token_accuracy": tf.metrics.accuracy(
          tf.maximum(label_ids, 0), tag_ids, weights=weights)}
    rates = {}
    if self.crf and self.crf_learning_rate:
      rates[transitions.op.name] = self.crf_learning_rate
    return task_lib.HeadOutput(predictions, loss=loss,
                               eval_metric_ops=metric_ops,
                               learning_rates=rates, export_outputs=exported)

  # ----------------------------------------------------- score and write ---

  def predict_tags(self, run, data, checkpoint=None):
    """Runs every window of a split; returns (tags, scores) per example."""
    per_example = [dict() for _ in data.examples]
    for row in run.predictions(data, checkpoint):
      per_example[int(row["example_index"])][int(row["window_index"])] = (
          row["tag_ids"], row["tag_scores"])
    tags, scores = [], []
    for example, windows, got in zip(data.examples, data.extra,
                                     per_example):
      if len(got) != len(windows):
        raise RuntimeError("example %s: %d of %d windows predicted" %
                           (example.guid, len(got), len(windows)))
      unit_tags, unit_scores = windows_lib.merge_windows(
          windows, [got[w][0] for w in range(len(windows))],
          len(example.units), self.label_list, self.scheme,
          [got[w][1] for w in range(len(windows))])
      tags.append(unit_tags)
      scores.append(unit_scores)
    return tags, scores

  def evaluate(self, run, data, checkpoint=None, name=None):
    tags, _ = self.predict_tags(run, data, checkpoint)
    scores = entity_scores([e.tags for e in data.examples], tags,
                           self.scheme)
    if name == "final":
      write_dev_predictions(
          os.path.join(run.output_dir, run_info.DEV_PREDICTIONS_FILE),
          data.examples, tags, self.scheme)
    scores["global_step"] = run.checkpoint_step(checkpoint)
    tf.logging.info("Entity-level dev: precision %.4f recall %.4f f1 %.4f",
                    scores["precision"], scores["recall"], scores["f1"])
    run.write_summaries("eval" if name is None else "eval_" + name,
                        {"entity_%s" % k: scores[k]
                         for k in ("precision", "recall", "f1")},
                        scores["global_step"])
    return scores

  def eval_report(self, scores, checkpoint, data):
    return format_scores(scores, checkpoint, len(data.examples))

  def eval_results(self, scores):
    return {k: scores[k] for k in ("precision", "recall", "f1", "per_type",
                                   "global_step")}

  def google_eval_results(self, scores):
    return metrics.google_eval_results(scores,
                                       ("precision", "recall", "f1"))

  def predict(self, run, data, checkpoint):
    started = time.time()
    tags, _ = self.predict_tags(run, data, checkpoint)
    conll = os.path.join(run.output_dir, "test_predictions.txt")
    jsonl = os.path.join(run.output_dir, "test_predictions.jsonl")
    write_conll(conll, data.examples, tags)
    write_jsonl(jsonl, data.examples, tags, self.scheme)
    seconds = max(time.time() - started, 1e-9)
    results = {"num_sentences": len(data.examples),
               "num_windows": data.num_features, "files": [conll, jsonl],
               "seconds": round(seconds, 2),
               "rates": {"sentences_per_sec":
                             round(len(data.examples) / seconds, 2),
                         "windows_per_sec":
                             round(data.num_features / seconds, 2)}}
    tf.logging.info("Wrote %d tagged sentences to %s and %s",
                    len(data.examples), conll, jsonl)
    if all(e.tags is not None for e in data.examples):
      scores = entity_scores([e.tags for e in data.examples], tags,
                             self.scheme)
      path = os.path.join(run.output_dir, "test_results.txt")
      run_info.atomic_text(path, format_scores(scores, checkpoint,
                                      len(data.examples)))
      results.update({k: scores[k] for k in ("precision", "recall", "f1",
                                             "per_type")})
    return results


def entity_scores(gold, predicted, scheme):
  """seqeval entity-level scores of tag sequences (any scheme).

  Both are read by the repair rule (tag_schemes.entity_spans: an I-/E-
  that does not continue an entity starts one) and written as BIO, then
  scored in seqeval's default, conlleval-compatible mode. So a model that
  predicts an invalid BIOES sequence is scored, not a crash.

  Returns:
    dict: precision, recall, f1 (micro), report (text), per_type
    {type: {precision, recall, f1, support}}.
  """
  gold = [tag_schemes.to_bio(t, scheme) for t in gold]
  predicted = [tag_schemes.to_bio(t, scheme) for t in predicted]
  report = seqeval_metrics.classification_report(
      gold, predicted, digits=4, zero_division=0)
  per_type = seqeval_metrics.classification_report(
      gold, predicted, output_dict=True, zero_division=0)
  return {
      "precision": float(seqeval_metrics.precision_score(
          gold, predicted, zero_division=0)),
      "recall": float(seqeval_metrics.recall_score(gold, predicted,
                                                   zero_division=0)),
      "f1": float(seqeval_metrics.f1_score(gold, predicted,
                                           zero_division=0)),
      "report": report,
      "per_type": {k: {m: float(v) for m, v in d.items()}
                   for k, d in per_type.items()
                   if "avg" not in k},
  }


def format_scores(scores, checkpoint, num_sentences):
  """The eval_results.txt text."""
  return ("checkpoint = %s\nsentences = %d\n"
          "precision = %.4f\nrecall = %.4f\nf1 = %.4f\n\n"
          "entity-level report (seqeval):\n%s" % (
              checkpoint, num_sentences, scores["precision"],
              scores["recall"], scores["f1"], scores["report"]))




def write_conll(path, examples, tags):
  """`unit gold predicted` lines, a blank line after each sentence.

  Gold is "-" for an unlabeled file; a unit containing whitespace (never
  produced by the readers) has it replaced by "_".
  """
  lines = []
  for example, predicted in zip(examples, tags):
    gold = example.tags or ["-"] * len(example.units)
    for unit, g, p in zip(example.units, gold, predicted):
      lines.append("%s %s %s\n" % ("_".join(unit.split()) or "_", g, p))
    lines.append("\n")
  run_info.atomic_text(path, "".join(lines))


ERROR_KINDS = ("missed", "spurious", "wrong_type", "wrong_span")


def entity_errors(gold, predicted):
  """The entity errors of one sentence: gold and predicted entities as
  entities_from_tags gives them. Rules, for each entity not matched
  exactly (same type, start and end) on the other side:
    wrong_type  a predicted entity has the gold one's span, not its type;
    wrong_span  else, a predicted entity overlaps the gold one;
    missed      else (a gold entity no prediction touches);
    spurious    a predicted entity that touches no gold entity.
  So a prediction overlapping a gold entity is counted once, on the gold
  entity's side. Returns [{"kind", "type", "gold", "predicted"}] ("type"
  is the gold entity's, the predicted one's for spurious; the entity a
  kind has no side for is None), gold order, then spurious ones."""
  key = lambda e: (e["type"], e["start"], e["end"])
  exact = {key(e) for e in gold} & {key(e) for e in predicted}
  overlaps = lambda a, b: a["start"] < b["end"] and b["start"] < a["end"]
  errors = []
  for g in gold:
    if key(g) in exact:
      continue
    touching = [p for p in predicted if overlaps(g, p)]
    same_span = [p for p in touching
                 if (p["start"], p["end"]) == (g["start"], g["end"])]
    if same_span:
      errors.append({"kind": "wrong_type", "type": g["type"], "gold": g,
                     "predicted": same_span[0]})
    elif touching:
      errors.append({"kind": "wrong_span", "type": g["type"], "gold": g,
                     "predicted": touching[0]})
    else:
      errors.append({"kind": "missed", "type": g["type"], "gold": g,
                     "predicted": None})
  for p in predicted:
    if key(p) not in exact and not any(overlaps(p, g) for g in gold):
      errors.append({"kind": "spurious", "type": p["type"], "gold": None,
                     "predicted": p})
  return errors


def write_dev_predictions(path, examples, tags, scheme):
  """dev_predictions.jsonl of an NER run: every dev sentence of the final
  evaluation, one JSON object a line, for error analysis (the studio lists
  the errors by type and kind):

    {"index": 3, "text": "...", "gold": [entity, ...],
     "predicted": [entity, ...], "errors": [entity_errors(...)]}

  Entities are {"type", "start", "end" (exclusive), "mention"} character
  offsets into the text, as test_predictions.jsonl gives them."""
  lines = []
  for index, (example, predicted) in enumerate(zip(examples, tags)):
    found = [windows_lib.entities_from_tags(
        example.text, example.units, example.unit_offsets, t, scheme)
             for t in (example.tags, predicted)]
    lines.append(json.dumps({
        "index": index, "text": example.text, "gold": found[0],
        "predicted": found[1], "errors": entity_errors(*found)},
                            ensure_ascii=False) + "\n")
  run_info.atomic_text(path, "".join(lines))


def write_jsonl(path, examples, tags, scheme):
  """One {"text", "entities": [{type, start, end, mention}]} per sentence."""
  lines = []
  for example, predicted in zip(examples, tags):
    entities = windows_lib.entities_from_tags(
        example.text, example.units, example.unit_offsets, predicted,
        scheme)
    lines.append(json.dumps({"text": example.text, "entities": entities},
                            ensure_ascii=False) + "\n")
  run_info.atomic_text(path, "".join(lines))


TASK_CLASS = Tagger

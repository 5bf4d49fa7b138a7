"""Sentence and sentence-pair classification: the task run_classifier.py
plugs into the runner.

  Classifier(name, text_a_column=None, text_b_column=None, label_column=None)

Data sets and their formats are in bert_toolkit.data.classification; a text (pair) becomes
ids by bert_toolkit.data.encoding (pairs truncated from the longer side). The head
is Google's: dropout on the pooled output, then `output_weights` /
`output_bias` and a softmax cross-entropy. Evaluation runs the streaming
metrics of bert_toolkit.tasks.metrics in the graph (accuracy, macro F1, per-class
precision / recall / F1, the confusion matrix, also as a TensorBoard text
table); prediction writes test_results.tsv, and for a labelled test file
test_results.txt with the same metrics.

PREDICT outputs (also the serving signature):
  probabilities  float32 [batch, num_labels], softmax of the logits
  label_id       int32 [batch], argmax
  label          string [batch], label_list[label_id]
  logits         float32 [batch, num_labels], exported by --long_text=windows
                 runs only: there a served row is one window, and a text's
                 logits are its windows' pooled (encoding.pool_logits, which
                 the predictor applies)

Long texts (--long_text=windows): a record holds all windows of one text
(encoding.encode_windows), the input pipeline turns them into rows, and the
head pools the windows' logits into the text's (mean or max,
modeling.heads.pool_windows) before the loss, the metrics and the
predictions: training, evaluation and prediction all see one row of logits
per text.
"""

import collections
import json
import os

import numpy as np
import tensorflow.compat.v1 as tf

from bert_toolkit import kinds
from bert_toolkit import settings as settings_lib
from bert_toolkit.data import encoding
from bert_toolkit.tasks import metrics
from bert_toolkit.runs import atomic
from bert_toolkit.runs import run_info
from bert_toolkit.engine import task as task_lib
from bert_toolkit.data import classification as tasks_lib
from bert_toolkit.errors import SettingsError
from modeling import heads


# The classifier's own settings beside google_output_format: what it reads
# (columns) and its head settings (None: the run's, else the default).
READING_AND_HEAD = ("text_a_column", "text_b_column", "label_column",
                    "truncation", "multi_label", "label_separator",
                    "long_text", "window_stride", "window_pooling")


class ClassifierCodec(task_lib.ServingCodec):
  """Raw texts to a served classifier and back.

  A text (pair) is encoded as run_classifier encoded its features, with
  the run's truncation; a --long_text=windows run makes one row per window
  (a single text only) and pools the windows' logits (mean or max, as the
  run) before the softmax, or the sigmoid of a multi-label run.

  Answers: {"label", "label_id", "probabilities": {label: p}}; a
  multi-label run (the export holds per-label thresholds) answers
  {"labels": [every label at or above its threshold], "probabilities"}.
  """

  def rows(self, text, text_b=None):
    if self.head.get("long_text") == "windows":
      if text_b:
        raise self.error("this model reads long single texts as windows; "
                         "it takes no text_b")
      encoded = encoding.encode_windows(self.tokenizer, text,
                                        self.max_seq_length,
                                        self.head.get("window_stride"))
    else:
      encoded = [encoding.encode(self.tokenizer, text, text_b,
                                 self.max_seq_length,
                                 self.head.get("truncation", "head"))]
    rows = [{"input_ids": e.input_ids, "input_mask": [1] * len(e.input_ids),
             "segment_ids": e.segment_ids} for e in encoded]
    return rows, None

  def probabilities(self, outputs):
    """A text's rows' outputs -> its probabilities (list of float): the
    row's own, or the softmax / sigmoid of its windows' pooled logits."""
    if self.head.get("long_text") != "windows":
      return outputs[0]["probabilities"].tolist()
    logits = encoding.pool_logits([o["logits"] for o in outputs],
                                  self.head.get("window_pooling", "mean"))
    if self.head.get("multi_label"):
      return (1.0 / (1.0 + np.exp(-logits))).tolist()
    shifted = np.exp(logits - logits.max())
    return (shifted / shifted.sum()).tolist()

  def decode(self, state, outputs):
    del state
    probabilities = self.probabilities(outputs)
    thresholds = self.config.get("thresholds")
    if thresholds is not None:        # multi-label: every label above its own
      return {"labels": [label for label, p, t in zip(
          self.labels, probabilities, thresholds) if p >= t],
              "probabilities": dict(zip(self.labels, probabilities))}
    label_id = int(np.argmax(probabilities))
    return {"label": self.labels[label_id], "label_id": label_id,
            "probabilities": dict(zip(self.labels, probabilities))}


class ClassifierDistill(task_lib.DistillAdaptor):
  """Distilling a classifier: a record carries the teacher's logits
  ([labels]); the soft loss compares the example's two distributions. A
  line of --unlabeled_file is `text_a` or `text_a ||| text_b`, labelled
  with the teacher's argmax."""

  def teacher_width(self):
    return self.num_labels

  def attach(self, row, values, extra):
    del extra
    if row["label_ids"][0] < 0:       # unlabeled: the teacher's label
      row["label_ids"] = [int(np.argmax(values))]
    row["teacher_logits"] = [float(v) for v in values]

  def unlabeled_example(self, number, line):
    text_a, _, text_b = line.partition(" ||| ")
    return tasks_lib.InputExample("unlabeled-%d" % number, text_a.strip(),
                                  text_b.strip() or None, None, number - 1,
                                  number)

  def soft_targets(self, head_output, features):
    return (head_output.predictions["logits"], features["teacher_logits"],
            None)


COLUMNS = ("text_a_column", "text_b_column", "label_column")


class ColumnReading(object):
  """A task whose data set may be a generic format (tsv, csv, jsonl) read
  by named columns (mixed in before task_lib.Task).

  The columns are head settings: given, else the run directory's
  (run_info.json), else a student's teacher's (column_defaults), else
  none. The reader is made once they are resolved,
  so an evaluate- or predict-only command on a trained run, a resume and
  a student of a teacher run need no column flag; a generic task that is
  still without its columns is refused in resolve_head, before anything
  is written. A subclass implements make_reader() -> the data set.
  """

  _data = None
  column_defaults = {}      # a student's: the teacher's columns

  def make_reader(self):
    raise NotImplementedError

  @classmethod
  def text_signature(cls, info):
    """A text (pair, when the data set has a text_b column) cut by the
    run's truncation; none for a run that reads windows."""
    head = info.get("head") or {}
    if head.get("long_text") == "windows":
      return None
    return {"pair": tasks_lib.run_reads_pair(info),
            "truncation": head.get("truncation") or "head"}

  @property
  def data(self):
    """The data set, read with the resolved columns."""
    if self._data is None:
      self._data = self.make_reader()
    return self._data

  @data.setter
  def data(self, value):
    self._data = value

  def resolve_head(self, saved_head, where):
    super(ColumnReading, self).resolve_head(saved_head, where)
    for key, value in self.column_defaults.items():
      if getattr(self, key) is None and key not in (saved_head or {}):
        setattr(self, key, value)
    self._data = None
    self.make_reader()      # a generic task without its columns: refused

  def flag_for(self, key, value):
    if key in COLUMNS and value is None:
      return "no --%s" % key
    return super(ColumnReading, self).flag_for(key, value)


def generic_columns(name, given):
  """The columns a task keeps: `given` ({column setting: value}) for a
  generic format, none for a data set (its columns are its own)."""
  generic = name in tasks_lib.GENERIC
  return {key: (given.get(key) or None) if generic else None
          for key in COLUMNS}


class Classifier(ColumnReading, task_lib.Task):
  """Classification of one text or a text pair into one of the labels."""

  kind = "classifier"
  CODEC = ClassifierCodec
  DISTILL = ClassifierDistill
  best_metrics = ("accuracy", "macro_f1")
  first_token_only = True   # the head reads the pooled output alone
  # What the run directory keeps and a later command must agree with: the
  # head and how the data is read (a generic task's columns).
  HEAD_DEFAULTS = (("truncation", "head"), ("multi_label", False),
                   ("label_separator", ","), ("long_text", "truncate"),
                   ("window_stride", 0), ("window_pooling", "mean"),
                   ("text_a_column", None), ("text_b_column", None),
                   ("label_column", None))

  @classmethod
  def from_settings(cls, values):
    """The task of run_classifier.py's flags (None: not given)."""
    name = values.get("task") or values.get("task_name")
    if not name:
      raise SettingsError("--task is required")
    given = {key: values.get(key) for key in READING_AND_HEAD}
    return cls(name, google_output_format=bool(values.get(
        "google_output_format")), **given)

  @classmethod
  def serving_extras(cls, run_dir, info):
    """A multi-label run's per-label thresholds (tuned on dev, else 0.5)."""
    if not (info.get("head") or {}).get("multi_label"):
      return {}
    return {"thresholds": list(run_info.read_thresholds(run_dir,
                                                        info["labels"]))}

  @classmethod
  def student_task(cls, info, where, task_name=None, text_a_column=None,
                   text_b_column=None, label_column=None):
    """The teacher's reading (run_info's head: columns, truncation, label
    separator) and head; given columns, or another task of the same
    format, read other data the same way. Columns are the teacher's when
    none is given."""
    head = info.get("head") or {}
    if head.get("long_text") == "windows":
      raise SettingsError(
          "%s reads long texts as windows (--long_text=windows); "
          "distillation caches one row of teacher logits per feature and "
          "needs a teacher trained with --long_text=truncate" % where)
    if head.get("multi_label"):
      raise SettingsError(
          "%s is a multi-label run (--multi_label); distillation's soft "
          "loss compares one softmax over the labels and needs a "
          "single-label teacher" % where)
    task = cls(task_name or info["task"], text_a_column=text_a_column,
               text_b_column=text_b_column, label_column=label_column,
               truncation=head.get("truncation"),
               label_separator=head.get("label_separator"))
    if task.name in tasks_lib.GENERIC and not (
        text_a_column or text_b_column or label_column):
      task.column_defaults = {key: head.get(key) for key in COLUMNS}
    return task

  def __init__(self, name, *, text_a_column=None, text_b_column=None,
               label_column=None, google_output_format=False,
               truncation=None, multi_label=None, label_separator=None,
               long_text=None, window_stride=None, window_pooling=None):
    """Args:
      name: task name (see bert_toolkit.data.classification.get_task).
      text_a_column, text_b_column, label_column: generic tasks' columns.
      google_output_format: test_results.tsv as Google writes it (see
        write_predictions).
      truncation: which pieces of a too-long single text are kept: "head"
        (Google's), "tail" or "head_tail" (None: the run's, else head).
        Kept in run_info, so export and serving cut texts the same way.
      multi_label: several labels per example (generic tasks): sigmoid
        outputs with binary cross-entropy (None: the run's, else false).
      label_separator: what joins an example's labels in a text column
        (None: the run's, else ",").
      long_text: "truncate" (cut by `truncation`) or "windows" (every
        window of a long text, logits pooled); None: the run's, else
        truncate.
      window_stride: pieces between window starts (0: half a window).
      window_pooling: "mean" or "max" of the windows' logits.

    Raises:
      SettingsError: an unknown task (a generic one without columns is
        refused by resolve_head, once the run's columns are known).
    """
    super(Classifier, self).__init__()
    self.name = name.lower()
    # A known data set's columns are its own: the flags are not read.
    for key, value in generic_columns(self.name, {
        "text_a_column": text_a_column, "text_b_column": text_b_column,
        "label_column": label_column}).items():
      setattr(self, key, value)
    if self.name not in tasks_lib.GENERIC:
      self.name = self.data.name      # an unknown task is refused here
    self.google_output_format = google_output_format
    self.truncation = truncation
    self.multi_label = multi_label
    self.label_separator = label_separator
    self.long_text = long_text
    self.window_stride = window_stride
    self.window_pooling = window_pooling

  def make_reader(self):
    """The data set of the task, read with the resolved columns."""
    try:
      return tasks_lib.get_task(self.name, self.text_a_column,
                                self.text_b_column, self.label_column)
    except ValueError as e:
      raise SettingsError(str(e))

  @property
  def windowed(self):
    """Records hold every window of a text (--long_text=windows)."""
    return self.long_text == "windows"

  @property
  def sequence_names(self):
    names = ("input_ids", "segment_ids")
    return names + ("window_lengths",) if self.windowed else names

  def validate(self, settings):
    if self.windowed:
      if settings.train.pack_sequences:
        raise SettingsError("--long_text=windows batches texts, each with "
                            "its windows; it cannot be combined with "
                            "--pack_sequences: leave one out")
      if self.truncation not in (None, "head"):
        raise SettingsError("--long_text=windows keeps every piece, so "
                            "--truncation=%s does not apply: leave one out"
                            % self.truncation)
    settings_lib.check_values(kinds.get(self.kind).settings,
                              self.head_settings())
    if self.multi_label and self.name not in tasks_lib.GENERIC:
      raise SettingsError("--multi_label reads several labels a row: use "
                          "--task=tsv, csv or jsonl (not %s)" % self.name)

  def _multi_hot(self, example):
    """Multi-label: the example's labels as 0.0 / 1.0, in label order."""
    gold = set(example.label or ())
    return [float(label in gold) for label in self.label_list]

  def _reader(self):
    """The data set, reading label sets when the run is multi-label."""
    self.data.label_separator = (self.label_separator if self.multi_label
                                 else None)
    return self.data

  @classmethod
  def from_run_info(cls, info):
    task = cls.__new__(cls)
    task_lib.Task.__init__(task)
    task.data = None
    task.name = info.get("task")
    task.label_list = list(info["labels"])
    task.google_output_format = False
    head = info.get("head") or {}
    for key, default in cls.HEAD_DEFAULTS:  # older runs lack newer keys
      setattr(task, key, head.get(key, default))
    return task

  # ----------------------------------------------------- data, features ---

  def read_labels(self, data_dir, train_examples):
    return self._reader().get_labels(data_dir, train_examples)

  def label_counts(self, train_examples):
    if self.multi_label:
      return None    # --class_weights is for one label per example
    return collections.Counter(e.label for e in train_examples
                               if e.label is not None)

  def describe_loss(self):
    return "multi-label classification (one sigmoid per label)"

  def read_split(self, data_dir, split, labels=None):
    return self._reader().get_examples(data_dir, split, labels)

  def float_features_for(self, split):
    """Multi-label: the gold labels as a 0/1 vector, one float a label."""
    del split
    if self.multi_label:
      return (("label_multi_hot", len(self.label_list)),)
    return ()

  def source_file(self, data_dir, split):
    return self.data.require_file(data_dir, split)

  def cache_settings(self, split):
    """The resolved value of every setting of the kind's table that changes
    what is read or how it is encoded (its settings.KEY rows)."""
    del split
    return settings_lib.feature_values(kinds.get(self.kind).settings,
                                       self.setting_value)

  def setting_value(self, name):
    """The resolved value of the kind's setting `name`."""
    return self.name if name in ("task", "task_name") else getattr(
        self, name)

  def encode(self, split, examples, tokenizer, max_seq_length):
    label_map = {label: i for i, label in enumerate(self.label_list)}

    def records():
      for index, example in enumerate(examples):
        pieces = self._encode_example(example, tokenizer, max_seq_length)
        record = collections.OrderedDict([
            ("input_ids", sum((e.input_ids for e in pieces), [])),
            ("segment_ids", sum((e.segment_ids for e in pieces), [])),
            ("label_ids", [label_map[example.label]
                           if example.label is not None and
                           not self.multi_label else -1]),
            ("example_index", [index]),
            ("_truncated", [int(pieces[0].truncated)]),
        ])
        if self.windowed:
          record["window_lengths"] = [len(e.input_ids) for e in pieces]
        if self.multi_label:
          record["label_multi_hot"] = self._multi_hot(example)
        yield record

    return task_lib.EncodedSplit(records, len(examples), None)

  def _encode_example(self, example, tokenizer, max_seq_length):
    """[Encoded]: the example's windows, or its one truncated encoding."""
    if not self.windowed:
      return [encoding.encode(tokenizer, example.text_a, example.text_b,
                              max_seq_length, self.truncation)]
    if example.text_b:
      raise SettingsError(
          "--long_text=windows cuts single texts into windows, and %s gives "
          "text pairs: use --truncation for pairs" % self.name)
    return encoding.encode_windows(tokenizer, example.text_a, max_seq_length,
                                   self.window_stride)

  def _predict_multi_label(self, run, data, rows, path):
    thresholds = run_info.read_thresholds(run.output_dir, self.label_list)
    count = write_multi_label_predictions(
        path, rows, data.examples, self.label_list, self.label_separator,
        thresholds)
    tf.logging.info("Wrote %d predictions to %s", count, path)
    results = {"num_examples": count, "file": path}
    if all(e.label is not None for e in data.examples):
      gold = [self._multi_hot(data.examples[int(r["example_index"])])
              for r in rows]
      results.update(metrics.multi_label_scores(
          gold, [r["probabilities"] for r in rows], self.label_list,
          thresholds))
    return results

  # --------------------------------------------------------------- head ---

  def head(self, model, features, context):
    label_names = self.label_list
    num_labels = len(label_names)
    logits = heads.classifier_logits(  # [rows, num_labels]
        model.get_pooled_output(), num_labels, context.is_training,
        context.config.hidden_dropout_prob)
    if encoding.WINDOW_EXAMPLE in features:  # rows are windows of texts
      logits = heads.pool_windows(           # [texts, num_labels]
          logits, features[encoding.WINDOW_EXAMPLE], self.window_pooling)
    if self.multi_label:
      return self._multi_label_head(logits, features, context)
    predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)  # [batch]
    predictions = {
        "probabilities": tf.nn.softmax(logits, axis=-1),
        "label_id": predicted,
        "label": tf.gather(tf.constant(list(label_names), tf.string),
                           predicted),
    }
    exported = dict(predictions)
    predictions["logits"] = logits  # for distillation; not exported
    if self.windowed:               # ... except for the predictor to pool
      exported["logits"] = logits
    if context.mode == tf.estimator.ModeKeys.PREDICT:
      return task_lib.HeadOutput(predictions, export_outputs=exported)
    label_ids = features["label_ids"]  # [batch]
    training = context.is_training     # weights: the training loss only
    loss, per_example_loss, _ = heads.softmax_cross_entropy(
        logits, tf.maximum(label_ids, 0), num_labels,
        class_weights=self.class_weights if training else None,
        focal_gamma=self.focal_gamma if training else 0.0)
    metric_ops = None
    if context.mode == tf.estimator.ModeKeys.EVAL:
      metric_ops = metrics.classification_metric_ops(
          label_ids, predicted, label_names, per_example_loss)
    return task_lib.HeadOutput(predictions, loss=loss,
                               eval_metric_ops=metric_ops,
                               export_outputs=exported)

  def _multi_label_head(self, logits, features, context):
    """Sigmoid per label, binary cross-entropy averaged over labels and
    examples; evaluation at threshold 0.5 (tuned thresholds are applied
    outside the graph)."""
    probabilities = tf.sigmoid(logits)                       # [batch, n]
    predictions = {"probabilities": probabilities}
    exported = dict(predictions)
    predictions["logits"] = logits
    if self.windowed:
      exported["logits"] = logits
    if context.mode == tf.estimator.ModeKeys.PREDICT:
      return task_lib.HeadOutput(predictions, export_outputs=exported)
    gold = features["label_multi_hot"]                       # [batch, n]
    per_example_loss = tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=gold, logits=logits),
        axis=-1)
    loss = tf.reduce_mean(per_example_loss)
    metric_ops = None
    if context.mode == tf.estimator.ModeKeys.EVAL:
      metric_ops = metrics.multi_label_metric_ops(
          gold, probabilities, self.label_list,
          per_example_loss=per_example_loss)
    return task_lib.HeadOutput(predictions, loss=loss,
                               eval_metric_ops=metric_ops,
                               export_outputs=exported)

  # ----------------------------------------------------- score and write ---

  def evaluate(self, run, data, checkpoint=None, name=None):
    """The dev scores; the final evaluation also writes
    dev_predictions.jsonl (single-label), from the evaluation's own pass
    (training.EvalRowsHook) where a row is an example, else (windows: a
    row is a window) from a predict pass."""
    run.state.totals["eval"] = data.num_features
    collect = name == "final" and not self.multi_label
    if collect and not self.windowed:
      run.state.eval_rows = []
    try:
      scores = run.estimator.evaluate(
          run.input_fn(data, run.train.eval_batch_size, False),
          checkpoint_path=checkpoint, name=name)
      rows = run.state.eval_rows
    finally:
      run.state.eval_rows = None
    if self.multi_label and name == "final":
      scores = dict(scores, **self._tuned_scores(run, data, checkpoint))
    elif collect:
      if rows is None or len(rows) != len(data.examples):
        rows = run.predictions(data, checkpoint)
      write_dev_predictions(
          os.path.join(run.output_dir, run_info.DEV_PREDICTIONS_FILE), rows,
          data.examples, self.label_list)
    return scores

  def _tuned_scores(self, run, data, checkpoint):
    """Multi-label, final evaluation: per-label thresholds tuned on this
    split (metrics.tune_thresholds), written to thresholds.json for
    prediction and serving; the scores at those thresholds."""
    rows = sorted(run.predictions(data, checkpoint),
                  key=lambda p: int(p["example_index"]))
    gold = [self._multi_hot(data.examples[int(r["example_index"])])
            for r in rows]
    probabilities = [r["probabilities"] for r in rows]
    thresholds = metrics.tune_thresholds(gold, probabilities)
    run_info.atomic_json(os.path.join(run.output_dir, run_info.THRESHOLDS_FILE),
                         {"labels": self.label_list,
                          "thresholds": thresholds, "checkpoint":
                              os.path.basename(checkpoint or "")})
    tuned = metrics.multi_label_scores(gold, probabilities, self.label_list,
                                       thresholds)
    tuned = {"tuned_" + k: v for k, v in tuned.items() if "/" not in k}
    tuned.update({"threshold/%s" % label: t
                  for label, t in zip(self.label_list, thresholds)})
    return tuned

  def eval_report(self, scores, checkpoint, data):
    return ("checkpoint = %s\n" % checkpoint +
            metrics.format_results(scores, self.label_list))

  def eval_results(self, scores):
    return metrics.numeric_results(scores)

  def google_eval_results(self, scores):
    return metrics.google_eval_results(scores, ("accuracy",))

  def predict(self, run, data, checkpoint):
    """test_results.tsv; a labelled test file is also scored:
    test_results.txt (as eval_results.txt) and the results' metrics."""
    path = os.path.join(run.output_dir, "test_results.tsv")
    rows = sorted(run.predictions(data, checkpoint),
                  key=lambda p: int(p["example_index"]))
    if self.multi_label:
      return self._predict_multi_label(run, data, rows, path)
    count = write_predictions(path, rows, data.examples, self.label_list,
                              self.google_output_format)
    tf.logging.info("Wrote %d predictions to %s", count, path)
    results = {"num_examples": count, "file": path}
    if all(e.label is not None for e in data.examples):
      label_map = {label: i for i, label in enumerate(self.label_list)}
      scores = metrics.scores_from_predictions(
          [label_map[data.examples[int(r["example_index"])].label]
           for r in rows], [int(r["label_id"]) for r in rows],
          self.label_list)
      run_info.atomic_text(
          os.path.join(run.output_dir, "test_results.txt"),
          "checkpoint = %s\n" % checkpoint +
          metrics.format_results(scores, self.label_list))
      results.update(metrics.numeric_results(scores))
    return results


def write_multi_label_predictions(path, rows, examples, labels, separator,
                                  thresholds):
  """test_results.tsv of a multi-label run: index, the predicted labels
  joined by the separator, prob_<label> per label, text_a, text_b."""
  with atomic.replacing(path) as f:
    f.write("\t".join(["index", "labels"] +
                      ["prob_%s" % label for label in labels] +
                      ["text_a", "text_b"]) + "\n")
    for row in rows:
      example = examples[int(row["example_index"])]
      chosen = [label for label, p, t in zip(labels, row["probabilities"],
                                             thresholds) if p >= t]
      f.write("\t".join(
          [_one_line(str(example.index)), separator.join(chosen)] +
          ["%.6f" % p for p in row["probabilities"]] +
          [_one_line(example.text_a), _one_line(example.text_b or "")]) +
              "\n")
  return len(rows)


def write_predictions(path, predictions, examples, labels,
                      google_format=False):
  """test_results.tsv: index, predicted label, one probability a label, text.

  `index` is the example's own id (the file's index / id column when it has
  one, else its data row number counted from 0, skipped rows included), so
  rows line up with the input file even when empty texts were skipped.

  google_format: Google's layout instead, for scripts that parse it: no
  header, one line per example, the label probabilities alone, tab-separated
  in label order (str(float), as Google prints them). Rows skipped for an
  empty text have no line there (the reader's warning counts them).
  """
  rows = sorted(predictions, key=lambda p: int(p["example_index"]))
  with atomic.replacing(path) as f:
    if google_format:
      for row in rows:
        f.write("\t".join(str(float(p)) for p in row["probabilities"]) +
                "\n")
    else:
      _write_full_rows(f, rows, examples, labels)
  return len(rows)


def write_dev_predictions(path, predictions, examples, labels):
  """dev_predictions.jsonl: the final evaluation's dev examples, one JSON
  object a line in example order, for error analysis (the studio filters
  it by gold and predicted label):

    {"index": "17", "gold": "0", "predicted": "1",
     "probabilities": [0.2, 0.8], "text_a": "...", "text_b": null}

  `index` is the example's own id (as in test_results.tsv); probabilities
  are in label order (labels.txt). Single-label runs only."""
  rows = sorted(predictions, key=lambda p: int(p["example_index"]))
  with atomic.replacing(path) as f:
    for row in rows:
      example = examples[int(row["example_index"])]
      f.write(json.dumps({
          "index": str(example.index), "gold": example.label,
          "predicted": labels[int(row["label_id"])],
          "probabilities": [round(float(p), 6) for p in row["probabilities"]],
          "text_a": example.text_a, "text_b": example.text_b},
                         ensure_ascii=False) + "\n")
  return len(rows)


def _write_full_rows(f, rows, examples, labels):
  f.write("\t".join(["index", "prediction"] +
                    ["prob_%s" % label for label in labels] +
                    ["text_a", "text_b"]) + "\n")
  for row in rows:
    example = examples[int(row["example_index"])]
    f.write("\t".join(
        [_one_line(str(example.index)), labels[int(row["label_id"])]] +
        ["%.6f" % p for p in row["probabilities"]] +
        [_one_line(example.text_a), _one_line(example.text_b or "")]) +
            "\n")


def _one_line(text):
  return text.replace("\t", " ").replace("\n", " ")


TASK_CLASS = Classifier

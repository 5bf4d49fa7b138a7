r"""Regression: one score per text or text pair (STS-B's similarity, a rating).

  python run_task.py --kind=regression --task=stsb --data_dir=STS-B \
      --init_checkpoint=MODEL --output_dir=runs/stsb --do_train --do_eval

Data sets (--task):
  stsb             GLUE STS-B: {train,dev,test}.tsv with a header,
                   sentence1, sentence2 and score (test without score)
  tsv, csv, jsonl  any file of the classification readers' generic
                   formats, naming --text_a_column, --label_column (the
                   score) and optionally --text_b_column

A score must be a number (an error names the file and line otherwise); a
test file may leave it out. A text (pair) is encoded as the classifier
encodes it (bert_toolkit.data.encoding, --truncation for long single
texts).

The head is a linear layer on the pooled output (`output_weights` [1,
hidden], `output_bias` [1], after dropout), trained with the mean squared
error. Evaluation scores the dev predictions in Python: Pearson and
Spearman correlation (ranks with ties averaged) and the mean squared
error; the best checkpoint follows Pearson by default. Prediction writes
test_results.tsv (`index<TAB>score`).

PREDICT outputs (also the serving signature):
  score  float32 [batch]

This module is the whole task: its row in bert_toolkit.kinds makes it a
command (run_task.py --kind=regression), a served model and a studio kind.
"""

import math
import os

import numpy as np
import tensorflow.compat.v1 as tf

from bert_toolkit import kinds
from bert_toolkit import settings as settings_lib
from bert_toolkit.data import classification
from bert_toolkit.data import encoding
from bert_toolkit.engine import task as task_lib
from bert_toolkit.tasks import classifier
from bert_toolkit.tasks import metrics
from bert_toolkit.errors import InputError
from bert_toolkit.errors import SettingsError
from modeling import heads

KIND = "regression"
SCORE = "score"


def _data_set(name, text_a_column, text_b_column, label_column):
  """The reader of --task `name` (a classification.ClassificationData)."""
  if name == "stsb":
    return classification.ClassificationData(
        name, "tsv", {s: [s + ".tsv"] for s in classification.SPLITS},
        "sentence1", SCORE, text_b="sentence2")
  if name not in kinds.get(KIND).tasks:
    raise SettingsError("unknown --task %r for regression; known: %s" % (
        name, ", ".join(kinds.get(KIND).tasks)))
  try:
    return classification.get_task(name, text_a_column, text_b_column,
                                   label_column)
  except ValueError as e:
    raise SettingsError(str(e))


class RegressionCodec(task_lib.ServingCodec):
  """Raw texts to a served regression model and back: a text (pair) is
  encoded as in training; the answer is {"score": float}."""

  def rows(self, text, text_b=None):
    encoded = encoding.encode(self.tokenizer, text, text_b,
                              self.max_seq_length,
                              self.head.get("truncation", "head"))
    return [{"input_ids": encoded.input_ids,
             "input_mask": [1] * len(encoded.input_ids),
             "segment_ids": encoded.segment_ids}], None

  def decode(self, state, outputs):
    del state
    return {SCORE: float(outputs[0][SCORE])}


class Regressor(classifier.ColumnReading, task_lib.Task):
  """A score per text or text pair, trained with the mean squared error."""

  kind = KIND
  CODEC = RegressionCodec
  best_metrics = ("pearson", "spearman")
  first_token_only = True   # the head reads the pooled output alone
  # The run directory keeps the head and how the data is read (columns).
  HEAD_DEFAULTS = (("truncation", "head"), ("text_a_column", None),
                   ("text_b_column", None), ("label_column", None))
  sequence_names = ("input_ids", "segment_ids")
  scalar_names = ("example_index",)
  float_features = ((SCORE, 1),)

  def __init__(self, name, text_a_column=None, text_b_column=None,
               label_column=None, truncation=None):
    """Args:
      name: the data set (stsb, tsv, csv, jsonl).
      text_a_column, text_b_column, label_column: the generic formats'
        columns (the label column holds the score).
      truncation: head, tail or head_tail (None: the run's, else head).
    """
    super(Regressor, self).__init__()
    self.name = name.lower()
    for key, value in classifier.generic_columns(self.name, {   # stsb's
        "text_a_column": text_a_column, "text_b_column": text_b_column,
        "label_column": label_column}).items():                 # are its own
      setattr(self, key, value)
    if self.name not in classification.GENERIC:
      self.make_reader()                # an unknown task is refused here
    self.truncation = truncation

  def make_reader(self):
    """The data set, read with the resolved columns."""
    return _data_set(self.name, self.text_a_column, self.text_b_column,
                     self.label_column)

  @classmethod
  def from_settings(cls, values):
    """The task of a command line: `values` {setting: value} of the row's
    settings in bert_toolkit.kinds."""
    if not values.get("task"):
      raise SettingsError("--task is required (%s)" %
                          ", ".join(kinds.get(KIND).tasks))
    return cls(values["task"], values.get("text_a_column"),
               values.get("text_b_column"), values.get("label_column"),
               values.get("truncation"))

  @classmethod
  def from_run_info(cls, info):
    task = cls.__new__(cls)
    task_lib.Task.__init__(task)
    task.name = info.get("task")
    task.data = None
    task.label_list = list(info["labels"])
    head = info.get("head") or {}
    for key, default in cls.HEAD_DEFAULTS:  # older runs lack newer keys
      setattr(task, key, head.get(key, default))
    return task

  # ----------------------------------------------------- data, features ---

  def read_labels(self, data_dir, train_examples):
    del data_dir, train_examples
    return [SCORE]

  def read_split(self, data_dir, split, labels=None):
    del labels
    examples = self.data.get_examples(data_dir, split, None)
    path = self.data.require_file(data_dir, split)
    return [example._replace(label=_score(path, example))
            for example in examples]

  def source_file(self, data_dir, split):
    return self.data.require_file(data_dir, split)

  def cache_settings(self, split):
    """The resolved value of every setting of the kind's table that changes
    what is read or how it is encoded (its settings.KEY rows)."""
    del split
    return settings_lib.feature_values(kinds.get(KIND).settings,
                                       self.setting_value)

  def setting_value(self, name):
    """The resolved value of the kind's setting `name`."""
    return self.name if name == "task" else getattr(self, name)

  def validate(self, settings):
    del settings
    settings_lib.check_values(kinds.get(KIND).settings, self.head_settings())

  def encode(self, split, examples, tokenizer, max_seq_length):
    def records():
      for index, example in enumerate(examples):
        encoded = encoding.encode(tokenizer, example.text_a, example.text_b,
                                  max_seq_length, self.truncation)
        yield {"input_ids": encoded.input_ids,
               "segment_ids": encoded.segment_ids,
               "example_index": [index],
               SCORE: [0.0 if example.label is None else example.label]}
    return task_lib.EncodedSplit(records, len(examples), None)

  # --------------------------------------------------------------- head ---

  def head(self, model, features, context):
    output = model.get_pooled_output()                     # [batch, hidden]
    scores = tf.squeeze(heads.classifier_logits(output, 1,
                                                context.is_training), -1)
    predictions = {SCORE: scores}                          # [batch]
    if context.mode == tf.estimator.ModeKeys.PREDICT:
      return task_lib.HeadOutput(predictions)
    gold = features[SCORE][:, 0]                           # [batch]
    loss = tf.reduce_mean(tf.square(scores - gold))
    return task_lib.HeadOutput(predictions, loss=loss)

  # ----------------------------------------------------- score and write ---

  def _predicted(self, run, data, checkpoint):
    rows = sorted(run.predictions(data, checkpoint),
                  key=lambda r: int(r["example_index"]))
    return [float(r[SCORE]) for r in rows]

  def evaluate(self, run, data, checkpoint=None, name=None):
    predicted = self._predicted(run, data, checkpoint)
    gold = [e.label for e in data.examples]
    if any(g is None for g in gold):
      raise InputError(self.data.require_file(run.settings.data_dir,
                                              "dev"), None,
                       "the dev file has examples without a score",
                       "Give every dev example its score")
    scores = correlation_scores(gold, predicted)
    scores["global_step"] = run.checkpoint_step(checkpoint)
    run.write_summaries("eval" if name is None else "eval_" + name,
                        {k: v for k, v in scores.items()
                         if k != "global_step"}, scores["global_step"])
    return scores

  def google_eval_results(self, scores):
    return metrics.google_eval_results(scores, ("pearson", "spearman",
                                                "mse"))

  def eval_report(self, scores, checkpoint, data):
    del checkpoint
    lines = ["%s = %.4f" % (k, scores[k])
             for k in ("pearson", "spearman", "mse")]
    lines.append("num_examples = %d" % len(data.examples))
    return "\n".join(lines) + "\n"

  def predict(self, run, data, checkpoint):
    predicted = self._predicted(run, data, checkpoint)
    path = os.path.join(run.output_dir, "test_results.tsv")
    with open(path, "w", encoding="utf-8") as f:
      f.write("index\t%s\n" % SCORE)
      for example, value in zip(data.examples, predicted):
        f.write("%d\t%.6f\n" % (example.index, value))
    results = {"num_examples": len(predicted), "file": path}
    gold = [e.label for e in data.examples]
    if predicted and all(g is not None for g in gold):
      results["scores"] = correlation_scores(gold, predicted)
    return results


def _score(path, example):
  """An example's score as a float (None when the file has none)."""
  if example.label is None:
    return None
  try:
    value = float(example.label)
  except (TypeError, ValueError):
    value = float("nan")
  if math.isnan(value) or math.isinf(value):
    raise InputError(path, example.line, "the score %r is not a number" %
                     (example.label,), "Give each example a numeric score")
  return value


def _ranks(values):
  """Ranks from 1, ties given their average rank."""
  values = np.asarray(values, np.float64)
  order = np.argsort(values, kind="mergesort")
  ranks = np.empty(len(values), np.float64)
  sorted_values = values[order]
  start = 0
  while start < len(values):
    end = start
    while end + 1 < len(values) and sorted_values[end + 1] == \
        sorted_values[start]:
      end += 1
    ranks[order[start:end + 1]] = (start + end) / 2.0 + 1.0
    start = end + 1
  return ranks


def _pearson(a, b):
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  a, b = a - a.mean(), b - b.mean()
  denominator = math.sqrt(float((a * a).sum() * (b * b).sum()))
  return float((a * b).sum() / denominator) if denominator else 0.0


def correlation_scores(gold, predicted):
  """{"pearson", "spearman", "mse"} of predicted against gold scores."""
  gold = np.asarray(gold, np.float64)
  predicted = np.asarray(predicted, np.float64)
  return {"pearson": _pearson(gold, predicted),
          "spearman": _pearson(_ranks(gold), _ranks(predicted)),
          "mse": float(np.mean((gold - predicted) ** 2))}


TASK_CLASS = Regressor

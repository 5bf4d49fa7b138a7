"""Classification metrics: in-graph streaming ops and the results file.

One streaming confusion matrix feeds every metric (accuracy, macro F1,
per-class precision/recall/F1), so they appear in TensorBoard's eval
summaries and in `eval_results.txt` alike.
"""

import numpy as np
import tensorflow.compat.v1 as tf


def streaming_confusion_matrix(labels, predictions, num_labels):
  """Returns (confusion [num_labels, num_labels] float64, update_op).

  Rows are gold labels, columns predictions.
  """
  matrix = tf.get_variable(
      "confusion_matrix", [num_labels, num_labels], dtype=tf.float64,
      initializer=tf.zeros_initializer(), trainable=False,
      collections=[tf.GraphKeys.LOCAL_VARIABLES,
                   tf.GraphKeys.METRIC_VARIABLES])
  batch = tf.math.confusion_matrix(labels, predictions, num_classes=num_labels,
                                   dtype=tf.float64)
  return tf.identity(matrix), matrix.assign_add(batch)


def _safe_div(num, den):
  return tf.where(den > 0, num / tf.maximum(den, 1e-12), tf.zeros_like(num))


def classification_metric_ops(labels, predictions, label_names,
                              per_example_loss=None):
  """Estimator eval_metric_ops from one confusion matrix.

  Returns:
    dict name -> (value, update_op): accuracy, macro_f1, and
    precision/<label>, recall/<label>, f1/<label>; plus the matrix itself
    under "confusion_matrix" (not a scalar: kept out of summaries); with
    `per_example_loss` [batch], eval_loss (its mean over the examples, as
    google-research/bert's metric_fn computes it).
  """
  num_labels = len(label_names)
  with tf.variable_scope("metrics"):
    matrix, update = streaming_confusion_matrix(labels, predictions,
                                                num_labels)
  true_pos = tf.linalg.diag_part(matrix)
  precision = _safe_div(true_pos, tf.reduce_sum(matrix, axis=0))
  recall = _safe_div(true_pos, tf.reduce_sum(matrix, axis=1))
  f1 = _safe_div(2 * precision * recall, precision + recall)
  ops = {
      "accuracy": (_safe_div(tf.reduce_sum(true_pos), tf.reduce_sum(matrix)),
                   update),
      "macro_f1": (tf.reduce_mean(f1), update),
      "confusion_matrix": (matrix, update),
      SUMMARY_KEY: (confusion_matrix_summary(matrix, label_names), update),
  }
  for i, name in enumerate(label_names):
    ops["precision/%s" % name] = (precision[i], update)
    ops["recall/%s" % name] = (recall[i], update)
    ops["f1/%s" % name] = (f1[i], update)
  if per_example_loss is not None:
    ops[EVAL_LOSS] = tf.metrics.mean(per_example_loss)
  return ops


# The mean loss over the evaluated examples (google-research/bert's
# eval_loss; the Estimator's "loss" is the mean over batches).
EVAL_LOSS = "eval_loss"


def google_eval_results(scores, metric_names):
  """The results google-research/bert writes first in eval_results.txt:
  eval_<name> of each of `metric_names` (Google's eval_accuracy; the
  analogous keys of other tasks), eval_loss, global_step and loss -- those
  of them that `scores` holds.

  Args:
    scores: the evaluation's results (Estimator.evaluate's dict, or a
      task's own).
    metric_names: the task's metrics that get an eval_ key.

  Returns:
    dict key -> value, the values as they are in `scores`.
  """
  out = {"eval_" + name: scores[name] for name in metric_names
         if name in scores}
  for key in (EVAL_LOSS, "global_step", "loss"):
    if scores.get(key) is not None:
      out[key] = scores[key]
  return out


# Eval result holding a serialized tf.Summary (the confusion matrix as a
# Markdown table): the Estimator writes it to TensorBoard's Text dashboard.
SUMMARY_KEY = "confusion_matrix_text"


def confusion_matrix_summary(matrix, label_names):
  """The confusion matrix as a Markdown table in a serialized text Summary.

  Args:
    matrix: float Tensor [num_labels, num_labels], rows gold, columns
      predicted.
    label_names: list of num_labels strings.

  Returns:
    string scalar Tensor: a serialized `tf.Summary` (tag
    "confusion_matrix"), which `Estimator.evaluate` writes as is.
  """
  names = [str(n).replace("|", "/") for n in label_names]
  header = ("| gold (rows) / predicted (columns) | " + " | ".join(names) +
            " |\n" + "|---" * (len(names) + 1) + "|\n")
  cells = tf.strings.as_string(tf.cast(matrix, tf.int64))        # [n, n]
  row_text = tf.strings.reduce_join(cells, axis=1, separator=" | ")  # [n]
  rows = tf.strings.join([tf.constant(["| %s | " % n for n in names]),
                          row_text, tf.constant([" |"] * len(names))])
  table = tf.strings.join([header, tf.strings.reduce_join(rows,
                                                          separator="\n")])
  return tf.summary.text("confusion_matrix", table, collections=[])


def numeric_results(results):
  """Eval results without the serialized summaries: JSON-able numbers.

  Arrays become lists, numpy scalars Python numbers.
  """
  out = {}
  for key, value in results.items():
    if key == SUMMARY_KEY or isinstance(value, bytes):
      continue
    if isinstance(value, np.ndarray) and value.ndim > 0:
      out[key] = value.tolist()
    elif isinstance(value, (int, np.integer)):
      out[key] = int(value)
    else:
      out[key] = float(value)
  return out


def format_results(results, label_names):
  """Text of eval_results.txt: scalars, per-class table, confusion matrix."""
  results = numeric_results(results)
  lines = []
  for key in sorted(results):
    value = results[key]
    if np.ndim(value) == 0 and "/" not in key:
      lines.append("%s = %s" % (key, _fmt(value)))
  lines.append("")
  lines.append("%-20s %9s %9s %9s %9s" % ("label", "precision", "recall",
                                           "f1", "support"))
  matrix = np.asarray(results.get("confusion_matrix", []))
  for i, name in enumerate(label_names):
    support = int(matrix[i].sum()) if matrix.size else int(
        results.get("support/%s" % name, 0))
    lines.append("%-20s %9.4f %9.4f %9.4f %9d" % (
        name, results["precision/%s" % name], results["recall/%s" % name],
        results["f1/%s" % name], support))
  if matrix.size:
    lines.append("")
    lines.append("confusion matrix (rows: gold, columns: predicted)")
    width = max(8, max(len(n) for n in label_names) + 1)
    lines.append(" " * width + "".join("%*s" % (width, n)
                                       for n in label_names))
    for i, name in enumerate(label_names):
      lines.append("%*s" % (width, name) +
                   "".join("%*d" % (width, v) for v in matrix[i]))
  return "\n".join(lines) + "\n"


def _fmt(value):
  if isinstance(value, (int, np.integer)):
    return str(int(value))
  return "%.6f" % float(value)


def scores_from_predictions(gold, predicted, label_names):
  """The metrics of classification_metric_ops, computed in numpy.

  Args:
    gold, predicted: int label ids, one per example.
    label_names: the labels (ids are positions).

  Returns:
    dict as Estimator.evaluate gives it: accuracy, macro_f1,
    precision/<label>, recall/<label>, f1/<label>, confusion_matrix
    (rows gold, columns predicted).
  """
  n = len(label_names)
  matrix = np.zeros([n, n], np.float64)
  for g, p in zip(gold, predicted):
    matrix[int(g), int(p)] += 1
  true_pos = np.diag(matrix)
  with np.errstate(divide="ignore", invalid="ignore"):
    precision = np.where(matrix.sum(0) > 0, true_pos / matrix.sum(0), 0.0)
    recall = np.where(matrix.sum(1) > 0, true_pos / matrix.sum(1), 0.0)
    f1 = np.where(precision + recall > 0,
                  2 * precision * recall / (precision + recall), 0.0)
  scores = {"accuracy": float(true_pos.sum() / max(matrix.sum(), 1)),
            "macro_f1": float(f1.mean()), "confusion_matrix": matrix}
  for i, name in enumerate(label_names):
    scores["precision/%s" % name] = float(precision[i])
    scores["recall/%s" % name] = float(recall[i])
    scores["f1/%s" % name] = float(f1[i])
  return scores


# ------------------------------------------------------------ multi-label ---

def _f1_parts(tp, fp, fn):
  """(precision, recall, f1) arrays from count arrays (0 where undefined)."""
  with np.errstate(divide="ignore", invalid="ignore"):
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-12), 0.0)
    recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1e-12), 0.0)
    f1 = np.where(precision + recall > 0,
                  2 * precision * recall / np.maximum(precision + recall,
                                                      1e-12), 0.0)
  return precision, recall, f1


def multi_label_scores(gold, probabilities, label_names, thresholds=0.5):
  """Multi-label metrics in numpy.

  Args:
    gold: [examples, labels] 0/1.
    probabilities: [examples, labels] sigmoid outputs.
    label_names: the labels (columns).
    thresholds: a number, or one per label: a label is predicted when its
      probability is at least its threshold.

  Returns:
    dict: micro_f1, macro_f1, micro_precision, micro_recall, exact_match
    (every label of the example right), precision/<label>, recall/<label>,
    f1/<label>, support/<label>.
  """
  gold = np.asarray(gold, np.float64)
  predicted = (np.asarray(probabilities) >=
               np.asarray(thresholds, np.float64)).astype(np.float64)
  tp = (gold * predicted).sum(0)
  fp = ((1 - gold) * predicted).sum(0)
  fn = (gold * (1 - predicted)).sum(0)
  precision, recall, f1 = _f1_parts(tp, fp, fn)
  micro_p, micro_r, micro_f1 = _f1_parts(tp.sum(), fp.sum(), fn.sum())
  scores = {"micro_f1": float(micro_f1), "macro_f1": float(f1.mean()),
            "micro_precision": float(micro_p),
            "micro_recall": float(micro_r),
            "exact_match": float((gold == predicted).all(1).mean())
                           if len(gold) else 0.0}
  for i, name in enumerate(label_names):
    scores["precision/%s" % name] = float(precision[i])
    scores["recall/%s" % name] = float(recall[i])
    scores["f1/%s" % name] = float(f1[i])
    scores["support/%s" % name] = int(gold[:, i].sum())
  return scores


def tune_thresholds(gold, probabilities,
                    candidates=tuple(np.round(np.arange(0.05, 0.96, 0.05),
                                              2))):
  """Per label, the candidate threshold with the best F1 on (dev) data
  (ties: the one closest to 0.5); 0.5 for a label with no positive."""
  gold = np.asarray(gold, np.float64)
  probabilities = np.asarray(probabilities)
  chosen = []
  for i in range(gold.shape[1]):
    if not gold[:, i].any():
      chosen.append(0.5)
      continue
    best = None
    for threshold in candidates:
      predicted = (probabilities[:, i] >= threshold).astype(np.float64)
      tp = (gold[:, i] * predicted).sum()
      fp = ((1 - gold[:, i]) * predicted).sum()
      fn = (gold[:, i] * (1 - predicted)).sum()
      f1 = float(_f1_parts(tp, fp, fn)[2])
      key = (f1, -abs(threshold - 0.5))
      if best is None or key > best[0]:
        best = (key, float(threshold))
    chosen.append(best[1])
  return chosen


def multi_label_metric_ops(gold, probabilities, label_names, threshold=0.5,
                           per_example_loss=None):
  """Estimator eval_metric_ops of a multi-label head at one threshold:
  micro_f1, macro_f1, accuracy (exact match: every label of the example
  right), precision/recall/f1/support per label (multi_label_scores in
  the graph); with `per_example_loss` [batch], eval_loss (its mean)."""
  num_labels = len(label_names)
  predicted = tf.cast(probabilities >= threshold, tf.float64)
  gold = tf.cast(gold, tf.float64)
  with tf.variable_scope("metrics"):
    counts = tf.get_variable(
        "label_counts", [4, num_labels], dtype=tf.float64,
        initializer=tf.zeros_initializer(), trainable=False,
        collections=[tf.GraphKeys.LOCAL_VARIABLES,
                     tf.GraphKeys.METRIC_VARIABLES])
  batch = tf.stack([tf.reduce_sum(gold * predicted, 0),
                    tf.reduce_sum((1 - gold) * predicted, 0),
                    tf.reduce_sum(gold * (1 - predicted), 0),
                    tf.reduce_sum(gold, 0)])
  update = counts.assign_add(batch)
  tp, fp, fn, support = tf.unstack(tf.identity(counts))
  precision = _safe_div(tp, tp + fp)
  recall = _safe_div(tp, tp + fn)
  f1 = _safe_div(2 * precision * recall, precision + recall)
  micro_p = _safe_div(tf.reduce_sum(tp), tf.reduce_sum(tp + fp))
  micro_r = _safe_div(tf.reduce_sum(tp), tf.reduce_sum(tp + fn))
  exact = tf.reduce_all(tf.equal(gold, predicted), axis=1)
  ops = {
      "micro_f1": (_safe_div(2 * micro_p * micro_r, micro_p + micro_r),
                   update),
      "macro_f1": (tf.reduce_mean(f1), update),
      "accuracy": tf.metrics.mean(tf.cast(exact, tf.float32)),
  }
  for i, name in enumerate(label_names):
    ops["precision/%s" % name] = (precision[i], update)
    ops["recall/%s" % name] = (recall[i], update)
    ops["f1/%s" % name] = (f1[i], update)
    ops["support/%s" % name] = (support[i], update)
  if per_example_loss is not None:
    ops[EVAL_LOSS] = tf.metrics.mean(per_example_loss)
  return ops

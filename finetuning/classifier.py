"""Sentence and sentence-pair classification: the whole run behind
run_classifier.py.

`ClassifierRun` holds plain settings; `run(settings)` reads the data, makes or
reuses the feature files, trains with the shared machinery of
`finetuning.training`, evaluates (eval_results.txt), predicts
(test_results.tsv) and writes run_results.json.
"""

import json
import os
import time

import tensorflow.compat.v1 as tf

import modeling
import tokenization
from finetuning import features as features_lib
from finetuning import input_pipeline
from finetuning import metrics
from finetuning import progress
from finetuning import run_info
from finetuning import tasks as tasks_lib
from finetuning import training
from finetuning.errors import InputError
from modeling import heads

LABELS_FILE = "labels.txt"


class ClassifierRun(training.RunSettings):
  """Plain settings of one run_classifier invocation."""

  def __init__(self, task, data_dir, output_dir, pretrained, train,
               do_lower_case=True, max_seq_length=128, do_train=False,
               do_eval=False, do_predict=False, cache_dir=None,
               text_a_column=None, text_b_column=None, label_column=None):
    """Args:
      task: task name (see finetuning.tasks.get_task).
      data_dir: folder with the split files.
      output_dir: checkpoints, summaries, labels.txt and results.
      pretrained: modeling.PretrainedFiles.
      train: training.TrainSettings.
      do_lower_case, max_seq_length: tokenization settings.
      do_train, do_eval, do_predict: what to run.
      cache_dir: feature files (default output_dir/features).
      text_a_column, text_b_column, label_column: generic tasks.
    """
    super(ClassifierRun, self).__init__(
        task, data_dir, output_dir, pretrained, train, do_lower_case,
        max_seq_length, do_train, do_eval, do_predict, cache_dir)
    self.text_a_column = text_a_column
    self.text_b_column = text_b_column
    self.label_column = label_column


# ------------------------------------------------------------ model_fn ---

def model_fn_builder(model_type, config, label_names, init_checkpoint,
                     settings, num_train_steps, config_file=None,
                     totals=None):
  """Returns an Estimator model_fn for classification.

  Args:
    model_type, config: the encoder.
    label_names: list of labels (ids are positions).
    init_checkpoint: pre-trained checkpoint restored at the start of
      training (None: start from random weights).
    settings: training.TrainSettings.
    num_train_steps: micro-batches of the whole run.
    config_file: named in restore errors.
    totals: dict with "eval"/"predict" example counts for progress ETAs.
  """
  num_labels = len(label_names)
  totals = totals if totals is not None else {}

  def model_fn(features, labels, mode, params):
    del labels, params
    is_training = mode == tf.estimator.ModeKeys.TRAIN
    model = training.encoder_from_features(model_type, config, features,
                                           is_training)
    logits = heads.classifier_logits(model.get_pooled_output(), num_labels,
                                     is_training, config.hidden_dropout_prob)
    predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
    if mode == tf.estimator.ModeKeys.PREDICT:
      return _predict_spec(mode, features, logits, predicted, label_names)
    label_ids = features["label_ids"]
    loss, _, _ = heads.softmax_cross_entropy(
        logits, tf.maximum(label_ids, 0), num_labels)
    batch = training.batch_size_of(features)

    if mode == tf.estimator.ModeKeys.EVAL:
      hook = training.ProgressHook("evaluate", {"batch_size": batch},
                                   total_examples=totals.get("eval"),
                                   every_seconds=settings.log_every_seconds)
      metric_ops = metrics.classification_metric_ops(label_ids, predicted,
                                                     label_names)
      return tf.estimator.EstimatorSpec(mode, loss=loss,
                                        eval_metric_ops=metric_ops,
                                        evaluation_hooks=[hook])
    trainable, multipliers = training.restore_and_select(
        model_type, config, init_checkpoint, settings, config_file)
    return training.train_spec(loss, batch, trainable, multipliers, settings,
                               num_train_steps)

  return model_fn


def _predict_spec(mode, features, logits, predicted, label_names):
  """PREDICT EstimatorSpec: needs only input_ids / input_mask / segment_ids.

  Predictions (also the `serving_default` export output):
    probabilities: float32 [batch, num_labels], softmax of the logits.
    label_id: int32 [batch], argmax.
    label: string [batch], label_names[label_id].
  plus example_index [batch] when the features carry it (run_classifier's
  test_results.tsv); it is not part of the export outputs.
  """
  probabilities = tf.nn.softmax(logits, axis=-1)
  predictions = {
      "probabilities": probabilities,
      "label_id": predicted,
      "label": tf.gather(tf.constant(list(label_names), tf.string),
                         predicted),
  }
  export_outputs = {
      tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY:
          tf.estimator.export.PredictOutput(dict(predictions))}
  if "example_index" in features:
    predictions["example_index"] = features["example_index"]
  return tf.estimator.EstimatorSpec(mode, predictions=predictions,
                                    export_outputs=export_outputs)


def model_fn_from_run_info(info):
  """A PREDICT-only Estimator model_fn rebuilt from a run directory.

  Args:
    info: dict from `finetuning.run_info.read(run_dir)` with kind
      "classifier" (config is a BertConfig).

  Returns:
    model_fn(features, labels, mode, params) whose features need only
    input_ids, input_mask, segment_ids (int32 [batch, seq]); predictions
    and export_outputs as `_predict_spec` describes. The fine-tuned weights
    come from the checkpoint the Estimator (or the exporter) restores.
  """
  if info.get("kind") != "classifier":
    raise modeling.ConfigError(
        "run_info kind is %r, not \"classifier\"" % info.get("kind"))
  model_type, config = info["model_type"], info["config"]
  label_names = list(info["labels"])

  def model_fn(features, labels, mode, params):
    del labels, params
    if mode != tf.estimator.ModeKeys.PREDICT:
      raise ValueError("model_fn_from_run_info supports PREDICT only; "
                       "train with run_classifier.py")
    model = training.encoder_from_features(model_type, config, features,
                                           False)
    logits = heads.classifier_logits(model.get_pooled_output(),
                                     len(label_names), False,
                                     config.hidden_dropout_prob)
    predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return _predict_spec(mode, features, logits, predicted, label_names)

  return model_fn


# ---------------------------------------------------------------- run ---

def _label_list(run, task, train_examples):
  """Labels from the task, the training data, or the run's labels.txt.

  A resumed or evaluate-only run must use the labels it was trained with.
  """
  path = os.path.join(run.output_dir, LABELS_FILE)
  saved = tasks_lib.read_labels(path) if os.path.isfile(path) else None
  if train_examples is not None:
    labels = task.get_labels(run.data_dir, train_examples)
    if saved is not None and saved != labels:
      raise InputError(path, None,
                       "this output_dir was trained with labels %s, the "
                       "training data now has %s" % (saved, labels),
                       "Use a new --output_dir")
    tasks_lib.write_labels(path, labels)
    return labels
  if saved is not None:
    return saved
  return task.get_labels(run.data_dir, None)


def _features(run, task, split, examples, labels, tokenizer):
  """Cached TFRecord features of a split."""
  key, parts = features_lib.cache_key(
      task.require_file(run.data_dir, split), run.pretrained.vocab_file,
      run.do_lower_case, run.max_seq_length, labels, task.name)
  return features_lib.cached_feature_file(
      run.cache_dir, split, key, parts,
      lambda: features_lib.classifier_records(examples, labels,
                                              run.max_seq_length, tokenizer),
      len(examples))


def _input_fn(run, cached, batch_size, is_training, start_step=0):
  return input_pipeline.input_fn_builder(
      cached.path, batch_size, run.max_seq_length, is_training,
      dynamic_padding=run.train.dynamic_padding,
      seed=run.train.seed if run.train.seed is not None
      else input_pipeline.DEFAULT_SEED,
      skip_batches=start_step)


def evaluate(estimator, run, cached, labels, totals, checkpoint=None,
             name=None):
  """Runs the dev set; returns the results dict (metrics + global_step)."""
  totals["eval"] = cached.num_examples
  return estimator.evaluate(
      _input_fn(run, cached, run.train.eval_batch_size, False),
      checkpoint_path=checkpoint, name=name)


def write_predictions(path, predictions, examples, labels):
  """test_results.tsv: index, predicted label, one probability a label, text."""
  rows = sorted(predictions, key=lambda p: int(p["example_index"]))
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    f.write("\t".join(["index", "prediction"] +
                      ["prob_%s" % label for label in labels] +
                      ["text_a", "text_b"]) + "\n")
    for row in rows:
      example = examples[int(row["example_index"])]
      f.write("\t".join(
          [str(int(row["example_index"])), labels[int(row["label_id"])]] +
          ["%.6f" % p for p in row["probabilities"]] +
          [_one_line(example.text_a), _one_line(example.text_b or "")]) +
              "\n")
  os.replace(tmp, path)
  return len(rows)


def _one_line(text):
  return text.replace("\t", " ").replace("\n", " ")


def run(run):
  """Runs train / eval / predict as `run` asks; returns the results dict."""
  started = time.time()
  files = run.pretrained
  training.validate_run(files, run.do_lower_case, run.max_seq_length,
                        run.do_train, run.do_eval, run.do_predict)
  tf.io.gfile.makedirs(run.output_dir)
  tokenizer = tokenization.FullTokenizer(files.vocab_file, run.do_lower_case)
  task = tasks_lib.get_task(run.task, run.text_a_column, run.text_b_column,
                            run.label_column)
  train_examples = (task.get_examples(run.data_dir, "train")
                    if run.do_train else None)
  labels = _label_list(run, task, train_examples)
  tf.logging.info("Task %s: %d labels (%s)", task.name, len(labels),
                  ", ".join(labels[:10]))

  if run.do_train:
    run_info.write(run.output_dir, "classifier", files.model_type,
                   files.config, files.vocab_file, run.do_lower_case,
                   run.max_seq_length, labels, task.name)

  settings = run.train
  results = {"task": task.name, "model_type": files.model_type,
             "init_checkpoint": files.checkpoint, "labels": labels}
  num_train_steps = 0
  train_cached = None
  if run.do_train:
    train_cached = _features(run, task, "train", train_examples, labels,
                             tokenizer)
    num_train_steps = training.num_steps(
        train_cached.num_examples, settings.train_batch_size,
        settings.num_train_epochs)
    results["num_train_examples"] = train_cached.num_examples
    results["num_train_steps"] = num_train_steps
  totals = {}
  estimator = training.make_estimator(
      model_fn_builder(files.model_type, files.config, labels,
                       files.checkpoint, settings, num_train_steps,
                       files.config_file, totals),
      run.output_dir, settings)

  dev_cached = dev_examples = None
  if run.do_eval or (run.do_train and settings.eval_every_steps):
    dev_examples = task.get_examples(run.data_dir, "dev", labels)
    dev_cached = _features(run, task, "dev", dev_examples, labels, tokenizer)

  if run.do_train:
    evaluate_fn = None
    if dev_cached is not None and settings.eval_every_steps:
      evaluate_fn = lambda: evaluate(estimator, run, dev_cached, labels,
                                     totals)
    outcome = training.train_and_evaluate(
        estimator, lambda step: _input_fn(run, train_cached,
                                          settings.train_batch_size, True,
                                          step),
        num_train_steps, settings, run.output_dir, evaluate_fn)
    results["train"] = training.train_results(outcome)

  checkpoint = training.fine_tuned_checkpoint(run.output_dir)
  results["checkpoint"] = checkpoint

  if run.do_eval:
    eval_results = evaluate(estimator, run, dev_cached, labels, totals,
                            checkpoint, name="final")
    text = ("checkpoint = %s\n" % checkpoint +
            metrics.format_results(eval_results, labels))
    with open(os.path.join(run.output_dir, "eval_results.txt"), "w",
              encoding="utf-8") as f:
      f.write(text)
    tf.logging.info("Eval results (%s):\n%s", checkpoint, text)
    results["eval"] = metrics.numeric_results(eval_results)

  if run.do_predict:
    test_examples = task.get_examples(run.data_dir, "test", labels)
    test_cached = _features(run, task, "test", test_examples, labels,
                            tokenizer)
    totals["predict"] = test_cached.num_examples
    predictions = progress.track(
        estimator.predict(
            _input_fn(run, test_cached, settings.predict_batch_size, False),
            checkpoint_path=checkpoint, yield_single_examples=True),
        "predict", test_cached.num_examples, settings.log_every_seconds)
    path = os.path.join(run.output_dir, "test_results.tsv")
    count = write_predictions(path, predictions, test_examples, labels)
    tf.logging.info("Wrote %d predictions to %s", count, path)
    results["predict"] = {"num_examples": count, "file": path}

  results["seconds"] = round(time.time() - started, 1)
  with open(os.path.join(run.output_dir, "run_results.json"), "w",
            encoding="utf-8") as f:
    json.dump(results, f, indent=2, ensure_ascii=False, default=str)
  return results

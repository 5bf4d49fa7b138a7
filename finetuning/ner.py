"""Named-entity recognition: the whole run behind run_ner.py.

`NerRun` holds plain settings; `run(settings)` reads the task
(finetuning.ner_data), makes or reuses windowed TFRecord features
(finetuning.tagging.unit_windows, cached by content), trains with the shared
machinery of finetuning.training, evaluates on dev with seqeval (entity
level: eval_results.txt), predicts test (test_predictions.txt in CoNLL
style, test_predictions.jsonl with character offsets; test_results.txt with
entity-level scores when the test file is labelled) and writes
run_results.json.

Evaluation and prediction run the PREDICT graph over every window of every
sentence and merge the windows back to one tag per unit
(tagging.merge_windows), so scores count every entity of every sentence,
however long.
"""

import json
import os
import time

import tensorflow.compat.v1 as tf
from seqeval import metrics as seqeval_metrics

import modeling
import tokenization
from finetuning import features as features_lib
from finetuning import input_pipeline
from finetuning import ner_data
from finetuning import progress
from finetuning import run_info
from finetuning import tag_schemes
from finetuning import tagging
from finetuning import tasks as tasks_lib
from finetuning import training
from finetuning.errors import InputError

LABELS_FILE = "labels.txt"
SEQUENCE_NAMES = ("input_ids", "segment_ids", "label_ids")
SCALAR_NAMES = ("example_index", "window_index")


class NerRun(training.RunSettings):
  """Plain settings of one run_ner invocation."""

  def __init__(self, task, data_dir, output_dir, pretrained, train,
               do_lower_case=True, max_seq_length=128, do_train=False,
               do_eval=False, do_predict=False, cache_dir=None, crf=False,
               crf_learning_rate=None, lstm_size=0, scheme="BIO",
               label_x=False, window_stride=None, unit_joiner=None):
    """Args:
      task: peoples_daily, msra, cluener, conll2003 or bio.
      data_dir: folder with the split files.
      output_dir: checkpoints, summaries, labels.txt, run_info.json, results.
      pretrained: modeling.PretrainedFiles.
      train: training.TrainSettings (best_metric: f1, precision or recall).
      do_lower_case, max_seq_length: tokenization settings.
      do_train, do_eval, do_predict: what to run.
      cache_dir: feature files (default output_dir/features).
      crf, crf_learning_rate, lstm_size, label_x: the head.
      scheme: "BIO" or "BIOES" (labels the model is trained on).
      window_stride: pieces between window starts (None: half a window).
      unit_joiner: bio task only: "" characters (default) or " " words.
    """
    super(NerRun, self).__init__(
        task, data_dir, output_dir, pretrained, train, do_lower_case,
        max_seq_length, do_train, do_eval, do_predict, cache_dir)
    self.crf = crf
    self.crf_learning_rate = crf_learning_rate
    self.lstm_size = lstm_size or 0
    self.scheme = tag_schemes.check_scheme(scheme)
    self.label_x = label_x
    self.window_stride = window_stride
    self.unit_joiner = unit_joiner


# ------------------------------------------------------------ features ---

class SplitData(object):
  """One split: examples, their windows and the cached feature file."""

  def __init__(self, name, examples, windows, cached):
    self.name = name
    self.examples = examples
    self.windows = windows      # list (per example) of lists of Window
    self.cached = cached

  @property
  def num_windows(self):
    return sum(len(w) for w in self.windows)


def _split_data(run, task, split, examples, labels, tokenizer):
  """Windows every example and writes/reuses the split's TFRecord file."""
  label_map = {label: i for i, label in enumerate(labels)}
  windows = [tagging.unit_windows(
      e.units, tokenizer, run.max_seq_length, run.window_stride,
      tags=e.tags, label_map=label_map if e.tags is not None else None,
      label_x=run.label_x) for e in examples]
  data_file = task.require_file(run.data_dir, "train" if (
      split == "dev" and not task.files["dev"]) else split)
  key, parts = features_lib.cache_key(
      data_file, run.pretrained.vocab_file, run.do_lower_case,
      run.max_seq_length, labels, task.name,
      extra={"kind": "ner", "split": split, "scheme": run.scheme,
             "label_x": run.label_x, "window_stride": run.window_stride,
             "format": 1})

  def records():
    for index, example_windows in enumerate(windows):
      for w, window in enumerate(example_windows):
        yield tagging.window_record(window, index, w)

  total = sum(len(w) for w in windows)
  cached = features_lib.cached_feature_file(run.cache_dir, split, key, parts,
                                            records, total)
  return SplitData(split, examples, windows, cached)


def _input_fn(run, data, batch_size, is_training, start_step=0):
  return input_pipeline.input_fn_builder(
      data.cached.path, batch_size, run.max_seq_length, is_training,
      sequence_names=SEQUENCE_NAMES, scalar_names=SCALAR_NAMES,
      dynamic_padding=run.train.dynamic_padding,
      seed=run.train.seed if run.train.seed is not None
      else input_pipeline.DEFAULT_SEED,
      skip_batches=start_step)


# ------------------------------------------------ predict, merge, score ---

def predict_tags(estimator, run, data, labels, checkpoint=None):
  """Runs every window of a split; returns (tags, scores) per example."""
  per_example = [dict() for _ in data.examples]
  predictions = progress.track(
      estimator.predict(_input_fn(run, data, run.train.predict_batch_size,
                                  False),
                        checkpoint_path=checkpoint,
                        yield_single_examples=True),
      "predict %s" % data.name, data.num_windows,
      run.train.log_every_seconds)
  for row in predictions:
    per_example[int(row["example_index"])][int(row["window_index"])] = (
        row["tag_ids"], row["tag_scores"])
  tags, scores = [], []
  for example, windows, got in zip(data.examples, data.windows, per_example):
    if len(got) != len(windows):
      raise RuntimeError("example %s: %d of %d windows predicted" %
                         (example.guid, len(got), len(windows)))
    unit_tags, unit_scores = tagging.merge_windows(
        windows, [got[w][0] for w in range(len(windows))], len(example.units),
        labels, run.scheme, [got[w][1] for w in range(len(windows))])
    tags.append(unit_tags)
    scores.append(unit_scores)
  return tags, scores


def entity_scores(gold, predicted, scheme):
  """seqeval entity-level scores of tag sequences (any scheme).

  Both are read as BIO (BIOES converted) in seqeval's default,
  conlleval-compatible mode.

  Returns:
    dict: precision, recall, f1 (micro), report (text), per_type
    {type: {precision, recall, f1, support}}.
  """
  if scheme == "BIOES":
    gold = [tag_schemes.bioes_to_bio(t) for t in gold]
    predicted = [tag_schemes.bioes_to_bio(t) for t in predicted]
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


def _write_summaries(output_dir, name, scores, step):
  """TensorBoard scalars precision/recall/f1 under output_dir/<name>."""
  writer = tf.summary.FileWriter(os.path.join(output_dir, name))
  values = [tf.Summary.Value(tag="entity_%s" % k, simple_value=scores[k])
            for k in ("precision", "recall", "f1")]
  writer.add_summary(tf.Summary(value=values), step)
  writer.close()


def evaluate(estimator, run, data, labels, checkpoint=None):
  """Dev scores (dict as entity_scores plus global_step)."""
  tags, _ = predict_tags(estimator, run, data, labels, checkpoint)
  scores = entity_scores([e.tags for e in data.examples], tags, run.scheme)
  scores["global_step"] = training.current_step(run.output_dir) \
      if checkpoint is None else int(tf.train.load_variable(checkpoint,
                                                           "global_step"))
  tf.logging.info("Entity-level dev: precision %.4f recall %.4f f1 %.4f",
                  scores["precision"], scores["recall"], scores["f1"])
  return scores


def write_conll(path, examples, tags):
  """`unit gold predicted` lines, a blank line after each sentence.

  Gold is "-" for an unlabeled file; a unit containing whitespace (never
  produced by the readers) has it replaced by "_".
  """
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    for example, predicted in zip(examples, tags):
      gold = example.tags or ["-"] * len(example.units)
      for unit, g, p in zip(example.units, gold, predicted):
        f.write("%s %s %s\n" % ("_".join(unit.split()) or "_", g, p))
      f.write("\n")
  os.replace(tmp, path)


def write_jsonl(path, examples, tags, scheme):
  """One {"text", "entities": [{type, start, end, mention}]} per sentence."""
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    for example, predicted in zip(examples, tags):
      entities = tagging.entities_from_tags(
          example.text, example.units, example.unit_offsets, predicted,
          scheme)
      f.write(json.dumps({"text": example.text, "entities": entities},
                         ensure_ascii=False) + "\n")
  os.replace(tmp, path)


# ---------------------------------------------------------------- run ---

def _label_list(run, task, train_examples):
  """Labels from the task / training data, or the run's labels.txt."""
  path = os.path.join(run.output_dir, LABELS_FILE)
  saved = tasks_lib.read_labels(path) if os.path.isfile(path) else None
  if train_examples is None and saved is not None:
    return saved
  try:
    labels = task.get_labels(train_examples, run.scheme)
  except ValueError as e:
    raise InputError(task.require_file(run.data_dir, "train"), None, str(e),
                     "Train with --do_train on labelled data first")
  if run.label_x:
    labels = labels + [tagging.X_LABEL]
  if saved is not None and saved != labels:
    raise InputError(path, None, "this output_dir was trained with labels "
                     "%s, the run now has %s" % (saved, labels),
                     "Use a new --output_dir (or the same --scheme, "
                     "--label_x and data)")
  if train_examples is not None:
    tasks_lib.write_labels(path, labels)
  return labels


def _check_head(run):
  """A resumed or evaluate-only run must use the head it was trained with."""
  path = os.path.join(run.output_dir, run_info.RUN_INFO_FILE)
  if not os.path.isfile(path):
    return
  head = run_info.read(run.output_dir).get("head") or {}
  for key, value in (("crf", run.crf), ("lstm_size", run.lstm_size),
                     ("scheme", run.scheme), ("label_x", run.label_x)):
    if key in head and head[key] != value:
      flag = "--%s=%s" % (key, str(head[key]).lower()
                          if isinstance(head[key], bool) else head[key])
      raise modeling.ConfigError(
          "%s was trained with %s, this run asks for %s: pass %s or use a "
          "new --output_dir" % (run.output_dir, flag, value, flag))


def _validate(run):
  files = run.pretrained
  training.validate_run(files, run.do_lower_case, run.max_seq_length,
                        run.do_train, run.do_eval, run.do_predict)
  if run.max_seq_length < 3:
    raise modeling.ConfigError("--max_seq_length must be at least 3")
  if run.train.best_metric not in ("f1", "precision", "recall"):
    raise modeling.ConfigError("--best_metric for NER is f1, precision or "
                               "recall, got %r" % run.train.best_metric)


def run(run):
  """Runs train / eval / predict as `run` asks; returns the results dict."""
  started = time.time()
  _validate(run)
  files = run.pretrained
  tf.io.gfile.makedirs(run.output_dir)
  _check_head(run)
  try:
    task = ner_data.get_ner_task(run.task, run.scheme, run.unit_joiner)
  except ValueError as e:
    raise modeling.ConfigError(str(e))
  tokenizer = tokenization.FullTokenizer(files.vocab_file, run.do_lower_case)
  train_examples = (task.get_examples(run.data_dir, "train")
                    if run.do_train else None)
  labels = _label_list(run, task, train_examples)
  tf.logging.info("Task %s (%s): %d labels (%s)", task.name, run.scheme,
                  len(labels), ", ".join(labels[:12]))
  head = tagging.head_settings(run.crf, run.lstm_size, run.scheme,
                               task.unit_joiner, run.label_x,
                               run.window_stride, run.crf_learning_rate)
  if run.do_train:
    run_info.write(run.output_dir, "ner", files.model_type, files.config,
                   files.vocab_file, run.do_lower_case, run.max_seq_length,
                   labels, task.name, head=head)

  settings = run.train
  results = {"task": task.name, "model_type": files.model_type,
             "init_checkpoint": files.checkpoint, "labels": labels,
             "head": head}
  num_train_steps = 0
  train_data = None
  if run.do_train:
    train_data = _split_data(run, task, "train", train_examples, labels,
                             tokenizer)
    num_train_steps = training.num_steps(
        train_data.cached.num_examples, settings.train_batch_size,
        settings.num_train_epochs)
    results["num_train_examples"] = len(train_examples)
    results["num_train_windows"] = train_data.cached.num_examples
    results["num_train_steps"] = num_train_steps
  totals = {}
  estimator = training.make_estimator(
      tagging.model_fn_builder(
          files.model_type, files.config, labels, crf=run.crf,
          lstm_size=run.lstm_size, label_x=run.label_x,
          init_checkpoint=files.checkpoint, settings=settings,
          num_train_steps=num_train_steps,
          crf_learning_rate=run.crf_learning_rate,
          config_file=files.config_file, totals=totals),
      run.output_dir, settings)

  dev_data = None
  if run.do_eval or (run.do_train and settings.eval_every_steps):
    dev_examples = task.get_examples(run.data_dir, "dev")
    dev_data = _split_data(run, task, "dev", dev_examples, labels, tokenizer)

  if run.do_train:
    evaluate_fn = None
    if dev_data is not None and settings.eval_every_steps:
      def evaluate_fn():
        scores = evaluate(estimator, run, dev_data, labels)
        _write_summaries(run.output_dir, "eval", scores,
                         scores["global_step"])
        return {k: v for k, v in scores.items()
                if k in ("precision", "recall", "f1", "global_step")}
    outcome = training.train_and_evaluate(
        estimator, lambda step: _input_fn(run, train_data,
                                          settings.train_batch_size, True,
                                          step),
        num_train_steps, settings, run.output_dir, evaluate_fn)
    results["train"] = training.train_results(outcome)

  checkpoint = training.fine_tuned_checkpoint(run.output_dir)
  results["checkpoint"] = checkpoint

  if run.do_eval:
    scores = evaluate(estimator, run, dev_data, labels, checkpoint)
    text = format_scores(scores, checkpoint, len(dev_data.examples))
    with open(os.path.join(run.output_dir, "eval_results.txt"), "w",
              encoding="utf-8") as f:
      f.write(text)
    _write_summaries(run.output_dir, "eval_final", scores,
                     scores["global_step"])
    tf.logging.info("Eval results (%s):\n%s", checkpoint, text)
    results["eval"] = {k: scores[k] for k in ("precision", "recall", "f1",
                                              "per_type", "global_step")}

  if run.do_predict:
    predict_started = time.time()
    test_examples = task.get_examples(run.data_dir, "test")
    test_data = _split_data(run, task, "test", test_examples, labels,
                            tokenizer)
    tags, _ = predict_tags(estimator, run, test_data, labels, checkpoint)
    conll = os.path.join(run.output_dir, "test_predictions.txt")
    jsonl = os.path.join(run.output_dir, "test_predictions.jsonl")
    write_conll(conll, test_examples, tags)
    write_jsonl(jsonl, test_examples, tags, run.scheme)
    seconds = time.time() - predict_started
    results["predict"] = {"num_sentences": len(test_examples),
                          "num_windows": test_data.num_windows,
                          "files": [conll, jsonl],
                          "seconds": round(seconds, 2),
                          "rates": progress_rates(test_data, seconds)}
    tf.logging.info("Wrote %d tagged sentences to %s and %s",
                    len(test_examples), conll, jsonl)
    if all(e.tags is not None for e in test_examples):
      scores = entity_scores([e.tags for e in test_examples], tags,
                             run.scheme)
      with open(os.path.join(run.output_dir, "test_results.txt"), "w",
                encoding="utf-8") as f:
        f.write(format_scores(scores, checkpoint, len(test_examples)))
      results["predict"].update({k: scores[k] for k in (
          "precision", "recall", "f1", "per_type")})

  results["seconds"] = round(time.time() - started, 1)
  with open(os.path.join(run.output_dir, "run_results.json"), "w",
            encoding="utf-8") as f:
    json.dump(results, f, indent=2, ensure_ascii=False, default=str)
  return results


def progress_rates(data, seconds):
  """Sentences/sec and windows/sec of a whole predict pass."""
  seconds = max(seconds, 1e-9)
  return {"sentences_per_sec": round(len(data.examples) / seconds, 2),
          "windows_per_sec": round(data.num_windows / seconds, 2)}


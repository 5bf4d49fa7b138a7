r"""Span-extraction reading comprehension (SQuAD, CMRC 2018): the task
run_squad.py plugs into the runner, as google-research/bert's run_squad.py.

  python run_squad.py --train_file=train.json --predict_file=dev.json \
      --init_checkpoint=MODEL --output_dir=runs/squad --do_train --do_predict

Reading, windows (--doc_stride, --max_query_length) and the answers'
post-processing are bert_toolkit.data.squad's, in one of two styles
(--squad_style): `google` (Google's run_squad.py) or `hfl_cmrc` (HFL's CMRC
2018 baseline: each CJK character is its own word, answers only from the
context, per-window log-softmax ranking).

Head (Google's create_model): `cls/squad/output_weights` [2, hidden]
(truncated normal 0.02) and `cls/squad/output_bias` [2]; logits = final
hidden x W^T + b, split into start and end logits; the loss is the mean of
the start and end cross-entropies. The hfl_cmrc style adds HFL's span mask
(-10000 on every position but [CLS] and the context) and, in PREDICT, its
log-softmax. A checkpoint written by Google's run_squad.py predicts here
unchanged (the variable names are Google's).

Prediction runs every window padded to --max_seq_length (Google's
prediction input), so the n-best candidates are Google's; it writes
Google's predictions.json, nbest_predictions.json and (SQuAD 2.0)
null_odds.json. When the predict file holds answers, it is also scored:
CMRC 2018's official rules when its contexts hold CJK characters, SQuAD's
otherwise (bert_toolkit.tasks.span_metrics); the scores go to
eval_results.txt and run_results.json.

PREDICT outputs (also the serving signature):
  start_logits, end_logits  float32 [batch, seq]
"""

import json
import os
import re

import tensorflow.compat.v1 as tf

from bert_toolkit import kinds
from bert_toolkit import settings as settings_lib
from bert_toolkit.engine import input_pipeline
from bert_toolkit.engine import task as task_lib
from bert_toolkit.errors import SettingsError
from bert_toolkit.runs import atomic
from bert_toolkit.runs import paths

KIND = "squad"
NAME = "squad"
# The head's two outputs per token (labels.txt of a run).
SPAN_LABELS = ("start", "end")
PREDICTIONS_FILE = "predictions.json"
NBEST_FILE = "nbest_predictions.json"
NULL_ODDS_FILE = "null_odds.json"
# Google's numbers: [CLS] and two [SEP] beside the question and the context.
SPECIAL_TOKENS = 3
HEAD_VARIABLE = "cls/squad/output_weights"
# HFL's span mask: logits outside the context and [CLS] get this added.
MASK_ADDER = -10000.0
_CJK = re.compile(u"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-"
                  u"\U0002a6df]")

_DEFAULTS = settings_lib.defaults(settings_lib.SQUAD_SETTINGS)
# Settings that change only how answers are picked (the codec needs them).
ANSWER_SETTINGS = ("n_best_size", "max_answer_length",
                   "null_score_diff_threshold", "verbose_logging")
WINDOW_SETTINGS = ("doc_stride", "max_query_length",
                   "version_2_with_negative")


def _data():
  """bert_toolkit.data.squad (TF-free; imported when first needed)."""
  from bert_toolkit.data import squad  # pylint: disable=g-import-not-at-top
  return squad


def has_cjk(dataset_json):
  """True when a context of the SQuAD-format dict holds a CJK character
  (CMRC 2018 / DRCD data: scored with CMRC's rules)."""
  for article in dataset_json.get("data", ()):
    for paragraph in article.get("paragraphs", ()):
      if _CJK.search(paragraph.get("context", "")):
        return True
  return False


def has_answers(dataset_json):
  """True when every question of the dict has gold answers (or is
  marked impossible): the file can be scored."""
  count = 0
  for article in dataset_json.get("data", ()):
    for paragraph in article.get("paragraphs", ()):
      for qa in paragraph.get("qas", ()):
        count += 1
        if not (qa.get("answers") or qa.get("is_impossible")):
          return False
  return count > 0


def only_questions(dataset_json, qas_ids):
  """The dict with only the questions whose id is in qas_ids (a first-N
  debugging subset is scored on its own questions)."""
  qas_ids = set(qas_ids)
  data = []
  for article in dataset_json.get("data", ()):
    paragraphs = []
    for paragraph in article.get("paragraphs", ()):
      qas = [qa for qa in paragraph.get("qas", ()) if qa.get("id") in qas_ids]
      if qas:
        paragraphs.append(dict(paragraph, qas=qas))
    if paragraphs:
      data.append(dict(article, paragraphs=paragraphs))
  return dict(dataset_json, data=data)


def span_scores(dataset_json, predictions):
  """{"exact_match", "f1", "total", "metric"}: CMRC 2018's rules for data
  with CJK contexts, SQuAD's otherwise."""
  from bert_toolkit.tasks import span_metrics  # pylint: disable=g-import-not-at-top
  if has_cjk(dataset_json):
    scores, metric = span_metrics.cmrc_scores(dataset_json, predictions), \
        "cmrc2018"
  else:
    scores, metric = span_metrics.squad_scores(dataset_json, predictions), \
        "squad"
  return dict(scores, metric=metric)


def write_google_json(path, obj):
  """A JSON file as Google's run_squad.py writes it (indent 4, ASCII
  escapes, a final newline), written whole or not at all."""
  with atomic.replacing(path) as f:
    f.write(json.dumps(obj, indent=4) + "\n")


def span_mask(segment_ids, input_mask):
  """HFL's input_span_mask from the model inputs ([batch, seq] int):
  1 on [CLS] and the context's tokens, 0 on the question, the [SEP]s and
  padding (the context is segment 1 without its closing [SEP])."""
  segment_ids = tf.cast(segment_ids, tf.int32)
  input_mask = tf.cast(input_mask, tf.int32)
  seq_length = tf.shape(input_mask)[1]
  last = tf.one_hot(tf.reduce_sum(input_mask, axis=1) - 1, seq_length,
                    dtype=tf.int32)
  first = tf.one_hot(tf.zeros_like(input_mask[:, 0]), seq_length,
                     dtype=tf.int32)
  context = segment_ids * input_mask * (1 - last)
  return tf.cast(tf.maximum(context, first), tf.float32)


def span_logits(final_hidden):
  """Google's create_model head: (start_logits, end_logits) [batch, seq]
  from the sequence output [batch, seq, hidden], variables
  cls/squad/output_weights and cls/squad/output_bias."""
  shape = tf.shape(final_hidden)
  hidden_size = final_hidden.shape.as_list()[-1]
  output_weights = tf.get_variable(
      HEAD_VARIABLE, [2, hidden_size],
      initializer=tf.truncated_normal_initializer(stddev=0.02))
  output_bias = tf.get_variable(
      "cls/squad/output_bias", [2], initializer=tf.zeros_initializer())
  matrix = tf.reshape(final_hidden, [-1, hidden_size])
  logits = tf.nn.bias_add(
      tf.matmul(matrix, output_weights, transpose_b=True), output_bias)
  logits = tf.transpose(tf.reshape(logits, [shape[0], shape[1], 2]),
                        [2, 0, 1])
  start_logits, end_logits = tf.unstack(logits, axis=0)
  return start_logits, end_logits


def span_loss(logits, positions):
  """Google's compute_loss: mean cross-entropy of the gold positions."""
  one_hot = tf.one_hot(positions, depth=tf.shape(logits)[1],
                       dtype=tf.float32)
  log_probs = tf.nn.log_softmax(logits, axis=-1)
  return -tf.reduce_mean(tf.reduce_sum(one_hot * log_probs, axis=-1))


def check_head(checkpoint):
  """SettingsError when `checkpoint` (a prefix; None: the run's newest)
  has no SQuAD head to predict with (a pre-trained model, not fine-tuned)."""
  if not checkpoint:
    return
  names = {name for name, _ in tf.train.list_variables(checkpoint)}
  if HEAD_VARIABLE not in names:
    raise SettingsError(
        "%s holds no SQuAD head (%s): it is not fine-tuned for SQuAD; "
        "train with --do_train --train_file first, or give --init_checkpoint "
        "a checkpoint fine-tuned by run_squad.py or Google's run_squad.py" %
        (checkpoint, HEAD_VARIABLE))


def answer_settings(values):
  """The keyword arguments of data.squad.write_predictions a run's
  settings give (n_best_size, ..., style)."""
  return {"n_best_size": values["n_best_size"],
          "max_answer_length": values["max_answer_length"],
          "version_2_with_negative": values["version_2_with_negative"],
          "null_score_diff_threshold": values["null_score_diff_threshold"],
          "verbose_logging": values["verbose_logging"],
          "style": values["squad_style"]}


class SquadCodec(task_lib.ServingCodec):
  """A question and its context to a served SQuAD model and back.

  Request item: {"question": ..., "context": ...}. The rows are the
  context's --doc_stride windows, as in training; the answer is Google's
  post-processing of the example: {"answer": text, "score": probability
  among the n best, "start": the answer's character offset in the context
  (-1 when the text is not found verbatim), "n_best": [{"text",
  "probability"}, ...]}. SQuAD 2.0 runs answer "" for no answer.
  """

  token_outputs = ("start_logits", "end_logits")
  fields = ("question", "context")

  def _settings(self):
    values = dict(_DEFAULTS)
    values.update({k: v for k, v in self.head.items() if k in values})
    if values["squad_style"] is None:
      values["squad_style"] = settings_lib.SQUAD_STYLES[0]
    return values

  def rows(self, text, text_b=None):
    question, context = text, text_b
    if not question or not context:
      raise self.error("a SQuAD model takes a question and a context: "
                       "{\"question\": ..., \"context\": ...}")
    values = self._settings()
    data = _data()
    example = example_from_texts(question, context, values["squad_style"],
                                 self.config.get("do_lower_case", True))
    if example is None:
      raise self.error("the context has no words to answer from")
    features = data.convert_examples_to_features(
        [example], self.tokenizer, self.max_seq_length,
        values["doc_stride"], values["max_query_length"], False,
        style=values["squad_style"])
    rows = []
    for feature in features:
      length = int(sum(feature.input_mask))
      rows.append({"input_ids": list(feature.input_ids[:length]),
                   "input_mask": [1] * length,
                   "segment_ids": list(feature.segment_ids[:length])})
    return rows, (context, example, features, values)

  def decode(self, state, outputs):
    context, example, features, values = state
    data = _data()
    results = [data.RawResult(unique_id=f.unique_id,
                              start_logits=[float(x) for x in
                                            o["start_logits"]],
                              end_logits=[float(x) for x in o["end_logits"]])
               for f, o in zip(features, outputs)]
    predictions, nbest, _ = data.write_predictions(
        [example], features, results,
        do_lower_case=self.config.get("do_lower_case", True),
        **answer_settings(values))
    answer = predictions[example.qas_id]
    best = nbest[example.qas_id]
    score = next((float(entry["probability"]) for entry in best
                  if entry["text"] == answer), 0.0)
    return {"answer": answer, "score": score,
            "start": context.find(answer) if answer else -1,
            "n_best": [{"text": entry["text"],
                        "probability": float(entry["probability"])}
                       for entry in best]}


def example_from_texts(question, context, style, do_lower_case):
  """One SquadExample of a question and its context, the context read in
  `style`'s words (as data.squad reads a file's)."""
  data = _data()
  words = {"google": data.google_words, "hfl_cmrc": data.hfl_words}[style]
  read = words(context, do_lower_case)
  if read is None or not read[0]:
    return None
  return data.SquadExample(qas_id="0", question_text=question,
                           doc_tokens=read[0])


class SquadTask(task_lib.Task):
  """Span extraction over a question and its context's windows."""

  kind = KIND
  name = NAME
  CODEC = SquadCodec
  best_metrics = ("f1", "exact_match")
  sequence_names = ("input_ids", "segment_ids")
  scalar_names = ("feature_index", "start_positions", "end_positions")
  needs_data_dir = False
  evaluates_init_checkpoint = True       # Google's --do_predict alone
  HEAD_DEFAULTS = (("squad_style", "google"),)
  # The files a --data_dir folder may hold, read when --train_file /
  # --predict_file are not given (a data folder as the other tasks and the
  # studio take).
  FOLDER_FILES = (("train_file", "train.json"), ("predict_file", "dev.json"))

  def __init__(self, train_file=None, predict_file=None, squad_style=None,
               **values):
    """Args:
      train_file, predict_file: SQuAD-format json files.
      squad_style: google or hfl_cmrc (None: the run's, else google).
      values: the other SQUAD_SETTINGS (None or missing: the default).
    """
    super(SquadTask, self).__init__()
    self.train_file = train_file
    self.predict_file = predict_file
    self.squad_style = squad_style
    for key in WINDOW_SETTINGS + ANSWER_SETTINGS:
      value = values.get(key)
      setattr(self, key, _DEFAULTS[key] if value is None else value)
    unknown = set(values) - set(WINDOW_SETTINGS + ANSWER_SETTINGS)
    if unknown:
      raise TypeError("unknown setting(s) %s" % ", ".join(sorted(unknown)))
    self._dataset = None
    self.do_lower_case = True           # the run's (input_settings)

  @classmethod
  def from_settings(cls, values):
    values = dict(values)
    return cls(values.pop("train_file", None), values.pop("predict_file", None),
               values.pop("squad_style", None), **values)

  @classmethod
  def from_run_info(cls, info):
    head = info.get("head") or {}
    task = cls(squad_style=head.get("squad_style", "google"),
               **{k: head[k] for k in WINDOW_SETTINGS + ANSWER_SETTINGS
                  if k in head})
    task.label_list = list(info["labels"])
    return task

  def head_info(self):
    """The head and everything a served model needs to read a question
    and pick its answer; the files the run read."""
    info = {"squad_style": self.squad_style}
    info.update({k: getattr(self, k)
                 for k in WINDOW_SETTINGS + ANSWER_SETTINGS})
    info.update({k: os.path.abspath(getattr(self, k))
                 for k in ("train_file", "predict_file")
                 if getattr(self, k)})
    return info

  @classmethod
  def serving_extras(cls, run_dir, info):
    del run_dir
    return {"do_lower_case": bool(info.get("do_lower_case", True))}

  def settings_values(self):
    """{setting: resolved value} of every SQUAD_SETTINGS row."""
    return {row.name: getattr(self, row.name)
            for row in settings_lib.SQUAD_SETTINGS}

  def setting_value(self, name):
    return getattr(self, name)

  # ----------------------------------------------------- checks, paths ---

  def files_from_folder(self, data_dir):
    """Takes data_dir's train.json / dev.json (FOLDER_FILES) for the
    files not given by flag."""
    for name, filename in self.FOLDER_FILES:
      path = os.path.join(data_dir, filename)
      if getattr(self, name) is None and os.path.isfile(path):
        setattr(self, name, path)

  def validate(self, settings):
    values = self.settings_values()
    settings_lib.check_values(settings_lib.SQUAD_SETTINGS, values)
    if settings.data_dir:
      if not os.path.isdir(settings.data_dir):
        raise SettingsError("--data_dir=%s: no such folder" %
                            settings.data_dir)
      self.files_from_folder(settings.data_dir)
    if settings.do_train and not self.train_file:
      raise SettingsError("--train_file is required with --do_train (a "
                          "SQuAD-format json file, or a --data_dir holding "
                          "train.json)")
    if (settings.do_eval or settings.do_predict) and not self.predict_file:
      raise SettingsError("--predict_file is required with --do_predict / "
                          "--do_eval (a SQuAD-format json file, or a "
                          "--data_dir holding dev.json)")
    for name in ("train_file", "predict_file"):
      path = getattr(self, name)
      if path and not os.path.isfile(path):
        raise SettingsError("--%s=%s: no such file" % (name, path))
    max_seq_length = (settings.max_seq_length or
                      kinds.run_defaults(self.kind)["max_seq_length"])
    if max_seq_length <= self.max_query_length + SPECIAL_TOKENS:
      raise SettingsError(
          "--max_seq_length (%d) must be greater than --max_query_length "
          "(%d) + 3, to leave room for the context" % (
              max_seq_length, self.max_query_length))
    room = max_seq_length - self.max_query_length - SPECIAL_TOKENS
    if self.doc_stride > room:
      raise SettingsError(
          "--doc_stride (%d) must be at most --max_seq_length - "
          "--max_query_length - 3 (%d), or windows would skip context "
          "tokens: lower --doc_stride or --max_query_length" % (
              self.doc_stride, room))

  def read_paths(self, settings):
    del settings
    return [paths.input_path("--train_file", self.train_file),
            paths.input_path("--predict_file", self.predict_file)]

  # ----------------------------------------------------- data, features ---

  def read_labels(self, data_dir, train_examples):
    del data_dir, train_examples
    return list(SPAN_LABELS)

  def source_file(self, data_dir, split):
    del data_dir
    return self.train_file if split == "train" else self.predict_file

  def input_settings(self, do_lower_case, max_seq_length):
    del max_seq_length
    self.do_lower_case = do_lower_case

  def read_split(self, data_dir, split, labels=None):
    del data_dir, labels
    training = split == "train"
    return _data().read_squad_examples(
        self.source_file(None, split), training,
        version_2_with_negative=self.version_2_with_negative,
        style=self.squad_style, do_lower_case=self.do_lower_case)

  def cache_settings(self, split):
    values = settings_lib.feature_values(settings_lib.SQUAD_SETTINGS,
                                         self.setting_value)
    values.update(kind=self.kind, training=split == "train")
    return values

  def encode(self, split, examples, tokenizer, max_seq_length):
    training = split == "train"
    features = _data().convert_examples_to_features(
        examples, tokenizer, max_seq_length, self.doc_stride,
        self.max_query_length, training, style=self.squad_style)

    def records():
      for index, feature in enumerate(features):
        length = int(sum(feature.input_mask))
        yield {"input_ids": list(feature.input_ids[:length]),
               "segment_ids": list(feature.segment_ids[:length]),
               "feature_index": [index],
               "start_positions": [int(feature.start_position or 0)
                                   if training else 0],
               "end_positions": [int(feature.end_position or 0)
                                 if training else 0]}

    return task_lib.EncodedSplit(records, len(features), features)

  def counts(self, data):
    return {"num_features": data.num_features}

  def input_fn(self, run, data, batch_size, is_training, start_step=0):
    """Evaluation and prediction pad every window to --max_seq_length, as
    Google's run_squad.py predicts: the n-best candidates are taken over
    all positions, padding included, so this keeps them Google's."""
    if is_training:
      return None
    return input_pipeline.input_fn_builder(
        data.cached.path, batch_size, run.max_seq_length, False,
        sequence_names=self.sequence_names, scalar_names=self.scalar_names,
        dynamic_padding=False)

  # --------------------------------------------------------------- head ---

  def head(self, model, features, context):
    start_logits, end_logits = span_logits(model.get_sequence_output())
    hfl = self.squad_style == "hfl_cmrc"
    if hfl:
      adder = (1.0 - span_mask(features["segment_ids"],
                               features["input_mask"])) * MASK_ADDER
      start_logits += adder
      end_logits += adder
    if context.mode == tf.estimator.ModeKeys.PREDICT:
      if hfl:   # HFL's baseline ranks spans by per-window log-probabilities
        start_logits = tf.nn.log_softmax(start_logits, axis=-1)
        end_logits = tf.nn.log_softmax(end_logits, axis=-1)
      outputs = {"start_logits": start_logits, "end_logits": end_logits}
      return task_lib.HeadOutput(outputs)
    loss = (span_loss(start_logits, features["start_positions"]) +
            span_loss(end_logits, features["end_positions"])) / 2.0
    return task_lib.HeadOutput(
        {"start_logits": start_logits, "end_logits": end_logits}, loss=loss)

  # ----------------------------------------------------- score and write ---

  def answers(self, run, data, checkpoint=None):
    """Google's post-processing of a split's predictions: (predictions,
    nbest, null_odds or None) as data.squad.write_predictions returns."""
    squad = _data()
    check_head(checkpoint)
    results = []
    for row in run.predictions(data, checkpoint):
      feature = data.extra[int(row["feature_index"])]
      results.append(squad.RawResult(
          unique_id=feature.unique_id,
          start_logits=[float(x) for x in row["start_logits"]],
          end_logits=[float(x) for x in row["end_logits"]]))
    return squad.write_predictions(
        data.examples, data.extra, results,
        do_lower_case=run.do_lower_case,
        **answer_settings(self.settings_values()))

  def dataset(self):
    """The predict file's json (read once)."""
    if self._dataset is None:
      with open(self.predict_file, encoding="utf-8") as f:
        self._dataset = json.load(f)
    return self._dataset

  def scores(self, data, predictions):
    """Scores of the split's predictions, or None when the file has no
    answers to score against."""
    dataset = only_questions(self.dataset(),
                             [e.qas_id for e in data.examples])
    if not has_answers(dataset):
      return None
    return span_scores(dataset, predictions)

  def evaluate(self, run, data, checkpoint=None, name=None):
    predictions, _, _ = self.answers(run, data, checkpoint)
    scores = self.scores(data, predictions)
    if scores is None:
      raise SettingsError(
          "--predict_file %s holds no answers to evaluate against: use "
          "--do_predict alone" % self.predict_file)
    scores["global_step"] = run.checkpoint_step(checkpoint)
    run.write_summaries("eval" if name is None else "eval_" + name,
                        {k: scores[k] for k in ("exact_match", "f1")},
                        scores["global_step"])
    return scores

  def eval_report(self, scores, checkpoint, data):
    del checkpoint
    return format_scores(scores, len(data.examples))

  def google_eval_results(self, scores):
    return {k: scores[k] for k in ("exact_match", "f1") if k in scores}

  def predict(self, run, data, checkpoint):
    predictions, nbest, null_odds = self.answers(run, data, checkpoint)
    files = [os.path.join(run.output_dir, PREDICTIONS_FILE),
             os.path.join(run.output_dir, NBEST_FILE)]
    write_google_json(files[0], predictions)
    write_google_json(files[1], nbest)
    if null_odds is not None and self.version_2_with_negative:
      files.append(os.path.join(run.output_dir, NULL_ODDS_FILE))
      write_google_json(files[2], null_odds)
    results = {"num_examples": len(data.examples),
               "num_features": data.num_features, "files": files}
    scores = self.scores(data, predictions)
    if scores is not None:
      scores["global_step"] = run.checkpoint_step(checkpoint)
      atomic.atomic_text(os.path.join(run.output_dir, "eval_results.txt"),
                         format_scores(scores, len(data.examples)))
      results["scores"] = scores
      tf.logging.info("%s: exact_match %.3f f1 %.3f (%s rules)",
                      self.predict_file, scores["exact_match"],
                      scores["f1"], scores["metric"])
    return results


def format_scores(scores, num_examples):
  """eval_results.txt of a scored predict file: Google's key = value
  lines (exact_match and f1 in percent, as the official scripts print)."""
  lines = ["exact_match = %s" % scores["exact_match"],
           "f1 = %s" % scores["f1"],
           "metric = %s" % scores["metric"],
           "num_examples = %d" % num_examples]
  if scores.get("global_step") is not None:
    lines.append("global_step = %s" % scores["global_step"])
  return "\n".join(lines) + "\n"


TASK_CLASS = SquadTask

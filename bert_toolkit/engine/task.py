"""The interface a task implements, and the one model_fn built from it.

The runner (bert_toolkit.engine.runner) owns the run skeleton: the run directory,
the feature cache, the Estimator, training with the best checkpoint and
early stopping, final evaluation, prediction and run_results.json. A task
module plugs into it with a `Task` subclass that answers its questions:

  which labels              read_labels(data_dir, train_examples)
  how a split is read       read_split(data_dir, split, labels)
                            source_file(data_dir, split): the file the
                            split's features depend on (cache key)
  how an example becomes    encode(split, examples, tokenizer,
    features                max_seq_length) -> EncodedSplit, or
                            prebuilt_features(split): files that already
                            are the features; input_fn() to read them
                            sequence_names / scalar_names: the TFRecord
                            feature names (float_features: (name, length)
                            float vectors, e.g. cached teacher logits;
                            windowed: a record is one text's windows);
                            cache_settings
  which head and loss       head(model, features, context) -> HeadOutput
  how predictions are       evaluate(run, data, checkpoint, name) -> scores
    scored and written      eval_report(scores, checkpoint, data) -> text
                            eval_results(scores) -> JSON-able dict
                            google_eval_results(scores) -> Google's keys
                            predict(run, data, checkpoint) -> results entry
  what the run directory    HEAD_DEFAULTS: (setting, default) pairs that
    remembers               define the model (None on the task: not given);
                            head_info(); from_run_info(info)

`run` is the runner's `Run`: the Estimator, input functions, tracked
predictions, TensorBoard summaries and the settings (see runner.Run).

Extension points the coming tasks need, without touching the runner:
- a second model in the graph (distillation's frozen teacher): `head` may
  build it under its own scope, restore it itself with
  tf.train.init_from_checkpoint in TRAIN mode, and list its scope in
  HeadOutput.frozen_scopes so the optimizer leaves it alone;
- its own features (pre-training's masked positions, distillation's cached
  teacher logits): encode() writes any int or float features, named in
  sequence_names / scalar_names / float_features, and `head` reads them from
  `features`. Graph variables found in the pre-trained checkpoint are
  restored with the encoder (pre-training's cls/* heads), and
  `context.init_checkpoint` is there for anything else;
- several label columns (multi-label): label_ids as a sequence feature.

A task that can be rebuilt for serving implements from_run_info; its head
must then work in PREDICT mode on input_ids / input_mask / segment_ids
alone. Task modules import neither the runner nor the optimizer, so export
and the predictor stay light.
"""

import collections

import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit import class_weights as class_weights_lib
from bert_toolkit import kinds
from bert_toolkit.data.encoding import MODEL_INPUTS
from bert_toolkit.data.encoding import WINDOW_EXAMPLE
from bert_toolkit.errors import SettingsError

class HeadContext(collections.namedtuple(
    "HeadContext", ["mode", "model_type", "config", "init_checkpoint"])):
  """What a head may need beside the encoder: mode, the encoder's type and
  config, and the pre-trained checkpoint of a TRAIN graph (or None)."""

  @property
  def is_training(self):
    return self.mode == tf.estimator.ModeKeys.TRAIN


class HeadOutput(object):
  """What a task's head returns to the model_fn.

  Attributes:
    predictions: dict name -> Tensor [batch, ...] (PREDICT outputs).
    loss: scalar Tensor (TRAIN / EVAL; None in PREDICT).
    eval_metric_ops: dict for EstimatorSpec (EVAL), or None.
    export_outputs: dict name -> Tensor for the serving signature (default:
      predictions).
    learning_rates: dict variable name -> its own (peak) learning rate,
      e.g. the CRF transitions; warm-up and decay apply to it too.
    frozen_scopes: variable-scope prefixes the optimizer must not train.
  """

  def __init__(self, predictions, loss=None, eval_metric_ops=None,
               export_outputs=None, learning_rates=None, frozen_scopes=()):
    self.predictions = predictions
    self.loss = loss
    self.eval_metric_ops = eval_metric_ops
    self.export_outputs = export_outputs
    self.learning_rates = dict(learning_rates or {})
    self.frozen_scopes = tuple(frozen_scopes)


class ServingCodec(object):
  """How a served model of one task meets raw texts: the task's half of
  the predictor (bert_toolkit.serving.predictor), built once per loaded
  export.

  rows(text, text_b) -> (rows, state): the model rows of one request item
    (dicts input_ids / input_mask / segment_ids -> int lists; several for
    windows) and whatever decode needs back.
  decode(state, outputs) -> the item's JSON answer, from its rows'
    outputs (dicts output name -> numpy value, in row order).
  token_outputs: the outputs with one value per token, which the predictor
    cuts to each row's own length after a padded batch.
  fields: the names of a request item's two texts (a served item is
    {fields[0]: text, fields[1]: text_b}; the second may be optional).

  Attributes set here: config (the export's serving_config.json dict),
  head (its "head" settings), labels, tokenizer, max_seq_length.
  """

  token_outputs = ()
  fields = ("text", "text_b")

  def __init__(self, config, tokenizer, max_seq_length, error=ValueError):
    self.config = config
    self.head = config.get("head") or {}
    self.labels = list(config["labels"])
    self.tokenizer = tokenizer
    self.max_seq_length = max_seq_length
    self.error = error                  # the predictor's error class

  def rows(self, text, text_b=None):
    raise NotImplementedError

  def decode(self, state, outputs):
    raise NotImplementedError


class DistillAdaptor(object):
  """What distillation needs of a task, as TextBrewer's adaptors: which
  teacher outputs a training record carries, and how the student's soft
  loss reads them (bert_toolkit.tasks.distillation does the rest).

  teacher_width() -> floats of teacher output a record holds (the float
    feature `teacher_logits`).
  record_extras(encoded) -> one value per record of an EncodedSplit that
    attach needs (default None each; NER: the record's window).
  attach(row, values, extra): puts the teacher's `values` for this record
    (its logits, [labels] or [len, labels]) into row["teacher_logits"],
    and the teacher's labels into an unlabeled row's label_ids.
  unlabeled_example(number, line) -> the example of a line of
    --unlabeled_file (1-based number), or None to skip it.
  soft_targets(head_output, features) -> (student logits, teacher logits
    of the same shape, weights or None): what the soft loss compares.

  Attributes: task (the data-reading task), num_labels, max_seq_length.
  """

  def __init__(self, task, num_labels, max_seq_length):
    self.task = task
    self.num_labels = num_labels
    self.max_seq_length = max_seq_length

  def teacher_width(self):
    raise NotImplementedError

  def record_extras(self, encoded):
    return [None] * encoded.count

  def attach(self, row, values, extra):
    raise NotImplementedError

  def unlabeled_example(self, number, line):
    raise NotImplementedError

  def soft_targets(self, head_output, features):
    raise NotImplementedError


EncodedSplit = collections.namedtuple(
    "EncodedSplit", ["records", "count", "extra"])
EncodedSplit.__doc__ = """A split turned into features.

  records: fn() -> iterable of record dicts (name -> int list); called only
    when the feature file must be written.
  count: how many records (for the progress ETA).
  extra: whatever the task needs back when scoring (NER: the windows).
"""


class Task(object):
  """Base class: the runner's questions (see the module docstring)."""

  kind = None
  name = None
  best_metrics = ()                     # the first is the default
  sequence_names = ("input_ids", "segment_ids")
  scalar_names = ("label_ids", "example_index")
  float_features = ()                   # (name, length): float vectors
  windowed = False                      # records hold several windows
                                        # (input_pipeline's windows=True)
  min_seq_length = 3
  vocab_tokens = ()                     # special tokens the vocab must hold
                                        # beyond [CLS], [SEP], [UNK]
  needs_data_dir = True                 # reads --data_dir splits
  requires_init_checkpoint = True       # training starts from a checkpoint
  evaluates_init_checkpoint = False     # eval-only on --init_checkpoint
  HEAD_DEFAULTS = ()                    # (setting, default) pairs that
                                        # define the model
  class_weights = None                  # per label, training loss only
  focal_gamma = 0.0                     # (set by configure_loss)
  first_token_only = False              # the head reads the pooled output
                                        # alone: the encoder's last layer
                                        # computes the first token only

  def __init__(self):
    self.label_list = None              # set by the runner

  # ------------------------------------------------- what the run keeps ---

  def head_settings(self):
    """{setting: value or None (not given)} of HEAD_DEFAULTS' keys."""
    return {key: getattr(self, key) for key, _ in self.HEAD_DEFAULTS}

  def flag_for(self, key, value):
    """The command-line spelling of a head setting, e.g. '--crf=false'."""
    if isinstance(value, bool):
      return "--%s=%s" % (key, str(value).lower())
    return "--%s=%s" % (key, value)

  def resolve_head(self, saved_head, where):
    """Fills head settings not given from the run directory, or defaults.

    Args:
      saved_head: run_info.json's "head" dict, or None (a new run).
      where: the run directory, for the message.

    Raises:
      SettingsError: a given setting differs from the run's.
    """
    saved_head = saved_head or {}
    for key, default in self.HEAD_DEFAULTS:
      value = getattr(self, key)
      if key in saved_head:
        if value is None:
          setattr(self, key, saved_head[key])
        elif value != saved_head[key]:
          flag = self.flag_for(key, saved_head[key])
          raise SettingsError(
              "%s was trained with %s, this run asks for %s: pass %s, or "
              "--overwrite_output_dir (with --do_train) or another "
              "--output_dir" % (where, flag, self.flag_for(key, value), flag))
      elif value is None:
        setattr(self, key, default)

  def head_info(self):
    """run_info.json's "head" dict (resolved head settings and extras)."""
    return self.head_settings()

  CODEC = None                          # a ServingCodec subclass
  DISTILL = None                        # a DistillAdaptor subclass

  @classmethod
  def student_task(cls, info, where, task_name=None, **columns):
    """The task of a distillation student of the teacher run `info` (in
    the directory `where`): the teacher's head, reading `task_name`
    (default the teacher's) with the given reading settings (a
    classifier's columns)."""
    del info, where, task_name, columns
    raise _not_a_teacher(cls.kind)

  def distill_adaptor(self, num_labels, max_seq_length):
    """This task's DistillAdaptor (see DistillAdaptor)."""
    if self.DISTILL is None:
      raise _not_a_teacher(self.kind)
    return self.DISTILL(self, num_labels, max_seq_length)

  @classmethod
  def serving_codec(cls, config, tokenizer, max_seq_length, error):
    """The ServingCodec of an export of this task (see ServingCodec)."""
    if cls.CODEC is None:
      raise error("a %s export cannot be served from raw texts" % cls.kind)
    return cls.CODEC(config, tokenizer, max_seq_length, error)

  @classmethod
  def from_settings(cls, values):
    """The task of a command line: `values` {setting: value given, or
    None} of the kind's own settings (its bert_toolkit.kinds row)."""
    del values
    raise SettingsError("%s runs are not made from command-line settings" %
                        cls.kind)

  @classmethod
  def text_signature(cls, info):
    """How an export's `text` signature (tokenization in the graph) reads
    the run's raw texts: {"pair": bool (a text_b input too), "truncation":
    "head" | "tail" | "head_tail"}, or None for no such signature (the
    default: the task's texts need Python to become rows)."""
    del info
    return None

  @classmethod
  def serving_extras(cls, run_dir, info):
    """What an export of the run in run_dir (run_info `info`) adds to its
    serving_config.json for the task's ServingCodec; default nothing."""
    del run_dir, info
    return {}

  @classmethod
  def from_run_info(cls, info):
    """The task of a trained run, enough to rebuild its PREDICT graph."""
    raise NotImplementedError("%s cannot be rebuilt from run_info" %
                              cls.__name__)

  def validate(self, settings):
    """Task-specific checks of the run settings (raise SettingsError)."""
    del settings

  def check_distribution(self, plan):
    """Raises SettingsError when this task's head cannot train under the
    distribution.Plan (checked once the head settings are resolved)."""
    del plan

  # ----------------------------------------------------- data, features ---

  def read_labels(self, data_dir, train_examples):
    raise NotImplementedError

  def label_counts(self, train_examples):
    """{label: training items} for --class_weights=balanced; None: this
    task's loss cannot be weighted."""
    del train_examples
    return None

  def configure_loss(self, train, train_examples):
    """Sets class_weights / focal_gamma from --class_weights and
    --focal_loss_gamma (bert_toolkit.class_weights has the rules)."""
    if not (train.class_weights or train.focal_loss_gamma):
      return
    counts = self.label_counts(train_examples)
    if counts is None:
      raise SettingsError(
          "--class_weights and --focal_loss_gamma apply to classification "
          "and to NER's softmax head, not to %s" % self.describe_loss())
    self.class_weights = class_weights_lib.resolve(
        train.class_weights, self.label_list, counts)
    self.focal_gamma = float(train.focal_loss_gamma)
    if self.class_weights:
      tf.logging.info("Class weights: %s", ", ".join(
          "%s %.4g" % (label, w) for label, w in zip(self.label_list,
                                                     self.class_weights)))

  def describe_loss(self):
    """What this task's loss is, for the message above."""
    return "%s runs" % (self.kind or "these")

  def read_split(self, data_dir, split, labels=None):
    raise NotImplementedError

  def source_file(self, data_dir, split):
    raise NotImplementedError

  def encode(self, split, examples, tokenizer, max_seq_length):
    raise NotImplementedError

  def float_features_for(self, split):
    """The float features a split's records carry (default: all)."""
    del split
    return self.float_features

  def model_files(self, settings):
    """The model to train, when the task makes it (distillation's student),
    as a modeling.PretrainedFiles; None: the runner finds it from the
    flags."""
    del settings
    return None

  def read_paths(self, settings):
    """What the run reads beside the model flags and --data_dir, as
    bert_toolkit.runs.paths inputs (input_path): a teacher run, extra input
    files. The run refuses an output directory that meets them."""
    del settings
    return []

  def prebuilt_features(self, split):
    """TFRecord files a split already is (pre-training), or None: the
    runner then encodes and caches the split."""
    del split
    return None

  def input_fn(self, run, data, batch_size, is_training, start_step=0):
    """A task's own input_fn, or None for the runner's (grouped by length)."""
    del run, data, batch_size, is_training, start_step
    return None

  def input_settings(self, do_lower_case, max_seq_length):
    """Called once the run's do_lower_case and max_seq_length are resolved,
    before any split is read (a reader that lower-cases words itself)."""
    del do_lower_case, max_seq_length

  def prepare(self, tokenizer, config):
    """Called once before the graph is built, with the run's tokenizer and
    encoder config (e.g. for special token ids)."""
    del tokenizer, config

  def cache_settings(self, split):
    """Settings beyond the run's that change a split's features."""
    del split
    return None

  def counts(self, data):
    """Extra run_results.json counts of a split (e.g. NER windows)."""
    del data
    return {}

  # --------------------------------------------------------------- head ---

  def head(self, model, features, context):
    raise NotImplementedError

  # ----------------------------------------------------- score and write ---

  def evaluate(self, run, data, checkpoint=None, name=None):
    raise NotImplementedError

  def eval_report(self, scores, checkpoint, data):
    raise NotImplementedError

  def eval_results(self, scores):
    return dict(scores)

  def google_eval_results(self, scores):
    """The keys google-research/bert writes in eval_results.txt (e.g.
    eval_accuracy, eval_loss, global_step, loss): the runner writes them
    first, in Google's format. None here: the report is all."""
    del scores
    return {}

  def predict(self, run, data, checkpoint):
    raise NotImplementedError


def _not_a_teacher(kind):
  return SettingsError("a %s run cannot be a distillation teacher" % kind)


def encoder_from_features(model_type, config, features, is_training,
                          first_token_only=False):
  """Builds the encoder on a features dict (input_ids, input_mask, ...).

  A packed training batch (bert_toolkit.engine.packing) runs the encoder on its
  packed rows; the model unpacks its outputs, so the head sees the batch
  as usual. `first_token_only` (a task's `Task.first_token_only`): the
  last layer computes each example's first token alone, so the sequence
  output is [batch, 1, hidden] (modeling.base.stack_layers).
  """
  if "unpack_index" in features:
    return modeling.build_model(
        model_type, config, is_training, features["packed_input_ids"],
        features["packed_input_mask"], features["packed_segment_ids"],
        packing=modeling.Packing(features["packed_position_ids"],
                                 features["unpack_index"]),
        first_token_only=first_token_only)
  return modeling.build_model(
      model_type, config, is_training, features["input_ids"],
      features["input_mask"], features.get("segment_ids"),
      first_token_only=first_token_only)


def model_fn_builder(task, model_type, config, init_checkpoint=None,
                     trainer=None):
  """The Estimator model_fn of every task: encoder, the task's head, and
  (for TRAIN / EVAL) the trainer's spec.

  Args:
    task: a Task with its label_list set.
    model_type, config: the encoder.
    init_checkpoint: pre-trained checkpoint (TRAIN restores it).
    trainer: an object with train_spec(head_output, features) and
      eval_spec(head_output, features) (bert_toolkit.engine.training.Trainer); None
      builds a PREDICT-only model_fn (export, predictor parity).

  PREDICT returns the head's predictions plus every feature that is not a
  model input (example_index, window_index, ...; not window_example), and
  a serving_default export output of the head's export_outputs.
  """

  def model_fn(features, labels, mode, params):
    del labels, params
    if trainer is not None and mode == tf.estimator.ModeKeys.TRAIN:
      trainer.prepare_graph()
    context = HeadContext(mode, model_type, config,
                          init_checkpoint if mode ==
                          tf.estimator.ModeKeys.TRAIN else None)
    model = encoder_from_features(model_type, config, features,
                                  context.is_training, task.first_token_only)
    out = task.head(model, features, context)
    if mode == tf.estimator.ModeKeys.PREDICT:
      return _predict_spec(out, features)
    if trainer is None:
      raise ValueError("this model_fn supports PREDICT only; train with "
                       "the run scripts")
    if mode == tf.estimator.ModeKeys.EVAL:
      return trainer.eval_spec(out, features)
    return trainer.train_spec(out, features)

  return model_fn


def _predict_spec(out, features):
  predictions = dict(out.predictions)
  export = dict(out.export_outputs or out.predictions)
  for key, value in features.items():
    if key not in MODEL_INPUTS + (WINDOW_EXAMPLE,) and \
        key not in predictions:
      predictions[key] = value
  return tf.estimator.EstimatorSpec(
      tf.estimator.ModeKeys.PREDICT, predictions=predictions,
      export_outputs={
          tf.saved_model.signature_constants
          .DEFAULT_SERVING_SIGNATURE_DEF_KEY:
              tf.estimator.export.PredictOutput(export)})


def model_fn_from_run_info(info):
  """A PREDICT-only model_fn rebuilt from `run_info.read(run_dir)` alone.

  Its features need only input_ids, input_mask, segment_ids (int32
  [batch, seq]); the fine-tuned weights come from the checkpoint the
  Estimator (or the exporter) restores.
  """
  task = kinds.task_class(info.get("kind")).from_run_info(info)
  return model_fn_builder(task, info["model_type"], info["config"])

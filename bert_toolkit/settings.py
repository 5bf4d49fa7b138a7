"""Plain settings of a run, with every default written once (no TF, no flags).

Two tables describe the settings every run script shares (and one table
each, CLASSIFIER_SETTINGS, NER_SETTINGS and DISTILL_SETTINGS, a run
script's own):

  RUN_SETTINGS    what to run on and where: data and output folders, the
                  pre-trained model, the model's input settings, what to do
  TRAIN_SETTINGS  how to train, evaluate and predict: batch sizes, schedule,
                  freezing, checkpoints, evaluation during training

Each row is a `Setting` (name, default, type, help). `bert_toolkit.cli.flags_common`
turns the rows into absl flags, and `TrainSettings` / `RunSettings` take
their defaults from the same rows, so a default lives in one place.

Settings that define the model's inputs (`max_seq_length`, `do_lower_case`)
and the task's head settings may be None, meaning "not given": the runner
then takes them from the run directory's run_info.json (an evaluate-only run
or a resumed one), or from the default for a new run. A value that is given
must match the run directory's, or the run is refused.

`TrainSettings.validate()` rejects values that cannot work (a zero batch, a
layer-wise decay outside (0, 1], ...) with a `SettingsError` naming the flag.
"""

import collections
import os
import re

from bert_toolkit.errors import SettingsError

Setting = collections.namedtuple("Setting", ["name", "default", "type",
                                             "help"])

RUN_SETTINGS = (
    Setting("data_dir", None, str, "Folder with the train/dev/test files."),
    Setting("output_dir", None, str, "Run directory: checkpoints, "
            "summaries, run_info.json and results."),
    Setting("init_checkpoint", None, str, "Pre-trained checkpoint prefix, "
            "or the folder of a release / convert_checkpoint.py output "
            "(config and vocab are found there)."),
    Setting("bert_config_file", None, str, "Model config (wins over the "
            "one found beside the checkpoint)."),
    Setting("vocab_file", None, str, "Vocab (wins over the one found "
            "beside the checkpoint)."),
    Setting("model_type", None, str, "Model family, one of "
            "modeling.MODEL_TYPES (bert, albert, ...); inferred when not "
            "given."),
    Setting("electra_size", None, ("small", "base", "large"), "Google's "
            "ELECTRA releases ship no config: build the published "
            "small/base/large one (vocab_size from the vocab)."),
    Setting("do_lower_case", True, bool, "Lower-case input text (default: "
            "true, or what the run directory was trained with)."),
    Setting("skip_case_check", False, bool, "Skip Google's check that "
            "--do_lower_case matches a Google model's folder name (for a "
            "renamed folder)."),
    Setting("max_seq_length", 128, int, "Longest input in WordPieces, "
            "[CLS]/[SEP] included (default: 128, or what the run directory "
            "was trained with). Classification truncates longer inputs "
            "(pairs from the longer side); NER cuts long sentences into "
            "overlapping windows."),
    Setting("do_train", False, bool, "Train (resumes when output_dir holds "
            "the same run)."),
    Setting("do_eval", False, bool, "Evaluate on dev: eval_results.txt."),
    Setting("do_predict", False, bool, "Predict the test split."),
    Setting("cache_dir", None, str, "Feature files (default "
            "output_dir/features)."),
    Setting("overwrite_output_dir", False, bool, "Train from scratch in an "
            "output_dir that holds another run (its checkpoints and results "
            "are deleted)."),
    Setting("allow_partial_restore", False, bool, "Accept a checkpoint with "
            "more encoder layers than the config (the extra layers are not "
            "used)."),
)

TRAIN_SETTINGS = (
    Setting("train_batch_size", 32, int, "Examples per micro-batch."),
    Setting("eval_batch_size", 32, int, "Examples per eval batch."),
    Setting("predict_batch_size", 32, int, "Examples per predict batch."),
    Setting("learning_rate", 5e-5, float, "Peak learning rate (Adam)."),
    Setting("num_train_epochs", 3.0, float, "Epochs to train."),
    Setting("num_train_steps", None, int, "Micro-batches to train (wins "
            "over --num_train_epochs; run_pretraining.py's way)."),
    Setting("warmup_proportion", 0.1, float, "Share of steps for warm-up."),
    Setting("num_warmup_steps", None, int, "Warm-up micro-batches (wins "
            "over --warmup_proportion)."),
    Setting("optimizer", "adamw", ("adamw", "lamb"), "adamw: "
            "AdamWeightDecay; lamb: LAMB (layer-wise trust ratio, for large "
            "batches)."),
    Setting("weight_decay_rate", 0.01, float, "Decoupled weight decay."),
    Setting("gradient_accumulation_steps", 1, int, "Micro-batches per "
            "optimizer update."),
    Setting("layerwise_lr_decay", None, float, "Layer i of L trains at "
            "lr * decay**(L-i); embeddings at decay**(L+1). In (0, 1]."),
    Setting("freeze_embeddings", False, bool, "Do not train embeddings."),
    Setting("trainable_layers", None, int, "Train only the top N encoder "
            "layers (plus pooler and head)."),
    Setting("freeze_encoder", False, bool, "Train only the task head."),
    Setting("freeze", None, str, "Regex: freeze matching variables."),
    Setting("class_weights", None, str, "Weight the training loss per "
            "label: 'balanced' (n / (k * count)) or one number per label in "
            "label order, e.g. 1,4 (classification, NER softmax head)."),
    Setting("focal_loss_gamma", 0.0, float, "> 0: focal loss, each item's "
            "loss times (1 - p)^gamma (classification, NER softmax head)."),
    Setting("seed", None, int, "Random seed (graph and data order)."),
    Setting("dynamic_padding", True, bool, "Bucket batches by length; false "
            "pads every batch to max_seq_length (Google's way)."),
    Setting("pack_sequences", False, bool, "Pack each training batch's "
            "examples into a few rows (block-diagonal attention, positions "
            "restarting per example): less padding than length buckets. "
            "Evaluation and prediction are not packed."),
    Setting("distribution_strategy", "none",
            ("none", "mirrored", "multi_worker_mirrored",
             "parameter_server"),
            "none: one device; mirrored: synchronous data parallelism over "
            "this machine's GPUs (--num_gpus of them); "
            "multi_worker_mirrored: one replica per worker process, the "
            "cluster from TF_CONFIG (tools/local_cluster.py starts one "
            "locally); parameter_server: the Estimator's asynchronous "
            "ps/worker training, cluster from TF_CONFIG. --train_batch_size "
            "stays the global batch, split evenly across synchronous "
            "replicas (a parameter_server update is one such batch)."),
    Setting("num_gpus", None, int, "mirrored: replicas (default: every "
            "GPU; without a GPU, this many logical CPU devices, for "
            "testing)."),
    Setting("use_xla", False, bool, "XLA JIT compilation of the training "
            "and evaluation graphs (auto-clustering, CPU and GPU)."),
    Setting("use_amp", False, bool, "Automatic mixed precision on GPUs: "
            "float16 graph rewrite with dynamic loss scaling. Without a GPU "
            "it says so and changes nothing."),
    Setting("save_checkpoints_steps", 1000, int, "Checkpoint interval."),
    Setting("keep_checkpoint_max", 3, int, "Checkpoints to keep."),
    Setting("eval_every_steps", None, int, "Evaluate on dev every N steps "
            "during training and keep the best checkpoint in "
            "output_dir/best."),
    Setting("best_metric", None, str, "Metric that picks the best "
            "checkpoint (classifier: accuracy or macro_f1; NER: f1, "
            "precision or recall; default: the first)."),
    Setting("early_stopping_patience", None, int, "Stop after N "
            "evaluations without a better best_metric."),
    Setting("log_every_seconds", 10.0, float, "Progress line interval."),
    Setting("num_threads", 0, int, "TF threads (0: all cores)."),
)

# Each run script's own settings, beside the shared tables above: the
# scripts' flags and the studio's form are both made from these rows. A
# `task` row's help names no data set: the script adds the names from the
# data set tables (bert_toolkit.data).
CLASSIFIER_SETTINGS = (
    Setting("task", None, str, "The data set."),
    Setting("task_name", None, str, "Alias of --task (Google's name)."),
    Setting("text_a_column", None, str, "Generic tasks: text_a column "
            "(name, or 0-based number for header-less files)."),
    Setting("text_b_column", None, str, "Generic tasks: text_b column."),
    Setting("label_column", None, str, "Generic tasks: label column."),
    Setting("truncation", None, ("head", "tail", "head_tail"), "Which "
            "WordPieces of a single text longer than max_seq_length are "
            "kept: head (Google's; the default), tail, or head_tail (the "
            "first 128/510 and the last 382/510 of the room). Kept with the "
            "run."),
    Setting("long_text", None, ("truncate", "windows"), "truncate (the "
            "default: cut by --truncation) or windows: a text longer than "
            "max_seq_length becomes overlapping windows whose logits are "
            "pooled, in training, evaluation, prediction and serving. Kept "
            "with the run."),
    Setting("window_stride", None, int, "--long_text=windows: WordPieces "
            "between window starts (default: half a window)."),
    Setting("window_pooling", None, ("mean", "max"), "--long_text=windows: "
            "how a text's logits come from its windows' (default mean; max "
            "per label)."),
    Setting("multi_label", None, bool, "Several labels per example "
            "(--task=tsv/csv/jsonl): sigmoid outputs, binary cross-entropy. "
            "Kept with the run."),
    Setting("label_separator", None, str, "What joins an example's labels "
            "in the label column (default ','; JSON lines may hold a "
            "list)."),
    Setting("google_output_format", False, bool, "Write test_results.tsv as "
            "google-research/bert does: no header, one line of "
            "tab-separated label probabilities per example."),
)

NER_SETTINGS = (
    Setting("task", None, str, "The data set (bio: two-column files "
            "train/dev/test.{txt,bio,tsv})."),
    Setting("task_name", None, str, "Alias of --task (the name the BERT-NER "
            "scripts use)."),
    Setting("window_stride", None, int, "WordPieces between the starts of a "
            "long sentence's windows (default: half of max_seq_length - "
            "2)."),
    Setting("crf", False, bool, "CRF head (in-graph Viterbi) instead of the "
            "token softmax."),
    Setting("crf_learning_rate", None, float, "Learning rate of the CRF "
            "transitions (default: --learning_rate); warm-up and decay apply "
            "to it too."),
    Setting("lstm_size", 0, int, "> 0: BiLSTM of this many units each way "
            "between encoder and head (BiLSTM-CRF with --crf)."),
    Setting("scheme", "BIO", ("BIO", "BIOES"), "Tag scheme the model is "
            "trained on (data is converted)."),
    Setting("label_x", False, bool, "Train non-first WordPieces as an extra "
            "'X' label (kyzhouhzau/BERT-NER's scheme) instead of ignoring "
            "them."),
    Setting("word_units", False, bool, "bio task: units are words joined by "
            "spaces (English); default: characters (Chinese)."),
)

DISTILL_SETTINGS = (
    Setting("teacher_dir", None, str, "The teacher: --output_dir of a "
            "run_classifier.py / run_ner.py training run."),
    Setting("student_layers", None, str, "Teacher layers the student keeps, "
            "e.g. 0,2,4 (instead of --init_checkpoint)."),
    Setting("alpha", 0.5, float, "Weight of the hard-label loss; the soft "
            "(teacher) loss gets 1 - alpha. 1.0 with no intermediate losses "
            "is plain fine-tuning of the student."),
    Setting("temperature", 2.0, float, "Softmax temperature T of the soft "
            "loss (KL(teacher || student) on logits / T, times T^2)."),
    Setting("hidden_loss_weight", 0.0, float, "TinyBERT hidden-state MSE "
            "between mapped layers."),
    Setting("attention_loss_weight", 0.0, float, "TinyBERT attention-score "
            "MSE between mapped layers."),
    Setting("layer_map", None, str, "student:teacher layer pairs, e.g. "
            "0:1,1:3,2:5 (default: uniform, or --student_layers)."),
    Setting("unlabeled_file", None, str, "Extra raw text, one example a line "
            "('text_a ||| text_b' for pairs), labelled by the teacher."),
    Setting("task", None, str, "Default: the teacher's task (another data "
            "set of the same format may be named)."),
    Setting("text_a_column", None, str, "Generic classification tasks."),
    Setting("text_b_column", None, str, "Generic classification tasks."),
    Setting("label_column", None, str, "Generic classification tasks."),
)

# Train settings a resumed run must keep: changing them would break the
# data position it resumes from (or the batches it already took).
RESUME_INVARIANT = ("train_batch_size", "gradient_accumulation_steps",
                    "seed", "dynamic_padding", "pack_sequences")


def defaults(table):
  """{name: default} of a settings table."""
  return {row.name: row.default for row in table}


def _fill(obj, table, values):
  """Sets every setting of `table` on obj: `values` over the defaults."""
  names = {row.name for row in table}
  unknown = sorted(set(values) - names)
  if unknown:
    raise TypeError("unknown setting(s) %s" % ", ".join(unknown))
  for row in table:
    setattr(obj, row.name, values.get(row.name, row.default))


class TrainSettings(object):
  """How a run trains, evaluates and predicts (see TRAIN_SETTINGS)."""

  def __init__(self, **values):
    _fill(self, TRAIN_SETTINGS, values)

  def as_dict(self):
    return {row.name: getattr(self, row.name) for row in TRAIN_SETTINGS}

  def validate(self):
    """Raises SettingsError for a value that cannot work."""
    for name in ("train_batch_size", "eval_batch_size", "predict_batch_size",
                 "gradient_accumulation_steps", "save_checkpoints_steps"):
      _at_least(name, getattr(self, name), 1)
    for name in ("eval_every_steps", "early_stopping_patience"):
      if getattr(self, name) is not None:
        _at_least(name, getattr(self, name), 1)
    for name in ("keep_checkpoint_max", "num_threads"):
      _at_least(name, getattr(self, name), 0)
    if self.trainable_layers is not None:
      _at_least("trainable_layers", self.trainable_layers, 0)
    if not self.learning_rate > 0:
      raise SettingsError("--learning_rate must be positive, got %g" %
                          self.learning_rate)
    if not self.num_train_epochs > 0:
      raise SettingsError("--num_train_epochs must be positive, got %g" %
                          self.num_train_epochs)
    if not 0 <= self.warmup_proportion <= 1:
      raise SettingsError("--warmup_proportion must be in [0, 1], got %g" %
                          self.warmup_proportion)
    if self.weight_decay_rate < 0:
      raise SettingsError("--weight_decay_rate must be >= 0, got %g" %
                          self.weight_decay_rate)
    if self.log_every_seconds < 0:
      raise SettingsError("--log_every_seconds must be >= 0, got %g" %
                          self.log_every_seconds)
    if self.layerwise_lr_decay is not None and not (
        0 < self.layerwise_lr_decay <= 1):
      raise SettingsError(
          "--layerwise_lr_decay must be in (0, 1] (e.g. 0.8), got %g" %
          self.layerwise_lr_decay)
    if self.freeze:
      try:
        re.compile(self.freeze)
      except re.error as e:
        raise SettingsError("--freeze=%r is not a valid regular expression: "
                            "%s" % (self.freeze, e))
    for name in ("num_train_steps", "num_warmup_steps"):
      if getattr(self, name) is not None:
        _at_least(name, getattr(self, name), 1 if name ==
                  "num_train_steps" else 0)
    if self.focal_loss_gamma < 0:
      raise SettingsError("--focal_loss_gamma must be >= 0, got %g" %
                          self.focal_loss_gamma)
    from bert_toolkit import class_weights  # pylint: disable=g-import-not-at-top
    class_weights.parse(self.class_weights)
    if self.pack_sequences and not self.dynamic_padding:
      raise SettingsError("--pack_sequences packs batches instead of padding "
                          "them: drop --dynamic_padding=false")
    if self.early_stopping_patience and not self.eval_every_steps:
      raise SettingsError("--early_stopping_patience needs "
                          "--eval_every_steps (evaluations to count)")


def _at_least(name, value, low):
  if value is None or value < low:
    raise SettingsError("--%s must be at least %d, got %s" %
                        (name, low, value))


class RunSettings(object):
  """What a run script hands `runner.run` beside the task (RUN_SETTINGS).

  `do_lower_case` and `max_seq_length` may be None: not given (see the
  module docstring). `train` is a TrainSettings.
  """

  def __init__(self, train=None, **values):
    _fill(self, RUN_SETTINGS, values)
    self.train = train or TrainSettings()
    if "do_lower_case" not in values:
      self.do_lower_case = None
    if "max_seq_length" not in values:
      self.max_seq_length = None

  @property
  def names_a_model(self):
    """True when a flag names the pre-trained model."""
    return bool(self.init_checkpoint or self.bert_config_file or
                self.vocab_file or self.electra_size)

  @property
  def feature_dir(self):
    """Where feature files go: cache_dir, or output_dir/features."""
    return self.cache_dir or os.path.join(self.output_dir, "features")

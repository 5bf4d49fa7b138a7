"""Plain settings of a run, with every default written once (no TF, no flags).

Two tables describe the settings every run script shares (and one table
each, CLASSIFIER_SETTINGS, NER_SETTINGS and DISTILL_SETTINGS, a run
script's own):

  RUN_SETTINGS    what to run on and where: data and output folders, the
                  pre-trained model, the model's input settings, what to do
  TRAIN_SETTINGS  how to train, evaluate and predict: batch sizes, schedule,
                  freezing, checkpoints, evaluation during training

Each row is a `Setting` (name, default, type, help, features, valid).
`bert_toolkit.cli.flags_common` turns the rows into absl flags, and
`TrainSettings` / `RunSettings` take their defaults from the same rows, so
a default lives in one place. `valid` is the range a number must be in
(every float must also be finite): every script's flag parsing checks it
(value_problem), and so does `TrainSettings.validate()` for library use.
`features` says what the setting does to the feature files: KEY (its value
is in the feature-cache key), FILE (it names a file whose bytes are) or
NONE (it does not change what is read or how it is encoded); a task's
cache key takes its KEY rows' values (feature_values).

Settings that define the model's inputs (`max_seq_length`, `do_lower_case`)
and the task's head settings may be None, meaning "not given": the runner
then takes them from the run directory's run_info.json (an evaluate-only run
or a resumed one), or from the default for a new run. A value that is given
must match the run directory's, or the run is refused.

`TrainSettings.validate()` rejects values that cannot work (a zero batch, a
layer-wise decay outside (0, 1], a NaN, ...) with a `SettingsError` naming
the flag.
"""

import collections
import math
import os
import re

from bert_toolkit.errors import SettingsError

# What a setting does to the feature files (`Setting.features`); every row
# says one of these, so a new setting cannot be left out of the feature-cache
# key by mistake (tests/test_cache_key.py checks every row of every table):
KEY = "key"     # its value is part of the feature-cache key
FILE = "file"   # it names a file whose bytes are part of the key (the data,
                # the vocab, the teacher's checkpoint, the unlabeled text)
NONE = "none"   # it does not change what is read or how it is encoded


class Range(collections.namedtuple("Range", ["low", "high", "low_open",
                                             "high_open"])):
  """The values a number setting may take: low..high (None: unbounded),
  each end open or closed."""

  def __contains__(self, value):
    if self.low is not None and (value < self.low or (
        self.low_open and value == self.low)):
      return False
    return self.high is None or not (value > self.high or (
        self.high_open and value == self.high))

  def describe(self):
    """'at least 1', 'positive', 'in (0, 1]', ... for the message."""
    if self.high is None:
      if self.low_open and self.low == 0:
        return "positive"
      if isinstance(self.low, int) and not self.low_open:
        return "at least %d" % self.low
      return "%s %g" % (">" if self.low_open else ">=", self.low)
    return "in %s%g, %g%s" % ("(" if self.low_open else "[", self.low,
                              self.high, ")" if self.high_open else "]")


AT_LEAST_0 = Range(0, None, False, False)
AT_LEAST_1 = Range(1, None, False, False)
AT_LEAST_3 = Range(3, None, False, False)       # [CLS], a token, [SEP]
NOT_NEGATIVE = Range(0.0, None, False, False)
POSITIVE = Range(0.0, None, True, False)
UNIT = Range(0.0, 1.0, False, False)            # [0, 1]
OPEN_UNIT = Range(0.0, 1.0, True, False)        # (0, 1]
LEARNING_RATE = Range(0.0, 1.0, True, False)    # (0, 1]

# The largest float32: a float setting beyond it is infinite in the graph.
FLOAT32_MAX = 3.4028234663852886e38

Setting = collections.namedtuple(
    "Setting", ["name", "default", "type", "help", "features", "valid"],
    defaults=(None, None))
Setting.__doc__ = """One setting: its flag, default, type and help; `features`
(KEY, FILE or NONE: what it does to the feature files) and `valid` (a Range
for a number, or None). A float setting must also be finite."""


def value_problem(row, value):
  """Why `value` cannot be setting `row`'s (a message naming the flag), or
  None. None (not given) is always allowed."""
  if value is None or row.type not in (int, float):
    return None
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    return "--%s must be a number, got %r" % (row.name, value)
  if row.type is float and not (math.isfinite(value) and
                                abs(value) <= FLOAT32_MAX):
    return "--%s must be a finite number, got %s" % (row.name, value)
  if row.valid is not None and value not in row.valid:
    return "--%s must be %s, got %s" % (row.name, row.valid.describe(),
                                        value)
  return None


def check_values(table, values):
  """SettingsError for the first value of {name: value} that its row in
  `table` refuses (value_problem); names not in the table are skipped."""
  for row in table:
    if row.name in values:
      problem = value_problem(row, values[row.name])
      if problem:
        raise SettingsError(problem)


def feature_values(table, value_of):
  """{name: value_of(name)} of the table's KEY rows: what of these
  settings goes into the feature-cache key."""
  return {row.name: value_of(row.name) for row in table
          if row.features == KEY}

RUN_SETTINGS = (
    Setting("data_dir", None, str, "Folder with the train/dev/test files.",
            features=FILE),
    Setting("output_dir", None, str, "Run directory: checkpoints, "
            "summaries, run_info.json and results.", features=NONE),
    Setting("init_checkpoint", None, str, "Pre-trained checkpoint prefix, "
            "or the folder of a release / convert_checkpoint.py output "
            "(config and vocab are found there).", features=FILE),
    Setting("bert_config_file", None, str, "Model config (wins over the "
            "one found beside the checkpoint).", features=NONE),
    Setting("vocab_file", None, str, "Vocab (wins over the one found "
            "beside the checkpoint).", features=FILE),
    Setting("model_type", None, str, "Model family, one of "
            "modeling.MODEL_TYPES (bert, albert, ...); inferred when not "
            "given.", features=NONE),
    Setting("electra_size", None, ("small", "base", "large"), "Google's "
            "ELECTRA releases ship no config: build the published "
            "small/base/large one (vocab_size from the vocab).", features=NONE),
    Setting("do_lower_case", True, bool, "Lower-case input text (default: "
            "true, or what the run directory was trained with).", features=KEY),
    Setting("skip_case_check", False, bool, "Skip Google's check that "
            "--do_lower_case matches a Google model's folder name (for a "
            "renamed folder).", features=NONE),
    Setting("max_seq_length", 128, int, "Longest input in WordPieces, "
            "[CLS]/[SEP] included (default: as below, or what the run "
            "directory was trained with). Classification truncates longer inputs "
            "(pairs from the longer side); NER cuts long sentences into "
            "overlapping windows.", features=KEY, valid=AT_LEAST_3),
    Setting("do_train", False, bool, "Train (resumes when output_dir holds "
            "the same run).", features=NONE),
    Setting("do_eval", False, bool, "Evaluate on dev: eval_results.txt.",
            features=NONE),
    Setting("do_predict", False, bool, "Predict the test split.",
            features=NONE),
    Setting("max_train_samples", None, int, "Debugging: train on the first "
            "N training examples only (default: all). In the feature-cache "
            "key.", features=KEY, valid=AT_LEAST_1),
    Setting("max_eval_samples", None, int, "Debugging: evaluate on the "
            "first N dev examples only (default: all). In the feature-cache "
            "key.", features=KEY, valid=AT_LEAST_1),
    Setting("max_predict_samples", None, int, "Debugging: predict the first "
            "N test examples only (default: all). In the feature-cache key.",
            features=KEY, valid=AT_LEAST_1),
    Setting("cache_dir", None, str, "Feature files (default "
            "output_dir/features).", features=NONE),
    Setting("overwrite_output_dir", False, bool, "Train from scratch in an "
            "output_dir that holds another run (its checkpoints and results "
            "are deleted).", features=NONE),
    Setting("allow_partial_restore", False, bool, "Accept a checkpoint with "
            "more encoder layers than the config (the extra layers are not "
            "used).", features=NONE),
)

TRAIN_SETTINGS = (
    Setting("train_batch_size", 32, int, "Examples per micro-batch.",
            features=NONE, valid=AT_LEAST_1),
    Setting("eval_batch_size", 32, int, "Examples per eval batch.",
            features=NONE, valid=AT_LEAST_1),
    Setting("predict_batch_size", 32, int, "Examples per predict batch.",
            features=NONE, valid=AT_LEAST_1),
    Setting("learning_rate", 5e-5, float, "Peak learning rate (Adam).",
            features=NONE, valid=LEARNING_RATE),
    Setting("num_train_epochs", 3.0, float, "Epochs to train.",
            features=NONE, valid=POSITIVE),
    Setting("num_train_steps", None, int, "Micro-batches to train (wins "
            "over --num_train_epochs; run_pretraining.py's way).",
            features=NONE, valid=AT_LEAST_1),
    Setting("warmup_proportion", 0.1, float, "Share of steps for warm-up.",
            features=NONE, valid=UNIT),
    Setting("num_warmup_steps", None, int, "Warm-up micro-batches (wins "
            "over --warmup_proportion).", features=NONE, valid=AT_LEAST_0),
    Setting("optimizer", "adamw", ("adamw", "lamb"), "adamw: "
            "AdamWeightDecay; lamb: LAMB (layer-wise trust ratio, for large "
            "batches).", features=NONE),
    Setting("weight_decay_rate", 0.01, float, "Decoupled weight decay.",
            features=NONE, valid=UNIT),
    Setting("gradient_accumulation_steps", 1, int, "Micro-batches per "
            "optimizer update.", features=NONE, valid=AT_LEAST_1),
    Setting("layerwise_lr_decay", None, float, "Layer i of L trains at "
            "lr * decay**(L-i); embeddings at decay**(L+1). In (0, 1].",
            features=NONE, valid=OPEN_UNIT),
    Setting("freeze_embeddings", False, bool, "Do not train embeddings.",
            features=NONE),
    Setting("trainable_layers", None, int, "Train only the top N encoder "
            "layers (plus pooler and head).", features=NONE, valid=AT_LEAST_0),
    Setting("freeze_encoder", False, bool, "Train only the task head.",
            features=NONE),
    Setting("freeze", None, str, "Regex: freeze matching variables.",
            features=NONE),
    Setting("class_weights", None, str, "Weight the training loss per "
            "label: 'balanced' (n / (k * count)) or one number per label in "
            "label order, e.g. 1,4 (classification, NER softmax head).",
            features=NONE),
    Setting("focal_loss_gamma", 0.0, float, "> 0: focal loss, each item's "
            "loss times (1 - p)^gamma (classification, NER softmax head).",
            features=NONE, valid=NOT_NEGATIVE),
    Setting("seed", None, int, "Random seed (graph and data order).",
            features=NONE),
    Setting("dynamic_padding", True, bool, "Group training batches by length, "
            "each padded to its longest; false pads every batch to "
            "max_seq_length (Google's way).",
            features=NONE),
    Setting("pack_sequences", False, bool, "Pack each training batch's "
            "examples (in shuffled order) into a few rows (block-diagonal "
            "attention, positions restarting per example). Evaluation and "
            "prediction are not packed.", features=NONE),
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
            "replicas (a parameter_server update is one such batch).",
            features=NONE),
    Setting("num_gpus", None, int, "mirrored: replicas (default: every "
            "GPU; without a GPU, this many logical CPU devices, for "
            "testing).", features=NONE, valid=AT_LEAST_0),
    Setting("use_xla", False, bool, "XLA JIT compilation of the training "
            "and evaluation graphs (auto-clustering, CPU and GPU).",
            features=NONE),
    Setting("use_amp", False, bool, "Automatic mixed precision of "
            "training: on a GPU, the float16 graph rewrite with dynamic loss "
            "scaling; on a CPU with AMX (amx_bf16), the matmuls in bfloat16, "
            "weights and everything else float32. Elsewhere it says so and "
            "changes nothing.", features=NONE),
    Setting("save_checkpoints_steps", 1000, int, "Checkpoint interval.",
            features=NONE, valid=AT_LEAST_1),
    Setting("keep_checkpoint_max", 3, int, "Checkpoints to keep.",
            features=NONE, valid=AT_LEAST_0),
    Setting("eval_every_steps", None, int, "Evaluate on dev every N steps "
            "during training and keep the best checkpoint in "
            "output_dir/best.", features=NONE, valid=AT_LEAST_1),
    Setting("best_metric", None, str, "Metric that picks the best "
            "checkpoint (classifier: accuracy or macro_f1; NER: f1, "
            "precision or recall; default: the first).", features=NONE),
    Setting("early_stopping_patience", None, int, "Stop after N "
            "evaluations without a better best_metric.",
            features=NONE, valid=AT_LEAST_1),
    Setting("log_every_seconds", 10.0, float, "Progress line interval.",
            features=NONE, valid=NOT_NEGATIVE),
    Setting("num_threads", 0, int, "TF threads (0: all cores).",
            features=NONE, valid=AT_LEAST_0),
)

# Each run script's own settings, beside the shared tables above: the
# scripts' flags and the studio's form are both made from these rows. A
# `task` row's help names no data set: the script adds the names from the
# data set tables (bert_toolkit.data).
CLASSIFIER_SETTINGS = (
    Setting("task", None, str, "The data set.", features=KEY),
    Setting("task_name", None, str, "Alias of --task (Google's name).",
            features=KEY),
    Setting("text_a_column", None, str, "Generic tasks: text_a column "
            "(name, or 0-based number for header-less files).", features=KEY),
    Setting("text_b_column", None, str, "Generic tasks: text_b column.",
            features=KEY),
    Setting("label_column", None, str, "Generic tasks: label column.",
            features=KEY),
    Setting("truncation", None, ("head", "tail", "head_tail"), "Which "
            "WordPieces of a single text longer than max_seq_length are "
            "kept: head (Google's; the default), tail, or head_tail (the "
            "first 128/510 and the last 382/510 of the room). Kept with the "
            "run.", features=KEY),
    Setting("long_text", None, ("truncate", "windows"), "truncate (the "
            "default: cut by --truncation) or windows: a text longer than "
            "max_seq_length becomes overlapping windows whose logits are "
            "pooled, in training, evaluation, prediction and serving. Kept "
            "with the run.", features=KEY),
    Setting("window_stride", None, int, "--long_text=windows: WordPieces "
            "between window starts (default: half a window).",
            features=KEY, valid=AT_LEAST_0),
    Setting("window_pooling", None, ("mean", "max"), "--long_text=windows: "
            "how a text's logits come from its windows' (default mean; max "
            "per label).", features=NONE),
    Setting("multi_label", None, bool, "Several labels per example "
            "(--task=tsv/csv/jsonl): sigmoid outputs, binary cross-entropy. "
            "Kept with the run.", features=KEY),
    Setting("label_separator", None, str, "What joins an example's labels "
            "in the label column (default ','; JSON lines may hold a "
            "list).", features=KEY),
    Setting("google_output_format", False, bool, "Write test_results.tsv as "
            "google-research/bert does: no header, one line of "
            "tab-separated label probabilities per example.", features=NONE),
)

NER_SETTINGS = (
    Setting("task", None, str, "The data set (bio: two-column files "
            "train/dev/test.{txt,bio,tsv}).", features=KEY),
    Setting("task_name", None, str, "Alias of --task (the name the BERT-NER "
            "scripts use).", features=KEY),
    Setting("window_stride", None, int, "WordPieces between the starts of a "
            "long sentence's windows (default: half of max_seq_length - "
            "2).", features=KEY, valid=AT_LEAST_0),
    Setting("crf", False, bool, "CRF head (in-graph Viterbi) instead of the "
            "token softmax.", features=NONE),
    Setting("crf_learning_rate", None, float, "Learning rate of the CRF "
            "transitions (default: --learning_rate); warm-up and decay apply "
            "to it too.", features=NONE, valid=LEARNING_RATE),
    Setting("lstm_size", 0, int, "> 0: BiLSTM of this many units each way "
            "between encoder and head (BiLSTM-CRF with --crf).",
            features=NONE, valid=AT_LEAST_0),
    Setting("scheme", "BIO", ("BIO", "BIOES"), "Tag scheme the model is "
            "trained on (data is converted).", features=KEY),
    Setting("label_x", False, bool, "Train non-first WordPieces as an extra "
            "'X' label (kyzhouhzau/BERT-NER's scheme) instead of ignoring "
            "them.", features=KEY),
    Setting("word_units", False, bool, "bio task: units are words joined by "
            "spaces (English); default: characters (Chinese).", features=KEY),
)

DISTILL_SETTINGS = (
    Setting("teacher_dir", None, str, "The teacher: --output_dir of a "
            "run_classifier.py / run_ner.py training run.", features=FILE),
    Setting("student_layers", None, str, "Teacher layers the student keeps, "
            "e.g. 0,2,4 (instead of --init_checkpoint).", features=NONE),
    Setting("alpha", 0.5, float, "Weight of the hard-label loss; the soft "
            "(teacher) loss gets 1 - alpha. 1.0 with no intermediate losses "
            "is plain fine-tuning of the student.", features=NONE, valid=UNIT),
    Setting("temperature", 2.0, float, "Softmax temperature T of the soft "
            "loss (KL(teacher || student) on logits / T, times T^2).",
            features=NONE, valid=POSITIVE),
    Setting("hidden_loss_weight", 0.0, float, "TinyBERT hidden-state MSE "
            "between mapped layers.", features=NONE, valid=NOT_NEGATIVE),
    Setting("attention_loss_weight", 0.0, float, "TinyBERT attention-score "
            "MSE between mapped layers.", features=NONE, valid=NOT_NEGATIVE),
    Setting("layer_map", None, str, "student:teacher layer pairs, e.g. "
            "0:1,1:3,2:5 (default: uniform, or --student_layers).",
            features=NONE),
    Setting("unlabeled_file", None, str, "Extra raw text, one example a line "
            "('text_a ||| text_b' for pairs), labelled by the teacher.",
            features=FILE),
    Setting("task", None, str, "Default: the teacher's task (another data "
            "set of the same format may be named).", features=KEY),
    Setting("text_a_column", None, str, "Generic classification tasks.",
            features=KEY),
    Setting("text_b_column", None, str, "Generic classification tasks.",
            features=KEY),
    Setting("label_column", None, str, "Generic classification tasks.",
            features=KEY),
)

# run_squad.py's own settings: google-research/bert's run_squad.py flags
# (its names and defaults) and the reading style (Google's, or HFL's CMRC
# 2018 baseline).
SQUAD_STYLES = ("google", "hfl_cmrc")
SQUAD_SETTINGS = (
    Setting("train_file", None, str, "SQuAD json for training (Google's "
            "--train_file).", features=FILE),
    Setting("predict_file", None, str, "SQuAD json to predict (and score, "
            "when it holds answers).", features=FILE),
    Setting("squad_style", None, SQUAD_STYLES, "google: Google's run_squad.py "
            "reading, features and answers; hfl_cmrc: HFL's CMRC 2018 "
            "baseline (each CJK character a word, answers only from the "
            "context, per-window log-softmax ranking). Default: the run's, "
            "else google.", features=KEY),
    Setting("doc_stride", 128, int, "Tokens between the starts of a long "
            "context's windows.", features=KEY, valid=AT_LEAST_1),
    Setting("max_query_length", 64, int, "Question tokens kept (longer "
            "questions are cut).", features=KEY, valid=AT_LEAST_1),
    Setting("n_best_size", 20, int, "Candidate answers kept per question "
            "(nbest_predictions.json).", features=NONE, valid=AT_LEAST_1),
    Setting("max_answer_length", 30, int, "Longest answer in WordPieces.",
            features=NONE, valid=AT_LEAST_1),
    Setting("version_2_with_negative", False, bool, "SQuAD 2.0: questions "
            "may have no answer (is_impossible); writes null_odds.json.",
            features=KEY),
    Setting("null_score_diff_threshold", 0.0, float, "SQuAD 2.0: predict no "
            "answer when null score - best span score exceeds this.",
            features=NONE),
    Setting("verbose_logging", False, bool, "Log the answers that cannot be "
            "mapped back to the context.", features=NONE),
)

# How raw text becomes masked-LM examples: create_pretraining_data.py's
# flags (google-research/bert's names and defaults, and the additions listed
# in that script), and the subset run_pretraining.py takes with --data_dir
# (PRETRAINING_TEXT_IN_RUN). `features` says what a value does to the
# examples made (KEY: they change with it).
WORD_SEGMENTATIONS = ("none", "spaces", "wordlist", "jieba")
PRETRAINING_TEXT_SETTINGS = (
    Setting("max_predictions_per_seq", 20, int, "Maximum masked LM "
            "predictions per sequence.", features=KEY, valid=AT_LEAST_1),
    Setting("random_seed", 12345, int, "Random seed of the masks and the "
            "random next sentences.", features=KEY),
    Setting("dupe_factor", 10, int, "Times to duplicate the input data "
            "(with different masks).", features=KEY, valid=AT_LEAST_1),
    Setting("masked_lm_prob", 0.15, float, "Masked LM probability.",
            features=KEY, valid=Range(0.0, 1.0, True, True)),
    Setting("short_seq_prob", 0.1, float, "Probability of a shorter target "
            "sequence.", features=KEY, valid=UNIT),
    Setting("do_whole_word_mask", False, bool, "Mask whole words: WordPiece "
            "words, or the words of --word_segmentation.", features=KEY),
    Setting("word_segmentation", "none", WORD_SEGMENTATIONS, "Words for "
            "whole-word masking of Chinese: spaces (pre-segmented corpus), "
            "wordlist (--word_list, forward maximum matching), jieba "
            "(optional package).", features=KEY),
    Setting("word_list", None, str, "One word a line, for "
            "--word_segmentation=wordlist.", features=FILE),
    Setting("sop", False, bool, "ALBERT's sentence-order prediction instead "
            "of next sentence prediction.", features=KEY),
    Setting("max_ngram", 1, int, "ALBERT's n-gram masking: spans of up to N "
            "whole words (3 in ALBERT); 1 masks words alone.", features=KEY,
            valid=AT_LEAST_1),
)
PRETRAINING_TEXT_SETTINGS_NAMES = tuple(
    row.name for row in PRETRAINING_TEXT_SETTINGS)
PRETRAINING_TEXT_IN_RUN = ("random_seed", "dupe_factor", "masked_lm_prob",
                           "short_seq_prob", "do_whole_word_mask",
                           "word_segmentation", "word_list", "sop",
                           "max_ngram")

# run_pretraining.py's own settings: Google's flags, the additions, and the
# text-to-examples settings it applies to a --data_dir of raw text.
PRETRAINING_SETTINGS = (
    Setting("input_file", None, str, "Input TFRecord files of "
            "create_pretraining_data.py (comma list, globs); or give "
            "--data_dir.", features=FILE),
    Setting("eval_input_file", None, str, "Evaluation TFRecords (default: "
            "--input_file, as Google).", features=FILE),
    Setting("max_predictions_per_seq", None, int, "Masked LM predictions "
            "per sequence (default: read from the input files, or 20 when "
            "made from --data_dir; must match them).", features=KEY,
            valid=AT_LEAST_1),
    Setting("max_eval_steps", 100, int, "Evaluation batches.",
            features=NONE, valid=AT_LEAST_1),
    Setting("masked_lm_only", False, bool, "Train the masked LM alone, "
            "without the next-sentence head (e.g. domain-adaptive "
            "pre-training on single sentences).", features=NONE),
    Setting("dynamic_masking", False, bool, "Draw the masks again whenever "
            "an example is read (RoBERTa), instead of the stored ones.",
            features=NONE),
) + tuple(row for row in PRETRAINING_TEXT_SETTINGS
          if row.name in PRETRAINING_TEXT_IN_RUN)

# (split, the setting that keeps the first N examples of it): the others
# are not read into the run; None keeps them all.
SPLIT_LIMITS = (("train", "max_train_samples"), ("dev", "max_eval_samples"),
                ("test", "max_predict_samples"))

# Train settings a resumed run must keep: changing them would break the
# data position it resumes from (or the batches it already took).
RESUME_INVARIANT = ("train_batch_size", "gradient_accumulation_steps",
                    "seed", "dynamic_padding", "pack_sequences",
                    "max_train_samples")


def resume_values(run_settings, train):
  """{setting: value} of RESUME_INVARIANT, from the train settings or
  (the training subset) the run settings."""
  return {name: getattr(train, name) if hasattr(train, name)
          else getattr(run_settings, name) for name in RESUME_INVARIANT}


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
    """Raises SettingsError for a value that cannot work: out of its row's
    range, not finite, or not fitting another setting."""
    check_values(TRAIN_SETTINGS, self.as_dict())
    if self.freeze:
      try:
        re.compile(self.freeze)
      except re.error as e:
        raise SettingsError("--freeze=%r is not a valid regular expression: "
                            "%s" % (self.freeze, e))
    from bert_toolkit import class_weights  # pylint: disable=g-import-not-at-top
    class_weights.parse(self.class_weights)
    if self.pack_sequences and not self.dynamic_padding:
      raise SettingsError("--pack_sequences packs batches instead of padding "
                          "them: drop --dynamic_padding=false")
    if self.early_stopping_patience and not self.eval_every_steps:
      raise SettingsError("--early_stopping_patience needs "
                          "--eval_every_steps (evaluations to count)")


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

  def split_limit(self, split):
    """The number of examples of `split` to keep (SPLIT_LIMITS), or None
    for all."""
    name = dict(SPLIT_LIMITS).get(split)
    return getattr(self, name) if name else None

  def first_examples(self, split, examples):
    """The examples of `split` the run reads: the first split_limit of
    them (every one when no limit is set)."""
    limit = self.split_limit(split)
    if limit is None or examples is None:
      return examples
    return list(examples)[:limit]

  @property
  def feature_dir(self):
    """Where feature files go: cache_dir, or output_dir/features."""
    return self.cache_dir or os.path.join(self.output_dir, "features")

"""Pre-training (masked LM + next sentence / sentence order): the task
run_pretraining.py plugs into the runner.

  Pretraining(input_files, max_predictions_per_seq=None, max_eval_steps=100,
              eval_input_files=None, dynamic_masking=False, seed=None)

Features are the TFRecords of create_pretraining_data.py (Google's names,
padded to max_seq_length / max_predictions_per_seq; both are read from the
first record when not given, and a given value must match it). The heads
are google-research/bert's (modeling.heads.masked_lm_output and
next_sentence_output: cls/predictions, cls/seq_relationship), so an
official checkpoint's heads are restored and trained on, not re-initialised;
ALBERT's transform is embedding_size wide, as google-research/albert's.
loss = masked_lm_loss + next_sentence_loss.

Evaluation is Google's: `max_eval_steps` batches of the input files
(`eval_input_files` when given), metrics masked_lm_accuracy,
masked_lm_loss (mean over real predictions), next_sentence_accuracy,
next_sentence_loss, plus loss and global_step; eval_results.txt is
"key = value" lines in key order, as Google's script writes it.

Dynamic masking (RoBERTa's): each time an example is read, its masked
positions are drawn again (as many as it has, among its real tokens other
than [CLS] / [SEP], 80% [MASK], 10% a random id, 10% kept).
"""

import contextlib
import glob

import tensorflow.compat.v1 as tf

from bert_toolkit.engine import distribution
from bert_toolkit.engine import task as task_lib
from bert_toolkit.errors import InputError
from bert_toolkit.errors import SettingsError
from bert_toolkit.runs import paths
from modeling import heads

FEATURES = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions",
            "masked_lm_ids", "masked_lm_weights", "next_sentence_labels")
METRICS = ("masked_lm_accuracy", "masked_lm_loss", "next_sentence_accuracy",
           "next_sentence_loss")


def input_files_of(patterns):
  """Comma-separated globs -> sorted files; InputError when none."""
  files = []
  for pattern in (patterns or "").split(","):
    if pattern.strip():
      files.extend(sorted(glob.glob(pattern.strip())))
  if not files:
    raise InputError(patterns or "--input_file", None,
                     "no pre-training TFRecord file matches",
                     "Pass --input_file (comma list or glob) of "
                     "create_pretraining_data.py outputs")
  return files


# Features per length: max_seq_length, max_predictions_per_seq, 1.
_SEQUENCE = ("input_ids", "input_mask", "segment_ids")
_PREDICTIONS = ("masked_lm_positions", "masked_lm_ids", "masked_lm_weights")
_FLOAT = ("masked_lm_weights",)
_REMAKE = "Make the file again with create_pretraining_data.py"


def example_shapes(path, record, where=""):
  """A serialized record -> (max_seq_length, max_predictions_per_seq).

  InputError naming `path` (and `where`, e.g. "record 7") unless it is a
  tf.Example with every feature of FEATURES, of the right type (int64;
  float for masked_lm_weights) and length (the three sequences equally
  long, the three masked-LM lists equally long, one next-sentence label).
  """
  try:
    feature = tf.train.Example.FromString(record).features.feature
  except Exception as e:  # pylint: disable=broad-except
    raise InputError(path, None, "%snot a tf.Example (%s)" % (where, e),
                     _REMAKE)
  missing = [n for n in FEATURES if n not in feature]
  if missing:
    raise InputError(path, None, "%srecords lack %s" % (
        where, ", ".join(missing)), _REMAKE)

  def length(name):
    kind = "float_list" if name in _FLOAT else "int64_list"
    if feature[name].WhichOneof("kind") not in (kind, None):
      raise InputError(path, None, "%s%s is not a %s feature" % (
          where, name, kind.split("_")[0]), _REMAKE)
    return len(getattr(feature[name], kind).value)

  seq = {length(n) for n in _SEQUENCE}
  predictions = {length(n) for n in _PREDICTIONS}
  if len(seq) > 1 or len(predictions) > 1 or (
      length("next_sentence_labels") != 1):
    raise InputError(path, None, "%sfeatures of unequal lengths (%s)" % (
        where, ", ".join("%s %d" % (n, length(n)) for n in FEATURES)),
                     _REMAKE)
  return seq.pop(), predictions.pop()


def record_shapes(path):
  """(max_seq_length, max_predictions_per_seq) of a file's first record;
  InputError naming the file when it is empty, unreadable or not
  pre-training data (example_shapes)."""
  try:
    record = next(tf.io.tf_record_iterator(path))
  except (StopIteration, tf.errors.OpError) as e:
    raise InputError(path, None, "not a readable pre-training TFRecord (%s)" %
                     (str(e).split("\n")[0] or "no record"), _REMAKE)
  return example_shapes(path, record)


def check_files(paths):
  """The shapes all of `paths` share (each file's first record), or an
  InputError naming the first file whose records differ from the first
  file's (data made with another --max_seq_length or
  --max_predictions_per_seq)."""
  shapes = record_shapes(paths[0])
  for path in paths[1:]:
    other = record_shapes(path)
    if other != shapes:
      raise InputError(
          path, None, "made with --max_seq_length=%d "
          "--max_predictions_per_seq=%d, but %s with %d and %d" % (
              other + (paths[0],) + shapes),
          "Pass files made with the same settings (make this one again "
          "with create_pretraining_data.py, or leave it out)")
  return shapes


def find_broken_file(paths, shapes):
  """The first (path, problem) among `paths` with a record that cannot be
  read (truncated or corrupt) or has other shapes than `shapes`; None when
  every record reads. Reads every record: for after a failure only."""
  for path in paths:
    index = 0
    try:
      for index, record in enumerate(tf.io.tf_record_iterator(path), 1):
        try:
          found = example_shapes(path, record, "record %d: " % index)
        except InputError as e:
          return path, str(e).split(": ", 1)[1]
        if None not in shapes and found != shapes:
          return path, ("record %d was made with --max_seq_length=%d "
                        "--max_predictions_per_seq=%d, the others with %d "
                        "and %d" % ((index,) + found + shapes))
    except tf.errors.OpError as e:
      return path, "truncated or corrupt after record %d (%s)" % (
          index, str(e).split("\n")[0][:120])
  return None


@contextlib.contextmanager
def reporting_broken_files(task):
  """Turns a DataLossError (a truncated or corrupt TFRecord) or a record
  that does not parse, met while training or evaluating, into an
  InputError naming the file (found by reading the task's files again)."""
  try:
    yield
  except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
    if isinstance(e, tf.errors.InvalidArgumentError) and (
        "parse serialized Example" not in str(e)):
      raise
    files = list(dict.fromkeys(task.input_files + task.eval_input_files))
    broken = find_broken_file(files, (task.max_seq_length,
                                      task.max_predictions_per_seq))
    if broken is None:
      raise
    raise InputError(broken[0], None, broken[1],
                     "Make the file again with create_pretraining_data.py, "
                     "or leave it out of --input_file / --eval_input_file")


def records_of_text_folder(settings, values, log=tf.logging.info):
  """The TFRecords of `settings.data_dir`, a folder of raw text
  ({"train": path, "dev": path or None}; pretraining_data.text_records),
  made with the vocab and casing of the model the run starts from
  (--init_checkpoint's folder, or --vocab_file) and the run's
  --max_seq_length (default 128), in the run's feature cache. `values`:
  {setting: value} of settings.PRETRAINING_TEXT_SETTINGS."""
  import modeling  # pylint: disable=g-import-not-at-top
  from bert_toolkit import settings as settings_lib  # pylint: disable=g-import-not-at-top
  from bert_toolkit.data import pretraining_data  # pylint: disable=g-import-not-at-top
  from tokenization import full  # pylint: disable=g-import-not-at-top
  paths.check_writes(
      [paths.output_folder("--output_dir", settings.output_dir),
       paths.output_folder("--cache_dir", settings.cache_dir)],
      [paths.input_path("--data_dir", settings.data_dir),
       paths.input_path("--word_list", values.get("word_list"))])
  files = modeling.find_pretrained(
      settings.init_checkpoint, settings.bert_config_file,
      settings.vocab_file, settings.model_type, settings.electra_size)
  do_lower_case = settings.do_lower_case
  if do_lower_case is None:
    do_lower_case = full.model_do_lower_case(files.config, True)
  max_seq_length = settings.max_seq_length or settings_lib.defaults(
      settings_lib.RUN_SETTINGS)["max_seq_length"]
  return pretraining_data.text_records(
      settings.data_dir, settings.feature_dir, files.vocab_file,
      do_lower_case, max_seq_length, values, log=log)


class Pretraining(task_lib.Task):
  """Masked LM + next-sentence (or sentence-order) pre-training."""

  kind = "pretraining"
  name = "pretraining"
  best_metrics = ("masked_lm_accuracy",)
  needs_data_dir = False
  requires_init_checkpoint = False
  evaluates_init_checkpoint = True
  HEAD_DEFAULTS = (("max_predictions_per_seq", 20),)
  vocab_tokens = ("[MASK]",)             # dynamic masking writes it

  def describe_loss(self):
    return "pre-training (masked LM and next-sentence losses)"

  def __init__(self, input_files, max_predictions_per_seq=None,
               max_eval_steps=100, eval_input_files=None,
               dynamic_masking=False, seed=None, next_sentence=True,
               records_from_text=False):
    """Args:
      input_files: the training TFRecord files.
      max_predictions_per_seq: None: read from the files.
      max_eval_steps: evaluation batches.
      eval_input_files: evaluation files (default: input_files, as Google).
      dynamic_masking: re-draw the masks whenever an example is read.
      seed: data order and dynamic masks.
      next_sentence: False trains the masked LM alone (no
        cls/seq_relationship head, no next_sentence_* metrics), e.g. for
        domain-adaptive pre-training on single sentences.
    """
    super(Pretraining, self).__init__()
    self.input_files = list(input_files)
    self.eval_input_files = list(eval_input_files or input_files)
    self.max_predictions_per_seq = max_predictions_per_seq
    self.max_eval_steps = max_eval_steps
    self.dynamic_masking = dynamic_masking
    self.seed = seed
    self.next_sentence = next_sentence
    self.records_from_text = records_from_text
    self.max_seq_length = None
    self.special_ids = None        # [CLS], [SEP], [MASK] ids and vocab size

  def read_paths(self, settings):
    del settings
    if self.records_from_text:
      return []
    return ([paths.input_path("--input_file", f) for f in self.input_files] +
            [paths.input_path("--eval_input_file", f)
             for f in self.eval_input_files])

  def validate(self, settings):
    if settings.do_predict:
      raise SettingsError("run_pretraining.py has no --do_predict")
    if self.max_eval_steps < 1:
      raise SettingsError("--max_eval_steps must be at least 1")
    seq, predictions = check_files(
        list(dict.fromkeys(self.input_files + self.eval_input_files)))
    if settings.max_seq_length is not None and (
        settings.max_seq_length != seq):
      raise SettingsError(
          "%s was made with --max_seq_length=%d, this run asks for %d: pass "
          "--max_seq_length=%d (or leave it out)" % (
              self.input_files[0], seq, settings.max_seq_length, seq))
    if self.max_predictions_per_seq is not None and (
        self.max_predictions_per_seq != predictions):
      raise SettingsError(
          "%s was made with --max_predictions_per_seq=%d, this run asks for "
          "%d: pass --max_predictions_per_seq=%d (or leave it out)" % (
              self.input_files[0], predictions, self.max_predictions_per_seq,
              predictions))
    self.max_predictions_per_seq = predictions
    self.max_seq_length = seq
    if settings.max_seq_length is None:
      settings.max_seq_length = seq

  # ----------------------------------------------------- data, features ---

  def read_labels(self, data_dir, train_examples):
    return []

  def read_split(self, data_dir, split, labels=None):
    return None

  def prebuilt_features(self, split):
    return self.input_files if split == "train" else self.eval_input_files

  def prepare(self, tokenizer, config):
    """Ids dynamic masking needs (the runner calls this before training)."""
    ids = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]", "[MASK]"])
    self.special_ids = tuple(ids) + (config.vocab_size,)

  def input_fn(self, run, data, batch_size, is_training, start_step=0):
    """Google's input: fixed-length records, shuffled file order and a
    100-record buffer when training, batches of batch_size (the last
    partial batch dropped, as Google), resume skips the batches done; under
    a distribution strategy each replica takes its slice of each batch."""
    seq = run.max_seq_length
    k = self.max_predictions_per_seq
    spec = {
        "input_ids": tf.io.FixedLenFeature([seq], tf.int64),
        "input_mask": tf.io.FixedLenFeature([seq], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([seq], tf.int64),
        "masked_lm_positions": tf.io.FixedLenFeature([k], tf.int64),
        "masked_lm_ids": tf.io.FixedLenFeature([k], tf.int64),
        "masked_lm_weights": tf.io.FixedLenFeature([k], tf.float32),
        "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
    }
    files = list(data.cached.path)
    seed = 12345 if self.seed is None else self.seed
    remask = self.dynamic_masking and is_training

    def parse(record):
      example = tf.io.parse_single_example(record, spec)
      out = {name: (tf.cast(value, tf.int32) if value.dtype == tf.int64
                    else value) for name, value in example.items()}
      if remask:
        out = _remask(out, self.special_ids)
      return out

    def input_fn(params=None, input_context=None):
      del params
      if is_training:
        d = tf.data.Dataset.from_tensor_slices(tf.constant(files))
        d = d.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
        d = d.repeat()
        d = d.interleave(tf.data.TFRecordDataset,
                         cycle_length=min(4, len(files)),
                         num_parallel_calls=None)
        d = d.shuffle(100, seed=seed)
      else:
        d = tf.data.TFRecordDataset(files).repeat()
      d = d.map(parse).batch(batch_size, drop_remainder=True)
      if is_training and start_step:
        d = d.skip(start_step)
      if is_training:  # this replica's slice of the global batch
        d = distribution.split_batches(d, run.plan.replicas, input_context)
      return d.prefetch(2)

    return input_fn

  # --------------------------------------------------------------- head ---

  def head(self, model, features, context):
    config = context.config
    transform_width = (getattr(config, "embedding_size", None)
                       if context.model_type == "albert" else None)
    masked_lm_loss, masked_lm_example_loss, masked_lm_log_probs = (
        heads.masked_lm_output(
            config, model.get_sequence_output(), model.get_embedding_table(),
            features["masked_lm_positions"], features["masked_lm_ids"],
            features["masked_lm_weights"], transform_width))
    predictions = {"masked_lm_log_probs": masked_lm_log_probs}
    loss = masked_lm_loss
    next_example_loss = next_log_probs = None
    if self.next_sentence:
      next_loss, next_example_loss, next_log_probs = (
          heads.next_sentence_output(config, model.get_pooled_output(),
                                     features["next_sentence_labels"]))
      loss += next_loss
      predictions["next_sentence_log_probs"] = next_log_probs
    metric_ops = None
    if context.mode == tf.estimator.ModeKeys.EVAL:
      metric_ops = _metric_ops(masked_lm_example_loss, masked_lm_log_probs,
                               features["masked_lm_ids"],
                               features["masked_lm_weights"],
                               next_example_loss, next_log_probs,
                               features["next_sentence_labels"])
    return task_lib.HeadOutput(predictions, loss=loss,
                               eval_metric_ops=metric_ops)

  # ----------------------------------------------------- score and write ---

  def evaluate(self, run, data, checkpoint=None, name=None):
    return run.estimator.evaluate(
        self.input_fn(run, data, run.train.eval_batch_size, False),
        steps=self.max_eval_steps, checkpoint_path=checkpoint, name=name)

  def eval_report(self, scores, checkpoint, data):
    """Google's eval_results.txt: `key = value` in key order."""
    return "".join("%s = %s\n" % (key, str(scores[key]))
                   for key in sorted(scores))

  def eval_results(self, scores):
    return {k: (int(v) if k == "global_step" else float(v))
            for k, v in scores.items()}

  def predict(self, run, data, checkpoint):
    raise SettingsError("run_pretraining.py has no --do_predict")


def _metric_ops(masked_lm_example_loss, masked_lm_log_probs, masked_lm_ids,
                masked_lm_weights, next_example_loss, next_log_probs,
                next_labels):
  """Google's metric_fn of run_pretraining.py."""
  masked_lm_predictions = tf.argmax(masked_lm_log_probs, axis=-1,
                                    output_type=tf.int32)
  masked_lm_ids = tf.reshape(masked_lm_ids, [-1])
  masked_lm_weights = tf.reshape(masked_lm_weights, [-1])
  ops = {
      "masked_lm_accuracy": tf.metrics.accuracy(
          labels=masked_lm_ids, predictions=masked_lm_predictions,
          weights=masked_lm_weights),
      "masked_lm_loss": tf.metrics.mean(
          values=tf.reshape(masked_lm_example_loss, [-1]),
          weights=masked_lm_weights),
  }
  if next_log_probs is not None:
    next_predictions = tf.argmax(next_log_probs, axis=-1,
                                 output_type=tf.int32)
    ops["next_sentence_accuracy"] = tf.metrics.accuracy(
        labels=tf.reshape(next_labels, [-1]), predictions=next_predictions)
    ops["next_sentence_loss"] = tf.metrics.mean(values=next_example_loss)
  return ops


def _remask(example, special_ids):
  """Draws an example's masked positions again (see the module docstring).

  The original ids come back from the stored masks (masked_lm_ids at the
  real masked_lm_positions); as many positions as the example had are
  drawn among its real tokens other than [CLS] and [SEP].
  """
  cls_id, sep_id, mask_id, vocab_size = special_ids
  ids = example["input_ids"]                                     # [seq]
  positions = example["masked_lm_positions"]                     # [k]
  real = example["masked_lm_weights"] > 0                        # [k]
  k = tf.shape(positions)[0]
  original = tf.tensor_scatter_nd_update(
      ids, tf.expand_dims(tf.boolean_mask(positions, real), -1),
      tf.boolean_mask(example["masked_lm_ids"], real))
  candidate = ((example["input_mask"] > 0) &
               tf.not_equal(original, cls_id) &
               tf.not_equal(original, sep_id))                   # [seq]
  # Candidates score in [1, 2), the rest in [0, 1): the top `count` of
  # k draws are random candidates.
  noise = tf.random.uniform(tf.shape(ids)) + tf.cast(candidate, tf.float32)
  top = tf.math.top_k(noise, k=k).indices                        # [k]
  keep = tf.range(k) < tf.reduce_sum(tf.cast(real, tf.int32))   # [k]
  chosen = tf.where(keep, top, tf.zeros_like(top))
  true_ids = tf.gather(original, chosen)
  dice = tf.random.uniform([k])
  new_ids = tf.where(dice < 0.8, tf.fill([k], mask_id), tf.where(
      dice < 0.9, tf.random.uniform([k], 0, vocab_size, dtype=tf.int32),
      true_ids))
  out = dict(example)
  out["input_ids"] = tf.tensor_scatter_nd_update(
      original, tf.expand_dims(tf.boolean_mask(chosen, keep), -1),
      tf.boolean_mask(new_ids, keep))
  out["masked_lm_positions"] = chosen
  out["masked_lm_ids"] = tf.where(keep, true_ids, tf.zeros_like(true_ids))
  out["masked_lm_weights"] = tf.cast(keep, tf.float32)
  return out


TASK_CLASS = Pretraining

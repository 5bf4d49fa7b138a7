"""Estimator plumbing shared by every task: settings, model_fn pieces, hooks,
the train/evaluate loop with best-checkpoint keeping, and resume.

Tasks (classifier, tagger) supply a `head_fn` that maps the encoder to a loss
and predictions; everything else (restore report, freezing, optimiser,
progress, checkpoints, resume) lives here once.
"""

import glob
import json
import os
import re
import shutil

import tensorflow.compat.v1 as tf

import modeling
import tokenization
from finetuning import metrics
from finetuning import optimization
from finetuning.progress import Progress


class TrainSettings(object):
  """Plain settings of a fine-tuning run (scripts fill it from flags)."""

  def __init__(self, **kwargs):
    self.learning_rate = 5e-5
    self.num_train_epochs = 3.0
    self.warmup_proportion = 0.1
    self.train_batch_size = 32
    self.eval_batch_size = 32
    self.predict_batch_size = 32
    self.weight_decay_rate = 0.01
    self.gradient_accumulation_steps = 1
    self.layerwise_lr_decay = None
    self.freeze_embeddings = False
    self.trainable_layers = None
    self.freeze_encoder = False
    self.freeze = None
    self.head_lr_multipliers = {}      # variable-name regex -> factor
    self.seed = None
    self.save_checkpoints_steps = 1000
    self.keep_checkpoint_max = 3
    self.eval_every_steps = None       # None: evaluate once at the end
    self.early_stopping_patience = None
    self.best_metric = "accuracy"
    self.dynamic_padding = True
    self.log_every_seconds = 10.0
    self.num_threads = 0
    for key, value in kwargs.items():
      if not hasattr(self, key):
        raise TypeError("unknown setting %r" % key)
      setattr(self, key, value)


class RunSettings(object):
  """What every run script hands its library call (classifier, NER).

  Attributes: task, data_dir, output_dir, pretrained
  (modeling.PretrainedFiles), train (TrainSettings), do_lower_case,
  max_seq_length, do_train, do_eval, do_predict, cache_dir (feature files,
  default output_dir/features).
  """

  def __init__(self, task, data_dir, output_dir, pretrained, train,
               do_lower_case=True, max_seq_length=128, do_train=False,
               do_eval=False, do_predict=False, cache_dir=None):
    self.task = task
    self.data_dir = data_dir
    self.output_dir = output_dir
    self.pretrained = pretrained
    self.train = train
    self.do_lower_case = do_lower_case
    self.max_seq_length = max_seq_length
    self.do_train = do_train
    self.do_eval = do_eval
    self.do_predict = do_predict
    self.cache_dir = cache_dir or os.path.join(output_dir, "features")


# ----------------------------------------------------------- model_fn ---

def encoder_from_features(model_type, config, features, is_training):
  """Builds the encoder on a features dict (input_ids, input_mask, ...)."""
  return modeling.build_model(
      model_type, config, is_training, features["input_ids"],
      features["input_mask"], features.get("segment_ids"))


def restore_and_select(model_type, config, init_checkpoint, settings,
                       config_file=None):
  """Restores the encoder (with its report) and picks the trainable vars.

  Returns:
    (trainable variables, lr multipliers dict).
  """
  scope = modeling.encoder_scope(model_type)
  if init_checkpoint:
    modeling.init_from_checkpoint(init_checkpoint, scope,
                                  config_file=config_file)
  num_layers = config.num_hidden_layers
  trainable, frozen = optimization.select_trainable(
      tf.trainable_variables(), scope, num_layers,
      freeze_embeddings=settings.freeze_embeddings,
      trainable_layers=settings.trainable_layers,
      freeze_encoder=settings.freeze_encoder,
      freeze_regex=settings.freeze)
  if frozen:
    tf.logging.info("Frozen: %d variables (%s%s); training %d", len(frozen),
                    ", ".join(v.op.name for v in frozen[:3]),
                    ", ..." if len(frozen) > 3 else "", len(trainable))
  multipliers = optimization.layerwise_lr_multipliers(
      trainable, scope, num_layers, settings.layerwise_lr_decay)
  for pattern, factor in settings.head_lr_multipliers.items():
    for var in trainable:
      if re.search(pattern, var.op.name):
        multipliers[var.op.name] = factor
  return trainable, multipliers


def train_op_for(loss, trainable, multipliers, settings, num_train_steps):
  """The optimiser step for `loss` with the run's schedule."""
  warmup = int(num_train_steps * settings.warmup_proportion)
  train_op, learning_rate = optimization.create_train_op(
      loss, settings.learning_rate, num_train_steps, warmup, trainable,
      weight_decay_rate=settings.weight_decay_rate,
      lr_multipliers=multipliers,
      accumulation_steps=settings.gradient_accumulation_steps)
  tf.summary.scalar("learning_rate", learning_rate)
  return train_op, learning_rate


def train_spec(loss, batch_size, trainable, multipliers, settings,
               num_train_steps):
  """The TRAIN EstimatorSpec every head returns: optimiser step + progress.

  Args:
    loss: scalar Tensor.
    batch_size: scalar Tensor, examples in the micro-batch (for progress).
    trainable, multipliers: from restore_and_select (a head may add its own
      multipliers first).
    settings: TrainSettings.
    num_train_steps: micro-batches of the whole run.
  """
  train_op, learning_rate = train_op_for(loss, trainable, multipliers,
                                         settings, num_train_steps)
  hook = ProgressHook(
      "train", {"batch_size": batch_size, "loss": loss, "lr": learning_rate},
      total_steps=num_train_steps, every_seconds=settings.log_every_seconds)
  return tf.estimator.EstimatorSpec(tf.estimator.ModeKeys.TRAIN, loss=loss,
                                    train_op=train_op, training_hooks=[hook])


# -------------------------------------------------------------- hooks ---

# name -> rates of the last finished loop of that name (Progress.rates()),
# read by the runners for run_results.json and the benchmarks.
RATES = {}


class ProgressHook(tf.train.SessionRunHook):
  """Logs step, steps/sec, examples/sec, ETA and the given tensors.

  `tensors` may hold "batch_size" (counted as examples) and any scalars to
  show (loss, learning rate). In training the step count starts from the
  restored global_step, so a resumed run shows its true position and ETA.
  """

  def __init__(self, name, tensors=None, total_steps=None,
               total_examples=None, every_seconds=10.0):
    self.name = name
    self.tensors = dict(tensors or {})
    self.total_steps = total_steps
    self.total_examples = total_examples
    self.every_seconds = every_seconds
    self.progress = None
    self._global_step = None

  def begin(self):
    self._global_step = tf.train.get_global_step()

  def after_create_session(self, session, coord):
    self._start = 0
    if self.total_steps and self._global_step is not None:
      self._start = int(session.run(self._global_step))

  def before_run(self, run_context):
    return tf.train.SessionRunArgs(self.tensors)

  def after_run(self, run_context, run_values):
    values = run_values.results
    batch = int(values.get("batch_size", 0))
    if self.progress is None:
      # The first step carries graph start-up (and a resumed run's skip
      # ahead in the data): the clock starts after it.
      self.progress = Progress(self.name, total_examples=self.total_examples,
                               total_steps=self.total_steps,
                               every_seconds=self.every_seconds,
                               start_step=self._start + 1)
      if self.total_examples:
        self.progress.total_examples = self.total_examples - batch
      self.progress.untimed_steps = 1
      self.progress.untimed_examples = batch
      return
    extra = ", ".join("%s %.4g" % (k, v) for k, v in sorted(values.items())
                      if k != "batch_size")
    self.progress.update(examples=batch, steps=1, extra=extra)

  def end(self, session):
    if self.progress is not None:
      self.progress.done()
      RATES[self.name] = self.progress.rates()


def batch_size_of(features):
  return tf.shape(features["input_ids"])[0]


# ----------------------------------------------------------- estimator ---

def make_estimator(model_fn, output_dir, settings):
  """A tf.estimator.Estimator saving checkpoints and summaries in output_dir."""
  session_config = tf.ConfigProto(
      intra_op_parallelism_threads=settings.num_threads,
      inter_op_parallelism_threads=settings.num_threads)
  run_config = tf.estimator.RunConfig(
      model_dir=output_dir,
      tf_random_seed=settings.seed,
      save_checkpoints_steps=settings.save_checkpoints_steps,
      keep_checkpoint_max=settings.keep_checkpoint_max,
      save_summary_steps=100,
      log_step_count_steps=10 ** 9,  # ProgressHook logs instead.
      session_config=session_config)
  return tf.estimator.Estimator(model_fn=model_fn, config=run_config)


def current_step(output_dir):
  """global_step of the newest checkpoint in output_dir (0 if none)."""
  latest = tf.train.latest_checkpoint(output_dir)
  if not latest:
    return 0
  return int(tf.train.load_variable(latest, "global_step"))


# ------------------------------------------------- train/eval with best ---

BEST_DIR = "best"


def _copy_checkpoint(prefix, target_dir):
  """Copies a checkpoint's files into target_dir (replacing its content)."""
  tmp = target_dir + ".tmp"
  if os.path.exists(tmp):
    shutil.rmtree(tmp)
  os.makedirs(tmp)
  for path in glob.glob(prefix + ".*"):
    shutil.copy(path, tmp)
  name = os.path.basename(prefix)
  with open(os.path.join(tmp, "checkpoint"), "w") as f:
    f.write('model_checkpoint_path: "%s"\n' % name)
  if os.path.exists(target_dir):
    shutil.rmtree(target_dir)
  os.replace(tmp, target_dir)


def _load_best(output_dir):
  path = os.path.join(output_dir, BEST_DIR, "best.json")
  if os.path.isfile(path):
    with open(path) as f:
      return json.load(f)
  return None


def _scalars(results):
  return {k: v for k, v in metrics.numeric_results(results).items()
          if not isinstance(v, list)}


def train_and_evaluate(estimator, train_input_fn_at, num_train_steps,
                       settings, output_dir, evaluate_fn=None):
  """Trains to num_train_steps, evaluating every settings.eval_every_steps.

  Resumes from the newest checkpoint in output_dir (global step, optimiser
  state, and the data position: the input is skipped ahead by the batches
  already consumed). Keeps the checkpoint with the best
  `settings.best_metric` in output_dir/best/ and stops early after
  `settings.early_stopping_patience` evaluations without improvement.

  Args:
    estimator: the run's Estimator.
    train_input_fn_at: fn(start_step) -> training input_fn.
    num_train_steps: micro-batches to train in total.
    settings: TrainSettings.
    output_dir: the estimator's model_dir.
    evaluate_fn: fn() -> results dict (dev metrics), or None.

  Returns:
    dict with "global_step", "best" (or None) and "stopped_early".
  """
  step = current_step(output_dir)
  if step:
    tf.logging.info("Resuming from %s at step %d of %d",
                    tf.train.latest_checkpoint(output_dir), step,
                    num_train_steps)
  best = _load_best(output_dir)
  bad_evals = best.get("bad_evals", 0) if best else 0
  every = settings.eval_every_steps if evaluate_fn else None
  stopped_early = False
  while step < num_train_steps:
    target = min(step + every, num_train_steps) if every else num_train_steps
    estimator.train(train_input_fn_at(step), max_steps=target)
    step = current_step(output_dir)
    if not every:
      break
    results = evaluate_fn()
    value = float(results[settings.best_metric])
    if best is None or value > best["value"]:
      _copy_checkpoint(tf.train.latest_checkpoint(output_dir),
                       os.path.join(output_dir, BEST_DIR))
      best = {"metric": settings.best_metric, "value": value, "step": step,
              "results": _scalars(results), "bad_evals": 0}
      bad_evals = 0
      tf.logging.info("New best %s = %.4f at step %d", settings.best_metric,
                      value, step)
    else:
      bad_evals += 1
      best["bad_evals"] = bad_evals
    with open(os.path.join(output_dir, BEST_DIR, "best.json"), "w") as f:
      json.dump(best, f, indent=2)
    if (settings.early_stopping_patience and
        bad_evals >= settings.early_stopping_patience):
      tf.logging.info("Early stopping: no better %s in %d evaluations",
                      settings.best_metric, bad_evals)
      stopped_early = True
      break
  return {"global_step": step, "best": best, "stopped_early": stopped_early}


def fine_tuned_checkpoint(output_dir):
  """The checkpoint a run's results come from: best/ if kept, else newest.

  Raises:
    modeling.CheckpointError: the run directory holds no checkpoint.
  """
  best = tf.train.latest_checkpoint(os.path.join(output_dir, BEST_DIR))
  latest = best or tf.train.latest_checkpoint(output_dir)
  if not latest:
    raise modeling.CheckpointError(
        "no fine-tuned checkpoint in %s (nor in %s/%s): train first "
        "(--do_train)" % (output_dir, output_dir, BEST_DIR))
  return latest


def train_results(outcome):
  """run_results.json's "train" entry from train_and_evaluate's outcome."""
  return {"global_step": outcome["global_step"],
          "stopped_early": outcome["stopped_early"],
          "best": outcome["best"],
          "rates": RATES.get("train")}


def validate_run(pretrained, do_lower_case, max_seq_length, do_train,
                 do_eval, do_predict):
  """Checks every run makes before any work; raises a user error.

  The vocab must match the config's vocab_size, the case Google's model
  name implies, max_seq_length the position table; and there must be
  something to do.
  """
  tokenization.check_vocab_size(pretrained.vocab_file,
                                pretrained.config.vocab_size)
  try:
    tokenization.validate_case_matches_checkpoint(do_lower_case,
                                                  pretrained.checkpoint)
  except ValueError as e:  # Google's check raises ValueError: a user error.
    raise modeling.ConfigError(str(e))
  limit = pretrained.config.max_position_embeddings
  if max_seq_length > limit:
    raise modeling.ConfigError(
        "--max_seq_length=%d exceeds max_position_embeddings=%d of %s" %
        (max_seq_length, limit, pretrained.config_file))
  if not (do_train or do_eval or do_predict):
    raise modeling.ConfigError(
        "nothing to do: pass --do_train, --do_eval and/or --do_predict")


def num_steps(num_examples, batch_size, epochs):
  """Micro-batches for `epochs` passes over num_examples."""
  return max(int(num_examples / batch_size * epochs), 1)


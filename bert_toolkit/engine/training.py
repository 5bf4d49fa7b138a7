"""The training loop's pieces, used by the runner for every task.

  Trainer             TRAIN and EVAL EstimatorSpecs: restore with a report,
                      freezing, AdamWeightDecay with warm-up and decay,
                      progress hooks
  ProgressHook        step, steps/sec, examples/sec, ETA, loss, lr
  RunState            per-run counters the hooks fill (no module state)
  make_estimator      the Estimator and its RunConfig (the one place a
                      distribution strategy goes)
  train_and_evaluate  train to the last step, evaluating every N steps,
                      keeping the best checkpoint, stopping early; resumes

Resume rules (train_and_evaluate): the newest checkpoint in output_dir gives
the global step, the optimizer state and the data position (the training
input skips the batches already consumed). The evaluation state lives in
output_dir/best/best.json: the best value and step, the evaluations without
improvement, the last step evaluated and whether the run stopped early. A
run killed between a checkpoint and its evaluation evaluates that
checkpoint first when it resumes; a run that stopped early, or trained all
its steps, says it is finished and trains nothing more.
"""

import glob
import json
import os
import re
import shutil
import time

import numpy as np
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit.runs import atomic
from bert_toolkit.runs import curves
from bert_toolkit.engine import distribution
from bert_toolkit.hardware import cpu_flags
from bert_toolkit.data import encoding
from bert_toolkit.engine import optimization
from bert_toolkit.runs import run_info
from bert_toolkit.errors import SettingsError
from bert_toolkit.runs.progress import Progress
from modeling import heads as heads_lib

BEST_DIR = run_info.BEST_DIR


class RunState(object):
  """Counters of one run, filled while it runs.

  Attributes:
    totals: {"eval"/"predict": examples} for the progress ETAs.
    rates: {loop name: Progress.rates()} of finished loops.
    curves_path: where training appends its learning curves (curves.py),
      or None (a non-chief worker, or a caller that keeps none).
    eval_rows: a list to collect the next evaluation's per-example
      predictions in (dicts of the head's predictions and example_index,
      in the order evaluated), or None: a task that wants them sets it
      before estimator.evaluate, so they come from the evaluation's own
      pass (EvalRowsHook), not a second one.
  """

  def __init__(self, curves_path=None):
    self.totals = {}
    self.rates = {}
    self.curves_path = curves_path
    self.eval_rows = None


class EvalRowsHook(tf.train.SessionRunHook):
  """Fetches `tensors` ({name: [batch, ...] tensor}) with every evaluation
  step and appends one dict per example to `rows`."""

  def __init__(self, tensors, rows):
    self.tensors = tensors
    self.rows = rows

  def before_run(self, run_context):
    return tf.train.SessionRunArgs(self.tensors)

  def after_run(self, run_context, run_values):
    batch = run_values.results
    size = len(next(iter(batch.values())))
    self.rows.extend({name: values[i] for name, values in batch.items()}
                     for i in range(size))


# ------------------------------------------------------ model_fn specs ---

class Trainer(object):
  """Builds the TRAIN and EVAL EstimatorSpecs around a task's head."""

  def __init__(self, model_type, config, init_checkpoint, settings,
               num_train_steps, config_file=None, allow_partial_restore=False,
               state=None):
    """Args:
      model_type, config: the encoder.
      init_checkpoint: pre-trained checkpoint restored at the start of
        training (None: random weights, or resuming from output_dir).
      settings: settings.TrainSettings.
      num_train_steps: micro-batches of the whole run.
      config_file: named in restore errors.
      allow_partial_restore: accept a checkpoint with more encoder layers.
      state: RunState (progress totals and rates).
    """
    self.model_type = model_type
    self.config = config
    self.init_checkpoint = init_checkpoint
    self.settings = settings
    self.num_train_steps = num_train_steps
    self.config_file = config_file
    self.allow_partial_restore = allow_partial_restore
    self.state = state or RunState()

  def prepare_graph(self):
    """Called in a TRAIN graph before the model is built: activations of
    varying shape keep their gradient's slope from the forward pass
    (modeling.slopes_in_forward); with --use_amp on a CPU with AMX, the
    model's matmuls multiply in bfloat16."""
    modeling.slopes_in_forward()
    if amp_precision(self.settings) == BFLOAT16:
      modeling.bf16_matmuls()

  def eval_spec(self, out, features):
    hook = ProgressHook("evaluate", {"batch_size": batch_size_of(features)},
                        total_examples=self.state.totals.get("eval"),
                        every_seconds=self.settings.log_every_seconds,
                        state=self.state)
    hooks = [hook]
    if self.state.eval_rows is not None and "example_index" in features:
      tensors = {name: tensor for name, tensor in out.predictions.items()
                 if tensor.dtype != tf.string}
      tensors["example_index"] = features["example_index"]
      hooks.append(EvalRowsHook(tensors, self.state.eval_rows))
    return tf.estimator.EstimatorSpec(
        tf.estimator.ModeKeys.EVAL, loss=out.loss,
        eval_metric_ops=out.eval_metric_ops or {}, evaluation_hooks=hooks)

  def train_spec(self, out, features):
    """Restores the encoder, picks the trainable variables, steps the
    optimizer and logs progress."""
    trainable, multipliers = self.restore_and_select(out.frozen_scopes)
    settings = self.settings
    trainable_names = {v.op.name for v in trainable}
    multipliers.update({name: rate / settings.learning_rate
                        for name, rate in out.learning_rates.items()
                        if name in trainable_names})
    warmup = (settings.num_warmup_steps
              if settings.num_warmup_steps is not None
              else int(self.num_train_steps * settings.warmup_proportion))
    train_op, learning_rate = optimization.create_train_op(
        out.loss, settings.learning_rate, self.num_train_steps, warmup,
        trainable, weight_decay_rate=settings.weight_decay_rate,
        lr_multipliers=multipliers,
        accumulation_steps=settings.gradient_accumulation_steps,
        optimizer=settings.optimizer,
        loss_scaling=amp_precision(settings) == FLOAT16)
    tf.summary.scalar("learning_rate", learning_rate)
    # Under a strategy the Estimator sums the replicas' losses: each reports
    # its 1/replicas share, and the progress line the sum (the batch's).
    replicas = distribution.replicas_in_sync()
    loss = out.loss / float(replicas) if replicas > 1 else out.loss
    shown = heads_lib.replica_total(loss)[0] if replicas > 1 else loss
    hook = ProgressHook(
        "train", {"batch_size": batch_size_of(features), "loss": shown,
                  "lr": learning_rate},
        total_steps=self.num_train_steps,
        every_seconds=settings.log_every_seconds, state=self.state)
    hooks = [hook]
    if self.state.curves_path:
      hooks.append(CurveHook(self.state.curves_path, shown, learning_rate,
                             curves.every_steps_for(self.num_train_steps),
                             self.num_train_steps))
    return tf.estimator.EstimatorSpec(tf.estimator.ModeKeys.TRAIN,
                                      loss=loss, train_op=train_op,
                                      training_hooks=hooks)

  def restore_and_select(self, frozen_scopes=()):
    """Restores the encoder (with its report) and picks what trains.

    Returns:
      (trainable variables, lr multipliers dict).

    Raises:
      SettingsError: the freezing flags leave nothing to train.
    """
    scope = modeling.encoder_scope(self.model_type)
    if self.init_checkpoint:
      modeling.init_from_checkpoint(
          self.init_checkpoint, scope, config_file=self.config_file,
          allow_partial=self.allow_partial_restore)
    settings = self.settings
    num_layers = self.config.num_hidden_layers
    candidates = [v for v in tf.trainable_variables()
                  if not any(v.op.name.startswith(s.rstrip("/") + "/")
                             for s in frozen_scopes)]
    trainable, frozen = optimization.select_trainable(
        candidates, scope, num_layers,
        freeze_embeddings=settings.freeze_embeddings,
        trainable_layers=settings.trainable_layers,
        freeze_encoder=settings.freeze_encoder,
        freeze_regex=settings.freeze)
    if settings.freeze and not any(re.search(settings.freeze, v.op.name)
                                   for v in candidates):
      tf.logging.warning("--freeze=%r matches no variable: nothing extra is "
                         "frozen", settings.freeze)
    if not trainable:
      raise SettingsError(
          "the freezing flags leave no variable to train (--freeze=%r, "
          "--freeze_encoder=%s, --trainable_layers=%s): freeze less" %
          (settings.freeze, settings.freeze_encoder,
           settings.trainable_layers))
    if frozen:
      tf.logging.info("Frozen: %d variables (%s%s); training %d",
                      len(frozen), ", ".join(v.op.name for v in frozen[:3]),
                      ", ..." if len(frozen) > 3 else "", len(trainable))
    multipliers = optimization.layerwise_lr_multipliers(
        trainable, scope, num_layers, settings.layerwise_lr_decay)
    return trainable, multipliers


def batch_size_of(features):
  """Examples in a step: the batch's (texts, when their windows are the
  rows), times the replicas in sync under a distribution strategy."""
  if encoding.WINDOW_EXAMPLE in features:
    size = tf.shape(features["example_index"])[0]
  else:
    size = tf.shape(features["input_ids"])[0]
  return size * distribution.replicas_in_sync()


# -------------------------------------------------------------- hooks ---

class ProgressHook(tf.train.SessionRunHook):
  """Logs step, steps/sec, examples/sec, ETA and the given tensors.

  `tensors` may hold "batch_size" (counted as examples) and any scalars to
  show (loss, learning rate). In training the step count starts from the
  restored global_step, so a resumed run shows its true position and ETA.
  When the loop ends its rates go to `state.rates[name]`.
  """

  def __init__(self, name, tensors=None, total_steps=None,
               total_examples=None, every_seconds=10.0, state=None):
    self.name = name
    self.tensors = dict(tensors or {})
    self.total_steps = total_steps
    self.total_examples = total_examples
    self.every_seconds = every_seconds
    self.state = state
    self.progress = None
    self._global_step = None
    self._start = 0

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
      if self.state is not None:
        self.state.rates[self.name] = self.progress.rates()


class CurveHook(tf.train.SessionRunHook):
  """Appends the loss and learning-rate curve to curves.jsonl: a start
  line with the restored step, then the means over every `every_steps`
  steps (curves.py states the rules)."""

  def __init__(self, path, loss, learning_rate, every_steps,
               total_steps=None):
    self.path = path
    self.total_steps = total_steps
    self.tensors = {"loss": loss, "lr": learning_rate}
    self.averager = curves.Averager(every_steps)
    self._global_step = None
    self._step = 0

  def begin(self):
    self._global_step = tf.train.get_global_step()

  def after_create_session(self, session, coord):
    self._step = int(session.run(self._global_step))
    record = {"kind": "start", "step": self._step}
    if self.total_steps:
      record["total_steps"] = int(self.total_steps)
    curves.append(self.path, record)

  def before_run(self, run_context):
    return tf.train.SessionRunArgs(self.tensors)

  def after_run(self, run_context, run_values):
    self._step += 1
    record = self.averager.add(self._step, run_values.results)
    if record:
      curves.append(self.path, record)

  def end(self, session):
    record = self.averager.flush(self._step)
    if record:
      curves.append(self.path, record)


# ----------------------------------------------------------- estimator ---

def make_estimator(model_fn, output_dir, settings, plan=None):
  """A tf.estimator.Estimator saving checkpoints and summaries in output_dir.

  The RunConfig is built here only; the distribution plan's strategy goes
  in it (train_distribute; evaluation runs on one device).
  """
  session_config = tf.ConfigProto(
      intra_op_parallelism_threads=settings.num_threads,
      inter_op_parallelism_threads=settings.num_threads)
  if plan is not None and plan.cpu_devices:
    session_config.device_count["CPU"] = plan.cpu_devices
  if plan is not None and plan.strategy == "parameter_server":
    # a task's sessions see the ps tasks and itself, not the other workers
    # (which may have finished)
    session_config.device_filters.extend([
        "/job:ps", "/job:%s/task:%d" % (plan.cluster.task_type,
                                        plan.cluster.task_index)])
  if settings.use_xla:
    session_config.graph_options.optimizer_options.global_jit_level = (
        tf.OptimizerOptions.ON_1)
    # On CPU, auto-clustering also needs TF_XLA_FLAGS=--tf_xla_cpu_global_jit
    # set before TensorFlow loads: the run scripts do it (bert_toolkit.cli.command).
  if amp_precision(settings) == FLOAT16:
    from tensorflow.core.protobuf import rewriter_config_pb2  # pylint: disable=g-import-not-at-top
    session_config.graph_options.rewrite_options.auto_mixed_precision = (
        rewriter_config_pb2.RewriterConfig.ON)
  run_config = tf.estimator.RunConfig(
      train_distribute=plan.train_distribute if plan is not None else None,
      model_dir=output_dir,
      tf_random_seed=settings.seed,
      save_checkpoints_steps=settings.save_checkpoints_steps,
      keep_checkpoint_max=settings.keep_checkpoint_max,
      save_summary_steps=100,
      log_step_count_steps=10 ** 9,  # ProgressHook logs instead.
      session_config=session_config)
  return tf.estimator.Estimator(model_fn=model_fn, config=run_config)


# What --use_amp does (amp_precision).
FLOAT16 = "float16"
BFLOAT16 = "bfloat16"


def amp_precision(settings, gpus=None, flags=None):
  """What --use_amp does on this machine, or None for nothing:

    FLOAT16   with a GPU: TF's float16 graph rewrite, with dynamic loss
              scaling (optimization.create_train_op).
    BFLOAT16  on a CPU with AMX's bfloat16 tiles (the amx_bf16 flag):
              training's matmuls multiply in bfloat16, everything else
              stays float32 (modeling.bf16_matmuls); bfloat16's
              float32 range needs no loss scaling.
    None      without --use_amp, or on a CPU without AMX, where bfloat16
              matmuls ran slower than float32 ones (measured on an AMD
              EPYC with AVX-512 VNNI).

  `gpus` and `flags` default to this machine's (for tests).
  """
  if not settings.use_amp:
    return None
  if gpus is None:
    gpus = distribution.local_gpus()
  if gpus:
    return FLOAT16
  if flags is None:
    flags = cpu_flags()
  return BFLOAT16 if "amx_bf16" in flags else None


def num_steps(num_examples, batch_size, epochs):
  """Micro-batches for `epochs` passes over num_examples."""
  return max(int(num_examples / batch_size * epochs), 1)


# ------------------------------------------------- train/eval with best ---

def current_step(output_dir):
  """global_step of the newest checkpoint in output_dir (0 if none)."""
  return run_info.checkpoint_step(tf.train.latest_checkpoint(output_dir))


def copy_checkpoint(prefix, target_dir):
  """Copies a checkpoint's files into target_dir, replacing its content.

  The copy is made in target_dir.tmp; the old directory is moved to
  target_dir.old before the new one takes its name, and removed after, so
  a kill at any point leaves a complete target_dir or target_dir.old
  (which `recover_best` puts back).
  """
  with atomic.replacing_path(target_dir, temporary=target_dir + ".tmp",
                             backup=target_dir + ".old") as tmp:
    os.makedirs(tmp)
    for path in glob.glob(prefix + ".*"):
      shutil.copy(path, tmp)
    with open(os.path.join(tmp, "checkpoint"), "w") as f:
      f.write('model_checkpoint_path: "%s"\n' % os.path.basename(prefix))


def recover_best(output_dir):
  """Puts back best/ from best.old/ after a kill in copy_checkpoint; drops
  a half-made best.tmp/."""
  best = os.path.join(output_dir, BEST_DIR)
  atomic.recover(best, best + ".tmp", best + ".old")


def _state_path(output_dir):
  return os.path.join(output_dir, BEST_DIR, "best.json")


def load_eval_state(output_dir):
  """best/best.json, or None before the first evaluation."""
  path = _state_path(output_dir)
  if os.path.isfile(path):
    with open(path) as f:
      return json.load(f)
  return None


def _save_eval_state(output_dir, state):
  os.makedirs(os.path.join(output_dir, BEST_DIR), exist_ok=True)
  run_info.atomic_json(_state_path(output_dir), state)


def scalars_of(results):
  """The plain numbers of an evaluation's results (for best.json)."""
  out = {}
  for key, value in results.items():
    if isinstance(value, (bool, str, bytes, dict, list)):
      continue
    if isinstance(value, np.ndarray) and value.ndim > 0:
      continue
    try:
      out[key] = int(value) if isinstance(value, (int, np.integer)) \
          else float(value)
    except (TypeError, ValueError):
      continue
  return out


def train_and_evaluate(estimator, train_input_fn_at, num_train_steps,
                       settings, output_dir, evaluate_fn=None,
                       multi_worker=False, chief=True):
  """Trains to num_train_steps, evaluating every settings.eval_every_steps.

  Resumes as the module docstring says. Keeps the checkpoint with the best
  `settings.best_metric` in output_dir/best/ and stops early after
  `settings.early_stopping_patience` evaluations without improvement.

  Args:
    estimator: the run's Estimator.
    train_input_fn_at: fn(start_step) -> training input_fn.
    num_train_steps: micro-batches to train in total.
    settings: TrainSettings (best_metric resolved).
    output_dir: the estimator's model_dir.
    evaluate_fn: fn() -> results dict (dev metrics), or None.
    multi_worker: train through tf.estimator.train_and_evaluate, the
      Estimator's entry for multi-worker strategies (see _train_to).
    chief: False on a non-chief worker: it trains the same segments as
      the chief (to the same evaluation points) and, instead of
      evaluating, waits for the chief's evaluation in best/best.json.

  Returns:
    dict with "global_step", "best" (or None), "stopped_early" and
    "finished_before" (True when a rerun found nothing left to train).
  """
  if chief:
    recover_best(output_dir)
  step = current_step(output_dir)
  every = settings.eval_every_steps if (evaluate_fn or not chief) else None
  state = load_eval_state(output_dir) if every else None
  patience = settings.early_stopping_patience

  def stop_now(state):
    return bool(patience and state and state["bad_evals"] >= patience)

  if stop_now(state):
    tf.logging.info(
        "Training is finished: it stopped early at step %d (no better %s "
        "in %d evaluations; best %.4f at step %d). Nothing to train; "
        "--overwrite_output_dir starts again", state["last_eval_step"],
        state["metric"], state["bad_evals"], state["value"], state["step"])
    return _outcome(step, state, True, True)
  if step >= num_train_steps and (
      not every or (state and state.get("last_eval_step") == step)):
    tf.logging.info("Training is finished: %s is at step %d of %d. Nothing "
                    "to train", tf.train.latest_checkpoint(output_dir), step,
                    num_train_steps)
    return _outcome(step, state, False, True)
  if step:
    tf.logging.info("Resuming from %s at step %d of %d",
                    tf.train.latest_checkpoint(output_dir), step,
                    num_train_steps)

  # A kill between a checkpoint at an evaluation point and its evaluation.
  pending = (every and step and (step % every == 0 or step >= num_train_steps)
             and (state is None or state.get("last_eval_step", 0) < step))
  while True:
    if pending and not chief:
      state = _wait_for_chief_evaluation(output_dir, step)
    elif pending:
      state = _evaluate_and_keep(evaluate_fn, settings, output_dir, step,
                                 state)
      if stop_now(state):
        tf.logging.info("Early stopping: no better %s in %d evaluations",
                        settings.best_metric, state["bad_evals"])
        return _outcome(step, state, True, False)
    if step >= num_train_steps:
      return _outcome(step, state, False, False)
    # Evaluation points are multiples of `every` (a resumed run evaluates
    # at the steps an uninterrupted one does).
    target = (min((step // every + 1) * every, num_train_steps) if every
              else num_train_steps)
    _train_to(estimator, train_input_fn_at(step), target, multi_worker)
    # (a worker's segment can end before the chief has saved it)
    before, step = step, (current_step(output_dir) if chief else target)
    if step <= before:
      raise RuntimeError("training did not advance past step %d (%s)" %
                         (step, output_dir))
    pending = bool(every)


def _train_to(estimator, input_fn, target, multi_worker):
  """Trains to global step `target`. A multi-worker strategy trains only
  through tf.estimator.train_and_evaluate (estimator.train refuses it);
  its EvalSpec is never run there, as the cluster has no evaluator task:
  the runner evaluates on the chief itself."""
  if not multi_worker:
    estimator.train(input_fn, max_steps=target)
    return
  tf.estimator.train_and_evaluate(
      estimator, tf.estimator.TrainSpec(input_fn, max_steps=target),
      tf.estimator.EvalSpec(input_fn, steps=1))


def _wait_for_chief_evaluation(output_dir, step, timeout=3600.0, poll=0.5):
  """A worker: the chief's evaluation state once it has evaluated `step`.

  Raises:
    RuntimeError: no such evaluation within `timeout` seconds (the chief
      failed, or the workers do not share output_dir).
  """
  waited = 0.0
  while waited < timeout:
    state = load_eval_state(output_dir)
    if state is not None and state.get("last_eval_step", 0) >= step:
      return state
    time.sleep(poll)
    waited += poll
  raise RuntimeError(
      "the chief has not evaluated step %d in %s after %d s: is it running, "
      "and do all workers share --output_dir?" % (step, output_dir, timeout))


def _evaluate_and_keep(evaluate_fn, settings, output_dir, step, state):
  """One evaluation during training: updates best/ and best.json."""
  results = evaluate_fn()
  scalars = scalars_of(results)
  value = float(results[settings.best_metric])
  if state is None or "value" not in state or value > state["value"]:
    copy_checkpoint(tf.train.latest_checkpoint(output_dir),
                    os.path.join(output_dir, BEST_DIR))
    state = {"metric": settings.best_metric, "value": value, "step": step,
             "results": scalars, "bad_evals": 0}
    tf.logging.info("New best %s = %.4f at step %d", settings.best_metric,
                    value, step)
  else:
    state["bad_evals"] += 1
  state["last_eval_step"] = step
  _save_eval_state(output_dir, state)
  append_eval_curve(output_dir, step, scalars)
  return state


def append_eval_curve(output_dir, step, scalars):
  """An evaluation's finite scalars as an eval line of curves.jsonl (during
  training, and the runner's final evaluation at its checkpoint's step)."""
  record = {"kind": "eval", "step": int(step)}
  record.update({k: v for k, v in scalars.items()
                 if k != "global_step" and np.isfinite(v)})
  curves.append(os.path.join(output_dir, curves.CURVES_FILE), record)


def _outcome(step, state, stopped_early, finished_before):
  best = None
  if state:
    best = {k: v for k, v in state.items() if k != "last_eval_step"}
  return {"global_step": step, "best": best, "stopped_early": stopped_early,
          "finished_before": finished_before}

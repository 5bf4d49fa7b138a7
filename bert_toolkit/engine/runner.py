"""The one run skeleton every task plugs into: `run(task, settings)`.

  results = runner.run(classifier.Classifier("sst2"),
                       settings.RunSettings(data_dir=..., output_dir=...,
                                            init_checkpoint=..., do_train=True,
                                            train=settings.TrainSettings()))

What it does, in order:
1. Checks, before anything is written: the settings (a SettingsError names
   the flag), the pre-trained model (from the flags, or for an
   evaluate / predict-only run the run directory's run_info.json), the
   model's input settings (a flag that is not given takes the run's value),
   the task's head, the labels, and -- when the directory already holds a
   run -- that this command is that run (bert_toolkit.runs.run_info rules).
2. Locks the run directory (a second command on it is refused while the
   first runs), writes run_info.json, vocab.txt and labels.txt.
3. Turns each split into cached TFRecord features (bert_toolkit.data.features).
4. Builds one Estimator: the task's head on the encoder
   (task.model_fn_builder) with the training.Trainer's specs.
5. Trains with evaluation every N steps, the best checkpoint and early
   stopping, resuming what a killed run left (training.train_and_evaluate).
6. Evaluates the fine-tuned checkpoint (best/ if kept, else the newest):
   eval_results.txt and TensorBoard; predicts the test split; writes
   run_results.json.

What a rerun does: the same command resumes (or says it is finished and
evaluates / predicts again); a command that differs in what defines the
model is refused, unless --overwrite_output_dir starts the run again.
"""

import os
import time

import tensorflow.compat.v1 as tf

import modeling
import tokenization
from bert_toolkit.runs import curves
from bert_toolkit.data import features as features_lib
from bert_toolkit.engine import input_pipeline
from bert_toolkit.engine import distribution
from bert_toolkit.runs import progress
from bert_toolkit.runs import run_info
from bert_toolkit import settings as settings_lib
from bert_toolkit.engine import task as task_lib
from bert_toolkit.engine import training
from bert_toolkit.errors import SettingsError


class SplitData(object):
  """One split: its examples, cached feature file and the task's extra."""

  def __init__(self, name, examples, cached, extra=None):
    self.name = name
    self.examples = examples
    self.cached = cached
    self.extra = extra

  @property
  def num_features(self):
    return self.cached.num_examples


class Run(object):
  """One command's run, as a task sees it while scoring and writing.

  Attributes:
    task, settings (settings.RunSettings), train (TrainSettings with the
    best metric resolved), files (modeling.PretrainedFiles), output_dir,
    do_lower_case, max_seq_length, tokenizer, state (training.RunState),
    estimator, plan (distribution.Plan: the strategy and replicas),
    feature_dir (a multi-worker worker's own).
  """

  def __init__(self, task, settings, train, files, do_lower_case,
               max_seq_length):
    self.task = task
    self.settings = settings
    self.train = train
    self.files = files
    self.output_dir = settings.output_dir
    self.do_lower_case = do_lower_case
    self.max_seq_length = max_seq_length
    self.tokenizer = tokenization.FullTokenizer(files.vocab_file,
                                                do_lower_case)
    self.state = training.RunState()
    self.estimator = None
    self.plan = distribution.single_device(train.train_batch_size)
    self.feature_dir = settings.feature_dir
    self.server = None      # this task's gRPC server (parameter_server)

  def split(self, name, examples):
    """Features of a split: the cached file, written if needed (or the
    task's prebuilt files)."""
    prebuilt = self.task.prebuilt_features(name)
    if prebuilt is not None:
      return SplitData(name, examples, features_lib.CachedFeatures(
          list(prebuilt), None, True, {}))
    encoded = self.task.encode(name, examples, self.tokenizer,
                               self.max_seq_length)
    key, parts = features_lib.cache_key(
        self.task.source_file(self.settings.data_dir, name),
        self.files.vocab_file, self.do_lower_case, self.max_seq_length,
        self.task.label_list, self.task.name,
        extra=self.task.cache_settings(name))
    cached = features_lib.cached_feature_file(
        self.feature_dir, name, key, parts, encoded.records,
        encoded.count)
    return SplitData(name, examples, cached, encoded.extra)

  def input_fn(self, data, batch_size, is_training, start_step=0):
    own = self.task.input_fn(self, data, batch_size, is_training, start_step)
    if own is not None:
      return own
    seed = self.train.seed
    return input_pipeline.input_fn_builder(
        data.cached.path, batch_size, self.max_seq_length, is_training,
        sequence_names=self.task.sequence_names,
        scalar_names=self.task.scalar_names,
        float_features=self.task.float_features_for(data.name),
        dynamic_padding=self.train.dynamic_padding,
        pack_sequences=self.train.pack_sequences,
        windows=self.task.windowed,
        replicas=self.plan.replicas if is_training else 1,
        shard=distribution.input_shard(self.plan) if is_training else None,
        seed=input_pipeline.DEFAULT_SEED if seed is None else seed,
        skip_batches=start_step)

  def predictions(self, data, checkpoint=None):
    """estimator.predict over a split, one dict per feature, with progress."""
    self.state.totals["predict"] = data.num_features
    return progress.track(
        self.estimator.predict(
            self.input_fn(data, self.train.predict_batch_size, False),
            checkpoint_path=checkpoint, yield_single_examples=True),
        "predict %s" % data.name, data.num_features,
        self.train.log_every_seconds)

  def write_summaries(self, name, scalars, step):
    """TensorBoard scalars under output_dir/<name>."""
    with tf.Graph().as_default():  # FileWriter needs graph mode
      writer = tf.summary.FileWriter(os.path.join(self.output_dir, name))
      writer.add_summary(tf.Summary(value=[
          tf.Summary.Value(tag=k, simple_value=float(v))
          for k, v in sorted(scalars.items())]), step)
      writer.close()

  def checkpoint_step(self, checkpoint=None):
    """global_step of `checkpoint` (default: the newest in output_dir)."""
    return run_info.checkpoint_step(
        checkpoint or tf.train.latest_checkpoint(self.output_dir))


# ------------------------------------------------------------- checks ---

def _check_settings(task, settings):
  """Settings every run needs; returns the TrainSettings to use."""
  for name in ("data_dir", "output_dir"):
    if not getattr(settings, name) and (name == "output_dir" or
                                        task.needs_data_dir):
      raise SettingsError("--%s is required" % name)
  if not (settings.do_train or settings.do_eval or settings.do_predict):
    raise SettingsError(
        "nothing to do: pass --do_train, --do_eval and/or --do_predict")
  train = settings_lib.TrainSettings(**settings.train.as_dict())
  train.validate()
  if train.best_metric is None:
    train.best_metric = task.best_metrics[0]
  elif train.best_metric not in task.best_metrics:
    raise SettingsError("--best_metric for %s is %s, got %r" % (
        task.kind, " or ".join(task.best_metrics), train.best_metric))
  if settings.max_seq_length is not None and (
      settings.max_seq_length < task.min_seq_length):
    raise SettingsError("--max_seq_length must be at least %d ([CLS], one "
                        "token, [SEP]), got %d" % (task.min_seq_length,
                                                   settings.max_seq_length))
  task.validate(settings)
  return train


def _existing_run(settings):
  """run_info of the run in output_dir, or None for a new run."""
  output_dir = settings.output_dir
  fresh = settings.do_train and settings.overwrite_output_dir
  if run_info.exists(output_dir):
    return None if fresh else run_info.read(output_dir)
  if (settings.do_train and not fresh and
      tf.train.latest_checkpoint(output_dir)):
    raise SettingsError(
        "%s holds checkpoints but no run_info.json (another program's run, "
        "or an unfinished one): pass --overwrite_output_dir to train from "
        "scratch there, or use another --output_dir" % output_dir)
  return None


def _pretrained(task, settings, info):
  """The pre-trained model: the task's own (a student), named by the
  flags, or the run directory's."""
  own = task.model_files(settings)
  if own is not None:
    return own
  if (settings.do_train and not settings.init_checkpoint and
      task.requires_init_checkpoint):
    raise SettingsError("--init_checkpoint is required to fine-tune (a "
                        "release folder or checkpoint prefix)")
  if settings.names_a_model:
    return modeling.find_pretrained(
        settings.init_checkpoint, settings.bert_config_file,
        settings.vocab_file, settings.model_type, settings.electra_size)
  if info is None:
    info = run_info.read(settings.output_dir)  # the "train first" error
  files = run_info.pretrained_files(settings.output_dir, info)
  if settings.model_type and settings.model_type != files.model_type:
    raise SettingsError("%s holds a %s model, not --model_type=%s" % (
        settings.output_dir, files.model_type, settings.model_type))
  return files


def _input_settings(settings, info, files):
  """do_lower_case and max_seq_length: given, else the run's, else the
  model's own (do_lower_case that convert_checkpoint.py read from a
  Hugging Face tokenizer_config.json), else the default."""
  defaults = settings_lib.defaults(settings_lib.RUN_SETTINGS)
  model_case = getattr(files.config, "do_lower_case", None) if files else None
  if isinstance(model_case, bool):
    defaults["do_lower_case"] = model_case
  values = []
  for name in ("do_lower_case", "max_seq_length"):
    value = getattr(settings, name)
    if value is None:
      value = info[name] if info is not None else defaults[name]
    values.append(value)
  return values


def _labels(task, settings, info, train_examples):
  """The label list: from the training data (or the task's fixed list) when
  training, else the run's."""
  if train_examples is not None:
    return task.read_labels(settings.data_dir, train_examples)
  if info is not None:
    return list(info["labels"])
  path = os.path.join(settings.output_dir, run_info.LABELS_FILE)
  if os.path.isfile(path):
    return run_info.read_labels(path)
  return task.read_labels(settings.data_dir, None)


def _checkpoint_to_use(task, output_dir, files):
  """The run's fine-tuned checkpoint; for a task that evaluates pre-trained
  checkpoints as they are (pre-training), the --init_checkpoint when the
  run has none yet (google-research/bert's --do_eval alone)."""
  try:
    return run_info.fine_tuned_checkpoint(output_dir)
  except modeling.CheckpointError:
    if task.evaluates_init_checkpoint and files.checkpoint:
      return files.checkpoint
    raise


def _serve_parameters(layout):
  """A "ps" task of a parameter_server cluster: it serves the variables to
  the chief and the workers until it is stopped (as the Estimator's own ps
  tasks do; tools/local_cluster.py stops it when the workers are done)."""
  tf.logging.info("Parameter server %s: serving until stopped",
                  layout.devices[0])
  distribution.start_server(layout.cluster).join()


# ---------------------------------------------------------------- run ---

def run(task, settings):
  """Runs train / eval / predict as `settings` asks; returns run_results.

  Args:
    task: a bert_toolkit.engine.task.Task (its head settings may be None).
    settings: settings.RunSettings.

  Returns:
    The run_results.json dict.
  """
  started = time.time()
  train = _check_settings(task, settings)
  layout = distribution.plan(  # the batch rule and TF_CONFIG, early
      train.distribution_strategy, train.num_gpus, train.train_batch_size,
      build=False)
  if layout.cluster is not None and layout.cluster.task_type == "ps":
    _serve_parameters(layout)
  chief = distribution.is_chief(layout)
  if not (chief or settings.do_train):
    raise SettingsError("a multi-worker worker only trains: run --do_eval "
                        "and --do_predict on the chief (or without "
                        "TF_CONFIG)")
  output_dir = settings.output_dir
  info = _existing_run(settings)
  files = _pretrained(task, settings, info)
  do_lower_case, max_seq_length = _input_settings(settings, info, files)
  task.resolve_head(info.get("head") if info else None, output_dir)
  if settings.do_train:
    task.check_distribution(layout)
  modeling.check_inputs(files, do_lower_case, max_seq_length,
                        check_case=not settings.skip_case_check)
  if info is not None:
    run_info.check_same_run(output_dir, info, task.kind, task.name, files,
                            do_lower_case, max_seq_length, None)
  train_examples = (task.read_split(settings.data_dir, "train")
                    if settings.do_train else None)
  labels = _labels(task, settings, info, train_examples)
  if info is not None:
    run_info.check_same_run(output_dir, info, task.kind, task.name, files,
                            do_lower_case, max_seq_length, labels)
    if settings.do_train and tf.train.latest_checkpoint(output_dir):
      run_info.check_resume_settings(
          output_dir, info, {k: getattr(train, k)
                             for k in settings_lib.RESUME_INVARIANT})
  task.label_list = labels
  tf.logging.info("Task %s (%s): %d labels (%s)", task.name, task.kind,
                  len(labels), ", ".join(labels[:12]))
  if settings.do_train:
    task.configure_loss(train, train_examples)

  if not chief:
    # A worker of a multi-worker run: it trains beside the chief, which
    # holds the run directory and writes everything in it.
    return _run_locked(task, settings, train, files, do_lower_case,
                       max_seq_length, train_examples, started, chief=False)
  # Every check has passed: from here on the run directory is written.
  with run_info.DirectoryLock(output_dir):
    return _run_locked(task, settings, train, files, do_lower_case,
                       max_seq_length, train_examples, started)


def _prepare_run_dir(task, settings, train, files, do_lower_case,
                     max_seq_length):
  """What the command's run directory needs before it runs: an overwrite,
  the leftovers of killed runs cleaned, and run_info.json written for a
  training run."""
  output_dir = settings.output_dir
  if settings.do_train and settings.overwrite_output_dir:
    removed = run_info.remove_run_files(output_dir)
    if removed:
      tf.logging.info("--overwrite_output_dir: removed %d files of the "
                      "earlier run in %s", removed, output_dir)
  # What killed runs left: our temporaries, TF's, a half-swapped best/.
  training.recover_best(output_dir)
  for folder in (output_dir, os.path.join(output_dir, run_info.BEST_DIR)):
    run_info.remove_dead_temporaries(folder)
  run_info.remove_checkpoint_temporaries(output_dir)
  if settings.do_train:
    labels = task.label_list
    run_info.write(output_dir, task.kind, files.model_type, files.config,
                   files.vocab_file, do_lower_case, max_seq_length, labels,
                   task.name, head=task.head_info(), train=train.as_dict())
    run_info.write_labels(os.path.join(output_dir, run_info.LABELS_FILE),
                          labels)


def _run_locked(task, settings, train, files, do_lower_case, max_seq_length,
                train_examples, started, chief=True):
  """The run proper, holding the directory lock.

  chief=False: a non-chief worker of a multi-worker or parameter_server
  run. It trains the same steps as the chief (a synchronous all-reduce
  needs every worker at every step), keeps its features in a folder of its
  own and writes nothing else: the run directory, evaluation, the best
  checkpoint, prediction and the results are the chief's, and the worker
  follows the chief's evaluations (best/best.json) to stop when it stops.
  """
  output_dir = settings.output_dir
  labels = task.label_list
  if chief:
    _prepare_run_dir(task, settings, train, files, do_lower_case,
                     max_seq_length)

  run = Run(task, settings, train, files, do_lower_case, max_seq_length)
  run.plan = distribution.plan(train.distribution_strategy, train.num_gpus,
                               train.train_batch_size)
  if chief:
    run.state.curves_path = os.path.join(output_dir, curves.CURVES_FILE)
  else:
    run.feature_dir = os.path.join(settings.feature_dir, "%s-%d" % (
        run.plan.cluster.task_type, run.plan.cluster.task_index))
  if run.plan.strategy == "parameter_server":
    run.server = distribution.start_server(run.plan.cluster)
  results = {"task": task.name, "kind": task.kind,
             "model_type": files.model_type,
             "init_checkpoint": files.checkpoint, "labels": labels,
             "settings": {"do_lower_case": do_lower_case,
                          "max_seq_length": max_seq_length,
                          "train": train.as_dict()}}
  head = task.head_info()
  if head:
    results["head"] = head
  num_train_steps = 0
  train_data = None
  task.prepare(run.tokenizer, files.config)
  if settings.do_train:
    train_data = run.split("train", train_examples)
    if train.num_train_steps:
      num_train_steps = train.num_train_steps
    elif train_data.num_features is None:
      raise SettingsError("--num_train_steps is required: the number of "
                          "training examples is not known in advance")
    else:
      num_train_steps = training.num_steps(
          train_data.num_features, train.train_batch_size,
          train.num_train_epochs)
    if train_examples is not None:
      results["num_train_examples"] = len(train_examples)
    results.update({"num_train_" + k[len("num_"):]: v
                    for k, v in task.counts(train_data).items()})
    results["num_train_steps"] = num_train_steps
  trainer = training.Trainer(
      files.model_type, files.config, files.checkpoint, train,
      num_train_steps, files.config_file, settings.allow_partial_restore,
      run.state)
  if settings.do_train:
    tf.logging.info("Training on %s", distribution.describe(run.plan))
    if train.use_amp and not training.amp_applies(train):
      tf.logging.warning("--use_amp: no GPU on this machine, and the float16 "
                         "rewrite is for GPUs: training runs in float32 as "
                         "without the flag")
    results["distribution"] = {
        "strategy": run.plan.strategy, "replicas": run.plan.replicas,
        "per_replica_batch": run.plan.per_replica_batch,
        "devices": list(run.plan.devices)}
  run.estimator = training.make_estimator(
      task_lib.model_fn_builder(task, files.model_type, files.config,
                                files.checkpoint, trainer),
      output_dir, train, run.plan)

  dev_data = None
  if chief and (settings.do_eval or
                (settings.do_train and train.eval_every_steps)):
    dev_data = run.split("dev", task.read_split(settings.data_dir, "dev",
                                                labels))

  if settings.do_train:
    evaluate_fn = None
    if dev_data is not None and train.eval_every_steps:
      evaluate_fn = lambda: task.evaluate(run, dev_data)
    outcome = training.train_and_evaluate(
        run.estimator,
        lambda step: run.input_fn(train_data, train.train_batch_size, True,
                                  step),
        num_train_steps, train, output_dir, evaluate_fn,
        multi_worker=run.plan.strategy == "multi_worker_mirrored",
        chief=chief)
    results["train"] = dict(outcome, rates=run.state.rates.get("train"))
  if not chief:
    return results

  checkpoint = _checkpoint_to_use(task, output_dir, files)
  results["checkpoint"] = checkpoint

  if settings.do_eval:
    scores = task.evaluate(run, dev_data, checkpoint, name="final")
    text = task.eval_report(scores, checkpoint, dev_data)
    run_info.atomic_text(os.path.join(output_dir, "eval_results.txt"), text)
    tf.logging.info("Eval results (%s):\n%s", checkpoint, text)
    results["eval"] = task.eval_results(scores)
    if results["eval"].get("global_step") is not None:
      training.append_eval_curve(output_dir, results["eval"]["global_step"],
                                 training.scalars_of(results["eval"]))

  if settings.do_predict:
    test_data = run.split("test", task.read_split(settings.data_dir, "test",
                                                  labels))
    results["predict"] = task.predict(run, test_data, checkpoint)

  results["seconds"] = round(time.time() - started, 1)
  run_info.atomic_json(os.path.join(output_dir, "run_results.json"), results)
  return results

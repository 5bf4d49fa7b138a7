"""The one run skeleton every task plugs into: `run(task, settings)`.

  results = runner.run(classifier.Classifier("sst2"),
                       settings.RunSettings(data_dir=..., output_dir=...,
                                            init_checkpoint=..., do_train=True,
                                            train=settings.TrainSettings()))

What it does, in order:
1. Checks, before anything is written: the settings (a SettingsError names
   the flag), the output locations against what the run reads (never an
   output inside, equal to or holding the init checkpoint's folder, the
   config, vocab, data or the task's inputs: bert_toolkit.runs.paths),
   the pre-trained model (from the flags, or for an
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
from bert_toolkit.runs import atomic
from bert_toolkit.runs import curves
from bert_toolkit.runs import paths
from bert_toolkit.data import features as features_lib
from bert_toolkit.engine import input_pipeline
from bert_toolkit.engine import distribution
from bert_toolkit.runs import progress
from bert_toolkit.runs import run_info
from bert_toolkit import kinds
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
    do_lower_case, max_seq_length (all from the Resolved command),
    tokenizer, state (training.RunState), estimator, plan
    (distribution.Plan: the strategy and replicas), feature_dir (a
    multi-worker worker's own), chief (False for a non-chief worker).
  """

  def __init__(self, resolved):
    self.task = resolved.task
    self.settings = resolved.settings
    self.train = resolved.train
    self.files = resolved.files
    self.output_dir = resolved.settings.output_dir
    self.do_lower_case = resolved.do_lower_case
    self.max_seq_length = resolved.max_seq_length
    self.tokenizer = tokenization.from_vocab(
        self.files.vocab_file, self.do_lower_case,
        extra_tokens=self.task.vocab_tokens)
    self.state = training.RunState()
    self.estimator = None
    self.plan = distribution.plan(self.train.distribution_strategy,
                                  self.train.num_gpus,
                                  self.train.train_batch_size)
    self.feature_dir = self.settings.feature_dir
    self.chief = resolved.chief
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
    extra = self.task.cache_settings(name)
    limit = self.settings.split_limit(name)
    if limit is not None:  # the first N examples: other features
      extra = {"task": extra, "first_examples": limit}
    key, parts = features_lib.cache_key(
        self.task.source_file(self.settings.data_dir, name),
        self.files.vocab_file, self.do_lower_case, self.max_seq_length,
        self.task.label_list, self.task.name, extra=extra)
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
        skip_batches=start_step, num_examples=data.num_features)

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
  settings_lib.check_values(settings_lib.RUN_SETTINGS, {
      name: getattr(settings, name)
      for _, name in settings_lib.SPLIT_LIMITS})
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


def _check_paths(task, settings):
  """The one check of what the run writes against what it reads (the
  init checkpoint's folder, the config and vocab, --data_dir, the task's
  own inputs such as a teacher run): bert_toolkit.runs.paths rules."""
  writes = [paths.output_folder("--output_dir", settings.output_dir),
            paths.output_folder("--cache_dir", settings.cache_dir)]
  reads = [paths.input_path(
      "--init_checkpoint", paths.model_folder(settings.init_checkpoint),
      None if settings.do_train else "leave out --init_checkpoint to "
      "evaluate or predict with the run in --output_dir"),
           paths.input_path("--bert_config_file", settings.bert_config_file),
           paths.input_path("--vocab_file", settings.vocab_file)]
  if task.needs_data_dir:
    reads.append(paths.input_path("--data_dir", settings.data_dir))
  paths.check_writes(writes, reads + list(task.read_paths(settings)))


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


def _input_settings(settings, info, files, task=None):
  """do_lower_case and max_seq_length: given, else the run's, else the
  model's own (do_lower_case that convert_checkpoint.py read from a
  Hugging Face tokenizer_config.json), else the default (the task's own
  kind's max_seq_length default, if it has one: bert_toolkit.kinds)."""
  defaults = settings_lib.defaults(settings_lib.RUN_SETTINGS)
  if task is not None:
    defaults.update(kinds.run_defaults(task.kind))
  if files:
    defaults["do_lower_case"] = tokenization.model_do_lower_case(
        files.config, defaults["do_lower_case"])
  values = []
  for name in ("do_lower_case", "max_seq_length"):
    value = getattr(settings, name)
    if value is None:
      value = info[name] if info is not None else defaults[name]
    values.append(value)
  return values


def _labels(task, settings, info, train_examples):
  """The label list: from the training data (or the task's fixed list) when
  training, and then the run's own if it has one, else the run's."""
  if train_examples is not None:
    labels = task.read_labels(settings.data_dir, train_examples)
    if info is not None:
      run_info.check_same_labels(settings.output_dir, info, labels)
    return labels
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


# ---------------------------------------------------------- resolving ---

class Resolved(object):
  """One command against one run directory, resolved before anything is
  written: every check has passed when this exists.

  Attributes:
    task: the Task, its head settings and label_list resolved.
    settings: the RunSettings as given.
    train: the TrainSettings to use (best metric resolved).
    layout: the distribution.Plan of the command line (not built).
    chief: False for a non-chief worker of a cluster.
    info: the run directory's run_info (None: a new run).
    files: the pre-trained model (modeling.PretrainedFiles).
    do_lower_case, max_seq_length: given, else the run's, else defaults.
    train_examples: the training split's examples (None: no training).
  """

  def __init__(self, **values):
    self.__dict__.update(values)

  @property
  def output_dir(self):
    return self.settings.output_dir


def resolve(task, settings):
  """Resolves a command against its run directory (see Resolved), with the
  one check that the directory holds this command's run.

  Raises:
    SettingsError (and the model's ConfigError / CheckpointError): what
      must change; nothing has been written.
  """
  train = _check_settings(task, settings)
  _check_paths(task, settings)
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
  info = _existing_run(settings)
  files = _pretrained(task, settings, info)
  do_lower_case, max_seq_length = _input_settings(settings, info, files,
                                                 task)
  task.resolve_head(info.get("head") if info else None, settings.output_dir)
  task.input_settings(do_lower_case, max_seq_length)
  if settings.do_train:
    task.check_distribution(layout)
  modeling.check_inputs(files, do_lower_case, max_seq_length,
                        check_case=not settings.skip_case_check)
  if info is not None:   # the one check that this is the directory's run
    run_info.check_same_run(settings.output_dir, info, task.kind, task.name,
                            files, do_lower_case, max_seq_length)
    if settings.do_train and tf.train.latest_checkpoint(settings.output_dir):
      run_info.check_resume_settings(
          settings.output_dir, info,
          settings_lib.resume_values(settings, train))
  train_examples = (task.read_split(settings.data_dir, "train")
                    if settings.do_train else None)
  # The labels come from the whole training file (a subset may lack some);
  # the run trains on the first --max_train_samples examples.
  labels = _labels(task, settings, info, train_examples)
  train_examples = settings.first_examples("train", train_examples)
  task.label_list = labels
  tf.logging.info("Task %s (%s): %d labels (%s)", task.name, task.kind,
                  len(labels), ", ".join(labels[:12]))
  if settings.do_train:
    task.configure_loss(train, train_examples)
  return Resolved(task=task, settings=settings, train=train, layout=layout,
                  chief=chief, info=info, files=files,
                  do_lower_case=do_lower_case, max_seq_length=max_seq_length,
                  train_examples=train_examples)


# ---------------------------------------------------------------- run ---

def run(task, settings):
  """Runs train / eval / predict as `settings` asks; returns run_results.

  The phases, each a function over the resolved command: resolve (checks,
  nothing written), prepare (the run directory), build (features, the
  Estimator), train, evaluate, predict, and the results file.

  Args:
    task: a bert_toolkit.engine.task.Task (its head settings may be None).
    settings: settings.RunSettings.

  Returns:
    The run_results.json dict.
  """
  started = time.time()
  resolved = resolve(task, settings)
  # A full disk anywhere in the run is one error naming the place.
  with atomic.reporting_full_disk(resolved.output_dir):
    if not resolved.chief:
      # A worker of a multi-worker run: it trains beside the chief, which
      # holds the run directory and writes everything in it.
      return _execute(resolved, started)
    # Every check has passed: from here on the run directory is written.
    with run_info.DirectoryLock(resolved.output_dir):
      return _execute(resolved, started)


def prepare(resolved):
  """What the command's run directory needs before it runs: an overwrite,
  the leftovers of killed runs cleaned, and run_info.json written for a
  training run."""
  output_dir, settings, task = (resolved.output_dir, resolved.settings,
                                resolved.task)
  if settings.do_train and settings.overwrite_output_dir:
    removed = run_info.remove_run_files(output_dir)
    if removed:
      tf.logging.info("--overwrite_output_dir: removed %d files of the "
                      "earlier run in %s", removed, output_dir)
  # What killed runs left: our temporaries, TF's, a half-swapped best/.
  training.recover_best(output_dir)
  for folder in (output_dir, os.path.join(output_dir, run_info.BEST_DIR)):
    atomic.remove_dead_temporaries(folder)
  run_info.remove_checkpoint_temporaries(output_dir)
  if settings.do_train:
    files, labels = resolved.files, task.label_list
    run_info.write(output_dir, task.kind, files.model_type, files.config,
                   files.vocab_file, resolved.do_lower_case,
                   resolved.max_seq_length, labels, task.name,
                   head=task.head_info(),
                   train=dict(resolved.train.as_dict(),
                              **settings_lib.resume_values(settings,
                                                           resolved.train)))
    run_info.write_labels(os.path.join(output_dir, run_info.LABELS_FILE),
                          labels)


def _execute(resolved, started):
  """The run proper (holding the directory lock on the chief).

  A non-chief worker of a multi-worker or parameter_server run trains the
  same steps as the chief (a synchronous all-reduce needs every worker at
  every step), keeps its features in a folder of its own and writes
  nothing else: the run directory, evaluation, the best checkpoint,
  prediction and the results are the chief's, and the worker follows the
  chief's evaluations (best/best.json) to stop when it stops.
  """
  if resolved.chief:
    prepare(resolved)
  run, results = build(resolved)
  settings = resolved.settings
  dev_data = None
  if resolved.chief and (settings.do_eval or (
      settings.do_train and resolved.train.eval_every_steps)):
    dev_data = run.split("dev", read_split(run, "dev"))
  if settings.do_train:
    results["train"] = train_phase(run, dev_data)
  if not resolved.chief:
    return results
  checkpoint = _checkpoint_to_use(resolved.task, resolved.output_dir,
                                  resolved.files)
  results["checkpoint"] = checkpoint
  if settings.do_eval:
    results["eval"] = evaluate_phase(run, dev_data, checkpoint)
  if settings.do_predict:
    results["predict"] = predict_phase(run, checkpoint)
  results["seconds"] = round(time.time() - started, 1)
  run_info.atomic_json(os.path.join(resolved.output_dir, "run_results.json"),
                       results)
  return results


def build(resolved):
  """The Run (tokenizer, distribution plan, training features, Estimator)
  and the results dict it starts; returns (run, results)."""
  task, train, files = resolved.task, resolved.train, resolved.files
  run = Run(resolved)
  if resolved.chief:
    run.state.curves_path = os.path.join(resolved.output_dir,
                                         curves.CURVES_FILE)
  else:
    run.feature_dir = os.path.join(resolved.settings.feature_dir, "%s-%d" % (
        run.plan.cluster.task_type, run.plan.cluster.task_index))
  if run.plan.strategy == "parameter_server":
    run.server = distribution.start_server(run.plan.cluster)
  results = {"task": task.name, "kind": task.kind,
             "model_type": files.model_type,
             "init_checkpoint": files.checkpoint, "labels": task.label_list,
             "settings": {"do_lower_case": resolved.do_lower_case,
                          "max_seq_length": resolved.max_seq_length,
                          "train": train.as_dict()}}
  for _, name in settings_lib.SPLIT_LIMITS:  # a debugging subset, if any
    if getattr(resolved.settings, name) is not None:
      results["settings"][name] = getattr(resolved.settings, name)
  head = task.head_info()
  if head:
    results["head"] = head
  task.prepare(run.tokenizer, files.config)
  run.train_data, run.num_train_steps = None, 0
  if resolved.settings.do_train:
    run.train_data = run.split("train", resolved.train_examples)
    run.num_train_steps = _num_train_steps(train, run.train_data)
    if resolved.train_examples is not None:
      results["num_train_examples"] = len(resolved.train_examples)
    results.update({"num_train_" + k[len("num_"):]: v
                    for k, v in task.counts(run.train_data).items()})
    results["num_train_steps"] = run.num_train_steps
    tf.logging.info("Training on %s", distribution.describe(run.plan))
    if train.use_amp:
      precision = training.amp_precision(train)
      results["mixed_precision"] = precision or "none"
      if precision is None:
        tf.logging.warning("--use_amp: this machine has no GPU and no CPU "
                           "with AMX (amx_bf16): training runs in float32 "
                           "as without the flag")
      else:
        tf.logging.info("--use_amp: training's matmuls in %s", precision)
    results["distribution"] = {
        "strategy": run.plan.strategy, "replicas": run.plan.replicas,
        "per_replica_batch": run.plan.per_replica_batch,
        "devices": list(run.plan.devices)}
  trainer = training.Trainer(
      files.model_type, files.config, files.checkpoint, train,
      run.num_train_steps, files.config_file,
      resolved.settings.allow_partial_restore, run.state)
  run.estimator = training.make_estimator(
      task_lib.model_fn_builder(task, files.model_type, files.config,
                                files.checkpoint, trainer),
      resolved.output_dir, train, run.plan)
  return run, results


def _num_train_steps(train, train_data):
  if train.num_train_steps:
    return train.num_train_steps
  if train_data.num_features is None:
    raise SettingsError("--num_train_steps is required: the number of "
                        "training examples is not known in advance")
  return training.num_steps(train_data.num_features, train.train_batch_size,
                            train.num_train_epochs)


def train_phase(run, dev_data):
  """Trains (resuming), evaluating every --eval_every_steps on dev when
  asked; returns run_results' "train" entry."""
  train, task = run.train, run.task
  evaluate_fn = None
  if dev_data is not None and train.eval_every_steps:
    evaluate_fn = lambda: task.evaluate(run, dev_data)
  outcome = training.train_and_evaluate(
      run.estimator,
      lambda step: run.input_fn(run.train_data, train.train_batch_size, True,
                                step),
      run.num_train_steps, train, run.output_dir, evaluate_fn,
      multi_worker=run.plan.strategy == "multi_worker_mirrored",
      chief=run.chief)
  return dict(outcome, rates=run.state.rates.get("train"))


def evaluate_phase(run, dev_data, checkpoint):
  """The final evaluation: eval_results.txt, its curve point; returns
  run_results' "eval" entry."""
  task = run.task
  scores = task.evaluate(run, dev_data, checkpoint, name="final")
  text = eval_results_text(task.google_eval_results(scores),
                           task.eval_report(scores, checkpoint, dev_data))
  run_info.atomic_text(os.path.join(run.output_dir, "eval_results.txt"), text)
  tf.logging.info("Eval results (%s):\n%s", checkpoint, text)
  scores = task.eval_results(scores)
  if scores.get("global_step") is not None:
    training.append_eval_curve(run.output_dir, scores["global_step"],
                               training.scalars_of(scores))
  return scores


def eval_results_text(google, report):
  """eval_results.txt: google-research/bert's keys first, as its
  run_classifier.py writes them (`key = value` lines in key order, the value
  as str() gives it), then the task's own report without the lines of keys
  already written."""
  head = "".join("%s = %s\n" % (key, str(google[key]))
                 for key in sorted(google))
  rest = [line for line in report.splitlines(True)
          if line.split(" = ", 1)[0] not in google or " = " not in line]
  return head + "".join(rest)


def predict_phase(run, checkpoint):
  """Predicts the test split; returns run_results' "predict" entry."""
  test_data = run.split("test", read_split(run, "test"))
  return run.task.predict(run, test_data, checkpoint)


def read_split(run, name):
  """The examples of split `name` the run reads: the task's, the first
  --max_eval_samples / --max_predict_samples of them when set."""
  return run.settings.first_examples(name, run.task.read_split(
      run.settings.data_dir, name, run.task.label_list))

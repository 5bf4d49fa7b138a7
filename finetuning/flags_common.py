"""Command-line flags shared by run_classifier.py and run_ner.py.

Library code never reads flags; only the run_*.py scripts do. A script calls
`define_common_flags()` once at import time (before absl parses argv), defines
its own task-specific flags (--task, --max_seq_length, --best_metric, ...),
and turns the parsed values into a `training.TrainSettings` with
`train_settings(FLAGS, best_metric)`.

Shared flags: data/output folders, the pre-trained model (init_checkpoint,
bert_config_file, vocab_file, model_type, do_lower_case), what to run
(do_train/do_eval/do_predict), batch sizes, learning rate and schedule,
freezing, seed, padding, checkpoints, evaluation during training, early
stopping, cache_dir, logging and threads.
"""

from absl import flags


def define_common_flags():
  """Defines the shared flags (google-research/bert names where they exist)."""
  flags.DEFINE_string("data_dir", None, "Folder with train/dev/test files.")
  flags.DEFINE_string("output_dir", None, "Checkpoints, summaries, results.")
  flags.DEFINE_string("init_checkpoint", None, "Pre-trained checkpoint "
                      "prefix, or the folder of a release / "
                      "convert_checkpoint.py output (config and vocab are "
                      "found there).")
  flags.DEFINE_string("bert_config_file", None, "Model config (wins over "
                      "the one found beside the checkpoint).")
  flags.DEFINE_string("vocab_file", None, "Vocab (wins over the one found "
                      "beside the checkpoint).")
  flags.DEFINE_enum("model_type", None, ["bert", "albert", "distilbert"],
                    "Model family; inferred when not given.")
  flags.DEFINE_bool("do_lower_case", True, "Lower-case input text.")
  flags.DEFINE_bool("do_train", False, "Train.")
  flags.DEFINE_integer("train_batch_size", 32, "Examples per micro-batch.")
  flags.DEFINE_integer("eval_batch_size", 32, "Examples per eval batch.")
  flags.DEFINE_integer("predict_batch_size", 32,
                       "Examples per predict batch.")
  flags.DEFINE_float("learning_rate", 5e-5, "Peak learning rate (Adam).")
  flags.DEFINE_float("num_train_epochs", 3.0, "Epochs to train.")
  flags.DEFINE_float("warmup_proportion", 0.1, "Share of steps for warm-up.")
  flags.DEFINE_float("weight_decay_rate", 0.01, "Decoupled weight decay.")
  flags.DEFINE_integer("gradient_accumulation_steps", 1, "Micro-batches per "
                       "optimizer update.")
  flags.DEFINE_float("layerwise_lr_decay", None, "Layer i of L trains at "
                     "lr * decay**(L-i); embeddings at decay**(L+1).")
  flags.DEFINE_bool("freeze_embeddings", False, "Do not train embeddings.")
  flags.DEFINE_integer("trainable_layers", None, "Train only the top N "
                       "encoder layers (plus pooler and head).")
  flags.DEFINE_bool("freeze_encoder", False, "Train only the task head.")
  flags.DEFINE_string("freeze", None, "Regex: freeze matching variables.")
  flags.DEFINE_integer("seed", None, "Random seed (graph and data order).")
  flags.DEFINE_bool("dynamic_padding", True, "Bucket batches by length; "
                    "false pads every batch to max_seq_length (Google's "
                    "way).")
  flags.DEFINE_integer("save_checkpoints_steps", 1000, "Checkpoint interval.")
  flags.DEFINE_integer("keep_checkpoint_max", 3, "Checkpoints to keep.")
  flags.DEFINE_integer("eval_every_steps", None, "Evaluate on dev every N "
                       "steps during training and keep the best checkpoint "
                       "in output_dir/best.")
  flags.DEFINE_integer("early_stopping_patience", None, "Stop after N "
                       "evaluations without a better best_metric.")
  flags.DEFINE_string("cache_dir", None, "Feature files (default "
                      "output_dir/features).")
  flags.DEFINE_float("log_every_seconds", 10.0, "Progress line interval.")
  flags.DEFINE_integer("num_threads", 0, "TF threads (0: all cores).")


def train_settings(values, best_metric, **extra):
  """training.TrainSettings from parsed flags.

  Args:
    values: the parsed absl FLAGS (define_common_flags' flags).
    best_metric: the script's metric for the best checkpoint.
    **extra: further TrainSettings fields (e.g. head_lr_multipliers).

  Returns:
    training.TrainSettings.
  """
  from finetuning import training  # pylint: disable=g-import-not-at-top
  return training.TrainSettings(
      learning_rate=values.learning_rate,
      num_train_epochs=values.num_train_epochs,
      warmup_proportion=values.warmup_proportion,
      train_batch_size=values.train_batch_size,
      eval_batch_size=values.eval_batch_size,
      predict_batch_size=values.predict_batch_size,
      weight_decay_rate=values.weight_decay_rate,
      gradient_accumulation_steps=values.gradient_accumulation_steps,
      layerwise_lr_decay=values.layerwise_lr_decay,
      freeze_embeddings=values.freeze_embeddings,
      trainable_layers=values.trainable_layers,
      freeze_encoder=values.freeze_encoder,
      freeze=values.freeze,
      seed=values.seed,
      dynamic_padding=values.dynamic_padding,
      save_checkpoints_steps=values.save_checkpoints_steps,
      keep_checkpoint_max=values.keep_checkpoint_max,
      eval_every_steps=values.eval_every_steps,
      best_metric=best_metric,
      early_stopping_patience=values.early_stopping_patience,
      log_every_seconds=values.log_every_seconds,
      num_threads=values.num_threads,
      **extra)


def require(values, *names):
  """ConfigError naming the first of `names` whose flag is empty."""
  import modeling  # pylint: disable=g-import-not-at-top
  for name in names:
    if not getattr(values, name):
      raise modeling.ConfigError("--%s is required" % name)


def pretrained_files(values):
  """The pre-trained model of a run, from the flags or the run directory.

  --init_checkpoint (a folder or prefix; --bert_config_file, --vocab_file
  and --model_type win over what is found beside it) names the model. An
  evaluate / predict-only run that names none of them uses the run
  directory's run_info.json (config, vocab, model type and, unless
  --do_lower_case is given, the case it was trained with).

  Args:
    values: the parsed absl FLAGS.

  Returns:
    modeling.PretrainedFiles.

  Raises:
    modeling.ConfigError: training without --init_checkpoint, or a run
      directory without run_info.json and no model flags.
  """
  import modeling  # pylint: disable=g-import-not-at-top
  from finetuning import run_info  # pylint: disable=g-import-not-at-top
  if values.do_train and not values.init_checkpoint:
    raise modeling.ConfigError(
        "--init_checkpoint is required to fine-tune (a release folder or "
        "checkpoint prefix)")
  names_a_model = (values.init_checkpoint or values.bert_config_file or
                   values.vocab_file)
  if not values.do_train and not names_a_model:
    files, info = run_info.pretrained_files(values.output_dir)
    if not flags.FLAGS["do_lower_case"].present:
      values.do_lower_case = info["do_lower_case"]
    return files
  return modeling.find_pretrained(values.init_checkpoint,
                                  values.bert_config_file, values.vocab_file,
                                  values.model_type)


"""Fine-tune BERT / ALBERT / DistilBERT for sentence (pair) classification.

  python run_classifier.py --task=chnsenticorp --data_dir=DATA \
      --init_checkpoint=chinese_L-12_H-768_A-12 --output_dir=runs/chnsenticorp \
      --do_train --do_eval --do_predict

Flags follow google-research/bert's run_classifier.py; see the README for
the additions (model folders, dynamic padding, freezing, accumulation,
layer-wise learning-rate decay, best checkpoint, early stopping, resume).
Running the same command again after an interruption resumes.
"""

from absl import flags

from finetuning import cli

flags.DEFINE_string("task", None, "chnsenticorp, sst2, lcqmc, tnews, or a "
                    "generic tsv / csv / jsonl.")
flags.DEFINE_string("task_name", None, "Alias of --task (Google's name).")
flags.DEFINE_string("data_dir", None, "Folder with train/dev/test files.")
flags.DEFINE_string("output_dir", None, "Checkpoints, summaries, results.")
flags.DEFINE_string("init_checkpoint", None, "Pre-trained checkpoint prefix, "
                    "or the folder of a release / convert_checkpoint.py "
                    "output (config and vocab are found there).")
flags.DEFINE_string("bert_config_file", None, "Model config (wins over the "
                    "one found beside the checkpoint).")
flags.DEFINE_string("vocab_file", None, "Vocab (wins over the one found "
                    "beside the checkpoint).")
flags.DEFINE_enum("model_type", None, ["bert", "albert", "distilbert"],
                  "Model family; inferred when not given.")
flags.DEFINE_bool("do_lower_case", True, "Lower-case input text.")
flags.DEFINE_integer("max_seq_length", 128, "Longest input in tokens; "
                     "longer inputs are truncated (pairs from the longer "
                     "side).")
flags.DEFINE_bool("do_train", False, "Train.")
flags.DEFINE_bool("do_eval", False, "Evaluate on dev: eval_results.txt.")
flags.DEFINE_bool("do_predict", False, "Predict test: test_results.tsv.")
flags.DEFINE_integer("train_batch_size", 32, "Examples per micro-batch.")
flags.DEFINE_integer("eval_batch_size", 32, "Examples per eval batch.")
flags.DEFINE_integer("predict_batch_size", 32, "Examples per predict batch.")
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
flags.DEFINE_bool("dynamic_padding", True, "Bucket batches by length; false "
                  "pads every batch to max_seq_length (Google's way).")
flags.DEFINE_integer("save_checkpoints_steps", 1000, "Checkpoint interval.")
flags.DEFINE_integer("keep_checkpoint_max", 3, "Checkpoints to keep.")
flags.DEFINE_integer("eval_every_steps", None, "Evaluate on dev every N "
                     "steps during training and keep the best checkpoint "
                     "in output_dir/best.")
flags.DEFINE_string("best_metric", "accuracy", "accuracy or macro_f1.")
flags.DEFINE_integer("early_stopping_patience", None, "Stop after N "
                     "evaluations without a better best_metric.")
flags.DEFINE_string("cache_dir", None, "Feature files (default "
                    "output_dir/features).")
flags.DEFINE_string("text_a_column", None, "Generic tasks: text_a column "
                    "(name, or 0-based number for header-less files).")
flags.DEFINE_string("text_b_column", None, "Generic tasks: text_b column.")
flags.DEFINE_string("label_column", None, "Generic tasks: label column.")
flags.DEFINE_float("log_every_seconds", 10.0, "Progress line interval.")
flags.DEFINE_integer("num_threads", 0, "TF threads (0: all cores).")

FLAGS = flags.FLAGS


def main(_):
  import modeling  # pylint: disable=g-import-not-at-top
  from finetuning import classifier  # pylint: disable=g-import-not-at-top
  from finetuning import training  # pylint: disable=g-import-not-at-top

  task = FLAGS.task or FLAGS.task_name
  for name, value in (("task", task), ("data_dir", FLAGS.data_dir),
                      ("output_dir", FLAGS.output_dir)):
    if not value:
      raise modeling.ConfigError("--%s is required" % name)
  if FLAGS.do_train and not FLAGS.init_checkpoint:
    raise modeling.ConfigError(
        "--init_checkpoint is required to fine-tune (a release folder or "
        "checkpoint prefix)")
  pretrained = modeling.find_pretrained(
      FLAGS.init_checkpoint, FLAGS.bert_config_file, FLAGS.vocab_file,
      FLAGS.model_type)
  settings = training.TrainSettings(
      learning_rate=FLAGS.learning_rate,
      num_train_epochs=FLAGS.num_train_epochs,
      warmup_proportion=FLAGS.warmup_proportion,
      train_batch_size=FLAGS.train_batch_size,
      eval_batch_size=FLAGS.eval_batch_size,
      predict_batch_size=FLAGS.predict_batch_size,
      weight_decay_rate=FLAGS.weight_decay_rate,
      gradient_accumulation_steps=FLAGS.gradient_accumulation_steps,
      layerwise_lr_decay=FLAGS.layerwise_lr_decay,
      freeze_embeddings=FLAGS.freeze_embeddings,
      trainable_layers=FLAGS.trainable_layers,
      freeze_encoder=FLAGS.freeze_encoder,
      freeze=FLAGS.freeze,
      seed=FLAGS.seed,
      dynamic_padding=FLAGS.dynamic_padding,
      save_checkpoints_steps=FLAGS.save_checkpoints_steps,
      keep_checkpoint_max=FLAGS.keep_checkpoint_max,
      eval_every_steps=FLAGS.eval_every_steps,
      best_metric=FLAGS.best_metric,
      early_stopping_patience=FLAGS.early_stopping_patience,
      log_every_seconds=FLAGS.log_every_seconds,
      num_threads=FLAGS.num_threads)
  results = classifier.run(classifier.ClassifierRun(
      task=task, data_dir=FLAGS.data_dir, output_dir=FLAGS.output_dir,
      pretrained=pretrained, train=settings,
      do_lower_case=FLAGS.do_lower_case, max_seq_length=FLAGS.max_seq_length,
      do_train=FLAGS.do_train, do_eval=FLAGS.do_eval,
      do_predict=FLAGS.do_predict, cache_dir=FLAGS.cache_dir,
      text_a_column=FLAGS.text_a_column, text_b_column=FLAGS.text_b_column,
      label_column=FLAGS.label_column))
  if "eval" in results:
    print("eval accuracy = %.4f, macro_f1 = %.4f" % (
        results["eval"]["accuracy"], results["eval"]["macro_f1"]))
  print("results: %s" % FLAGS.output_dir)


if __name__ == "__main__":
  cli.run(main)

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

from finetuning import flags_common

flags_common.define_common_flags()
flags.DEFINE_string("task", None, "chnsenticorp, sst2, lcqmc, tnews, or a "
                    "generic tsv / csv / jsonl.")
flags.DEFINE_string("task_name", None, "Alias of --task (Google's name).")
flags.DEFINE_integer("max_seq_length", 128, "Longest input in tokens; "
                     "longer inputs are truncated (pairs from the longer "
                     "side).")
flags.DEFINE_bool("do_eval", False, "Evaluate on dev: eval_results.txt.")
flags.DEFINE_bool("do_predict", False, "Predict test: test_results.tsv.")
flags.DEFINE_string("best_metric", "accuracy", "accuracy or macro_f1.")
flags.DEFINE_string("text_a_column", None, "Generic tasks: text_a column "
                    "(name, or 0-based number for header-less files).")
flags.DEFINE_string("text_b_column", None, "Generic tasks: text_b column.")
flags.DEFINE_string("label_column", None, "Generic tasks: label column.")

FLAGS = flags.FLAGS


def main(_):
  import modeling  # pylint: disable=g-import-not-at-top
  from finetuning import classifier  # pylint: disable=g-import-not-at-top

  task = FLAGS.task or FLAGS.task_name
  for name, value in (("task", task), ("data_dir", FLAGS.data_dir),
                      ("output_dir", FLAGS.output_dir)):
    if not value:
      raise modeling.ConfigError("--%s is required" % name)
  pretrained = flags_common.pretrained_files(FLAGS)
  settings = flags_common.train_settings(FLAGS, FLAGS.best_metric)
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

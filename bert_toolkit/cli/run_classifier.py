r"""Fine-tune BERT / ALBERT / DistilBERT for sentence (pair) classification.

  python run_classifier.py --task=chnsenticorp --data_dir=DATA \
      --init_checkpoint=chinese_L-12_H-768_A-12 --output_dir=runs/chnsenticorp \
      --do_train --do_eval --do_predict

Flags follow google-research/bert's run_classifier.py; see the README for
the additions (model folders, dynamic padding, freezing, accumulation,
layer-wise learning-rate decay, best checkpoint, early stopping, resume).
Running the same command again after an interruption resumes.
"""

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common

flags_common.define_run_flags()
flags.adopt_module_key_flags(flags_common)
flags.DEFINE_string("task", None, "chnsenticorp, sst2, lcqmc, tnews, or a "
                    "generic tsv / csv / jsonl.")
flags.DEFINE_string("task_name", None, "Alias of --task (Google's name).")
flags.DEFINE_string("text_a_column", None, "Generic tasks: text_a column "
                    "(name, or 0-based number for header-less files).")
flags.DEFINE_string("text_b_column", None, "Generic tasks: text_b column.")
flags.DEFINE_string("label_column", None, "Generic tasks: label column.")
flags.DEFINE_enum("truncation", None, ["head", "tail", "head_tail"],
                  "Which WordPieces of a single text longer than "
                  "max_seq_length are kept: head (Google's; the default), "
                  "tail, or head_tail (the first 128/510 and the last "
                  "382/510 of the room). Kept with the run.")
flags.DEFINE_enum("long_text", None, ["truncate", "windows"],
                  "truncate (the default: cut by --truncation) or windows: "
                  "a text longer than max_seq_length becomes overlapping "
                  "windows whose logits are pooled, in training, "
                  "evaluation, prediction and serving. Kept with the run.")
flags.DEFINE_integer("window_stride", None, "--long_text=windows: "
                     "WordPieces between window starts (default: half a "
                     "window).")
flags.DEFINE_enum("window_pooling", None, ["mean", "max"],
                  "--long_text=windows: how a text's logits come from its "
                  "windows' (default mean; max per label).")
flags.DEFINE_bool("multi_label", None, "Several labels per example "
                  "(--task=tsv/csv/jsonl): sigmoid outputs, binary "
                  "cross-entropy. Kept with the run.")
flags.DEFINE_string("label_separator", None, "What joins an example's "
                    "labels in the label column (default ','; JSON lines "
                    "may hold a list).")
flags.DEFINE_bool("google_output_format", False, "Write test_results.tsv "
                  "as google-research/bert does: no header, one line of "
                  "tab-separated label probabilities per example.")

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.tasks import classifier  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top

  FLAGS.task = FLAGS.task or FLAGS.task_name
  flags_common.require(FLAGS, "task")
  task = classifier.Classifier(FLAGS.task, FLAGS.text_a_column,
                               FLAGS.text_b_column, FLAGS.label_column,
                               FLAGS.google_output_format,
                               flags_common.given(FLAGS, "truncation"),
                               flags_common.given(FLAGS, "multi_label"),
                               flags_common.given(FLAGS, "label_separator"),
                               flags_common.given(FLAGS, "long_text"),
                               flags_common.given(FLAGS, "window_stride"),
                               flags_common.given(FLAGS, "window_pooling"))
  results = runner.run(task, flags_common.run_settings(FLAGS))
  if "eval" in results:
    print("eval accuracy = %.4f, macro_f1 = %.4f" % (
        results["eval"]["accuracy"], results["eval"]["macro_f1"]))
  print("results: %s" % FLAGS.output_dir)


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

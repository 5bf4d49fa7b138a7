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

KIND = "classifier"
flags_common.define_kind_flags(
    KIND, " (tsv, csv, jsonl: generic, with the column flags)")
flags.adopt_module_key_flags(flags_common)

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.tasks import classifier  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top

  task = classifier.Classifier.from_settings(
      flags_common.kind_values(FLAGS, KIND))
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

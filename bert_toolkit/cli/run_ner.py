r"""Fine-tune BERT / ALBERT / DistilBERT for named-entity recognition.

  python run_ner.py --task=peoples_daily --data_dir=DATA \
      --init_checkpoint=chinese_L-12_H-768_A-12 --output_dir=runs/ner \
      --do_train --do_eval --do_predict [--crf] [--lstm_size=128]

Tasks: peoples_daily, msra, cluener, conll2003, bio (see bert_toolkit/data/ner_data.py).
Evaluation is entity level (seqeval); long sentences are windowed, never
truncated. Flags follow google-research/bert / run_classifier.py; see the
README's NER section. Running the same command again resumes; head flags
left out of an evaluate-only or resumed run come from the run directory.
"""

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common

KIND = "ner"
flags_common.define_kind_flags(KIND)
flags.adopt_module_key_flags(flags_common)

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top
  from bert_toolkit.tasks import tagging  # pylint: disable=g-import-not-at-top

  task = tagging.Tagger.from_settings(flags_common.kind_values(FLAGS, KIND))
  results = runner.run(task, flags_common.run_settings(FLAGS))
  for name in ("eval", "predict"):
    if name in results and "f1" in results[name]:
      print("%s entity-level precision = %.4f, recall = %.4f, f1 = %.4f" % (
          name, results[name]["precision"], results[name]["recall"],
          results[name]["f1"]))
  print("results: %s" % FLAGS.output_dir)


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

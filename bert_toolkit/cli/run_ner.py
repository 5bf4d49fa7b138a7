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
from bert_toolkit import settings as settings_lib
from bert_toolkit.data import ner_data

flags_common.define_run_flags()
flags_common.define_table(
    settings_lib.NER_SETTINGS,
    {"task": "One of: %s." %
             ", ".join(ner_data.TASK_NAMES)})
flags.adopt_module_key_flags(flags_common)

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top
  from bert_toolkit.tasks import tagging  # pylint: disable=g-import-not-at-top

  FLAGS.task = FLAGS.task or FLAGS.task_name
  flags_common.require(FLAGS, "task")
  word_units = flags_common.given(FLAGS, "word_units")
  task = tagging.Tagger(
      FLAGS.task, crf=flags_common.given(FLAGS, "crf"),
      lstm_size=flags_common.given(FLAGS, "lstm_size"),
      scheme=flags_common.given(FLAGS, "scheme"),
      label_x=flags_common.given(FLAGS, "label_x"),
      window_stride=FLAGS.window_stride,
      unit_joiner=None if word_units is None else (" " if word_units else ""),
      crf_learning_rate=FLAGS.crf_learning_rate)
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

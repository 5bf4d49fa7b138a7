"""Fine-tune BERT / ALBERT / DistilBERT for named-entity recognition.

  python run_ner.py --task=peoples_daily --data_dir=DATA \
      --init_checkpoint=chinese_L-12_H-768_A-12 --output_dir=runs/ner \
      --do_train --do_eval --do_predict [--crf] [--lstm_size=128]

Tasks: peoples_daily, msra, cluener, conll2003, bio (see finetuning/ner_data).
Evaluation is entity level (seqeval); long sentences are windowed, never
truncated. Flags follow google-research/bert / run_classifier.py; see the
README's NER section. Running the same command again resumes.
"""

from absl import flags

from finetuning import cli
from finetuning import flags_common

flags_common.define_common_flags()
flags.DEFINE_string("task", None, "peoples_daily, msra, cluener, conll2003 "
                    "or bio (two-column files train/dev/test.{txt,bio,tsv}).")
flags.DEFINE_integer("max_seq_length", 128, "Longest window in WordPieces "
                     "([CLS] and [SEP] included); longer sentences are cut "
                     "into overlapping windows (training, eval and "
                     "predict), never truncated.")
flags.DEFINE_integer("window_stride", None, "WordPieces between the starts "
                     "of a long sentence's windows (default: half of "
                     "max_seq_length - 2).")
flags.DEFINE_bool("do_eval", False, "Evaluate on dev: eval_results.txt "
                  "(seqeval entity-level P/R/F1 and per-type report).")
flags.DEFINE_bool("do_predict", False, "Tag test: test_predictions.txt "
                  "(unit gold predicted) and test_predictions.jsonl; "
                  "test_results.txt when the test file is labelled.")
flags.DEFINE_bool("crf", False, "CRF head (in-graph Viterbi) instead of the "
                  "token softmax.")
flags.DEFINE_float("crf_learning_rate", None, "Learning rate of the CRF "
                   "transitions (default: --learning_rate); applied as the "
                   "multiplier crf_learning_rate / learning_rate.")
flags.DEFINE_integer("lstm_size", 0, "> 0: BiLSTM of this many units each "
                     "way between encoder and head (BiLSTM-CRF with --crf).")
flags.DEFINE_enum("scheme", "BIO", ["BIO", "BIOES"], "Tag scheme the model "
                  "is trained on (data is converted).")
flags.DEFINE_bool("label_x", False, "Train non-first WordPieces as an extra "
                  "'X' label (kyzhouhzau/BERT-NER's scheme) instead of "
                  "ignoring them.")
flags.DEFINE_bool("word_units", False, "bio task: units are words joined by "
                  "spaces (English); default: characters (Chinese).")
flags.DEFINE_string("best_metric", "f1", "f1, precision or recall "
                    "(entity level, for --eval_every_steps).")

FLAGS = flags.FLAGS


def main(_):
  import modeling  # pylint: disable=g-import-not-at-top
  from finetuning import ner  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "task", "data_dir", "output_dir")
  if FLAGS.word_units and FLAGS.task != "bio":
    raise modeling.ConfigError("--word_units applies to --task=bio only")
  pretrained = flags_common.pretrained_files(FLAGS)
  settings = flags_common.train_settings(FLAGS, FLAGS.best_metric)
  results = ner.run(ner.NerRun(
      task=FLAGS.task, data_dir=FLAGS.data_dir, output_dir=FLAGS.output_dir,
      pretrained=pretrained, train=settings,
      do_lower_case=FLAGS.do_lower_case, max_seq_length=FLAGS.max_seq_length,
      do_train=FLAGS.do_train, do_eval=FLAGS.do_eval,
      do_predict=FLAGS.do_predict, cache_dir=FLAGS.cache_dir, crf=FLAGS.crf,
      crf_learning_rate=FLAGS.crf_learning_rate, lstm_size=FLAGS.lstm_size,
      scheme=FLAGS.scheme, label_x=FLAGS.label_x,
      window_stride=FLAGS.window_stride,
      unit_joiner=(" " if FLAGS.word_units else None)
      if FLAGS.task == "bio" else None))
  for name in ("eval", "predict"):
    if name in results and "f1" in results[name]:
      print("%s entity-level precision = %.4f, recall = %.4f, f1 = %.4f" % (
          name, results[name]["precision"], results[name]["recall"],
          results[name]["f1"]))
  print("results: %s" % FLAGS.output_dir)


if __name__ == "__main__":
  cli.run(main)

r"""Fine-tune BERT / ALBERT / DistilBERT for span-extraction reading
comprehension (SQuAD 1.1 / 2.0, CMRC 2018), as google-research/bert's
run_squad.py:

  python run_squad.py --train_file=train.json --predict_file=dev.json \
      --init_checkpoint=chinese_L-12_H-768_A-12 --output_dir=runs/cmrc \
      --squad_style=hfl_cmrc --do_train --do_predict

Google's flags (--train_file, --predict_file, --doc_stride,
--max_query_length, --n_best_size, --max_answer_length,
--version_2_with_negative, --null_score_diff_threshold, --verbose_logging)
and every run script's shared ones; --max_seq_length defaults to 384 as
Google's. --do_predict writes Google's predictions.json,
nbest_predictions.json (and null_odds.json for SQuAD 2.0) in --output_dir
and, when the predict file holds answers, eval_results.txt with
exact_match and f1. --do_eval scores the predict file. Running the same
command again after an interruption resumes.
"""

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common

KIND = "squad"
flags_common.define_kind_flags(KIND)
flags.adopt_module_key_flags(flags_common)

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.tasks import squad  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top

  task = squad.SquadTask.from_settings(flags_common.kind_values(FLAGS, KIND))
  results = runner.run(task, flags_common.run_settings(FLAGS))
  for phase in ("eval", "predict"):
    scores = results.get(phase, {})
    scores = scores.get("scores", scores)
    if "exact_match" in scores:
      print("%s exact_match = %.3f, f1 = %.3f (%s rules)" % (
          phase, scores["exact_match"], scores["f1"], scores["metric"]))
  print("results: %s" % FLAGS.output_dir)


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

r"""Pre-train (or continue pre-training) BERT / ALBERT with masked LM and next
sentence (or sentence order) prediction, with google-research/bert's flags.

  python run_pretraining.py --input_file=data/pretrain-*.tfrecord \
      --output_dir=runs/pretrain --bert_config_file=bert_config.json \
      --vocab_file=vocab.txt --do_train --do_eval --train_batch_size=32 \
      --max_seq_length=128 --max_predictions_per_seq=20 \
      --num_train_steps=10000 --num_warmup_steps=1000 --learning_rate=1e-4

Continuing from an official checkpoint (--init_checkpoint) restores its
encoder and its cls/* heads and leaves its optimizer slots. The output
directory holds the checkpoints, the config and vocab.txt: it is directly a
--init_checkpoint of run_classifier.py / run_ner.py. eval_results.txt is
Google's (masked_lm_accuracy, masked_lm_loss, next_sentence_accuracy,
next_sentence_loss, global_step, loss). Running the same command again
resumes. Beyond Google: --model_type=albert, gradient accumulation,
--optimizer=lamb, --dynamic_masking, progress with ETA.
"""

from absl import flags

from bert_toolkit import kinds
from bert_toolkit import settings as settings_lib
from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common
from bert_toolkit.errors import SettingsError

# The shared flags it takes and Google's run_pretraining.py defaults where
# they differ from fine-tuning's (its bert_toolkit.kinds row); its own
# flags (bert_toolkit.settings.PRETRAINING_SETTINGS).
_KIND = kinds.get("pretraining")
flags_common.define_flags(
    _KIND.shared, default_overrides=dict(_KIND.run_defaults),
    help_overrides={"data_dir": (
        "A folder of raw text instead of --input_file: train.txt (and "
        "dev.txt, evaluated instead of the training examples), one "
        "sentence a line, a blank line between documents. It is made "
        "into examples by create_pretraining_data.py's rules and the "
        "settings below, once, in the feature cache (--cache_dir).")})
flags_common.define_tpu_flags()
flags.adopt_module_key_flags(flags_common)
flags_common.define_table(settings_lib.PRETRAINING_SETTINGS)

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.tasks import pretraining  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "output_dir")
  if bool(FLAGS.input_file) == bool(FLAGS.data_dir):
    raise SettingsError("give --input_file (TFRecords of "
                        "create_pretraining_data.py) or --data_dir (a "
                        "folder of raw text), one of them")
  settings = flags_common.run_settings(FLAGS)
  if FLAGS.data_dir:
    if FLAGS.eval_input_file:
      raise SettingsError("--eval_input_file goes with --input_file; with "
                          "--data_dir the evaluation text is its dev.txt")
    records = pretraining.records_of_text_folder(
        settings, {name: getattr(FLAGS, name)
                   for name in settings_lib.PRETRAINING_TEXT_SETTINGS_NAMES})
    input_files = [records["train"]]
    eval_files = [records["dev"]] if records["dev"] else None
  else:
    input_files = pretraining.input_files_of(FLAGS.input_file)
    eval_files = (pretraining.input_files_of(FLAGS.eval_input_file)
                  if FLAGS.eval_input_file else None)
  task = pretraining.Pretraining(
      input_files, max_predictions_per_seq=FLAGS.max_predictions_per_seq,
      max_eval_steps=FLAGS.max_eval_steps, eval_input_files=eval_files,
      dynamic_masking=FLAGS.dynamic_masking, seed=FLAGS.seed,
      next_sentence=not FLAGS.masked_lm_only,
      records_from_text=bool(FLAGS.data_dir))
  with pretraining.reporting_broken_files(task):
    results = runner.run(task, settings)
  if "eval" in results:
    print("".join("%s = %s\n" % (k, results["eval"][k])
                  for k in sorted(results["eval"])), end="")
  print("results: %s" % FLAGS.output_dir)


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

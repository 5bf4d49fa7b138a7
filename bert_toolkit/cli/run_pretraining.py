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

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common

# Google's run_pretraining.py defaults where they differ from fine-tuning's.
flags_common.define_flags(
    ["output_dir", "init_checkpoint", "bert_config_file", "vocab_file",
     "model_type", "do_lower_case", "max_seq_length", "do_train", "do_eval",
     "train_batch_size", "eval_batch_size", "learning_rate",
     "num_train_steps", "num_warmup_steps", "save_checkpoints_steps",
     "keep_checkpoint_max", "gradient_accumulation_steps", "optimizer",
     "weight_decay_rate", "seed", "overwrite_output_dir",
     "allow_partial_restore", "log_every_seconds", "num_threads",
     "distribution_strategy", "num_gpus", "use_amp", "use_xla"],
    default_overrides={"eval_batch_size": 8, "num_train_steps": 100000,
                       "num_warmup_steps": 10000, "max_seq_length": None})
flags_common.define_tpu_flags()
flags.adopt_module_key_flags(flags_common)
flags.DEFINE_string("input_file", None, "Input TFRecord files of "
                    "create_pretraining_data.py (comma list, globs).")
flags.DEFINE_string("eval_input_file", None, "Evaluation TFRecords "
                    "(default: --input_file, as Google).")
flags.DEFINE_integer("max_predictions_per_seq", None, "Masked LM "
                     "predictions per sequence (default: read from the "
                     "input files; must match them).")
flags.DEFINE_integer("max_eval_steps", 100, "Evaluation batches.")
flags.DEFINE_bool("masked_lm_only", False, "Train the masked LM alone, "
                  "without the next-sentence head (e.g. domain-adaptive "
                  "pre-training on single sentences).")
flags.DEFINE_bool("dynamic_masking", False, "Draw the masks again whenever "
                  "an example is read (RoBERTa), instead of the stored "
                  "ones.")

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.tasks import pretraining  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "input_file", "output_dir")
  task = pretraining.Pretraining(
      pretraining.input_files_of(FLAGS.input_file),
      max_predictions_per_seq=FLAGS.max_predictions_per_seq,
      max_eval_steps=FLAGS.max_eval_steps,
      eval_input_files=(pretraining.input_files_of(FLAGS.eval_input_file)
                        if FLAGS.eval_input_file else None),
      dynamic_masking=FLAGS.dynamic_masking, seed=FLAGS.seed,
      next_sentence=not FLAGS.masked_lm_only)
  with pretraining.reporting_broken_files(task):
    results = runner.run(task, flags_common.run_settings(FLAGS))
  if "eval" in results:
    print("".join("%s = %s\n" % (k, results["eval"][k])
                  for k in sorted(results["eval"])), end="")
  print("results: %s" % FLAGS.output_dir)


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

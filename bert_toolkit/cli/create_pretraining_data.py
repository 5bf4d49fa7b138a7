r"""Create pre-training data (masked LM + next sentence / sentence order) from
raw text, with google-research/bert's flags and output.

  python create_pretraining_data.py --input_file=corpus/*.txt \
      --output_file=data/pretrain-0.tfrecord,data/pretrain-1.tfrecord \
      --vocab_file=vocab.txt --max_seq_length=128 \
      --max_predictions_per_seq=20 --masked_lm_prob=0.15 --dupe_factor=5

Input: one sentence a line, a blank line between documents (UTF-8). With
one worker (the default) and Google's flags the records are byte-identical
to google-research/bert's create_pretraining_data.py. Beyond
Google: whole-word masking for Chinese (--do_whole_word_mask with
--word_segmentation=spaces|wordlist|jieba), ALBERT's --sop and n-gram
masking (--max_ngram), streaming in chunks, all cores, progress with ETA.
See bert_toolkit/data/pretraining_data.py for the rules.
"""

from absl import flags

from bert_toolkit import settings as settings_lib
from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common
from bert_toolkit.data import pretraining_data

# How text becomes examples: the rows run_pretraining.py's --data_dir
# shares (bert_toolkit.settings.PRETRAINING_TEXT_SETTINGS).
flags_common.define_table(settings_lib.PRETRAINING_TEXT_SETTINGS)
flags.DEFINE_string("input_file", None, "Input text file(s): comma list, "
                    "globs allowed.")
flags.DEFINE_string("output_file", None, "Output TFRecord file(s): comma "
                    "list (instances go round-robin, as shards).")
flags.DEFINE_string("vocab_file", None, "The vocab the model was (or will "
                    "be) trained with.")
flags.DEFINE_bool("do_lower_case", True, "Lower-case the input.")
flags.DEFINE_integer("max_seq_length", 128, "Maximum sequence length.")
flags.DEFINE_integer("documents_per_chunk", 0, "Documents processed "
                     "together (random-next text and shuffling stay inside "
                     "a chunk; bounds the memory). 0: the whole input at "
                     "once as Google's script, or chunks of %d with "
                     "several workers." %
                     pretraining_data.PARALLEL_DOCUMENTS_PER_CHUNK)
flags.DEFINE_integer("num_workers", 1, "Processes (0: all cores). One "
                     "worker with the default chunking writes Google's "
                     "records byte for byte; several process chunks of "
                     "--documents_per_chunk documents.")
flags.DEFINE_float("log_every_seconds", 10.0, "Progress line interval.")
flags.DEFINE_integer("max_line_chars", pretraining_data.MAX_LINE_CHARS,
                     "When > 0, a longer input line is read as several lines "
                     "of at most this many characters (0: lines are read "
                     "whole, as Google's script).")

FLAGS = flags.FLAGS


def main(_):
  flags_common.require(FLAGS, "input_file", "output_file", "vocab_file")
  settings = pretraining_data.DataSettings(
      input_files=pretraining_data.expand_inputs(FLAGS.input_file),
      output_files=[f.strip() for f in FLAGS.output_file.split(",")
                    if f.strip()],
      vocab_file=FLAGS.vocab_file, do_lower_case=FLAGS.do_lower_case,
      max_seq_length=FLAGS.max_seq_length,
      max_predictions_per_seq=FLAGS.max_predictions_per_seq,
      masked_lm_prob=FLAGS.masked_lm_prob, random_seed=FLAGS.random_seed,
      dupe_factor=FLAGS.dupe_factor, short_seq_prob=FLAGS.short_seq_prob,
      do_whole_word_mask=FLAGS.do_whole_word_mask, max_ngram=FLAGS.max_ngram,
      sop=FLAGS.sop, word_segmentation=FLAGS.word_segmentation,
      word_list=FLAGS.word_list,
      documents_per_chunk=FLAGS.documents_per_chunk,
      num_workers=FLAGS.num_workers,
      log_every_seconds=FLAGS.log_every_seconds,
      max_line_chars=FLAGS.max_line_chars)
  _check_outputs(settings)
  stats = pretraining_data.create(settings)
  print("wrote %d instances to %s (%s)" % (
      stats["instances"], ", ".join(settings.output_files),
      ", ".join("%s %s" % (k, v) for k, v in sorted(stats.items())
                if k != "instances")))


def _check_outputs(settings):
  """The output files against the inputs (bert_toolkit.runs.paths): never
  an input file, the vocab or the word list, never the same file twice;
  then their folders are made (as extract_features.py does) and what
  killed writers left there is removed."""
  from bert_toolkit.runs import paths  # pylint: disable=g-import-not-at-top
  writes = [paths.output_file("--output_file", f)
            for f in settings.output_files]
  paths.check_writes(
      writes, [paths.input_path("--input_file", f)
               for f in settings.input_files] +
      [paths.input_path("--vocab_file", settings.vocab_file),
       paths.input_path("--word_list", settings.word_list)])
  paths.prepare_outputs(writes)


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

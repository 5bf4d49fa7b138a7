"""Keeps the vocab tokens a corpus uses, and their embedding rows.

  python prune_vocab.py --model_dir=runs/mine --corpus_files=data/train.tsv \
      --output_dir=runs/mine_pruned

--model_dir is a fine-tuned run directory (the output is a run directory
that evaluates, exports and serves as the original) or a pre-trained model
folder (the output is a model folder for --init_checkpoint). Every text of
the corpus tokenizes to the same pieces, and the model's outputs for it are
unchanged; the rules are in bert_toolkit/compression/vocab.py.
"""

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common

FLAGS = flags.FLAGS

flags.DEFINE_string(
    "model_dir", None,
    "A fine-tuned run directory (run_info.json) or a pre-trained model "
    "folder (checkpoint, config, vocab.txt).")
flags.DEFINE_string(
    "corpus_files", None,
    "Comma-separated files or globs whose texts the vocab must cover: "
    "usually the run's training file. .json / .jsonl are read as JSON, "
    "anything else a line at a time.")
flags.DEFINE_string(
    "output_dir", None,
    "Where to write the pruned folder (new, empty, or an earlier pruning's "
    "output, which is replaced).")
flags.DEFINE_list(
    "keep_tokens", [],
    "Vocab tokens to keep even if the corpus does not use them (e.g. "
    "marker tokens [E1],[E2]).")
flags.DEFINE_bool(
    "do_lower_case", None,
    "Casing of a pre-trained folder's tokenizer (default true); a run "
    "directory's own is used.")


def main(argv):
  del argv  # Unused.
  from bert_toolkit.compression import vocab as vocab_pruning  # pylint: disable=g-import-not-at-top
  from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top
  from bert_toolkit.runs import paths  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "model_dir", "corpus_files", "output_dir")
  corpus = vocab_pruning.corpus_paths(FLAGS.corpus_files)
  source = vocab_pruning.Source(FLAGS.model_dir, FLAGS.do_lower_case)
  outputs = [paths.output_folder("--output_dir", FLAGS.output_dir)]
  paths.check_writes(outputs, [paths.input_path(
      "--model_dir", paths.model_folder(FLAGS.model_dir))] +
                     [paths.input_path("--corpus_files", p) for p in corpus])
  with atomic.reporting_full_disk(FLAGS.output_dir):
    report = vocab_pruning.prune(source, FLAGS.output_dir, corpus,
                                 FLAGS.keep_tokens)
  print(vocab_pruning.format_report(report))


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

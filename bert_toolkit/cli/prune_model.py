"""Removes the least important attention heads and feed-forward neurons of
a fine-tuned run.

  python prune_model.py --model_dir=runs/mine --data_dir=data/mine \
      --output_dir=runs/mine_pruned --keep_heads=0.5 --keep_ffn=0.5

Importance is Michel et al. (2019)'s: |d loss / d mask| of a mask on each
head and neuron, summed over the run's training data (read as the run read
it); heads and neurons are ranked over the whole model. The output is a run
directory with smaller layers that evaluates, exports, serves and can be
fine-tuned or distilled further (--init_checkpoint). The rules are in
bert_toolkit/compression/structure.py.
"""

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common

FLAGS = flags.FLAGS

flags.DEFINE_string(
    "model_dir", None,
    "A fine-tuned run directory (run_info.json): BERT, DistilBERT or "
    "ELECTRA.")
flags.DEFINE_string(
    "data_dir", None,
    "The run's data folder: its training split gives the importance "
    "scores, read as the run read it.")
flags.DEFINE_string(
    "output_dir", None,
    "Where to write the pruned run directory (new, empty, or an earlier "
    "pruning's output, which is replaced).")
flags.DEFINE_float(
    "keep_heads", 1.0,
    "Fraction of the model's attention heads to keep (0 < f <= 1), the "
    "most important over all layers.")
flags.DEFINE_float(
    "keep_ffn", 1.0,
    "Fraction of the model's feed-forward (intermediate) neurons to keep "
    "(0 < f <= 1), the most important over all layers.")
flags.DEFINE_integer(
    "importance_samples", 2000,
    "How many training examples (the first ones) the importance scores "
    "are summed over.")
flags.DEFINE_integer(
    "importance_batch_size", 32,
    "Examples per batch while the importance scores are computed.")


def main(argv):
  del argv  # Unused.
  from bert_toolkit.compression import structure  # pylint: disable=g-import-not-at-top
  from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
  from bert_toolkit.runs import paths  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "model_dir", "data_dir", "output_dir")
  structure.check_fraction("--keep_heads", FLAGS.keep_heads)
  structure.check_fraction("--keep_ffn", FLAGS.keep_ffn)
  for flag in ("importance_samples", "importance_batch_size"):
    if FLAGS[flag].value < 1:
      raise SettingsError("--%s=%d: give at least 1" % (
          flag, FLAGS[flag].value))
  source = structure.Source(FLAGS.model_dir)
  outputs = [paths.output_folder("--output_dir", FLAGS.output_dir)]
  paths.check_writes(outputs, [
      paths.input_path("--model_dir", FLAGS.model_dir),
      paths.input_path("--data_dir", FLAGS.data_dir)])
  with atomic.reporting_full_disk(FLAGS.output_dir):
    report = structure.prune(source, FLAGS.output_dir, FLAGS.data_dir,
                             FLAGS.keep_heads, FLAGS.keep_ffn,
                             FLAGS.importance_samples,
                             FLAGS.importance_batch_size)
  print(structure.format_report(report))


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

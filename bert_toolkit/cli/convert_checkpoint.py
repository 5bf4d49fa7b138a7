"""Converts checkpoints between Hugging Face and TF1, both ways.

  python convert_checkpoint.py --hf_dir=all-MiniLM-L6-v2 --output_dir=minilm_tf1
  python convert_checkpoint.py --to=hf --model_dir=runs/sst2 --output_dir=sst2_hf

--to=tf1 (the default) reads a Hugging Face folder (config.json, vocab.txt and
model.safetensors, or pytorch_model.bin with torch, or tf_model.h5) and
writes output_dir/model.ckpt.*, output_dir/<family>_config.json and
output_dir/vocab.txt, which --init_checkpoint / --bert_config_file /
--vocab_file of the training scripts take.

--to=hf reads a TF1 model (a run directory of this toolkit, whose
run_info.json gives the head and labels, or a checkpoint folder / prefix
with its config and vocab) and writes a folder transformers loads:
config.json, model.safetensors, vocab.txt, tokenizer_config.json,
special_tokens_map.json. See docs/checkpoints.md.

Both print what was converted, what was not used and what was missing.
"""

import types

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common
import modeling
from modeling.hf.errors import ConversionError

FLAGS = flags.FLAGS

DIRECTIONS = ("tf1", "hf")

flags.DEFINE_enum(
    "to", "tf1", list(DIRECTIONS),
    "tf1: Hugging Face folder (--hf_dir) -> TF1 checkpoint; hf: TF1 model "
    "(--model_dir) -> Hugging Face folder.")
flags.DEFINE_string(
    "hf_dir", None,
    "--to=tf1: Hugging Face model folder: config.json, vocab.txt and "
    "model.safetensors (or pytorch_model.bin, or tf_model.h5).")
flags.DEFINE_string(
    "model_dir", None,
    "--to=hf: a run directory of this toolkit (run_info.json), or a TF1 "
    "checkpoint folder or prefix with its <family>_config.json and vocab.txt "
    "(a pre-trained model, a convert_checkpoint.py output, a "
    "run_pretraining.py output).")
flags.DEFINE_string(
    "output_dir", None,
    "Where to write: --to=tf1 model.ckpt.*, <family>_config.json and "
    "vocab.txt; --to=hf config.json, model.safetensors, vocab.txt, "
    "tokenizer_config.json, special_tokens_map.json.")
flags.DEFINE_enum(
    "model_type", None, list(modeling.MODEL_TYPES),
    "Model family; by default read from config.json (an explicit value must "
    "agree with it).")
flags.DEFINE_boolean(
    "encoder_only", False,
    "--to=hf: publish the encoder alone (*Model), leaving out the run's "
    "head.")
flags.DEFINE_boolean(
    "do_lower_case", None,
    "--to=hf: tokenizer_config.json's do_lower_case for a checkpoint folder "
    "that does not say (a run directory's run_info.json does; default "
    "true).")

# The input flag of each direction (the other direction's is refused).
_INPUT_FLAGS = types.MappingProxyType({"tf1": "hf_dir", "hf": "model_dir"})


def check_direction(values):
  """Refuses the other direction's input flag (--hf_dir with --to=hf)."""
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
  for direction, name in _INPUT_FLAGS.items():
    if direction != values.to and getattr(values, name):
      raise SettingsError(
          "--%s is the input of --to=%s; with --to=%s pass --%s" % (
              name, direction, values.to, _INPUT_FLAGS[values.to]))


def to_hf():
  """--to=hf: TF1 model -> Hugging Face folder."""
  from bert_toolkit.tasks import hf_heads  # pylint: disable=g-import-not-at-top
  from modeling.hf import export as hf_export  # pylint: disable=g-import-not-at-top

  from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top
  from bert_toolkit.runs import paths  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "model_dir", "output_dir")
  outputs = [paths.output_folder("--output_dir", FLAGS.output_dir)]
  paths.check_writes(outputs, [paths.input_path(
      "--model_dir", paths.model_folder(FLAGS.model_dir))])
  result = hf_export.export_hf(hf_heads.export_source(
      FLAGS.model_dir, FLAGS.model_type, FLAGS.encoder_only,
      FLAGS.do_lower_case))
  paths.prepare_outputs(outputs)
  with atomic.reporting_full_disk(FLAGS.output_dir):
    hf_export.write_files(result, FLAGS.output_dir, atomic.replacing_path)
  print(hf_export.format_export_report(result, FLAGS.output_dir))


def to_tf1():
  """--to=tf1: Hugging Face folder -> TF1 checkpoint."""
  from modeling.hf import convert as hf_convert  # pylint: disable=g-import-not-at-top

  from bert_toolkit.runs import atomic  # pylint: disable=g-import-not-at-top
  from bert_toolkit.runs import paths  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "hf_dir", "output_dir")
  # Where it writes, against what it reads, before reading the weights.
  outputs = [paths.output_folder("--output_dir", FLAGS.output_dir)]
  paths.check_writes(outputs, [paths.input_path("--hf_dir", FLAGS.hf_dir)])
  paths.prepare_outputs(outputs)
  with atomic.reporting_full_disk(FLAGS.output_dir):
    result = hf_convert.convert_hf_folder(FLAGS.hf_dir, FLAGS.output_dir,
                                          FLAGS.model_type)
  print(hf_convert.format_report(result))


def main(argv):
  del argv  # Unused.
  check_direction(FLAGS)
  if FLAGS.to == "hf":
    to_hf()
  else:
    to_tf1()


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main, extra_errors=(ConversionError,))


if __name__ == "__main__":
  run()

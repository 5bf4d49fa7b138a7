"""Converts a Hugging Face BERT / ALBERT / DistilBERT / ELECTRA folder to TF1.

  python convert_checkpoint.py --hf_dir=all-MiniLM-L6-v2 --output_dir=minilm_tf1

reads config.json, vocab.txt and model.safetensors (or pytorch_model.bin with
torch, or tf_model.h5) and writes output_dir/model.ckpt.*,
output_dir/<family>_config.json and output_dir/vocab.txt, which
--init_checkpoint / --bert_config_file / --vocab_file of the training scripts
take. Prints what was converted, what was not used and what was missing.
"""

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common
import modeling
from modeling.hf.errors import ConversionError

FLAGS = flags.FLAGS

flags.DEFINE_string(
    "hf_dir", None,
    "Hugging Face model folder: config.json, vocab.txt and model.safetensors "
    "(or pytorch_model.bin, or tf_model.h5).")
flags.DEFINE_string(
    "output_dir", None,
    "Where to write model.ckpt.*, <family>_config.json and vocab.txt.")
flags.DEFINE_enum(
    "model_type", None, list(modeling.MODEL_TYPES),
    "Model family; by default read from config.json (an explicit value must "
    "agree with it).")


def main(argv):
  del argv  # Unused.
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


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main, extra_errors=(ConversionError,))


if __name__ == "__main__":
  run()

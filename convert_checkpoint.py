"""Converts a Hugging Face BERT / ALBERT / DistilBERT folder to TF1.

  python convert_checkpoint.py --hf_dir=all-MiniLM-L6-v2 --output_dir=minilm_tf1

reads config.json, vocab.txt and model.safetensors (or pytorch_model.bin with
torch, or tf_model.h5) and writes output_dir/model.ckpt.*,
output_dir/<family>_config.json and output_dir/vocab.txt, which
--init_checkpoint / --bert_config_file / --vocab_file of the training scripts
take. Prints what was converted, what was not used and what was missing.
"""

import sys

from absl import app
from absl import flags

from modeling import hf_convert
from modeling.hf_errors import ConversionError

FLAGS = flags.FLAGS

flags.DEFINE_string(
    "hf_dir", None,
    "Hugging Face model folder: config.json, vocab.txt and model.safetensors "
    "(or pytorch_model.bin, or tf_model.h5).")
flags.DEFINE_string(
    "output_dir", None,
    "Where to write model.ckpt.*, <family>_config.json and vocab.txt.")
flags.DEFINE_enum(
    "model_type", None, ["bert", "albert", "distilbert"],
    "Model family; by default read from config.json (an explicit value must "
    "agree with it).")


def main(argv):
  del argv  # Unused.
  try:
    result = hf_convert.convert_hf_folder(FLAGS.hf_dir, FLAGS.output_dir,
                                          FLAGS.model_type)
  except ConversionError as e:
    print("ERROR: %s" % e, file=sys.stderr)
    return 1
  print(hf_convert.format_report(result))
  return 0


if __name__ == "__main__":
  flags.mark_flag_as_required("hf_dir")
  flags.mark_flag_as_required("output_dir")
  app.run(main)

"""Converts a Hugging Face BERT / ALBERT / DistilBERT / ELECTRA folder to TF1.

  python convert_checkpoint.py --hf_dir=all-MiniLM-L6-v2 --output_dir=minilm_tf1

reads config.json, vocab.txt and model.safetensors (or pytorch_model.bin with
torch, or tf_model.h5) and writes output_dir/model.ckpt.*,
output_dir/<family>_config.json and output_dir/vocab.txt, which
--init_checkpoint / --bert_config_file / --vocab_file of the training scripts
take. Prints what was converted, what was not used and what was missing.
"""

# The script lives in bert_toolkit/cli/convert_checkpoint.py (importing it defines its flags);
# this file keeps `python convert_checkpoint.py` working from a checkout.
from bert_toolkit.cli.convert_checkpoint import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.convert_checkpoint import run

if __name__ == "__main__":
  run()

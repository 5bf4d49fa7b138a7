"""Prints the README's parity table: our graphs against the outputs the
official implementations computed for ../shared/reference.

  .venv/bin/python tools/parity_table.py

For each reference folder: the largest |ours - theirs| of the embedding
output, of all encoder layers and of the pooled output, on the positions
where input_mask is 1 (Hugging Face folders are converted first, into a
temporary folder). tests/test_modeling_parity.py asserts each is < 1e-4.
"""

import os
import sys
import tempfile

import numpy as np

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_DIR)

import modeling  # pylint: disable=g-import-not-at-top
from modeling.hf import convert as hf_convert  # pylint: disable=g-import-not-at-top
from tests import modelrun  # pylint: disable=g-import-not-at-top
from tests.paths import REFERENCE_DIR  # pylint: disable=g-import-not-at-top

# (reference folder, what produced it, HF folder to convert or None)
ROWS = (
    ("bert_zh_tiny", "google-research/bert", None),
    ("albert_zh_tiny", "google-research/albert", None),
    ("electra_zh_tiny", "google-research/electra, HFL layout", None),
    ("distilbert_en_tiny", "transformers, converted", "distilbert_en_tiny"),
    ("electra_en_tiny_hf", "transformers, converted", "electra_en_tiny_hf"),
    ("minilm_en", "transformers, converted", "minilm"),
)


def _fmt(value):
  return "0 (bit-identical)" if value == 0 else "%.1e" % value


def main():
  tmp = tempfile.mkdtemp(prefix="parity_")
  lines = ["| reference | embedding output | all encoder layers | pooled "
           "output |", "|---|---|---|---|"]
  for name, source, hf in ROWS:
    ref = dict(np.load(os.path.join(REFERENCE_DIR, name, "reference.npz")))
    if hf is None:
      files = modeling.find_pretrained(os.path.join(REFERENCE_DIR, name))
      model_type, config, checkpoint = (files.model_type, files.config,
                                        files.checkpoint)
    else:
      if hf == "minilm":
        from tests import hf_fixtures  # pylint: disable=g-import-not-at-top
        hf_dir = hf_fixtures.minilm_dir()
      else:
        hf_dir = os.path.join(REFERENCE_DIR, hf)
      result = hf_convert.convert_hf_folder(hf_dir, os.path.join(tmp, name))
      model_type, checkpoint = result.model_type, result.checkpoint
      config = modeling.BertConfig.from_json_file(result.config_file)
    out = modelrun.run_model(model_type, config, checkpoint,
                             ref["input_ids"], ref["input_mask"],
                             ref["segment_ids"])
    mask = ref["input_mask"]
    embedding = modelrun.max_diff(out["embedding_output"],
                                  ref["embedding_output"], mask)
    encoder = modelrun.max_diff(out["all_encoder_layers"],
                                ref["all_encoder_layers"], mask)
    pooled = ("(no pooler)" if not ref["pooled_output"].size else
              _fmt(float(np.abs(out["pooled_output"] -
                                ref["pooled_output"]).max())))
    label = "all-MiniLM-L6-v2" if name == "minilm_en" else "`%s`" % name
    lines.append("| %s (%s) | %s | %s | %s |" % (
        label, source, _fmt(embedding), _fmt(encoder), pooled))
  print("\n".join(lines))


if __name__ == "__main__":
  main()

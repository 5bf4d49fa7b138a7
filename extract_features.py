r"""Extract fixed feature vectors from a pre-trained BERT, ALBERT, DistilBERT
or ELECTRA.

Google's command line and output, plus `--model_type` and a `.npy` output:

  python extract_features.py --input_file=in.txt --output_file=out.jsonl \
      --init_checkpoint=chinese_L-12_H-768_A-12 --layers=-1,-2,-3,-4

Each input line is `text_a` or `text_a ||| text_b`. JSON lines output:
{"linex_index": i, "features": [{"token": ..., "layers": [{"index": -1,
"values": [...]}, ...]}, ...]}. With --output_format=npy, one vector per line
(--pooling mean|cls|pooled) is written as a [lines, hidden] float32 matrix.
"""

# The script lives in bert_toolkit/cli/extract_features.py (importing it defines its flags);
# this file keeps `python extract_features.py` working from a checkout.
from bert_toolkit.cli.extract_features import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.extract_features import run

if __name__ == "__main__":
  run()

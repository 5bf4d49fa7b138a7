"""Classify (or tag) texts with an exported model: loads it once, prints
one JSON line per text.

  python predict.py --export_dir=exports/sst2 "a gorgeous, witty film" ...
  python predict.py --export_dir=exports/lcqmc --text_b="..." "..."
  python predict.py --export_dir=exports/sst2 --input_file=texts.txt

One JSON object per input text on stdout, in input order, e.g.
  {"text": "...", "label": "1", "label_id": 1,
   "probabilities": {"0": 0.02, "1": 0.98}}

--input_file is UTF-8 (a BOM is dropped), one text a line. An empty text
(a blank line, or "" on the command line) is an error naming it, as the
server refuses it: every input line gets exactly one output line.
"""

# The script lives in bert_toolkit/cli/predict.py (importing it defines its flags);
# this file keeps `python predict.py` working from a checkout.
from bert_toolkit.cli.predict import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.predict import run

if __name__ == "__main__":
  run()

r"""Create pre-training data (masked LM + next sentence / sentence order) from
raw text, with google-research/bert's flags and output.

  python create_pretraining_data.py --input_file=corpus/*.txt \
      --output_file=data/pretrain-0.tfrecord,data/pretrain-1.tfrecord \
      --vocab_file=vocab.txt --max_seq_length=128 \
      --max_predictions_per_seq=20 --masked_lm_prob=0.15 --dupe_factor=5

Input: one sentence a line, a blank line between documents (UTF-8). Beyond
Google: whole-word masking for Chinese (--do_whole_word_mask with
--word_segmentation=spaces|wordlist|jieba), ALBERT's --sop and n-gram
masking (--max_ngram), streaming in chunks, all cores, progress with ETA.
See bert_toolkit/data/pretraining_data.py for the rules.
"""

# The script lives in bert_toolkit/cli/create_pretraining_data.py (importing it defines its flags);
# this file keeps `python create_pretraining_data.py` working from a checkout.
from bert_toolkit.cli.create_pretraining_data import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.create_pretraining_data import run

if __name__ == "__main__":
  run()

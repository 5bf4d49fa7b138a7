r"""Pre-train (or continue pre-training) BERT / ALBERT with masked LM and next
sentence (or sentence order) prediction, with google-research/bert's flags.

  python run_pretraining.py --input_file=data/pretrain-*.tfrecord \
      --output_dir=runs/pretrain --bert_config_file=bert_config.json \
      --vocab_file=vocab.txt --do_train --do_eval --train_batch_size=32 \
      --max_seq_length=128 --max_predictions_per_seq=20 \
      --num_train_steps=10000 --num_warmup_steps=1000 --learning_rate=1e-4

Continuing from an official checkpoint (--init_checkpoint) restores its
encoder and its cls/* heads and leaves its optimizer slots. The output
directory holds the checkpoints, the config and vocab.txt: it is directly a
--init_checkpoint of run_classifier.py / run_ner.py. eval_results.txt is
Google's (masked_lm_accuracy, masked_lm_loss, next_sentence_accuracy,
next_sentence_loss, global_step, loss). Running the same command again
resumes. Beyond Google: --model_type=albert, gradient accumulation,
--optimizer=lamb, --dynamic_masking, progress with ETA.
"""

# The script lives in bert_toolkit/cli/run_pretraining.py (importing it defines its flags);
# this file keeps `python run_pretraining.py` working from a checkout.
from bert_toolkit.cli.run_pretraining import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.run_pretraining import run

if __name__ == "__main__":
  run()

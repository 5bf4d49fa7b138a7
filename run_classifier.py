r"""Fine-tune BERT / ALBERT / DistilBERT for sentence (pair) classification.

  python run_classifier.py --task=chnsenticorp --data_dir=DATA \
      --init_checkpoint=chinese_L-12_H-768_A-12 --output_dir=runs/chnsenticorp \
      --do_train --do_eval --do_predict

Flags follow google-research/bert's run_classifier.py; see the README for
the additions (model folders, dynamic padding, freezing, accumulation,
layer-wise learning-rate decay, best checkpoint, early stopping, resume).
Running the same command again after an interruption resumes.
"""

# The script lives in bert_toolkit/cli/run_classifier.py (importing it defines its flags);
# this file keeps `python run_classifier.py` working from a checkout.
from bert_toolkit.cli.run_classifier import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.run_classifier import run

if __name__ == "__main__":
  run()

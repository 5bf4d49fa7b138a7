r"""Fine-tune BERT / ALBERT / DistilBERT for named-entity recognition.

  python run_ner.py --task=peoples_daily --data_dir=DATA \
      --init_checkpoint=chinese_L-12_H-768_A-12 --output_dir=runs/ner \
      --do_train --do_eval --do_predict [--crf] [--lstm_size=128]

Tasks: peoples_daily, msra, cluener, conll2003, bio (see bert_toolkit/data/ner_data.py).
Evaluation is entity level (seqeval); long sentences are windowed, never
truncated. Flags follow google-research/bert / run_classifier.py; see the
README's NER section. Running the same command again resumes; head flags
left out of an evaluate-only or resumed run come from the run directory.
"""

# The script lives in bert_toolkit/cli/run_ner.py (importing it defines its flags);
# this file keeps `python run_ner.py` working from a checkout.
from bert_toolkit.cli.run_ner import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.run_ner import run

if __name__ == "__main__":
  run()

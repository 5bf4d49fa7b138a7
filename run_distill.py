r"""Distil a fine-tuned teacher run into a small, fast student (classifier
or NER), as a normal run directory.

  python run_distill.py --teacher_dir=runs/sst2_minilm --data_dir=DATA \
      --output_dir=runs/sst2_student --student_layers=0,2,4 \
      --do_train --do_eval --alpha=0.5 --temperature=2
  python run_distill.py --teacher_dir=runs/pd_crf --data_dir=DATA \
      --init_checkpoint=small_chinese_model --output_dir=runs/pd_student ...

The teacher's task, labels, head, vocab, case and max_seq_length come from
its run_info.json. The student: --init_checkpoint (a pre-trained model with
the teacher's vocab) or --student_layers (teacher layers to keep, initialised
from the teacher's fine-tuned weights, head included). Losses: see
bert_toolkit/tasks/distillation.py. The output directory evaluates, predicts,
exports and serves like any run_classifier.py / run_ner.py run; running the
same command again resumes.
"""

# The script lives in bert_toolkit/cli/run_distill.py (importing it defines its flags);
# this file keeps `python run_distill.py` working from a checkout.
from bert_toolkit.cli.run_distill import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.run_distill import run

if __name__ == "__main__":
  run()

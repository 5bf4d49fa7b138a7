r"""Train, evaluate and predict a task kind of the registry (bert_toolkit.kinds)
that has no script of its own, such as regression:

  python run_task.py --kind=regression --task=stsb --data_dir=STS-B \
      --init_checkpoint=chinese_L-12_H-768_A-12 --output_dir=runs/stsb \
      --do_train --do_eval --do_predict

The flags are every run script's (run_classifier.py's shared ones) plus the
kind's own settings; `--kind=K --help` lists them. Running the same command
again after an interruption resumes.
"""

# The script lives in bert_toolkit/cli/run_task.py (importing it defines its flags);
# this file keeps `python run_task.py` working from a checkout.
from bert_toolkit.cli.run_task import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.run_task import run

if __name__ == "__main__":
  run()

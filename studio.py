"""The studio: fine-tune, watch, evaluate, compare, export and try models
from a web page.

  python studio.py --workspace=studio_ws            # http://127.0.0.1:8600
  python studio.py --workspace=ws --host=0.0.0.0 --token=SECRET

The workspace holds data/<name>/ (train/dev/test files), models/<name>/
(pre-trained checkpoints) and runs/ (the studio's runs); see
bert_toolkit/studio/workspace.py. Runs are the project's scripts in subprocesses, one at
a time by default; stopping the studio leaves them running, and a studio
started again re-attaches to them.
"""

# The script lives in bert_toolkit/cli/studio.py (importing it defines its flags);
# this file keeps `python studio.py` working from a checkout.
from bert_toolkit.cli.studio import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.studio import run

if __name__ == "__main__":
  run()

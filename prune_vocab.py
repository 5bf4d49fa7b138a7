"""`python prune_vocab.py` in a checkout runs bert_toolkit/cli/prune_vocab.py."""
import runpy
if __name__ == "__main__":
  runpy.run_module("bert_toolkit.cli.prune_vocab", run_name="__main__", alter_sys=True)
else:  # importing it gives the script's module, its flags defined
  from bert_toolkit.cli.prune_vocab import *  # noqa: F401,F403 pylint: disable=wildcard-import

"""`python create_pretraining_data.py ...` from a checkout: runs bert_toolkit/cli/create_pretraining_data.py, the
script itself (its docstring is the --help text). Installed, the same is
the console command bert-create-pretraining-data (pyproject.toml)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("bert_toolkit.cli.create_pretraining_data", run_name="__main__",
                   alter_sys=True)
else:  # `import create_pretraining_data` gives the script's module (its flags defined)
  from bert_toolkit.cli.create_pretraining_data import *  # noqa: F401,F403 pylint: disable=wildcard-import

"""`python run_ner.py ...` from a checkout: runs bert_toolkit/cli/run_ner.py, the
script itself (its docstring is the --help text). Installed, the same is
the console command bert-run-ner (pyproject.toml)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("bert_toolkit.cli.run_ner", run_name="__main__",
                   alter_sys=True)
else:  # `import run_ner` gives the script's module (its flags defined)
  from bert_toolkit.cli.run_ner import *  # noqa: F401,F403 pylint: disable=wildcard-import

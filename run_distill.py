"""`python run_distill.py ...` from a checkout: runs bert_toolkit/cli/run_distill.py, the
script itself (its docstring is the --help text). Installed, the same is
the console command bert-run-distill (pyproject.toml)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("bert_toolkit.cli.run_distill", run_name="__main__",
                   alter_sys=True)
else:  # `import run_distill` gives the script's module (its flags defined)
  from bert_toolkit.cli.run_distill import *  # noqa: F401,F403 pylint: disable=wildcard-import

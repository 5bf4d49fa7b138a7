"""`python run_task.py ...` from a checkout: runs bert_toolkit/cli/run_task.py, the
script itself (its docstring is the --help text). Installed, the same is
the console command bert-run-task (pyproject.toml)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("bert_toolkit.cli.run_task", run_name="__main__",
                   alter_sys=True)
else:  # `import run_task` gives the script's module (its flags defined)
  from bert_toolkit.cli.run_task import *  # noqa: F401,F403 pylint: disable=wildcard-import

"""`python export_savedmodel.py ...` from a checkout: runs bert_toolkit/cli/export_savedmodel.py, the
script itself (its docstring is the --help text). Installed, the same is
the console command bert-export-savedmodel (pyproject.toml)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("bert_toolkit.cli.export_savedmodel", run_name="__main__",
                   alter_sys=True)
else:  # `import export_savedmodel` gives the script's module (its flags defined)
  from bert_toolkit.cli.export_savedmodel import *  # noqa: F401,F403 pylint: disable=wildcard-import

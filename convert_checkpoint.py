"""`python convert_checkpoint.py ...` from a checkout: runs bert_toolkit/cli/convert_checkpoint.py, the
script itself (its docstring is the --help text). Installed, the same is
the console command bert-convert-checkpoint (pyproject.toml)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("bert_toolkit.cli.convert_checkpoint", run_name="__main__",
                   alter_sys=True)
else:  # `import convert_checkpoint` gives the script's module (its flags defined)
  from bert_toolkit.cli.convert_checkpoint import *  # noqa: F401,F403 pylint: disable=wildcard-import

"""`python export_onnx.py` in a checkout runs bert_toolkit/cli/export_onnx.py."""
import runpy
if __name__ == "__main__":
  runpy.run_module("bert_toolkit.cli.export_onnx", run_name="__main__", alter_sys=True)
else:  # importing it gives the script's module, its flags defined
  from bert_toolkit.cli.export_onnx import *  # noqa: F401,F403 pylint: disable=wildcard-import

"""pyproject.toml: `pip install .` into a fresh virtual environment adds
three top-level packages (bert_toolkit, and modeling and tokenization under
Google's names) and nothing else, and every console command answers --help.

The fresh environment sees the test environment's site-packages through a
.pth file, so its dependencies (TensorFlow, numpy, ...) are satisfied
without a 600 MB download; `pip install --no-index` proves nothing else is
fetched, and pip resolves the project's requirements against them.
"""

import concurrent.futures
import glob
import os
import shutil
import site
import subprocess
import sys

import pytest

from tests.paths import REPO_DIR

COMMANDS = ("bert-run-classifier", "bert-run-ner", "bert-run-distill",
            "bert-run-pretraining", "bert-run-task",
            "bert-create-pretraining-data",
            "bert-extract-features", "bert-convert-checkpoint",
            "bert-export-savedmodel", "bert-predict", "bert-serve",
            "bert-studio")


def _source_copy(target):
  """The files a build reads, copied (the build writes build/ and
  *.egg-info beside them, which must not land in the checkout)."""
  def ignore(folder, names):
    return [n for n in names if n in ("__pycache__", ".cache", "output")]
  for name in os.listdir(REPO_DIR):
    path = os.path.join(REPO_DIR, name)
    if name.endswith(".py") or name in ("pyproject.toml", "README.md",
                                         "LICENSE", "NOTICE"):
      shutil.copy(path, target)
    elif name in ("modeling", "tokenization", "bert_toolkit"):
      shutil.copytree(path, os.path.join(target, name), ignore=ignore)


def _run(command, cwd, timeout=600):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  env.pop("PYTHONPATH", None)
  return subprocess.run(command, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, universal_newlines=True,
                        cwd=cwd, env=env, timeout=timeout)


@pytest.mark.slow
def test_pip_install_into_a_fresh_venv(tmp_path):
  source = tmp_path / "source"
  source.mkdir()
  _source_copy(str(source))
  venv = tmp_path / "fresh"
  proc = _run([sys.executable, "-m", "venv", str(venv)], str(tmp_path))
  assert proc.returncode == 0, proc.stdout[-3000:]
  python = str(venv / "bin" / "python")
  (fresh_site,) = glob.glob(str(venv / "lib" / "python*" / "site-packages"))
  with open(os.path.join(fresh_site, "_test_dependencies.pth"), "w") as f:
    f.write("\n".join(site.getsitepackages()) + "\n")
  proc = _run([python, "-m", "pip", "install", "-q", "--no-index",
               "--no-build-isolation", str(source)], str(tmp_path))
  assert proc.returncode == 0, proc.stdout[-3000:]

  # The modules come from the fresh environment, not from the checkout.
  proc = _run([python, "-c", "import modeling, tokenization, bert_toolkit, "
               "bert_toolkit.serving, bert_toolkit.cli.run_classifier; "
               "print(modeling.__file__); "
               "print(modeling.BertConfig.__name__)"], str(tmp_path))
  assert proc.returncode == 0, proc.stdout[-3000:]
  location = proc.stdout.strip().splitlines()[-2]
  assert location.startswith(fresh_site), location
  assert proc.stdout.strip().endswith("BertConfig")
  installed = set(os.listdir(fresh_site))
  # No generic top-level name: the project's own code is one package.
  top_level = {n[:-3] if n.endswith(".py") else n for n in installed
               if not n.endswith((".dist-info", ".pth")) and
               n not in ("__pycache__", "pip", "setuptools", "_distutils_hack",
                         "pkg_resources", "distutils-precedence")}
  assert top_level == {"bert_toolkit", "modeling", "tokenization"}, top_level
  # The studio's page ships with it (package data).
  assert os.path.isfile(os.path.join(fresh_site, "bert_toolkit", "studio",
                                     "static", "app.js"))
  (dist_info,) = [n for n in installed if n.startswith("bert_tf1_toolkit")
                  and n.endswith(".dist-info")]
  dist_files = os.listdir(os.path.join(fresh_site, dist_info))
  assert "LICENSE" in str(dist_files) or os.path.isdir(
      os.path.join(fresh_site, dist_info, "licenses"))

  # Every console command starts and answers --help.
  def help_of(command):
    return command, _run([str(venv / "bin" / command), "--help"],
                         str(tmp_path), timeout=300)

  with concurrent.futures.ThreadPoolExecutor(2) as pool:
    answers = dict(pool.map(help_of, COMMANDS))
  for command, answer in answers.items():
    assert answer.returncode in (0, 1), (command, answer.stdout[-3000:])
    assert "Traceback" not in answer.stdout, (command, answer.stdout[-3000:])
    assert "--" in answer.stdout and "USAGE" in answer.stdout.upper(), (
        command, answer.stdout[-2000:])
  help_text = answers["bert-run-classifier"].stdout
  assert "pack_sequences" in help_text and "--long_text" in help_text
  assert "--workspace" in answers["bert-studio"].stdout
  # A user error from an installed command is one `error:` line, exit 2.
  proc = _run([str(venv / "bin" / "bert-run-classifier"), "--task=nosuch",
               "--data_dir=x", "--output_dir=" + str(tmp_path / "o")],
              str(tmp_path), timeout=300)
  assert proc.returncode == 2, proc.stdout[-3000:]
  assert proc.stdout.strip().splitlines()[-1].startswith("error: ")

"""pyproject.toml: the wheel holds the top-level modules and packages as
they are in the checkout, and its console commands run."""

import os
import shutil
import subprocess
import sys
import zipfile

from tests.paths import REPO_DIR

COMMANDS = ("bert-run-classifier", "bert-run-ner", "bert-run-distill",
            "bert-run-pretraining", "bert-create-pretraining-data",
            "bert-extract-features", "bert-convert-checkpoint",
            "bert-export-savedmodel", "bert-predict", "bert-serve")


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
    elif name in ("modeling", "tokenization", "finetuning", "serving"):
      shutil.copytree(path, os.path.join(target, name), ignore=ignore)


def test_wheel_installs_modules_and_console_commands(tmp_path):
  source = tmp_path / "source"
  source.mkdir()
  _source_copy(str(source))
  wheels = tmp_path / "wheels"
  proc = subprocess.run(
      [sys.executable, "-m", "pip", "wheel", "--no-deps",
       "--no-build-isolation", "-q", "-w", str(wheels), str(source)],
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      universal_newlines=True, timeout=600)
  assert proc.returncode == 0, proc.stdout[-3000:]
  (wheel,) = os.listdir(str(wheels))
  with zipfile.ZipFile(str(wheels / wheel)) as archive:
    names = set(archive.namelist())
    entry_points = archive.read(
        [n for n in names if n.endswith("entry_points.txt")][0]).decode()
    license_files = [n for n in names if n.endswith("/LICENSE")]
  for module in ("run_classifier.py", "serve.py", "modeling/__init__.py",
                 "modeling/hf/convert.py", "tokenization/__init__.py",
                 "finetuning/packing.py", "serving/predictor.py"):
    assert module in names, module
  assert not any(n.startswith(("tests/", "bench/")) for n in names)
  for command in COMMANDS:
    assert command + " = " in entry_points, command
  assert license_files
  # Installed beside the test environment's TF, the commands run.
  target = tmp_path / "installed"
  proc = subprocess.run(
      [sys.executable, "-m", "pip", "install", "--no-deps", "-q",
       "--target", str(target), str(wheels / wheel)],
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      universal_newlines=True, timeout=600)
  assert proc.returncode == 0, proc.stdout[-3000:]
  env = dict(os.environ, PYTHONPATH=str(target), TF_CPP_MIN_LOG_LEVEL="2")
  command = [sys.executable, str(target / "bin" / "bert-run-classifier")]
  proc = subprocess.run(command + ["--helpfull"], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, universal_newlines=True,
                        env=env, cwd=str(tmp_path), timeout=300)
  assert proc.returncode in (0, 1), proc.stdout[-3000:]   # absl's help: 1
  assert "Traceback" not in proc.stdout
  assert "pack_sequences" in proc.stdout and "--task_name" in proc.stdout
  proc = subprocess.run(command + ["--task=nosuch", "--data_dir=x",
                                   "--output_dir=" + str(tmp_path / "o")],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, env=env, cwd=str(tmp_path),
                        timeout=300)
  assert proc.returncode == 2, proc.stderr[-3000:]
  assert proc.stderr.strip().splitlines()[-1].startswith("error: ")

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
            "bert-export-savedmodel", "bert-export-onnx", "bert-predict",
            "bert-serve",
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


# ------------------------------------------------- the supported Pythons ---
# Exactly the Pythons a TensorFlow with tf.estimator is built for may
# install the toolkit: requires-python, the TensorFlow markers of
# pyproject.toml and requirements.txt, and the runtime check
# (bert_toolkit/cli/python_check.py) name the same set.

MINORS = tuple((3, minor) for minor in range(0, 21))


def _pyproject():
  try:
    import tomllib  # pylint: disable=g-import-not-at-top
  except ImportError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli")
  with open(os.path.join(REPO_DIR, "pyproject.toml"), "rb") as f:
    return tomllib.load(f)


def _tensorflow_requirements(lines):
  from packaging.requirements import Requirement  # pylint: disable=g-import-not-at-top
  requirements = [Requirement(line) for line in lines]
  return [r for r in requirements
          if r.name in ("tensorflow", "tensorflow-cpu")]


def _with_tensorflow(requirements):
  """Minor versions (3, m) for which some TensorFlow requirement applies."""
  found = set()
  for major, minor in MINORS:
    env = {"python_version": "%d.%d" % (major, minor),
           "python_full_version": "%d.%d.0" % (major, minor)}
    if any(r.marker is None or r.marker.evaluate(env)
           for r in requirements):
      found.add((major, minor))
  return found


def test_requires_python_is_exactly_the_pythons_with_a_tensorflow():
  from packaging.specifiers import SpecifierSet  # pylint: disable=g-import-not-at-top
  from bert_toolkit.cli import python_check  # pylint: disable=g-import-not-at-top
  project = _pyproject()["project"]
  allowed = SpecifierSet(project["requires-python"])
  installable = {v for v in MINORS
                 if "%d.%d.0" % v in allowed and "%d.%d.99" % v in allowed}
  partly = {v for v in MINORS
            if "%d.%d.0" % v in allowed or "%d.%d.99" % v in allowed}
  assert installable == partly  # whole minor versions only
  from_pyproject = _with_tensorflow(
      _tensorflow_requirements(project["dependencies"]))
  with open(os.path.join(REPO_DIR, "requirements.txt")) as f:
    lines = [line.split("#")[0].strip() for line in f]
  from_requirements = _with_tensorflow(
      _tensorflow_requirements([line for line in lines if line]))
  assert installable == {(3, 7), (3, 9), (3, 10), (3, 11)}
  assert from_pyproject == installable
  assert from_requirements == installable
  assert set(python_check.SUPPORTED) == installable
  assert set(python_check.DEV_SUPPORTED) <= installable


def test_python_check_names_the_pythons():
  from bert_toolkit.cli import python_check  # pylint: disable=g-import-not-at-top
  for ok in ((3, 7, 17), (3, 9, 0), (3, 11, 7)):
    assert python_check.problem(ok) is None
  for bad in ((3, 6, 15), (3, 8, 10), (3, 12, 1), (3, 13, 0)):
    line = python_check.problem(bad)
    assert line.startswith("error: ") and "\n" not in line
    assert "Python 3.7 or 3.9-3.11" in line
    assert "%d.%d.%d" % bad in line
  assert python_check.describe(python_check.DEV_SUPPORTED) == "3.9-3.11"
  assert python_check.problem((3, 7, 1), python_check.DEV_SUPPORTED)


def test_a_command_on_an_unsupported_python_says_which_python():
  """What a console command or root script does on Python 3.12: one line,
  exit 2, before absl (not installed there) is imported."""
  code = ("import sys; sys.version_info = (3, 12, 1, 'final', 0); "
          "sys.modules['absl'] = None; "
          "from bert_toolkit.cli.run_classifier import run; run()")
  proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=60)
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert proc.stderr.count("\n") == 1, proc.stderr[-2000:]
  assert proc.stderr.startswith("error: this toolkit needs Python 3.7 or "
                                "3.9-3.11"), proc.stderr
  assert "3.12.1" in proc.stderr


_FAKE_PYTHON = """#!%(python)s
# A python3 that says it is Python %(version)s: runs the version check only.
import runpy, sys
if len(sys.argv) < 2 or not sys.argv[1].endswith("python_check.py"):
  sys.stderr.write("fake python: not expected here: %%r\\n" %% sys.argv[1:])
  sys.exit(99)
sys.version_info = %(version_info)r
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _fake_python(folder, name, version):
  path = os.path.join(folder, name)
  with open(path, "w") as f:
    f.write(_FAKE_PYTHON % {
        "python": sys.executable, "version": ".".join(map(str, version)),
        "version_info": tuple(version) + ("final", 0)})
  os.chmod(path, 0o755)
  return path


@pytest.mark.parametrize("script", ["quickstart.sh", "studio.sh"])
@pytest.mark.parametrize("with_venv", [False, True], ids=["python3", "venv"])
def test_setup_scripts_refuse_an_unsupported_python(tmp_path, script,
                                                     with_venv):
  """quickstart.sh / studio.sh with a python3 (or an old .venv) of 3.12:
  one line naming the Pythons that work, exit 2, nothing installed."""
  checkout = tmp_path / "checkout"
  (checkout / "bert_toolkit" / "cli").mkdir(parents=True)
  shutil.copy(os.path.join(REPO_DIR, script), str(checkout))
  shutil.copy(os.path.join(REPO_DIR, "bert_toolkit", "cli",
                           "python_check.py"),
              str(checkout / "bert_toolkit" / "cli"))
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  _fake_python(str(bin_dir), "python3", (3, 12, 1))
  if with_venv:
    (checkout / ".venv" / "bin").mkdir(parents=True)
    _fake_python(str(checkout / ".venv" / "bin"), "python", (3, 12, 1))
  env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]))
  env.pop("PYTHON", None)
  proc = subprocess.run(["bash", str(checkout / script)], env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=60)
  assert proc.returncode == 2, (proc.stdout, proc.stderr)
  assert proc.stdout == "", proc.stdout
  (line,) = proc.stderr.splitlines()
  needs = "3.9-3.11" if script == "quickstart.sh" else "3.7 or 3.9-3.11"
  assert line.startswith("error: this toolkit needs Python %s" % needs), line
  assert "not Python 3.12.1" in line
  assert ("remove .venv" in line) == with_venv, line
  assert "PYTHON=python3.11 bash %s" % script in line
  assert not (checkout / ".venv" / "lib").exists()


def test_protobuf_runs_compiled_not_in_pure_python():
  """The pins (requirements-dev.txt, the `onnx` extra) keep a protobuf
  with a compiled backend: in its pure-Python form every graph TensorFlow
  serialises costs more CPU (docs/install.md)."""
  from google.protobuf.internal import api_implementation  # pylint: disable=g-import-not-at-top
  assert api_implementation.Type() != "python", (
      "protobuf %s runs in pure Python: install protobuf>=4.21.6,<5" %
      __import__("google.protobuf").protobuf.__version__)

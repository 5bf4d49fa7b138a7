"""The fork server (tests/forkserver.py) gives what a real `python script`
gives: exit status, output, environment, working directory and argv."""

import subprocess

import pytest

from tests import clirun
from tests import forkserver

SCRIPT = r'''
import os, sys
print("argv", sys.argv[1:])
print("cwd", os.getcwd())
print("env", os.environ.get("PROBE"), os.environ.get("TF_CONFIG"))
print("path0", os.path.basename(sys.path[0]))
print("main", __name__)
sys.stderr.write("to stderr\n")
what = sys.argv[1]
if what == "raise":
  raise ValueError("boom")
if what == "message":
  sys.exit("stopped: a message")
if what == "sleep":
  import time
  time.sleep(60)
sys.exit(int(what))
'''


@pytest.fixture
def script(tmp_path):
  path = tmp_path / "probe.py"
  path.write_text(SCRIPT)
  return str(path)


def _both(monkeypatch, script, *args, **kwargs):
  """(forked, subprocess) CompletedProcesses of the same run."""
  forked = clirun.run_script(script, *args, **kwargs)
  monkeypatch.setenv("FORKSERVER", "0")
  plain = clirun.run_script(script, *args, **kwargs)
  monkeypatch.delenv("FORKSERVER")
  return forked, plain


@pytest.mark.parametrize("what,status", [("0", 0), ("3", 3), ("raise", 1),
                                         ("message", 1)])
def test_a_forked_run_answers_as_a_subprocess(monkeypatch, script, what,
                                              status):
  forked, plain = _both(monkeypatch, script, what, "x y",
                        env={"PROBE": "p1", "TF_CONFIG": "{}"})
  assert forked.returncode == plain.returncode == status
  assert forked.stdout == plain.stdout
  assert "argv ['%s', 'x y']" % what in forked.stdout
  assert "env p1 {}" in forked.stdout and "main __main__" in forked.stdout
  assert "cwd %s" % clirun.REPO_DIR in forked.stdout
  assert forked.stderr.startswith("to stderr\n")
  if what == "raise":
    for proc in (forked, plain):
      assert "Traceback" in proc.stderr and "ValueError: boom" in proc.stderr
  if what == "message":
    assert forked.stderr == plain.stderr == "to stderr\nstopped: a message\n"


def test_a_run_past_its_timeout_is_killed(script):
  with pytest.raises(subprocess.TimeoutExpired):
    clirun.run_script(script, "sleep", timeout=1)
  # The server goes on serving.
  assert clirun.run_script(script, "4").returncode == 4


def test_what_a_fork_cannot_give_goes_to_a_subprocess():
  base = {"HOME": "/root", "TF_CPP_MIN_LOG_LEVEL": "2"}
  argv = ["run_classifier.py", "--do_train"]
  assert forkserver.forkable(argv, dict(base, TF_CONFIG="{}", OTHER="1"),
                             base)
  assert not forkserver.forkable(argv + ["--use_xla"], base, base)
  assert not forkserver.forkable(argv + ["--use_xla=true"], base, base)
  assert not forkserver.forkable(argv, dict(base, TF_XLA_FLAGS="--x"), base)
  assert not forkserver.forkable(argv, dict(base, OMP_NUM_THREADS="1"), base)
  assert not forkserver.forkable(argv, dict(base, TF_CPP_MIN_LOG_LEVEL="0"),
                                 base)


def test_a_dead_server_is_replaced(script):
  assert clirun.run_script(script, "0").returncode == 0
  env = clirun._base_env()  # pylint: disable=protected-access
  server = clirun.server_for(env)
  assert clirun.server_for(dict(env, PYTEST_CURRENT_TEST="x")) is server
  server.proc.kill()
  server.proc.wait()
  assert clirun.run_script(script, "5").returncode == 5
  assert clirun.server_for(env) is not server

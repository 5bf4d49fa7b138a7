"""Test helper: the repo's scripts run in processes forked from one that has
already imported TensorFlow.

A script run by `python script.py` spends about 2.3 s of CPU importing
TensorFlow before its first line of work, and the suite runs a few hundred
of them (every user-error case is one). The fork server is a Python process
that imports TensorFlow and numpy once, then for each request forks a child
that is what `python script.py args` would be from then on:

  - the environment and working directory the request gives;
  - stdin from /dev/null, stdout and stderr into files the caller reads;
  - sys.argv = [script, args...], sys.path[0] = the script's folder, and
    the script run as __main__ (runpy.run_path);
  - the exit status as Python gives it: SystemExit's code, 1 and a
    traceback for an uncaught exception, minus the signal number when
    killed.

Nothing the project imports is loaded in the server: the children import
bert_toolkit, define their absl flags and read their environment as a fresh
interpreter does. What a fork cannot give is a different environment at
TensorFlow's import (thread and device variables, or the TF_XLA_FLAGS
that --use_xla sets): `forkable` sends those runs to a real subprocess.

Protocol (one JSON line each way on the server's stdin / stdout):
  request  {"argv", "cwd", "env", "stdout", "stderr"}
  reply    {"pid": child pid}, then {"status": exit status}

FORKSERVER=0 in the environment runs every script in a real subprocess.
"""

import json
import os
import subprocess
import sys
import threading

# Read by TensorFlow (or its libraries) when it is imported, so a forked
# child could not honour a different value.
IMPORT_TIME_PREFIXES = ("TF_", "OMP_", "KMP_", "MKL_", "CUDA_", "PYTHON",
                        "XLA_", "LD_")
RUNTIME_VARIABLES = ("TF_CONFIG",)


def import_time_env(env):
  """The variables of `env` that TensorFlow's import may read."""
  return {key: value for key, value in env.items()
          if key.startswith(IMPORT_TIME_PREFIXES) and
          key not in RUNTIME_VARIABLES}


def forkable(argv, env, server_env):
  """Whether `argv` under `env` runs the same in a child of the server,
  whose TensorFlow was imported under `server_env`: the environment the
  script's TensorFlow would load under, with what the command line adds
  before that (bert_toolkit.cli.command.xla_cpu_environment), is the
  server's."""
  from bert_toolkit.cli import command  # pylint: disable=g-import-not-at-top
  env = dict(env, **command.xla_cpu_environment(argv[1:], env))
  return import_time_env(env) == import_time_env(server_env)


class ForkServer(object):
  """A server process and the lock that makes its requests one at a time."""

  def __init__(self, env):
    self.lock = threading.Lock()
    self.proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__)], env=dict(env),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, universal_newlines=True, bufsize=1)
    ready = self.proc.stdout.readline()
    if ready.strip() != "ready":
      raise RuntimeError("the fork server did not start: %r" % ready)

  def run(self, argv, cwd, env, stdout_path, stderr_path, timeout):
    """Runs argv (script, args...) in a forked child; returns (status,
    timed_out). A child still running after `timeout` s is killed."""
    with self.lock:
      self.proc.stdin.write(json.dumps({
          "argv": list(argv), "cwd": cwd, "env": dict(env),
          "stdout": stdout_path, "stderr": stderr_path}) + "\n")
      pid = self._reply()["pid"]
      killed = threading.Event()
      timer = threading.Timer(timeout, _kill, (pid, killed))
      if timeout is not None:
        timer.start()
      try:
        status = self._reply()["status"]
      finally:
        timer.cancel()
      return status, killed.is_set()

  def alive(self):
    return self.proc.poll() is None

  def _reply(self):
    line = self.proc.stdout.readline()
    if not line:
      raise RuntimeError("the fork server exited (status %s)" %
                         self.proc.poll())
    return json.loads(line)


def _kill(pid, killed):
  try:
    os.kill(pid, 9)
    killed.set()
  except ProcessLookupError:
    pass


def _child(request):
  """In the forked child: become `python script args`; never returns."""
  status = 1
  try:
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = open(0, closefd=False)   # not the server's read-ahead
    for fd, key in ((1, "stdout"), (2, "stderr")):
      target = os.open(request[key], os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                       0o644)
      os.dup2(target, fd)
      os.close(target)
    script = request["argv"][0]
    sys.argv = list(request["argv"])
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    import runpy  # pylint: disable=g-import-not-at-top
    try:
      runpy.run_path(script, run_name="__main__")
      status = 0
    except SystemExit as e:
      if e.code is None:
        status = 0
      elif isinstance(e.code, int):
        status = e.code
      else:                           # sys.exit("message"), as Python does
        sys.stderr.write("%s\n" % e.code)
        status = 1
    except BaseException:  # pylint: disable=broad-except
      import traceback  # pylint: disable=g-import-not-at-top
      traceback.print_exc()
      status = 1
    import atexit  # pylint: disable=g-import-not-at-top
    atexit._run_exitfuncs()  # pylint: disable=protected-access
  finally:
    for stream in (sys.stdout, sys.stderr):
      try:
        stream.flush()
      except Exception:  # pylint: disable=broad-except
        pass
    os._exit(status & 0xFF)  # pylint: disable=protected-access


def _exit_status(wait_status):
  """subprocess's returncode of a waitpid status (os.waitstatus_to_exitcode
  is Python 3.9+; TF 1.15 runs on 3.7)."""
  if os.WIFSIGNALED(wait_status):
    return -os.WTERMSIG(wait_status)
  return os.WEXITSTATUS(wait_status)


def serve():
  """The server's loop: import TensorFlow once, then fork per request."""
  import numpy  # pylint: disable=g-import-not-at-top,unused-import
  import tensorflow.compat.v1  # pylint: disable=g-import-not-at-top,unused-import
  out = sys.stdout
  out.write("ready\n")
  out.flush()
  for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
      _child(request)
    out.write(json.dumps({"pid": pid}) + "\n")
    out.flush()
    _, wait_status = os.waitpid(pid, 0)
    out.write(json.dumps({"status": _exit_status(wait_status)}) + "\n")
    out.flush()


if __name__ == "__main__":
  serve()

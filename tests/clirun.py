"""Test helper: run one of the repo's command lines as its own process.

`run_script` gives what `python script args` gives (a CompletedProcess with
the exit status, stdout and stderr), from a child forked off a process that
has already imported TensorFlow (tests/forkserver.py), or from a real
subprocess when the environment asks for something a fork cannot give, or
when FORKSERVER=0.
"""

import os
import subprocess
import sys
import tempfile

from tests import forkserver
from tests.paths import REPO_DIR


# This test process's fork servers, by the environment TensorFlow's import
# reads (forkserver.import_time_env).
_SERVERS = {}


def server_for(env):
  """The fork server whose TensorFlow was imported under `env`'s
  import-time variables: started (with all of `env`) on first use, or again
  when the last one died."""
  key = tuple(sorted(forkserver.import_time_env(env).items()))
  server = _SERVERS.get(key)
  if server is None or not server.alive():
    server = _SERVERS[key] = forkserver.ForkServer(env)
  return server


def _base_env():
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def run_script(script, *args, timeout=600, env=None):
  """Runs `python script args...` from the repo (with `env`, a dict, added
  to the environment); returns CompletedProcess."""
  base = _base_env()
  full_env = dict(base, **(env or {}))
  argv = [os.path.join(REPO_DIR, script)] + list(args)
  if os.environ.get("FORKSERVER") == "0" or not forkserver.forkable(
      argv, full_env, base):
    return subprocess.run(
        [sys.executable] + argv, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout,
        cwd=REPO_DIR, env=full_env)
  with tempfile.TemporaryDirectory() as tmp:
    paths = [os.path.join(tmp, name) for name in ("stdout", "stderr")]
    status, timed_out = server_for(base).run(
        argv, REPO_DIR, full_env, paths[0], paths[1], timeout)
    outputs = []
    for path in paths:
      with open(path, encoding="utf-8", errors="replace") as f:
        outputs.append(f.read())
  if timed_out:
    raise subprocess.TimeoutExpired([sys.executable] + argv, timeout,
                                    outputs[0], outputs[1])
  return subprocess.CompletedProcess([sys.executable] + argv, status,
                                     outputs[0], outputs[1])


def error_lines(stderr):
  """The `error: ...` lines of a script's stderr."""
  return [line for line in stderr.splitlines() if line.startswith("error: ")]


def assert_user_error(proc, *fragments):
  """The run failed with one clear message: exit 2, one `error:` line, no
  traceback."""
  assert proc.returncode == 2, proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
  assert len(error_lines(proc.stderr)) == 1, proc.stderr[-3000:]
  for fragment in fragments:
    assert fragment in proc.stderr, proc.stderr[-3000:]


def export_predictor(run_dir, export_dir):
  """export_savedmodel.py run_dir -> export_dir from the command line, then
  a bert_toolkit.serving.predictor.Predictor on it (the caller closes it)."""
  proc = run_script("export_savedmodel.py", "--model_dir=" + run_dir,
                    "--export_dir=" + export_dir)
  assert proc.returncode == 0, proc.stderr[-3000:]
  from bert_toolkit.serving import predictor as predictor_lib  # pylint: disable=g-import-not-at-top
  return predictor_lib.Predictor(export_dir)


def serve_once(predictor, body, model="m"):
  """Starts serve.py's server on the predictor (a free port, a thread),
  POSTs `body` to /v1/models/<model>:predict, stops it; returns (HTTP
  status, answer dict)."""
  import json  # pylint: disable=g-import-not-at-top
  import threading  # pylint: disable=g-import-not-at-top
  import urllib.request  # pylint: disable=g-import-not-at-top
  from bert_toolkit.serving import server as server_lib  # pylint: disable=g-import-not-at-top
  server = server_lib.make_server(predictor, model, port=0)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    request = urllib.request.Request(
        "http://127.0.0.1:%d/v1/models/%s:predict" %
        (server.server_address[1], model),
        data=json.dumps(body).encode("utf-8"), method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
      return response.status, json.loads(response.read())
  finally:
    server.shutdown()
    server.server_close()

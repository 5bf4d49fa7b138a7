"""The studio's server side: security rules, commands, the job queue.

Job mechanics run fake scripts (a repo folder of small Python files that
sleep, print progress lines and exit), so stop, resume, the queue and the
re-attach after a restart are tested without TensorFlow. The real scripts
run in tests/test_studio_browser.py.
"""

import ast
import contextlib
import glob
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from bert_toolkit.runs import atomic
from bert_toolkit.runs import curves
from bert_toolkit.studio import commands
from bert_toolkit.studio import i18n
from bert_toolkit.studio import jobs as jobs_lib
from bert_toolkit.studio import server as server_lib
from bert_toolkit.studio import trying
from bert_toolkit.studio import views
from bert_toolkit.studio import workspace as workspace_lib
from tests import clirun
from tests import datasets
from tests.paths import REFERENCE_DIR, REPO_DIR


def make_workspace(root):
  """data/chnsenticorp, data/pd (NER), models/tiny under root."""
  datasets.chnsenticorp(os.path.join(root, "data", "chnsenticorp"),
                        train=8, dev=4)
  os.makedirs(os.path.join(root, "data", "pd"))
  with open(os.path.join(root, "data", "pd", "example.train"), "w") as f:
    f.write("北 B-LOC\n京 I-LOC\n\n")
  shutil.copytree(os.path.join(REFERENCE_DIR, "bert_zh_tiny"),
                  os.path.join(root, "models", "tiny"))
  return root


class Client(object):
  """Requests to a studio server on a free port (in a thread)."""

  def __init__(self, studio):
    self.studio = studio
    self.httpd = server_lib.make_server(studio, port=0)
    self.port = self.httpd.server_address[1]
    self.thread = threading.Thread(target=self.httpd.serve_forever,
                                   daemon=True)
    self.thread.start()

  def request(self, method, path, body=None, headers=None, raw=None):
    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
    data = raw if raw is not None else (
        json.dumps(body).encode("utf-8") if body is not None else None)
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    conn.request(method, path, body=data, headers=all_headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8")
    conn.close()
    try:
      answer = json.loads(text)
    except ValueError:
      answer = text
    return response.status, answer, response

  def post(self, path, body, headers=None):
    all_headers = {"X-Studio-Csrf": self.studio.csrf}
    all_headers.update(headers or {})
    return self.request("POST", path, body, all_headers)

  def close(self):
    self.httpd.shutdown()
    self.httpd.server_close()
    self.studio.close()


@pytest.fixture
def client(tmp_path):
  root = make_workspace(str(tmp_path / "ws"))
  c = Client(server_lib.Studio(root))
  yield c
  c.close()


def classification(**values):
  return {"kind": "classification", "data": "data/chnsenticorp",
          "model": "models/tiny", "values": values}


# ------------------------------------------------------------- paths ---

@pytest.mark.parametrize("data", [
    "../ws", "data/../../etc", "/etc", "data/chnsenticorp/../../..",
    "~/data", "data", "models/tiny", "data/missing", "data/a\x00b"])
def test_paths_outside_their_folder_are_refused(client, data):
  status, answer, _ = client.post("/api/command", dict(classification(),
                                                       data=data))
  assert status == 400, answer
  assert answer["error"]


def test_a_symlink_out_of_the_workspace_is_refused(client, tmp_path):
  outside = tmp_path / "outside"
  datasets.chnsenticorp(str(outside), train=4)
  os.symlink(str(outside), os.path.join(client.studio.workspace.root,
                                        "data", "escape"))
  status, answer, _ = client.post("/api/command",
                                  dict(classification(), data="data/escape"))
  assert status == 400 and "not inside" in answer["error"], answer
  names = [d["name"] for d in client.request("GET", "/api/options")[1]
           ["data"]]
  assert "escape" not in names and "chnsenticorp" in names


def test_a_symlink_inside_the_workspace_is_followed(client):
  root = client.studio.workspace.root
  os.symlink(os.path.join(root, "data", "chnsenticorp"),
             os.path.join(root, "data", "alias"))
  status, answer, _ = client.post("/api/command",
                                  dict(classification(), data="data/alias"))
  assert status == 200, answer
  assert "--data_dir=data/chnsenticorp" in answer["argv"]


def test_run_ids_and_static_paths_do_not_traverse(client):
  for path in ("/api/runs/..%2F..%2Fetc", "/api/runs/r1", "/static/../server.py",
               "/static/%2e%2e/server.py", "/api/runs/r1/../../x"):
    status, answer, _ = client.request("GET", path)
    assert status == 404, (path, answer)


# ------------------------------------------------------ tokens, CSRF ---

def test_a_token_is_checked_on_every_request(tmp_path):
  root = make_workspace(str(tmp_path / "ws"))
  c = Client(server_lib.Studio(root, token="s3cret"))
  try:
    for path in ("/", "/api/runs", "/api/options", "/static/app.js"):
      assert c.request("GET", path)[0] == 401, path
    bad = {"Authorization": "Bearer wrong"}
    assert c.request("GET", "/api/runs", headers=bad)[0] == 401
    assert c.post("/api/command", classification(), bad)[0] == 401
    assert c.request("GET", "/?token=wrong")[0] == 401
    good = {"Authorization": "Bearer s3cret"}
    assert c.request("GET", "/api/runs", headers=good)[0] == 200
    # The printed address sets a cookie, and the cookie then works.
    status, _, response = c.request("GET", "/?token=s3cret")
    assert status == 303 and response.getheader("Location") == "/"
    cookie = response.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    jar = {"Cookie": cookie.split(";")[0]}
    assert c.request("GET", "/api/options", headers=jar)[0] == 200
    assert c.post("/api/command", classification(), jar)[0] == 200
    # A token opens the host check: a LAN name is fine with it.
    assert c.request("GET", "/api/runs", headers=dict(
        good, Host="studio.lan:8600"))[0] == 200
  finally:
    c.close()


def test_write_requests_need_the_pages_csrf_header(client):
  body = classification()
  for headers in ({}, {"X-Studio-Csrf": "guess"}, {"X-Studio-Csrf": ""}):
    status, answer, _ = client.request("POST", "/api/runs", body, headers)
    assert status == 403 and "X-Studio-Csrf" in answer["error"], answer
  assert os.listdir(os.path.join(client.studio.workspace.root, "runs")) == [
      "studio.lock"]
  status, page, _ = client.request("GET", "/")
  assert status == 200 and client.studio.csrf in page


def test_a_foreign_host_header_is_refused_without_a_token(client):
  status, answer, _ = client.request("GET", "/api/runs",
                                     headers={"Host": "evil.example:8600"})
  assert status == 403 and "Host" in answer["error"]
  assert client.request("GET", "/api/runs",
                        headers={"Host": "localhost:8600"})[0] == 200


def test_an_oversized_body_is_refused_unread(client):
  raw = b"{" + b" " * (server_lib.MAX_BODY + 10) + b"}"
  status, answer, _ = client.request(
      "POST", "/api/command", raw=raw,
      headers={"X-Studio-Csrf": client.studio.csrf})
  assert status == 413 and "limit" in answer["error"]


def test_bodies_that_are_not_json_objects_are_refused(client):
  for raw in (b"not json", b"[1, 2]", b"\xff\xfe"):
    status, answer, _ = client.request(
        "POST", "/api/command", raw=raw,
        headers={"X-Studio-Csrf": client.studio.csrf})
    assert status == 400, (raw, answer)


def test_other_hosts_need_a_token(tmp_path):
  studio = server_lib.Studio(str(tmp_path / "ws"))
  try:
    with pytest.raises(ValueError, match="--token"):
      server_lib.make_server(studio, host="0.0.0.0", port=0)
  finally:
    studio.close()
  proc = subprocess.run(
      [sys.executable, os.path.join(REPO_DIR, "studio.py"),
       "--workspace=%s" % (tmp_path / "ws"), "--host=0.0.0.0", "--port=0"],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=60)
  clirun.assert_user_error(proc, "--token")


def test_studio_py_bad_command_lines(tmp_path):
  missing = subprocess.run(
      [sys.executable, os.path.join(REPO_DIR, "studio.py")],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=60)
  clirun.assert_user_error(missing, "--workspace is required")
  unknown = subprocess.run(
      [sys.executable, os.path.join(REPO_DIR, "studio.py"),
       "--workspace=%s" % tmp_path, "--prot=1"],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=60)
  clirun.assert_user_error(unknown, "prot")


# ----------------------------------------------------------- commands ---

def test_unknown_flags_and_bad_values_are_refused(client):
  cases = [
      ({"values": {"output_dir": "/tmp/x"}}, "unknown field"),
      ({"values": {"init_checkpoint": "/etc"}}, "unknown field"),
      ({"values": {"do_train; rm -rf /": True}}, "unknown field"),
      ({"values": {"use_xla": True}}, "unknown field"),
      ({"values": {"learning_rate": "abc"}}, "learning_rate"),
      ({"values": {"train_batch_size": "3.5"}}, "train_batch_size"),
      ({"values": {"train_batch_size": True}}, "train_batch_size"),
      ({"values": {"learning_rate": "nan"}}, "learning_rate"),
      ({"values": {"optimizer": "sgd"}}, "optimizer"),
      ({"values": {"dynamic_padding": "maybe"}}, "dynamic_padding"),
      ({"values": {"freeze": "a\n--do_predict"}}, "one line"),
      ({"values": {"crf": True}}, "unknown field"),        # an NER field
      ({"values": "lr=1"}, "values"),
      ({"kind": "shell"}, "kind"),
      ({"model": None}, "model"),
  ]
  for change, fragment in cases:
    status, answer, _ = client.post("/api/command",
                                    dict(classification(), **change))
    assert status == 400 and fragment in answer["error"], (change, answer)


def test_the_command_is_the_script_with_typed_flags(client):
  status, answer, _ = client.post("/api/command", classification(
      learning_rate="3e-5", num_train_epochs=2, dynamic_padding=False,
      use_amp=True, train_batch_size="32", seed=""))
  assert status == 200, answer
  argv = answer["argv"]
  assert argv[0] == "run_classifier.py"
  assert "--learning_rate=3e-05" in argv and "--num_train_epochs=2.0" in argv
  assert "--dynamic_padding=false" in argv
  # Mixed precision is on the form: bfloat16 matmuls on a CPU with AMX.
  assert "--use_amp=true" in argv
  # At its default (32) or empty: not passed, the script's default applies.
  assert not any(a.startswith("--train_batch_size") or a.startswith("--seed")
                 for a in argv)
  # The task comes from the folder's name.
  assert "--task=chnsenticorp" in argv
  assert answer["command"].startswith("python run_classifier.py ")


def test_generic_tsv_columns_are_guessed_from_the_header(client):
  root = client.studio.workspace.root
  shutil.copytree(os.path.join(root, "data", "chnsenticorp"),
                  os.path.join(root, "data", "reviews"))
  status, answer, _ = client.post("/api/command",
                                  dict(classification(), data="data/reviews"))
  assert status == 200, answer
  for flag in ("--task=tsv", "--text_a_column=text_a", "--label_column=label"):
    assert flag in answer["argv"]
  status, answer, _ = client.post("/api/command", {
      "kind": "ner", "data": "data/pd", "model": "models/tiny",
      "values": {"crf": True}})
  assert status == 200 and "--task=peoples_daily" in answer["argv"]
  assert "--crf=true" in answer["argv"]


def _helpxml_defaults(command):
  """{flag: default text} from `python script [args] --helpxml`."""
  proc = subprocess.run([sys.executable, os.path.join(REPO_DIR, command[0])]
                        + list(command[1:]) + ["--helpxml"],
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=120, cwd=REPO_DIR)
  root = ET.fromstring(proc.stdout.decode("utf-8"))
  return {flag.findtext("name"): flag.findtext("default")
          for flag in root.iter("flag")}


@pytest.mark.parametrize("kind", list(commands.KINDS))
def test_form_defaults_are_the_scripts_defaults(kind):
  flags = _helpxml_defaults(commands.KINDS[kind].command)
  for field in commands.fields(kind):
    assert field.name in flags, (kind, field.name)
    shown = field.default
    if shown is None:
      expected = ""
    elif isinstance(shown, bool):
      expected = "true" if shown else "false"
    else:
      expected = str(shown)
    cli = flags[field.name]
    if shown is None:
      assert cli in ("", "None"), (kind, field.name, cli)
    elif field.type == "float":
      assert float(cli) == float(expected), (kind, field.name)
    else:
      assert cli == expected, (kind, field.name, cli, expected)


def test_task_lists_are_the_scripts():
  """The form's task names are the data set tables' own, and each names a
  data set the readers know."""
  from bert_toolkit.data import ner_data  # pylint: disable=g-import-not-at-top
  from bert_toolkit.data import classification  # pylint: disable=g-import-not-at-top
  assert commands.KINDS["classification"].tasks is classification.TASK_NAMES
  assert commands.KINDS["ner"].tasks is ner_data.TASK_NAMES
  for name in commands.KINDS["ner"].tasks:
    assert ner_data.get_ner_task(name).name == name
  (task,) = [f for f in commands.fields("classification") if f.name == "task"]
  assert task.choices == classification.TASK_NAMES


# -------------------------------------------------------- curves, views ---

def test_curves_drop_steps_a_resumed_run_trains_again(tmp_path):
  path = str(tmp_path / curves.CURVES_FILE)
  for record in ({"kind": "start", "step": 0},
                 {"kind": "train", "step": 10, "loss": 1.0, "lr": 1.0},
                 {"kind": "eval", "step": 10, "accuracy": 0.5},
                 {"kind": "train", "step": 20, "loss": 0.9, "lr": 1.0},
                 {"kind": "eval", "step": 20, "accuracy": 0.6},
                 {"kind": "train", "step": 30, "loss": 0.8, "lr": 1.0},
                 {"kind": "start", "step": 10},
                 {"kind": "train", "step": 20, "loss": 0.7, "lr": 2.0}):
    curves.append(path, record)
  with open(path, "a") as f:
    f.write('{"kind": "train", "step": 40, "lo')      # a write cut short
  data = curves.read(path)
  assert [(p["step"], p["loss"]) for p in data["train"]] == [(10, 1.0),
                                                            (20, 0.7)]
  assert [p["step"] for p in data["eval"]] == [10]
  assert curves.read(str(tmp_path / "missing")) == {"train": [], "eval": []}
  diverged = str(tmp_path / "diverged.jsonl")
  curves.append(diverged, {"kind": "train", "step": 1, "loss": float("nan"),
                           "lr": 1.0})
  assert curves.read(diverged)["train"] == [{"step": 1, "loss": None,
                                             "lr": 1.0}]


def test_averager_means_over_the_interval():
  averager = curves.Averager(2)
  assert averager.add(1, {"loss": 1.0}) is None
  assert averager.add(2, {"loss": 3.0}) == {"kind": "train", "step": 2,
                                            "loss": 2.0}
  assert averager.add(3, {"loss": 5.0}) is None
  assert averager.flush(3) == {"kind": "train", "step": 3, "loss": 5.0}
  assert averager.flush(3) is None


def test_progress_and_eta_come_from_the_newest_progress_line():
  log = ("INFO train: step 10/100, 2.00 steps/sec, 64.0 examples/sec, "
         "ETA 0:00:45, loss 0.6\nINFO train: step 30/100, 2.00 steps/sec, "
         "64.0 examples/sec, ETA 0:01:05, loss 0.5\n")
  assert views.progress({"status": "running"}, log) == (30, 100, 65)
  assert views.progress({"status": "stopped"}, log) == (30, 100, None)
  assert views.progress({"status": "running"}, "nothing") == (None, None,
                                                              None)


def test_results_say_which_checkpoint_they_come_from():
  """global_step is not a metric: the results name the checkpoint the
  final evaluation read (a run keeps its best dev checkpoint, often well
  before its last step)."""
  final = {"checkpoint": os.path.join("runs", "r1", "output", "best",
                                      "model.ckpt-70"),
           "train": {"global_step": 120},
           "eval": {"accuracy": 0.9, "loss": 0.3, "global_step": 70,
                    "f1/0": 0.8}}
  assert views.scalars(final["eval"]) == {"accuracy": 0.9, "loss": 0.3,
                                          "f1/0": 0.8}
  assert views.evaluated(final) == {"step": 70, "checkpoint": "best",
                                    "trained_steps": 120}
  last = dict(final, checkpoint=os.path.join("runs", "r1", "output",
                                             "model.ckpt-120"),
              eval=dict(final["eval"], global_step=120))
  assert views.evaluated(last)["checkpoint"] == "last"
  assert views.evaluated({"train": {"global_step": 5}}) is None
  assert views.evaluated(None) is None


def test_the_best_step_comes_from_best_json(tmp_path):
  """The charts mark the best dev step from best/best.json (written at each
  evaluation); none before the first, and a corrupt file is no mark."""
  workspace = workspace_lib.Workspace(str(tmp_path / "ws"))
  job = {"output_dir": os.path.join("runs", "r1", "output")}
  best_dir = os.path.join(workspace.root, job["output_dir"], "best")
  assert views.best(workspace, job) is None
  os.makedirs(best_dir)
  atomic.atomic_json(os.path.join(best_dir, "best.json"),
                     {"metric": "accuracy", "value": 0.9, "step": 70,
                      "bad_evals": 1, "last_eval_step": 120})
  assert views.best(workspace, job) == {"step": 70, "metric": "accuracy",
                                        "value": 0.9}
  for corrupt in ('{"metric": "accuracy", "val', "[70]", '{"step": "70"}'):
    with open(os.path.join(best_dir, "best.json"), "w") as f:
      f.write(corrupt)
    assert views.best(workspace, job) is None


def test_progress_moves_with_the_curve_file_before_any_progress_line(
    tmp_path):
  """The curve file has a train line every step of a short run: the step
  shows before the log's first timed progress line, and a newer curve
  step wins over an older log line (the log's ETA is kept)."""
  path = str(tmp_path / curves.CURVES_FILE)
  assert curves.progress(path) == (None, None)
  curves.append(path, {"kind": "start", "step": 0, "total_steps": 120})
  assert curves.progress(path) == (0, 120)
  for step in range(1, 41):
    curves.append(path, {"kind": "train", "step": step, "loss": 1.0,
                         "lr": 1.0})
  assert curves.progress(path) == (40, 120)
  with open(path, "a") as f:
    f.write('{"kind": "train", "step": 41, "lo')      # a write cut short
  assert curves.progress(path) == (40, 120)
  curves.append(path, {"kind": "start", "step": 30, "total_steps": 120})
  assert curves.progress(path) == (30, 120)            # resumed from 30

  running = {"status": "running"}
  assert views.progress(running, "nothing", (40, 120)) == (40, 120, None)
  log = ("INFO train: step 30/100, 2.00 steps/sec, 64.0 examples/sec, "
         "ETA 0:01:05, loss 0.5\n")
  assert views.progress(running, log, (40, 100)) == (40, 100, 65)
  assert views.progress(running, log, (20, 100)) == (30, 100, 65)
  assert views.progress({"status": "failed"}, log, (40, 100)) == (40, 100,
                                                                  None)


# --------------------------------------------------------------- jobs ---

FAKE_SCRIPT = r'''
import os, signal, sys, time
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if "=" in a)
steps = int(float(args.get("num_train_epochs", "3")))
out = args["output_dir"]
os.makedirs(out, exist_ok=True)
if os.environ.get("FAKE_IGNORE_TERM"):
  signal.signal(signal.SIGTERM, signal.SIG_IGN)
  open(os.path.join(out, "pid"), "w").write(str(os.getpid()))
done = 0
if os.path.exists(os.path.join(out, "done_steps")):
  # (a SIGKILL between its truncation and its write leaves it empty)
  done = int(open(os.path.join(out, "done_steps")).read() or 0)
for step in range(done + 1, steps + 1):
  time.sleep(float(os.environ.get("FAKE_STEP_SECONDS", "0.05")))
  open(os.path.join(out, "done_steps"), "w").write(str(step))
  print("INFO train: step %d/%d, 1.00 steps/sec, 8.0 examples/sec, "
        "ETA 0:00:%02d" % (step, steps, steps - step), flush=True)
if args.get("learning_rate") == "0.5":
  print("error: --learning_rate=0.5 is refused by this fake", flush=True)
  sys.exit(2)
'''


@pytest.fixture
def fake_repo(tmp_path):
  repo = tmp_path / "repo"
  repo.mkdir()
  for kind in commands.KINDS.values():
    (repo / kind.command[0]).write_text(FAKE_SCRIPT)
  return str(repo)


def wait_for(predicate, timeout=60.0):
  deadline = time.time() + timeout
  while time.time() < deadline:
    value = predicate()
    if value:
      return value
    time.sleep(0.1)
  raise AssertionError("timed out")


@contextlib.contextmanager
def started_jobs(tmp_path, fake_repo):
  """A workspace and a Jobs on the fake scripts, its thread started and
  stopped at the end."""
  workspace = workspace_lib.Workspace(make_workspace(str(tmp_path / "ws")))
  jobs = jobs_lib.Jobs(workspace, fake_repo, poll_seconds=0.05)
  jobs.start()
  try:
    yield workspace, jobs
  finally:
    jobs.close()


def _create(jobs, workspace, **values):
  command = commands.build(classification(**values), workspace)
  return jobs.create(command, None, classification(**values))["id"]


def test_one_run_at_a_time_in_order_then_done_or_failed(tmp_path, fake_repo):
  with started_jobs(tmp_path, fake_repo) as (workspace, jobs):
    first = _create(jobs, workspace, num_train_epochs=20)
    second = _create(jobs, workspace, num_train_epochs=2, learning_rate=0.5)
    assert jobs.get(first)["status"] == "running"
    assert jobs.get(second)["status"] == "queued"
    wait_for(lambda: jobs.get(first)["status"] == "done")
    wait_for(lambda: jobs.get(second)["status"] == "failed")
    assert jobs.get(second)["exit_code"] == 2
    assert jobs.get(second)["started"] >= jobs.get(first)["ended"] - 1
    summary = views.summary(workspace, jobs.get(second))
    assert summary["error"] == ("error: --learning_rate=0.5 is refused by "
                                "this fake")
    assert (summary["step"], summary["total_steps"]) == (2, 2)
    # Stopped by an error: line (exit 2): resuming would stop it again.
    assert summary["resumable"] is False
    assert views.summary(workspace, jobs.get(first))["resumable"] is False
    assert views.detail(workspace, jobs.get(second))["exportable"] is False


@pytest.mark.slow
def test_stop_and_resume_go_on_from_where_the_run_was(tmp_path, fake_repo,
                                                      monkeypatch):
  monkeypatch.setenv("FAKE_STEP_SECONDS", "0.2")
  with started_jobs(tmp_path, fake_repo) as (workspace, jobs):
    run_id = _create(jobs, workspace, num_train_epochs=30)
    queued = _create(jobs, workspace, num_train_epochs=2)
    out = os.path.join(workspace.run_dir(run_id), "output", "done_steps")
    wait_for(lambda: os.path.exists(out))
    assert jobs.stop(queued)["status"] == "stopped"          # never ran
    jobs.stop(run_id)
    wait_for(lambda: jobs.get(run_id)["status"] == "stopped", 20)
    assert views.summary(workspace, jobs.get(run_id))["resumable"] is True
    stopped_at = int(open(out).read())
    assert stopped_at < 30
    with pytest.raises(ValueError, match="only a queued or running"):
      jobs.stop(run_id)
    jobs.resume(run_id)
    wait_for(lambda: jobs.get(run_id)["status"] == "done")
    assert int(open(out).read()) == 30
    assert jobs.get(run_id)["attempts"] == 2
    log = open(os.path.join(workspace.run_dir(run_id), "log.txt")).read()
    assert "step %d/30" % (stopped_at + 1) in log
    assert jobs.get(queued)["status"] == "stopped"
    with pytest.raises(ValueError, match="only a stopped or failed"):
      jobs.resume(run_id)


@pytest.mark.slow
def test_a_restarted_studio_reattaches_or_marks_stopped(tmp_path, fake_repo,
                                                        monkeypatch):
  monkeypatch.setenv("FAKE_STEP_SECONDS", "0.2")
  with started_jobs(tmp_path, fake_repo) as (workspace, jobs):
    running = _create(jobs, workspace, num_train_epochs=25)
    queued = _create(jobs, workspace, num_train_epochs=1)
  # the studio has stopped; its run goes on
  later = jobs_lib.Jobs(workspace, fake_repo, poll_seconds=0.05)
  assert later.get(running)["status"] == "running"        # re-attached
  later.start()
  try:
    wait_for(lambda: later.get(running)["status"] == "done")
    wait_for(lambda: later.get(queued)["status"] == "done")
    # A run killed while no studio watched: "stopped" at the next start.
    killed = _create(later, workspace, num_train_epochs=50)
    wait_for(lambda: later.get(killed)["pid"])
    later.close()
    pid = later.get(killed)["pid"]
    os.killpg(pid, 9)
    # every process of the run gone (a loaded machine delivers the kill to
    # the group's processes one after another)
    wait_for(lambda: jobs_lib.process_start(pid) is None and
             not jobs_lib.group_alive(pid))
  finally:
    later.close()
  again = jobs_lib.Jobs(workspace, fake_repo)
  assert again.get(killed)["status"] == "stopped"
  assert again.get(killed)["exit_code"] is None


def _script_pid(workspace, run_id):
  path = os.path.join(workspace.run_dir(run_id), "output", "pid")
  wait_for(lambda: os.path.exists(path) and open(path).read())
  pid = int(open(path).read())
  return pid, jobs_lib.process_start(pid)


def test_stop_kills_a_script_that_ignores_sigterm(tmp_path, fake_repo,
                                                 monkeypatch):
  """Stop signals the job's process group; the run stays "running" while
  the script lives (its wrapper shell's end does not count) and gets
  SIGKILL kill_after seconds after the Stop, also from a studio started
  again meanwhile."""
  monkeypatch.setenv("FAKE_STEP_SECONDS", "0.2")
  monkeypatch.setenv("FAKE_IGNORE_TERM", "1")
  workspace = workspace_lib.Workspace(make_workspace(str(tmp_path / "ws")))
  jobs = jobs_lib.Jobs(workspace, fake_repo, poll_seconds=0.05,
                       kill_after=1.5)
  jobs.start()
  pids = []
  try:
    run_id = _create(jobs, workspace, num_train_epochs=300)
    pid, start = _script_pid(workspace, run_id)
    pids.append(pid)
    stopped = time.time()
    jobs.stop(run_id)
    time.sleep(0.7)
    assert jobs_lib.process_start(pid) == start        # it ignores SIGTERM
    assert jobs.get(run_id)["status"] == "running"
    wait_for(lambda: jobs.get(run_id)["status"] == "stopped", 15)
    assert time.time() - stopped >= 1.5
    assert jobs_lib.process_start(pid) is None
    # Stopped, then the studio restarts before the grace period is over.
    jobs.resume(run_id)
    wait_for(lambda: jobs.get(run_id)["attempts"] == 2 and
             os.path.exists(os.path.join(workspace.run_dir(run_id),
                                         "output", "pid")) and
             _script_pid(workspace, run_id)[0] != pid)
    pid, start = _script_pid(workspace, run_id)
    pids.append(pid)
    jobs.stop(run_id)
    jobs.close()
    later = jobs_lib.Jobs(workspace, fake_repo, poll_seconds=0.05,
                          kill_after=1.5)
    later.start()
    try:
      wait_for(lambda: later.get(run_id)["status"] == "stopped", 15)
      assert jobs_lib.process_start(pid) is None
    finally:
      later.close()
  finally:
    jobs.close()
    for pid in pids:
      try:
        os.kill(pid, signal.SIGKILL)
      except OSError:
        pass


def test_a_second_studio_on_the_workspace_touches_nothing(tmp_path):
  """The first studio holds the workspace: a second one (in-process or
  studio.py) fails before it stops the first one's try-it server."""
  root = make_workspace(str(tmp_path / "ws"))
  first = server_lib.Studio(root)
  served = subprocess.Popen([sys.executable, "-c",
                             "import time; time.sleep(120)"])
  record = os.path.join(root, "runs", "serving.json")
  try:
    atomic.atomic_json(record, {
        "pid": served.pid, "start": jobs_lib.process_start(served.pid),
        "port": 1, "run": "r1"})
    with pytest.raises(workspace_lib.WorkspaceBusy, match="another studio"):
      server_lib.Studio(root)
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO_DIR, "studio.py"),
         "--workspace=%s" % root, "--port=0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=60)
    clirun.assert_user_error(proc, "another studio (pid %d)" % os.getpid())
    assert served.poll() is None and os.path.exists(record)
  finally:
    first.close()
    served.kill()
    served.wait()
  server_lib.Studio(root).close()     # the lock is released on close


def test_studio_py_refuses_a_port_in_use(tmp_path):
  import socket  # pylint: disable=g-import-not-at-top
  with socket.socket() as busy:
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO_DIR, "studio.py"),
         "--workspace=%s" % (tmp_path / "ws"),
         "--port=%d" % busy.getsockname()[1]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=60)
  clirun.assert_user_error(proc, "cannot listen on", "pass another --port")


def _finished_job(root, kind, status="done", script="x.py"):
  """runs/r1 of the workspace at root: a job record of `kind` and an empty
  output folder (no checkpoint)."""
  os.makedirs(os.path.join(root, "runs", "r1", "output"))
  atomic.atomic_json(os.path.join(root, "runs", "r1", "job.json"), {
      "id": "r1", "name": "r1", "kind": kind, "status": status,
      "output_dir": "runs/r1/output", "argv": [script], "settings": {},
      "created": 0})


@contextlib.contextmanager
def _model_server(client, monkeypatch, predictor):
  """serve.py's server on `predictor` in a thread, as the studio's try-it
  server of every run."""
  from bert_toolkit.serving import server as serve_lib  # pylint: disable=g-import-not-at-top
  from bert_toolkit.studio import trying  # pylint: disable=g-import-not-at-top
  srv = serve_lib.make_server(predictor, trying.MODEL_NAME, port=0)
  threading.Thread(target=srv.serve_forever, daemon=True).start()
  try:
    monkeypatch.setattr(client.studio.tryer, "_serve",
                        lambda job: srv.server_address[1])
    yield srv
  finally:
    srv.shutdown()
    srv.server_close()


WRONG_JSON = (5, 1.5, True, [], ["x"], {}, {"a": 1}, "s", None)


def test_wrong_json_types_are_400_on_every_endpoint(client):
  """Every field of every POST endpoint, given each JSON type, and an
  unknown field: a wrong type or an unknown field is a 400 naming the
  field; a value of the right type is taken or refused, never a 500."""
  root = client.studio.workspace.root
  _finished_job(root, next(iter(commands.KINDS)))
  paths = {"command": "/api/command", "runs": "/api/runs"}
  for endpoint, fields in server_lib.BODY_FIELDS.items():
    path = paths.get(endpoint, "/api/runs/r1/" + endpoint)
    for name, kind in fields + (("nonsense", None),):
      for value in WRONG_JSON:
        status, answer, _ = client.post(path, {name: value})
        assert status < 500, (path, name, value, answer)
        if kind is None or (value is not None and type(value) is not kind):
          assert status == 400 and name in answer["error"], (
              path, name, value, answer)
  for value in WRONG_JSON:
    for name in ("seed", "learning_rate", "crf", "task"):
      status, answer, _ = client.post("/api/command", dict(
          classification(), values={name: value}))
      assert status in (200, 400), (name, value, answer)
      if isinstance(value, (list, dict)) and value:
        assert status == 400 and name in answer["error"], (name, answer)
  status, answer, _ = client.post("/api/runs", {"kind": ["x"]})
  assert status == 400 and "kind: must be a string" in answer["error"]
  status, answer, _ = client.post("/api/runs/r1/try", {"text": "北京",
                                                       "text_b": 5})
  assert status == 400 and "text_b" in answer["error"]
  assert not [n for n in os.listdir(os.path.join(root, "runs"))
              if n not in ("r1", "studio.lock")]


def test_a_text_the_model_server_refuses_is_a_400(client, monkeypatch):
  """Try passes serve.py's 4xx reason on as a 400 (the user's text to
  fix), not as a 500: here a text of zero-width characters only."""
  from tests.test_http_framing import FakePredictor  # pylint: disable=g-import-not-at-top
  root = client.studio.workspace.root
  _finished_job(root, next(iter(commands.KINDS)))
  with _model_server(client, monkeypatch, FakePredictor()):
    status, answer, _ = client.post("/api/runs/r1/try",
                                    {"text": "\u200b\u200c"})
    assert status == 400 and "has no tokens" in answer["error"], answer
    status, answer, _ = client.post("/api/runs/r1/try", {"text": "好"})
    assert status == 200 and answer["label"] == "1", answer


def _squad_file(path, questions):
  """A SQuAD-format json of one paragraph and `questions` [(id, q, a)]."""
  context = "北京是中国的首都。上海在东边。"
  qas = [{"id": qid, "question": q, "answers": [
      {"text": a, "answer_start": context.index(a)}]}
         for qid, q, a in questions]
  with open(path, "w", encoding="utf-8") as f:
    json.dump({"version": "v2.0", "data": [{"title": "t", "paragraphs": [
        {"context": context, "qas": qas}]}]}, f, ensure_ascii=False)


def test_a_squad_run_reads_its_data_folders_train_and_dev_json(client):
  """The studio's SQuAD runs take a data folder (train.json, dev.json), as
  run_squad.py --data_dir does; the file flags are not form fields."""
  root = client.studio.workspace.root
  os.makedirs(os.path.join(root, "data", "cmrc"))
  _squad_file(os.path.join(root, "data", "cmrc", "train.json"),
              [("q1", "中国的首都是哪里？", "北京")])
  _squad_file(os.path.join(root, "data", "cmrc", "dev.json"),
              [("q2", "什么在东边？", "上海")])
  names = [f.name for f in commands.fields("squad")]
  assert "train_file" not in names and "predict_file" not in names
  assert "doc_stride" in names and "squad_style" in names
  status, answer, _ = client.post("/api/command", {
      "kind": "squad", "data": "data/cmrc", "model": "models/tiny",
      "values": {"squad_style": "hfl_cmrc", "train_file": "/etc/x"}})
  assert status == 400 and "train_file" in answer["error"], answer
  status, answer, _ = client.post("/api/command", {
      "kind": "squad", "data": "data/cmrc", "model": "models/tiny",
      "values": {"squad_style": "hfl_cmrc", "doc_stride": 32}})
  assert status == 200, answer
  assert answer["argv"][0] == "run_squad.py"
  for flag in ("--data_dir=data/cmrc", "--squad_style=hfl_cmrc",
               "--doc_stride=32", "--do_train=true", "--do_eval=true"):
    assert flag in answer["argv"], answer["argv"]


def test_try_shows_a_squad_answer_in_its_context(client, monkeypatch):
  """A served SQuAD model's answer ({"answer", "score", "start", ...}) is
  the page's answer view, with the question and context it was asked."""
  from tests.test_http_framing import FakePredictor  # pylint: disable=g-import-not-at-top

  class FakeReader(FakePredictor):
    def predict(self, pairs, run_rows=None):
      del run_rows
      return [{"answer": b[:2], "score": 0.9, "start": 0,
               "n_best": [{"text": b[:2], "probability": 0.9}]}
              for _, b in pairs]

  root = client.studio.workspace.root
  _finished_job(root, "squad", script="run_squad.py")
  status, run, _ = client.request("GET", "/api/runs/r1")
  assert status == 200 and run["try_text_b"] is True
  assert run["try_inputs"][0] == "Question"
  with _model_server(client, monkeypatch, FakeReader()):
    status, answer, _ = client.post("/api/runs/r1/try", {
        "text": "中国的首都是哪里？", "text_b": "北京是中国的首都。"})
    assert status == 200, answer
    assert answer["view"] == "answer" and answer["answer"] == "北京"
    assert answer["context"] == "北京是中国的首都。"
    assert answer["question"] == "中国的首都是哪里？"


def test_the_second_text_box_follows_what_the_run_reads(client):
  """Try offers a second text only to a run whose model takes one: a pair
  data set or a generic task with a text_b column; a single-sentence
  classification run or an NER run is refused a text_b. Before run_info.json
  exists a classification run may be either, and is offered one."""
  root = client.studio.workspace.root
  _finished_job(root, "classification", script="run_classifier.py")
  info = os.path.join(root, "runs", "r1", "output", "run_info.json")
  status, run, _ = client.request("GET", "/api/runs/r1")
  assert status == 200 and run["try_text_b"] is True
  for task, head, pair in (
      ("sst2", {}, False), ("lcqmc", {}, True),
      ("tsv", {"text_a_column": "a", "label_column": "y"}, False),
      ("tsv", {"text_a_column": "a", "text_b_column": "b",
               "label_column": "y"}, True),
      ("a-task-of-a-newer-version", {}, True)):
    atomic.atomic_json(info, {"kind": "classifier", "task": task,
                              "head": head, "labels": ["0", "1"]})
    status, run, _ = client.request("GET", "/api/runs/r1")
    assert run["try_text_b"] is pair, (task, head)
  atomic.atomic_json(info, {"kind": "classifier", "task": "sst2",
                            "labels": ["0", "1"]})
  status, answer, _ = client.post("/api/runs/r1/try",
                                  {"text": "good", "text_b": "bad"})
  assert status == 400 and "single text" in answer["error"], answer
  # A distillation student reads as its kind (run_info's) says.
  job = os.path.join(root, "runs", "r1", "job.json")
  record = json.load(open(job))
  atomic.atomic_json(job, dict(record, kind="distillation"))
  atomic.atomic_json(info, {"kind": "classifier", "task": "lcqmc",
                            "labels": ["0", "1"]})
  assert client.request("GET", "/api/runs/r1")[1]["try_text_b"] is True
  atomic.atomic_json(info, {"kind": "ner", "task": "msra"})
  assert client.request("GET", "/api/runs/r1")[1]["try_text_b"] is False


def test_a_corrupt_job_file_is_skipped(tmp_path, fake_repo):
  workspace = workspace_lib.Workspace(make_workspace(str(tmp_path / "ws")))
  jobs = jobs_lib.Jobs(workspace, fake_repo)
  os.makedirs(workspace.run_dir("r7"))
  with open(os.path.join(workspace.run_dir("r7"), "job.json"), "w") as f:
    f.write('{"id": "r7", "sta')
  assert jobs.all() == [] and jobs.get("r7") is None
  assert _create(jobs, workspace) == "r8"


# The library modules the studio may load: TensorFlow-free, all of them.
STUDIO_LIBRARY_MODULES = (
    "bert_toolkit", "bert_toolkit.errors", "bert_toolkit.settings",
    "bert_toolkit.kinds",
    "bert_toolkit.runs", "bert_toolkit.runs.atomic", "bert_toolkit.runs.curves",
    "bert_toolkit.cli", "bert_toolkit.cli.python_check",
    "bert_toolkit.cli.studio", "bert_toolkit.data",
    "bert_toolkit.data.classification", "bert_toolkit.data.ner_data",
    "bert_toolkit.data.split_files", "bert_toolkit.data.tag_schemes",
    "bert_toolkit.data.pretraining_data",
    "bert_toolkit.serving", "bert_toolkit.serving.http_framing")


def test_the_studio_never_loads_tensorflow():
  proc = subprocess.run(
      [sys.executable, "-c", "import sys, studio; "
       "from bert_toolkit.studio import server, jobs, views, trying, "
       "commands; allowed = %r; "
       "print(sorted(m for m in sys.modules if m.split('.')[0] == "
       "'tensorflow' or (m.split('.')[0] == 'bert_toolkit' and m not in "
       "allowed and not m.startswith('bert_toolkit.studio'))))" % (
           STUDIO_LIBRARY_MODULES,)],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, cwd=REPO_DIR, timeout=60)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.strip() == "[]", proc.stdout


def test_a_distillation_command_names_a_teacher_run(client):
  root = client.studio.workspace.root
  os.makedirs(os.path.join(root, "runs", "r1", "output"))
  request = {"kind": "distillation", "data": "data/chnsenticorp",
             "teacher": "runs/r1/output", "model": None,
             "values": {"student_layers": "0", "alpha": 0.3}}
  status, answer, _ = client.post("/api/command", request)
  assert status == 200, answer
  assert answer["argv"][0] == "run_distill.py"
  for flag in ("--teacher_dir=runs/r1/output", "--student_layers=0",
               "--alpha=0.3"):
    assert flag in answer["argv"]
  for teacher, fragment in (("models/tiny", "runs/"), (None, "teacher"),
                            ("runs/../models/tiny", "..")):
    status, answer, _ = client.post("/api/command",
                                    dict(request, teacher=teacher))
    assert status == 400 and fragment in answer["error"], (teacher, answer)
  status, answer, _ = client.post("/api/command", dict(request, values={}))
  assert status == 400 and "student model" in answer["error"]


def test_sigterm_stops_the_studio_cleanly(tmp_path):
  proc = subprocess.Popen(
      [sys.executable, os.path.join(REPO_DIR, "studio.py"),
       "--workspace=%s" % (tmp_path / "ws"), "--port=0"],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True)
  line = proc.stdout.readline()
  assert line.startswith("studio: http://127.0.0.1:"), line
  proc.terminate()
  assert proc.wait(30) == 0
  for name in ("data", "models", "runs"):
    assert os.path.isdir(str(tmp_path / "ws" / name))


def test_try_and_export_refuse_bad_text_and_runs_without_a_model(client):
  root = client.studio.workspace.root
  _finished_job(root, "ner", "failed", "run_ner.py")
  for body, fragment in (({"text": ""}, "text"), ({}, "text"),
                         ({"text": "x" * 3000}, "at most"),
                         ({"text": "北京", "text_b": "上海"}, "single text"),
                         ({"text": "北京"}, "no checkpoint")):
    status, answer, _ = client.post("/api/runs/r1/try", body)
    assert status == 400 and fragment in answer["error"], (body, answer)
  # A failed run is not exported (its page greys the button out).
  status, answer, _ = client.post("/api/runs/r1/export", {})
  assert status == 409 and "a failed run is not exported" in answer[
      "error"], answer
  status, answer, _ = client.request("GET", "/api/runs/r1")
  assert answer["exportable"] is False and answer["resumable"] is True
  job_file = os.path.join(root, "runs", "r1", "job.json")
  atomic.atomic_json(job_file, dict(json.load(open(job_file)),
                                    status="done"))
  status, answer, _ = client.post("/api/runs/r1/export", {})
  assert status == 400 and "no checkpoint" in answer["error"]
  assert client.post("/api/runs/r9/try", {"text": "x"})[0] == 404
  assert client.post("/api/runs/r1/destroy", {})[0] == 404


def test_a_server_left_by_a_killed_studio_is_stopped_by_the_next(tmp_path):
  """runs/serving.json names the try-it server; a new studio stops that
  process if it is still the same one (pid and start time), and leaves a
  pid that now names another process alone."""
  from bert_toolkit.studio import trying
  workspace = workspace_lib.Workspace(str(tmp_path / "ws"))
  record = os.path.join(workspace.root, "runs", "serving.json")
  left = subprocess.Popen([sys.executable, "-c",
                           "import time; time.sleep(120)"])
  other = subprocess.Popen([sys.executable, "-c",
                            "import time; time.sleep(120)"])
  try:
    atomic.atomic_json(record, {"pid": other.pid, "start": "1", "port": 1})
    trying.Tryer(workspace, REPO_DIR)
    assert other.poll() is None and not os.path.exists(record)
    atomic.atomic_json(record, {
        "pid": left.pid, "start": jobs_lib.process_start(left.pid),
        "port": 1, "run": "r1"})
    trying.Tryer(workspace, REPO_DIR)
    assert left.wait(15) == -signal.SIGTERM
    assert other.poll() is None and not os.path.exists(record)
  finally:
    for proc in (left, other):
      proc.kill()
      proc.wait()


def test_the_runs_list_summarises_a_run_again_only_when_it_changed(
    tmp_path, monkeypatch):
  workspace = workspace_lib.Workspace(str(tmp_path / "ws"))
  os.makedirs(os.path.join(workspace.root, "runs", "r1", "output"))
  log = os.path.join(workspace.root, "runs", "r1", jobs_lib.LOG_FILE)
  with open(log, "w") as f:
    f.write("train: step 5/10, 1.0 steps/s, ETA 0:00:05\n")
  job = {"id": "r1", "name": "r1", "kind": "classification",
         "status": "running", "output_dir": "runs/r1/output",
         "argv": [], "settings": {}, "created": 0}
  made = []
  real = views.summary
  monkeypatch.setattr(views, "summary",
                      lambda w, j: made.append(j["id"]) or real(w, j))
  cache = views.SummaryCache()
  first = cache.summaries(workspace, [job])
  assert cache.summaries(workspace, [job]) == first and made == ["r1"]
  with open(log, "a") as f:
    f.write("train: step 7/10, 1.0 steps/s, ETA 0:00:03\n")
  assert cache.summaries(workspace, [job])[0]["step"] == 7
  done = dict(job, status="done")
  atomic.atomic_json(os.path.join(workspace.root, "runs", "r1", "output",
                                   "run_results.json"),
                      {"num_train_steps": 10, "eval": {"accuracy": 0.5}})
  assert cache.summaries(workspace, [done])[0]["metric"] == {
      "name": "accuracy", "value": 0.5}
  assert made == ["r1"] * 3
  assert cache.summaries(workspace, []) == [] and cache.entries == {}


@pytest.mark.slow
def test_a_student_of_a_generic_run_and_its_resume_run_for_real(tmp_path):
  """The real scripts: a classification of a generic tsv folder (columns
  guessed into its command), then a distillation of it, queued, stopped
  and resumed: its command names no column, the teacher's run_info.json
  gives them."""
  workspace = workspace_lib.Workspace(make_workspace(str(tmp_path / "ws")))
  root = workspace.root
  shutil.copytree(os.path.join(root, "data", "chnsenticorp"),
                  os.path.join(root, "data", "reviews"))
  jobs = jobs_lib.Jobs(workspace, None, poll_seconds=0.1)
  jobs.start()
  try:
    small = {"num_train_steps": 2, "train_batch_size": 4,
             "max_seq_length": 32}
    request = dict(classification(**small), data="data/reviews")
    teacher = jobs.create(commands.build(request, workspace), None,
                          request)
    assert "--text_a_column=text_a" in teacher["argv"]
    wait_for(lambda: os.path.isdir(os.path.join(root, teacher["output_dir"])),
             120)
    request = {"kind": "distillation", "data": "data/reviews",
               "teacher": teacher["output_dir"], "model": None,
               "values": dict(small, student_layers="0", max_seq_length=None)}
    student = jobs.create(commands.build(request, workspace), None, request)
    assert not any("column" in a for a in student["argv"]), student["argv"]
    jobs.stop(student["id"])                     # queued: stopped unrun
    wait_for(lambda: jobs.get(teacher["id"])["status"] != "running", 300)
    assert jobs.get(teacher["id"])["status"] == "done"
    jobs.resume(student["id"])
    wait_for(lambda: jobs.get(student["id"])["status"] in ("done", "failed"),
             300)
    log = open(os.path.join(workspace.run_dir(student["id"]), "log.txt"),
               encoding="utf-8").read()
    assert jobs.get(student["id"])["status"] == "done", log[-3000:]
  finally:
    jobs.close()


# ------------------------------------------------------- runs managed ---

def test_rename_tag_and_archive_change_only_those_fields(client):
  """edit sets a run's name, tags and archived flag (shown in the runs
  list), checked by rule; its command and settings never change; a bad
  value is a 400 naming the field, without the CSRF header a 403."""
  root = client.studio.workspace.root
  _finished_job(root, "classification", script="run_classifier.py")
  before = json.load(open(os.path.join(root, "runs", "r1", "job.json")))
  status, answer, _ = client.post("/api/runs/r1/edit", {
      "name": "  baseline lr 5e-5 ", "tags": ["baseline", "lr-sweep",
                                             "baseline"]})
  assert status == 200, answer
  assert answer["name"] == "baseline lr 5e-5"
  assert answer["tags"] == ["baseline", "lr-sweep"]
  assert answer["archived"] is False
  status, answer, _ = client.post("/api/runs/r1/edit", {"archived": True})
  assert answer["archived"] is True and answer["tags"] == ["baseline",
                                                           "lr-sweep"]
  listed = client.request("GET", "/api/runs")[1]["runs"][0]
  assert listed["archived"] is True and listed["name"] == "baseline lr 5e-5"
  after = json.load(open(os.path.join(root, "runs", "r1", "job.json")))
  for key in ("argv", "settings", "status", "output_dir", "kind"):
    assert after[key] == before[key], key
  for body, fragment in (
      ({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
      ({"name": "a\nb"}, "name"), ({"tags": ["a b"]}, "tags"),
      ({"tags": ["<b>"]}, "tags"), ({"tags": [1]}, "tags"),
      ({"tags": ["t%d" % i for i in range(11)]}, "tags"),
      ({"tags": "baseline"}, "tags: must be a list"),
      ({"archived": "yes"}, "archived"), ({"argv": ["x"]}, "unknown field")):
    status, answer, _ = client.post("/api/runs/r1/edit", body)
    assert status == 400 and fragment in answer["error"], (body, answer)
  status, answer, _ = client.request("POST", "/api/runs/r1/edit",
                                     {"name": "evil"})
  assert status == 403
  assert client.request("GET", "/api/runs/r1")[1]["name"] == (
      "baseline lr 5e-5")
  assert client.post("/api/runs/r9/edit", {"name": "x"})[0] == 404


def test_delete_needs_the_run_id_and_an_ended_run(client):
  """delete removes an ended run's folder once the request repeats its id;
  a queued or running run is refused (409) and keeps its files; the id is
  never given to a new run; without the CSRF header nothing is deleted."""
  root = client.studio.workspace.root
  _finished_job(root, "classification", script="run_classifier.py")
  folder = os.path.join(root, "runs", "r1")
  open(os.path.join(folder, "output", "model.ckpt-1.index"), "w").close()
  for body in ({}, {"confirm": "r2"}, {"confirm": " r1x"}):
    status, answer, _ = client.post("/api/runs/r1/delete", body)
    assert status == 400 and "repeat the run id" in answer["error"], answer
  assert client.request("POST", "/api/runs/r1/delete",
                        {"confirm": "r1"})[0] == 403
  job_file = os.path.join(folder, "job.json")
  record = json.load(open(job_file))
  for busy in ("queued", "running"):
    atomic.atomic_json(job_file, dict(record, status=busy))
    status, answer, _ = client.post("/api/runs/r1/delete", {"confirm": "r1"})
    assert status == 409 and "stop it" in answer["error"], answer
    assert os.path.isfile(os.path.join(folder, "output",
                                       "model.ckpt-1.index"))
  atomic.atomic_json(job_file, record)
  status, answer, _ = client.post("/api/runs/r1/delete", {"confirm": "r1"})
  assert status == 200 and answer == {"deleted": "r1"}, answer
  assert not os.path.exists(folder)
  assert sorted(os.listdir(os.path.join(root, "runs"))) == [
      "r1.deleted", "studio.lock"]
  assert client.request("GET", "/api/runs")[1]["runs"] == []
  assert client.request("GET", "/api/runs/r1")[0] == 404
  assert client.post("/api/runs/r1/delete", {"confirm": "r1"})[0] == 404
  assert client.studio.jobs.next_id() == "r2"
  status, answer, _ = client.post("/api/command", classification())
  assert "--output_dir=runs/r2/output" in answer["argv"], answer


def test_delete_stays_inside_the_workspace(client, tmp_path):
  """A run path with "..", an absolute or encoded one, is no run (404); a
  run folder that is a symlink out of runs/ is refused and what it points
  to is left whole; a symlink inside a run folder is removed, never
  followed."""
  root = client.studio.workspace.root
  outside = tmp_path / "precious"
  outside.mkdir()
  (outside / "keep.txt").write_text("keep")
  for path in ("/api/runs/../data/delete", "/api/runs/..%2Fdata/delete",
               "/api/runs/%2Fetc/delete", "/api/runs/r1%2F..%2F../delete",
               "/api/runs/.deleted-r1-0/delete"):
    status, answer, _ = client.post(path, {"confirm": "r1"})
    assert status == 404, (path, answer)
  # runs/r7 -> a folder outside the workspace, holding a job.json
  (outside / "job.json").write_text(json.dumps({
      "id": "r7", "name": "r7", "kind": "classification", "status": "done",
      "output_dir": "runs/r7/output", "argv": ["x.py"], "settings": {},
      "created": 0}))
  os.symlink(str(outside), os.path.join(root, "runs", "r7"))
  status, answer, _ = client.post("/api/runs/r7/delete", {"confirm": "r7"})
  assert status == 400 and "not a folder inside runs/" in answer["error"]
  assert (outside / "keep.txt").read_text() == "keep"
  # a real run folder holding a symlink to the outside folder
  _finished_job(root, "classification", script="run_classifier.py")
  os.symlink(str(outside), os.path.join(root, "runs", "r1", "output",
                                        "link"))
  status, answer, _ = client.post("/api/runs/r1/delete", {"confirm": "r1"})
  assert status == 200, answer
  assert (outside / "keep.txt").read_text() == "keep"
  assert not os.path.exists(os.path.join(root, "runs", "r1"))


def test_a_delete_cut_short_is_finished_by_the_next_studio(tmp_path):
  """A studio killed between renaming a run folder away and removing it
  leaves runs/.deleted-<id>-<n>: the next studio removes it, and the
  run stays gone."""
  root = make_workspace(str(tmp_path / "ws"))
  _finished_job(root, "classification")
  os.rename(os.path.join(root, "runs", "r1"),
            os.path.join(root, "runs", ".deleted-r1-0"))
  open(os.path.join(root, "runs", "r1.deleted"), "w").close()
  studio = server_lib.Studio(root)
  try:
    assert sorted(os.listdir(os.path.join(root, "runs"))) == [
        "r1.deleted", "studio.lock"]
    assert studio.jobs.next_id() == "r2"
  finally:
    studio.close()


def test_the_tensorboard_command_names_the_runs_folders(client):
  root = client.studio.workspace.root
  _finished_job(root, "classification", script="run_classifier.py")
  run = client.request("GET", "/api/runs/r1")[1]
  assert run["tensorboard"] == "tensorboard --logdir=runs/r1/output"
  job = views.jobs_lib.read_json(os.path.join(root, "runs", "r1",
                                              "job.json"))
  assert views.tensorboard([job, dict(job, id="r2",
                                      output_dir="runs/r2/output")]) == (
      "tensorboard --logdir_spec=r1:runs/r1/output,r2:runs/r2/output")


def test_dev_predictions_filter_by_cell_and_stay_inside_the_run(client):
  """The run's dev_predictions.jsonl, filtered: the misclassified ones by
  default (surest first), a confusion-matrix cell's (diagonal included)
  when gold and predicted are both given; a cut-short line is skipped;
  limits are capped; a run without the file says so."""
  root = client.studio.workspace.root
  _finished_job(root, "classification", script="run_classifier.py")
  out = os.path.join(root, "runs", "r1", "output")
  status, answer, _ = client.request("GET", "/api/runs/r1/predictions")
  assert status == 200 and answer["available"] is False
  assert client.request("GET", "/api/runs/r1")[1][
      "has_dev_predictions"] is False
  atomic.atomic_json(os.path.join(out, "run_results.json"),
                     {"labels": ["neg", "pos"], "eval": {}})
  rows = [("neg", "pos", [0.4, 0.6]), ("neg", "pos", [0.1, 0.9]),
          ("pos", "neg", [0.7, 0.3]), ("pos", "pos", [0.2, 0.8]),
          ("neg", "neg", [0.9, 0.1])]
  with open(os.path.join(out, "dev_predictions.jsonl"), "w") as f:
    for i, (gold, predicted, p) in enumerate(rows):
      f.write(json.dumps({"index": str(i), "gold": gold,
                          "predicted": predicted, "probabilities": p,
                          "text_a": "text %d" % i, "text_b": None}) + "\n")
    f.write('{"index": "5", "gold": "neg", "predi')     # cut short
  assert client.request("GET", "/api/runs/r1")[1]["has_dev_predictions"]
  get = lambda q: client.request("GET", "/api/runs/r1/predictions" + q)[1]
  answer = get("")
  assert answer["total"] == 3 and answer["labels"] == ["neg", "pos"]
  assert [r["index"] for r in answer["rows"]] == ["1", "2", "0"]
  assert answer["rows"][0]["confidence"] == 0.9
  assert [r["index"] for r in get("?gold=neg&predicted=pos")["rows"]] == [
      "1", "0"]
  assert [r["index"] for r in get("?gold=pos&predicted=pos")["rows"]] == [
      "3"]
  assert [r["index"] for r in get("?gold=pos")["rows"]] == ["2"]
  assert [r["index"] for r in get("?predicted=pos")["rows"]] == ["1", "0"]
  page = get("?limit=1&offset=1")
  assert page["total"] == 3 and [r["index"] for r in page["rows"]] == ["2"]
  assert len(get("?limit=100000")["rows"]) == 3
  for query in ("?limit=x", "?offset=1.5"):
    status, answer, _ = client.request("GET",
                                       "/api/runs/r1/predictions" + query)
    assert status == 400, answer
  for path in ("/api/runs/..%2Fr1/predictions", "/api/runs/r9/predictions",
               "/api/runs/../r1/predictions"):
    assert client.request("GET", path)[0] == 404, path


def test_entity_errors_count_by_type_and_kind(client):
  """An NER run's dev_predictions.jsonl: counts of errors per type and
  kind, and the errors of one type and kind with their sentence; lines cut
  short or of the wrong shape are skipped."""
  root = client.studio.workspace.root
  _finished_job(root, "ner", script="run_ner.py")
  out = os.path.join(root, "runs", "r1", "output")
  assert client.request("GET", "/api/runs/r1/entity_errors")[1][
      "available"] is False
  ent = lambda t, s, e, m: {"type": t, "start": s, "end": e, "mention": m}
  lines = [
      {"index": 0, "text": "北京大学在北京", "gold": [], "predicted": [],
       "errors": [{"kind": "wrong_span", "type": "ORG",
                   "gold": ent("ORG", 0, 4, "北京大学"),
                   "predicted": ent("ORG", 0, 2, "北京")},
                  {"kind": "missed", "type": "LOC",
                   "gold": ent("LOC", 5, 7, "北京"), "predicted": None}]},
      {"index": 1, "text": "张三", "gold": [], "predicted": [],
       "errors": [{"kind": "missed", "type": "PER",
                   "gold": ent("PER", 0, 2, "张三"), "predicted": None},
                  "not an error", {"kind": 3}]},
      {"index": 2, "text": "x", "errors": "none"}]
  with open(os.path.join(out, "dev_predictions.jsonl"), "w") as f:
    for line in lines:
      f.write(json.dumps(line, ensure_ascii=False) + "\n")
    f.write('{"index": 3, "text": "上')
  get = lambda q: client.request("GET", "/api/runs/r1/entity_errors" + q)[1]
  answer = get("")
  assert answer["counts"] == {"ORG": {"wrong_span": 1},
                              "LOC": {"missed": 1}, "PER": {"missed": 1}}
  assert answer["total"] == 3
  missed = get("?kind=missed")
  assert [(r["index"], r["type"]) for r in missed["rows"]] == [
      (0, "LOC"), (1, "PER")]
  assert missed["rows"][0]["text"] == "北京大学在北京"
  assert get("?type=ORG&kind=wrong_span")["rows"][0]["predicted"][
      "mention"] == "北京"
  assert get("?type=ORG&kind=missed")["total"] == 0
  assert client.request("GET", "/api/runs/r1/entity_errors?limit=-")[0] == 400


# ------------------------------------------------------------ data in ---

def _upload(client, folder, name, data, replace=False, csrf=True):
  path = "/api/upload?folder=%s&file=%s%s" % (
      urllib.parse.quote(folder, safe=""), urllib.parse.quote(name, safe=""),
      "&replace=1" if replace else "")
  headers = {"X-Studio-Csrf": client.studio.csrf} if csrf else {}
  headers["Content-Type"] = "application/octet-stream"
  return client.request("POST", path, raw=data, headers=headers)


TSV = "label\ttext_a\n1\t很好\n0\t不好\n1\t不错的酒店\n".encode("utf-8")


def test_an_upload_lands_in_its_data_folder_and_is_listed(client):
  root = client.studio.workspace.root
  status, answer, _ = _upload(client, "reviews", "train.tsv", TSV)
  assert status == 200 and answer == {"path": "data/reviews/train.tsv"}
  assert _upload(client, "reviews", "dev.tsv", TSV)[0] == 200
  with open(os.path.join(root, "data", "reviews", "train.tsv"), "rb") as f:
    assert f.read() == TSV
  folders = client.request("GET", "/api/options")[1]["data"]
  assert {"name": "reviews", "path": "data/reviews",
          "files": ["dev.tsv", "train.tsv"], "test": False} in folders
  # an existing file is replaced only when asked
  status, answer, _ = _upload(client, "reviews", "train.tsv", b"x")
  assert status == 409 and "exists" in answer["error"]
  assert _upload(client, "reviews", "train.tsv", TSV + TSV[6:],
                 replace=True)[0] == 200


def test_uploads_are_refused_outside_the_rules(client, tmp_path,
                                               monkeypatch):
  """Names that leave data/ or are no split file, binary or non-UTF-8 data,
  too large a file, too many files, a symlinked folder out of the
  workspace, and no CSRF header: refused, nothing written."""
  root = client.studio.workspace.root
  before = sorted(os.listdir(os.path.join(root, "data")))
  for folder, name in (("../runs", "train.tsv"), ("a/b", "train.tsv"),
                       (".hidden", "train.tsv"), ("", "train.tsv"),
                       ("x" * 41, "train.tsv"), ("/etc", "train.tsv"),
                       ("reviews", "../train.tsv"),
                       ("reviews", "train.exe"), ("reviews", "notes.tsv"),
                       ("reviews", "train.tsv/x"), ("reviews", ""),
                       ("reviews", "train.TSV"), ("re\x00v", "train.tsv")):
    status, answer, _ = _upload(client, folder, name, TSV)
    assert status == 400, (folder, name, answer)
  for data, fragment in ((b"\x00\x01binary", "binary"),
                         ("标签".encode("gbk"), "not UTF-8")):
    status, answer, _ = _upload(client, "reviews", "train.tsv", data)
    assert status == 400 and fragment in answer["error"], answer
  status, answer, _ = _upload(client, "reviews", "train.tsv", TSV,
                              csrf=False)
  assert status == 403
  assert sorted(os.listdir(os.path.join(root, "data"))) == before
  monkeypatch.setattr(workspace_lib, "MAX_UPLOAD_BYTES", 20)
  status, answer, _ = _upload(client, "reviews", "train.tsv", TSV)
  assert status == 413 and "limit is 20" in answer["error"], answer
  monkeypatch.setattr(workspace_lib, "MAX_UPLOAD_BYTES", 1 << 20)
  monkeypatch.setattr(workspace_lib, "MAX_UPLOAD_FILES", 2)
  for name in ("train.tsv", "dev.tsv"):
    assert _upload(client, "few", name, TSV)[0] == 200
  status, answer, _ = _upload(client, "few", "test.tsv", TSV)
  assert status == 400 and "limit is 2" in answer["error"]
  outside = tmp_path / "outside"
  outside.mkdir()
  os.symlink(str(outside), os.path.join(root, "data", "evil"))
  status, answer, _ = _upload(client, "evil", "train.tsv", TSV)
  assert status == 400 and not os.listdir(str(outside))


def test_the_preview_shows_what_the_reader_reads(client):
  """Rows per split, the header's columns, the train labels, WordPiece
  lengths with the model's vocab, and a bad line named with its file and
  line; NER too; a bad kind or a folder outside data/ is a 400."""
  root = client.studio.workspace.root
  _upload(client, "reviews", "train.tsv", TSV)
  _upload(client, "reviews", "dev.tsv", b"label\ttext_a\n1\t\xe5\xa5\xbd\n"
          b"only one column\n")
  get = lambda q: client.request("GET", "/api/data/preview?" + q)
  status, answer, _ = get("folder=data/reviews&kind=classification"
                          "&model=models/tiny")
  assert status == 200, answer
  assert answer["reading"] == {"task": "tsv", "text_a_column": "text_a",
                               "label_column": "label"}
  assert answer["columns"] == ["label", "text_a"]
  assert answer["splits"] == {"train": 3}
  assert answer["labels"] == {"1": 2, "0": 1}
  assert len(answer["problems"]) == 1
  assert "dev.tsv line 3" in answer["problems"][0], answer["problems"]
  lengths = answer["lengths"]
  assert lengths["measured"] == 3 and lengths["max"] == 5  # 不错的酒店
  assert sum(b["count"] for b in lengths["histogram"]) == 3
  assert lengths["histogram"][0] == {"upto": 16, "count": 3}
  # without a model: no lengths
  assert get("folder=data/reviews&kind=classification")[1]["lengths"][
      "measured"] == 0
  status, answer, _ = get("folder=data/pd&kind=ner&model=models/tiny")
  assert status == 200 and answer["splits"] == {"train": 1}
  assert answer["labels"] == {"LOC": 1} and answer["lengths"]["max"] == 2
  for query in ("folder=data/reviews&kind=distillation",
                "folder=data/reviews&kind=nonsense",
                "folder=../etc&kind=classification",
                "folder=models/tiny&kind=classification",
                "folder=data/reviews&kind=classification&model=../x",
                "folder=data/missing&kind=classification"):
    status, answer, _ = get(query)
    assert status == 400, (query, answer)


# --------------------------------------------------- batch prediction ---

def _predict_file(client, run_id, data, csrf=True):
  headers = {"Content-Type": "application/octet-stream"}
  if csrf:
    headers["X-Studio-Csrf"] = client.studio.csrf
  return client.request("POST", "/api/runs/%s/predict_file" % run_id,
                        raw=data, headers=headers)


def test_a_file_of_texts_is_predicted_and_downloaded(client, monkeypatch):
  """One text a line (blank lines skipped) through the try-it server, in
  batches; the answers, with their line numbers, in runs/<id>/predictions/
  <n>.jsonl, downloaded as an attachment; a line serve.py refuses is named;
  a tab for a single-text model, binary, empty, too many lines or bytes,
  no CSRF header and a run without a checkpoint are refused."""
  from bert_toolkit.studio import trying  # pylint: disable=g-import-not-at-top
  from tests.test_http_framing import FakePredictor  # pylint: disable=g-import-not-at-top
  root = client.studio.workspace.root
  _finished_job(root, "classification", script="run_classifier.py")
  out = os.path.join(root, "runs", "r1", "output")
  status, answer, _ = _predict_file(client, "r1", b"good\n")
  assert status == 400 and "no checkpoint" in answer["error"]
  open(os.path.join(out, "checkpoint"), "w").close()
  atomic.atomic_json(os.path.join(out, "run_info.json"),
                     {"kind": "classifier", "task": "sst2",
                      "labels": ["0", "1"]})
  monkeypatch.setattr(trying, "FILE_BATCH", 2)
  with _model_server(client, monkeypatch, FakePredictor()):
    data = "很好\n\n不好\nso so\n".encode("utf-8")
    status, answer, _ = _predict_file(client, "r1", data)
    assert status == 200, answer
    assert answer == {"file": "runs/r1/predictions/1.jsonl", "rows": 3}
    status, text, response = client.request(
        "GET", "/api/runs/r1/predictions/1.jsonl")
    assert status == 200
    assert "attachment" in response.getheader("Content-Disposition")
    rows = [json.loads(line) for line in text.splitlines()]
    assert [(r["line"], r["text"], r["label"]) for r in rows] == [
        (1, "很好", "1"), (3, "不好", "1"), (4, "so so", "1")]
    assert _predict_file(client, "r1", b"again\n")[1]["file"].endswith(
        "/2.jsonl")
    status, answer, _ = _predict_file(
        client, "r1", "ok\n\u200b\u200c\n".encode("utf-8"))
    assert status == 400 and "file line 2" in answer["error"], answer
    for data, fragment in ((b"a\tb\n", "line 1: a tab"),
                           (b"\x00\x01", "binary"),
                           ("很".encode("gbk"), "not UTF-8"),
                           (b"\n \n", "no text"),
                           (("x" * 2001).encode(), "longer than")):
      status, answer, _ = _predict_file(client, "r1", data)
      assert status == 400 and fragment in answer["error"], (data, answer)
    monkeypatch.setattr(trying, "MAX_FILE_LINES", 2)
    status, answer, _ = _predict_file(client, "r1", b"a\nb\nc\n")
    assert status == 400 and "more than 2" in answer["error"]
    monkeypatch.setattr(trying, "MAX_FILE_BYTES", 4)
    assert _predict_file(client, "r1", b"abcdef\n")[0] == 413
    assert _predict_file(client, "r1", b"a\n", csrf=False)[0] == 403
  for path in ("/api/runs/r1/predictions/..%2Fjob.json",
               "/api/runs/r1/predictions/9.jsonl",
               "/api/runs/r1/predictions/1.json",
               "/api/runs/r9/predictions/1.jsonl"):
    assert client.request("GET", path)[0] == 404, path
  os.symlink(os.path.join(root, "runs", "r1", "job.json"),
             os.path.join(root, "runs", "r1", "predictions", "3.jsonl"))
  assert client.request("GET", "/api/runs/r1/predictions/3.jsonl")[0] == 404


# ------------------------------------------------------- pre-training ---

def _text_corpus(root, name="corpus", documents=12):
  """data/<name>/train.txt and dev.txt: sentences of ChnSentiCorp reviews,
  one a line, a blank line between reviews."""
  folder = os.path.join(root, "data", name)
  os.makedirs(folder)
  rows = []
  with open(os.path.join(root, "data", "chnsenticorp", "train.tsv"),
            encoding="utf-8") as f:
    next(f)
    for line in f:
      text = line.rstrip("\n").split("\t", 1)[1]
      rows.append("\n".join(part + "。" for part in text.split("。")
                            if part.strip()))
  rows = (rows * documents)[:documents]
  for split, part in (("train", rows[:-2]), ("dev", rows[-2:])):
    with open(os.path.join(folder, split + ".txt"), "w",
              encoding="utf-8") as f:
      f.write("\n\n".join(part) + "\n")
  return "data/" + name


def test_a_pretraining_run_reads_a_text_folder(client):
  """The pre-training form has run_pretraining.py's flags only (no epochs,
  no columns, no test split), with presets for a run watched here; its
  command names the text folder; the preview counts sentences."""
  root = client.studio.workspace.root
  data = _text_corpus(root)
  names = [f.name for f in commands.fields("pretraining")]
  for absent in ("num_train_epochs", "do_predict", "text_a_column",
                 "input_file", "word_list", "dynamic_padding"):
    assert absent not in names, absent
  presets = {f.name: f.preset for f in commands.fields("pretraining")}
  assert presets["num_train_steps"] == 1000 and presets["dupe_factor"] == 5
  assert presets["eval_every_steps"] == 200
  status, answer, _ = client.post("/api/command", {
      "kind": "pretraining", "data": data, "model": "models/tiny",
      "values": {"num_train_steps": 20, "dupe_factor": 2,
                 "masked_lm_only": True}})
  assert status == 200, answer
  assert answer["argv"][:3] == ["run_pretraining.py", "--data_dir=" + data,
                                "--init_checkpoint=models/tiny"]
  assert {"--num_train_steps=20", "--dupe_factor=2",
          "--masked_lm_only=true"} <= set(answer["argv"])
  status, answer, _ = client.post("/api/command", {
      "kind": "pretraining", "data": data, "model": "models/tiny",
      "values": {"num_train_epochs": 2}})
  assert status == 400 and "num_train_epochs" in answer["error"]
  status, answer, _ = client.request(
      "GET", "/api/data/preview?folder=%s&kind=pretraining"
      "&model=models/tiny" % data)
  assert status == 200, answer
  assert answer["splits"]["dev"] > 0 and answer["documents"]["train"] == 10
  assert answer["lengths"]["measured"] == answer["splits"]["train"]
  assert answer["problems"] == []
  # A data folder without train.txt: the problem, named.
  status, answer, _ = client.request(
      "GET", "/api/data/preview?folder=data/chnsenticorp&kind=pretraining")
  assert status == 200 and "train.txt: no training text" in answer[
      "problems"][0]


def test_a_finished_pretraining_run_is_a_model_not_a_teacher(client):
  """A done pre-training run: listed among the models (its output), not
  the teachers; Try, Export and batch prediction refuse it; a run may start
  from its output, and only from inside runs/."""
  studio = client.studio
  _finished_job(studio.workspace.root, "pretraining",
                script="run_pretraining.py")
  job = studio.jobs.get("r1")
  options = client.request("GET", "/api/options")[1]
  assert {"name": "%s · %s" % (job["id"], job["name"]),
          "path": job["output_dir"]} in options["models"]
  assert job["output_dir"] not in [t["path"] for t in options["teachers"]]
  detail = client.request("GET", "/api/runs/" + job["id"])[1]
  assert detail["serves"] is False and not detail["can_try"]
  assert not detail["exportable"]
  for action, body in (("export", {}), ("try", {"text": "好"})):
    status, answer, _ = client.post("/api/runs/%s/%s" % (job["id"], action),
                                    body)
    assert status == 400 and "does not predict or export" in answer[
        "error"], (action, answer)
  status, answer, _ = _predict_file(client, job["id"], "好\n".encode())
  assert status in (400, 409), answer
  status, answer, _ = client.post(
      "/api/command", dict(classification(), model=job["output_dir"]))
  assert status == 200, answer
  assert "--init_checkpoint=%s" % job["output_dir"] in answer["argv"]
  for outside in ("runs/../models/tiny", "runs", "/tmp"):
    status, answer, _ = client.post("/api/command",
                                    dict(classification(), model=outside))
    assert status == 400, (outside, answer)


@pytest.mark.slow
def test_a_pretraining_run_for_real(tmp_path):
  """The real script: a pre-training run on a text folder; its curves carry
  the masked-LM accuracy of each evaluation, and its output is then a model
  of the form (a run starting from a pre-training output:
  tests/test_pretraining.py)."""
  workspace = workspace_lib.Workspace(make_workspace(str(tmp_path / "ws")))
  data = _text_corpus(workspace.root, documents=40)
  jobs = jobs_lib.Jobs(workspace, None, poll_seconds=0.1)
  jobs.start()
  try:
    request = {"kind": "pretraining", "data": data, "model": "models/tiny",
               "values": {"num_train_steps": 6, "num_warmup_steps": 1,
                          "train_batch_size": 4, "max_seq_length": 32,
                          "dupe_factor": 1, "eval_every_steps": 3,
                          "max_eval_steps": 2}}
    pretrain = jobs.create(commands.build(request, workspace), None, request)
    wait_for(lambda: jobs.get(pretrain["id"])["status"] in ("done",
                                                           "failed"), 300)
    log = open(os.path.join(workspace.run_dir(pretrain["id"]), "log.txt"),
               encoding="utf-8").read()
    assert jobs.get(pretrain["id"])["status"] == "done", log[-3000:]
    command = commands.build(dict(classification(),
                                  model=pretrain["output_dir"]), workspace)
    assert "--init_checkpoint=%s" % pretrain["output_dir"] in command.argv(
        "runs/r9/output")
    detail = views.detail(workspace, jobs.get(pretrain["id"]))
    assert [p["step"] for p in detail["curves"]["eval"]] == [3, 6]
    assert all("masked_lm_accuracy" in p for p in detail["curves"]["eval"])
    assert "masked_lm_accuracy" in detail["results"]
  finally:
    jobs.close()


# ------------------------------------------------------------ Chinese ---
# The page's language switch: the server's words (form fields, kind
# titles, its own error replies) come from bert_toolkit/studio/i18n.py,
# the page's own from static/i18n.js.

STUDIO_DIR = os.path.join(REPO_DIR, "bert_toolkit", "studio")
# The studio's exceptions and texts that take (template, *args): the
# position of the template among their arguments.
TRANSLATED = {"RequestError": 0, "PathError": 0, "FileExists": 0,
              "JobError": 0, "JobBusy": 0, "TextError": 0, "TryError": 0,
              "Text": 0, "HttpError": 1}
# Exceptions the studio raises with English it wrote, for the command
# line rather than the page (studio.py prints them): not translated.
COMMAND_LINE_MESSAGES = ("--host=%s opens the studio to the network",
                         "another studio (pid %s) is serving")
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?"
                         r"[diouxXeEfFgGcrsa%]")
_JS_STRING = r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\""""


def test_every_field_and_kind_of_the_form_has_chinese():
  """A new setting, kind or try-box input is named in i18n.py too."""
  missing = []
  for name, kind in commands.KINDS.items():
    for text in (kind.title,) + tuple(kind.inputs or ()):
      if not i18n.TITLES_ZH.get(text):
        missing.append("TITLES_ZH[%r] (kind %s)" % (text, name))
    for field in commands.fields(name):
      label, help_text = i18n.SETTINGS_ZH.get(field.name, (None, None))
      if not label or not help_text:
        missing.append("SETTINGS_ZH[%r] (kind %s)" % (field.name, name))
  assert not missing, ("add the Chinese to bert_toolkit/studio/i18n.py: %s" %
                       ", ".join(missing))
  for label, help_text in i18n.SETTINGS_ZH.values():
    assert re.search(u"[\u4e00-\u9fff]", label + help_text), label
  fields = commands.describe()["classification"]
  learning_rate = [f for f in fields if f["name"] == "learning_rate"][0]
  assert learning_rate["label_zh"] == "学习率" and learning_rate["help_zh"]


def _template_calls(tree):
  """(line, class name, template node) of each call to a TRANSLATED
  class or Text in a parsed module."""
  for node in ast.walk(tree):
    if not isinstance(node, ast.Call):
      continue
    name = node.func.attr if isinstance(node.func, ast.Attribute) else (
        getattr(node.func, "id", None))
    if name in TRANSLATED and len(node.args) > TRANSLATED[name]:
      yield node.lineno, name, node.args[TRANSLATED[name]]


def test_every_message_the_studio_writes_has_chinese():
  """Each template given to the studio's exceptions (and i18n.Text) in
  bert_toolkit/studio/*.py is a string literal with a Chinese entry in
  i18n.MESSAGES_ZH; no studio module raises a built-in exception with
  words of its own (they would reach the page untranslated)."""
  problems = []
  for path in sorted(glob.glob(os.path.join(STUDIO_DIR, "*.py"))):
    name = os.path.basename(path)
    tree = ast.parse(open(path, encoding="utf-8").read())
    for line, cls, template in _template_calls(tree):
      if isinstance(template, ast.Constant) and isinstance(template.value,
                                                           str):
        if template.value not in i18n.MESSAGES_ZH:
          problems.append("%s:%d %s(%r): no MESSAGES_ZH entry" % (
              name, line, cls, template.value))
      elif cls != "Text":       # a Text of a status: checked below
        problems.append("%s:%d %s: the template must be a string literal "
                        "(give the values as arguments)" % (name, line, cls))
    for node in ast.walk(tree):
      if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
              and isinstance(node.exc.func, ast.Name) and node.exc.args):
        continue
      if node.exc.func.id not in ("ValueError", "RuntimeError", "Exception",
                                  "KeyError", "TypeError", "OSError",
                                  "FileExistsError", "WorkspaceBusy"):
        continue
      first = node.exc.args[0]
      literal = first.left if isinstance(first, ast.BinOp) else first
      if isinstance(literal, ast.JoinedStr) or (
          isinstance(literal, ast.Constant) and isinstance(literal.value,
                                                           str)):
        words = literal.value if isinstance(literal, ast.Constant) else ""
        if not words.startswith(COMMAND_LINE_MESSAGES):
          problems.append("%s:%d raises %s with its own words: use a "
                          "translated class" % (name, node.lineno,
                                                node.exc.func.id))
  assert not problems, "\n".join(problems)
  for status in ("queued", "running") + jobs_lib.ENDED:
    assert status in i18n.MESSAGES_ZH, status


def test_a_chinese_template_takes_the_same_arguments():
  for english, chinese in i18n.MESSAGES_ZH.items():
    conversions = _CONVERSION.findall(english)
    assert conversions == _CONVERSION.findall(chinese), (english, chinese)
    values = tuple(1 if c[-1] in "dioxXeEfFgGc" else "x" for c in conversions
                   if c != "%%")
    if values:
      assert english % values and chinese % values


def test_errors_are_chinese_for_a_chinese_page(client):
  """X-Studio-Lang: zh-CN gives the studio's own errors in Chinese, the
  names and values in them as they are; without it (or en) English. The
  tool's own words inside a message stay English. The header changes no
  security rule."""
  zh = {"X-Studio-Lang": "zh-CN"}
  bad = classification(learning_rate="fast")
  status, answer, _ = client.post("/api/command", bad, zh)
  assert status == 400
  assert answer["error"] == "learning_rate：不是 float：'fast'", answer
  for headers in ({}, {"X-Studio-Lang": "en"}):
    status, answer, _ = client.post("/api/command", bad, headers)
    assert answer["error"] == "learning_rate: not a float: 'fast'", answer
  # a message whose words are other messages (a JSON type)
  status, answer, _ = client.post("/api/runs/r1/edit", {"name": ["x"]}, zh)
  assert status == 400 and answer["error"] == "name：应为字符串，收到的是列表"
  status, answer, _ = client.post("/api/runs/r1/edit", {"name": ["x"]})
  assert answer["error"] == "name: must be a string, got a list"
  status, answer, _ = client.request("GET", "/api/runs/r9", headers=zh)
  assert status == 404 and answer["error"] == "此工作区中没有运行 'r9'"
  status, answer, _ = client.post("/api/command", dict(
      classification(), data="data/../x"), zh)
  assert status == 400 and "路径中不允许出现" in answer["error"], answer
  # the 413 written before the body is read
  status, answer, _ = client.request(
      "POST", "/api/command", raw=b"{" + b" " * server_lib.MAX_BODY + b"}",
      headers=dict(zh, **{"X-Studio-Csrf": client.studio.csrf}))
  assert status == 413 and "上限为" in answer["error"], answer
  # CSRF and Host are checked as before
  status, answer, _ = client.request("POST", "/api/runs", classification(),
                                     zh)
  assert status == 403 and "X-Studio-Csrf" in answer["error"], answer
  status, answer, _ = client.request("GET", "/api/runs", headers=dict(
      zh, Host="evil.example:8600"))
  assert status == 403 and "不是本工作台的地址" in answer["error"]
  # a tool's line inside the studio's message stays as the tool wrote it
  error = trying.TryError("%s: %s", "export_savedmodel.py",
                          "error: no checkpoint in runs/r1/output")
  assert str(error) == ("export_savedmodel.py: error: no checkpoint in "
                        "runs/r1/output")
  assert i18n.translate(error, "zh-CN") == (
      "export_savedmodel.py：error: no checkpoint in runs/r1/output")
  assert i18n.translate(ValueError("a tool's words"), "zh-CN") == (
      "a tool's words")


def test_the_options_name_kinds_in_chinese_and_the_page_loads_i18n(client):
  options = client.request("GET", "/api/options")[1]
  titles = {k["name"]: k["title_zh"] for k in options["kinds"]}
  assert titles["classification"] == "文本分类"
  assert titles["distillation"] == "知识蒸馏"
  assert all(f["label_zh"] and f["help_zh"]
             for f in options["fields"]["ner"])
  # a run's kind, short, for the runs list
  assert i18n.short_title_zh("Named entities (NER)") == "命名实体识别"
  _finished_job(client.studio.workspace.root, "ner")
  assert client.request("GET", "/api/runs")[1]["runs"][0]["kind_zh"] == (
      "命名实体识别")
  status, page, _ = client.request("GET", "/")
  assert page.index("/static/i18n.js") < page.index("/static/app.js")
  status, script, response = client.request("GET", "/static/i18n.js")
  assert status == 200 and "studio.lang" in script
  assert response.getheader("Content-Type").startswith("text/javascript")


def _js_unquote(literal):
  """The value of a JS string literal (the escapes app.js and i18n.js
  use)."""
  body = literal[1:-1]
  return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(
      m.group(1), m.group(1)), body)


def _zh_catalog():
  """i18n.js's catalog: {English: Chinese}, one entry a line."""
  source = open(os.path.join(STUDIO_DIR, "static", "i18n.js"),
                encoding="utf-8").read()
  block = source[source.index("const ZH = {"):]
  block = block[:block.index("\n  };")]
  catalog = {}
  for line in block.splitlines()[1:]:
    if not line.strip() or line.strip().startswith("//"):
      continue
    match = re.match(r"^\s*(%s)\s*:\s*(%s),\s*$" % (_JS_STRING, _JS_STRING),
                     line)
    assert match, "i18n.js: one 'English': '中文', a line: %r" % line
    english, chinese = _js_unquote(match.group(1)), _js_unquote(
        match.group(2))
    assert english not in catalog, "i18n.js: %r twice" % english
    catalog[english] = chinese
  return catalog


def test_every_word_of_the_page_has_chinese():
  """Each string app.js passes to t() is in i18n.js's catalog (with the
  same {n} places), and so are the statuses it shows; no visible text,
  placeholder or tooltip in app.js bypasses t(). (A kind's name comes
  from the server: kind_zh.)"""
  catalog = _zh_catalog()
  app = open(os.path.join(STUDIO_DIR, "static", "app.js"),
             encoding="utf-8").read()
  used = {_js_unquote(m) for m in re.findall(
      r"(?<![\w.$])t\(\s*(%s)" % _JS_STRING, app)}
  assert len(used) > 100
  words = used | {"queued", "running"} | set(jobs_lib.ENDED)
  missing = sorted(words - set(catalog))
  assert not missing, "add to i18n.js's catalog: %s" % missing
  for english, chinese in catalog.items():
    assert sorted(re.findall(r"\{\d+\}", english)) == sorted(
        re.findall(r"\{\d+\}", chinese)), (english, chinese)
  untranslated = []
  for pattern in (r"\b(?:text|placeholder|title|label|xLabel)\s*:\s*(%s)",
                  r"\.(?:textContent|placeholder|title)\s*=\s*(%s)",
                  r"showError\(\s*(%s)",
                  r"\[\s*(%s)\s*,\s*el\(", r"\)\s*,\s*(%s)\s*\]"):
    for literal in re.findall(pattern % _JS_STRING, app):
      if re.search(r"[A-Za-z]", _js_unquote(literal)):
        untranslated.append(literal)
  assert not untranslated, "pass these through t(): %s" % untranslated

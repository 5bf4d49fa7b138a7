"""Try a run's model: export it, serve it with serve.py, ask it.

The studio does not load TensorFlow itself. "Export" runs
export_savedmodel.py on the run directory (its best checkpoint) into
runs/<id>/export/; "try" starts serve.py on that export on a free
loopback port, once, and sends it the text through the REST API that
serve.py speaks (TF Serving's). One model server is kept: trying another
run stops the previous one. A server that does not come up within
`start_timeout` seconds is stopped and its log tail returned as the error.

The running server is recorded in runs/serving.json (pid and its start
time in /proc). A studio that was killed outright (SIGKILL) cannot stop
its server; the next studio on the workspace finds the record and stops
that process, if it is still the same one, when it starts.

Rules:
  - An export older than the run's best checkpoint (best/best.json, or
    the newest checkpoint file) is made again before trying.
  - Texts: at most MAX_TEXT characters; a text pair only for a kind whose
    model takes one. A text serve.py refuses (4xx: e.g. one with no
    tokens) is a 400 with serve.py's reason.
  - A file of texts (predict_file): UTF-8, one text a line (a pair as
    `text<TAB>text_b` for a model that takes one), blank lines skipped, at
    most MAX_FILE_LINES texts; sent to the same serve.py in batches of
    FILE_BATCH. The answers go to runs/<id>/predictions/<n>.jsonl, one
    JSON object a line: the line's number, its text(s) and serve.py's
    answer. A line serve.py refuses stops the file with that line named.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from bert_toolkit.runs import atomic
from bert_toolkit.studio import commands
from bert_toolkit.studio import i18n
from bert_toolkit.studio import jobs as jobs_lib
from bert_toolkit.studio import views
from bert_toolkit.studio import workspace as workspace_lib

MAX_TEXT = 2000
MAX_FILE_LINES = 10000
MAX_FILE_BYTES = 8 << 20
FILE_BATCH = 64
PREDICTIONS_FILE = re.compile(r"^[0-9]{1,9}\.jsonl$")
MODEL_NAME = "studio"



def _check_serves(job):
  """ValueError for a run of a kind that does not serve (pre-training)."""
  if not commands.KINDS[job["kind"]].serves:
    raise TextError("%s is a %s run: it does not predict or export; start "
                    "a fine-tuning run from it (its output is a model of "
                    "the New run form)", job["id"], job["kind"])

class TryError(i18n.Translated, RuntimeError):
  """Export or serving failed (a 500 reply with the tool's error line):
  TryError(template, *args) (i18n.Translated)."""


class TextError(i18n.Translated, ValueError):
  """A text, a file of texts or a run the model is not asked with (a 400
  reply): TextError(template, *args) (i18n.Translated)."""


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _error_line(text):
  """The script's `error:` line, else its last line."""
  tail = text.strip().splitlines()[-1:] if text.strip() else ["no output"]
  return (views.error_line(text) or tail[-1])[:500]


def _stop_process(pid, start):
  """SIGTERM to process pid if it is still the one that started at `start`
  (/proc), SIGKILL if it has not ended jobs.KILL_AFTER seconds later."""
  deadline = time.time() + jobs_lib.KILL_AFTER
  try:
    if start and jobs_lib.process_start(pid) == start:
      os.kill(pid, signal.SIGTERM)
    while start and jobs_lib.process_start(pid) == start:
      if time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
        break
      time.sleep(0.1)
  except OSError:
    pass                        # it ended meanwhile


class Tryer(object):
  """Exports runs and keeps one serve.py for the run being tried."""

  def __init__(self, workspace, scripts_dir=None, python=None,
               start_timeout=180.0):
    self.workspace = workspace
    self.scripts_dir = scripts_dir
    self.python = python or sys.executable
    self.start_timeout = start_timeout
    self.lock = threading.Lock()
    self.server = None          # (run_id, export path, Popen, port)
    self.record = os.path.join(workspace.root, "runs", "serving.json")
    self._stop_leftover()

  def _stop_leftover(self):
    """Stops the serve.py a killed studio left running (see the module
    docstring); a pid that now names another process is left alone."""
    record = jobs_lib.read_json(self.record) or {}
    if isinstance(record.get("pid"), int) and record.get("start"):
      _stop_process(record["pid"], record["start"])
    self._forget_record()

  def _forget_record(self):
    if os.path.exists(self.record):
      os.remove(self.record)

  def _script(self, name, args, timeout):
    done = subprocess.run(
        jobs_lib.script_argv(self.python, self.scripts_dir, name) + args,
        cwd=self.workspace.root, env=jobs_lib.script_env(self.scripts_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
        check=False)
    text = done.stdout.decode("utf-8", "replace")
    if done.returncode:
      raise TryError("%s: %s", name, _error_line(text))
    return text

  def export(self, job):
    """Exports the run's best checkpoint; returns the version path."""
    if not views.has_checkpoint(self.workspace, job):
      raise TextError("%s has no checkpoint to export yet: wait until it "
                      "has trained (or resume it)", job["id"])
    base = os.path.join(self.workspace.run_dir(job["id"]), "export")
    self._script("export_savedmodel.py",
                 ["--model_dir=%s" % job["output_dir"],
                  "--export_dir=%s" % self.workspace.relative(base)], 600)
    return views.newest_export(self.workspace, job)

  def current_export(self, job):
    """The run's newest export if it is as new as its checkpoint (best/ or
    the newest), else a new export of it; returns the version path. The
    Export button and the first try share it: neither writes a second
    version of the same checkpoint."""
    _check_serves(job)
    export = views.newest_export(self.workspace, job)
    if export is None:
      return self.export(job)
    out = os.path.join(self.workspace.root, job["output_dir"])
    marks = [os.path.join(out, views.BEST_FILE),
             os.path.join(out, "checkpoint")]
    newest = max([os.path.getmtime(m) for m in marks if os.path.exists(m)]
                 or [0])
    if os.path.getmtime(os.path.join(self.workspace.root, export,
                                     "saved_model.pb")) < newest:
      return self.export(job)
    return export

  def _predict(self, port, instances):
    """serve.py's answers for a list of instances; ValueError with its
    reason for what it refuses (4xx), TryError for its failures."""
    body = json.dumps({"instances": instances}).encode("utf-8")
    request = urllib.request.Request(
        "http://127.0.0.1:%d/v1/models/%s:predict" % (port, MODEL_NAME),
        data=body, headers={"Content-Type": "application/json"})
    try:
      with urllib.request.urlopen(request, timeout=300) as reply:
        return json.loads(reply.read().decode("utf-8"))["predictions"]
    except urllib.error.HTTPError as e:
      reply = e.read().decode("utf-8", "replace")
      if 400 <= e.code < 500:
        try:
          reply = json.loads(reply)["error"]
        except (ValueError, KeyError, TypeError):
          pass
        raise ValueError(reply)
      raise TryError("serve.py: %s", reply)

  def predict_file(self, job, data):
    """Predicts every text of an uploaded file (see the module docstring);
    returns {"file": workspace-relative path, "rows": n}.

    Raises:
      ValueError: the file breaks a rule, or serve.py refuses a line (the
        line is named).
    """
    text = workspace_lib.text_of_upload(data)
    _check_serves(job)
    pair = views.takes_text_b(self.workspace, job)
    items = []
    for number, line in enumerate(text.splitlines(), 1):
      if not line.strip():
        continue
      first, tab, second = line.partition("\t")
      if tab and not pair:
        raise TextError("file line %d: a tab, but this model takes a "
                        "single text; one text a line", number)
      if len(first) > MAX_TEXT or len(second) > MAX_TEXT:
        raise TextError("file line %d: longer than %d characters", number,
                        MAX_TEXT)
      instance = {"text": first}
      if second:
        instance["text_b"] = second
      items.append((number, instance))
      if len(items) > MAX_FILE_LINES:
        raise TextError("file: more than %d texts; split it",
                        MAX_FILE_LINES)
    if not items:
      raise TextError("file: no text in it (one text a line)")
    with self.lock:
      port = self._serve(job)
    lines = []
    for start in range(0, len(items), FILE_BATCH):
      batch = items[start:start + FILE_BATCH]
      try:
        answers = self._predict(port, [i for _, i in batch])
      except ValueError as e:
        # serve.py names no line: find the one it refuses
        for number, instance in batch:
          try:
            self._predict(port, [instance])
          except ValueError as one:
            raise TextError("file line %d: %s", number, one)
        raise TextError("file: %s", e)
      for (number, instance), answer in zip(batch, answers):
        lines.append(json.dumps(dict(instance, line=number, **answer),
                                ensure_ascii=False) + "\n")
    folder = os.path.join(self.workspace.run_dir(job["id"]), "predictions")
    os.makedirs(folder, exist_ok=True)
    taken = [int(n.partition(".")[0]) for n in os.listdir(folder)
             if PREDICTIONS_FILE.match(n)]
    path = os.path.join(folder, "%d.jsonl" % (max(taken or [0]) + 1))
    atomic.atomic_text(path, "".join(lines))
    return {"file": self.workspace.relative(path), "rows": len(lines)}

  def ask(self, job, text, text_b=None):
    """The model's answer for one text (pair), as serve.py gives it."""
    if not isinstance(text, str) or not text.strip():
      raise TextError("text: type a sentence")
    if text_b is not None and not isinstance(text_b, str):
      raise TextError("text_b: a string")
    if len(text) > MAX_TEXT or (text_b and len(text_b) > MAX_TEXT):
      raise TextError("text: at most %d characters", MAX_TEXT)
    if text_b and not views.takes_text_b(self.workspace, job):
      raise TextError("text_b: this model takes a single text")
    with self.lock:
      port = self._serve(job)
    instance = {"text": text}
    if text_b:
      instance["text_b"] = text_b
    try:
      answer = self._predict(port, [instance])[0]
    except ValueError as e:
      # The text was refused (e.g. it has no tokens): the user's to fix.
      raise TextError("text: %s", e)
    # How the page shows it follows from the answer's shape.
    if "entities" in answer:
      return {"view": "entities", "text": text,
              "entities": answer["entities"]}
    if "answer" in answer:      # a span of the context (text_b)
      return dict(answer, view="answer", question=text, context=text_b)
    return dict(answer, view="labels")

  def _serve(self, job):
    """The port of a serve.py for the run's current export."""
    export = self.current_export(job)
    if self.server and self.server[:2] == (job["id"], export) and \
        self.server[2].poll() is None:
      return self.server[3]
    self.close()
    port = _free_port()
    log_path = os.path.join(self.workspace.run_dir(job["id"]), "serve.log")
    with open(log_path, "wb") as log:
      child = subprocess.Popen(
          jobs_lib.script_argv(self.python, self.scripts_dir, "serve.py") + [
           "--export_dir=%s" % export, "--model_name=%s" % MODEL_NAME,
           "--port=%d" % port, "--host=127.0.0.1"],
          cwd=self.workspace.root, env=jobs_lib.script_env(self.scripts_dir),
          stdout=log,
          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    self.server = (job["id"], export, child, port)
    atomic.atomic_json(self.record, {
        "pid": child.pid, "start": jobs_lib.process_start(child.pid),
        "port": port, "run": job["id"]})
    deadline = time.time() + self.start_timeout
    url = "http://127.0.0.1:%d/v1/models/%s" % (port, MODEL_NAME)
    while time.time() < deadline:
      if child.poll() is not None:
        break
      try:
        with urllib.request.urlopen(url, timeout=2):
          return port
      except (urllib.error.URLError, OSError):
        time.sleep(0.3)
    self.close()
    with open(log_path, encoding="utf-8", errors="replace") as f:
      raise TryError("serve.py did not start: %s", _error_line(f.read()))

  def close(self):
    """Stops the model server, if one runs."""
    if self.server:
      child = self.server[2]
      _stop_process(child.pid, jobs_lib.process_start(child.pid))
      child.wait()
      self.server = None
      self._forget_record()

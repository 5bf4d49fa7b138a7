"""Studio runs as subprocesses: a queue, kept on disk, that survives restarts.

Each run is a folder runs/<id>/ (workspace.py). Its job.json holds:

  {"id": "r3", "name": "...", "kind": "classification",
   "request": {...the page's request...}, "argv": ["run_classifier.py", ...],
   "settings": {...every field's value...},
   "status": "queued" | "running" | "done" | "failed" | "stopped",
   "created": t, "started": t, "ended": t, "pid": 1234, "pid_start": "...",
   "exit_code": 0, "attempts": 1,
   "tags": ["baseline"], "archived": false}      (set by edit)

Rules:
  - At most `max_running` jobs run at once (1 by default); the rest wait in
    the order they were created.
  - A job runs `python -m bert_toolkit.cli.<script> <flags>` (or, given a
    folder of scripts, `python <folder>/<script>.py`) in the workspace, in its
    own process group, through `/bin/sh -c '"$@"; echo $? > exit_code'`
    with the argv passed as arguments (no shell string is ever built from
    a request). The exit code therefore reaches runs/<id>/exit_code even
    when the studio is not running any more.
  - A studio that starts finds each job.json that says "running": if its
    process is still alive (same pid and the same start time in /proc) it
    re-attaches; if it has ended, exit_code says done or failed; with no
    exit_code (killed), the job is "stopped".
  - Stop sends SIGTERM to the job's process group: the wrapper shell and
    the script. The job stays "running" until the script has ended: while
    the wrapper lives, or, when a signal ended the wrapper before it wrote
    exit_code, while any process of the group lives (a script that handles
    SIGTERM to save a checkpoint finishes doing so). If one is still there
    `kill_after` seconds (KILL_AFTER: 10) after the Stop, the group gets
    SIGKILL. Then the job is "stopped". The time of the Stop is kept
    in job.json, so a studio restarted meanwhile escalates too. Resume
    queues it again with the same command: the scripts resume a run
    directory from its newest checkpoint.
  - job.json is replaced atomically; a corrupt one is skipped with a
    warning, never half-read.
  - Edit changes only a job's name, tags and archived flag, checked here
    (EDIT_RULES); never its command or settings.
  - Delete removes a run's folder, only for a job that has ended (done,
    failed or stopped) and only when the request repeats the run's id (the
    page's confirmation). Under the jobs lock the status is read again and
    the folder renamed out of the listing (runs/.deleted-<id>-<n>) before
    anything is removed, so a job the loop is about to start cannot be
    deleted under it. The folder must be a real folder inside runs/ (a
    symlink is refused, and the removal never follows one). A tombstone
    runs/<id>.deleted keeps the id from being given to a new run.
"""

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

from bert_toolkit.runs import atomic
from bert_toolkit.studio import i18n
from bert_toolkit.studio import workspace as workspace_lib

JOB_FILE, LOG_FILE, EXIT_FILE = "job.json", "log.txt", "exit_code"
OUTPUT = "output"
KILL_AFTER = 10.0
ENDED = ("done", "failed", "stopped")
TOMBSTONE = ".deleted"
_TAG = re.compile(r"^[\w.+-]{1,30}$")
MAX_TAGS = 10
MAX_NAME = 100
_WRAPPER = '"$@"; echo $? > "$0.tmp" && mv "$0.tmp" "$0"'


def read_json(path):
  """The JSON in path, or None if missing or corrupt."""
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


# The folder that holds the bert_toolkit package (a checkout, or
# site-packages): first on a script's PYTHONPATH.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def script_argv(python, scripts_dir, script):
  """The command that starts a project script ("run_classifier.py"):
  `python -m bert_toolkit.cli.run_classifier`, from a checkout and from an
  installed package alike; or, given a folder of scripts (stand-ins in the
  tests), `python <scripts_dir>/run_classifier.py`."""
  if scripts_dir:
    return [python, os.path.join(scripts_dir, script)]
  return [python, "-m", "bert_toolkit.cli." + os.path.splitext(script)[0]]


def script_env(scripts_dir=None):
  """The environment a project script runs in: the package's folder (and
  a scripts folder, if given) first on PYTHONPATH, output unbuffered so
  logs are live."""
  env = dict(os.environ, PYTHONUNBUFFERED="1")
  env["PYTHONPATH"] = os.pathsep.join(
      [p for p in [scripts_dir, PACKAGE_PARENT, env.get("PYTHONPATH")] if p])
  return env


def process_start(pid):
  """The start time of process pid (/proc/<pid>/stat field 22), or None."""
  try:
    with open("/proc/%d/stat" % pid) as f:
      stat = f.read()
  except (OSError, TypeError):
    return None
  fields = stat[stat.rfind(")") + 2:].split()
  if fields and fields[0] == "Z":
    return None               # a zombie has ended
  return fields[19] if len(fields) > 19 else None


def group_alive(pgid):
  """Whether process group `pgid` has a member that has not ended (a
  zombie waiting for its parent does not count)."""
  try:
    os.killpg(pgid, 0)
  except ProcessLookupError:
    return False
  except OSError:
    pass                        # it exists (another user's: EPERM)
  for name in os.listdir("/proc"):
    if not name.isdigit():
      continue
    try:
      with open("/proc/%s/stat" % name) as f:
        stat = f.read()
    except OSError:
      continue
    fields = stat[stat.rfind(")") + 2:].split()
    if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
      return True
  return False


class JobError(i18n.Translated, ValueError):
  """A change the studio refuses for a job (a 400 reply):
  JobError(template, *args) (i18n.Translated)."""


class JobBusy(JobError):
  """A change a queued or running job cannot take (a 409 reply)."""


def _status(job):
  """A job's status, as words of a message (translated with it)."""
  return i18n.Text(job["status"])


class Jobs(object):
  """The studio's runs: create, list, stop, resume; a thread starts them."""

  def __init__(self, workspace, scripts_dir=None, python=None,
               max_running=1, poll_seconds=0.5, kill_after=KILL_AFTER):
    self.workspace = workspace
    self.scripts_dir = scripts_dir
    self.python = python or sys.executable
    self.max_running = max(1, int(max_running))
    self.poll_seconds = poll_seconds
    self.lock = threading.RLock()
    self.children = {}          # id -> Popen (jobs this studio started)
    self.kill_after = kill_after
    self._stop = threading.Event()
    self._thread = None
    self.attach()

  # ------------------------------------------------------------ disk ---

  def path(self, run_id, name=""):
    return os.path.join(self.workspace.run_dir(run_id), name)

  def get(self, run_id):
    """The job dict, or None."""
    job = read_json(self.path(run_id, JOB_FILE))
    return job if isinstance(job, dict) and job.get("id") == run_id else None

  def all(self):
    """Every readable job, oldest first."""
    base = os.path.join(self.workspace.root, workspace_lib.RUNS)
    jobs = []
    for name in os.listdir(base):
      if not workspace_lib.RUN_ID.match(name):
        continue
      job = self.get(name)
      if job is None:
        logging.warning("skipping %s: no readable %s", name, JOB_FILE)
        continue
      jobs.append(job)
    return sorted(jobs, key=lambda j: int(j["id"][1:]))

  def _save(self, job):
    atomic.atomic_json(self.path(job["id"], JOB_FILE), job)

  # ------------------------------------------------------- requests ---

  def next_id(self):
    """The id the next run will most likely get (r1, r2, ...): after every
    run there is or was (a deleted run's tombstone counts)."""
    base = os.path.join(self.workspace.root, workspace_lib.RUNS)
    numbers = [int(n[1:].partition(".")[0]) for n in os.listdir(base)
               if workspace_lib.RUN_ID.match(n.partition(".")[0])
               and n.partition(".")[1:] in (("", ""), (".", TOMBSTONE[1:]))]
    return "r%d" % (max(numbers or [0]) + 1)

  def create(self, command, name, request):
    """A new queued job for a commands.Command; returns its dict."""
    with self.lock:
      number = int(self.next_id()[1:])
      while True:
        run_id = "r%d" % number
        try:
          os.mkdir(self.path(run_id))
          break
        except FileExistsError:
          number += 1
      output = "%s/%s/%s" % (workspace_lib.RUNS, run_id, OUTPUT)
      job = {"id": run_id, "name": name or run_id,
             "kind": command.kind.name, "request": request,
             "argv": command.argv(output), "settings": command.settings,
             "output_dir": output, "status": "queued",
             "created": time.time(), "started": None, "ended": None,
             "pid": None, "pid_start": None, "exit_code": None,
             "attempts": 0}
      self._save(job)
    self.tick()
    return self.get(run_id)

  def stop(self, run_id):
    """Stops a queued or running job (SIGTERM to its process group)."""
    with self.lock:
      job = self._existing(run_id)
      if job["status"] == "queued":
        job.update(status="stopped", ended=time.time())
        self._save(job)
      elif job["status"] == "running":
        job.update(stop_requested=True, stop_time=time.time())
        self._save(job)
        self._signal(job, signal.SIGTERM)
      else:
        raise JobError("%s is %s: only a queued or running run can be "
                       "stopped", run_id, _status(job))
    return self.get(run_id)

  def resume(self, run_id):
    """Queues a stopped or failed job again (the same command)."""
    with self.lock:
      job = self._existing(run_id)
      if job["status"] not in ("stopped", "failed"):
        raise JobError("%s is %s: only a stopped or failed run can be "
                       "resumed", run_id, _status(job))
      job.update(status="queued", ended=None, exit_code=None, pid=None,
                 pid_start=None, stop_requested=False, stop_time=None)
      self._save(job)
    self.tick()
    return self.get(run_id)

  def edit(self, run_id, name=None, tags=None, archived=None):
    """Renames, tags or (un)archives a job; None leaves a field as it is.

    Raises:
      ValueError: a name or tag that breaks the rules (named).
    """
    if name is not None:
      name = name.strip()
      if not name or len(name) > MAX_NAME or any(c in name for c in
                                                   "\r\n\x00"):
        raise JobError("name: one line of 1 to %d characters", MAX_NAME)
    if tags is not None:
      if len(tags) > MAX_TAGS or not all(
          isinstance(t, str) and _TAG.match(t) for t in tags):
        raise JobError("tags: at most %d tags of 1 to 30 letters, digits "
                       "or . _ + -, got %s", MAX_TAGS, json.dumps(tags)[:80])
      tags = sorted(set(tags), key=tags.index)
    with self.lock:
      job = self._existing(run_id)
      for key, value in (("name", name), ("tags", tags),
                         ("archived", archived)):
        if value is not None:
          job[key] = value
      self._save(job)
    return self.get(run_id)

  def delete(self, run_id, confirm):
    """Deletes an ended job's folder (see the module docstring).

    Raises:
      KeyError: no such job; ValueError: `confirm` is not the run id;
      JobBusy: the job is queued or running; workspace.PathError: its
      folder is not a real folder inside runs/.
    """
    if confirm != run_id:
      raise JobError("confirm: repeat the run id (%s) to delete its "
                     "files", run_id)
    folder = self.workspace.run_dir(run_id)
    base = os.path.join(self.workspace.root, workspace_lib.RUNS)
    with self.lock:
      job = self._existing(run_id)
      if job["status"] not in ENDED:
        raise JobBusy("%s is %s: stop it before deleting it", run_id,
                      _status(job))
      if os.path.islink(folder) or os.path.dirname(
          os.path.realpath(folder)) != base:
        raise workspace_lib.PathError(
            "%s: its folder is not a folder inside runs/; not deleted",
            run_id)
      with open(folder + TOMBSTONE, "w"):
        pass
      n = 0
      while os.path.exists(os.path.join(base, ".deleted-%s-%d" % (run_id,
                                                                  n))):
        n += 1
      doomed = os.path.join(base, ".deleted-%s-%d" % (run_id, n))
      atomic.set_aside(folder, doomed)
    shutil.rmtree(doomed)

  def _existing(self, run_id):
    job = self.get(run_id)
    if job is None:
      raise KeyError(run_id)
    return job

  # ---------------------------------------------------------- processes ---

  def attach(self):
    """After a (re)start: re-attach to live jobs, settle ended ones, and
    finish removing the folders of deletes a killed studio left."""
    base = os.path.join(self.workspace.root, workspace_lib.RUNS)
    for name in os.listdir(base):
      if name.startswith(".deleted-") and not os.path.islink(
          os.path.join(base, name)):
        shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    with self.lock:
      for job in self.all():
        if job["status"] == "running":
          self._settle(job)

  def _alive(self, job):
    """Whether the job's script may still run: its wrapper lives, or the
    wrapper ended without writing the exit code (a signal ended it, e.g.
    a Stop) and a process of the job's group lives."""
    child = self.children.get(job["id"])
    if child is not None:
      if child.poll() is None:
        return True
    elif job.get("pid") and process_start(job["pid"]) == job.get(
        "pid_start"):
      return True
    if os.path.exists(self.path(job["id"], EXIT_FILE)):
      return False              # the script ended; its wrapper said so
    return bool(job.get("pid")) and group_alive(job["pid"])

  def _settle(self, job):
    """A running job: its new status if its processes have ended."""
    if self._alive(job):
      stop_time = job.get("stop_time")
      if stop_time and time.time() >= stop_time + self.kill_after:
        self._signal(job, signal.SIGKILL)
      return
    child = self.children.pop(job["id"], None)
    if child is not None:
      child.poll()
    code = None
    try:
      with open(self.path(job["id"], EXIT_FILE)) as f:
        code = int(f.read().strip())
    except (OSError, ValueError):
      pass
    if job.get("stop_requested") or code is None:
      status = "stopped"
    else:
      status = "done" if code == 0 else "failed"
    job.update(status=status, exit_code=code, ended=time.time())
    self._save(job)

  def _start(self, job):
    run_id = job["id"]
    exit_file = self.path(run_id, EXIT_FILE)
    if os.path.exists(exit_file):
      os.remove(exit_file)
    argv = script_argv(self.python, self.scripts_dir, job["argv"][0]) + list(
        job["argv"][1:])
    with open(self.path(run_id, LOG_FILE), "ab") as log:
      log.write(("$ %s\n" % " ".join(["python"] + job["argv"])).encode())
      log.flush()
      child = subprocess.Popen(
          ["/bin/sh", "-c", _WRAPPER, exit_file] + argv,
          cwd=self.workspace.root, stdout=log, stderr=subprocess.STDOUT,
          stdin=subprocess.DEVNULL, env=script_env(self.scripts_dir),
          start_new_session=True)
    self.children[run_id] = child
    job.update(status="running", started=time.time(), pid=child.pid,
               pid_start=process_start(child.pid),
               attempts=job.get("attempts", 0) + 1)
    self._save(job)

  def _signal(self, job, sig):
    try:
      os.killpg(job["pid"], sig)
    except (OSError, TypeError):
      pass

  def tick(self):
    """Settles ended jobs and starts queued ones while there is room."""
    with self.lock:
      jobs = self.all()
      for job in jobs:
        if job["status"] == "running":
          self._settle(job)
      running = sum(1 for j in jobs if j["status"] == "running")
      for job in jobs:
        if running >= self.max_running:
          break
        if job["status"] == "queued":
          self._start(job)
          running += 1

  # ------------------------------------------------------------ thread ---

  def start(self):
    """Ticks in a background thread until close()."""
    def loop():
      while not self._stop.wait(self.poll_seconds):
        try:
          self.tick()
        except Exception:  # pylint: disable=broad-except
          logging.exception("studio job loop")
    self._thread = threading.Thread(target=loop, name="studio-jobs",
                                    daemon=True)
    self._thread.start()

  def close(self):
    """Stops the thread. Running jobs go on (a later studio re-attaches)."""
    self._stop.set()
    if self._thread is not None:
      self._thread.join()

"""The studio's workspace folder, and the one rule for paths inside it.

  WORKSPACE/
    data/<name>/     data folders: train / dev / test files inside
    models/<name>/   pre-trained model folders (a checkpoint, its config and
                     vocab: a Google release or convert_checkpoint.py output)
    runs/<id>/       one per studio run:
                       job.json    the job (request, command, status, pid)
                       log.txt     the script's stdout and stderr
                       exit_code   written by the job's shell when it ends
                       output/     the run directory (--output_dir)
                       export/     SavedModel versions (export_savedmodel.py)
    runs/serving.json  the try-it model server now running (pid, port)
    runs/studio.lock   held (flock) by the studio serving the workspace;
                       it holds that studio's pid

Path rule (`Workspace.resolve`): a path a request names is relative to the
workspace, has no "..", and resolves (symlinks followed) to a place inside
the workspace, under the top folder it must be in. Anything else is a
`PathError`. The studio writes only under runs/.

One studio per workspace (`Workspace.lock`): a second studio on the same
folder fails with `WorkspaceBusy` before it reads or changes anything of
the first one's (its jobs, its try-it server). The lock is the kernel's
(flock), so a studio that was killed leaves no stale lock behind.
"""

import fcntl
import os
import re

from bert_toolkit.data import split_files
from bert_toolkit.runs import atomic
from bert_toolkit.studio import i18n

DATA, MODELS, RUNS = "data", "models", "runs"


def model_top(relative):
  """The folder a model path must lie in: RUNS for a run's output (a
  pre-training run's model), else MODELS."""
  return RUNS if str(relative or "").replace("\\", "/").startswith(
      RUNS + "/") else MODELS
RUN_ID = re.compile(r"^r[0-9]{1,9}$")
# Uploads (save_upload): a data folder's name, a split file's name and type,
# and the limits.
UPLOAD_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
UPLOAD_FILE = re.compile(r"^[A-Za-z0-9_-]{1,40}\.[a-z]{2,6}$")
UPLOAD_TYPES = ("tsv", "csv", "jsonl", "json", "txt", "train", "dev", "test")
MAX_UPLOAD_BYTES = 50 << 20
MAX_UPLOAD_FILES = 8


class PathError(i18n.Translated, ValueError):
  """A path a request names that is not allowed (a 400 reply):
  PathError(template, *args) (i18n.Translated)."""


class FileExists(PathError):
  """An upload onto a file that exists, not asked to replace it (a 409
  reply)."""


class WorkspaceBusy(RuntimeError):
  """Another studio serves the workspace (its pid is in the message)."""


def text_of_upload(data):
  """An uploaded file's text. PathError for binary data (a NUL byte) or
  bytes that are not UTF-8, naming the fix."""
  if b"\x00" in data:
    raise PathError("file: binary data (a NUL byte); upload UTF-8 text")
  try:
    return data.decode("utf-8")
  except UnicodeDecodeError as e:
    raise PathError("file: not UTF-8 (byte %d); save it as UTF-8 (e.g. "
                    "iconv -f GBK -t UTF-8)", e.start)


class Workspace(object):
  """Paths and listings of one workspace folder."""

  def __init__(self, root):
    self.root = os.path.realpath(root)
    for name in (DATA, MODELS, RUNS):
      os.makedirs(os.path.join(self.root, name), exist_ok=True)

  def resolve(self, relative, top=None):
    """The absolute path of `relative` (a workspace-relative path).

    Args:
      relative: e.g. "data/sst2".
      top: DATA, MODELS or RUNS: the path must lie strictly inside it.

    Raises:
      PathError: absolute, "..", outside the workspace once symlinks are
        followed, or not under `top`.
    """
    if not isinstance(relative, str) or not relative.strip():
      raise PathError("a path is required")
    if "\x00" in relative or os.path.isabs(relative) or relative.startswith(
        "~"):
      raise PathError("%r: give a path relative to the workspace", relative)
    parts = relative.replace("\\", "/").split("/")
    if ".." in parts:
      raise PathError("%r: '..' is not allowed in paths", relative)
    path = os.path.realpath(os.path.join(self.root, relative))
    base = os.path.join(self.root, top) if top else self.root
    if os.path.commonpath([path, base]) != base or path == base:
      raise PathError("%r is not inside the workspace's %s/ folder",
                      relative, top or ".")
    return path

  def lock(self):
    """Takes runs/studio.lock for this process; returns the open file
    (closing it releases the lock).

    Raises:
      WorkspaceBusy: another studio holds it.
    """
    path = os.path.join(self.root, RUNS, "studio.lock")
    handle = open(path, "a+", encoding="utf-8")
    try:
      fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      handle.seek(0)
      owner = handle.read().strip()[:20] or "?"
      handle.close()
      raise WorkspaceBusy(
          "another studio (pid %s) is serving the workspace %s: use that "
          "one, or stop it first" % (owner, self.root))
    handle.seek(0)
    handle.truncate()
    handle.write("%d\n" % os.getpid())
    handle.flush()
    return handle

  def relative(self, path):
    return os.path.relpath(path, self.root)

  def save_upload(self, folder, file_name, data, replace=False):
    """Writes an uploaded split file to data/<folder>/<file_name>
    (atomically); returns its workspace-relative path.

    Rules: `folder` is a plain name (letters, digits, _ and -, at most 40);
    `file_name` names a split (train, dev or test: train.tsv,
    example.dev, ...) of a type the readers take (UPLOAD_TYPES); the data
    is UTF-8 text without NUL bytes, at most MAX_UPLOAD_BYTES; a folder
    holds at most MAX_UPLOAD_FILES files; an existing file is replaced only
    when asked. The folder resolves inside data/ (a symlink out is
    refused, as for every path).

    Raises:
      PathError: a rule broken (the message names it); FileExists: the
        file exists and `replace` is false.
    """
    if not isinstance(folder, str) or not UPLOAD_FOLDER.match(folder):
      raise PathError("folder: a name of letters, digits, _ and - (at most "
                      "40), got %r", str(folder)[:60])
    if not isinstance(file_name, str) or not UPLOAD_FILE.match(
        file_name) or split_files.split_of(file_name) is None or (
            file_name.rpartition(".")[2] not in UPLOAD_TYPES):
      raise PathError(
          "file: a split file named train, dev or test with one of the "
          "types %s (train.tsv, dev.jsonl, example.train), got %r",
          ", ".join(UPLOAD_TYPES), str(file_name)[:60])
    if len(data) > MAX_UPLOAD_BYTES:
      raise PathError("file: %d bytes; the limit is %d", len(data),
                      MAX_UPLOAD_BYTES)
    text_of_upload(data)
    target_dir = os.path.join(self.root, DATA, folder)
    if os.path.lexists(target_dir):
      self.resolve(DATA + "/" + folder, DATA)       # a symlink out: refused
    else:
      os.makedirs(target_dir)
    path = self.resolve(DATA + "/" + folder + "/" + file_name, DATA)
    names = set(os.listdir(target_dir))
    if file_name not in names and len(names) >= MAX_UPLOAD_FILES:
      raise PathError("data/%s holds %d files: the limit is %d", folder,
                      len(names), MAX_UPLOAD_FILES)
    if os.path.lexists(path) and not replace:
      raise FileExists("data/%s/%s exists: replace it, or upload into "
                       "another folder", folder, file_name)
    with atomic.replacing(path, "wb") as f:
      f.write(data)
    return self.relative(path)

  def data_folders(self):
    """[{"name", "path", "files", "test"}] of data/ folders holding a
    train file; "test": whether one holds a test file too."""
    found = []
    for name, path in self._children(DATA):
      files = sorted(f for f in os.listdir(path)
                     if os.path.isfile(os.path.join(path, f)))
      splits = {split_files.split_of(f) for f in files}
      if "train" in splits:
        found.append({"name": name, "path": DATA + "/" + name,
                      "files": files, "test": "test" in splits})
    return found

  def model_folders(self):
    """[{"name", "path"}] of models/ folders holding a checkpoint."""
    found = []
    for name, path in self._children(MODELS):
      if any(f.endswith(".index") for f in os.listdir(path)):
        found.append({"name": name, "path": MODELS + "/" + name})
    return found

  def run_dir(self, run_id):
    """runs/<run_id> (absolute); PathError for a malformed id."""
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
      raise PathError("%r is not a run id (r1, r2, ...)", run_id)
    return os.path.join(self.root, RUNS, run_id)

  def _children(self, top):
    base = os.path.join(self.root, top)
    for name in sorted(os.listdir(base)):
      if name.startswith("."):
        continue
      try:
        path = self.resolve(top + "/" + name, top)
      except PathError:
        continue              # a symlink out of the workspace: not listed
      if os.path.isdir(path):
        yield name, path

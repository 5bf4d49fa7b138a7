"""Files written whole or not at all: a temporary file renamed into place.

The temporary is `<path>.tmp-<pid>`, the name run_info's cleanup of killed
runs' leftovers looks for. Two threads of one process writing the same
path must take turns (the studio writes under its locks).

Every writer of the toolkit goes through here (a test checks that no other
module renames files):

  with replacing(path) as f:         an open file (mode "w" or "wb")
  with replacing_path(path) as tmp:  a path to write a file or a directory
                                     at (TFRecordWriter, a Saver, a copy)

The block's end renames the temporary into place; an exception in it
removes the temporary and leaves path as it was. A directory that already
exists at path is first moved aside to a backup name and removed after the
new one took its place, so a kill leaves either path or the backup whole
(`recover` puts the backup back).

A killed writer leaves its temporary behind; `remove_dead_temporaries`
(folder, name=None) removes every `*.tmp-<pid>` there (hidden names too;
with name, only `<name>.tmp-<pid>`) whose process is gone, and puts back
a directory's backup when the swap was cut off. Every writer calls it on the folders it writes before it writes
(bert_toolkit.runs.paths.prepare_outputs, the run skeleton, the feature
cache), so a rerun cleans what the killed one left.

A write that fails for lack of disk space is a SettingsError naming the
path and the free space (`no_space_error`), not a traceback.

No TensorFlow here: the studio, which never loads it, writes its job files
with these too.
"""

import contextlib
import errno
import json
import logging
import os
import re
import shutil

from bert_toolkit.errors import SettingsError


def temporary_name(path):
  """`<path>.tmp-<pid>`: the temporary this process writes path through."""
  return "%s.tmp-%d" % (path, os.getpid())


@contextlib.contextmanager
def replacing_path(path, temporary=None, backup=None):
  """Yields a temporary path that takes path's name when the block ends.

  The block creates what it writes there (a file, or a directory it makes);
  anything already at the temporary is removed first.

  Args:
    path: the file or directory to write.
    temporary: the temporary's name (default `<path>.tmp-<pid>`).
    backup: where an existing directory at path waits while the new one
      takes its place (default `<path>.old.tmp-<pid>`).

  An exception in the block (or in the rename) removes the temporary and
  leaves path unchanged.
  """
  tmp = temporary or temporary_name(path)
  _remove(tmp)
  try:
    with reporting_full_disk(path):
      yield tmp
      if os.path.isdir(tmp) and os.path.isdir(path):
        old = backup or temporary_name(path + ".old")
        _remove(old)
        os.replace(path, old)
        os.replace(tmp, path)
        _remove(old)
      else:
        os.replace(tmp, path)
  except BaseException:
    _remove(tmp)
    raise


@contextlib.contextmanager
def replacing(path, mode="w", encoding="utf-8"):
  """Yields a file open for writing (mode "w" or "wb"; text in `encoding`)
  that takes path's name when the block ends; see replacing_path."""
  kwargs = {} if "b" in mode else {"encoding": encoding}
  with replacing_path(path) as tmp:
    with open(tmp, mode, **kwargs) as f:
      yield f


def recover(path, temporary, backup):
  """After a kill inside replacing_path(path, temporary, backup): puts the
  backup back if path is gone, then removes the temporary and the backup."""
  if not os.path.exists(path) and os.path.exists(backup):
    os.replace(backup, path)
  for leftover in (temporary, backup):
    _remove(leftover)


# ------------------------------------------- what killed writers left ---

_TEMPORARY = re.compile(r"^(.+)\.tmp-(\d+)$")
_BACKUP = ".old"


def remove_dead_temporaries(folder, name=None):
  """Deletes the `*.tmp-<pid>` files and folders in folder (hidden ones
  too: the SavedModel export stages in `.export-<version>.tmp-<pid>`)
  whose writer process no longer runs; with `name`, only that file's
  (`<name>.tmp-<pid>`: a script writing one file into a folder it does not
  own). A directory's backup (`<name>.old.tmp-<pid>`, see replacing_path)
  whose directory is gone is put back instead. Returns the paths removed
  or put back."""
  done = []
  try:
    names = sorted(os.listdir(folder))
  except OSError:           # not a folder (yet), or unreadable
    return done
  for entry in names:
    m = _TEMPORARY.match(entry)
    if not m or (name is not None and m.group(1) != name):
      continue
    if _process_alive(int(m.group(2))):
      continue
    path = os.path.join(folder, entry)
    try:
      base = m.group(1)
      original = os.path.join(folder, base[:-len(_BACKUP)])
      if (base.endswith(_BACKUP) and os.path.isdir(path) and
          not os.path.lexists(original)):
        os.replace(path, original)   # the swap was cut off: put it back
      else:
        _remove(path)
      done.append(path)
    except OSError:
      pass
  if done:
    logging.getLogger("tensorflow").info(
        "Removed %d temporary file(s) left by killed writers in %s",
        len(done), folder)
  return done


def _process_alive(pid):
  if pid == os.getpid():
    return True
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  except OverflowError:     # not a pid at all
    return False
  return True


# ------------------------------------------------------- a full disk ---

def _is_no_space(error):
  if isinstance(error, OSError) and error.errno == errno.ENOSPC:
    return True
  return "No space left on device" in str(error)


def _human(size):
  for unit in ("bytes", "KB", "MB", "GB", "TB"):
    if size < 1024 or unit == "TB":
      return ("%d %s" % (size, unit) if unit == "bytes" else
              "%.1f %s" % (size, unit))
    size /= 1024.0


def free_space(path):
  """Free bytes on the file system that holds path (its nearest existing
  folder), or None when it cannot be told."""
  folder = os.path.abspath(path)
  while folder and not os.path.isdir(folder):
    parent = os.path.dirname(folder)
    if parent == folder:
      break
    folder = parent
  try:
    return shutil.disk_usage(folder).free
  except OSError:
    return None


def no_space_error(path, error):
  """The one-line error for a write to path that ran out of disk space
  (a SettingsError), or None when `error` is something else."""
  if isinstance(error, SettingsError) or not _is_no_space(error):
    return None
  free = free_space(path)
  return SettingsError(
      "no space left on the device while writing %s (%s free there): free "
      "some space, or write to another disk" % (
          path, "unknown" if free is None else _human(free)))


@contextlib.contextmanager
def reporting_full_disk(path):
  """Turns a full disk inside the block into no_space_error(path)."""
  try:
    yield
  except Exception as e:  # pylint: disable=broad-except
    full = no_space_error(path, e)
    if full is None:
      raise
    raise full from None


def _remove(path):
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path)
  elif os.path.lexists(path):
    os.remove(path)


def atomic_json(path, obj):
  """Writes JSON to path through a temporary file renamed into place."""
  with replacing(path) as f:
    json.dump(obj, f, indent=2, ensure_ascii=False, default=str)


def atomic_text(path, text):
  """Writes text to path through a temporary file renamed into place."""
  with replacing(path) as f:
    f.write(text)


def set_aside(path, aside):
  """Moves `path` to `aside` (an unused name in the same folder) in one
  rename: a folder about to be removed leaves its listing at once, and a
  removal cut short leaves it only under `aside`, whose owner finishes it
  (the studio's delete)."""
  if os.path.lexists(aside):
    raise FileExistsError(aside)
  os.rename(path, aside)

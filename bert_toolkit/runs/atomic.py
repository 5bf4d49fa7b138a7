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

No TensorFlow here: the studio, which never loads it, writes its job files
with these too.
"""

import contextlib
import json
import os
import shutil


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

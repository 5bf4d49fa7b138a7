"""What a script may write: the one check of its output locations against
what it reads, made before anything is written.

  paths.check_writes(
      writes=[paths.output_folder("--output_dir", out),
              paths.output_file("--output_file", name)],
      reads=[paths.input_path("--init_checkpoint", folder),
             paths.input_path("--data_dir", data_dir)])

Rules (every path compared after symlinks are resolved, os.path.realpath):
- An output is never something the script reads: not equal to an input,
  not inside an input folder (the init checkpoint's folder, a teacher run,
  the data folder, a Hugging Face folder), and no input lies inside an
  output folder (--overwrite_output_dir would delete it, a run's files
  would overwrite it). A symlinked file in an input folder counts as an
  input where it points.
- No file is named twice as an output (`--output_file=a,a`).
- An output folder is not a file; an output file is not a folder; no
  output lies under a file; the folder an output is created in can be
  written (os.access: a read-only mount, or a folder without write
  permission for this user).

A broken rule is a SettingsError naming the flag, the path and the fix.
`prepare_outputs` then creates the folders and removes what killed writers
left there (atomic.remove_dead_temporaries).

No TensorFlow here.
"""

import collections
import os

from bert_toolkit.errors import SettingsError
from bert_toolkit.runs import atomic

# A path a script writes (folder: a directory it creates or fills; else a
# file) or reads.
Output = collections.namedtuple("Output", "flag path is_folder")
Input = collections.namedtuple("Input", "flag path fix")



def output_folder(flag, path):
  """An output folder (created if missing)."""
  return Output(flag, path, True)


def output_file(flag, path):
  """An output file (its folder is created if missing)."""
  return Output(flag, path, False)


def input_path(flag, path, fix=None):
  """An input: a file or a folder the script reads (fix: what to do
  instead when an output meets it, beside naming another output)."""
  return Input(flag, path, fix)


def model_folder(path):
  """The folder a model flag reads: --init_checkpoint as a folder, or the
  folder of a checkpoint prefix (the vocab, config and `checkpoint` file
  beside it are read too)."""
  if not path:
    return None
  if os.path.isdir(path):
    return path
  return os.path.dirname(os.path.abspath(path))


def real(path):
  """The absolute path with every symlink resolved."""
  return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def _within(child, parent):
  """child is parent or lies inside it (real paths)."""
  if child == parent:
    return True
  return child.startswith(parent.rstrip(os.sep) + os.sep)


def _read_places(reads):
  """(input, given path, real path) of each input, and of the symlinked
  files in input folders (where they point)."""
  places = []
  for r in reads:
    if not r.path:
      continue
    where = real(r.path)
    places.append((r, r.path, where))
    if os.path.isdir(where):
      try:
        entries = list(os.scandir(where))
      except OSError:
        entries = []
      for entry in entries:
        if entry.is_symlink() and os.path.isfile(entry.path):
          places.append((r, entry.path, real(entry.path)))
  return places


def refuse_overlap(writes, reads):
  """Refuses an output that is, holds, or lies inside an input; and a file
  named twice as an output.

  Args:
    writes: Outputs (output_folder / output_file); None paths are skipped.
    reads: Inputs (input_path); None paths are skipped.

  Raises:
    SettingsError: the flags, both paths and the fix.
  """
  writes = [w for w in writes if w.path]
  places = _read_places(reads)
  seen = {}
  for w in writes:
    target = real(w.path)
    if not w.is_folder:
      if target in seen:
        raise SettingsError(
            "%s names %s twice (%s): each output file once" % (
                w.flag if seen[target] == w.flag else
                "%s and %s" % (seen[target], w.flag), w.path, target))
      seen[target] = w.flag
    for r, given, where in places:
      if target == where:
        problem = "is"
      elif w.is_folder and _within(where, target):
        problem = "holds"
      elif _within(target, where):
        problem = "lies inside"
      else:
        continue
      named = (w.path if w.path == given else
               "%s, %s %s" % (w.path, r.flag, given))
      raise SettingsError(
          "%s %s %s (%s), which the script reads: it would write into%s "
          "what it reads; name another %s, outside what it reads%s" % (
              w.flag, problem, r.flag, named,
              " (or, with --overwrite_output_dir, delete)" if w.is_folder
              else "", w.flag, ", or " + r.fix if r.fix else ""))


def _nearest_existing(path):
  """path, or its nearest ancestor that exists."""
  here = os.path.abspath(path)
  while not os.path.lexists(here):
    parent = os.path.dirname(here)
    if parent == here:
      break
    here = parent
  return here


def check_output(output):
  """Refuses an output location the script could not write (see the
  module docstring); nothing is created."""
  flag, path = output.flag, output.path
  if not path:
    return
  if os.path.exists(path):
    if output.is_folder and not os.path.isdir(path):
      raise SettingsError("%s %s is a file, not a folder: name a folder (it "
                          "is created if missing)" % (flag, path))
    if not output.is_folder and os.path.isdir(path):
      raise SettingsError("%s %s is a folder: name a file to write" %
                          (flag, path))
  existing = _nearest_existing(path)
  if existing != os.path.abspath(path) and not os.path.isdir(existing):
    raise SettingsError("%s %s lies under %s, which is a file, not a "
                        "folder: name a path in a folder" %
                        (flag, path, existing))
  # Where the script creates or renames entries: the folder itself when it
  # exists, else the folder it is created in.
  place = (path if output.is_folder and os.path.isdir(path) else
           existing if existing != os.path.abspath(path) else
           os.path.dirname(os.path.abspath(path)))
  if not os.access(place, os.W_OK | os.X_OK):
    raise SettingsError("%s %s: %s is read-only (no write permission, or a "
                        "read-only file system): name a writable place" %
                        (flag, path, place))


def check_writes(writes, reads=()):
  """The one check of a script's outputs, before it writes anything: each
  location can be written (check_output), and no output overlaps an input
  or another output (refuse_overlap).

  Raises:
    SettingsError: the flag, the path and the fix.
  """
  writes = [w for w in writes if w.path]
  for w in writes:
    check_output(w)
  refuse_overlap(writes, reads)


def prepare_outputs(writes):
  """Creates the output folders (a file's folder too) and removes what
  killed writers left: every dead `*.tmp-<pid>` in an output folder, and
  an output file's own dead `<file>.tmp-<pid>` beside it (the folder of
  an output file may hold other programs' files). Call after
  check_writes."""
  for w in writes:
    if not w.path:
      continue
    path = os.path.abspath(w.path)
    where = path if w.is_folder else os.path.dirname(path)
    with atomic.reporting_full_disk(where):
      os.makedirs(where, exist_ok=True)
    atomic.remove_dead_temporaries(
        where, None if w.is_folder else os.path.basename(path))

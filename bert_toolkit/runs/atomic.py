"""Files written whole or not at all: a temporary file renamed into place.

The temporary is `<path>.tmp-<pid>`, the name run_info's cleanup of killed
runs' leftovers looks for. Two threads of one process writing the same
path must take turns (the studio writes under its locks).

No TensorFlow here: the studio, which never loads it, writes its job files
with these too.
"""

import json
import os


def atomic_json(path, obj):
  """Writes JSON to path through a temporary file renamed into place."""
  tmp = "%s.tmp-%d" % (path, os.getpid())
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(obj, f, indent=2, ensure_ascii=False, default=str)
  os.replace(tmp, path)


def atomic_text(path, text):
  """Writes text to path through a temporary file renamed into place."""
  tmp = "%s.tmp-%d" % (path, os.getpid())
  with open(tmp, "w", encoding="utf-8") as f:
    f.write(text)
  os.replace(tmp, path)

"""In-memory imports of google-research/bert's run_squad.py and HFL's
run_cmrc2018_drcd_baseline.py, UNMODIFIED, under TF 2.x, for parity tests
(tests/test_squad_data.py).

  load_google() -> Google's run_squad module
  load_hfl()    -> HFL's CMRC 2018 baseline module
  set_flags(module, **values)  sets the module's FLAGS (each module has its
                               own FlagValues, so both load in one process)

BERT_SRC (environment) is the folder of Google's code (default
../shared/anchors/google_bert next to the repository); HFL_SRC the folder of
HFL's (default ../shared/anchors/cmrc2018_baseline). While a module is
imported, sys.modules["tensorflow"] is a module forwarding every attribute
to tensorflow.compat.v1, except `flags`, which defines the script's flags in
a FlagValues of its own (marked parsed: HFL's script reads a flag at import
time). Google's `import tokenization` / `modeling` / `optimization` find
Google's modules, not the project's packages of the same names, which are
put back afterwards. Nothing on disk is modified, nothing is copied.
"""

import importlib.util
import os
import sys
import types

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ANCHORS = os.path.join(os.path.dirname(REPO_DIR), "shared", "anchors")
BERT_SRC = os.environ.get("BERT_SRC", os.path.join(_ANCHORS, "google_bert"))
HFL_SRC = os.environ.get("HFL_SRC", os.path.join(_ANCHORS,
                                                 "cmrc2018_baseline"))
_GOOGLE_MODULES = ("tokenization", "modeling", "optimization")
_LOADED = {}


def _flags_shim(absl_flags):
  """A `tf.flags` whose DEFINE_* functions fill a FlagValues of its own."""
  flag_values = absl_flags.FlagValues()
  shim = types.ModuleType("flags")
  shim.__dict__["__getattr__"] = lambda name: getattr(absl_flags, name)

  def bound(define):
    def define_here(*args, **kwargs):
      kwargs.setdefault("flag_values", flag_values)
      return define(*args, **kwargs)
    return define_here

  for name in dir(absl_flags):
    if name.startswith("DEFINE"):
      setattr(shim, name, bound(getattr(absl_flags, name)))
  shim.FLAGS = flag_values
  return shim, flag_values


def _load(name, path):
  """Imports the script at `path` as module `name` against the shims."""
  if name in _LOADED:
    return _LOADED[name]
  import tensorflow.compat.v1 as tf1  # pylint: disable=g-import-not-at-top
  flags_shim, flag_values = _flags_shim(tf1.flags)
  tf_shim = types.ModuleType("tensorflow")
  tf_shim.__dict__["__getattr__"] = lambda attr: getattr(tf1, attr)
  tf_shim.flags = flags_shim
  tf_shim.app = types.SimpleNamespace(flags=flags_shim, run=tf1.app.run)
  saved = {key: sys.modules.pop(key, None)
           for key in _GOOGLE_MODULES + ("tensorflow",)}
  sys.modules["tensorflow"] = tf_shim
  sys.path.insert(0, BERT_SRC)
  # HFL's script reads a flag while it is imported: the (default) values
  # must be readable before anything parses them.
  original_define = flags_shim.DEFINE_integer

  def define_and_mark(*args, **kwargs):
    result = original_define(*args, **kwargs)
    flag_values.mark_as_parsed()
    return result

  flags_shim.DEFINE_integer = define_and_mark
  try:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
  finally:
    sys.path.remove(BERT_SRC)
    for key, value in saved.items():
      if value is None:
        sys.modules.pop(key, None)
      else:
        sys.modules[key] = value
  flag_values.mark_as_parsed()
  _LOADED[name] = module
  return module


def load_google():
  """Google's run_squad module (its FLAGS parsed with the defaults)."""
  return _load("google_run_squad", os.path.join(BERT_SRC, "run_squad.py"))


def load_hfl():
  """HFL's run_cmrc2018_drcd_baseline module (FLAGS with the defaults)."""
  return _load("hfl_cmrc2018_baseline",
               os.path.join(HFL_SRC, "run_cmrc2018_drcd_baseline.py"))


def set_flags(module, **values):
  """Sets flags of the module's own FLAGS, e.g. do_lower_case=True."""
  for key, value in values.items():
    setattr(module.FLAGS, key, value)

"""The shape of the code: serving stays light, library code reads no flags
and keeps no module-level state, every script's --help shows all its
flags, and a new task plugs into the runner as one module."""

import ast
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_toolkit.data import encoding
from bert_toolkit.engine import runner
from bert_toolkit import settings as settings_lib
from bert_toolkit.engine import task as task_lib
from modeling import heads
from tests.paths import REFERENCE_DIR
from tests.paths import REPO_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
LIBRARY_PACKAGES = ("bert_toolkit", "modeling", "tokenization")
# The command lines are the only readers of flags.
FLAG_PACKAGE = os.path.join("bert_toolkit", "cli")
SCRIPTS = ("run_classifier.py", "run_ner.py", "run_distill.py", "run_task.py",
           "run_pretraining.py", "create_pretraining_data.py",
           "extract_features.py", "export_savedmodel.py", "predict.py",
           "serve.py", "convert_checkpoint.py", "prune_vocab.py",
           "prune_model.py")
TRAINING_MODULES = ("bert_toolkit.engine.runner", "bert_toolkit.engine.training",
                    "bert_toolkit.engine.optimization")


def _library_files():
  for package in LIBRARY_PACKAGES:
    for path in sorted(glob.glob(os.path.join(REPO_DIR, package, "**",
                                              "*.py"), recursive=True)):
      yield os.path.relpath(path, REPO_DIR), path


def _modules_after_import(statement):
  code = ("import sys\n%s\nprint('\\n'.join(sorted(sys.modules)))" %
          statement)
  out = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, check=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  return set(out.stdout.split())


@pytest.mark.slow
@pytest.mark.parametrize("statement", [
    "import bert_toolkit.serving.predictor", "import bert_toolkit.serving.server",
    "import bert_toolkit.serving.export"])
def test_serving_imports_no_training_loop(statement):
  loaded = _modules_after_import(statement)
  assert not loaded & set(TRAINING_MODULES), sorted(
      loaded & set(TRAINING_MODULES))


def test_the_predictor_knows_no_task_and_windows_are_tf_free():
  """What is kind-specific in serving is the task module's codec: the
  predictor module imports no task module (a loaded export brings its
  own), and names no kind."""
  loaded = _modules_after_import("import bert_toolkit.serving.predictor")
  assert not [m for m in loaded if m.startswith("bert_toolkit.tasks.")]
  source = open(os.path.join(REPO_DIR, "bert_toolkit", "serving",
                             "predictor.py"), encoding="utf-8").read()
  for kind in ("classifier", "ner", "pretraining"):
    assert '"%s"' % kind not in source, kind
  loaded = _modules_after_import("import bert_toolkit.data.windows, "
                                 "bert_toolkit.data.encoding")
  assert "tensorflow" not in loaded


def test_no_flags_read_outside_scripts_and_the_flags_module():
  offenders = []
  for rel, path in _library_files():
    if rel.startswith(FLAG_PACKAGE + os.sep):
      continue
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
      if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names]
        module = getattr(node, "module", None) or ""
        if "absl.flags" in names or (module == "absl" and "flags" in names):
          offenders.append("%s:%d imports absl flags" % (rel, node.lineno))
      if isinstance(node, ast.Name) and node.id == "FLAGS":
        offenders.append("%s:%d reads FLAGS" % (rel, node.lineno))
  assert not offenders, offenders


_MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict",
                  "Counter", "deque"}


def _is_mutable(value):
  if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp,
                        ast.ListComp, ast.SetComp)):
    return True
  if isinstance(value, ast.Call):
    func = value.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(
        func, "id", None)
    return name in _MUTABLE_CALLS
  return False


def test_no_module_level_mutable_state():
  """No module-level dict/list/set bindings, no `global`, and no generator
  that stores state on its object (the old ClassificationTask._header)."""
  offenders = []
  for rel, path in _library_files():
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in tree.body:
      targets = []
      if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
      elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets, value = [node.target], node.value
      if targets and _is_mutable(value):
        offenders.append("%s:%d module-level mutable %s" % (
            rel, node.lineno, ast.dump(targets[0])[:40]))
    for node in ast.walk(tree):
      if isinstance(node, ast.Global):
        offenders.append("%s:%d global %s" % (rel, node.lineno, node.names))
      if isinstance(node, ast.FunctionDef) and any(
          isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(node)):
        for n in ast.walk(node):
          if isinstance(n, ast.Assign) and any(
              isinstance(t, ast.Attribute) and
              isinstance(t.value, ast.Name) and t.value.id == "self"
              for t in n.targets):
            offenders.append("%s:%d generator %s sets self state" % (
                rel, n.lineno, node.name))
  assert not offenders, offenders


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_lists_every_flag(script):
  proc = subprocess.run([sys.executable, os.path.join(REPO_DIR, script),
                         "--help"], cwd=REPO_DIR, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, universal_newlines=True,
                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  # absl's --help prints the flags and exits 1 by design.
  assert "Traceback" not in proc.stdout, proc.stdout[-2000:]
  assert "Try --helpfull" in proc.stdout, proc.stdout[-2000:]
  if script in ("run_classifier.py", "run_ner.py", "run_distill.py",
                "run_task.py"):
    rows = settings_lib.RUN_SETTINGS + settings_lib.TRAIN_SETTINGS
    for row in rows:
      assert "--%s" % row.name in proc.stdout or (
          "--[no]%s" % row.name in proc.stdout), (script, row.name)
  if script == "extract_features.py":
    for name in ("init_checkpoint", "model_type", "max_seq_length",
                 "do_lower_case", "vocab_file", "bert_config_file"):
      assert name in proc.stdout, name


def test_flag_error_is_one_line_with_status_2():
  proc = subprocess.run([sys.executable,
                         os.path.join(REPO_DIR, "run_classifier.py"),
                         "--train_batch_size=many"], cwd=REPO_DIR,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True,
                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert proc.returncode == 2, proc.stderr
  assert proc.stderr.startswith("error: ") and "train_batch_size" in \
      proc.stderr
  assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("script", ["run_classifier", "run_ner", "run_distill"])
def test_flag_defaults_are_the_settings_defaults(script):
  """One table of defaults: each shared flag's default is its setting's."""
  code = ("import json, %s\nfrom absl import flags\n"
          "print(json.dumps({n: flags.FLAGS[n].default for n in "
          "flags.FLAGS}))" % script)
  proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, check=True,
                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  flag_defaults = json.loads(proc.stdout.strip().splitlines()[-1])
  train = settings_lib.TrainSettings().as_dict()
  for row in settings_lib.TRAIN_SETTINGS:
    assert flag_defaults[row.name] == row.default == train[row.name], row
  for row in settings_lib.RUN_SETTINGS:
    assert flag_defaults[row.name] == row.default, row


# ----------------------------------------- a new task is one module ---

class ParityTask(task_lib.Task):
  """A task written as one module without touching the runner: is the
  number of characters of a text even? It has its own feature names
  ("parity", and a float vector "soft" as cached teacher outputs would be),
  scores in Python from predictions, and carries a frozen second variable
  scope (what a distillation teacher needs)."""

  kind = "parity"
  name = "parity"
  best_metrics = ("accuracy",)
  sequence_names = ("input_ids", "segment_ids")
  scalar_names = ("parity", "example_index")
  float_features = (("soft", 2),)

  def read_labels(self, data_dir, train_examples):
    return ["even", "odd"]

  def source_file(self, data_dir, split):
    return os.path.join(data_dir, split + ".txt")

  def read_split(self, data_dir, split, labels=None):
    with open(self.source_file(data_dir, split), encoding="utf-8") as f:
      return [line.strip() for line in f if line.strip()]

  def encode(self, split, examples, tokenizer, max_seq_length):
    def records():
      for index, text in enumerate(examples):
        encoded = encoding.encode(tokenizer, text, None, max_seq_length)
        yield {"input_ids": encoded.input_ids,
               "segment_ids": encoded.segment_ids,
               "parity": [len(text) % 2], "example_index": [index],
               "soft": [0.9, 0.1] if len(text) % 2 == 0 else [0.1, 0.9]}
    return task_lib.EncodedSplit(records, len(examples), None)

  def head(self, model, features, context):
    logits = heads.classifier_logits(model.get_pooled_output(), 2,
                                     context.is_training)
    with tf.variable_scope("teacher"):
      teacher = tf.get_variable("w", [2], initializer=tf.ones_initializer())
    predictions = {"label_id": tf.argmax(logits, -1, output_type=tf.int32)}
    if context.mode == tf.estimator.ModeKeys.PREDICT:
      return task_lib.HeadOutput(predictions)
    hard, _, _ = heads.softmax_cross_entropy(logits, features["parity"], 2)
    soft = features["soft"]  # [batch, 2] float32, from the TFRecord
    soft_loss = -tf.reduce_mean(tf.reduce_sum(
        soft * tf.nn.log_softmax(logits), axis=-1))
    return task_lib.HeadOutput(
        predictions, loss=0.5 * hard + 0.5 * soft_loss +
        0.0 * tf.reduce_sum(teacher), frozen_scopes=["teacher"])

  def evaluate(self, run, data, checkpoint=None, name=None):
    rows = list(run.predictions(data, checkpoint))
    right = sum(int(r["label_id"]) == int(r["parity"]) for r in rows)
    scores = {"accuracy": right / len(rows),
              "global_step": run.checkpoint_step(checkpoint)}
    run.write_summaries("eval" if name is None else "eval_" + name,
                        {"accuracy": scores["accuracy"]},
                        scores["global_step"])
    return scores

  def eval_report(self, scores, checkpoint, data):
    return "accuracy = %.4f\n" % scores["accuracy"]

  def predict(self, run, data, checkpoint):
    rows = list(run.predictions(data, checkpoint))
    return {"num_examples": len(rows)}


@pytest.mark.slow
def test_a_new_task_plugs_into_the_runner(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  texts = ["你好", "今天天气很好", "一", "我们", "北京欢迎你", "好的好的"] * 6
  for split in ("train", "dev", "test"):
    (data / (split + ".txt")).write_text("\n".join(texts) + "\n",
                                         encoding="utf-8")
  out = str(tmp_path / "run")
  results = runner.run(ParityTask(), settings_lib.RunSettings(
      data_dir=str(data), output_dir=out, init_checkpoint=BERT_DIR,
      max_seq_length=16, do_train=True, do_eval=True, do_predict=True,
      train=settings_lib.TrainSettings(
          num_train_epochs=2.0, train_batch_size=8, eval_every_steps=3,
          log_every_seconds=5.0, seed=1)))
  assert results["kind"] == "parity"
  assert results["train"]["global_step"] == results["num_train_steps"] == 9
  assert 0.0 <= results["eval"]["accuracy"] <= 1.0
  assert results["predict"]["num_examples"] == len(texts)
  assert os.path.isfile(os.path.join(out, "best", "best.json"))
  with open(os.path.join(out, "eval_results.txt")) as f:
    assert f.read().startswith("accuracy = ")
  info = json.load(open(os.path.join(out, "run_info.json")))
  assert info["kind"] == "parity" and info["labels"] == ["even", "odd"]
  # The frozen scope kept its value and got no optimizer slot.
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(out))
  np.testing.assert_array_equal(reader.get_tensor("teacher/w"), [1.0, 1.0])
  assert not any(n.startswith("teacher/w/")
                 for n in reader.get_variable_to_shape_map())
  assert "output_weights/AdamWeightDecay_m" in \
      reader.get_variable_to_shape_map()


# ------------------------------------------------------------- floors ---

# bert_toolkit's floors, lowest first: a module imports from its own floor
# and the floors below, never from above. modeling and tokenization (Google's
# names) sit under all of them and import nothing of bert_toolkit.
FLOORS = (("bert_toolkit.errors", "bert_toolkit.settings",
           "bert_toolkit.class_weights", "bert_toolkit.kinds",
           "bert_toolkit.hardware"),
          ("bert_toolkit.runs",), ("bert_toolkit.data",),
          ("bert_toolkit.engine",), ("bert_toolkit.tasks",),
          ("bert_toolkit.compression",),
          ("bert_toolkit.serving",), ("bert_toolkit.studio",),
          ("bert_toolkit.cli",))


def _floor(module):
  for index, prefixes in enumerate(FLOORS):
    if any(module == p or module.startswith(p + ".") for p in prefixes):
      return index
  return None


def _imported_modules(tree, package):
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield node.lineno, alias.name
    elif isinstance(node, ast.ImportFrom) and node.module:
      base = node.module
      if node.level:
        base = ".".join(package.split(".")[:len(package.split(".")) -
                                          node.level + 1] + [node.module])
      for alias in node.names:
        yield node.lineno, base + "." + alias.name
        yield node.lineno, base


def test_no_import_runs_up_a_floor():
  offenders = []
  for rel, path in _library_files():
    module = rel[:-3].replace(os.sep, ".")
    if module.endswith(".__init__"):
      module = module[:-len(".__init__")]
    tree = ast.parse(open(path, encoding="utf-8").read())
    own = _floor(module)
    for line, name in _imported_modules(tree, module.rsplit(".", 1)[0]):
      if not name.startswith("bert_toolkit"):
        continue
      if own is None:
        offenders.append("%s:%d %s imports %s" % (rel, line, module, name))
        continue
      floor = _floor(name)
      if floor is not None and floor > own:
        offenders.append("%s:%d %s (floor %d) imports %s (floor %d)" % (
            rel, line, module, own, name, floor))
  assert not offenders, offenders


def test_the_floors_cover_the_package():
  packages = [os.path.relpath(p, REPO_DIR).replace(os.sep, ".")
              for p in glob.glob(os.path.join(REPO_DIR, "bert_toolkit", "*"))
              if os.path.isdir(p) and not p.endswith("__pycache__")]
  modules = [os.path.relpath(p, REPO_DIR)[:-3].replace(os.sep, ".")
             for p in glob.glob(os.path.join(REPO_DIR, "bert_toolkit",
                                             "*.py"))]
  for name in packages + [m for m in modules if not m.endswith("__init__")]:
    assert _floor(name) is not None, name


# ---------------------------------------------- kinds live in the tasks ---

def test_the_engine_serving_and_studio_name_no_task_kind():
  """What is kind-specific lives in the task modules and the registry
  (bert_toolkit.kinds): no string of the engine, serving or the studio
  (Python or JavaScript, docstrings and comments aside) is a kind's name,
  so a new kind needs no edit there."""
  from bert_toolkit import kinds  # pylint: disable=g-import-not-at-top
  names = {row.kind for row in kinds.KINDS} | {
      row.studio for row in kinds.KINDS if row.studio}
  offenders = []
  for package in ("engine", "serving", "studio"):
    folder = os.path.join(REPO_DIR, "bert_toolkit", package)
    for path in sorted(glob.glob(os.path.join(folder, "**", "*.py"),
                                 recursive=True)):
      tree = ast.parse(open(path, encoding="utf-8").read())
      docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                    if isinstance(n, (ast.Module, ast.ClassDef,
                                      ast.FunctionDef)) and n.body and
                    isinstance(n.body[0], ast.Expr)}
      for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and node.value in names and
            id(node) not in docstrings):
          offenders.append("%s:%d %r" % (os.path.relpath(path, REPO_DIR),
                                         node.lineno, node.value))
    for path in sorted(glob.glob(os.path.join(folder, "**", "*.js"),
                                 recursive=True)):
      for number, line in enumerate(open(path, encoding="utf-8"), 1):
        for name in names:
          if "'%s'" % name in line or '"%s"' % name in line:
            offenders.append("%s:%d %r" % (os.path.relpath(path, REPO_DIR),
                                           number, name))
  assert not offenders, offenders


# ------------------------------------------- one way to write atomically ---

def test_files_are_renamed_into_place_only_by_the_atomic_module():
  """Every temporary-then-rename write goes through bert_toolkit.runs.atomic
  (replacing / replacing_path), so temporaries have the names run_info's
  cleanup knows and are removed when a write fails: no other library module
  renames files."""
  allowed = {
      os.path.join("bert_toolkit", "runs", "atomic.py"):
          "the one implementation of replacing / replacing_path / recover",
  }
  renames = {"os.replace", "os.rename", "os.renames", "shutil.move",
             "tf.gfile.Rename", "tf.io.gfile.rename", "gfile.Rename",
             "gfile.rename"}

  def dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
      parts.append(node.attr)
      node = node.value
    if isinstance(node, ast.Name):
      parts.append(node.id)
      return ".".join(reversed(parts))
    return None

  offenders = []
  for relpath, path in _library_files():
    if relpath in allowed:
      continue
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
      name = None
      if isinstance(node, ast.Call):
        name = dotted(node.func)
      elif isinstance(node, ast.ImportFrom) and node.module in ("os",
                                                                "shutil"):
        name = next((node.module + "." + a.name for a in node.names
                     if node.module + "." + a.name in renames), None)
      if name in renames:
        offenders.append("%s:%d %s" % (relpath, node.lineno, name))
  assert not offenders, offenders

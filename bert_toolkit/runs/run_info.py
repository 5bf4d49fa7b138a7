"""What a run directory says about itself, and the checks that keep runs
apart: `run_info.json`, the fine-tuned checkpoint, the directory lock.

Every training run writes run_info.json before its first step, so that
later steps (evaluate-only runs, export_savedmodel.py, the predictor) can
rebuild the same graph and tokenizer from the run directory alone:

  {
    "format": 2,
    "kind": "classifier" | "ner" | "pretraining",
    "model_type": "bert" | "albert" | "distilbert",
    "config": {... the BertConfig as a dict ...},
    "vocab_file": "vocab.txt",          # copied into the run directory
    "do_lower_case": true,
    "max_seq_length": 128,
    "labels": ["0", "1"],
    "task": "sst2",
    "head": {...},                      # kind-specific: the head and how
                                        # the data is read (crf, scheme,
                                        # a generic task's columns,
                                        # truncation, multi_label, ...)
    "train": {...}                      # settings a resume must keep
  }

The vocab is copied next to it, and the model config written beside it as
`<family>_config.json`, so a run directory can be moved or exported without
the pre-trained folder it started from, and is itself usable as
`--init_checkpoint` (a pre-training run's output continues into
fine-tuning).

Rules (`check_same_run`): a command run on a directory that holds a run
must agree with it on everything that defines the model and its inputs:
kind, task, model type, config, vocab, case, max_seq_length, labels and the
head. A difference is a SettingsError naming the setting and both values,
raised before anything is written. Settings a command does not give are
taken from run_info.json (they are None in settings.RunSettings, and in
the task's head settings): an evaluate- or predict-only command, a resume
and a distillation student (from its teacher's) read the data as the run
did without repeating its columns.
"""

import fcntl
import glob
import hashlib
import json
import os
import shutil

import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit import kinds
from bert_toolkit.runs import atomic
from bert_toolkit.runs.atomic import atomic_json
from bert_toolkit.runs.atomic import atomic_text
from bert_toolkit.errors import SettingsError

RUN_INFO_FILE = "run_info.json"
VOCAB_FILE = "vocab.txt"
LABELS_FILE = "labels.txt"
LOCK_FILE = ".run.lock"
BEST_DIR = "best"
FORMAT = 2

# What a training run writes in its directory (removed by
# --overwrite_output_dir; the feature cache is kept: it is keyed by
# content).
RUN_FILES = (("checkpoint", "model.ckpt-*", "graph.pbtxt", "events.out.*",
              "eval", "eval_final", BEST_DIR, BEST_DIR + ".tmp",
              BEST_DIR + ".old", RUN_INFO_FILE, VOCAB_FILE, LABELS_FILE,
              "run_results.json", "eval_results.txt", "test_results.tsv",
              "test_results.txt", "test_predictions.txt",
              "test_predictions.jsonl", "student_init", "curves.jsonl",
              "dev_predictions.jsonl") +
             tuple(modeling.families.CONFIG_FILES.values()))

_OVERWRITE_FIX = ("pass --overwrite_output_dir (with --do_train) to train "
                  "from scratch there, or use another --output_dir")


def file_digest(path):
  """sha256 of a file's bytes."""
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def write(output_dir, kind, model_type, config, vocab_file, do_lower_case,
          max_seq_length, labels, task, head=None, train=None):
  """Writes output_dir/run_info.json (atomically) and copies the vocab.

  Args:
    output_dir: the run directory.
    kind: "classifier" or "ner".
    model_type: "bert", "albert" or "distilbert".
    config: `modeling.BertConfig` of the encoder.
    vocab_file: the vocab the features were made with.
    do_lower_case, max_seq_length: tokenizer settings.
    labels: list of label strings (ids are positions).
    task: the task name.
    head: dict of head settings (kind-specific), or None.
    train: dict of training settings a resume must keep, or None.

  Returns:
    The dict written.
  """
  os.makedirs(output_dir, exist_ok=True)
  target_vocab = os.path.join(output_dir, VOCAB_FILE)
  if os.path.abspath(vocab_file) != os.path.abspath(target_vocab):
    with atomic.replacing_path(target_vocab) as tmp:
      shutil.copyfile(vocab_file, tmp)
  info = {
      "format": FORMAT,
      "kind": kind,
      "model_type": model_type,
      "config": config.to_dict(),
      "vocab_file": VOCAB_FILE,
      "do_lower_case": bool(do_lower_case),
      "max_seq_length": int(max_seq_length),
      "labels": list(labels),
      "task": task,
      "head": dict(head or {}),
      "train": dict(train or {}),
  }
  atomic_json(os.path.join(output_dir, RUN_INFO_FILE), info)
  # The model config beside the checkpoints and vocab.txt: the directory is
  # then usable as --init_checkpoint of another run.
  config_file = os.path.join(output_dir,
                             modeling.families.CONFIG_FILES[model_type])
  atomic_text(config_file, config.to_json_string())
  return info


def exists(output_dir):
  return os.path.isfile(os.path.join(output_dir, RUN_INFO_FILE))


def read(output_dir):
  """Reads output_dir/run_info.json.

  Returns:
    The dict, with "config" as a `modeling.BertConfig` and "vocab_file" as
    an absolute path.

  Raises:
    modeling.ConfigError: no run_info.json (not a fine-tuned run directory,
      or one made before this file existed) or an unreadable one.
  """
  path = os.path.join(output_dir, RUN_INFO_FILE)
  if not os.path.isfile(path):
    raise modeling.ConfigError(
        "%s not found: %s is not the --output_dir of a run_classifier.py / "
        "run_ner.py training run (train it first, with --do_train)" %
        (path, output_dir))
  try:
    with open(path, encoding="utf-8") as f:
      info = json.load(f)
  except ValueError as e:
    raise modeling.ConfigError("%s is not valid JSON: %s" % (path, e))
  missing = [k for k in ("kind", "model_type", "config", "labels",
                         "max_seq_length") if k not in info]
  if missing:
    raise modeling.ConfigError("%s lacks %s" % (path, ", ".join(missing)))
  info["config"] = modeling.BertConfig.from_dict(info["config"])
  info["vocab_file"] = os.path.join(output_dir,
                                    info.get("vocab_file") or VOCAB_FILE)
  return info


def pretrained_files(output_dir, info=None):
  """The model files of a trained run directory, as `find_pretrained` gives.

  For evaluate / predict-only runs that name no pre-trained model: the
  config and vocab come from run_info.json, the weights from the run's own
  fine-tuned checkpoint (so `checkpoint` is None: nothing to restore).
  """
  info = info or read(output_dir)
  return modeling.PretrainedFiles(
      checkpoint=None,
      config_file=os.path.join(output_dir, RUN_INFO_FILE),
      vocab_file=info["vocab_file"], model_type=info["model_type"],
      config=info["config"])


def check_same_run(output_dir, info, kind, task, files, do_lower_case,
                   max_seq_length):
  """Raises SettingsError if this command is not the run in output_dir.

  Args:
    output_dir: the run directory.
    info: its run_info (from read).
    kind, task: this command's kind and task name.
    files: this command's modeling.PretrainedFiles.
    do_lower_case, max_seq_length: this command's (resolved) values.

  The labels are checked where they are read (check_same_labels): a
  command is refused on a run directory before any data is read.
  """
  def refuse(what):
    raise SettingsError("%s: %s; %s" % (output_dir, what, _OVERWRITE_FIX))

  if info["kind"] != kind:
    refuse("it holds a %s run (%s), not a %s run" % (
        info["kind"], kinds.script_of(info["kind"]), kind))
  if info.get("task") and info["task"] != task:
    refuse("it was trained on --task=%s, this command asks for --task=%s "
           "(evaluate another data set of the same task with --data_dir)" %
           (info["task"], task))
  if info["model_type"] != files.model_type:
    refuse("it holds a %s model, --init_checkpoint %s is %s" % (
        info["model_type"], files.checkpoint or files.config_file,
        files.model_type))
  ours, theirs = info["config"].to_dict(), files.config.to_dict()
  differing = sorted(k for k in set(ours) | set(theirs)
                     if ours.get(k) != theirs.get(k))
  if differing:
    refuse("its model config differs from %s in %s" % (
        files.config_file, ", ".join(
            "%s (%s vs %s)" % (k, ours.get(k), theirs.get(k))
            for k in differing[:3])))
  if (os.path.abspath(files.vocab_file) != os.path.abspath(info["vocab_file"])
      and file_digest(files.vocab_file) != file_digest(info["vocab_file"])):
    refuse("its vocab.txt differs from %s" % files.vocab_file)
  if bool(info["do_lower_case"]) != bool(do_lower_case):
    refuse("it was trained with --do_lower_case=%s, this command asks for "
           "--do_lower_case=%s (leave the flag out to use the run's)" % (
               str(info["do_lower_case"]).lower(),
               str(do_lower_case).lower()))
  if int(info["max_seq_length"]) != int(max_seq_length):
    refuse("it was trained with --max_seq_length=%d, this command asks for "
           "%d (leave the flag out to use the run's)" % (
               info["max_seq_length"], max_seq_length))


def check_same_labels(output_dir, info, labels):
  """Raises SettingsError if the labels this command's training data gives
  differ from the run's in output_dir."""
  if list(info["labels"]) != list(labels):
    raise SettingsError("%s: it was trained with labels %s, this command "
                        "has %s; %s" % (output_dir, _short(info["labels"]),
                                        _short(labels), _OVERWRITE_FIX))


def check_resume_settings(output_dir, info, train_values):
  """A resumed training run keeps the settings its data position needs.

  Args:
    output_dir: the run directory (holds a checkpoint).
    info: its run_info.
    train_values: {setting: value} of this command (RESUME_INVARIANT keys).
  """
  saved = info.get("train") or {}
  for key, value in sorted(train_values.items()):
    if key in saved and saved[key] != value:
      raise SettingsError(
          "%s: resuming needs the run's %s (this command has %s): the "
          "data position it resumes from depends on it; %s" % (
              output_dir, _flag_setting(key, saved[key]),
              "it left out" if value is None else _flag_value(value),
              _OVERWRITE_FIX))


def _flag_setting(key, value):
  """--key=value, or "--key left out" for None."""
  if value is None:
    return "--%s left out" % key
  return "--%s=%s" % (key, _flag_value(value))


def _flag_value(value):
  return str(value).lower() if isinstance(value, bool) else str(value)


def _short(labels, limit=8):
  labels = list(labels)
  text = ", ".join(labels[:limit])
  return "[%s%s]" % (text, ", ..." if len(labels) > limit else "")


def remove_run_files(output_dir):
  """--overwrite_output_dir: deletes what a training run wrote (RUN_FILES).

  Other files, and the feature cache, are left alone.
  """
  removed = 0
  for pattern in RUN_FILES:
    for path in glob.glob(os.path.join(output_dir, pattern)):
      if os.path.isdir(path):
        shutil.rmtree(path)
      else:
        os.remove(path)
      removed += 1
  return removed


class DirectoryLock(object):
  """An exclusive lock on a run directory while a command uses it.

  fcntl.flock on output_dir/.run.lock: released when the process ends,
  even by kill -9, so a killed run never blocks its rerun.
  """

  def __init__(self, output_dir):
    self.path = os.path.join(output_dir, LOCK_FILE)
    self.handle = None

  def acquire(self):
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    self.handle = open(self.path, "a+")
    try:
      fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      self.handle.seek(0)
      holder = self.handle.read().strip() or "?"
      self.handle.close()
      self.handle = None
      raise SettingsError(
          "%s is in use by another run (pid %s): wait for it to finish, or "
          "use another --output_dir" % (os.path.dirname(self.path), holder))
    self.handle.seek(0)
    self.handle.truncate()
    self.handle.write(str(os.getpid()))
    self.handle.flush()
    return self

  def release(self):
    if self.handle is not None:
      fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
      self.handle.close()
      self.handle = None

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *unused):
    self.release()
    return False


# The one cleanup of what killed writers left (`*.tmp-<pid>`): atomic's.
remove_dead_temporaries = atomic.remove_dead_temporaries


_CHECKPOINT_TEMPORARIES = ("*_temp", "*_temp_*", "checkpoint.tmp*",
                           "*.tempstate*")


def remove_checkpoint_temporaries(output_dir):
  """Deletes what TensorFlow leaves when a checkpoint save is killed
  (`<prefix>_temp/` shard folders, `checkpoint.tmp*`, `*.tempstate*`), in
  output_dir and best/. Call it holding the directory lock: no other run
  writes there then."""
  removed = 0
  for folder in (output_dir, os.path.join(output_dir, BEST_DIR)):
    for pattern in _CHECKPOINT_TEMPORARIES:
      for path in glob.glob(os.path.join(folder, pattern)):
        if os.path.isdir(path):
          shutil.rmtree(path, ignore_errors=True)
        elif os.path.exists(path):
          os.remove(path)
        removed += 1
  if removed:
    tf.logging.info("Removed %d temporary file(s) of interrupted checkpoint "
                    "saves in %s", removed, output_dir)
  return removed


# --------------------------------------------------------- checkpoints ---

def checkpoint_step(prefix):
  """global_step stored in a checkpoint (0 for None)."""
  if not prefix:
    return 0
  return int(tf.train.load_variable(prefix, "global_step"))


def fine_tuned_checkpoint(output_dir):
  """The checkpoint a run's results come from: best/ if kept, else newest.

  Raises:
    modeling.CheckpointError: the run directory holds no checkpoint.
  """
  best = tf.train.latest_checkpoint(os.path.join(output_dir, BEST_DIR))
  latest = best or tf.train.latest_checkpoint(output_dir)
  if not latest:
    raise modeling.CheckpointError(
        "no fine-tuned checkpoint in %s (nor in %s/%s): train first "
        "(--do_train)" % (output_dir, output_dir, BEST_DIR))
  return latest


def read_labels(path):
  """Reads a labels.txt, one label a line."""
  with open(path, encoding="utf-8") as f:
    return [line.rstrip("\n") for line in f if line.rstrip("\n")]


def write_labels(path, labels):
  """Saves the label list, one a line (atomically)."""
  with atomic.replacing(path) as f:
    for label in labels:
      f.write(label + "\n")


# A multi-label classifier's per-label thresholds, tuned on dev by the final
# evaluation (bert_toolkit.tasks.classifier); prediction and export read them.
THRESHOLDS_FILE = "thresholds.json"
# The final evaluation's dev examples with their predictions (error
# analysis; bert_toolkit.tasks.classifier.write_dev_predictions).
DEV_PREDICTIONS_FILE = "dev_predictions.jsonl"


def read_thresholds(run_dir, labels):
  """The per-label thresholds of a multi-label run (THRESHOLDS_FILE), else
  0.5 each.

  Raises:
    SettingsError: the file was tuned for other labels.
  """
  path = os.path.join(run_dir, THRESHOLDS_FILE)
  if not os.path.isfile(path):
    return [0.5] * len(labels)
  with open(path, encoding="utf-8") as f:
    saved = json.load(f)
  if saved.get("labels") != list(labels):
    raise SettingsError("%s was tuned for labels %s, the run has %s: "
                        "evaluate again (--do_eval) to tune them" % (
                            path, saved.get("labels"), list(labels)))
  return [float(t) for t in saved["thresholds"]]

"""What a fine-tuning run directory says about itself: `run_info.json`.

Every run (run_classifier.py, run_ner.py) writes it when it trains, so that
later steps (evaluation-only runs, export_savedmodel.py, the predictor) can
rebuild the same graph and tokenizer from the run directory alone:

  {
    "kind": "classifier" | "ner",
    "model_type": "bert" | "albert" | "distilbert",
    "config": {... the BertConfig as a dict ...},
    "vocab_file": "vocab.txt",          # copied into the run directory
    "do_lower_case": true,
    "max_seq_length": 128,
    "labels": ["0", "1"],
    "task": "sst2",
    "head": {...}                       # kind-specific (crf, scheme, ...)
  }

The vocab is copied next to the file, so a run directory can be moved or
exported without the pre-trained folder it started from.
"""

import json
import os
import shutil

import modeling

RUN_INFO_FILE = "run_info.json"
VOCAB_FILE = "vocab.txt"
KINDS = ("classifier", "ner")


def write(output_dir, kind, model_type, config, vocab_file, do_lower_case,
          max_seq_length, labels, task, head=None):
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

  Returns:
    The dict written.
  """
  if kind not in KINDS:
    raise ValueError("kind must be one of %s, got %r" % (KINDS, kind))
  os.makedirs(output_dir, exist_ok=True)
  target_vocab = os.path.join(output_dir, VOCAB_FILE)
  if os.path.abspath(vocab_file) != os.path.abspath(target_vocab):
    tmp = target_vocab + ".tmp"
    shutil.copyfile(vocab_file, tmp)
    os.replace(tmp, target_vocab)
  info = {
      "kind": kind,
      "model_type": model_type,
      "config": config.to_dict(),
      "vocab_file": VOCAB_FILE,
      "do_lower_case": bool(do_lower_case),
      "max_seq_length": int(max_seq_length),
      "labels": list(labels),
      "task": task,
      "head": dict(head or {}),
  }
  path = os.path.join(output_dir, RUN_INFO_FILE)
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(info, f, indent=2, ensure_ascii=False)
  os.replace(tmp, path)
  return info


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


def pretrained_files(output_dir):
  """The model files of a trained run directory, as `find_pretrained` gives.

  For evaluate / predict-only runs that name no pre-trained model: the
  config and vocab come from run_info.json, the weights from the run's own
  fine-tuned checkpoint (so `checkpoint` is None: nothing to restore).

  Returns:
    (modeling.PretrainedFiles, run info dict).
  """
  info = read(output_dir)
  files = modeling.PretrainedFiles(
      checkpoint=None,
      config_file=os.path.join(output_dir, RUN_INFO_FILE),
      vocab_file=info["vocab_file"], model_type=info["model_type"],
      config=info["config"])
  return files, info


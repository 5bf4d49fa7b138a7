"""Test helper: run directories of every family and head, made without
training, and texts to serve them (tests/test_onnx_export.py).

`fake_run(run_dir, family, kind, labels, head, task)` writes run_info.json,
the vocab and one checkpoint: the family's reference checkpoint
(../shared/reference) as the encoder, every other float variable drawn
from N(0, 1) (seed 0) so the head's answers differ from text to text.
"""

import os

import numpy as np
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit.engine import task as task_lib
from bert_toolkit.runs import run_info as run_info_lib
from modeling import families
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

MAX_SEQ_LENGTH = 24
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]

# case -> (family, kind, labels, head, task)
CASES = {
    "bert_single": ("bert", "classifier", ["0", "1"], {}, "chnsenticorp"),
    "bert_multi_label": ("bert", "classifier", ["0", "1", "2"],
                         {"multi_label": True}, "chnsenticorp"),
    "bert_pair": ("bert", "classifier", ["0", "1"], {}, "lcqmc"),
    "bert_windows": ("bert", "classifier", ["0", "1"],
                     {"long_text": "windows", "window_stride": 8,
                      "window_pooling": "mean"}, "chnsenticorp"),
    "ner_softmax": ("bert", "ner", NER_LABELS, {}, "peoples_daily"),
    "ner_crf": ("bert", "ner", NER_LABELS, {"crf": True}, "peoples_daily"),
    "albert_single": ("albert", "classifier", ["0", "1"], {}, "chnsenticorp"),
    "electra_crf": ("electra", "ner", NER_LABELS, {"crf": True},
                    "peoples_daily"),
    "distilbert_single": ("distilbert", "classifier", ["0", "1"], {},
                          "sst2"),
}

_FOLDERS = {"bert": "bert_zh_tiny", "albert": "albert_zh_tiny",
            "electra": "electra_zh_tiny", "distilbert": "distilbert_en_tiny"}

# Config changes of a family's runs. ALBERT applies its one shared layer
# three times here, not twice: a classifier's last layer attends from
# [CLS] alone and stays unfused, and two fused layers are needed to show
# that they share one packed kernel.
_CONFIG_CHANGES = {"albert": {"num_hidden_layers": 3}}


def pretrained(family, workdir):
  """modeling.PretrainedFiles of the family's reference folder (a Hugging
  Face folder converted into workdir first)."""
  folder = os.path.join(REFERENCE_DIR, _FOLDERS[family])
  if os.path.isfile(os.path.join(folder, "model.safetensors")):
    from modeling.hf import convert as hf_convert  # pylint: disable=g-import-not-at-top
    out = os.path.join(workdir, "converted")
    if not os.path.isdir(out):
      hf_convert.convert_hf_folder(folder, out)
    folder = out
  return modeling.find_pretrained(folder)


def fake_run(run_dir, family, kind, labels, head, task):
  """Writes the run (see the module docstring); returns run_dir."""
  files = pretrained(family, os.path.dirname(run_dir) or ".")
  for key, value in _CONFIG_CHANGES.get(family, {}).items():
    setattr(files.config, key, value)
  run_info_lib.write(run_dir, kind, files.model_type, files.config,
                     files.vocab_file, True, MAX_SEQ_LENGTH, labels, task,
                     head)
  info = run_info_lib.read(run_dir)
  scope = families.encoder_scope(files.model_type)
  with tf.Graph().as_default():
    features = {name: tf.placeholder(tf.int32, [None, None], name=name)
                for name in ("input_ids", "input_mask", "segment_ids")}
    task_lib.model_fn_from_run_info(info)(
        features, None, tf.estimator.ModeKeys.PREDICT, {})
    modeling.init_from_checkpoint(files.checkpoint, scope, log=False)
    tf.train.get_or_create_global_step()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      rng = np.random.RandomState(0)
      for variable in tf.global_variables():
        if (not variable.op.name.startswith(scope + "/") and
            variable.dtype.base_dtype == tf.float32):
          variable.load(rng.normal(0, 1.0, variable.shape.as_list())
                        .astype(np.float32), sess)
      tf.train.Saver().save(sess, os.path.join(run_dir, "model.ckpt"),
                            global_step=1)
  return run_dir


def _column(path, column, count, skip_header=True):
  with open(path, encoding="utf-8") as f:
    lines = f.read().splitlines()[1 if skip_header else 0:]
  return [line.split("\t")[column].strip() for line in lines[:count]]


def texts(case, count=12):
  """Texts (pairs for a pair task) of mixed lengths for a case: some past
  MAX_SEQ_LENGTH (truncated, or several windows)."""
  family, kind, _, head, task = CASES[case]
  del head
  if family == "distilbert":
    return _column(os.path.join(DATA_DIR, "sst2", "dev.tsv"), 0, count)
  if kind == "ner":
    with open(os.path.join(DATA_DIR, "peoples_daily_ner", "example.dev"),
              encoding="utf-8") as f:
      blocks = [b for b in f.read().split("\n\n") if b.strip()]
    return ["".join(line.split()[0] for line in b.splitlines()
                    if line.strip()) for b in blocks[:count]]
  found = _column(os.path.join(DATA_DIR, "chnsenticorp", "test.tsv"), 1,
                  count)
  if task == "lcqmc":
    return [(a[:20], b[:30]) for a, b in zip(found, found[1:] + found[:1])]
  return found

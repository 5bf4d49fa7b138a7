"""Hugging Face folder -> TF1 checkpoint folder: the conversion and its report.

`convert_hf_folder(hf_dir, output_dir, model_type=None)` reads config.json and
the weights, maps them to the TF1 names of `modeling.hf.names`, and writes

  output_dir/model.ckpt.{index,data-*}, output_dir/checkpoint
  output_dir/<family>_config.json   (bert_config.json, albert_config.json, ...)
  output_dir/vocab.txt

`format_report` says what was converted, which HF tensors were not used and
which optional ones (the pooler) were absent.
"""

import collections
import json
import os
import shutil

import numpy as np
import tensorflow.compat.v1 as tf

from modeling.hf import config as hf_config
from modeling.hf import names as hf_names
from modeling.hf import weights as hf_weights
from modeling.hf.errors import ConversionError
from tokenization import vocab as vocab_lib

CHECKPOINT_NAME = "model.ckpt"
VOCAB_NAME = "vocab.txt"

# model_type; source: the weights file read; checkpoint: prefix written;
# config_file / vocab_file: paths written; config: the config dict;
# converted: TF1 names written; unused: HF names not used; missing_optional:
# TF1 names absent from the HF file but optional (the pooler); vocab_size:
# lines in vocab.txt.
ConversionResult = collections.namedtuple(
    "ConversionResult",
    ["model_type", "source", "checkpoint", "config_file", "vocab_file",
     "config", "converted", "unused", "missing_optional", "vocab_size"])


def find_vocab(hf_dir, model_type):
  """Path of the WordPiece vocab.txt in `hf_dir`.

  Raises:
    ConversionError: no vocab.txt; for a SentencePiece-only folder (ALBERT's
      spiece.model) the message says a WordPiece vocab.txt is required.
  """
  path = os.path.join(hf_dir, VOCAB_NAME)
  if os.path.isfile(path):
    return path
  if os.path.isfile(os.path.join(hf_dir, "spiece.model")):
    raise ConversionError(
        "%s has spiece.model (a SentencePiece vocabulary) but no vocab.txt: "
        "this toolkit tokenizes with WordPiece and needs the model's "
        "vocab.txt (%s models such as albert_zh ship one); put it in %s" %
        (hf_dir, model_type, hf_dir))
  raise ConversionError(
      "no vocab.txt in %s: copy the model's WordPiece vocab.txt there" %
      hf_dir)


def count_lines(path):
  """Number of lines (tokens) in a vocab file."""
  with open(path, "rb") as f:
    return sum(1 for _ in f)


def find_head(hf_json, model_type, config, state):
  """The head of the HF folder that is converted with the encoder.

  config.json's architectures names it ("BertForPreTraining" ->
  cls/predictions/* and cls/seq_relationship/*, "BertForSequenceClassification"
  -> output_weights / output_bias, "...ForTokenClassification" ->
  tagger/output_*); it is converted when the weights hold all of its
  tensors (else they are reported as not used).

  Returns:
    (head, the config with "num_labels" for a classification head).
  """
  config = collections.OrderedDict(config)
  config["num_labels"] = hf_config.num_labels_of(hf_json)
  for name in hf_json.get("architectures") or []:
    head = hf_names.head_of_architecture(model_type, name)
    if head and hf_names.head_is_complete(state, model_type, config, head):
      return head, config
  return hf_names.ENCODER, config


def check_required(missing_tf1_names, model_type, config, source,
                   head=hf_names.ENCODER):
  """Raises ConversionError naming the first required tensor not in `source`."""
  required = hf_names.required_missing(missing_tf1_names, model_type, config,
                                       head)
  if required:
    first = required[0]
    raise ConversionError(
        "%s lacks %s (needed for %s)%s; is it a %s model, and do "
        "num_hidden_layers / num_hidden_groups in config.json match it?" %
        (source, first.hf_name, first.tf1_name,
         " and %d more" % (len(required) - 1) if len(required) > 1 else "",
         model_type))


def write_tf1_checkpoint(tf1_dict, ckpt_path):
  """Saves arrays as TF1 variables with exactly the given names.

  Builds one variable per entry in a fresh tf.Graph, fills it through a
  placeholder (no constants in the graph) and saves with tf.train.Saver,
  which also writes the `checkpoint` state file (relative paths).

  Args:
    tf1_dict: dict TF1 variable name -> np.ndarray.
    ckpt_path: checkpoint prefix, e.g. "out/model.ckpt".

  Returns:
    The prefix written.
  """
  graph = tf.Graph()
  with graph.as_default():
    variables, feed = collections.OrderedDict(), {}
    for i, (name, value) in enumerate(tf1_dict.items()):
      value = np.asarray(value)
      placeholder = tf.placeholder(tf.as_dtype(value.dtype), value.shape,
                                   name="value_%d" % i)
      variables[name] = tf.Variable(placeholder, name=name, trainable=False)
      feed[placeholder] = value
    saver = tf.train.Saver(var_list=variables, save_relative_paths=True)
    with tf.Session(graph=graph) as sess:
      sess.run(tf.variables_initializer(list(variables.values())), feed)
      return saver.save(sess, ckpt_path, write_meta_graph=False)


def write_config(config, output_dir, model_type):
  """Writes `output_dir/<family>_config.json`; returns its path."""
  path = os.path.join(output_dir, hf_config.CONFIG_FILENAMES[model_type])
  with open(path, "w", encoding="utf-8") as f:
    f.write(json.dumps(config, indent=2) + "\n")
  return path


def copy_vocab(vocab_path, output_dir):
  """Copies the vocab to `output_dir/vocab.txt`; returns the new path."""
  target = os.path.join(output_dir, VOCAB_NAME)
  if not (os.path.exists(target) and os.path.samefile(vocab_path, target)):
    shutil.copyfile(vocab_path, target)
  return target


def make_output_dir(output_dir):
  """Creates `output_dir` (and parents) unless it is already a folder.

  Raises:
    ConversionError: no output_dir given, or it names a file.
  """
  if not output_dir:
    raise ConversionError("no output folder given: pass --output_dir")
  if os.path.exists(output_dir) and not os.path.isdir(output_dir):
    raise ConversionError("--output_dir %s exists and is not a folder" %
                          output_dir)
  if not os.path.isdir(output_dir):
    os.makedirs(output_dir)


def convert_hf_folder(hf_dir, output_dir, model_type=None):
  """Converts a Hugging Face BERT / ALBERT / DistilBERT folder to TF1.

  Args:
    hf_dir: folder with config.json, vocab.txt and model.safetensors (or
      pytorch_model.bin with torch installed, or tf_model.h5).
    output_dir: where to write model.ckpt.*, <family>_config.json, vocab.txt
      (created if needed).
    model_type: "bert", "albert", "distilbert", or None to read it from
      config.json; must agree with config.json when both are given.

  Returns:
    ConversionResult (see `format_report`).

  Raises:
    ConversionError: any bad input, with the file or field and the fix.
    tokenization.VocabError: vocab.txt is empty or lacks
      [CLS], [SEP] or [UNK] (tokenization.check_vocab).
  """
  hf_json = hf_config.read_hf_config(hf_dir)
  config_path = os.path.join(hf_dir, "config.json")
  model_type = hf_config.infer_model_type(hf_json, model_type, config_path)
  config = hf_config.config_from_hf(hf_json, model_type, config_path)
  do_lower_case = hf_config.read_do_lower_case(hf_dir)
  if do_lower_case is not None:
    # Kept with the config: run scripts default --do_lower_case to it, so
    # that a cased model is not lower-cased.
    config["do_lower_case"] = do_lower_case
  vocab_path = find_vocab(hf_dir, model_type)
  # The check every tokenizer runs: a converted model whose vocab could not
  # be trained or served with is refused before anything is written.
  vocab_lib.check_vocab(vocab_path)
  state, filename = hf_weights.read_hf_weights(hf_dir)
  source = os.path.join(hf_dir, filename)
  head, head_config = find_head(hf_json, model_type, config, state)
  tf1_dict, unused, missing = hf_names.hf_to_tf1(state, model_type,
                                                 head_config, head)
  check_required(missing, model_type, head_config, source, head)

  make_output_dir(output_dir)
  checkpoint = write_tf1_checkpoint(
      tf1_dict, os.path.join(output_dir, CHECKPOINT_NAME))
  return ConversionResult(
      model_type=model_type, source=source, checkpoint=checkpoint,
      config_file=write_config(config, output_dir, model_type),
      vocab_file=copy_vocab(vocab_path, output_dir), config=config,
      converted=list(tf1_dict), unused=unused, missing_optional=missing,
      vocab_size=count_lines(vocab_path))


def format_report(result):
  """A human-readable report of a ConversionResult (several lines)."""
  lines = [
      "Converted %d tensors (%s) from %s" % (len(result.converted),
                                             result.model_type, result.source),
      "  checkpoint: %s" % result.checkpoint,
      "  config:     %s (hidden_act %s)" % (result.config_file,
                                            result.config["hidden_act"]),
      "  vocab:      %s (%d tokens)" % (result.vocab_file, result.vocab_size),
  ]
  if "do_lower_case" in result.config:
    lines.append("  do_lower_case: %s (tokenizer_config.json; the run "
                 "scripts' default for this model)" %
                 str(result.config["do_lower_case"]).lower())
  if result.vocab_size > result.config["vocab_size"]:
    lines.append("WARNING: vocab.txt has %d tokens but vocab_size is %d: ids "
                 "past %d have no embedding" % (
                     result.vocab_size, result.config["vocab_size"],
                     result.config["vocab_size"] - 1))
  lines.append("Not used from the Hugging Face file (%d)%s" % (
      len(result.unused), ":" if result.unused else ""))
  lines += ["  %s" % name for name in result.unused]
  if result.missing_optional:
    lines.append("Missing in the Hugging Face file (optional; not in the "
                 "checkpoint, a graph that needs them initialises them "
                 "randomly) (%d):" % len(result.missing_optional))
    lines += ["  %s" % name for name in result.missing_optional]
    if any("/pooler/" in name for name in result.missing_optional):
      lines.append("  -> no pooler in the HF file: get_pooled_output() of "
                   "the converted model is untrained")
  else:
    lines.append("Missing: nothing")
  return "\n".join(lines)

"""Fine-tuned run directory -> SavedModel for TF Serving.

`export(run_dir, export_base, version=None, checkpoint=None)` rebuilds the
run's graph from run_info.json through the task interface
(bert_toolkit.engine.task.model_fn_from_run_info: PREDICT mode, no dropout; any
task kind that implements from_run_info), restores the
fine-tuned checkpoint and writes

  export_base/<version>/saved_model.pb
  export_base/<version>/variables/variables.{index,data-*}
  export_base/<version>/assets/vocab.txt
  export_base/<version>/assets/serving_config.json   (labels, tokenizer, ...)

the layout `tensorflow_model_server --model_base_path=export_base` polls.
The version directory is written under a hidden temporary name
(`.export-<version>.tmp-<pid>`) and renamed when complete, so a server
never loads half an export; a later export removes what a killed one left.
The export never goes into (or holds) the run directory or checkpoint it
reads (bert_toolkit.runs.paths).

Signatures (one graph, one set of variables):

  serving_default   inputs  input_ids, input_mask, segment_ids
                            int32 [batch, seq], any batch, any seq up to
                            max_position_embeddings
                    outputs classifier: probabilities float32 [batch, labels],
                            label_id int32 [batch], label string [batch]
                            ner: the tagger's export outputs (tag_ids int32
                            [batch, seq], CRF-decoded in the graph, ...)
  from_examples     inputs  examples: string [batch] of serialized
                            tf.Example protos with int64 lists input_ids,
                            input_mask, segment_ids (any length; padded to
                            the longest in the batch), as Google's ALBERT
                            export takes them
                    outputs the same as serving_default

  text              inputs  text (and text_b for a pair task's export): string
                            [batch] of raw texts, tokenized in the graph as
                            the Python predictor tokenizes and truncates
                            them (bert_toolkit/serving/text_signature.py);
                            only where the task's text_signature says how
                    outputs the same as serving_default

The raw inputs are `placeholder_with_default` tensors whose default is the
parsed tf.Example batch followed by the tokenized texts (each of `examples`
and `text` defaults to an empty batch): feeding them (serving_default) cuts
the parsing and tokenizing branches off, feeding `examples` (from_examples)
or `text` runs that branch. So the signatures share one copy of the model.
"""

import contextlib
import json
import os
import re
import shutil

import tensorflow.compat.v1 as tf

import modeling
import tokenization
from bert_toolkit import kinds
from bert_toolkit.runs import atomic
from bert_toolkit.runs import paths
from bert_toolkit.runs import run_info as run_info_lib
from bert_toolkit.engine import task as task_lib
from modeling import families
from bert_toolkit.serving import signatures
from bert_toolkit.serving import text_signature

def find_checkpoint(run_dir, checkpoint=None):
  """The checkpoint to export.

  Args:
    run_dir: the run directory.
    checkpoint: explicit prefix or folder (wins), or None.

  Returns:
    A checkpoint prefix: `checkpoint` if given; else the best one kept in
    run_dir/best/ (run_classifier --eval_every_steps); else the newest in
    run_dir.

  Raises:
    modeling.CheckpointError: none found.
  """
  if checkpoint:
    return modeling.resolve_checkpoint(checkpoint)
  try:
    return run_info_lib.fine_tuned_checkpoint(run_dir)
  except modeling.CheckpointError as e:
    raise modeling.CheckpointError("%s, or pass --checkpoint" % e)


def next_version(export_base):
  """1 + the largest all-digit directory name in export_base (1 if none)."""
  versions = [int(n) for n in os.listdir(export_base)
              if n.isdigit()] if os.path.isdir(export_base) else []
  return max(versions) + 1 if versions else 1


def serving_inputs(max_positions):
  """(examples, raw, features) of signature_inputs without a `text`
  signature."""
  return signature_inputs(max_positions)[:3]


def signature_inputs(max_positions, text_features=None, pair=False):
  """Placeholders of the signatures.

  Args:
    max_positions: longest sequence the model takes (max_position_embeddings).
    text_features: None, or a function (text, text_b or None) -> dict name
      -> int32 [batch, seq] (the `text` signature's in-graph tokenizer).
    pair: the `text` signature takes a text_b too.

  Returns:
    (examples, raw, features, texts):
      examples: string placeholder [batch] of serialized tf.Examples.
      raw: dict name -> int32 [batch, seq] placeholder_with_default (the
        serving_default inputs; default: the parsed examples, and the
        tokenized texts after them).
      features: dict name -> int32 [batch, seq] the model reads (raw, with a
        check that seq <= max_positions).
      texts: dict input name -> string [batch] placeholder_with_default of
        the `text` signature (empty without text_features). Each of
        examples and texts defaults to an empty batch, so feeding one
        runs the model on its rows alone.
  """
  texts = {}
  if text_features is None:
    examples = tf.placeholder(tf.string, [None],
                              name=signatures.EXAMPLES_INPUT)
  else:
    examples = tf.placeholder_with_default(
        tf.zeros([0], tf.string), [None], name=signatures.EXAMPLES_INPUT)
    texts[signatures.TEXT_INPUT] = tf.placeholder_with_default(
        tf.zeros([0], tf.string), [None], name=signatures.TEXT_INPUT)
    if pair:
      texts[signatures.TEXT_B_INPUT] = tf.placeholder_with_default(
          tf.fill(tf.shape(texts[signatures.TEXT_INPUT]), ""), [None],
          name=signatures.TEXT_B_INPUT)
  spec = {name: tf.io.FixedLenSequenceFeature([], tf.int64,
                                              allow_missing=True)
          for name in signatures.INPUT_NAMES}
  parsed = tf.io.parse_example(examples, spec)
  parsed = {name: tf.cast(parsed[name], tf.int32)
            for name in signatures.INPUT_NAMES}
  if texts:
    tokenized = text_features(texts[signatures.TEXT_INPUT],
                              texts.get(signatures.TEXT_B_INPUT))
    width = tf.maximum(tf.shape(parsed["input_ids"])[1],
                       tf.shape(tokenized["input_ids"])[1])
    parsed = {name: tf.concat([_pad_to(parsed[name], width),
                               _pad_to(tokenized[name], width)], 0)
              for name in signatures.INPUT_NAMES}
  raw = {}
  for name in signatures.INPUT_NAMES:
    raw[name] = tf.placeholder_with_default(parsed[name], [None, None],
                                            name=name)
  seq_length = tf.shape(raw["input_ids"])[1]
  check = tf.debugging.assert_less_equal(
      seq_length, tf.constant(max_positions, tf.int32),
      message="sequence longer than the model's max_position_embeddings=%d"
      % max_positions)
  with tf.control_dependencies([check]):
    features = {name: tf.identity(raw[name])
                for name in signatures.INPUT_NAMES}
  return examples, raw, features, texts


def _pad_to(ids, width):
  """int32 [batch, seq] -> [batch, width], zeros on the right."""
  return tf.pad(ids, [[0, 0], [0, width - tf.shape(ids)[1]]])


def serving_config(info, checkpoint, global_step, extras=None, text=None):
  """The assets/serving_config.json dict: all a client needs beside vocab,
  with the task's own `extras` (Task.serving_extras, e.g. a multi-label
  classifier's per-label thresholds), and how its `text` signature reads
  texts (`text`: Task.text_signature's answer, with the input names)."""
  config = info["config"]
  served = {
      "format": signatures.SERVING_CONFIG_FORMAT,
      "kind": info["kind"],
      "model_type": info["model_type"],
      "task": info.get("task"),
      "labels": list(info["labels"]),
      "head": info.get("head") or {},
      "vocab_file": signatures.VOCAB_ASSET,
      "do_lower_case": bool(info.get("do_lower_case", True)),
      "max_seq_length": int(info["max_seq_length"]),
      "max_position_embeddings": int(config.max_position_embeddings),
      "vocab_size": int(config.vocab_size),
      "type_vocab_size": int(getattr(config, "type_vocab_size", 2) or 2),
      "signatures": {"raw": signatures.DEFAULT_SIGNATURE,
                     "examples": signatures.EXAMPLES_SIGNATURE},
      "text_signature": text or None,
      "checkpoint": checkpoint,
      "global_step": global_step,
  }
  served.update(extras or {})
  return served


def _signature(inputs, outputs):
  build = tf.saved_model.utils.build_tensor_info
  return tf.saved_model.signature_def_utils.build_signature_def(
      inputs={k: build(v) for k, v in inputs.items()},
      outputs={k: build(v) for k, v in outputs.items()},
      method_name=tf.saved_model.signature_constants.PREDICT_METHOD_NAME)


# What reading a truncated or corrupt data file raises (the checkpoint
# reader's IndexError "Read less bytes than requested", the restore's
# DataLossError / OutOfRangeError).
_READ_ERRORS = (tf.errors.OpError, IndexError)


def _global_step(checkpoint):
  """The checkpoint's global_step (None if it has none); CheckpointError if
  its data cannot be read."""
  try:
    reader = tf.train.load_checkpoint(checkpoint)
    return (int(reader.get_tensor("global_step"))
            if reader.has_tensor("global_step") else None)
  except _READ_ERRORS as e:
    raise modeling.CheckpointError(_unreadable(checkpoint, e))


def _unreadable(checkpoint, error):
  return ("cannot read the checkpoint %s (%s): a data file is truncated or "
          "corrupt; copy every file of the checkpoint again" %
          (checkpoint, str(error).split("\n")[0][:200]))


def restore(sess, checkpoint, run_dir):
  """Restores every graph variable from `checkpoint`, or CheckpointError.

  The checkpoint must hold every variable of the graph with the graph's
  shape (modeling.checkpoint.check_shapes, the check of the training
  restore: a checkpoint of a run with another label count is refused
  here, not at the first prediction); data that cannot be read is a
  CheckpointError naming the checkpoint.
  """
  variables = tf.global_variables()
  available = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
  missing = [v.op.name for v in variables if v.op.name not in available]
  if missing:
    raise modeling.CheckpointError(
        "%s lacks %d variables of the graph (e.g. %s): is it a checkpoint "
        "of this run? Pass the run's own --checkpoint" %
        (checkpoint, len(missing), ", ".join(missing[:3])))
  report = modeling.restore_report(variables, checkpoint)
  modeling.checkpoint.check_shapes(
      report, "the export of run %s" % run_dir,
      "the checkpoint is of another run (other labels, model or settings): "
      "pass this run's own --checkpoint, or export the checkpoint's run")
  try:
    tf.train.Saver(variables).restore(sess, report.checkpoint)
  except _READ_ERRORS as e:
    raise modeling.CheckpointError(_unreadable(report.checkpoint, e))


def check_export(run_dir, export_base, version=None, checkpoint=None):
  """The checks of every export of a run (SavedModel or ONNX), before it
  writes anything: where it writes against what it reads, the run, its
  checkpoint (complete, readable), the version (free).

  Returns:
    dict: run_dir, info (run_info), checkpoint, global_step, version,
    target (export_base/<version>), export_base, outputs (the folders
    written, for paths.prepare_outputs).

  Raises:
    modeling.ConfigError / CheckpointError: not a run directory, no
      checkpoint, version already exported, ...
  """
  # Where it writes, against what it reads, before anything else.
  outputs = [paths.output_folder("--export_dir", export_base)]
  paths.check_writes(outputs, [
      paths.input_path("--model_dir", run_dir),
      paths.input_path("--checkpoint", paths.model_folder(checkpoint))])
  info = run_info_lib.read(run_dir)
  checkpoint = find_checkpoint(run_dir, checkpoint)
  if version is None:
    version = next_version(export_base)
  if int(version) < 1:
    raise modeling.ConfigError("--version must be a positive integer, got "
                               "%s" % version)
  target = os.path.join(export_base, str(int(version)))
  if os.path.exists(target):
    raise modeling.ConfigError(
        "%s already exists: pass another --version, or leave --version out "
        "for the next free one" % target)
  if not os.path.isfile(info["vocab_file"]):
    raise modeling.ConfigError("%s not found: the run directory is "
                               "incomplete" % info["vocab_file"])
  families.configure_for_checkpoint(info["model_type"], info["config"],
                                    checkpoint)
  modeling.checkpoint.check_data_files(checkpoint)
  return {"run_dir": run_dir, "info": info, "checkpoint": checkpoint,
          "global_step": _global_step(checkpoint), "version": int(version),
          "target": target, "export_base": export_base, "outputs": outputs}


@contextlib.contextmanager
def staging_folder(checked):
  """A hidden staging folder beside the version's (`.export-<version>.tmp-
  <pid>`), removed afterwards; what killed exports left in export_base
  is removed first. The caller renames its result to checked["target"]
  through bert_toolkit.runs.atomic."""
  paths.prepare_outputs(checked["outputs"])
  staging = atomic.temporary_name(
      os.path.join(checked["export_base"], ".export-%d" % checked["version"]))
  shutil.rmtree(staging, ignore_errors=True)
  os.makedirs(staging)
  try:
    yield staging
  finally:
    shutil.rmtree(staging, ignore_errors=True)


def write_assets(checked, assets_dir, text=None, extras=None):
  """Writes the vocab and serving_config.json into assets_dir (created);
  `extras` are added to the config. Returns the config dict."""
  info = checked["info"]
  os.makedirs(assets_dir, exist_ok=True)
  shutil.copyfile(info["vocab_file"],
                  os.path.join(assets_dir, signatures.VOCAB_ASSET))
  task_extras = kinds.task_class(info["kind"]).serving_extras(
      checked["run_dir"], info)
  config = serving_config(info, checked["checkpoint"],
                          checked["global_step"],
                          dict(task_extras or {}, **(extras or {})), text)
  with open(os.path.join(assets_dir, signatures.SERVING_CONFIG_FILE), "w",
            encoding="utf-8") as f:
    json.dump(config, f, indent=2, ensure_ascii=False)
  return config


def export(run_dir, export_base, version=None, checkpoint=None):
  """Writes export_base/<version>/ (see the module docstring).

  Args:
    run_dir: run directory with run_info.json, vocab.txt and checkpoints.
    export_base: the model base path (created if needed).
    version: positive int, or None for next_version(export_base).
    checkpoint: prefix or folder to export instead of the best/newest one.

  Returns:
    dict: export_dir, version, checkpoint, global_step, signatures.

  Raises:
    modeling.ConfigError / CheckpointError: not a run directory, no
      checkpoint, version already exported, ...
  """
  checked = check_export(run_dir, export_base, version, checkpoint)
  info, checkpoint, target = (checked["info"], checked["checkpoint"],
                              checked["target"])
  version, global_step = checked["version"], checked["global_step"]
  model_fn = task_lib.model_fn_from_run_info(info)
  with staging_folder(checked) as staging:
    assets_dir = os.path.join(staging, "assets.src")
    text = kinds.task_class(info["kind"]).text_signature(info)
    if text:
      text = dict(text, inputs=[signatures.TEXT_INPUT] + (
          [signatures.TEXT_B_INPUT] if text["pair"] else []))
    write_assets(checked, assets_dir, text=text)
    graph = tf.Graph()
    with graph.as_default():
      examples, raw, features, texts = signature_inputs(
          info["config"].max_position_embeddings,
          _text_features(info, text) if text else None,
          bool(text and text["pair"]))
      spec = model_fn(features, None, tf.estimator.ModeKeys.PREDICT, {})
      outputs = export_outputs(spec)
      for name in (signatures.VOCAB_ASSET, signatures.SERVING_CONFIG_FILE):
        tf.add_to_collection(
            tf.GraphKeys.ASSET_FILEPATHS,
            tf.constant(os.path.join(assets_dir, name),
                        name=re.sub(r"\W", "_", name)))
      signature_defs = {
          signatures.DEFAULT_SIGNATURE: _signature(raw, outputs),
          signatures.EXAMPLES_SIGNATURE: _signature(
              {signatures.EXAMPLES_INPUT: examples}, outputs),
      }
      if texts:
        signature_defs[signatures.TEXT_SIGNATURE] = _signature(texts,
                                                               outputs)
      # Written in the hidden staging folder, renamed to the version's
      # name when complete.
      with tf.Session(graph=graph) as sess, atomic.replacing_path(
          target, temporary=os.path.join(staging, "model")) as model_dir:
        restore(sess, checkpoint, run_dir)
        builder = tf.saved_model.builder.SavedModelBuilder(model_dir)
        builder.add_meta_graph_and_variables(
            sess, [tf.saved_model.tag_constants.SERVING],
            signature_def_map=signature_defs,
            main_op=tf.tables_initializer(),
            assets_collection=tf.get_collection(
                tf.GraphKeys.ASSET_FILEPATHS),
            strip_default_attrs=True)
        builder.save()
  tf.logging.info("Exported %s (step %s) to %s", checkpoint, global_step,
                  target)
  return {"export_dir": target, "version": int(version),
          "checkpoint": checkpoint, "global_step": global_step,
          "signatures": sorted(signature_defs), "outputs": sorted(outputs)}


def _text_features(info, text):
  """The `text` signature's tokenizer in the graph: (text, text_b) string
  tensors -> the model's inputs, as the Python predictor encodes them."""
  tokenizer = tokenization.from_vocab(
      info["vocab_file"], bool(info.get("do_lower_case", True)))
  return lambda a, b: text_signature.text_features(
      a, b, tokenizer, int(info["max_seq_length"]), text["truncation"])


def export_outputs(spec):
  """Output tensors of the spec's serving_default export output."""
  export_outputs = spec.export_outputs or {}
  output = export_outputs.get(signatures.DEFAULT_SIGNATURE)
  if output is None and len(export_outputs) == 1:
    output = list(export_outputs.values())[0]
  if output is not None:
    return dict(output.outputs)
  return dict(spec.predictions)

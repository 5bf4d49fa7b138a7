"""Structured pruning: remove the least important attention heads and
feed-forward neurons of a fine-tuned run.

`prune(source, output_dir, data_dir, keep_heads, keep_ffn, samples)` reads
a run directory (run_info.json and its fine-tuned checkpoint) and writes a
run directory whose layers are smaller:

  - importance (Michel et al., 2019, "Are Sixteen Heads Really Better than
    One?"; TextPruner's mask method): a mask of ones multiplies each head's
    context and each feed-forward neuron's activation
    (`modeling.layers.importance_masks`); the importance of a head or neuron
    is the sum over batches of the run's training data of |d loss / d mask|,
    the loss being the run's own task loss (its head, no dropout);
  - ranking: head scores are divided by their layer's L2 norm, then every
    head of the model is ranked together and the best `keep_heads` fraction
    of them kept; neurons are ranked together over the whole model by their
    raw score and the best `keep_ffn` fraction kept. A layer may lose every
    head (or neuron): its attention (feed-forward) block then adds only its
    output bias;
  - the checkpoint: for each layer, the query / key / value kernel columns
    and biases of the kept heads and the attention output kernel rows; the
    intermediate kernel columns and bias of the kept neurons and the output
    kernel rows; optimizer slots of those variables are cut alike. Nothing
    else changes;
  - the config (in run_info.json and the config file) records
    `layer_num_attention_heads` and `layer_intermediate_sizes`, one int per
    layer; a head stays hidden_size // num_attention_heads wide.

With every head and neuron kept the outputs are the run's own; with some
removed they are exactly the run's with those heads' context and those
neurons' activation set to zero. The output is a normal run directory:
it evaluates, predicts, exports, serves, and fine-tunes or distils further
(`--init_checkpoint=<output_dir>`).
"""

import json
import os
import shutil

import numpy as np
import tensorflow.compat.v1 as tf

import modeling
from modeling import checkpoint as checkpoint_lib
from modeling import layers
import tokenization
from bert_toolkit import kinds
from bert_toolkit.compression import vocab as vocab_pruning
from bert_toolkit.engine import task as task_lib
from bert_toolkit.errors import SettingsError
from bert_toolkit.runs import atomic
from bert_toolkit.runs import run_info as run_info_lib

REPORT_FILE = "structure_pruning.json"
NAMES = layers.BERT_LAYER_NAMES
# Per layer: the variables whose columns follow the heads (query, key,
# value kernels and biases) or neurons (intermediate kernel, bias), and
# those whose rows do (the output kernels).
_HEAD_COLUMNS = tuple("%s/%s/%s" % (NAMES.attention, part, var)
                      for part in ("query", "key", "value")
                      for var in ("kernel", "bias"))
_HEAD_ROWS = NAMES.attention_output + "/kernel"
_FFN_COLUMNS = (NAMES.intermediate + "/kernel", NAMES.intermediate + "/bias")
_FFN_ROWS = NAMES.output + "/kernel"


def check_fraction(flag, value):
  """SettingsError unless 0 < value <= 1."""
  if value is None or not 0.0 < value <= 1.0:
    raise SettingsError(
        "%s=%s: give the fraction to keep, more than 0 and at most 1 (e.g. "
        "0.5 keeps half)" % (flag, value))
  return value


class Source(object):
  """The fine-tuned run to prune.

  Attributes: path, info (run_info.read's dict), checkpoint (prefix),
  model_type, config, scope (the encoder's variable scope).

  Raises:
    SettingsError: not a run directory.
    CheckpointError: no checkpoint, or one whose data shards are missing.
    ConfigError: a model whose layers share weights (ALBERT).
  """

  def __init__(self, path):
    if not path or not run_info_lib.exists(path):
      raise SettingsError(
          "--model_dir %s is not a run directory (no %s): give the "
          "--output_dir of a fine-tuning run" % (path,
                                                 run_info_lib.RUN_INFO_FILE))
    self.path = path
    self.info = run_info_lib.read(path)
    self.checkpoint = run_info_lib.fine_tuned_checkpoint(path)
    checkpoint_lib.check_data_files(self.checkpoint)
    self.model_type = self.info["model_type"]
    self.config = self.info["config"]
    self.scope = modeling.encoder_scope(self.model_type)
    check_per_layer_weights(
        tf.train.load_checkpoint(self.checkpoint).get_variable_to_shape_map(),
        self.scope, self.config, self.model_type, path)


def layer_prefix(scope, index):
  return "%s/encoder/layer_%d/" % (scope, index)


def check_per_layer_weights(shapes, scope, config, model_type, where):
  """ConfigError unless every layer has its own output LayerNorm (BERT's
  names), which a model whose layers share weights (ALBERT) has not."""
  for index in range(config.num_hidden_layers):
    name = layer_prefix(scope, index) + NAMES.output_norm + "/gamma"
    if name not in shapes:
      raise modeling.ConfigError(
          "%s: a %s model has no weights of its own per layer (%s is not "
          "there): heads and neurons are pruned per layer, in BERT, "
          "DistilBERT and ELECTRA models; ALBERT shares its layers' "
          "weights" % (where, model_type, name))


# --------------------------------------------------------- importance ---

def _feature_arrays(rows, task):
  """Padded int32 arrays of a batch of encoded records: the task's
  sequence features [n, longest], input_mask, and its scalar ones [n]."""
  length = max(len(r["input_ids"]) for r in rows)
  out = {}
  for name in task.sequence_names:
    out[name] = np.zeros([len(rows), length], np.int32)
    for i, row in enumerate(rows):
      out[name][i, :len(row[name])] = row[name]
  out["input_mask"] = np.zeros([len(rows), length], np.int32)
  for i, row in enumerate(rows):
    out["input_mask"][i, :len(row["input_ids"])] = 1
  for name in task.scalar_names:
    out[name] = np.asarray([row[name][0] for row in rows], np.int32)
  return out


def training_records(source, data_dir, samples):
  """The first `samples` encoded records of the run's training split, read
  and encoded as the run read it (its task, columns, case, length)."""
  info = source.info
  task = kinds.task_class(info["kind"]).student_task(info, source.path)
  task.label_list = list(info["labels"])
  examples = task.read_split(data_dir, "train", task.label_list)
  if not examples:
    raise SettingsError("--data_dir %s has no training examples for the "
                        "importance scores" % data_dir)
  tokenizer = tokenization.from_vocab(
      info["vocab_file"], do_lower_case=info.get("do_lower_case", True))
  task.input_settings(info.get("do_lower_case", True),
                      info["max_seq_length"])
  task.prepare(tokenizer, source.config)
  encoded = task.encode("train", examples[:samples], tokenizer,
                        info["max_seq_length"])
  return task, list(encoded.records())[:samples]


def with_layer_sizes(config):
  """A copy of the config that lists every layer's sizes (a family that
  cannot have them, ALBERT, refuses to build it: ConfigError)."""
  settings = config.to_dict()
  sizes = [layers.layer_sizes(config, i)
           for i in range(config.num_hidden_layers)]
  settings[layers.LAYER_HEADS_KEY] = [heads for heads, _ in sizes]
  settings[layers.LAYER_INTERMEDIATE_KEY] = [width for _, width in sizes]
  return modeling.BertConfig.from_dict(settings)


def importance(source, task, records, batch_size=32):
  """|d loss / d mask| summed over batches of records.

  Returns:
    (heads, neurons): lists with one float array per layer ([heads of the
    layer], [neurons of the layer]; empty for a layer without any).
  """
  config = with_layer_sizes(source.config)
  graph = tf.Graph()
  with graph.as_default():
    layers.importance_masks()
    features = {name: tf.placeholder(tf.int32, [None, None], name=name)
                for name in tuple(task.sequence_names) + ("input_mask",)}
    features.update({name: tf.placeholder(tf.int32, [None], name=name)
                     for name in task.scalar_names})
    model = task_lib.encoder_from_features(source.model_type, config,
                                           features, False,
                                           task.first_token_only)
    out = task.head(model, features, task_lib.HeadContext(
        tf.estimator.ModeKeys.EVAL, source.model_type, config, None))
    head_masks = tf.get_collection(layers.HEAD_MASKS)
    ffn_masks = tf.get_collection(layers.FFN_MASKS)
    masks = head_masks + ffn_masks
    gradients = tf.gradients(out.loss, masks)
    saver = tf.train.Saver(tf.global_variables())
    sums = [np.zeros(m.shape.as_list(), np.float64) for m in masks]
    with tf.Session(graph=graph) as sess:
      saver.restore(sess, source.checkpoint)
      for start in range(0, len(records), batch_size):
        arrays = _feature_arrays(records[start:start + batch_size], task)
        values = sess.run(gradients, {features[n]: arrays[n]
                                      for n in features})
        for total, value in zip(sums, values):
          total += np.abs(value)
  return (_per_layer(sums[:len(head_masks)], config, 0),
          _per_layer(sums[len(head_masks):], config, 1))


def _per_layer(found, config, which):
  """Masks come only from layers with at least one head (neuron): put an
  empty array in the others' places."""
  found = list(found)
  return [found.pop(0) if layers.layer_sizes(config, i)[which] else
          np.zeros([0]) for i in range(config.num_hidden_layers)]


def _kept(scores, fraction):
  """Per layer, the sorted indexes of the best `fraction` of all units,
  ranked together (ties: the earlier layer and unit first)."""
  everything = [(-float(s), layer, unit) for layer, layer_scores in
                enumerate(scores) for unit, s in enumerate(layer_scores)]
  count = int(round(fraction * len(everything)))
  chosen = sorted(everything)[:count]
  return [sorted(unit for _, layer, unit in chosen if layer == index)
          for index in range(len(scores))]


def normalized_by_layer(scores):
  """Each layer's scores divided by their L2 norm (Michel et al.)."""
  return [s / np.linalg.norm(s) if len(s) and np.linalg.norm(s) > 0 else s
          for s in scores]


def choose(head_scores, neuron_scores, keep_heads, keep_ffn):
  """(kept heads per layer, kept neurons per layer): see the module
  docstring's ranking."""
  return (_kept(normalized_by_layer(head_scores), keep_heads),
          _kept(neuron_scores, keep_ffn))


# --------------------------------------------------------- checkpoint ---

def _cut(values, name, index, axis):
  """Cuts a variable and its optimizer slots (`name/...`) to `index`
  along `axis`; with `index` None removes them."""
  for key in [k for k in values if k == name or k.startswith(name + "/")]:
    if index is None:
      del values[key]
    else:
      values[key] = np.take(values[key], index, axis=axis)


def pruned_values(values, scope, config, kept_heads, kept_neurons):
  """Checkpoint values with the heads and neurons not kept cut out.

  Args:
    values: dict name -> numpy value (every variable of the checkpoint).
    scope: the encoder's variable scope.
    config: the unpruned `BertConfig`.
    kept_heads, kept_neurons: per layer, the indexes kept.

  Returns:
    (values, config): new dict and a new config with the per-layer sizes.
  """
  values = dict(values)
  width = config.hidden_size // config.num_attention_heads
  for layer, (heads, neurons) in enumerate(zip(kept_heads, kept_neurons)):
    prefix = layer_prefix(scope, layer)
    columns = np.asarray([h * width + d for h in heads for d in range(width)],
                         np.int64)
    for name in _HEAD_COLUMNS:
      _cut(values, prefix + name, columns if heads else None, -1)
    _cut(values, prefix + _HEAD_ROWS, columns if heads else None, 0)
    neurons = np.asarray(neurons, np.int64)
    for name in _FFN_COLUMNS:
      _cut(values, prefix + name, neurons if len(neurons) else None, -1)
    _cut(values, prefix + _FFN_ROWS, neurons if len(neurons) else None, 0)
  config = with_layer_sizes(config)
  setattr(config, layers.LAYER_HEADS_KEY, [len(h) for h in kept_heads])
  setattr(config, layers.LAYER_INTERMEDIATE_KEY,
          [len(n) for n in kept_neurons])
  return values, config


def read_values(prefix):
  """Every variable of a checkpoint: dict name -> numpy value."""
  reader = tf.train.load_checkpoint(prefix)
  return {name: reader.get_tensor(name)
          for name in sorted(reader.get_variable_to_shape_map())}


# ------------------------------------------------------------- output ---

def check_output(output_dir):
  """An existing --output_dir must be empty or an earlier structured
  pruning's output (it is then replaced whole); SettingsError if not."""
  vocab_pruning.check_output(output_dir, REPORT_FILE)


def prune(source, output_dir, data_dir, keep_heads=1.0, keep_ffn=1.0,
          samples=2000, batch_size=32):
  """Writes the pruned run directory (see the module docstring).

  The folder is written under a temporary name and renamed when complete.

  Returns:
    The report dict (also written as output_dir/structure_pruning.json).
  """
  check_fraction("--keep_heads", keep_heads)
  check_fraction("--keep_ffn", keep_ffn)
  check_output(output_dir)
  task, records = training_records(source, data_dir, samples)
  head_scores, neuron_scores = importance(source, task, records, batch_size)
  kept_heads, kept_neurons = choose(head_scores, neuron_scores, keep_heads,
                                    keep_ffn)
  values, config = pruned_values(read_values(source.checkpoint),
                                 source.scope, source.config, kept_heads,
                                 kept_neurons)
  report = {
      "source": os.path.abspath(source.path),
      "source_checkpoint": os.path.abspath(source.checkpoint),
      "data_dir": os.path.abspath(data_dir),
      "importance_samples": len(records),
      "keep_heads": keep_heads,
      "keep_ffn": keep_ffn,
      "heads_before": sum(len(s) for s in head_scores),
      "heads_after": sum(len(h) for h in kept_heads),
      "neurons_before": sum(len(s) for s in neuron_scores),
      "neurons_after": sum(len(n) for n in kept_neurons),
      "kept_heads": kept_heads,
      "head_importance": [[float(x) for x in s] for s in head_scores],
      layers.LAYER_HEADS_KEY: getattr(config, layers.LAYER_HEADS_KEY),
      layers.LAYER_INTERMEDIATE_KEY: getattr(config,
                                             layers.LAYER_INTERMEDIATE_KEY),
  }
  _write_run(source, output_dir, values, config, report)
  return report


def _write_run(source, output_dir, values, config, report):
  """The run directory: run_info.json and the config file with the new
  sizes, vocab, labels, thresholds, the checkpoint and the report."""
  from modeling.hf import convert as hf_convert  # pylint: disable=g-import-not-at-top
  parent = os.path.dirname(os.path.abspath(output_dir))
  os.makedirs(parent, exist_ok=True)
  atomic.remove_dead_temporaries(parent, os.path.basename(output_dir))
  with open(os.path.join(source.path, run_info_lib.RUN_INFO_FILE),
            encoding="utf-8") as f:
    info = json.load(f)
  info["config"] = config.to_dict()
  info["vocab_file"] = run_info_lib.VOCAB_FILE
  with atomic.replacing_path(output_dir) as tmp:
    os.makedirs(tmp)
    shutil.copyfile(source.info["vocab_file"],
                    os.path.join(tmp, run_info_lib.VOCAB_FILE))
    atomic.atomic_json(os.path.join(tmp, run_info_lib.RUN_INFO_FILE), info)
    atomic.atomic_text(
        os.path.join(tmp, modeling.families.CONFIG_FILES[source.model_type]),
        json.dumps(info["config"], indent=2, sort_keys=True) + "\n")
    for name in (run_info_lib.LABELS_FILE, run_info_lib.THRESHOLDS_FILE):
      if os.path.isfile(os.path.join(source.path, name)):
        shutil.copyfile(os.path.join(source.path, name),
                        os.path.join(tmp, name))
    step = run_info_lib.checkpoint_step(source.checkpoint)
    hf_convert.write_tf1_checkpoint(
        values, os.path.join(tmp, "model.ckpt-%d" % step))
    atomic.atomic_json(os.path.join(tmp, REPORT_FILE), report)


def format_report(report):
  """Two lines for the terminal."""
  return ("heads %d -> %d, feed-forward neurons %d -> %d (importance from "
          "%d training examples)\nper layer: heads %s, neurons %s" % (
              report["heads_before"], report["heads_after"],
              report["neurons_before"], report["neurons_after"],
              report["importance_samples"],
              report[layers.LAYER_HEADS_KEY],
              report[layers.LAYER_INTERMEDIATE_KEY]))

"""Frozen-encoder feature extraction (what extract_features.py runs).

read_examples  input file -> Examples (`text_a` or `text_a ||| text_b` a line)
convert_examples  Examples -> Features (bert_toolkit.data.encoding: Google's
                  truncation, as training and the predictor)
FeatureExtractor  builds the encoder once, restores it, runs batches
write_json / write_npy  Google's JSON-lines output, or one vector a line in .npy
"""

import collections
import json
import os
import re

import numpy as np
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit.data import encoding
from bert_toolkit.data import split_files
from bert_toolkit.errors import InputError
from bert_toolkit.runs import atomic
from bert_toolkit.runs.progress import Progress

Example = collections.namedtuple("Example", ["unique_id", "text_a", "text_b"])
Feature = collections.namedtuple(
    "Feature", ["unique_id", "tokens", "input_ids", "segment_ids",
                "truncated"])

POOLINGS = ("mean", "cls", "pooled")
_PAIR = re.compile(r"^(.*) \|\|\| (.*)$")


def read_examples(input_file):
  """Reads one example a line: `text_a`, or `text_a ||| text_b`.

  UTF-8 (a BOM is dropped), read by split_files.read_text_lines.

  Raises:
    InputError: missing file, not UTF-8, or an empty line (names the line
      number).
  """
  examples = []
  for line_number, line in enumerate(split_files.read_text_lines(input_file),
                                     start=1):
    if not line.strip():
      raise InputError(
          input_file, line_number, "empty line",
          "Every line must hold a text or 'text_a ||| text_b'; remove it")
    m = _PAIR.match(line)
    text_a, text_b = (m.group(1), m.group(2)) if m else (line, None)
    examples.append(Example(len(examples), text_a.strip(),
                            text_b.strip() if text_b is not None else None))
  if not examples:
    raise InputError(input_file, None, "the file is empty",
                     "Put one text a line in it")
  return examples


def convert_example(example, tokenizer, max_seq_length):
  """One Example -> Feature (bert_toolkit.data.encoding: Google's truncation)."""
  encoded = encoding.encode(tokenizer, example.text_a, example.text_b,
                            max_seq_length)
  return Feature(example.unique_id, encoded.tokens, encoded.input_ids,
                 encoded.segment_ids, encoded.truncated)


def convert_examples(examples, tokenizer, max_seq_length):
  """Examples -> list of Features; logs how many were truncated."""
  features = [convert_example(e, tokenizer, max_seq_length) for e in examples]
  truncated = sum(f.truncated for f in features)
  if truncated:
    tf.logging.info("%d of %d inputs were longer than max_seq_length=%d and "
                    "were truncated", truncated, len(features), max_seq_length)
  return features


class FeatureExtractor(object):
  """An encoder restored once, run on padded batches of Features."""

  def __init__(self, model_type, config, init_checkpoint, layer_indexes,
               config_file=None):
    """Builds the graph and restores the checkpoint.

    Args:
      model_type: "bert", "albert" or "distilbert".
      config: `BertConfig`.
      init_checkpoint: checkpoint prefix or folder.
      layer_indexes: encoder layers to return, e.g. [-1, -2] (-1 = last).
      config_file: named in error messages.
    """
    self.graph = tf.Graph()
    with self.graph.as_default():
      self.input_ids = tf.placeholder(tf.int32, [None, None], "input_ids")
      self.input_mask = tf.placeholder(tf.int32, [None, None], "input_mask")
      self.segment_ids = tf.placeholder(tf.int32, [None, None], "segment_ids")
      model = modeling.build_model(model_type, config, False, self.input_ids,
                                   self.input_mask, self.segment_ids)
      all_layers = model.get_all_encoder_layers()
      for index in layer_indexes:
        if not -len(all_layers) <= index < len(all_layers):
          raise modeling.ConfigError(
              "--layers has %d but the model has %d layers (use -1 .. -%d)" %
              (index, len(all_layers), len(all_layers)))
      self.report = modeling.init_from_checkpoint(
          init_checkpoint, modeling.encoder_scope(model_type),
          config_file=config_file)
      self.fetches = {"layer_%d" % i: all_layers[i] for i in layer_indexes}
      self.fetches["pooled"] = model.get_pooled_output()
      self.session = tf.Session(graph=self.graph)
      self.session.run(tf.global_variables_initializer())
    self.layer_indexes = list(layer_indexes)

  def run_batch(self, features):
    """Runs one batch; returns a dict of numpy arrays (padded to the batch)."""
    arrays = encoding.pad_batch(features)
    out = self.session.run(self.fetches, {
        self.input_ids: arrays["input_ids"],
        self.input_mask: arrays["input_mask"],
        self.segment_ids: arrays["segment_ids"]})
    out["input_mask"] = arrays["input_mask"]
    return out

  def run(self, features, batch_size):
    """Yields (feature, outputs of that feature) in input order.

    outputs: {"layer_<i>": [len, hidden], "pooled": [hidden],
              "mask": [len]} with len the feature's own token count.
    """
    progress = Progress("extract_features", total_examples=len(features))
    for start in range(0, len(features), batch_size):
      batch = features[start:start + batch_size]
      out = self.run_batch(batch)
      for row, feature in enumerate(batch):
        n = len(feature.input_ids)
        yield feature, dict(
            {k: v[row, :n] for k, v in out.items()
             if k.startswith("layer_")},
            pooled=out["pooled"][row])
      progress.update(examples=len(batch))
    progress.done()

  def close(self):
    self.session.close()


def json_record(feature, outputs, layer_indexes):
  """Google's extract_features output record for one input line."""
  features = []
  for position, token in enumerate(feature.tokens):
    features.append(collections.OrderedDict([
        ("token", token),
        ("layers", [collections.OrderedDict([
            ("index", index),
            ("values", [round(float(x), 6)
                        for x in outputs["layer_%d" % index][position]]),
        ]) for index in layer_indexes]),
    ]))
  return collections.OrderedDict([("linex_index", feature.unique_id),
                                  ("features", features)])


def sentence_vector(outputs, pooling, layer_index):
  """One vector per input: "mean" of tokens, "cls" token, or "pooled"."""
  if pooling == "pooled":
    return outputs["pooled"]
  layer = outputs["layer_%d" % layer_index]
  if pooling == "cls":
    return layer[0]
  return layer.mean(axis=0)


def _output_file(path, mode="w"):
  """Writes `path` (its folder made if needed) through a temporary file
  renamed into place on success (atomic.replacing), so a killed run never
  leaves a half-written output under the real name."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  return atomic.replacing(path, mode)


def write_json(path, results, layer_indexes):
  """Streams Google-format JSON lines of (feature, outputs) to `path`."""
  with _output_file(path) as writer:
    for feature, outputs in results:
      writer.write(json.dumps(json_record(feature, outputs, layer_indexes),
                              ensure_ascii=False) + "\n")


def write_npy(path, results, pooling, layer_index):
  """Writes a [num_inputs, hidden] float32 matrix, one row per input line."""
  vectors = [sentence_vector(outputs, pooling, layer_index)
             for _, outputs in results]
  with _output_file(path, "wb") as writer:
    np.save(writer, np.stack(vectors).astype(np.float32))

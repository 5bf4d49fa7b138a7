"""A predictor that loads an exported SavedModel once and answers from memory.

  predictor = serving.Predictor("exports/sst2")      # base dir or version dir
  predictor.predict(["a gorgeous, witty film", ("text a", "text b")])
  # -> [{"label": "1", "label_id": 1,
  #      "probabilities": {"0": 0.03, "1": 0.97}}, ...]

`estimator.predict` rebuilds the graph and restores the checkpoint on every
call; this keeps one `tf.Session` with the loaded graph for its lifetime.
The tokenizer comes from the export's assets (vocab.txt and
serving_config.json), so nothing but the export directory is needed.

What is kind-specific (how a text becomes rows, how outputs become an
answer) is the task's ServingCodec, found from the export's kind through
bert_toolkit.kinds; the predictor itself knows no task.

Batching: inputs are sorted by length and run in batches of `batch_size`,
each padded only to its own longest member. Thread safety: the graph is
finalized after loading and `Session.run` is thread-safe; the tokenizer only
reads its vocab; so one Predictor can serve many threads at once.
"""

import json
import os

import tensorflow.compat.v1 as tf

import tokenization
from bert_toolkit import kinds
from bert_toolkit.data import encoding
from bert_toolkit.serving import signatures


class PredictorError(ValueError):
  """Bad predictor input or export directory; the message says the fix."""


def _is_export(version_dir):
  """A SavedModel (saved_model.pb) or an ONNX export (model.onnx)."""
  return any(os.path.isfile(os.path.join(version_dir, name))
             for name in ("saved_model.pb", signatures.ONNX_MODEL))


def resolve_export_dir(path):
  """A version directory: `path` itself if it holds saved_model.pb (or an
  ONNX export's model.onnx), else its highest all-digit subdirectory that
  does.

  Raises:
    PredictorError: no SavedModel there.
  """
  if _is_export(path):
    return path
  versions = sorted((int(n) for n in (os.listdir(path) if os.path.isdir(path)
                                      else [])
                     if n.isdigit() and _is_export(os.path.join(path, n))),
                    reverse=True)
  if not versions:
    raise PredictorError(
        "no SavedModel in %s (neither saved_model.pb nor a numbered version "
        "directory holding one): run export_savedmodel.py first" % path)
  return os.path.join(path, str(versions[0]))


def read_serving_config(export_dir):
  """assets/serving_config.json of a version directory, as a dict."""
  path = os.path.join(export_dir, "assets", signatures.SERVING_CONFIG_FILE)
  if not os.path.isfile(path):
    raise PredictorError("%s not found: %s was not written by "
                         "export_savedmodel.py" % (path, export_dir))
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def pad_batch(rows, pad_to=None):
  """bert_toolkit.data.encoding.pad_batch: rows -> zero-padded int32 arrays."""
  return encoding.pad_batch(rows, pad_to)


def _as_pair(item, fields=("text", "text_b")):
  """str | (a, b) | {fields[0]: a, fields[1]: b} -> (a, b or None); the
  field names are the task codec's (ServingCodec.fields)."""
  if isinstance(item, str):
    return item, None
  if isinstance(item, dict):
    text, text_b = item.get(fields[0]), item.get(fields[1])
  elif isinstance(item, (tuple, list)) and len(item) in (1, 2):
    text, text_b = item[0], item[1] if len(item) == 2 else None
  else:
    raise PredictorError(
        "cannot read %r as a text: pass a str, a (%s, %s) pair or "
        "{\"%s\": ..., \"%s\": ...}" % ((item,) + tuple(fields) * 2))
  if not isinstance(text, str) or not (text_b is None or
                                       isinstance(text_b, str)):
    raise PredictorError("%s and %s must be strings, got %r" % (
        fields[0], fields[1], item))
  return text, text_b


class Predictor(object):
  """Loads an export once; maps texts to labels, or tensors to outputs."""

  def __init__(self, export_dir, batch_size=32, max_seq_length=None,
               num_threads=0):
    """Args:
      export_dir: a version directory (…/1) or the base holding versions
        (the highest is loaded).
      batch_size: most inputs per Session.run.
      max_seq_length: truncate texts to this many tokens (default: the
        run's max_seq_length; at most max_position_embeddings).
      num_threads: TF intra/inter-op threads (0: all cores).
    """
    self.export_dir = resolve_export_dir(export_dir)
    self.config = read_serving_config(self.export_dir)
    if self.config.get("format") != signatures.SERVING_CONFIG_FORMAT:
      raise PredictorError(
          "%s: serving_config.json format %r, this code reads format %d: "
          "re-export with this version of export_savedmodel.py" %
          (self.export_dir, self.config.get("format"),
           signatures.SERVING_CONFIG_FORMAT))
    self.kind = self.config["kind"]
    self.labels = list(self.config["labels"])
    self.batch_size = int(batch_size)
    if self.batch_size < 1:
      raise PredictorError("batch_size must be >= 1, got %d" % batch_size)
    limit = self.config["max_position_embeddings"]
    self.max_seq_length = int(max_seq_length or self.config["max_seq_length"])
    if not 2 < self.max_seq_length <= limit:
      raise PredictorError("max_seq_length=%d: must be in 3..%d (the model's "
                           "max_position_embeddings)" %
                           (self.max_seq_length, limit))
    self.tokenizer = tokenization.from_vocab(
        os.path.join(self.export_dir, "assets", self.config["vocab_file"]),
        self.config["do_lower_case"])
    self.codec = kinds.task_class(self.kind).serving_codec(
        self.config, self.tokenizer, self.max_seq_length, PredictorError)
    self.onnx = None
    if os.path.isfile(os.path.join(self.export_dir, signatures.ONNX_MODEL)):
      # An ONNX export (export_onnx.py): ONNX Runtime runs the rows.
      from bert_toolkit.serving import onnx_backend  # pylint: disable=g-import-not-at-top
      self.onnx = onnx_backend.OnnxSession(self.export_dir, num_threads,
                                           PredictorError)
      self.output_names = sorted(self.onnx.output_names)
      return
    self.graph = tf.Graph()
    session_config = tf.ConfigProto(intra_op_parallelism_threads=num_threads,
                                    inter_op_parallelism_threads=num_threads)
    self.session = tf.Session(graph=self.graph, config=session_config)
    with self.graph.as_default():
      meta = tf.saved_model.loader.load(
          self.session, [tf.saved_model.tag_constants.SERVING],
          self.export_dir)
    self.graph.finalize()
    self._signatures = {}
    for key, signature in meta.signature_def.items():
      self._signatures[key] = (
          {k: self.graph.get_tensor_by_name(v.name)
           for k, v in signature.inputs.items()},
          {k: self.graph.get_tensor_by_name(v.name)
           for k, v in signature.outputs.items()})
    for key in (signatures.DEFAULT_SIGNATURE, signatures.EXAMPLES_SIGNATURE):
      if key not in self._signatures:
        raise PredictorError("%s has no %r signature: re-export it with "
                             "export_savedmodel.py" % (self.export_dir, key))
    self.output_names = sorted(self._signatures[signatures.DEFAULT_SIGNATURE]
                               [1])

  def close(self):
    (self.onnx or self.session).close()

  # --------------------------------------------------------- tensors ---

  def run(self, input_ids, input_mask, segment_ids):
    """serving_default on one padded batch.

    Args:
      input_ids, input_mask, segment_ids: int arrays [batch, seq].

    Returns:
      dict output name -> numpy array (classifier: probabilities
      [batch, labels] float32, label_id [batch] int32, label [batch] bytes).
    """
    if self.onnx:
      return self.onnx.run(input_ids, input_mask, segment_ids)
    inputs, outputs = self._signatures[signatures.DEFAULT_SIGNATURE]
    feed = {inputs["input_ids"]: input_ids, inputs["input_mask"]: input_mask,
            inputs["segment_ids"]: segment_ids}
    return self.session.run(outputs, feed)

  def run_examples(self, serialized):
    """from_examples on a list of serialized tf.Example bytes."""
    if self.onnx:                     # parsed here, padded as the graph does
      rows = []
      for data in serialized:
        feature = tf.train.Example.FromString(data).features.feature
        rows.append({name: list(feature[name].int64_list.value)
                     for name in signatures.INPUT_NAMES})
      arrays = pad_batch(rows)
      return self.run(arrays["input_ids"], arrays["input_mask"],
                      arrays["segment_ids"])
    inputs, outputs = self._signatures[signatures.EXAMPLES_SIGNATURE]
    return self.session.run(outputs, {inputs[signatures.EXAMPLES_INPUT]:
                                      list(serialized)})

  def run_text(self, text, text_b=None):
    """The `text` signature (tokenization in the graph) on raw texts.

    Args:
      text: list of str; text_b: list of str (a pair task's export), or
        None.

    Returns:
      dict output name -> numpy array, as run() gives them (per-token
      outputs padded to the batch's longest row).
    """
    if signatures.TEXT_SIGNATURE not in getattr(self, "_signatures", {}):
      raise PredictorError("%s has no %r signature: re-export it with this "
                           "version of export_savedmodel.py" %
                           (self.export_dir, signatures.TEXT_SIGNATURE))
    inputs, outputs = self._signatures[signatures.TEXT_SIGNATURE]
    feed = {inputs[signatures.TEXT_INPUT]: list(text)}
    if text_b is not None:
      feed[inputs[signatures.TEXT_B_INPUT]] = list(text_b)
    return self.session.run(outputs, feed)

  def example_problem(self, serialized):
    """Why a serialized tf.Example cannot feed from_examples, or None.

    It must parse as a tf.Example whose input_ids, input_mask and
    segment_ids are int64 lists of one length, at most
    max_position_embeddings long.
    """
    try:
      example = tf.train.Example.FromString(serialized)
    except Exception as e:  # pylint: disable=broad-except
      return ("not a serialized tf.Example (%s): send "
              "base64(example.SerializeToString())" %
              (str(e).split("\n")[0] or type(e).__name__))
    lengths = set()
    for name in signatures.INPUT_NAMES:
      feature = example.features.feature.get(name)
      if feature is None or feature.WhichOneof("kind") != "int64_list":
        return ("the tf.Example has no int64 feature %r (it needs %s)" %
                (name, ", ".join(signatures.INPUT_NAMES)))
      lengths.add(len(feature.int64_list.value))
    if len(lengths) != 1:
      return "input_ids, input_mask and segment_ids differ in length"
    length = lengths.pop()
    if not 0 < length <= self.config["max_position_embeddings"]:
      return ("%d tokens: the model takes 1 to %d" %
              (length, self.config["max_position_embeddings"]))
    return None

  def run_rows(self, rows):
    """Runs unpadded rows in length-sorted batches.

    Args:
      rows: list of dicts input_ids / input_mask / segment_ids -> int lists.

    Returns:
      list (in input order) of dicts output name -> numpy value of that
      row; per-token outputs (the codec's token_outputs) are cut to the
      row's length.
    """
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
    results = [None] * len(rows)
    for start in range(0, len(order), self.batch_size):
      chunk = order[start:start + self.batch_size]
      arrays = pad_batch([rows[i] for i in chunk])
      out = self.run(arrays["input_ids"], arrays["input_mask"],
                     arrays["segment_ids"])
      for j, i in enumerate(chunk):
        length = len(rows[i]["input_ids"])
        results[i] = {
            name: (value[j][:length] if name in self.codec.token_outputs
                   else value[j])
            for name, value in out.items()}
    return results

  # ----------------------------------------------------------- texts ---

  def encode(self, text, text_b=None):
    """One text (pair) -> dict input_ids / input_mask / segment_ids (lists),
    tokenized as the run made its features (the first window, for a
    windowed model; encode_rows gives them all)."""
    return self.encode_rows(text, text_b)[0]

  def encode_rows(self, text, text_b=None):
    """One text (pair) -> its model rows (the task codec's)."""
    return self.codec.rows(text, text_b)[0]

  def predict(self, inputs, run_rows=None):
    """Raw texts -> predictions, one per input, in order.

    Args:
      inputs: list of str, (text, text_b) pairs or {"text", "text_b"} dicts
        (a single str or dict is taken as a list of one).

    Returns:
      one answer per input, as the run's task codec gives it (the
      ServingCodec of the task module, e.g. classifier: {"label",
      "label_id", "probabilities"}; ner: {"entities", "tags"}).

    `run_rows` replaces self.run_rows (the server's request batching).
    """
    if isinstance(inputs, (str, dict)):
      inputs = [inputs]
    pairs = [_as_pair(item, self.codec.fields) for item in inputs]
    run_rows = run_rows or self.run_rows
    spans, rows = [], []
    for a, b in pairs:
      item_rows, state = self.codec.rows(a, b)
      spans.append((len(rows), len(item_rows), state))
      rows.extend(item_rows)
    outputs = run_rows(rows) if rows else []
    return [self.codec.decode(state, outputs[first:first + count])
            for first, count, state in spans]

"""Fine-tuned run directory -> ONNX model for ONNX Runtime.

`export_onnx(run_dir, export_base, version=None, checkpoint=None,
quantize="none", calibration_file=None, per_channel=None,
quantize_embeddings=False)` makes the
checks of the SavedModel export (bert_toolkit/serving/export.py: the run,
its checkpoint's data files and variable shapes, a free version), rebuilds
the run's graph in PREDICT mode on int32 [batch, seq] placeholders
input_ids / input_mask / segment_ids, freezes it, converts it with tf2onnx
and writes

  export_base/<version>/model.onnx
  export_base/<version>/assets/vocab.txt
  export_base/<version>/assets/serving_config.json   (with an "onnx" entry)

staged under a hidden name and renamed when complete, as the SavedModel
export. The outputs are the numeric outputs of the SavedModel's
serving_default signature, with the same names (a string output such as
the classifier's `label` is left out: its answer comes from label_id and
the labels). bert_toolkit.serving.predictor.Predictor runs the directory on
ONNX Runtime (bert_toolkit.serving.onnx_backend).

After the conversion each attention layer becomes one com.microsoft
Attention (bert_toolkit.serving.onnx_attention; not a classifier's last
layer, which attends from the first token alone) and ONNX Runtime's
transformer optimizer fuses the GELUs and residual LayerNorms
(onnxruntime.transformers.optimizer, model type "bert_tf"); the fused model
is kept only if it answers as the unfused one (`optimize`), and the fused
operator counts go into the serving config.

Quantization (int8 weights; ONNX Runtime's quantization tools):
  dynamic   MatMul and Attention weights int8 (Attention -> QAttention),
            activations quantized at run time.
  static    MatMul weights and activations int8 (QDQ; attention is left
            unfused, QDQ having no quantized Attention), activation ranges
            calibrated on rows of the run's own training features
            (RUN_DIR/features/train-*.tf_record) or of --calibration_file
            (one text a line; a pair as `text_a ||| text_b`), encoded by
            the task's serving codec.
  per_channel: one weight scale per output column (the default when
            quantizing; False: one scale per tensor). On a fine-tuned
            MiniLM teacher one scale per tensor lost SST-2 accuracy that
            per-column scales kept (docs/benchmarks.md, the compression
            recipe).
  GELU:     a fused exact GELU (Gelu, BiasGelu) runs in its tanh form
            (FastGelu, a cheaper kernel) in int8 exports, if the outputs
            stay within GELU_TOLERANCE (`tanh_gelu`).
  quantize_embeddings: the embedding tables int8 too, one scale a row
            (their Gather reads int8 rows and multiplies each by its row's
            scale; `int8_tables`): a quarter of their size, which is most
            of a small model's (docs/serving.md).
Everything else stays float32 (by default the embeddings' Gather;
LayerNormalization, Softmax, GELU, the head's argmax and the CRF): the
serving config lists them with the reason.

onnx, onnxruntime and tf2onnx are the optional extra `onnx`
(pip install .[onnx]); this module imports them only when it runs.
"""

import collections
import glob
import os
import types

import numpy as np
import tensorflow.compat.v1 as tf

from bert_toolkit import kinds
from bert_toolkit.errors import InputError
from bert_toolkit.errors import SettingsError
from bert_toolkit.engine import task as task_lib
from bert_toolkit.runs import atomic
from bert_toolkit.serving import export as export_lib
from bert_toolkit.serving import signatures

QUANTIZE_MODES = ("none", "dynamic", "static")
OPSET = 13
# What int8 quantization converts; every other operator stays float32.
QUANTIZED_OPS = ("MatMul",)
# Why the rest stays float32 (written into the serving config).
FLOAT_REASONS = types.MappingProxyType(collections.OrderedDict((
    ("Gather", "embedding lookups: a table lookup costs no multiply; "
               "int8 tables (--quantize_embeddings) save size, not time"),
    ("LayerNormalization", "normalises over the hidden units; int8 "
                           "statistics would shift every layer"),
    ("SkipLayerNormalization", "as LayerNormalization"),
    ("ReduceMean", "LayerNorm's mean and variance (unfused LayerNorm)"),
    ("Softmax", "attention and output probabilities need float range"),
    ("Gelu", "element-wise; int8 would only add quantize steps"),
    ("BiasGelu", "as Gelu"),
    ("FastGelu", "as Gelu"),
    ("Loop", "the CRF's Viterbi decoding compares path scores exactly"),
)))
CALIBRATION_ROWS = 128


def _require_onnx():
  """Imports the optional extra, or a SettingsError saying how to get it."""
  try:
    import onnx  # pylint: disable=g-import-not-at-top,unused-import
    import onnxruntime  # pylint: disable=g-import-not-at-top,unused-import
    import tf2onnx  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError as e:
    raise SettingsError(
        "export_onnx.py needs the optional packages onnx, onnxruntime and "
        "tf2onnx (%s): pip install '.[onnx]' (or the versions in "
        "requirements-dev.txt)" % e)


def check_options(quantize, calibration_file, per_channel,
                  quantize_embeddings=False):
  """SettingsError for options that cannot work together; per_channel None
  is the default (per column when quantizing), True or False a choice."""
  if quantize not in QUANTIZE_MODES:
    raise SettingsError("--quantize=%s: use one of %s" % (
        quantize, ", ".join(QUANTIZE_MODES)))
  if calibration_file and quantize != "static":
    raise SettingsError("--calibration_file is read by --quantize=static "
                        "only: leave it out, or add --quantize=static")
  if per_channel is not None and quantize == "none":
    raise SettingsError("--per_channel and --noper_channel set how weights "
                        "are quantized: add --quantize=dynamic or "
                        "--quantize=static")
  if quantize_embeddings and quantize == "none":
    raise SettingsError("--quantize_embeddings makes the embedding tables "
                        "int8: add --quantize=dynamic or --quantize=static")
  if calibration_file and not os.path.isfile(calibration_file):
    raise SettingsError("--calibration_file=%s: no such file" %
                        calibration_file)


def frozen_graph(checked):
  """The run's PREDICT graph with its checkpoint's values as constants.

  Returns:
    (graph_def, input tensor names, {output name: tensor name}).
  """
  info = checked["info"]
  model_fn = task_lib.model_fn_from_run_info(info)
  graph = tf.Graph()
  with graph.as_default():
    features = {name: tf.placeholder(tf.int32, [None, None], name=name)
                for name in signatures.INPUT_NAMES}
    spec = model_fn(features, None, tf.estimator.ModeKeys.PREDICT, {})
    outputs = {}
    for name, tensor in sorted(export_lib.export_outputs(spec).items()):
      outputs[name] = tf.identity(tensor, name="output_" + name).name
    with tf.Session(graph=graph) as sess:
      export_lib.restore(sess, checked["checkpoint"], checked["run_dir"])
      graph_def = tf.graph_util.convert_variables_to_constants(
          sess, graph.as_graph_def(),
          [n.split(":")[0] for n in outputs.values()])
  # A model may not read every input (DistilBERT: no segment_ids).
  kept = {node.name for node in graph_def.node}
  inputs = [name + ":0" for name in signatures.INPUT_NAMES if name in kept]
  return graph_def, inputs, outputs


def convert(graph_def, inputs, outputs):
  """tf2onnx on a frozen graph -> onnx ModelProto whose inputs and outputs
  carry the SavedModel's names."""
  from tf2onnx import convert as tf2onnx_convert  # pylint: disable=g-import-not-at-top
  model, _ = tf2onnx_convert.from_graph_def(
      graph_def, input_names=inputs, output_names=list(outputs.values()),
      opset=OPSET)
  # Identity nodes carry the SavedModel's names: renaming values in place
  # would miss the loops' subgraphs, which read outer values by name.
  from onnx import helper  # pylint: disable=g-import-not-at-top
  graph = model.graph
  renames = {name: name.split(":")[0] for name in inputs}
  renames.update({v: k for k, v in outputs.items()})
  for value in graph.input:
    old_name, value.name = value.name, renames[value.name]
    graph.node.insert(0, helper.make_node("Identity", [value.name],
                                          [old_name]))
  for value in graph.output:
    old_name, value.name = value.name, renames[value.name]
    graph.node.append(helper.make_node("Identity", [old_name], [value.name]))
  return model


# The fused model must answer as the converted one did, within the float32
# parity the tests hold the ONNX export to (1e-4); else the fusion is dropped.
FUSION_TOLERANCE = 1e-4


def _sample_feed(config, batch=3, seq=16, seed=0):
  """A batch of random token ids, with padding and both segments, for
  comparing two versions of a model."""
  rng = np.random.RandomState(seed)
  ids = rng.randint(1, int(config.vocab_size), (batch, seq)).astype(np.int32)
  mask = np.ones((batch, seq), np.int32)
  mask[1, seq // 2:] = 0
  segments = np.zeros((batch, seq), np.int32)
  if int(getattr(config, "type_vocab_size", 1)) > 1:
    segments[:, seq // 3:] = 1
  return {"input_ids": ids, "input_mask": mask, "segment_ids": segments}


def largest_difference(path_a, path_b, config):
  """The largest absolute difference between the float outputs of two
  models on a sample batch (inf when an integer output differs)."""
  import onnxruntime as ort  # pylint: disable=g-import-not-at-top
  feed = _sample_feed(config)
  answers = []
  for path in (path_a, path_b):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    answers.append(dict(zip(names, session.run(
        None, {i.name: feed[i.name] for i in session.get_inputs()}))))
  largest = 0.0
  for name, a in answers[0].items():
    b = answers[1][name]
    if a.dtype.kind == "f":
      largest = max(largest, float(np.max(np.abs(a - b))) if a.size else 0.0)
    elif not np.array_equal(a, b):
      return float("inf")
  return largest


def optimize(path, config, attention=True):
  """The fusions on the model at `path`, written beside it (`path`.fused),
  checked: the fused model runs a sample batch beside the unfused one, and
  is kept only if every output agrees within FUSION_TOLERANCE.

  The fusions: with `attention`, each attention layer becomes one
  com.microsoft Attention (bert_toolkit.serving.onnx_attention); then ONNX
  Runtime's transformer optimizer (model type bert_tf) fuses BERT's tanh
  GELU (FastGelu), the exact GELU with its bias (BiasGelu) and the residual
  LayerNorms (SkipLayerNormalization). Its own attention fusion does not
  match this graph, and where made to match it gave wrong outputs
  (docs/serving.md). A model with loops (the CRF's Viterbi decoding) gets
  the attention fusion only: the optimizer prunes the values only a loop's
  body reads, breaking the model. ONNX Runtime still applies its own graph
  optimizations when it loads the model.

  Returns:
    (the path of the model to use: the fused one if kept, else `path`;
    {fused operator: count} of the fusions kept; {"largest_difference",
    "kept"}, or None for a model left as it is).
  """
  import onnx  # pylint: disable=g-import-not-at-top
  from onnxruntime.transformers import optimizer  # pylint: disable=g-import-not-at-top
  from bert_toolkit.serving import onnx_attention  # pylint: disable=g-import-not-at-top
  model = onnx.load(path)
  counts = {}
  if attention:
    size_per_head = int(config.hidden_size) // int(config.num_attention_heads)
    layers = onnx_attention.fuse_attention(model, size_per_head)
    if layers:
      counts["Attention"] = layers
  has_loops = any(n.op_type in ("Loop", "If", "Scan")
                  for n in model.graph.node)
  if has_loops and not counts:
    return path, {}, None
  fused = path + ".fused"
  onnx.save(model, fused)
  if not has_loops:
    optimized = optimizer.optimize_model(
        fused, model_type="bert_tf",
        num_heads=int(config.num_attention_heads),
        hidden_size=int(config.hidden_size), opt_level=0)
    counts.update({k: int(v) for k, v in
                   optimized.get_fused_operator_statistics().items() if v})
    optimized.save_model_to_file(fused)
  difference = largest_difference(path, fused, config)
  check = {"largest_difference": difference,
           "kept": difference <= FUSION_TOLERANCE}
  if not check["kept"]:
    tf.logging.warning("The fusions changed the outputs by %g (more than "
                       "%g): exporting the unfused model", difference,
                       FUSION_TOLERANCE)
    return path, {}, check
  return fused, counts, check


# An int8 export may run the exact GELU in its tanh form only if the
# model's outputs move by less than this (the forms differ by at most
# 4.7e-4 an element, at x = 2.7; int8 rounding moves activations more).
GELU_TOLERANCE = 1e-3


def tanh_gelu(path, config):
  """The int8 exports' GELU: each fused exact GELU (ONNX Runtime's Gelu or
  BiasGelu, erf) becomes its FastGelu, the tanh form Google's BERT defines
  GELU by, whose kernel is cheaper. Kept only if the outputs stay within
  GELU_TOLERANCE.

  Returns:
    (the path of the model to use; {"replaced", "largest_difference",
    "kept"}, or None when the model has no fused exact GELU).
  """
  import onnx  # pylint: disable=g-import-not-at-top
  model = onnx.load(path)
  nodes = [n for n in model.graph.node if n.domain == "com.microsoft" and
           n.op_type in ("Gelu", "BiasGelu")]
  if not nodes:
    return path, None
  for node in nodes:   # FastGelu takes X and, optionally, the bias
    node.op_type = "FastGelu"
  tanh = path + ".tanh_gelu"
  onnx.save(model, tanh)
  difference = largest_difference(path, tanh, config)
  check = {"replaced": len(nodes), "largest_difference": difference,
           "kept": difference <= GELU_TOLERANCE}
  if not check["kept"]:
    tf.logging.warning("The tanh GELU changed the outputs by %g (more than "
                       "%g): keeping the exact GELU", difference,
                       GELU_TOLERANCE)
    return path, check
  return tanh, check


def operator_counts(path, graph=None):
  """{op_type: count} of the model at `path` (or of `graph`, loaded)."""
  import onnx  # pylint: disable=g-import-not-at-top
  if graph is None:
    graph = onnx.load(path).graph
  return dict(collections.Counter(n.op_type for n in graph.node))


def calibration_rows(checked, calibration_file, limit=CALIBRATION_ROWS):
  """Rows (input_ids / input_mask / segment_ids lists) to calibrate static
  quantization on: --calibration_file's texts through the task's serving
  codec, else the run's own training features.

  Raises:
    InputError: the file holds no text.
    SettingsError: no file and no training features in the run.
  """
  info = checked["info"]
  if calibration_file:
    import tokenization  # pylint: disable=g-import-not-at-top
    config = export_lib.serving_config(info, checked["checkpoint"], None)
    config.update(kinds.task_class(info["kind"]).serving_extras(
        checked["run_dir"], info) or {})
    tokenizer = tokenization.from_vocab(info["vocab_file"],
                                        config["do_lower_case"])
    codec = kinds.task_class(info["kind"]).serving_codec(
        config, tokenizer, config["max_seq_length"], SettingsError)
    rows = []
    with open(calibration_file, encoding="utf-8") as f:
      for number, line in enumerate(f, 1):
        text, _, text_b = line.rstrip("\n").partition(" ||| ")
        if not text.strip():
          continue
        try:
          rows.extend(codec.rows(text, text_b or None)[0])
        except SettingsError as e:
          raise InputError(calibration_file, number, str(e),
                           "write one text a line (a pair as "
                           "`text_a ||| text_b`)")
        if len(rows) >= limit:
          break
    if not rows:
      raise InputError(calibration_file, 0, "no text to calibrate on",
                       "write one text a line (a pair as "
                       "`text_a ||| text_b`)")
    return rows[:limit]
  files = sorted(glob.glob(os.path.join(checked["run_dir"], "features",
                                        "train-*.tf_record")))
  if not files:
    raise SettingsError(
        "--quantize=static calibrates on the run's training features, and "
        "%s has none (a run trained with --cache_dir keeps them there): "
        "pass --calibration_file=FILE (one text a line)" %
        os.path.join(checked["run_dir"], "features"))
  rows = []
  for record in tf.io.tf_record_iterator(files[0]):
    feature = tf.train.Example.FromString(record).features.feature
    ids = list(feature["input_ids"].int64_list.value)
    rows.append({"input_ids": ids, "input_mask": [1] * len(ids),
                 "segment_ids": list(feature["segment_ids"].int64_list.value)})
    if len(rows) >= limit:
      break
  return rows


def _batches(rows, batch_size=8):
  """Padded int32 feeds of rows in length-sorted batches."""
  from bert_toolkit.data import encoding  # pylint: disable=g-import-not-at-top
  rows = sorted(rows, key=lambda r: len(r["input_ids"]))
  for start in range(0, len(rows), batch_size):
    arrays = encoding.pad_batch(rows[start:start + batch_size])
    yield {name: np.asarray(arrays[name], np.int32)
           for name in signatures.INPUT_NAMES}


def _int8_gathers(graph):
  """How many Gathers of an ONNX graph read an int8 table (`int8_tables`)."""
  import onnx  # pylint: disable=g-import-not-at-top
  int8 = {i.name for i in graph.initializer
          if i.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)}
  return sum(1 for n in graph.node
             if n.op_type == "Gather" and n.input[0] in int8)


def int8_tables(model):
  """Makes every float table a Gather reads int8, one scale a row: the
  table's row r becomes round(row / s_r) with s_r = max |row| / 127, and
  Gather(table, ids) becomes Gather(int8 table, ids) cast to float times
  Gather(scales, ids). One scale a row keeps a rare token's small row as
  exact as a common token's large one, where one scale for the table
  rounds the small rows coarsely. Changes `model` in place."""
  import onnx  # pylint: disable=g-import-not-at-top
  from onnx import helper, numpy_helper  # pylint: disable=g-import-not-at-top
  graph = model.graph
  tables = {i.name: i for i in graph.initializer
            if i.data_type == onnx.TensorProto.FLOAT and len(i.dims) == 2}
  nodes, done = [], set()
  for node in graph.node:
    axis = {a.name: helper.get_attribute_value(a)
            for a in node.attribute}.get("axis", 0)
    if node.op_type != "Gather" or axis != 0 or node.input[0] not in tables:
      nodes.append(node)
      continue
    name = node.input[0]
    if name not in done:   # each table is quantized once, however often read
      done.add(name)
      table = numpy_helper.to_array(tables[name])
      scales = np.maximum(np.abs(table).max(axis=1, keepdims=True),
                          1e-12) / 127.0
      quantized = np.clip(np.round(table / scales), -127, 127)
      graph.initializer.remove(tables[name])
      graph.initializer.extend([
          numpy_helper.from_array(quantized.astype(np.int8), name + "_int8"),
          numpy_helper.from_array(scales.astype(np.float32),
                                  name + "_row_scale")])
    ids, out = node.input[1], node.output[0]
    nodes.extend([
        helper.make_node("Gather", [name + "_int8", ids], [out + "_int8"],
                         name=node.name),
        helper.make_node("Cast", [out + "_int8"], [out + "_float"],
                         name=node.name + "_cast",
                         to=onnx.TensorProto.FLOAT),
        helper.make_node("Gather", [name + "_row_scale", ids],
                         [out + "_scale"], name=node.name + "_scale"),
        helper.make_node("Mul", [out + "_float", out + "_scale"], [out],
                         name=node.name + "_dequantize")])
  del graph.node[:]
  graph.node.extend(nodes)


def quantize(source, target, mode, per_channel, rows=None,
             embeddings=False):
  """Writes the int8 model of `source` to `target`; `embeddings`: the
  Gathers' tables too.

  Returns:
    {"mode", "per_channel", "embeddings", "quantized_ops", "float_ops":
    {op: count}, "float_reasons": {op: why}}; an int8 table's Gather counts
    as quantized ("Gather (int8 table)").
  """
  import onnx  # pylint: disable=g-import-not-at-top
  from onnxruntime import quantization as q  # pylint: disable=g-import-not-at-top
  # The fused operators (FastGelu) are outside ONNX's shape inference: their
  # outputs are float32.
  options = {"DefaultTensorType": onnx.TensorProto.FLOAT}
  op_types = list(QUANTIZED_OPS)
  if mode == "dynamic":
    op_types.append("Attention")   # -> QAttention: int8 projections
  if mode == "dynamic":
    q.quantize_dynamic(source, target, per_channel=per_channel,
                       weight_type=q.QuantType.QInt8,
                       op_types_to_quantize=op_types,
                       extra_options=options)
  else:
    names = {i.name for i in onnx.load(source).graph.input}
    feeds = iter([{k: v for k, v in feed.items() if k in names}
                  for feed in _batches(rows)])

    class Reader(q.CalibrationDataReader):

      def get_next(self):
        return next(feeds, None)

    q.quantize_static(source, target, Reader(),
                      quant_format=q.QuantFormat.QDQ,
                      per_channel=per_channel,
                      activation_type=q.QuantType.QInt8,
                      weight_type=q.QuantType.QInt8,
                      op_types_to_quantize=op_types,
                      extra_options=dict(options, ActivationSymmetric=True))
  model = onnx.load(target)
  if embeddings:
    int8_tables(model)
    onnx.save(model, target)
  graph = model.graph
  ops = operator_counts(target, graph)
  quantized = {k: v for k, v in ops.items()
               if k in ("MatMulInteger", "QAttention",
                        "DynamicQuantizeLinear", "QuantizeLinear",
                        "DequantizeLinear")}
  floating = {k: v for k, v in ops.items() if k in FLOAT_REASONS}
  int8_gathers = _int8_gathers(graph)
  if int8_gathers:
    quantized["Gather (int8 table)"] = int8_gathers
    floating["Gather"] -= int8_gathers
    if not floating["Gather"]:
      del floating["Gather"]
  return {"mode": mode, "per_channel": bool(per_channel),
          "embeddings": bool(embeddings),
          "quantized_ops": quantized, "float_ops": floating,
          "float_reasons": {k: FLOAT_REASONS[k] for k in floating}}


def export_onnx(run_dir, export_base, version=None, checkpoint=None,
                quantize_mode="none", calibration_file=None,
                per_channel=None, optimize_graph=True,
                quantize_embeddings=False):
  """Writes export_base/<version>/ (see the module docstring).

  Returns:
    dict: export_dir, version, checkpoint, global_step, outputs, onnx (the
    serving config's "onnx" entry).

  Raises:
    SettingsError: bad options, or the optional packages are missing.
    modeling.ConfigError / CheckpointError: the export's checks.
    InputError: a calibration file without texts.
  """
  check_options(quantize_mode, calibration_file, per_channel,
                quantize_embeddings)
  _require_onnx()
  checked = export_lib.check_export(run_dir, export_base, version,
                                    checkpoint)
  rows = (calibration_rows(checked, calibration_file)
          if quantize_mode == "static" else None)
  graph_def, inputs, outputs = frozen_graph(checked)
  model = convert(graph_def, inputs, outputs)
  with export_lib.staging_folder(checked) as staging:
    fp32 = os.path.join(staging, "fp32.onnx")
    with open(fp32, "wb") as f:
      f.write(model.SerializeToString())
    entry = {"model_file": signatures.ONNX_MODEL, "opset": OPSET,
             "outputs": sorted(outputs), "quantization": {"mode": "none"}}
    if optimize_graph:
      # QDQ (static) int8 has no quantized Attention: fused, the layers'
      # projections would stay float32.
      fp32, entry["fused_ops"], entry["fusion_check"] = optimize(
          fp32, checked["info"]["config"],
          attention=quantize_mode != "static")
      if quantize_mode != "none":
        fp32, gelu = tanh_gelu(fp32, checked["info"]["config"])
        if gelu:
          entry["tanh_gelu"] = gelu
    with atomic.replacing_path(
        checked["target"],
        temporary=os.path.join(staging, "version")) as folder:
      os.makedirs(folder)
      model_path = os.path.join(folder, signatures.ONNX_MODEL)
      if quantize_mode == "none":
        os.link(fp32, model_path)
      else:
        entry["quantization"] = quantize(fp32, model_path, quantize_mode,
                                         per_channel is not False, rows,
                                         quantize_embeddings)
      entry["ops"] = operator_counts(model_path)
      export_lib.write_assets(checked, os.path.join(folder, "assets"),
                              extras={"onnx": entry})
  tf.logging.info("Exported %s (step %s) as ONNX to %s",
                  checked["checkpoint"], checked["global_step"],
                  checked["target"])
  return {"export_dir": checked["target"], "version": checked["version"],
          "checkpoint": checked["checkpoint"],
          "global_step": checked["global_step"], "outputs": sorted(outputs),
          "onnx": entry}

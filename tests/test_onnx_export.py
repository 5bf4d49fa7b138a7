"""ONNX export (export_onnx.py) and the ONNX Runtime backend of the
Predictor: for every family (BERT, ALBERT, DistilBERT, ELECTRA) and head
(classifier single, multi-label, pair, windows; NER softmax and CRF) the
float32 ONNX model answers as the SavedModel does (outputs within 1e-4,
the same labels and tags); int8 models agree with float32 on most items;
the checks of the SavedModel export refuse the same runs; nothing imports
onnxruntime unless an ONNX export is loaded.

Runs are made without training (tests/onnx_runs.py): the family's reference
checkpoint as the encoder, a random head (std 1, so answers differ).
"""

import json
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit import kinds
from bert_toolkit.errors import InputError
from bert_toolkit.errors import SettingsError
from bert_toolkit.serving import export as export_lib
from bert_toolkit.serving import onnx_export
from bert_toolkit.serving import predictor as predictor_lib
from tests import onnx_runs
from tests.paths import DATA_DIR
from tests.paths import REPO_DIR

tf.disable_eager_execution()

TOL = 1e-4


@pytest.fixture(scope="module")
def made(tmp_path_factory):
  """fn(case) -> dict run_dir, saved (Predictor), onnx (Predictor), texts;
  each case built and exported once."""
  root = tmp_path_factory.mktemp("onnx")
  cache = {}

  def make(case):
    if case not in cache:
      run_dir = onnx_runs.fake_run(str(root / case), *onnx_runs.CASES[case])
      saved = export_lib.export(run_dir, str(root / (case + "_sm")))
      converted = onnx_export.export_onnx(run_dir,
                                          str(root / (case + "_onnx")))
      cache[case] = {
          "run_dir": run_dir, "root": root, "onnx_result": converted,
          "saved": predictor_lib.Predictor(saved["export_dir"], batch_size=4),
          "onnx": predictor_lib.Predictor(converted["export_dir"],
                                          batch_size=4),
          "texts": onnx_runs.texts(case)}
    return cache[case]

  yield make
  for entry in cache.values():
    entry["saved"].close()
    entry["onnx"].close()


def _same_answers(ours, theirs):
  """JSON answers equal, floats within TOL."""
  if isinstance(ours, dict):
    assert sorted(ours) == sorted(theirs)
    for key in ours:
      _same_answers(ours[key], theirs[key])
  elif isinstance(ours, list):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
      _same_answers(a, b)
  elif isinstance(ours, float):
    assert abs(ours - theirs) <= TOL, (ours, theirs)
  else:
    assert ours == theirs


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(onnx_runs.CASES))
def test_float32_onnx_answers_as_the_saved_model(made, case):
  entry = made(case)
  onnx, saved = entry["onnx"], entry["saved"]
  assert onnx.onnx is not None and saved.onnx is None
  assert onnx.config["onnx"]["quantization"]["mode"] == "none"
  # Every attention layer is one Attention operator (with the CRF's loop
  # too), and the fused model is what answers below; but a classifier's
  # last layer, which attends from the first token alone
  # (Task.first_token_only), stays as it is.
  info = json.load(open(os.path.join(entry["run_dir"], "run_info.json"),
                        encoding="utf-8"))
  layers = info["config"]["num_hidden_layers"]
  if kinds.task_class(info["kind"]).first_token_only:
    layers -= 1
  assert onnx.config["onnx"]["fused_ops"]["Attention"] == layers
  assert onnx.config["onnx"]["ops"]["Attention"] == layers
  answers = onnx.predict(entry["texts"])
  _same_answers(answers, saved.predict(entry["texts"]))
  # The raw outputs too, on one padded batch.
  rows = [r for t in entry["texts"] for r in saved.codec.rows(
      *((t,) if isinstance(t, str) else t))[0]][:6]
  arrays = predictor_lib.pad_batch(rows)
  ours = onnx.run(arrays["input_ids"], arrays["input_mask"],
                  arrays["segment_ids"])
  theirs = saved.run(arrays["input_ids"], arrays["input_mask"],
                     arrays["segment_ids"])
  assert sorted(ours) == sorted(theirs) == onnx.output_names
  for name, value in theirs.items():
    if value.dtype.kind in "OSU":
      assert [v.decode() if isinstance(v, bytes) else v
              for v in value.tolist()] == ours[name].tolist()
    else:
      np.testing.assert_allclose(ours[name], value, atol=TOL, rtol=0)
  # serve.py's from_examples instances: parsed in Python for ONNX.
  serialized = [tf.train.Example(features=tf.train.Features(feature={
      name: tf.train.Feature(int64_list=tf.train.Int64List(value=row[name]))
      for name in ("input_ids", "input_mask", "segment_ids")}))
                .SerializeToString() for row in rows]
  ours, theirs = onnx.run_examples(serialized), saved.run_examples(serialized)
  for name, value in theirs.items():
    if value.dtype.kind not in "OSU":
      np.testing.assert_allclose(ours[name], value, atol=TOL, rtol=0)
  # The answers are not all alike (a random head), so parity means something.
  assert len({json.dumps(a, sort_keys=True) for a in answers}) > 1


def _agreement(ours, theirs):
  def label(answer):
    return answer.get("label", answer.get("labels"))
  same = sum(label(a) == label(b) for a, b in zip(ours, theirs))
  return same / float(len(ours))


@pytest.mark.slow
def test_int8_models_agree_with_float32_on_most_items(made, tmp_path):
  entry = made("bert_single")
  texts = onnx_runs.texts("bert_single", 60)
  reference = entry["onnx"].predict(texts)
  calibration = str(tmp_path / "calibration.txt")
  with open(calibration, "w", encoding="utf-8") as f:
    f.write("\n".join(t for t in onnx_runs.texts("bert_single", 40)) + "\n")
  for mode, options in (("dynamic", {}),
                        ("dynamic", {"per_channel": False}),
                        ("static", {"calibration_file": calibration}),
                        ("static", {"per_channel": True}),
                        ("dynamic", {"quantize_embeddings": True}),
                        ("static", {"quantize_embeddings": True,
                                    "calibration_file": calibration})):
    if mode == "static" and "calibration_file" not in options:
      # The run's own training features: this run has none.
      with pytest.raises(SettingsError, match="--calibration_file"):
        onnx_export.export_onnx(entry["run_dir"], str(tmp_path / "x"),
                                quantize_mode=mode, **options)
      options = dict(options, calibration_file=calibration)
    result = onnx_export.export_onnx(entry["run_dir"],
                                     str(tmp_path / "int8"),
                                     quantize_mode=mode, **options)
    quantization = result["onnx"]["quantization"]
    assert quantization["mode"] == mode
    # Per-column weight scales unless per_channel=False is asked for.
    assert quantization["per_channel"] == options.get("per_channel", True)
    assert quantization["quantized_ops"], quantization
    # What stays float32 is named with the reason.
    assert "Softmax" in quantization["float_ops"]
    assert set(quantization["float_reasons"]) == set(
        quantization["float_ops"])
    # The word table is int8 only when asked (the position and token type
    # tables are sliced and multiplied, not gathered).
    # Dynamic int8 quantizes the fused attention's projections (QAttention:
    # layer 0; the last attends from [CLS] alone, unfused); static leaves
    # attention unfused, its MatMuls quantized as QDQ.
    assert quantization["quantized_ops"].get("QAttention", 0) == (
        1 if mode == "dynamic" else 0), quantization
    assert "Attention" not in result["onnx"]["fused_ops"] or mode != "static"
    tables = quantization["quantized_ops"].get("Gather (int8 table)", 0)
    assert tables == int(bool(options.get("quantize_embeddings"))), (
        mode, options, quantization)
    assert os.path.getsize(os.path.join(
        result["export_dir"], "model.onnx")) < os.path.getsize(os.path.join(
            entry["onnx_result"]["export_dir"], "model.onnx"))
    int8 = predictor_lib.Predictor(result["export_dir"])
    answers = int8.predict(texts)
    int8.close()
    assert _agreement(answers, reference) >= 0.8, (mode, options)
    diffs = [abs(a["probabilities"][k] - b["probabilities"][k])
             for a, b in zip(answers, reference) for k in a["probabilities"]]
    assert 0 < max(diffs) < 0.3, (mode, max(diffs))


@pytest.mark.slow
def test_fusions_are_kept_only_when_the_outputs_agree(made, tmp_path,
                                                      monkeypatch):
  entry = made("bert_single")
  check = entry["onnx"].config["onnx"]["fusion_check"]
  assert check["kept"] and check["largest_difference"] <= 1e-4, check
  fused = entry["onnx"].config["onnx"]["fused_ops"]
  assert fused, entry["onnx"].config["onnx"]
  # A model against itself differs by nothing; a fusion that changed the
  # outputs is dropped, and the unfused model exported.
  model = os.path.join(entry["onnx_result"]["export_dir"], "model.onnx")
  small = types.SimpleNamespace(vocab_size=50, type_vocab_size=2)
  assert onnx_export.largest_difference(model, model, small) == 0.0
  monkeypatch.setattr(onnx_export, "largest_difference",
                      lambda *args: 0.25)
  result = onnx_export.export_onnx(entry["run_dir"], str(tmp_path / "x"))
  assert result["onnx"]["fused_ops"] == {}
  assert result["onnx"]["fusion_check"] == {"largest_difference": 0.25,
                                            "kept": False}
  ops = result["onnx"]["ops"]
  assert not set(fused) & set(ops), ops
  unfused = predictor_lib.Predictor(result["export_dir"])
  _same_answers(unfused.predict(entry["texts"]),
                entry["saved"].predict(entry["texts"]))
  unfused.close()


@pytest.mark.slow
def test_int8_exports_run_the_exact_gelu_in_its_tanh_form(made, tmp_path,
                                                          monkeypatch):
  # DistilBERT's reference model (a Hugging Face folder) has the exact GELU:
  # float32 keeps it (ONNX Runtime's fused Gelu), int8 runs FastGelu if the
  # outputs stay within GELU_TOLERANCE, and keeps Gelu when they would not.
  entry = made("distilbert_single")
  assert entry["onnx"].config["onnx"]["ops"].get("Gelu"), (
      entry["onnx"].config["onnx"])
  assert "tanh_gelu" not in entry["onnx"].config["onnx"]
  result = onnx_export.export_onnx(entry["run_dir"], str(tmp_path / "int8"),
                                   quantize_mode="dynamic")
  gelu, ops = result["onnx"]["tanh_gelu"], result["onnx"]["ops"]
  assert gelu["kept"] and 0 < gelu["largest_difference"] <= (
      onnx_export.GELU_TOLERANCE), gelu
  assert ops.get("FastGelu") == gelu["replaced"] and "Gelu" not in ops
  int8 = predictor_lib.Predictor(result["export_dir"])
  assert _agreement(int8.predict(entry["texts"]),
                    entry["onnx"].predict(entry["texts"])) >= 0.8
  int8.close()
  # Google's BERT (tanh GELU already: FastGelu) has nothing to replace.
  bert = made("bert_single")["onnx_result"]["export_dir"]
  assert onnx_export.tanh_gelu(os.path.join(bert, "model.onnx"),
                               None) == (os.path.join(bert, "model.onnx"),
                                         None)
  monkeypatch.setattr(onnx_export, "GELU_TOLERANCE", 0.0)
  result = onnx_export.export_onnx(entry["run_dir"], str(tmp_path / "int8"),
                                   quantize_mode="dynamic")
  assert result["onnx"]["tanh_gelu"]["kept"] is False
  assert result["onnx"]["ops"].get("Gelu"), result["onnx"]["ops"]


def test_options_that_cannot_work_are_refused(tmp_path):
  for args, fragment in ((("fp16", None, None), "--quantize=fp16"),
                         (("dynamic", "c.txt", False), "--calibration_file"),
                         (("none", None, True), "--per_channel"),
                         (("none", None, False), "--noper_channel"),
                         (("none", None, None, True),
                          "--quantize_embeddings"),
                         (("static", str(tmp_path / "no.txt"), False),
                          "no such file")):
    with pytest.raises(SettingsError, match=fragment):
      onnx_export.check_options(*args)
  onnx_export.check_options("static", None, True)


def test_calibration_rows_from_a_file_and_from_the_run(tmp_path):
  run_dir = onnx_runs.fake_run(str(tmp_path / "run"),
                               *onnx_runs.CASES["bert_pair"])
  checked = export_lib.check_export(run_dir, str(tmp_path / "e"))
  path = str(tmp_path / "c.txt")
  with open(path, "w", encoding="utf-8") as f:
    f.write("房间很大\n\n早餐不错 ||| 服务一般\n")
  rows = onnx_export.calibration_rows(checked, path)
  assert len(rows) == 2
  assert rows[1]["segment_ids"][-1] == 1       # the pair's second text
  with open(path, "w", encoding="utf-8") as f:
    f.write("\n  \n")
  with pytest.raises(InputError, match="no text to calibrate on"):
    onnx_export.calibration_rows(checked, path)
  # The run's own training features (RUN_DIR/features/train-*.tf_record).
  features = os.path.join(run_dir, "features")
  os.makedirs(features)
  with tf.io.TFRecordWriter(os.path.join(features,
                                         "train-x.tf_record")) as writer:
    for n in (3, 5):
      example = tf.train.Example(features=tf.train.Features(feature={
          name: tf.train.Feature(int64_list=tf.train.Int64List(
              value=[101] * n)) for name in ("input_ids", "segment_ids")}))
      writer.write(example.SerializeToString())
  rows = onnx_export.calibration_rows(checked, None)
  assert [len(r["input_mask"]) for r in rows] == [3, 5]


def test_the_saved_model_checks_refuse_the_same_runs(tmp_path):
  with pytest.raises(modeling.ConfigError):
    onnx_export.export_onnx(str(tmp_path / "nowhere"), str(tmp_path / "e"))
  run_dir = onnx_runs.fake_run(str(tmp_path / "two"),
                               *onnx_runs.CASES["bert_single"])
  other = onnx_runs.fake_run(str(tmp_path / "three"),
                             *onnx_runs.CASES["bert_multi_label"])
  with pytest.raises(modeling.CheckpointError, match="shape mismatch"):
    onnx_export.export_onnx(run_dir, str(tmp_path / "e"),
                            checkpoint=os.path.join(other, "model.ckpt-1"))
  # Half-written: a data file cut short.
  data = os.path.join(run_dir, "model.ckpt-1.data-00000-of-00001")
  with open(data, "rb") as f:
    content = f.read()
  with open(data, "wb") as f:
    f.write(content[:len(content) // 2])
  with pytest.raises(modeling.CheckpointError, match="cannot read"):
    onnx_export.export_onnx(run_dir, str(tmp_path / "e"))
  assert not os.path.exists(str(tmp_path / "e" / "1"))


@pytest.mark.slow
def test_a_saved_model_never_imports_onnxruntime(made, tmp_path):
  entry = made("bert_single")
  saved = entry["saved"].export_dir
  code = ("import sys; from bert_toolkit.serving import predictor; "
          "p = predictor.Predictor(%r); p.predict(['好']); "
          "assert 'onnxruntime' not in sys.modules, 'imported'; "
          "assert 'onnx' not in sys.modules and 'tf2onnx' not in "
          "sys.modules; print('ok')" % saved)
  proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=300)
  assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


@pytest.mark.slow
def test_predict_cli_runs_an_onnx_export(made, tmp_path):
  from tests import clirun
  entry = made("ner_crf")
  base = os.path.dirname(entry["onnx"].export_dir)
  inputs = str(tmp_path / "in.txt")
  with open(inputs, "w", encoding="utf-8") as f:
    f.write("\n".join(entry["texts"][:3]) + "\n")
  proc = clirun.run_script("predict.py", "--export_dir=" + base,
                           "--input_file=" + inputs)
  assert proc.returncode == 0, proc.stderr[-2000:]
  lines = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
  expected = entry["saved"].predict(entry["texts"][:3])
  assert [l.get("tags") for l in lines] == [e["tags"] for e in expected]


@pytest.mark.slow
def test_static_int8_of_a_model_without_segment_ids(made, tmp_path):
  """DistilBERT's model reads no segment_ids: calibration feeds only the
  inputs the model has."""
  entry = made("distilbert_single")
  calibration = str(tmp_path / "calibration.txt")
  with open(calibration, "w", encoding="utf-8") as f:
    f.write("\n".join(onnx_runs.texts("distilbert_single", 30)) + "\n")
  result = onnx_export.export_onnx(entry["run_dir"], str(tmp_path / "int8"),
                                   quantize_mode="static",
                                   calibration_file=calibration)
  int8 = predictor_lib.Predictor(result["export_dir"])
  answers = int8.predict(entry["texts"])
  int8.close()
  assert _agreement(answers, entry["onnx"].predict(entry["texts"])) >= 0.7


@pytest.mark.slow
def test_attention_fusion_is_structural_and_shares_albert_weights(
    made, tmp_path, monkeypatch):
  """A layer that differs from Google's attention (here: another score
  scale) is left unfused; ALBERT's layers share one packed kernel."""
  import onnx  # pylint: disable=g-import-not-at-top
  from onnx import numpy_helper  # pylint: disable=g-import-not-at-top
  from bert_toolkit.serving import onnx_attention  # pylint: disable=g-import-not-at-top
  entry = made("bert_single")
  checked = export_lib.check_export(entry["run_dir"], str(tmp_path / "x"),
                                    None, None)
  size_per_head = 64 // 4     # bert_zh_tiny: hidden 64, 4 heads
  model = onnx_export.convert(*onnx_export.frozen_graph(checked))
  scales = {n.input[1] for n in model.graph.node if n.op_type == "Mul"}
  scale = [i for i in model.graph.initializer if i.name in scales and
           numpy_helper.to_array(i).size == 1 and
           abs(float(numpy_helper.to_array(i)) - 0.25) < 1e-7]
  assert scale, "no 1/sqrt(16) score scale found"
  # Every layer reads the one shared scale constant: change it and no
  # layer is Google's attention any more.
  scale[0].CopyFrom(numpy_helper.from_array(np.array(0.3, np.float32),
                                            scale[0].name))
  before = len(model.graph.node)
  assert onnx_attention.fuse_attention(model, size_per_head) == 0
  assert len(model.graph.node) == before
  model = onnx_export.convert(*onnx_export.frozen_graph(checked))
  assert onnx_attention.fuse_attention(model, size_per_head + 1) == 0

  # Dynamic int8 of the fused model answers as that of the unfused one:
  # the query and key kernels rescaled to the value kernel's range keep
  # their int8 levels under QAttention's one scale. Without the rescaling
  # they would not (the check has something to catch).
  config = types.SimpleNamespace(vocab_size=21128, type_vocab_size=2)
  unfused = str(tmp_path / "unfused.onnx")
  onnx.save(onnx_export.convert(*onnx_export.frozen_graph(checked)),
            unfused)
  differences = []
  for rescale in (True, False):
    model = onnx.load(unfused)
    if not rescale:
      monkeypatch.setattr(onnx_attention, "packed_projections",
                          lambda w, b, d: (np.concatenate(w, axis=1),
                                           np.concatenate(b), d ** -0.5))
    assert onnx_attention.fuse_attention(model, size_per_head) == 1
    fused = str(tmp_path / ("fused_%s.onnx" % rescale))
    onnx.save(model, fused)
    for path in (unfused, fused):
      quantization = onnx_export.quantize(path, path + ".int8", "dynamic",
                                          False)
    assert quantization["quantized_ops"]["QAttention"] == 1
    differences.append(onnx_export.largest_difference(
        unfused + ".int8", fused + ".int8", config))
  assert differences[0] <= 1e-4 < differences[1], differences

  albert = made("albert_single")
  fused = onnx.load(os.path.join(albert["onnx_result"]["export_dir"],
                                 "model.onnx"))
  kernels = [i.name for i in fused.graph.initializer
             if i.name.endswith("qkv_kernel")]
  assert len(kernels) == 1, kernels
  assert sum(n.op_type == "Attention" for n in fused.graph.node) == 2


def test_int8_tables_scale_each_row():
  # A table whose rows differ in size 1000-fold: with one scale a row, each
  # row comes back within half its own step, the small row included (one
  # scale for the table would round it to zeros).
  import onnx  # pylint: disable=g-import-not-at-top
  import onnxruntime as ort  # pylint: disable=g-import-not-at-top
  from onnx import helper, numpy_helper  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(0)
  table = rng.randn(4, 8).astype(np.float32) * np.array(
      [[1.0], [0.001], [5.0], [0.3]], np.float32)
  graph = helper.make_graph(
      [helper.make_node("Gather", ["table", "ids"], ["rows"])], "g",
      [helper.make_tensor_value_info("ids", onnx.TensorProto.INT64, [None])],
      [helper.make_tensor_value_info("rows", onnx.TensorProto.FLOAT,
                                     [None, 8])],
      [numpy_helper.from_array(table, "table")])
  model = helper.make_model(graph, ir_version=8,
                            opset_imports=[helper.make_opsetid("", 13)])
  onnx_export.int8_tables(model)
  onnx.checker.check_model(model)
  int8 = {i.name: i.data_type for i in model.graph.initializer}
  assert int8 == {"table_int8": onnx.TensorProto.INT8,
                  "table_row_scale": onnx.TensorProto.FLOAT}, int8
  session = ort.InferenceSession(model.SerializeToString(),
                                 providers=["CPUExecutionProvider"])
  ids = np.array([1, 0, 3, 2, 1], np.int64)
  rows = session.run(None, {"ids": ids})[0]
  step = np.abs(table).max(axis=1) / 127.0
  assert np.all(np.abs(rows - table[ids]) <= step[ids, None] / 2 + 1e-7)
  assert np.abs(rows[0]).max() > 0   # the 0.001 row survives

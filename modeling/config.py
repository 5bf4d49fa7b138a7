"""Model configuration: `BertConfig`, the plain contents of `bert_config.json`.

One class serves BERT, ALBERT and DistilBERT. As in google-research/bert, every
key of the JSON file becomes an attribute, so the ALBERT keys
(`embedding_size`, `num_hidden_groups`, `inner_group_num`), brightmart's
`ln_type`, and our own `model_type` / `layer_norm_eps` simply ride along.
A Hugging Face DistilBERT `config.json` (`dim`, `n_layers`, ...) is read too.

`AlbertConfig` is the same class under google-research/albert's name, with
its constructor's argument order and defaults.
"""

import copy
import json
import os
import types

import six

from modeling import layers


class ConfigError(ValueError):
  """A configuration file that is missing, unreadable or inconsistent."""


# Hugging Face DistilBERT key -> our (Google BERT) key.
_DISTILBERT_KEYS = types.MappingProxyType({
    "dim": "hidden_size",
    "n_layers": "num_hidden_layers",
    "n_heads": "num_attention_heads",
    "hidden_dim": "intermediate_size",
    "activation": "hidden_act",
    "dropout": "hidden_dropout_prob",
    "attention_dropout": "attention_probs_dropout_prob",
})


class BertConfig(object):
  """Configuration for `BertModel`, `AlbertModel` and `DistilBertModel`."""

  def __init__(self,
               vocab_size,
               hidden_size=768,
               num_hidden_layers=12,
               num_attention_heads=12,
               intermediate_size=3072,
               hidden_act="gelu",
               hidden_dropout_prob=0.1,
               attention_probs_dropout_prob=0.1,
               max_position_embeddings=512,
               type_vocab_size=16,
               initializer_range=0.02,
               layer_norm_eps=1e-12,
               embedding_size=None,
               num_hidden_groups=1,
               inner_group_num=1,
               model_type=None):
    """Constructs BertConfig.

    Args:
      vocab_size: size of the WordPiece vocabulary (rows of `word_embeddings`).
      hidden_size: width H of the encoder layers and the pooler.
      num_hidden_layers: number of Transformer layers.
      num_attention_heads: attention heads per layer; must divide hidden_size.
      intermediate_size: width of the feed-forward ("intermediate") layer.
      hidden_act: activation of the feed-forward layer; see
        `modeling.layers.get_activation` ("gelu" is Google's tanh form).
      hidden_dropout_prob: dropout on embeddings, layer outputs and pooler.
      attention_probs_dropout_prob: dropout on attention probabilities.
      max_position_embeddings: rows of `position_embeddings`.
      type_vocab_size: rows of `token_type_embeddings` (0: none, DistilBERT).
      initializer_range: stddev of the truncated-normal initialiser.
      layer_norm_eps: epsilon of every layer norm (1e-12 in all three families).
      embedding_size: ALBERT's factorised embedding width E (None: = H).
      num_hidden_groups: ALBERT's number of parameter groups.
      inner_group_num: ALBERT's layers per group.
      model_type: "bert", "albert" or "distilbert" when the file says so.
    """
    self.vocab_size = vocab_size
    self.hidden_size = hidden_size
    self.num_hidden_layers = num_hidden_layers
    self.num_attention_heads = num_attention_heads
    self.hidden_act = hidden_act
    self.intermediate_size = intermediate_size
    self.hidden_dropout_prob = hidden_dropout_prob
    self.attention_probs_dropout_prob = attention_probs_dropout_prob
    self.max_position_embeddings = max_position_embeddings
    self.type_vocab_size = type_vocab_size
    self.initializer_range = initializer_range
    self.layer_norm_eps = layer_norm_eps
    self.embedding_size = embedding_size
    self.num_hidden_groups = num_hidden_groups
    self.inner_group_num = inner_group_num
    self.model_type = model_type

  @classmethod
  def from_dict(cls, json_object):
    """Constructs a config of this class from a dictionary of parameters:
    every key becomes an attribute."""
    json_object = dict(json_object)
    if "dim" in json_object and "n_layers" in json_object:
      json_object = _from_hf_distilbert(json_object)
    if "vocab_size" not in json_object:
      raise ConfigError("config has no 'vocab_size': is it a BERT/ALBERT config?")
    config = cls(vocab_size=None)
    for (key, value) in six.iteritems(json_object):
      config.__dict__[key] = value
    if config.hidden_size % config.num_attention_heads != 0:
      raise ConfigError(
          "hidden_size (%d) is not a multiple of num_attention_heads (%d)" %
          (config.hidden_size, config.num_attention_heads))
    try:
      layers.get_activation(config.hidden_act)
    except ValueError as e:
      raise ConfigError("hidden_act: %s" % e)
    _check_layer_sizes(config)
    return config

  @classmethod
  def from_json_file(cls, json_file):
    """Constructs a config of this class from a json file of parameters.

    Raises:
      ConfigError: the file is missing or is not valid JSON; the message names
        the file and what to pass instead.
    """
    if not os.path.isfile(json_file):
      raise ConfigError(
          "config file not found: %s. Pass --bert_config_file pointing at the "
          "bert_config.json / albert_config.json of the checkpoint." % json_file)
    with open(json_file, "r", encoding="utf-8") as reader:
      text = reader.read()
    try:
      json_object = json.loads(text)
    except ValueError as e:
      raise ConfigError("config file %s is not valid JSON: %s" % (json_file, e))
    try:
      return cls.from_dict(json_object)
    except ConfigError as e:
      raise ConfigError("%s: %s" % (json_file, e))

  def to_dict(self):
    """Serializes this instance to a Python dictionary."""
    return copy.deepcopy(self.__dict__)

  def to_json_string(self):
    """Serializes this instance to a JSON string."""
    return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


class AlbertConfig(BertConfig):
  """google-research/albert's `AlbertConfig`: its constructor (argument
  order and defaults), `from_dict`, `from_json_file`, `to_dict`,
  `to_json_string`, for `AlbertModel`.

  `net_structure_type` (0) and `down_scale_factor` (1) are kept as the
  released albert_config.json files carry them; `AlbertModel` builds only
  those values, the ones every released ALBERT has.
  """

  def __init__(self,
               vocab_size,
               embedding_size=128,
               hidden_size=4096,
               num_hidden_layers=12,
               num_hidden_groups=1,
               num_attention_heads=64,
               intermediate_size=16384,
               inner_group_num=1,
               down_scale_factor=1,
               hidden_act="gelu",
               hidden_dropout_prob=0,
               attention_probs_dropout_prob=0,
               max_position_embeddings=512,
               type_vocab_size=16,
               initializer_range=0.02,
               net_structure_type=0,
               layer_norm_eps=1e-12):
    """Constructs AlbertConfig.

    Args:
      vocab_size: rows of `word_embeddings`.
      embedding_size: width E of the factorised embeddings.
      hidden_size: width H of the encoder layers and the pooler.
      num_hidden_layers: number of layer applications.
      num_hidden_groups: number of groups of shared parameters.
      num_attention_heads: attention heads per layer.
      intermediate_size: width of the feed-forward layer.
      inner_group_num: layers per group.
      down_scale_factor: 1 (kept for google-research/albert's configs).
      hidden_act: activation of the feed-forward layer ("gelu" is the tanh
        form, as google-research/albert's).
      hidden_dropout_prob: dropout on embeddings, layer outputs and pooler.
      attention_probs_dropout_prob: dropout on attention probabilities.
      max_position_embeddings: rows of `position_embeddings`.
      type_vocab_size: rows of `token_type_embeddings`.
      initializer_range: stddev of the truncated-normal initialiser.
      net_structure_type: 0, the post-LN structure (kept for the configs).
      layer_norm_eps: epsilon of every layer norm.
    """
    super(AlbertConfig, self).__init__(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        hidden_act=hidden_act,
        hidden_dropout_prob=hidden_dropout_prob,
        attention_probs_dropout_prob=attention_probs_dropout_prob,
        max_position_embeddings=max_position_embeddings,
        type_vocab_size=type_vocab_size,
        initializer_range=initializer_range,
        layer_norm_eps=layer_norm_eps,
        embedding_size=embedding_size,
        num_hidden_groups=num_hidden_groups,
        inner_group_num=inner_group_num)
    self.down_scale_factor = down_scale_factor
    self.net_structure_type = net_structure_type


def _check_layer_sizes(config):
  """The optional per-layer sizes of a pruned model (see
  `layers.layer_sizes`): one int >= 0 per layer, at most the uniform size.

  Raises:
    ConfigError: a list of another length, or a value that is not such
      an int.
  """
  for key, most in ((layers.LAYER_HEADS_KEY, config.num_attention_heads),
                    (layers.LAYER_INTERMEDIATE_KEY,
                     config.intermediate_size)):
    sizes = getattr(config, key, None)
    if sizes is None:
      continue
    if not isinstance(sizes, list) or len(sizes) != (
        config.num_hidden_layers) or not all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= most
            for n in sizes):
      raise ConfigError(
          "%s must list one whole number from 0 to %d per layer (%d "
          "layers), not %r" % (key, most, config.num_hidden_layers, sizes))


def _from_hf_distilbert(hf):
  """Maps a Hugging Face DistilBERT config.json dict to our BERT keys."""
  out = {"model_type": "distilbert", "type_vocab_size": 0}
  for key, value in hf.items():
    out[_DISTILBERT_KEYS.get(key, key)] = value
  if out.get("hidden_act") == "gelu":  # HF's "gelu" is the exact erf form.
    out["hidden_act"] = "gelu_exact"
  return out

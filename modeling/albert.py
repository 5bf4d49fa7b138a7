"""`AlbertModel`: ALBERT in two checkpoint layouts.

"google" -- google-research/albert (and HF ALBERT after convert_checkpoint.py):
  bert/embeddings/{word_embeddings [V,E], token_type_embeddings [T,E],
                   position_embeddings [P,E], LayerNorm [E]}
  bert/encoder/embedding_hidden_mapping_in/{kernel [E,H], bias}   (if E != H)
  bert/encoder/transformer/group_G/inner_group_I/
      attention_1/self/{query,key,value}, attention_1/output/dense,
      LayerNorm, ffn_1/intermediate/dense, ffn_1/intermediate/output/dense,
      LayerNorm_1
  bert/pooler/dense
"brightmart" -- brightmart/albert_zh (albert_tiny_zh, albert_base_zh, ...):
  bert/embeddings/word_embeddings [V,E], word_embeddings_2 [E,H] (no bias),
  token_type_embeddings [T,H], position_embeddings [P,H], LayerNorm [H]
  bert/encoder/layer_shared/<BERT layer names>, one layer shared by all
  bert/pooler/dense
Both compute the same post-LN layer as BERT; they differ in where the E->H
projection sits and in names. `detect_albert_layout` picks one.

Code written against google-research/albert's modeling.py runs unchanged:
`AlbertModel(config, is_training, input_ids, input_mask, token_type_ids,
use_one_hot_embeddings, use_einsum, scope)` with `modeling.AlbertConfig`,
its getters (`get_word_embedding_output` among them), and
`modeling.einsum_via_matmul`.
"""

import tensorflow.compat.v1 as tf

from modeling import base
from modeling import checkpoint as checkpoint_lib
from modeling import config as config_lib
from modeling import layers

GOOGLE = "google"
BRIGHTMART = "brightmart"


def detect_albert_layout(config, checkpoint_variables=None):
  """Returns "google" or "brightmart" for an ALBERT config (and checkpoint).

  Args:
    config: `BertConfig`; an explicit `albert_layout` key wins. brightmart's
      configs carry `ln_type` and no `num_hidden_groups`.
    checkpoint_variables: optional iterable of variable names in the
      checkpoint; `word_embeddings_2` or `layer_shared` means brightmart.
  """
  layout = getattr(config, "albert_layout", None)
  if layout:
    if layout not in (GOOGLE, BRIGHTMART):
      raise ValueError("albert_layout must be 'google' or 'brightmart', got %r"
                       % layout)
    return layout
  if checkpoint_variables is not None:
    names = list(checkpoint_variables)
    if any("word_embeddings_2" in n or "/layer_shared/" in n for n in names):
      return BRIGHTMART
    if any("/transformer/group_" in n for n in names):
      return GOOGLE
  if "ln_type" in config.__dict__ and "num_hidden_groups" not in config.__dict__:
    return BRIGHTMART
  return GOOGLE


class AlbertModel(base.EncoderModel):
  """ALBERT: factorised embeddings and cross-layer parameter sharing.

  `get_embedding_output()` is [batch, seq, E] for the google layout (before
  the E->H projection, as in google-research/albert) and [batch, seq, H] for
  brightmart's (whose projection comes before the position embeddings).

  Example (google-research/albert's):

  ```python
  config = modeling.AlbertConfig.from_json_file("albert_config.json")
  model = modeling.AlbertModel(config=config, is_training=False,
      input_ids=input_ids, input_mask=input_mask,
      token_type_ids=token_type_ids)
  pooled = model.get_pooled_output()   # [batch, hidden]
  ```
  """

  model_type = "albert"
  default_scope = "bert"
  config_file = "albert_config.json"

  @classmethod
  def recognizes_checkpoint(cls, names):
    """Google's groups, or brightmart's shared layer and E->H projection."""
    return any("/transformer/group_" in n or "/layer_shared/" in n or
               "word_embeddings_2" in n for n in names)

  @classmethod
  def recognizes_config(cls, config, config_file):
    """An `embedding_size` (factorised embeddings) or brightmart's
    `ln_type`."""
    del config_file
    return bool(getattr(config, "embedding_size", None) or
                "ln_type" in config.__dict__)

  @classmethod
  def configure_for_checkpoint(cls, config, init_checkpoint):
    """Sets `config.albert_layout` from the checkpoint's names, unless the
    config has one."""
    if init_checkpoint and not getattr(config, "albert_layout", None):
      names = checkpoint_lib.list_checkpoint_variables(init_checkpoint).keys()
      config.albert_layout = detect_albert_layout(config, names)
    return config

  def __init__(self, config, is_training, input_ids, input_mask=None,
               token_type_ids=None, use_one_hot_embeddings=False,
               use_einsum=True, scope=None, layout=None, packing=None,
               first_token_only=False):
    """Builds the graph.

    The arguments up to `scope` are google-research/albert's, in its order.

    Args:
      config: `AlbertConfig` (or `BertConfig`) read from albert_config.json.
      is_training: True for dropout.
      input_ids: int32 Tensor [batch_size, seq_length] (dims may be None).
      input_mask: optional int Tensor [batch_size, seq_length].
      token_type_ids: optional int Tensor [batch_size, seq_length].
      use_one_hot_embeddings: one-hot matmul embeddings.
      use_einsum: accepted for google-research/albert's signature; the
        values do not depend on it (every projection here is one matmul,
        as its `einsum_via_matmul`).
      scope: variable scope; `default_scope` ("bert") by default, as
        Google's ALBERT.
      layout: "google" or "brightmart"; None asks `detect_albert_layout`.
      packing: optional `base.Packing` (packed rows in, per-example out).
      first_token_only: the last layer at each example's first token
        alone, as `BertModel`'s.
    """
    del use_einsum  # the same values either way (see above)
    layers.check_hidden_size(config)
    config = base.inference_config(config, is_training)
    self.config = config
    layout = layout or detect_albert_layout(config)
    _check_ln_type(config)
    _check_structure(config)
    if layers.has_layer_sizes(config):
      raise config_lib.ConfigError(
          "ALBERT shares its layers' weights, so it cannot have per-layer "
          "sizes (%s, %s) nor be pruned per layer" % (
              layers.LAYER_HEADS_KEY, layers.LAYER_INTERMEDIATE_KEY))
    (input_ids, input_mask, token_type_ids, batch_size,
     seq_length) = base.default_inputs(input_ids, input_mask, token_type_ids)
    embedding_size = config.embedding_size or config.hidden_size

    with tf.variable_scope(scope,
                           default_name=self.default_scope) as model_scope:
      self.name_scope = model_scope.original_name_scope
      position_ids = packing and packing.position_ids
      with tf.variable_scope("embeddings"):
        if layout == GOOGLE:
          words, self.embedding_table = layers.embedding_lookup(
              input_ids, config.vocab_size, embedding_size,
              config.initializer_range,
              use_one_hot_embeddings=use_one_hot_embeddings)
        else:
          words, self.embedding_table = _brightmart_word_embeddings(
              config, input_ids, use_one_hot_embeddings, embedding_size)
        embedded = layers.embedding_postprocessor(
            words, token_type_ids, config, position_ids)
      self.word_embedding_output = base.unpack(words, packing)
      self.embedding_output = base.unpack(embedded, packing)
      with tf.variable_scope("encoder"):
        if layout == GOOGLE:
          self.all_encoder_layers = _google_encoder(
              config, embedded, input_mask, batch_size, seq_length, packing,
              self.attention(), first_token_only)
        else:
          self.all_encoder_layers = _brightmart_encoder(
              config, embedded, input_mask, batch_size, seq_length, packing,
              self.attention(), first_token_only)
      self.sequence_output = self.all_encoder_layers[-1]
      self.pooled_output = base.pooler(
          self.sequence_output, config.hidden_size, config.initializer_range)
    self.layout = layout

  def get_word_embedding_output(self):
    """[batch_size, seq_length, width]: the word embeddings alone, before
    segments, positions and the layer norm (E wide for the google layout;
    H wide for brightmart's, after its `word_embeddings_2`)."""
    return self.word_embedding_output


def _check_structure(config):
  """google-research/albert's configs carry `net_structure_type` and
  `down_scale_factor`; only 0 and 1 (every released ALBERT) are built."""
  for key, built in (("net_structure_type", 0), ("down_scale_factor", 1)):
    value = getattr(config, key, built)
    if value not in (None, built):
      raise ValueError(
          "%s=%r is not supported; only %s=%r (every released ALBERT) is."
          % (key, value, key, built))


def _check_ln_type(config):
  """brightmart's pre-LN variant is not implemented: say so, don't drift."""
  ln_type = getattr(config, "ln_type", None)
  if ln_type not in (None, "postln"):
    raise ValueError(
        "ln_type=%r is not supported; only post-LN ALBERT ('postln', the "
        "layout of every released albert_zh model) is." % ln_type)


def _google_encoder(config, embedding_output, input_mask, batch_size,
                    seq_length, packing=None,
                    attention=layers.DOT_PRODUCT_ATTENTION,
                    first_token_only=False):
  """E->H projection, then groups of shared layers (google-research/albert).

  `attention` is the family's `layers.Attention`; `first_token_only` as
  in `base.stack_layers`.

  Returns:
    List of num_hidden_layers * inner_group_num Tensors [batch, seq, H].
  """
  hidden = embedding_output
  if hidden.shape[-1] != config.hidden_size:
    hidden = layers.dense(hidden, config.hidden_size,
                          layers.create_initializer(config.initializer_range),
                          name="embedding_hidden_mapping_in")
  num_layers = config.num_hidden_layers
  groups = getattr(config, "num_hidden_groups", 1) or 1
  inner = getattr(config, "inner_group_num", 1) or 1

  def layer_fn(step, layer_input, attention_bias, queries=None):
    layer_idx, inner_idx = divmod(step, inner)
    group_idx = int(layer_idx / num_layers * groups)
    with tf.variable_scope("transformer", reuse=tf.AUTO_REUSE):
      with tf.variable_scope("group_%d/inner_group_%d" % (group_idx,
                                                          inner_idx)):
        return layers.transformer_layer(
            layer_input, attention_bias, batch_size, seq_length, config,
            layers.ALBERT_LAYER_NAMES, attention, queries=queries)

  return base.stack_layers(layer_fn, hidden, input_mask, num_layers * inner,
                           batch_size, seq_length, packing, first_token_only)


def _brightmart_word_embeddings(config, input_ids, use_one_hot_embeddings,
                                embedding_size):
  """brightmart: [V,E] lookup, x [E,H] `word_embeddings_2` (then the
  segments, positions and layer norm at H, as BERT).

  Returns:
    (word embeddings [batch, seq, H], embedding_table [V, E]).
  """
  output, table = layers.embedding_lookup(
      input_ids, config.vocab_size, embedding_size, config.initializer_range,
      use_one_hot_embeddings=use_one_hot_embeddings)
  output = layers.dense(output, config.hidden_size,
                        layers.create_initializer(config.initializer_range),
                        use_bias=False, name="word_embeddings_2",
                        kernel_name=None)
  return output, table


def _brightmart_encoder(config, embedding_output, input_mask, batch_size,
                        seq_length, packing=None,
                        attention=layers.DOT_PRODUCT_ATTENTION,
                        first_token_only=False):
  """One BERT-named layer, `layer_shared`, applied num_hidden_layers times;
  `attention` is the family's `layers.Attention`, `first_token_only` as in
  `base.stack_layers`."""

  def layer_fn(unused_idx, layer_input, attention_bias, queries=None):
    with tf.variable_scope("layer_shared", reuse=tf.AUTO_REUSE):
      return layers.transformer_layer(
          layer_input, attention_bias, batch_size, seq_length, config,
          layers.BERT_LAYER_NAMES, attention, queries=queries)

  return base.stack_layers(layer_fn, embedding_output, input_mask,
                           config.num_hidden_layers, batch_size, seq_length,
                           packing, first_token_only)

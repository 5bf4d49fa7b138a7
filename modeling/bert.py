"""`BertModel`: google-research/bert's encoder, variable for variable.

Variables (scope `bert` by default):
  bert/embeddings/{word_embeddings, token_type_embeddings,
                   position_embeddings, LayerNorm/{gamma,beta}}
  bert/encoder/layer_N/attention/self/{query,key,value}/{kernel,bias}
  bert/encoder/layer_N/attention/output/{dense,LayerNorm}/...
  bert/encoder/layer_N/{intermediate,output}/dense/{kernel,bias}
  bert/encoder/layer_N/output/LayerNorm/{gamma,beta}
  bert/pooler/dense/{kernel,bias}
"""

import tensorflow.compat.v1 as tf

from modeling import base
from modeling import layers


def bert_embeddings(config, input_ids, token_type_ids, use_one_hot_embeddings,
                    embedding_size=None, position_ids=None):
  """Word + segment + position embeddings, layer norm and dropout.

  Opens no scope of its own: call it inside `<model>/embeddings`.

  Args:
    config: `BertConfig`.
    input_ids, token_type_ids: int Tensors [batch_size, seq_length].
    use_one_hot_embeddings: one-hot matmul instead of gather.
    embedding_size: table width (ALBERT's E); defaults to hidden_size.
    position_ids: optional int Tensor [batch_size, seq_length] (packed rows).

  Returns:
    (embedding_output [batch, seq, width], embedding_table [vocab, width]).
  """
  width = embedding_size or config.hidden_size
  output, table = layers.embedding_lookup(
      input_ids, config.vocab_size, width, config.initializer_range,
      use_one_hot_embeddings=use_one_hot_embeddings)
  output = layers.embedding_postprocessor(output, token_type_ids, config,
                                          position_ids)
  return output, table


def bert_encoder(config, embedding_output, input_mask, batch_size,
                 seq_length, packing=None,
                 attention=layers.DOT_PRODUCT_ATTENTION,
                 first_token_only=False):
  """`encoder/layer_N`: num_hidden_layers Transformer layers, each its own.

  Opens the `encoder` scope: call it inside the model's scope.

  Args:
    config: `BertConfig`.
    embedding_output: float Tensor [batch_size, seq_length, hidden_size].
    input_mask: int Tensor [batch_size, seq_length].
    batch_size, seq_length: ints or scalar tensors.
    packing: optional `base.Packing` (outputs unpacked per example).
    attention: the family's `layers.Attention` (EncoderModel.attention()).
    first_token_only: the last layer at the first tokens alone
      (`base.stack_layers`).

  Returns:
    List of num_hidden_layers float Tensors [batch_size, seq_length, hidden]
    (the last [batch_size, 1, hidden] with `first_token_only`).
  """

  def layer_fn(layer_idx, layer_input, attention_bias, queries=None):
    with tf.variable_scope("layer_%d" % layer_idx):
      return layers.transformer_layer(
          layer_input, attention_bias, batch_size, seq_length, config,
          layers.BERT_LAYER_NAMES, attention, layer_idx, queries)

  with tf.variable_scope("encoder"):
    return base.stack_layers(layer_fn, embedding_output, input_mask,
                             config.num_hidden_layers, batch_size, seq_length,
                             packing, first_token_only)


class BertModel(base.EncoderModel):
  """BERT ("Bidirectional Encoder Representations from Transformers").

  Example (Google's):

  ```python
  input_ids = tf.placeholder(tf.int32, [None, None])
  input_mask = tf.placeholder(tf.int32, [None, None])
  token_type_ids = tf.placeholder(tf.int32, [None, None])
  config = modeling.BertConfig.from_json_file("bert_config.json")
  model = modeling.BertModel(config=config, is_training=False,
      input_ids=input_ids, input_mask=input_mask,
      token_type_ids=token_type_ids)
  pooled = model.get_pooled_output()   # [batch, hidden]
  ```
  """

  model_type = "bert"
  default_scope = "bert"
  config_file = "bert_config.json"

  @classmethod
  def recognizes_checkpoint(cls, names):
    """`<scope>/encoder/layer_N/...` (asked after the families whose names
    contain it too: ELECTRA, DistilBERT, brightmart's ALBERT)."""
    return any("/encoder/layer_" in n for n in names)

  def __init__(self, config, is_training, input_ids, input_mask=None,
               token_type_ids=None, use_one_hot_embeddings=False, scope=None,
               packing=None, first_token_only=False):
    """Builds the graph.

    Args:
      config: `BertConfig`.
      is_training: True for dropout; False for evaluation and features.
      input_ids: int32 Tensor [batch_size, seq_length] (dims may be None).
      input_mask: optional int Tensor [batch_size, seq_length], 1 = real token.
      token_type_ids: optional int Tensor [batch_size, seq_length].
      use_one_hot_embeddings: one-hot matmul embeddings (TPU style).
      scope: variable scope; `default_scope` ("bert") by default.
      packing: optional `base.Packing`: the inputs are packed rows (see
        there); the outputs are per example.
      first_token_only: compute the last layer at each example's first
        token alone, all the pooled output needs: the sequence output (the
        last of all_encoder_layers) is then [batch_size, 1, hidden_size].
    """
    layers.check_hidden_size(config)
    config = base.inference_config(config, is_training)
    self.config = config
    (input_ids, input_mask, token_type_ids, batch_size,
     seq_length) = base.default_inputs(input_ids, input_mask, token_type_ids)

    with tf.variable_scope(scope,
                           default_name=self.default_scope) as model_scope:
      self.name_scope = model_scope.original_name_scope
      with tf.variable_scope("embeddings"):
        embedded, self.embedding_table = bert_embeddings(
            config, input_ids, token_type_ids, use_one_hot_embeddings,
            position_ids=packing and packing.position_ids)
      self.embedding_output = base.unpack(embedded, packing)

      self.all_encoder_layers = bert_encoder(
          config, embedded, input_mask, batch_size, seq_length, packing,
          self.attention(), first_token_only)
      self.sequence_output = self.all_encoder_layers[-1]
      self.pooled_output = base.pooler(
          self.sequence_output, config.hidden_size, config.initializer_range)

"""`DistilBertModel`: Hugging Face DistilBERT as a TF1 graph.

DistilBERT is a post-LN BERT encoder without segment embeddings and without
a pooler. Our TF1 variable names are Google's BERT names under the scope
`distilbert` (so every BERT tool reads them):

  distilbert/embeddings/{word_embeddings, position_embeddings,
                         LayerNorm/{gamma,beta}}
  distilbert/encoder/layer_N/attention/self/{query,key,value}   <- q/k/v_lin
  distilbert/encoder/layer_N/attention/output/dense             <- out_lin
  distilbert/encoder/layer_N/attention/output/LayerNorm         <- sa_layer_norm
  distilbert/encoder/layer_N/intermediate/dense                 <- ffn.lin1
  distilbert/encoder/layer_N/output/dense                       <- ffn.lin2
  distilbert/encoder/layer_N/output/LayerNorm                   <- output_layer_norm

`convert_checkpoint.py` writes exactly these names from a HF folder.
"""

import copy

import tensorflow.compat.v1 as tf

from modeling import base
from modeling import bert
from modeling import layers


class DistilBertModel(base.EncoderModel):
  """DistilBERT. `token_type_ids` is accepted and ignored (no segments).

  There is no pooler: `get_pooled_output()` returns the hidden state of the
  first token ([CLS]) of the last layer, the vector Hugging Face's
  DistilBertForSequenceClassification starts from.
  """

  model_type = "distilbert"
  default_scope = "distilbert"
  config_file = "distilbert_config.json"

  @classmethod
  def recognizes_checkpoint(cls, names):
    """Everything under `distilbert/` (convert_checkpoint.py's output)."""
    return any(n.startswith("distilbert/") for n in names)

  def __init__(self, config, is_training, input_ids, input_mask=None,
               token_type_ids=None, use_one_hot_embeddings=False, scope=None,
               packing=None, first_token_only=False):
    """Builds the graph; arguments as `BertModel` (scope "distilbert")."""
    layers.check_hidden_size(config)
    config = base.inference_config(config, is_training)
    config = copy.copy(config)
    config.type_vocab_size = 0
    self.config = config
    del token_type_ids  # DistilBERT has no segment embeddings.
    (input_ids, input_mask, _, batch_size,
     seq_length) = base.default_inputs(input_ids, input_mask, None)

    with tf.variable_scope(scope,
                           default_name=self.default_scope) as model_scope:
      self.name_scope = model_scope.original_name_scope
      with tf.variable_scope("embeddings"):
        embedded, self.embedding_table = bert.bert_embeddings(
            config, input_ids, None, use_one_hot_embeddings,
            position_ids=packing and packing.position_ids)
      self.embedding_output = base.unpack(embedded, packing)

      self.all_encoder_layers = bert.bert_encoder(
          config, embedded, input_mask, batch_size, seq_length, packing,
          self.attention(), first_token_only)
      self.sequence_output = self.all_encoder_layers[-1]
      self.pooled_output = self.sequence_output[:, 0, :]

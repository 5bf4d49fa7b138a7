"""`ElectraModel`: google-research/electra's discriminator, variable for
variable (the part fine-tuning uses).

Variables (scope `electra` by default), as the official checkpoints and
HFL's Chinese ELECTRA releases name them:
  electra/embeddings/{word_embeddings [V,E], token_type_embeddings [T,E],
                      position_embeddings [P,E], LayerNorm/{gamma,beta} [E]}
  electra/embeddings_project/{kernel [E,H], bias [H]}     (only if E != H)
  electra/encoder/layer_N/...  BERT's layer names (see modeling/bert.py)
There is no pooler. `hidden_act: "gelu"` means the exact erf GELU here, as
in google-research/electra's own modeling.py (BERT's "gelu" is the tanh
approximation). A pre-training checkpoint also holds what fine-tuning
does not use: `generator/*` (the generator shares `electra/embeddings`),
`generator_predictions/*`, `discriminator_predictions/*`, optimizer slots
and `global_step`; the restore report lists them as not used.

Hugging Face names (convert_checkpoint.py --model_type=electra):
  electra.embeddings.word_embeddings.weight  -> electra/embeddings/word_embeddings
  electra.embeddings.LayerNorm.{weight,bias} -> electra/embeddings/LayerNorm/{gamma,beta}
  electra.embeddings_project.{weight,bias}   -> electra/embeddings_project/{kernel (transposed),bias}
  electra.encoder.layer.N.*                  -> electra/encoder/layer_N/* (BERT's map)
  discriminator_predictions.*                -> not converted (pre-training head)
"""

import os

import tensorflow.compat.v1 as tf

from modeling import base
from modeling import bert
from modeling import config as config_lib
from modeling import layers
from tokenization import vocab as vocab_lib

# google-research/electra's model sizes (configure_pretraining.py and the
# ELECTRA paper, Table 6): embedding_size, hidden_size, layers, heads.
PUBLISHED_SIZES = (("small", 128, 256, 12, 4), ("base", 768, 768, 12, 12),
                   ("large", 1024, 1024, 24, 16))


def published_config(size, vocab_file):
  """The BertConfig of a Google ELECTRA release, which ships no config file.

  Args:
    size: "small", "base" or "large".
    vocab_file: the release's vocab.txt (vocab_size is its line count).

  Returns:
    A BertConfig with embedding_size, hidden_size, num_hidden_layers,
    num_attention_heads, intermediate_size = 4 * hidden_size, GELU (tanh),
    dropout 0.1, 512 positions, 2 token types, model_type "electra".
  """
  for name, embedding, hidden, num_layers, heads in PUBLISHED_SIZES:
    if name == size:
      break
  else:
    raise config_lib.ConfigError(
        "--electra_size=%s: use one of %s" %
        (size, ", ".join(row[0] for row in PUBLISHED_SIZES)))
  vocab_size = vocab_lib.vocab_size_of(vocab_lib.load_vocab(vocab_file))
  return config_lib.BertConfig.from_dict({
      "vocab_size": vocab_size, "embedding_size": embedding,
      "hidden_size": hidden, "num_hidden_layers": num_layers,
      "num_attention_heads": heads, "intermediate_size": 4 * hidden,
      "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
      "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512,
      "type_vocab_size": 2, "initializer_range": 0.02,
      "model_type": "electra"})


def electra_activation(config):
  """google-research/electra's `gelu` is the exact erf form (its
  modeling.py), not google-research/bert's tanh approximation: a config
  that says "gelu" (every Google and HFL release) gets "gelu_exact".
  `config` is a copy (base.inference_config makes one)."""
  if config.hidden_act == "gelu":
    config.hidden_act = "gelu_exact"
  return config


class ElectraModel(base.EncoderModel):
  """ELECTRA's discriminator encoder, with BertModel's constructor and
  getters.

  `get_pooled_output()` is the last layer's [CLS] vector (no pooler dense),
  as google-research/electra's fine-tuning code takes it.
  `get_embedding_output()` is after `embeddings_project` ([batch, seq, H]);
  `get_embedding_table()` is the word table [vocab, E].
  """

  model_type = "electra"
  default_scope = "electra"
  config_file = "electra_config.json"

  @classmethod
  def recognizes_checkpoint(cls, names):
    """The discriminator's `electra/encoder/...`."""
    return any(n.startswith("electra/encoder/") for n in names)

  @classmethod
  def recognizes_config(cls, config, config_file):
    """HFL's releases name the config `<size>_discriminator_config.json`;
    ours is `electra_config.json`."""
    del config
    return bool(config_file) and os.path.basename(config_file).endswith(
        ("discriminator_config.json", "electra_config.json"))

  def __init__(self, config, is_training, input_ids, input_mask=None,
               token_type_ids=None, use_one_hot_embeddings=False, scope=None,
               packing=None, first_token_only=False):
    """Builds the graph; arguments as `BertModel` (scope "electra").

    `config.embedding_size` (E) is the embedding width; without it E is
    hidden_size and there is no projection.
    """
    layers.check_hidden_size(config)
    config = electra_activation(base.inference_config(config, is_training))
    self.config = config
    (input_ids, input_mask, token_type_ids, batch_size,
     seq_length) = base.default_inputs(input_ids, input_mask, token_type_ids)
    embedding_size = getattr(config, "embedding_size", None) or (
        config.hidden_size)

    with tf.variable_scope(scope,
                           default_name=self.default_scope) as model_scope:
      self.name_scope = model_scope.original_name_scope
      with tf.variable_scope("embeddings"):
        embedded, self.embedding_table = bert.bert_embeddings(  # [b, s, E]
            config, input_ids, token_type_ids, use_one_hot_embeddings,
            embedding_size, packing and packing.position_ids)
      if embedding_size != config.hidden_size:
        embedded = layers.dense(  # [b, s, H]
            embedded, config.hidden_size,
            layers.create_initializer(config.initializer_range),
            name="embeddings_project")
      self.embedding_output = base.unpack(embedded, packing)
      self.all_encoder_layers = bert.bert_encoder(
          config, embedded, input_mask, batch_size, seq_length, packing,
          self.attention(), first_token_only)
      self.sequence_output = self.all_encoder_layers[-1]
      self.pooled_output = self.sequence_output[:, 0, :]  # [b, H]

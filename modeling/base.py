"""What every encoder shares: input defaults, the layer stack, the pooler, getters.

`EncoderModel` holds the tensors a built graph exposes through Google's
getters; `BertModel`, `AlbertModel`, `DistilBertModel` and `ElectraModel`
fill them in. It is also a model family's one place of definition: the
facts `modeling.families` registers it by (`model_type`, `default_scope`,
`config_file`, how its checkpoints and configs are recognised) and the
attention it computes (`attention_scores`, `attention_context`).

A new family is one module: a subclass that overrides what differs, e.g.

  class NezhaModel(bert.BertModel):
    model_type = "nezha"
    config_file = "nezha_config.json"

    def attention_scores(self, query, key):
      ...   # [B, N, S, D] x 2 -> [B, N, S, S], with relative positions

plus its row in `modeling.families.FAMILIES` (or, outside the package,
`families.FAMILIES.with_family(NezhaModel)`).
"""

import collections
import copy

import tensorflow.compat.v1 as tf

from modeling import layers


class EncoderModel(object):
  """Base class: Google's getters over tensors set by the subclass, the
  family's registration facts, and its attention hooks."""

  # What `modeling.families` registers a family by (class attributes).
  model_type = None         # the --model_type name, e.g. "bert"
  default_scope = None      # the variable scope it builds in, e.g. "bert"
  config_file = None        # its config's file name, e.g. "bert_config.json"

  # Set by the constructor.
  config = None             # the BertConfig the graph was built with
  embedding_output = None   # [batch, seq, embedding width]
  embedding_table = None    # [vocab, embedding width]
  all_encoder_layers = None  # list of [batch, seq, hidden]
  sequence_output = None    # [batch, seq, hidden]
  pooled_output = None      # [batch, hidden]
  name_scope = ""           # the name scope the graph was built in

  @classmethod
  def recognizes_checkpoint(cls, names):
    """True if a checkpoint's variable names are this family's layout.

    `modeling.families.infer_model_type` asks the registered families in
    order; the first that says True names the checkpoint. A family that
    keeps another's names (a subclass, registered after it) inherits this
    test; the config's `model_type` then picks it over its parent.

    Args:
      names: list of the checkpoint's variable names.
    """
    del names
    return False

  @classmethod
  def recognizes_config(cls, config, config_file):
    """True if a config that declares no `model_type` is this family's
    (by its keys, or its file name `config_file`, which may be None)."""
    del config, config_file
    return False

  @classmethod
  def configure_for_checkpoint(cls, config, init_checkpoint):
    """Sets the config keys a checkpoint's layout decides (ALBERT's
    `albert_layout`) from the checkpoint `init_checkpoint` (a prefix or
    None). Returns the config."""
    del init_checkpoint
    return config

  def attention_scores(self, query, key):
    """One layer's attention logits, before the mask bias and the softmax.

    The extension point of a family whose attention scores differ
    (relative positions, a bias, another scale): override it. It is called
    inside each layer's attention scope (`.../layer_N/attention/self`), so
    variables made with tf.get_variable are per layer; `self.config` is
    the config being built.

    Args:
      query, key: float Tensors [batch, heads, seq, size_per_head].

    Returns:
      float Tensor [batch, heads, seq (queries), seq (keys)]; Google's
      query . key / sqrt(size_per_head) here.
    """
    return layers.dot_product_scores(query, key)

  def attention_context(self, probs, value):
    """One layer's attention output per head, from the probabilities.

    Override it together with `attention_scores` when positions enter the
    values too (NEZHA); called in the same scope.

    Args:
      probs: float Tensor [batch, heads, seq (queries), seq (keys)].
      value: float Tensor [batch, heads, seq, size_per_head].

    Returns:
      float Tensor [batch, heads, seq, size_per_head]; Google's
      probs . value here.
    """
    return layers.weighted_values(probs, value)

  def attention(self):
    """This family's `layers.Attention`, the hooks every layer calls."""
    context = self.attention_context
    if type(self).attention_context is EncoderModel.attention_context:
      # Google's probs . value itself, which multi_head_attention runs
      # without keeping the dropped probabilities for the backward pass.
      context = layers.weighted_values
    return layers.Attention(scores=self.attention_scores, context=context)

  def get_pooled_output(self):
    """[batch_size, hidden_size]: the pooler's tanh(W * h_[CLS] + b)."""
    return self.pooled_output

  def get_sequence_output(self):
    """[batch_size, seq_length, hidden_size]: the last encoder layer."""
    return self.sequence_output

  def get_all_encoder_layers(self):
    """List of [batch_size, seq_length, hidden_size], one per layer."""
    return self.all_encoder_layers

  def get_embedding_output(self):
    """[batch_size, seq_length, embedding_size]: summed, normalised embeddings."""
    return self.embedding_output

  def get_embedding_table(self):
    """[vocab_size, embedding_size]: the word embedding table."""
    return self.embedding_table

  def get_attention_scores(self):
    """List of [batch, heads, seq, seq], one per layer application: the
    attention scores before the softmax (padded keys at about -10000).

    Read from the graph collection modeling.layers.ATTENTION_SCORES, by the
    name scope the model was built in.
    """
    scope = self.name_scope
    return [t for t in tf.get_collection(layers.ATTENTION_SCORES)
            if t.name.startswith(scope)]


class Packing(collections.namedtuple("Packing", ["position_ids",
                                                 "unpack_index"])):
  """Several examples packed into each input row (sequence packing).

  With a `Packing`, a model's `input_ids`, `input_mask` and
  `token_type_ids` are the packed rows [rows, row_length], and:
    - `input_mask` holds example numbers, not 0/1: 0 for padding, k for
      the k-th example of the row. A token attends only to the tokens of
      its own example (`layers.block_attention_bias`).
    - `position_ids` (int [rows, row_length]) restart at 0 with each
      example, so every example sees the positions it has alone.
    - `unpack_index` (int [batch, seq]) says where each example's tokens
      went: token t of example b is flat position row * row_length +
      offset of the rows; padding positions may point anywhere.
  The model's outputs (embedding output, every encoder layer, sequence and
  pooled output) are then unpacked to [batch, seq, ...], as if each
  example had its own row; only the attention scores stay per row.
  """


def unpack(tensor, packing):
  """[rows, row_length, width] packed rows -> [batch, seq, width] per
  example (`packing.unpack_index`); `tensor` itself without packing."""
  if packing is None:
    return tensor
  width = tensor.shape[-1]
  flat = tf.reshape(tensor, [-1, width])                    # [rows*len, w]
  return tf.gather(flat, packing.unpack_index)              # [b, s, w]


def inference_config(config, is_training):
  """A copy of `config` with dropout switched off unless training."""
  config = copy.deepcopy(config)
  if not is_training:
    config.hidden_dropout_prob = 0.0
    config.attention_probs_dropout_prob = 0.0
  return config


def default_inputs(input_ids, input_mask, token_type_ids):
  """Fills in an all-ones mask; casts to int32.

  Missing segments stay None: `layers.embedding_postprocessor` reads them
  as all zeros where it uses them, so a model without segment embeddings
  leaves no unused op in the graph.

  Args:
    input_ids: int Tensor [batch_size, seq_length] (either may be None).
    input_mask: int Tensor of the same shape, or None.
    token_type_ids: int Tensor of the same shape, or None.

  Returns:
    (input_ids, input_mask, token_type_ids or None, batch_size, seq_length).
  """
  batch_size, seq_length = layers.get_shape_list(input_ids, expected_rank=2)
  input_ids = layers.to_int32(input_ids)
  if input_mask is None:
    input_mask = tf.ones([batch_size, seq_length], dtype=tf.int32)
  if token_type_ids is not None:
    token_type_ids = layers.to_int32(token_type_ids)
  return (input_ids, layers.to_int32(input_mask), token_type_ids,
          batch_size, seq_length)


def first_token_queries(attention_bias, batch_size, seq_length,
                        packing=None):
  """The `layers.Queries` of each example's first token ([CLS]).

  Args:
    attention_bias: the layers' bias, [batch, 1, 1, seq] (or [rows, 1,
      seq, seq] for packed rows).
    batch_size, seq_length: the rows' shape (ints or scalar tensors).
    packing: optional `Packing`; the first token of example b is then at
      `unpack_index[b, 0]`, in row `unpack_index[b, 0] // seq_length`.

  Returns:
    `layers.Queries`, one query per example, in example order.
  """
  if packing is None:
    index = tf.range(batch_size) * seq_length                # [batch]
    return layers.Queries(index=index, rows=None, bias=attention_bias)
  index = packing.unpack_index[:, 0]                         # [examples]
  rows = index // seq_length
  where = tf.stack([rows, index - rows * seq_length], axis=1)  # [e, 2]
  bias = tf.gather_nd(attention_bias[:, 0], where)           # [e, seq]
  return layers.Queries(index=index, rows=rows,
                        bias=bias[:, tf.newaxis, tf.newaxis, :])


def stack_layers(layer_fn, embedded, input_mask, num_layers, batch_size,
                 seq_length, packing=None, first_token_only=False):
  """Runs `layer_fn` `num_layers` times; returns every layer's output.

  Args:
    layer_fn: fn(layer_index, layer_input [b*s, h], attention_bias,
      queries=None) -> [b*s, h] ([q, h] with `layers.Queries`); it opens
      its own variable scopes.
    embedded: float Tensor [batch_size, seq_length, hidden_size].
    input_mask: int Tensor [batch_size, seq_length] (example numbers with
      `packing`).
    num_layers: how many times to apply layer_fn.
    batch_size, seq_length: ints or scalar tensors (the rows' shape).
    packing: optional `Packing`: block-diagonal attention, and outputs
      unpacked per example.
    first_token_only: the last layer computes each example's first token
      alone (`first_token_queries`): what the pooler and a classifier
      read, at a fraction of the layer's work.

  Returns:
    List of `num_layers` float Tensors [batch_size, seq_length, hidden_size]
    ([examples, seq, hidden] with `packing`); the last is [examples, 1,
    hidden] with `first_token_only`.
  """
  hidden_size = embedded.shape[-1]
  if packing is None:
    attention_bias = layers.attention_bias_from_mask(input_mask,
                                                     embedded.dtype)
  else:
    attention_bias = layers.block_attention_bias(input_mask, embedded.dtype)
  prev_output = layers.reshape_to_matrix(embedded)   # [b*s, h]
  outputs = []
  for layer_idx in range(num_layers):
    if first_token_only and layer_idx == num_layers - 1:
      queries = first_token_queries(attention_bias, batch_size, seq_length,
                                    packing)
      first = layer_fn(layer_idx, prev_output, attention_bias,
                       queries=queries)                       # [e, h]
      outputs.append(tf.reshape(first, [-1, 1, hidden_size]))
      break
    prev_output = layer_fn(layer_idx, prev_output, attention_bias)
    outputs.append(unpack(
        tf.reshape(prev_output, [batch_size, seq_length, hidden_size]),
        packing))
  return outputs


def pooler(sequence_output, hidden_size, initializer_range):
  """Google's pooler: dense + tanh on the first token, scope `pooler/dense`.

  Args:
    sequence_output: float Tensor [batch_size, seq_length, hidden_size].

  Returns:
    float Tensor [batch_size, hidden_size].
  """
  with tf.variable_scope("pooler"):
    first_token = sequence_output[:, 0, :]
    return layers.dense(first_token, hidden_size,
                        layers.create_initializer(initializer_range),
                        activation=tf.tanh)

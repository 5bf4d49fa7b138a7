"""Test helper: build a model on placeholders, restore it, run reference inputs.

`run_reference(folder, ckpt, config, model_type)` returns the outputs of our
graph for a reference folder's `reference.npz` inputs; `max_diff` compares two
arrays on the positions where `input_mask` is 1.
"""

import numpy as np
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit.engine import packing as packing_lib

tf.disable_eager_execution()


def run_model(model_type, config, init_checkpoint, input_ids, input_mask,
              segment_ids, static_shape=False, pack_sizes=None,
              first_token_only=False, bf16=False):
  """Returns dict of numpy outputs: embedding_output, all_encoder_layers,
  pooled_output, and the RestoreReport.

  `pack_sizes` (row lengths) runs the examples packed into rows
  (bert_toolkit.engine.packing); the outputs are then per example as usual, and
  out["packed"] holds the packed arrays. `first_token_only` builds the
  last layer at the first tokens alone (its sequence output [b, 1, h]).
  `bf16`: the matmuls in bfloat16 (modeling.bf16_matmuls)."""
  graph = tf.Graph()
  with graph.as_default():
    if bf16:
      modeling.bf16_matmuls()
    shape = list(input_ids.shape) if static_shape else [None, None]
    ids = tf.placeholder(tf.int32, shape, name="input_ids")
    mask = tf.placeholder(tf.int32, shape, name="input_mask")
    seg = tf.placeholder(tf.int32, shape, name="segment_ids")
    feed = {ids: input_ids, mask: input_mask, seg: segment_ids}
    modeling.families.configure_for_checkpoint(model_type, config,
                                               init_checkpoint)
    packing = None
    if pack_sizes:
      packed = packing_lib.pack_batch(input_ids, segment_ids,
                                      input_mask.sum(axis=1), pack_sizes)
      positions = tf.placeholder(tf.int32, [None, None])
      unpack_index = tf.placeholder(tf.int32, [None, None])
      packing = modeling.Packing(positions, unpack_index)
      feed = {ids: packed["packed_input_ids"],
              mask: packed["packed_input_mask"],
              seg: packed["packed_segment_ids"],
              positions: packed["packed_position_ids"],
              unpack_index: packed["unpack_index"]}
    model = modeling.build_model(model_type, config, False, ids, mask, seg,
                                 packing=packing,
                                 first_token_only=first_token_only)
    report = modeling.init_from_checkpoint(
        init_checkpoint, modeling.encoder_scope(model_type), log=False)
    fetches = {
        "embedding_output": model.get_embedding_output(),
        "all_encoder_layers": model.get_all_encoder_layers(),
        "pooled_output": model.get_pooled_output(),
        "sequence_output": model.get_sequence_output(),
    }
    with tf.Session(graph=graph) as sess:
      sess.run(tf.global_variables_initializer())
      out = sess.run(fetches, feed)
  if not first_token_only:   # else the last layer has one position
    out["all_encoder_layers"] = np.stack(out["all_encoder_layers"])
  out["report"] = report
  if pack_sizes:
    out["packed"] = packed
  return out


def max_diff(ours, theirs, input_mask):
  """Max |ours - theirs| over positions with input_mask == 1.

  Works for [batch, seq, ...] arrays and [layers, batch, seq, ...] stacks.
  """
  mask = input_mask.astype(bool)
  ours, theirs = np.asarray(ours), np.asarray(theirs)
  assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
  if ours.ndim == 4:
    return max(float(np.abs(o - t)[mask].max()) for o, t in zip(ours, theirs))
  return float(np.abs(ours - theirs)[mask].max())

"""Sequence packing of training batches (`--pack_sequences`).

A training batch is still `train_batch_size` examples, drawn in the same
shuffled order; packing only changes how the encoder sees them. The rules:

- Rows are `row_length` long: the smallest length bucket
  (`input_pipeline.bucket_sizes`) that holds the batch's longest example,
  so that every example fits in one row and the encoder sees few shapes.
- Examples go into rows first-fit, longest first (first-fit decreasing):
  each example goes to the first row with room for all of it, else a new
  row. An example is never split across rows; ties keep batch order.
- Inside a row an example keeps its tokens and segment ids; its positions
  restart at 0; `packed_input_mask` numbers the examples of the row 1, 2,
  ... (0 is padding), and the encoder's attention is block-diagonal over
  those numbers (`modeling.layers.block_attention_bias`).
- `unpack_index[b, t]` is the flat position (row * row_length + offset) of
  token t of example b. The encoder gathers its outputs back to
  [batch, seq, hidden] with it, so heads, labels and losses see the batch
  unpacked: a packed step computes the same loss as an unpacked one.

The unpacked features (input_ids, input_mask, labels, ...) stay in the
batch for the heads; the packed ones are added beside them under the names
in PACKED_FEATURES. Evaluation and prediction are not packed.
"""

import numpy as np

# Packed features added to a training batch, all int32 [rows, row_length]
# except unpack_index [batch, seq].
PACKED_FEATURES = ("packed_input_ids", "packed_segment_ids",
                   "packed_input_mask", "packed_position_ids",
                   "unpack_index")


def assign_rows(lengths, row_length):
  """First-fit decreasing: (row, offset) of each example, and the row count.

  Args:
    lengths: example lengths (each at most row_length).
    row_length: tokens per row.

  Returns:
    (rows [n] int, offsets [n] int, num_rows).
  """
  lengths = [int(n) for n in lengths]
  order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
  used = []                                   # tokens taken in each row
  rows = np.zeros(len(lengths), np.int32)
  offsets = np.zeros(len(lengths), np.int32)
  for i in order:
    if lengths[i] > row_length:
      raise ValueError("example of %d tokens does not fit a row of %d" %
                       (lengths[i], row_length))
    for r, taken in enumerate(used):
      if taken + lengths[i] <= row_length:
        break
    else:
      r = len(used)
      used.append(0)
    rows[i], offsets[i] = r, used[r]
    used[r] += lengths[i]
  return rows, offsets, len(used)


def row_length_for(longest, sizes):
  """The smallest of `sizes` (ascending) that holds `longest` tokens."""
  for size in sizes:
    if longest <= size:
      return size
  return sizes[-1]


def pack_batch(input_ids, segment_ids, lengths, sizes):
  """Packs one padded batch; numpy in, numpy out (see the module rules).

  Args:
    input_ids, segment_ids: int [batch, seq] (padded to the longest).
    lengths: int [batch], each example's real length.
    sizes: allowed row lengths, ascending (the last is max_seq_length).

  Returns:
    dict of the PACKED_FEATURES, int32 numpy arrays.
  """
  batch, seq = input_ids.shape
  row_length = row_length_for(int(lengths.max()) if batch else 1, sizes)
  rows, offsets, num_rows = assign_rows(lengths, row_length)
  shape = (num_rows, row_length)
  packed = {name: np.zeros(shape, np.int32) for name in
            ("packed_input_ids", "packed_segment_ids", "packed_input_mask",
             "packed_position_ids")}
  unpack_index = np.zeros((batch, seq), np.int32)
  slot = np.zeros(num_rows, np.int32)         # examples placed per row
  for b in np.argsort(offsets, kind="stable"):
    n, r, start = int(lengths[b]), rows[b], offsets[b]
    slot[r] += 1
    span = slice(start, start + n)
    packed["packed_input_ids"][r, span] = input_ids[b, :n]
    packed["packed_segment_ids"][r, span] = segment_ids[b, :n]
    packed["packed_input_mask"][r, span] = slot[r]
    packed["packed_position_ids"][r, span] = np.arange(n)
    unpack_index[b, :n] = r * row_length + start + np.arange(n)
  packed["unpack_index"] = unpack_index
  return packed


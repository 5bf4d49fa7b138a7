"""tf.data input functions over unpadded TFRecord features.

Training batches are shuffled (with a fixed seed, so a resumed run sees the
same sequence of batches) and grouped by length (`group_by_length` has the
rules): each batch holds sentences of about one length and is padded to its
longest, so short sentences do not pay for max_seq_length. Evaluation and
prediction keep file order and pad each batch to its longest feature.
`dynamic_padding=False` pads everything to max_seq_length (Google's way).
`pack_sequences=True` batches training examples in shuffled order and packs
each batch into a few rows (bert_toolkit.engine.packing has the rules).
`windows=True` reads records that each hold one text's windows end to end
(`window_lengths` says where they split): batches keep `batch_size` texts,
and their windows become the rows the encoder sees, with `window_example`
naming each row's text in the batch (see unflatten_windows).
"""

import tensorflow.compat.v1 as tf

from bert_toolkit.engine import distribution
from bert_toolkit.engine import packing

_BUCKET_SIZES = (16, 32, 48, 64, 96, 128, 192, 256, 384, 512)
# Batches sorted together by length (a window of WINDOW_BATCHES batches).
WINDOW_BATCHES = 50
DEFAULT_SEED = 12345


def bucket_sizes(max_seq_length):
  """Fixed padded lengths used for training batches, ending at the max."""
  sizes = [s for s in _BUCKET_SIZES if s < max_seq_length]
  return sizes + [max_seq_length]


def window_size(batch_size, num_examples=None):
  """Examples that group_by_length sorts together: WINDOW_BATCHES batches,
  but no more than the training set holds in whole batches (and at least
  one batch), so a window never holds a sentence twice from two epochs
  when the set is small."""
  window = WINDOW_BATCHES * batch_size
  if num_examples is not None:
    window = min(window, max(1, num_examples // batch_size) * batch_size)
  return window


def group_by_length(d, batch_size, window, seed, sequence_names):
  """Training batches of sentences of about one length.

  The rules (the "megabatch" scheme of Hugging Face's group_by_length and
  fairseq's sorted batches):
  - `d` is the shuffled, repeated stream of examples; it is cut into
    windows of `window` consecutive examples (window_size), and a window
    is padded to its longest;
  - a window is sorted by length (stably: equal lengths keep their
    shuffled order) and cut into window // batch_size batches;
  - the batches of a window come out in an order drawn from `seed` and the
    window's index (stateless, so a resumed run's skip lands on the same
    batches);
  - each batch is cut to its own longest sentence.
  So a batch holds batch_size different sentences (from one window) of
  about one length, and batches of every length follow one another.

  Args:
    d: dataset of padded window features (padded_batch(window)), with
      "length" [window].
    batch_size: examples a batch.
    window: examples a window (a multiple of batch_size).
    seed: the run's shuffle seed.
    sequence_names: the per-token features to cut.

  Returns:
    dataset of batches.
  """
  batches = window // batch_size

  def split(index, features):
    order = tf.argsort(features["length"], stable=True)      # [window]
    noise = tf.random.stateless_uniform(
        [batches], seed=tf.stack([tf.constant(seed, tf.int64), index]))
    batch_order = tf.argsort(noise)                          # [batches]
    out = {}
    for name, value in features.items():
      value = tf.gather(value, order)
      shape = tf.concat([[batches, batch_size], tf.shape(value)[1:]], 0)
      out[name] = tf.gather(tf.reshape(value, shape), batch_order)
    return tf.data.Dataset.from_tensor_slices(out)

  def cut(features):
    longest = tf.reduce_max(features["length"])
    features = dict(features)
    for name in sequence_names:
      features[name] = features[name][:, :longest]
    return features

  counted = tf.data.Dataset.zip((tf.data.Dataset.range(2**62), d))
  return counted.flat_map(split).map(cut)


def _parser(sequence_names, scalar_names, float_features=()):
  """Returns fn(serialized) -> dict of int32 tensors (+ input_mask, length)
  and fixed-length float32 vectors (float_features: (name, length) pairs)."""
  spec = {name: tf.io.VarLenFeature(tf.int64) for name in sequence_names}
  spec.update({name: tf.io.FixedLenFeature([1], tf.int64)
               for name in scalar_names})
  spec.update({name: tf.io.FixedLenFeature([length], tf.float32)
               for name, length in float_features})

  def parse(record):
    parsed = tf.io.parse_single_example(record, spec)
    out = {}
    for name in sequence_names:
      out[name] = tf.cast(tf.sparse.to_dense(parsed[name]), tf.int32)
    for name in scalar_names:
      out[name] = tf.cast(tf.reshape(parsed[name], []), tf.int32)
    for name, _ in float_features:
      out[name] = parsed[name]
    out["input_mask"] = tf.ones_like(out["input_ids"])
    out["length"] = tf.size(out["input_ids"])
    return out

  return parse


def input_fn_builder(record_file, batch_size, max_seq_length, is_training,
                     sequence_names=("input_ids", "segment_ids"),
                     scalar_names=("label_ids", "example_index"),
                     dynamic_padding=True, seed=DEFAULT_SEED,
                     skip_batches=0, shuffle_buffer=10000,
                     float_features=(), pack_sequences=False,
                     windows=False, replicas=1, shard=None,
                     num_examples=None):
  """Returns an Estimator input_fn.

  Args:
    record_file: TFRecord file from features.cached_feature_file.
    batch_size: examples per batch.
    max_seq_length: longest feature.
    is_training: shuffle, repeat and group by length.
    sequence_names: per-token int features ("input_mask" is derived).
    scalar_names: one-int features.
    dynamic_padding: False pads every batch to max_seq_length.
    seed: shuffle seed (fixed, so that a resumed run can skip ahead).
    skip_batches: training batches already consumed (resume).
    shuffle_buffer: examples in the shuffle buffer.
    float_features: (name, length) of fixed-length float vector features
      (e.g. cached teacher logits).
    pack_sequences: training batches also carry packed rows
      (packing.PACKED_FEATURES); needs dynamic_padding.
    windows: records hold several windows each (a `window_lengths`
      sequence feature); batches are unflattened into one row per window.
    replicas: training replicas in sync: batch_size is the global batch,
      each replica gets a consecutive slice (distribution.split_batches).
    shard: (count, index): training takes every count-th batch from the
      index-th (parameter_server's asynchronous tasks), or None.
    num_examples: examples in record_file when known (bounds the window
      that training batches are grouped by length in, window_size).

  Returns:
    fn(params, input_context) -> tf.data.Dataset of features dicts with
    int32 [batch, len] sequences (incl. input_mask) and [batch] scalars
    (input_context: the Estimator's, under a distribution strategy).
  """
  sequence_names = tuple(sequence_names)
  all_sequences = sequence_names + ("input_mask",)

  def padded_shapes(length):
    shapes = {name: [length] for name in all_sequences}
    shapes.update({name: [] for name in scalar_names})
    shapes.update({name: [length] for name, length in float_features})
    shapes["length"] = []
    return shapes

  def input_fn(params=None, input_context=None):
    del params
    d = tf.data.TFRecordDataset(record_file)
    if is_training:
      d = d.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
      d = d.repeat()
    d = d.map(_parser(sequence_names, scalar_names, tuple(float_features)))
    # 1. Batches of batch_size examples (the global batch when training
    #    on several replicas).
    if windows:
      d = d.padded_batch(batch_size, padded_shapes(None),
                         drop_remainder=is_training)
    elif not dynamic_padding:
      d = d.padded_batch(batch_size, padded_shapes(max_seq_length),
                         drop_remainder=is_training)
    elif is_training and pack_sequences:
      d = d.padded_batch(batch_size, padded_shapes(None), drop_remainder=True)
    elif is_training:
      window = window_size(batch_size, num_examples)
      d = d.padded_batch(window, padded_shapes(None), drop_remainder=True)
      d = group_by_length(d, batch_size, window, seed, all_sequences)
    else:
      d = d.padded_batch(batch_size, padded_shapes(None))
    local_batch = batch_size
    if is_training:
      if skip_batches:
        d = d.skip(skip_batches)
      # 2. This replica's slice of each batch (bert_toolkit.engine.distribution).
      d = distribution.split_batches(d, replicas, input_context)
      local_batch = batch_size // replicas
      if shard is not None:   # asynchronous workers: every n-th batch
        d = d.shard(*shard)
    # 3. What the encoder sees: windows as rows, or packed rows.
    if windows:
      pad_to = (bucket_sizes(max_seq_length) if dynamic_padding
                else [max_seq_length])
      d = d.map(lambda f: unflatten_windows(f, pad_to if is_training
                                            or not dynamic_padding else None))
    elif is_training and pack_sequences:
      d = d.map(_packer(bucket_sizes(max_seq_length), local_batch))
    return d.prefetch(2)

  return input_fn


def unflatten_windows(features, pad_to=None):
  """A batch of texts, each its windows end to end -> one row per window.

  Args:
    features: batch dict with input_ids / segment_ids / input_mask
      [texts, total] (each text's windows concatenated, zero-padded) and
      window_lengths [texts, most windows] (zero-padded; a window is never
      empty: it holds [CLS] and [SEP]).
    pad_to: None pads the rows to the longest window; a list of sizes pads
      them to the smallest size that holds the longest (training buckets,
      or [max_seq_length] for fixed padding).

  Returns:
    the dict without window_lengths, with input_ids / segment_ids /
    input_mask int32 [windows, len] and window_example int32 [windows]
    (the text's position in the batch; windows keep text order). The
    other features (labels, example_index, length) stay one per text.
  """
  features = dict(features)
  lengths = features.pop("window_lengths")                   # [texts, w]
  per_text = tf.RaggedTensor.from_tensor(
      lengths, lengths=tf.reduce_sum(tf.cast(lengths > 0, tf.int32), 1))
  window_lengths = per_text.values                           # [windows]
  totals = tf.reduce_sum(lengths, 1)                         # [texts]
  longest = tf.reduce_max(window_lengths)
  if pad_to is not None:
    sizes = tf.constant(list(pad_to), tf.int32)
    longest = tf.reduce_min(tf.boolean_mask(sizes, sizes >= longest))
  for name in ("input_ids", "segment_ids", "input_mask"):
    flat = tf.RaggedTensor.from_tensor(features[name], lengths=totals).values
    rows = tf.RaggedTensor.from_row_lengths(flat, window_lengths).to_tensor()
    rows = tf.pad(rows, [[0, 0], [0, longest - tf.shape(rows)[1]]])
    features[name] = rows                                    # [windows, len]
  features["window_example"] = tf.cast(per_text.value_rowids(), tf.int32)
  return features


def _packer(sizes, batch_size):
  """fn(batch features) -> the batch plus its packed rows (tf.data map)."""

  def pack(input_ids, segment_ids, lengths):
    arrays = packing.pack_batch(input_ids, segment_ids, lengths, sizes)
    return [arrays[name] for name in packing.PACKED_FEATURES]

  def add_packed(features):
    outputs = tf.numpy_function(
        pack, [features["input_ids"], features["segment_ids"],
               features["length"]],
        [tf.int32] * len(packing.PACKED_FEATURES))
    features = dict(features)
    for name, value in zip(packing.PACKED_FEATURES, outputs):
      shape = [batch_size, None] if name == "unpack_index" else [None, None]
      value.set_shape(shape)
      features[name] = value
    return features

  return add_packed

"""Training batches grouped by length (input_pipeline.group_by_length): what
a batch holds, how batches follow one another, and resuming."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_toolkit.data import features as features_lib
from bert_toolkit.engine import input_pipeline

tf.disable_eager_execution()


def _write(path, lengths):
  """Records of the given lengths; example_index is the record's line."""
  rng = np.random.RandomState(0)
  with tf.io.TFRecordWriter(path) as writer:
    for i, n in enumerate(lengths):
      ids = [101] + list(rng.randint(200, 5000, n - 2)) + [102]
      writer.write(features_lib.serialize({
          "input_ids": ids, "segment_ids": [0] * n,
          "label_ids": [i % 2], "example_index": [i]}))
  return path


def _batches(path, batch_size, count, num_examples, skip=0, seed=3,
             max_seq_length=64):
  input_fn = input_pipeline.input_fn_builder(
      path, batch_size, max_seq_length, True, seed=seed, skip_batches=skip,
      num_examples=num_examples)
  with tf.Graph().as_default():
    batch = tf.data.make_one_shot_iterator(input_fn()).get_next()
    with tf.Session() as sess:
      return [sess.run(batch) for _ in range(count)]


@pytest.fixture
def records(tmp_path):
  lengths = np.random.RandomState(1).randint(3, 61, 200)
  return _write(str(tmp_path / "train.tf_record"), lengths), lengths


def test_window_size_is_whole_batches_of_the_set_at_most():
  per_window = input_pipeline.WINDOW_BATCHES
  assert input_pipeline.window_size(32) == per_window * 32
  assert input_pipeline.window_size(32, 10 ** 6) == per_window * 32
  assert input_pipeline.window_size(8, 200) == 200
  assert input_pipeline.window_size(8, 203) == 200
  assert input_pipeline.window_size(8, 8) == 8
  assert input_pipeline.window_size(8, 5) == 8   # a batch, at least


def test_a_window_is_sorted_into_batches_of_one_length_in_drawn_order(
    records):
  path, lengths = records
  # 200 examples, batches of 8: the window is the whole set, so one
  # epoch is 25 batches that hold every example once.
  epoch = _batches(path, 8, 25, num_examples=200)
  seen = np.concatenate([b["example_index"] for b in epoch])
  assert sorted(seen) == list(range(200))
  for b in epoch:
    # cut to its own longest sentence, and the rows are the records
    assert b["input_ids"].shape == (8, b["length"].max())
    assert list(b["length"]) == [lengths[i] for i in b["example_index"]]
    assert list(b["input_mask"].sum(1)) == list(b["length"])
  # Sorted: the batches' length ranges do not overlap; in drawn order,
  # not shortest first.
  spans = sorted((b["length"].min(), b["length"].max()) for b in epoch)
  assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
  firsts = [b["length"].min() for b in epoch]
  assert firsts != sorted(firsts)
  # The next epoch: the same examples in other batches and order.
  second = _batches(path, 8, 50, num_examples=200)[25:]
  assert sorted(np.concatenate([b["example_index"] for b in second])) == (
      list(range(200)))
  assert [list(b["example_index"]) for b in second] != [
      list(b["example_index"]) for b in epoch]


def test_a_small_set_mixes_its_sentences_in_every_batch(tmp_path):
  """8 sentences in batches of 8: every batch is the 8 sentences, never a
  few of them repeated (what grouping across epochs would make)."""
  path = _write(str(tmp_path / "small.tf_record"),
                [5, 30, 7, 12, 28, 9, 16, 22])
  for b in _batches(path, 8, 6, num_examples=8):
    assert sorted(b["example_index"]) == list(range(8))


def test_resuming_skips_to_the_same_batches(records):
  path, _ = records
  straight = _batches(path, 16, 30, num_examples=200)
  resumed = _batches(path, 16, 10, num_examples=200, skip=20)
  for a, b in zip(straight[20:], resumed):
    assert list(a["example_index"]) == list(b["example_index"])
    np.testing.assert_array_equal(a["input_ids"], b["input_ids"])
  other_seed = _batches(path, 16, 10, num_examples=200, seed=4)
  assert [list(b["example_index"]) for b in other_seed] != [
      list(b["example_index"]) for b in straight[:10]]

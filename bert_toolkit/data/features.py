"""Feature records -> TFRecord files, written once and reused safely.

Features are stored WITHOUT padding (the input pipeline pads each batch), as
int64 lists: `input_ids`, `segment_ids`, the task's labels, `example_index`,
and float lists where a task stores floats (cached teacher logits); the task
decides, see bert_toolkit.engine.task.

The cache promises:
- A file is named by a hash of everything its features depend on: the data
  file's bytes, the vocab file's bytes, do_lower_case, max_seq_length, the
  label list, the task, its feature settings and the format version. Any
  change gives a new name, so a stale file is never read.
- A file is written under a temporary name (`.tmp-<pid>`) and renamed when
  complete; the metadata that marks it usable is written last.
- Before a file is reused its size and sha256 are checked against the
  metadata; a truncated or corrupt file is rebuilt, never read.
- Files of other keys are never deleted: another run may be reading them
  (a shared --cache_dir). Temporaries whose writing process is gone (a
  killed conversion) are removed.
"""

import collections
import hashlib
import json
import os

import tensorflow.compat.v1 as tf

from bert_toolkit.runs import atomic
from bert_toolkit.runs.progress import Progress
from bert_toolkit.runs.run_info import atomic_json
from bert_toolkit.runs.run_info import file_digest
from bert_toolkit.runs.run_info import remove_dead_temporaries

# Bump when the stored features change meaning.
FEATURE_FORMAT = 2


def _feature(values):
  """An int64 list, or a float list when any value is a float."""
  values = list(values)
  if any(isinstance(v, float) for v in values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))
  return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def serialize(record):
  """dict name -> int (or float) list  ->  serialized tf.train.Example."""
  features = collections.OrderedDict(
      (name, _feature(values)) for name, values in record.items())
  return tf.train.Example(
      features=tf.train.Features(feature=features)).SerializeToString()


def cache_key(data_file, vocab_file, do_lower_case, max_seq_length, labels,
              task_name, extra=None):
  """The hash that names a feature file; any input change changes it."""
  parts = collections.OrderedDict([
      ("format", FEATURE_FORMAT),
      ("task", task_name),
      ("data_sha256", file_digest(data_file)),
      ("vocab_sha256", file_digest(vocab_file)),
      ("do_lower_case", bool(do_lower_case)),
      ("max_seq_length", int(max_seq_length)),
      ("labels", list(labels)),
      ("extra", extra),
  ])
  text = json.dumps(parts, sort_keys=True, ensure_ascii=False)
  return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20], parts


CachedFeatures = collections.namedtuple(
    "CachedFeatures", ["path", "num_examples", "reused", "meta"])


def cached_feature_file(cache_dir, split, key, key_parts, make_records,
                        num_examples_hint=None):
  """Returns the TFRecord file for (split, key), writing it if needed.

  Args:
    cache_dir: folder for feature files.
    split: "train", "dev" or "test" (part of the file name).
    key, key_parts: from cache_key.
    make_records: fn() -> iterable of record dicts (called only when the
      file must be written). A record may carry "_truncated": [0/1].
    num_examples_hint: for the progress ETA.

  Returns:
    CachedFeatures(path, num_examples, reused, meta dict).
  """
  os.makedirs(cache_dir, exist_ok=True)
  remove_dead_temporaries(cache_dir)
  base = os.path.join(cache_dir, "%s-%s" % (split, key))
  path, meta_path = base + ".tf_record", base + ".json"
  meta = _usable_meta(path, meta_path, key)
  if meta is not None:
    tf.logging.info("Reusing %d cached %s features: %s",
                    meta["num_examples"], split, path)
    return CachedFeatures(path, meta["num_examples"], True, meta)
  meta = _write_records(path, make_records(), split, num_examples_hint)
  meta.update({"key": key, "inputs": key_parts})
  atomic_json(meta_path, meta)
  return CachedFeatures(path, meta["num_examples"], False, meta)


def _usable_meta(path, meta_path, key):
  """The metadata of a complete, intact cached file; None to rebuild."""
  if not (os.path.isfile(path) and os.path.isfile(meta_path)):
    return None
  try:
    with open(meta_path, encoding="utf-8") as f:
      meta = json.load(f)
  except ValueError:
    tf.logging.warning("Rebuilding %s: its metadata is unreadable", path)
    return None
  if meta.get("key") != key or "sha256" not in meta:
    return None
  size = os.path.getsize(path)
  if size != meta.get("bytes"):
    tf.logging.warning("Rebuilding %s: %d bytes on disk, %s written "
                       "(truncated or changed)", path, size,
                       meta.get("bytes"))
    return None
  if file_digest(path) != meta["sha256"]:
    tf.logging.warning("Rebuilding %s: its content does not match the "
                       "checksum written with it (corrupt)", path)
    return None
  return meta


def _write_records(path, records, split, num_examples_hint):
  """Writes records to path via a temporary file; returns its metadata."""
  progress = Progress("write %s features" % split,
                      total_examples=num_examples_hint)
  count, truncated, lengths = 0, 0, collections.Counter()
  with atomic.replacing_path(path) as tmp:
    with tf.io.TFRecordWriter(tmp) as writer:
      for record in records:
        truncated += int(record.pop("_truncated", [0])[0])
        writer.write(serialize(record))
        lengths[len(record["input_ids"])] += 1
        count += 1
        progress.update(examples=1, steps=0)
    meta = {"num_examples": count, "num_truncated": truncated,
            "max_length": max(lengths) if lengths else 0,
            "mean_length": (sum(k * v for k, v in lengths.items()) /
                            max(count, 1)),
            "bytes": os.path.getsize(tmp), "sha256": file_digest(tmp)}
  progress.done("%d truncated to max_seq_length" % truncated)
  return meta

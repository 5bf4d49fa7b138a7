"""Examples -> features -> TFRecord files, written once and reused safely.

Features are stored WITHOUT padding (the input pipeline pads each batch), as
int64 lists: `input_ids`, `segment_ids`, the task's labels, `example_index`.

The cache key is a hash of everything the features depend on: the data
file's bytes, the vocab file's bytes, do_lower_case, max_seq_length, the
label list, the task and the feature format version. Any change gives a new
file name, so a stale file is never read. Files are written under a
temporary name and renamed when complete, and the metadata file that marks
them usable is written last, so a killed conversion is never reused.
"""

import collections
import glob
import hashlib
import json
import os

import tensorflow.compat.v1 as tf

import tokenization
from finetuning.progress import Progress

# Bump when the stored features change meaning.
FEATURE_FORMAT = 1

ClassifierFeature = collections.namedtuple(
    "ClassifierFeature", ["input_ids", "segment_ids", "label_id",
                          "example_index", "truncated"])


def convert_single_example(example_index, example, label_map, max_seq_length,
                           tokenizer):
  """One InputExample -> ClassifierFeature (unpadded).

  Single texts keep their first max_seq_length-2 tokens; pairs are cut from
  the longer side until they fit in max_seq_length-3 (Google's rule).

  Args:
    example_index: position of the example in its file (kept for output).
    example: InputExample.
    label_map: dict label -> id.
    max_seq_length: longest feature, [CLS] and [SEP]s included.
    tokenizer: FullTokenizer.

  Returns:
    ClassifierFeature; label_id is -1 for an unlabeled example.
  """
  tokens_a = tokenizer.tokenize(example.text_a)
  tokens_b = tokenizer.tokenize(example.text_b) if example.text_b else None
  natural = len(tokens_a) + (len(tokens_b) + 3 if tokens_b else 2)
  tokens, segment_ids = tokenization.build_inputs(tokens_a, tokens_b,
                                                  max_seq_length)
  label_id = label_map[example.label] if example.label is not None else -1
  return ClassifierFeature(tokenizer.convert_tokens_to_ids(tokens),
                           segment_ids, label_id, example_index,
                           natural > max_seq_length)


def classifier_record(feature):
  """ClassifierFeature -> dict of int lists for write_records."""
  return collections.OrderedDict([
      ("input_ids", feature.input_ids),
      ("segment_ids", feature.segment_ids),
      ("label_ids", [feature.label_id]),
      ("example_index", [feature.example_index]),
  ])


def _int_feature(values):
  return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def serialize(record):
  """dict name -> int list  ->  serialized tf.train.Example."""
  features = collections.OrderedDict(
      (name, _int_feature(values)) for name, values in record.items())
  return tf.train.Example(
      features=tf.train.Features(feature=features)).SerializeToString()


def file_digest(path):
  """sha256 of a file's bytes."""
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


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
      file must be written).
    num_examples_hint: for the progress ETA.

  Returns:
    CachedFeatures(path, num_examples, reused, meta dict).
  """
  if not os.path.isdir(cache_dir):
    os.makedirs(cache_dir)
  base = os.path.join(cache_dir, "%s-%s" % (split, key))
  path, meta_path = base + ".tf_record", base + ".json"
  if os.path.isfile(path) and os.path.isfile(meta_path):
    with open(meta_path, encoding="utf-8") as f:
      meta = json.load(f)
    if meta.get("key") == key:
      tf.logging.info("Reusing %d cached %s features: %s",
                      meta["num_examples"], split, path)
      return CachedFeatures(path, meta["num_examples"], True, meta)
  meta = _write_records(path, make_records(), split, num_examples_hint)
  meta.update({"key": key, "inputs": key_parts})
  _atomic_json(meta_path, meta)
  _remove_stale(cache_dir, split, key)
  return CachedFeatures(path, meta["num_examples"], False, meta)


def _write_records(path, records, split, num_examples_hint):
  """Writes records to path via a temporary file; returns count metadata."""
  tmp = "%s.tmp-%d" % (path, os.getpid())
  progress = Progress("write %s features" % split,
                      total_examples=num_examples_hint)
  count, truncated, lengths = 0, 0, collections.Counter()
  try:
    with tf.io.TFRecordWriter(tmp) as writer:
      for record in records:
        truncated += int(record.pop("_truncated", [0])[0])
        writer.write(serialize(record))
        lengths[len(record["input_ids"])] += 1
        count += 1
        progress.update(examples=1, steps=0)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  progress.done("%d truncated to max_seq_length" % truncated)
  return {"num_examples": count, "num_truncated": truncated,
          "max_length": max(lengths) if lengths else 0,
          "mean_length": (sum(k * v for k, v in lengths.items()) /
                          max(count, 1))}


def _atomic_json(path, obj):
  tmp = "%s.tmp-%d" % (path, os.getpid())
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(obj, f, indent=2, ensure_ascii=False)
  os.replace(tmp, path)


def _remove_stale(cache_dir, split, key):
  """Deletes older feature files of the same split (other keys)."""
  for old in glob.glob(os.path.join(cache_dir, "%s-*" % split)):
    if key not in os.path.basename(old):
      os.remove(old)


def classifier_records(examples, label_list, max_seq_length, tokenizer):
  """Yields record dicts (with a `_truncated` marker) for write_records."""
  label_map = {label: i for i, label in enumerate(label_list)}
  for index, example in enumerate(examples):
    feature = convert_single_example(index, example, label_map,
                                     max_seq_length, tokenizer)
    record = classifier_record(feature)
    record["_truncated"] = [int(feature.truncated)]
    yield record

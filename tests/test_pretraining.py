"""Pre-training: create_pretraining_data.py's statistics and rules, and
run_pretraining.py's losses against google-research/bert's."""

import collections
import json
import os
import random

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
import tokenization
from bert_toolkit import settings as settings_lib
from bert_toolkit.tasks import pretraining
from bert_toolkit.data import pretraining_data as data_lib
from bert_toolkit.engine import task as task_lib
from tests import clirun
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
ALBERT_DIR = os.path.join(REFERENCE_DIR, "albert_zh_tiny")
VOCAB = os.path.join(BERT_DIR, "vocab.txt")


def _sentences(n):
  """n short sentences from ChnSentiCorp reviews."""
  out = []
  with open(os.path.join(DATA_DIR, "chnsenticorp", "train.tsv"),
            encoding="utf-8") as f:
    next(f)
    for line in f:
      for part in line.rstrip("\n").split("\t", 1)[1].replace(
          "！", "。").split("。"):
        if len(part.strip()) >= 4:
          out.append(part.strip()[:40])
          if len(out) == n:
            return out
  return out


def _corpus(path, documents, sentences_per_document, spaces=False):
  sentences = _sentences(documents * sentences_per_document)
  with open(path, "w", encoding="utf-8") as f:
    for d in range(documents):
      block = sentences[d * sentences_per_document:
                        (d + 1) * sentences_per_document]
      if spaces:  # "words" of two characters, as a segmenter would give
        block = [" ".join(s[i:i + 2] for i in range(0, len(s), 2))
                 for s in block]
      f.write("\n".join(block) + "\n\n")
  return path


def _records(paths):
  out = []
  for path in paths:
    for record in tf.io.tf_record_iterator(path):
      feature = tf.train.Example.FromString(record).features.feature
      out.append({name: list(feature[name].int64_list.value or
                             feature[name].float_list.value)
                  for name in pretraining.FEATURES})
  return out


def _create(tmp_path, corpus, **kwargs):
  outputs = [str(tmp_path / "out-0.tfrecord"), str(tmp_path / "out-1.tfrecord")]
  values = dict(max_seq_length=64, max_predictions_per_seq=12, dupe_factor=2,
                num_workers=1, documents_per_chunk=50, random_seed=3)
  values.update(kwargs)
  stats = data_lib.create(data_lib.DataSettings([corpus], outputs, VOCAB,
                                                **values))
  return stats, _records(outputs)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  return _corpus(str(tmp_path_factory.mktemp("corpus") / "corpus.txt"), 60,
                 30)


def test_masking_rate_and_80_10_10(corpus, tmp_path):
  stats, records = _create(tmp_path, corpus)
  tokenizer = tokenization.FullTokenizer(VOCAB)
  mask_id = tokenizer.vocab["[MASK]"]
  special = {tokenizer.vocab["[CLS]"], tokenizer.vocab["[SEP]"]}
  kinds = collections.Counter()
  masked = tokens = 0
  for r in records:
    length = sum(r["input_mask"])
    real = int(sum(r["masked_lm_weights"]))
    assert 1 <= real <= 12 and length <= 64
    assert real == min(12, max(1, int(round(length * 0.15))))
    masked += real
    tokens += length
    for position, original in zip(r["masked_lm_positions"][:real],
                                  r["masked_lm_ids"][:real]):
      assert 0 < position < length
      assert original not in special
      shown = r["input_ids"][position]
      kinds["mask" if shown == mask_id else
            "kept" if shown == original else "random"] += 1
  total = sum(kinds.values())
  assert len(records) > 1000
  assert abs(masked / tokens - 0.15) < 0.01
  assert abs(kinds["mask"] / total - 0.8) < 0.02, kinds
  assert abs(kinds["kept"] / total - 0.1) < 0.02, kinds
  assert abs(kinds["random"] / total - 0.1) < 0.02, kinds
  assert stats["instances"] == len(records)


def test_next_sentence_and_sentence_order_labels_are_balanced(corpus,
                                                             tmp_path):
  _, records = _create(tmp_path, corpus)
  share = np.mean([r["next_sentence_labels"][0] for r in records])
  assert 0.45 < share < 0.57, share
  # SOP: balanced, also for documents of one sentence (cut inside it).
  short = _corpus(str(tmp_path / "short.txt"), 200, 1)
  stats, records = _create(tmp_path, short, sop=True)
  share = np.mean([r["next_sentence_labels"][0] for r in records])
  assert 0.43 < share < 0.57, share
  assert stats["instances"] > 300


def test_sop_swaps_the_two_segments(tmp_path):
  """Label 1: B's text precedes A's in the document."""
  corpus = tmp_path / "c.txt"
  corpus.write_text("一二三四五\n六七八九十\n\n", encoding="utf-8")
  _, records = _create(tmp_path, str(corpus), sop=True, dupe_factor=40,
                       short_seq_prob=0.0, masked_lm_prob=0.01,
                       max_predictions_per_seq=1)
  tokenizer = tokenization.FullTokenizer(VOCAB)
  for r in records:
    ids = list(r["input_ids"])
    for p, original in zip(r["masked_lm_positions"], r["masked_lm_ids"]):
      ids[p] = original  # undo the single mask
    tokens = tokenizer.convert_ids_to_tokens(ids[:sum(r["input_mask"])])
    text = "".join(t for t in tokens if t not in ("[CLS]", "[SEP]"))
    assert text == ("六七八九十一二三四五" if r["next_sentence_labels"][0]
                    else "一二三四五六七八九十")


def test_whole_word_masking_never_splits_a_word():
  """Instances from documents of two-piece words ("w7a", "w7b"): a masked
  word has every piece the instance kept masked (truncation may have cut a
  word's other piece off)."""
  rng = random.Random(5)
  settings = data_lib.DataSettings(["x"], ["y"], VOCAB, max_seq_length=40,
                                   max_predictions_per_seq=10,
                                   do_whole_word_mask=True, max_ngram=3)
  word = 0
  documents = []
  for _ in range(30):
    document = []
    for _ in range(6):
      tokens, starts = [], []
      for _ in range(rng.randint(2, 8)):
        tokens += ["w%da" % word, "w%db" % word]
        starts += [True, False]
        word += 1
      document.append(data_lib.Segment(tokens, starts))
    documents.append(document)
  counts = collections.Counter()
  checked = 0
  for index in range(len(documents)):
    for instance in data_lib.instances_from_document(
        documents, index, settings, ["[MASK]", "q"], rng, counts):
      original = list(instance.tokens)
      for p, label in zip(instance.masked_lm_positions,
                          instance.masked_lm_labels):
        original[p] = label
      masked_words = {original[p][:-1] for p in instance.masked_lm_positions}
      for p, token in enumerate(original):
        if token[:-1] in masked_words:
          assert p in instance.masked_lm_positions, (token, original)
          checked += 1
  assert checked > 200
  # And directly: mask_tokens only ever takes whole groups, n-grams too.
  tokens = ["[CLS]"] + ["x", "##a", "##b", "y", "z", "##c"] * 5 + ["[SEP]"]
  starts = [True] + [True, False, False, True, True, False] * 5 + [True]
  groups = data_lib._word_groups(tokens, starts, True)  # pylint: disable=protected-access
  for _ in range(200):
    _, positions, _ = data_lib.mask_tokens(tokens, starts, 0.3, 8, ["q"],
                                           rng, whole_words=True,
                                           max_ngram=3)
    for group in groups:
      hit = [p in positions for p in group]
      assert all(hit) or not any(hit), (group, positions)


@pytest.mark.slow
def test_bad_input_is_named_or_skipped_and_counted(tmp_path):
  empty = tmp_path / "empty.txt"
  empty.write_text("\n\n", encoding="utf-8")
  one = tmp_path / "one.txt"
  one.write_text("只有一句话的文档\n\n另一个文档的第一句\n第二句\n",
                 encoding="utf-8")
  stats, records = _create(tmp_path, str(one))
  assert stats["documents"] == 2 and records
  outputs = [str(tmp_path / "x.tfrecord")]
  stats = data_lib.create(data_lib.DataSettings(
      [str(empty), str(one)], outputs, VOCAB, max_seq_length=32,
      num_workers=1))
  assert stats["empty_files"] == 1 and stats["instances"] > 0
  proc = clirun.run_script(
      "create_pretraining_data.py", "--input_file=" + str(empty),
      "--output_file=" + str(tmp_path / "y.tfrecord"), "--vocab_file=" + VOCAB)
  clirun.assert_user_error(proc, "no training instance", "1 empty file")
  gbk = tmp_path / "gbk.txt"
  gbk.write_bytes("第一句\n".encode("utf-8") + "第二句\n".encode("gbk"))
  proc = clirun.run_script(
      "create_pretraining_data.py", "--input_file=" + str(gbk),
      "--output_file=" + str(tmp_path / "z.tfrecord"), "--vocab_file=" + VOCAB)
  clirun.assert_user_error(proc, "gbk.txt line 2", "not UTF-8")
  proc = clirun.run_script(
      "create_pretraining_data.py", "--input_file=" + str(tmp_path / "no.txt"),
      "--output_file=" + str(tmp_path / "z.tfrecord"), "--vocab_file=" + VOCAB)
  clirun.assert_user_error(proc, "no.txt", "file not found")


def test_output_does_not_depend_on_the_worker_count(corpus, tmp_path):
  one = tmp_path / "one"
  two = tmp_path / "two"
  one.mkdir()
  two.mkdir()
  _create(one, corpus, num_workers=1)
  _create(two, corpus, num_workers=2)
  for name in ("out-0.tfrecord", "out-1.tfrecord"):
    assert (one / name).read_bytes() == (two / name).read_bytes()


# ---------------------------------------------------------- run_pretraining ---

@pytest.fixture(scope="module")
def reference():
  return dict(np.load(os.path.join(BERT_DIR, "pretraining_reference.npz")))


def test_losses_equal_googles_in_graph(reference):
  files = modeling.find_pretrained(BERT_DIR)
  task = pretraining.Pretraining(["unused"], max_predictions_per_seq=6)
  with tf.Graph().as_default():
    features = {k: tf.constant(reference[k]) for k in (
        "input_ids", "input_mask", "segment_ids", "masked_lm_positions",
        "masked_lm_ids", "masked_lm_weights")}
    features["next_sentence_labels"] = tf.constant(
        reference["next_sentence_labels"].reshape([-1, 1]))
    model = task_lib.encoder_from_features("bert", files.config, features,
                                           False)
    context = task_lib.HeadContext(tf.estimator.ModeKeys.EVAL, "bert",
                                   files.config, None)
    task.head(model, features, context)
    modeling.init_from_checkpoint(files.checkpoint, "bert", log=False)
    graph = tf.get_default_graph()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      names = {n: graph.get_tensor_by_name(t) for n, t in (
          ("masked_lm_loss", "cls/predictions/truediv:0"),
          ("masked_lm_example_loss", "cls/predictions/Neg:0"),
          ("next_sentence_example_loss", "cls/seq_relationship/Neg:0"))}
      out = sess.run(names)
  np.testing.assert_allclose(out["masked_lm_loss"],
                             reference["masked_lm_loss"], atol=1e-5)
  np.testing.assert_allclose(out["masked_lm_example_loss"],
                             reference["masked_lm_example_loss"].ravel(),
                             atol=1e-5)
  np.testing.assert_allclose(out["next_sentence_example_loss"],
                             reference["next_sentence_example_loss"],
                             atol=1e-5)
  np.testing.assert_allclose(np.mean(out["next_sentence_example_loss"]),
                             reference["next_sentence_loss"], atol=1e-5)


def _write_reference_tfrecord(reference, path):
  with tf.io.TFRecordWriter(path) as writer:
    for i in range(reference["input_ids"].shape[0]):
      def ints(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(
            value=[int(v) for v in values]))
      feature = {name: ints(reference[name][i]) for name in (
          "input_ids", "input_mask", "segment_ids", "masked_lm_positions",
          "masked_lm_ids")}
      feature["masked_lm_weights"] = tf.train.Feature(
          float_list=tf.train.FloatList(
              value=[float(v) for v in reference["masked_lm_weights"][i]]))
      feature["next_sentence_labels"] = ints(
          [reference["next_sentence_labels"][i]])
      writer.write(tf.train.Example(features=tf.train.Features(
          feature=feature)).SerializeToString())


@pytest.mark.slow
def test_do_eval_writes_googles_eval_results(reference, tmp_path):
  """run_pretraining.py --do_eval of the official checkpoint on the
  reference features: Google's keys, format and numbers."""
  record = str(tmp_path / "ref.tfrecord")
  _write_reference_tfrecord(reference, record)
  out = str(tmp_path / "eval")
  proc = clirun.run_script(
      "run_pretraining.py", "--input_file=" + record, "--output_dir=" + out,
      "--init_checkpoint=" + BERT_DIR, "--do_eval", "--eval_batch_size=4",
      "--max_eval_steps=1")
  assert proc.returncode == 0, proc.stderr[-3000:]
  lines = open(os.path.join(out, "eval_results.txt")).read().splitlines()
  keys = [line.split(" = ")[0] for line in lines]
  assert keys == ["global_step", "loss", "masked_lm_accuracy",
                  "masked_lm_loss", "next_sentence_accuracy",
                  "next_sentence_loss"]
  got = {k: float(v) for k, v in (line.split(" = ") for line in lines)}
  weights = reference["masked_lm_weights"].ravel()
  example = reference["masked_lm_example_loss"].ravel()
  mean_mlm = float(np.sum(weights * example) / np.sum(weights))
  assert abs(got["masked_lm_loss"] - mean_mlm) < 1e-5
  assert abs(got["next_sentence_loss"] -
             float(reference["next_sentence_loss"])) < 1e-5
  assert abs(got["loss"] - float(reference["masked_lm_loss"] +
                                 reference["next_sentence_loss"])) < 1e-5
  predicted = reference["masked_lm_log_probs"].argmax(-1)
  accuracy = np.sum((predicted == reference["masked_lm_ids"].ravel()) *
                    weights) / np.sum(weights)
  assert abs(got["masked_lm_accuracy"] - accuracy) < 1e-6
  next_accuracy = np.mean(reference["next_sentence_log_probs"].argmax(-1) ==
                          reference["next_sentence_labels"])
  assert abs(got["next_sentence_accuracy"] - next_accuracy) < 1e-6


@pytest.mark.slow
def test_continue_pretraining_then_fine_tune(corpus, tmp_path):
  """Continuing from the official checkpoint restores cls/* too; the output
  directory is a --init_checkpoint of run_classifier.py; a rerun resumes."""
  outputs = [str(tmp_path / "train.tfrecord")]
  data_lib.create(data_lib.DataSettings([corpus], outputs, VOCAB,
                                        max_seq_length=48,
                                        max_predictions_per_seq=8,
                                        dupe_factor=1, num_workers=1))
  out = str(tmp_path / "pretrain")
  args = ("run_pretraining.py", "--input_file=" + outputs[0],
          "--output_dir=" + out, "--init_checkpoint=" + BERT_DIR,
          "--do_train", "--do_eval", "--train_batch_size=8",
          "--num_warmup_steps=2", "--max_eval_steps=2",
          "--learning_rate=1e-3", "--gradient_accumulation_steps=2",
          "--optimizer=lamb", "--save_checkpoints_steps=4")
  proc = clirun.run_script(*args, "--num_train_steps=6")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "restored: 46 variables" in proc.stderr  # 39 encoder + 7 cls/*
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(out))
  start = tf.train.load_checkpoint(os.path.join(BERT_DIR, "bert_model.ckpt"))
  for name in ("cls/predictions/output_bias",
               "cls/seq_relationship/output_weights"):
    moved = np.abs(reader.get_tensor(name) - start.get_tensor(name)).max()
    assert 0 < moved < 1.0, name  # trained from the official values
  assert any(n.endswith("/LAMB_m") for n in reader.get_variable_to_shape_map())
  proc = clirun.run_script(*args, "--num_train_steps=10")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Resuming from" in proc.stderr and "at step 6 of 10" in proc.stderr
  results = json.load(open(os.path.join(out, "run_results.json")))
  assert results["train"]["global_step"] == 10
  assert set(results["eval"]) == {"global_step", "loss",
                                  "masked_lm_accuracy", "masked_lm_loss",
                                  "next_sentence_accuracy",
                                  "next_sentence_loss"}
  # The pre-training output is a fine-tuning starting point.
  data = tmp_path / "cls"
  data.mkdir()
  rows = "label\ttext_a\n1\t房间很干净\n0\t服务太差了\n"
  for split in ("train", "dev"):
    (data / (split + ".tsv")).write_text(rows, encoding="utf-8")
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + str(data),
      "--init_checkpoint=" + out, "--output_dir=" + str(tmp_path / "ft"),
      "--do_train", "--max_seq_length=32", "--train_batch_size=2",
      "--num_train_epochs=1")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "restored: 39 variables" in proc.stderr


@pytest.mark.slow
def test_albert_pretraining_restores_its_heads(tmp_path, corpus):
  outputs = [str(tmp_path / "train.tfrecord")]
  data_lib.create(data_lib.DataSettings([corpus], outputs,
                                        os.path.join(ALBERT_DIR,
                                                     "vocab_chinese.txt"),
                                        max_seq_length=32,
                                        max_predictions_per_seq=5,
                                        dupe_factor=1, num_workers=1,
                                        sop=True))
  proc = clirun.run_script(
      "run_pretraining.py", "--input_file=" + outputs[0],
      "--output_dir=" + str(tmp_path / "albert"),
      "--init_checkpoint=" + ALBERT_DIR, "--model_type=albert", "--do_train",
      "--train_batch_size=4", "--num_train_steps=2", "--num_warmup_steps=0",
      "--max_seq_length=32")
  assert proc.returncode == 0, proc.stderr[-3000:]
  # 25 encoder variables and ALBERT's 7 cls/* heads (E-wide transform).
  assert "restored: 32 variables" in proc.stderr


def test_dynamic_masking_draws_new_masks(reference):
  tokenizer = tokenization.FullTokenizer(VOCAB)
  special = tuple(tokenizer.convert_tokens_to_ids(
      ["[CLS]", "[SEP]", "[MASK]"])) + (21128,)
  with tf.Graph().as_default():
    tf.set_random_seed(1)
    example = {k: tf.constant(reference[k][0]) for k in (
        "input_ids", "input_mask", "segment_ids", "masked_lm_positions",
        "masked_lm_ids", "masked_lm_weights")}
    out = pretraining._remask(example, special)  # pylint: disable=protected-access
    with tf.Session() as sess:
      draws = [sess.run(out) for _ in range(5)]
  original = reference["input_ids"][0].copy()
  real = reference["masked_lm_weights"][0] > 0
  original[reference["masked_lm_positions"][0][real]] = (
      reference["masked_lm_ids"][0][real])
  length = int(reference["input_mask"][0].sum())
  seen = set()
  for draw in draws:
    keep = draw["masked_lm_weights"] > 0
    assert keep.sum() == real.sum()
    positions = draw["masked_lm_positions"][keep]
    assert all(0 < p < length - 1 for p in positions)
    assert list(draw["masked_lm_ids"][keep]) == list(original[positions])
    unmasked = np.ones(len(original), bool)
    unmasked[positions] = False
    np.testing.assert_array_equal(draw["input_ids"][unmasked],
                                  original[unmasked])
    seen.add(tuple(sorted(positions)))
  assert len(seen) > 1


# ------------------------------------------------- long lines, vocab, words ---

def _truncate_pair_as_google(a, b, max_num_tokens, rng):
  """Google's truncate_seq_pair loop (deleting from the lists), kept here as
  the reference of the draws and the result."""
  a_tokens, a_starts = list(a.tokens), list(a.starts)
  b_tokens, b_starts = list(b.tokens), list(b.starts)
  while len(a_tokens) + len(b_tokens) > max_num_tokens:
    tokens, starts = ((a_tokens, a_starts) if len(a_tokens) > len(b_tokens)
                      else (b_tokens, b_starts))
    if rng.random() < 0.5:
      del tokens[0]
      del starts[0]
    else:
      tokens.pop()
      starts.pop()
  return (data_lib.Segment(a_tokens, a_starts),
          data_lib.Segment(b_tokens, b_starts))


def _segment(n, offset=0):
  return data_lib.Segment(["t%d" % (i + offset) for i in range(n)],
                          [i % 3 == 0 for i in range(n)])


def test_truncate_pair_keeps_googles_draws_and_is_linear():
  pick = random.Random(7)
  for case in range(300):
    a = _segment(pick.randint(1, 60))
    b = _segment(pick.randint(1, 60), 1000)
    limit = pick.randint(2, 130)
    rng_ours, rng_google = random.Random(case), random.Random(case)
    assert data_lib._truncate_pair(a, b, limit, rng_ours) == (
        _truncate_pair_as_google(a, b, limit, rng_google))
    assert rng_ours.random() == rng_google.random()  # as many draws
  # One 400,000-token line against a short one: the list-deleting loop
  # takes about 25 s here, the linear one well under a second.
  import time  # pylint: disable=g-import-not-at-top
  started = time.time()
  a, b = data_lib._truncate_pair(_segment(400000), _segment(10, 10 ** 6),
                                 125, random.Random(1))
  assert len(a.tokens) + len(b.tokens) == 125
  assert time.time() - started < 3.0


def test_a_very_long_line_is_read_as_several_lines(tmp_path):
  line = ("abc " * 30) + "中" * 150
  pieces = data_lib.split_long_line(line, 100)
  assert all(len(p) <= 100 for p in pieces)
  assert "".join(pieces).replace(" ", "") == line.replace(" ", "")
  assert pieces[0].endswith("abc")  # cut at a space in the second half
  assert data_lib.split_long_line("短句", 100) == ["短句"]
  path = tmp_path / "corpus.txt"
  path.write_text("一句。\n" + "好" * 250 + "\n\n另一个文档。\n",
                  encoding="utf-8")
  counts = collections.Counter()
  documents = list(data_lib.read_documents([str(path)], counts, 100))
  assert documents == [["一句。", "好" * 100, "好" * 100, "好" * 50],
                       ["另一个文档。"]]
  assert counts["long_lines_split"] == 1 and counts["lines"] == 3
  # Off by default (0): every line is read whole, as Google's script does.
  assert data_lib.DataSettings(["x"], ["y"], VOCAB).max_line_chars == 0
  documents = list(data_lib.read_documents([str(path)],
                                           collections.Counter(), 0))
  assert documents == [["一句。", "好" * 250], ["另一个文档。"]]
  with pytest.raises(data_lib.SettingsError, match="--max_line_chars"):
    data_lib.DataSettings(["x"], ["y"], VOCAB, max_line_chars=-1).validate()


def test_lines_are_read_as_googles_script_reads_them(tmp_path):
  """tf.gfile's text reading: lines end at "\\n" only, every "\\r" is
  dropped (so "ab\\rcd" is "abcd"), a line of Unicode spaces is blank, a
  BOM alone is not, and a file's end does not end a document."""
  first = tmp_path / "a.txt"
  first.write_bytes("\ufeff\nx\r\nab\rcd\u2028e\n\u3000\x85\nf".encode(
      "utf-8"))
  second = tmp_path / "b.txt"
  second.write_bytes("g\n\nh\n".encode("utf-8"))
  counts = collections.Counter()
  documents = list(data_lib.read_documents([str(first), str(second)],
                                           counts))
  assert documents == [["x", "abcd\u2028e"], ["f", "g"], ["h"]]
  assert counts["documents"] == 3 and counts["files"] == 2


def test_one_worker_is_googles_one_random_seed_over_the_whole_input():
  """Google's script draws from one random.Random(random_seed) over the
  whole corpus: so does the default (one worker, one chunk, chunk 0 seeded
  with random_seed itself). Several workers process chunks, each with its
  own seed."""
  settings = data_lib.DataSettings(["x"], ["y"], VOCAB, random_seed=777)
  assert settings.num_workers == 1 and settings.chunk_size() is None
  assert data_lib.chunk_seed(777, 0) == 777
  assert len({data_lib.chunk_seed(777, k) for k in range(50)}) == 50
  assert data_lib.DataSettings(["x"], ["y"], VOCAB, num_workers=2).chunk_size(
      ) == data_lib.PARALLEL_DOCUMENTS_PER_CHUNK
  assert data_lib.DataSettings(["x"], ["y"], VOCAB, num_workers=2,
                               documents_per_chunk=40).chunk_size() == 40
  assert list(data_lib.chunks_of(iter(range(5)), None)) == [[0, 1, 2, 3, 4]]
  with pytest.raises(data_lib.SettingsError, match="--documents_per_chunk"):
    data_lib.DataSettings(["x"], ["y"], VOCAB,
                          documents_per_chunk=1).validate()


def test_whole_word_groups_are_googles_across_the_separator():
  """A "##" piece right after [SEP] (B cut at its front) joins A's last
  word, as in Google's create_masked_lm_predictions."""
  tokens = ["[CLS]", "a", "##b", "[SEP]", "##c", "d", "[SEP]"]
  starts = [True] + [not t.startswith("##") for t in tokens[1:-1]] + [True]
  assert data_lib._word_groups(tokens, starts, True) == [[1, 2, 4], [5]]
  assert data_lib._word_groups(tokens, starts, False) == [[1], [2], [4], [5]]


def _vocab_without(tmp_path, *tokens):
  path = tmp_path / "vocab.txt"
  with open(VOCAB, encoding="utf-8") as f:
    lines = [line for line in f if line.strip() not in tokens]
  path.write_text("".join(lines), encoding="utf-8")
  return str(path)


def test_vocab_without_mask_is_refused_before_any_output(tmp_path, corpus):
  vocab = _vocab_without(tmp_path, "[MASK]")
  output = tmp_path / "out.tfrecord"
  with pytest.raises(tokenization.VocabError, match=r"lacks \[MASK\]"):
    data_lib.create(data_lib.DataSettings([corpus], [str(output)], vocab,
                                          num_workers=1))
  assert not output.exists()
  # Pre-training itself writes [MASK] (dynamic masking): the task asks the
  # run's tokenizer for it.
  assert "[MASK]" in pretraining.Pretraining.vocab_tokens


def test_missing_or_bad_word_list_is_named(tmp_path, corpus):
  missing = str(tmp_path / "nowhere.txt")
  settings = data_lib.DataSettings(
      [corpus], [str(tmp_path / "o.tfrecord")], VOCAB, num_workers=1,
      do_whole_word_mask=True, word_segmentation="wordlist",
      word_list=missing)
  with pytest.raises(data_lib.InputError, match="word list not found"):
    data_lib.create(settings)
  bad = tmp_path / "words.txt"
  bad.write_bytes("词语\n".encode("utf-8") + "好的".encode("gbk") + b"\n")
  settings.word_list = str(bad)
  with pytest.raises(data_lib.InputError, match="line 2: not UTF-8"):
    data_lib.create(settings)


def _write_records(path, n, seq=16, predictions=4, cut=None):
  """n pre-training records of the given shapes; `cut` keeps only that
  share of the file's bytes (a truncated copy)."""
  rng = random.Random(n)
  with tf.io.TFRecordWriter(path) as writer:
    for _ in range(n):
      ints = lambda values: tf.train.Feature(  # pylint: disable=g-long-lambda
          int64_list=tf.train.Int64List(value=values))
      feature = {name: ints([rng.randint(1, 99) for _ in range(seq)])
                 for name in ("input_ids", "input_mask", "segment_ids")}
      feature.update({name: ints([1] * predictions) for name in (
          "masked_lm_positions", "masked_lm_ids")})
      feature["masked_lm_weights"] = tf.train.Feature(
          float_list=tf.train.FloatList(value=[1.0] * predictions))
      feature["next_sentence_labels"] = ints([0])
      writer.write(tf.train.Example(features=tf.train.Features(
          feature=feature)).SerializeToString())
  if cut:
    with open(path, "rb") as f:
      data = f.read()
    with open(path, "wb") as f:
      f.write(data[:int(len(data) * cut)])
  return path


def test_records_of_every_file_are_checked_before_training(tmp_path):
  import types  # pylint: disable=g-import-not-at-top
  good = _write_records(str(tmp_path / "a.tfrecord"), 5)
  other = _write_records(str(tmp_path / "b.tfrecord"), 5, seq=32)
  settings = types.SimpleNamespace(do_predict=False, max_seq_length=None)
  with pytest.raises(data_lib.InputError) as e:
    pretraining.Pretraining([good, other]).validate(settings)
  assert str(e.value).startswith(other + ": made with --max_seq_length=32")
  with pytest.raises(data_lib.InputError, match="b.tfrecord"):
    pretraining.Pretraining([good], eval_input_files=[other]).validate(
        settings)
  task = pretraining.Pretraining([good, _write_records(
      str(tmp_path / "c.tfrecord"), 3)])
  task.validate(settings)
  assert (task.max_seq_length, task.max_predictions_per_seq) == (16, 4)


def test_a_truncated_file_met_in_training_is_named(tmp_path):
  good = _write_records(str(tmp_path / "a.tfrecord"), 5)
  cut = _write_records(str(tmp_path / "b.tfrecord"), 20, cut=0.53)
  task = pretraining.Pretraining([good, cut])
  task.max_seq_length, task.max_predictions_per_seq = 16, 4
  with pytest.raises(data_lib.InputError) as e:
    with pretraining.reporting_broken_files(task):
      raise tf.errors.DataLossError(None, None, "truncated record at 1")
  assert str(e.value).startswith(cut + ": truncated or corrupt after record")
  assert "create_pretraining_data.py" in str(e.value)
  task = pretraining.Pretraining([good])
  task.max_seq_length, task.max_predictions_per_seq = 16, 4
  with pytest.raises(tf.errors.DataLossError):   # nothing found: as it was
    with pretraining.reporting_broken_files(task):
      raise tf.errors.DataLossError(None, None, "elsewhere")


def test_input_globs_list_files_as_googles_tf_gfile_glob(tmp_path):
  """Google's script reads each pattern's files in tf.gfile.Glob's order
  (the file system's, dot files included): the document order, and so the
  records, follow it."""
  for name in ("b10", "a2", "B1", "a10", ".hidden", "c_1", "c-1"):
    (tmp_path / (name + ".txt")).write_text("x\n", encoding="utf-8")
  pattern = str(tmp_path / "*.txt")
  named = str(tmp_path / "a2.txt")
  assert data_lib.expand_inputs(pattern + "," + named) == (
      tf.gfile.Glob(pattern) + [named])
  assert str(tmp_path / ".hidden.txt") in data_lib.expand_inputs(pattern)
  assert data_lib.expand_inputs(str(tmp_path / "none-*.txt")) == []
  with pytest.raises(data_lib.InputError, match="file not found"):
    data_lib.expand_inputs(str(tmp_path / "none.txt"))


# ------------------------------------------------ a folder of raw text ---

def _text_folder(root, dev=True):
  root.mkdir()
  _corpus(str(root / "train.txt"), 30, 4)
  if dev:
    _corpus(str(root / "dev.txt"), 6, 4)
  return root


@pytest.mark.slow
def test_run_from_a_folder_of_text_makes_its_records_once(tmp_path):
  """--data_dir of raw text: train.txt made into records in the feature
  cache, dev.txt evaluated; a second command reuses the records and
  resumes; records made by hand with the same settings are the same
  bytes."""
  data = _text_folder(tmp_path / "text")
  out = str(tmp_path / "run")
  args = ("run_pretraining.py", "--data_dir=" + str(data),
          "--output_dir=" + out, "--init_checkpoint=" + BERT_DIR,
          "--do_train", "--do_eval", "--train_batch_size=4",
          "--num_warmup_steps=1", "--max_eval_steps=2", "--max_seq_length=48",
          "--dupe_factor=2", "--max_predictions_per_seq=6",
          "--eval_every_steps=3")
  proc = clirun.run_script(*args, "--num_train_steps=3")
  assert proc.returncode == 0, proc.stderr[-3000:]
  made = os.listdir(os.path.join(out, "features"))
  assert sorted(m.rsplit("-", 1)[1] for m in made) == ["dev.tfrecord",
                                                       "train.tfrecord"]
  assert proc.stderr.count("instances from") == 2
  info = json.load(open(os.path.join(out, "run_info.json")))
  assert info["max_seq_length"] == 48
  curves = [json.loads(line) for line in open(os.path.join(out,
                                                           "curves.jsonl"))]
  assert any(c["kind"] == "eval" and "masked_lm_accuracy" in c
             for c in curves)
  by_hand = str(tmp_path / "by_hand.tfrecord")
  data_lib.create(data_lib.DataSettings(
      [str(data / "train.txt")], [by_hand], VOCAB, max_seq_length=48,
      max_predictions_per_seq=6, dupe_factor=2, num_workers=1))
  train = [m for m in made if m.endswith("-train.tfrecord")][0]
  assert open(by_hand, "rb").read() == open(
      os.path.join(out, "features", train), "rb").read()
  proc = clirun.run_script(*args, "--num_train_steps=5")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert proc.stderr.count("reused (made from") == 2
  assert "at step 3 of 5" in proc.stderr
  # Other text settings make other records beside them; the same reuse.
  cache = os.path.join(out, "features")
  values = {"dupe_factor": 1, "max_predictions_per_seq": 6}
  first = data_lib.text_records(str(data), cache, VOCAB, True, 48, values)
  assert len(os.listdir(cache)) == 4 and first["dev"] is not None
  again = data_lib.text_records(str(data), cache, VOCAB, True, 48, values)
  assert again == first and len(os.listdir(cache)) == 4


@pytest.mark.slow
def test_text_folder_bad_input(tmp_path):
  empty = tmp_path / "empty"
  empty.mkdir()
  base = ("run_pretraining.py", "--output_dir=" + str(tmp_path / "o"),
          "--init_checkpoint=" + BERT_DIR, "--do_train")
  clirun.assert_user_error(
      clirun.run_script(*base, "--data_dir=" + str(empty)),
      "train.txt: no training text", "dev.txt optional")
  clirun.assert_user_error(
      clirun.run_script(*base, "--data_dir=" + str(empty),
                        "--input_file=x.tfrecord"),
      "--input_file", "--data_dir", "one of them")
  # In the library (the script prints these as the lines above):
  bad = tmp_path / "gbk"
  bad.mkdir()
  (bad / "train.txt").write_bytes("第一句。\n\n好".encode("utf-8") +
                                  "酒店".encode("gbk") + b"\n")
  settings = settings_lib.RunSettings(
      data_dir=str(bad), output_dir=str(tmp_path / "o"),
      init_checkpoint=BERT_DIR)
  with pytest.raises(data_lib.InputError, match="train.txt line 3.*UTF-8"):
    pretraining.records_of_text_folder(settings, {})
  # The text folder may not be where the run writes.
  inside = tmp_path / "o2"
  _text_folder(inside, dev=False)
  settings = settings_lib.RunSettings(
      data_dir=str(inside), output_dir=str(inside),
      init_checkpoint=BERT_DIR)
  with pytest.raises(ValueError, match="--data_dir"):
    pretraining.records_of_text_folder(settings, {})


def test_text_folder_preview(tmp_path):
  data = _text_folder(tmp_path / "text")
  tokenizer = tokenization.FullTokenizer(VOCAB)
  got = data_lib.preview(str(data), {}, tokenizer.tokenize)
  assert got["splits"] == {"train": 120, "dev": 24}
  assert got["documents"] == {"train": 30, "dev": 6}
  assert len(got["lengths"]) == 120 and min(got["lengths"]) >= 4
  assert got["problems"] == []
  (data / "dev.txt").write_bytes(b"ok\n\xff\xfe\n")
  got = data_lib.preview(str(data), {}, tokenizer.tokenize)
  assert "dev" not in got["splits"]
  assert len(got["problems"]) == 1 and "dev.txt line 2" in got["problems"][0]
  assert data_lib.preview(str(tmp_path), {}, len)["problems"][0].endswith(
      "or pass --input_file")

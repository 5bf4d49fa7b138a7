"""bert_toolkit.data.windows and the tagging head: alignment over every shared
dev/test sentence, windows, merging, entities, the fill rule, and the
tagger's model_fn (PREDICT with only the three model inputs, CRF head,
export)."""

import itertools
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
import tokenization
from bert_toolkit.data import ner_data
from bert_toolkit.data import tag_schemes
from bert_toolkit.tasks import tagging
from bert_toolkit.data import windows as windows_lib
from bert_toolkit.engine import task as task_lib
from modeling import heads
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

tf.disable_eager_execution()

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
ZH_VOCAB = os.path.join(BERT_DIR, "vocab.txt")
EN_VOCAB = os.path.join(REFERENCE_DIR, "distilbert_en_tiny", "vocab.txt")

SPLITS = [  # (task, folder, split, vocab)
    ("peoples_daily", "peoples_daily_ner", "dev", ZH_VOCAB),
    ("peoples_daily", "peoples_daily_ner", "test", ZH_VOCAB),
    ("msra", "msra_ner", "test", ZH_VOCAB),
    ("cluener", "cluener2020", "dev", ZH_VOCAB),
    ("conll2003", "conll2003", "dev", EN_VOCAB),
    ("conll2003", "conll2003", "test", EN_VOCAB),
]

_TOKENIZERS = {}


def tokenizer_for(vocab):
  if vocab not in _TOKENIZERS:
    _TOKENIZERS[vocab] = tokenization.FullTokenizer(vocab, True)
  return _TOKENIZERS[vocab]


def gold_as_predictions(windows):
  """What a perfect model outputs: the label ids (0 where ignored), padded."""
  return [np.array([max(i, 0) for i in w.label_ids] + [0, 0])
          for w in windows]


def round_trip(example, tokenizer, labels, max_seq_length, scheme="BIO",
               label_x=False):
  """gold tags -> windows -> perfect predictions -> merged tags."""
  label_map = {label: i for i, label in enumerate(labels)}
  windows = windows_lib.unit_windows(example.units, tokenizer, max_seq_length,
                                     tags=example.tags, label_map=label_map,
                                     label_x=label_x)
  for w in windows:
    assert len(w.input_ids) <= max_seq_length
    assert len(w.input_ids) == len(w.label_ids) == len(w.piece_units)
  tags, scores = windows_lib.merge_windows(
      windows, gold_as_predictions(windows), len(example.units), labels,
      scheme)
  assert len(scores) == len(example.units)
  return windows, tags


@pytest.mark.slow
@pytest.mark.parametrize("task_name,folder,split,vocab", SPLITS)
def test_every_sentence_round_trips(task_name, folder, split, vocab):
  """One tag per unit; gold -> features -> back is the gold, with windows.

  max_seq_length 128 is the usual setting; 24 forces windows on most
  sentences (the merge must then pick each unit from some window).
  """
  task = ner_data.get_ner_task(task_name)
  examples = task.get_examples(os.path.join(DATA_DIR, folder), split)
  labels = task.get_labels()
  tokenizer = tokenizer_for(vocab)
  windowed = 0
  for example in examples:
    for max_seq_length in (128, 24):
      windows, tags = round_trip(example, tokenizer, labels, max_seq_length)
      assert len(tags) == len(example.units)
      assert tags == example.tags, example.guid
      windowed += len(windows) > 1
  assert windowed > len(examples) // 10


@pytest.mark.parametrize("scheme,label_x", [("BIOES", False), ("BIO", True)])
def test_round_trip_bioes_and_label_x(scheme, label_x):
  task = ner_data.get_ner_task("conll2003", scheme)
  examples = task.get_examples(os.path.join(DATA_DIR, "conll2003"), "dev")
  labels = task.get_labels() + (["X"] if label_x else [])
  tokenizer = tokenizer_for(EN_VOCAB)
  x_seen = 0
  for example in examples[:600]:
    windows, tags = round_trip(example, tokenizer, labels, 20, scheme,
                               label_x)
    assert tags == example.tags
    x_seen += sum(i == labels.index("X") for w in windows
                  for i in w.label_ids) if label_x else 0
  assert x_seen > 100 if label_x else x_seen == 0


def test_first_piece_carries_the_label():
  tokenizer = tokenizer_for(EN_VOCAB)
  units = ["Johanson", "visited", "Ljubljana", "."]
  tags = ["B-PER", "O", "B-LOC", "O"]
  labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER", "X"]
  label_map = {l: i for i, l in enumerate(labels)}
  (window,) = windows_lib.unit_windows(units, tokenizer, 64, tags=tags,
                                       label_map=label_map)
  pieces = tokenizer.convert_ids_to_tokens(window.input_ids)
  assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
  assert len(pieces) > len(units) + 2  # some words are split
  for p, piece in enumerate(pieces):
    unit = window.piece_units[p]
    if window.first_piece[p]:
      assert window.label_ids[p] == label_map[tags[unit]]
      assert not piece.startswith("##")
    else:
      assert window.label_ids[p] == -1
  (window_x,) = windows_lib.unit_windows(units, tokenizer, 64, tags=tags,
                                         label_map=label_map, label_x=True)
  assert [l for l, f in zip(window_x.label_ids[1:-1],
                            window_x.first_piece[1:-1]) if not f] == \
      [5] * (len(pieces) - 2 - len(units))


def test_dropped_and_unknown_units_keep_alignment():
  """Zero-width, control and space units give no piece, [UNK] one piece:
  every unit still gets exactly one tag, filled by the documented rule."""
  tokenizer = tokenizer_for(ZH_VOCAB)
  text = "张\u200b三 在\x00北京\U0001F600"
  units, offsets = windows_lib.text_to_units(text, "")
  assert len(units) == len(text) and offsets == list(range(len(text)))
  pieces = tokenizer.tokenize_units(units)
  assert [len(p) for p in pieces] == [1, 0, 1, 0, 1, 0, 1, 1, 1]
  assert pieces[-1] == ["[UNK]"]
  labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
  tags = ["B-PER", "I-PER", "I-PER", "O", "O", "O", "B-LOC", "I-LOC", "O"]
  label_map = {l: i for i, l in enumerate(labels)}
  for max_seq_length in (32, 4):
    windows = windows_lib.unit_windows(units, tokenizer, max_seq_length,
                                       tags=tags, label_map=label_map)
    merged, _ = windows_lib.merge_windows(windows, gold_as_predictions(windows),
                                          len(units), labels)
    assert merged == tags
  entities = windows_lib.entities_from_tags(text, units, offsets, merged)
  assert entities == [
      {"type": "PER", "start": 0, "end": 3, "mention": "张\u200b三"},
      {"type": "LOC", "start": 6, "end": 8, "mention": "北京"}]
  assert windows_lib.fill_missing_tags(["B-PER", None, "O"]) == \
      ["B-PER", "O", "O"]
  assert windows_lib.fill_missing_tags(["B-PER", None, "E-PER"], "BIOES") == \
      ["B-PER", "I-PER", "E-PER"]


def test_word_units_offsets_and_entities():
  text = "  EU rejects\tGerman call  to boycott British lamb . "
  units, offsets = windows_lib.text_to_units(text, " ")
  assert units == text.split()
  for unit, offset in zip(units, offsets):
    assert text[offset:offset + len(unit)] == unit
  tags = ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]
  entities = windows_lib.entities_from_tags(text, units, offsets, tags)
  assert [(e["type"], e["mention"]) for e in entities] == [
      ("ORG", "EU"), ("MISC", "German"), ("MISC", "British")]
  for e in entities:
    assert text[e["start"]:e["end"]] == e["mention"]
  bioes = tag_schemes.bio_to_bioes(tags)
  assert windows_lib.entities_from_tags(text, units, offsets, bioes,
                                        "BIOES") == entities


def test_windows_cover_long_sentence_and_merge_uses_most_context():
  tokenizer = tokenizer_for(ZH_VOCAB)
  units = list("中华人民共和国成立于一九四九年十月一日北京天安门广场" * 3)
  windows = windows_lib.unit_windows(units, tokenizer, 12, stride=4)
  assert len(windows) > 3
  starts = [w.first_unit for w in windows]
  assert starts == sorted(starts) and starts[0] == 0
  assert windows[-1].end_unit == len(units)
  for a, b in zip(windows, windows[1:]):
    assert b.first_unit <= a.end_unit  # overlapping or touching: no gap
  # Window w predicts label id w everywhere: each unit must come from the
  # window where it has the most context on both sides.
  labels = ["L%d" % i for i in range(len(windows))]
  merged, _ = windows_lib.merge_windows(
      windows, [np.full(12, w) for w in range(len(windows))], len(units),
      labels)
  for unit in range(len(units)):
    best, best_context = None, -1
    for w, window in enumerate(windows):
      if window.first_unit <= unit < window.end_unit:
        p = window.piece_units.index(unit)
        context = min(p - 1, len(window.input_ids) - 2 - p)
        if context > best_context:
          best, best_context = w, context
    assert merged[unit] == labels[best]
  assert len(set(merged)) == len(windows)  # every window contributes


def test_unit_longer_than_window_is_cut_not_lost():
  tokenizer = tokenizer_for(EN_VOCAB)
  units = ["a", "supercalifragilisticexpialidocious" * 3, "b"]
  windows = windows_lib.unit_windows(units, tokenizer, 6)
  covered = {w.piece_units[p] for w in windows
             for p in range(len(w.input_ids)) if w.first_piece[p]}
  assert covered == {0, 1, 2}
  assert all(len(w.input_ids) <= 6 for w in windows)


# ------------------------------------------------------------- the head ---

def _brute_force_partial(potentials, length, transitions, gold, labelled):
  """log p(gold at labelled positions) by enumerating every path."""
  num_tags = potentials.shape[1]
  scores, agree = [], []
  for path in itertools.product(range(num_tags), repeat=length):
    score = sum(potentials[t, y] for t, y in enumerate(path))
    score += sum(transitions[a, b] for a, b in zip(path[:-1], path[1:]))
    scores.append(score)
    agree.append(all(path[t] == gold[t] for t in range(length)
                     if labelled[t]))
  scores = np.array(scores)
  log_z = np.logaddexp.reduce(scores)
  return np.logaddexp.reduce(scores[np.array(agree)]) - log_z


def test_crf_partial_log_likelihood_matches_brute_force():
  rng = np.random.RandomState(7)
  num_tags, max_len = 3, 5
  graph = tf.Graph()
  with graph.as_default():
    pot = tf.placeholder(tf.float64, [None, None, num_tags])
    gold = tf.placeholder(tf.int32, [None, None])
    weights = tf.placeholder(tf.float64, [None, None])
    lengths = tf.placeholder(tf.int32, [None])
    trans = tf.placeholder(tf.float64, [num_tags, num_tags])
    ll = heads.crf_partial_log_likelihood(pot, gold, weights, lengths, trans)
    with tf.Session() as sess:
      for _ in range(6):
        lens = np.array([max_len, 3, 1], dtype=np.int32)
        p = rng.randn(3, max_len, num_tags) * 2
        t = rng.randn(num_tags, num_tags)
        g = rng.randint(0, num_tags, size=[3, max_len])
        w = (rng.rand(3, max_len) < 0.6).astype(np.float64)
        w[:, 0] = 0.0  # [CLS] is never labelled
        w[1, 1] = 1.0
        got = sess.run(ll, {pot: p, gold: g, weights: w, lengths: lens,
                            trans: t})
        for b in range(3):
          want = _brute_force_partial(p[b], lens[b], t, g[b], w[b])
          assert abs(got[b] - want) < 1e-6, (b, got[b], want)
          labelled = w[b, :lens[b]].sum()
          assert got[b] < 0 if labelled else abs(got[b]) < 1e-9


def _estimator(model_fn, model_dir):
  return tf.estimator.Estimator(model_fn=model_fn, model_dir=model_dir)


def _predict_input_fn(batches):
  """Only input_ids / input_mask / segment_ids; seq differs per batch."""
  def input_fn(params=None):
    del params
    def gen():
      for ids, mask in batches:
        yield {"input_ids": ids, "input_mask": mask,
               "segment_ids": np.zeros_like(ids)}
    types = {k: tf.int32 for k in ("input_ids", "input_mask", "segment_ids")}
    shapes = {k: tf.TensorShape([None, None]) for k in types}
    return tf.data.Dataset.from_generator(gen, types, shapes)
  return input_fn


@pytest.mark.slow
@pytest.mark.parametrize("crf,lstm_size", [(False, 0), (True, 4)])
def test_model_fn_predicts_from_model_inputs_only_and_exports(
    tmp_path, crf, lstm_size):
  files = modeling.find_pretrained(BERT_DIR)
  labels = ["O", "B-PER", "I-PER"]
  model_fn = task_lib.model_fn_from_run_info({
      "kind": "ner", "model_type": "bert", "config": files.config,
      "labels": labels, "head": {"crf": crf, "lstm_size": lstm_size}})
  model_dir = str(tmp_path / "model")
  # Save a checkpoint of random weights through a tiny session.
  with tf.Graph().as_default():
    features = {k: tf.zeros([1, 4], tf.int32) + (1 if k == "input_mask"
                                                 else 0)
                for k in ("input_ids", "input_mask", "segment_ids")}
    model_fn(features, None, tf.estimator.ModeKeys.PREDICT, None)
    tf.train.get_or_create_global_step()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver().save(sess, os.path.join(model_dir, "model.ckpt"))
  rng = np.random.RandomState(0)
  batches = []
  for batch, seq in ((2, 7), (3, 11)):
    ids = rng.randint(100, 2000, size=[batch, seq]).astype(np.int32)
    mask = np.ones([batch, seq], np.int32)
    mask[0, seq - 3:] = 0
    ids[0, seq - 3:] = 0
    batches.append((ids, mask))
  estimator = _estimator(model_fn, model_dir)
  rows = list(estimator.predict(_predict_input_fn(batches),
                                yield_single_examples=False))
  assert len(rows) == 2
  for (ids, mask), row in zip(batches, rows):
    # The emission scores are a prediction (for distillation), not an
    # export output (below).
    assert set(row) == {"tag_ids", "tag_scores", "logits"}
    assert row["logits"].shape == ids.shape + (3,)
    assert row["tag_ids"].shape == ids.shape
    assert row["tag_ids"].dtype == np.int32
    assert row["tag_scores"].dtype == np.float32
    real = mask.astype(bool)
    assert ((row["tag_ids"] >= 0) & (row["tag_ids"] < 3)).all()
    scores = row["tag_scores"][real]
    assert ((scores > 0) & (scores <= 1)).all()
    assert (row["tag_ids"][~real] == 0).all()
    if not crf:
      assert (row["tag_scores"][real] >= 1.0 / 3 - 1e-6).all()

  def serving_input_fn():
    inputs = {k: tf.placeholder(tf.int32, [None, None], name=k)
              for k in ("input_ids", "input_mask", "segment_ids")}
    return tf.estimator.export.ServingInputReceiver(inputs, inputs)

  export_dir = estimator.export_saved_model(str(tmp_path / "export"),
                                            serving_input_fn)
  if isinstance(export_dir, bytes):
    export_dir = export_dir.decode("utf-8")
  assert os.path.isfile(os.path.join(export_dir, "saved_model.pb"))
  with tf.Graph().as_default(), tf.Session() as sess:
    meta = tf.saved_model.loader.load(sess, ["serve"], export_dir)
  outputs = meta.signature_def["serving_default"].outputs
  assert set(outputs) == {"tag_ids", "tag_scores"}


def test_entity_scores_read_invalid_bioes_predictions():
  """A model may predict sequences that are not valid BIOES; scoring reads
  them by the repair rule instead of raising."""
  gold = [["B-PER", "E-PER", "O"]]
  scores = tagging.entity_scores(gold, [["B-PER", "O", "O"]], "BIOES")
  assert scores["precision"] == 0.0 and scores["recall"] == 0.0
  scores = tagging.entity_scores(gold, [["E-PER", "E-PER", "S-LOC"]],
                                 "BIOES")
  assert scores["precision"] == 0.0 and scores["recall"] == 0.0
  # B-PER I-PER O never closes with E-PER, but reads as the gold entity.
  scores = tagging.entity_scores(gold, [["B-PER", "I-PER", "O"]], "BIOES")
  assert scores["precision"] == 1.0 and scores["recall"] == 1.0
  assert tag_schemes.to_bio(["O", "E-PER", "S-LOC"], "BIOES") == [
      "O", "B-PER", "B-LOC"]


def test_dev_tag_of_a_type_train_lacks_names_the_file_and_line(tmp_path):
  """A dev entity type absent from train is one InputError (file, line,
  tag, fix), not a KeyError while windowing."""
  from bert_toolkit.errors import InputError  # pylint: disable=g-import-not-at-top
  for name, text in (("train.txt", "a B-PER\nb I-PER\n\nc O\n"),
                     ("dev.txt", "a B-PER\n\nb O\nc B-FOO\n")):
    (tmp_path / name).write_text(text, encoding="utf-8")
  for scheme in ("BIO", "BIOES"):
    task = tagging.Tagger("bio", scheme=scheme)
    task.resolve_head(None, str(tmp_path))
    labels = task.read_labels(str(tmp_path), task.read_split(str(tmp_path),
                                                             "train"))
    with pytest.raises(InputError) as raised:
      task.read_split(str(tmp_path), "dev", labels)
    message = str(raised.value)
    assert "dev.txt line 4" in message and "FOO" in message, message
    assert "training file" in message


def test_negative_window_stride_is_refused():
  tokenizer = tokenization.from_vocab(ZH_VOCAB, True)
  with pytest.raises(ValueError, match="stride"):
    windows_lib.unit_windows(list("北京欢迎你"), tokenizer, 6, stride=-3)
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
  from bert_toolkit import settings as settings_lib  # pylint: disable=g-import-not-at-top
  with pytest.raises(SettingsError, match="--window_stride must be at least 0"):
    tagging.Tagger("bio", window_stride=-3).validate(
        settings_lib.RunSettings())

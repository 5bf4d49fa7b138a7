"""bert_toolkit.data.squad: reading, features and predictions, checked field
for field against google-research/bert's run_squad.py and HFL's CMRC 2018
baseline (imported unmodified through tools/google_squad_shim.py), and its
input errors."""

import json
import logging
import os

import numpy as np
import pytest

import tokenization
from bert_toolkit.data import squad
from bert_toolkit.errors import InputError
from bert_toolkit.errors import SettingsError
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR
from tools import google_squad_shim

ZH_VOCAB = os.path.join(REFERENCE_DIR, "bert_zh_tiny", "vocab.txt")
EN_VOCAB = os.path.join(REFERENCE_DIR, "distilbert_en_tiny", "vocab.txt")
CMRC_TRIAL = os.path.join(DATA_DIR, "cmrc2018", "cmrc2018_trial.json")
# (max_seq_length, doc_stride, max_query_length): long contexts give several
# windows in both.
WINDOWS = ((128, 48, 24), (64, 24, 16))


@pytest.fixture(scope="module")
def google():
  return google_squad_shim.load_google()


@pytest.fixture(scope="module")
def hfl():
  module = google_squad_shim.load_hfl()

  def no_debugger():
    raise AssertionError("HFL's reader stopped in pdb")

  module.pdb.set_trace = no_debugger
  return module


def _write(tmp_path, name, obj):
  path = str(tmp_path / name)
  with open(path, "w", encoding="utf-8") as f:
    json.dump(obj, f, ensure_ascii=False, indent=1)
  return path


def _squad_file(tmp_path, name, paragraphs):
  return _write(tmp_path, name, {"version": "t", "data": [
      {"title": "t", "paragraphs": paragraphs}]})


def _cmrc_slice(folder, right_starts_only):
  """60 questions of the CMRC 2018 trial set on contexts of 250 to 600
  characters (several windows each); right_starts_only: only those whose
  answer_start points at the answer (Google's reader refuses the others)."""
  with open(CMRC_TRIAL, encoding="utf-8") as f:
    data = json.load(f)["data"]
  paragraphs = [p for article in data for p in article["paragraphs"]]
  chosen, count = [], 0
  for paragraph in paragraphs:
    if not 250 <= len(paragraph["context"]) <= 600:
      continue
    context = paragraph["context"]
    qas = [qa for qa in paragraph["qas"]
           if not right_starts_only or
           context[qa["answers"][0]["answer_start"]:].startswith(
               qa["answers"][0]["text"])]
    if qas:
      chosen.append(dict(paragraph, qas=qas))
      count += len(qas)
    if count >= 60:
      break
  path = str(folder / "slice.json")
  with open(path, "w", encoding="utf-8") as f:
    json.dump({"data": [{"title": "t", "paragraphs": chosen}]}, f,
              ensure_ascii=False)
  return path


@pytest.fixture(scope="module")
def cmrc_slice(tmp_path_factory):
  return _cmrc_slice(tmp_path_factory.mktemp("cmrc"), True)


def _same_examples(theirs, ours):
  assert len(theirs) == len(ours)
  for a, b in zip(theirs, ours):
    for name, value in vars(a).items():
      assert getattr(b, name) == value, (a.qas_id, name)


def _same_features(theirs, ours):
  assert len(theirs) == len(ours)
  for a, b in zip(theirs, ours):
    for name, value in vars(a).items():
      assert getattr(b, name) == value, (a.unique_id, name)


def _their_features(module, examples, tokenizer, window, is_training):
  out = []
  module.convert_examples_to_features(examples, tokenizer, window[0],
                                      window[1], window[2], is_training,
                                      out.append)
  return out


def _compare_reading_and_features(module, path, their_tokenizer,
                                  our_tokenizer, windows, min_windows=1,
                                  **read_args):
  """Training and prediction examples and features, theirs == ours, for
  each (max_seq_length, doc_stride, max_query_length); returns the last
  (prediction) examples and features, theirs and ours."""
  style = read_args.get("style", "google")
  for is_training in (True, False):
    theirs = module.read_squad_examples(path, is_training)
    ours = squad.read_squad_examples(path, is_training, **read_args)
    _same_examples(theirs, ours)
    for window in windows:
      their_features = _their_features(module, theirs, their_tokenizer,
                                       window, is_training)
      our_features = squad.convert_examples_to_features(
          ours, our_tokenizer, *window, is_training=is_training, style=style)
      _same_features(their_features, our_features)
      assert max(f.doc_span_index for f in our_features) >= min_windows - 1
  return theirs, ours, their_features, our_features


def _random_results(features, seed, transform=None):
  rng = np.random.RandomState(seed)
  results = []
  for feature in features:
    start, end = (rng.randn(len(feature.input_ids)) * 3 for _ in range(2))
    if transform:
      start, end = (transform(x, feature) for x in (start, end))
    results.append(squad.RawResult(
        feature.unique_id, [float(x) for x in start], [float(x) for x in end]))
  return results


def _their_predictions(module, tmp_path, *args):
  paths = [str(tmp_path / name) for name in ("p.json", "n.json", "o.json")]
  if "output_null_log_odds_file" not in module.write_predictions.__code__.\
      co_varnames:
    paths = paths[:2]
  module.write_predictions(*(args + tuple(paths)))
  loaded = []
  for path in paths:
    if os.path.exists(path):  # null odds: with version_2_with_negative only
      with open(path, encoding="utf-8") as f:
        loaded.append(json.load(f))
      os.remove(path)
    else:
      loaded.append(None)
  return loaded + [None] * (3 - len(loaded))


def _same_predictions(theirs, ours):
  predictions, nbest, null_odds = ours
  assert theirs[0] == dict(predictions)
  assert list(theirs[1]) == list(nbest)
  for qas_id, entries in theirs[1].items():
    assert len(entries) == len(nbest[qas_id]), qas_id
    for a, b in zip(entries, nbest[qas_id]):
      assert list(a) == list(b)
      for key, value in a.items():
        if key == "text" or key.endswith("index"):
          assert b[key] == value
        else:
          assert b[key] == pytest.approx(value, abs=1e-6)
  if theirs[2] is None:
    assert null_odds is None
  else:
    assert list(theirs[2]) == list(null_odds)
    assert list(null_odds.values()) == pytest.approx(
        list(theirs[2].values()), abs=1e-6)


# ------------------------------------------------------- Google parity ---

@pytest.mark.slow
def test_google_features_and_predictions_match_google_on_cmrc(
    google, cmrc_slice, tmp_path):
  google_squad_shim.set_flags(google, version_2_with_negative=False,
                              verbose_logging=False)
  their_tokenizer = google.tokenization.FullTokenizer(ZH_VOCAB, True)
  our_tokenizer = tokenization.FullTokenizer(ZH_VOCAB, True)
  theirs, ours, their_features, our_features = \
      _compare_reading_and_features(google, cmrc_slice, their_tokenizer,
                                    our_tokenizer, WINDOWS, min_windows=4)
  results = _random_results(our_features, seed=1)
  _same_predictions(
      _their_predictions(google, tmp_path, theirs, their_features, results,
                         20, 30, True),
      squad.write_predictions(ours, our_features, results, 20, 30, True))


ENGLISH = [
    {"context": "The leader was John Smith (1895-1943). He lived\tin "
                "Caf\u00e9 Na\u00efve,  a place   in\u202fParis.",
     "qas": [{"id": "e1", "question": "When was John Smith born?",
              "answers": [{"text": "1895", "answer_start": 27}],
              "is_impossible": False},
             {"id": "e2", "question": "Where did he live?",
              "answers": [{"text": "Caf\u00e9 Na\u00efve",
                           "answer_start": 49}], "is_impossible": False},
             {"id": "e3", "question": "Which city?",
              "answers": [], "is_impossible": True}]},
    {"context": "The Japanese electronics industry is the largest in the "
                "world. Steve Smith's team won in 2019.",
     "qas": [{"id": "e4", "question": "What country exports electronics?",
              "answers": [{"text": "Japan", "answer_start": 4}],
              "is_impossible": False},
             {"id": "e5", "question": "Whose team won?",
              "answers": [{"text": "Steve Smith", "answer_start": 63}],
              "is_impossible": False},
             {"id": "e6", "question": "Is this unanswerable?",
              "answers": [], "is_impossible": True}]},
]


for _paragraph in ENGLISH:
  for _qa in _paragraph["qas"]:
    for _answer in _qa["answers"]:
      _answer["answer_start"] = _paragraph["context"].find(_answer["text"])


@pytest.mark.parametrize("do_lower_case", [True, False])
@pytest.mark.parametrize("version_2", [False, True])
def test_google_matches_google_on_english(google, tmp_path, do_lower_case,
                                          version_2):
  qas_kept = ENGLISH if version_2 else [
      dict(p, qas=[qa for qa in p["qas"] if not qa["is_impossible"]])
      for p in ENGLISH]
  path = _squad_file(tmp_path, "en.json", qas_kept)
  google_squad_shim.set_flags(google, version_2_with_negative=version_2,
                              null_score_diff_threshold=0.5)
  their_tokenizer = google.tokenization.FullTokenizer(EN_VOCAB, do_lower_case)
  our_tokenizer = tokenization.FullTokenizer(EN_VOCAB, do_lower_case)
  theirs, ours, their_features, our_features = \
      _compare_reading_and_features(
          google, path, their_tokenizer, our_tokenizer,
          [(20, 5, 6), (24, 6, 8)],
          min_windows=2, version_2_with_negative=version_2)
  for seed in range(3):
    results = _random_results(our_features, seed)
    _same_predictions(
        _their_predictions(google, tmp_path, theirs, their_features, results,
                           20, 6, do_lower_case),
        squad.write_predictions(ours, our_features, results, 20, 6,
                                do_lower_case, version_2, 0.5))


def test_no_non_null_candidate_predicts_empty():
  """Google's code fails on this; here: "" with the null score as odds."""
  example = squad.SquadExample("x", "?", ["a", "b"])
  feature = squad.InputFeatures(
      squad.FIRST_UNIQUE_ID, 0, 0, ["[CLS]", "?", "[SEP]", "a", "b", "[SEP]"],
      {3: 0, 4: 1}, {3: True, 4: True}, [0] * 6, [1] * 6, [0] * 6)
  # The best start and end (n_best_size 1) are [CLS]: no span.
  result = squad.RawResult(feature.unique_id, [5.0, 0, 0, 1, 1, 0],
                           [4.0, 0, 0, 1, 1, 0])
  predictions, nbest, null_odds = squad.write_predictions(
      [example], [feature], [result], 1, 5, True, True)
  assert predictions == {"x": ""}
  assert [e["text"] for e in nbest["x"]] == [""]
  assert null_odds == {"x": 9.0}


# ---------------------------------------------------------- HFL parity ---

def _hfl_outputs(logits, feature):
  """HFL's model outputs in PREDICT: span-masked logits, log-softmax."""
  masked = logits + (1.0 - np.asarray(feature.input_span_mask)) * -10000.0
  top = masked.max()
  return masked - (top + np.log(np.exp(masked - top).sum()))


@pytest.mark.slow
@pytest.mark.parametrize("do_lower_case", [False, True])
def test_hfl_matches_hfl_baseline_on_cmrc(hfl, tmp_path, do_lower_case):
  path = _cmrc_slice(tmp_path, False)
  google_squad_shim.set_flags(hfl, vocab_file=ZH_VOCAB,
                              do_lower_case=do_lower_case,
                              verbose_logging=False)
  tokenizer = tokenization.FullTokenizer(ZH_VOCAB, do_lower_case)
  theirs, ours, their_features, our_features = \
      _compare_reading_and_features(
          hfl, path, None, tokenizer, WINDOWS, min_windows=4,
          style="hfl_cmrc", do_lower_case=do_lower_case)
  results = _random_results(our_features, seed=2, transform=_hfl_outputs)
  _same_predictions(
      _their_predictions(hfl, tmp_path, theirs, their_features, results, 20,
                         30, do_lower_case),
      squad.write_predictions(ours, our_features, results, 20, 30,
                              do_lower_case, style="hfl_cmrc"))


MIXED = [
    {"context": "2019\u5e74\uff0cJohn Smith\u5728Caf\u00e9 Na\u00efve "
                "\u5de5\u4f5c\u3002\u4ed6\u8bf4\uff1a\u201cHello, "
                "World!\u201d\u3000\u5e76\u5728 (1895-1943) \u4e4b\u95f4"
                "\u751f\u6d3b\u3002",
     "qas": [{"id": "m1", "question": "Who said Hello?",
              "answers": [{"text": "John Smith", "answer_start": 0}]},
             {"id": "m2", "question": "\u54ea\u4e00\u5e74\uff1f",
              "answers": [{"text": "1895", "answer_start": 0}]},
             {"id": "m3", "question": "Where?",
              "answers": [{"text": "Caf\u00e9 Na\u00efve",
                           "answer_start": 0}]}]},
]


@pytest.mark.parametrize("do_lower_case", [False, True])
def test_hfl_matches_hfl_baseline_on_mixed_text(hfl, tmp_path,
                                                do_lower_case):
  path = _squad_file(tmp_path, "mixed.json", MIXED)
  google_squad_shim.set_flags(hfl, vocab_file=EN_VOCAB,
                              do_lower_case=do_lower_case)
  tokenizer = tokenization.FullTokenizer(EN_VOCAB, do_lower_case)
  theirs, ours, their_features, our_features = \
      _compare_reading_and_features(
          hfl, path, None, tokenizer, [(32, 8, 8)], min_windows=2,
          style="hfl_cmrc", do_lower_case=do_lower_case)
  for seed in range(3):
    results = _random_results(our_features, seed, transform=_hfl_outputs)
    _same_predictions(
        _their_predictions(hfl, tmp_path, theirs, their_features, results,
                           20, 8, do_lower_case),
        squad.write_predictions(ours, our_features, results, 20, 8,
                                do_lower_case, style="hfl_cmrc"))


def test_hfl_words():
  words, offsets = squad.hfl_words("ab\u4e2d c,d", True)
  assert words == ["ab", "\u4e2d", "c", ",", "d"]
  assert offsets == [0, 0, 1, 1, 2, 3, 4]
  # U+2028 splits words for str.split but is not BERT whitespace.
  assert squad.hfl_words("a\u2028b") is None


def test_improve_answer_span_and_final_text():
  tokenizer = tokenization.FullTokenizer(EN_VOCAB, True)
  pieces = tokenizer.tokenize("(1895-1943).")
  start, end = squad._improve_answer_span(pieces, 0, len(pieces) - 1,
                                          tokenizer, "1895")
  assert pieces[start:end + 1] == ["1895"]
  assert squad.get_final_text("steve smith", "Steve Smith's", True) == \
      "Steve Smith"
  # Alignment fails -> the original words.
  assert squad.get_final_text("zzz", "Steve Smith's", True) == "Steve Smith's"


# --------------------------------------------------------- input errors ---

def _error(path, *args, **kwargs):
  with pytest.raises(InputError) as info:
    squad.read_squad_examples(path, *args, **kwargs)
  return str(info.value)


def _one(context, answer_text, answer_start, qas_id="q1"):
  return [{"context": context, "qas": [{
      "id": qas_id, "question": "?",
      "answers": [{"text": answer_text, "answer_start": answer_start}]}]}]


def test_bad_files_are_input_errors(tmp_path):
  path = str(tmp_path / "gbk.json")
  with open(path, "wb") as f:
    f.write('{"data": [\n{"title": "\u4e2d\u6587"}]}'.encode("gbk"))
  message = _error(path, True)
  assert path in message and "line 2" in message and "UTF-8" in message
  path = str(tmp_path / "bad.json")
  with open(path, "w") as f:
    f.write('{"data": [\n  {"paragraphs": }]}')
  message = _error(path, False)
  assert "line 2" in message and "not JSON" in message
  path = _write(tmp_path, "nodata.json", {"version": "1.1"})
  assert "no \"data\" list" in _error(path, False)
  path = _write(tmp_path, "nokey.json", {"data": [{"paragraphs": [
      {"context": "abc", "qas": [{"id": "k9", "answers": []}]}]}]})
  message = _error(path, False)
  assert "k9" in message and "\"question\"" in message
  path = _write(tmp_path, "nopara.json", {"data": [{"title": "Tokyo"}]})
  message = _error(path, False)
  assert "article \"Tokyo\"" in message and "\"paragraphs\"" in message


def test_errors_name_the_line_of_the_question_id(tmp_path):
  # The id also occurs in the context, lines before the question.
  paragraphs = _one("see 7 here, abc def", "def", 3, 7)
  path = _squad_file(tmp_path, "line.json", paragraphs)
  with open(path, encoding="utf-8") as f:
    id_line = [n for n, line in enumerate(f, 1) if '"id": 7' in line]
  message = _error(path, True)
  assert "line %d: question 7:" % id_line[0] in message


def test_empty_context_names_the_question(tmp_path):
  path = _squad_file(tmp_path, "empty.json", _one(" \n ", "a", 0, "z7"))
  for style in squad.STYLES:
    message = _error(path, False, style=style)
    assert "\"z7\"" in message and "empty context" in message
    assert "line " in message


def test_answer_start_out_of_range_or_wrong_is_an_error(tmp_path):
  path = _squad_file(tmp_path, "far.json", _one("abc def", "def", 40, "far1"))
  message = _error(path, True)
  assert "\"far1\"" in message and "out of its context" in message
  path = _squad_file(tmp_path, "off.json", _one("abc def", "def", 3, "off1"))
  message = _error(path, True)
  assert "\"off1\"" in message and "reads \" de\"" in message
  # Prediction does not read answers.
  assert len(squad.read_squad_examples(path, False)) == 1


def test_multiple_answers_for_training_is_an_error(tmp_path):
  paragraphs = _one("abc def", "def", 4, "m1")
  paragraphs[0]["qas"][0]["answers"] *= 2
  path = _squad_file(tmp_path, "multi.json", paragraphs)
  assert "exactly 1 answer" in _error(path, True)
  # HFL takes the first answer.
  assert len(squad.read_squad_examples(path, True, style="hfl_cmrc")) == 1


def test_unfound_answers_are_skipped_with_one_warning(tmp_path, caplog):
  # U+00A0 is no word separator for Google's reader, but the answer's text
  # is normalised on it: the answer cannot be found in the words.
  paragraphs = (_one("one two\u00a0three", "two\u00a0three", 4, "s1") +
                _one("four five\u00a0six", "five\u00a0six", 5, "s2") +
                _one("seven eight", "eight", 6, "ok"))
  path = _squad_file(tmp_path, "skip.json", paragraphs)
  with caplog.at_level(logging.WARNING, logger="tensorflow"):
    examples = squad.read_squad_examples(path, True)
  assert [e.qas_id for e in examples] == ["ok"]
  warnings = [r.getMessage() for r in caplog.records
              if r.levelno == logging.WARNING]
  assert len(warnings) == 1
  assert "skipped 2" in warnings[0] and "s1, s2" in warnings[0]


def test_hfl_answer_not_in_context_is_skipped(tmp_path):
  path = _squad_file(tmp_path, "hfl.json",
                     _one("\u4e00\u4e8c\u4e09", "\u56db", 0, "h1") +
                     _one("\u4e00\u4e8c\u4e09", "\u4e8c", 9, "h2"))
  examples = squad.read_squad_examples(path, True, style="hfl_cmrc")
  assert [(e.qas_id, e.start_position) for e in examples] == [("h2", 1)]


def test_settings_that_cannot_work(tmp_path):
  path = _squad_file(tmp_path, "s.json", _one("abc def", "def", 4))
  examples = squad.read_squad_examples(path, False)
  tokenizer = tokenization.FullTokenizer(EN_VOCAB, True)
  with pytest.raises(SettingsError, match="max_query_length"):
    squad.convert_examples_to_features(examples, tokenizer, 20, 8, 17, False)
  with pytest.raises(SettingsError, match="doc_stride"):
    squad.convert_examples_to_features(examples, tokenizer, 64, 0, 16, False)
  with pytest.raises(SettingsError, match="squad_style"):
    squad.read_squad_examples(path, False, style="cmrc")
  with pytest.raises(SettingsError, match="version_2_with_negative"):
    squad.read_squad_examples(path, False, True, style="hfl_cmrc")

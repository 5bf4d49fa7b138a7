"""Tokenization: Google-identical tokens and ids on the reference fixtures,
model inputs, character spans for NER, and vocab errors."""

import json
import os
import random
import unicodedata

import numpy as np
import pytest

import tokenization
from tests.paths import REFERENCE_DIR

ZH_VOCAB = os.path.join(REFERENCE_DIR, "bert_zh_tiny", "vocab.txt")
EN_VOCAB = os.path.join(REFERENCE_DIR, "distilbert_en_tiny", "vocab.txt")

# folder -> vocab file of its model (minilm_en ships no vocab: it uses the same
# 30,522-token English uncased vocab as distilbert_en_tiny).
MODEL_VOCABS = {
    "bert_zh_tiny": ZH_VOCAB,
    "albert_zh_tiny": os.path.join(REFERENCE_DIR, "albert_zh_tiny",
                                   "vocab_chinese.txt"),
    "distilbert_en_tiny": EN_VOCAB,
    "minilm_en": EN_VOCAB,
}
CASE_VOCABS = {"bert_zh_tiny": ZH_VOCAB, "distilbert_en_tiny": EN_VOCAB}

_TOKENIZERS = {}


def _tokenizer(vocab_file, do_lower_case=True):
  """Cached FullTokenizer for a vocab file."""
  key = (vocab_file, do_lower_case)
  if key not in _TOKENIZERS:
    _TOKENIZERS[key] = tokenization.FullTokenizer(vocab_file, do_lower_case)
  return _TOKENIZERS[key]


def _read_jsonl(path):
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def _tokenizer_cases():
  """-> list of pytest.param(folder, case) for every tokenizer_cases line."""
  params = []
  for folder in sorted(CASE_VOCABS):
    path = os.path.join(REFERENCE_DIR, folder, "tokenizer_cases.jsonl")
    for i, case in enumerate(_read_jsonl(path)):
      params.append(pytest.param(folder, case, id="%s-%02d" % (folder, i)))
  return params


def _reference_inputs():
  """-> list of pytest.param(folder, index, example) for every inputs line."""
  params = []
  for folder in sorted(MODEL_VOCABS):
    path = os.path.join(REFERENCE_DIR, folder, "inputs.jsonl")
    for i, example in enumerate(_read_jsonl(path)):
      params.append(pytest.param(folder, i, example, id="%s-%d" % (folder, i)))
  return params


def _all_texts():
  """-> list of pytest.param(vocab_file, text): every case and input text."""
  params = []
  for folder, vocab in sorted(CASE_VOCABS.items()):
    path = os.path.join(REFERENCE_DIR, folder, "tokenizer_cases.jsonl")
    for i, case in enumerate(_read_jsonl(path)):
      params.append(pytest.param(vocab, case["text"],
                                 id="case-%s-%02d" % (folder, i)))
  for folder, vocab in sorted(MODEL_VOCABS.items()):
    path = os.path.join(REFERENCE_DIR, folder, "inputs.jsonl")
    for i, example in enumerate(_read_jsonl(path)):
      for key in ("text_a", "text_b"):
        if example[key] is not None:
          params.append(pytest.param(vocab, example[key],
                                     id="input-%s-%d-%s" % (folder, i, key)))
  return params


# ---------------------------------------------------------------------------
# Google parity on the fixtures.


@pytest.mark.parametrize("folder,case", _tokenizer_cases())
def test_tokenizer_case_matches_google(folder, case):
  tokenizer = _tokenizer(CASE_VOCABS[folder])
  tokens = tokenizer.tokenize(case["text"])
  assert tokens == case["tokens"]
  assert tokenizer.convert_tokens_to_ids(tokens) == case["ids"]
  assert tokenizer.convert_ids_to_tokens(case["ids"]) == case["tokens"]


@pytest.mark.parametrize("folder,index,example", _reference_inputs())
def test_reference_inputs_match_google(folder, index, example):
  tokenizer = _tokenizer(MODEL_VOCABS[folder])
  reference = np.load(os.path.join(REFERENCE_DIR, folder, "reference.npz"))
  max_seq_length = reference["input_ids"].shape[1]
  tokens_a = tokenizer.tokenize(example["text_a"])
  tokens_b = (tokenizer.tokenize(example["text_b"])
              if example["text_b"] else None)

  tokens, segment_ids = tokenization.build_inputs(tokens_a, tokens_b,
                                                  max_seq_length)

  tokens_file = os.path.join(REFERENCE_DIR, folder, "tokens.json")
  if os.path.exists(tokens_file):
    with open(tokens_file, encoding="utf-8") as f:
      assert tokens == json.load(f)[index]
  mask = reference["input_mask"][index] == 1
  assert int(mask.sum()) == len(tokens)
  assert tokenizer.convert_tokens_to_ids(tokens) == (
      reference["input_ids"][index][mask].tolist())
  assert segment_ids == reference["segment_ids"][index][mask].tolist()


def test_fullwidth_and_accents_by_hand():
  zh = _tokenizer(ZH_VOCAB)
  assert zh.tokenize("ＧＰＵ性能") == ["ｇ", "##ｐ", "##ｕ", "性", "能"]
  assert zh.tokenize(b"\xe4\xb8\xad\xe6\x96\x87") == ["中", "文"]
  en = _tokenizer(EN_VOCAB)
  assert en.tokenize("Café\u00a0Déjà") == ["cafe", "de", "##ja"]


def test_cased_tokenizer_keeps_case_and_accents():
  basic = tokenization.BasicTokenizer(do_lower_case=False)
  assert basic.tokenize(" \tHeLLo!how  \n Are yoU?  ") == [
      "HeLLo", "!", "how", "Are", "yoU", "?"]
  assert basic.tokenize("Café") == ["Café"]


def test_char_classes():
  assert tokenization.is_whitespace("\u3000")
  assert tokenization.is_whitespace("\u00a0")
  assert not tokenization.is_whitespace("\u2028")  # Zl: split by str.split()
  assert tokenization.is_control("\u200b")
  assert tokenization.is_control("\x05")
  assert not tokenization.is_control("\t")
  assert not tokenization.is_control("\ue000")  # private use (Co) is kept
  for char in "$^`+<~-":
    assert tokenization.is_punctuation(char)
  assert tokenization.is_punctuation("，")
  assert not tokenization.is_punctuation("€")
  assert tokenization.is_chinese_char(ord("中"))
  assert not tokenization.is_chinese_char(ord("한"))


def test_wordpiece_longest_match_and_limits():
  vocab = {t: i for i, t in enumerate(
      ["[UNK]", "un", "##aff", "##able", "runn", "##ing", "a", "##a"])}
  wordpiece = tokenization.WordpieceTokenizer(vocab)
  assert wordpiece.tokenize("unaffable running unwanted") == [
      "un", "##aff", "##able", "runn", "##ing", "[UNK]"]
  assert wordpiece.tokenize("a" * 200) == ["a"] + ["##a"] * 199
  assert wordpiece.tokenize("a" * 201) == ["[UNK]"]
  assert wordpiece.tokenize("") == []


def test_validate_case_matches_checkpoint():
  check = tokenization.validate_case_matches_checkpoint
  check(True, "/m/uncased_L-12_H-768_A-12/bert_model.ckpt")
  check(False, "/m/cased_L-12_H-768_A-12/bert_model.ckpt")
  check(False, "/m/my_model/bert_model.ckpt")
  check(False, "")
  check(False, None)
  with pytest.raises(ValueError, match="--do_lower_case=True"):
    check(False, "/m/chinese_L-12_H-768_A-12/bert_model.ckpt")
  with pytest.raises(ValueError, match="seems to be a cased model"):
    check(True, "gs://b/multi_cased_L-12_H-768_A-12/bert_model.ckpt")


# ---------------------------------------------------------------------------
# Vocab files.


def test_load_vocab_line_semantics(tmp_path):
  """Lines end at \\n only; \\r is dropped; U+2028 is stripped; duplicates
  keep the last id; a last line without \\n counts."""
  path = tmp_path / "vocab.txt"
  path.write_bytes(
      "[PAD]\n[UNK]\r\n\u2028\n##\u2028\na\rb\ndup\nx\ndup\nlast".encode())
  vocab = tokenization.load_vocab(str(path))
  assert list(vocab.items()) == [
      ("[PAD]", 0), ("[UNK]", 1), ("", 2), ("##", 3), ("ab", 4), ("dup", 7),
      ("x", 6), ("last", 8)]


def test_load_vocab_reads_as_tf_gfile_does():
  """load_vocab == Google's loop over tf.io.gfile.GFile.readline()."""
  tf = pytest.importorskip("tensorflow")
  for vocab_file in (ZH_VOCAB, EN_VOCAB):
    expected = {}
    with tf.io.gfile.GFile(vocab_file, "r") as reader:
      for index, line in enumerate(iter(reader.readline, "")):
        expected[line.strip()] = index
    assert list(tokenization.load_vocab(vocab_file).items()) == (
        list(expected.items()))


def test_missing_vocab_names_path_and_fix(tmp_path):
  missing = str(tmp_path / "nowhere" / "vocab.txt")
  with pytest.raises(tokenization.VocabError) as err:
    tokenization.FullTokenizer(missing)
  assert missing in str(err.value)
  assert "--vocab_file" in str(err.value)
  assert isinstance(err.value, ValueError)
  with pytest.raises(tokenization.VocabError, match="directory"):
    tokenization.load_vocab(str(tmp_path))


def test_check_vocab_size():
  tokenization.check_vocab_size(ZH_VOCAB, 21128)
  tokenization.check_vocab_size(EN_VOCAB, 30522)
  with pytest.raises(tokenization.VocabError) as err:
    tokenization.check_vocab_size(EN_VOCAB, 21128)
  message = str(err.value)
  assert "30522" in message and "21128" in message
  assert EN_VOCAB in message
  assert "does not belong" in message


def test_convert_by_vocab_without_unk_entry():
  assert tokenization.convert_tokens_to_ids({"a": 0, "[UNK]": 1},
                                            ["a", "b"]) == [0, 1]
  with pytest.raises(tokenization.VocabError, match="no \\[UNK\\]"):
    tokenization.convert_tokens_to_ids({"a": 0}, ["b"])


# ---------------------------------------------------------------------------
# Model inputs.


def test_truncate_seq_pair_pops_the_longer_side():
  a, b = list("abcdef"), list("xy")
  tokenization.truncate_seq_pair(a, b, 5)
  assert (a, b) == (list("abc"), list("xy"))
  a, b = list("abc"), list("xyz")
  tokenization.truncate_seq_pair(a, b, 4)  # equal: b first, then a
  assert (a, b) == (list("ab"), list("xy"))
  a, b = list("ab"), list("xyz")
  tokenization.truncate_seq_pair(a, b, 10)
  assert (a, b) == (list("ab"), list("xyz"))
  with pytest.raises(ValueError):
    tokenization.truncate_seq_pair([], [], -1)


def test_build_inputs_single():
  tokens, segment_ids = tokenization.build_inputs(list("abcdef"), None, 5)
  assert tokens == ["[CLS]", "a", "b", "c", "[SEP]"]
  assert segment_ids == [0] * 5
  tokens, segment_ids = tokenization.build_inputs(["a"], [], 8)
  assert tokens == ["[CLS]", "a", "[SEP]"]  # empty b counts as no b
  assert segment_ids == [0, 0, 0]


def test_build_inputs_pair():
  a, b = list("abcdef"), list("xyz")
  tokens, segment_ids = tokenization.build_inputs(a, b, 8)
  assert tokens == ["[CLS]", "a", "b", "c", "[SEP]", "x", "y", "[SEP]"]
  assert segment_ids == [0, 0, 0, 0, 0, 1, 1, 1]
  assert (a, b) == (list("abcdef"), list("xyz"))  # inputs left unchanged
  tokens, segment_ids = tokenization.build_inputs(["a"], ["x"], 64)
  assert tokens == ["[CLS]", "a", "[SEP]", "x", "[SEP]"]
  assert segment_ids == [0, 0, 0, 1, 1]
  with pytest.raises(ValueError, match="max_seq_length"):
    tokenization.build_inputs(["a"], ["b"], 2)


# ---------------------------------------------------------------------------
# Character spans.


def _normalize(text):
  """Original slice -> what the uncased tokenizer makes of its characters,
  without word breaks: cleaned, lower-cased, NFD without Mn, no whitespace."""
  text = "".join(c for c in text if not (
      c in "\x00\ufffd" or tokenization.is_control(c)))
  text = unicodedata.normalize("NFD", text.lower())
  return "".join(c for c in text
                 if unicodedata.category(c) != "Mn" and not c.isspace())


def _fold_sigma(text):
  """"ς" -> "σ": str.lower() picks the final sigma from the whole word's
  context, which a slice of the word no longer has."""
  return text.replace("\u03c2", "\u03c3")


def _check_spans(tokenizer, text):
  """Asserts tokenize_with_spans agrees with tokenize and covers its chars."""
  spans = tokenizer.tokenize_with_spans(text)
  assert [token for token, _, _ in spans] == tokenizer.tokenize(text)
  previous = (0, 0)
  for _, start, end in spans:
    assert 0 <= start < end <= len(text)
    assert start >= previous[0] and end >= previous[1]
    previous = (start, end)
  # Tokens whose spans overlap (pieces of one decomposed char) are checked
  # together; [UNK] stands for a whole word and is not compared.
  groups = []
  for token, start, end in spans:
    if groups and start < groups[-1][2]:
      groups[-1][0].append(token)
      groups[-1][2] = max(groups[-1][2], end)
    else:
      groups.append([[token], start, end])
  for tokens, start, end in groups:
    if "[UNK]" not in tokens:
      pieces = [t[2:] if t.startswith("##") else t for t in tokens]
      assert _fold_sigma(_normalize(text[start:end])) == (
          _fold_sigma("".join(pieces))), (tokens, start)
  return spans


@pytest.mark.parametrize("vocab_file,text", _all_texts())
def test_spans_on_reference_texts(vocab_file, text):
  _check_spans(_tokenizer(vocab_file), text)


def test_spans_accents():
  en = _tokenizer(EN_VOCAB)
  assert _check_spans(en, "Café Déjà vu") == [
      ("cafe", 0, 4), ("de", 5, 7), ("##ja", 7, 9), ("vu", 10, 12)]
  # A decomposed accent belongs to the letter before it.
  assert _check_spans(en, "cafe\u0301 au") == [
      ("cafe", 0, 5), ("au", 6, 8)]


def test_spans_mixed_chinese_and_latin():
  zh = _tokenizer(ZH_VOCAB)
  assert _check_spans(zh, "iPhone12售价9999元") == [
      ("iphone", 0, 6), ("##12", 6, 8), ("售", 8, 9), ("价", 9, 10),
      ("999", 10, 13), ("##9", 13, 14), ("元", 14, 15)]


def test_spans_zero_width_control_and_spaces():
  text = "a\u200bb  c\x01d\t\u3000e\u200b\x00"
  zh = _tokenizer(ZH_VOCAB)
  # U+200B and \x01 are dropped, not word breaks: "ab" and "cd" are words.
  assert _check_spans(zh, text) == [("ab", 0, 3), ("cd", 5, 8), ("e", 10, 11)]
  assert _check_spans(zh, "") == []
  assert _check_spans(zh, " \u200b \t") == []


def test_spans_emoji_and_unknown_words():
  en = _tokenizer(EN_VOCAB)
  assert _check_spans(en, "emoji 😀 ok!") == [
      ("em", 0, 2), ("##oj", 2, 4), ("##i", 4, 5), ("[UNK]", 6, 7),
      ("ok", 8, 10), ("!", 10, 11)]
  # An emoji is no punctuation: it makes its whole word unknown.
  assert _check_spans(en, "😀ok") == [("[UNK]", 0, 3)]
  assert _check_spans(en, "x" * 201) == [("[UNK]", 0, 201)]


def test_spans_expanding_characters():
  zh = _tokenizer(ZH_VOCAB)
  # Hangul decomposes into jamo under NFD; every jamo keeps its syllable.
  spans = _check_spans(zh, "한국 ΟΔΟΣ İstanbul")
  assert spans[:3] == [("ᄒ", 0, 1), ("##ᅡ", 0, 1), ("##ᆫ", 0, 1)]
  assert ("##ς", 6, 7) in spans  # final sigma, lowered in its word's context
  assert spans[-4][1:] == (8, 10)  # "İ" lowers to "i" + U+0307


def test_spans_module_function_and_cased():
  cased = _tokenizer(EN_VOCAB, do_lower_case=False)
  text = "Héllo World"
  assert tokenization.tokenize_with_spans(cased, text) == (
      cased.tokenize_with_spans(text))
  assert [t for t, _, _ in cased.tokenize_with_spans(text)] == (
      cased.tokenize(text))


def _random_text(rng):
  """Random str mixing ASCII, marks, spaces, controls, CJK and any code point."""
  pools = [
      lambda: chr(rng.randint(32, 126)),
      lambda: rng.choice("\u0301\u0327\u0323\u0345 \t\n\u00a0\u3000\u2028"
                         "\u200b\u200d\ufeff\ufffd\x00\x01ΣİßﬁÅ\u212b"
                         "\u1fef한국中文，。！😀"),
      lambda: chr(rng.randint(0x80, 0x3000)),
      lambda: chr(rng.choice([rng.randint(0xAC00, 0xD7A3),
                              rng.randint(0x4E00, 0x9FFF),
                              rng.randint(0x10000, 0x10FFFF)])),
  ]
  return "".join(rng.choice(pools)() for _ in range(rng.randint(0, 24)))


@pytest.mark.parametrize("vocab_file", [ZH_VOCAB, EN_VOCAB], ids=["zh", "en"])
def test_spans_tokens_equal_tokenize_on_random_text(vocab_file):
  rng = random.Random(1234)
  for do_lower_case in (True, False):
    tokenizer = _tokenizer(vocab_file, do_lower_case)
    for _ in range(1500):
      text = _random_text(rng)
      spans = tokenizer.tokenize_with_spans(text)
      assert [t for t, _, _ in spans] == tokenizer.tokenize(text), ascii(text)
      previous = (0, 0)
      for _, start, end in spans:
        assert 0 <= start < end <= len(text), ascii(text)
        assert start >= previous[0] and end >= previous[1], ascii(text)
        previous = (start, end)


# ---------------------------------------------------------------------------
# Units for NER.


def test_tokenize_units_one_entry_per_unit():
  zh = _tokenizer(ZH_VOCAB)
  units = ["我", " ", "\u200b", "爱", "\x00", "𪚥", "北", "，", "A"]
  assert zh.tokenize_units(units) == [
      ["我"], [], [], ["爱"], [], ["[UNK]"], ["北"], ["，"], ["a"]]
  assert tokenization.tokenize_units(zh, units) == zh.tokenize_units(units)


def test_tokenize_units_words():
  en = _tokenizer(EN_VOCAB)
  units = ["EU", "rejects", "German", "call", "unaffable", "."]
  result = en.tokenize_units(units)
  assert len(result) == len(units)
  assert result[0] == ["eu"] and result[-1] == ["."]
  assert result[4] == ["una", "##ffa", "##ble"]
  assert sum(result, []) == en.tokenize(" ".join(units))


def test_check_vocab_refuses_empty_and_missing_special(tmp_path, caplog):
  """The one vocab check every tokenizer (from_vocab) and the checkpoint
  conversion run: a missing, empty or special-token-less vocab is a
  VocabError naming the file and the fix; a repeated token is a warning and
  the later line wins, as in Google's load_vocab."""
  path = tmp_path / "vocab.txt"
  base = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n"
  path.write_text(base)
  assert tokenization.from_vocab(str(path), extra_tokens=("[MASK]",)).vocab
  path.write_text("")
  with pytest.raises(tokenization.VocabError, match="is empty"):
    tokenization.from_vocab(str(path))
  path.write_text(base + "b\na\n")
  assert tokenization.from_vocab(str(path)).vocab["a"] == 7
  assert "lines 6 and 8" in caplog.text
  path.write_text(base.replace("[CLS]\n", ""))
  with pytest.raises(tokenization.VocabError, match=r"lacks \[CLS\]") as e:
    tokenization.from_vocab(str(path))
  assert str(path) in str(e.value)
  path.write_text(base.replace("[MASK]\n", ""))
  tokenization.from_vocab(str(path))           # fine-tuning needs no [MASK]
  with pytest.raises(tokenization.VocabError, match=r"lacks \[MASK\]"):
    tokenization.from_vocab(str(path), extra_tokens=("[MASK]",))
  for vocab_file in (ZH_VOCAB, EN_VOCAB):      # real vocabs pass
    tokenization.check_vocab(vocab_file, tokenization.REQUIRED_TOKENS +
                             (tokenization.MASK_TOKEN,))


# ---------------------------------------------------------------------------
# Hugging Face's BasicTokenizer options (expected outputs written out from
# its rules; defaults stay Google's, checked by the parity tests above).


def test_never_split_keeps_marker_words_whole_and_as_written():
  text = "[E1] Zoë [/E1] met [e1]Bob[/e1]."
  basic = tokenization.BasicTokenizer(never_split=["[E1]", "[/E1]"])
  assert basic.tokenize(text) == [
      "[E1]", "zoe", "[/E1]", "met", "[", "e1", "]", "bob", "[", "/", "e1",
      "]", "."]
  # Default: Google's, markers split and lower-cased.
  assert tokenization.BasicTokenizer().tokenize(text)[:4] == [
      "[", "e1", "]", "zoe"]
  # A word that becomes a never_split word after lower-casing is kept too.
  assert tokenization.BasicTokenizer(never_split=["[e1]"]).tokenize(
      "[E1] x") == ["[e1]", "x"]
  # Extra words for one call, as Hugging Face's tokenize(text, never_split).
  assert tokenization.BasicTokenizer().tokenize(
      "a [X] b", never_split=["[X]"]) == ["a", "[X]", "b"]


@pytest.mark.parametrize("lower,strip,expected", [
    (True, None, ["cafe", "deja"]),
    (True, True, ["cafe", "deja"]),
    (True, False, ["café", "déjà"]),
    (False, None, ["Café", "Déjà"]),
    (False, True, ["Cafe", "Deja"]),
    (False, False, ["Café", "Déjà"]),
])
def test_strip_accents_apart_from_lower_case(lower, strip, expected):
  basic = tokenization.BasicTokenizer(do_lower_case=lower,
                                      strip_accents=strip)
  assert basic.tokenize("Café Déjà") == expected


def test_tokenize_chinese_chars_off_keeps_ideograph_runs():
  basic = tokenization.BasicTokenizer(tokenize_chinese_chars=False)
  assert basic.tokenize("我爱北京 ok") == ["我爱北京", "ok"]
  zh = tokenization.from_vocab(ZH_VOCAB, True, tokenize_chinese_chars=False)
  assert zh.tokenize("北京大学 OK") == ["北", "##京", "##大", "##学", "ok"]
  assert zh.tokenize_with_spans("北京大学 OK") == [
      ("北", 0, 1), ("##京", 1, 2), ("##大", 2, 3), ("##学", 3, 4),
      ("ok", 5, 7)]


def test_full_tokenizer_keeps_never_split_words_out_of_wordpiece():
  text = "[unused1] Zoë [E1] met"
  tokenizer = tokenization.from_vocab(EN_VOCAB, True,
                                      never_split=["[unused1]", "[E1]"])
  # In the vocab: one token; not in it: [UNK] (Hugging Face's id for it).
  assert tokenizer.tokenize(text) == ["[unused1]", "zoe", "[UNK]", "met"]
  assert tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text)) == [
      2, 11199, 100, 2777]
  assert tokenizer.tokenize_with_spans(text) == [
      ("[unused1]", 0, 9), ("zoe", 10, 13), ("[UNK]", 14, 18),
      ("met", 19, 22)]
  assert tokenization.FullTokenizer(EN_VOCAB).tokenize(text)[:4] == [
      "[", "unused", "##1", "]"]


@pytest.mark.parametrize("options", [
    dict(never_split=["[E1]", "[/E1]", "Zoë", "北京"]),
    dict(tokenize_chinese_chars=False),
    dict(strip_accents=False),
    dict(do_lower_case=False, strip_accents=True),
    dict(do_lower_case=False, never_split=["[e1]"], strip_accents=True),
])
def test_spans_follow_the_tokenizer_options(options):
  tokenizer = tokenization.FullTokenizer(ZH_VOCAB, **options)
  rng = random.Random(5)
  texts = ["[E1] Zoë [/E1] 在北京 Café Ünïcödé [e1]x[/e1]",
           "cafe\u0301 北京大学 [E1]北京[/E1]"]
  texts += [_random_text(rng) for _ in range(40)]
  for text in texts:
    _check_spans(tokenizer, text)


def test_the_ascii_fast_path_equals_the_general_steps():
  """An all-ASCII text takes a shorter path (translate, a regex): the same
  words as the step-by-step path, control chars, punctuation and
  never_split words included, both cases."""
  rng = random.Random(7)
  alphabet = [chr(i) for i in range(128)]
  texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
           for _ in range(3000)]
  texts += ["Hello,World! it's [E1]x[E1] a\tb\x7fc\x0bd\x1fe [e2] -- ok?",
            "", " \t\r\n", "\x00\x01", "[E1]", "HeLLo", "$5.00/hr"]
  for lower in (True, False):
    for never in (None, ["[E1]", "[e2]", "Hello"]):
      basic = tokenization.BasicTokenizer(do_lower_case=lower,
                                          never_split=never)
      for extra in (frozenset(), frozenset(["x", "HeLLo"])):
        for text in texts:
          assert basic._tokenize_ascii(text, extra) == basic._tokenize_any(
              text, extra), (lower, never, extra, text)
  # tokenize() takes the fast path for ASCII only.
  basic = tokenization.BasicTokenizer()
  assert basic.tokenize("Café, naïve!") == ["cafe", ",", "naive", "!"]
  assert basic.tokenize("Cafe, naive!") == ["cafe", ",", "naive", "!"]

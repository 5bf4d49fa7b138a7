"""Character alignment for NER: `tokenize_with_spans` (tokens with their
character offsets in the original text) and `tokenize_units` (tokens of each
input unit, one list per unit).

`tokenize_with_spans` runs the same steps as BasicTokenizer + WordPiece, but on
characters that remember the original span they came from:
  - cleaning drops NUL/U+FFFD/control chars; they belong to no token;
  - lower-casing and NFD may turn one char into several: each keeps the span of
    the char it came from (so pieces of one decomposed char, e.g. the jamo of a
    Hangul syllable, may share a span);
  - a stripped accent (category Mn) adds its span to the char before it in the
    same word (or, at a word's start, the char after it), so "cafe\\u0301"
    gives "cafe" over all 5 chars;
  - a WordPiece token spans from the first to the last original char of its
    slice of the word; "[UNK]" spans the whole word.
The word's text itself always comes from the same whole-word str.lower() and
NFD as BasicTokenizer uses, so the tokens are exactly `tokenizer.tokenize(text)`;
where a step cannot be aligned char by char, every char of that word takes the
whole word's span.
"""

import unicodedata

from tokenization.basic import is_chinese_char
from tokenization.basic import is_dropped
from tokenization.basic import is_punctuation
from tokenization.basic import is_whitespace
from tokenization.text import convert_to_unicode

# A "char" below is a tuple (c, start, end): one str char and the span
# [start, end) of the original text it came from. A "word" is a list of chars.


def _clean(text):
  """str -> list of chars after Google's cleaning (dropped chars gone,
  whitespace chars as " ")."""
  return [(" " if is_whitespace(c) else c, i, i + 1)
          for i, c in enumerate(text) if not is_dropped(c)]


def _split_words(chars, split_cjk=True):
  """Chars -> words: split at str.isspace() chars (as str.split() does) and,
  if split_cjk, with each CJK ideograph a word of its own."""
  words, current = [], []
  for ch in chars:
    if ch[0].isspace() or (split_cjk and is_chinese_char(ord(ch[0]))):
      if current:
        words.append(current)
      current = []
      if not ch[0].isspace():
        words.append([ch])
    else:
      current.append(ch)
  if current:
    words.append(current)
  return words


def _text(word):
  """Word -> its str."""
  return "".join(c for c, _, _ in word)


def _coarse(new_text, word):
  """New str for a word -> word whose every char spans the whole old word."""
  start = min(s for _, s, _ in word)
  end = max(e for _, _, e in word)
  return [(c, start, end) for c in new_text]


def _expand(word, new_text, parts):
  """Word, its transformed str, and per old char the str it became -> word.

  Each old char's output chars keep its span. Falls back to `_coarse` when
  the parts do not add up to `new_text` in length.
  """
  if sum(len(p) for p in parts) != len(new_text):
    return _coarse(new_text, word)
  out, pos = [], 0
  for (_, s, e), part in zip(word, parts):
    out.extend((c, s, e) for c in new_text[pos:pos + len(part)])
    pos += len(part)
  return out


def _lower(word):
  """Word -> word.lower(), spans kept (lower() is per char but for final sigma,
  which keeps the length)."""
  return _expand(word, _text(word).lower(), [c.lower() for c, _, _ in word])


def _canonical_order(chars):
  """Chars -> the same chars with each run of combining marks stably sorted by
  combining class (Unicode canonical ordering)."""
  out, run = [], []
  for ch in chars:
    if unicodedata.combining(ch[0]):
      run.append(ch)
    else:
      out.extend(sorted(run, key=lambda x: unicodedata.combining(x[0])))
      run = []
      out.append(ch)
  out.extend(sorted(run, key=lambda x: unicodedata.combining(x[0])))
  return out


def _nfd(word):
  """Word -> NFD of it, each decomposed char keeping its source char's span."""
  nfd = unicodedata.normalize("NFD", _text(word))
  chars = [(d, s, e) for c, s, e in word
           for d in unicodedata.normalize("NFD", c)]
  chars = _canonical_order(chars)
  if _text(chars) != nfd:
    return _coarse(nfd, word)
  return chars


def _strip_marks(word):
  """Word -> word without Mn chars; each one's span joins a neighbour's."""
  out, pending = [], None
  for c, s, e in word:
    if unicodedata.category(c) == "Mn":
      if out:
        pc, ps, pe = out[-1]
        out[-1] = (pc, min(ps, s), max(pe, e))
      else:
        pending = (s, e) if pending is None else (pending[0], e)
      continue
    if pending is not None:
      s, e = min(s, pending[0]), max(e, pending[1])
      pending = None
    out.append((c, s, e))
  return out


def _split_punctuation(word):
  """Word -> words: each punctuation char alone, other runs kept together."""
  out, start_new = [], True
  for ch in word:
    if is_punctuation(ch[0]):
      out.append([ch])
      start_new = True
    else:
      if start_new:
        out.append([])
      start_new = False
      out[-1].append(ch)
  return out


def basic_tokenize_with_chars(basic_tokenizer, text):
  """BasicTokenizer, str -> list of words (lists of (char, start, end)).

  "".join of each word's chars gives exactly basic_tokenizer.tokenize(text),
  whatever its options (never_split, tokenize_chinese_chars, strip_accents).
  """
  words = []
  split_cjk = getattr(basic_tokenizer, "tokenize_chinese_chars", True)
  keeps_whole = getattr(basic_tokenizer, "keeps_whole", lambda word: False)
  strips = getattr(basic_tokenizer, "strips_accents",
                   basic_tokenizer.do_lower_case)
  for word in _split_words(_clean(convert_to_unicode(text)), split_cjk):
    if not keeps_whole(_text(word)):
      if basic_tokenizer.do_lower_case:
        word = _lower(word)
      if strips:
        word = _strip_marks(_nfd(word))
    if keeps_whole(_text(word)):
      words.append(word)
      continue
    for piece in _split_punctuation(word):
      words.extend(_split_words(piece, split_cjk=False))
  return words


def _span(chars):
  """Non-empty chars -> (min start, max end)."""
  return min(s for _, s, _ in chars), max(e for _, _, e in chars)


def tokenize_with_spans(tokenizer, text):
  """FullTokenizer, str -> list of (token, start, end).

  Tokens are exactly tokenizer.tokenize(text); text[start:end] (end
  exclusive) are the original chars each token came from. Starts and ends
  never decrease along the list. Bytes input is decoded as UTF-8 first and
  the offsets index the decoded str.
  """
  out = []
  for word in basic_tokenize_with_chars(tokenizer.basic_tokenizer, text):
    pieces = tokenizer.word_pieces(_text(word))
    for piece, a, b in pieces:
      start, end = _span(word[a:b])
      out.append((piece, start, end))
  return out


def tokenize_units(tokenizer, units):
  """FullTokenizer, list of str units -> list of token lists, one per unit.

  Rule: each unit is tokenized on its own, so a token never straddles two
  units and callers can keep exactly one label per unit. A unit that yields
  no token (a space, a control or zero-width char such as U+200B, NUL) gets
  [] -- drop its label or give it to no token; a unit the vocab cannot cover
  gets ["[UNK]"]; a word unit may give several pieces ("##..."), label the
  first. Units are characters for Chinese, words for English. The
  concatenated lists equal tokenizer.tokenize(" ".join(units)).
  """
  return [tokenizer.tokenize(unit) for unit in units]

"""BasicTokenizer (cleaning, CJK splitting, lower-casing, accent and punctuation
splitting) and the character classes it uses.

With its defaults, token for token the same as google-research/bert's
BasicTokenizer:
  1. clean: drop NUL, U+FFFD and control characters (categories Cc, Cf, except
     \\t \\n \\r); turn whitespace (space, \\t, \\n, \\r, category Zs) into " ";
  2. put spaces around every CJK ideograph (`is_chinese_char`);
  3. split on whitespace (str.split(), which also splits on U+2028/U+2029);
  4. if do_lower_case: per word, str.lower(), then NFD, then drop category Mn;
  5. split each word into runs of non-punctuation and single punctuation chars
     (`is_punctuation`: all non-alphanumeric printable ASCII plus category P*).

The options of Hugging Face's BasicTokenizer, with its meaning:
  never_split             words (after step 3) kept as they are: not
                          lower-cased, no accents stripped, not split on
                          punctuation, e.g. entity markers such as "[E1]";
  tokenize_chinese_chars  False skips step 2;
  strip_accents           None: strip accents when lower-casing (step 4);
                          True: strip them even when not lower-casing;
                          False: never strip them, even when lower-casing.
Unlike newer Hugging Face versions, the text is not NFC-normalised first (a
cased tokenizer keeps decomposed accents as Google's does).
"""

import re
import types
import unicodedata

from tokenization.text import convert_to_unicode
from tokenization.text import whitespace_tokenize

# CJK Unified Ideographs blocks (and extensions, compatibility ideographs), the
# ranges google-research/bert lists. Hangul, kana etc. are not in them.
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def is_whitespace(char):
  """One char -> True for space, \\t, \\n, \\r and category Zs (e.g. U+3000)."""
  if char in (" ", "\t", "\n", "\r"):
    return True
  return unicodedata.category(char) == "Zs"


def is_control(char):
  """One char -> True for categories Cc and Cf (e.g. U+200B), except \\t \\n \\r.

  Private-use (Co), surrogate (Cs) and unassigned (Cn) chars are NOT control.
  """
  if char in ("\t", "\n", "\r"):
    return False
  return unicodedata.category(char) in ("Cc", "Cf")


def is_punctuation(char):
  """One char -> True for ASCII 33-47, 58-64, 91-96, 123-126 and category P*.

  So "$", "^", "`", "+", "<" count as punctuation although Unicode files them
  under S*; non-ASCII symbols such as "€" or emoji do not.
  """
  cp = ord(char)
  if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
    return True
  return unicodedata.category(char).startswith("P")


def is_chinese_char(cp):
  """Code point (int) -> True if it lies in one of the CJK ideograph blocks."""
  if cp < 0x3400:                     # below every block: most text
    return False
  return any(low <= cp <= high for low, high in _CJK_RANGES)


def is_dropped(char):
  """One char -> True if cleaning deletes it: NUL, U+FFFD or a control char."""
  return char in ("\x00", "\ufffd") or is_control(char)


def strip_accents(text):
  """str -> NFD of it without the nonspacing marks (category Mn)."""
  text = unicodedata.normalize("NFD", text)
  return "".join(c for c in text if unicodedata.category(c) != "Mn")


def split_on_punctuation(text):
  """str -> list of pieces: each punctuation char alone, other runs kept whole.

  "well-made!" -> ["well", "-", "made", "!"]; "" -> [].
  """
  output = []
  start_new_word = True
  for char in text:
    if is_punctuation(char):
      output.append([char])
      start_new_word = True
    else:
      if start_new_word:
        output.append([])
      start_new_word = False
      output[-1].append(char)
  return ["".join(x) for x in output]


# The steps above on an all-ASCII text, with the same result (a fast path):
# cleaning drops the ASCII control chars (all Cc but \t \n \r, which
# become spaces; there is no Cf, Zs, NUL or U+FFFD in ASCII); there are no
# CJK ideographs; NFD changes no ASCII char and adds no Mn; the punctuation
# is the four ASCII ranges of `is_punctuation`.
_ASCII_CLEAN = types.MappingProxyType({
    cp: (" " if chr(cp) in "\t\n\r" else None)
    for cp in list(range(32)) + [127]})
_ASCII_PIECES = re.compile(r"[!-/:-@\[-`{-~]|[^!-/:-@\[-`{-~]+")


class BasicTokenizer(object):
  """Runs basic tokenization (cleaning, CJK and punctuation splitting, casing).

  Attributes (read by spans.tokenize_with_spans, which repeats the steps):
    do_lower_case, tokenize_chinese_chars, strip_accents: as given;
    never_split: frozenset of words kept whole.
  """

  def __init__(self, do_lower_case=True, never_split=None,
               tokenize_chinese_chars=True, strip_accents=None):
    """do_lower_case: lower-case (True for uncased models);
    never_split: iterable of words kept whole and as written (e.g. ["[E1]"]);
    tokenize_chinese_chars: put each CJK ideograph in a word of its own;
    strip_accents: None follows do_lower_case, True/False force it."""
    if isinstance(never_split, str):
      never_split = [never_split]
    self.do_lower_case = do_lower_case
    self.never_split = frozenset(never_split or ())
    self.tokenize_chinese_chars = tokenize_chinese_chars
    self.strip_accents = strip_accents

  @property
  def strips_accents(self):
    """bool: whether step 4 drops accents (strip_accents, or do_lower_case
    when strip_accents is None)."""
    if self.strip_accents is None:
      return bool(self.do_lower_case)
    return bool(self.strip_accents)

  def keeps_whole(self, word, never_split=None):
    """True if `word` is one of the never_split words (or of the extra ones
    given to this call)."""
    return word in self.never_split or bool(never_split and
                                            word in never_split)

  def tokenize(self, text, never_split=None):
    """str or UTF-8 bytes -> list of word/punctuation strings (no whitespace).

    never_split: more words kept whole for this call only, added to the
    tokenizer's own."""
    if isinstance(never_split, str):
      never_split = [never_split]
    extra = frozenset(never_split or ())
    text = convert_to_unicode(text)
    if text.isascii():
      return self._tokenize_ascii(text, extra)
    return self._tokenize_any(text, extra)

  def _tokenize_any(self, text, extra):
    """`tokenize` of any text, step by step."""
    text = self._clean_text(text)
    if self.tokenize_chinese_chars:
      text = self._tokenize_chinese_chars(text)
    split_tokens = []
    for token in whitespace_tokenize(text):
      if not self.keeps_whole(token, extra):
        if self.do_lower_case:
          token = token.lower()
        if self.strips_accents:
          token = self._run_strip_accents(token)
      if self.keeps_whole(token, extra):
        split_tokens.append(token)
      else:
        split_tokens.extend(self._run_split_on_punc(token))
    return whitespace_tokenize(" ".join(split_tokens))

  def _tokenize_ascii(self, text, extra):
    """`tokenize` of an all-ASCII text (see _ASCII_CLEAN)."""
    split_tokens = []
    for token in text.translate(_ASCII_CLEAN).split():
      if self.keeps_whole(token, extra):
        split_tokens.append(token)
        continue
      if self.do_lower_case:
        token = token.lower()
      if self.keeps_whole(token, extra):
        split_tokens.append(token)
      else:
        split_tokens.extend(_ASCII_PIECES.findall(token))
    return split_tokens

  def _run_strip_accents(self, text):
    """str -> str without accents (NFD, then drop category Mn)."""
    return strip_accents(text)

  def _run_split_on_punc(self, text):
    """str -> list of pieces split around punctuation chars."""
    return split_on_punctuation(text)

  def _tokenize_chinese_chars(self, text):
    """str -> str with a space on each side of every CJK ideograph."""
    return "".join(" %s " % c if is_chinese_char(ord(c)) else c for c in text)

  def _is_chinese_char(self, cp):
    """Code point -> True for CJK ideographs (see `is_chinese_char`)."""
    return is_chinese_char(cp)

  def _clean_text(self, text):
    """str -> str without NUL/U+FFFD/control chars, whitespace mapped to " "."""
    output = []
    for char in text:
      if is_dropped(char):
        continue
      output.append(" " if is_whitespace(char) else char)
    return "".join(output)

"""Tokenization in the graph: raw string tensors -> input_ids, input_mask,
segment_ids, token for token as the Python tokenizer (tokenization/).

Only core TensorFlow ops (tf.strings.*, regex_replace, StaticHashTable,
RaggedTensor, while_loop), so stock TF Serving loads a SavedModel that
holds them; all of them exist in TF 1.15.

The character rules are data computed in Python from the Python
tokenizer's own predicates (tokenization.basic) over every code point, so
the graph follows Python's Unicode version, not RE2's:

  1. clean: drop NUL, U+FFFD and control chars (is_dropped); whitespace
     (is_whitespace, and what str.split() splits on) becomes " ";
  2. put spaces around each CJK ideograph (is_chinese_char);
  3. lower-casing: str.lower() of each character, with Python's one
     contextual rule, Greek final sigma (capital sigma after a cased letter
     and not before one, case-ignorable characters skipped, becomes "ς"),
     as a regex; then NFD without category Mn (strip accents): one
     StaticHashTable char -> replacement for the characters it changes;
  4. spaces around each punctuation char (is_punctuation); split on " ";
  5. WordPiece: greedy longest-match-first against a vocab table, a word
     longer than max_input_chars_per_word chars or with a part no piece
     covers is [UNK];
  6. [CLS] a [SEP] (b [SEP]), truncated as tokenization.build_inputs does
     it, padded to the batch's longest row.

Whitespace bounds Python's per-word steps, so steps 3 and 4 run on the
whole text. The one known difference: NFD's canonical reordering of
combining marks is not repeated, which matters only when two combining
characters of a category other than Mn (25 rare code points, e.g.
U+1D165) stand out of canonical order next to each other.
"""

import functools
import sys
import unicodedata

import tensorflow.compat.v1 as tf

from tokenization import basic
from tokenization import inputs as inputs_lib

_SIGMA = "\u03a3"
_MAX_CODE_POINT = sys.maxunicode + 1


@functools.lru_cache(maxsize=None)
def _assigned():
  """The code points that any rule here can touch: every one but the
  unassigned (Cn), private-use (Co) and surrogate (Cs) ones, which Python's
  tokenizer keeps as they are (not control, whitespace or punctuation; no
  lower-case or decomposition)."""
  return tuple(cp for cp in range(_MAX_CODE_POINT)
               if unicodedata.category(chr(cp)) not in ("Cn", "Co", "Cs"))


def _ranges(predicate):
  """Code points c with predicate(chr(c)) -> list of inclusive (low, high)
  ranges."""
  out = []
  for cp in _assigned():
    if not predicate(chr(cp)):
      continue
    if out and out[-1][1] == cp - 1:
      out[-1] = (out[-1][0], cp)
    else:
      out.append((cp, cp))
  return out


def _char_class(ranges):
  """RE2 character class [..] of the ranges (code points written out)."""
  parts = []
  for low, high in ranges:
    parts.append("\\x{%X}" % low if low == high else
                 "\\x{%X}-\\x{%X}" % (low, high))
  return "[" + "".join(parts) + "]"


def _is_separator(char):
  """Whitespace after cleaning: is_whitespace, or what str.split() splits
  on and cleaning keeps (U+2028, U+2029)."""
  return not basic.is_dropped(char) and (basic.is_whitespace(char) or
                                         char.isspace())


def _cased(char):
  """Cased and not case-ignorable, as Python's final-sigma rule reads it."""
  return (char + _SIGMA).lower()[-1:] == "\u03c2"


def _case_ignorable(char):
  return not _cased(char) and ("A" + char + _SIGMA).lower()[-1:] == "\u03c2"


@functools.lru_cache(maxsize=None)
def char_rules():
  """The regex classes of the steps above (dict name -> RE2 class)."""
  return {
      "dropped": _char_class(_ranges(basic.is_dropped)),
      "separator": _char_class(_ranges(_is_separator)),
      "cjk": _char_class(basic._CJK_RANGES),  # pylint: disable=protected-access
      "punctuation": _char_class(_ranges(basic.is_punctuation)),
      "cased": _char_class(_ranges(_cased)),
      "ignorable": _char_class(_ranges(_case_ignorable)),
  }


@functools.lru_cache(maxsize=None)
def char_map(lower, strip):
  """{char: replacement} for the characters step 3 changes (lower: str.lower,
  strip: NFD without Mn), cleaned and separator characters left out."""
  out = {}
  for cp in _assigned():
    char = chr(cp)
    if basic.is_dropped(char) or _is_separator(char):
      continue
    new = char.lower() if lower else char
    if strip:
      new = basic.strip_accents(new)
    if new != char:
      out[char] = new
  return out


def _regex_steps(text, lower, strip, chinese):
  """Steps 1-4 on a string tensor [batch] -> the words, space-separated."""
  rules = char_rules()
  text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8",
                                      errors="ignore")
  text = tf.strings.regex_replace(text, rules["dropped"], "")
  text = tf.strings.regex_replace(text, rules["separator"], " ")
  if chinese:
    text = tf.strings.regex_replace(text, "(" + rules["cjk"] + ")", " \\1 ")
  if lower:
    text = tf.strings.regex_replace(
        text, "(%s%s*)%s(%s*(?:[^%s%s]|$))" % (
            rules["cased"], rules["ignorable"], _SIGMA, rules["ignorable"],
            rules["cased"][1:-1], rules["ignorable"][1:-1]),
        "\\1\u03c2\\2")
  mapping = char_map(bool(lower), bool(strip))
  if mapping:
    keys = sorted(mapping)
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(keys), tf.constant([mapping[k] for k in keys])),
        default_value="\x00")
    chars = tf.strings.unicode_split(text, "UTF-8")
    mapped = tf.ragged.map_flat_values(table.lookup, chars)
    mapped = tf.ragged.map_flat_values(
        lambda m, c: tf.where(tf.equal(m, "\x00"), c, m), mapped, chars)
    text = tf.strings.reduce_join(mapped, axis=1)
  text = tf.strings.regex_replace(text, "(" + rules["punctuation"] + ")",
                                  " \\1 ")
  return text


def basic_words(text, tokenizer):
  """String tensor [batch] -> RaggedTensor [batch, words] of strings, the
  words tokenizer.basic_tokenizer gives (its never_split is not read)."""
  basic_tokenizer = tokenizer.basic_tokenizer
  text = _regex_steps(text, basic_tokenizer.do_lower_case,
                      basic_tokenizer.strips_accents,
                      basic_tokenizer.tokenize_chinese_chars)
  words = tf.strings.split(text, sep=" ")
  if not isinstance(words, tf.RaggedTensor):         # TF 1.15: sparse
    words = tf.RaggedTensor.from_sparse(words)
  return tf.ragged.boolean_mask(words, tf.strings.length(words) > 0)


def wordpiece_ids(words, tokenizer):
  """1-D string tensor of words -> RaggedTensor [words, pieces] of vocab
  ids: tokenizer.wordpiece_tokenizer's greedy longest-match-first split."""
  vocab = tokenizer.vocab
  wordpiece = tokenizer.wordpiece_tokenizer
  unk_id = vocab[wordpiece.unk_token]
  keys = list(vocab)
  table = tf.lookup.StaticHashTable(
      tf.lookup.KeyValueTensorInitializer(
          tf.constant(keys), tf.constant([vocab[k] for k in keys], tf.int64)),
      default_value=-1)
  longest = max(len(k) for k in keys)
  n = tf.strings.length(words, unit="UTF8_CHAR")
  too_long = n > wordpiece.max_input_chars_per_word
  n_used = tf.where(too_long, tf.zeros_like(n), n)
  num_words = tf.shape(words)[0]
  # Every candidate (word, start, length): starts 0..n-1, lengths up to
  # min(longest, n - start).
  starts = tf.ragged.range(n_used)
  word_of_start = starts.value_rowids()
  start = starts.flat_values
  count = tf.minimum(longest, tf.gather(n_used, word_of_start) - start)
  lengths = tf.ragged.range(count)
  cand_start_index = lengths.value_rowids()
  cand_word = tf.gather(word_of_start, cand_start_index)
  cand_start = tf.gather(start, cand_start_index)
  cand_length = lengths.flat_values + 1
  piece = tf.strings.substr(tf.gather(words, cand_word), cand_start,
                            cand_length, unit="UTF8_CHAR")
  piece = tf.where(cand_start > 0, tf.strings.join(["##", piece]), piece)
  ids = table.lookup(piece)
  # matches[i, l - 1]: the id of the piece of length l at the i-th
  # (word, start) of `starts` (-1: none).
  matches = tf.scatter_nd(
      tf.stack([cand_start_index, tf.cast(cand_length - 1, tf.int64)], 1),
      ids + 1, tf.stack([tf.shape(start, out_type=tf.int64)[0],
                         tf.constant(longest, tf.int64)])) - 1
  matches = tf.concat([matches, -tf.ones([1, longest], tf.int64)], 0)
  first = starts.row_splits[:-1]

  def body(step, pos, active, failed, emitted):
    row = tf.gather(matches, tf.where(active, first + tf.cast(pos, tf.int64),
                                      tf.fill(tf.shape(first), tf.shape(
                                          matches, out_type=tf.int64)[0] - 1)))
    valid = row >= 0
    has = tf.reduce_any(valid, axis=1)
    best = longest - 1 - tf.argmax(tf.cast(tf.reverse(valid, [1]), tf.int32),
                                   axis=1, output_type=tf.int32)
    best_id = tf.gather_nd(row, tf.stack([tf.range(num_words), best], 1))
    emit = active & has
    emitted = emitted.write(step, tf.where(emit, best_id,
                                           -tf.ones_like(best_id)))
    failed = failed | (active & ~has)
    pos = tf.where(emit, pos + best + 1, pos)
    active = emit & (pos < n_used)
    return step + 1, pos, active, failed, emitted

  steps, _, _, failed, emitted = tf.while_loop(
      # At least one step, so that the TensorArray is never empty.
      lambda step, pos, active, *_: tf.logical_or(
          tf.equal(step, 0), tf.reduce_any(active)), body,
      (tf.constant(0), tf.zeros_like(n_used), n_used > 0,
       tf.zeros_like(n_used, tf.bool),
       tf.TensorArray(tf.int64, size=0, dynamic_size=True,
                      element_shape=tf.TensorShape([None]))))
  steps = tf.reshape(tf.transpose(emitted.stack()),
                     tf.stack([num_words, steps]))
  pieces = tf.ragged.boolean_mask(steps, steps >= 0)
  return _unk_words(pieces, failed | too_long, unk_id)


def _unk_words(pieces, unk, unk_id):
  """pieces [words, pieces] with each word flagged in `unk` made one
  [UNK]."""
  keep = tf.gather(~unk, pieces.value_rowids())
  kept = tf.boolean_mask(pieces.flat_values, keep)
  kept_rows = tf.boolean_mask(pieces.value_rowids(), keep)
  # Rebuild: unk words get one [UNK], others keep their pieces.
  num_words = tf.shape(unk, out_type=tf.int64)[0]
  unk_rows = tf.boolean_mask(tf.range(num_words), unk)
  rows = tf.concat([kept_rows, unk_rows], 0)
  values = tf.concat([kept, tf.fill(tf.shape(unk_rows), tf.constant(
      unk_id, tf.int64))], 0)
  order = tf.argsort(rows, stable=True)
  return tf.RaggedTensor.from_value_rowids(
      tf.gather(values, order), tf.gather(rows, order), nrows=num_words)


def token_ids(text, tokenizer):
  """String tensor [batch] -> RaggedTensor [batch, pieces] int64 of the
  ids tokenizer.tokenize + convert_tokens_to_ids give."""
  words = basic_words(text, tokenizer)
  pieces = wordpiece_ids(words.flat_values, tokenizer)
  splits = tf.gather(pieces.row_splits, words.row_splits)
  return tf.RaggedTensor.from_row_splits(pieces.flat_values, splits)


def _keep(rt, head, tail):
  """Each row's first head[i] and last tail[i] values."""
  lengths = rt.row_lengths()
  pos = tf.ragged.range(lengths).flat_values
  row_length = tf.gather(lengths, rt.value_rowids())
  keep = ((pos < tf.gather(head, rt.value_rowids())) |
          (pos >= row_length - tf.gather(tail, rt.value_rowids())))
  return tf.ragged.boolean_mask(rt, rt.with_flat_values(keep))


def model_inputs(ids_a, ids_b, tokenizer, max_seq_length, truncation="head"):
  """Ragged ids of a and b (b None, or rows of it empty: single texts) ->
  dict input_ids / input_mask / segment_ids int32 [batch, seq], padded to
  the longest row: tokenization.build_inputs's rows."""
  la = ids_a.row_lengths()
  lb = ids_b.row_lengths() if ids_b is not None else tf.zeros_like(la)
  pair = lb > 0
  room = max_seq_length - 2
  if truncation == "head":
    head, tail = room, 0
  elif truncation == "tail":
    head, tail = 0, room
  elif truncation == "head_tail":
    head = int(round(room * inputs_lib.HEAD_SHARE))
    tail = room - head
  else:
    raise ValueError("unknown truncation %r" % truncation)
  fits = la <= room
  single_head = tf.where(fits, la, tf.fill(tf.shape(la), tf.constant(
      head, tf.int64)))
  single_tail = tf.where(fits, tf.zeros_like(la), tf.fill(
      tf.shape(la), tf.constant(tail, tf.int64)))
  # truncate_seq_pair: pop from the longer (b on a tie) down to `budget`.
  budget = tf.constant(max_seq_length - 3, tf.int64)
  over = la + lb > budget
  pair_a = tf.where(over, tf.minimum(la, tf.maximum((budget + 1) // 2,
                                                    budget - lb)), la)
  pair_b = tf.where(over, tf.minimum(lb, budget - pair_a), lb)
  a = _keep(ids_a, tf.where(pair, pair_a, single_head),
            tf.where(pair, tf.zeros_like(la), single_tail))
  batch = tf.shape(la, out_type=tf.int64)[0]

  def filled(value, lengths):
    return tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(lengths)], tf.constant(value, tf.int64)),
        lengths)

  ones = tf.ones([batch], tf.int64)
  cls = filled(tokenizer.vocab[inputs_lib.CLS_TOKEN], ones)
  sep = filled(tokenizer.vocab[inputs_lib.SEP_TOKEN], ones)
  parts = [cls, a, sep]
  segments = [filled(0, ones), filled(0, a.row_lengths()), filled(0, ones)]
  if ids_b is not None:
    b = _keep(ids_b, pair_b, tf.zeros_like(lb))
    sep_b = filled(tokenizer.vocab[inputs_lib.SEP_TOKEN],
                   tf.cast(pair, tf.int64))
    parts += [b, sep_b]
    segments += [filled(1, b.row_lengths()), filled(1, sep_b.row_lengths())]
  ids = tf.concat(parts, axis=1)
  segment = tf.concat(segments, axis=1)
  return {
      "input_ids": tf.cast(ids.to_tensor(0), tf.int32),
      "input_mask": tf.cast(tf.ones_like(ids).to_tensor(0), tf.int32),
      "segment_ids": tf.cast(segment.to_tensor(0), tf.int32),
  }


def text_features(text, text_b, tokenizer, max_seq_length, truncation):
  """String tensors [batch] (text_b None for single texts) -> the model's
  int32 inputs, as the Python predictor encodes the texts."""
  ids_a = token_ids(text, tokenizer)
  ids_b = token_ids(text_b, tokenizer) if text_b is not None else None
  return model_inputs(ids_a, ids_b, tokenizer, max_seq_length, truncation)


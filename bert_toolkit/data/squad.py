"""SQuAD-format reading comprehension data: reading, features, predictions.
No TensorFlow: the predictor and the tests import this without the model.

Two styles (`style=`, one of STYLES) pick whose rules apply:
  "google"    google-research/bert's run_squad.py, rule for rule;
  "hfl_cmrc"  HFL's CMRC 2018 baseline (run_cmrc2018_drcd_baseline.py, a
              modified run_squad.py), rule for rule.
The names (SquadExample, InputFeatures, RawResult, read_squad_examples,
convert_examples_to_features, write_predictions) and fields are Google's.

  read_squad_examples(path, is_training, version_2_with_negative=False,
                      style="google", do_lower_case=False)
      -> list of SquadExample
  convert_examples_to_features(examples, tokenizer, max_seq_length,
                               doc_stride, max_query_length, is_training,
                               style="google") -> list of InputFeatures
  write_predictions(all_examples, all_features, all_results, n_best_size,
                    max_answer_length, do_lower_case,
                    version_2_with_negative=False,
                    null_score_diff_threshold=0.0, style="google",
                    verbose_logging=False)
      -> (predictions, nbest, null_odds): the OrderedDicts Google writes as
      predictions.json, nbest_predictions.json and (v2) null_odds.json;
      null_odds is None without version_2_with_negative.

Reading (words):
  google    a word is a run of characters other than " ", \\t, \\r, \\n and
            U+202F; char_to_word_offset maps each character of the context
            to its word (whitespace to the word before it).
  hfl_cmrc  every CJK character, punctuation mark and control character is a
            word of its own, other runs between whitespace (\\t \\n \\r,
            space, category Zs) are words; with do_lower_case the words are
            lower-cased. Whitespace maps to the word before it.
Training answers:
  google    the first and only answer (more than one is an error, as in
            Google); `answer_start` must lie in the context and the context
            must read `text` there (else an error naming the question id);
            with version_2_with_negative, `is_impossible` is read and an
            impossible question has positions -1 and answer "".
  hfl_cmrc  the first answer; its position is the FIRST occurrence of its
            text in the context (`answer_start` is not read);
            version_2_with_negative does not apply.
  Both: when the answer's words, joined (by " " for google, by "" for
  hfl_cmrc), do not contain the whitespace-normalised answer text, the
  question is skipped for training, as Google does; one warning line says
  how many were skipped and names the first ids.
Features (Google's): [CLS] question [SEP] context window [SEP], the question
cut to max_query_length pieces; windows of max_seq_length - len(question) - 3
pieces, each next one starting doc_stride pieces later (the last one ends at
the context's end); the answer's pieces are narrowed to the pieces that
spell the tokenized answer (`_improve_answer_span`); a window without the
whole answer trains on position 0 ([CLS]); token_is_max_context marks the
window where a piece has the most context (min of pieces left and right,
+ 0.01 * window length, earliest on ties). unique_id counts from 1000000000.
hfl_cmrc tokenizes with its own basic step (the reading rule above, no
accent stripping) before WordPiece, and adds input_span_mask: 1 on [CLS]
and on the context pieces, 0 on the question, [SEP] and padding (it is
computed for both styles; only hfl_cmrc uses it).
Predictions (Google's): per window, the n_best_size best start and end
logits; a span must lie in the context, start where its first piece has
max context, end >= start, be at most max_answer_length pieces; spans are
ranked by start + end logit over all windows of a question; the text is the
original words of the span trimmed to the predicted pieces (`get_final_text`,
which falls back to the whole words); duplicates are dropped; probabilities
are the softmax of the n-best scores. version_2_with_negative (google only):
the null score is the smallest start[0] + end[0] over the windows; predict ""
when null score - best non-null score > null_score_diff_threshold; null_odds
holds that difference per question (where Google's code fails, no non-null
candidate at all, the prediction is "" and the difference is the null
score).
hfl_cmrc: the results are the model's outputs as HFL's model gives them
(logits masked with input_span_mask, -10000 outside, then log-softmax per
window: the span ranking is by per-window log-probabilities; the task's head
computes them), the final text has its spaces removed, the prediction is the
best non-empty text, and each n-best entry also gives start_index and
end_index.

Bad input is an InputError naming the file, the line of the question id when
it can be found, and the fix: a file that is not UTF-8 or not JSON, no "data"
list, a missing key, an empty context, an answer_start out of the context or
whose text the context does not hold there.
"""

import collections
import json
import logging
import math
import re
import types

import tokenization
from tokenization.wordpiece import WordpieceTokenizer
from bert_toolkit.data.split_files import read_text_lines
from bert_toolkit.errors import InputError
from bert_toolkit.errors import SettingsError

STYLES = ("google", "hfl_cmrc")
FIRST_UNIQUE_ID = 1000000000

# TensorFlow's logger (tf.logging's), without importing TensorFlow.
_LOG = logging.getLogger("tensorflow")


class SquadExample(object):
  """One question on one context. No answer: positions -1 (Google's)."""

  def __init__(self, qas_id, question_text, doc_tokens, orig_answer_text=None,
               start_position=None, end_position=None, is_impossible=False):
    self.qas_id = qas_id
    self.question_text = question_text
    self.doc_tokens = doc_tokens
    self.orig_answer_text = orig_answer_text
    self.start_position = start_position
    self.end_position = end_position
    self.is_impossible = is_impossible

  def __repr__(self):
    return "SquadExample(qas_id=%r, question_text=%r, start_position=%r, " \
        "end_position=%r, is_impossible=%r)" % (
            self.qas_id, self.question_text, self.start_position,
            self.end_position, self.is_impossible)


class InputFeatures(object):
  """One window of one example: Google's fields plus input_span_mask."""

  def __init__(self, unique_id, example_index, doc_span_index, tokens,
               token_to_orig_map, token_is_max_context, input_ids, input_mask,
               segment_ids, start_position=None, end_position=None,
               is_impossible=None, input_span_mask=None):
    self.unique_id = unique_id
    self.example_index = example_index
    self.doc_span_index = doc_span_index
    self.tokens = tokens
    self.token_to_orig_map = token_to_orig_map
    self.token_is_max_context = token_is_max_context
    self.input_ids = input_ids
    self.input_mask = input_mask
    self.segment_ids = segment_ids
    self.start_position = start_position
    self.end_position = end_position
    self.is_impossible = is_impossible
    self.input_span_mask = input_span_mask


RawResult = collections.namedtuple("RawResult",
                                   ["unique_id", "start_logits", "end_logits"])

_DocSpan = collections.namedtuple("DocSpan", ["start", "length"])


def check_style(style):
  """Raises SettingsError unless style is one of STYLES."""
  if style not in STYLES:
    raise SettingsError("--squad_style=%s: must be one of %s" %
                        (style, ", ".join(STYLES)))


# ------------------------------------------------------------ the file ---

class _Source(object):
  """The text of a SQuAD file, to name the line of an id in errors."""

  def __init__(self, path, text):
    self.path = path
    self.text = text

  def line_of(self, key, value):
    """1-based line of the first `"key": value` in the file, or None."""
    if key is None:
      return None
    for needle in (json.dumps(value, ensure_ascii=False), json.dumps(value)):
      found = re.search(r'"%s"\s*:\s*%s' % (key, re.escape(needle)),
                        self.text)
      if found:
        return self.text.count("\n", 0, found.start()) + 1
    return None

  def error(self, where, problem, fix):
    """where: (label, key, value), e.g. ("question", "id", "q1")."""
    label, key, value = where
    return InputError(self.path, self.line_of(key, value),
                      "%s %s: %s" % (label, json.dumps(
                          value, ensure_ascii=False), problem), fix)


def _question(qas_id):
  return ("question", "id", qas_id)


def _load(path):
  """path -> (the "data" list, _Source). InputError for bad files."""
  text = "\n".join(read_text_lines(path))
  try:
    data = json.loads(text)
  except ValueError as e:
    raise InputError(path, getattr(e, "lineno", None),
                     "not JSON (%s)" % getattr(e, "msg", e),
                     "Give a SQuAD-format JSON file: "
                     "{\"data\": [{\"paragraphs\": [...]}]}")
  if not isinstance(data, dict) or not isinstance(data.get("data"), list):
    raise InputError(path, None, "no \"data\" list at the top",
                     "Give a SQuAD-format JSON file: "
                     "{\"data\": [{\"paragraphs\": [...]}]}")
  return data["data"], _Source(path, text)


def _field(source, obj, key, where, types=None):
  """obj[key], or an InputError naming `where` (see _Source.error)."""
  if not isinstance(obj, dict) or key not in obj:
    raise source.error(where, "no \"%s\"" % key,
                       "Each article has \"paragraphs\", each paragraph "
                       "\"context\" and \"qas\", each question \"id\", "
                       "\"question\" and (for training) \"answers\" with "
                       "\"text\" and \"answer_start\"")
  value = obj[key]
  if types is not None and not isinstance(value, types):
    raise source.error(where, "\"%s\" is %s" % (key, type(value).__name__),
                       "Give \"%s\" as %s" % (key, " or ".join(
                           t.__name__ for t in (types if isinstance(
                               types, tuple) else (types,)))))
  return value


# --------------------------------------------------------------- words ---

def _is_google_whitespace(c):
  return c in (" ", "\t", "\r", "\n") or ord(c) == 0x202F


def google_words(context, do_lower_case=False):
  """Google's reading: context -> (doc_tokens, char_to_word_offset).
  do_lower_case does not apply (Google lower-cases in the tokenizer)."""
  del do_lower_case
  doc_tokens = []
  char_to_word_offset = []
  prev_is_whitespace = True
  for c in context:
    if _is_google_whitespace(c):
      prev_is_whitespace = True
    else:
      if prev_is_whitespace:
        doc_tokens.append(c)
      else:
        doc_tokens[-1] += c
      prev_is_whitespace = False
    char_to_word_offset.append(len(doc_tokens) - 1)
  return doc_tokens, char_to_word_offset


def hfl_basic_tokenize(text, do_lower_case=False):
  """HFL's basic step: CJK chars, punctuation, whitespace and control chars
  stand alone, then (do_lower_case) lower-case, then split on whitespace."""
  out = []
  for c in tokenization.convert_to_unicode(text):
    if (tokenization.is_chinese_char(ord(c)) or
        tokenization.is_punctuation(c) or tokenization.is_whitespace(c) or
        tokenization.is_control(c)):
      out.append(" " + c + " ")
    else:
      out.append(c)
  joined = "".join(out)
  if do_lower_case:
    joined = joined.lower()
  return joined.split()


def hfl_words(context, do_lower_case=False):
  """HFL's reading: context -> (doc_tokens, char_to_word_offset), or None
  when its characters do not add up to its words (a character that splits
  words for str.split but is not whitespace for BERT, e.g. U+2028)."""
  raw = hfl_basic_tokenize(context, do_lower_case)
  doc_tokens = []
  char_to_word_offset = []
  k = 0
  word = ""
  for c in context:
    if tokenization.is_whitespace(c):
      char_to_word_offset.append(k - 1)
      continue
    word += c
    char_to_word_offset.append(k)
    if do_lower_case:
      word = word.lower()
    if k >= len(raw):
      return None
    if word == raw[k]:
      doc_tokens.append(word)
      word = ""
      k += 1
  if k != len(raw) or word:
    return None
  return doc_tokens, char_to_word_offset


# ------------------------------------------------------------- reading ---

def _google_answer(source, qa, qas_id, context, char_to_word_offset,
                   version_2_with_negative):
  """-> (is_impossible, orig_answer_text, answer_offset) for training."""
  where = _question(qas_id)
  is_impossible = False
  if version_2_with_negative:
    is_impossible = _field(source, qa, "is_impossible", where, (bool, int))
  if is_impossible:
    return True, "", None
  answers = _field(source, qa, "answers", where, list)
  if len(answers) != 1:
    raise source.error(where, "%d answers" % len(answers),
                       "For training, each question should have exactly 1 "
                       "answer")
  text = _field(source, answers[0], "text", where, str)
  offset = _field(source, answers[0], "answer_start", where, int)
  if not text:
    raise source.error(where, "empty answer text",
                       "Give the answer's text (or mark the question "
                       "\"is_impossible\" with --version_2_with_negative)")
  if offset < 0 or offset + len(text) > len(context):
    raise source.error(where, "answer_start %d is out of its context "
                       "(%d characters)" % (offset, len(context)),
                       "Give the answer's character offset in the context")
  if context[offset:offset + len(text)] != text:
    raise source.error(where, "answer_start %d: the context reads %s there, "
                       "not the answer %s" % (
                           offset, json.dumps(context[offset:offset + len(
                               text)], ensure_ascii=False),
                           json.dumps(text, ensure_ascii=False)),
                       "Give the answer's character offset in the context, "
                       "or read with --squad_style=hfl_cmrc, which places "
                       "each answer at the first occurrence of its text")
  return False, text, offset


def _hfl_answer(source, qa, qas_id, context, char_to_word_offset,
                version_2_with_negative):
  """HFL: the first answer, placed at the first occurrence of its text."""
  del char_to_word_offset, version_2_with_negative
  where = _question(qas_id)
  answers = _field(source, qa, "answers", where, list)
  if not answers:
    raise source.error(where, "no answer", "For training, each question "
                       "needs an answer")
  text = _field(source, answers[0], "text", where, str)
  if not text:
    raise source.error(where, "empty answer text", "Give the answer's text")
  return False, text, context.find(text)


_Style = collections.namedtuple(
    "_Style", ["words", "answer", "answer_joiner", "lower_answer", "tokenizer",
               "final_text", "nbest_indexes", "with_null"])


def _style(style):
  check_style(style)
  return _STYLES[style]


def read_squad_examples(path, is_training, version_2_with_negative=False,
                        style="google", do_lower_case=False):
  """A SQuAD json file -> list of SquadExample (see the module docstring).

  do_lower_case: hfl_cmrc only (its words are lower-cased with it).
  Raises InputError for bad input, SettingsError for an unknown style or
  version_2_with_negative with hfl_cmrc.
  """
  rules = _style(style)
  if version_2_with_negative and not rules.with_null:
    raise SettingsError("--version_2_with_negative does not apply to "
                        "--squad_style=%s (it has no unanswerable questions)"
                        % style)
  data, source = _load(path)
  examples = []
  skipped = []
  for article_number, entry in enumerate(data, 1):
    title = entry.get("title") if isinstance(entry, dict) else None
    paragraphs = _field(source, entry, "paragraphs", (
        "article", "title", title) if title else (
            "article", None, article_number), list)
    for paragraph in paragraphs:
      pid = paragraph.get("id") if isinstance(paragraph, dict) else None
      qas = _field(source, paragraph, "qas", ("paragraph", "id", pid), list)
      where = (_question(qas[0]["id"])
               if qas and isinstance(qas[0], dict) and "id" in qas[0]
               else ("paragraph", "id", pid))
      context = _field(source, paragraph, "context", where, str)
      read = rules.words(context, do_lower_case)
      if read is None:
        raise source.error(where, "its context cannot be read as HFL's "
                           "baseline reads it (a line or paragraph "
                           "separator or other character that splits "
                           "words without being whitespace)",
                           "Replace such characters by spaces")
      doc_tokens, char_to_word_offset = read
      if not doc_tokens:
        raise source.error(where, "empty context", "Give the paragraph's "
                           "text in \"context\" or drop the paragraph")
      for qa in qas:
        qas_id = _field(source, qa, "id", ("paragraph", "id", pid))
        question_text = _field(source, qa, "question", _question(qas_id),
                               str)
        start_position = end_position = orig_answer_text = None
        is_impossible = False
        if is_training:
          is_impossible, orig_answer_text, offset = rules.answer(
              source, qa, qas_id, context, char_to_word_offset,
              version_2_with_negative)
          if is_impossible:
            start_position = end_position = -1
          elif offset < 0:
            skipped.append(qas_id)
            continue
          else:
            start_position = char_to_word_offset[offset]
            end_position = char_to_word_offset[offset + len(
                orig_answer_text) - 1]
            actual = rules.answer_joiner.join(
                doc_tokens[start_position:end_position + 1])
            cleaned = rules.answer_joiner.join(
                tokenization.whitespace_tokenize(orig_answer_text))
            if rules.lower_answer and do_lower_case:
              cleaned = cleaned.lower()
            if actual.find(cleaned) == -1:
              skipped.append(qas_id)
              continue
        examples.append(SquadExample(
            qas_id=qas_id, question_text=question_text,
            doc_tokens=doc_tokens, orig_answer_text=orig_answer_text,
            start_position=start_position, end_position=end_position,
            is_impossible=bool(is_impossible)))
  if skipped:
    _LOG.warning("%s: skipped %d training question(s) whose answer could not "
                 "be found in the words of its context (first: %s)",
                 path, len(skipped), ", ".join(str(i) for i in skipped[:5]))
  return examples


# ------------------------------------------------------------ features ---

class HflTokenizer(object):
  """HFL's ChineseFullTokenizer on a tokenizer's vocab: hfl_basic_tokenize,
  then WordPiece (no cleaning, no accent stripping)."""

  def __init__(self, tokenizer):
    self.vocab = tokenizer.vocab
    self.do_lower_case = tokenizer.do_lower_case
    self.wordpiece_tokenizer = WordpieceTokenizer(vocab=self.vocab)
    self._base = tokenizer

  def tokenize(self, text):
    pieces = []
    for word in hfl_basic_tokenize(text, self.do_lower_case):
      pieces.extend(self.wordpiece_tokenizer.tokenize(word))
    return pieces

  def convert_tokens_to_ids(self, tokens):
    return self._base.convert_tokens_to_ids(tokens)


def _improve_answer_span(doc_tokens, input_start, input_end, tokenizer,
                         orig_answer_text):
  """The narrowest piece span inside [input_start, input_end] that spells
  the tokenized answer (e.g. "1895" inside "(1895-1943)."), else the input."""
  # Google compares " ".join of every sub-span, latest end first; pieces
  # hold no spaces, so only a span of the answer's piece count can match:
  # the same result without the quadratic joins.
  answer_pieces = tokenizer.tokenize(orig_answer_text)
  length = len(answer_pieces)
  if length:
    for new_start in range(input_start, input_end - length + 2):
      if doc_tokens[new_start:new_start + length] == answer_pieces:
        return new_start, new_start + length - 1
  return input_start, input_end


def _check_is_max_context(doc_spans, cur_span_index, position):
  """True if window cur_span_index gives the piece at `position` its most
  context: min(left, right) + 0.01 * window length, first window on ties."""
  best_score = None
  best_span_index = None
  for span_index, doc_span in enumerate(doc_spans):
    end = doc_span.start + doc_span.length - 1
    if position < doc_span.start or position > end:
      continue
    score = (min(position - doc_span.start, end - position) +
             0.01 * doc_span.length)
    if best_score is None or score > best_score:
      best_score = score
      best_span_index = span_index
  return cur_span_index == best_span_index


def doc_spans_of(num_pieces, max_tokens_for_doc, doc_stride):
  """Google's windows over num_pieces context pieces: list of DocSpan."""
  doc_spans = []
  start_offset = 0
  while start_offset < num_pieces:
    length = min(num_pieces - start_offset, max_tokens_for_doc)
    doc_spans.append(_DocSpan(start=start_offset, length=length))
    if start_offset + length == num_pieces:
      break
    start_offset += min(length, doc_stride)
  return doc_spans


def convert_examples_to_features(examples, tokenizer, max_seq_length,
                                 doc_stride, max_query_length, is_training,
                                 style="google"):
  """SquadExamples -> list of InputFeatures (see the module docstring).

  tokenizer: a FullTokenizer (hfl_cmrc uses its vocab and do_lower_case).
  Raises SettingsError when no context piece fits (max_seq_length <=
  max_query_length + 3) or doc_stride < 1.
  """
  rules = _style(style)
  if max_seq_length <= max_query_length + 3:
    raise SettingsError(
        "--max_seq_length=%d must be greater than --max_query_length=%d + 3"
        % (max_seq_length, max_query_length))
  if doc_stride < 1:
    raise SettingsError("--doc_stride=%d must be at least 1" % doc_stride)
  tokenizer = rules.tokenizer(tokenizer)
  features = []
  unique_id = FIRST_UNIQUE_ID
  for example_index, example in enumerate(examples):
    query_tokens = tokenizer.tokenize(example.question_text)[:max_query_length]
    tok_to_orig_index = []
    orig_to_tok_index = []
    all_doc_tokens = []
    for i, token in enumerate(example.doc_tokens):
      orig_to_tok_index.append(len(all_doc_tokens))
      for sub_token in tokenizer.tokenize(token):
        tok_to_orig_index.append(i)
        all_doc_tokens.append(sub_token)

    tok_start_position = tok_end_position = None
    if is_training and example.is_impossible:
      tok_start_position = tok_end_position = -1
    if is_training and not example.is_impossible:
      tok_start_position = orig_to_tok_index[example.start_position]
      if example.end_position < len(example.doc_tokens) - 1:
        tok_end_position = orig_to_tok_index[example.end_position + 1] - 1
      else:
        tok_end_position = len(all_doc_tokens) - 1
      tok_start_position, tok_end_position = _improve_answer_span(
          all_doc_tokens, tok_start_position, tok_end_position, tokenizer,
          example.orig_answer_text)

    max_tokens_for_doc = max_seq_length - len(query_tokens) - 3
    doc_spans = doc_spans_of(len(all_doc_tokens), max_tokens_for_doc,
                             doc_stride)
    for doc_span_index, doc_span in enumerate(doc_spans):
      tokens = ["[CLS]"] + query_tokens + ["[SEP]"]
      segment_ids = [0] * len(tokens)
      input_span_mask = [1] + [0] * (len(tokens) - 1)
      token_to_orig_map = {}
      token_is_max_context = {}
      for i in range(doc_span.length):
        split_token_index = doc_span.start + i
        token_to_orig_map[len(tokens)] = tok_to_orig_index[split_token_index]
        token_is_max_context[len(tokens)] = _check_is_max_context(
            doc_spans, doc_span_index, split_token_index)
        tokens.append(all_doc_tokens[split_token_index])
        segment_ids.append(1)
        input_span_mask.append(1)
      tokens.append("[SEP]")
      segment_ids.append(1)
      input_span_mask.append(0)
      input_ids = tokenizer.convert_tokens_to_ids(tokens)
      input_mask = [1] * len(input_ids)
      padding = max_seq_length - len(input_ids)
      input_ids += [0] * padding
      input_mask += [0] * padding
      segment_ids += [0] * padding
      input_span_mask += [0] * padding

      start_position = end_position = None
      if is_training and not example.is_impossible:
        doc_start = doc_span.start
        doc_end = doc_span.start + doc_span.length - 1
        if tok_start_position >= doc_start and tok_end_position <= doc_end:
          doc_offset = len(query_tokens) + 2
          start_position = tok_start_position - doc_start + doc_offset
          end_position = tok_end_position - doc_start + doc_offset
        else:
          start_position = end_position = 0
      if is_training and example.is_impossible:
        start_position = end_position = 0

      features.append(InputFeatures(
          unique_id=unique_id, example_index=example_index,
          doc_span_index=doc_span_index, tokens=tokens,
          token_to_orig_map=token_to_orig_map,
          token_is_max_context=token_is_max_context, input_ids=input_ids,
          input_mask=input_mask, segment_ids=segment_ids,
          start_position=start_position, end_position=end_position,
          is_impossible=example.is_impossible,
          input_span_mask=input_span_mask))
      unique_id += 1
  return features


# --------------------------------------------------------- predictions ---

def _get_best_indexes(logits, n_best_size):
  """Indexes of the n_best_size largest logits, largest first (stable)."""
  ranked = sorted(enumerate(logits), key=lambda x: x[1], reverse=True)
  return [index for index, _ in ranked[:n_best_size]]


def _compute_softmax(scores):
  """Softmax of a list of floats (Google's, in plain Python)."""
  if not scores:
    return []
  max_score = max(scores)
  exp_scores = [math.exp(score - max_score) for score in scores]
  total_sum = sum(exp_scores)
  return [score / total_sum for score in exp_scores]


def _strip_spaces(text):
  ns_chars = []
  ns_to_s_map = collections.OrderedDict()
  for i, c in enumerate(text):
    if c == " ":
      continue
    ns_to_s_map[len(ns_chars)] = i
    ns_chars.append(c)
  return "".join(ns_chars), ns_to_s_map


def get_final_text(pred_text, orig_text, do_lower_case, verbose_logging=False):
  """Google's rule: the part of orig_text (the original words of the span)
  that the normalised prediction pred_text stands for, found by aligning
  orig_text's BasicTokenizer output to it character by character; orig_text
  itself when that alignment fails."""
  tokenizer = tokenization.BasicTokenizer(do_lower_case=do_lower_case)
  tok_text = " ".join(tokenizer.tokenize(orig_text))
  start_position = tok_text.find(pred_text)
  if start_position == -1:
    if verbose_logging:
      _LOG.info("Unable to find text: '%s' in '%s'", pred_text, orig_text)
    return orig_text
  end_position = start_position + len(pred_text) - 1
  orig_ns_text, orig_ns_to_s_map = _strip_spaces(orig_text)
  tok_ns_text, tok_ns_to_s_map = _strip_spaces(tok_text)
  if len(orig_ns_text) != len(tok_ns_text):
    if verbose_logging:
      _LOG.info("Length not equal after stripping spaces: '%s' vs '%s'",
                orig_ns_text, tok_ns_text)
    return orig_text
  tok_s_to_ns_map = {s: ns for ns, s in tok_ns_to_s_map.items()}

  def to_orig(position, which):
    ns_position = tok_s_to_ns_map.get(position)
    if ns_position is None or ns_position not in orig_ns_to_s_map:
      if verbose_logging:
        _LOG.info("Couldn't map %s position", which)
      return None
    return orig_ns_to_s_map[ns_position]

  orig_start_position = to_orig(start_position, "start")
  if orig_start_position is None:
    return orig_text
  orig_end_position = to_orig(end_position, "end")
  if orig_end_position is None:
    return orig_text
  return orig_text[orig_start_position:orig_end_position + 1]


def _google_final_text(text):
  return text


def _hfl_final_text(text):
  return text.replace(" ", "")


_PrelimPrediction = collections.namedtuple(
    "PrelimPrediction",
    ["feature_index", "start_index", "end_index", "start_logit", "end_logit"])
_NbestPrediction = collections.namedtuple(
    "NbestPrediction",
    ["text", "start_logit", "end_logit", "start_index", "end_index"])


def write_predictions(all_examples, all_features, all_results, n_best_size,
                      max_answer_length, do_lower_case,
                      version_2_with_negative=False,
                      null_score_diff_threshold=0.0, style="google",
                      verbose_logging=False):
  """-> (predictions, nbest, null_odds) OrderedDicts keyed by question id
  (null_odds None without version_2_with_negative). See the module
  docstring for the rules; writing them to files is the caller's."""
  rules = _style(style)
  if version_2_with_negative and not rules.with_null:
    raise SettingsError("--version_2_with_negative does not apply to "
                        "--squad_style=%s" % style)
  example_index_to_features = collections.defaultdict(list)
  for feature in all_features:
    example_index_to_features[feature.example_index].append(feature)
  unique_id_to_result = {result.unique_id: result for result in all_results}

  all_predictions = collections.OrderedDict()
  all_nbest_json = collections.OrderedDict()
  scores_diff_json = collections.OrderedDict()
  for example_index, example in enumerate(all_examples):
    features = example_index_to_features[example_index]
    prelim_predictions = []
    score_null = 1000000  # large and positive
    min_null_feature_index = 0
    null_start_logit = 0
    null_end_logit = 0
    for feature_index, feature in enumerate(features):
      result = unique_id_to_result[feature.unique_id]
      start_logits, end_logits = result.start_logits, result.end_logits
      start_indexes = _get_best_indexes(start_logits, n_best_size)
      end_indexes = _get_best_indexes(end_logits, n_best_size)
      if version_2_with_negative:
        feature_null_score = start_logits[0] + end_logits[0]
        if feature_null_score < score_null:
          score_null = feature_null_score
          min_null_feature_index = feature_index
          null_start_logit = start_logits[0]
          null_end_logit = end_logits[0]
      for start_index in start_indexes:
        for end_index in end_indexes:
          if (start_index >= len(feature.tokens) or
              end_index >= len(feature.tokens) or
              start_index not in feature.token_to_orig_map or
              end_index not in feature.token_to_orig_map or
              not feature.token_is_max_context.get(start_index, False) or
              end_index < start_index or
              end_index - start_index + 1 > max_answer_length):
            continue
          prelim_predictions.append(_PrelimPrediction(
              feature_index=feature_index, start_index=start_index,
              end_index=end_index, start_logit=start_logits[start_index],
              end_logit=end_logits[end_index]))
    if version_2_with_negative:
      prelim_predictions.append(_PrelimPrediction(
          feature_index=min_null_feature_index, start_index=0, end_index=0,
          start_logit=null_start_logit, end_logit=null_end_logit))
    prelim_predictions = sorted(prelim_predictions,
                                key=lambda x: x.start_logit + x.end_logit,
                                reverse=True)

    seen_predictions = {}
    nbest = []
    for pred in prelim_predictions:
      if len(nbest) >= n_best_size:
        break
      feature = features[pred.feature_index]
      if pred.start_index > 0:  # a non-null prediction
        tok_tokens = feature.tokens[pred.start_index:pred.end_index + 1]
        orig_doc_start = feature.token_to_orig_map[pred.start_index]
        orig_doc_end = feature.token_to_orig_map[pred.end_index]
        orig_tokens = example.doc_tokens[orig_doc_start:orig_doc_end + 1]
        tok_text = " ".join(tok_tokens).replace(" ##", "").replace("##", "")
        tok_text = " ".join(tok_text.strip().split())
        orig_text = " ".join(orig_tokens)
        final_text = get_final_text(tok_text, orig_text, do_lower_case,
                                    verbose_logging)
        final_text = rules.final_text(final_text)
        if final_text in seen_predictions:
          continue
      else:
        final_text = ""
      seen_predictions[final_text] = True
      nbest.append(_NbestPrediction(
          text=final_text, start_logit=pred.start_logit,
          end_logit=pred.end_logit, start_index=pred.start_index,
          end_index=pred.end_index))

    if version_2_with_negative and "" not in seen_predictions:
      nbest.append(_NbestPrediction(
          text="", start_logit=null_start_logit, end_logit=null_end_logit,
          start_index=0, end_index=0))
    if not nbest:  # no valid span at all: Google's nonce prediction
      nbest.append(_NbestPrediction(text="empty", start_logit=0.0,
                                    end_logit=0.0, start_index=0,
                                    end_index=0))

    best_non_null_entry = None
    for entry in nbest:
      if best_non_null_entry is None and entry.text:
        best_non_null_entry = entry
    probs = _compute_softmax([e.start_logit + e.end_logit for e in nbest])
    nbest_json = []
    for i, entry in enumerate(nbest):
      output = collections.OrderedDict()
      output["text"] = entry.text
      output["probability"] = probs[i]
      output["start_logit"] = entry.start_logit
      output["end_logit"] = entry.end_logit
      if rules.nbest_indexes:
        output["start_index"] = entry.start_index
        output["end_index"] = entry.end_index
      nbest_json.append(output)

    if version_2_with_negative:
      # predict "" iff the null score - the best non-null score > threshold
      # (no non-null candidate at all: "", against a nonce score of 0)
      score_diff = score_null - (
          best_non_null_entry.start_logit + best_non_null_entry.end_logit
          if best_non_null_entry else 0.0)
      scores_diff_json[example.qas_id] = score_diff
      all_predictions[example.qas_id] = (
          "" if score_diff > null_score_diff_threshold or
          not best_non_null_entry else best_non_null_entry.text)
    elif rules.with_null:
      all_predictions[example.qas_id] = nbest_json[0]["text"]
    else:
      all_predictions[example.qas_id] = (
          best_non_null_entry.text if best_non_null_entry else "")
    all_nbest_json[example.qas_id] = nbest_json
  return (all_predictions, all_nbest_json,
          scores_diff_json if version_2_with_negative else None)


_STYLES = types.MappingProxyType({
    "google": _Style(words=google_words, answer=_google_answer,
                     answer_joiner=" ", lower_answer=False,
                     tokenizer=lambda tokenizer: tokenizer,
                     final_text=_google_final_text,
                     nbest_indexes=False, with_null=True),
    "hfl_cmrc": _Style(words=hfl_words, answer=_hfl_answer, answer_joiner="",
                       lower_answer=True, tokenizer=HflTokenizer,
                       final_text=_hfl_final_text, nbest_indexes=True,
                       with_null=False),
})

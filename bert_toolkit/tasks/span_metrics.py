"""Scores of span-extraction predictions, by the official scripts' rules.
No TensorFlow. Each function takes the data set as parsed JSON (SQuAD
format: {"data": [{"paragraphs": [{"qas": [...]}]}]}) and predictions
{question id: answer text}, and returns {"exact_match", "f1", "total"} in
percent, as those scripts print them.

squad_scores(dataset_json, predictions, version=None)
  SQuAD's evaluate-v1.1.py / evaluate-v2.0.py. version None: "2.0" when a
  question of the data set has the key "is_impossible" (SQuAD 2.0 files),
  else "1.1". Normalisation of an answer: lower-case, drop the characters
  of string.punctuation, drop the words a/an/the, collapse whitespace.
  EM: normalised texts equal; F1: bag-of-words overlap of the normalised
  texts; each the maximum over the question's gold answers.
  1.1: a question without a prediction scores 0 and counts in total.
  2.0: gold answers that normalise to "" are dropped, a question left
  without any (unanswerable) has the gold answer ""; when either side has
  no words, F1 is 1 if both have none, else 0; questions without a
  prediction are left out of total (the script's "Missing prediction");
  HasAns_* and NoAns_* give the same scores over the answerable and
  unanswerable questions.

cmrc_scores(dataset_json, predictions)
  CMRC 2018's cmrc2018_evaluate.py (Python 2 and nltk there; the same rules
  in Python 3 here). The data set's question ids are stripped of
  surrounding whitespace before they are looked up in the predictions.
  EM: the prediction equals a gold answer once both are lower-cased,
  stripped and rid of the punctuation list PUNCTUATION (ASCII - : _ * ^ /
  \\ ~ ` + = and the full-width marks listed). F1 (mixed segmentation): the
  lower-cased, stripped text without those marks is cut into segments, each
  CJK character (U+4E00-U+9FA5) one segment, the runs between them split as
  nltk's word_tokenize splits English (Treebank rules: words, numbers,
  punctuation such as , . ; ! ? % $ & ( ) " apart, clitics 's n't apart);
  F1 is from the longest common CONTIGUOUS run of segments (precision =
  its length / the prediction's segments, recall = / the answer's); the
  maximum over the gold answers. A question without a prediction scores 0
  and counts in total ("skip" gives how many).
"""

import collections
import re
import string

# ---------------------------------------------------------------- SQuAD ---

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = frozenset(string.punctuation)


def normalize_answer(s):
  """SQuAD: lower, no punctuation, no articles, single spaces."""
  s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
  return " ".join(_ARTICLES.sub(" ", s).split())


def _squad_f1(gold, prediction, empty_rule):
  gold_toks = normalize_answer(gold).split()
  pred_toks = normalize_answer(prediction).split()
  if empty_rule and (not gold_toks or not pred_toks):
    return float(gold_toks == pred_toks)
  num_same = sum((collections.Counter(gold_toks) &
                  collections.Counter(pred_toks)).values())
  if num_same == 0:
    return 0.0
  precision = num_same / len(pred_toks)
  recall = num_same / len(gold_toks)
  return 2 * precision * recall / (precision + recall)


def _squad_exact(gold, prediction):
  return float(normalize_answer(gold) == normalize_answer(prediction))


def _questions(dataset_json):
  for article in dataset_json["data"]:
    for paragraph in article["paragraphs"]:
      for qa in paragraph["qas"]:
        yield qa


def _percent(em, f1, total):
  return {"exact_match": 100.0 * em / total if total else 0.0,
          "f1": 100.0 * f1 / total if total else 0.0, "total": total}


def squad_version(dataset_json):
  """"2.0" when a question has "is_impossible", else "1.1"."""
  return "2.0" if any("is_impossible" in qa
                      for qa in _questions(dataset_json)) else "1.1"


def squad_scores(dataset_json, predictions, version=None):
  """SQuAD's official EM and F1 (see the module docstring)."""
  version = version or squad_version(dataset_json)
  if version == "1.1":
    em = f1 = total = 0
    for qa in _questions(dataset_json):
      total += 1
      if qa["id"] not in predictions:
        continue
      golds = [a["text"] for a in qa["answers"]]
      prediction = predictions[qa["id"]]
      em += max((_squad_exact(g, prediction) for g in golds), default=0.0)
      f1 += max((_squad_f1(g, prediction, False) for g in golds),
                default=0.0)
    return _percent(em, f1, total)
  scores = {"": [0.0, 0.0, 0], "HasAns_": [0.0, 0.0, 0],
            "NoAns_": [0.0, 0.0, 0]}
  for qa in _questions(dataset_json):
    golds = [a["text"] for a in qa["answers"] if normalize_answer(a["text"])]
    has_answer = bool(qa["answers"])
    golds = golds or [""]
    if qa["id"] not in predictions:
      continue
    prediction = predictions[qa["id"]]
    em = max(_squad_exact(g, prediction) for g in golds)
    f1 = max(_squad_f1(g, prediction, True) for g in golds)
    for prefix in ("", "HasAns_" if has_answer else "NoAns_"):
      scores[prefix][0] += em
      scores[prefix][1] += f1
      scores[prefix][2] += 1
  result = _percent(*scores[""])
  for prefix in ("HasAns_", "NoAns_"):
    if scores[prefix][2]:
      for key, value in _percent(*scores[prefix]).items():
        result[prefix + key] = value
  return result


# ------------------------------------------------------------ CMRC 2018 ---

# cmrc2018_evaluate.py's sp_char (its two-character "……" can never equal
# one character, so it is left out).
PUNCTUATION = frozenset([
    "-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=",
    "\uff0c", "\u3002", "\uff1a", "\uff1f", "\uff01", "\u201c", "\u201d",
    "\uff1b", "\u2019", "\u300a", "\u300b", "\u00b7", "\u3001",
    "\u300c", "\u300d", "\uff08", "\uff09", "\uff0d", "\uff5e", "\u300e",
    "\u300f"])
_CJK = re.compile("[\u4e00-\u9fa5]")

# nltk's TreebankWordTokenizer (word_tokenize's) rules, in its order.
_STARTING_QUOTES = (
    (re.compile(r'^"'), r"``"),
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r'([ \(\[{<])("|\'{2})'), r"\1 `` "),
)
_PUNCTUATION_RULES = (
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.\.\."), r" ... "),
    (re.compile(r"[;@#$%&]"), r" \g<0> "),
    (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 "),
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
)
_PARENS = (re.compile(r"[\]\[\(\)\{\}\<\>]"), r" \g<0> ")
_DOUBLE_DASHES = (re.compile(r"--"), r" -- ")
_ENDING_QUOTES = (
    (re.compile(r'"'), " '' "),
    (re.compile(r"(\S)(\'\')"), r"\1 \2 "),
    (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
)
_CONTRACTIONS = tuple(re.compile(p) for p in (
    r"(?i)\b(can)(not)\b", r"(?i)\b(d)('ye)\b", r"(?i)\b(gim)(me)\b",
    r"(?i)\b(gon)(na)\b", r"(?i)\b(got)(ta)\b", r"(?i)\b(lem)(me)\b",
    r"(?i)\b(more)('n)\b", r"(?i)\b(wan)(na) ", r"(?i) ('t)(is)\b",
    r"(?i) ('t)(was)\b"))


def word_tokenize(text):
  """English words as nltk.word_tokenize splits them (Treebank rules on
  the whole text, no sentence splitting)."""
  for regexp, substitution in _STARTING_QUOTES + _PUNCTUATION_RULES:
    text = regexp.sub(substitution, text)
  for regexp, substitution in (_PARENS, _DOUBLE_DASHES):
    text = regexp.sub(substitution, text)
  text = " " + text + " "
  for regexp, substitution in _ENDING_QUOTES:
    text = regexp.sub(substitution, text)
  for regexp in _CONTRACTIONS:
    text = regexp.sub(r" \1 \2 ", text)
  return text.split()


def mixed_segmentation(text, rm_punc=False):
  """CMRC 2018: CJK characters (and, unless rm_punc drops them, the
  PUNCTUATION marks) one segment each, English runs by word_tokenize."""
  segments = []
  run = ""
  for char in text.lower().strip():
    if rm_punc and char in PUNCTUATION:
      continue
    if _CJK.match(char) or char in PUNCTUATION:
      if run:
        segments.extend(word_tokenize(run))
        run = ""
      segments.append(char)
    else:
      run += char
  if run:
    segments.extend(word_tokenize(run))
  return segments


def remove_punctuation(text):
  """CMRC 2018 EM form: lower-cased, stripped, without PUNCTUATION."""
  return "".join(c for c in text.lower().strip() if c not in PUNCTUATION)


def longest_common_run(a, b):
  """Length of the longest common contiguous run of two lists."""
  best = 0
  previous = [0] * (len(b) + 1)
  for x in a:
    current = [0] * (len(b) + 1)
    for j, y in enumerate(b):
      if x == y:
        current[j + 1] = previous[j] + 1
        best = max(best, current[j + 1])
    previous = current
  return best


def cmrc_f1(answers, prediction):
  """CMRC 2018 F1 of one prediction: max over the gold answers."""
  prediction_segs = mixed_segmentation(prediction, rm_punc=True)
  best = 0.0
  for answer in answers:
    answer_segs = mixed_segmentation(answer, rm_punc=True)
    common = longest_common_run(answer_segs, prediction_segs)
    if common:
      precision = common / len(prediction_segs)
      recall = common / len(answer_segs)
      best = max(best, 2 * precision * recall / (precision + recall))
  return best


def cmrc_em(answers, prediction):
  """CMRC 2018 EM of one prediction: 1.0 if it matches a gold answer."""
  prediction = remove_punctuation(prediction)
  return float(any(remove_punctuation(a) == prediction for a in answers))


def cmrc_scores(dataset_json, predictions):
  """CMRC 2018's official EM and F1 (see the module docstring), with
  "skip": the questions without a prediction."""
  em = f1 = total = skip = 0
  for qa in _questions(dataset_json):
    total += 1
    qas_id = str(qa["id"]).strip()
    if qas_id not in predictions:
      skip += 1
      continue
    answers = [a["text"] for a in qa["answers"]]
    prediction = str(predictions[qas_id])
    f1 += cmrc_f1(answers, prediction)
    em += cmrc_em(answers, prediction)
  return dict(_percent(em, f1, total), skip=skip)

"""Model inputs from token lists: `truncate_seq_pair` and `build_inputs`
([CLS] a [SEP] (b [SEP]) with segment ids), as google-research/bert's
run_classifier.py and extract_features.py build them. No padding here.
"""

CLS_TOKEN = "[CLS]"
SEP_TOKEN = "[SEP]"


def truncate_seq_pair(tokens_a, tokens_b, max_length):
  """Pops tokens, in place, until len(tokens_a) + len(tokens_b) <= max_length.

  Each step pops the last token of the longer list, of tokens_b when both are
  equally long, so the shorter text keeps as much as it can. Returns None.
  Raises ValueError if max_length < 0.
  """
  if max_length < 0:
    raise ValueError("max_length must be >= 0, got %d" % max_length)
  while len(tokens_a) + len(tokens_b) > max_length:
    if len(tokens_a) > len(tokens_b):
      tokens_a.pop()
    else:
      tokens_b.pop()


TRUNCATIONS = ("head", "tail", "head_tail")

# head_tail keeps the first 128 and the last 382 pieces of a 512 budget
# (510 pieces): the best plain strategy in Sun et al., "How to Fine-Tune
# BERT for Text Classification?" (2019); other budgets keep the same share.
HEAD_SHARE = 128.0 / 510.0


def truncate_single(tokens, room, truncation="head"):
  """The pieces of a single text that fit in `room`.

  head: the first `room`; tail: the last `room`; head_tail: the first
  round(room * 128/510) and the rest from the end.
  """
  if len(tokens) <= room:
    return list(tokens)
  if truncation == "head":
    return list(tokens[:room])
  if truncation == "tail":
    return list(tokens[len(tokens) - room:]) if room else []
  if truncation == "head_tail":
    head = int(round(room * HEAD_SHARE))
    tail = room - head
    return list(tokens[:head]) + (list(tokens[-tail:]) if tail else [])
  raise ValueError("unknown truncation %r; use one of %s" %
                   (truncation, ", ".join(TRUNCATIONS)))


def build_inputs(tokens_a, tokens_b, max_seq_length, truncation="head"):
  """Token lists -> (tokens, segment_ids), at most max_seq_length long.

  Args:
    tokens_a: list of str, the first text's tokens (left unchanged).
    tokens_b: list of str or None; an empty list counts as None, as in
      Google's run_classifier (`if tokens_b:`). Left unchanged.
    max_seq_length: int, room including [CLS] and [SEP]s.
    truncation: how a single text is cut to max_seq_length - 2 pieces
      (truncate_single: "head", Google's, "tail" or "head_tail"). A pair is
      always cut Google's way, from the end of the longer text.
  Returns:
    tokens: ["[CLS]"] + a + ["[SEP]"] (+ b + ["[SEP]"]); a alone is cut to
      max_seq_length - 2 tokens, a pair via truncate_seq_pair(max_seq_length-3).
    segment_ids: list of int, 0 for [CLS], a and its [SEP]; 1 for b and its
      [SEP]. Same length as tokens.
  """
  tokens_a = list(tokens_a)
  tokens_b = list(tokens_b) if tokens_b else None
  specials = 3 if tokens_b else 2
  if max_seq_length < specials:
    raise ValueError("max_seq_length=%d leaves no room for the %d special "
                     "tokens" % (max_seq_length, specials))
  if tokens_b:
    truncate_seq_pair(tokens_a, tokens_b, max_seq_length - 3)
  else:
    tokens_a = truncate_single(tokens_a, max_seq_length - 2, truncation)
  tokens = [CLS_TOKEN] + tokens_a + [SEP_TOKEN]
  segment_ids = [0] * len(tokens)
  if tokens_b:
    tokens += tokens_b + [SEP_TOKEN]
    segment_ids += [1] * (len(tokens_b) + 1)
  return tokens, segment_ids

"""FullTokenizer (BasicTokenizer then WordPiece, with the vocab's ids), the
factory the toolkit builds it with (`from_vocab`, casing a model carries:
`model_do_lower_case`) and the do_lower_case-vs-checkpoint name check
`validate_case_matches_checkpoint`.

With its defaults, token for token the same as google-research/bert's
FullTokenizer.
"""

import re

from tokenization import spans
from tokenization.basic import BasicTokenizer
from tokenization.vocab import check_vocab
from tokenization.vocab import convert_by_vocab
from tokenization.vocab import load_vocab
from tokenization.vocab import REQUIRED_TOKENS
from tokenization.wordpiece import WordpieceTokenizer

# Google's released checkpoints, by folder name, and the casing they need.
_LOWER_MODELS = (
    "uncased_L-24_H-1024_A-16", "uncased_L-12_H-768_A-12",
    "multilingual_L-12_H-768_A-12", "chinese_L-12_H-768_A-12",
)
_CASED_MODELS = (
    "cased_L-12_H-768_A-12", "cased_L-24_H-1024_A-16",
    "multi_cased_L-12_H-768_A-12",
)


def validate_case_matches_checkpoint(do_lower_case, init_checkpoint):
  """Raises ValueError if do_lower_case contradicts a known Google model name.

  Only checkpoints whose path looks like ".../<model_name>/bert_model.ckpt"
  with <model_name> one of Google's released BERT folders are checked; any
  other path (or an empty one) passes, as in google-research/bert. Where
  Google's message says to comment the check out, ours names the flag that
  skips it (--skip_case_check).
  """
  if not init_checkpoint:
    return
  m = re.match(r"^.*?([A-Za-z0-9_-]+)/bert_model.ckpt", init_checkpoint)
  if m is None:
    return
  model_name = m.group(1)
  if model_name in _LOWER_MODELS and not do_lower_case:
    actual_flag, case_name, opposite_flag = "False", "lowercased", "True"
  elif model_name in _CASED_MODELS and do_lower_case:
    actual_flag, case_name, opposite_flag = "True", "cased", "False"
  else:
    return
  raise ValueError(
      "You passed in `--do_lower_case=%s` with `--init_checkpoint=%s`. "
      "However, `%s` seems to be a %s model, so you "
      "should pass in `--do_lower_case=%s` so that the fine-tuning matches "
      "how the model was pre-training. If this error is wrong (a renamed "
      "folder), pass --skip_case_check." % (
          actual_flag, init_checkpoint, model_name, case_name,
          opposite_flag))


def model_do_lower_case(config, default):
  """The casing a model carries: `config.do_lower_case` when it is a bool
  (what convert_checkpoint.py read from a Hugging Face folder's
  tokenizer_config.json), else `default`."""
  value = getattr(config, "do_lower_case", None)
  return value if isinstance(value, bool) else default


def from_vocab(vocab_file, do_lower_case=True, extra_tokens=(),
               never_split=None, tokenize_chinese_chars=True,
               strip_accents=None):
  """The toolkit's one way to build a tokenizer: a FullTokenizer over
  vocab_file (a run's, a model folder's or an export's assets/vocab.txt)
  with the resolved casing. never_split, tokenize_chinese_chars and
  strip_accents go to the BasicTokenizer (see tokenization.basic).

  The vocab passes `check_vocab` first: VocabError if the file is missing,
  empty, repeats a token, or lacks [CLS], [SEP], [UNK] or one of
  `extra_tokens` (e.g. ("[MASK]",) for pre-training)."""
  required = REQUIRED_TOKENS + tuple(
      t for t in extra_tokens if t not in REQUIRED_TOKENS)
  check_vocab(vocab_file, required)
  return FullTokenizer(vocab_file, do_lower_case, never_split=never_split,
                       tokenize_chinese_chars=tokenize_chinese_chars,
                       strip_accents=strip_accents)


class FullTokenizer(object):
  """Runs end-to-end tokenization: text -> WordPiece tokens -> ids.

  Attributes:
    vocab: OrderedDict token -> id, as `load_vocab` reads it.
    inv_vocab: dict id -> token.
    basic_tokenizer, wordpiece_tokenizer: the two stages (words the
      basic tokenizer keeps whole, its never_split, are not split by
      WordPiece either; see `word_pieces`).
    do_lower_case: bool.
  """

  def __init__(self, vocab_file, do_lower_case=True, never_split=None,
               tokenize_chinese_chars=True, strip_accents=None):
    """vocab_file: path of vocab.txt (VocabError if missing); the other
    arguments go to BasicTokenizer (defaults: Google's behaviour)."""
    self.vocab = load_vocab(vocab_file)
    self.inv_vocab = {v: k for k, v in self.vocab.items()}
    self.do_lower_case = do_lower_case
    self.basic_tokenizer = BasicTokenizer(
        do_lower_case=do_lower_case, never_split=never_split,
        tokenize_chinese_chars=tokenize_chinese_chars,
        strip_accents=strip_accents)
    self.wordpiece_tokenizer = WordpieceTokenizer(vocab=self.vocab)

  def tokenize(self, text):
    """str or UTF-8 bytes -> list of WordPiece tokens (no [CLS]/[SEP])."""
    split_tokens = []
    for token in self.basic_tokenizer.tokenize(text):
      split_tokens.extend(piece for piece, _, _ in self.word_pieces(token))
    return split_tokens

  def word_pieces(self, word):
    """One word of the BasicTokenizer -> list of (piece, start, end), as
    WordpieceTokenizer.tokenize_word gives them. A never_split word stays
    one piece: itself when the vocab holds it (as Hugging Face's
    BertTokenizer keeps it), else [UNK] (the id Hugging Face's gives it)."""
    if self.basic_tokenizer.keeps_whole(word):
      piece = word if word in self.vocab else self.wordpiece_tokenizer.unk_token
      return [(piece, 0, len(word))]
    return self.wordpiece_tokenizer.tokenize_word(word)

  def tokenize_with_spans(self, text):
    """str -> list of (token, start, end) into `text`; see spans.tokenize_with_spans."""
    return spans.tokenize_with_spans(self, text)

  def tokenize_units(self, units):
    """List of str units -> list of token lists; see spans.tokenize_units."""
    return spans.tokenize_units(self, units)

  def convert_tokens_to_ids(self, tokens):
    """List of tokens -> list of ids ([UNK]'s id for tokens not in the vocab)."""
    return convert_by_vocab(self.vocab, tokens)

  def convert_ids_to_tokens(self, ids):
    """List of ids -> list of tokens."""
    return convert_by_vocab(self.inv_vocab, ids)

"""WordPiece tokenization, token for token as google-research/bert's
tokenization.py, plus character spans for NER and model-input building.
BasicTokenizer / FullTokenizer / from_vocab also take Hugging Face's
never_split, strip_accents and tokenize_chinese_chars (defaults: Google's).

  text.py       convert_to_unicode, printable_text, whitespace_tokenize
  vocab.py      load_vocab, check_vocab (empty, special tokens; repeats warn),
                check_vocab_size, VocabError, convert_* lookups
  basic.py      BasicTokenizer and the char classes (whitespace, control, ...)
  wordpiece.py  WordpieceTokenizer
  full.py       FullTokenizer, from_vocab (the factory), model_do_lower_case,
                validate_case_matches_checkpoint
  spans.py      tokenize_with_spans, tokenize_units (NER alignment)
  inputs.py     truncate_seq_pair, build_inputs ([CLS] a [SEP] b [SEP])
"""

from tokenization.basic import BasicTokenizer
from tokenization.basic import is_chinese_char
from tokenization.basic import is_control
from tokenization.basic import is_punctuation
from tokenization.basic import is_whitespace
from tokenization.full import from_vocab
from tokenization.full import FullTokenizer
from tokenization.full import model_do_lower_case
from tokenization.full import validate_case_matches_checkpoint
from tokenization.inputs import build_inputs
from tokenization.inputs import truncate_seq_pair
from tokenization.spans import tokenize_units
from tokenization.spans import tokenize_with_spans
from tokenization.text import convert_to_unicode
from tokenization.text import printable_text
from tokenization.text import whitespace_tokenize
from tokenization.vocab import check_vocab
from tokenization.vocab import check_vocab_size
from tokenization.vocab import convert_by_vocab
from tokenization.vocab import convert_ids_to_tokens
from tokenization.vocab import convert_tokens_to_ids
from tokenization.vocab import load_vocab
from tokenization.vocab import MASK_TOKEN
from tokenization.vocab import REQUIRED_TOKENS
from tokenization.vocab import VocabError
from tokenization.wordpiece import WordpieceTokenizer

# The private names google-research/bert's own tests and scripts reach for.
_is_whitespace = is_whitespace
_is_control = is_control
_is_punctuation = is_punctuation

__all__ = (
    "BasicTokenizer", "FullTokenizer", "VocabError", "WordpieceTokenizer",
    "MASK_TOKEN", "REQUIRED_TOKENS", "build_inputs", "check_vocab",
    "check_vocab_size", "convert_by_vocab",
    "convert_ids_to_tokens", "convert_to_unicode", "convert_tokens_to_ids",
    "from_vocab", "is_chinese_char", "is_control", "is_punctuation",
    "is_whitespace", "load_vocab", "model_do_lower_case", "printable_text",
    "tokenize_units", "tokenize_with_spans",
    "truncate_seq_pair", "validate_case_matches_checkpoint",
    "whitespace_tokenize",
)

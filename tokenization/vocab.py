"""Vocabulary files: loading (`load_vocab`), size checks and token<->id lookups.

A vocab file holds one token a line; a token's id is its 0-based line number.
Problems with the file raise `VocabError` (a ValueError) whose message names
the file and the fix.
"""

import collections
import logging
import os

from tokenization.text import convert_to_unicode

UNK_TOKEN = "[UNK]"
CLS_TOKEN = "[CLS]"
SEP_TOKEN = "[SEP]"
MASK_TOKEN = "[MASK]"
# What every tokenizer's model inputs need: [CLS] a [SEP] b [SEP], and [UNK]
# for a word no piece covers. Padding is id 0 whatever token that is.
REQUIRED_TOKENS = (CLS_TOKEN, SEP_TOKEN, UNK_TOKEN)


class VocabError(ValueError):
  """A vocab file is missing, unreadable or does not fit the model config."""


def _is_remote(path):
  """True for paths such as gs://bucket/vocab.txt that only tf.io.gfile can read."""
  return "://" in path


def _read_bytes(vocab_file):
  """Path -> the file's bytes. Local files via open(), URLs via tf.io.gfile.

  Raises VocabError when the path is empty, missing or a directory.
  """
  fix = "Pass --vocab_file pointing at the vocab.txt of the checkpoint"
  if not vocab_file:
    raise VocabError("no vocab file given. %s" % fix)
  if _is_remote(vocab_file):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    if not tf.io.gfile.exists(vocab_file):
      raise VocabError("vocab file not found: %s. %s" % (vocab_file, fix))
    with tf.io.gfile.GFile(vocab_file, "rb") as reader:
      return reader.read()
  if os.path.isdir(vocab_file):
    raise VocabError("vocab file %s is a directory. %s" % (vocab_file, fix))
  if not os.path.exists(vocab_file):
    raise VocabError("vocab file not found: %s. %s" % (vocab_file, fix))
  with open(vocab_file, "rb") as reader:
    return reader.read()


def _lines(data):
  """File bytes -> list of line strings, split as TF's GFile.readline() splits.

  Lines end at b"\\n" only (never at U+2028 or a lone \\r, unlike
  str.splitlines()); GFile drops every b"\\r". A last line without "\\n"
  still counts; the empty remainder after a final "\\n" does not.
  """
  if not data:
    return []
  pieces = data.split(b"\n")
  if pieces[-1] == b"":
    pieces.pop()
  return [convert_to_unicode(p.replace(b"\r", b"")) for p in pieces]


def load_vocab(vocab_file):
  """Vocab file path -> OrderedDict token -> id (id = 0-based line number).

  Each line is str.strip()-ed (so a line holding only U+2028 gives the token
  ""). A token seen twice keeps its first place in the dict but the id of its
  last line, as in google-research/bert. Raises VocabError if the file is
  missing.
  """
  vocab = collections.OrderedDict()
  for index, line in enumerate(_lines(_read_bytes(vocab_file))):
    vocab[line.strip()] = index
  return vocab


def check_vocab(vocab_file, required=REQUIRED_TOKENS):
  """The one check of a vocab file before a tokenizer (or a converted model)
  uses it. Returns the vocab as `load_vocab` reads it.

  Raises VocabError naming the file and the fix when it is missing, empty
  (no token), or lacks one of `required` (default [CLS], [SEP], [UNK];
  pre-training adds [MASK]). A token on two lines is logged as a warning:
  as in Google's load_vocab, the later line's id is the token's, so the
  earlier id is never produced, and a checkpoint whose vocab repeats a
  token still loads as it does with Google's code.
  """
  lines = _lines(_read_bytes(vocab_file))
  vocab = collections.OrderedDict()
  first_line = {}
  for index, line in enumerate(lines):
    token = line.strip()
    if token in first_line:
      # Google's load_vocab lets the later line win: reported, not refused.
      logging.getLogger(__name__).warning(
          "vocab file %s has the token %r on lines %d and %d: the later "
          "line's id is used, and the earlier id is never produced",
          vocab_file, token, first_line[token] + 1, index + 1)
    first_line[token] = index
    vocab[token] = index
  if not vocab:
    raise VocabError(
        "vocab file %s is empty: it needs one token a line. Pass the "
        "vocab.txt shipped with the model (--vocab_file)" % vocab_file)
  missing = [token for token in required if token not in vocab]
  if missing:
    raise VocabError(
        "vocab file %s lacks %s (needed: %s): pass the vocab.txt shipped "
        "with the model (every BERT vocab has them), or add each missing "
        "token on a line of its own (a model's vocab_size must then be the "
        "new number of lines)" % (
            vocab_file, ", ".join(missing), ", ".join(required)))
  return vocab


def vocab_size_of(vocab):
  """token->id dict -> number of ids it spans (largest id + 1, 0 if empty)."""
  return max(vocab.values()) + 1 if vocab else 0


def check_vocab_size(vocab_file, vocab_size):
  """Raises VocabError unless the vocab file has exactly `vocab_size` ids.

  Args:
    vocab_file: path of vocab.txt.
    vocab_size: int, the `vocab_size` of the model's config.
  """
  size = vocab_size_of(load_vocab(vocab_file))
  if size != vocab_size:
    raise VocabError(
        "vocab file %s has %d tokens but the model config's vocab_size is %d: "
        "the vocab does not belong to this checkpoint/config. Pass the "
        "vocab.txt shipped with the checkpoint (--vocab_file) together with "
        "its own config" % (vocab_file, size, vocab_size))


def convert_by_vocab(vocab, items):
  """Maps each item through `vocab`; items not in it map to vocab["[UNK]"].

  Args:
    vocab: dict token->id (or id->token).
    items: sequence of tokens (or ids).
  Returns:
    list, one entry per item. Raises VocabError when an item is missing and
    the vocab has no "[UNK]" entry either.
  """
  output = []
  for item in items:
    if item in vocab:
      output.append(vocab[item])
    elif UNK_TOKEN in vocab:
      output.append(vocab[UNK_TOKEN])
    else:
      raise VocabError("%r is not in the vocab, and the vocab has no %s entry "
                       "to stand for it" % (item, UNK_TOKEN))
  return output


def convert_tokens_to_ids(vocab, tokens):
  """token->id dict, list of tokens -> list of ids ([UNK]'s id for unknowns)."""
  return convert_by_vocab(vocab, tokens)


def convert_ids_to_tokens(inv_vocab, ids):
  """id->token dict, list of ids -> list of tokens."""
  return convert_by_vocab(inv_vocab, ids)

"""WordpieceTokenizer: greedy longest-match-first split of words into vocab pieces.

Same as google-research/bert's WordpieceTokenizer: a piece that does not start
its word is looked up with a "##" prefix; a word with a part no piece covers,
or longer than `max_input_chars_per_word` chars, becomes one `unk_token`.
"""

from tokenization.text import convert_to_unicode
from tokenization.text import whitespace_tokenize


class WordpieceTokenizer(object):
  """Runs WordPiece tokenization against a vocab."""

  def __init__(self, vocab, unk_token="[UNK]", max_input_chars_per_word=200):
    """vocab: container of tokens (dict token->id); unk_token: stand-in token."""
    self.vocab = vocab
    self.unk_token = unk_token
    self.max_input_chars_per_word = max_input_chars_per_word

  def tokenize(self, text):
    """str (words already split by BasicTokenizer, space-separated) -> pieces.

    "unaffable" -> ["un", "##aff", "##able"] with a vocab holding those.
    """
    text = convert_to_unicode(text)
    output_tokens = []
    for word in whitespace_tokenize(text):
      output_tokens.extend(piece for piece, _, _ in self.tokenize_word(word))
    return output_tokens

  def tokenize_word(self, word):
    """One word (no whitespace) -> list of (piece, start, end).

    start/end (end exclusive) index the chars of `word` the piece stands for;
    the pieces tile the word. An unsplittable or too long word gives
    [(unk_token, 0, len(word))].
    """
    if len(word) > self.max_input_chars_per_word:
      return [(self.unk_token, 0, len(word))]
    pieces = []
    start = 0
    while start < len(word):
      piece, end = self._longest_piece(word, start)
      if piece is None:
        return [(self.unk_token, 0, len(word))]
      pieces.append((piece, start, end))
      start = end
    return pieces

  def _longest_piece(self, word, start):
    """Word, start index -> (longest vocab piece starting there, its end).

    Returns (None, start) when no piece starting at `start` is in the vocab.
    """
    for end in range(len(word), start, -1):
      piece = word[start:end]
      if start > 0:
        piece = "##" + piece
      if piece in self.vocab:
        return piece, end
    return None, start

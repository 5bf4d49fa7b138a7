"""Raw text -> pre-training TFRecords in google-research/bert's format.

  stats = pretraining_data.create(settings)     # what the script runs

Input: one sentence a line, a blank line between documents, UTF-8 (a BOM
is dropped; a file that is not UTF-8 is an InputError naming the line).
Lines are read as Google's script reads them through tf.gfile: they end at
"\n" only and every "\r" is dropped; a file's end does not end a document
(the next file's first lines continue it unless a blank line comes between).
Empty files and empty documents are skipped and counted. With
`max_line_chars` > 0 a longer line is read as several lines of at most that
many characters (split_long_line; counted as long_lines_split); 0, the
default, reads every line whole. The vocab must hold [CLS], [SEP], [UNK] and
[MASK] (tokenization.check_vocab).

With one worker and the default settings (no chunking, no long-line split,
no SOP, no n-grams, no word segmentation) the records are byte-identical to
google-research/bert's create_pretraining_data.py with the same flags: one
random.Random(random_seed) over the whole corpus, drawn in Google's order.

Output features (padded, as run_pretraining.py reads them): input_ids,
input_mask, segment_ids [max_seq_length]; masked_lm_positions,
masked_lm_ids [max_predictions_per_seq], masked_lm_weights (float, 1.0 for
a real prediction); next_sentence_labels [1]. Instances go round-robin to
the output files (shards).

The instance rules follow google-research/bert's create_pretraining_data.py:
- per document, chunks of whole sentences fill `max_seq_length - 3` tokens
  (with probability short_seq_prob a random shorter target, at least 2);
- A is the chunk's first 1..n-1 sentences; B is the rest (label 0) or, half
  the time and always for a one-sentence chunk, text from another document
  (label 1: "random next"), the unused sentences put back;
- the pair is cut from the longer side, from the front or the back at
  random;
- whole-word masking (`do_whole_word_mask`) with WordPiece words: a "##"
  piece joins the word group before it (for B's first piece, A's last
  word, as in Google's script);
- masking: num_to_predict = min(max_predictions_per_seq,
  max(1, round(len(tokens) * masked_lm_prob))) positions, never [CLS] or
  [SEP]; each masked token becomes [MASK] 80% of the time, a random vocab
  token 10%, itself 10%.
Beyond Google:
- whole-word masking (`do_whole_word_mask`) masks every piece of a word
  together; words are WordPiece words (`##` continuations), or for Chinese
  the words of a segmentation: `word_segmentation="spaces"` (a corpus
  pre-segmented with spaces), "wordlist" (forward maximum matching against
  `word_list`, one word a line), or "jieba" (the optional jieba package);
- n-gram masking (`max_ngram` > 1, ALBERT's): spans of n whole words,
  n = 1..max_ngram with probability proportional to 1/n;
- sentence-order prediction (`sop`, ALBERT's): B is always the actual next
  text and half the time A and B are swapped (label 1); a one-sentence
  chunk is cut inside the sentence so that it still gives a pair;
- streaming: with `documents_per_chunk` > 0 documents are read and
  processed in chunks of that many (random-next text comes from the same
  chunk, and instances are shuffled within it), so a corpus larger than
  memory works; 0 (the default) is the whole input as one chunk, as Google's
  script reads it, or chunks of PARALLEL_DOCUMENTS_PER_CHUNK with several
  workers;
- several cores: chunks are processed by `num_workers` processes (default
  1; 0 is all cores). Chunk k draws from random.Random(chunk_seed(
  random_seed, k)): chunk 0 from random_seed itself (Google's seed), so for
  a given chunk size the output does not depend on the worker count, and a
  one-chunk run is Google's; progress and ETA by input bytes.
"""

import collections
import contextlib
import functools
import glob
import hashlib
import json
import multiprocessing
import os
import random
import time

from bert_toolkit import settings as settings_lib
from bert_toolkit.errors import InputError
from bert_toolkit.runs import atomic
from bert_toolkit.errors import SettingsError

MASK, CLS, SEP = "[MASK]", "[CLS]", "[SEP]"
# --max_line_chars: 0 reads every line whole (Google's reading); a positive
# value cuts longer lines into lines of at most that many characters (see
# split_long_line).
MAX_LINE_CHARS = 0
# The chunk size (documents) when several workers share a corpus and no
# --documents_per_chunk is given.
PARALLEL_DOCUMENTS_PER_CHUNK = 2000
SEGMENTATIONS = settings_lib.WORD_SEGMENTATIONS

# A sentence: WordPiece tokens and, per token, whether it starts a word.
Segment = collections.namedtuple("Segment", ["tokens", "starts"])
Instance = collections.namedtuple(
    "Instance", ["tokens", "segment_ids", "is_random_next",
                 "masked_lm_positions", "masked_lm_labels"])


class DataSettings(object):
  """Plain settings of one create_pretraining_data run: the files, the
  case and length, how the work is split, and `text` settings
  (settings.PRETRAINING_TEXT_SETTINGS by name; the others at that table's
  defaults, Google's)."""

  def __init__(self, input_files, output_files, vocab_file,
               do_lower_case=True, max_seq_length=128,
               documents_per_chunk=0, num_workers=1,
               log_every_seconds=10.0, max_line_chars=MAX_LINE_CHARS,
               **text):
    unknown = sorted(set(text) - set(
        settings_lib.PRETRAINING_TEXT_SETTINGS_NAMES))
    if unknown:
      raise TypeError("unknown setting(s) %s" % ", ".join(unknown))
    values = settings_lib.defaults(settings_lib.PRETRAINING_TEXT_SETTINGS)
    values.update(text)
    for name, value in values.items():
      setattr(self, name, value)
    self.input_files = list(input_files)
    self.output_files = list(output_files)
    self.vocab_file = vocab_file
    self.do_lower_case = do_lower_case
    self.max_seq_length = max_seq_length
    self.documents_per_chunk = documents_per_chunk
    self.num_workers = num_workers or os.cpu_count() or 1
    self.log_every_seconds = log_every_seconds
    self.max_line_chars = max_line_chars

  def validate(self):
    if not self.input_files:
      raise SettingsError("--input_file matches no file")
    if not self.output_files:
      raise SettingsError("--output_file is required")
    if self.max_seq_length < 5:
      raise SettingsError("--max_seq_length must be at least 5 ([CLS] a "
                          "[SEP] b [SEP]), got %d" % self.max_seq_length)
    if self.max_predictions_per_seq < 1:
      raise SettingsError("--max_predictions_per_seq must be at least 1")
    if not 0 < self.masked_lm_prob < 1:
      raise SettingsError("--masked_lm_prob must be in (0, 1), got %g" %
                          self.masked_lm_prob)
    if not 0 <= self.short_seq_prob <= 1:
      raise SettingsError("--short_seq_prob must be in [0, 1]")
    if self.dupe_factor < 1:
      raise SettingsError("--dupe_factor must be at least 1")
    if self.max_ngram < 1:
      raise SettingsError("--max_ngram must be at least 1")
    if self.documents_per_chunk < 0 or self.documents_per_chunk == 1:
      raise SettingsError("--documents_per_chunk must be 0 (the whole input "
                          "at once) or at least 2, got %d" %
                          self.documents_per_chunk)
    if self.word_segmentation not in SEGMENTATIONS:
      raise SettingsError("--word_segmentation is one of %s" %
                          ", ".join(SEGMENTATIONS))
    if self.word_segmentation == "wordlist" and not self.word_list:
      raise SettingsError("--word_segmentation=wordlist needs --word_list")
    if self.word_segmentation == "wordlist" and not os.path.isfile(
        self.word_list):
      raise InputError(self.word_list, None, "word list not found",
                       "Pass --word_list=<a file with one word a line>")
    if self.max_line_chars < 0:
      raise SettingsError("--max_line_chars must be 0 (lines read whole) or "
                          "positive, got %d" % self.max_line_chars)
    if self.word_segmentation == "jieba":
      try:
        import jieba  # pylint: disable=g-import-not-at-top,unused-import
      except ImportError:
        raise SettingsError("--word_segmentation=jieba needs the jieba "
                            "package: pip install jieba (or use spaces / "
                            "wordlist)")


  def chunk_size(self):
    """Documents per chunk: --documents_per_chunk when given, else None (the
    whole input, Google's) with one worker and PARALLEL_DOCUMENTS_PER_CHUNK
    with several."""
    if self.documents_per_chunk:
      return self.documents_per_chunk
    return None if self.num_workers == 1 else PARALLEL_DOCUMENTS_PER_CHUNK


def chunk_seed(random_seed, index):
  """The seed of chunk `index`: random_seed itself for chunk 0 (so that a
  one-chunk run draws exactly as Google's random.Random(random_seed)), a
  seed derived from both for the others."""
  return random_seed if index == 0 else random_seed * 1000003 + index


def expand_inputs(patterns):
  """Comma-separated globs -> existing files (Google's --input_file), each
  pattern's matches in tf.gfile.Glob's order (the file system's, dot files
  included), as Google's script reads them; a file named without a
  wildcard that does not exist is an InputError."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  files = []
  for pattern in patterns.split(","):
    pattern = pattern.strip()
    if pattern:
      matched = tf.io.gfile.glob(pattern)
      if not matched and not glob.has_magic(pattern):
        raise InputError(pattern, None, "file not found",
                         "Check --input_file")
      files.extend(matched)
  return files


# ------------------------------------------------------------- reading ---

def split_long_line(line, max_chars):
  """A stripped line -> the lines it is read as: itself if it has at most
  `max_chars` characters, else consecutive pieces of at most `max_chars`
  characters, each cut after the last whitespace of its second half when
  there is one (else at `max_chars` exactly, as for Chinese text), each
  piece stripped. Linear in the line's length."""
  if len(line) <= max_chars:
    return [line]
  pieces, start = [], 0
  while len(line) - start > max_chars:
    end = start + max_chars
    cut = max(line.rfind(" ", start + max_chars // 2, end),
              line.rfind("\t", start + max_chars // 2, end))
    end = cut + 1 if cut > start else end
    piece = line[start:end].strip()
    if piece:
      pieces.append(piece)
    start = end
  piece = line[start:].strip()
  if piece:
    pieces.append(piece)
  return pieces


def read_documents(paths, counts, max_line_chars=MAX_LINE_CHARS):
  """Yields documents (lists of non-empty lines), streaming.

  Lines are split as Google's script reads them (tf.gfile text mode): at
  "\n" only, every "\r" dropped, then str.strip()-ed; a blank line ends a
  document, a file's end does not (as in Google's script, the next file's
  lines continue it).

  Args:
    paths: input files.
    counts: collections.Counter: files, empty_files, documents, lines,
      long_lines_split, bytes_read are counted in it.
    max_line_chars: when > 0, a longer line is read as the lines
      split_long_line cuts it into; 0 reads every line whole.
  """
  document = []
  for path in paths:
    seen_text = False
    counts["files"] += 1
    with open(path, "rb") as f:
      for line_number, raw in enumerate(f, start=1):
        counts["bytes_read"] += len(raw)
        try:
          line = raw.replace(b"\r", b"").decode("utf-8")
        except UnicodeDecodeError as e:
          raise InputError(path, line_number, "not UTF-8 (%s)" % e.reason,
                           "Save the file as UTF-8 (e.g. iconv -f GBK -t "
                           "UTF-8)")
        line = line.strip()
        if not line:  # a blank line (a BOM alone is not blank, as Google's)
          if document:
            counts["documents"] += 1
            yield document
            document = []
          continue
        if line_number == 1:
          line = line.lstrip("\ufeff").strip()
          if not line:
            continue  # only a BOM: no tokens, as for Google's tokenizer
        seen_text = True
        counts["lines"] += 1
        if 0 < max_line_chars < len(line):
          counts["long_lines_split"] += 1
          document.extend(split_long_line(line, max_line_chars))
        else:
          document.append(line)
    if not seen_text:
      counts["empty_files"] += 1
  if document:
    counts["documents"] += 1
    yield document


def chunks_of(documents, size):
  """Groups a document stream into lists of `size` documents (None: all
  of them in one list)."""
  chunk = []
  for document in documents:
    chunk.append(document)
    if size and len(chunk) == size:
      yield chunk
      chunk = []
  if chunk:
    yield chunk


# ---------------------------------------------------------------- words ---

class WordSegmenter(object):
  """Splits a line into words for whole-word masking (see the module
  docstring); "none" keeps the line whole (WordPiece words only)."""

  def __init__(self, method="none", word_list=None):
    self.method = method
    self.words = None
    self.longest = 1
    if method == "wordlist":
      self.words = _read_word_list(word_list)
      self.longest = max((len(w) for w in self.words), default=1)

  def split(self, line):
    """A line -> its words (see the class docstring)."""
    if self.method == "none":
      return [line]
    if self.method == "spaces":
      return line.split()
    if self.method == "jieba":
      import jieba  # pylint: disable=g-import-not-at-top
      return [w for w in jieba.lcut(line) if w.strip()]
    return self._maximum_matching(line)

  def _maximum_matching(self, line):
    """Forward maximum matching against the word list; other characters
    (and words not in the list) fall back to single characters."""
    words, i = [], 0
    text = "".join(line.split())
    while i < len(text):
      for length in range(min(self.longest, len(text) - i), 0, -1):
        if length == 1 or text[i:i + length] in self.words:
          words.append(text[i:i + length])
          i += length
          break
    return words


def _read_word_list(path):
  """The set of words of a word list file (one a line, UTF-8); InputError
  naming the file (and line) when it is missing or not UTF-8."""
  try:
    with open(path, "rb") as f:
      raw_lines = f.read().split(b"\n")
  except OSError as e:
    raise InputError(path, None, "cannot read the word list (%s)" %
                     e.strerror, "Pass --word_list=<a file with one word a "
                     "line>")
  words = set()
  for line_number, raw in enumerate(raw_lines, start=1):
    try:
      word = raw.decode("utf-8").lstrip("\ufeff").strip()
    except UnicodeDecodeError as e:
      raise InputError(path, line_number, "not UTF-8 (%s)" % e.reason,
                       "Save the word list as UTF-8")
    if word:
      words.add(word)
  return words


def to_segment(line, tokenizer, segmenter):
  """A line -> Segment: its WordPiece tokens and word starts."""
  tokens, starts = [], []
  for word in segmenter.split(line):
    pieces = tokenizer.tokenize(word)
    for k, piece in enumerate(pieces):
      tokens.append(piece)
      # Within one segmenter word only the first piece starts a word; with
      # no segmenter, WordPiece's "##" marks continuations (Google's rule).
      starts.append(k == 0 if segmenter.method != "none"
                    else not piece.startswith("##"))
  return Segment(tokens, starts)


# ------------------------------------------------------------ instances ---

def _truncate_pair(a, b, max_num_tokens, rng):
  """Cuts the longer of two Segments (front or back, at random) until both
  fit; Google's truncate_seq_pair, with the same random draws (one per
  token cut). The kept ranges are tracked as [start, end) bounds and sliced
  once, so a long segment costs time linear in its length."""
  bounds = [[0, len(a.tokens)], [0, len(b.tokens)]]
  a_bounds, b_bounds = bounds
  while ((a_bounds[1] - a_bounds[0]) + (b_bounds[1] - b_bounds[0]) >
         max_num_tokens):
    side = (a_bounds if a_bounds[1] - a_bounds[0] > b_bounds[1] - b_bounds[0]
            else b_bounds)
    if rng.random() < 0.5:
      side[0] += 1
    else:
      side[1] -= 1
  return tuple(Segment(list(s.tokens[lo:hi]), list(s.starts[lo:hi]))
               for s, (lo, hi) in zip((a, b), bounds))


def _join(segments):
  tokens, starts = [], []
  for segment in segments:
    tokens.extend(segment.tokens)
    starts.extend(segment.starts)
  return Segment(tokens, starts)


def _split_one(segment, rng):
  """Cuts one segment of >= 2 tokens into two at a random token."""
  cut = rng.randint(1, len(segment.tokens) - 1)
  return (Segment(segment.tokens[:cut], segment.starts[:cut]),
          Segment(segment.tokens[cut:], segment.starts[cut:]))


def instances_from_document(documents, index, settings, vocab_words, rng,
                            counts):
  """The training instances of documents[index] (Google's rules, SOP)."""
  document = documents[index]
  max_num_tokens = settings.max_seq_length - 3
  target = max_num_tokens
  if rng.random() < settings.short_seq_prob:
    target = rng.randint(2, max_num_tokens)
  instances, chunk, length, i = [], [], 0, 0
  while i < len(document):
    chunk.append(document[i])
    length += len(document[i].tokens)
    if i == len(document) - 1 or length >= target:
      a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
      a = _join(chunk[:a_end])
      if settings.sop:
        if len(chunk) >= 2:
          b = _join(chunk[a_end:])
        elif len(a.tokens) >= 2:
          a, b = _split_one(a, rng)
        else:
          counts["skipped_too_short"] += 1
          chunk, length, i = [], 0, i + 1
          continue
        is_random_next = rng.random() < 0.5
        if is_random_next:
          a, b = b, a
      elif len(chunk) == 1 or rng.random() < 0.5:
        is_random_next = True
        b = _random_next(documents, index, target - len(a.tokens), rng)
        i -= len(chunk) - a_end  # put the unused sentences back
      else:
        is_random_next = False
        b = _join(chunk[a_end:])
      if a.tokens and b.tokens:
        a, b = _truncate_pair(a, b, max_num_tokens, rng)
        instances.append(_masked_instance(a, b, is_random_next, settings,
                                          vocab_words, rng))
      else:
        counts["skipped_too_short"] += 1
      chunk, length = [], 0
    i += 1
  return instances


def _random_next(documents, index, target_length, rng):
  """Text from another document of the chunk, from a random sentence on."""
  other = index
  for _ in range(10):
    other = rng.randint(0, len(documents) - 1)
    if other != index:
      break
  document = documents[other]
  start = rng.randint(0, len(document) - 1)
  segments, length = [], 0
  for segment in document[start:]:
    segments.append(segment)
    length += len(segment.tokens)
    if length >= target_length:
      break
  return _join(segments)


def _masked_instance(a, b, is_random_next, settings, vocab_words, rng):
  tokens = [CLS] + a.tokens + [SEP] + b.tokens + [SEP]
  starts = [True] + a.starts + [True] + b.starts + [True]
  segment_ids = [0] * (len(a.tokens) + 2) + [1] * (len(b.tokens) + 1)
  output, positions, labels = mask_tokens(
      tokens, starts, settings.masked_lm_prob,
      settings.max_predictions_per_seq, vocab_words, rng,
      settings.do_whole_word_mask, settings.max_ngram)
  return Instance(output, segment_ids, is_random_next, positions, labels)


def _word_groups(tokens, starts, whole_words):
  """Candidate index groups: words (whole-word masking) or single tokens;
  never [CLS] / [SEP]. With whole words, a token that does not start a word
  joins the group before it, even across a [SEP] (Google's rule: B's first
  piece, when the cut left a "##" piece there, joins A's last word)."""
  groups = []
  for i, token in enumerate(tokens):
    if token in (CLS, SEP):
      continue
    if whole_words and groups and not starts[i]:
      groups[-1].append(i)
    else:
      groups.append([i])
  return groups


def mask_tokens(tokens, starts, masked_lm_prob, max_predictions, vocab_words,
                rng, whole_words=False, max_ngram=1):
  """Chooses and replaces the masked positions of one instance.

  Returns:
    (output tokens, sorted masked positions, the original tokens there).
  """
  groups = _word_groups(tokens, starts, whole_words)
  num_to_predict = min(max_predictions,
                       max(1, int(round(len(tokens) * masked_lm_prob))))
  order = list(range(len(groups)))
  rng.shuffle(order)
  ngram_weights = [1.0 / n for n in range(1, max_ngram + 1)]
  output = list(tokens)
  covered = set()
  for g in order:
    if len(covered) >= num_to_predict:
      break
    n = 1
    if max_ngram > 1:
      n = rng.choices(range(1, max_ngram + 1), weights=ngram_weights)[0]
    span = [i for group in groups[g:g + n] for i in group]
    while span and len(covered) + len(span) > num_to_predict and n > 1:
      n -= 1
      span = [i for group in groups[g:g + n] for i in group]
    if len(covered) + len(span) > num_to_predict:
      continue
    if any(i in covered for i in span):
      continue
    for i in span:
      covered.add(i)
      if rng.random() < 0.8:
        output[i] = MASK
      elif rng.random() < 0.5:
        output[i] = tokens[i]
      else:
        output[i] = vocab_words[rng.randint(0, len(vocab_words) - 1)]
  positions = sorted(covered)
  return output, positions, [tokens[i] for i in positions]


# --------------------------------------------------------- serializing ---

def to_example(instance, tokenizer, max_seq_length, max_predictions):
  """Instance -> serialized tf.train.Example in Google's features."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  input_ids = tokenizer.convert_tokens_to_ids(instance.tokens)
  pad = max_seq_length - len(input_ids)
  positions = list(instance.masked_lm_positions)
  label_ids = tokenizer.convert_tokens_to_ids(instance.masked_lm_labels)
  weights = [1.0] * len(label_ids)
  extra = max_predictions - len(positions)

  def ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

  features = collections.OrderedDict([
      ("input_ids", ints(input_ids + [0] * pad)),
      ("input_mask", ints([1] * len(input_ids) + [0] * pad)),
      ("segment_ids", ints(list(instance.segment_ids) + [0] * pad)),
      ("masked_lm_positions", ints(positions + [0] * extra)),
      ("masked_lm_ids", ints(label_ids + [0] * extra)),
      ("masked_lm_weights", tf.train.Feature(float_list=tf.train.FloatList(
          value=weights + [0.0] * extra))),
      ("next_sentence_labels", ints([1 if instance.is_random_next else 0])),
  ])
  return tf.train.Example(features=tf.train.Features(
      feature=features)).SerializeToString()


# ------------------------------------------------------------- workers ---

@functools.lru_cache(maxsize=4)
def _tools(vocab_file, do_lower_case, word_segmentation, word_list):
  """The tokenizer, segmenter and vocab words a worker needs, built once per
  process (a memo of a pure construction, not shared state)."""
  import tokenization  # pylint: disable=g-import-not-at-top
  # The vocab must hold [MASK] too (from_vocab's VocabError otherwise): a
  # missing one would be written as [UNK] at every masked position.
  tokenizer = tokenization.from_vocab(vocab_file, do_lower_case,
                                      extra_tokens=(MASK,))
  return (tokenizer, WordSegmenter(word_segmentation, word_list),
          list(tokenizer.vocab.keys()))


def process_chunk(job):
  """(chunk index, documents as lines, settings) -> (serialized examples,
  counts)."""
  index, documents, settings = job
  tokenizer, segmenter, vocab_words = _tools(
      settings.vocab_file, settings.do_lower_case, settings.word_segmentation,
      settings.word_list)
  counts = collections.Counter()
  rng = random.Random(chunk_seed(settings.random_seed, index))
  tokenized = []
  for lines in documents:
    segments = [to_segment(line, tokenizer, segmenter) for line in lines]
    segments = [s for s in segments if s.tokens]
    if segments:
      tokenized.append(segments)
    else:
      counts["skipped_no_tokens"] += 1
  rng.shuffle(tokenized)
  instances = []
  if tokenized:
    for _ in range(settings.dupe_factor):
      for d in range(len(tokenized)):
        instances.extend(instances_from_document(
            tokenized, d, settings, vocab_words, rng, counts))
  rng.shuffle(instances)
  for instance in instances:
    counts["instances"] += 1
    counts["next_label_1"] += int(instance.is_random_next)
    counts["masked"] += len(instance.masked_lm_positions)
    counts["tokens"] += len(instance.tokens)
  examples = [to_example(i, tokenizer, settings.max_seq_length,
                         settings.max_predictions_per_seq)
              for i in instances]
  return examples, counts


# ---------------------------------------------------------------- main ---

def create(settings):
  """Reads, processes and writes everything; returns the counts dict."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  settings.validate()
  # Built once here before any worker starts: a bad vocab or word list is
  # one error now, and forked workers inherit the tools.
  _tools(settings.vocab_file, settings.do_lower_case,
         settings.word_segmentation, settings.word_list)
  total_bytes = sum(os.path.getsize(p) for p in settings.input_files)
  counts = collections.Counter()
  jobs = ((index, chunk, settings) for index, chunk in enumerate(chunks_of(
      read_documents(settings.input_files, counts, settings.max_line_chars),
      settings.chunk_size())))
  # Each output is written through its temporary, renamed into place when
  # all are complete (removed if anything fails).
  with contextlib.ExitStack() as outputs:
    tmp_files = [outputs.enter_context(atomic.replacing_path(p))
                 for p in settings.output_files]
    writers = [tf.io.TFRecordWriter(p) for p in tmp_files]
    started = last = time.time()
    written = 0
    pool = None
    try:
      if settings.num_workers > 1:
        pool = multiprocessing.get_context("fork").Pool(settings.num_workers)
        results = _in_order(pool, jobs, 2 * settings.num_workers)
      else:
        results = (process_chunk(job) for job in jobs)
      for examples, chunk_counts in results:
        counts.update(chunk_counts)
        for example in examples:
          writers[written % len(writers)].write(example)
          written += 1
        now = time.time()
        if now - last >= settings.log_every_seconds:
          last = now
          _log_progress(counts, total_bytes, now - started)
      if pool is not None:
        pool.close()
        pool.join()
        pool = None
    finally:
      if pool is not None:
        # A bad input line stopped the reading: stop the workers now, or the
        # pool's finalizer prints a traceback under the one-line error.
        pool.terminate()
        pool.join()
      for writer in writers:
        writer.close()
    if not counts["instances"]:
      raise InputError(",".join(settings.input_files), None,
                       "no training instance: the input holds no text "
                       "(%d empty file(s))" % counts["empty_files"],
                       "Give files with one sentence a line and blank lines "
                       "between documents")
  stats = summary(counts, settings, time.time() - started)
  tf.logging.info("create_pretraining_data: %s", json.dumps(stats))
  return stats


def _in_order(pool, jobs, window):
  """process_chunk over jobs in the pool, results in job order, with at
  most `window` chunks in flight (Pool.imap would read the whole corpus
  ahead)."""
  pending = collections.deque()
  for job in jobs:
    pending.append(pool.apply_async(process_chunk, (job,)))
    if len(pending) >= window:
      yield pending.popleft().get()
  while pending:
    yield pending.popleft().get()


def _log_progress(counts, total_bytes, seconds):
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  done = counts["bytes_read"] / max(total_bytes, 1)
  rate = counts["bytes_read"] / max(seconds, 1e-9)
  eta = (total_bytes - counts["bytes_read"]) / max(rate, 1e-9)
  tf.logging.info("create_pretraining_data: %.0f%% of the input (%.2f MB/s), "
                  "%d documents, %d instances, ETA %d:%02d:%02d",
                  100 * done, rate / 1e6, counts["documents"],
                  counts["instances"], eta // 3600, (eta // 60) % 60,
                  eta % 60)


def summary(counts, settings, seconds):
  """What was read, skipped and written (logged and returned)."""
  instances = max(counts["instances"], 1)
  return {
      "files": counts["files"], "empty_files": counts["empty_files"],
      "documents": counts["documents"], "lines": counts["lines"],
      "long_lines_split": counts["long_lines_split"],
      "documents_without_tokens": counts["skipped_no_tokens"],
      "chunks_too_short": counts["skipped_too_short"],
      "instances": counts["instances"],
      "output_files": len(settings.output_files),
      "next_sentence_label_1_share": round(
          counts["next_label_1"] / instances, 4),
      "masked_share_of_tokens": round(
          counts["masked"] / max(counts["tokens"], 1), 4),
      "seconds": round(seconds, 1),
  }


# ------------------------------------------------------ a folder of text ---
#
# run_pretraining.py --data_dir (and the studio's pre-training runs) read a
# folder of raw text: train.txt is the training text and dev.txt, when
# there, the evaluation text (without it the run evaluates on its training
# examples, as Google's run_pretraining.py does). Both are read by the
# rules above and made into records once, in the run's feature cache.

TEXT_FILES = (("train", "train.txt"), ("dev", "dev.txt"))
# Sentences whose WordPiece length a preview measures.
PREVIEW_LENGTHS = 2000
# Lines a preview reads at most (a large corpus is previewed by its start).
PREVIEW_MAX_LINES = 200000


def text_files(data_dir):
  """{"train": path, "dev": path or None} of a folder of raw text.

  Raises:
    InputError: the folder has no train.txt.
  """
  found = {split: os.path.join(data_dir, name) for split, name in TEXT_FILES}
  if not os.path.isfile(found["train"]):
    raise InputError(found["train"], None, "no training text",
                     "Put the corpus in --data_dir as train.txt (one "
                     "sentence a line, a blank line between documents; "
                     "dev.txt optional), or pass --input_file")
  return {split: path if os.path.isfile(path) else None
          for split, path in found.items()}


def text_records(data_dir, cache_dir, vocab_file, do_lower_case,
                 max_seq_length, values, log=None):
  """The records of a folder of raw text (text_files): {"train": path,
  "dev": path or None}, made with create()'s rules into
  cache_dir/pretraining-<key>-<split>.tfrecord, or reused.

  The key covers the text's and the vocab's (and a word list's) bytes, the
  case, the length and every value of `values` ({setting name: value} of
  settings.PRETRAINING_TEXT_SETTINGS; the others at their defaults), so a
  changed input makes new records. A file is written whole or not at all
  (create() renames it into place when complete), so what a killed run
  left is never read.
  """
  from bert_toolkit.runs import run_info  # pylint: disable=g-import-not-at-top
  chosen = settings_lib.defaults(settings_lib.PRETRAINING_TEXT_SETTINGS)
  chosen.update((k, v) for k, v in values.items() if v is not None)
  files = text_files(data_dir)
  common = dict(chosen, format=1,
                vocab_sha256=run_info.file_digest(vocab_file),
                word_list_sha256=(run_info.file_digest(chosen["word_list"])
                                  if chosen["word_list"] else None),
                do_lower_case=bool(do_lower_case),
                max_seq_length=int(max_seq_length))
  out = {"train": None, "dev": None}
  for split, path in files.items():
    if path is None:
      continue
    parts = dict(common, text_sha256=run_info.file_digest(path), split=split)
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode(
        "utf-8")).hexdigest()[:20]
    target = os.path.join(cache_dir, "pretraining-%s-%s.tfrecord" % (
        key, split))
    out[split] = target
    if os.path.isfile(target):
      if log:
        log("pre-training data: %s reused (made from %s)" % (target, path))
      continue
    os.makedirs(cache_dir, exist_ok=True)
    stats = create(DataSettings(
        [path], [target], vocab_file, do_lower_case=do_lower_case,
        max_seq_length=max_seq_length, num_workers=1,
        **{k: chosen[k] for k in settings_lib.PRETRAINING_TEXT_SETTINGS_NAMES}))
    if log:
      log("pre-training data: %d instances from %s in %s" % (
          stats["instances"], path, target))
  return out


def preview(data_dir, given, tokenize):
  """What the studio shows of a folder of raw text before a pre-training
  run: {"reading": {}, "columns": [], "splits": {split: sentences},
  "labels": {}, "documents": {split: documents}, "lengths": [WordPiece
  length of the first PREVIEW_LENGTHS training sentences], "problems":
  [...]}: a missing train.txt, or a file that is not UTF-8 (with its
  line), read as the run reads them (read_documents). A large file is
  previewed by its first PREVIEW_MAX_LINES lines."""
  del given
  out = {"reading": {}, "columns": [], "splits": {}, "labels": {},
         "documents": {}, "lengths": [], "problems": []}
  try:
    files = text_files(data_dir)
  except InputError as e:
    out["problems"].append(str(e))
    return out
  for split, path in files.items():
    if path is None:
      continue
    sentences = documents = 0
    counts = collections.Counter()
    try:
      for document in read_documents([path], counts):   # the run's reader
        documents += 1
        sentences += len(document)
        if split == "train":
          room = PREVIEW_LENGTHS - len(out["lengths"])
          out["lengths"].extend(len(tokenize(line))
                                for line in document[:max(0, room)])
        if counts["lines"] >= PREVIEW_MAX_LINES:
          break
    except InputError as e:
      out["problems"].append(str(e))
      continue
    out["splits"][split] = sentences
    out["documents"][split] = documents
  if files["train"] and not out["splits"].get("train") and not out[
      "problems"]:
    out["problems"].append(str(InputError(
        files["train"], None, "no text", "Give one sentence a line and "
        "blank lines between documents")))
  return out

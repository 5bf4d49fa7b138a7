"""NER data sets: sentences of units (characters or words) with BIO tags.

`NerExample(guid, units, tags, text, unit_offsets)`: `units` are the
characters (Chinese) or words (English) of one sentence, `tags` one tag per
unit (None for an unlabeled test file), `text` the units joined by the task's
`unit_joiner` ("" for characters, " " for words), and `unit_offsets[i]` the
character offset of units[i] in text, so text[o:o + len(unit)] == unit.

`get_ner_task(name)` gives a `NerTask`; its files in data_dir:

  peoples_daily  example.{train,dev,test}  `char<SPACE>tag`; PER/LOC/ORG
  msra           msra_train_bio, msra_test_bio  `char<TAB>tag`; PER/LOC/ORG;
                 dev is carved off train (below)
  cluener        {train,dev,test}.json  JSON lines {"text", "label"}; the
                 10 CLUENER types; test.json is unlabeled
  conll2003      {train,dev,test}.txt  `word POS chunk NER`; LOC/MISC/ORG/PER
  bio            {train,dev,test}.{txt,bio,tsv}  `unit tag`; any types; units
                 are joined with "" unless unit_joiner=" " is given

Reading rules (every reader):
  * UTF-8; a leading BOM is dropped; \\r\\n and \\r line endings read as \\n.
  * Column files: one unit per line; columns are separated by runs of spaces
    or tabs; the unit is the first column and the tag the last. Lines with
    only spaces/tabs are blank; one or more blank lines end a sentence and the
    last sentence needs no blank line after it. CoNLL `-DOCSTART-` lines are
    skipped (they end a sentence too).
  * Bad input raises InputError naming the file and line: a missing file, a
    file without sentences, a line with the wrong number of columns (e.g. a
    missing tag), a tag outside BIO/BIOES/BMES (`X-PER`, `B-`), an entity
    type the task
    does not know, bad JSON, a CLUENER span that does not match its text.
  * Column files may be tagged in BIO, BIOES (IOBES) or BMES / BMEO: a
    sentence with any E-, S- or M- tag is read as BIO by
    tag_schemes.input_to_bio (M- is inside; E- and S- close an entity) and
    counted in one warning per file. Models still train on BIO or, with
    --scheme=BIOES, on BIOES made from it.
  * Invalid transitions -- an I-X (or in BIOES / BMES files an E-X or M-X)
    that does not continue an entity of type X, e.g. `B-PER E-LOC` -- are
    repaired (a new entity starts there: the I-X becomes B-X, the conlleval
    convention) and counted: one warning per file gives the count and the
    first line numbers, for BIOES / BMES files as well as BIO. `get_examples(..., scheme="BIOES")` converts the
    repaired BIO to BIOES.
  * Test files may be unlabeled: a column file whose first unit line has a
    single column is read without tags (tags None); so is a CLUENER line
    without "label". Train and dev files must be labeled.

Data-set specific rules:
  * MSRA: a line with a unit and an empty or missing tag (`0<TAB>`) is read
    as O and counted. The shared msra_train_bio has 57 such lines, each the
    "0" of an "ADDREX0TYPE" artifact inside O text. Other readers reject a
    missing tag.
  * MSRA dev: `carve_dev_split` puts a fixed 5% of the train sentences
    (numpy RandomState(12345) permutation; 2250 of 45000) in dev, in file
    order, and leaves the other 42750 in train. Guids keep the train file's
    sentence numbers ("train-17" may be in dev), so the two are disjoint.
  * CLUENER: offsets are inclusive [start, end]; units are the characters of
    text. Overlapping mentions: the longer span is kept (ties: the earlier
    start, then the type name) and the others are dropped and counted (the
    shared train.json has one such line, 1507: two company names inside a
    book title; both are dropped).
"""

import collections
import functools
import json
import logging
import os
import re

import numpy as np

from bert_toolkit.data import split_files
from bert_toolkit.data.split_files import read_text_lines
from bert_toolkit.data import tag_schemes
from bert_toolkit.errors import InputError

# TensorFlow's logger (tf.logging's), without importing TensorFlow.
_LOG = logging.getLogger("tensorflow")

NerExample = collections.namedtuple(
    "NerExample", ["guid", "units", "tags", "text", "unit_offsets",
                   "line_numbers"], defaults=(None,))
NerExample.__doc__ = """One sentence; `line_numbers` holds the file line of
each unit (a JSON line's number for each of its units), or None."""

SPLITS = ("train", "dev", "test")

CHINESE_TYPES = ("LOC", "ORG", "PER")
CONLL_TYPES = ("LOC", "MISC", "ORG", "PER")
CLUENER_TYPES = ("address", "book", "company", "game", "government", "movie",
                 "name", "organization", "position", "scene")

MSRA_DEV_FRACTION = 0.05
MSRA_DEV_SEED = 12345

_COLUMN_SEPARATOR = re.compile(r"[ \t]+")
_OTHER_WHITESPACE = re.compile(r"[^\S \t\n]")  # whitespace but " \t\n"


# ---------------------------------------------------------------- report ---

class ReadReport(object):
  """What a reader fixed while reading one file: line numbers per kind."""

  DESCRIPTIONS = collections.OrderedDict([
      ("repaired", "invalid tag transition(s) repaired (an I-X, E-X or M-X "
                   "that does not continue an X entity starts one)"),
      ("empty_tag", "unit(s) with an empty tag read as O"),
      ("converted", "sentence(s) tagged with E-/S-/M- (BIOES, IOBES, BMES "
                    "or BMEO) read as BIO"),
      ("overlap", "overlapping entity span(s) dropped (the longer span is "
                  "kept)"),
  ])

  def __init__(self, path):
    self.path = path
    self.lines = collections.OrderedDict()  # kind -> [line numbers]

  def add(self, kind, line_number):
    """Records one fix of `kind` (a DESCRIPTIONS key) at a line."""
    self.lines.setdefault(kind, []).append(line_number)

  def count(self, kind):
    """How many fixes of `kind` were made."""
    return len(self.lines.get(kind, ()))

  def messages(self, max_lines=10):
    """One line per kind of fix: count, description, first line numbers."""
    messages = []
    for kind, numbers in self.lines.items():
      shown = ", ".join(str(n) for n in numbers[:max_lines])
      more = ", ..." if len(numbers) > max_lines else ""
      messages.append("%s: %d %s (lines %s%s)" % (
          self.path, len(numbers), self.DESCRIPTIONS[kind], shown, more))
    return messages

  def log(self):
    """Logs messages() as warnings."""
    for message in self.messages():
      _LOG.warning(message)


# ------------------------------------------------------------- examples ---

def make_example(guid, units, tags, unit_joiner, line_numbers=None):
  """A NerExample whose text joins the units and whose offsets point at them.

  Args:
    guid: id string.
    units: list of non-empty strings.
    tags: list of tags (same length) or None.
    unit_joiner: "" (characters) or " " (words).
    line_numbers: the file line of each unit, or None.

  Returns:
    NerExample.
  """
  text = unit_joiner.join(units)
  if not unit_joiner and len(text) == len(units):  # one character per unit
    offsets = list(range(len(units)))
  else:
    offsets = [0]
    for unit in units[:-1]:
      offsets.append(offsets[-1] + len(unit) + len(unit_joiner))
    offsets = offsets[:len(units)]
  return NerExample(guid=guid, units=list(units),
                    tags=None if tags is None else list(tags),
                    text=text, unit_offsets=offsets,
                    line_numbers=None if line_numbers is None else
                    list(line_numbers))


def convert_scheme(examples, scheme):
  """Examples with BIO tags converted to `scheme` ("BIO": unchanged).

  Args:
    examples: list of NerExample with valid BIO tags (or None tags).
    scheme: "BIO" or "BIOES".

  Returns:
    list of NerExample.
  """
  if tag_schemes.check_scheme(scheme) == "BIO":
    return list(examples)
  return [e if e.tags is None else e._replace(
      tags=tag_schemes.bio_to_bioes(e.tags)) for e in examples]


# ---------------------------------------------------------------- lines ---

def _no_sentences(path):
  """The InputError for a file without any sentence."""
  return InputError(path, 1, "no sentences (the file is empty or has only "
                    "blank lines)", "Check that this is the right file")


# --------------------------------------------------------- column files ---

def read_column_file(path, num_columns=2, unit_joiner="", types=None,
                     skip_docstart=False, empty_tag=None,
                     allow_unlabeled=False, guid_prefix=None, report=None):
  """Reads a one-unit-per-line file (unit first, tag last).

  Args:
    path: file path.
    num_columns: columns per labeled line (2: `unit tag`; 4: CoNLL).
    unit_joiner: "" or " ", to build each example's text.
    types: entity types allowed in tags, or None for any.
    skip_docstart: skip `-DOCSTART-` lines (CoNLL).
    empty_tag: tag for a line whose tag column is missing (MSRA: "O"), or
      None to make that an error.
    allow_unlabeled: a first unit line with one column means the whole file
      is unlabeled (test files).
    guid_prefix: guids are "<prefix>-<sentence index>" (default: the file
      name).
    report: a ReadReport to fill (default: a new one); it is logged.

  Returns:
    list of NerExample with valid BIO tags (repaired), or tags None.
  """
  report = report if report is not None else ReadReport(path)
  guid_prefix = guid_prefix or os.path.basename(path)
  lines = read_text_lines(path)
  labeled = not (allow_unlabeled and _first_unit_line_is_bare(lines))
  reader = _ColumnLines(path, num_columns if labeled else 1, types,
                        empty_tag if labeled else None, report)
  examples = []
  for units, tags, line_numbers in _column_sentences(lines, reader,
                                                     skip_docstart):
    examples.append(_column_example(
        "%s-%d" % (guid_prefix, len(examples)), units,
        tags if labeled else None, line_numbers, unit_joiner, report))
  if not examples:
    raise _no_sentences(path)
  report.log()
  return examples


def _column_sentences(lines, reader, skip_docstart):
  """Groups lines into sentences at blank (and -DOCSTART-) lines.

  Args:
    lines: list of lines (read_text_lines).
    reader: _ColumnLines checking each unit line.
    skip_docstart: treat `-DOCSTART-` lines as blank.

  Yields:
    (units, tags, line_numbers) lists per sentence.
  """
  split_columns = _column_splitter(lines)
  num_fields, known_tags = reader.num_columns, reader.known_tags
  units, tags, line_numbers = [], [], []
  for line_number, line in enumerate(lines, 1):
    fields = split_columns(line)
    if not fields or (skip_docstart and fields[0] == "-DOCSTART-"):
      if units:
        yield units, tags, line_numbers
        units, tags, line_numbers = [], [], []
      continue
    if len(fields) == num_fields and fields[-1] in known_tags:
      units.append(fields[0])  # the common case: a tag checked before
      tags.append(fields[-1])
    else:
      unit, tag = reader.unit_and_tag(line_number, fields)
      units.append(unit)
      tags.append(tag)
    line_numbers.append(line_number)
  if units:
    yield units, tags, line_numbers


def _split_columns(line):
  """Columns of a line, split at runs of spaces/tabs ([] if blank)."""
  stripped = line.strip(" \t")
  return _COLUMN_SEPARATOR.split(stripped) if stripped else []


def _column_splitter(lines):
  """_split_columns, or the faster str.split when both agree on every line.

  str.split() also splits at other whitespace (U+3000, U+00A0, ...), which
  can be a unit in Chinese text, so it is used only when no line has any.
  """
  if _OTHER_WHITESPACE.search("\n".join(lines)):
    return _split_columns
  return str.split


def _first_unit_line_is_bare(lines):
  """Whether the first non-blank line has a single column (no tag)."""
  for line in lines:
    fields = _split_columns(line)
    if fields:
      return len(fields) == 1
  return False


def _column_example(guid, units, tags, line_numbers, unit_joiner, report):
  """One sentence -> NerExample: BIOES / BMES tags converted to BIO, bad
  BIO transitions repaired (both reported)."""
  if tags is not None:
    positions = tag_schemes.broken_input_positions(tags)
    for position in positions:
      report.add("repaired", line_numbers[position])
    tags, converted = tag_schemes.input_to_bio(tags)
    if converted:
      report.add("converted", line_numbers[0])
    elif positions:
      tags = tag_schemes.replace_with_begin(tags, positions)
  return make_example(guid, units, tags, unit_joiner, line_numbers)


class _ColumnLines(object):
  """Checks the columns and the tag of one line of a column file."""

  def __init__(self, path, num_columns, types, empty_tag, report):
    self.path = path
    self.num_columns = num_columns
    self.types = set(types) if types else None
    self.empty_tag = empty_tag
    self.report = report
    self.known_tags = set()

  def unit_and_tag(self, line_number, fields):
    """(unit, tag) of a non-blank line (tag None if unlabeled)."""
    if self.num_columns == 1:
      if len(fields) != 1:
        raise InputError(self.path, line_number,
                         "expected only a unit (the file's first line has no "
                         "tag), found %d columns" % len(fields),
                         "Give every line a tag, or none")
      return fields[0], None
    if len(fields) == self.num_columns - 1 and self.empty_tag is not None:
      self.report.add("empty_tag", line_number)
      return fields[0], self.empty_tag
    if len(fields) != self.num_columns:
      raise InputError(self.path, line_number, self._columns_problem(fields),
                       self._columns_fix(fields))
    tag = fields[-1]
    if tag not in self.known_tags:
      self._check_tag(line_number, tag)
      self.known_tags.add(tag)
    return fields[0], tag

  def _columns_problem(self, fields):
    expected = "%d columns (%s)" % (
        self.num_columns,
        "unit tag" if self.num_columns == 2 else "word POS chunk NER")
    if len(fields) < self.num_columns:
      return "missing tag: expected %s, found %d: %r" % (
          expected, len(fields), " ".join(fields))
    return "expected %s, found %d: %r" % (expected, len(fields),
                                          " ".join(fields))

  def _columns_fix(self, fields):
    if len(fields) < self.num_columns:
      return "Add the tag (e.g. O) after the unit, separated by a space or tab"
    return "A unit cannot contain spaces or tabs"

  def _check_tag(self, line_number, tag):
    problem = tag_schemes.input_tag_problem(tag)
    if problem:
      raise InputError(self.path, line_number, "bad tag: " + problem,
                       "Use BIO tags (O, B-TYPE, I-TYPE), or BIOES / BMES "
                       "(E-, S-, M-)")
    entity_type = tag.partition("-")[2]
    if self.types is not None and entity_type and (
        entity_type not in self.types):
      raise InputError(self.path, line_number,
                       "unknown entity type %r in tag %r" % (entity_type, tag),
                       "This task knows %s; use --task=bio for other types"
                       % ", ".join(sorted(self.types)))


def read_peoples_daily(path, allow_unlabeled=False, guid_prefix=None,
                       report=None):
  """People's Daily example.{train,dev,test}: `char tag`, PER/LOC/ORG.

  Returns:
    list of NerExample (units are characters, text = "".join(units)).
  """
  return read_column_file(path, 2, "", CHINESE_TYPES,
                          allow_unlabeled=allow_unlabeled,
                          guid_prefix=guid_prefix, report=report)


def read_msra(path, allow_unlabeled=False, guid_prefix=None, report=None):
  """MSRA msra_{train,test}_bio: `char<TAB>tag`; an empty tag reads as O.

  Returns:
    list of NerExample (units are characters, text = "".join(units)).
  """
  return read_column_file(path, 2, "", CHINESE_TYPES, empty_tag="O",
                          allow_unlabeled=allow_unlabeled,
                          guid_prefix=guid_prefix, report=report)


def read_conll2003(path, allow_unlabeled=False, guid_prefix=None,
                   report=None):
  """CoNLL-2003 (IOB2): `word POS chunk NER`, -DOCSTART- lines skipped.

  Returns:
    list of NerExample (units are words, text = " ".join(units)).
  """
  return read_column_file(path, 4, " ", CONLL_TYPES, skip_docstart=True,
                          allow_unlabeled=allow_unlabeled,
                          guid_prefix=guid_prefix, report=report)


def read_bio(path, unit_joiner="", allow_unlabeled=False, guid_prefix=None,
             report=None):
  """A generic two-column `unit tag` BIO file, any entity types.

  Args:
    unit_joiner: "" (character units) or " " (word units).

  Returns:
    list of NerExample.
  """
  return read_column_file(path, 2, unit_joiner, None,
                          allow_unlabeled=allow_unlabeled,
                          guid_prefix=guid_prefix, report=report)


# -------------------------------------------------------------- CLUENER ---

def read_cluener(path, allow_unlabeled=False, guid_prefix=None, report=None,
                 types=CLUENER_TYPES):
  """CLUENER JSON lines -> per-character BIO.

  Args:
    path: file of {"text": str, "label": {type: {mention: [[start,
      end_inclusive], ...]}}} lines.
    allow_unlabeled: a line without "label" gives tags None (else an error).
    guid_prefix: guids are "<prefix>-<index>" (default: the file name).
    report: ReadReport to fill (dropped overlaps); it is logged.
    types: allowed entity types, or None for any.

  Returns:
    list of NerExample (units are characters, text unchanged).
  """
  report = report if report is not None else ReadReport(path)
  guid_prefix = guid_prefix or os.path.basename(path)
  examples = []
  for index, line in enumerate(read_text_lines(path)):
    if not line.strip():
      continue
    record = _json_record(path, index + 1, line)
    text = record["text"]
    if "label" not in record and allow_unlabeled:
      tags = None
    else:
      spans = _cluener_spans(path, index + 1, record, types)
      kept = _drop_overlaps(spans)
      for _ in range(len(spans) - len(kept)):
        report.add("overlap", index + 1)
      tags = _spans_to_bio(len(text), kept)
    examples.append(make_example("%s-%d" % (guid_prefix, len(examples)),
                                 list(text), tags, "",
                                 [index + 1] * len(text)))
  if not examples:
    raise _no_sentences(path)
  report.log()
  return examples


def _json_record(path, line_number, line):
  """Parses one JSON line; checks it is an object with a non-empty text."""
  try:
    record = json.loads(line)
  except ValueError as e:
    raise InputError(path, line_number, "not valid JSON (%s)" % e,
                     "Each line must be one JSON object")
  if not isinstance(record, dict) or not isinstance(record.get("text"), str):
    raise InputError(path, line_number, "no \"text\" string",
                     "Each line must be {\"text\": ..., \"label\": ...}")
  if not record["text"]:
    raise InputError(path, line_number, "empty \"text\"",
                     "Remove the line")
  return record


def _cluener_spans(path, line_number, record, types):
  """Checked (start, end_exclusive, type) spans of one CLUENER record."""
  text = record["text"]
  label = record.get("label")
  if label is None:
    raise InputError(path, line_number, "no \"label\"",
                     "Train and dev lines need {\"label\": {type: {mention: "
                     "[[start, end]]}}} (use {} for no entities)")
  if not isinstance(label, dict):
    raise InputError(path, line_number, "\"label\" is not an object",
                     "Use {type: {mention: [[start, end]]}}")
  spans = set()
  for entity_type, mentions in label.items():
    problem = tag_schemes.tag_problem("B-" + entity_type, "BIO")
    if problem or (types is not None and entity_type not in types):
      raise InputError(path, line_number,
                       "unknown entity type %r" % entity_type,
                       "CLUENER types are %s" % ", ".join(types or ()))
    if not isinstance(mentions, dict):
      raise InputError(path, line_number, "mentions of %r are not an object"
                       % entity_type, "Use {mention: [[start, end]]}")
    for mention, offsets in mentions.items():
      for pair in _offset_pairs(path, line_number, mention, offsets):
        start, end = pair
        if not 0 <= start <= end < len(text):
          raise InputError(path, line_number,
                           "span [%d, %d] of %r is outside the text (length "
                           "%d)" % (start, end, mention, len(text)),
                           "Offsets are 0-based and the end is inclusive")
        if text[start:end + 1] != mention:
          raise InputError(path, line_number,
                           "mention %r (%s) at [%d, %d] does not match the "
                           "text there, %r" % (mention, entity_type, start,
                                               end, text[start:end + 1]),
                           "Fix the offsets (0-based, end inclusive)")
        spans.add((start, end + 1, entity_type))
  return sorted(spans)


def _offset_pairs(path, line_number, mention, offsets):
  """The [[start, end], ...] list of one mention, checked to be int pairs."""
  if not isinstance(offsets, list) or not all(
      isinstance(p, list) and len(p) == 2 and
      all(isinstance(x, int) and not isinstance(x, bool) for x in p)
      for p in offsets):
    raise InputError(path, line_number,
                     "offsets of %r are not a list of [start, end] integer "
                     "pairs: %r" % (mention, offsets),
                     "Use {mention: [[start, end_inclusive], ...]}")
  return offsets


def _drop_overlaps(spans):
  """Keeps the longest spans that do not overlap (ties: earlier, then type).

  Args:
    spans: list of (start, end_exclusive, type).

  Returns:
    the kept spans, sorted by start.
  """
  kept = []
  for span in sorted(spans, key=lambda s: (s[0] - s[1], s[0], s[2])):
    if all(span[1] <= k[0] or k[1] <= span[0] for k in kept):
      kept.append(span)
  return sorted(kept)


def _spans_to_bio(length, spans):
  """BIO tags for `length` units from non-overlapping (start, end, type)."""
  tags = [tag_schemes.OUTSIDE] * length
  for start, end, entity_type in spans:
    tags[start] = "B-" + entity_type
    for position in range(start + 1, end):
      tags[position] = "I-" + entity_type
  return tags


# ------------------------------------------------------------ dev split ---

def carve_dev_split(examples, dev_fraction=MSRA_DEV_FRACTION,
                    seed=MSRA_DEV_SEED):
  """Splits a train set into (train, dev), the same way every time.

  Args:
    examples: list of examples (the whole train file).
    dev_fraction: share of examples that go to dev, rounded (at least 1).
    seed: numpy RandomState seed of the permutation that picks dev.

  Returns:
    (train, dev) lists, each in the original order; together they hold
    every example once.
  """
  if len(examples) < 2:
    raise ValueError("need at least 2 examples to carve a dev split, got %d"
                     % len(examples))
  count = min(len(examples) - 1,
              max(1, int(round(len(examples) * dev_fraction))))
  chosen = np.random.RandomState(seed).permutation(len(examples))[:count]
  in_dev = np.zeros(len(examples), dtype=bool)
  in_dev[chosen] = True
  train = [e for e, dev in zip(examples, in_dev) if not dev]
  dev = [e for e, dev in zip(examples, in_dev) if dev]
  return train, dev


# ---------------------------------------------------------------- tasks ---

class NerTask(split_files.SplitFiles):
  """Where the splits of one NER data set live and how they are read."""

  def __init__(self, name, files, reader, unit_joiner, types=None,
               scheme="BIO"):
    """Args:
      name: task name.
      files: dict split -> list of candidate file names in data_dir.
      reader: read_* function (path, allow_unlabeled, guid_prefix, report).
      unit_joiner: "" (character units) or " " (word units).
      types: fixed entity types, or None to take them from train examples.
      scheme: tag scheme of get_examples and get_labels ("BIO", "BIOES").
    """
    self.name = name
    self.files = files
    self.reader = reader
    self.unit_joiner = unit_joiner
    self.types = tuple(sorted(types)) if types else None
    self.scheme = tag_schemes.check_scheme(scheme)

  def read_split(self, data_dir, split, report=None):
    """A split as stored: valid (repaired) BIO tags; tags None if unlabeled."""
    path = self.require_file(data_dir, split)
    return self.reader(path, allow_unlabeled=(split == "test"),
                       guid_prefix=split, report=report)

  def get_examples(self, data_dir, split, scheme=None):
    """Reads a split.

    Args:
      data_dir: folder with the split files.
      split: "train", "dev" or "test".
      scheme: "BIO" or "BIOES" (default: the task's scheme).

    Returns:
      list of NerExample with tags in `scheme` (None for unlabeled test).
    """
    if split not in SPLITS:
      raise ValueError("split must be one of %s, got %r" %
                       (", ".join(SPLITS), split))
    examples = self.read_split(data_dir, split)
    return convert_scheme(examples, scheme or self.scheme)

  def get_labels(self, train_examples=None, scheme=None):
    """The label list: O, then B-/I-(/E-/S-) per sorted type.

    Args:
      train_examples: needed when the task has no fixed types (bio).
      scheme: "BIO" or "BIOES" (default: the task's scheme).

    Returns:
      list of label strings.
    """
    scheme = scheme or self.scheme
    if self.types:
      return tag_schemes.labels_for(self.types, scheme)
    if train_examples is None:
      raise ValueError("task %s takes its entity types from the training "
                       "examples; pass train_examples" % self.name)
    types = set()
    for example in train_examples:
      if example.tags is not None:
        types.update(tag_schemes.entity_types(example.tags))
    if not types:
      raise ValueError("task %s: no entities in the training examples" %
                       self.name)
    return tag_schemes.labels_for(types, scheme)


class CarvedDevTask(NerTask):
  """A task without a dev file: dev is carve_dev_split of the train file."""

  def __init__(self, *args, **kwargs):
    self.dev_fraction = kwargs.pop("dev_fraction", MSRA_DEV_FRACTION)
    self.seed = kwargs.pop("seed", MSRA_DEV_SEED)
    super(CarvedDevTask, self).__init__(*args, **kwargs)
    self._train_file = None  # (path, mtime, examples): read once

  def read_split(self, data_dir, split, report=None):
    """train: the train file minus dev; dev: the carved part; test: as is."""
    if split == "test":
      return super(CarvedDevTask, self).read_split(data_dir, split, report)
    train, dev = carve_dev_split(self.read_train_file(data_dir, report),
                                 self.dev_fraction, self.seed)
    return train if split == "train" else dev

  def read_train_file(self, data_dir, report=None):
    """The whole train file, before the carve-out.

    It is read once and kept while its path and mtime are unchanged, so
    get_examples for train and dev read it once; `report` is filled only by
    the call that reads it.
    """
    path = self.require_file(data_dir, "train")
    key = (os.path.abspath(path), os.path.getmtime(path))
    if self._train_file is None or self._train_file[0] != key:
      examples = self.reader(path, allow_unlabeled=False, guid_prefix="train",
                             report=report)
      if len(examples) < 2:
        raise InputError(path, None, "only %d sentence(s); cannot carve a dev "
                         "split" % len(examples), "Use a larger train file")
      self._train_file = (key, examples)
    return self._train_file[1]


def _split_files(*extensions):
  """{split: [split + ext for ext in extensions]}."""
  return {split: [split + ext for ext in extensions] for split in SPLITS}


def _peoples_daily(name, scheme, joiner):
  del joiner
  files = {split: ["example." + split, split + ".txt"] for split in SPLITS}
  return NerTask(name, files, read_peoples_daily, "", CHINESE_TYPES, scheme)


def _msra(name, scheme, joiner):
  del joiner
  files = {"train": ["msra_train_bio", "msra_train_bio.txt", "train.txt"],
           "dev": [],
           "test": ["msra_test_bio", "msra_test_bio.txt", "test.txt"]}
  return CarvedDevTask(name, files, read_msra, "", CHINESE_TYPES, scheme)


def _cluener(name, scheme, joiner):
  del joiner
  return NerTask(name, _split_files(".json"), read_cluener, "",
                 CLUENER_TYPES, scheme)


def _conll2003(name, scheme, joiner):
  del joiner
  files = _split_files(".txt")
  files["dev"].append("valid.txt")
  return NerTask(name, files, read_conll2003, " ", CONLL_TYPES, scheme)


def _bio(name, scheme, joiner):
  joiner = "" if joiner is None else joiner
  if joiner not in ("", " "):
    raise ValueError("unit_joiner must be \"\" or \" \", got %r" % joiner)
  return NerTask(name, _split_files(".txt", ".bio", ".tsv"),
                 functools.partial(read_bio, unit_joiner=joiner), joiner,
                 None, scheme)


# The NER data sets, one row each: (name, aliases (the shared data folder
# names among them), factory(name, scheme, unit_joiner)). Only bio takes a
# unit joiner.
DATA_SETS = (
    ("peoples_daily", ("peoples_daily_ner",), _peoples_daily),
    ("msra", ("msra_ner",), _msra),
    ("cluener", ("cluener2020",), _cluener),
    ("conll2003", ("conll",), _conll2003),
    ("bio", (), _bio),
)
TASK_NAMES = tuple(row[0] for row in DATA_SETS)


def get_ner_task(name, scheme="BIO", unit_joiner=None):
  """The NerTask called `name`.

  Args:
    name: a DATA_SETS name or alias (peoples_daily, msra, cluener,
      conll2003, bio; also the shared data folder names).
    scheme: tag scheme of the examples and labels: "BIO" or "BIOES".
    unit_joiner: for bio only: "" (characters, the default) or " " (words).

  Returns:
    NerTask.
  """
  name = name.lower()
  if unit_joiner is not None and name != "bio":
    raise ValueError("unit_joiner is fixed for task %s" % name)
  for known, aliases, factory in DATA_SETS:
    if name == known or name in aliases:
      return factory(known, scheme, unit_joiner)
  raise ValueError("unknown NER task %r; known: %s" % (
      name, ", ".join(TASK_NAMES)))


def guess_reading(data_dir, given):
  """The --task a data folder most likely is, unless `given` names one:
  the folder's name when that is a data set, peoples_daily for example.*
  files, else bio. What the studio fills in when left empty."""
  if given.get("task"):
    return {}
  name = os.path.basename(os.path.normpath(data_dir))
  if name in TASK_NAMES:
    return {"task": name}
  if any(f.startswith("example.") for f in os.listdir(data_dir)):
    return {"task": "peoples_daily"}
  return {"task": "bio"}


PREVIEW_LENGTHS = 5000          # sentences a preview measures


def preview(data_dir, given, tokenize):
  """What the studio shows of an NER data folder before a run: the reading
  (`given`, else guessed as guess_reading does), each split's sentences,
  the train entities' counts by type, the WordPiece length of the first
  PREVIEW_LENGTHS train sentences (their units' pieces, without
  [CLS]/[SEP]), and the problems the reader raises, one a split, with file
  and line. An NER file has no columns."""
  reading = dict(given)
  reading.update(guess_reading(data_dir, given))

  def describe_train(task, examples):
    types = collections.Counter(
        span[0] for e in examples
        for span in tag_schemes.entity_spans(e.tags, task.scheme))
    return {"labels": dict(types.most_common()),
            "lengths": [sum(len(tokenize(unit)) for unit in e.units)
                        for e in examples[:PREVIEW_LENGTHS]]}
  return split_files.preview(data_dir, reading,
                             lambda: get_ner_task(reading["task"]),
                             describe_train)

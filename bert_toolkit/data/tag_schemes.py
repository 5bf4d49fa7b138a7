"""NER tag schemes: BIO and BIOES tags, checks, repair, conversion, spans.

A tag is "O" or PREFIX-TYPE: BIO uses B- (begin) and I- (inside); BIOES adds
E- (end of a multi-unit entity) and S- (single-unit entity). TYPE is any
non-empty string (it may itself contain "-").

  tag_problem / validate_tags  is a tag, or a whole sequence, well formed?
  invalid_bio_positions / repair_bio
                               the repair rule for bad BIO transitions
  bio_to_bioes / bioes_to_bio  conversion (lossless on valid sequences)
  to_bio                       any sequence as valid BIO (the repair rule)
  input_tag_problem / input_to_bio / broken_input_positions
                               tags as files write them: BIO, BIOES (IOBES)
                               or BMES / BMEO, converted to BIO on reading,
                               and where they needed the repair rule
  entity_spans                 (type, start, end_exclusive) per entity
  labels_for                   the full, deterministic label list

Repair rule (the conlleval / seqeval convention): an I-X that does not
continue an entity of type X -- at the start, after O, or after B-Y/I-Y with
Y != X -- begins a new entity, so it becomes B-X. entity_spans reads invalid
sequences with the same rule, so repairing never changes the entities.
"""

import functools
import types

SCHEMES = ("BIO", "BIOES")
OUTSIDE = "O"

_PREFIXES = types.MappingProxyType({"BIO": ("B", "I"), "BIOES": ("B", "I", "E", "S")})


def check_scheme(scheme):
  """Returns the scheme name upper-cased; ValueError if unknown."""
  name = str(scheme).upper()
  if name not in SCHEMES:
    raise ValueError("unknown tag scheme %r; use one of %s" %
                     (scheme, ", ".join(SCHEMES)))
  return name


def tag_problem(tag, scheme="BIO"):
  """Why `tag` is not a tag of `scheme`, or None if it is.

  Args:
    tag: a string such as "B-PER".
    scheme: "BIO" or "BIOES".

  Returns:
    None, or a short description such as "'X-PER' has no B-/I- prefix".
  """
  scheme = check_scheme(scheme)
  if tag == OUTSIDE:
    return None
  prefixes = _PREFIXES[scheme]
  allowed = "/".join(p + "-" for p in prefixes)
  prefix, dash, entity_type = tag.partition("-")
  if not dash or prefix not in prefixes:
    return "%r is not O and has no %s prefix" % (tag, allowed)
  if not entity_type.strip() or entity_type != entity_type.strip():
    return "%r has no entity type after %s-" % (tag, prefix)
  return None


def split_tag(tag, scheme="BIO"):
  """("O", None) for O, else (prefix, type); ValueError for a bad tag."""
  return _split_tag(tag, check_scheme(scheme))


@functools.lru_cache(maxsize=65536)
def _split_tag(tag, scheme):
  """split_tag, memoized: label sets are small and this runs per unit."""
  problem = tag_problem(tag, scheme)
  if problem:
    raise ValueError("bad %s tag: %s" % (scheme, problem))
  if tag == OUTSIDE:
    return (OUTSIDE, None)
  prefix, _, entity_type = tag.partition("-")
  return (prefix, entity_type)


def validate_tags(tags, scheme="BIO"):
  """Checks that a whole sequence is valid under `scheme`.

  BIO: every I-X follows B-X or I-X. BIOES additionally: B-X and I-X are
  followed by I-X or E-X; E-X follows B-X or I-X; O, B- and S- do not
  follow B-/I- (an entity must be closed by E-).

  Args:
    tags: list of tag strings.
    scheme: "BIO" or "BIOES".

  Raises:
    ValueError naming the first bad position and tag.
  """
  scheme = check_scheme(scheme)
  open_type = None  # type of the entity still open after the previous tag
  for position, tag in enumerate(tags):
    if tag == OUTSIDE and (open_type is None or scheme == "BIO"):
      open_type = None  # the common case
      continue
    prefix, entity_type = split_tag(tag, scheme)
    continues = prefix in ("I", "E")
    if continues and open_type != entity_type:
      raise ValueError("%s tags: %r at position %d does not continue an "
                       "entity of type %s (previous tag %r)" %
                       (scheme, tag, position, entity_type,
                        tags[position - 1] if position else None))
    if scheme == "BIOES" and not continues and open_type is not None:
      raise ValueError("BIOES tags: %r at position %d follows %r, which "
                       "needs I- or E- next" % (tag, position,
                                                tags[position - 1]))
    open_type = entity_type if prefix in ("B", "I") else None
  if scheme == "BIOES" and open_type is not None:
    raise ValueError("BIOES tags: the sequence ends with %r, which needs "
                     "E- next" % tags[-1])


def invalid_bio_positions(tags):
  """Positions of I-X tags that do not continue an entity of type X.

  Args:
    tags: list of BIO tag strings (ValueError for a tag outside BIO).

  Returns:
    list of ints, in order.
  """
  positions = []
  previous_type = None  # type of the entity open before this position
  for position, tag in enumerate(tags):
    if tag == OUTSIDE:
      previous_type = None
      continue
    prefix, entity_type = split_tag(tag, "BIO")
    if prefix == "I" and entity_type != previous_type:
      positions.append(position)
    previous_type = entity_type
  return positions


def repair_bio(tags):
  """Applies the repair rule: a stray I-X becomes B-X.

  Args:
    tags: list of BIO tag strings.

  Returns:
    (repaired_tags, number_of_repairs); repaired_tags is a new list and is
    valid BIO with the same entity_spans as `tags`.
  """
  positions = invalid_bio_positions(tags)
  return replace_with_begin(tags, positions), len(positions)


def replace_with_begin(tags, positions):
  """A copy of BIO `tags` with the I-X at each position made B-X."""
  repaired = list(tags)
  for position in positions:
    repaired[position] = "B-" + repaired[position][2:]
  return repaired


def bio_to_bioes(tags):
  """Converts valid BIO to BIOES (single-unit B-X -> S-X, last I-X -> E-X).

  Args:
    tags: list of BIO tags; must be valid (run repair_bio first).

  Returns:
    list of BIOES tags, same length.

  Raises:
    ValueError if `tags` is not valid BIO.
  """
  validate_tags(tags, "BIO")
  converted = []
  for position, tag in enumerate(tags):
    if tag == OUTSIDE:
      converted.append(tag)
      continue
    following = tags[position + 1] if position + 1 < len(tags) else OUTSIDE
    entity_continues = following == "I-" + tag[2:]
    if tag.startswith("B-"):
      converted.append(("B-" if entity_continues else "S-") + tag[2:])
    else:
      converted.append(("I-" if entity_continues else "E-") + tag[2:])
  return converted


def bioes_to_bio(tags):
  """Converts valid BIOES to BIO (S-X -> B-X, E-X -> I-X).

  Args:
    tags: list of BIOES tags; must be valid.

  Returns:
    list of BIO tags, same length.

  Raises:
    ValueError if `tags` is not valid BIOES.
  """
  validate_tags(tags, "BIOES")
  mapping = {"B": "B-", "I": "I-", "E": "I-", "S": "B-"}
  return [tag if tag == OUTSIDE else mapping[tag[0]] + tag[2:]
          for tag in tags]


def entity_spans(tags, scheme="BIO"):
  """The entities of a tag sequence.

  Lenient, for predictions too: an I-X/E-X that does not continue an entity
  of type X starts one (the repair rule); under BIOES an entity also ends
  after E-X or S-X, or where the next tag does not continue it.

  Args:
    tags: list of tag strings (ValueError for a tag outside `scheme`).
    scheme: "BIO" or "BIOES".

  Returns:
    list of (type, start_unit, end_unit_exclusive), in order.
  """
  scheme = check_scheme(scheme)
  spans = []
  open_type, open_start = None, None
  for position, tag in enumerate(tags):
    if tag == OUTSIDE:
      if open_type is not None:
        spans.append((open_type, open_start, position))
        open_type = None
      continue
    prefix, entity_type = split_tag(tag, scheme)
    continues = prefix in ("I", "E") and entity_type == open_type
    if not continues:
      if open_type is not None:
        spans.append((open_type, open_start, position))
      open_type, open_start = entity_type, position
    if prefix in ("E", "S"):
      spans.append((open_type, open_start, position + 1))
      open_type, open_start = None, None
  if open_type is not None:
    spans.append((open_type, open_start, len(tags)))
  return spans


def to_bio(tags, scheme="BIO"):
  """Any tag sequence of `scheme` as valid BIO, read by the repair rule.

  Unlike bioes_to_bio this never raises on an invalid sequence (a model's
  prediction such as B-PER E-PER... or E-PER after O): the entities are
  those entity_spans reads, written back as B-X I-X ... tags.
  """
  out = [OUTSIDE] * len(tags)
  for entity_type, start, end in entity_spans(tags, scheme):
    out[start] = "B-" + entity_type
    for position in range(start + 1, end):
      out[position] = "I-" + entity_type
  return out


# Prefixes a tagged file may use: BIO's B-/I-, BIOES's (also written IOBES)
# E-/S-, and BMES's / BMEO's M- (middle, BIOES's I-).
INPUT_PREFIXES = ("B", "I", "E", "S", "M")


def input_tag_problem(tag):
  """Why `tag`, read from a file, is not O or B-/I-/E-/S-/M-TYPE; or None."""
  if tag == OUTSIDE:
    return None
  prefix, dash, entity_type = tag.partition("-")
  if not dash or prefix not in INPUT_PREFIXES:
    return "%r is not O and has no B-/I-/E-/S-/M- prefix" % tag
  if not entity_type.strip() or entity_type != entity_type.strip():
    return "%r has no entity type after %s-" % (tag, prefix)
  return None


def input_to_bio(tags):
  """A file's tag sequence as BIO, whatever the scheme it was written in.

  A sequence with only O, B- and I- tags is BIO and is returned as it is
  (None for `converted`; its repair is repair_bio's). Any E-, S- or M- tag
  makes it BIOES / IOBES / BMES / BMEO: M-X is read as I-X, and the
  entities are read by entity_spans' lenient BIOES rule (E-X and S-X close
  an entity; a B-X followed by O is a one-unit entity, as BMEO writes it)
  and written back as BIO.

  Returns:
    (bio_tags, converted): converted is True when E-/S-/M- tags were read.
  """
  if all(tag == OUTSIDE or tag[:2] in ("B-", "I-") for tag in tags):
    return tags, False
  bioes = [("I-" + tag[2:]) if tag.startswith("M-") else tag for tag in tags]
  return to_bio(bioes, "BIOES"), True


def broken_input_positions(tags):
  """Positions of a file's tag sequence (BIO, BIOES, BMES, ...) where an
  I-X, M-X or E-X does not continue an entity of type X -- at the start,
  after O, after E-/S-, or after a tag of another type. The reading rule
  (repair_bio, to_bio) starts a new entity there: these are the repairs
  a file needed. For BIO tags, invalid_bio_positions' answer."""
  positions = []
  open_type = None  # type of the entity still open before this position
  for position, tag in enumerate(tags):
    if tag == OUTSIDE:
      open_type = None
      continue
    prefix, _, entity_type = tag.partition("-")
    if prefix in ("I", "M", "E") and entity_type != open_type:
      positions.append(position)
    open_type = entity_type if prefix in ("B", "I", "M") else None
  return positions


def entity_types(tags):
  """Sorted set of entity types in a tag sequence (any scheme)."""
  return sorted({tag.partition("-")[2] for tag in tags if tag != OUTSIDE})


def labels_for(types, scheme="BIO"):
  """The label list of a scheme over entity types.

  Args:
    types: iterable of entity type names (duplicates are fine).
    scheme: "BIO" or "BIOES".

  Returns:
    ["O"] then, per type in sorted order, B-, I- (BIO) or B-, I-, E-, S-
    (BIOES) tags. The same types always give the same list.
  """
  scheme = check_scheme(scheme)
  labels = [OUTSIDE]
  for entity_type in sorted(set(types)):
    problem = tag_problem("B-" + entity_type, scheme)
    if problem:
      raise ValueError("bad entity type %r: %s" % (entity_type, problem))
    labels.extend(prefix + "-" + entity_type
                  for prefix in _PREFIXES[scheme])
  return labels

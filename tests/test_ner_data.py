"""NER readers on every shared data file, tag schemes, and bad input."""

import collections
import json
import os

import pytest

from bert_toolkit.data import ner_data
from bert_toolkit.data import tag_schemes
from bert_toolkit.errors import InputError
from tests.paths import DATA_DIR

PEOPLES_DAILY = os.path.join(DATA_DIR, "peoples_daily_ner")
MSRA = os.path.join(DATA_DIR, "msra_ner")
CLUENER = os.path.join(DATA_DIR, "cluener2020")
CONLL = os.path.join(DATA_DIR, "conll2003")
FIRST_MSRA_DEV_SENTENCES = [132, 158, 164, 191, 198]  # seed 12345


def entity_counts(examples, scheme="BIO"):
  """{type: number of entities} over all examples."""
  counts = collections.Counter()
  for example in examples:
    for entity_type, _, _ in tag_schemes.entity_spans(example.tags, scheme):
      counts[entity_type] += 1
  return dict(counts)


def check_examples(examples, joiner, labeled=True):
  """Per-sentence invariants that every reader must keep."""
  for example in examples:
    assert example.units and all(example.units)
    assert example.text == joiner.join(example.units)
    assert len(example.unit_offsets) == len(example.units)
    for unit, offset in zip(example.units, example.unit_offsets):
      assert example.text[offset:offset + len(unit)] == unit
    if not labeled:
      assert example.tags is None
      continue
    assert len(example.tags) == len(example.units)
    # Both conversions validate their input first (valid BIO, valid BIOES).
    bioes = tag_schemes.bio_to_bioes(example.tags)
    assert tag_schemes.bioes_to_bio(bioes) == example.tags
    assert (tag_schemes.entity_spans(bioes, "BIOES") ==
            tag_schemes.entity_spans(example.tags, "BIO"))
  assert len({e.guid for e in examples}) == len(examples)


# ------------------------------------------------------ shared data sets ---

@pytest.fixture(scope="module")
def msra():
  """(task, whole train file, its report): the 14 MB file is read once."""
  task = ner_data.get_ner_task("msra")
  report = ner_data.ReadReport("msra_train_bio")
  return task, task.read_train_file(MSRA, report), report


@pytest.mark.parametrize("split,sentences,chars,entities", [
    ("dev", 2318, 109870, {"LOC": 1951, "ORG": 984, "PER": 884}),
    ("test", 4636, 219197, {"LOC": 3658, "ORG": 2185, "PER": 1864}),
])
def test_peoples_daily(split, sentences, chars, entities):
  task = ner_data.get_ner_task("peoples_daily")
  examples = task.get_examples(PEOPLES_DAILY, split)
  assert len(examples) == sentences
  assert sum(len(e.units) for e in examples) == chars
  assert entity_counts(examples) == entities
  check_examples(examples, "")


def test_peoples_daily_train_is_missing_with_a_clear_error():
  task = ner_data.get_ner_task("peoples_daily")
  with pytest.raises(InputError, match="example.train.*no train file"):
    task.get_examples(PEOPLES_DAILY, "train")


def test_msra_test(msra):
  task, _, _ = msra
  examples = task.get_examples(MSRA, "test")
  assert len(examples) == 3442
  assert sum(len(e.units) for e in examples) == 172601
  assert entity_counts(examples) == {"LOC": 2886, "ORG": 1331, "PER": 1973}
  check_examples(examples, "")


def test_msra_train_file(msra):
  """The whole train file: published counts, 57 empty tags read as O."""
  _, examples, report = msra
  assert len(examples) == 45000
  assert sum(len(e.units) for e in examples) == 2171573
  assert entity_counts(examples) == {"LOC": 36860, "ORG": 20584,
                                     "PER": 17615}
  assert report.count("empty_tag") == 57
  assert report.lines["empty_tag"][:3] == [15157, 57352, 287765]
  assert report.count("repaired") == 0
  check_examples(examples, "")


def test_msra_dev_carve_out(msra):
  task, whole, _ = msra
  train = task.get_examples(MSRA, "train")
  dev = task.get_examples(MSRA, "dev")
  assert (len(train), len(dev)) == (42750, 2250)
  train_ids = [e.guid for e in train]
  dev_ids = [e.guid for e in dev]
  assert not set(train_ids) & set(dev_ids)
  assert set(train_ids) | set(dev_ids) == {e.guid for e in whole}
  assert [e.guid for e in whole] == ["train-%d" % i for i in range(45000)]
  order = lambda ids: [int(i.split("-")[1]) for i in ids]
  assert order(train_ids) == sorted(order(train_ids))
  assert order(dev_ids) == sorted(order(dev_ids))
  # Deterministic: the same sentences every time, on every machine (numpy's
  # RandomState stream is frozen), so these numbers must never change.
  assert order(dev_ids)[:5] == FIRST_MSRA_DEV_SENTENCES
  assert ner_data.carve_dev_split(whole)[1] == dev
  assert entity_counts(dev) == {"LOC": 1750, "ORG": 1068, "PER": 881}


def test_carve_dev_split_rules():
  items = list(range(1000))
  train, dev = ner_data.carve_dev_split(items)
  assert len(dev) == 50 and len(train) == 950
  assert sorted(train + dev) == items
  assert ner_data.carve_dev_split(items) == (train, dev)
  assert ner_data.carve_dev_split(items, seed=1)[1] != dev
  assert [len(p) for p in ner_data.carve_dev_split([1, 2])] == [1, 1]
  with pytest.raises(ValueError):
    ner_data.carve_dev_split([1])


@pytest.mark.parametrize("split,sentences", [
    ("dev", 1343), ("train", 10748)])
def test_cluener(split, sentences):
  task = ner_data.get_ner_task("cluener")
  examples = task.get_examples(CLUENER, split)
  assert len(examples) == sentences
  check_examples(examples, "")
  # Every mention of the file is an entity (less the documented overlaps).
  path = os.path.join(CLUENER, split + ".json")
  mentions = collections.Counter()
  with open(path, encoding="utf-8") as f:
    for line in f:
      for entity_type, spans in json.loads(line)["label"].items():
        mentions[entity_type] += sum(len(s) for s in spans.values())
  if split == "train":
    mentions["company"] -= 2  # line 1507: two companies inside a book title
  assert entity_counts(examples) == dict(mentions)


def test_cluener_overlap_in_train_is_reported():
  report = ner_data.ReadReport("train.json")
  examples = ner_data.read_cluener(os.path.join(CLUENER, "train.json"),
                                   report=report)
  assert report.lines == {"overlap": [1507, 1507]}
  spans = tag_schemes.entity_spans(examples[1506].tags)
  assert spans == [("book", 15, 35)]


def test_cluener_test_is_unlabeled():
  task = ner_data.get_ner_task("cluener")
  examples = task.get_examples(CLUENER, "test")
  assert len(examples) == 1345
  check_examples(examples, "", labeled=False)
  assert examples[1].text == "尼日利亚海军发言人当天在阿布贾向尼日利亚通讯社证实了这一消息。"


@pytest.mark.parametrize("split,sentences,tokens", [
    ("dev", 3250, 51362), ("test", 3453, 46435), ("train", 14041, 203621)])
def test_conll2003(split, sentences, tokens):
  task = ner_data.get_ner_task("conll2003")
  assert task.unit_joiner == " "
  examples = task.get_examples(CONLL, split)
  assert len(examples) == sentences
  assert sum(len(e.units) for e in examples) == tokens
  assert not any("-DOCSTART-" in e.units for e in examples)
  check_examples(examples, " ")


def test_conll2003_first_dev_sentence():
  examples = ner_data.get_ner_task("conll2003").get_examples(CONLL, "dev")
  first = examples[0]
  assert first.units == ["CRICKET", "-", "LEICESTERSHIRE", "TAKE", "OVER",
                         "AT", "TOP", "AFTER", "INNINGS", "VICTORY", "."]
  assert first.text.startswith("CRICKET - LEICESTERSHIRE TAKE")
  assert first.unit_offsets[:3] == [0, 8, 10]
  assert tag_schemes.entity_spans(first.tags) == [("ORG", 2, 3)]


def test_bioes_examples_and_labels():
  task = ner_data.get_ner_task("peoples_daily", scheme="BIOES")
  examples = task.get_examples(PEOPLES_DAILY, "dev")
  labels = task.get_labels()
  used = {tag for e in examples for tag in e.tags}
  assert used <= set(labels)
  assert {t[0] for t in used} == {"O", "B", "I", "E", "S"}
  assert entity_counts(examples, "BIOES") == {"LOC": 1951, "ORG": 984,
                                              "PER": 884}
  bio = task.get_examples(PEOPLES_DAILY, "dev", scheme="BIO")
  assert [tag_schemes.bio_to_bioes(e.tags) for e in bio[:100]] == [
      e.tags for e in examples[:100]]


def test_fixed_label_lists():
  assert ner_data.get_ner_task("msra").get_labels() == [
      "O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
  assert ner_data.get_ner_task("conll2003").get_labels(scheme="BIOES")[:5] == [
      "O", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
  cluener = ner_data.get_ner_task("cluener").get_labels()
  assert len(cluener) == 21 and cluener[1:3] == ["B-address", "I-address"]


# ------------------------------------------------------------ file shape ---

def write(tmp_path, name, content, mode="w"):
  path = tmp_path / name
  if mode == "wb":
    path.write_bytes(content)
  else:
    path.write_text(content, encoding="utf-8")
  return str(path)


def test_blank_lines_crlf_bom_and_no_final_blank(tmp_path):
  content = ("\ufeff\r\n\r\n中 B-LOC\r\n国 I-LOC\r\n \t \r\n\r\n\r\n"
             "人\tO\r\n\r\n好   O\r\n")
  path = write(tmp_path, "train.txt", content.encode("utf-8"), "wb")
  examples = ner_data.read_bio(path)
  assert [e.units for e in examples] == [["中", "国"], ["人"], ["好"]]
  assert [e.tags for e in examples] == [["B-LOC", "I-LOC"], ["O"], ["O"]]
  assert [e.guid for e in examples] == ["train.txt-0", "train.txt-1",
                                        "train.txt-2"]


def test_unicode_space_units_are_kept(tmp_path):
  path = write(tmp_path, "train.txt", "a O\n\u3000 O\nb\tB-X\n")
  examples = ner_data.read_bio(path)
  assert examples[0].units == ["a", "\u3000", "b"]
  assert examples[0].text == "a\u3000b"


def test_word_units_with_the_generic_task(tmp_path):
  write(tmp_path, "train.bio", "New B-LOC\nYork I-LOC\nis O\n\nOK O\n")
  task = ner_data.get_ner_task("bio", unit_joiner=" ")
  examples = task.get_examples(str(tmp_path), "train")
  assert examples[0].text == "New York is"
  assert examples[0].unit_offsets == [0, 4, 9]
  assert task.get_labels(examples) == ["O", "B-LOC", "I-LOC"]
  with pytest.raises(ValueError, match="train_examples"):
    task.get_labels()


def test_unlabeled_test_file(tmp_path):
  write(tmp_path, "test.txt", "我\n们\n\n好\n")
  write(tmp_path, "train.txt", "我 O\n")
  task = ner_data.get_ner_task("bio")
  examples = task.get_examples(str(tmp_path), "test")
  assert [e.units for e in examples] == [["我", "们"], ["好"]]
  assert all(e.tags is None for e in examples)
  bioes = task.get_examples(str(tmp_path), "test", scheme="BIOES")
  assert bioes[0].tags is None
  write(tmp_path, "train.txt", "我\n们 O\n")  # train must be labeled
  with pytest.raises(InputError, match=r"train.txt line 1: missing tag"):
    task.get_examples(str(tmp_path), "train")


# ------------------------------------------------------------- bad input ---

@pytest.mark.parametrize("content,line,message", [
    ("中 B-LOC\n国\n", 2, "missing tag"),
    ("中 O\n\n国 X-PER\n", 3,
     "'X-PER' is not O and has no B-/I-/E-/S-/M- prefix"),
    ("中 O\n国 B-\n", 2, "'B-' has no entity type"),
    ("中 O\n国 L-LOC\n", 2, "has no B-/I-/E-/S-/M- prefix"),
    ("中 O\n国 B-LOC extra\n", 2, "expected 2 columns"),
    ("中 O\n国 b-loc\n", 2, "bad tag"),
    ("", 1, "no sentences"),
    ("\n \n\t\n", 1, "no sentences"),
])
def test_bad_column_files(tmp_path, content, line, message):
  path = write(tmp_path, "train.txt", content)
  with pytest.raises(InputError) as error:
    ner_data.read_bio(path)
  assert "train.txt line %d: " % line in str(error.value)
  assert message in str(error.value)
  assert error.value.line_number == line


def test_unknown_type_for_a_fixed_task(tmp_path):
  path = write(tmp_path, "example.dev", "中 O\n国 B-TIME\n")
  with pytest.raises(InputError, match=r"line 2: unknown entity type 'TIME'"):
    ner_data.read_peoples_daily(path)


def test_conll_needs_four_columns(tmp_path):
  path = write(tmp_path, "dev.txt", "-DOCSTART- -X- -X- O\n\nEU NNP B-NP\n")
  with pytest.raises(InputError, match=r"dev.txt line 3: missing tag: "
                     "expected 4 columns"):
    ner_data.read_conll2003(path)


def test_empty_tag_is_o_for_msra_only(tmp_path):
  path = write(tmp_path, "msra_train_bio", "A\tO\n0\t\nB\tO\n")
  report = ner_data.ReadReport(path)
  examples = ner_data.read_msra(path, report=report)
  assert examples[0].tags == ["O", "O", "O"]
  assert report.lines == {"empty_tag": [2]}
  with pytest.raises(InputError, match="line 2: missing tag"):
    ner_data.read_bio(path)


def test_missing_file_and_not_utf8(tmp_path):
  with pytest.raises(InputError, match="nope.txt: file not found"):
    ner_data.read_bio(str(tmp_path / "nope.txt"))
  path = write(tmp_path, "train.txt", "中 O\n".encode("gbk") * 3, "wb")
  with pytest.raises(InputError, match="train.txt line 1: not UTF-8"):
    ner_data.read_bio(path)
  task = ner_data.get_ner_task("conll2003")
  with pytest.raises(InputError, match="no dev file for task conll2003"):
    task.get_examples(str(tmp_path), "dev")


@pytest.mark.parametrize("line,message", [
    ('{"text": "abc", "label": {"name": {"ab": [[0, 2]]}}}',
     "mention 'ab' (name) at [0, 2] does not match the text there, 'abc'"),
    ('{"text": "abc", "label": {"name": {"c": [[2, 3]]}}}',
     "outside the text"),
    ('{"text": "abc", "label": {"person": {"a": [[0, 0]]}}}',
     "unknown entity type 'person'"),
    ('{"text": "abc", "label": {"name": {"a": [0, 0]}}}',
     "not a list of [start, end] integer pairs"),
    ('{"text": "abc", "label": {"name": {"a": [[0, 0]]}}',
     "not valid JSON"),
    ('{"text": "abc"}', "no \"label\""),
    ('{"text": ""}', "empty \"text\""),
])
def test_bad_cluener_lines(tmp_path, line, message):
  good = '{"text": "ab", "label": {}}'
  path = write(tmp_path, "dev.json", good + "\n\n" + line + "\n")
  with pytest.raises(InputError) as error:
    ner_data.read_cluener(path)
  assert "dev.json line 3: " in str(error.value)
  assert message in str(error.value)


def test_cluener_overlap_rule(tmp_path):
  line = ('{"text": "abcdef", "label": {"name": {"bc": [[1, 2]], '
          '"de": [[3, 4]]}, "company": {"cde": [[2, 4]], "a": [[0, 0]]}}}')
  path = write(tmp_path, "train.json", line + "\n")
  report = ner_data.ReadReport(path)
  examples = ner_data.read_cluener(path, report=report)
  assert examples[0].tags == ["B-company", "O", "B-company", "I-company",
                              "I-company", "O"]
  assert report.lines == {"overlap": [1, 1]}


def test_repairs_are_counted_with_line_numbers(tmp_path):
  content = "a O\nb I-PER\nc I-PER\n\nd B-LOC\ne I-PER\nf I-LOC\n"
  path = write(tmp_path, "train.txt", content)
  report = ner_data.ReadReport(path)
  examples = ner_data.read_bio(path, report=report)
  assert examples[0].tags == ["O", "B-PER", "I-PER"]
  assert examples[1].tags == ["B-LOC", "B-PER", "B-LOC"]
  assert report.lines == {"repaired": [2, 6, 7]}
  assert "3 invalid tag transition(s) repaired" in report.messages()[0]
  assert "(lines 2, 6, 7)" in report.messages()[0]


# ----------------------------------------------------------- tag schemes ---

@pytest.mark.parametrize("tags,repaired,count", [
    (["O", "I-PER"], ["O", "B-PER"], 1),
    (["B-LOC", "I-PER"], ["B-LOC", "B-PER"], 1),
    (["I-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"], 1),
    (["B-PER", "I-PER", "I-LOC", "I-LOC"], ["B-PER", "I-PER", "B-LOC",
                                            "I-LOC"], 1),
    (["I-A", "O", "I-A", "I-B"], ["B-A", "O", "B-A", "B-B"], 3),
    (["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "I-PER", "O", "B-LOC"], 0),
    ([], [], 0),
])
def test_repair_bio(tags, repaired, count):
  assert tag_schemes.repair_bio(tags) == (repaired, count)
  tag_schemes.validate_tags(repaired, "BIO")
  # The repair keeps the entities that entity_spans reads.
  assert tag_schemes.entity_spans(tags) == tag_schemes.entity_spans(repaired)


def test_bio_bioes_conversion():
  bio = ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "B-ORG"]
  bioes = ["B-PER", "I-PER", "E-PER", "O", "S-LOC", "B-LOC", "E-LOC",
           "S-ORG"]
  assert tag_schemes.bio_to_bioes(bio) == bioes
  assert tag_schemes.bioes_to_bio(bioes) == bio
  assert tag_schemes.entity_spans(bio) == [
      ("PER", 0, 3), ("LOC", 4, 5), ("LOC", 5, 7), ("ORG", 7, 8)]
  assert tag_schemes.entity_spans(bioes, "BIOES") == tag_schemes.entity_spans(
      bio)
  with pytest.raises(ValueError, match="does not continue"):
    tag_schemes.bio_to_bioes(["O", "I-PER"])
  with pytest.raises(ValueError, match="needs I- or E-"):
    tag_schemes.bioes_to_bio(["B-PER", "O"])
  with pytest.raises(ValueError, match="ends with"):
    tag_schemes.bioes_to_bio(["B-PER"])


def test_validate_tags():
  tag_schemes.validate_tags(["O", "B-X", "I-X"], "BIO")
  tag_schemes.validate_tags(["S-X", "B-X", "E-X", "O"], "bioes")
  for tags, scheme in [(["E-X"], "BIO"), (["B-X", "I-Y"], "BIO"),
                       (["B-X", "E-Y"], "BIOES"), (["O", "E-X"], "BIOES"),
                       (["B-X", "S-X"], "BIOES"), (["X"], "BIO")]:
    with pytest.raises(ValueError):
      tag_schemes.validate_tags(tags, scheme)
  with pytest.raises(ValueError, match="unknown tag scheme"):
    tag_schemes.validate_tags(["O"], "IOB1")


def test_entity_spans_are_lenient_for_predictions():
  assert tag_schemes.entity_spans(["I-A", "I-A", "B-A", "I-B"]) == [
      ("A", 0, 2), ("A", 2, 3), ("B", 3, 4)]
  assert tag_schemes.entity_spans(["B-A", "I-A", "O", "E-A", "E-A", "I-A"],
                                  "BIOES") == [
                                      ("A", 0, 2), ("A", 3, 4), ("A", 4, 5),
                                      ("A", 5, 6)]
  assert tag_schemes.entity_spans(["B-A", "B-B", "S-A", "I-A", "E-A"],
                                  "BIOES") == [
                                      ("A", 0, 1), ("B", 1, 2), ("A", 2, 3),
                                      ("A", 3, 5)]


def test_labels_for():
  assert tag_schemes.labels_for(["PER", "LOC", "PER"], "BIO") == [
      "O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
  assert tag_schemes.labels_for({"b", "a"}, "BIOES") == [
      "O", "B-a", "I-a", "E-a", "S-a", "B-b", "I-b", "E-b", "S-b"]
  assert tag_schemes.labels_for([], "BIO") == ["O"]
  with pytest.raises(ValueError):
    tag_schemes.labels_for([""], "BIO")


@pytest.mark.parametrize("scheme,tags", [
    ("BIOES", ["B-PER", "E-PER", "O", "S-LOC", "B-ORG", "I-ORG", "E-ORG"]),
    ("IOBES", ["B-PER", "E-PER", "O", "S-LOC", "B-ORG", "I-ORG", "E-ORG"]),
    ("BMES", ["B-PER", "E-PER", "O", "S-LOC", "B-ORG", "M-ORG", "E-ORG"]),
    ("BMEO", ["B-PER", "E-PER", "O", "B-LOC", "B-ORG", "M-ORG", "E-ORG"]),
])
def test_bioes_and_bmes_files_are_read_as_bio(tmp_path, scheme, tags):
  """The same entities, written in each scheme, read as the same BIO; a
  warning counts the converted sentences. (BMEO has no S-: a one-unit
  entity is a B- followed by O or another entity's B-.)"""
  units = "张三在京的银行工"
  lines = ["%s %s" % (u, t) for u, t in zip(units, tags)]
  path = write(tmp_path, "train.txt", "\n".join(lines) + "\n\n我 O\n")
  report = ner_data.ReadReport(path)
  examples = ner_data.read_column_file(path, 2, "", None, report=report)
  assert examples[0].tags == ["B-PER", "I-PER", "O", "B-LOC", "B-ORG",
                              "I-ORG", "I-ORG"]
  assert examples[1].tags == ["O"]
  assert report.count("converted") == 1
  assert "read as BIO (lines 1)" in report.messages()[0]
  assert tag_schemes.entity_spans(examples[0].tags) == [
      ("PER", 0, 2), ("LOC", 3, 4), ("ORG", 4, 7)]


def test_broken_bioes_spans_are_reported_as_repaired(tmp_path):
  """`B-PER E-LOC`: the E-LOC continues no LOC entity; reading it starts
  one, and that is a repair (with its line), not only a conversion."""
  path = write(tmp_path, "train.txt",
               "a B-PER\nb E-LOC\n\nc B-ORG\nd E-ORG\n\ne M-PER\n")
  report = ner_data.ReadReport(path)
  examples = ner_data.read_bio(path, report=report)
  assert [e.tags for e in examples] == [["B-PER", "B-LOC"],
                                        ["B-ORG", "I-ORG"], ["B-PER"]]
  assert report.lines == {"repaired": [2, 7], "converted": [1, 4, 7]}
  assert "2 invalid tag transition(s) repaired" in report.messages()[0]
  assert tag_schemes.broken_input_positions(
      ["B-A", "I-A", "E-A", "E-A", "S-B", "I-B", "O", "M-C"]) == [3, 5, 7]


def test_units_keep_their_line_numbers(tmp_path):
  path = write(tmp_path, "dev.txt", "a O\nb B-X\n\n\nc O\n")
  examples = ner_data.read_bio(path)
  assert [e.line_numbers for e in examples] == [[1, 2], [5]]

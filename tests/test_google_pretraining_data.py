"""create_pretraining_data.py against google-research/bert's, live: with the
same flags and one worker (the default) both write byte-identical TFRecord
files. Google's script runs unmodified through tools/run_google_pretraining_
data.py (an in-memory `tensorflow` -> `tensorflow.compat.v1` shim)."""

import os

import pytest

from tests import clirun
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR
from tests.paths import SHARED_DIR

GOOGLE_DIR = os.path.join(SHARED_DIR, "anchors", "google_bert")
ZH_VOCAB = os.path.join(REFERENCE_DIR, "bert_zh_tiny", "vocab.txt")
EN_VOCAB = os.path.join(REFERENCE_DIR, "distilbert_en_tiny", "vocab.txt")


def _zh_sentences(n):
  out = []
  with open(os.path.join(DATA_DIR, "chnsenticorp", "train.tsv"),
            encoding="utf-8") as f:
    next(f)
    for line in f:
      text = line.rstrip("\n").split("\t", 1)[1].replace("！", "。")
      out.extend(p.strip() for p in text.split("。") if p.strip())
      if len(out) >= n:
        return out[:n]
  return out


def _en_sentences(n):
  out = []
  with open(os.path.join(DATA_DIR, "sst2", "train.tsv"),
            encoding="utf-8") as f:
    next(f)
    for line in f:
      out.append(line.split("\t", 1)[0].strip())
      if len(out) == n:
        return out
  return out


def _documents(sentences, sizes):
  """Sentences cut into documents of the given sizes, in turn."""
  documents, i, k = [], 0, 0
  while i < len(sentences):
    size = sizes[k % len(sizes)]
    documents.append(sentences[i:i + size])
    i, k = i + size, k + 1
  return documents


def _write(path, documents, end_blank=True, bom=False):
  text = "\n\n".join("\n".join(d) for d in documents) + (
      "\n\n" if end_blank else "\n")
  data = text.encode("utf-8")
  if bom:
    data = b"\xef\xbb\xbf" + data
  with open(path, "wb") as f:
    f.write(data)
  return str(path)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
  """Two Chinese files (the first without a final blank line, so its last
  document runs on into the second, as Google's reader has it) and one
  English file, with what Google's reading does to odd lines: "\\r"
  dropped inside a line, CRLF endings, a BOM, lines with no tokens, one
  line of over 100,000 characters, accents (do_lower_case)."""
  folder = tmp_path_factory.mktemp("corpora")
  zh = _documents(_zh_sentences(360), [1, 6, 3, 9, 2, 14])
  zh[2][0] = zh[2][0] + "\r" + zh[2][0]  # Google reads "ab\rcd" as "abcd"
  zh[4].insert(1, "\x00\x07")  # a line without tokens inside a document
  zh[5] = [s + "\r" for s in zh[5]]  # CRLF lines
  zh_a = _write(folder / "zh-a.txt", zh[:30], end_blank=False, bom=True)
  zh_b = _write(folder / "zh-b.txt", zh[30:])
  en = _documents(_en_sentences(300), [5, 2, 8, 1, 12])
  en[1].append("Café ÉCOLE naïve résumé clichés ÀÉÎ")
  en[2].insert(1, "the charac\rters and the fil\rmmakers")  # "characters"
  en[3].append(" ".join("word%d" % i for i in range(16000)))  # 100k chars+
  en[6].insert(2, "\u3000\u2028 \x85")  # Unicode spaces: a blank line
  return {"zh": zh_a + "," + zh_b, "zh_glob": str(folder / "zh-*.txt"),
          "en": _write(folder / "en.txt", en)}


# Flag sets: lengths, masking probability, short_seq_prob, both
# do_lower_case values, max_predictions_per_seq, dupe_factor, whole-word
# masking, the seed, several output files and a glob.
FLAG_SETS = [
    ("zh", ZH_VOCAB, 1, ["--max_seq_length=64", "--dupe_factor=2"]),
    ("zh_glob", ZH_VOCAB, 2, ["--max_seq_length=24",
                              "--max_predictions_per_seq=4",
                              "--masked_lm_prob=0.25",
                              "--short_seq_prob=0.4", "--dupe_factor=3",
                              "--random_seed=7", "--do_whole_word_mask=true"]),
    ("en", EN_VOCAB, 1, ["--max_seq_length=48", "--short_seq_prob=0.5",
                         "--masked_lm_prob=0.2", "--dupe_factor=2",
                         "--do_whole_word_mask=true", "--random_seed=3"]),
    ("en", EN_VOCAB, 3, ["--max_seq_length=128", "--do_lower_case=false",
                         "--max_predictions_per_seq=10",
                         "--masked_lm_prob=0.1", "--short_seq_prob=0",
                         "--dupe_factor=1", "--random_seed=99"]),
]


def _outputs(folder, index, shards):
  return [os.path.join(str(folder), "set%d-%d.tfrecord" % (index, k))
          for k in range(shards)]


@pytest.mark.slow
def test_same_flags_one_worker_write_googles_records_byte_for_byte(
    corpora, tmp_path):
  assert os.path.isfile(os.path.join(GOOGLE_DIR,
                                     "create_pretraining_data.py"))
  google_dir, ours_dir = tmp_path / "google", tmp_path / "ours"
  google_dir.mkdir()
  ours_dir.mkdir()
  google_args = []
  for index, (corpus, vocab, shards, flags) in enumerate(FLAG_SETS):
    common = ["--input_file=" + corpora[corpus], "--vocab_file=" + vocab]
    google_args += ["---"] + common + [
        "--output_file=" + ",".join(_outputs(google_dir, index, shards))
    ] + flags
    proc = clirun.run_script(
        "create_pretraining_data.py", *(common + [
            "--output_file=" + ",".join(_outputs(ours_dir, index, shards))
        ] + flags))
    assert proc.returncode == 0, proc.stderr[-3000:]
  proc = clirun.run_script("tools/run_google_pretraining_data.py",
                           *google_args, env={"BERT_SRC": GOOGLE_DIR})
  assert proc.returncode == 0, proc.stderr[-3000:]
  for index, (_, _, shards, flags) in enumerate(FLAG_SETS):
    for google, ours in zip(_outputs(google_dir, index, shards),
                            _outputs(ours_dir, index, shards)):
      with open(google, "rb") as f:
        expected = f.read()
      with open(ours, "rb") as f:
        got = f.read()
      assert len(expected) > 1000, (index, flags)
      assert got == expected, (index, flags, len(got), len(expected))

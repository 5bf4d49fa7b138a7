"""Files written whole or not at all (bert_toolkit.runs.atomic): a write
that fails leaves the old file and no temporary; one that succeeds
replaces; the path form writes files and directories; a killed writer's
leftovers are cleaned up; and the toolkit builds its tokenizer in one
place (tokenization.from_vocab)."""

import os
import subprocess
import sys

import pytest

import tokenization
from bert_toolkit.runs import atomic
from bert_toolkit.runs import run_info
from tests.paths import REFERENCE_DIR


class Boom(Exception):
  pass


def _listing(folder):
  return sorted(os.listdir(folder))


def test_a_write_that_raises_changes_nothing(tmp_path):
  path = str(tmp_path / "out.txt")
  atomic.atomic_text(path, "old\n")
  with pytest.raises(Boom):
    with atomic.replacing(path) as f:
      f.write("half of the new")
      raise Boom()
  assert open(path, encoding="utf-8").read() == "old\n"
  assert _listing(tmp_path) == ["out.txt"]


def test_a_write_that_raises_leaves_no_new_file(tmp_path):
  path = str(tmp_path / "out.bin")
  with pytest.raises(Boom):
    with atomic.replacing(path, "wb") as f:
      f.write(b"\x00\x01")
      raise Boom()
  assert _listing(tmp_path) == []


def test_a_successful_write_replaces(tmp_path):
  path = str(tmp_path / "out.txt")
  atomic.atomic_text(path, "old\n")
  with atomic.replacing(path) as f:
    assert f.name == atomic.temporary_name(path)
    f.write("new \u00e9\n")
  assert open(path, encoding="utf-8").read() == "new \u00e9\n"
  atomic.atomic_json(path, {"a": [1, "\u00e9"]})
  assert '"\u00e9"' in open(path, encoding="utf-8").read()
  with atomic.replacing(path, "wb") as f:
    f.write(b"bytes")
  assert open(path, "rb").read() == b"bytes"
  assert _listing(tmp_path) == ["out.txt"]


def test_the_path_form_writes_a_file(tmp_path):
  path = str(tmp_path / "records")
  with atomic.replacing_path(path) as tmp:
    assert tmp == "%s.tmp-%d" % (path, os.getpid())
    assert not os.path.exists(path)
    with open(tmp, "w") as f:
      f.write("1")
  assert open(path).read() == "1"
  with pytest.raises(Boom):
    with atomic.replacing_path(path) as tmp:
      with open(tmp, "w") as f:
        f.write("2")
      raise Boom()
  assert open(path).read() == "1"
  assert _listing(tmp_path) == ["records"]


def _make_dir(path, name, text):
  os.makedirs(path)
  with open(os.path.join(path, name), "w") as f:
    f.write(text)


def test_the_path_form_writes_and_replaces_a_directory(tmp_path):
  target = str(tmp_path / "model")
  with atomic.replacing_path(target) as tmp:
    _make_dir(tmp, "a.txt", "first")
  assert _listing(target) == ["a.txt"]
  with atomic.replacing_path(target) as tmp:  # a full folder is replaced
    _make_dir(tmp, "b.txt", "second")
  assert _listing(target) == ["b.txt"]
  with pytest.raises(Boom):
    with atomic.replacing_path(target) as tmp:
      _make_dir(tmp, "c.txt", "third")
      raise Boom()
  assert _listing(target) == ["b.txt"]
  assert _listing(tmp_path) == ["model"]


def test_named_temporary_and_backup_and_recover(tmp_path):
  """The names a caller chooses (training's best.tmp / best.old): a kill
  after the old folder moved aside is undone by recover."""
  target = str(tmp_path / "best")
  names = dict(temporary=target + ".tmp", backup=target + ".old")
  with atomic.replacing_path(target, **names) as tmp:
    assert tmp == target + ".tmp"
    _make_dir(tmp, "a", "1")
  os.replace(target, target + ".old")  # the kill, halfway through the swap
  _make_dir(target + ".tmp", "b", "2")
  atomic.recover(target, **names)
  assert _listing(tmp_path) == ["best"] and _listing(target) == ["a"]
  # A stale temporary is cleared before a new write.
  _make_dir(target + ".tmp", "stale", "x")
  with atomic.replacing_path(target, **names) as tmp:
    assert not os.path.exists(tmp)
    _make_dir(tmp, "c", "3")
  assert _listing(tmp_path) == ["best"] and _listing(target) == ["c"]


def test_dead_writers_temporary_folders_are_removed(tmp_path):
  dead = subprocess.Popen([sys.executable, "-c", "pass"])
  dead.wait()
  _make_dir(str(tmp_path / ("student_init.tmp-%d" % dead.pid)), "x", "1")
  _make_dir(str(tmp_path / ("mine.tmp-%d" % os.getpid())), "y", "2")
  run_info.remove_dead_temporaries(str(tmp_path))
  assert _listing(tmp_path) == ["mine.tmp-%d" % os.getpid()]


def test_from_vocab_is_the_full_tokenizer():
  vocab = os.path.join(REFERENCE_DIR, "bert_zh_tiny", "vocab.txt")
  tokenizer = tokenization.from_vocab(vocab, do_lower_case=True)
  google = tokenization.FullTokenizer(vocab, do_lower_case=True)
  text = u"Hello, 世界! UNwant\u00e9d"
  assert tokenizer.tokenize(text) == google.tokenize(text)
  assert tokenizer.do_lower_case and tokenizer.vocab == google.vocab
  assert not tokenization.from_vocab(vocab, False).do_lower_case


def test_model_do_lower_case_is_the_models_own_else_the_default():
  class Config(object):
    pass
  config = Config()
  assert tokenization.model_do_lower_case(config, True) is True
  config.do_lower_case = False
  assert tokenization.model_do_lower_case(config, True) is False
  config.do_lower_case = None
  assert tokenization.model_do_lower_case(config, False) is False

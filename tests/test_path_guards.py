"""What a script may write or delete (bert_toolkit.runs.paths), and the
temporaries a killed writer leaves (atomic.remove_dead_temporaries)."""

import errno
import os
import shutil
import subprocess
import sys

import pytest

from bert_toolkit.errors import SettingsError
from bert_toolkit.runs import atomic
from bert_toolkit.runs import paths
from tests import clirun
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def _touch(path, text="x"):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    f.write(text)
  return path


def _dead_pid():
  p = subprocess.Popen([sys.executable, "-c", "pass"])
  p.wait()
  return p.pid


def _refused(writes, reads, *fragments):
  with pytest.raises(SettingsError) as e:
    paths.check_writes(writes, reads)
  for fragment in fragments:
    assert fragment in str(e.value), str(e.value)
  return str(e.value)


# ------------------------------------------------------ overlap rules ---

def test_an_output_folder_that_is_an_input_folder_is_refused(tmp_path):
  model = str(tmp_path / "M")
  _touch(os.path.join(model, "vocab.txt"))
  _refused([paths.output_folder("--output_dir", model)],
           [paths.input_path("--init_checkpoint", model)],
           "--output_dir is --init_checkpoint", model, "delete")


def test_an_output_inside_an_input_folder_is_refused(tmp_path):
  """Writing a file into the init checkpoint's folder is a write into what
  is read, and so is a folder below it."""
  model = str(tmp_path / "M")
  prefix = _touch(os.path.join(model, "bert_model.ckpt.index"))[:-6]
  _refused([paths.output_folder("--output_dir", os.path.join(model, "run"))],
           [paths.input_path("--init_checkpoint", paths.model_folder(prefix))],
           "--output_dir lies inside --init_checkpoint")
  _refused([paths.output_file("--output_file",
                              os.path.join(model, "out.jsonl"))],
           [paths.input_path("--init_checkpoint", model)],
           "--output_file lies inside --init_checkpoint")


def test_an_output_folder_holding_an_input_is_refused(tmp_path):
  work = str(tmp_path / "work")
  data = os.path.join(work, "data")
  _touch(os.path.join(data, "train.tsv"))
  _refused([paths.output_folder("--output_dir", work)],
           [paths.input_path("--data_dir", data)],
           "--output_dir holds --data_dir")
  vocab = _touch(os.path.join(work, "vocab.txt"))
  _refused([paths.output_folder("--cache_dir", work)],
           [paths.input_path("--vocab_file", vocab)],
           "--cache_dir holds --vocab_file")


def test_symlinks_are_resolved_both_ways(tmp_path):
  model = str(tmp_path / "M")
  _touch(os.path.join(model, "vocab.txt"))
  link = str(tmp_path / "link_to_M")
  os.symlink(model, link)
  # The output is a symlink to the model folder.
  _refused([paths.output_folder("--output_dir", link)],
           [paths.input_path("--init_checkpoint", model)],
           "--output_dir is --init_checkpoint")
  # A file in a symlinked folder.
  _refused([paths.output_file("--output_file",
                              os.path.join(link, "vocab.txt"))],
           [paths.input_path("--vocab_file",
                             os.path.join(model, "vocab.txt"))],
           "--output_file is --vocab_file")
  # An input that is a symlink into the output folder.
  out = str(tmp_path / "out")
  real_vocab = _touch(os.path.join(out, "vocab.txt"))
  vocab_link = str(tmp_path / "vocab_link.txt")
  os.symlink(real_vocab, vocab_link)
  _refused([paths.output_folder("--output_dir", out)],
           [paths.input_path("--vocab_file", vocab_link)],
           "--output_dir holds --vocab_file")
  # A symlinked file inside an input folder counts where it points.
  model2 = str(tmp_path / "M2")
  os.makedirs(model2)
  os.symlink(real_vocab, os.path.join(model2, "vocab.txt"))
  _refused([paths.output_folder("--output_dir", out)],
           [paths.input_path("--init_checkpoint", model2)],
           "--output_dir holds --init_checkpoint")


def test_the_same_output_file_twice_is_refused(tmp_path):
  a = str(tmp_path / "a.tfrecord")
  _refused([paths.output_file("--output_file", a),
            paths.output_file("--output_file", a)], [],
           "--output_file names", "twice")
  link = str(tmp_path / "b.tfrecord")
  os.symlink(a, link)
  _refused([paths.output_file("--output_file", a),
            paths.output_file("--output_file", link)], [], "twice")


def test_neighbours_are_not_overlaps(tmp_path):
  """Siblings, a prefix of a name, and an output beside an input file."""
  data = str(tmp_path / "data")
  _touch(os.path.join(data, "train.tsv"))
  model = str(tmp_path / "model")
  _touch(os.path.join(model, "vocab.txt"))
  text = _touch(str(tmp_path / "in.txt"))
  paths.check_writes(
      [paths.output_folder("--output_dir", str(tmp_path / "data2")),
       paths.output_folder("--cache_dir", str(tmp_path / "cache")),
       paths.output_file("--output_file", str(tmp_path / "out.jsonl"))],
      [paths.input_path("--data_dir", data),
       paths.input_path("--init_checkpoint", model),
       paths.input_path("--input_file", text),
       paths.input_path("--vocab_file", None)])


# ---------------------------------------------------- output locations ---

def test_output_locations_that_cannot_be_written(tmp_path):
  a_file = _touch(str(tmp_path / "a_file"))
  a_folder = str(tmp_path / "a_folder")
  os.makedirs(a_folder)
  _refused([paths.output_folder("--output_dir", a_file)], [],
           "--output_dir", "is a file, not a folder")
  _refused([paths.output_folder("--output_dir",
                                os.path.join(a_file, "x", "y"))], [],
           "lies under", a_file, "which is a file")
  _refused([paths.output_file("--output_file", a_folder)], [],
           "--output_file", "is a folder")
  _refused([paths.output_folder("--export_dir", a_file)], [],
           "--export_dir", "is a file")
  # Missing folders are fine: they are created.
  paths.check_writes([paths.output_folder("--output_dir",
                                          str(tmp_path / "new" / "run"))])


def test_a_read_only_place_is_refused_as_this_user_sees_it(tmp_path,
                                                          monkeypatch):
  """os.access decides: a folder this user cannot write (the same check
  a read-only mount fails, root included)."""
  locked = str(tmp_path / "locked")
  os.makedirs(locked)
  real_access = os.access
  monkeypatch.setattr(os, "access", lambda p, mode: (
      False if os.path.abspath(p) == locked else real_access(p, mode)))
  _refused([paths.output_folder("--output_dir", locked)], [],
           "--output_dir", "read-only")
  _refused([paths.output_folder("--cache_dir",
                                os.path.join(locked, "features"))], [],
           "--cache_dir", locked, "read-only")
  _refused([paths.output_file("--output_file",
                              os.path.join(locked, "a.tfrecord"))], [],
           "read-only")


def test_a_full_disk_is_one_error_naming_the_path_and_free_space(
    tmp_path, monkeypatch):
  target = str(tmp_path / "out.jsonl")

  class FullFile(object):
    def __init__(self, path, *args, **kwargs):
      self.f = open(path, *args, **kwargs)  # pylint: disable=consider-using-with

    def write(self, unused):
      raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self):
      return self

    def __exit__(self, *unused):
      self.f.close()

  monkeypatch.setattr(atomic, "open", FullFile, raising=False)
  with pytest.raises(SettingsError) as e:
    atomic.atomic_text(target, "hello")
  message = str(e.value)
  assert "no space left" in message and target in message, message
  assert " free there" in message and "\n" not in message, message
  assert os.listdir(str(tmp_path)) == []   # the temporary is gone
  # TensorFlow's own writers say it in their message.
  with pytest.raises(SettingsError) as e:
    with atomic.reporting_full_disk(str(tmp_path)):
      raise RuntimeError("model.ckpt-2.data; No space left on device")
  assert str(tmp_path) in str(e.value)
  with pytest.raises(KeyError):   # anything else passes through
    with atomic.reporting_full_disk(str(tmp_path)):
      raise KeyError("x")


# --------------------------------------------------------- temporaries ---

def test_temporaries_of_dead_writers_are_removed_by_any_writer(tmp_path):
  """The export's hidden staging folder, extract_features' and
  create_pretraining_data's `.tmp-<pid>` files: prepare_outputs (every
  writer's first step) removes them; a live writer's stay."""
  dead = _dead_pid()
  out = str(tmp_path / "exports")
  _touch(os.path.join(out, ".export-1.tmp-%d" % dead, "model", "x"))
  _touch(os.path.join(out, "feats.jsonl.tmp-%d" % dead))
  _touch(os.path.join(out, "a.tfrecord.tmp-%d" % dead))
  mine = _touch(os.path.join(out, "b.tfrecord.tmp-%d" % os.getpid()))
  _touch(os.path.join(out, "1", "saved_model.pb"))
  paths.prepare_outputs([paths.output_folder("--export_dir", out)])
  assert sorted(os.listdir(out)) == ["1", os.path.basename(mine)]
  # An output file's folder is made, and the file's own temporary goes;
  # other files' temporaries there are not the script's to judge.
  _touch(str(tmp_path / "data" / ("c.tfrecord.tmp-%d" % dead)))
  other = _touch(str(tmp_path / "data" / ("other.bin.tmp-%d" % dead)))
  paths.prepare_outputs([paths.output_file(
      "--output_file", str(tmp_path / "data" / "c.tfrecord")),
                         paths.output_file(
                             "--output_file",
                             str(tmp_path / "new" / "d.tfrecord"))])
  assert os.listdir(str(tmp_path / "data")) == [os.path.basename(other)]
  assert os.path.isdir(str(tmp_path / "new"))


def test_a_dead_writers_directory_backup_is_put_back(tmp_path):
  """A kill between the two renames of a directory swap left only the
  backup: the cleanup restores it instead of deleting it."""
  dead = _dead_pid()
  backup = str(tmp_path / ("student_init.old.tmp-%d" % dead))
  _touch(os.path.join(backup, "model.ckpt.index"))
  atomic.remove_dead_temporaries(str(tmp_path))
  assert os.listdir(str(tmp_path)) == ["student_init"]


# ------------------------------------------------------ the run skeleton ---

def _settings(**values):
  from bert_toolkit import settings as settings_lib  # pylint: disable=g-import-not-at-top
  return settings_lib.RunSettings(**values)


def test_the_run_refuses_to_write_into_or_delete_its_init_checkpoint(
    tmp_path):
  """--overwrite_output_dir into the folder being read: refused before
  anything is written; the folder keeps every file."""
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top
  from bert_toolkit.tasks import classifier  # pylint: disable=g-import-not-at-top
  model = str(tmp_path / "M")
  shutil.copytree(BERT_DIR, model)
  before = sorted(os.listdir(model))
  data = str(tmp_path / "data")
  _touch(os.path.join(data, "train.tsv"), "label\ttext_a\n1\t好\n")
  link = str(tmp_path / "M_link")
  os.symlink(model, link)
  for out in (model, link, os.path.join(model, "run")):
    with pytest.raises(SettingsError) as e:
      runner.run(classifier.Classifier("chnsenticorp"), _settings(
          data_dir=data, output_dir=out, init_checkpoint=model,
          do_train=True, overwrite_output_dir=True))
    assert "--init_checkpoint" in str(e.value)
  work = str(tmp_path / "work")
  inside = os.path.join(work, "data")
  shutil.copytree(data, inside)
  with pytest.raises(SettingsError) as e:   # the data inside the output
    runner.resolve(classifier.Classifier("chnsenticorp"), _settings(
        data_dir=inside, output_dir=work, init_checkpoint=model,
        do_train=True))
  assert "--output_dir holds --data_dir" in str(e.value)
  assert sorted(os.listdir(model)) == before


def test_the_run_refuses_its_tasks_inputs(tmp_path):
  """A task's own inputs (Task.read_paths): the distillation teacher run,
  pre-training's input files."""
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import task as task_lib  # pylint: disable=g-import-not-at-top
  from bert_toolkit.tasks import distillation  # pylint: disable=g-import-not-at-top
  from bert_toolkit.tasks import pretraining  # pylint: disable=g-import-not-at-top
  teacher_dir = str(tmp_path / "teacher")
  vocab = _touch(os.path.join(teacher_dir, "vocab.txt"))

  class Teacher(object):
    run_dir = teacher_dir
    info = {"vocab_file": vocab}

  distiller = distillation.Distiller.__new__(distillation.Distiller)
  distiller.teacher, distiller.unlabeled_file = Teacher(), None
  distiller.base = task_lib.Task()
  for out in (teacher_dir, str(tmp_path)):
    with pytest.raises(SettingsError) as e:
      runner._check_paths(distiller, _settings(   # pylint: disable=protected-access
          data_dir="/nonexistent/data", output_dir=out, do_train=True,
          overwrite_output_dir=True))
    assert "--teacher_dir" in str(e.value)
  records = _touch(str(tmp_path / "pre" / "a.tfrecord"))
  task = pretraining.Pretraining([records])
  with pytest.raises(SettingsError) as e:
    runner._check_paths(task, _settings(  # pylint: disable=protected-access
        output_dir=str(tmp_path / "pre"), do_train=True))
  assert "--output_dir holds --input_file" in str(e.value)


# -------------------------------------------------------- the scripts ---

@pytest.mark.slow
def test_create_pretraining_data_makes_its_folder_and_cleans_up(tmp_path):
  """A missing output folder is created (as extract_features.py does); a
  killed run's temporary beside the output is removed by the rerun."""
  corpus = _touch(str(tmp_path / "c.txt"),
                  "今天天气很好。\n我们去公园。\n\n他在看书。\n书很好看。\n")
  out_dir = str(tmp_path / "new" / "folder")
  output = os.path.join(out_dir, "a.tfrecord")
  _touch(output + ".tmp-%d" % _dead_pid())
  proc = clirun.run_script(
      "create_pretraining_data.py", "--input_file=" + corpus,
      "--output_file=" + output,
      "--vocab_file=" + os.path.join(BERT_DIR, "vocab.txt"),
      "--max_seq_length=16", "--max_predictions_per_seq=2",
      "--dupe_factor=1", "--num_workers=1")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert os.listdir(out_dir) == ["a.tfrecord"]


@pytest.mark.slow
def test_extract_features_rerun_removes_a_killed_runs_temporary(tmp_path):
  text = _touch(str(tmp_path / "in.txt"), "今天天气很好。\n")
  output = str(tmp_path / "out" / "features.jsonl")
  leftover = _touch(output + ".tmp-%d" % _dead_pid())
  proc = clirun.run_script(
      "extract_features.py", "--input_file=" + text,
      "--output_file=" + output, "--init_checkpoint=" + BERT_DIR,
      "--max_seq_length=16", "--layers=-1")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert not os.path.exists(leftover)
  assert os.listdir(os.path.dirname(output)) == ["features.jsonl"]


@pytest.mark.slow
def test_export_removes_a_killed_exports_staging_folder(tmp_path):
  """The staging folder of a killed export (hidden, `.tmp-<pid>`) goes
  when the next export starts; the export's own goes when it fails."""
  import modeling  # pylint: disable=g-import-not-at-top
  from bert_toolkit.serving import export  # pylint: disable=g-import-not-at-top
  from tests.test_user_errors import _fake_teacher  # pylint: disable=g-import-not-at-top
  run_dir = _fake_teacher(str(tmp_path / "run"))   # no classifier head
  base = str(tmp_path / "exports")
  _touch(os.path.join(base, ".export-1.tmp-%d" % _dead_pid(), "model", "x"))
  with pytest.raises(modeling.CheckpointError):   # it lacks the head
    export.export(run_dir, base)
  assert os.listdir(base) == []

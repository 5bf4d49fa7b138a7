"""The feature-cache key covers every setting that changes what is read or
how it is encoded: each settings row says what it does to the features
(settings.KEY / FILE / NONE), and changing any KEY setting of any kind
changes the key (one setting at a time)."""

import os

import pytest

from bert_toolkit import kinds
from bert_toolkit import settings as settings_lib
from bert_toolkit.cli import flags_common

# Each kind's command line that the settings are changed from, one at a
# time, and the other value of its --task.
BASE = {
    "classifier": ({"task": "tsv", "text_a_column": "a",
                    "label_column": "y"}, "csv"),
    "regression": ({"task": "tsv", "text_a_column": "a",
                    "label_column": "y"}, "csv"),
    "ner": ({"task": "bio"}, "peoples_daily"),
}

# What the runner hands features.cache_key itself (the kind's settings go
# in through the task's cache_settings): the resolved case and length, the
# data file's and the vocab's bytes. A new KEY or FILE row of the shared
# tables must be added there, and here.
RUN_KEY = {"do_lower_case", "max_seq_length", "max_train_samples",
           "max_eval_samples", "max_predict_samples"}
RUN_FILE = {"data_dir", "init_checkpoint", "vocab_file"}
# Distillation's reading settings go to the teacher's task (base_task_for),
# whose key covers them; its files are in Distiller.cache_settings.
DISTILL_FILE = {"teacher_dir", "unlabeled_file"}


def _all_tables():
  tables = {"run": settings_lib.RUN_SETTINGS,
            "train": settings_lib.TRAIN_SETTINGS,
            "classifier": settings_lib.CLASSIFIER_SETTINGS,
            "ner": settings_lib.NER_SETTINGS,
            "distill": settings_lib.DISTILL_SETTINGS,
            "tpu": flags_common.TPU_FLAGS}
  for row in kinds.KINDS:
    tables["kind " + row.kind] = row.settings
  return tables


def _names(table, features):
  return {row.name for row in table if row.features == features}


def test_every_settings_row_says_what_it_does_to_the_features():
  for table_name, table in _all_tables().items():
    for row in table:
      assert row.features in (settings_lib.KEY, settings_lib.FILE,
                              settings_lib.NONE), (table_name, row.name)


def test_shared_tables_put_in_the_key_what_the_runner_passes():
  assert _names(settings_lib.RUN_SETTINGS, settings_lib.KEY) == RUN_KEY
  assert _names(settings_lib.RUN_SETTINGS, settings_lib.FILE) == RUN_FILE
  for row in settings_lib.TRAIN_SETTINGS + flags_common.TPU_FLAGS:
    assert row.features == settings_lib.NONE, row.name
  distill = settings_lib.DISTILL_SETTINGS
  assert _names(distill, settings_lib.FILE) == DISTILL_FILE
  assert _names(distill, settings_lib.KEY) <= _names(
      settings_lib.CLASSIFIER_SETTINGS, settings_lib.KEY)


def _other_value(row, resolved, kind):
  """A value of `row` other than the resolved one."""
  if row.name in ("task", "task_name"):
    return BASE[kind][1]
  if isinstance(row.type, tuple):
    return next(v for v in row.type if v != resolved)
  if row.type is bool:
    return not resolved
  if row.type is int:
    return (resolved or 0) + 5
  return "other"


def _cache_settings(kind, values):
  task = kinds.task_class(kind).from_settings(dict(values))
  task.resolve_head(None, "run")
  return task, task.cache_settings("train")


@pytest.mark.parametrize("kind", sorted(BASE))
def test_changing_any_reading_setting_changes_the_key(kind):
  base_values = BASE[kind][0]
  task, base_key = _cache_settings(kind, base_values)
  key_rows = [row for row in kinds.get(kind).settings
              if row.features == settings_lib.KEY]
  assert key_rows
  for row in key_rows:
    values = dict(base_values)
    if row.name == "task_name":      # an alias: --task wins when given
      values.pop("task")
    values[row.name] = _other_value(row, task.setting_value(row.name), kind)
    _, key = _cache_settings(kind, values)
    assert key != base_key, (kind, row.name, values)


@pytest.mark.parametrize("kind", sorted(BASE))
def test_settings_without_effect_on_features_keep_the_key(kind):
  base_values = BASE[kind][0]
  task, base_key = _cache_settings(kind, base_values)
  for row in kinds.get(kind).settings:
    if row.features == settings_lib.NONE and row.type is not str:
      values = dict(base_values)
      values[row.name] = _other_value(row, task.setting_value(row.name),
                                      kind)
      assert _cache_settings(kind, values)[1] == base_key, row.name


def test_cache_key_covers_the_run_settings_and_files(tmp_path):
  from bert_toolkit.data import features  # pylint: disable=g-import-not-at-top
  data, vocab = str(tmp_path / "train.tsv"), str(tmp_path / "vocab.txt")
  for path, text in ((data, "a\ty\nx\t1\n"), (vocab, "[PAD]\n")):
    with open(path, "w", encoding="utf-8") as f:
      f.write(text)
  args = dict(data_file=data, vocab_file=vocab, do_lower_case=True,
              max_seq_length=32, labels=["1"], task_name="tsv",
              extra={"text_a_column": "a"})
  key = features.cache_key(**args)[0]
  for name, other in (("do_lower_case", False), ("max_seq_length", 16),
                      ("labels", ["1", "2"]), ("task_name", "csv"),
                      ("extra", {"text_a_column": "b"})):
    assert features.cache_key(**dict(args, **{name: other}))[0] != key, name
  with open(data, "a", encoding="utf-8") as f:
    f.write("z\t1\n")
  assert features.cache_key(**args)[0] != key


@pytest.mark.slow
def test_a_shared_cache_never_serves_another_columns_features(tmp_path):
  """From the command line: runs that share --cache_dir but read other
  columns (or toggle --multi_label) build their own features, and a later
  command on a run directory that names other columns is refused."""
  from tests import clirun  # pylint: disable=g-import-not-at-top
  from tests.paths import REFERENCE_DIR  # pylint: disable=g-import-not-at-top
  data = tmp_path / "data"
  data.mkdir()
  rows = ["a\tb\ty"] + ["%s\t%s\t%s" % (a, b, y) for a, b, y in [
      ("好极了", "今天", "1"), ("太差了", "明天", "0"),
      ("很好", "昨天", "1"), ("很差", "后天", "0")] * 4]
  for split in ("train", "dev", "test"):
    (data / (split + ".tsv")).write_text("\n".join(rows) + "\n",
                                         encoding="utf-8")
  cache = str(tmp_path / "cache")

  def run(out, *extra):
    return clirun.run_script(
        "run_classifier.py", "--task=tsv", "--label_column=y",
        "--data_dir=" + str(data),
        "--init_checkpoint=" + os.path.join(REFERENCE_DIR, "bert_zh_tiny"),
        "--output_dir=" + str(tmp_path / out), "--cache_dir=" + cache,
        "--max_seq_length=16", "--train_batch_size=4",
        "--num_train_steps=1", *extra)

  first = run("ra", "--text_a_column=a", "--do_train")
  assert first.returncode == 0, first.stderr[-3000:]
  assert "Reusing" not in first.stderr
  again = run("ra2", "--text_a_column=a", "--do_train")     # same reading
  assert again.returncode == 0, again.stderr[-3000:]
  assert "Reusing 16 cached train features" in again.stderr
  other = run("rb", "--text_a_column=b", "--do_train")
  assert other.returncode == 0, other.stderr[-3000:]
  assert "Reusing" not in other.stderr
  multi = run("rm", "--text_a_column=a", "--multi_label", "--do_train")
  assert multi.returncode == 0, multi.stderr[-3000:]
  assert "Reusing" not in multi.stderr
  # Evaluating run "ra" reading column b is refused, before anything runs.
  clirun.assert_user_error(run("ra", "--text_a_column=b", "--do_eval"),
                           "--text_a_column")

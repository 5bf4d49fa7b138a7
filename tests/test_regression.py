"""Regression (bert_toolkit/tasks/regression.py): a task added as one module
plus its row in bert_toolkit.kinds. It trains, evaluates, predicts,
exports, serves and is a studio kind through the generic paths.

The end-to-end data is real: ChnSentiCorp's 0/1 labels read as scores."""

import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_toolkit import kinds
from bert_toolkit.studio import commands
from bert_toolkit.studio import workspace as workspace_lib
from bert_toolkit.tasks import regression
from tests import clirun
from tests import datasets
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
GENERIC = ("--kind=regression", "--task=tsv", "--text_a_column=text_a",
           "--label_column=label")


def test_correlations_match_their_definitions():
  gold = [1.0, 2.0, 3.0, 4.0, 5.0]
  predicted = [1.1, 1.9, 3.5, 3.4, 5.2]
  scores = regression.correlation_scores(gold, predicted)
  np.testing.assert_allclose(scores["pearson"],
                             np.corrcoef(gold, predicted)[0, 1], rtol=1e-12)
  # Ranks of predicted: 1, 2, 4, 3, 5 -> d = 0, 0, 1, 1, 0.
  np.testing.assert_allclose(scores["spearman"], 1 - 6 * 2 / (5 * 24.0))
  np.testing.assert_allclose(scores["mse"], np.mean(
      (np.array(gold) - np.array(predicted)) ** 2))
  # Ties take their average rank: [1, 1, 2] ranks 1.5, 1.5, 3.
  np.testing.assert_allclose(regression._ranks([1, 1, 2]), [1.5, 1.5, 3.0])  # pylint: disable=protected-access
  assert regression.correlation_scores([1, 2, 3], [3, 2, 1])[
      "spearman"] == pytest.approx(-1.0)


def test_stsb_layout_is_read(tmp_path):
  header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t"
  rows = ["sentence1\tsentence2\tscore\n",
          "0\tmain\tf\t2012\t1\tnone\tnone\tA man plays.\tA man is playing."
          "\t4.6\n",
          "1\tmain\tf\t2012\t2\tnone\tnone\tA cat.\tA dog sleeps.\t0.4\n"]
  for split in ("train", "dev"):
    (tmp_path / (split + ".tsv")).write_text(header + "".join(rows),
                                             encoding="utf-8")
  task = regression.Regressor("stsb")
  examples = task.read_split(str(tmp_path), "train")
  assert [(e.text_a, e.text_b, e.label) for e in examples] == [
      ("A man plays.", "A man is playing.", 4.6),
      ("A cat.", "A dog sleeps.", 0.4)]


def test_bad_input_is_one_line(tmp_path):
  data = datasets.chnsenticorp(tmp_path / "data", train=4, dev=4)
  with open(os.path.join(data, "train.tsv"), "a", encoding="utf-8") as f:
    f.write("high\t一句话\n")
  out = str(tmp_path / "run")
  common = ("--data_dir=" + data, "--init_checkpoint=" + BERT_DIR,
            "--output_dir=" + out, "--max_seq_length=16", "--do_train")
  proc = clirun.run_script("run_task.py", *(GENERIC + common))
  clirun.assert_user_error(proc, "train.tsv line 6", "'high'",
                           "numeric score")
  assert not os.path.exists(os.path.join(out, "run_info.json"))
  proc = clirun.run_script("run_task.py", "--kind=poetry", *common)
  clirun.assert_user_error(proc, "poetry", "regression")
  proc = clirun.run_script("run_task.py", "--kind=ner", *common)
  clirun.assert_user_error(proc, "run_ner.py")
  proc = clirun.run_script("run_task.py", "--kind=regression",
                           "--task=glue", *common)
  clirun.assert_user_error(proc, "glue", "stsb")


def test_the_studio_offers_it_from_the_registry(tmp_path):
  root = str(tmp_path / "ws")
  datasets.chnsenticorp(os.path.join(root, "data", "scores"), train=4,
                        dev=4)
  os.makedirs(os.path.join(root, "models", "tiny"))
  for name in os.listdir(BERT_DIR):
    with open(os.path.join(BERT_DIR, name), "rb") as f:
      data = f.read()
    with open(os.path.join(root, "models", "tiny", name), "wb") as f:
      f.write(data)
  kind = commands.KINDS["regression"]
  assert kind.tasks == kinds.get("regression").tasks
  command = commands.build(
      {"kind": "regression", "data": "data/scores", "model": "models/tiny",
       "values": {"task": "tsv", "label_column": "label"}},
      workspace_lib.Workspace(root))
  argv = command.argv("runs/r1/output")
  assert argv[:2] == ["run_task.py", "--kind=regression"]
  for flag in ("--task=tsv", "--text_a_column=text_a",
               "--label_column=label"):
    assert flag in argv


@pytest.mark.slow
def test_trains_evaluates_predicts_exports_and_serves(tmp_path):
  data = datasets.chnsenticorp(tmp_path / "data", train=64, dev=24,
                               test=8)
  out = str(tmp_path / "run")
  proc = clirun.run_script(
      "run_task.py", *GENERIC, "--data_dir=" + data,
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out,
      "--max_seq_length=32", "--train_batch_size=8", "--num_train_epochs=2",
      "--eval_every_steps=8", "--learning_rate=1e-4", "--do_train",
      "--do_eval", "--do_predict")
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(out, "eval_results.txt")) as f:
    report = f.read()
  assert report.startswith("eval_mse = ") and "\npearson = " in report
  assert "spearman = " in report
  with open(os.path.join(out, "test_results.tsv")) as f:
    lines = f.read().splitlines()
  assert lines[0] == "index\tscore" and len(lines) == 9
  served = [float(line.split("\t")[1]) for line in lines[1:]]

  # The export answers {"score"} and agrees with the run's own predictions.
  predictor = clirun.export_predictor(out, str(tmp_path / "export"))
  try:
    with open(os.path.join(data, "test.tsv"), encoding="utf-8") as f:
      texts = [line.rstrip("\n").split("\t")[1] for line in f][1:]
    answers = predictor.predict(texts)
  finally:
    predictor.close()
  assert all(set(a) == {"score"} for a in answers)
  np.testing.assert_allclose([a["score"] for a in answers], served,
                             atol=1e-5)
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(out))
  assert reader.get_variable_to_shape_map()["output_weights"][0] == 1


def test_a_later_command_reads_with_the_runs_columns(tmp_path):
  """Evaluate- and predict-only commands need no column flag: the run's
  columns (run_info.json's head) read the data; a differing one is
  refused, and a new generic run still needs them."""
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
  (tmp_path / "dev.tsv").write_text("s\tt\n0.5\t好\n", encoding="utf-8")
  first = regression.Regressor("tsv", "t", None, "s")
  first.resolve_head(None, str(tmp_path))
  again = regression.Regressor("tsv")
  again.resolve_head(first.head_info(), str(tmp_path))
  assert [(e.text_a, e.label) for e in again.read_split(
      str(tmp_path), "dev")] == [("好", 0.5)]
  with pytest.raises(SettingsError, match="--label_column=s"):
    regression.Regressor("tsv", label_column="t").resolve_head(
        first.head_info(), str(tmp_path))
  with pytest.raises(SettingsError, match="needs --text_a_column"):
    regression.Regressor("tsv").resolve_head(None, str(tmp_path))
  with pytest.raises(SettingsError, match="unknown --task"):
    regression.Regressor("nosuchtask")

"""Multi-label classification (work in progress): reading label sets."""

import pytest

from bert_toolkit.data import classification as tasks
from bert_toolkit.errors import InputError


def _write(path, text):
  path.write_text(text, encoding="utf-8")


def test_tsv_and_jsonl_label_sets(tmp_path):
  _write(tmp_path / "train.tsv", "text\tlabels\n好看又便宜\t好看,便宜\n"
         "一般\t\n贵\t 贵 ,贵\n")
  data = tasks.get_task("tsv", "text", None, "labels", label_separator=",")
  train = data.get_examples(str(tmp_path), "train")
  assert [e.label for e in train] == [("便宜", "好看"), (), ("贵",)]
  assert data.get_labels(str(tmp_path), train) == ["便宜", "好看", "贵"]
  _write(tmp_path / "dev.tsv", "text\tlabels\n好\t好看,新\n")
  with pytest.raises(InputError) as err:
    data.get_examples(str(tmp_path), "dev", ["便宜", "好看", "贵"])
  assert "dev.tsv line 2" in str(err.value) and "'新'" in str(err.value)

  _write(tmp_path / "train.jsonl", '{"t": "a", "y": ["x", "y"]}\n'
         '{"t": "b", "y": "y|z"}\n{"t": "c", "y": [1]}\n')
  data = tasks.get_task("jsonl", "t", None, "y", label_separator="|")
  with pytest.raises(InputError) as err:
    data.get_examples(str(tmp_path), "train")
  assert "train.jsonl line 3" in str(err.value)
  _write(tmp_path / "train.jsonl", '{"t": "a", "y": ["x", "y"]}\n'
         '{"t": "b", "y": "y|z"}\n')
  train = data.get_examples(str(tmp_path), "train")
  assert [e.label for e in train] == [("x", "y"), ("y", "z")]


def test_multi_label_scores_and_threshold_tuning():
  import numpy as np  # pylint: disable=g-import-not-at-top
  from bert_toolkit.tasks import metrics  # pylint: disable=g-import-not-at-top
  gold = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
  probs = np.array([[0.9, 0.2, 0.4], [0.3, 0.8, 0.1],
                    [0.6, 0.45, 0.2], [0.1, 0.1, 0.3]])
  scores = metrics.multi_label_scores(gold, probs, ["a", "b", "c"])
  # At 0.5: a 2/2 right, b misses one (0.45), c misses its one (0.4).
  assert scores["f1/a"] == 1.0
  assert abs(scores["f1/b"] - 2 / 3.0) < 1e-9 and scores["f1/c"] == 0.0
  # micro: tp 3, fp 0, fn 2 -> P 1, R 0.6, F1 0.75.
  assert abs(scores["micro_f1"] - 0.75) < 1e-9
  assert abs(scores["macro_f1"] - (1 + 2 / 3.0) / 3) < 1e-9
  assert scores["exact_match"] == 0.5 and scores["support/b"] == 2
  thresholds = metrics.tune_thresholds(gold, probs)
  assert thresholds[0] == 0.5           # already perfect: closest to 0.5
  assert 0.2 < thresholds[1] <= 0.45 and 0.3 < thresholds[2] <= 0.4
  tuned = metrics.multi_label_scores(gold, probs, ["a", "b", "c"],
                                     thresholds)
  assert tuned["micro_f1"] == 1.0


@pytest.mark.slow
def test_cli_multi_label_trains_evaluates_predicts(tmp_path):
  import json  # pylint: disable=g-import-not-at-top
  import os  # pylint: disable=g-import-not-at-top
  from tests import clirun  # pylint: disable=g-import-not-at-top
  from tests.paths import REFERENCE_DIR  # pylint: disable=g-import-not-at-top
  rows = ["text\tlabels"] + [
      "%s\t%s" % (text, labels) for text, labels in [
          ("房间干净早餐好", "干净,早餐"), ("早餐很好", "早餐"),
          ("房间很干净", "干净"), ("服务差", "服务"),
          ("服务好早餐好", "服务,早餐"), ("一般", "")] * 4]
  (tmp_path / "data").mkdir()
  for split in ("train", "dev", "test"):
    _write(tmp_path / "data" / (split + ".tsv"), "\n".join(rows) + "\n")
  out = str(tmp_path / "run")
  proc = clirun.run_script(
      "run_classifier.py", "--task=tsv", "--text_a_column=text",
      "--label_column=labels", "--multi_label",
      "--data_dir=" + str(tmp_path / "data"),
      "--init_checkpoint=" + os.path.join(REFERENCE_DIR, "bert_zh_tiny"),
      "--output_dir=" + out, "--do_train", "--do_eval", "--do_predict",
      "--max_seq_length=16", "--train_batch_size=8", "--num_train_epochs=2",
      "--learning_rate=1e-3")
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = json.load(open(os.path.join(out, "run_results.json")))
  assert results["labels"] == ["干净", "早餐", "服务"]
  assert "micro_f1" in results["eval"] and "f1/早餐" in results["eval"]
  with open(os.path.join(out, "test_results.tsv"), encoding="utf-8") as f:
    header, *lines = f.read().splitlines()
  assert header.split("\t")[:5] == ["index", "labels", "prob_干净",
                                    "prob_早餐", "prob_服务"]
  assert len(lines) == 24
  with open(os.path.join(out, "eval_results.txt"), encoding="utf-8") as f:
    text = f.read()
  assert "micro_f1 = " in text and "tuned_micro_f1 = " in text
  saved = json.load(open(os.path.join(out, "thresholds.json")))
  assert saved["labels"] == results["labels"]
  assert all(0 < t < 1 for t in saved["thresholds"])
  assert results["eval"]["tuned_micro_f1"] >= results["eval"]["micro_f1"]
  # Export carries the thresholds; the predictor (and so the server)
  # answers with the labels above them.
  export = str(tmp_path / "export")
  predictor = clirun.export_predictor(out, export)
  try:
    assert predictor.config["thresholds"] == saved["thresholds"]
    (answer,) = predictor.predict(["房间干净早餐好"])
    assert set(answer["probabilities"]) == {"干净", "早餐", "服务"}
    assert answer["labels"] == [
        label for label, t in zip(results["labels"], saved["thresholds"])
        if answer["probabilities"][label] >= t]
    _, served = clirun.serve_once(
        predictor, {"instances": [{"text": "房间干净早餐好"}]}, "tags")
    assert served["predictions"][0]["labels"] == answer["labels"]
  finally:
    predictor.close()


def test_cli_multi_label_needs_a_generic_task(tmp_path):
  import os  # pylint: disable=g-import-not-at-top
  from tests import clirun  # pylint: disable=g-import-not-at-top
  proc = clirun.run_script("run_classifier.py", "--task=sst2",
                           "--multi_label", "--data_dir=" + str(tmp_path),
                           "--output_dir=" + os.path.join(str(tmp_path), "o"),
                           "--do_train")
  clirun.assert_user_error(proc, "--multi_label", "--task=tsv")

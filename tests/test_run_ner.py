"""run_ner.py end to end (CLI) on People's Daily subsets with the tiny
Chinese BERT: softmax and CRF heads, outputs, resume, bad input."""

import json
import os
import re

import pytest

from bert_toolkit.data import ner_data
from bert_toolkit.runs import run_info
from bert_toolkit.data import tag_schemes
from bert_toolkit.tasks import tagging
from bert_toolkit.engine import task as task_lib
from bert_toolkit.data import windows as windows_lib
from tests import clirun
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
PEOPLES_DAILY = os.path.join(DATA_DIR, "peoples_daily_ner")


def _sentences(path):
  """Blocks of `char tag` lines."""
  with open(path, encoding="utf-8") as f:
    return [b for b in f.read().split("\n\n") if b.strip()]


@pytest.fixture(scope="module")
def pd_subset(tmp_path_factory):
  """train: 48 dev sentences (one with an I-PER after O, repaired);
  dev: the first 24 of them; test: 16 test sentences incl. long ones."""
  d = tmp_path_factory.mktemp("pd")
  dev = _sentences(os.path.join(PEOPLES_DAILY, "example.dev"))
  test = _sentences(os.path.join(PEOPLES_DAILY, "example.test"))
  train = dev[:48]
  lines = train[0].split("\n")
  lines[0] = lines[0].split()[0] + " I-PER"  # O -> I-PER: read as B-PER
  train[0] = "\n".join(lines)
  long_test = sorted(test, key=len)[-4:]
  (d / "example.train").write_text("\n\n".join(train) + "\n",
                                   encoding="utf-8")
  (d / "example.dev").write_text("\n\n".join(dev[:24]) + "\n",
                                 encoding="utf-8")
  (d / "example.test").write_text("\n\n".join(test[:12] + long_test) + "\n",
                                   encoding="utf-8")
  return str(d)


def _run(data_dir, out, *extra):
  return clirun.run_script(
      "run_ner.py", "--task=peoples_daily", "--data_dir=" + data_dir,
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out,
      "--max_seq_length=64", "--train_batch_size=16",
      "--learning_rate=1e-3", "--log_every_seconds=0.5", "--seed=1",
      *extra)


def _check_outputs(out, data_dir, scheme="BIO"):
  """Every output file present and well formed; returns run_results."""
  task = ner_data.get_ner_task("peoples_daily", scheme)
  test = task.get_examples(data_dir, "test")
  results = json.load(open(os.path.join(out, "run_results.json")))
  with open(os.path.join(out, "eval_results.txt"), encoding="utf-8") as f:
    text = f.read()
  for key in ("precision = ", "recall = ", "f1 = ", "PER", "LOC", "ORG",
              "micro avg"):
    assert key in text, text
  assert 0.0 <= results["eval"]["f1"] <= 1.0
  # CoNLL lines: one per unit, `unit gold predicted`, a blank line after
  # each sentence; nothing truncated although 4 sentences are windowed.
  with open(os.path.join(out, "test_predictions.txt"),
            encoding="utf-8") as f:
    blocks = f.read().split("\n\n")
  assert blocks[-1] == ""
  blocks = blocks[:-1]
  assert len(blocks) == len(test) == 16
  predicted_tags = []
  for example, block in zip(test, blocks):
    rows = [line.split(" ") for line in block.split("\n")]
    assert [r[0] for r in rows] == example.units
    assert [r[1] for r in rows] == example.tags
    predicted_tags.append([r[2] for r in rows])
    for tag in predicted_tags[-1]:
      assert tag_schemes.tag_problem(tag, scheme) is None
  assert results["predict"]["num_windows"] > len(test)  # long ones split
  # JSON lines agree with the CoNLL column and point into the text.
  with open(os.path.join(out, "test_predictions.jsonl"),
            encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  assert len(records) == len(test)
  for example, record, tags in zip(test, records, predicted_tags):
    assert record["text"] == example.text
    assert record["entities"] == windows_lib.entities_from_tags(
        example.text, example.units, example.unit_offsets, tags, scheme)
    for entity in record["entities"]:
      assert set(entity) == {"type", "start", "end", "mention"}
      assert example.text[entity["start"]:entity["end"]] == entity["mention"]
  assert os.path.isfile(os.path.join(out, "test_results.txt"))
  assert "f1" in results["predict"]
  # The final evaluation's dev sentences with their entity errors: the
  # entities no error names are the true positives seqeval counted.
  dev = task.get_examples(data_dir, "dev")
  with open(os.path.join(out, run_info.DEV_PREDICTIONS_FILE),
            encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  assert [r["text"] for r in records] == [e.text for e in dev]
  gold = sum(len(r["gold"]) for r in records)
  predicted = sum(len(r["predicted"]) for r in records)
  hits = gold - sum(1 for r in records for e in r["errors"] if e["gold"])
  assert gold and abs(results["eval"]["recall"] - hits / gold) < 1e-9
  assert abs(results["eval"]["precision"] - (
      hits / predicted if predicted else 0.0)) < 1e-9
  for record in records:
    for error in record["errors"]:
      assert error["kind"] in tagging.ERROR_KINDS
  return results


def _check_predictor_path(out, data_dir):
  """Raw text -> tags through model_fn_from_run_info (what serving uses)
  gives the CLI's predicted column for every test sentence."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  import tokenization  # pylint: disable=g-import-not-at-top
  tf.disable_eager_execution()
  info = run_info.read(out)
  tokenizer = tokenization.FullTokenizer(info["vocab_file"],
                                         info["do_lower_case"])
  task = ner_data.get_ner_task("peoples_daily")
  texts = [e.text for e in task.get_examples(data_dir, "test")]
  with open(os.path.join(out, "test_predictions.txt"),
            encoding="utf-8") as f:
    expected = [[line.split(" ")[2] for line in block.split("\n")]
                for block in f.read().split("\n\n")[:-1]]
  sentences = []
  for text in texts:
    units, offsets = windows_lib.text_to_units(text, info["head"]["unit_joiner"])
    sentences.append((units, windows_lib.unit_windows(
        units, tokenizer, info["max_seq_length"])))
  flat = [w for _, windows in sentences for w in windows]

  def input_fn(params=None):
    del params
    width = max(len(w.input_ids) for w in flat)
    pad = lambda rows: np.array([r + [0] * (width - len(r)) for r in rows],
                                np.int32)
    return tf.data.Dataset.from_tensor_slices({
        "input_ids": pad([w.input_ids for w in flat]),
        "input_mask": pad([w.input_mask for w in flat]),
        "segment_ids": pad([w.segment_ids for w in flat])}).batch(8)

  estimator = tf.estimator.Estimator(task_lib.model_fn_from_run_info(info),
                                     model_dir=out)
  rows = list(estimator.predict(input_fn))
  assert len(rows) == len(flat)
  # The CLI's own path (cached TFRecord features of the test file) gives the
  # same per-unit scores: windows and merging agree, not just the tags.
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top
  from bert_toolkit import settings as settings_lib  # pylint: disable=g-import-not-at-top
  run_task = tagging.Tagger.from_run_info(info)
  settings = settings_lib.RunSettings(data_dir=data_dir, output_dir=out)
  run = runner.Run(runner.Resolved(
      task=run_task, settings=settings, train=settings.train,
      files=run_info.pretrained_files(out, info), chief=True,
      do_lower_case=info["do_lower_case"],
      max_seq_length=info["max_seq_length"]))
  run.estimator = estimator
  data = run.split("test", run_task.read_split(data_dir, "test"))
  assert data.cached.reused
  cli_tags, cli_scores = run_task.predict_tags(run, data)
  assert cli_tags == expected
  start = 0
  for (units, windows), want, want_scores in zip(sentences, expected,
                                                 cli_scores):
    got = rows[start:start + len(windows)]
    start += len(windows)
    tags, scores = windows_lib.merge_windows(
        windows, [r["tag_ids"] for r in got], len(units), info["labels"],
        info["head"]["scheme"], [r["tag_scores"] for r in got])
    assert tags == want
    assert all(0 < s <= 1 for s in scores)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5)


@pytest.mark.slow
def test_cli_softmax_learns_and_writes_every_output(pd_subset, tmp_path):
  out = str(tmp_path / "softmax")
  proc = _run(pd_subset, out, "--do_train", "--do_eval", "--do_predict",
              "--num_train_epochs=6", "--save_checkpoints_steps=1000")
  assert proc.returncode == 0, proc.stderr[-3000:]
  log = proc.stderr
  assert "Restore from" in log and "tagger/output_weights" in log
  assert "steps/sec" in log and "examples/sec" in log and "ETA" in log
  assert "invalid tag transition(s) repaired" in log
  results = _check_outputs(out, pd_subset)
  # The tiny fixture model has random weights and learns slowly, so the
  # check is that the tagging loss (ignored positions excluded) falls.
  number = r"([0-9]+\.[0-9]+)"
  first = float(re.search(r"loss = %s, step = 0" % number, log).group(1))
  last = float(re.search(r"Loss for final step: %s" % number, log).group(1))
  assert last < 0.6 * first, (first, last)
  info = run_info.read(out)
  assert info["kind"] == "ner"
  assert info["labels"] == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG",
                            "B-PER", "I-PER"]
  assert info["head"]["crf"] is False and info["head"]["scheme"] == "BIO"
  assert info["head"]["unit_joiner"] == "" and info["head"]["lstm_size"] == 0
  assert os.path.isfile(os.path.join(out, "vocab.txt"))
  assert os.path.isdir(os.path.join(out, "eval_final"))
  _check_predictor_path(out, pd_subset)
  # The run directory refuses a different head.
  proc = _run(pd_subset, out, "--do_eval", "--crf")
  clirun.assert_user_error(proc, "--crf=false")
  # Evaluating again needs only the run directory: no --init_checkpoint.
  with open(os.path.join(out, "eval_results.txt"), encoding="utf-8") as f:
    before = f.read()
  proc = clirun.run_script(
      "run_ner.py", "--task=peoples_daily", "--data_dir=" + pd_subset,
      "--output_dir=" + out, "--max_seq_length=64", "--do_eval")
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(out, "eval_results.txt"), encoding="utf-8") as f:
    assert f.read() == before


@pytest.mark.slow
def test_cli_crf_bilstm_bioes_and_resume(pd_subset, tmp_path):
  out = str(tmp_path / "crf")
  args = ("--do_train", "--crf", "--crf_learning_rate=0.05",
          "--lstm_size=16", "--scheme=BIOES", "--save_checkpoints_steps=3")
  proc = _run(pd_subset, out, "--num_train_epochs=1", *args)
  assert proc.returncode == 0, proc.stderr[-3000:]
  first = json.load(open(os.path.join(out, "run_results.json")))
  steps_one_epoch = first["train"]["global_step"]
  assert steps_one_epoch == first["num_train_steps"] > 0
  info = run_info.read(out)
  assert info["head"]["crf"] is True and info["head"]["lstm_size"] == 16
  assert info["head"]["scheme"] == "BIOES"
  assert info["labels"][:5] == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
  # Same command, more epochs: resumes where it stopped.
  proc = _run(pd_subset, out, "--num_train_epochs=2", "--do_eval",
              "--do_predict", *args)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Resuming from" in proc.stderr
  assert "at step %d" % steps_one_epoch in proc.stderr
  results = _check_outputs(out, pd_subset, "BIOES")
  assert results["train"]["global_step"] == results["num_train_steps"]
  assert results["num_train_steps"] >= 2 * steps_one_epoch - 1


def _bad_dir(tmp_path, train_text):
  d = tmp_path / "bad"
  d.mkdir(exist_ok=True)
  (d / "example.train").write_text(train_text, encoding="utf-8")
  (d / "example.dev").write_text("中 B-LOC\n国 I-LOC\n", encoding="utf-8")
  (d / "example.test").write_text("中 O\n", encoding="utf-8")
  return str(d)


@pytest.mark.slow
@pytest.mark.parametrize("train_text,fragments", [
    ("中 B-LOC\n国\n人 O\n", ["example.train line 2", "tag"]),
    ("中 B-LOC\n国 X-LOC\n", ["example.train line 2", "X-LOC"]),
    ("", ["example.train", "no sentences"]),
])
def test_cli_bad_input_is_one_line(tmp_path, train_text, fragments):
  data_dir = _bad_dir(tmp_path, train_text)
  proc = _run(data_dir, str(tmp_path / "out"), "--do_train")
  clirun.assert_user_error(proc, *fragments)


def test_entity_errors_name_each_kind_once():
  """missed, spurious, wrong type (same span) and wrong span (overlap),
  each counted once; an exact match is no error."""
  ent = lambda t, s, e: {"type": t, "start": s, "end": e, "mention": "x"}
  gold = [ent("PER", 0, 2), ent("LOC", 3, 5), ent("ORG", 6, 9),
          ent("LOC", 10, 12)]
  predicted = [ent("PER", 0, 2), ent("ORG", 3, 5), ent("ORG", 7, 9),
               ent("PER", 13, 14)]
  errors = tagging.entity_errors(gold, predicted)
  assert [(e["kind"], e["type"]) for e in errors] == [
      ("wrong_type", "LOC"), ("wrong_span", "ORG"), ("missed", "LOC"),
      ("spurious", "PER")]
  assert errors[0]["predicted"] == ent("ORG", 3, 5)
  assert errors[2]["predicted"] is None and errors[3]["gold"] is None
  assert tagging.entity_errors(gold, gold) == []
  assert [e["kind"] for e in tagging.entity_errors([], gold)] == [
      "spurious"] * 4

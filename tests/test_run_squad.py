"""run_squad.py: the SQuAD task's head, settings and serving, and parity with
google-research/bert's run_squad.py run unmodified (tools/run_google_squad.py)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests import clirun
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR
from tests.paths import REPO_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
CMRC_TRIAL = os.path.join(DATA_DIR, "cmrc2018", "cmrc2018_trial.json")
# The tiny model's positions: 128.
SHORT = ("--max_seq_length=128", "--doc_stride=32", "--max_query_length=32")


def _slice(path, articles=3, answers=True):
  with open(CMRC_TRIAL, encoding="utf-8") as f:
    data = json.load(f)
  data["data"] = data["data"][:articles]
  if not answers:
    for article in data["data"]:
      for paragraph in article["paragraphs"]:
        for qa in paragraph["qas"]:
          qa.pop("answers", None)
  with open(path, "w", encoding="utf-8") as f:
    json.dump(data, f, ensure_ascii=False)
  return path


def _task(**values):
  from bert_toolkit.tasks import squad  # pylint: disable=g-import-not-at-top
  return squad.SquadTask.from_settings(values)


# ------------------------------------------------------------- the head ---

def _head_graph(style, mode):
  """The task's head on the tiny BERT in a fresh graph; returns (graph,
  head output, features)."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  import modeling  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import task as task_lib  # pylint: disable=g-import-not-at-top
  config = modeling.BertConfig.from_json_file(
      os.path.join(BERT_DIR, "bert_config.json"))
  task = _task(squad_style=style)
  graph = tf.Graph()
  with graph.as_default():
    features = {"input_ids": tf.constant([[101, 5, 102, 7, 8, 102, 0]]),
                "input_mask": tf.constant([[1, 1, 1, 1, 1, 1, 0]]),
                "segment_ids": tf.constant([[0, 0, 0, 1, 1, 1, 0]]),
                "start_positions": tf.constant([3]),
                "end_positions": tf.constant([4])}
    model = task_lib.encoder_from_features("bert", config, features, False)
    out = task.head(model, features, task_lib.HeadContext(
        mode, "bert", config, None))
  return graph, out, features


def test_head_variables_are_googles():
  """cls/squad/output_weights [2, hidden] and output_bias [2], as Google's
  create_model names them, so its checkpoints load unchanged."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  graph, out, _ = _head_graph("google", tf.estimator.ModeKeys.TRAIN)
  with graph.as_default():
    heads = {v.op.name: v.shape.as_list() for v in tf.global_variables()
             if v.op.name.startswith("cls/")}
  assert heads == {"cls/squad/output_weights": [2, 64],
                   "cls/squad/output_bias": [2]}
  assert out.loss is not None


def test_hfl_span_mask_is_hfls_input_span_mask():
  """The in-graph span mask (served models get only the three inputs)
  equals data.squad's input_span_mask of HFL's features."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  import tokenization  # pylint: disable=g-import-not-at-top
  from bert_toolkit.data import squad as data  # pylint: disable=g-import-not-at-top
  from bert_toolkit.tasks import squad  # pylint: disable=g-import-not-at-top
  tokenizer = tokenization.from_vocab(os.path.join(BERT_DIR, "vocab.txt"),
                                      True)
  examples = data.read_squad_examples(CMRC_TRIAL, False, style="hfl_cmrc")[:4]
  features = data.convert_examples_to_features(
      examples, tokenizer, 64, 16, 16, False, style="hfl_cmrc")
  with tf.Graph().as_default(), tf.Session() as session:
    mask = session.run(squad.span_mask(
        tf.constant([f.segment_ids for f in features]),
        tf.constant([f.input_mask for f in features])))
  np.testing.assert_array_equal(mask, [f.input_span_mask for f in features])


def test_hfl_head_masks_and_log_softmaxes_in_predict():
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  graph, out, _ = _head_graph("hfl_cmrc", tf.estimator.ModeKeys.PREDICT)
  with graph.as_default(), tf.Session() as session:
    session.run(tf.global_variables_initializer())
    start = session.run(out.predictions["start_logits"])[0]
  assert abs(np.exp(start).sum() - 1.0) < 1e-5       # log-probabilities
  assert (start[[1, 2, 5, 6]] < -5000).all()        # question, [SEP], pad
  assert (start[[0, 3, 4]] > -100).all()            # [CLS], the context


# ------------------------------------------------------------- settings ---

def test_doc_stride_must_leave_no_context_unread():
  from bert_toolkit import settings as settings_lib  # pylint: disable=g-import-not-at-top
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
  path = CMRC_TRIAL
  run = settings_lib.RunSettings(output_dir="x", do_train=True,
                                 max_seq_length=64)
  _task(train_file=path, doc_stride=45,
        max_query_length=16).validate(run)              # 64 - 16 - 3 = 45
  with pytest.raises(SettingsError, match="--doc_stride"):
    _task(train_file=path, doc_stride=46, max_query_length=16).validate(run)
  with pytest.raises(SettingsError, match="--max_query_length"):
    _task(train_file=path, max_query_length=61).validate(run)
  with pytest.raises(SettingsError, match="--train_file is required"):
    _task().validate(run)


def test_a_data_dir_gives_train_json_and_dev_json(tmp_path):
  """--data_dir stands for --train_file=DIR/train.json and
  --predict_file=DIR/dev.json; a file flag given wins."""
  from bert_toolkit import settings as settings_lib  # pylint: disable=g-import-not-at-top
  folder = tmp_path / "cmrc"
  folder.mkdir()
  train, dev = _slice(str(folder / "train.json")), _slice(str(
      folder / "dev.json"))
  run = settings_lib.RunSettings(output_dir="x", data_dir=str(folder),
                                 do_train=True, do_predict=True)
  task = _task()
  task.validate(run)
  assert (task.train_file, task.predict_file) == (train, dev)
  task = _task(predict_file=CMRC_TRIAL)
  task.validate(run)
  assert (task.train_file, task.predict_file) == (train, CMRC_TRIAL)


@pytest.mark.slow
def test_a_data_folder_run_trains_and_evaluates_as_the_studio_starts_it(
    tmp_path):
  """The studio's command: --data_dir (train.json, dev.json), --do_train
  and --do_eval; dev is scored during training and the best kept by F1."""
  data = tmp_path / "data"
  data.mkdir()
  _slice(str(data / "train.json"), articles=2)
  _slice(str(data / "dev.json"), articles=1)
  run_dir = str(tmp_path / "run")
  proc = clirun.run_script(
      "run_squad.py", "--data_dir=" + str(data), "--init_checkpoint=" +
      BERT_DIR, "--output_dir=" + run_dir, "--do_train=true",
      "--do_eval=true", "--num_train_steps=4", "--eval_every_steps=2",
      "--train_batch_size=4", *SHORT)
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(run_dir, "run_results.json"),
            encoding="utf-8") as f:
    results = json.load(f)
  assert results["eval"]["metric"] == "cmrc2018"
  with open(os.path.join(run_dir, "best", "best.json"),
            encoding="utf-8") as f:
    assert json.load(f)["metric"] == "f1"


def test_max_seq_length_defaults_to_googles_384():
  from bert_toolkit import settings as settings_lib  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import runner  # pylint: disable=g-import-not-at-top
  run = settings_lib.RunSettings(output_dir="x", do_predict=True)
  _, length = runner._input_settings(run, None, None, _task())  # pylint: disable=protected-access
  assert length == 384
  from bert_toolkit.tasks import regression  # pylint: disable=g-import-not-at-top
  _, length = runner._input_settings(run, None, None,  # pylint: disable=protected-access
                                     regression.Regressor("stsb"))
  assert length == 128


def test_cache_key_takes_the_reading_settings():
  base = _task().cache_settings("train")
  for key, value in (("doc_stride", 64), ("max_query_length", 32),
                     ("squad_style", "hfl_cmrc"),
                     ("version_2_with_negative", True)):
    assert _task(**{key: value}).cache_settings("train") != base, key
  for key, value in (("n_best_size", 5), ("max_answer_length", 10)):
    assert _task(**{key: value}).cache_settings("train") == base, key


def test_served_items_take_the_codecs_field_names():
  from bert_toolkit.serving import predictor  # pylint: disable=g-import-not-at-top
  from bert_toolkit.tasks import squad  # pylint: disable=g-import-not-at-top
  fields = squad.SquadCodec.fields
  assert predictor._as_pair({"question": "q", "context": "c"},  # pylint: disable=protected-access
                            fields) == ("q", "c")
  assert predictor._as_pair({"text": "a", "text_b": "b"}) == ("a", "b")  # pylint: disable=protected-access


def test_scoring_rules_follow_the_data():
  from bert_toolkit.tasks import squad  # pylint: disable=g-import-not-at-top
  with open(CMRC_TRIAL, encoding="utf-8") as f:
    cmrc = json.load(f)
  assert squad.has_cjk(cmrc) and squad.has_answers(cmrc)
  english = {"data": [{"paragraphs": [{"context": "Paris is in France.",
                                       "qas": [{"id": "a", "question": "?"}]}]}]}
  assert not squad.has_cjk(english) and not squad.has_answers(english)
  first = squad.only_questions(cmrc, ["TRIAL_800_QUERY_0"])
  assert sum(len(p["qas"]) for a in first["data"]
             for p in a["paragraphs"]) == 1


# ------------------------------------------------------ Google's script ---

def _google(out, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  return subprocess.run(
      [sys.executable, os.path.join(REPO_DIR, "tools", "run_google_squad.py"),
       "--vocab_file=" + os.path.join(BERT_DIR, "vocab.txt"),
       "--bert_config_file=" + os.path.join(BERT_DIR, "bert_config.json"),
       "--output_dir=" + out, *SHORT, *args],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
      timeout=600, env=env)


def _assert_same_answers(ours, theirs):
  for name in ("predictions.json", "nbest_predictions.json"):
    with open(os.path.join(ours, name), encoding="utf-8") as f:
      a = json.load(f)
    with open(os.path.join(theirs, name), encoding="utf-8") as f:
      b = json.load(f)
    assert list(a) == list(b), name
    if name == "predictions.json":
      assert a == b
      continue
    for key in b:
      assert [e["text"] for e in a[key]] == [e["text"] for e in b[key]], key
      for x, y in zip(a[key], b[key]):
        assert abs(x["probability"] - y["probability"]) < 1e-5, key


@pytest.mark.slow
def test_google_checkpoints_predict_as_googles_script_and_back(tiny_run,
                                                              tmp_path):
  """Google's run_squad.py trains a few steps and predicts; run_squad.py
  predicts with Google's checkpoint: the same answers and n-best
  probabilities. Then the reverse: our fine-tuned checkpoint (tiny_run)
  predicted by Google's script."""
  train = _slice(str(tmp_path / "train.json"))
  predict = _slice(str(tmp_path / "predict.json"), answers=False)
  google = str(tmp_path / "google")
  proc = _google(google, "--init_checkpoint=" + os.path.join(
      BERT_DIR, "bert_model.ckpt"), "--train_file=" + train,
                 "--predict_file=" + predict, "--do_train", "--do_predict",
                 "--train_batch_size=4", "--num_train_epochs=1")
  assert proc.returncode == 0, proc.stderr[-3000:]
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  google_ckpt = tf.train.latest_checkpoint(google)
  assert not google_ckpt.endswith("-0")
  ours = str(tmp_path / "ours")
  proc = clirun.run_script(
      "run_squad.py", "--predict_file=" + predict,
      "--init_checkpoint=" + google_ckpt,
      "--bert_config_file=" + os.path.join(BERT_DIR, "bert_config.json"),
      "--vocab_file=" + os.path.join(BERT_DIR, "vocab.txt"),
      "--output_dir=" + ours, "--do_predict", *SHORT)
  assert proc.returncode == 0, proc.stderr[-3000:]
  _assert_same_answers(ours, google)

  # The reverse: run_squad.py fine-tunes, Google's script predicts with it.
  tuned, _, tuned_predict = tiny_run
  back = str(tmp_path / "back")
  proc = _google(back, "--init_checkpoint=" + tf.train.latest_checkpoint(tuned),
                 "--predict_file=" + tuned_predict, "--do_predict")
  assert proc.returncode == 0, proc.stderr[-3000:]
  _assert_same_answers(tuned, back)


# -------------------------------------------------------------- serving ---

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  """A run_squad.py run fine-tuned for 2 steps on two CMRC trial articles,
  its predict file without answers: (run_dir, train file, predict file)."""
  tmp = tmp_path_factory.mktemp("squad_run")
  train = _slice(str(tmp / "train.json"), articles=2)
  predict = _slice(str(tmp / "predict.json"), articles=2, answers=False)
  run_dir = str(tmp / "run")
  proc = clirun.run_script(
      "run_squad.py", "--train_file=" + train, "--predict_file=" + predict,
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + run_dir,
      "--do_train", "--do_predict", "--train_batch_size=4",
      "--num_train_steps=2", *SHORT)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return run_dir, train, predict


@pytest.mark.slow
def test_a_squad_run_exports_and_serves_questions(tiny_run, tmp_path):
  """export_savedmodel.py exports a SQuAD run; the Predictor and the REST
  server take {"question", "context"} items and answer with Google's
  post-processing of the context's windows: the text run_squad.py
  --do_predict gives, its probability and its offset in the context."""
  run_dir, train, _ = tiny_run
  with open(os.path.join(run_dir, "predictions.json"), encoding="utf-8") as f:
    batch = json.load(f)
  with open(train, encoding="utf-8") as f:
    paragraph = json.load(f)["data"][0]["paragraphs"][0]
  qa = paragraph["qas"][0]
  predictor = clirun.export_predictor(run_dir, str(tmp_path / "export"))
  try:
    item = {"question": qa["question"], "context": paragraph["context"]}
    answer, = predictor.predict([item])
    assert set(answer) == {"answer", "score", "start", "n_best"}
    assert answer["answer"] == batch[qa["id"]]
    assert 0 < answer["score"] <= 1
    start = answer["start"]
    assert paragraph["context"][start:start + len(answer["answer"])] == \
        answer["answer"]
    status, body = clirun.serve_once(predictor, {"instances": [item]})
    assert status == 200
    assert body["predictions"][0]["answer"] == answer["answer"]
  finally:
    predictor.close()


@pytest.mark.slow
def test_a_predict_file_with_answers_is_scored_by_cmrc_rules(tiny_run):
  """--do_predict on a file with answers writes Google's files and the
  scores (CMRC 2018's rules for Chinese contexts) in eval_results.txt and
  run_results.json; --do_eval scores it alone."""
  run_dir, train, _ = tiny_run
  for action in ("--do_predict", "--do_eval"):
    proc = clirun.run_script("run_squad.py", "--predict_file=" + train,
                             "--output_dir=" + run_dir, action)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(os.path.join(run_dir, "run_results.json"),
              encoding="utf-8") as f:
      results = json.load(f)
    scores = (results["predict"]["scores"] if action == "--do_predict"
              else results["eval"])
    assert scores["metric"] == "cmrc2018"
    assert 0 <= scores["exact_match"] <= scores["f1"] <= 100
    with open(os.path.join(run_dir, "eval_results.txt"),
              encoding="utf-8") as f:
      text = f.read()
    assert "exact_match = " in text and "metric = cmrc2018" in text

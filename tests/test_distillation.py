"""Knowledge distillation (run_distill.py) with the tiny Chinese BERT: the
losses against numpy, alpha=1 as plain fine-tuning, the layer copy, the
cached teacher outputs, the student as a normal run, and bad teachers."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_toolkit.tasks import distillation
from bert_toolkit.data import encoding
from bert_toolkit.runs import run_info
from bert_toolkit.engine import task as task_lib
from bert_toolkit.serving import export as export_lib
from bert_toolkit.serving import predictor as predictor_lib
from tests import clirun
from tests import datasets
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

tf.disable_eager_execution()

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")



@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
  """A fine-tuned tiny classifier (the teacher) and its data."""
  root = tmp_path_factory.mktemp("distill")
  data = root / "data"
  data.mkdir()
  for split, n in (("train", 64), ("dev", 32), ("test", 16)):
    datasets.head(os.path.join(DATA_DIR, "chnsenticorp", split + ".tsv"),
                  str(data / (split + ".tsv")), n)
  out = str(root / "teacher")
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + str(data),
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out, "--do_train",
      "--max_seq_length=32", "--train_batch_size=16", "--num_train_epochs=2",
      "--learning_rate=1e-3", "--seed=1", "--log_every_seconds=30")
  assert proc.returncode == 0, proc.stderr[-3000:]
  return {"root": root, "data": str(data), "dir": out}


@pytest.fixture(scope="module")
def student(teacher):
  """Teacher layer 1 kept, logit + intermediate losses, unlabeled text."""
  root = teacher["root"]
  unlabeled = root / "unlabeled.txt"
  unlabeled.write_text("很好的酒店\n太差了\n一般般吧\n", encoding="utf-8")
  out = str(root / "student")
  proc = clirun.run_script(
      "run_distill.py", "--teacher_dir=" + teacher["dir"],
      "--data_dir=" + teacher["data"], "--output_dir=" + out,
      "--student_layers=1", "--do_train", "--do_eval", "--do_predict",
      "--train_batch_size=16", "--num_train_epochs=1", "--learning_rate=1e-3",
      "--alpha=0.5", "--temperature=2", "--hidden_loss_weight=1",
      "--attention_loss_weight=1", "--unlabeled_file=" + str(unlabeled),
      "--seed=1", "--log_every_seconds=30")
  assert proc.returncode == 0, proc.stderr[-3000:]
  return out


def test_soft_loss_equals_numpy():
  rng = np.random.RandomState(0)
  student = rng.randn(5, 3).astype(np.float32) * 3
  teacher = rng.randn(5, 3).astype(np.float32) * 3
  with tf.Graph().as_default(), tf.Session() as sess:
    got = sess.run(distillation.soft_loss(tf.constant(student),
                                          tf.constant(teacher), 2.0))
  assert abs(got - distillation.soft_loss_numpy(student, teacher, 2.0)) < 1e-5
  # Token level: the mean over the weighted positions only.
  student3 = rng.randn(2, 4, 3).astype(np.float32)
  teacher3 = rng.randn(2, 4, 3).astype(np.float32)
  weights = np.array([[0, 1, 1, 0], [1, 0, 0, 0]], np.float32)
  with tf.Graph().as_default(), tf.Session() as sess:
    got = sess.run(distillation.soft_loss(
        tf.constant(student3), tf.constant(teacher3), 3.0,
        tf.constant(weights)))
  picked = weights.astype(bool)
  expected = distillation.soft_loss_numpy(student3[picked], teacher3[picked],
                                          3.0)
  assert abs(got - expected) < 1e-5


def _loss(task, teacher_info, features, seed=1):
  """The TRAIN loss of `task`'s head on the tiny teacher's encoder."""
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    tensors = {k: tf.constant(v) for k, v in features.items()}
    config = teacher_info["config"]
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    model = task_lib.encoder_from_features("bert", config, tensors, True)
    out = task.head(model, tensors, task_lib.HeadContext(
        tf.estimator.ModeKeys.TRAIN, "bert", config, None))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      return sess.run(out.loss)


@pytest.mark.slow
def test_alpha_one_is_plain_fine_tuning(teacher):
  info = run_info.read(teacher["dir"])
  teacher_obj = distillation.Teacher(teacher["dir"])
  rng = np.random.RandomState(1)
  features = {
      "input_ids": rng.randint(100, 5000, [4, 10]).astype(np.int32),
      "input_mask": np.ones([4, 10], np.int32),
      "segment_ids": np.zeros([4, 10], np.int32),
      "label_ids": np.array([0, 1, 1, 0], np.int32),
      "teacher_logits": rng.randn(4, 2).astype(np.float32)}

  def make(alpha):
    base = distillation.base_task_for(teacher_obj)
    base.label_list = info["labels"]
    task = distillation.Distiller(teacher_obj, base, alpha=alpha)
    task.label_list = info["labels"]
    return task, base

  task, base = make(1.0)
  assert _loss(task, info, features) == _loss(base, info, features)
  task, base = make(0.5)
  assert _loss(task, info, features) != _loss(base, info, features)


@pytest.mark.slow
def test_student_layers_copy_the_teachers_weights(teacher, student):
  teacher_ckpt = run_info.fine_tuned_checkpoint(teacher["dir"])
  theirs = tf.train.load_checkpoint(teacher_ckpt)
  init = os.path.join(student, "student_init", "model.ckpt")
  ours = tf.train.load_checkpoint(init)
  names = set(ours.get_variable_to_shape_map())
  assert not any("/layer_1/" in n for n in names)
  assert not any(n.endswith("_m") or n.endswith("_v") or n == "global_step"
                 for n in names)
  copied = 0
  for name in names:
    source = name.replace("/layer_0/", "/layer_1/")
    np.testing.assert_array_equal(ours.get_tensor(name),
                                  theirs.get_tensor(source), err_msg=name)
    copied += 1
  assert copied == 5 + 16 + 2 + 2  # embeddings, one layer, pooler, head
  assert "output_weights" in names
  info = run_info.read(student)
  assert info["config"].num_hidden_layers == 1
  assert info["kind"] == "classifier" and info["labels"] == ["0", "1"]


def test_cached_teacher_logits_equal_a_fresh_prediction(teacher, student):
  features_dir = os.path.join(student, "features")
  train = [f for f in os.listdir(features_dir)
           if f.startswith("train-") and f.endswith(".tf_record")]
  assert len(train) == 1
  rows = []
  for record in tf.io.tf_record_iterator(os.path.join(features_dir,
                                                      train[0])):
    feature = tf.train.Example.FromString(record).features.feature
    rows.append({"input_ids": list(feature["input_ids"].int64_list.value),
                 "segment_ids": list(feature["segment_ids"].int64_list.value),
                 "label_ids": list(feature["label_ids"].int64_list.value),
                 "cached": list(feature["teacher_logits"].float_list.value)})
  assert len(rows) == 67  # 64 labelled + 3 unlabeled
  arrays = encoding.pad_batch(rows)
  info = run_info.read(teacher["dir"])
  estimator = tf.estimator.Estimator(task_lib.model_fn_from_run_info(info),
                                     model_dir=teacher["dir"])

  def input_fn(params=None):
    del params
    return tf.data.Dataset.from_tensor_slices(arrays).batch(8)

  fresh = [p["logits"] for p in estimator.predict(
      input_fn, checkpoint_path=run_info.fine_tuned_checkpoint(
          teacher["dir"]))]
  for row, logits in zip(rows, fresh):
    np.testing.assert_allclose(row["cached"], logits, atol=1e-5)
  # The unlabeled examples took the teacher's label.
  for row in rows[-3:]:
    assert row["label_ids"] == [int(np.argmax(row["cached"]))]


def test_the_student_is_a_normal_run_that_exports_and_serves(teacher,
                                                             student,
                                                             tmp_path):
  results = json.load(open(os.path.join(student, "run_results.json")))
  assert 0 <= results["eval"]["accuracy"] <= 1
  assert os.path.isfile(os.path.join(student, "test_results.tsv"))
  proc = clirun.run_script("run_classifier.py", "--task=chnsenticorp",
                           "--data_dir=" + teacher["data"],
                           "--output_dir=" + student, "--do_eval")
  assert proc.returncode == 0, proc.stderr[-3000:]
  export = export_lib.export(student, str(tmp_path / "export"))
  predictor = predictor_lib.Predictor(export["export_dir"])
  try:
    answer = predictor.predict(["房间很干净"])[0]
    assert answer["label"] in ("0", "1")
    _, served = clirun.serve_once(
        predictor, {"instances": [{"text": "房间很干净"}]}, "student")
    assert served["predictions"][0]["label"] == answer["label"]
  finally:
    predictor.close()
  # Resuming: the same command again is finished.
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(student))
  assert any(n.startswith("teacher/") for n in
             reader.get_variable_to_shape_map())  # frozen teacher in graph
  theirs = tf.train.load_checkpoint(run_info.fine_tuned_checkpoint(
      teacher["dir"]))
  np.testing.assert_array_equal(
      reader.get_tensor("teacher/bert/encoder/layer_0/output/dense/kernel"),
      theirs.get_tensor("bert/encoder/layer_0/output/dense/kernel"))


@pytest.mark.parametrize("case", ["missing", "incomplete", "vocab", "both",
                                  "packed_attention", "class_weights",
                                  "layers"])
def test_bad_teacher_or_student_is_one_line(teacher, tmp_path, case):
  """Refused before anything is written: no run_info.json that the next
  command would misread."""
  teacher_dir = teacher["dir"]
  extra = ["--student_layers=0"]
  fragments = []
  if case == "missing":
    teacher_dir = str(tmp_path / "nowhere")
    fragments = ["nowhere", "not a directory"]
  elif case == "incomplete":
    incomplete = str(tmp_path / "incomplete")
    shutil.copytree(teacher_dir, incomplete)
    for name in os.listdir(incomplete):
      if name.startswith("model.ckpt") or name in ("checkpoint", "best"):
        path = os.path.join(incomplete, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    teacher_dir = incomplete
    fragments = ["--teacher_dir is incomplete", "no fine-tuned checkpoint"]
  elif case == "vocab":
    other = str(tmp_path / "other_vocab")
    shutil.copytree(BERT_DIR, other)
    with open(os.path.join(other, "vocab.txt"), "a", encoding="utf-8") as f:
      f.write("[another]\n")
    extra = ["--init_checkpoint=" + other]
    fragments = ["vocab", "differs from the teacher's"]
  elif case == "class_weights":
    extra += ["--class_weights=balanced"]
    fragments = ["not to distillation"]
  elif case == "layers":
    extra = ["--student_layers=0,9"]
    fragments = ["--student_layers", "got 0,9"]
  elif case == "packed_attention":
    # Packed rows hold several examples' attention scores.
    extra += ["--attention_loss_weight=1", "--pack_sequences"]
    fragments = ["--attention_loss_weight", "drop --pack_sequences"]
  else:
    extra = ["--student_layers=0", "--init_checkpoint=" + BERT_DIR]
    fragments = ["--init_checkpoint", "--student_layers", "not both"]
  proc = clirun.run_script(
      "run_distill.py", "--teacher_dir=" + teacher_dir,
      "--data_dir=" + teacher["data"], "--output_dir=" + str(tmp_path / "s"),
      "--do_train", *extra)
  clirun.assert_user_error(proc, *fragments)
  assert not os.path.exists(str(tmp_path / "s" / "run_info.json"))


@pytest.mark.slow
def test_ner_student_from_a_crf_teacher(tmp_path):
  """Token-level distillation from a CRF teacher: the student keeps a CRF
  whose transitions start from the teacher's; unlabeled sentences take the
  teacher's tags on their first pieces; the student tags like any run."""
  data = datasets.ner_splits(
      os.path.join(DATA_DIR, "peoples_daily_ner", "example.dev"),
      str(tmp_path / "pd"), train=(0, 32), dev=(32, 40), test=(40, 44))
  teacher_dir = str(tmp_path / "teacher")
  proc = clirun.run_script(
      "run_ner.py", "--task=peoples_daily", "--data_dir=" + str(data),
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + teacher_dir,
      "--do_train", "--crf", "--max_seq_length=32", "--train_batch_size=16",
      "--num_train_epochs=1", "--learning_rate=1e-3", "--seed=1")
  assert proc.returncode == 0, proc.stderr[-3000:]
  unlabeled = tmp_path / "more.txt"
  unlabeled.write_text("张三在北京大学读书\n李四去了上海\n", encoding="utf-8")
  out = str(tmp_path / "student")
  proc = clirun.run_script(
      "run_distill.py", "--teacher_dir=" + teacher_dir,
      "--data_dir=" + str(data), "--output_dir=" + out,
      "--student_layers=0", "--do_train", "--do_eval", "--do_predict",
      "--train_batch_size=16", "--num_train_epochs=1", "--alpha=0.5",
      "--unlabeled_file=" + str(unlabeled), "--seed=1")
  assert proc.returncode == 0, proc.stderr[-3000:]
  teacher_values = tf.train.load_checkpoint(
      run_info.fine_tuned_checkpoint(teacher_dir))
  init = tf.train.load_checkpoint(os.path.join(out, "student_init",
                                               "model.ckpt"))
  np.testing.assert_array_equal(init.get_tensor("tagger/transitions"),
                                teacher_values.get_tensor(
                                    "tagger/transitions"))
  info = run_info.read(out)
  assert info["kind"] == "ner" and info["head"]["crf"] is True
  results = json.load(open(os.path.join(out, "run_results.json")))
  assert results["num_train_examples"] == 34 and "f1" in results["eval"]
  assert os.path.isfile(os.path.join(out, "test_predictions.jsonl"))
  # The unlabeled windows carry the teacher's argmax on first pieces only.
  features_dir = os.path.join(out, "features")
  train = [f for f in os.listdir(features_dir)
           if f.startswith("train-") and f.endswith(".tf_record")][0]
  records = list(tf.io.tf_record_iterator(os.path.join(features_dir,
                                                       train)))
  last = tf.train.Example.FromString(records[-1]).features.feature
  ids = list(last["input_ids"].int64_list.value)
  labels = list(last["label_ids"].int64_list.value)
  logits = np.array(last["teacher_logits"].float_list.value).reshape(
      32, len(info["labels"]))
  assert labels[0] == labels[-1] == -1  # [CLS], [SEP]
  assert len(ids) == len("李四去了上海") + 2
  assert labels[1:-1] == list(np.argmax(logits[1:len(ids) - 1], axis=-1))


def test_a_student_reads_as_its_teacher_run(tmp_path):
  """A generic (tsv) teacher's columns, truncation and label separator come
  from its run_info.json: run_distill.py needs no column flag. Given
  columns read other data; a student's own run keeps its columns."""
  import types  # pylint: disable=g-import-not-at-top
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
  (tmp_path / "train.tsv").write_text("t\tx\ty\n好\t坏\t1\n",
                                      encoding="utf-8")
  head = {"text_a_column": "t", "text_b_column": None, "label_column": "y",
          "truncation": "tail", "label_separator": "|"}
  teacher = types.SimpleNamespace(run_dir=str(tmp_path / "teacher"), info={
      "kind": "classifier", "task": "tsv", "labels": ["1"], "head": head})
  base = distillation.base_task_for(teacher)
  base.resolve_head(None, "student")            # a new student run
  assert [base.head_info()[k] for k in head] == ["t", None, "y", "tail", "|"]
  assert [e.text_a for e in base.read_split(str(tmp_path), "train")] == ["好"]
  other = distillation.base_task_for(teacher, None, "x", None, "y")
  other.resolve_head(None, "student")           # other data, its columns
  assert (other.text_a_column, other.label_column) == ("x", "y")
  resumed = distillation.base_task_for(teacher)  # the student's own run
  resumed.resolve_head(other.head_info(), "student")
  assert resumed.text_a_column == "x"
  teacher.info["head"] = dict(head, multi_label=True)
  with pytest.raises(SettingsError, match="multi-label"):
    distillation.base_task_for(teacher)


@pytest.mark.slow
def test_cli_student_of_a_generic_teacher_needs_no_column_flag(tmp_path):
  data = datasets.chnsenticorp(tmp_path / "data", train=16, dev=8, test=8)
  teacher = str(tmp_path / "teacher")
  proc = clirun.run_script(
      "run_classifier.py", "--task=tsv", "--text_a_column=text_a",
      "--label_column=label", "--data_dir=" + data,
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + teacher,
      "--do_train", "--max_seq_length=32", "--train_batch_size=8",
      "--num_train_steps=2")
  assert proc.returncode == 0, proc.stderr[-3000:]
  student = str(tmp_path / "student")
  proc = clirun.run_script(
      "run_distill.py", "--teacher_dir=" + teacher, "--data_dir=" + data,
      "--output_dir=" + student, "--student_layers=0", "--do_train",
      "--do_predict", "--train_batch_size=8", "--num_train_steps=2")
  assert proc.returncode == 0, proc.stderr[-3000:]
  head = run_info.read(student)["head"]
  assert (head["text_a_column"], head["label_column"]) == ("text_a", "label")
  with open(os.path.join(student, "test_results.tsv"), encoding="utf-8") as f:
    assert len(f.read().splitlines()) == 9        # a header, 8 predictions

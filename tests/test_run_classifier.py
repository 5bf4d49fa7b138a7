"""run_classifier end to end on small real data with the tiny Chinese BERT."""

import glob
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
import tokenization
from bert_toolkit.tasks import classifier
from bert_toolkit.data import encoding
from bert_toolkit.data import features as features_lib
from bert_toolkit.engine import optimization
from bert_toolkit.runs import run_info
from bert_toolkit.engine import runner
from bert_toolkit import settings as settings_lib
from bert_toolkit.data import classification as tasks_lib
from bert_toolkit.engine import training
from bert_toolkit.errors import InputError
from modeling import heads
from tests import clirun
from tests import datasets
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

tf.disable_eager_execution()

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")



@pytest.fixture
def chnsenticorp(tmp_path):
  return datasets.chnsenticorp(tmp_path / "chnsenticorp", train=64, dev=32,
                               test=24)


@pytest.fixture
def lcqmc(tmp_path):
  """LCQMC has no train split here: dev lines serve as training data."""
  d = tmp_path / "lcqmc"
  d.mkdir()
  with open(os.path.join(DATA_DIR, "lcqmc", "dev.txt"),
            encoding="utf-8") as f:
    lines = f.readlines()
  (d / "train.txt").write_text("".join(lines[:64]), encoding="utf-8")
  (d / "dev.txt").write_text("".join(lines[64:96]), encoding="utf-8")
  datasets.head(os.path.join(DATA_DIR, "lcqmc", "test.txt"), str(d / "test.txt"), 16,
        False)
  return str(d)


def _no_dropout_copy(folder):
  """A folder of links to the tiny BERT's files, its config without dropout."""
  os.makedirs(folder)
  for name in os.listdir(BERT_DIR):
    if name != "bert_config.json":
      os.symlink(os.path.join(BERT_DIR, name), os.path.join(folder, name))
  with open(os.path.join(BERT_DIR, "bert_config.json")) as f:
    config = json.load(f)
  config["hidden_dropout_prob"] = 0.0
  config["attention_probs_dropout_prob"] = 0.0
  with open(os.path.join(folder, "bert_config.json"), "w") as f:
    json.dump(config, f)
  return folder


def _run(task, data_dir, output_dir, pretrained=None, **train):
  values = dict(num_train_epochs=1.0, train_batch_size=16,
                learning_rate=1e-3, save_checkpoints_steps=10,
                log_every_seconds=1.0, seed=1)
  values.update(train)
  return runner.run(classifier.Classifier(task), settings_lib.RunSettings(
      data_dir=data_dir, output_dir=output_dir,
      init_checkpoint=pretrained or BERT_DIR,
      train=settings_lib.TrainSettings(**values), max_seq_length=48,
      do_train=True, do_eval=True))


@pytest.mark.slow
def test_cli_single_sentence_train_eval_predict(chnsenticorp, tmp_path):
  out = str(tmp_path / "run")
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + chnsenticorp,
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out, "--do_train",
      "--do_eval", "--do_predict", "--max_seq_length=48",
      "--train_batch_size=16", "--num_train_epochs=2",
      "--log_every_seconds=0")  # a line every step: not timing-dependent
  assert proc.returncode == 0, proc.stderr[-3000:]
  log = proc.stderr
  assert "Restore from" in log and "output_weights" in log
  assert "steps/sec" in log and "examples/sec" in log and "ETA" in log
  with open(os.path.join(out, "eval_results.txt"), encoding="utf-8") as f:
    text = f.read()
  for key in ("accuracy = ", "macro_f1 = ", "confusion matrix", "precision"):
    assert key in text
  with open(os.path.join(out, "test_results.tsv"), encoding="utf-8") as f:
    rows = [line.rstrip("\n").split("\t") for line in f]
  assert rows[0][:4] == ["index", "prediction", "prob_0", "prob_1"]
  assert len(rows) == 25
  assert all(abs(float(r[2]) + float(r[3]) - 1) < 1e-4 for r in rows[1:])
  results = json.load(open(os.path.join(out, "run_results.json")))
  assert results["train"]["global_step"] == 8
  # The curve file says from the start where training goes, and each step.
  from bert_toolkit.runs import curves  # pylint: disable=g-import-not-at-top
  with open(os.path.join(out, curves.CURVES_FILE), encoding="utf-8") as f:
    assert json.loads(f.readline()) == {"kind": "start", "step": 0,
                                        "total_steps": 8}
  assert curves.progress(os.path.join(out, curves.CURVES_FILE)) == (8, 8)
  # The test file is labelled: it is scored like dev, from the predictions.
  assert 0.0 <= results["predict"]["accuracy"] <= 1.0
  with open(os.path.join(out, "test_results.txt"), encoding="utf-8") as f:
    assert "accuracy = %.6f" % results["predict"]["accuracy"] in f.read()
  assert results["eval"]["global_step"] == 8
  assert run_info.read_labels(os.path.join(out, "labels.txt")) == ["0", "1"]
  assert glob.glob(os.path.join(out, "events.out.tfevents*"))
  eval_events = glob.glob(os.path.join(out, "eval_final", "events.out.tfevents*"))
  assert eval_events
  # TensorBoard gets the scalars and the confusion matrix as a text table.
  tags, table = set(), None
  for event in tf.train.summary_iterator(eval_events[0]):
    for value in event.summary.value:
      tags.add(value.tag)
      if value.tag.startswith("confusion_matrix_text"):
        table = value.tensor.string_val[0].decode("utf-8")
  assert {"accuracy", "macro_f1", "f1/0", "f1/1"} <= tags
  assert table is not None and table.startswith("| gold (rows)")
  counts = [[int(c) for c in line.strip("| ").split(" | ")[1:]]
            for line in table.splitlines()[2:]]
  assert counts == results["eval"]["confusion_matrix"]
  # The final evaluation's dev predictions, one line per dev example, agree
  # with its confusion matrix (error analysis reads them).
  with open(os.path.join(out, run_info.DEV_PREDICTIONS_FILE),
            encoding="utf-8") as f:
    dev = [json.loads(line) for line in f]
  matrix = [[0, 0], [0, 0]]
  for row in dev:
    matrix[int(row["gold"])][int(row["predicted"])] += 1
    assert abs(sum(row["probabilities"]) - 1) < 1e-4 and row["text_a"]
    assert row["probabilities"][int(row["predicted"])] == max(
        row["probabilities"])
  assert matrix == results["eval"]["confusion_matrix"]
  # Evaluating again needs only the run directory (run_info.json, vocab.txt
  # and the fine-tuned checkpoint): no --init_checkpoint.
  os.remove(os.path.join(out, "eval_results.txt"))
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + chnsenticorp,
      "--output_dir=" + out, "--do_eval", "--max_seq_length=48")
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(out, "eval_results.txt"), encoding="utf-8") as f:
    assert f.read() == text


def test_pair_task_end_to_end(lcqmc, tmp_path):
  out = str(tmp_path / "run")
  results = _run("lcqmc", lcqmc, out)
  assert results["num_train_examples"] == 64
  assert 0.0 <= results["eval"]["accuracy"] <= 1.0
  # Pair features carry segment 1 on the second sentence.
  record = next(tf.io.tf_record_iterator(
      glob.glob(os.path.join(out, "features", "train-*.tf_record"))[0]))
  example = tf.train.Example.FromString(record)
  segments = example.features.feature["segment_ids"].int64_list.value
  assert 0 in segments and 1 in segments


def test_pair_truncation_pops_from_the_longer_side():
  tokenizer = tokenization.FullTokenizer(os.path.join(BERT_DIR, "vocab.txt"))
  encoded = encoding.encode(tokenizer, "一" * 20, "二" * 5, 16)
  tokens = tokenizer.convert_ids_to_tokens(encoded.input_ids)
  assert len(tokens) == 16 and encoded.truncated
  assert tokens.count("一") == 8 and tokens.count("二") == 5
  assert encoded.segment_ids == [0] * 10 + [1] * 6
  tokens = encoding.encode(tokenizer, "一" * 9, "二" * 9, 16).tokens
  assert tokens.count("一") == 7 and tokens.count("二") == 6


def test_feature_cache_reuse_and_invalidation(chnsenticorp, tmp_path):
  vocab = os.path.join(BERT_DIR, "vocab.txt")
  data = os.path.join(chnsenticorp, "train.tsv")
  cache = str(tmp_path / "cache")
  calls = []

  def make(n=5):
    def records():
      calls.append(1)
      for i in range(n):
        yield {"input_ids": [101, i, 102], "segment_ids": [0, 0, 0]}
    return records

  def cached(vocab_file=vocab, max_len=48, labels=("0", "1")):
    key, parts = features_lib.cache_key(data, vocab_file, True, max_len,
                                        labels, "chnsenticorp")
    return features_lib.cached_feature_file(cache, "train", key, parts, make())

  first = cached()
  assert not first.reused and len(calls) == 1
  assert cached().reused and len(calls) == 1
  assert not cached(max_len=64).reused and len(calls) == 2
  other_vocab = tmp_path / "vocab.txt"
  shutil.copy(vocab, str(other_vocab))
  with open(str(other_vocab), "a", encoding="utf-8") as f:
    f.write("[extra]\n")
  assert not cached(vocab_file=str(other_vocab)).reused
  assert not cached(labels=("1", "0")).reused
  with open(data, "a", encoding="utf-8") as f:
    f.write("1\t新加的一行\n")
  assert not cached().reused
  # Files of other keys stay: another run sharing the cache may read them.
  assert len(glob.glob(os.path.join(cache, "train-*.tf_record"))) == 5


def test_killed_conversion_is_never_reused(chnsenticorp, tmp_path):
  data = os.path.join(chnsenticorp, "train.tsv")
  cache = str(tmp_path / "cache")
  key, parts = features_lib.cache_key(data, os.path.join(BERT_DIR,
                                                         "vocab.txt"),
                                      True, 48, ["0", "1"], "t")

  def dying():
    yield {"input_ids": [1, 2], "segment_ids": [0, 0]}
    raise KeyboardInterrupt("killed")

  with pytest.raises(KeyboardInterrupt):
    features_lib.cached_feature_file(cache, "train", key, parts, dying)
  assert os.listdir(cache) == []  # the temporary was removed
  result = features_lib.cached_feature_file(
      cache, "train", key, parts,
      lambda: iter([{"input_ids": [1, 2, 3], "segment_ids": [0, 0, 0]}]))
  assert not result.reused and result.num_examples == 1


def _checkpoint_values(prefix):
  reader = tf.train.load_checkpoint(prefix)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


def test_freezing_keeps_values_and_creates_no_slots(chnsenticorp, tmp_path):
  out = str(tmp_path / "run")
  _run("chnsenticorp", chnsenticorp, out, freeze_embeddings=True,
       trainable_layers=1)
  trained = _checkpoint_values(tf.train.latest_checkpoint(out))
  original = _checkpoint_values(os.path.join(BERT_DIR, "bert_model.ckpt"))
  frozen = [n for n in original if n.startswith("bert/embeddings/") or
            n.startswith("bert/encoder/layer_0/")]
  assert len(frozen) == 5 + 16
  for name in frozen:
    np.testing.assert_array_equal(trained[name], original[name])
    assert not any(k.startswith(name + "/") for k in trained), name
  top = "bert/encoder/layer_1/output/dense/kernel"
  assert not np.array_equal(trained[top], original[top])
  assert top + "/AdamWeightDecay_m" in trained


def test_select_trainable_variants():
  with tf.Graph().as_default():
    config = modeling.BertConfig.from_json_file(
        os.path.join(BERT_DIR, "bert_config.json"))
    modeling.BertModel(config, True, tf.placeholder(tf.int32, [None, None]))
    tf.get_variable("output_weights", [2, 64])
    variables = tf.trainable_variables()

    def trainable(**kw):
      names = [v.op.name for v in
               optimization.select_trainable(variables, "bert", 2, **kw)[0]]
      return names

    assert trainable(freeze_encoder=True) == ["output_weights"]
    assert not any("/embeddings/" in n
                   for n in trainable(freeze_embeddings=True))
    top1 = trainable(trainable_layers=1)
    assert not any("layer_0" in n or "/embeddings/" in n for n in top1)
    assert any("layer_1" in n for n in top1) and "output_weights" in top1
    assert "bert/pooler/dense/kernel" in top1
    assert not any("LayerNorm" in n for n in trainable(freeze_regex="LayerNorm"))
    multipliers = optimization.layerwise_lr_multipliers(variables, "bert", 2,
                                                        0.5)
    assert multipliers["bert/encoder/layer_1/output/dense/kernel"] == 0.5
    assert multipliers["bert/encoder/layer_0/output/dense/kernel"] == 0.25
    assert multipliers["bert/embeddings/word_embeddings"] == 0.125
    assert "output_weights" not in multipliers


@pytest.mark.slow
def test_killed_training_resumes_where_it_stopped(chnsenticorp, tmp_path,
                                                  monkeypatch):
  """Kill at step 13 (checkpoint at 10), rerun: the final weights equal
  those of an uninterrupted run (same step, optimiser state and data)."""
  kwargs = dict(num_train_epochs=5.0, train_batch_size=16)
  no_dropout = _no_dropout_copy(str(tmp_path / "no_dropout"))
  clean = str(tmp_path / "clean")
  _run("chnsenticorp", chnsenticorp, clean, no_dropout,
       **kwargs)

  killed = str(tmp_path / "killed")
  original_after_run = training.ProgressHook.after_run
  steps = {"n": 0}

  def dying_after_run(self, run_context, run_values):
    if self.name == "train":
      steps["n"] += 1
      if steps["n"] == 13:
        raise KeyboardInterrupt("killed at step 13")
    return original_after_run(self, run_context, run_values)

  monkeypatch.setattr(training.ProgressHook, "after_run", dying_after_run)
  with pytest.raises(KeyboardInterrupt):
    _run("chnsenticorp", chnsenticorp, killed, no_dropout,
         **kwargs)
  assert training.current_step(killed) == 10
  monkeypatch.setattr(training.ProgressHook, "after_run", original_after_run)
  results = _run("chnsenticorp", chnsenticorp, killed,
                 no_dropout, **kwargs)
  assert results["train"]["global_step"] == 20
  a = _checkpoint_values(tf.train.latest_checkpoint(clean))
  b = _checkpoint_values(tf.train.latest_checkpoint(killed))
  assert set(a) == set(b)
  for name in a:
    np.testing.assert_allclose(a[name], b[name], atol=1e-6, err_msg=name)


@pytest.mark.slow
def test_gradient_accumulation_equals_large_batch():
  """k=4 micro-batches of 2 == one batch of 8, on the tiny BERT."""
  config = modeling.BertConfig.from_json_file(
      os.path.join(BERT_DIR, "bert_config.json"))
  config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
  rng = np.random.RandomState(3)
  ids = rng.randint(100, 8000, size=(8, 12)).astype(np.int32)
  mask = np.ones_like(ids)
  mask[::2, 9:] = 0
  labels = rng.randint(0, 2, size=8).astype(np.int32)

  def train(k, batches):
    with tf.Graph().as_default():
      tf.set_random_seed(0)
      x = tf.placeholder(tf.int32, [None, None])
      m = tf.placeholder(tf.int32, [None, None])
      y = tf.placeholder(tf.int32, [None])
      model = modeling.BertModel(config, True, x, m)
      logits = heads.classifier_logits(model.get_pooled_output(), 2, False)
      loss, _, _ = heads.softmax_cross_entropy(logits, y, 2)
      modeling.init_from_checkpoint(BERT_DIR, "bert", log=False)
      op, _ = optimization.create_train_op(
          loss, 1e-3, 100, 0, tf.trainable_variables(),
          accumulation_steps=k)
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for sl in batches:
          sess.run(op, {x: ids[sl], m: mask[sl], y: labels[sl]})
        return {v.op.name: sess.run(v) for v in tf.trainable_variables()}

  big = train(1, [slice(0, 8)])
  small = train(4, [slice(i, i + 2) for i in range(0, 8, 2)])
  changed = 0
  for name in big:
    np.testing.assert_allclose(big[name], small[name], atol=2e-6,
                               err_msg=name)
    changed += int(not np.allclose(big[name], 0))
  assert changed > 30


# ------------------------------------------------------------ bad input ---

def _write(path, text):
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)


def test_malformed_line_names_file_and_line(tmp_path):
  d = str(tmp_path)
  _write(os.path.join(d, "train.tsv"),
         "label\ttext_a\n1\t好\n0\t差\textra column\n")
  task = tasks_lib.get_task("chnsenticorp")
  with pytest.raises(InputError) as err:
    task.get_examples(d, "train")
  assert "train.tsv line 3" in str(err.value)
  assert "expected 2 tab-separated columns" in str(err.value)


def test_bad_label_and_unseen_dev_label(tmp_path):
  d = str(tmp_path)
  _write(os.path.join(d, "train.tsv"), "label\ttext_a\npositive\t好\n")
  task = tasks_lib.get_task("chnsenticorp")
  with pytest.raises(InputError) as err:
    task.get_examples(d, "train", task.get_labels(d))
  assert "train.tsv line 2" in str(err.value) and "'positive'" in str(err.value)

  _write(os.path.join(d, "train.csv"), "review,stars\n好,5\n差,1\n")
  _write(os.path.join(d, "dev.csv"), "review,stars\n一般,3\n")
  generic = tasks_lib.get_task("csv", text_a_column="review",
                               label_column="stars")
  train = generic.get_examples(d, "train")
  labels = generic.get_labels(d, train)
  assert labels == ["1", "5"]
  with pytest.raises(InputError) as err:
    generic.get_examples(d, "dev", labels)
  assert "dev.csv line 2" in str(err.value) and "'3'" in str(err.value)


def test_empty_texts_are_skipped_and_counted(tmp_path):
  d = str(tmp_path)
  _write(os.path.join(d, "train.txt"), "好\t好的\t1\n\t空\t0\n差\t不好\t0\n")
  task = tasks_lib.get_task("lcqmc")
  examples = task.get_examples(d, "train")
  assert [e.text_a for e in examples] == ["好", "差"]


def test_generic_jsonl_task(tmp_path):
  d = str(tmp_path)
  _write(os.path.join(d, "train.jsonl"),
         '{"q": "a", "p": "b", "y": "yes"}\n{"q": "c", "p": "d", "y": "no"}\n')
  task = tasks_lib.get_task("jsonl", text_a_column="q", text_b_column="p",
                            label_column="y")
  examples = task.get_examples(d, "train")
  assert examples[0].text_b == "b"
  assert task.get_labels(d, examples) == ["no", "yes"]


def test_cli_bad_input_is_one_line(tmp_path):
  d = str(tmp_path / "data")   # the output folder is not inside the data's
  os.makedirs(d)
  _write(os.path.join(d, "train.tsv"), "label\ttext_a\n1\t好\n2\t差\n")
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + d,
      "--init_checkpoint=" + BERT_DIR, "--output_dir=%s" % (tmp_path / "o"),
      "--do_train")
  clirun.assert_user_error(proc, "train.tsv line 3", "'2'")


@pytest.mark.slow
def test_cli_eval_only_without_model_needs_a_trained_run(tmp_path):
  d = str(tmp_path / "data")
  os.makedirs(d)
  _write(os.path.join(d, "dev.tsv"), "label\ttext_a\n1\t好\n")
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + d,
      "--output_dir=%s" % (tmp_path / "o"), "--do_eval")
  clirun.assert_user_error(proc, "run_info.json not found", "--do_train")
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + d,
      "--output_dir=%s" % (tmp_path / "o"), "--do_train")
  clirun.assert_user_error(proc, "--init_checkpoint is required")


# ------------------------------------------ labels that are not classes ---

def _generic_folder(tmp_path, files):
  for name, text in files.items():
    (tmp_path / name).write_text(text, encoding="utf-8")
  return str(tmp_path)


@pytest.mark.parametrize("fmt,train,fragments", [
    ("tsv", "text_a\tlabel\n好\tpos\n坏\tneg\n",
     ["train.tsv line 1", "header", "--text_a_column=text_a "
      "--label_column=label"]),
    ("csv", "text,category\n好,pos\n坏,neg\n",
     ["train.csv line 1", "header", "--label_column=category"]),
])
def test_header_read_as_data_by_column_numbers_is_refused(tmp_path, fmt,
                                                          train, fragments):
  d = _generic_folder(tmp_path, {"train." + fmt: train})
  data = tasks_lib.get_task(fmt, "0", None, "1")
  with pytest.raises(InputError) as raised:
    data.get_examples(d, "train")
  for fragment in fragments:
    assert fragment in str(raised.value), str(raised.value)


def test_a_class_named_label_is_not_a_header(tmp_path):
  d = _generic_folder(tmp_path, {"train.tsv": "a\tlabel\nb\tother\n"
                                              "c\tlabel\n"})
  examples = tasks_lib.get_task("tsv", "0", None, "1").get_examples(d,
                                                                    "train")
  assert [e.label for e in examples] == ["label", "other", "label"]


def test_empty_labels_are_refused_with_the_line(tmp_path):
  d = _generic_folder(tmp_path, {
      "train.tsv": "text\ty\n好\tpos\n坏\t \n",
      "test.tsv": "text\ty\n好\t\n",
      "dev.jsonl": '{"text": "a", "y": "pos"}\n{"text": "b", "y": ""}\n'})
  data = tasks_lib.get_task("tsv", "text", None, "y")
  with pytest.raises(InputError, match="train.tsv line 3: the label is "
                     "empty"):
    data.get_examples(d, "train")
  assert data.get_examples(d, "test")[0].label is None   # unlabelled test
  with pytest.raises(InputError, match="dev.jsonl line 2: the label is "
                     "empty"):
    tasks_lib.get_task("jsonl", "text", None, "y").get_examples(d, "dev")
  multi = tasks_lib.get_task("tsv", "text", None, "y", label_separator=",")
  (tmp_path / "train.tsv").write_text("text\ty\n好\tpos,,neg\n坏\t\n",
                                      encoding="utf-8")
  with pytest.raises(InputError, match="train.tsv line 2: an empty label"):
    multi.get_examples(d, "train")
  (tmp_path / "train.tsv").write_text("text\ty\n好\tpos,neg\n坏\t\n",
                                      encoding="utf-8")
  assert [e.label for e in multi.get_examples(d, "train")] == [
      ("neg", "pos"), ()]                      # an empty cell: no labels


def test_columns_are_kept_with_the_run_and_compared(tmp_path):
  """A later command on the run directory must read the run's columns."""
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
  first = classifier.Classifier("tsv", text_a_column="a", label_column="y")
  first.resolve_head(None, str(tmp_path))
  saved = first.head_info()
  assert saved["text_a_column"] == "a" and saved["label_column"] == "y"
  again = classifier.Classifier("tsv", text_a_column="b", label_column="y")
  with pytest.raises(SettingsError, match="--text_a_column=a"):
    again.resolve_head(saved, str(tmp_path))
  multi = classifier.Classifier("tsv", text_a_column="a", label_column="y",
                                multi_label=True)
  with pytest.raises(SettingsError, match="--multi_label=false"):
    multi.resolve_head(saved, str(tmp_path))


def test_a_later_command_reads_with_the_runs_columns(tmp_path):
  """Evaluate- and predict-only commands and resumes need no column flag:
  the run's columns (run_info.json's head) read the data; a new generic
  run still needs them."""
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
  d = _generic_folder(tmp_path, {"test.tsv": "id\ttext\ty\n1\t好\tpos\n"})
  first = classifier.Classifier("tsv", text_a_column="text", label_column="y")
  first.resolve_head(None, d)
  saved = first.head_info()
  again = classifier.Classifier("tsv")          # no column flag
  again.resolve_head(saved, d)
  assert (again.text_a_column, again.text_b_column, again.label_column) == (
      "text", None, "y")
  assert [(e.text_a, e.label) for e in again.read_split(d, "test", [
      "pos"])] == [("好", "pos")]
  assert again.cache_settings("test") == first.cache_settings("test")
  with pytest.raises(SettingsError, match="no --text_b_column"):
    classifier.Classifier("tsv", text_b_column="id").resolve_head(saved, d)
  with pytest.raises(SettingsError, match="--task=tsv needs --text_a_column"):
    classifier.Classifier("tsv").resolve_head(None, d)
  with pytest.raises(SettingsError, match="unknown --task"):
    classifier.Classifier("nosuchtask")


@pytest.mark.slow
def test_cli_predict_only_on_a_generic_run_needs_no_column_flag(tmp_path):
  """The documented predict-only command works on a --task=tsv run: the
  run's columns read the test file; a differing column is refused."""
  data = datasets.chnsenticorp(tmp_path / "data", train=16, dev=8, test=8)
  out = str(tmp_path / "run")
  proc = clirun.run_script(
      "run_classifier.py", "--task=tsv", "--text_a_column=text_a",
      "--label_column=label", "--data_dir=" + data,
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out, "--do_train",
      "--do_predict", "--max_seq_length=32", "--train_batch_size=8",
      "--num_train_steps=2")
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = os.path.join(out, "test_results.tsv")
  with open(results, encoding="utf-8") as f:
    trained = f.read()
  os.remove(results)
  proc = clirun.run_script("run_classifier.py", "--task=tsv",
                           "--data_dir=" + data, "--output_dir=" + out,
                           "--do_predict")
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(results, encoding="utf-8") as f:
    assert f.read() == trained
  proc = clirun.run_script("run_classifier.py", "--task=tsv",
                           "--text_a_column=label", "--data_dir=" + data,
                           "--output_dir=" + out, "--do_eval")
  clirun.assert_user_error(proc, "--text_a_column=text_a", "--output_dir")

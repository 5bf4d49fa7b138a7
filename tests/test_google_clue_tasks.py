"""Google's GLUE / XNLI processors and CLUE's classification tasks, on files
written here in each data set's published layout (the data sets are not in
../shared/data), and the drop-in flags of Google's commands."""

import json
import os

import pytest

from bert_toolkit.data import classification as tasks
from bert_toolkit.errors import InputError
from tests import clirun
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def _write(folder, name, lines):
  path = os.path.join(folder, name)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    f.write("".join(line + "\n" for line in lines))
  return path


def _read(name, folder, split, label_list=None):
  return tasks.get_task(name).get_examples(str(folder), split, label_list)


def test_cola_train_without_header_test_with_one(tmp_path):
  _write(tmp_path, "train.tsv", ["gj04\t1\t\tOur friends won't buy this.",
                                 "gj04\t0\t*\tThey drank the pub."])
  _write(tmp_path, "test.tsv", ["index\tsentence", "0\tBill whistled.",
                                "1\tThe book was by John written."])
  train = _read("cola", tmp_path, "train")
  assert [(e.text_a, e.label) for e in train] == [
      ("Our friends won't buy this.", "1"), ("They drank the pub.", "0")]
  test = _read("cola", tmp_path, "test")
  assert [(e.index, e.text_a, e.label) for e in test] == [
      ("0", "Bill whistled.", None), ("1", "The book was by John written.",
                                      None)]


def test_mrpc_and_mnli_columns_by_name(tmp_path):
  _write(tmp_path, "train.tsv", [
      "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
      "1\t702876\t702977\tAmrozi accused his brother.\tHe accused him."])
  _write(tmp_path, "test.tsv", [
      "index\t#1 ID\t#2 ID\t#1 String\t#2 String",
      "0\t1089874\t1089925\tPCCW's chief.\tThe chief."])
  (e,) = _read("mrpc", tmp_path, "train")
  assert (e.text_a, e.text_b, e.label) == ("Amrozi accused his brother.",
                                           "He accused him.", "1")
  (t,) = _read("mrpc", tmp_path, "test")
  assert (t.index, t.text_b, t.label) == ("0", "The chief.", None)

  mnli = tmp_path / "mnli"
  header = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\t"
            "sentence2_binary_parse\tsentence1_parse\tsentence2_parse\t"
            "sentence1\tsentence2")
  _write(mnli, "dev_matched.tsv", [
      header + "\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label",
      "0\t1\t1e\tgov\t(\t(\t(\t(\tThe new rights.\tEveryone loves them."
      "\tneutral\tentailment\tneutral\tneutral\tneutral\tneutral"])
  _write(mnli, "test_matched.tsv", [
      header, "0\t31\t31e\tgov\t(\t(\t(\t(\tHierbas.\tWords."])
  (d,) = _read("mnli", mnli, "dev")
  assert (d.text_a, d.text_b, d.label) == ("The new rights.",
                                           "Everyone loves them.", "neutral")
  (t,) = _read("mnli", mnli, "test")
  assert t.label is None and t.index == "0"
  assert tasks.get_task("mnli").get_labels(str(mnli)) == [
      "contradiction", "entailment", "neutral"]


def test_xnli_train_from_multinli_dev_filtered_to_chinese(tmp_path):
  _write(tmp_path, "multinli/multinli.train.zh.tsv", [
      "premise\thypo\tlabel", "他说。\t他没说。\tcontradictory",
      "我来了。\t有人来了。\tentailment"])
  _write(tmp_path, "xnli.dev.tsv", [
      "language\tgold_label\tsentence1\tsentence2",
      "en\tneutral\tHe came.\tHe left.",
      "zh\tentailment\t他来了。\t有人来了。"])
  train = _read("xnli", tmp_path, "train")
  assert [e.label for e in train] == ["contradiction", "entailment"]
  dev = _read("xnli", tmp_path, "dev")
  assert [(e.text_a, e.label) for e in dev] == [("他来了。", "entailment")]


def test_clue_json_tasks(tmp_path):
  afqmc = tmp_path / "afqmc"
  _write(afqmc, "train.json", [json.dumps(
      {"sentence1": "花呗收款", "sentence2": "花呗怎么收款", "label": "1"},
      ensure_ascii=False)])
  _write(afqmc, "test.json", [json.dumps(
      {"id": 7, "sentence1": "借呗", "sentence2": "还款"},
      ensure_ascii=False)])
  (e,) = _read("afqmc", afqmc, "train")
  assert (e.text_a, e.text_b, e.label) == ("花呗收款", "花呗怎么收款", "1")
  (t,) = _read("afqmc", afqmc, "test")
  assert (t.index, t.label) == ("7", None)

  cmnli = tmp_path / "cmnli"
  _write(cmnli, "dev.json", [
      json.dumps({"sentence1": "a", "sentence2": "b", "label": "neutral"}),
      json.dumps({"sentence1": "c", "sentence2": "d", "label": "-"})])
  assert [e.label for e in _read("cmnli", cmnli, "dev")] == ["neutral"]

  csl = tmp_path / "csl"
  _write(csl, "train.json", [json.dumps(
      {"id": 1, "abst": "摘要", "keyword": ["水声", "通信"], "label": "0"},
      ensure_ascii=False)])
  (e,) = _read("csl", csl, "train")
  assert (e.text_a, e.text_b, e.label) == ("水声 通信", "摘要", "0")

  iflytek = tmp_path / "iflytek"
  _write(iflytek, "labels.json", ['{"label": "0", "label_des": "打车"}',
                                  '{"label": "1", "label_des": "地图"}'])
  _write(iflytek, "train.json", ['{"label": "1", "sentence": "导航"}'])
  train = _read("iflytek", iflytek, "train")
  data = tasks.get_task("iflytek")
  assert data.get_labels(str(iflytek), train) == ["0", "1"]


def test_bad_rows_name_file_and_line(tmp_path):
  _write(tmp_path, "train.tsv", ["gj04\t1\t\tFine.", "gj04\t2\t\tNo."])
  with pytest.raises(InputError) as err:
    _read("cola", tmp_path, "train")
  assert "train.tsv" in str(err.value) and "line 2" in str(err.value)
  _write(tmp_path, "train.json", ['{"abst": "x", "keyword": [1], '
                                  '"label": "0"}'])
  with pytest.raises(InputError) as err:
    _read("csl", tmp_path, "train")
  assert "keyword" in str(err.value) and "a list of strings" in str(
      err.value)
  # Only csl's keyword column joins a list: elsewhere a list stays an error.
  _write(tmp_path, "train.json", ['{"sentence1": ["a"], "sentence2": "b", '
                                  '"label": "0"}'])
  with pytest.raises(InputError) as err:
    _read("afqmc", tmp_path, "train")
  assert "'sentence1' (text_a) is list" in str(err.value)


# ------------------------------------------- Google's commands, as typed ---

@pytest.fixture(scope="module")
def mrpc(tmp_path_factory):
  folder = tmp_path_factory.mktemp("mrpc")
  header = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"
  rows = ["%d\t%d\t%d\t公司今天发布了新产品%d\t新产品%s发布" % (
      i % 2, i, i + 1, i, "今天" if i % 2 else "没有") for i in range(16)]
  _write(folder, "train.tsv", [header] + rows)
  _write(folder, "dev.tsv", [header] + rows[:8])
  return str(folder)


def _google(mrpc_dir, out, *extra):
  """google-research/bert's README command for MRPC, flags as it spells
  them (vocab, config and checkpoint given one by one)."""
  return clirun.run_script(
      "run_classifier.py", "--task_name=MRPC", "--do_train=true",
      "--do_eval=true", "--data_dir=" + mrpc_dir,
      "--vocab_file=" + os.path.join(BERT_DIR, "vocab.txt"),
      "--bert_config_file=" + os.path.join(BERT_DIR, "bert_config.json"),
      "--init_checkpoint=" + os.path.join(BERT_DIR, "bert_model.ckpt"),
      "--max_seq_length=32", "--train_batch_size=8", "--learning_rate=2e-5",
      "--num_train_epochs=1.0", "--output_dir=" + out, *extra)


@pytest.mark.slow
def test_googles_mrpc_command_with_tpu_flags_runs(mrpc, tmp_path):
  proc = _google(mrpc, str(tmp_path / "run"), "--use_tpu=false",
                 "--tpu_name=grpc://10.0.0.2:8470", "--num_tpu_cores=8",
                 "--iterations_per_loop=1000", "--master=")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "TPU is off: ignoring --tpu_name, --master, --num_tpu_cores, " \
      "--iterations_per_loop" in proc.stderr
  assert "eval accuracy = " in proc.stdout


def test_use_tpu_true_is_one_line(mrpc, tmp_path):
  proc = _google(mrpc, str(tmp_path / "run"), "--use_tpu=true",
                 "--tpu_name=grpc://10.0.0.2:8470")
  clirun.assert_user_error(proc, "--use_tpu=true", "not on TPUs")


@pytest.mark.slow
def test_google_output_format_and_run_ner_task_name(mrpc, tmp_path):
  out = str(tmp_path / "run")
  _write(mrpc, "test.tsv", ["index\t#1 ID\t#2 ID\t#1 String\t#2 String",
                            "0\t1\t2\t公司发布产品\t产品发布",
                            "1\t3\t4\t今天下雨\t今天晴天"])
  proc = _google(mrpc, out, "--do_predict=true", "--google_output_format")
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(out, "test_results.tsv"), encoding="utf-8") as f:
    lines = f.read().splitlines()
  assert len(lines) == 2                       # no header
  for line in lines:
    probabilities = [float(v) for v in line.split("\t")]
    assert len(probabilities) == 2 and abs(sum(probabilities) - 1) < 1e-5
  # run_ner.py takes Google's --task_name too (and its TPU flags).
  proc = clirun.run_script("run_ner.py", "--task_name=nosuchtask",
                           "--use_tpu=false", "--data_dir=" + mrpc,
                           "--output_dir=" + str(tmp_path / "ner"),
                           "--do_train")
  clirun.assert_user_error(proc, "nosuchtask")


@pytest.mark.slow
def test_case_check_names_its_flag_and_the_flag_skips_it(mrpc, tmp_path):
  """Google's check of --do_lower_case against a released folder name says
  to "comment out this check"; here it names --skip_case_check."""
  folder = tmp_path / "uncased_L-12_H-768_A-12"
  folder.mkdir()
  for name in os.listdir(BERT_DIR):
    os.symlink(os.path.join(BERT_DIR, name), str(folder / name))
  args = ("run_classifier.py", "--task_name=mrpc", "--data_dir=" + mrpc,
          "--init_checkpoint=" + str(folder / "bert_model.ckpt"),
          "--do_lower_case=false", "--do_train", "--max_seq_length=32",
          "--train_batch_size=8", "--num_train_epochs=0.5")
  proc = clirun.run_script(*args, "--output_dir=" + str(tmp_path / "a"))
  clirun.assert_user_error(proc, "seems to be a lowercased model",
                           "--skip_case_check")
  proc = clirun.run_script(*args, "--output_dir=" + str(tmp_path / "b"),
                           "--skip_case_check")
  assert proc.returncode == 0, proc.stderr[-3000:]

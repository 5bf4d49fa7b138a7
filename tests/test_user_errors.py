"""Every user mistake a script can meet is ONE `error:` line naming the file,
line or flag and the fix, with exit status 2: never a traceback."""

import json
import os
import shutil

import pytest

from tests import clirun
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def _write(path, text, encoding="utf-8"):
  with open(path, "w", encoding=encoding) as f:
    f.write(text)


def _chnsenticorp(d):
  """A tiny valid chnsenticorp folder."""
  os.makedirs(d, exist_ok=True)
  rows = "label\ttext_a\n1\t房间很干净\n0\t服务太差了\n1\t不错\n0\t很一般\n"
  for split in ("train", "dev", "test"):
    _write(os.path.join(d, split + ".tsv"), rows)
  return d


def _classifier(data_dir, out, *extra):
  return ("run_classifier.py", "--task=chnsenticorp",
          "--data_dir=" + data_dir, "--init_checkpoint=" + BERT_DIR,
          "--output_dir=" + out, "--do_train", "--max_seq_length=16",
          "--num_train_epochs=1", "--train_batch_size=2") + tuple(extra)


def _bert_copy(tmp, edit=None, drop=None):
  """A copy of the tiny BERT folder with its config edited or a file
  dropped."""
  folder = os.path.join(tmp, "bert_copy")
  shutil.copytree(BERT_DIR, folder)
  if edit:
    path = os.path.join(folder, "bert_config.json")
    config = json.load(open(path))
    config.update(edit)
    json.dump(config, open(path, "w"))
  for name in drop or ():
    os.remove(os.path.join(folder, name))
  return folder


def case_settings(tmp):
  d = _chnsenticorp(os.path.join(tmp, "data"))
  out = os.path.join(tmp, "out")
  return [
      (_classifier(d, out, "--train_batch_size=0"),
       ["--train_batch_size must be at least 1"]),
      (_classifier(d, out, "--train_batch_size=-3"),
       ["--train_batch_size must be at least 1"]),
      (_classifier(d, out, "--max_seq_length=1"),
       ["--max_seq_length must be at least 3"]),
      (_classifier(d, out, "--max_seq_length=100000"),
       ["exceeds max_position_embeddings"]),
      (_classifier(d, out, "--layerwise_lr_decay=0"),
       ["--layerwise_lr_decay must be in (0, 1]"]),
      (_classifier(d, out, "--layerwise_lr_decay=1.5"),
       ["--layerwise_lr_decay must be in (0, 1]"]),
      (_classifier(d, out, "--num_train_epochs=0"),
       ["--num_train_epochs must be positive"]),
      (_classifier(d, out, "--gradient_accumulation_steps=0"),
       ["--gradient_accumulation_steps must be at least 1"]),
      (_classifier(d, out, "--freeze=["),
       ["--freeze='[' is not a valid regular expression"]),
      (_classifier(d, out, "--freeze=.*"),
       ["leave no variable to train"]),
      (_classifier(d, out, "--best_metric=f1"),
       ["--best_metric for classifier is accuracy or macro_f1"]),
      (("run_classifier.py", "--task=foo", "--data_dir=" + d,
        "--output_dir=" + out, "--do_train", "--init_checkpoint=" + BERT_DIR),
       ["unknown --task 'foo'", "chnsenticorp"]),
      (("run_classifier.py", "--task=chnsenticorp", "--data_dir=" + d,
        "--output_dir=" + out), ["nothing to do"]),
      (("run_classifier.py", "--data_dir=" + d, "--output_dir=" + out,
        "--do_train"), ["--task is required"]),
      (("run_classifier.py", "--task=sst2", "--max_seq_length=many"),
       ["max_seq_length"]),
      (("run_ner.py", "--task=peoples_daily", "--data_dir=" + d,
        "--output_dir=" + out, "--do_train", "--init_checkpoint=" + BERT_DIR,
        "--best_metric=accuracy"),
       ["--best_metric for ner is f1 or precision or recall"]),
      (("run_ner.py", "--task=peoples_daily", "--word_units",
        "--data_dir=" + d, "--output_dir=" + out, "--do_train"),
       ["--word_units applies to --task=bio only"]),
  ]


def case_data(tmp):
  cases = []
  gbk = _chnsenticorp(os.path.join(tmp, "gbk"))
  _write(os.path.join(gbk, "train.tsv"), "label\ttext_a\n1\tgood\n0\t房间很差\n",
         encoding="gbk")
  cases.append((_classifier(gbk, os.path.join(tmp, "o1")),
                ["train.tsv line 3", "not UTF-8", "iconv"]))
  lcqmc = os.path.join(tmp, "lcqmc")
  os.makedirs(lcqmc)
  for split in ("train", "dev", "test"):
    _write(os.path.join(lcqmc, split + ".txt"),
           "好吗\t好的\t1\n行吗\t不行\t0\textra\n")
  cases.append((("run_classifier.py", "--task=lcqmc", "--data_dir=" + lcqmc,
                 "--init_checkpoint=" + BERT_DIR, "--do_train",
                 "--output_dir=" + os.path.join(tmp, "o2")),
                ["train.txt line 2", "expected 3 tab-separated columns"]))
  tnews = os.path.join(tmp, "tnews")
  os.makedirs(tnews)
  _write(os.path.join(tnews, "labels.json"), '{"label": "100"}\n')
  _write(os.path.join(tnews, "train.json"),
         '{"sentence": "a", "label": "100"}\n'
         '{"sentence": "b", "label": "117"}\n')
  cases.append((("run_classifier.py", "--task=tnews", "--data_dir=" + tnews,
                 "--init_checkpoint=" + BERT_DIR, "--do_train",
                 "--output_dir=" + os.path.join(tmp, "o3")),
                ["train.json line 2", "'117'", "labels.json"]))
  for name, line, fragment in (
      ("null", '{"q": null, "y": "a"}', "is null"),
      ("list", '{"q": ["x"], "y": "a"}', "is list"),
      ("float", '{"q": "x", "y": 1.0}', "is float 1.0"),
      ("bool", '{"q": "x", "y": true}', "is bool true"),
      ("object", '{"q": "x", "y": {"x": 1}}', "is dict")):
    jsonl = os.path.join(tmp, "jsonl_" + name)
    os.makedirs(jsonl)
    _write(os.path.join(jsonl, "train.jsonl"),
           '{"q": "ok", "y": "a"}\n' + line + "\n")
    cases.append((("run_classifier.py", "--task=jsonl", "--text_a_column=q",
                   "--label_column=y", "--data_dir=" + jsonl,
                   "--init_checkpoint=" + BERT_DIR, "--do_train",
                   "--output_dir=" + os.path.join(tmp, "o_" + name)),
                  ["train.jsonl line 2", fragment]))
  csv_dir = os.path.join(tmp, "csv")
  os.makedirs(csv_dir)
  # The first record spans physical lines 2-3; the bad one is line 4.
  _write(os.path.join(csv_dir, "train.csv"),
         'text,label\n"two\nlines",1\n"one",0,extra\n')
  cases.append((("run_classifier.py", "--task=csv", "--text_a_column=text",
                 "--label_column=label", "--data_dir=" + csv_dir,
                 "--init_checkpoint=" + BERT_DIR, "--do_train",
                 "--output_dir=" + os.path.join(tmp, "o5")),
                ["train.csv line 4", "expected 2 comma-separated"]))
  return cases


def case_models(tmp):
  d = _chnsenticorp(os.path.join(tmp, "data"))
  out = os.path.join(tmp, "out")
  no_data = _bert_copy(os.path.join(tmp, "a"),
                       drop=["bert_model.ckpt.data-00000-of-00001"])
  bad_act = _bert_copy(os.path.join(tmp, "b"), edit={"hidden_act": "swishy"})
  fewer = _bert_copy(os.path.join(tmp, "c"), edit={"num_hidden_layers": 1})
  args = _classifier(d, out)
  return [
      (args[:3] + ("--init_checkpoint=" + no_data,) + args[4:],
       ["data file", "missing"]),
      (args[:3] + ("--init_checkpoint=" + bad_act,) + args[4:],
       ["hidden_act", "swishy"]),
      (args[:3] + ("--init_checkpoint=" + fewer,) + args[4:],
       ["--allow_partial_restore", "bert/encoder/layer_1"]),
      (args + ("--model_type=gpt",), ["--model_type=gpt", "albert, bert"]),
  ]


def case_inputs(tmp):
  gbk = os.path.join(tmp, "gbk.txt")
  _write(gbk, "好的\n房间很差\n", encoding="gbk")
  blank = os.path.join(tmp, "blank.txt")
  _write(blank, "好的\n\n很差\n")
  missing = os.path.join(tmp, "missing.txt")
  extract = ("extract_features.py", "--init_checkpoint=" + BERT_DIR,
             "--output_file=" + os.path.join(tmp, "out.jsonl"))
  return [
      (("predict.py", "--export_dir=" + tmp, "--input_file=" + missing),
       ["missing.txt", "file not found"]),
      (("predict.py", "--export_dir=" + tmp, "--input_file=" + gbk),
       ["gbk.txt line 1", "not UTF-8"]),
      (("predict.py", "--export_dir=" + tmp, "--input_file=" + blank),
       ["blank.txt line 2", "empty line"]),
      (("predict.py", "--export_dir=" + tmp, ""),
       ["text argument 1 is empty"]),
      (extract + ("--input_file=" + missing,), ["file not found"]),
      (extract + ("--input_file=" + gbk,), ["gbk.txt line 1", "not UTF-8"]),
      (("extract_features.py", "--init_checkpoint=" + BERT_DIR,
        "--input_file=" + blank, "--output_file=" + blank),
       ["--output_file is --input_file"]),
  ]


def _fake_teacher(folder):
  """A folder a teacher reads like a classifier run: the tiny BERT's
  checkpoint with a run_info.json (no training needed)."""
  if not os.path.isdir(folder):
    shutil.copytree(BERT_DIR, folder)
  with open(os.path.join(BERT_DIR, "bert_config.json")) as f:
    config = json.load(f)
  _write(os.path.join(folder, "checkpoint"),
         'model_checkpoint_path: "bert_model.ckpt"\n')
  _write(os.path.join(folder, "run_info.json"), json.dumps({
      "format": 2, "kind": "classifier", "model_type": "bert",
      "config": config, "vocab_file": "vocab.txt", "do_lower_case": True,
      "max_seq_length": 16, "labels": ["0", "1"], "task": "chnsenticorp",
      "head": {}, "train": {}}))
  return folder


def case_paths(tmp):
  """Where a script writes: never into, inside or around what it reads
  (symlinks resolved), and a place it can write."""
  d = _chnsenticorp(os.path.join(tmp, "data"))
  model = os.path.join(tmp, "M")
  if not os.path.isdir(model):
    shutil.copytree(BERT_DIR, model)
  link = os.path.join(tmp, "M_link")
  if not os.path.lexists(link):
    os.symlink(model, link)
  teacher = _fake_teacher(os.path.join(tmp, "T"))
  a_file = os.path.join(tmp, "a_file")
  _write(a_file, "x")
  corpus = os.path.join(tmp, "c.txt")
  _write(corpus, "今天天气很好。\n我们去公园。\n\n他在看书。\n")
  vocab = os.path.join(model, "vocab.txt")

  def classifier(out, *extra):
    return ("run_classifier.py", "--task=chnsenticorp", "--data_dir=" + d,
            "--init_checkpoint=" + model, "--output_dir=" + out,
            "--do_train", "--overwrite_output_dir", "--max_seq_length=16",
            "--num_train_steps=2", "--train_batch_size=2") + tuple(extra)

  pretraining_data = ("create_pretraining_data.py", "--input_file=" + corpus,
                      "--vocab_file=" + vocab, "--max_seq_length=16",
                      "--max_predictions_per_seq=2", "--dupe_factor=1")
  cases = [
      (classifier(model), ["--output_dir is --init_checkpoint", model]),
      (classifier(link), ["--output_dir is --init_checkpoint", link]),
      (classifier(os.path.join(model, "run")),
       ["--output_dir lies inside --init_checkpoint"]),
      (classifier(tmp), ["--output_dir holds --"]),
      (classifier(os.path.join(tmp, "out"), "--cache_dir=" + d),
       ["--cache_dir is --data_dir"]),
      (classifier(a_file), ["--output_dir", "is a file, not a folder"]),
      (classifier(os.path.join(a_file, "run")), [a_file, "which is a file"]),
      (("run_distill.py", "--teacher_dir=" + teacher,
        "--output_dir=" + teacher, "--overwrite_output_dir", "--do_train",
        "--student_layers=0", "--data_dir=" + d, "--num_train_steps=2"),
       ["--output_dir is --teacher_dir"]),
      (pretraining_data + ("--output_file=" + corpus,),
       ["--output_file is --input_file"]),
      (pretraining_data + ("--output_file=%s,%s" % (
          os.path.join(tmp, "a.tfrecord"), os.path.join(tmp, "a.tfrecord")),),
       ["--output_file names", "twice"]),
      (pretraining_data + ("--output_file=" + vocab,),
       ["--output_file is --vocab_file"]),
      (("extract_features.py", "--init_checkpoint=" + model,
        "--input_file=" + corpus, "--output_file=" + d),
       ["--output_file", "is a folder"]),
      (("extract_features.py", "--init_checkpoint=" + model,
        "--input_file=" + corpus,
        "--output_file=" + os.path.join(link, "out.jsonl")),
       ["--output_file lies inside --init_checkpoint"]),
      (("export_savedmodel.py", "--model_dir=" + teacher,
        "--export_dir=" + a_file), ["--export_dir", "is a file"]),
      (("export_savedmodel.py", "--model_dir=" + teacher,
        "--export_dir=" + os.path.join(teacher, "export")),
       ["--export_dir lies inside --model_dir"]),
      (("convert_checkpoint.py", "--hf_dir=" + model,
        "--output_dir=" + link), ["--output_dir is --hf_dir"]),
  ]
  locked = os.path.join(tmp, "locked")
  os.makedirs(locked, exist_ok=True)
  os.chmod(locked, 0o555)
  if not os.access(locked, os.W_OK):   # root writes there anyway
    cases += [
        (classifier(os.path.join(locked, "run")), [locked, "read-only"]),
        (classifier(os.path.join(tmp, "out"),
                    "--cache_dir=" + os.path.join(locked, "features")),
         ["--cache_dir", "read-only"]),
        (("convert_checkpoint.py", "--hf_dir=" + model,
          "--output_dir=" + locked), ["--output_dir", "read-only"]),
    ]
  return cases


def case_reading(tmp):
  """Reading data and checking settings: values no script may take (out
  of range, not finite), labels that are not classes, tags the model does
  not know, a student that cannot be."""
  d = _chnsenticorp(os.path.join(tmp, "data"))
  out = os.path.join(tmp, "out")
  generic = os.path.join(tmp, "generic")
  os.makedirs(generic, exist_ok=True)
  _write(os.path.join(generic, "train.tsv"), "text_a\tlabel\n好\t1\n差\t0\n")
  empty = os.path.join(tmp, "empty")
  os.makedirs(empty, exist_ok=True)
  _write(os.path.join(empty, "train.tsv"), "text\ty\n好\t1\n差\t\n")
  ner = os.path.join(tmp, "ner")
  os.makedirs(ner, exist_ok=True)
  _write(os.path.join(ner, "train.txt"), "张 B-PER\n三 I-PER\n\n好 O\n")
  _write(os.path.join(ner, "dev.txt"), "张 B-PER\n\n北 B-FOO\n")
  teacher = _fake_teacher(os.path.join(tmp, "teacher"))
  ner_run = ("run_ner.py", "--task=bio", "--data_dir=" + ner,
             "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out,
             "--max_seq_length=16", "--train_batch_size=2")
  distill = ("run_distill.py", "--teacher_dir=" + teacher, "--data_dir=" + d,
             "--output_dir=" + out, "--do_train")
  return [
      (_classifier(d, out, "--learning_rate=inf"),
       ["--learning_rate must be a finite number"]),
      (_classifier(d, out, "--learning_rate=1e300"),
       ["--learning_rate must be a finite number"]),
      (_classifier(d, out, "--focal_loss_gamma=nan"),
       ["--focal_loss_gamma must be a finite number"]),
      (_classifier(d, out, "--weight_decay_rate=nan"),
       ["--weight_decay_rate must be a finite number"]),
      (_classifier(d, out, "--window_stride=-3"),
       ["--window_stride must be at least 0"]),
      (ner_run + ("--do_train", "--window_stride=-3"),
       ["--window_stride must be at least 0"]),
      (distill + ("--temperature=nan",),
       ["--temperature must be a finite number"]),
      (distill + ("--hidden_loss_weight=nan",),
       ["--hidden_loss_weight must be a finite number"]),
      (distill + ("--student_layers=0,9",),
       ["--student_layers must be distinct teacher layers 0..1, got 0,9"]),
      (("run_classifier.py", "--task=tsv", "--text_a_column=0",
        "--label_column=1", "--data_dir=" + generic, "--init_checkpoint=" +
        BERT_DIR, "--output_dir=" + out, "--do_train"),
       ["train.tsv line 1", "header", "--text_a_column=text_a"]),
      (("run_classifier.py", "--task=tsv", "--text_a_column=text",
        "--label_column=y", "--data_dir=" + empty, "--init_checkpoint=" +
        BERT_DIR, "--output_dir=" + out, "--do_train"),
       ["train.tsv line 3", "the label is empty"]),
      (ner_run + ("--do_train", "--do_eval", "--num_train_steps=1"),
       ["dev.txt line 3", "'B-FOO'", "training file"]),
  ]


def _pretraining_records(path, n, seq=16, cut=None):
  """n pre-training TFRecords (create_pretraining_data's features);
  `cut` keeps that share of the bytes (a truncated copy)."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  ints = lambda k: tf.train.Feature(int64_list=tf.train.Int64List(  # pylint: disable=g-long-lambda
      value=[1 + i % 50 for i in range(k)]))
  feature = {"input_ids": ints(seq), "input_mask": ints(seq),
             "segment_ids": ints(seq), "masked_lm_positions": ints(4),
             "masked_lm_ids": ints(4), "next_sentence_labels": ints(1),
             "masked_lm_weights": tf.train.Feature(
                 float_list=tf.train.FloatList(value=[1.0] * 4))}
  record = tf.train.Example(features=tf.train.Features(
      feature=feature)).SerializeToString()
  with tf.io.TFRecordWriter(path) as writer:
    for _ in range(n):
      writer.write(record)
  if cut:
    with open(path, "rb") as f:
      data = f.read()
    with open(path, "wb") as f:
      f.write(data[:int(len(data) * cut)])
  return path


def case_pretraining(tmp):
  corpus = os.path.join(tmp, "corpus.txt")
  _write(corpus, "第一句话。\n第二句话。\n\n另一个文档。\n还有一句。\n")
  vocab = os.path.join(BERT_DIR, "vocab.txt")
  no_mask = os.path.join(tmp, "vocab_no_mask.txt")
  with open(vocab, encoding="utf-8") as f:
    _write(no_mask, "".join(l for l in f if l.strip() != "[MASK]"))
  empty = os.path.join(tmp, "vocab_empty.txt")
  _write(empty, "")

  def create(*extra):
    return ("create_pretraining_data.py", "--input_file=" + corpus,
            "--output_file=" + os.path.join(tmp, "out.tfrecord"),
            "--num_workers=1") + extra

  pre = os.path.join(tmp, "pre")
  os.makedirs(pre, exist_ok=True)
  a = _pretraining_records(os.path.join(pre, "a.tfrecord"), 8)
  b = _pretraining_records(os.path.join(pre, "b.tfrecord"), 8, seq=32)
  cut = _pretraining_records(os.path.join(pre, "cut.tfrecord"), 64,
                             cut=0.53)

  def pretrain(files):
    return ("run_pretraining.py", "--input_file=" + files,
            "--output_dir=" + os.path.join(tmp, "pretrain_out"),
            "--init_checkpoint=" + BERT_DIR, "--do_train",
            "--num_train_steps=40", "--num_warmup_steps=0",
            "--train_batch_size=4")

  return [
      (create("--vocab_file=" + no_mask), ["lacks [MASK]", no_mask]),
      (create("--vocab_file=" + empty), ["is empty", empty]),
      (create("--vocab_file=" + vocab, "--do_whole_word_mask",
              "--word_segmentation=wordlist",
              "--word_list=" + os.path.join(tmp, "nowhere.txt")),
       ["word list not found", "--word_list"]),
      (pretrain(a + "," + b), [b, "made with --max_seq_length=32"]),
      (pretrain(cut), [cut, "truncated or corrupt after record",
                       "create_pretraining_data.py"]),
  ]


def case_pretraining_chunks(tmp):
  """create_pretraining_data.py's chunking and long-line settings."""
  corpus = os.path.join(tmp, "corpus.txt")
  _write(corpus, "第一句话。\n第二句话。\n\n另一个文档。\n还有一句。\n")

  def create(*extra):
    return ("create_pretraining_data.py", "--input_file=" + corpus,
            "--output_file=" + os.path.join(tmp, "out.tfrecord"),
            "--vocab_file=" + os.path.join(BERT_DIR, "vocab.txt")) + extra

  return [
      (create("--documents_per_chunk=1"),
       ["--documents_per_chunk must be 0", "at least 2, got 1"]),
      (create("--max_line_chars=-5"),
       ["--max_line_chars must be 0", "got -5"]),
  ]


def case_servers(tmp):
  ws = os.path.join(tmp, "ws")
  return [
      (("serve.py", "--export_dir=" + tmp, "--port=99999"),
       ["--port=99999", "0 to 65535"]),
      (("serve.py", "--export_dir=" + tmp, "--port=-1"),
       ["--port=-1", "0 to 65535"]),
      (("studio.py", "--workspace=" + ws, "--port=99999"),
       ["--port=99999", "0 to 65535"]),
      (("studio.py", "--workspace=" + ws, "--port=-1"),
       ["--port=-1", "0 to 65535"]),
  ]


def case_broken(tmp):
  """Broken checkpoints, vocabs and environments met by the writers."""
  teacher = _fake_teacher(os.path.join(tmp, "run"))
  no_shard = os.path.join(tmp, "no_shard")
  cut_shard = os.path.join(tmp, "cut_shard")
  for folder in (no_shard, cut_shard):
    if not os.path.isdir(folder):
      shutil.copytree(teacher, folder)
  for name in os.listdir(no_shard):
    if ".data-" in name:
      os.remove(os.path.join(no_shard, name))
  for name in os.listdir(cut_shard):
    if ".data-" in name:
      path = os.path.join(cut_shard, name)
      with open(path, "rb") as f:
        head = f.read(1000)
      with open(path, "wb") as f:
        f.write(head)
  hf = os.path.join(tmp, "hf")
  if not os.path.isdir(hf):
    shutil.copytree(os.path.join(REFERENCE_DIR, "distilbert_en_tiny"), hf)
  _write(os.path.join(hf, "vocab.txt"), "")
  d = _chnsenticorp(os.path.join(tmp, "data"))
  out = os.path.join(tmp, "out")
  return [
      (("export_savedmodel.py", "--model_dir=" + no_shard,
        "--export_dir=" + os.path.join(tmp, "e1")),
       ["data file", "is missing", "copy every file"]),
      (("export_savedmodel.py", "--model_dir=" + cut_shard,
        "--export_dir=" + os.path.join(tmp, "e2")),
       ["cannot read the checkpoint", "truncated or corrupt"]),
      (("convert_checkpoint.py", "--hf_dir=" + hf,
        "--output_dir=" + os.path.join(tmp, "converted")),
       ["vocab.txt is empty"]),
      (_classifier(d, out), ["TF_CONFIG"], {"TF_CONFIG": json.dumps(
          {"cluster": [], "task": {"type": "worker", "index": 0}})}),
  ]


def _trained_generic_run(folder, kind, head):
  """A folder that reads like a trained --task=tsv run of `kind` with the
  columns of `head`: the tiny BERT's checkpoint and a run_info.json."""
  folder = _fake_teacher(folder)
  path = os.path.join(folder, "run_info.json")
  with open(path) as f:
    info = json.load(f)
  info.update(kind=kind, task="tsv", head=head,
              labels=["score"] if kind == "regression" else ["0", "1"])
  _write(path, json.dumps(info))
  return folder


def case_remembered_reading(tmp):
  """A run keeps how its data is read: a later command may leave the
  columns out, but not name others; a new generic run must name them."""
  d = os.path.join(tmp, "generic")
  os.makedirs(d, exist_ok=True)
  for split in ("train", "dev", "test"):
    _write(os.path.join(d, split + ".tsv"), "text\tlabel\n好\t1\n差\t0\n")
  columns = {"text_a_column": "text", "text_b_column": None,
             "label_column": "label"}
  run = _trained_generic_run(os.path.join(tmp, "R"), "classifier", columns)
  scores = _trained_generic_run(os.path.join(tmp, "S"), "regression",
                                columns)
  multi = _trained_generic_run(os.path.join(tmp, "ML"), "classifier",
                               dict(columns, multi_label=True))

  def later(script, out, *extra):
    return (script,) + extra + ("--task=tsv", "--data_dir=" + d,
                                "--output_dir=" + out, "--do_predict")

  return [
      (later("run_classifier.py", run, "--text_a_column=label"),
       ["was trained with --text_a_column=text", "--text_a_column=label"]),
      (later("run_classifier.py", run, "--text_b_column=label"),
       ["was trained with no --text_b_column"]),
      (later("run_task.py", scores, "--kind=regression",
             "--label_column=text"),
       ["was trained with --label_column=label"]),
      (("run_classifier.py", "--task=tsv", "--data_dir=" + d,
        "--init_checkpoint=" + BERT_DIR, "--output_dir=" +
        os.path.join(tmp, "new"), "--do_train"),
       ["--task=tsv needs --text_a_column and --label_column"]),
      (("run_distill.py", "--teacher_dir=" + multi, "--data_dir=" + d,
        "--output_dir=" + os.path.join(tmp, "student"), "--do_train",
        "--student_layers=0"),
       ["multi-label", "single-label teacher"]),
  ]


def case_subsets(tmp):
  """--max_train_samples / --max_eval_samples / --max_predict_samples: at
  least 1 (left out: every example), on every run script."""
  d = _chnsenticorp(os.path.join(tmp, "data"))
  out = os.path.join(tmp, "out")
  return [
      (_classifier(d, out, "--max_train_samples=0"),
       ["--max_train_samples must be at least 1"]),
      (_classifier(d, out, "--max_eval_samples=-2", "--do_eval"),
       ["--max_eval_samples must be at least 1"]),
      (_classifier(d, out, "--max_predict_samples=many"),
       ["--max_predict_samples"]),
      (("run_ner.py", "--task=peoples_daily", "--data_dir=" + d,
        "--output_dir=" + out, "--do_train", "--init_checkpoint=" + BERT_DIR,
        "--max_train_samples=0"),
       ["--max_train_samples must be at least 1"]),
      (("run_task.py", "--kind=regression", "--task=tsv", "--data_dir=" + d,
        "--output_dir=" + out, "--do_predict", "--max_predict_samples=0"),
       ["--max_predict_samples must be at least 1"]),
      (("run_distill.py", "--teacher_dir=" + out, "--data_dir=" + d,
        "--output_dir=" + os.path.join(tmp, "student"), "--do_train",
        "--student_layers=0", "--max_eval_samples=0"),
       ["--max_eval_samples must be at least 1"]),
  ]


def case_prune_vocab(tmp):
  """prune_vocab.py: what it reads exists and is whole, what it writes is
  new or its own."""
  corpus = os.path.join(tmp, "corpus.txt")
  _write(corpus, "房间很干净\n")
  latin1 = os.path.join(tmp, "latin1.txt")
  _write(latin1, "caf\xe9\n", encoding="latin-1")
  mine = os.path.join(tmp, "mine")
  os.makedirs(mine, exist_ok=True)
  _write(os.path.join(mine, "notes.txt"), "x")

  def prune(*extra, model=BERT_DIR):
    return ("prune_vocab.py", "--model_dir=" + model,
            "--corpus_files=" + corpus,
            "--output_dir=" + os.path.join(tmp, "out")) + tuple(extra)
  return [
      (prune(model=os.path.join(tmp, "no_such_run")), ["no_such_run"]),
      (prune("--corpus_files=" + os.path.join(tmp, "*.nothing")),
       ["--corpus_files", "matches no file"]),
      (prune("--output_dir=" + mine), ["did not write", "new or empty"]),
      (prune("--keep_tokens=[E1]"), ["--keep_tokens", "[E1]", "not in"]),
      (prune("--corpus_files=" + latin1), [latin1, "not UTF-8"]),
  ]


def case_prune_model(tmp):
  """prune_model.py: fractions in (0, 1], a whole run to read, an output
  folder that is new or its own, a model with per-layer weights."""
  data = _chnsenticorp(os.path.join(tmp, "data"))
  run = _fake_teacher(os.path.join(tmp, "run"))
  half = os.path.join(tmp, "half")
  _fake_teacher(half)
  os.remove(os.path.join(half, "bert_model.ckpt.data-00000-of-00001"))
  mine = os.path.join(tmp, "mine")
  os.makedirs(mine, exist_ok=True)
  _write(os.path.join(mine, "notes.txt"), "x")
  albert = _fake_teacher(os.path.join(tmp, "albert"))
  info = json.load(open(os.path.join(albert, "run_info.json")))
  info["model_type"] = "albert"
  _write(os.path.join(albert, "run_info.json"), json.dumps(info))
  student = os.path.join(tmp, "pruned_student")
  shutil.copytree(BERT_DIR, student)
  config = dict(json.load(open(os.path.join(BERT_DIR, "bert_config.json"))),
                layer_num_attention_heads=[2, 4])
  _write(os.path.join(student, "bert_config.json"), json.dumps(config))

  def prune(*extra, model=run):
    return ("prune_model.py", "--model_dir=" + model, "--data_dir=" + data,
            "--output_dir=" + os.path.join(tmp, "out")) + tuple(extra)
  return [
      (prune("--keep_heads=0"), ["--keep_heads=0", "more than 0"]),
      (prune("--keep_ffn=1.5"), ["--keep_ffn=1.5", "at most 1"]),
      (prune(model=os.path.join(tmp, "no_such_run")),
       ["no_such_run", "not a run directory"]),
      (prune(model=half), ["copied incompletely"]),
      (prune("--output_dir=" + mine), ["did not write", "new or empty"]),
      (prune(model=albert), ["ALBERT shares its layers", "per layer"]),
      # A pruned student: the attention loss pairs layers head by head.
      (("run_distill.py", "--teacher_dir=" + run, "--data_dir=" + data,
        "--init_checkpoint=" + student,
        "--output_dir=" + os.path.join(tmp, "student"), "--do_train",
        "--attention_loss_weight=1"),
       ["--attention_loss_weight", "student layer 0 has 2",
        "teacher layer 0 has 4"]),
  ]


def _squad_file(path, context="北京是中国的首都。", answer="北京", start=0,
                qas_id="Q1", encoding="utf-8"):
  data = {"version": "v1", "data": [{"title": "t", "paragraphs": [
      {"context": context, "qas": [{"id": qas_id, "question": "首都是哪里？",
                                    "answers": [{"text": answer,
                                                 "answer_start": start}]}]}]}]}
  _write(path, json.dumps(data, ensure_ascii=False, indent=1), encoding)
  return path


def case_squad(tmp):
  def squad(*extra):
    return ("run_squad.py", "--init_checkpoint=" + BERT_DIR,
            "--output_dir=" + os.path.join(tmp, "sq_out"),
            "--max_seq_length=64", "--doc_stride=16",
            "--max_query_length=16", *extra)
  good = _squad_file(os.path.join(tmp, "sq_good.json"))
  train = lambda path: squad("--do_train", "--train_file=" + path)
  return [
      (train(_squad_file(os.path.join(tmp, "sq_missing.json"),
                         answer="上海")), ["sq_missing.json", "Q1"]),
      (train(_squad_file(os.path.join(tmp, "sq_empty.json"), context=" ",
                         qas_id="Q2")), ["sq_empty.json", "Q2", "context"]),
      (train(_squad_file(os.path.join(tmp, "sq_start.json"), start=500,
                         qas_id="Q3")), ["sq_start.json", "Q3"]),
      (train(_squad_file(os.path.join(tmp, "sq_gbk.json"),
                         encoding="gbk")), ["sq_gbk.json", "UTF-8"]),
      (squad("--do_train"), ["--train_file is required"]),
      (squad("--do_train", "--data_dir=" + tmp),
       ["--train_file is required", "--data_dir holding train.json"]),
      (squad("--do_train", "--data_dir=" + os.path.join(tmp, "sq_none")),
       ["--data_dir", "sq_none", "no such folder"]),
      (squad("--do_predict"), ["--predict_file is required"]),
      (squad("--do_predict", "--predict_file=" + os.path.join(
          tmp, "sq_nowhere.json")), ["--predict_file", "no such file"]),
      (squad("--do_train", "--train_file=" + good, "--doc_stride=60"),
       ["--doc_stride (60) must be at most"]),
      (squad("--do_train", "--train_file=" + good,
             "--max_query_length=61"), ["--max_query_length"]),
      (squad("--do_train", "--train_file=" + good, "--squad_style=hfl_cmrc",
             "--version_2_with_negative"), ["--version_2_with_negative"]),
      (squad("--do_train", "--train_file=" + good, "--squad_style=bert"),
       ["--squad_style"]),
      (squad("--do_predict", "--predict_file=" + good),
       ["holds no SQuAD head", "--do_train"]),
  ]


def case_to_hf(tmp):
  """convert_checkpoint.py --to=hf: TF1 model -> Hugging Face folder."""
  empty = os.path.join(tmp, "no_ckpt")
  os.makedirs(empty, exist_ok=True)
  shutil.copy(os.path.join(BERT_DIR, "bert_config.json"), empty)
  shutil.copy(os.path.join(BERT_DIR, "vocab.txt"), empty)
  wrong = _bert_copy(tmp, edit={"intermediate_size": 96})
  crf = _trained_generic_run(os.path.join(tmp, "crf_run"), "ner",
                             {"crf": True})
  out = os.path.join(tmp, "hf_out")

  def to_hf(model_dir, *extra, output_dir=out):
    return ("convert_checkpoint.py", "--to=hf", "--model_dir=" + model_dir,
            "--output_dir=" + output_dir) + tuple(extra)

  return [
      (to_hf(empty), ["no checkpoint found in folder", empty]),
      (to_hf(wrong), ["intermediate/dense/kernel", "intermediate_size=96",
                      "does not belong to this checkpoint"]),
      (to_hf(BERT_DIR, output_dir=BERT_DIR), ["--output_dir", BERT_DIR]),
      (to_hf(BERT_DIR, output_dir=os.path.join(BERT_DIR, "hf")),
       ["--output_dir"]),
      (("convert_checkpoint.py", "--to=pt", "--model_dir=" + BERT_DIR,
        "--output_dir=" + out), ["--to", "tf1", "hf"]),
      (to_hf(crf), ["run_info.json", "CRF", "--encoder_only"]),
      (to_hf(BERT_DIR, "--hf_dir=" + BERT_DIR),
       ["--hf_dir is the input of --to=tf1", "--model_dir"]),
  ]


def case_onnx(tmp):
  """export_onnx.py: a run to export, quantization options that fit
  together, a calibration file that exists."""
  export = os.path.join(tmp, "onnx_export")
  nowhere = os.path.join(tmp, "onnx_nowhere")

  def onnx(*extra):
    return ("export_onnx.py", "--model_dir=" + nowhere,
            "--export_dir=" + export) + tuple(extra)
  return [
      (("export_onnx.py", "--export_dir=" + export), ["--model_dir"]),
      (onnx(), ["run_info.json not found", "--do_train"]),
      (onnx("--quantize=fp16"), ["--quantize=fp16", "dynamic"]),
      (onnx("--quantize=dynamic", "--calibration_file=" + nowhere),
       ["--calibration_file", "--quantize=static"]),
      (onnx("--per_channel"), ["--per_channel", "--quantize=dynamic"]),
      (onnx("--noper_channel"), ["--noper_channel", "--quantize=dynamic"]),
      (onnx("--quantize_embeddings"), ["--quantize_embeddings",
                                       "--quantize=dynamic"]),
      (onnx("--quantize=static", "--calibration_file=" + os.path.join(
          tmp, "onnx_calibration.txt")), ["onnx_calibration.txt",
                                          "no such file"]),
  ]


CASES = [("settings", case_settings), ("data", case_data),
         ("models", case_models), ("inputs", case_inputs),
         ("paths", case_paths), ("reading", case_reading),
         ("pretraining", case_pretraining), ("servers", case_servers),
         ("broken", case_broken),
         ("pretraining_chunks", case_pretraining_chunks),
         ("remembered_reading", case_remembered_reading),
         ("subsets", case_subsets), ("prune_vocab", case_prune_vocab),
         ("prune_model", case_prune_model),
         ("squad", case_squad), ("to_hf", case_to_hf),
         ("onnx", case_onnx)]


def _all_cases():
  """(id, builder, index) for every case; built per test in tmp_path."""
  import tempfile  # pylint: disable=g-import-not-at-top
  out = []
  with tempfile.TemporaryDirectory() as tmp:
    for group, builder in CASES:
      for index, case in enumerate(builder(tmp)):
        args = case[0]
        flag = next((a for a in args[1:] if a.startswith("--") and
                     not a.startswith(("--data_dir", "--output_dir",
                                       "--init_checkpoint", "--task=chn",
                                       "--do_train", "--export_dir",
                                       "--output_file"))), "")
        flag = flag.replace(tmp, "TMP")  # the same ids in every process
        out.append(("%s-%d-%s-%s" % (group, index, args[0][:-3], flag[:30]),
                    builder, index))
  return out


@pytest.mark.slow
@pytest.mark.parametrize("case_id,builder,index", _all_cases(),
                         ids=[c[0] for c in _all_cases()])
def test_one_line_error(tmp_path, case_id, builder, index):
  del case_id
  case = builder(str(tmp_path))[index]
  args, fragments = case[:2]
  env = case[2] if len(case) > 2 else None     # (args, fragments, env)
  proc = clirun.run_script(*args, env=env)
  clirun.assert_user_error(proc, *fragments)


def test_bom_in_a_classifier_tsv_is_read(tmp_path):
  from bert_toolkit.data import classification as tasks  # pylint: disable=g-import-not-at-top
  d = str(tmp_path)
  with open(os.path.join(d, "train.tsv"), "w", encoding="utf-8-sig") as f:
    f.write("label\ttext_a\n1\t好\n")
  examples = tasks.get_task("chnsenticorp").get_examples(d, "train")
  assert [(e.label, e.text_a, e.index) for e in examples] == [("1", "好", 0)]


def test_shipped_lcqmc_test_file_reads(tmp_path):
  """The fixed 3-column layout still reads the real files."""
  from bert_toolkit.data import classification as tasks  # pylint: disable=g-import-not-at-top
  task = tasks.get_task("lcqmc")
  examples = task.get_examples(os.path.join(DATA_DIR, "lcqmc"), "test")
  assert len(examples) > 1000 and examples[0].label in ("0", "1")

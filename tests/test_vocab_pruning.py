"""Vocabulary pruning (bert_toolkit/compression/vocab.py, prune_vocab.py):
the corpus tokenizes to the same pieces, the model's outputs for it are
unchanged, the rest of the vocab is gone, and what cannot be pruned safely
is refused."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
import tokenization
from bert_toolkit.compression import vocab as vocab_pruning
from bert_toolkit.errors import SettingsError
from bert_toolkit.tasks import classifier
from tests import clirun
from tests import datasets
from tests import modelrun
from tests import tinyrun
from tests.paths import DATA_DIR

BERT_DIR = tinyrun.BERT_DIR
ENGLISH = ["Hello WORLD, naïve café!", "Ünïcödé ΣΊΣΥΦΟΣ straße",
           "unaffable running quickly"]


def _lines(n):
  with open(os.path.join(DATA_DIR, "chnsenticorp", "train.tsv"),
            encoding="utf-8") as f:
    return [next(f) for _ in range(n)]


@pytest.fixture(scope="module")
def pruned(tmp_path_factory):
  """bert_zh_tiny pruned to 150 ChnSentiCorp lines, English lines and a
  JSON-lines file whose Chinese is written as \\u escapes."""
  root = tmp_path_factory.mktemp("prune")
  corpus = root / "corpus.tsv"
  corpus.write_text("".join(_lines(150)) + "\n".join(ENGLISH) + "\n",
                    encoding="utf-8")
  jsonl = root / "extra.jsonl"
  jsonl.write_text(json.dumps({"text": "鑫淼", "label": "x"}) + "\n",
                   encoding="utf-8")
  out = str(root / "out")
  source = vocab_pruning.Source(BERT_DIR)
  report = vocab_pruning.prune(source, out, [str(corpus), str(jsonl)],
                               keep_tokens=["[unused1]"])
  texts = list(vocab_pruning.read_corpus(str(corpus))) + ["鑫淼"]
  return {"out": out, "report": report, "texts": texts, "root": root,
          "before": tokenization.from_vocab(os.path.join(BERT_DIR,
                                                         "vocab.txt")),
          "after": tokenization.from_vocab(os.path.join(out, "vocab.txt"))}


def test_the_corpus_tokenizes_to_the_same_pieces(pruned):
  before, after = pruned["before"], pruned["after"]
  assert len(after.vocab) == pruned["report"]["vocab_size_after"]
  assert len(after.vocab) < len(before.vocab) // 3
  for text in pruned["texts"]:
    pieces = before.tokenize(text)
    assert after.tokenize(text) == pieces, text
  # The JSON escapes were read as the characters they stand for.
  assert after.tokenize("鑫淼") == ["鑫", "淼"]


def test_ids_keep_their_order_and_the_special_tokens(pruned):
  after = pruned["after"]
  ids = [pruned["before"].vocab[t] for t in after.vocab]
  assert ids == sorted(ids)
  for token in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused1]"):
    assert token in after.vocab
  assert after.vocab["[PAD]"] == 0
  assert "[unused2]" not in after.vocab


def test_a_character_outside_the_corpus_is_unknown(pruned):
  before, after = pruned["before"], pruned["after"]
  outside = next(c for c in "鬣麒麟犀貘獾" if before.tokenize(c) == [c]
                 and c not in after.vocab)
  assert after.tokenize("好" + outside) == ["好", "[UNK]"]


def test_the_rows_follow_the_vocab(pruned):
  out = pruned["out"]
  keep = [pruned["before"].vocab[t] for t in pruned["after"].vocab]
  old = tf.train.load_checkpoint(os.path.join(BERT_DIR, "bert_model.ckpt"))
  new = tf.train.load_checkpoint(os.path.join(out, "bert_model.ckpt"))
  for name in ("bert/embeddings/word_embeddings", "cls/predictions/output_bias"):
    np.testing.assert_array_equal(new.get_tensor(name),
                                  old.get_tensor(name)[keep])
  name = "bert/encoder/layer_0/output/dense/kernel"
  np.testing.assert_array_equal(new.get_tensor(name), old.get_tensor(name))
  with open(os.path.join(out, "bert_config.json"), encoding="utf-8") as f:
    assert json.load(f)["vocab_size"] == len(keep)
  assert sorted(pruned["report"]["pruned_variables"]) == [
      "bert/embeddings/word_embeddings", "cls/predictions/output_bias"]


def _inputs(tokenizer, texts, length=40):
  ids = np.zeros([len(texts), length], np.int32)
  for row, text in enumerate(texts):
    pieces = ["[CLS]"] + tokenizer.tokenize(text)[:length - 2] + ["[SEP]"]
    ids[row, :len(pieces)] = tokenizer.convert_tokens_to_ids(pieces)
  return ids, (ids > 0).astype(np.int32), np.zeros_like(ids)


def test_the_outputs_for_the_corpus_are_unchanged(pruned):
  texts = pruned["texts"][1:6] + ENGLISH
  outputs = []
  for folder, tokenizer in ((BERT_DIR, pruned["before"]),
                            (pruned["out"], pruned["after"])):
    files = modeling.find_pretrained(init_checkpoint=folder)
    ids, mask, segments = _inputs(tokenizer, texts)
    outputs.append(modelrun.run_model(files.model_type, files.config,
                                      files.checkpoint, ids, mask, segments))
  np.testing.assert_array_equal(outputs[0]["sequence_output"],
                                outputs[1]["sequence_output"])
  np.testing.assert_array_equal(outputs[0]["pooled_output"],
                                outputs[1]["pooled_output"])


def test_a_variable_with_vocab_rows_it_does_not_know_is_refused():
  shapes = {"bert/embeddings/word_embeddings": [10, 4],
            "bert/embeddings/word_embeddings/adam_m": [10, 4],
            "cls/predictions/output_bias": [10],
            "bert/encoder/layer_0/attention/self/query/kernel": [4, 4]}
  assert vocab_pruning.row_variables(shapes, 10, "ckpt") == [
      "bert/embeddings/word_embeddings",
      "bert/embeddings/word_embeddings/adam_m",
      "cls/predictions/output_bias"]
  with pytest.raises(SettingsError, match="my_head/lookup.*not a word"):
    vocab_pruning.row_variables(dict(shapes, **{"my_head/lookup": [10, 3]}),
                                10, "ckpt")
  with pytest.raises(SettingsError, match="does not belong"):
    vocab_pruning.row_variables(shapes, 12, "ckpt")


def test_an_output_folder_of_other_files_is_refused_and_a_rerun_replaces(
    pruned, tmp_path):
  (tmp_path / "notes.txt").write_text("mine")
  with pytest.raises(SettingsError, match="did not write"):
    vocab_pruning.check_output(str(tmp_path))
  vocab_pruning.check_output(pruned["out"])  # its own output: replaced


@pytest.mark.slow
def test_a_pruned_run_exports_and_predicts_as_the_original(tmp_path):
  data = tmp_path / "data"
  datasets.chnsenticorp(data, train=32, dev=8)
  run_dir = tinyrun.fine_tune(classifier.Classifier("chnsenticorp"), data,
                              tmp_path / "run", 32)
  pruned_dir = str(tmp_path / "pruned")
  proc = clirun.run_script("prune_vocab.py", "--model_dir=" + run_dir,
                           "--corpus_files=" + str(data / "train.tsv"),
                           "--output_dir=" + pruned_dir)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "vocab 21128 ->" in proc.stdout
  with open(str(data / "train.tsv"), encoding="utf-8") as f:
    texts = [line.split("\t")[1].strip() for line in f.readlines()[1:9]]
  answers = []
  for folder in (run_dir, pruned_dir):
    predictor = clirun.export_predictor(folder, folder + "_export")
    try:
      answers.append(predictor.predict([{"text": t} for t in texts]))
    finally:
      predictor.close()
  for old, new in zip(*answers):
    assert old["label"] == new["label"]
    assert sorted(old["probabilities"]) == sorted(new["probabilities"])
    for label, probability in old["probabilities"].items():
      assert abs(probability - new["probabilities"][label]) < 1e-6
  # The pruned run is a run: its vocab and config agree, and a half-written
  # copy of it (a data shard gone) is refused.
  broken = str(tmp_path / "broken")
  shutil.copytree(pruned_dir, broken)
  for name in os.listdir(broken):
    if ".data-" in name:
      os.remove(os.path.join(broken, name))
  proc = clirun.run_script("prune_vocab.py", "--model_dir=" + broken,
                           "--corpus_files=" + str(data / "train.tsv"),
                           "--output_dir=" + str(tmp_path / "again"))
  clirun.assert_user_error(proc, "copied incompletely")

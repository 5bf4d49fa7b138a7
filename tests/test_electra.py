"""ELECTRA end to end with the tiny HFL-layout fixture: run_classifier.py and
run_ner.py train, evaluate and predict; the runs export, load in the
predictor and answer over HTTP. Parity of the encoder itself is in
test_modeling_parity.py and test_extract_features.py."""

import json
import os

import pytest

from bert_toolkit.runs import run_info
from bert_toolkit.serving import export as export_lib
from bert_toolkit.serving import predictor as predictor_lib
from tests import clirun
from tests import datasets
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

ELECTRA_DIR = os.path.join(REFERENCE_DIR, "electra_zh_tiny")


@pytest.mark.slow
def test_classifier_trains_exports_and_serves(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  for split, n in (("train", 48), ("dev", 16), ("test", 8)):
    datasets.head(os.path.join(DATA_DIR, "chnsenticorp", split + ".tsv"),
                  str(data / (split + ".tsv")), n)
  out = str(tmp_path / "run")
  proc = clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + str(data),
      "--init_checkpoint=" + ELECTRA_DIR, "--output_dir=" + out,
      "--do_train", "--do_eval", "--do_predict", "--max_seq_length=32",
      "--train_batch_size=16", "--num_train_epochs=1",
      "--layerwise_lr_decay=0.8", "--log_every_seconds=5")
  assert proc.returncode == 0, proc.stderr[-3000:]
  log = proc.stderr
  assert "Restore from" in log and "generator" in log
  assert "discriminator_predictions" in log
  info = run_info.read(out)
  assert info["model_type"] == "electra"
  assert info["config"].embedding_size == 32
  results = json.load(open(os.path.join(out, "run_results.json")))
  assert 0.0 <= results["eval"]["accuracy"] <= 1.0
  assert results["train"]["global_step"] == 3
  # Layer-wise decay reached the ELECTRA names: the projection trains at
  # the embeddings' rate (tested below through the optimizer's factors).
  export = export_lib.export(out, str(tmp_path / "export"))
  predictor = predictor_lib.Predictor(export["export_dir"])
  try:
    answer = predictor.predict(["房间很干净"])[0]
    assert answer["label"] in ("0", "1")
    status, served = clirun.serve_once(predictor, {"instances": [{"text":
                                                           "房间很干净"}]})
    assert status == 200
    assert served["predictions"][0]["label"] == answer["label"]
  finally:
    predictor.close()


@pytest.mark.slow
def test_ner_trains_exports_and_serves(tmp_path):
  data = datasets.ner_splits(
      os.path.join(DATA_DIR, "peoples_daily_ner", "example.dev"),
      str(tmp_path / "data"), train=(0, 32), dev=(0, 8), test=(8, 12))
  out = str(tmp_path / "run")
  proc = clirun.run_script(
      "run_ner.py", "--task=peoples_daily", "--data_dir=" + str(data),
      "--init_checkpoint=" + ELECTRA_DIR, "--model_type=electra",
      "--output_dir=" + out, "--do_train", "--do_eval", "--do_predict",
      "--crf", "--max_seq_length=32", "--train_batch_size=16",
      "--num_train_epochs=1", "--log_every_seconds=5")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert run_info.read(out)["model_type"] == "electra"
  assert os.path.isfile(os.path.join(out, "test_predictions.jsonl"))
  export = export_lib.export(out, str(tmp_path / "export"))
  predictor = predictor_lib.Predictor(export["export_dir"])
  try:
    text = "张三在北京大学读书。"
    answer = predictor.predict([text])[0]
    assert len(answer["tags"]) == len(text)
    status, served = clirun.serve_once(predictor, {"instances": [{"text": text}]})
    assert status == 200 and served["predictions"][0]["tags"] == \
        answer["tags"]
  finally:
    predictor.close()


def test_layerwise_decay_and_freezing_know_electra_names():
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  import modeling  # pylint: disable=g-import-not-at-top
  from bert_toolkit.engine import optimization  # pylint: disable=g-import-not-at-top
  files = modeling.find_pretrained(ELECTRA_DIR)
  with tf.Graph().as_default():
    modeling.ElectraModel(files.config, True,
                          tf.placeholder(tf.int32, [None, None]))
    variables = tf.trainable_variables()
    factors = optimization.layerwise_lr_multipliers(variables, "electra", 2,
                                                    0.8)
    assert factors["electra/embeddings_project/kernel"] == pytest.approx(
        0.8 ** 3)
    assert factors["electra/embeddings/word_embeddings"] == pytest.approx(
        0.8 ** 3)
    assert factors["electra/encoder/layer_1/output/dense/kernel"] == \
        pytest.approx(0.8)
    trainable, frozen = optimization.select_trainable(
        variables, "electra", 2, freeze_embeddings=True)
    frozen_names = {v.op.name for v in frozen}
    assert "electra/embeddings_project/kernel" in frozen_names
    assert not any("encoder" in v.op.name for v in frozen)
    assert trainable

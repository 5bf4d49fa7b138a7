"""Serving a CRF NER run: the SavedModel in a fresh process (both
signatures), the Predictor and estimator.predict agree exactly on tags (and
to 1e-5 on tag scores) for windows of mixed lengths in one batch; entity
spans carry character offsets into the original text; the server answers
raw text with entities.
"""

import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_toolkit.runs import run_info as run_info_lib
from bert_toolkit import settings as settings_lib
from bert_toolkit.tasks import tagging
from bert_toolkit.engine import task as task_lib
from bert_toolkit.engine import training
from bert_toolkit.data import windows as windows_lib
from bert_toolkit.serving import export as export_lib
from bert_toolkit.serving import predictor as predictor_lib
from bert_toolkit.serving import server as server_lib
from bert_toolkit.serving import signatures
from tests import saved_model_runner
from tests import tinyrun
from tests.paths import DATA_DIR

tf.disable_eager_execution()

PEOPLES_DAILY = os.path.join(DATA_DIR, "peoples_daily_ner")
MAX_SEQ_LENGTH = 32
TOL = 1e-5


def _sentences(path):
  with open(path, encoding="utf-8") as f:
    return [b for b in f.read().split("\n\n") if b.strip()]


def _text(block):
  return "".join(line.split()[0] for line in block.split("\n")
                 if line.strip())


def _perturbed_head(source, target):
  """Copies checkpoint `source` to `target` with random tagger weights and
  CRF transitions (seed 0), so the tiny tagger does not answer "O" for
  every character: parity on a constant output would prove little.
  Returns target."""
  reader = tf.train.load_checkpoint(source)
  rng = np.random.RandomState(0)
  graph = tf.Graph()
  with graph.as_default():
    variables = []
    for name, shape in sorted(reader.get_variable_to_shape_map().items()):
      value = reader.get_tensor(name)
      if name in ("tagger/output_weights", "tagger/transitions"):
        value = rng.normal(0, 1.0, shape).astype(np.float32)
      variables.append(tf.Variable(value, name=name))
    with tf.Session(graph=graph) as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver(variables).save(sess, target)
  return target


@pytest.fixture(scope="module")
def ner_export(tmp_path_factory):
  """A tiny BERT + CRF tagger, trained a few steps on People's Daily dev
  sentences (windows of at most 32 pieces), its head randomised, exported
  with --checkpoint."""
  root = tmp_path_factory.mktemp("ner_serving")
  data = root / "data"
  data.mkdir()
  dev = _sentences(os.path.join(PEOPLES_DAILY, "example.dev"))
  (data / "example.train").write_text("\n\n".join(dev[:64]) + "\n",
                                      encoding="utf-8")
  run_dir = tinyrun.fine_tune(tagging.Tagger("peoples_daily", crf=True), data,
                              root / "run", MAX_SEQ_LENGTH,
                              learning_rate=1e-4, save_checkpoints_steps=1000,
                              seed=2, best_metric="f1")
  checkpoint = _perturbed_head(tf.train.latest_checkpoint(run_dir),
                               str(root / "perturbed" / "model.ckpt-1"))
  result = export_lib.export(run_dir, str(root / "export"),
                             checkpoint=checkpoint)
  predictor = predictor_lib.Predictor(result["export_dir"], batch_size=4)
  assert result["checkpoint"] == checkpoint
  yield {"run_dir": run_dir, "result": result, "predictor": predictor}
  predictor.close()


def _texts():
  """Short and long (windowed) sentences of the test file."""
  test = [_text(b) for b in _sentences(os.path.join(PEOPLES_DAILY,
                                                    "example.test"))[:80]]
  test.sort(key=len)
  return [test[0], test[20], test[40], test[60], test[-2], test[-1],
          "张三在北京大学读书。"]


@pytest.mark.slow
def test_ner_parity_fresh_process_predictor_estimator(ner_export, tmp_path):
  predictor, result = ner_export["predictor"], ner_export["result"]
  config = predictor.config
  assert config["kind"] == "ner" and config["head"]["crf"] is True
  texts = _texts()
  windows = []
  for text in texts:
    units, _ = windows_lib.text_to_units(text, "")
    windows.append(windows_lib.unit_windows(units, predictor.tokenizer,
                                            MAX_SEQ_LENGTH))
  assert any(len(w) > 1 for w in windows)  # some texts are windowed
  flat = [w for ws in windows for w in ws]
  rows = [{n: list(getattr(w, n)) for n in signatures.INPUT_NAMES}
          for w in flat]
  lengths = sorted({len(r["input_ids"]) for r in rows})
  assert len(lengths) >= 4 and lengths[-1] == MAX_SEQ_LENGTH
  arrays = predictor_lib.pad_batch(rows)
  mask = arrays["input_mask"].astype(bool)

  # 1. estimator.predict, one batch of every window.
  info = run_info_lib.read(ner_export["run_dir"])
  estimator = training.make_estimator(
      task_lib.model_fn_from_run_info(info), str(tmp_path / "estimator"),
      settings_lib.TrainSettings())
  expected = next(estimator.predict(
      lambda params=None: tf.data.Dataset.from_tensor_slices(arrays).batch(
          len(rows)),
      checkpoint_path=result["checkpoint"], yield_single_examples=False))
  tag_ids = expected["tag_ids"]
  assert tag_ids.shape == arrays["input_ids"].shape
  assert len(np.unique(tag_ids[mask])) >= 2  # not a constant tagger

  # 2. The SavedModel in a fresh process, both signatures.
  fresh = saved_model_runner.run_in_fresh_process(result["export_dir"], arrays, tmp_path)
  for prefix in ("raw", "examples"):
    np.testing.assert_array_equal(fresh[prefix + "/tag_ids"][mask],
                                  tag_ids[mask])
    np.testing.assert_allclose(fresh[prefix + "/tag_scores"][mask],
                               expected["tag_scores"][mask], atol=TOL,
                               rtol=0)

  # 3. The predictor on raw texts (its own batches of 4, padded
  # differently), merged back to one tag per character.
  answers = predictor.predict(texts)
  start = 0
  for text, ws, answer in zip(texts, windows, answers):
    ids = [tag_ids[start + k] for k in range(len(ws))]
    scores = [expected["tag_scores"][start + k] for k in range(len(ws))]
    start += len(ws)
    tags, unit_scores = windows_lib.merge_windows(ws, ids, len(text),
                                                  predictor.labels, "BIO", scores)
    assert answer["tags"] == tags
    assert len(answer["tags"]) == len(text)
    for entity in answer["entities"]:
      assert text[entity["start"]:entity["end"]] == entity["mention"]
      inside = unit_scores[entity["start"]:entity["end"]]
      assert abs(entity["score"] - float(np.mean(inside))) <= TOL
  assert sum(len(a["entities"]) for a in answers) >= 1


def test_ner_server_raw_text_and_tensors(ner_export):
  import http.client  # pylint: disable=g-import-not-at-top
  import threading  # pylint: disable=g-import-not-at-top
  predictor = ner_export["predictor"]
  srv = server_lib.make_server(predictor, "ner", port=0)
  thread = threading.Thread(target=srv.serve_forever, daemon=True)
  thread.start()

  def post(body):
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1],
                                      timeout=60)
    try:
      conn.request("POST", "/v1/models/ner:predict", body=json.dumps(body))
      response = conn.getresponse()
      return response.status, json.loads(response.read())
    finally:
      conn.close()

  try:
    texts = _texts()[-3:]
    status, answer = post({"instances": [{"text": t} for t in texts]})
    assert status == 200, answer
    assert answer["predictions"] == json.loads(json.dumps(
        predictor.predict(texts)))
    status, answer = post({"instances": [{"text": "北京", "text_b": "上海"}]})
    assert status == 400 and "single texts" in answer["error"]
    row = predictor.encode(texts[-1])
    status, answer = post({"instances": [row]})
    assert status == 200
    assert len(answer["predictions"][0]["tag_ids"]) == len(row["input_ids"])
  finally:
    srv.shutdown()
    srv.server_close()
    thread.join(30)

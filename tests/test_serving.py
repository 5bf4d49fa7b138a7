"""Serving: export, predictor, fresh-process SavedModel and estimator.predict
agree; the HTTP server answers bad requests with 4xx and keeps serving.

One tiny Chinese BERT classifier is fine-tuned for a few steps (module
fixture) and exported once; the tests share it.
"""

import base64
import http.client
import socket
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit.tasks import classifier
from bert_toolkit import settings as settings_lib
from bert_toolkit.engine import task as task_lib
from bert_toolkit.runs import run_info as run_info_lib
from bert_toolkit.engine import training
from bert_toolkit.serving import export as export_lib
from bert_toolkit.serving import predictor as predictor_lib
from bert_toolkit.serving import server as server_lib
from tests import clirun
from tests import datasets
from tests import saved_model_runner
from tests import tinyrun
from tests.paths import DATA_DIR

tf.disable_eager_execution()

MAX_SEQ_LENGTH = 48
TOL = 1e-5



def _texts():
  """Mixed lengths: 2 chars to past max_seq_length (truncated), and pairs."""
  with open(os.path.join(DATA_DIR, "chnsenticorp", "test.tsv"),
            encoding="utf-8") as f:
    rows = [line.rstrip("\n").split("\t")[1] for line in f.readlines()[1:40]]
  rows.sort(key=len)
  return ["好", rows[0], rows[len(rows) // 2], rows[-1],
          ("房间很大", "服务一般，早餐不错"), "差" * 7, rows[-2][:30]]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  """A fine-tuned tiny classifier run (checkpoints at steps 2 and 4) and
  its export. Returns dict run_dir, export_base, export_dir."""
  root = tmp_path_factory.mktemp("serving")
  data = datasets.chnsenticorp(root / "data", train=64, dev=16)
  run_dir = tinyrun.fine_tune(classifier.Classifier("chnsenticorp"), data,
                              root / "run", MAX_SEQ_LENGTH)
  base = str(root / "export")
  result = export_lib.export(run_dir, base)
  return {"run_dir": run_dir, "export_base": base,
          "export_dir": result["export_dir"], "result": result}


@pytest.fixture(scope="module")
def predictor(tiny):
  p = predictor_lib.Predictor(tiny["export_base"], batch_size=3)
  yield p
  p.close()


# ------------------------------------------------------------- export ---

@pytest.mark.slow
def test_export_layout_assets_and_checkpoint_choice(tiny, tmp_path):
  result = tiny["result"]
  assert result["version"] == 1 and result["global_step"] == 4
  assert result["checkpoint"].endswith("model.ckpt-4")
  export_dir = tiny["export_dir"]
  assert sorted(os.listdir(export_dir)) == ["assets", "saved_model.pb",
                                            "variables"]
  assert sorted(os.listdir(os.path.join(export_dir, "assets"))) == [
      "serving_config.json", "vocab.txt"]
  config = predictor_lib.read_serving_config(export_dir)
  info = run_info_lib.read(tiny["run_dir"])
  assert config["labels"] == info["labels"] == ["0", "1"]
  assert config["kind"] == "classifier"
  assert config["max_seq_length"] == MAX_SEQ_LENGTH
  assert config["do_lower_case"] is True
  # Nothing half-written is left beside the version directory.
  assert os.listdir(tiny["export_base"]) == ["1"]

  # A best/ checkpoint wins over the newest; --checkpoint wins over both.
  run_copy = str(tmp_path / "run")
  shutil.copytree(tiny["run_dir"], run_copy)
  training.copy_checkpoint(os.path.join(run_copy, "model.ckpt-2"),
                           os.path.join(run_copy, training.BEST_DIR))
  best = export_lib.find_checkpoint(run_copy)
  assert best.endswith(os.path.join("best", "model.ckpt-2"))
  assert export_lib.find_checkpoint(
      run_copy, os.path.join(run_copy, "model.ckpt-4")).endswith("ckpt-4")
  base = str(tmp_path / "export")
  os.makedirs(os.path.join(base, "7"))
  assert export_lib.next_version(base) == 8
  assert export_lib.export(run_copy, base)["global_step"] == 2
  with pytest.raises(modeling.ConfigError, match="already exists"):
    export_lib.export(run_copy, base, version=8)


@pytest.mark.slow
def test_export_cli_errors_are_one_line(tmp_path):
  (tmp_path / "run").mkdir()
  proc = clirun.run_script("export_savedmodel.py",
                           "--model_dir=" + str(tmp_path / "run"),
                           "--export_dir=" + str(tmp_path / "e"))
  clirun.assert_user_error(proc, "run_info.json not found")
  proc = clirun.run_script("export_savedmodel.py",
                           "--export_dir=" + str(tmp_path / "e"))
  clirun.assert_user_error(proc, "--model_dir is required")


@pytest.mark.slow
def test_serve_and_predict_cli_errors_are_one_line(tmp_path):
  proc = clirun.run_script("serve.py", "--export_dir=" + str(tmp_path),
                           "--port=0")
  clirun.assert_user_error(proc, "no SavedModel in", "export_savedmodel.py")
  proc = clirun.run_script("predict.py", "--export_dir=" + str(tmp_path),
                           "some text")
  clirun.assert_user_error(proc, "no SavedModel in")


@pytest.mark.slow
def test_predict_cli(tiny, tmp_path):
  proc = clirun.run_script("predict.py", "--export_dir=" + tiny["export_base"],
                           "好", "--text_b=差")
  assert proc.returncode == 0, proc.stderr[-2000:]
  answer = json.loads(proc.stdout.strip().splitlines()[-1])
  assert answer["text"] == "好" and answer["label"] in ("0", "1")
  # A file with a BOM: one answer per line, in order, the BOM not echoed.
  texts = tmp_path / "texts.txt"
  texts.write_text("很好\n一般\n很差\n", encoding="utf-8-sig")
  proc = clirun.run_script("predict.py", "--export_dir=" + tiny["export_base"],
                           "--input_file=" + str(texts))
  assert proc.returncode == 0, proc.stderr[-2000:]
  answers = [json.loads(line) for line in proc.stdout.strip().splitlines()]
  assert [a["text"] for a in answers] == ["很好", "一般", "很差"]


def test_saved_model_cli_lists_both_signatures(tiny):
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  assert os.path.exists(cli), "TensorFlow installs saved_model_cli beside %s" % (
      sys.executable)
  proc = subprocess.run([cli, "show", "--all", "--dir", tiny["export_dir"]],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  out = proc.stdout
  assert "signature_def['serving_default']" in out
  assert "signature_def['from_examples']" in out
  for name in ("inputs['input_ids']", "inputs['input_mask']",
               "inputs['segment_ids']", "inputs['examples']",
               "outputs['probabilities']", "outputs['label_id']"):
    assert name in out, name
  assert out.count("shape: (-1, -1)") == 3


# ------------------------------------------------------------- parity ---

def _estimator_predict(run_dir, checkpoint, arrays, model_dir):
  info = run_info_lib.read(run_dir)
  estimator = training.make_estimator(
      task_lib.model_fn_from_run_info(info), model_dir,
      settings_lib.TrainSettings())

  def input_fn(params=None):
    del params
    return tf.data.Dataset.from_tensor_slices(arrays).batch(len(
        arrays["input_ids"]))

  return next(estimator.predict(input_fn, checkpoint_path=checkpoint,
                                yield_single_examples=False))


@pytest.mark.slow
def test_parity_fresh_process_predictor_estimator(tiny, predictor, tmp_path):
  texts = _texts()
  rows = [predictor.encode(*predictor_lib._as_pair(t)) for t in texts]  # pylint: disable=protected-access
  lengths = [len(r["input_ids"]) for r in rows]
  assert min(lengths) == 3 and max(lengths) == MAX_SEQ_LENGTH
  assert len(set(lengths)) >= 6
  arrays = predictor_lib.pad_batch(rows)

  # 1. estimator.predict on the whole batch (padded to the longest).
  expected = _estimator_predict(tiny["run_dir"], tiny["result"]["checkpoint"],
                                arrays, str(tmp_path / "estimator"))
  probs = expected["probabilities"]
  assert probs.shape == (len(texts), 2)
  # The inputs really are told apart (a constant model proves nothing).
  assert np.ptp(probs[:, 1]) > 1e-3

  # 2. The SavedModel in a fresh process, both signatures.
  fresh = saved_model_runner.run_in_fresh_process(tiny["export_dir"], arrays, tmp_path)
  for prefix in ("raw", "examples"):
    np.testing.assert_allclose(fresh[prefix + "/probabilities"], probs,
                               atol=TOL, rtol=0)
    np.testing.assert_array_equal(fresh[prefix + "/label_id"],
                                  expected["label_id"])
    assert fresh[prefix + "/label"].tolist() == [
        v.decode() for v in expected["label"]]

  # 3. The predictor on raw texts, in length-sorted batches of 3 (padded
  # differently from the estimator's single batch).
  answers = predictor.predict(texts)
  got = np.array([[a["probabilities"]["0"], a["probabilities"]["1"]]
                  for a in answers])
  np.testing.assert_allclose(got, probs, atol=TOL, rtol=0)
  assert [a["label_id"] for a in answers] == expected["label_id"].tolist()
  assert [a["label"] for a in answers] == [
      ["0", "1"][i] for i in expected["label_id"]]
  single = predictor.predict(texts[3])[0]
  assert abs(single["probabilities"]["1"] - probs[3, 1]) <= TOL


def test_predictor_threads_and_bad_input(predictor):
  texts = [t for t in _texts() if isinstance(t, str)]
  expected = predictor.predict(texts)
  results, errors = {}, []

  def work(k):
    try:
      for _ in range(5):
        results.setdefault(k, []).append(predictor.predict(texts))
    except Exception as e:  # pylint: disable=broad-except
      errors.append(e)

  threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
  for t in threads:
    t.start()
  for t in threads:
    t.join(120)
  assert not errors and len(results) == 4
  for runs in results.values():
    for answer in runs:
      assert [a["label_id"] for a in answer] == [
          a["label_id"] for a in expected]
      for a, b in zip(answer, expected):
        assert abs(a["probabilities"]["1"] - b["probabilities"]["1"]) <= TOL
  assert predictor.predict([]) == []
  # Longer than max_position_embeddings (128): the graph's own check says so.
  too_long = np.ones([1, 129], np.int32)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match="max_position_embeddings=128"):
    predictor.run(too_long, too_long, 0 * too_long)
  with pytest.raises(predictor_lib.PredictorError, match="text"):
    predictor.predict([3])
  with pytest.raises(predictor_lib.PredictorError, match="no SavedModel"):
    predictor_lib.Predictor(os.path.dirname(predictor.export_dir) + "/nope")


# ------------------------------------------------------------- server ---

@pytest.fixture(scope="module")
def server(predictor):
  srv = server_lib.make_server(predictor, "tiny", "127.0.0.1", 0,
                               max_body_bytes=1 << 20, max_instances=8)
  thread = threading.Thread(target=srv.serve_forever, daemon=True)
  thread.start()
  yield srv
  srv.shutdown()
  srv.server_close()
  thread.join(30)


def _request(srv, method, path, body=None, headers=None):
  """One request on a new loopback connection: (status, parsed JSON)."""
  conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1],
                                    timeout=60)
  try:
    if isinstance(body, (dict, list)):
      body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, json.loads(response.read().decode("utf-8"))
  finally:
    conn.close()


PREDICT = "/v1/models/tiny:predict"


def _valid(srv):
  status, answer = _request(srv, "POST", PREDICT,
                            {"instances": [{"text": "很好"},
                                           {"text": "差", "text_b": "好"}]})
  assert status == 200, answer
  assert len(answer["predictions"]) == 2
  assert answer["predictions"][0]["label"] in ("0", "1")
  return answer


def test_server_status_and_predict(server, predictor):
  status, answer = _request(server, "GET", "/v1/models/tiny")
  assert status == 200
  assert answer["model_version_status"][0]["state"] == "AVAILABLE"
  status, answer = _request(server, "GET", "/v1/models/tiny/metadata")
  assert status == 200 and "from_examples" in answer["metadata"][
      "signature_names"]
  texts = ["好", "房间很大，服务一般"]
  expected = predictor.predict(texts)
  answer = _request(server, "POST", PREDICT,
                    {"instances": [{"text": t} for t in texts]})[1]
  for a, b in zip(answer["predictions"], expected):
    assert a["label"] == b["label"]
    assert abs(a["probabilities"]["1"] - b["probabilities"]["1"]) <= TOL
  # Tensor instances (rows of different lengths), as TF Serving takes them.
  rows = [predictor.encode(t) for t in texts]
  status, answer = _request(server, "POST", PREDICT, {"instances": rows})
  assert status == 200, answer
  for a, b in zip(answer["predictions"], expected):
    assert a["label_id"] == b["label_id"] and a["label"] == b["label"]
    assert abs(a["probabilities"][1] - b["probabilities"]["1"]) <= TOL
  # Serialized tf.Examples through the second signature.
  examples = []
  for row in rows:
    feature = {n: tf.train.Feature(int64_list=tf.train.Int64List(value=v))
               for n, v in row.items()}
    examples.append({"b64": __import__("base64").b64encode(
        tf.train.Example(features=tf.train.Features(feature=feature))
        .SerializeToString()).decode()})
  status, answer = _request(server, "POST", PREDICT,
                            {"signature_name": "from_examples",
                             "instances": examples})
  assert status == 200, answer
  assert [a["label_id"] for a in answer["predictions"]] == [
      b["label_id"] for b in expected]


BAD_REQUESTS = [
    ("malformed JSON", b'{"instances": [', 400, "malformed JSON"),
    ("not UTF-8", b'\xff\xfe{', 400, "UTF-8"),
    ("nested too deeply", b"[" * 200000 + b"]" * 200000, 400,
     "nested too deeply"),
    ("not an object", [1, 2], 400, "JSON object"),
    ("missing instances", {"examples": []}, 400, "missing \"instances\""),
    ("columnar inputs", {"inputs": {"input_ids": [[1]]}}, 400, "columnar"),
    ("instances not a list", {"instances": {"text": "a"}}, 400,
     "must be a list"),
    ("empty instances", {"instances": []}, 400, "is empty"),
    ("too many instances", {"instances": [{"text": "a"}] * 9}, 413,
     "at most 8"),
    ("instance not an object", {"instances": ["好"]}, 400,
     "must be an object"),
    ("text not a string", {"instances": [{"text": 5}]}, 400,
     "non-empty string"),
    ("empty text", {"instances": [{"text": "  "}]}, 400, "non-empty string"),
    ("text_b wrong type", {"instances": [{"text": "a", "text_b": [1]}]}, 400,
     "text_b"),
    ("unknown field", {"instances": [{"text": "a", "txet_b": "b"}]}, 400,
     "unknown fields"),
    ("mixed kinds", {"instances": [{"text": "a"}, {"input_ids": [1]}]}, 400,
     "mixed"),
    ("missing tensor field", {"instances": [{"input_ids": [101, 102],
                                             "input_mask": [1, 1]}]}, 400,
     "lacks segment_ids"),
    ("float ids", {"instances": [{"input_ids": [101.5, 102],
                                  "input_mask": [1, 1],
                                  "segment_ids": [0, 0]}]}, 400,
     "integers only"),
    ("string ids", {"instances": [{"input_ids": "101 102",
                                   "input_mask": [1, 1],
                                   "segment_ids": [0, 0]}]}, 400,
     "list of integers"),
    ("id out of vocab", {"instances": [{"input_ids": [101, 10 ** 9],
                                        "input_mask": [1, 1],
                                        "segment_ids": [0, 0]}]}, 400,
     "out of range"),
    ("ragged instance", {"instances": [{"input_ids": [101, 102],
                                        "input_mask": [1],
                                        "segment_ids": [0, 0]}]}, 400,
     "same length"),
    ("too long", {"instances": [{"input_ids": [101] * 600,
                                 "input_mask": [1] * 600,
                                 "segment_ids": [0] * 600}]}, 400,
     "at most"),
    ("bad signature", {"signature_name": "nope",
                       "instances": [{"text": "a"}]}, 400,
     "unknown signature_name"),
    ("bad b64", {"signature_name": "from_examples",
                 "instances": [{"b64": "%%%"}]}, 400, "not base64"),
    ("b64 not a tf.Example", {"signature_name": "from_examples",
                              "instances": [{"b64": "aGVsbG8="}]}, 400,
     "not a serialized tf.Example"),
    ("tf.Example without segment_ids",
     {"signature_name": "from_examples", "instances": [{"b64": base64.b64encode(
         tf.train.Example(features=tf.train.Features(feature={
             n: tf.train.Feature(int64_list=tf.train.Int64List(value=[101]))
             for n in ("input_ids", "input_mask")})).SerializeToString()
     ).decode("ascii")}]}, 400, "no int64 feature 'segment_ids'"),
]


@pytest.mark.parametrize("name,body,status,fragment", BAD_REQUESTS,
                         ids=[b[0] for b in BAD_REQUESTS])
def test_server_bad_request_then_serves(server, name, body, status,
                                        fragment):
  del name
  got, answer = _request(server, "POST", PREDICT, body)
  assert got == status, answer
  assert fragment in answer["error"], answer
  _valid(server)


def test_server_wrong_paths_and_methods(server):
  for method, path, status, fragment in (
      ("POST", "/v1/models/other:predict", 404, "not found"),
      ("POST", "/v1/models/tiny/versions/9:predict", 404, "version 9"),
      ("GET", "/v1/models/other", 404, "not found"),
      ("GET", "/", 404, "no such endpoint"),
      ("POST", "/v1/models/tiny:classify", 404, "no such endpoint")):
    got, answer = _request(server, method, path,
                           {"instances": [{"text": "a"}]}
                           if method == "POST" else None)
    assert got == status and fragment in answer["error"], (path, answer)
  _valid(server)


def _raw(server, data):
  """Sends raw bytes; returns (status, JSON answer)."""
  with socket.create_connection(("127.0.0.1", server.server_address[1]),
                                timeout=30) as sock:
    sock.sendall(data)
    reply = b""
    while True:
      chunk = sock.recv(65536)
      if not chunk:
        break
      reply += chunk
  head, _, body = reply.partition(b"\r\n\r\n")
  status = int(head.split(b" ")[1])
  assert b"application/json" in head, reply[:500]
  return status, json.loads(body.decode("utf-8"))


@pytest.mark.parametrize("request_bytes,status,fragment", [
    (b"PUT /v1/models/tiny:predict HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
     405, "method PUT is not allowed"),
    (b"DELETE /v1/models/tiny HTTP/1.1\r\n\r\n", 405, "not allowed"),
    (b"BREW /coffee HTTP/1.1\r\n\r\n", 501, "GET and POST only"),
    (b"this is not http\r\n\r\n", 400, "Bad request"),
    (b"POST /v1/models/tiny:predict HTTP/1.1\r\nContent-Length: 2\r\n"
     b"Content-Length: 40\r\n\r\n{}", 400, "more than one Content-Length"),
])
def test_server_protocol_errors_are_json(server, request_bytes, status,
                                         fragment):
  got, answer = _raw(server, request_bytes)
  assert got == status and fragment in answer["error"], answer
  _valid(server)


def test_server_ten_megabyte_body(server):
  body = b'{"instances": [' + b'{"text": "' + b"x" * (10 << 20) + b'"}]}'
  status, answer = _request(server, "POST", PREDICT, body)
  assert status == 413
  assert "exceeds the limit of 1048576 bytes" in answer["error"]
  # curl-style Expect: 100-continue is refused before the body is sent.
  conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1],
                                    timeout=60)
  try:
    conn.putrequest("POST", PREDICT)
    conn.putheader("Content-Length", str(10 << 20))
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert "exceeds the limit" in json.loads(response.read())["error"]
  finally:
    conn.close()
  _valid(server)


def test_server_answers_without_nagle_delay(server, monkeypatch):
  """Accepted connections have TCP_NODELAY: the headers and body are two
  writes, and with Nagle's algorithm the body waited for the client's
  delayed ACK (measured: 60 ms instead of 12.9 ms for one request)."""
  import socket  # pylint: disable=g-import-not-at-top
  seen = []
  setup = server_lib.Handler.setup

  def recording_setup(handler):
    setup(handler)
    seen.append(handler.connection.getsockopt(socket.IPPROTO_TCP,
                                              socket.TCP_NODELAY))

  monkeypatch.setattr(server_lib.Handler, "setup", recording_setup)
  _valid(server)
  assert seen and all(seen), seen


def test_server_binds_loopback_by_default(predictor):
  srv = server_lib.make_server(predictor, "tiny", port=0)
  try:
    assert srv.server_address[0] == "127.0.0.1"
  finally:
    srv.server_close()


# ----------------------------------------------------- request batching ---

def test_batcher_gathers_concurrent_requests_and_keeps_each_answer():
  from bert_toolkit.serving import batching  # pylint: disable=g-import-not-at-top
  calls = []
  gate = threading.Event()

  def run_rows(rows):
    calls.append(len(rows))
    gate.wait(5)  # the first batch runs while the others queue
    return [r * 10 for r in rows]

  batcher = batching.Batcher(run_rows, max_batch_size=8)
  results = {}

  def call(i):
    results[i] = batcher.run_rows([i, i + 100])

  threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
  for t in threads:
    t.start()
    time.sleep(0.02)
  gate.set()
  for t in threads:
    t.join(10)
  assert results == {i: [i * 10, (i + 100) * 10] for i in range(6)}
  assert len(calls) < 6 and max(calls) <= 8 and sum(calls) == 12
  batcher.stop()

  def failing(rows):
    raise ValueError("broken batch")

  batcher = batching.Batcher(failing, max_batch_size=4)
  with pytest.raises(ValueError, match="broken batch"):
    batcher.run_rows([1])
  batcher.stop()


def test_batched_server_answers_as_the_unbatched_predictor(predictor):
  """8 clients at once: the rows share batches, the answers are the ones
  the predictor gives each text alone."""
  texts = _texts()
  srv = server_lib.make_server(predictor, "tiny", port=0, max_batch_size=16,
                               batch_timeout_micros=2000)
  thread = threading.Thread(target=srv.serve_forever, daemon=True)
  thread.start()
  answers = {}
  try:
    def client(i):
      item = texts[i % len(texts)]
      instance = ({"text": item} if isinstance(item, str) else
                  {"text": item[0], "text_b": item[1]})
      status, body = _request(srv, "POST", PREDICT,
                              {"instances": [instance]})
      assert status == 200, body
      answers[i] = body["predictions"][0]

    clients = [threading.Thread(target=client, args=(i,)) for i in range(24)]
    for c in clients:
      c.start()
    for c in clients:
      c.join(60)
  finally:
    srv.shutdown()
    srv.server_close()
  batcher_batches = srv.service.run_rows.__self__.batches
  assert len(answers) == 24 and batcher_batches < 24
  for i, answer in answers.items():
    alone = predictor.predict([texts[i % len(texts)]])[0]
    assert answer["label"] == alone["label"]
    for label, p in alone["probabilities"].items():
      assert abs(answer["probabilities"][label] - p) < 1e-6

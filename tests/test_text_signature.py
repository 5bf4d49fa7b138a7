"""The `text` signature: tokenization in the graph equals the Python
tokenizer id for id (real texts of the shared data sets and hard cases),
the truncation equals build_inputs', and an export's `text` signature
answers as serving_default fed by the Python tokenizer, also through the
REST server and in a fresh process that imports nothing of the project.
"""

import http.client
import itertools
import json
import os
import random
import subprocess
import sys
import threading

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tokenization
from bert_toolkit.data import encoding
from bert_toolkit.serving import export as export_lib
from bert_toolkit.serving import predictor as predictor_lib
from bert_toolkit.serving import server as server_lib
from bert_toolkit.serving import signatures
from bert_toolkit.serving import text_signature
from bert_toolkit.tasks import classifier
from bert_toolkit.tasks import tagging
from tests import datasets
from tests import tinyrun
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

tf.disable_eager_execution()

ZH_VOCAB = os.path.join(REFERENCE_DIR, "bert_zh_tiny", "vocab.txt")
EN_VOCAB = os.path.join(REFERENCE_DIR, "distilbert_en_tiny", "vocab.txt")


def _lines(path, limit):
  with open(path, encoding="utf-8") as f:
    return [line.rstrip("\n") for line in itertools.islice(f, limit)]


def _sentences(path, limit, sep):
  """Column-format NER files -> sentences (tokens joined by `sep`)."""
  out, words = [], []
  with open(path, encoding="utf-8") as f:
    for line in f:
      line = line.strip()
      if not line or line.startswith("-DOCSTART-"):
        if words:
          out.append(sep.join(words))
          words = []
          if len(out) >= limit:
            break
        continue
      words.append(line.split()[0])
  return out


def data_texts():
  """Over 5,000 texts of the shared data sets, Chinese and English."""
  texts = []
  texts += [l.split("\t", 1)[1] for l in _lines(
      os.path.join(DATA_DIR, "chnsenticorp", "train.tsv"), 1001)[1:]]
  texts += _sentences(os.path.join(DATA_DIR, "msra_ner", "msra_train_bio"),
                      600, "")
  texts += [json.loads(l)["text"] for l in _lines(
      os.path.join(DATA_DIR, "cluener2020", "train.json"), 600)]
  texts += [json.loads(l)["sentence"] for l in _lines(
      os.path.join(DATA_DIR, "clue_tnews", "train.json"), 600)]
  for line in _lines(os.path.join(DATA_DIR, "lcqmc", "dev.txt"), 400):
    texts += line.split("\t")[:2]
  texts += [l.split("\t")[0] for l in _lines(
      os.path.join(DATA_DIR, "sst2", "train.tsv"), 1001)[1:]]
  texts += _sentences(os.path.join(DATA_DIR, "conll2003", "train.txt"),
                      600, " ")
  return texts


HARD_CASES = [
    # accents, precomposed and combining
    "Café résumé naïve ÅNGSTRÖM Ñandú", "e\u0301 A\u030a n\u0303 x\u0308\u0323",
    "\u0301\u0302 lone marks", "Ǆemal ǅ ǆ ﬁ ﬀ ß ẞ",
    # upper case: Greek final sigma in its contexts, Turkish dotted I
    "ΟΔΟΣ ΟΔΟΣ. ΣΑΣ Σ ΑΣ\u0301 Α\u0301Σ ΑΣΑ (ΑΣ) ΑΣ'Β ΑΣ\u00adΒ",
    "İstanbul İ I ı KELVIN \u212a \u2126 ǰ ŉ", "ΣΣΣ aΣ ΣΣ.Σ",
    # control and zero-width, separators str.split() knows
    "a\u200bb\u200dc\ufeffd\x00e\x1cf\x1dg\x1eh\x1fi\x85j",
    "line\u2028two\u2029three\x0bfour\x0cfive\tsix\r\nseven",
    "\u00a0nbsp\u3000ideographic\u2000\u200aspace\u202f\u205f",
    # private use, unassigned, replacement char
    "\ue000\uf8ff\U000f0000 pua \u0378\u0380\U000e0080 \ufffd\ufffdx",
    # long words ([UNK] past 200 chars), unsplittable words
    "a" * 101, "b" * 199, "c" * 200, "d" * 201, "é" * 250,
    "qqqqzzxxjjv", "\u16a0\u16a1\u16a2",
    # emoji, CJK compatibility ideographs, full-width punctuation
    "🙂👍🏽 family 👨\u200d👩\u200d👧 flag 🇨🇳", "\uf900\uf901\ufa6d\U0002f800 兀",
    "（全角）「引号」，。！？；：、【】《》～＠＃＄％＾＆＊",
    "$5+3=8 <tag> a^b `x` |y| ~z_ \\ {}[]",
    "Hello, World! 你好世界 HELLO", "", "   ", "\u1fef\u037e\u0387",
    "don't stop-believing... U.S.A. e-mail", "数字123 and ＡＢＣ ａｂｃ",
    "\u1d165\U0001d165\U0001d16d", "Ⓐ ⅷ Ⅻ ㎏ ℃ №",
    # bytes that are not UTF-8 (dropped, as convert_to_unicode drops them)
    b"ab\xffcd", b"\xe4\xbd", b"x\xe4\xbdy", b"\xc0\xafq",
    b"a\xed\xa0\x80b", b"\xf4\x90\x80\x80z", b"\xe4\xbd\xa0\xbd\xa0",
]


def _graph_ids(tokenizer, texts):
  graph = tf.Graph()
  with graph.as_default():
    text = tf.placeholder(tf.string, [None])
    ids = text_signature.token_ids(text, tokenizer)
    with tf.Session(graph=graph) as sess:
      sess.run(tf.tables_initializer())
      return sess.run(ids, {text: texts}).to_list()


@pytest.mark.slow
@pytest.mark.parametrize("vocab,lower", [(ZH_VOCAB, True), (ZH_VOCAB, False),
                                         (EN_VOCAB, True)])
def test_graph_token_ids_equal_the_python_tokenizer(vocab, lower):
  tokenizer = tokenization.from_vocab(vocab, lower)
  texts = data_texts()
  assert len(texts) >= 5000
  texts += HARD_CASES
  got = _graph_ids(tokenizer, texts)
  wrong = [(t, g) for t, g in zip(texts, got)
           if g != tokenizer.convert_tokens_to_ids(tokenizer.tokenize(t))]
  assert not wrong, wrong[:3]


def test_graph_truncation_equals_build_inputs():
  tokenizer = tokenization.from_vocab(ZH_VOCAB, True)
  rng = random.Random(5)
  cases = [(rng.randrange(0, 14), rng.randrange(0, 14)) for _ in range(120)]
  cases += [(0, 0), (13, 0), (0, 13)]
  for truncation in tokenization.inputs.TRUNCATIONS:
    graph = tf.Graph()
    with graph.as_default():
      la = tf.placeholder(tf.int64, [None])
      lb = tf.placeholder(tf.int64, [None])
      # a's ids count 100.., b's 200..: which pieces are kept shows.
      a = tf.RaggedTensor.from_row_lengths(
          100 + tf.ragged.range(la).flat_values, la)
      b = tf.RaggedTensor.from_row_lengths(
          200 + tf.ragged.range(lb).flat_values, lb)
      out = text_signature.model_inputs(a, b, tokenizer, 11, truncation)
      with tf.Session(graph=graph) as sess:
        got = sess.run(out, {la: [c[0] for c in cases],
                             lb: [c[1] for c in cases]})
    ids_of = dict(tokenizer.vocab, **{"a%d" % i: 100 + i for i in range(20)},
                  **{"b%d" % i: 200 + i for i in range(20)})
    for row, (na, nb) in enumerate(cases):
      tokens, segments = tokenization.build_inputs(
          ["a%d" % i for i in range(na)], ["b%d" % i for i in range(nb)],
          11, truncation)
      want = [ids_of[t] for t in tokens]
      n = len(want)
      assert got["input_ids"][row][:n].tolist() == want, (na, nb, truncation)
      assert got["segment_ids"][row][:n].tolist() == segments
      assert got["input_mask"][row].tolist() == [1] * n + [0] * (
          got["input_mask"].shape[1] - n)


# ------------------------------------------------------------- exports ---

MAX_SEQ_LENGTH = 24


def _fine_tune(root, task, files, header):
  """A run of `task` fine-tuned for two steps on copies of `files`
  ({split: source path}), exported; returns the export's version dir."""
  data = os.path.join(str(root), "data")
  os.makedirs(data)
  for split, (src, name) in files.items():
    datasets.head(src, os.path.join(data, name), 32, header=header)
  run_dir = tinyrun.fine_tune(classifier.Classifier(task), data,
                              os.path.join(str(root), "run"), MAX_SEQ_LENGTH)
  return export_lib.export(run_dir, os.path.join(str(root), "export"))


@pytest.fixture(scope="module")
def single(tmp_path_factory):
  src = os.path.join(DATA_DIR, "chnsenticorp")
  result = _fine_tune(tmp_path_factory.mktemp("text_single"), "chnsenticorp",
                      {s: (os.path.join(src, s + ".tsv"), s + ".tsv")
                       for s in ("train", "dev")}, True)
  yield result, predictor_lib.Predictor(result["export_dir"])


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
  src = os.path.join(DATA_DIR, "lcqmc", "dev.txt")
  result = _fine_tune(tmp_path_factory.mktemp("text_pair"), "lcqmc",
                      {s: (src, s + ".txt") for s in ("train", "dev")},
                      False)
  yield result, predictor_lib.Predictor(result["export_dir"])


SINGLE_TEXTS = ["好", "房间很大，服务一般，早餐不错。" * 4, "", " \u200b ",
                "ΟΔΟΣ Café 🙂 ＡＢＣ", "差" * 7, "x" * 300]
PAIRS = [("房间很大", "服务一般，早餐不错"), ("一" * 40, "二" * 5),
         ("短", "长" * 40), ("", "只有第二句"), ("只有第一句", ""),
         ("花呗怎么还款", "花呗如何还钱")]


def _python_outputs(predictor, pairs):
  rows = [encoding.encode(predictor.tokenizer, a, b,
                          predictor.max_seq_length) for a, b in pairs]
  arrays = predictor_lib.pad_batch([
      {"input_ids": e.input_ids, "input_mask": [1] * len(e.input_ids),
       "segment_ids": e.segment_ids} for e in rows])
  return arrays, predictor.run(arrays["input_ids"], arrays["input_mask"],
                               arrays["segment_ids"])


def _assert_same(got, want):
  assert sorted(got) == sorted(want)
  for name in want:
    if want[name].dtype.kind == "f":
      np.testing.assert_allclose(got[name], want[name], atol=1e-6)
    else:
      assert got[name].tolist() == want[name].tolist(), name


@pytest.mark.slow
def test_text_signature_answers_as_serving_default_single(single):
  result, predictor = single
  assert signatures.TEXT_SIGNATURE in result["signatures"]
  assert predictor.config["text_signature"]["inputs"] == ["text"]
  _, want = _python_outputs(predictor, [(t, None) for t in SINGLE_TEXTS])
  _assert_same(predictor.run_text(SINGLE_TEXTS), want)
  # Any batch size, one text too.
  _assert_same(predictor.run_text(SINGLE_TEXTS[1:2]),
               _python_outputs(predictor, [(SINGLE_TEXTS[1], None)])[1])


@pytest.mark.slow
def test_text_signature_answers_as_serving_default_pair(pair):
  result, predictor = pair
  assert predictor.config["text_signature"]["inputs"] == ["text", "text_b"]
  _, want = _python_outputs(predictor, PAIRS)
  _assert_same(predictor.run_text([a for a, _ in PAIRS],
                                  [b for _, b in PAIRS]), want)


_FRESH = r"""
import json, sys
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
texts = json.loads(sys.argv[2])
with tf.Session(graph=tf.Graph()) as sess:
  meta = tf.saved_model.loader.load(sess, ["serve"], sys.argv[1])
  sig = meta.signature_def["text"]
  out = sess.run({k: v.name for k, v in sig.outputs.items()},
                 {sig.inputs["text"].name: texts})
mine = [m for m in sys.modules if m.split(".")[0] in
        ("bert_toolkit", "tokenization", "modeling", "tests")]
print(json.dumps({"modules": mine,
                  "probabilities": out["probabilities"].tolist(),
                  "label": [b.decode("utf-8") for b in out["label"]]}))
"""


@pytest.mark.slow
def test_text_signature_loads_in_a_fresh_process_without_the_project(
    single, tmp_path):
  result, predictor = single
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  env["TF_CPP_MIN_LOG_LEVEL"] = "3"
  proc = subprocess.run(
      [sys.executable, "-c", _FRESH, result["export_dir"],
       json.dumps(SINGLE_TEXTS)], cwd=str(tmp_path), env=env,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  got = json.loads(proc.stdout.strip().splitlines()[-1])
  assert got["modules"] == []
  _, want = _python_outputs(predictor, [(t, None) for t in SINGLE_TEXTS])
  np.testing.assert_allclose(got["probabilities"], want["probabilities"],
                             atol=1e-6)
  assert got["label"] == [b.decode("utf-8") for b in want["label"]]


def _same_rows(got, want):
  """JSON rows: equal keys and values, floats within 1e-6."""
  assert [sorted(r) for r in got] == [sorted(r) for r in want]
  for g, w in zip(got, want):
    for key in w:
      if key == "probabilities":
        np.testing.assert_allclose(g[key], w[key], atol=1e-6)
      else:
        assert g[key] == w[key], key


def _service(predictor):
  return server_lib.Service(predictor, "m", 64)


def _post(service, body):
  return service.predict("/v1/models/m:predict",
                         json.dumps(body).encode("utf-8"))


def _rows(out):
  """Batch outputs -> TF Serving's row format (a JSON object per row)."""
  return json.loads(json.dumps([server_lib._jsonable(  # pylint: disable=protected-access
      {k: v[i] for k, v in out.items()})
                                for i in range(len(out["label"]))]))


@pytest.mark.slow
def test_rest_text_signature_single_as_tf_serving(single):
  _, predictor = single
  service = _service(predictor)
  _, want = _python_outputs(predictor, [(t, None) for t in SINGLE_TEXTS])
  answer = _post(service, {"signature_name": "text",
                           "instances": SINGLE_TEXTS})
  assert [p["label"] for p in answer["predictions"]] == [
      b.decode("utf-8") for b in want["label"]]
  np.testing.assert_allclose(
      [p["probabilities"] for p in answer["predictions"]],
      want["probabilities"], atol=1e-6)
  # Named objects, and {"b64": ...} values, as TF Serving takes them.
  named = _post(service, {"signature_name": "text", "instances": [
      {"text": t} for t in SINGLE_TEXTS]})
  assert named == answer
  _same_rows(_post(service, {"signature_name": "text", "instances": [
      {"b64": "5aW9"}]})["predictions"], answer["predictions"][:1])
  meta = service.status("/v1/models/m/metadata")
  assert "text" in meta["metadata"]["signature_names"]


@pytest.mark.slow
def test_rest_text_signature_refusals(single):
  _, predictor = single
  service = _service(predictor)
  for body, fragment in (
      ({"signature_name": "text", "instances": [3]}, "must be a string"),
      ({"signature_name": "text", "instances": [{"text": "a", "x": "b"}]},
       "takes ['text']"),
      ({"signature_name": "text", "instances": [{"b64": "%%"}]},
       "not base64"),
      ({"signature_name": "nope", "instances": ["a"]}, "'text'")):
    with pytest.raises(server_lib.RequestError) as e:
      _post(service, body)
    assert e.value.status == 400 and fragment in str(e.value), str(e.value)


@pytest.mark.slow
def test_rest_text_signature_pair_over_http(pair):
  _, predictor = pair
  srv = server_lib.make_server(predictor, "m", "127.0.0.1", 0)
  thread = threading.Thread(target=srv.serve_forever, daemon=True)
  thread.start()
  try:
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1],
                                      timeout=60)
    conn.request("POST", "/v1/models/m:predict", body=json.dumps({
        "signature_name": "text",
        "instances": [{"text": a, "text_b": b} for a, b in PAIRS]}))
    response = conn.getresponse()
    answer = json.loads(response.read().decode("utf-8"))
    conn.close()
  finally:
    srv.shutdown()
    srv.server_close()
    thread.join(30)
  assert response.status == 200, answer
  _, want = _python_outputs(predictor, PAIRS)
  _same_rows(answer["predictions"], _rows(want))
  with pytest.raises(server_lib.RequestError) as e:
    _post(_service(predictor), {"signature_name": "text",
                                "instances": ["only a"]})
  assert "text_b" in str(e.value)


@pytest.mark.slow
def test_ner_text_signature_tags_each_wordpiece_of_the_text(tmp_path):
  """NER: the text signature's tags are serving_default's on the whole
  text's WordPieces ([CLS] first), cut to max_seq_length."""
  with open(os.path.join(DATA_DIR, "peoples_daily_ner", "example.dev"),
            encoding="utf-8") as f:
    blocks = [b for b in f.read().split("\n\n") if b.strip()]
  data = tmp_path / "data"
  data.mkdir()
  (data / "example.train").write_text("\n\n".join(blocks[:32]) + "\n",
                                      encoding="utf-8")
  (data / "example.dev").write_text("\n\n".join(blocks[32:40]) + "\n",
                                    encoding="utf-8")
  run_dir = tinyrun.fine_tune(tagging.Tagger("peoples_daily", crf=True), data,
                              tmp_path / "run", MAX_SEQ_LENGTH,
                              save_checkpoints_steps=1000, seed=2)
  result = export_lib.export(run_dir, str(tmp_path / "export"))
  predictor = predictor_lib.Predictor(result["export_dir"])
  texts = ["".join(l.split()[0] for l in b.split("\n") if l.strip())
           for b in blocks[40:46]] + ["张三在北京大学读书。", "x" * 300]
  _, want = _python_outputs(predictor, [(t, None) for t in texts])
  _assert_same(predictor.run_text(texts), want)
  predictor.close()


def test_which_exports_have_a_text_signature_and_its_inputs():
  from bert_toolkit.tasks import regression  # pylint: disable=g-import-not-at-top
  assert classifier.Classifier.text_signature(
      {"task": "chnsenticorp", "labels": ["0", "1"], "head": {}}) == {
          "pair": False, "truncation": "head"}
  assert classifier.Classifier.text_signature(
      {"task": "lcqmc", "labels": ["0", "1"],
       "head": {"truncation": "tail"}}) == {"pair": True,
                                            "truncation": "tail"}
  assert classifier.Classifier.text_signature(
      {"task": "sst2", "labels": ["0", "1"],
       "head": {"long_text": "windows"}}) is None
  assert regression.Regressor.text_signature(
      {"task": "stsb", "labels": ["score"], "head": {}})["pair"] is True
  assert tagging.Tagger.text_signature({"task": "peoples_daily"}) == {
      "pair": False, "truncation": "head"}

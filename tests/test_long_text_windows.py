"""--long_text=windows for classification: windows, pooling, CLI, serving."""

import csv
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tokenization
from bert_toolkit.data import encoding
from bert_toolkit.engine import input_pipeline
from modeling import heads
from tests import clirun
from tests import datasets
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
MAX_SEQ_LENGTH = 24


def _tokenizer():
  return tokenization.FullTokenizer(os.path.join(BERT_DIR, "vocab.txt"), True)


def test_windows_cover_the_text_at_word_boundaries():
  tokenizer = _tokenizer()
  text = "房间很干净，早餐也不错。" * 6 + "服务员态度好"
  pieces = tokenizer.tokenize(text)
  windows = encoding.encode_windows(tokenizer, text, 16, stride=5)
  assert len(windows) > 3
  starts, position = [], 0
  for w in windows:
    assert w.tokens[0] == "[CLS]" and w.tokens[-1] == "[SEP]"
    assert len(w.input_ids) <= 16 and not w.truncated
    assert w.segment_ids == [0] * len(w.input_ids)
    inner = w.tokens[1:-1]
    # Each window is a run of the text's pieces, starting 5 after the last.
    while pieces[position:position + len(inner)] != inner:
      position += 1
    starts.append(position)
  assert starts[0] == 0 and all(b - a == 5 for a, b in zip(starts, starts[1:]))
  assert starts[-1] + len(windows[-1].tokens) - 2 == len(pieces)
  # A text that fits is one window, the same ids as the truncating encoder.
  short = encoding.encode_windows(tokenizer, "房间很干净", 16)
  assert [w.input_ids for w in short] == [
      encoding.encode(tokenizer, "房间很干净", None, 16).input_ids]


def test_graph_pooling_equals_numpy_pooling_per_text():
  logits = np.random.RandomState(0).randn(7, 3).astype(np.float32)
  owner = [0, 0, 0, 1, 2, 2, 3]
  with tf.Graph().as_default(), tf.Session() as sess:
    for pooling in ("mean", "max"):
      pooled = sess.run(heads.pool_windows(tf.constant(logits),
                                           tf.constant(owner), pooling))
      want = [encoding.pool_logits(logits[[i for i, o in enumerate(owner)
                                           if o == text]], pooling)
              for text in range(4)]
      np.testing.assert_allclose(pooled, want, rtol=0, atol=1e-6)
  with pytest.raises(ValueError):
    encoding.pool_logits(logits, "sum")


def test_unflatten_gives_one_row_per_window():
  # Two texts: windows [5,6,7] + [8,9] and [1,2].
  with tf.Graph().as_default(), tf.Session() as sess:
    features = {
        "input_ids": tf.constant([[5, 6, 7, 8, 9], [1, 2, 0, 0, 0]]),
        "segment_ids": tf.zeros([2, 5], tf.int32),
        "input_mask": tf.constant([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]),
        "window_lengths": tf.constant([[3, 2], [2, 0]]),
        "label_ids": tf.constant([1, 0]),
    }
    out = sess.run(input_pipeline.unflatten_windows(features, [4, 8]))
  np.testing.assert_array_equal(out["input_ids"],
                                [[5, 6, 7, 0], [8, 9, 0, 0], [1, 2, 0, 0]])
  np.testing.assert_array_equal(out["input_mask"],
                                [[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 0, 0]])
  np.testing.assert_array_equal(out["window_example"], [0, 0, 1])
  np.testing.assert_array_equal(out["label_ids"], [1, 0])
  assert "window_lengths" not in out


@pytest.fixture(scope="module")
def windowed_run(tmp_path_factory):
  """A tiny ChnSentiCorp run trained, evaluated and predicted in windows."""
  root = tmp_path_factory.mktemp("windows")
  data = datasets.chnsenticorp(root / "data", train=24, dev=8, test=12)
  out = str(root / "run")
  args = ("run_classifier.py", "--task=chnsenticorp", "--data_dir=" + data,
          "--output_dir=" + out, "--max_seq_length=%d" % MAX_SEQ_LENGTH,
          "--train_batch_size=8")
  proc = clirun.run_script(*args, "--init_checkpoint=" + BERT_DIR,
                           "--do_train", "--do_eval", "--do_predict",
                           "--num_train_epochs=1", "--long_text=windows",
                           "--window_stride=8")
  assert proc.returncode == 0, proc.stderr[-3000:]
  return data, out, args


@pytest.mark.slow
def test_cli_windows_then_serving_pools_each_window_alone(windowed_run,
                                                         tmp_path):
  _, out, args = windowed_run
  from bert_toolkit.runs import run_info  # pylint: disable=g-import-not-at-top
  head = run_info.read(out)["head"]
  assert (head["long_text"], head["window_stride"],
          head["window_pooling"]) == ("windows", 8, "mean")
  with open(os.path.join(out, "test_results.tsv"), encoding="utf-8") as f:
    rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
  assert len(rows) == 12
  export = str(tmp_path / "export")
  predictor = clirun.export_predictor(out, export)
  try:
    several = 0
    for row in rows:
      windows = predictor.encode_rows(row["text_a"])
      several += len(windows) > 1
      # Each window run alone, its logits mean-pooled here ...
      logits = [predictor.run(*[np.array([w[name]]) for name in
                                encoding.MODEL_INPUTS])["logits"][0]
                for w in windows]
      pooled = encoding.pool_logits(logits, "mean")
      alone = np.exp(pooled - pooled.max())
      alone /= alone.sum()
      # ... equal the estimator's windows pooled in the graph, batched.
      np.testing.assert_allclose(
          alone, [float(row["prob_0"]), float(row["prob_1"])], atol=2e-6)
      answer = predictor.predict(row["text_a"])[0]
      assert answer["label"] == row["prediction"]
      assert abs(answer["probabilities"]["1"] - float(row["prob_1"])) < 2e-6
    assert several >= 6            # the reviews are long at 24 pieces
    with pytest.raises(ValueError):      # PredictorError
      predictor.predict([("房间", "干净")])
  finally:
    predictor.close()
  # The run keeps its reading: evaluating it truncated is refused.
  proc = clirun.run_script(*args, "--do_eval", "--long_text=truncate")
  clirun.assert_user_error(proc, "--long_text=windows")


@pytest.mark.slow
def test_windows_refusals(windowed_run, tmp_path):
  data, _, _ = windowed_run
  base = ("run_classifier.py", "--init_checkpoint=" + BERT_DIR,
          "--max_seq_length=24", "--do_train", "--num_train_steps=1",
          "--long_text=windows")
  proc = clirun.run_script(*base, "--task=chnsenticorp", "--data_dir=" + data,
                           "--pack_sequences",
                           "--output_dir=" + str(tmp_path / "a"))
  clirun.assert_user_error(proc, "--pack_sequences")
  proc = clirun.run_script(*base, "--task=chnsenticorp", "--data_dir=" + data,
                           "--truncation=head_tail",
                           "--output_dir=" + str(tmp_path / "b"))
  clirun.assert_user_error(proc, "--truncation")
  pairs = tmp_path / "pairs"
  pairs.mkdir()
  for split in ("train", "dev"):
    (pairs / (split + ".tsv")).write_text(
        "a\tb\tlabel\n房间很干净\t早餐不错\t1\n太吵了\t不推荐\t0\n",
        encoding="utf-8")
  proc = clirun.run_script(
      *base, "--task=tsv", "--data_dir=" + str(pairs), "--text_a_column=a",
      "--text_b_column=b", "--label_column=label",
      "--output_dir=" + str(tmp_path / "c"))
  clirun.assert_user_error(proc, "text pairs")

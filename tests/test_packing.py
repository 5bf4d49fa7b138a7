"""Sequence packing (--pack_sequences): the packing rules, and packed rows
computing exactly what the unpacked batch computes."""

import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit.tasks import classifier
from bert_toolkit.data import features as features_lib
from bert_toolkit.engine import input_pipeline
from bert_toolkit.engine import packing
from bert_toolkit.runs import run_info
from bert_toolkit.tasks import tagging
from bert_toolkit.engine import task as task_lib
from tests import clirun
from tests import datasets
from tests import modelrun
from tests.paths import DATA_DIR
from tests.paths import REFERENCE_DIR

tf.disable_eager_execution()

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
SAME = 1e-5      # packed vs unpacked, our own graph
TOL = 1e-4       # vs the official implementation's outputs


# ------------------------------------------------------------- the rules ---

def test_first_fit_decreasing_places_every_example_whole():
  rows, offsets, num_rows = packing.assign_rows([5, 9, 3, 8, 2, 9], 16)
  # Longest first: 9 -> row 0, 9 -> row 1, 8 -> row 2, 5 -> row 0 (9+5),
  # 3 -> row 1 (9+3), 2 -> row 0 (14+2).
  assert num_rows == 3
  assert list(rows) == [0, 0, 1, 2, 0, 1]
  assert list(offsets) == [9, 0, 9, 0, 14, 0]
  with pytest.raises(ValueError):
    packing.assign_rows([17], 16)


def test_pack_batch_rows_positions_and_unpack_index():
  lengths = np.array([3, 5, 2, 4])
  ids = np.zeros([4, 5], np.int32)
  segments = np.zeros([4, 5], np.int32)
  for b, n in enumerate(lengths):
    ids[b, :n] = 100 * (b + 1) + np.arange(n)
    segments[b, n // 2:n] = 1
  out = packing.pack_batch(ids, segments, lengths, (4, 8, 16))
  # Longest is 5 -> rows of 8: [5, 3] and [4, 2].
  assert out["packed_input_ids"].shape == (2, 8)
  flat_ids = out["packed_input_ids"].reshape(-1)
  flat_seg = out["packed_segment_ids"].reshape(-1)
  for b, n in enumerate(lengths):
    where = out["unpack_index"][b, :n]
    np.testing.assert_array_equal(flat_ids[where], ids[b, :n])
    np.testing.assert_array_equal(flat_seg[where], segments[b, :n])
    np.testing.assert_array_equal(
        out["packed_position_ids"].reshape(-1)[where], np.arange(n))
    slots = out["packed_input_mask"].reshape(-1)[where]
    assert len(set(slots)) == 1 and slots[0] >= 1
  np.testing.assert_array_equal(out["packed_input_mask"],
                                [[1] * 5 + [2] * 3, [1] * 4 + [2] * 2 + [0] * 2])
  assert (out["packed_input_ids"][1, 6:] == 0).all()


# ------------------------------------------- the encoder, against Google ---

def _reference(name):
  return dict(np.load(os.path.join(REFERENCE_DIR, name, "reference.npz")))


def _converted(name, tmp_path):
  from modeling.hf import convert as hf_convert  # pylint: disable=g-import-not-at-top
  result = hf_convert.convert_hf_folder(os.path.join(REFERENCE_DIR, name),
                                        str(tmp_path / name))
  return (result.model_type,
          modeling.BertConfig.from_json_file(result.config_file),
          result.checkpoint)


def _family(name, tmp_path):
  if name == "bert_zh_tiny":
    folder = os.path.join(REFERENCE_DIR, name)
    return ("bert", modeling.BertConfig.from_json_file(
        os.path.join(folder, "bert_config.json")),
            os.path.join(folder, "bert_model.ckpt"))
  if name == "albert_zh_tiny":
    folder = os.path.join(REFERENCE_DIR, name)
    return ("albert", modeling.BertConfig.from_json_file(
        os.path.join(folder, "albert_config.json")),
            os.path.join(folder, "albert_model.ckpt"))
  if name == "electra_zh_tiny":
    files = modeling.find_pretrained(os.path.join(REFERENCE_DIR, name))
    return "electra", files.config, files.checkpoint
  return _converted(name, tmp_path)


@pytest.mark.parametrize("name", ["bert_zh_tiny", "albert_zh_tiny",
                                  "electra_zh_tiny", "distilbert_en_tiny"])
def test_packed_rows_give_the_unpacked_outputs(name, tmp_path):
  """The reference sentences (lengths 17-22), packed three to a row of 64,
  give the vectors of each sentence alone: every layer, embeddings and
  pooled output, against our unpacked graph (1e-5) and the official one."""
  model_type, config, checkpoint = _family(name, tmp_path)
  ref = _reference(name)
  args = (ref["input_ids"], ref["input_mask"], ref["segment_ids"])
  plain = modelrun.run_model(model_type, config, checkpoint, *args)
  packed = modelrun.run_model(model_type, config, checkpoint, *args,
                              pack_sizes=(64,))
  rows = packed["packed"]["packed_input_ids"]
  assert rows.shape[0] < ref["input_ids"].shape[0]   # really packed
  mask = ref["input_mask"]
  for key in ("embedding_output", "all_encoder_layers", "sequence_output"):
    assert packed[key].shape == plain[key].shape
    assert modelrun.max_diff(packed[key], plain[key], mask) < SAME, key
  assert np.abs(packed["pooled_output"] - plain["pooled_output"]).max() < SAME
  assert modelrun.max_diff(packed["all_encoder_layers"],
                           ref["all_encoder_layers"], mask) < TOL
  if ref.get("pooled_output", np.zeros(0)).size:   # DistilBERT has none
    assert np.abs(packed["pooled_output"] - ref["pooled_output"]).max() < TOL


def test_without_the_block_mask_packing_would_show(monkeypatch):
  """The test above can fail: letting examples see each other (a plain
  0/1 mask over the row) changes the vectors well beyond 1e-5."""
  from modeling import layers  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(layers, "block_attention_bias",
                      lambda ids, dtype: layers.attention_bias_from_mask(
                          tf.minimum(ids, 1), dtype))
  model_type, config, checkpoint = _family("bert_zh_tiny", None)
  ref = _reference("bert_zh_tiny")
  packed = modelrun.run_model(model_type, config, checkpoint,
                              ref["input_ids"], ref["input_mask"],
                              ref["segment_ids"], pack_sizes=(64,))
  assert modelrun.max_diff(packed["sequence_output"],
                           ref["all_encoder_layers"][-1],
                           ref["input_mask"]) > 1e-2


# --------------------------- the pipeline and the heads: loss, gradients ---

def _records(num, seed=0):
  """Feature records of varied lengths (3..40), with token labels."""
  rng = np.random.RandomState(seed)
  for i in range(num):
    n = int(rng.randint(3, 41))
    ids = [101] + list(rng.randint(200, 5000, n - 2)) + [102]
    yield {"input_ids": ids, "segment_ids": [0] * (n // 2) + [1] * (n - n // 2),
           "label_ids": [-1] + list(rng.randint(0, 3, n - 2)) + [-1],
           "example_index": [i], "window_index": [0]}


def _one_packed_batch(path, batch_size, sequence_names, scalar_names):
  input_fn = input_pipeline.input_fn_builder(
      path, batch_size, 64, True, sequence_names=sequence_names,
      scalar_names=scalar_names, pack_sequences=True)
  with tf.Graph().as_default():
    batch = tf.data.make_one_shot_iterator(input_fn()).get_next()
    with tf.Session() as sess:
      return sess.run(batch)


def _loss_and_grads(task, batch, checkpoint, packed, first_token_only=False):
  """(loss, {variable: gradient}) of the task's training graph on one batch,
  with the encoder's weights from `checkpoint` and the head's from a fixed
  initialisation; dropout off."""
  config = modeling.BertConfig.from_json_file(
      os.path.join(BERT_DIR, "bert_config.json"))
  config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
  with tf.Graph().as_default():
    features = {k: tf.constant(v) for k, v in batch.items()
                if packed or k not in packing.PACKED_FEATURES}
    tf.set_random_seed(7)
    model = task_lib.encoder_from_features("bert", config, features, True,
                                           first_token_only)
    out = task.head(model, features, task_lib.HeadContext(
        tf.estimator.ModeKeys.TRAIN, "bert", config, None))
    pairs = [(v, g) for v, g in zip(
        tf.trainable_variables(),
        tf.gradients(out.loss, tf.trainable_variables())) if g is not None]
    tvars = tf.trainable_variables()
    grads = [tf.convert_to_tensor(g) for _, g in pairs]  # dense slices
    modeling.init_from_checkpoint(checkpoint, "bert", log=False)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      head = [v for v in tvars if not v.name.startswith("bert/")]
      for v in head:   # the same head weights in both graphs
        rng = np.random.RandomState(len(v.name))
        sess.run(v.assign(rng.normal(0, 0.1, v.shape.as_list())))
      loss, values = sess.run([out.loss, grads])
  return loss, {v.name: g for (v, _), g in zip(pairs, values)}


def _check_same_training(task, batch, first_token_only=False):
  """The packed batch (with `first_token_only`: the last layer at the
  first tokens alone) has the loss and gradients of the plain unpacked
  one."""
  checkpoint = os.path.join(BERT_DIR, "bert_model.ckpt")
  loss_p, grads_p = _loss_and_grads(task, batch, checkpoint, True,
                                    first_token_only)
  loss_u, grads_u = _loss_and_grads(task, batch, checkpoint, False)
  assert abs(loss_p - loss_u) < SAME * max(1.0, abs(loss_u))
  assert set(grads_p) == set(grads_u) and len(grads_p) > 10
  for name, grad in grads_u.items():
    scale = max(1.0, float(np.abs(grad).max()))
    diff = float(np.abs(np.asarray(grads_p[name]) - np.asarray(grad)).max())
    assert diff < SAME * scale, (name, diff)


@pytest.mark.slow
def test_packed_training_batch_has_the_unpacked_loss_and_gradients(tmp_path):
  """Through input_fn_builder(pack_sequences=True) and the model_fn's
  encoder: a classifier batch and a CRF + BiLSTM NER batch have the loss
  and gradients of the same examples unpacked."""
  path = str(tmp_path / "train.tf_record")
  with tf.io.TFRecordWriter(path) as writer:
    for record in _records(40):
      writer.write(features_lib.serialize(record))
  # NER: token labels; CRF and BiLSTM read the unpacked lengths.
  batch = _one_packed_batch(path, 16, ("input_ids", "segment_ids",
                                       "label_ids"),
                            ("example_index", "window_index"))
  assert batch["packed_input_ids"].shape[0] < 16
  assert batch["unpack_index"].shape == batch["input_ids"].shape
  tagger = tagging.Tagger("bio", crf=True, lstm_size=8)
  tagger.label_list = ["O", "B-X", "I-X"]
  _check_same_training(tagger, batch)
  # Classification: one label per example, read from the [CLS] vector.
  batch = dict(batch, label_ids=batch["example_index"] % 2)
  del batch["window_index"]
  task = classifier.Classifier("chnsenticorp")
  task.label_list = ["0", "1"]
  assert task.first_token_only
  _check_same_training(task, batch, first_token_only=True)


# --------------------------------------------------- the command lines ---

@pytest.fixture
def chnsenticorp(tmp_path):
  return datasets.chnsenticorp(tmp_path / "chnsenticorp", train=48, dev=16)


def _classify(data_dir, out, *extra):
  return clirun.run_script(
      "run_classifier.py", "--task=chnsenticorp", "--data_dir=" + data_dir,
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out, "--do_train",
      "--max_seq_length=64", "--train_batch_size=16",
      "--save_checkpoints_steps=2", "--log_every_seconds=0", *extra)


@pytest.mark.slow
def test_cli_pack_sequences_trains_records_and_resumes(chnsenticorp,
                                                       tmp_path):
  out = str(tmp_path / "run")
  proc = _classify(chnsenticorp, out, "--pack_sequences",
                   "--num_train_epochs=1", "--do_eval")
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = json.load(open(os.path.join(out, "run_results.json")))
  assert results["train"]["global_step"] == 3
  assert 0.0 <= results["eval"]["accuracy"] <= 1.0
  assert run_info.read(out)["train"]["pack_sequences"] is True
  # Resuming with the other batching is refused: the data position differs.
  proc = _classify(chnsenticorp, out, "--num_train_epochs=2")
  clirun.assert_user_error(proc, "--pack_sequences=true")
  proc = _classify(chnsenticorp, out, "--pack_sequences",
                   "--num_train_epochs=2")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Resuming from" in proc.stderr
  results = json.load(open(os.path.join(out, "run_results.json")))
  assert results["train"]["global_step"] == 6


@pytest.mark.slow
def test_cli_pack_sequences_needs_dynamic_padding(chnsenticorp, tmp_path):
  proc = _classify(chnsenticorp, str(tmp_path / "run"), "--pack_sequences",
                   "--dynamic_padding=false")
  clirun.assert_user_error(proc, "--pack_sequences",
                           "--dynamic_padding=false")


@pytest.mark.slow
def test_cli_ner_pack_sequences(tmp_path):
  data = tmp_path / "pd"
  datasets.ner_splits(
      os.path.join(DATA_DIR, "peoples_daily_ner", "example.dev"), str(data),
      train=(0, 32), dev=(32, 40), test=(40, 44))
  out = str(tmp_path / "ner")
  proc = clirun.run_script(
      "run_ner.py", "--task=peoples_daily", "--data_dir=" + str(data),
      "--init_checkpoint=" + BERT_DIR, "--output_dir=" + out, "--do_train",
      "--do_eval", "--crf", "--max_seq_length=64", "--train_batch_size=16",
      "--num_train_epochs=1", "--pack_sequences", "--log_every_seconds=0")
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = json.load(open(os.path.join(out, "run_results.json")))
  assert results["train"]["global_step"] == results["num_train_steps"] > 0
  assert "f1" in results["eval"]

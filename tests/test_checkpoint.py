"""Restore: real release layouts, optimizer slots, and clear errors."""

import os
import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling
from tests import modelrun
from tests.paths import REFERENCE_DIR

tf.disable_eager_execution()

REAL_LAYOUTS = os.path.join(REFERENCE_DIR, "real_layouts")


def _report_for(folder, config_file=None, model_type=None):
  """Builds the graph the config describes and reports a restore from folder."""
  files = modeling.find_pretrained(folder, bert_config_file=config_file,
                                   model_type=model_type)
  with tf.Graph().as_default():
    ids = tf.placeholder(tf.int32, [None, None])
    modeling.build_model(files.model_type, files.config, False, ids)
    report = modeling.restore_report(tf.global_variables(), files.checkpoint)
    modeling.check_report(report, modeling.encoder_scope(files.model_type))
  return files, report


@pytest.mark.parametrize("name,model_type", [
    ("chinese_bert_wwm", "bert"),
    ("uncased_L-8_H-512_A-8", "bert"),
    ("chinese_bert_mlm_only_vocab5981", "bert"),
    ("albert_small_zh_google", "albert"),
    ("albert_tiny_zh_brightmart", "albert"),
])
def test_real_layout_has_every_variable(name, model_type):
  files, report = _report_for(os.path.join(REAL_LAYOUTS, name))
  assert files.model_type == model_type
  assert not report.shape_mismatch
  # Every graph variable is found, except a pooler the release lacks.
  assert all("/pooler/" in n for n in report.to_initialize), report
  assert len(report.restored) > 10


def test_layout_specifics():
  _, report = _report_for(os.path.join(REAL_LAYOUTS,
                                       "chinese_bert_mlm_only_vocab5981"))
  assert report.to_initialize == ["bert/pooler/dense/kernel",
                                  "bert/pooler/dense/bias"]
  assert "no pooler" in modeling.format_report(report)
  files, report = _report_for(os.path.join(REAL_LAYOUTS,
                                           "albert_tiny_zh_brightmart"))
  assert files.config.albert_layout == "brightmart"
  assert "bert/embeddings/word_embeddings_2" in report.restored
  files, report = _report_for(os.path.join(REAL_LAYOUTS,
                                           "albert_small_zh_google"))
  assert files.config.albert_layout == "google"
  # Each restored weight and each cls/* head has adam_m + adam_v; plus step.
  expected = {n + "/adam_" + k for n in report.restored + report.unused_heads
              for k in "mv"} | {"global_step"}
  assert set(report.unused_slots) == expected


def test_pretraining_checkpoint_restores_weights_and_skips_slots():
  folder = os.path.join(REFERENCE_DIR, "google_pretraining_toy")
  prefix = os.path.join(folder, "bert_model.ckpt")
  config = modeling.BertConfig.from_json_file(
      os.path.join(folder, "bert_config.json"))
  ids = np.array([[2, 5, 7, 3, 0]], np.int32)
  out = modelrun.run_model("bert", config, prefix, ids, (ids > 0) * 1,
                           np.zeros_like(ids))
  report = out["report"]
  assert "global_step" in report.unused_slots
  assert "bert/embeddings/word_embeddings/adam_m" in report.unused_slots
  assert any(n.startswith("cls/") for n in report.unused_heads)
  assert not report.to_initialize
  text = modeling.format_report(report)
  assert "optimizer slots" in text and "pre-training heads" in text
  # The restored values are the checkpoint's, not a random init.
  reader = tf.train.load_checkpoint(prefix)
  with tf.Graph().as_default():
    ph = tf.placeholder(tf.int32, [None, None])
    modeling.BertModel(config, False, ph)
    modeling.init_from_checkpoint(prefix, "bert", log=False)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for var in tf.global_variables():
        np.testing.assert_array_equal(sess.run(var),
                                      reader.get_tensor(var.op.name))


def _tiny_bert():
  folder = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
  config = modeling.BertConfig.from_json_file(
      os.path.join(folder, "bert_config.json"))
  return folder, config


def test_shape_mismatch_names_variable_and_shapes():
  folder, config = _tiny_bert()
  config.vocab_size = 30522
  with tf.Graph().as_default():
    modeling.BertModel(config, False, tf.placeholder(tf.int32, [None, None]))
    with pytest.raises(modeling.CheckpointError) as err:
      modeling.init_from_checkpoint(folder, "bert", log=False)
  msg = str(err.value)
  assert "bert/embeddings/word_embeddings" in msg
  assert "[30522, 64]" in msg and "[21128, 64]" in msg
  assert "config does not belong" in msg


def test_missing_encoder_layer_is_an_error():
  folder, config = _tiny_bert()
  config.num_hidden_layers = 3
  with tf.Graph().as_default():
    modeling.BertModel(config, False, tf.placeholder(tf.int32, [None, None]))
    with pytest.raises(modeling.CheckpointError) as err:
      modeling.init_from_checkpoint(folder, "bert", log=False)
  assert "bert/encoder/layer_2/" in str(err.value)
  assert "BERT with 2 layers" in str(err.value)


def test_wrong_model_type_is_named():
  folder = os.path.join(REFERENCE_DIR, "albert_zh_tiny")
  with pytest.raises(modeling.CheckpointError) as err:
    modeling.find_pretrained(folder, model_type="bert")
  assert "Google ALBERT" in str(err.value)


@pytest.mark.parametrize("path", ["/nonexistent/bert_model.ckpt",
                                  REFERENCE_DIR])
def test_missing_checkpoint_message(path):
  with pytest.raises(modeling.CheckpointError) as err:
    modeling.resolve_checkpoint(path)
  assert path in str(err.value)


def test_task_head_variables_are_reported_for_initialisation():
  folder, config = _tiny_bert()
  with tf.Graph().as_default():
    model = modeling.BertModel(config, True,
                               tf.placeholder(tf.int32, [None, None]))
    tf.get_variable("output_weights", [2, config.hidden_size])
    report = modeling.init_from_checkpoint(folder, "bert", log=False)
  assert report.to_initialize == ["output_weights"]
  assert model.get_pooled_output().shape.as_list() == [None, 64]


def test_get_assignment_map_matches_googles_contract():
  folder, config = _tiny_bert()
  with tf.Graph().as_default():
    modeling.BertModel(config, False, tf.placeholder(tf.int32, [None, None]))
    tvars = tf.trainable_variables()
    amap, initialized = modeling.get_assignment_map_from_checkpoint(
        tvars, os.path.join(folder, "bert_model.ckpt"))
  assert set(amap) == {v.op.name for v in tvars}
  assert all(amap[k] == k for k in amap)
  assert all(v.op.name + ":0" in initialized for v in tvars)


def test_brightmart_layout_equals_folded_bert():
  """brightmart ALBERT == a BERT whose word table is W @ word_embeddings_2
  and whose every layer is the shared layer: an independent check of the
  layout (no released weights with reference outputs exist here)."""
  rng = np.random.RandomState(0)
  config = modeling.BertConfig(vocab_size=50, hidden_size=16,
                               num_hidden_layers=3, num_attention_heads=4,
                               intermediate_size=32, type_vocab_size=2,
                               max_position_embeddings=20,
                               embedding_size=8, hidden_act="gelu")
  config.ln_type = "postln"
  ids = rng.randint(1, 50, size=(2, 7)).astype(np.int32)
  mask = np.ones_like(ids)
  mask[1, 5:] = 0
  seg = np.zeros_like(ids)
  seg[:, 4:] = 1

  def run(build, assign_from=None):
    with tf.Graph().as_default():
      phs = [tf.placeholder(tf.int32, [None, None]) for _ in range(3)]
      model = build(*phs)
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        if assign_from is not None:
          for var in tf.global_variables():
            var.load(assign_from(var.op.name), sess)
        values = {v.op.name: sess.run(v) for v in tf.global_variables()}
        out = sess.run(model.get_all_encoder_layers(),
                       dict(zip(phs, [ids, mask, seg])))
    return values, np.stack(out)

  albert_vars, albert_out = run(
      lambda i, m, s: modeling.AlbertModel(config, False, i, m, s,
                                           layout="brightmart"))
  assert "bert/encoder/layer_shared/attention/self/query/kernel" in albert_vars

  def folded(name):
    if name == "bert/embeddings/word_embeddings":
      return albert_vars[name].dot(
          albert_vars["bert/embeddings/word_embeddings_2"])
    if "/encoder/layer_" in name:
      rest = name.split("/", 3)[3]
      return albert_vars["bert/encoder/layer_shared/" + rest]
    return albert_vars[name]

  bert_config = modeling.BertConfig.from_dict(config.to_dict())
  bert_config.embedding_size = None
  _, bert_out = run(lambda i, m, s: modeling.BertModel(bert_config, False, i,
                                                       m, s), folded)
  assert modelrun.max_diff(albert_out, bert_out, mask) < 1e-5


def test_fewer_layers_than_the_checkpoint_needs_allow_partial():
  """A config with fewer layers than the checkpoint would silently drop
  layers: an error, unless a partial restore is asked for (then the
  report warns)."""
  folder, config = _tiny_bert()
  config.num_hidden_layers = 1
  with tf.Graph().as_default():
    modeling.BertModel(config, False, tf.placeholder(tf.int32, [None, None]))
    with pytest.raises(modeling.CheckpointError) as err:
      modeling.init_from_checkpoint(folder, "bert", log=False)
  assert "--allow_partial_restore" in str(err.value)
  assert "bert/encoder/layer_1/" in str(err.value)
  with tf.Graph().as_default():
    modeling.BertModel(config, False, tf.placeholder(tf.int32, [None, None]))
    report = modeling.init_from_checkpoint(folder, "bert", log=False,
                                           allow_partial=True)
  unused = modeling.checkpoint.unused_encoder_variables(report, "bert")
  assert len(unused) == 16
  assert all(n.startswith("bert/encoder/layer_1/") for n in unused)
  assert "NOT USED" in modeling.format_report(report, "bert")


def test_a_missing_data_shard_is_named(tmp_path):
  folder = str(tmp_path / "bert")
  shutil.copytree(os.path.join(REFERENCE_DIR, "bert_zh_tiny"), folder)
  os.remove(os.path.join(folder, "bert_model.ckpt.data-00000-of-00001"))
  with pytest.raises(modeling.CheckpointError, match="data file .* missing"):
    modeling.checkpoint.check_data_files(os.path.join(folder,
                                                      "bert_model.ckpt"))


def test_tinybert_fit_dense_and_electra_heads_are_reported_not_used(tmp_path):
  """A BERT-shaped checkpoint that also carries TinyBERT's fit_dense (and
  pre-training heads) restores the encoder and lists them as not used."""
  prefix = str(tmp_path / "tinybert" / "model.ckpt")
  source = os.path.join(REFERENCE_DIR, "bert_zh_tiny", "bert_model.ckpt")
  reader = tf.train.load_checkpoint(source)
  with tf.Graph().as_default():
    variables = [tf.Variable(reader.get_tensor(name), name=name)
                 for name in reader.get_variable_to_shape_map()]
    variables.append(tf.Variable(np.zeros([64, 312], np.float32),
                                 name="fit_dense/kernel"))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver(variables).save(sess, prefix)
  files = modeling.find_pretrained(os.path.dirname(prefix),
                                   bert_config_file=os.path.join(
                                       REFERENCE_DIR, "bert_zh_tiny",
                                       "bert_config.json"),
                                   vocab_file=os.path.join(
                                       REFERENCE_DIR, "bert_zh_tiny",
                                       "vocab.txt"))
  assert files.model_type == "bert"
  with tf.Graph().as_default():
    modeling.BertModel(files.config, False,
                       tf.placeholder(tf.int32, [None, None]))
    report = modeling.init_from_checkpoint(prefix, "bert", log=False)
  assert "fit_dense/kernel" in report.unused_heads
  assert any(n.startswith("cls/") for n in report.unused_heads)
  assert not report.unused_other

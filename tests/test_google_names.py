"""What code written against google-research/bert and google-research/albert
expects of `modeling`: a graph with no stray ops, and ALBERT's own names.

Google's modeling_test.py checks that every op of a built BertModel is
reachable from its outputs; `unreachable_ops` applies the same rule here
to BERT and ALBERT, in training and in inference mode, with resource
variables (TF 2's default) and reference variables (TF 1's).
"""

import collections
import math
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import modeling

tf.disable_eager_execution()

# The ops Google's test also lets go: the run-time sequence-length check
# (held by a control dependency, which is not a data path).
_IGNORED = (re.compile(r"^.*/assert_less_equal/.*$"),)

# Ops that initialise, read or test a variable: they touch its handle and
# are reached through it, as Google's test reaches a variable's Assign.
_VARIABLE_OPS = ("Assign", "AssignVariableOp", "VarIsInitializedOp",
                 "ReadVariableOp")


def unreachable_ops(graph, outputs):
  """Names of the ops of `graph` some of whose tensors cannot be reached
  from `outputs` (tensors), walking from a tensor to the op that makes it
  and from there to every tensor that op touches; a variable's own
  initialising and reading ops count as reached with the variable."""
  made_by = collections.defaultdict(list)   # tensor -> tensors of its ops
  with_variable = collections.defaultdict(list)
  for op in graph.get_operations():
    touched = [t.name for t in list(op.inputs) + list(op.outputs)]
    for t in op.outputs:
      made_by[t.name].append(touched)
    if op.type in _VARIABLE_OPS and op.inputs:
      with_variable[op.inputs[0].name].append(touched)
  reached = set()
  pending = [t.name for t in outputs]
  while pending:
    name = pending.pop()
    if name in reached:
      continue
    reached.add(name)
    for group in made_by[name] + with_variable[name]:
      pending.extend(group)
  found = []
  for op in graph.get_operations():
    if any(r.match(op.name) for r in _IGNORED):
      continue
    if any(t.name not in reached for t in list(op.inputs) + list(op.outputs)):
      found.append(op.name)
  return found


def _tiny_config(**extra):
  kwargs = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2,
                num_attention_heads=4, intermediate_size=37)
  kwargs.update(extra)
  return modeling.BertConfig(**kwargs)


_FAMILIES = {
    "bert": (modeling.BertModel, {}),
    "albert": (modeling.AlbertModel, {"embedding_size": 16}),
    "distilbert": (modeling.DistilBertModel, {"type_vocab_size": 0}),
    "electra": (modeling.ElectraModel, {"embedding_size": 16}),
}


@pytest.mark.parametrize("resource", [True, False])
@pytest.mark.parametrize("is_training", [True, False])
@pytest.mark.parametrize("family", sorted(_FAMILIES))
@pytest.mark.parametrize("hidden_act", ["gelu", "gelu_exact"])
def test_every_op_is_reachable_from_the_outputs(family, is_training,
                                                resource, hidden_act):
  model_class, extra = _FAMILIES[family]
  graph = tf.Graph()
  with graph.as_default():
    ids = tf.constant([[5, 6, 7, 0], [8, 9, 0, 0]], tf.int32)
    mask = tf.constant([[1, 1, 1, 0], [1, 1, 0, 0]], tf.int32)
    config = _tiny_config(hidden_act=hidden_act, **extra)
    # Segments only where the family has segment embeddings: an input the
    # model does not read is the caller's unused op, not the model's.
    segments = tf.zeros_like(ids) if config.type_vocab_size else None
    with tf.variable_scope("", use_resource=resource):
      model = model_class(config, is_training, ids, mask, segments)
    outputs = ([model.get_embedding_output(), model.get_sequence_output(),
                model.get_pooled_output()] + model.get_all_encoder_layers())
    assert unreachable_ops(graph, outputs) == []


def test_the_rule_sees_a_stray_op():
  """An op nothing reads is named (the check can fail)."""
  graph = tf.Graph()
  with graph.as_default():
    x = tf.constant([1.0, 2.0])
    tf.identity(x, name="stray")
    y = x * 2.0
  assert unreachable_ops(graph, [y]) == ["stray"]


@pytest.mark.parametrize("name", ["gelu", "gelu_exact"])
def test_gelu_backward_reads_only_its_input(name):
  """The written-out gradient is computed from x alone: no forward
  intermediate of the activation is kept for the backward pass."""
  graph = tf.Graph()
  with graph.as_default():
    x = tf.placeholder(tf.float32, [None])
    before = {op.name for op in graph.get_operations()}
    y = modeling.get_activation(name)(x)
    forward = {op.name for op in graph.get_operations()} - before
    dy = tf.placeholder(tf.float32, [None])
    grad = tf.gradients(y, x, grad_ys=dy)[0]
    needed = set()
    pending = [grad.op]
    while pending:
      op = pending.pop()
      if op.name in needed:
        continue
      needed.add(op.name)
      pending.extend(t.op for t in op.inputs)
      pending.extend(op.control_inputs)
    assert not needed & forward
    with tf.Session() as sess:
      value = sess.run(grad, {x: np.array([0.0], np.float32),
                              dy: np.array([1.0], np.float32)})
  np.testing.assert_allclose(value, [0.5], atol=1e-6)


def _ancestors(op):
  """The names of op and every op it reads, data or control."""
  seen, pending = set(), [op]
  while pending:
    op = pending.pop()
    if op.name not in seen:
      seen.add(op.name)
      pending.extend(t.op for t in op.inputs)
      pending.extend(op.control_inputs)
  return seen


@pytest.mark.parametrize("name", ["gelu", "gelu_exact"])
def test_gelu_slope_waits_for_the_backward_pass(name):
  """Every op of the written-out gradient, the slope's included, runs
  after dy exists: computed from x alone, the executor would compute the
  slope in the forward pass and hold it until the backward pass."""
  graph = tf.Graph()
  with graph.as_default():
    x = tf.placeholder(tf.float32, [None], name="x")
    y = modeling.get_activation(name)(x)
    dy = tf.placeholder(tf.float32, [None], name="dy")
    before = {op.name for op in graph.get_operations()}
    grad = tf.gradients(y, x, grad_ys=dy)[0]
    needed = _ancestors(grad.op)
    backward = [op for op in graph.get_operations()
                if op.name in needed and op.name not in before]
  early = [op.name for op in backward
           if op.type != "Const" and "dy" not in _ancestors(op)]
  assert backward and early == []


@pytest.mark.parametrize("shape,compiled", [([64, 8], True),
                                            ([None, 8], False)])
def test_gelu_slope_is_compiled_only_at_a_fixed_shape(shape, compiled):
  """The slope's elementwise ops are one XLA cluster where the shape is
  fixed (XLA compiles once a shape) and plain ops where it varies; the
  forward pass is plain ops either way."""
  graph = tf.Graph()
  with graph.as_default():
    x = tf.placeholder(tf.float32, shape, name="x")
    y = modeling.get_activation("gelu_exact")(x)
    forward = set(graph.get_operations())
    grad = tf.gradients(y, x)[0]
    backward = [op for op in graph.get_operations() if op not in forward]

  def marked(op):
    try:
      return op.get_attr("_XlaCompile")
    except ValueError:
      return False
  assert not any(marked(op) for op in forward)
  assert marked(grad.op) == compiled
  with tf.Session(graph=graph) as sess:
    values = np.linspace(-5.0, 5.0, 64 * 8, dtype=np.float32).reshape(64, 8)
    got = sess.run(grad, {x: values})
  erf = np.vectorize(math.erf)
  exact = (0.5 * (1.0 + erf(values / np.sqrt(2.0))) +
           values * np.exp(-0.5 * values ** 2) / np.sqrt(2.0 * np.pi))
  np.testing.assert_allclose(got, exact, atol=1e-6)


def _gelu_slope(name, values):
  """numpy: the slope of Google's tanh GELU ("gelu") or the exact one."""
  if name == "gelu_exact":
    erf = np.vectorize(math.erf)
    return (0.5 * (1.0 + erf(values / np.sqrt(2.0))) +
            values * np.exp(-0.5 * values ** 2) / np.sqrt(2.0 * np.pi))
  c = np.sqrt(2.0 / np.pi)
  t = np.tanh(c * (values + 0.044715 * values ** 3))
  return (0.5 * (1.0 + t) +
          0.5 * values * (1.0 - t ** 2) * c * (1.0 + 3 * 0.044715 * values ** 2))


def _activation_graph(name, shape, slopes):
  """(graph, x, y, forward ops, dy, dx) of one activation."""
  graph = tf.Graph()
  with graph.as_default():
    if slopes:
      modeling.slopes_in_forward()
    x = tf.placeholder(tf.float32, shape, name="x")
    y = modeling.get_activation(name)(x)
    forward = {op.name for op in graph.get_operations()}
    dy = tf.placeholder(tf.float32, shape, name="dy")
    dx = tf.gradients(y, x, grad_ys=dy)[0]
  return graph, x, y, forward, dy, dx


@pytest.mark.parametrize("name", ["gelu", "gelu_exact"])
def test_a_training_graph_keeps_the_slope_where_the_shape_varies(name):
  """Under slopes_in_forward, at a varying shape: the slope comes from
  the forward pass, the backward pass is dy * slope alone (it reads
  neither x nor any op that waits for dy), and dx is the exact slope
  times dy; the forward output is unchanged."""
  graph, x, y, forward, dy, dx = _activation_graph(name, [None, 8], True)
  backward = [op for op in graph.get_operations()
              if op.name in _ancestors(dx.op) and op.name not in forward]
  # (dy's placeholder, and the Identity tf.gradients puts on grad_ys)
  assert [op.type for op in backward
          if op.type not in ("Placeholder", "Identity")] == ["Mul"]
  assert "x" not in {t.op.name for t in dx.op.inputs}
  values = np.linspace(-5.0, 5.0, 64 * 8, dtype=np.float32).reshape(64, 8)
  grads = np.random.RandomState(0).normal(size=values.shape).astype(
      np.float32)
  with tf.Session(graph=graph) as sess:
    got_y, got_dx = sess.run([y, dx], {x: values, dy: grads})
  plain, _, plain_y, _, plain_dy, plain_dx = _activation_graph(
      name, [None, 8], False)
  with tf.Session(graph=plain) as sess:
    want_y, want_dx = sess.run([plain_y, plain_dx],
                               {"x:0": values, plain_dy: grads})
  np.testing.assert_array_equal(got_y, want_y)
  np.testing.assert_allclose(got_dx, want_dx, atol=1e-6)
  np.testing.assert_allclose(got_dx, grads * _gelu_slope(name, values),
                             atol=1e-5)


@pytest.mark.parametrize("shape,slopes", [([None, 8], False),
                                          ([64, 8], True)])
def test_the_slope_is_recomputed_otherwise(shape, slopes):
  """Without slopes_in_forward (evaluation, prediction, exports) the
  forward pass computes no slope; at a fixed shape the slope is
  recomputed from x in the backward pass (XLA compiles it there)."""
  graph, _, y, forward, _, _ = _activation_graph("gelu_exact", shape,
                                                 slopes)
  del graph
  identity = y.op
  assert identity.type == "IdentityN" and len(identity.inputs) == 2
  assert not [n for n in forward if "Exp" in n]


def test_no_slopes_suspends_the_mark_for_a_frozen_model():
  """Inside no_slopes (a frozen teacher in a training graph) the forward
  pass computes no slope; after it, the graph's mark holds again."""
  graph = tf.Graph()
  with graph.as_default():
    modeling.slopes_in_forward()
    x = tf.placeholder(tf.float32, [None, 8])
    with modeling.layers.no_slopes():
      frozen = modeling.get_activation("gelu_exact")(x)
    trained = modeling.get_activation("gelu_exact")(x)
  assert len(frozen.op.inputs) == 2
  assert len(trained.op.inputs) == 3


def test_a_training_graph_keeps_every_op_reachable():
  """The kept slope is an input of the activation's IdentityN, so Google's
  no-stray-op rule still holds in a training graph of varying length."""
  graph = tf.Graph()
  with graph.as_default():
    modeling.slopes_in_forward()
    ids = tf.placeholder(tf.int32, [2, None])
    config = _tiny_config(hidden_act="gelu_exact")
    model = modeling.BertModel(config, True, ids, tf.ones_like(ids),
                               tf.zeros_like(ids))
    outputs = ([model.get_embedding_output(), model.get_sequence_output(),
                model.get_pooled_output()] + model.get_all_encoder_layers())
    slopes = [op for op in graph.get_operations()
              if op.type == "IdentityN" and len(op.inputs) == 3 and
              "intermediate" in op.name]
  assert len(slopes) == config.num_hidden_layers
  assert unreachable_ops(graph, outputs) == []


@pytest.mark.parametrize("family", sorted(_FAMILIES))
def test_reachable_without_mask_and_segments(family):
  """Google's call with input_ids alone: the model's own defaults for the
  mask and the segments are used, or not made at all."""
  model_class, extra = _FAMILIES[family]
  graph = tf.Graph()
  with graph.as_default():
    ids = tf.placeholder(tf.int32, [None, None])
    model = model_class(_tiny_config(**extra), False, ids)
    outputs = [model.get_pooled_output()] + model.get_all_encoder_layers()
    assert unreachable_ops(graph, outputs) == []


# ------------------------------------------------- google-research/albert ---

def _albert_folder():
  import os  # pylint: disable=g-import-not-at-top
  from tests.paths import REFERENCE_DIR  # pylint: disable=g-import-not-at-top
  return os.path.join(REFERENCE_DIR, "albert_zh_tiny")


def test_albert_config_google_signature():
  """AlbertConfig's positional order and defaults are google-research/
  albert's; to_dict / to_json_string / from_dict round-trip."""
  import json  # pylint: disable=g-import-not-at-top
  config = modeling.AlbertConfig(100, 16, 32, 3, 1, 4, 64, 1, 1, "relu",
                                 0.1, 0.2, 40, 2, 0.05)
  assert (config.vocab_size, config.embedding_size, config.hidden_size,
          config.num_hidden_layers, config.num_hidden_groups,
          config.num_attention_heads, config.intermediate_size,
          config.inner_group_num, config.down_scale_factor,
          config.hidden_act, config.hidden_dropout_prob,
          config.attention_probs_dropout_prob,
          config.max_position_embeddings, config.type_vocab_size,
          config.initializer_range) == (100, 16, 32, 3, 1, 4, 64, 1, 1,
                                        "relu", 0.1, 0.2, 40, 2, 0.05)
  default = modeling.AlbertConfig(vocab_size=30000)
  assert (default.embedding_size, default.hidden_size,
          default.num_attention_heads, default.intermediate_size,
          default.hidden_dropout_prob, default.net_structure_type,
          default.down_scale_factor) == (128, 4096, 64, 16384, 0, 0, 1)
  data = json.loads(config.to_json_string())
  assert data["embedding_size"] == 16 and data["net_structure_type"] == 0
  again = modeling.AlbertConfig.from_dict(config.to_dict())
  assert isinstance(again, modeling.AlbertConfig)
  assert again.to_dict() == config.to_dict()
  assert isinstance(config, modeling.BertConfig)


def test_einsum_via_matmul_equals_einsum():
  rng = np.random.RandomState(0)
  x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
  w2 = rng.normal(size=(4, 5, 6)).astype(np.float32)
  w1 = rng.normal(size=(5, 2, 3)).astype(np.float32)
  graph = tf.Graph()
  with graph.as_default():
    ph = tf.placeholder(tf.float32, [None, None, 4, 5])
    two = modeling.einsum_via_matmul(ph, tf.constant(w2), 2)
    one = modeling.einsum_via_matmul(ph, tf.constant(w1), 1)
    assert two.shape.as_list() == [None, None, 6]
    assert one.shape.as_list() == [None, None, 4, 2, 3]
    with tf.Session() as sess:
      got_two, got_one = sess.run([two, one], {ph: x})
    with pytest.raises(ValueError, match="inner dimensions"):
      modeling.einsum_via_matmul(ph, tf.constant(w1[:4]), 1)
  np.testing.assert_allclose(got_two, np.einsum("abij,ijk->abk", x, w2),
                             atol=1e-5)
  np.testing.assert_allclose(got_one, np.einsum("abci,ijk->abcjk", x, w1),
                             atol=1e-5)


def _run_google_albert(use_einsum, restore):
  """google-research/albert's way: AlbertConfig.from_json_file, AlbertModel
  with positional arguments, get_assignment_map_from_checkpoint and
  tf.train.init_from_checkpoint. Returns the getters' values."""
  import os  # pylint: disable=g-import-not-at-top
  folder = _albert_folder()
  ref = dict(np.load(os.path.join(folder, "reference.npz")))
  checkpoint = os.path.join(folder, "albert_model.ckpt")
  graph = tf.Graph()
  with graph.as_default():
    ids = tf.placeholder(tf.int32, [None, None])
    mask = tf.placeholder(tf.int32, [None, None])
    segments = tf.placeholder(tf.int32, [None, None])
    config = modeling.AlbertConfig.from_json_file(
        os.path.join(folder, "albert_config.json"))
    assert isinstance(config, modeling.AlbertConfig)
    model = modeling.AlbertModel(config, False, ids, mask, segments, False,
                                 use_einsum)
    tvars = tf.trainable_variables()
    (assignment_map,
     initialized) = modeling.get_assignment_map_from_checkpoint(
         tvars, checkpoint)
    assert all(v.name in initialized for v in tvars)
    restore(checkpoint, assignment_map)
    fetches = {
        "pooled_output": model.get_pooled_output(),
        "sequence_output": model.get_sequence_output(),
        "all_encoder_layers": model.get_all_encoder_layers(),
        "word_embedding_output": model.get_word_embedding_output(),
        "embedding_output": model.get_embedding_output(),
        "embedding_table": model.get_embedding_table(),
    }
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      out = sess.run(fetches, {ids: ref["input_ids"],
                               mask: ref["input_mask"],
                               segments: ref["segment_ids"]})
    table = tf.train.load_variable(checkpoint, "bert/embeddings/word_embeddings")
  return out, ref, table


@pytest.mark.parametrize("use_einsum", [True, False])
def test_albert_model_google_names_match_reference(use_einsum):
  """A Google ALBERT checkpoint loads the way google-research/albert's
  users load it, and the getters give the official outputs (1e-5)."""
  from tests import modelrun  # pylint: disable=g-import-not-at-top
  out, ref, table = _run_google_albert(use_einsum,
                                       tf.train.init_from_checkpoint)
  mask = ref["input_mask"]
  tol = 1e-5
  assert modelrun.max_diff(out["embedding_output"], ref["embedding_output"],
                           mask) < tol
  assert modelrun.max_diff(np.stack(out["all_encoder_layers"]),
                           ref["all_encoder_layers"], mask) < tol
  assert np.abs(out["pooled_output"] - ref["pooled_output"]).max() < tol
  np.testing.assert_array_equal(out["sequence_output"],
                                out["all_encoder_layers"][-1])
  np.testing.assert_array_equal(out["embedding_table"], table)
  # The word embeddings alone: the table's rows of the ids, E wide.
  np.testing.assert_array_equal(out["word_embedding_output"],
                                table[ref["input_ids"]])


def test_albert_model_google_names_equal_our_albert_path():
  """The same outputs as the toolkit's own ALBERT path (build_model with
  a BertConfig and init_from_checkpoint)."""
  import os  # pylint: disable=g-import-not-at-top
  from tests import modelrun  # pylint: disable=g-import-not-at-top
  out, ref, _ = _run_google_albert(True, tf.train.init_from_checkpoint)
  folder = _albert_folder()
  ours = modelrun.run_model(
      "albert", modeling.BertConfig.from_json_file(
          os.path.join(folder, "albert_config.json")),
      os.path.join(folder, "albert_model.ckpt"), ref["input_ids"],
      ref["input_mask"], ref["segment_ids"])
  np.testing.assert_array_equal(out["pooled_output"], ours["pooled_output"])
  np.testing.assert_array_equal(np.stack(out["all_encoder_layers"]),
                                ours["all_encoder_layers"])


@pytest.mark.parametrize("key,value", [("net_structure_type", 1),
                                       ("down_scale_factor", 2)])
def test_albert_structures_not_built_are_refused(key, value):
  config = modeling.AlbertConfig(vocab_size=99, embedding_size=16,
                                 hidden_size=32, num_hidden_layers=2,
                                 num_attention_heads=4, intermediate_size=37)
  setattr(config, key, value)
  with tf.Graph().as_default():
    ids = tf.placeholder(tf.int32, [None, None])
    with pytest.raises(ValueError, match=key):
      modeling.AlbertModel(config, False, ids)

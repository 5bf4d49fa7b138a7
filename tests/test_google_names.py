"""What code written against google-research/bert and google-research/albert
expects of `modeling`: a graph with no stray ops, and ALBERT's own names.

Google's modeling_test.py checks that every op of a built BertModel is
reachable from its outputs; `unreachable_ops` applies the same rule here
to BERT and ALBERT, in training and in inference mode, with resource
variables (TF 2's default) and reference variables (TF 1's).
"""

import collections
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

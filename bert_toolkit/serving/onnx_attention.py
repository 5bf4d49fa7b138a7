"""Self-attention layers of a converted encoder -> ONNX Runtime's Attention.

`fuse_attention(model, size_per_head)` rewrites, in place, each attention
layer that tf2onnx made of `modeling.layers.multi_head_attention` into one
com.microsoft Attention operator, and returns how many it rewrote. ONNX
Runtime's own transformer optimizer does not recognise this graph's
attention (docs/serving.md); without the rewrite every layer runs as
nineteen small operators, which is most of a small model's batch-1 time.

The layer it looks for (X is [batch * seq, hidden], the projections
MatMul + Add on initializers, D the size per head):

  Q = Transpose<0,2,1,3>(Reshape(X @ Wq + bq))           [B, N, S, D]
  K = Transpose<0,2,3,1>(Reshape(X @ Wk + bk))           [B, N, D, S]
  V = Transpose<0,2,1,3>(Reshape(X @ Wv + bv))           [B, N, S, D]
  P = Softmax((Q @ K) * 1/sqrt(D) + mask_bias)            (either order)
      (or Softmax((Q * 1/sqrt(D)) @ K + mask_bias), the scale before or
      after Q's Transpose)
  context = Reshape(Transpose<0,2,1,3>(P @ V))           [B * S, N * D]

with mask_bias computed from the graph input `input_mask` alone (Google's
(1 - mask) * -10000). It becomes

  context = Reshape(Attention(Reshape(X, [B, S, hidden]),
                              [aWq bWk Wv], [abq bbk bv], input_mask,
                              scale=1/(sqrt(D) a b)), [-1, N * D])

Attention reads the raw [batch, seq] 0/1 mask and gives masked keys
-10000, as the bias did. a and b keep int8 as precise as it was
(`packed_projections`). N is the layer's own head count (N * D / D: a
structurally pruned layer has fewer). A layer that differs in anything
(another scale, a head mask, a consumer of the probabilities) is left as it
is. The operators only the old layers read are removed afterwards.

The caller checks the rewritten model's outputs against the original
(bert_toolkit.serving.onnx_export.optimize): the match is structural, the
check is numerical.
"""

import numpy as np

MASK_INPUT = "input_mask"
MS_DOMAIN = "com.microsoft"


class _Graph(object):
  """Producer and consumer lookups over an onnx GraphProto."""

  def __init__(self, graph):
    self.graph = graph
    self.producer = {o: n for n in graph.node for o in n.output}
    self.consumers = {}
    for node in graph.node:
      for name in _reads(node):
        self.consumers.setdefault(name, []).append(node)
    self.initializers = {i.name: i for i in graph.initializer}
    self.inputs = {i.name for i in graph.input}

  def made_by(self, name, op_type):
    """The node of type op_type that produces `name`, or None."""
    node = self.producer.get(name)
    return node if node is not None and node.op_type == op_type else None

  def only_consumer(self, name, op_type):
    """The one node reading `name` if it is of op_type, else None."""
    readers = self.consumers.get(name, [])
    if len(readers) == 1 and readers[0].op_type == op_type:
      return readers[0]
    return None

  def array(self, name):
    """An initializer's value as numpy, or None for a computed value."""
    from onnx import numpy_helper  # pylint: disable=g-import-not-at-top
    if name not in self.initializers:
      return None
    return numpy_helper.to_array(self.initializers[name])

  def graph_inputs_behind(self, name):
    """The graph inputs that `name` is computed from."""
    seen, stack, found = set(), [name], set()
    while stack:
      value = stack.pop()
      if value in seen:
        continue
      seen.add(value)
      if value in self.inputs:
        found.add(value)
      node = self.producer.get(value)
      if node is not None:
        stack.extend(node.input)
    return found


def _reads(node):
  """The values a node reads, including those its subgraphs (a Loop's
  body) read from the enclosing graph."""
  names = [name for name in node.input if name]
  for attribute in node.attribute:
    for sub in list(attribute.g.node if attribute.HasField("g") else []) + [
        n for g in attribute.graphs for n in g.node]:
      names.extend(_reads(sub))
  return names


def _perm(node):
  for attribute in node.attribute:
    if attribute.name == "perm":
      return list(attribute.ints)
  return None


def _scalar_factor(g, name):
  """(x, c) of `x * c` producing `name` with c a one-element initializer,
  else (name, 1.0)."""
  mul = g.made_by(name, "Mul")
  if mul is not None:
    for value, factor in (mul.input, reversed(mul.input)):
      array = g.array(factor)
      if array is not None and array.size == 1:
        return value, float(array.reshape(()))
  return name, 1.0


def _projection(g, name, perm):
  """(X, W, b, c) of `Transpose<perm>(Reshape(X @ W + b)) * c` producing
  `name`, with W and b initializers (b None where the conversion dropped
  an all-zero bias) and c a scalar (1.0 when there is none; it may also
  sit between the Transpose and the Reshape); else None."""
  name, outer = _scalar_factor(g, name)
  transpose = g.made_by(name, "Transpose")
  if transpose is None or _perm(transpose) != perm:
    return None
  shaped, inner = _scalar_factor(g, transpose.input[0])
  reshape = g.made_by(shaped, "Reshape")
  if reshape is None:
    return None
  candidates = [(reshape.input[0], None)]
  add = g.made_by(reshape.input[0], "Add")
  if add is not None:
    candidates = [tuple(add.input), tuple(reversed(add.input))]
  for product, bias in candidates:
    matmul = g.made_by(product, "MatMul")
    if matmul is not None and matmul.input[1] in g.initializers and (
        bias is None or bias in g.initializers):
      return matmul.input[0], matmul.input[1], bias, outer * inner
  return None


def _scaled_scores(g, name):
  """(Q name, K name, scale) of `(Q @ K) * scale` producing `name`, or of
  `Q @ K` (scale 1.0: the scale is then the query's, see `_projection`)."""
  product, scale = _scalar_factor(g, name)
  matmul = g.made_by(product, "MatMul")
  if matmul is None:
    return None
  return matmul.input[0], matmul.input[1], scale


def _match(g, softmax, size_per_head):
  """The pieces of one attention layer around `softmax`, or None."""
  axis = [a.i for a in softmax.attribute if a.name == "axis"]
  if axis and axis[0] not in (-1, 3):
    return None
  add = g.made_by(softmax.input[0], "Add")
  if add is None:
    return None
  for scores_name, bias in (add.input, reversed(add.input)):
    scores = _scaled_scores(g, scores_name)
    if scores is not None:
      break
  else:
    return None
  query_name, key_name, scale = scores
  if g.graph_inputs_behind(bias) != {MASK_INPUT}:
    return None
  weighted = g.only_consumer(softmax.output[0], "MatMul")
  if weighted is None or weighted.input[0] != softmax.output[0]:
    return None
  merge = g.only_consumer(weighted.output[0], "Transpose")
  if merge is None or _perm(merge) != [0, 2, 1, 3]:
    return None
  flatten = g.only_consumer(merge.output[0], "Reshape")
  query = _projection(g, query_name, [0, 2, 1, 3])
  key = _projection(g, key_name, [0, 2, 3, 1])
  value = _projection(g, weighted.input[1], [0, 2, 1, 3])
  if flatten is None or None in (query, key, value):
    return None
  # The 1/sqrt(D) on the scores or on the query (the form training
  # builds, see modeling.layers.dot_product_scores), never on the rest.
  if abs(scale * query[3] * np.sqrt(size_per_head) - 1.0) > 1e-6 or (
      key[3] != 1.0 or value[3] != 1.0):
    return None
  if len({query[0], key[0], value[0]}) != 1:
    return None
  weights = [g.array(p[1]) for p in (query, key, value)]
  width = weights[0].shape[1]
  biases = [np.zeros([width], np.float32) if p[2] is None else g.array(p[2])
            for p in (query, key, value)]
  if any(w.shape != weights[0].shape for w in weights) or any(
      b.shape != (width,) for b in biases) or width % size_per_head:
    return None
  return {"input": query[0], "output": flatten.output[0],
          "names": tuple(p[1] for p in (query, key, value)) +
                   tuple(p[2] for p in (query, key, value)),
          "weights": weights, "biases": biases,
          "heads": width // size_per_head, "width": width,
          "hidden": weights[0].shape[0], "name": softmax.name}


def _remove_dead(graph):
  """Drops the nodes no graph output depends on, and unread initializers."""
  live = {o.name for o in graph.output}
  kept = []
  for node in reversed(list(graph.node)):     # the nodes are topological
    if any(o in live for o in node.output):
      kept.append(node)
      live.update(_reads(node))
  kept.reverse()
  del graph.node[:]
  graph.node.extend(kept)
  unread = [i for i in graph.initializer if i.name not in live]
  for initializer in unread:
    graph.initializer.remove(initializer)


def packed_projections(weights, biases, size_per_head):
  """Attention's packed kernel [hidden, 3W] and bias [3W], and its score
  scale.

  Dynamic int8 gives the packed kernel one scale (QAttention), set by its
  largest weight: a query or key kernel of smaller weights would keep fewer
  levels than it had as its own MatMul (on the SST-2 teacher: 0.8 points of
  accuracy). So the query and key kernels (and biases) are multiplied by a
  and b to reach the value kernel's largest weight, and the scale undoes it:
  (aQ)(bK)' s / (ab) = QK' s. Each kernel then keeps the levels it had
  alone; the value kernel stays as it is (its scale would need the output
  projection changed).

  Returns:
    (kernel, bias, scale) as float32 arrays and a float.
  """
  (wq, wk, wv), (bq, bk, bv) = weights, biases
  top = float(np.abs(wv).max())
  a = top / float(np.abs(wq).max()) if top and np.abs(wq).max() else 1.0
  b = top / float(np.abs(wk).max()) if top and np.abs(wk).max() else 1.0
  kernel = np.concatenate([wq * a, wk * b, wv], axis=1).astype(np.float32)
  bias = np.concatenate([bq * a, bk * b, bv]).astype(np.float32)
  return kernel, bias, 1.0 / (np.sqrt(float(size_per_head)) * a * b)


def fuse_attention(model, size_per_head):
  """Rewrites the model's attention layers (module docstring) in place.

  Args:
    model: an onnx ModelProto from bert_toolkit.serving.onnx_export.convert.
    size_per_head: D, the encoder's hidden_size / num_attention_heads.

  Returns:
    the number of layers rewritten (0: the model is unchanged).
  """
  from onnx import helper  # pylint: disable=g-import-not-at-top
  from onnx import numpy_helper  # pylint: disable=g-import-not-at-top
  graph = model.graph
  g = _Graph(graph)
  if MASK_INPUT not in g.inputs:
    return 0
  layers = [m for m in (_match(g, n, size_per_head)
                        for n in graph.node if n.op_type == "Softmax") if m]
  hidden = layers[0]["hidden"] if layers else 0
  layers = [layer for layer in layers if layer["hidden"] == hidden]
  if not layers:
    return 0

  def constant(name, value):
    graph.initializer.append(numpy_helper.from_array(value, name))
    return name

  shape3 = "attention_fusion/shape_bsh"    # [batch, seq, hidden]
  nodes_for = {}          # old context producer -> the nodes replacing it
  packed = {}             # projection names -> (kernel, bias, scale)
  flat = {}               # context width -> its [-1, width] shape
  for number, layer in enumerate(layers):
    name = "attention_fusion/layer_%d" % number
    if layer["names"] not in packed:   # ALBERT: one set for every layer
      kernel, bias, scale = packed_projections(
          layer["weights"], layer["biases"], size_per_head)
      packed[layer["names"]] = (constant(name + "/qkv_kernel", kernel),
                                constant(name + "/qkv_bias", bias), scale)
    kernel, bias, scale = packed[layer["names"]]
    width = layer["width"]
    if width not in flat:
      flat[width] = constant("attention_fusion/flat_%d" % width,
                             np.array([-1, width], np.int64))
    nodes_for[g.producer[layer["output"]].name] = [
        helper.make_node("Reshape", [layer["input"], shape3],
                         [name + "/input_bsh"], name=name + "/Reshape_in"),
        helper.make_node("Attention", [name + "/input_bsh", kernel, bias,
                                       MASK_INPUT],
                         [name + "/context_bsh"], name=name + "/Attention",
                         domain=MS_DOMAIN, num_heads=layer["heads"],
                         scale=float(scale)),
        helper.make_node("Reshape", [name + "/context_bsh", flat[width]],
                         [layer["output"]], name=name + "/Reshape_out")]
  nodes = [
      helper.make_node("Shape", [MASK_INPUT], ["attention_fusion/shape_bs"],
                       name="attention_fusion/Shape"),
      helper.make_node("Concat", [
          "attention_fusion/shape_bs",
          constant("attention_fusion/hidden", np.array([hidden], np.int64))],
                       [shape3], name="attention_fusion/Concat", axis=0)]
  for node in graph.node:
    nodes.extend(nodes_for.get(node.name, [node]))
  del graph.node[:]
  graph.node.extend(nodes)
  if not any(o.domain == MS_DOMAIN for o in model.opset_import):
    model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
  _remove_dead(graph)
  return len(nodes_for)

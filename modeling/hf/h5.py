"""Reading Hugging Face TF2 weights (`tf_model.h5`) as a PyTorch state dict.

Keras stores each weight as an HDF5 dataset named
`<layer>/<model scope>/<weight name>:0`, e.g.

  bert/tf_bert_model/bert/encoder/layer_._0/attention/self/query/kernel:0
  bert/tf_bert_model/bert/embeddings/position_embeddings/embeddings:0
  distilbert/tf_distil_bert_model/distilbert/transformer/layer_._0/ffn/lin1/kernel:0

`h5_name_to_hf` turns that into the PyTorch name (`bert.encoder.layer.0.
attention.self.query.weight`): drop everything up to the `tf_*` model scope
and the `:0`, `_._N` -> `.N`, `kernel`/`gamma`/`embeddings` -> `weight`,
`beta` -> `bias`. Dense kernels are [in, out] in Keras; `read_tf_h5`
transposes them to PyTorch's [out, in] so that every reader returns the same
layout (the name map transposes Linear weights back: values are unchanged).
"""

import collections
import re
import types

import numpy as np

from modeling.hf.errors import ConversionError

_LAYER_INDEX = re.compile(r"_\._(\d+)")
_LEAF_NAMES = types.MappingProxyType({"kernel": "weight", "gamma": "weight", "beta": "bias",
               "embeddings": "weight", "weight": "weight", "bias": "bias"})


def _strip_model_scope(parts):
  """Drops the Keras layer group and `tf_*` model scope in front of a name.

  Args:
    parts: the dataset path split on "/", e.g. ["bert", "tf_bert_model",
      "bert", "embeddings", ...].

  Returns:
    The parts after the last `tf_*` component; without one, the parts minus a
    leading layer-group name that is repeated ("bert/bert/..." -> "bert/...").
  """
  scopes = [i for i, part in enumerate(parts) if part.startswith("tf_")]
  if scopes:
    return parts[scopes[-1] + 1:]
  if len(parts) > 2 and parts[0] == parts[1]:
    return parts[1:]
  return parts


def h5_name_to_hf(dataset_path):
  """Maps a tf_model.h5 dataset path to (PyTorch-style name, is_kernel).

  Args:
    dataset_path: e.g. "bert/tf_bert_model/bert/pooler/dense/kernel:0".

  Returns:
    ("bert.pooler.dense.weight", True); is_kernel says the array is a Keras
    Dense kernel [in, out].
  """
  path = dataset_path.strip("/")
  if path.endswith(":0"):
    path = path[:-2]
  parts = _strip_model_scope(path.split("/"))
  leaf = parts[-1]
  is_kernel = leaf == "kernel"
  parts = parts[:-1] + [_LEAF_NAMES.get(leaf, leaf)]
  return _LAYER_INDEX.sub(r".\1", ".".join(parts)), is_kernel


def list_h5_datasets(path):
  """Every dataset of an HDF5 file, as (path inside the file, numpy array)."""
  import h5py  # pylint: disable=g-import-not-at-top; TF depends on h5py.
  found = []

  def visit(name, obj):
    if isinstance(obj, h5py.Dataset):
      found.append((name, np.asarray(obj[()])))

  try:
    with h5py.File(path, "r") as f:
      f.visititems(visit)
  except (IOError, OSError) as e:
    raise ConversionError("cannot read %s as HDF5 (Hugging Face TF2 "
                          "weights): %s" % (path, e))
  return found


def read_tf_h5(path):
  """Reads a Hugging Face tf_model.h5 into PyTorch names and layout.

  Args:
    path: the tf_model.h5 file.

  Returns:
    OrderedDict PyTorch-style name -> numpy array; Dense kernels transposed
    to [out, in], floats as float32.

  Raises:
    ConversionError: unreadable file, or two datasets mapping to one name.
  """
  state = collections.OrderedDict()
  for dataset_path, value in list_h5_datasets(path):
    name, is_kernel = h5_name_to_hf(dataset_path)
    if name in state:
      raise ConversionError(
          "%s: two datasets map to the same weight %s (the second is %s); "
          "is this a Hugging Face tf_model.h5?" % (path, name, dataset_path))
    if np.issubdtype(value.dtype, np.floating):
      value = value.astype(np.float32)
    if is_kernel and value.ndim == 2:
      value = np.ascontiguousarray(value.T)
    state[name] = value
  return state

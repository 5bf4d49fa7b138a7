"""Finding and reading the weights file of a Hugging Face model folder.

`read_hf_weights(hf_dir)` returns a PyTorch-style state dict (name -> numpy
array; Linear weights [out, in]) from the first readable of:

  model.safetensors (or a sharded model.safetensors.index.json)  own reader
  pytorch_model.bin (or pytorch_model.bin.index.json)            needs torch
  tf_model.h5                                                    h5py

Nothing here imports torch unless a pytorch_model.bin is the only choice.
"""

import collections
import importlib
import importlib.util
import json
import os

from modeling.hf import h5 as hf_h5
from modeling.hf import safetensors as hf_safetensors
from modeling.hf.errors import ConversionError

SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PYTORCH = "pytorch_model.bin"
PYTORCH_INDEX = "pytorch_model.bin.index.json"
TF_H5 = "tf_model.h5"

# In order of preference.
WEIGHT_FILES = (SAFETENSORS, SAFETENSORS_INDEX, PYTORCH, PYTORCH_INDEX, TF_H5)


def torch_available():
  """True when `import torch` would succeed (without importing it)."""
  return importlib.util.find_spec("torch") is not None


def find_weights_file(hf_dir):
  """Picks the weights file to read from a Hugging Face folder.

  Args:
    hf_dir: the folder.

  Returns:
    The file name (one of WEIGHT_FILES); PyTorch files are skipped when torch
    is missing and a tf_model.h5 is there too.

  Raises:
    ConversionError: no weights file, or only a PyTorch one without torch.
  """
  if not os.path.isdir(hf_dir):
    raise ConversionError("Hugging Face model folder not found: %s" % hf_dir)
  present = [name for name in WEIGHT_FILES
             if os.path.isfile(os.path.join(hf_dir, name))]
  readable = [name for name in present
              if name not in (PYTORCH, PYTORCH_INDEX) or torch_available()]
  if readable:
    return readable[0]
  if present:
    raise ConversionError(
        "%s holds only %s, which needs PyTorch to read: install torch or "
        "convert the model to model.safetensors (e.g. with transformers: "
        "model.save_pretrained(dir, safe_serialization=True))"
        % (hf_dir, present[0]))
  raise ConversionError(
      "no weights file in %s: expected one of %s (found: %s). Download the "
      "model's model.safetensors from the Hugging Face Hub into that folder."
      % (hf_dir, ", ".join(WEIGHT_FILES),
         ", ".join(sorted(os.listdir(hf_dir))) or "nothing"))


def read_pytorch_bin(path):
  """Reads a pytorch_model.bin with torch (CPU) into numpy arrays.

  Returns:
    OrderedDict name -> numpy array; floating tensors as float32.
  """
  torch = importlib.import_module("torch")
  try:
    state = torch.load(path, map_location="cpu", weights_only=True)
  except TypeError:  # torch < 1.13 has no weights_only.
    state = torch.load(path, map_location="cpu")
  out = collections.OrderedDict()
  for name, tensor in state.items():
    if not hasattr(tensor, "detach"):
      continue
    tensor = tensor.detach().cpu()
    if tensor.is_floating_point():
      tensor = tensor.float()
    out[name] = tensor.numpy()
  return out


def read_sharded(hf_dir, index_name, read_shard):
  """Reads a sharded checkpoint through its *.index.json weight_map.

  Args:
    hf_dir: the folder.
    index_name: e.g. "model.safetensors.index.json".
    read_shard: function path -> dict name -> array.

  Returns:
    OrderedDict name -> array over all shards.
  """
  index_path = os.path.join(hf_dir, index_name)
  try:
    with open(index_path, "r", encoding="utf-8") as f:
      weight_map = json.load(f)["weight_map"]
  except (ValueError, KeyError, TypeError) as e:
    raise ConversionError("%s is not a valid shard index (needs a "
                          "\"weight_map\"): %s" % (index_path, e))
  state = collections.OrderedDict()
  for shard in sorted(set(weight_map.values())):
    shard_path = os.path.join(hf_dir, shard)
    if not os.path.isfile(shard_path):
      raise ConversionError("%s lists shard %s, which is not in %s" %
                            (index_path, shard, hf_dir))
    state.update(read_shard(shard_path))
  return state


def read_weights_file(hf_dir, filename):
  """Reads one of WEIGHT_FILES from `hf_dir` into a PyTorch-style dict."""
  path = os.path.join(hf_dir, filename)
  if filename == SAFETENSORS:
    return hf_safetensors.read_safetensors(path)
  if filename == SAFETENSORS_INDEX:
    return read_sharded(hf_dir, filename, hf_safetensors.read_safetensors)
  if filename == PYTORCH:
    return read_pytorch_bin(path)
  if filename == PYTORCH_INDEX:
    return read_sharded(hf_dir, filename, read_pytorch_bin)
  if filename == TF_H5:
    return hf_h5.read_tf_h5(path)
  raise ConversionError("unknown weights file %s; expected one of %s" %
                        (filename, ", ".join(WEIGHT_FILES)))


def read_hf_weights(hf_dir):
  """Reads the weights of a Hugging Face model folder.

  Args:
    hf_dir: folder with model.safetensors, pytorch_model.bin or tf_model.h5.

  Returns:
    (OrderedDict name -> np.ndarray in PyTorch names and layout, the file
    name that was read).

  Raises:
    ConversionError: missing folder or weights file, unreadable file.
  """
  filename = find_weights_file(hf_dir)
  state = read_weights_file(hf_dir, filename)
  if not state:
    raise ConversionError("%s holds no tensors" %
                          os.path.join(hf_dir, filename))
  return state, filename

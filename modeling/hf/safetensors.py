"""A small `.safetensors` reader and writer over numpy (no torch, no
`safetensors`).

Format: 8 bytes little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": ...},
then the raw little-endian tensor bytes (offsets count from the end of the
header). Floats come back as float32 (F16 and BF16 widened), integers keep
their width. `write_safetensors` writes the same layout (header padded with
spaces to a multiple of 8, as the `safetensors` library does).
"""

import collections
import json
import os
import struct
import types

import numpy as np

from modeling.hf.errors import ConversionError

# safetensors dtype -> (numpy dtype of the stored bytes, dtype returned).
_DTYPES = types.MappingProxyType({
    "F64": ("<f8", np.float32),
    "F32": ("<f4", np.float32),
    "F16": ("<f2", np.float32),
    "BF16": ("<u2", None),  # widened by _bf16_to_float32
    "I64": ("<i8", np.int64),
    "I32": ("<i4", np.int32),
    "I16": ("<i2", np.int16),
    "I8": ("i1", np.int8),
    "U8": ("u1", np.uint8),
    "BOOL": ("?", np.bool_),
})


def read_header(path):
  """Reads the JSON header of a safetensors file.

  Args:
    path: the `.safetensors` file.

  Returns:
    (header dict without "__metadata__", byte offset where the data starts).

  Raises:
    ConversionError: not a safetensors file (the message names it).
  """
  size = os.path.getsize(path)
  with open(path, "rb") as f:
    raw = f.read(8)
    if len(raw) != 8:
      raise ConversionError("%s is not a safetensors file: shorter than 8 "
                            "bytes" % path)
    (length,) = struct.unpack("<Q", raw)
    if length > size - 8:
      raise ConversionError(
          "%s is not a safetensors file (or is truncated): header length %d "
          "exceeds the file size %d" % (path, length, size))
    text = f.read(length)
  try:
    header = json.loads(text.decode("utf-8"))
  except ValueError as e:
    raise ConversionError("%s: the safetensors header is not valid JSON: %s"
                          % (path, e))
  if not isinstance(header, dict):
    raise ConversionError("%s: the safetensors header is not a JSON object"
                          % path)
  header.pop("__metadata__", None)
  return header, 8 + length


def _bf16_to_float32(raw):
  """uint16 bfloat16 bit patterns -> float32 (the bits are the top half)."""
  return (raw.astype(np.uint32) << 16).view(np.float32)


def decode_tensor(data, info, name, path):
  """One tensor from the file's data bytes.

  Args:
    data: uint8 array of everything after the header (may be a memmap).
    info: the header entry {"dtype", "shape", "data_offsets"}.
    name, path: for error messages.

  Returns:
    A numpy array in native byte order, a copy (not a view of `data`).
  """
  dtype = info.get("dtype")
  if dtype not in _DTYPES:
    raise ConversionError(
        "%s: tensor %s has dtype %r, which this reader does not support "
        "(supported: %s)" % (path, name, dtype, ", ".join(sorted(_DTYPES))))
  stored, wanted = _DTYPES[dtype]
  shape = [int(d) for d in info.get("shape", [])]
  begin, end = [int(o) for o in info.get("data_offsets", [0, -1])]
  itemsize = np.dtype(stored).itemsize
  count = int(np.prod(shape)) if shape else 1
  if not 0 <= begin <= end <= len(data) or end - begin != count * itemsize:
    raise ConversionError(
        "%s: tensor %s has data_offsets [%d, %d], which do not fit its "
        "shape %s and dtype %s (or the file is truncated)"
        % (path, name, begin, end, shape, dtype))
  if count == 0:
    return np.zeros(shape, wanted or np.float32)
  raw = np.frombuffer(data, dtype=stored, count=count, offset=begin)
  if dtype == "BF16":
    values = _bf16_to_float32(raw)
  else:
    values = raw.astype(wanted)
  return values.reshape(shape)


def read_safetensors(path):
  """Reads every tensor of a safetensors file.

  Args:
    path: the `.safetensors` file.

  Returns:
    OrderedDict name -> numpy array, in the order of the data offsets.
  """
  header, data_start = read_header(path)
  if os.path.getsize(path) > data_start:
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=data_start)
  else:
    data = np.zeros([0], np.uint8)
  for name, info in header.items():
    if not isinstance(info, dict):
      raise ConversionError("%s: header entry %s is not an object" %
                            (path, name))
  ordered = sorted(header.items(),
                   key=lambda item: item[1].get("data_offsets", [0])[0])
  return collections.OrderedDict(
      (name, decode_tensor(data, info, name, path)) for name, info in ordered)


# numpy dtype -> safetensors dtype, for writing (the stored form of _DTYPES).
_WRITE_DTYPES = types.MappingProxyType(collections.OrderedDict(
    (np.dtype(stored).str.lstrip("<|"), name)
    for name, (stored, _) in _DTYPES.items() if name not in ("BF16",)))


def write_safetensors(path, tensors, metadata=None):
  """Writes numpy arrays as a `.safetensors` file.

  Args:
    path: the file to write.
    tensors: dict name -> array (float32, float16, float64 or integer/bool);
      written in this order.
    metadata: dict str -> str for "__metadata__" (transformers wants
      {"format": "pt"}), or None.

  Raises:
    ConversionError: a dtype safetensors has no name for.
  """
  header, blobs, offset = collections.OrderedDict(), [], 0
  if metadata:
    header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
  for name, value in tensors.items():
    value = np.asarray(value)
    key = value.dtype.str.lstrip("<|>=")
    if key not in _WRITE_DTYPES:
      raise ConversionError("%s: tensor %s has dtype %s, which safetensors "
                            "writing here does not support" %
                            (path, name, value.dtype))
    data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
    data = data.tobytes()
    header[name] = {"dtype": _WRITE_DTYPES[key], "shape": list(value.shape),
                    "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
  text = json.dumps(header, separators=(",", ":")).encode("utf-8")
  text += b" " * (-len(text) % 8)
  with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for data in blobs:
      f.write(data)

"""The machine a benchmark ran on, recorded in its results file.

Rates depend on the processor as much as on the code: the same 2-core
sandbox has been an AMD EPYC with AVX-512 VNNI on some days and an Intel
Xeon with AMX on others, and AMX multiplies bf16 and int8 matrix products
several times over. Standard library only (the peer venv imports it too).
"""

import os
import platform

# Matrix instructions that change which number format is fastest.
MATRIX_FLAGS = ("avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def _cpuinfo(path="/proc/cpuinfo"):
  """(model name, set of flags) of the first processor listed."""
  name, flags = platform.processor() or platform.machine(), set()
  try:
    with open(path, encoding="utf-8") as f:
      for line in f:
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name":
          name = value.strip()
        elif key == "flags":
          flags = set(value.split())
          break
  except OSError:
    pass
  return name, flags


def describe():
  """{"cpu", "cpus", "matrix_instructions", "python"} of this machine."""
  name, flags = _cpuinfo()
  return {"cpu": name, "cpus": os.cpu_count(),
          "matrix_instructions": [f for f in MATRIX_FLAGS if f in flags],
          "python": platform.python_version()}


def label(described):
  """'Intel(R) Xeon(R) Processor, 2 cores, with amx_bf16, amx_int8'."""
  text = "%s, %d cores" % (described["cpu"], described["cpus"])
  if described["matrix_instructions"]:
    text += ", with " + ", ".join(described["matrix_instructions"])
  return text

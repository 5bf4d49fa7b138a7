"""The machine a benchmark ran on, recorded in its results file.

Rates depend on the processor as much as on the code: the same 2-core
sandbox has been an AMD EPYC with AVX-512 VNNI on some days and an Intel
Xeon with AMX on others, and AMX multiplies bf16 and int8 matrix products
several times over. No TF: /proc/cpuinfo is read by bert_toolkit.hardware.
"""

import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from bert_toolkit import hardware  # pylint: disable=g-import-not-at-top

# Matrix instructions that change which number format is fastest.
MATRIX_FLAGS = ("avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def describe():
  """{"cpu", "cpus", "matrix_instructions", "python"} of this machine."""
  name, flags = hardware.cpu_info()
  return {"cpu": name or platform.processor() or platform.machine(),
          "cpus": os.cpu_count(),
          "matrix_instructions": [f for f in MATRIX_FLAGS if f in flags],
          "python": platform.python_version()}


def label(described):
  """'Intel(R) Xeon(R) Processor, 2 cores, with amx_bf16, amx_int8'."""
  text = "%s, %d cores" % (described["cpu"], described["cpus"])
  if described["matrix_instructions"]:
    text += ", with " + ", ".join(described["matrix_instructions"])
  return text

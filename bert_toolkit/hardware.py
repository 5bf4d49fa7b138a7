"""What this machine's processor is and can do, read from Linux's
/proc/cpuinfo (no TF): `--use_amp` picks bfloat16 by its flags
(engine/training.py), and the benchmarks record it (bench/machine.py)."""


def cpu_info(path="/proc/cpuinfo"):
  """(model name or None, set of feature flags) of the first processor
  listed; (None, empty set) where there is no such file."""
  name, flags = None, set()
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


def cpu_flags(path="/proc/cpuinfo"):
  """The feature flags of this machine's CPU, as a set (empty where
  /proc/cpuinfo is missing)."""
  return cpu_info(path)[1]

"""Test helper: small copies of the shared data sets, made per test."""


def head(src, dst, n, header=True):
  """Copies the header line (if any) and the first n data lines of src."""
  with open(src, encoding="utf-8") as f:
    lines = f.readlines()
  start = 1 if header else 0
  with open(dst, "w", encoding="utf-8") as f:
    f.writelines(lines[:start] + lines[start:start + n])
  return dst

"""Test helper: small copies of the shared data sets, made per test."""


def head(src, dst, n, header=True):
  """Copies the header line (if any) and the first n data lines of src."""
  with open(src, encoding="utf-8") as f:
    lines = f.readlines()
  start = 1 if header else 0
  with open(dst, "w", encoding="utf-8") as f:
    f.writelines(lines[:start] + lines[start:start + n])
  return dst


def ner_splits(src, dst_dir, train, dev, test):
  """Writes example.train/.dev/.test in dst_dir from slices (start, end) of
  the blank-line-separated sentences of src (a People's Daily file)."""
  import os  # pylint: disable=g-import-not-at-top
  with open(src, encoding="utf-8") as f:
    sentences = [b for b in f.read().split("\n\n") if b.strip()]
  os.makedirs(dst_dir, exist_ok=True)
  for split, (start, end) in (("train", train), ("dev", dev),
                              ("test", test)):
    with open(os.path.join(dst_dir, "example." + split), "w",
              encoding="utf-8") as f:
      f.write("\n\n".join(sentences[start:end]) + "\n")
  return dst_dir


def chnsenticorp(dst_dir, **counts):
  """dst_dir/<split>.tsv: the header and first n lines of each ChnSentiCorp
  split named in counts (e.g. train=32, dev=16). Returns dst_dir as str."""
  import os  # pylint: disable=g-import-not-at-top
  from tests.paths import DATA_DIR  # pylint: disable=g-import-not-at-top
  os.makedirs(str(dst_dir), exist_ok=True)
  for split, n in counts.items():
    head(os.path.join(DATA_DIR, "chnsenticorp", split + ".tsv"),
         os.path.join(str(dst_dir), split + ".tsv"), n, True)
  return str(dst_dir)

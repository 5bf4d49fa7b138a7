"""Rebuild samples/sst2/ from the full GLUE SST-2 files (run once; output is
committed). train.tsv: 10,000 lines drawn with random.Random(12345) from
train.tsv; dev.tsv: the 872-line dev set, verbatim.

  python tools/make_sst2_sample.py ../shared/data/sst2 samples/sst2
"""

import os
import random
import shutil
import sys

TRAIN_LINES = 10000
SEED = 12345


def main(src, dst):
  os.makedirs(dst, exist_ok=True)
  with open(os.path.join(src, "train.tsv"), encoding="utf-8") as f:
    header, *rows = f.readlines()
  picked = sorted(random.Random(SEED).sample(range(len(rows)), TRAIN_LINES))
  with open(os.path.join(dst, "train.tsv"), "w", encoding="utf-8") as f:
    f.write(header)
    f.writelines(rows[i] for i in picked)
  shutil.copyfile(os.path.join(src, "dev.tsv"), os.path.join(dst, "dev.tsv"))


if __name__ == "__main__":
  main(sys.argv[1], sys.argv[2])

"""Print the cosine similarity of sentence vectors next to their texts.

  python tools/similarity.py vectors.npy sentences.txt
"""

import sys

import numpy as np


def main(vectors_file, texts_file):
  vectors = np.load(vectors_file)
  with open(texts_file, encoding="utf-8") as f:
    texts = [line.strip() for line in f if line.strip()]
  unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
  sims = unit.dot(unit.T)
  for i, text in enumerate(texts):
    others = [j for j in np.argsort(-sims[i]) if j != i]
    j = others[0]
    print("%-45.45s closest: %-45.45s cos %.3f" % (text, texts[j], sims[i, j]))


if __name__ == "__main__":
  main(sys.argv[1], sys.argv[2])

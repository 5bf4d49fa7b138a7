"""Multi-label classification (work in progress): reading label sets."""

import pytest

from finetuning import tasks
from finetuning.errors import InputError


def _write(path, text):
  path.write_text(text, encoding="utf-8")


def test_tsv_and_jsonl_label_sets(tmp_path):
  _write(tmp_path / "train.tsv", "text\tlabels\n好看又便宜\t好看,便宜\n"
         "一般\t\n贵\t 贵 ,贵\n")
  data = tasks.get_task("tsv", "text", None, "labels", label_separator=",")
  train = data.get_examples(str(tmp_path), "train")
  assert [e.label for e in train] == [("便宜", "好看"), (), ("贵",)]
  assert data.get_labels(str(tmp_path), train) == ["便宜", "好看", "贵"]
  _write(tmp_path / "dev.tsv", "text\tlabels\n好\t好看,新\n")
  with pytest.raises(InputError) as err:
    data.get_examples(str(tmp_path), "dev", ["便宜", "好看", "贵"])
  assert "dev.tsv line 2" in str(err.value) and "'新'" in str(err.value)

  _write(tmp_path / "train.jsonl", '{"t": "a", "y": ["x", "y"]}\n'
         '{"t": "b", "y": "y|z"}\n{"t": "c", "y": [1]}\n')
  data = tasks.get_task("jsonl", "t", None, "y", label_separator="|")
  with pytest.raises(InputError) as err:
    data.get_examples(str(tmp_path), "train")
  assert "train.jsonl line 3" in str(err.value)
  _write(tmp_path / "train.jsonl", '{"t": "a", "y": ["x", "y"]}\n'
         '{"t": "b", "y": "y|z"}\n')
  train = data.get_examples(str(tmp_path), "train")
  assert [e.label for e in train] == [("x", "y"), ("y", "z")]

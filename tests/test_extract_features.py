"""extract_features.py against the official outputs, and its bad input."""

import json
import os

import numpy as np
import pytest

from tests import clirun
from tests.paths import REFERENCE_DIR

TOL = 1e-4


def _input_file(folder, path):
  """Writes a reference folder's inputs.jsonl as `a` / `a ||| b` lines."""
  with open(os.path.join(REFERENCE_DIR, folder, "inputs.jsonl"),
            encoding="utf-8") as f:
    rows = [json.loads(line) for line in f]
  with open(path, "w", encoding="utf-8") as f:
    for row in rows:
      f.write(row["text_a"] + (" ||| " + row["text_b"] if row["text_b"]
                               else "") + "\n")
  return path


@pytest.fixture(scope="module")
def converted_dirs(tmp_path_factory):
  """The HF reference folders converted to TF1 once for this module."""
  from modeling.hf import convert as hf_convert
  from tests import hf_fixtures
  out = {}
  for name, hf_dir in (("distilbert_en_tiny",
                        os.path.join(REFERENCE_DIR, "distilbert_en_tiny")),
                       ("electra_en_tiny_hf",
                        os.path.join(REFERENCE_DIR, "electra_en_tiny_hf")),
                       ("minilm_en", hf_fixtures.minilm_dir())):
    target = str(tmp_path_factory.mktemp(name))
    hf_convert.convert_hf_folder(hf_dir, target)
    out[name] = target
  return out


CASES = [("bert_zh_tiny", None, ()), ("albert_zh_tiny", None, ()),
         ("electra_zh_tiny", None, ("--model_type=electra",)),
         ("distilbert_en_tiny", "converted", ()),
         ("electra_en_tiny_hf", "converted", ("--model_type=electra",)),
         ("minilm_en", "converted", ())]


@pytest.mark.slow
@pytest.mark.parametrize("folder,source,extra", CASES)
def test_cli_matches_reference(folder, source, extra, tmp_path,
                               converted_dirs):
  ref = np.load(os.path.join(REFERENCE_DIR, folder, "reference.npz"))
  model_dir = (converted_dirs[folder] if source else
               os.path.join(REFERENCE_DIR, folder))
  num_layers = ref["all_encoder_layers"].shape[0]
  max_len = ref["input_ids"].shape[1]
  inputs = _input_file(folder, str(tmp_path / "in.txt"))
  out_json = str(tmp_path / "out.jsonl")
  layers = ",".join(str(-i) for i in range(1, num_layers + 1))
  proc = clirun.run_script(
      "extract_features.py", "--input_file=" + inputs,
      "--output_file=" + out_json, "--init_checkpoint=" + model_dir,
      "--layers=" + layers, "--max_seq_length=%d" % max_len,
      "--batch_size=2", *extra)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Restore from" in proc.stderr
  with open(out_json, encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  assert [r["linex_index"] for r in records] == list(range(len(records)))
  with open(os.path.join(REFERENCE_DIR, folder, "tokens.json"),
            encoding="utf-8") as f:
    tokens = json.load(f) if folder != "minilm_en" else None
  worst = 0.0
  for i, record in enumerate(records):
    n = int(ref["input_mask"][i].sum())
    assert len(record["features"]) == n
    if tokens:
      assert [f["token"] for f in record["features"]] == tokens[i]
    for position, feature in enumerate(record["features"]):
      for layer in feature["layers"]:
        ours = np.array(layer["values"])
        theirs = ref["all_encoder_layers"][num_layers + layer["index"], i,
                                           position]
        worst = max(worst, float(np.abs(ours - theirs).max()))
  assert worst < TOL

  if ref["pooled_output"].size:
    out_npy = str(tmp_path / "pooled.npy")
    proc = clirun.run_script(
        "extract_features.py", "--input_file=" + inputs,
        "--output_file=" + out_npy, "--init_checkpoint=" + model_dir,
        "--output_format=npy", "--pooling=pooled", "--layers=-1",
        "--max_seq_length=%d" % max_len, *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pooled = np.load(out_npy)
    assert pooled.shape == ref["pooled_output"].shape
    assert np.abs(pooled - ref["pooled_output"]).max() < TOL


@pytest.mark.slow
def test_npy_mean_pooling_and_truncation(tmp_path):
  """Mean pooling averages the kept tokens; long inputs are truncated."""
  model_dir = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
  inputs = tmp_path / "in.txt"
  inputs.write_text("很好\n" + "长" * 300 + "\n", encoding="utf-8")
  out = str(tmp_path / "v.npy")
  proc = clirun.run_script(
      "extract_features.py", "--input_file=%s" % inputs,
      "--output_file=" + out, "--init_checkpoint=" + model_dir,
      "--output_format=npy", "--max_seq_length=16", "--layers=-1")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "1 of 2 inputs were longer than max_seq_length=16" in proc.stderr
  vectors = np.load(out)
  assert vectors.shape == (2, 64)
  out_json = str(tmp_path / "v.jsonl")
  proc = clirun.run_script(
      "extract_features.py", "--input_file=%s" % inputs,
      "--output_file=" + out_json, "--init_checkpoint=" + model_dir,
      "--max_seq_length=16", "--layers=-1")
  with open(out_json, encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  assert len(records[1]["features"]) == 16
  mean = np.mean([f["layers"][0]["values"] for f in records[1]["features"]],
                 axis=0)
  assert np.abs(mean - vectors[1]).max() < 1e-5


@pytest.mark.slow
def test_bad_inputs_give_clear_errors(tmp_path):
  """From the command line (one `error:` line, exit 2, nothing written): a
  bad input line, a config that does not fit the checkpoint, a layer the
  model does not have. The other refusals are the library checks
  extract_features.py calls, raised in-process (the command line turns any
  of them into the same one line)."""
  import modeling  # pylint: disable=g-import-not-at-top
  import tokenization  # pylint: disable=g-import-not-at-top
  from bert_toolkit.tasks import extraction  # pylint: disable=g-import-not-at-top
  from bert_toolkit.errors import InputError  # pylint: disable=g-import-not-at-top
  model_dir = os.path.join(REFERENCE_DIR, "bert_zh_tiny")
  good = tmp_path / "good.txt"
  good.write_text("你好\n", encoding="utf-8")
  empty_line = tmp_path / "empty_line.txt"
  empty_line.write_text("你好\n\n再见\n", encoding="utf-8")
  out = "--output_file=%s" % (tmp_path / "o.jsonl")
  layers = "--layers=-1"

  proc = clirun.run_script("extract_features.py",
                           "--input_file=%s" % empty_line, out, layers,
                           "--init_checkpoint=" + model_dir)
  clirun.assert_user_error(proc, "empty_line.txt line 2", "empty line")

  bad_config = tmp_path / "bert_config.json"
  config = json.load(open(os.path.join(model_dir, "bert_config.json")))
  config["hidden_size"] = 128
  config["intermediate_size"] = 256
  bad_config.write_text(json.dumps(config))
  proc = clirun.run_script("extract_features.py", "--input_file=%s" % good,
                           out, layers, "--init_checkpoint=" + model_dir,
                           "--bert_config_file=%s" % bad_config)
  clirun.assert_user_error(proc, "shape mismatch", "[21128, 128]",
                           "[21128, 64]")

  proc = clirun.run_script("extract_features.py", "--input_file=%s" % good,
                           out, "--layers=-3", "--init_checkpoint=" + model_dir)
  clirun.assert_user_error(proc, "--layers has -3", "2 layers")

  with pytest.raises(InputError, match="missing.txt.*not found"):
    extraction.read_examples(str(tmp_path / "missing.txt"))
  with pytest.raises((modeling.CheckpointError, modeling.ConfigError),
                     match="/no/such/bert_model.ckpt"):
    modeling.find_pretrained("/no/such/bert_model.ckpt")
  files = modeling.find_pretrained(
      model_dir, vocab_file=os.path.join(REFERENCE_DIR, "distilbert_en_tiny",
                                         "vocab.txt"))
  with pytest.raises(tokenization.VocabError, match="30522") as e:
    modeling.check_inputs(files, True, 64)
  assert "21128" in str(e.value)
  files = modeling.find_pretrained(model_dir)
  with pytest.raises(modeling.ConfigError, match="max_position_embeddings=128"):
    modeling.check_inputs(files, True, 512)
  assert not os.path.exists(str(tmp_path / "o.jsonl"))

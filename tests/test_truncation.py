"""--truncation=head|tail|head_tail for long single texts (classification)."""

import json
import os

import pytest

import tokenization
from bert_toolkit.data import encoding
from bert_toolkit.runs import run_info
from tests import clirun
from tests import datasets
from tests.paths import REFERENCE_DIR

BERT_DIR = os.path.join(REFERENCE_DIR, "bert_zh_tiny")


def test_truncate_single_keeps_the_right_pieces():
  pieces = ["p%d" % i for i in range(1000)]
  assert tokenization.inputs.truncate_single(pieces, 510, "head") == \
      pieces[:510]
  assert tokenization.inputs.truncate_single(pieces, 510, "tail") == \
      pieces[-510:]
  # The study's split: 128 from the head, 382 from the tail of 510.
  kept = tokenization.inputs.truncate_single(pieces, 510, "head_tail")
  assert kept == pieces[:128] + pieces[-382:]
  # Scaled to a smaller room: round(126 * 128 / 510) = 32 + 94.
  kept = tokenization.inputs.truncate_single(pieces, 126, "head_tail")
  assert kept == pieces[:32] + pieces[-94:]
  # Short texts are never cut.
  assert tokenization.inputs.truncate_single(pieces[:5], 126, "tail") == \
      pieces[:5]
  with pytest.raises(ValueError):
    tokenization.inputs.truncate_single(pieces, 10, "middle")


def test_encode_with_each_truncation():
  tokenizer = tokenization.FullTokenizer(
      os.path.join(BERT_DIR, "vocab.txt"), True)
  text = "".join("一二三四五六七八九十"[i % 10] for i in range(40))
  pieces = tokenizer.tokenize(text)
  for mode, kept in (("head", pieces[:14]), ("tail", pieces[-14:]),
                     ("head_tail", pieces[:4] + pieces[-10:])):
    encoded = encoding.encode(tokenizer, text, None, 16, mode)
    assert encoded.tokens == ["[CLS]"] + kept + ["[SEP]"], mode
    assert encoded.truncated
  # A pair is cut Google's way whatever the mode.
  pair = encoding.encode(tokenizer, text, text, 16, "tail")
  assert pair.tokens == encoding.encode(tokenizer, text, text, 16).tokens


@pytest.fixture(scope="module")
def chnsenticorp(tmp_path_factory):
  return datasets.chnsenticorp(tmp_path_factory.mktemp("chnsenticorp"),
                               train=24, dev=8)


@pytest.mark.slow
def test_cli_truncation_is_kept_with_the_run(chnsenticorp, tmp_path):
  out = str(tmp_path / "run")
  args = ("run_classifier.py", "--task=chnsenticorp",
          "--data_dir=" + chnsenticorp, "--output_dir=" + out,
          "--max_seq_length=24", "--train_batch_size=8")
  proc = clirun.run_script(*args, "--init_checkpoint=" + BERT_DIR,
                           "--do_train", "--num_train_epochs=1",
                           "--truncation=head_tail")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert run_info.read(out)["head"]["truncation"] == "head_tail"
  meta = [json.load(open(os.path.join(out, "features", name)))
          for name in os.listdir(os.path.join(out, "features"))
          if name.endswith(".json")]
  assert meta[0]["inputs"]["extra"]["truncation"] == "head_tail"
  assert meta[0]["num_truncated"] > 0     # ChnSentiCorp reviews are long
  # Evaluating takes the run's truncation; asking for another is refused.
  proc = clirun.run_script(*args, "--do_eval")
  assert proc.returncode == 0, proc.stderr[-3000:]
  proc = clirun.run_script(*args, "--do_eval", "--truncation=tail")
  clirun.assert_user_error(proc, "--truncation=head_tail")
  # Export and the predictor cut a long text as training did.
  export = str(tmp_path / "export")
  predictor = clirun.export_predictor(out, export)
  try:
    text = "".join("一二三四五六七八九十"[i % 10] for i in range(40))
    pieces = predictor.tokenizer.tokenize(text)
    want = encoding.encode(predictor.tokenizer, text, None, 24, "head_tail")
    assert predictor.encode(text)["input_ids"] == want.input_ids
    assert want.tokens[1:-1] == pieces[:6] + pieces[-16:]
  finally:
    predictor.close()

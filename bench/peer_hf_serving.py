"""The inference peers: Hugging Face transformers on torch, and the same
model exported to ONNX Runtime, as a HF user would serve a classifier.

Runs in bench/.peer-venv (torch 2.13.0 CPU, transformers 4.46.3,
onnxruntime 1.17.3), never in the project's environment. The model is
all-MiniLM-L6-v2 with a sequence-classification head of 2 labels (a random
head: speed does not depend on its values, so no accuracy is reported).
Tokenization: the model's fast tokenizer, lower-cased, truncation at 64,
each batch padded to its longest.

  --backend torch_fp32          BertForSequenceClassification, eval mode,
                                torch.inference_mode
  --backend torch_int8_dynamic  torch.ao.quantization.quantize_dynamic on
                                every nn.Linear (qint8)
  --backend ort_fp32            torch.onnx.export (TorchScript exporter,
                                opset 14, dynamic batch
                                and sequence axes) on ONNX Runtime
  --backend ort_int8_dynamic    that model through onnxruntime's
                                quantize_dynamic (QInt8 weights)

Same protocol as the project's backends (bench/latency_protocol.py).

  bench/.peer-venv/bin/python bench/peer_hf_serving.py --hf_dir DIR \
      --backend ort_int8_dynamic --dev_file samples/sst2/dev.tsv \
      --work_dir /tmp/peer --out r.json
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
from transformers import AutoTokenizer
from transformers import BertForSequenceClassification

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import latency_protocol  # pylint: disable=g-import-not-at-top

MAX_LENGTH = 64


def onnx_file(model, tokenizer, work_dir, quantized):
  """The exported (and optionally int8-quantized) model's path."""
  os.makedirs(work_dir, exist_ok=True)
  fp32 = os.path.join(work_dir, "model.onnx")
  if not os.path.isfile(fp32):
    sample = tokenizer(["a sample sentence"], return_tensors="pt")
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(
        model, (sample["input_ids"], sample["attention_mask"],
                sample["token_type_ids"]), fp32,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"], opset_version=14, dynamo=False,
        dynamic_axes={"input_ids": axes, "attention_mask": axes,
                      "token_type_ids": axes, "logits": {0: "batch"}})
  if not quantized:
    return fp32
  int8 = os.path.join(work_dir, "model_int8.onnx")
  if not os.path.isfile(int8):
    from onnxruntime.quantization import QuantType  # pylint: disable=g-import-not-at-top
    from onnxruntime.quantization import quantize_dynamic  # pylint: disable=g-import-not-at-top
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
  return int8


def predictor(backend, hf_dir, work_dir, threads):
  """(predict(texts) -> label ids, tokenizer, the ONNX file or None)."""
  torch.set_num_threads(threads)
  tokenizer = AutoTokenizer.from_pretrained(hf_dir, do_lower_case=True)
  model = BertForSequenceClassification.from_pretrained(hf_dir,
                                                        num_labels=2).eval()

  def encode(texts, kind):
    return tokenizer(texts, padding=True, truncation=True,
                     max_length=MAX_LENGTH, return_tensors=kind)

  if backend.startswith("torch"):
    if backend == "torch_int8_dynamic":
      model = torch.ao.quantization.quantize_dynamic(
          model, {torch.nn.Linear}, dtype=torch.qint8)

    def predict(texts):
      with torch.inference_mode():
        return model(**encode(texts, "pt")).logits.argmax(-1).tolist()
    return predict, tokenizer, None

  import onnxruntime as ort  # pylint: disable=g-import-not-at-top
  path = onnx_file(model, tokenizer, work_dir,
                   quantized=backend == "ort_int8_dynamic")
  options = ort.SessionOptions()
  options.intra_op_num_threads = threads
  session = ort.InferenceSession(path, options,
                                 providers=["CPUExecutionProvider"])

  def predict(texts):
    feed = {k: v.astype(np.int64) for k, v in encode(texts, "np").items()}
    return session.run(None, feed)[0].argmax(-1).tolist()
  return predict, tokenizer, path


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--hf_dir", required=True)
  parser.add_argument("--backend", required=True,
                      choices=("torch_fp32", "torch_int8_dynamic",
                               "ort_fp32", "ort_int8_dynamic"))
  parser.add_argument("--dev_file", required=True)
  parser.add_argument("--work_dir", required=True)
  parser.add_argument("--out", required=True)
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--sentences", type=int, default=256)
  args = parser.parse_args()
  texts = latency_protocol.read_sst2(args.dev_file)[0]
  predict, tokenizer, path = predictor(args.backend, args.hf_dir,
                                       args.work_dir, args.threads)
  result = latency_protocol.measure(
      predict, texts[:args.sentences], texts,
      lambda t: len(tokenizer(t, truncation=True,
                              max_length=MAX_LENGTH)["input_ids"]))
  if path:
    result["size_mb"] = round(os.path.getsize(path) / 2.0 ** 20, 2)
  result["versions"] = {"torch": torch.__version__}
  with open(args.out, "w") as f:
    json.dump(result, f, indent=2)


if __name__ == "__main__":
  main()

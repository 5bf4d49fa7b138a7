"""The peer: Hugging Face transformers (PyTorch) fine-tuning the same model.

Runs in bench/.peer-venv (torch 2.13.0 CPU, transformers 4.46.3), never in
the project's environment. Same data, tokenizer (the model's vocab.txt,
lower-cased), max_seq_length, batch size, learning rate, schedule (linear
warm-up over 10% then linear decay), weight decay (none on LayerNorm and
biases), epochs and seed as our run. Batches are padded to their longest
sentence, as transformers' DataCollatorWithPadding does, or with
--pad_to_max_length to max_seq_length (the tokenizer's padding="max_length"),
as google-research/bert's run_classifier.py pads every batch. --bf16
runs the forward pass (and so the backward) under CPU autocast to bfloat16.

  python bench/peer_hf_classifier.py --hf_dir DIR --data_dir ../shared/data/sst2 \
      --task sst2 --max_seq_length 128 --batch_size 32 [--max_steps N] \
      [--pad_to_max_length] [--bf16] --out r.json
"""

import argparse
import csv
import json
import random
import sys
import time

import numpy as np
import torch
from transformers import BertForSequenceClassification
from transformers import BertTokenizer
from transformers import get_linear_schedule_with_warmup

csv.field_size_limit(sys.maxsize)


def read_split(task, data_dir, split):
  """(texts, labels) of sst2 (sentence, label) or chnsenticorp (label, text)."""
  path = "%s/%s.tsv" % (data_dir, split)
  with open(path, encoding="utf-8") as f:
    rows = [line.rstrip("\n").split("\t") for line in f][1:]
  if task == "sst2":
    return [r[0] for r in rows], [int(r[1]) for r in rows]
  return [r[1] for r in rows], [int(r[0]) for r in rows]


def batches(encoded, labels, batch_size, shuffle, rng, pad_to=None):
  """Batches of (ids, mask, labels), each padded to its longest sentence,
  or to pad_to."""
  order = list(range(len(labels)))
  if shuffle:
    rng.shuffle(order)
  for start in range(0, len(order), batch_size):
    idx = order[start:start + batch_size]
    longest = pad_to or max(len(encoded[i]) for i in idx)
    ids = np.zeros((len(idx), longest), np.int64)
    mask = np.zeros((len(idx), longest), np.int64)
    for row, i in enumerate(idx):
      ids[row, :len(encoded[i])] = encoded[i]
      mask[row, :len(encoded[i])] = 1
    yield (torch.from_numpy(ids), torch.from_numpy(mask),
           torch.tensor([labels[i] for i in idx]))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--hf_dir", required=True)
  parser.add_argument("--data_dir", required=True)
  parser.add_argument("--task", default="sst2")
  parser.add_argument("--max_seq_length", type=int, default=128)
  parser.add_argument("--batch_size", type=int, default=32)
  parser.add_argument("--learning_rate", type=float, default=5e-5)
  parser.add_argument("--epochs", type=float, default=1.0)
  parser.add_argument("--max_steps", type=int, default=None)
  parser.add_argument("--skip_eval", action="store_true")
  parser.add_argument("--pad_to_max_length", action="store_true",
                      help="pad every batch to --max_seq_length")
  parser.add_argument("--bf16", action="store_true",
                      help="train under torch.autocast(cpu, bfloat16), as "
                      "transformers' Trainer does with --bf16 on a CPU")
  parser.add_argument("--seed", type=int, default=1)
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--out", required=True)
  args = parser.parse_args()

  torch.set_num_threads(args.threads)
  torch.manual_seed(args.seed)
  rng = random.Random(args.seed)
  tokenizer = BertTokenizer(args.hf_dir + "/vocab.txt", do_lower_case=True)
  model = BertForSequenceClassification.from_pretrained(args.hf_dir,
                                                        num_labels=2)

  def encode(texts):
    return [tokenizer.encode(t, truncation=True,
                             max_length=args.max_seq_length) for t in texts]

  train_texts, train_labels = read_split(args.task, args.data_dir, "train")
  train_enc = encode(train_texts)
  steps = args.max_steps or int(len(train_labels) / args.batch_size *
                                args.epochs)
  no_decay = ("bias", "LayerNorm.weight")
  groups = [
      {"params": [p for n, p in model.named_parameters()
                  if not any(nd in n for nd in no_decay)],
       "weight_decay": 0.01},
      {"params": [p for n, p in model.named_parameters()
                  if any(nd in n for nd in no_decay)], "weight_decay": 0.0}]
  optimizer = torch.optim.AdamW(groups, lr=args.learning_rate, eps=1e-6)
  schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps),
                                             steps)
  model.train()
  pad_to = args.max_seq_length if args.pad_to_max_length else None
  done, examples, started = 0, 0, None
  while done < steps:
    for ids, mask, labels in batches(train_enc, train_labels,
                                     args.batch_size, True, rng, pad_to):
      with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
      loss.backward()
      torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
      optimizer.step()
      schedule.step()
      optimizer.zero_grad()
      done += 1
      if started is None:  # the clock starts after the first step
        started = time.time()
      else:
        examples += len(labels)
      if done % 100 == 0:
        rate = examples / (time.time() - started)
        print("peer train step %d/%d, %.1f examples/sec, loss %.4f" %
              (done, steps, rate, loss.item()), flush=True)
      if done >= steps:
        break
  seconds = time.time() - started
  result = {"steps": done, "train_examples_per_sec": examples / seconds,
            "train_seconds": seconds}

  if not args.skip_eval:
    model.eval()
    dev_texts, dev_labels = read_split(args.task, args.data_dir, "dev")
    correct = 0
    with torch.no_grad():
      for ids, mask, labels in batches(encode(dev_texts), dev_labels, 64,
                                       False, rng):
        logits = model(input_ids=ids, attention_mask=mask).logits
        correct += int((logits.argmax(-1) == labels).sum())
    result["dev_accuracy"] = correct / len(dev_labels)
  print(json.dumps(result))
  with open(args.out, "w") as f:
    json.dump(result, f, indent=2)


if __name__ == "__main__":
  main()

"""Checks convert_checkpoint.py --to=hf against transformers itself.

Two steps, in two environments:

  # 1. project venv: export each model, compute our outputs (TF1 graph)
  .venv/bin/python bench/check_hf_export.py ours --out /tmp/hf_check \
      [--model_dir RUN_OR_CHECKPOINT ...]
  # 2. bench/.peer-venv (torch, transformers 4.46.3): load each exported
  #    folder with AutoModel / AutoModelFor..., compare
  bench/.peer-venv/bin/python bench/check_hf_export.py hf --out /tmp/hf_check

Step 1 exports every model to OUT/<name>/hf and writes OUT/<name>/ours.npz:
the inputs (the folder's reference inputs: ../shared/reference/*/
reference.npz, padded rows) and our outputs: the last layer's hidden
states, the pooled output where the family has a pooler, and the head's
output (classifier / token logits, MLM and NSP/SOP log-probabilities,
ELECTRA's discriminator logits). Step 2 runs transformers on the same
inputs (the base model through AutoModel, the head through the
AutoModelFor... class of config.json's architecture), prints the largest
absolute difference of each output over the real (unpadded) positions and
writes OUT/results.json. The target is 1e-4.

Models by default: the four reference families (bert_zh_tiny and
albert_zh_tiny with their pre-training heads, electra_zh_tiny's
discriminator, distilbert_en_tiny and electra_en_tiny_hf converted to TF1
first) plus each --model_dir (a run directory: its classifier or NER
head).
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
REFERENCE = os.path.join(REPO, "..", "shared", "reference")
TF1_REFERENCES = ("bert_zh_tiny", "albert_zh_tiny", "electra_zh_tiny")
HF_REFERENCES = ("distilbert_en_tiny", "electra_en_tiny_hf")
TARGET = 1e-4


# ------------------------------------------------ step 1: our outputs ---

def _inputs(seq_limit):
  """The bert_zh_tiny reference inputs, cut to seq_limit positions (ids
  kept below every vocab size here)."""
  ref = np.load(os.path.join(REFERENCE, "bert_zh_tiny", "reference.npz"))
  ids = ref["input_ids"][:, :seq_limit].astype(np.int32)
  ids = np.where(ids < 20000, ids, 100)
  return (ids, ref["input_mask"][:, :seq_limit].astype(np.int32),
          ref["segment_ids"][:, :seq_limit].astype(np.int32))


def our_outputs(source, result):
  """Our TF1 outputs for the exported model (dict name -> array)."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  import modeling  # pylint: disable=g-import-not-at-top
  from modeling import heads  # pylint: disable=g-import-not-at-top
  from modeling.hf import names as hf_names  # pylint: disable=g-import-not-at-top
  tf.disable_eager_execution()
  ids, mask, segments = _inputs(min(64, source.config.max_position_embeddings))
  out = {"input_ids": ids, "input_mask": mask, "segment_ids": segments}
  graph = tf.Graph()
  with graph.as_default():
    model = modeling.build_model(source.model_type, source.config, False,
                                 tf.constant(ids), tf.constant(mask),
                                 tf.constant(segments))
    fetch = {"last_hidden_state": model.get_sequence_output()}
    if source.model_type in ("bert", "albert"):
      fetch["pooler_output"] = model.get_pooled_output()
    values = result.tensors
    if result.head == hf_names.SEQUENCE_CLASSIFICATION:
      fetch["logits"] = heads.classifier_logits(
          model.get_pooled_output(), len(result.hf_config["id2label"]), False)
    elif result.head == hf_names.TOKEN_CLASSIFICATION:
      with tf.variable_scope(heads.TAGGER_SCOPE):
        fetch["logits"] = heads.token_logits(
            model.get_sequence_output(), tf.reduce_sum(mask, 1),
            len(result.hf_config["id2label"]), False)
    elif result.head in (hf_names.PRETRAINING, hf_names.MASKED_LM) and \
        source.model_type != "electra":
      batch, seq = ids.shape
      positions = np.tile(np.arange(seq, dtype=np.int32), [batch, 1])
      width = (source.config.embedding_size
               if source.model_type == "albert" else None)
      _, _, log_probs = heads.masked_lm_output(
          source.config, model.get_sequence_output(),
          model.get_embedding_table(), tf.constant(positions),
          tf.zeros_like(positions), tf.ones(positions.shape), width)
      fetch["mlm_log_probs"] = tf.reshape(log_probs, [batch, seq, -1])
      if "cls/seq_relationship/output_weights" in result.exported:
        _, _, nsp = heads.next_sentence_output(
            source.config, model.get_pooled_output(), tf.zeros([batch],
                                                              tf.int32))
        fetch["nsp_log_probs"] = nsp
    tvars = tf.global_variables()
    assignment, _ = modeling.checkpoint.get_assignment_map_from_checkpoint(
        tvars, source.checkpoint)
    tf.train.init_from_checkpoint(source.checkpoint, assignment)
    with tf.Session(graph=graph) as sess:
      sess.run(tf.global_variables_initializer())
      out.update(sess.run(fetch))
  if result.head == hf_names.PRETRAINING and source.model_type == "electra":
    out["discriminator_logits"] = _electra_discriminator(
        out["last_hidden_state"], values)
  return out


def _electra_discriminator(hidden, values):
  """google-research/electra's discriminator head, in numpy (exact GELU)."""
  from scipy.special import erf  # pylint: disable=g-import-not-at-top
  dense = hidden @ values["discriminator_predictions.dense.weight"].T + \
      values["discriminator_predictions.dense.bias"]
  dense = 0.5 * dense * (1.0 + erf(dense / np.sqrt(2.0)))
  return (dense @ values["discriminator_predictions.dense_prediction.weight"]
          .T + values["discriminator_predictions.dense_prediction.bias"])[
              ..., 0]


def step_ours(out_dir, model_dirs):
  from bert_toolkit.tasks import hf_heads  # pylint: disable=g-import-not-at-top
  from modeling.hf import convert as hf_convert  # pylint: disable=g-import-not-at-top
  from modeling.hf import export as hf_export  # pylint: disable=g-import-not-at-top
  models = [(name, os.path.join(REFERENCE, name)) for name in TF1_REFERENCES]
  for name in HF_REFERENCES:
    tf1 = os.path.join(out_dir, name, "tf1")
    if not os.path.isdir(tf1):
      hf_convert.convert_hf_folder(os.path.join(REFERENCE, name), tf1)
    models.append((name, tf1))
  models += [(os.path.basename(os.path.normpath(d)), d) for d in model_dirs]
  for name, folder in models:
    source = hf_heads.export_source(folder)
    result = hf_export.export_hf(source)
    hf_dir = os.path.join(out_dir, name, "hf")
    os.makedirs(hf_dir, exist_ok=True)
    hf_export.write_files(result, hf_dir)
    np.savez(os.path.join(out_dir, name, "ours.npz"),
             **our_outputs(source, result))
    print("%-22s %s -> %s" % (name, result.architecture, hf_dir))


# ------------------------------------------ step 2: transformers' own ---

def _max_diff(ours, theirs, mask):
  """Largest |ours - theirs| over the real positions."""
  ours, theirs = np.asarray(ours), np.asarray(theirs, np.float32)
  if ours.ndim >= 2 and ours.shape[:2] == mask.shape:
    keep = mask.astype(bool)
    ours, theirs = ours[keep], theirs[keep]
  return float(np.max(np.abs(ours - theirs)))


def step_hf(out_dir):
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  results = {}
  for name in sorted(os.listdir(out_dir)):
    npz = os.path.join(out_dir, name, "ours.npz")
    if not os.path.isfile(npz):
      continue
    ours = np.load(npz)
    hf_dir = os.path.join(out_dir, name, "hf")
    config = json.load(open(os.path.join(hf_dir, "config.json")))
    architecture = config["architectures"][0]
    mask = ours["input_mask"]
    kwargs = {"input_ids": torch.tensor(ours["input_ids"], dtype=torch.long),
              "attention_mask": torch.tensor(mask, dtype=torch.long)}
    if config["model_type"] != "distilbert":
      kwargs["token_type_ids"] = torch.tensor(ours["segment_ids"],
                                              dtype=torch.long)
    diffs = {}
    with torch.no_grad():
      base = transformers.AutoModel.from_pretrained(hf_dir).eval()
      outputs = base(**kwargs)
      diffs["last_hidden_state"] = _max_diff(
          ours["last_hidden_state"], outputs.last_hidden_state.numpy(), mask)
      if "pooler_output" in ours:
        diffs["pooler_output"] = _max_diff(
            ours["pooler_output"], outputs.pooler_output.numpy(), mask)
      if not architecture.endswith("Model"):
        model = getattr(transformers, architecture).from_pretrained(
            hf_dir).eval()
        outputs = model(**kwargs)
        log_softmax = torch.nn.functional.log_softmax
        if "logits" in ours:
          diffs["logits"] = _max_diff(ours["logits"], outputs.logits.numpy(),
                                      mask)
        if "mlm_log_probs" in ours:
          logits = getattr(outputs, "prediction_logits", None)
          logits = outputs.logits if logits is None else logits
          diffs["mlm_log_probs"] = _max_diff(
              ours["mlm_log_probs"], log_softmax(logits, -1).numpy(), mask)
        if "nsp_log_probs" in ours:
          nsp = getattr(outputs, "seq_relationship_logits", None)
          nsp = outputs.sop_logits if nsp is None else nsp
          diffs["nsp_log_probs"] = _max_diff(
              ours["nsp_log_probs"], log_softmax(nsp, -1).numpy(), mask)
        if "discriminator_logits" in ours:
          diffs["discriminator_logits"] = _max_diff(
              ours["discriminator_logits"], outputs.logits.numpy(), mask)
    worst = max(diffs.values())
    results[name] = {"architecture": architecture, "max_abs_diff": diffs,
                     "within_1e-4": worst <= TARGET}
    print("%-22s %-36s %s  %s" % (
        name, architecture, " ".join("%s=%.2e" % kv for kv in diffs.items()),
        "ok" if worst <= TARGET else "OVER 1e-4"))
  results["versions"] = {"torch": torch.__version__,
                         "transformers": transformers.__version__}
  with open(os.path.join(out_dir, "results.json"), "w") as f:
    json.dump(results, f, indent=2)
  return all(r["within_1e-4"] for k, r in results.items() if k != "versions")


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("step", choices=["ours", "hf"])
  parser.add_argument("--out", required=True)
  parser.add_argument("--model_dir", action="append", default=[],
                      help="a run directory or checkpoint folder to add")
  args = parser.parse_args()
  if args.step == "ours":
    sys.path.insert(0, REPO)
    step_ours(args.out, args.model_dir)
    return 0
  return 0 if step_hf(args.out) else 1


if __name__ == "__main__":
  sys.exit(main())

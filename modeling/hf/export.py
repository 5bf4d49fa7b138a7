"""TF1 checkpoint -> Hugging Face folder (convert_checkpoint.py --to=hf).

`export_hf(source)` maps a checkpoint's variables to the Hugging Face names
of `modeling.hf.names` (the table the other direction reads, run backwards)
and returns the files of a folder that transformers' `from_pretrained`
loads:

  config.json            the family's HF config (config.config_to_hf):
                         architectures, model_type, id2label / label2id /
                         problem_type for a classification head
  model.safetensors      the tensors, float32, PyTorch layout
  vocab.txt              the WordPiece vocab, as is
  tokenizer_config.json  tokenizer_class, do_lower_case, model_max_length,
                         the special tokens
  special_tokens_map.json

`write_files(result, output_dir, replacing_path)` writes them;
`format_export_report` says what was exported and what was left out.
"""

import collections
import contextlib
import copy
import json
import os
import shutil
import types

import tensorflow.compat.v1 as tf

from modeling import checkpoint as checkpoint_lib
from modeling import electra
from modeling.hf import config as hf_config
from modeling.hf import names as hf_names
from modeling.hf import safetensors as hf_safetensors
from modeling.hf import weights as hf_weights
from modeling.hf.errors import ConversionError

CONFIG_FILE = "config.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_FILE = "special_tokens_map.json"
VOCAB_FILE = "vocab.txt"

SPECIAL_TOKENS = types.MappingProxyType(collections.OrderedDict([
    ("unk_token", "[UNK]"), ("sep_token", "[SEP]"), ("pad_token", "[PAD]"),
    ("cls_token", "[CLS]"), ("mask_token", "[MASK]")]))

# The tokenizer class of each family's WordPiece vocab.txt (ALBERT models
# that ship a vocab.txt, such as albert_zh, use BertTokenizer).
TOKENIZER_CLASSES = types.MappingProxyType({
    "bert": "BertTokenizer", "albert": "BertTokenizer",
    "distilbert": "DistilBertTokenizer", "electra": "ElectraTokenizer"})

# What to export. checkpoint: prefix; model_type; config: BertConfig;
# vocab_file; do_lower_case; max_seq_length: the tokenizer's
# model_max_length; heads: the heads to try, in order (the first whose
# variables are all in the checkpoint is exported; the encoder alone
# otherwise); labels: label names of a classification head, or None;
# problem_type: HF's problem_type, or None.
ExportSource = collections.namedtuple(
    "ExportSource",
    ["checkpoint", "model_type", "config", "vocab_file", "do_lower_case",
     "max_seq_length", "heads", "labels", "problem_type"])

# architecture: the HF class; head; tensors: HF name -> array; hf_config,
# tokenizer_config: dicts; files: file name -> function(path) writing it;
# exported: TF1 names; not_exported: TF1 model variables left out;
# skipped_state: optimizer slots and global_step (a count);
# missing_optional: TF1 names absent (the pooler).
ExportResult = collections.namedtuple(
    "ExportResult",
    ["source", "architecture", "head", "tensors", "hf_config",
     "tokenizer_config", "files", "exported", "not_exported",
     "skipped_state", "missing_optional"])


def read_checkpoint(prefix):
  """OrderedDict name -> array of every variable of a checkpoint."""
  reader = tf.train.load_checkpoint(prefix)
  return collections.OrderedDict(
      (name, reader.get_tensor(name))
      for name, _ in tf.train.list_variables(prefix))


def model_config(config, model_type):
  """Our config as a dict, with hidden_act as the model computes it."""
  if model_type == "electra":
    config = electra.electra_activation(copy.copy(config))
  return config.to_dict()


def pick_head(names, model_type, config, heads):
  """The first of `heads` that `model_type` has a HF class for and whose
  TF1 variables are all in `names`; ENCODER when none is."""
  names = set(names)
  encoder = len(hf_names.tensor_specs(model_type, config))
  for head in heads:
    if head not in hf_names.supported_heads(model_type):
      continue
    specs = hf_names.model_specs(model_type, config, head)[encoder:]
    if all(spec.tf1_name in names for spec in specs):
      return head
  return hf_names.ENCODER


def check_head(source, model_type, config):
  """Refuses a classification head that has no HF class for the family.

  Raises:
    ConversionError: e.g. an ELECTRA sentence classifier (HF's puts a
      dense + GELU layer before the classifier, which ours does not have).
  """
  for head in source.heads:
    if head in hf_names.supported_heads(model_type):
      return
  if source.labels is not None or source.problem_type:
    raise ConversionError(
        "%s: %s's Hugging Face %s class computes something else than this "
        "run's head (it adds a layer between the encoder and the "
        "classifier), so the head cannot be published as one; pass "
        "--encoder_only to publish the fine-tuned encoder alone" %
        (source.checkpoint, model_type,
         " / ".join(h.replace("_", " ") for h in source.heads)))


def tokenizer_config(source):
  """tokenizer_config.json's dict."""
  tokenizer = collections.OrderedDict([
      ("tokenizer_class", TOKENIZER_CLASSES[source.model_type]),
      ("do_lower_case", bool(source.do_lower_case)),
      ("model_max_length", int(source.max_seq_length)),
      ("tokenize_chinese_chars", True),
      ("strip_accents", None)])
  tokenizer.update(SPECIAL_TOKENS)
  return tokenizer


def _json_writer(obj):
  def write(path):
    with open(path, "w", encoding="utf-8") as f:
      f.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
  return write


def export_hf(source):
  """Maps a TF1 checkpoint to a Hugging Face model (nothing written yet).

  Args:
    source: ExportSource.

  Returns:
    ExportResult; `write_files` writes its files.

  Raises:
    ConversionError: a head without a HF class, a config that does not fit
      the checkpoint (the variable and the config keys named), a required
      variable absent.
  """
  model_type = source.model_type
  check_head(source, model_type, source.config)
  config = model_config(source.config, model_type)
  if source.labels is not None:
    config["num_labels"] = len(source.labels)
  elif source.problem_type == "regression":
    config["num_labels"] = 1
  values = read_checkpoint(source.checkpoint)
  if source.labels is not None or source.problem_type:
    head = source.heads[0]  # a fine-tuned head: its variables are required
  else:
    head = pick_head(values, model_type, config, source.heads)
  tensors, unused, missing = hf_names.tf1_to_hf(values, model_type, config,
                                                head)
  required = [spec for spec in missing if not spec.optional]
  if required:
    raise ConversionError(
        "%s lacks %s%s, which a %s needs: is it a %s checkpoint, and does "
        "its config (num_hidden_layers, ...) belong to it?" % (
            source.checkpoint, required[0].tf1_name,
            " and %d more" % (len(required) - 1) if len(required) > 1 else "",
            hf_names.architecture(model_type, head), model_type))
  if head in (hf_names.SEQUENCE_CLASSIFICATION,
              hf_names.TOKEN_CLASSIFICATION):
    labels, problem_type = source.labels, source.problem_type
  else:
    labels, problem_type = None, None
  architecture = hf_names.architecture(model_type, head)
  hf_json = hf_config.config_to_hf(config, model_type, architecture, labels,
                                   problem_type, source.checkpoint)
  tokenizer = tokenizer_config(source)
  special = collections.OrderedDict(SPECIAL_TOKENS)
  files = collections.OrderedDict([
      (CONFIG_FILE, _json_writer(hf_json)),
      (hf_weights.SAFETENSORS, lambda path: hf_safetensors.write_safetensors(
          path, tensors, {"format": "pt"})),
      (VOCAB_FILE, lambda path: shutil.copyfile(source.vocab_file, path)),
      (TOKENIZER_CONFIG_FILE, _json_writer(tokenizer)),
      (SPECIAL_TOKENS_FILE, _json_writer(special)),
  ])
  state = [n for n in unused if checkpoint_lib.is_optimizer_state(n)]
  return ExportResult(
      source=source, architecture=architecture, head=head, tensors=tensors,
      hf_config=hf_json, tokenizer_config=tokenizer, files=files,
      exported=[n for n in values if n not in unused],
      not_exported=[n for n in unused if n not in set(state)],
      skipped_state=len(state),
      missing_optional=[spec.tf1_name for spec in missing])


@contextlib.contextmanager
def _in_place(path):
  yield path


def write_files(result, output_dir, replacing_path=_in_place):
  """Writes the files of an ExportResult into `output_dir` (which exists).

  Args:
    replacing_path: context manager path -> the path to write (the CLI
      passes bert_toolkit.runs.atomic.replacing_path).

  Returns:
    The paths written.
  """
  paths = []
  for name, write in result.files.items():
    path = os.path.join(output_dir, name)
    with replacing_path(path) as target:
      write(target)
    paths.append(path)
  return paths


def format_export_report(result, output_dir):
  """A human-readable report of an ExportResult (several lines)."""
  lines = ["Exported %d tensors (%d variables of %s) as %s to %s" % (
      len(result.tensors), len(result.exported), result.source.checkpoint,
      result.architecture, output_dir)]
  if "id2label" in result.hf_config:
    lines.append("  labels: %d (%s)%s" % (
        len(result.hf_config["id2label"]),
        ", ".join(list(result.hf_config["id2label"].values())[:8]),
        "; problem_type %s" % result.hf_config["problem_type"]
        if "problem_type" in result.hf_config else ""))
  lines.append("  tokenizer: %s, do_lower_case %s, model_max_length %d" % (
      result.tokenizer_config["tokenizer_class"],
      str(result.tokenizer_config["do_lower_case"]).lower(),
      result.tokenizer_config["model_max_length"]))
  if result.skipped_state:
    lines.append("  not exported: %d training-state variables (optimizer "
                 "slots, global_step)" % result.skipped_state)
  if result.not_exported:
    lines.append("Not exported (no place in %s) (%d):" % (
        result.architecture, len(result.not_exported)))
    scopes = collections.Counter(name.split("/")[0]
                                 for name in result.not_exported)
    lines += ["  %s/* (%d)" % (scope, count) if count > 1 else
              "  " + next(n for n in result.not_exported
                          if n.split("/")[0] == scope)
              for scope, count in scopes.items()]
  if result.missing_optional:
    lines.append("Not in the checkpoint (transformers initialises them "
                 "randomly) (%d):" % len(result.missing_optional))
    lines += ["  %s" % name for name in result.missing_optional]
  return "\n".join(lines)

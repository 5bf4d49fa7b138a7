"""Finding the files of a pre-trained model: config, vocab, checkpoint, type.

`--init_checkpoint` may name an official release folder
(chinese_L-12_H-768_A-12/, albert_tiny_zh/, a convert_checkpoint.py output) or
a checkpoint prefix inside one; the config and vocab are then found beside it.
Explicit `--bert_config_file` / `--vocab_file` / `--model_type` always win.
"""

import collections
import glob
import os

import tokenization
from modeling import checkpoint as checkpoint_lib
from modeling import config as config_lib
from modeling import electra
from modeling import families

PretrainedFiles = collections.namedtuple(
    "PretrainedFiles", ["checkpoint", "config_file", "vocab_file",
                        "model_type", "config"])

_CONFIG_PATTERNS = ("bert_config.json", "albert_config.json",
                    "distilbert_config.json", "electra_config.json",
                    "albert_config*.json", "*discriminator_config.json",
                    "*config*.json")
_VOCAB_PATTERNS = ("vocab.txt", "vocab_chinese.txt", "*vocab*.txt")


def _find_one(folder, patterns, what, flag):
  """First existing file in `folder` matching `patterns`, in order."""
  for pattern in patterns:
    hits = sorted(glob.glob(os.path.join(folder, pattern)))
    if hits:
      return hits[0]
  raise config_lib.ConfigError(
      "no %s found in %s (looked for %s); pass %s" %
      (what, folder, ", ".join(patterns), flag))


def find_pretrained(init_checkpoint=None, bert_config_file=None,
                    vocab_file=None, model_type=None, electra_size=None):
  """Resolves every file of a pre-trained model.

  Args:
    init_checkpoint: checkpoint prefix or folder (may be None when a config
      is given: a model trained from scratch).
    bert_config_file: explicit config path, or None to look beside the
      checkpoint.
    vocab_file: explicit vocab path, or None to look beside the checkpoint.
    model_type: "bert"/"albert"/"distilbert"/"electra", or None to infer.
    electra_size: "small", "base" or "large": Google's ELECTRA releases ship
      no config; this builds the published one (electra.published_config)
      instead of looking for a file.

  Returns:
    PretrainedFiles(checkpoint prefix or None, config_file, vocab_file,
    model_type, BertConfig).

  Raises:
    ConfigError / CheckpointError naming what is missing and the flag to set.
  """
  prefix = None
  folder = None
  if init_checkpoint:
    prefix = checkpoint_lib.resolve_checkpoint(init_checkpoint)
    folder = os.path.dirname(prefix) or "."
  if electra_size and bert_config_file:
    raise config_lib.ConfigError("pass --electra_size or --bert_config_file, "
                                 "not both")
  if model_type is not None and model_type not in families.MODEL_TYPES:
    raise config_lib.ConfigError("--model_type=%s: the families are %s" % (
        model_type, ", ".join(families.MODEL_TYPES)))
  if electra_size and model_type not in (None, "electra"):
    raise config_lib.ConfigError("--electra_size describes an ELECTRA model, "
                                 "not --model_type=%s" % model_type)
  if not bert_config_file and not electra_size:
    if folder is None:
      raise config_lib.ConfigError(
          "pass --bert_config_file or --init_checkpoint")
    bert_config_file = _find_one(
        folder, _CONFIG_PATTERNS, "model config",
        "--bert_config_file (or, for Google's ELECTRA releases, which ship "
        "none, --electra_size=small|base|large)")
  if not vocab_file:
    if folder is None:
      raise config_lib.ConfigError("pass --vocab_file or --init_checkpoint")
    vocab_file = _find_one(folder, _VOCAB_PATTERNS, "vocab file",
                           "--vocab_file")
  if electra_size:
    config = electra.published_config(electra_size, vocab_file)
    bert_config_file = "--electra_size=%s" % electra_size
    model_type = "electra"
  else:
    config = config_lib.BertConfig.from_json_file(bert_config_file)
  names = (checkpoint_lib.list_checkpoint_variables(prefix)
           if prefix else None)
  inferred = families.infer_model_type(config, names, bert_config_file)
  # A family built on the inferred one (a subclass) reads its checkpoints.
  if model_type and names is not None and not issubclass(
      families.FAMILIES.family(model_type),
      families.FAMILIES.family(inferred)):
    example = _example_encoder_variable(names)
    raise checkpoint_lib.CheckpointError(
        "--model_type=%s but the checkpoint %s looks like %s (it holds %s "
        "%s): drop --model_type, or pass the checkpoint of a %s model" % (
            model_type, prefix, checkpoint_lib.describe_layout(names),
            example, names[example], model_type))
  model_type = model_type or inferred
  families.configure_for_checkpoint(model_type, config, prefix)
  return PretrainedFiles(prefix, bert_config_file, vocab_file, model_type,
                         config)


def _example_encoder_variable(names):
  """A word-embedding (or else the first) variable name of a checkpoint."""
  for name in names:
    if name.endswith("/embeddings/word_embeddings"):
      return name
  return next(iter(names))


def check_inputs(files, do_lower_case, max_seq_length, check_case=True):
  """Checks a pre-trained model against the run's input settings.

  The vocab must have the config's vocab_size, --do_lower_case must not
  contradict a Google model name (google-research/bert's check; skipped
  when check_case is False: --skip_case_check), and max_seq_length must fit
  the position table.

  Raises:
    VocabError / ConfigError naming the file or flag to change.
  """
  tokenization.check_vocab_size(files.vocab_file, files.config.vocab_size)
  try:
    if check_case:
      tokenization.validate_case_matches_checkpoint(do_lower_case,
                                                    files.checkpoint)
  except ValueError as e:  # Google's check raises ValueError: a user error.
    raise config_lib.ConfigError(str(e))
  limit = files.config.max_position_embeddings
  if max_seq_length > limit:
    raise config_lib.ConfigError(
        "--max_seq_length=%d exceeds max_position_embeddings=%d of %s" %
        (max_seq_length, limit, files.config_file))

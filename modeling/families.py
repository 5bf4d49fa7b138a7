"""Which model class a run builds: `--model_type` bert | albert |
distilbert | electra.

`infer_model_type` reads it from the checkpoint's variable names (`electra/`,
`distilbert/`, ALBERT's group / shared layers, BERT's layers), else from the
config (`model_type` key, the file name `*discriminator_config.json`,
ALBERT's `embedding_size`, HF DistilBERT's keys); `build_model` constructs
the graph; `encoder_scope` names its variable scope.
"""

import os
import types

from modeling import albert
from modeling import bert
from modeling import checkpoint as checkpoint_lib
from modeling import distilbert
from modeling import electra

MODEL_CLASSES = types.MappingProxyType({
    "bert": bert.BertModel,
    "albert": albert.AlbertModel,
    "distilbert": distilbert.DistilBertModel,
    "electra": electra.ElectraModel,
})

MODEL_TYPES = tuple(sorted(MODEL_CLASSES))

# The config file name of each family (releases, convert_checkpoint.py
# outputs and run directories).
CONFIG_FILES = types.MappingProxyType({
    "bert": "bert_config.json", "albert": "albert_config.json",
    "distilbert": "distilbert_config.json",
    "electra": "electra_config.json"})


def encoder_scope(model_type):
  """The default variable scope of a family's encoder."""
  if model_type in ("distilbert", "electra"):
    return model_type
  return "bert"


def infer_model_type(config, checkpoint_names=None, config_file=None):
  """Returns "bert", "albert", "distilbert" or "electra".

  Args:
    config: `BertConfig`.
    checkpoint_names: optional variable names of the checkpoint; they win
      over the config when they are conclusive.
    config_file: optional path of the config; HFL's ELECTRA releases name it
      `<size>_discriminator_config.json`.
  """
  if checkpoint_names is not None:
    names = list(checkpoint_names)
    if any(n.startswith("electra/encoder/") for n in names):
      return "electra"
    if any(n.startswith("distilbert/") for n in names):
      return "distilbert"
    if any("/transformer/group_" in n or "/layer_shared/" in n or
           "word_embeddings_2" in n for n in names):
      return "albert"
    if any("/encoder/layer_" in n for n in names):
      return "bert"
  declared = getattr(config, "model_type", None)
  if declared in MODEL_CLASSES:
    return declared
  if config_file and os.path.basename(config_file).endswith(
      ("discriminator_config.json", "electra_config.json")):
    return "electra"
  if getattr(config, "embedding_size", None) or "ln_type" in config.__dict__:
    return "albert"
  return "bert"


def build_model(model_type, config, is_training, input_ids, input_mask=None,
                token_type_ids=None, use_one_hot_embeddings=False, **kwargs):
  """Builds the encoder of `model_type` on the given input tensors.

  Args:
    model_type: "bert", "albert", "distilbert" or "electra".
    config: `BertConfig`.
    is_training: True for dropout.
    input_ids, input_mask, token_type_ids: int Tensors [batch, seq].
    use_one_hot_embeddings: one-hot embedding lookup.
    **kwargs: passed to the class (e.g. `layout` for ALBERT).

  Returns:
    A `BertModel`, `AlbertModel`, `DistilBertModel` or `ElectraModel`.
  """
  if model_type not in MODEL_CLASSES:
    raise ValueError("unknown model_type %r; use one of %s" %
                     (model_type, ", ".join(MODEL_TYPES)))
  return MODEL_CLASSES[model_type](
      config=config, is_training=is_training, input_ids=input_ids,
      input_mask=input_mask, token_type_ids=token_type_ids,
      use_one_hot_embeddings=use_one_hot_embeddings, **kwargs)


def configure_for_checkpoint(model_type, config, init_checkpoint):
  """Sets `config.albert_layout` from the checkpoint's names (ALBERT only)."""
  if model_type == "albert" and init_checkpoint and not getattr(
      config, "albert_layout", None):
    names = checkpoint_lib.list_checkpoint_variables(init_checkpoint).keys()
    config.albert_layout = albert.detect_albert_layout(config, names)
  return config

"""Which model class a run builds: `--model_type` bert | albert |
distilbert | electra.

A family is its `EncoderModel` subclass, which carries all that is known
of it (`model_type`, `default_scope`, `config_file`, which checkpoints and
configs are its own, its attention); `FAMILIES` registers the classes, one
row each. `MODEL_CLASSES`, `MODEL_TYPES` and `CONFIG_FILES` are read from
it, and so are the functions:

  infer_model_type   the family of a checkpoint (its variable names), else
                     the config's (`model_type`, its file name, its keys)
  build_model        constructs the graph of a `model_type`
  encoder_scope      the variable scope of a family's encoder
  configure_for_checkpoint  config keys a checkpoint's layout decides

Outside this package, `FAMILIES.with_family(cls)` gives a registry that
knows one more family, with the same methods.
"""

import collections
import types

from modeling import albert
from modeling import bert
from modeling import distilbert
from modeling import electra


class Families(object):
  """Model families by `model_type`. Immutable: `with_family` returns a new
  registry.

  The order is the order in which `infer_model_type` asks the families
  whether a checkpoint is theirs: the more specific layouts first, BERT's
  (whose names others share) last.
  """

  def __init__(self, classes):
    """Args: classes: `EncoderModel` subclasses, each setting `model_type`,
    `default_scope` and `config_file`, with distinct `model_type`s."""
    by_type = collections.OrderedDict()
    for model_class in classes:
      for attribute in ("model_type", "default_scope", "config_file"):
        if not getattr(model_class, attribute, None):
          raise ValueError("%s sets no %s" % (model_class.__name__,
                                              attribute))
      if model_class.model_type in by_type:
        raise ValueError("model_type %r is registered twice (%s, %s)" % (
            model_class.model_type, by_type[model_class.model_type].__name__,
            model_class.__name__))
      by_type[model_class.model_type] = model_class
    self.classes = tuple(classes)
    self.by_type = types.MappingProxyType(by_type)

  def with_family(self, model_class):
    """A registry with `model_class` added, asked after the others."""
    return Families(self.classes + (model_class,))

  @property
  def model_types(self):
    """The registered `model_type`s, sorted."""
    return tuple(sorted(self.by_type))

  def family(self, model_type):
    """The class of `model_type`; ValueError naming the known ones."""
    if model_type not in self.by_type:
      raise ValueError("unknown model_type %r; use one of %s" %
                       (model_type, ", ".join(self.model_types)))
    return self.by_type[model_type]

  def encoder_scope(self, model_type):
    """The default variable scope of a family's encoder."""
    return self.family(model_type).default_scope

  def infer_model_type(self, config, checkpoint_names=None,
                       config_file=None):
    """Returns the `model_type` of a pre-trained model.

    The checkpoint's names decide when a family recognises them; a config
    whose `model_type` is a family built on that one (a subclass: same
    names, other arithmetic) keeps its own. Without a conclusive
    checkpoint: the config's `model_type`, else the first family that
    recognises the config (its keys or file name), else BERT.

    Args:
      config: `BertConfig`.
      checkpoint_names: optional variable names of the checkpoint.
      config_file: optional path of the config; HFL's ELECTRA releases
        name it `<size>_discriminator_config.json`.
    """
    declared = self.by_type.get(getattr(config, "model_type", None))
    if checkpoint_names is not None:
      names = list(checkpoint_names)
      for model_class in self.classes:
        if model_class.recognizes_checkpoint(names):
          if declared is not None and issubclass(declared, model_class):
            return declared.model_type
          return model_class.model_type
    if declared is not None:
      return declared.model_type
    for model_class in self.classes:
      if model_class.recognizes_config(config, config_file):
        return model_class.model_type
    return bert.BertModel.model_type

  def build_model(self, model_type, config, is_training, input_ids,
                  input_mask=None, token_type_ids=None,
                  use_one_hot_embeddings=False, **kwargs):
    """Builds the encoder of `model_type` on the given input tensors.

    Args:
      model_type: a registered `model_type`.
      config: `BertConfig`.
      is_training: True for dropout.
      input_ids, input_mask, token_type_ids: int Tensors [batch, seq].
      use_one_hot_embeddings: one-hot embedding lookup.
      **kwargs: passed to the class (e.g. `layout` for ALBERT).

    Returns:
      The family's `EncoderModel`.
    """
    return self.family(model_type)(
        config=config, is_training=is_training, input_ids=input_ids,
        input_mask=input_mask, token_type_ids=token_type_ids,
        use_one_hot_embeddings=use_one_hot_embeddings, **kwargs)

  def configure_for_checkpoint(self, model_type, config, init_checkpoint):
    """Sets the config keys the checkpoint's layout decides (ALBERT's
    `albert_layout`); returns the config."""
    return self.family(model_type).configure_for_checkpoint(
        config, init_checkpoint)


# One row per family, in the order checkpoints are matched (see Families).
FAMILIES = Families((
    electra.ElectraModel,
    distilbert.DistilBertModel,
    albert.AlbertModel,
    bert.BertModel,
))

MODEL_TYPES = FAMILIES.model_types

MODEL_CLASSES = types.MappingProxyType(collections.OrderedDict(
    (t, FAMILIES.by_type[t]) for t in MODEL_TYPES))

# The config file name of each family (releases, convert_checkpoint.py
# outputs and run directories).
CONFIG_FILES = types.MappingProxyType(collections.OrderedDict(
    (t, FAMILIES.by_type[t].config_file) for t in MODEL_TYPES))


def encoder_scope(model_type):
  """The default variable scope of a family's encoder."""
  return FAMILIES.encoder_scope(model_type)


def infer_model_type(config, checkpoint_names=None, config_file=None):
  """The `model_type` of a pre-trained model; see
  `Families.infer_model_type`."""
  return FAMILIES.infer_model_type(config, checkpoint_names, config_file)


def build_model(model_type, config, is_training, input_ids, input_mask=None,
                token_type_ids=None, use_one_hot_embeddings=False, **kwargs):
  """Builds the encoder of `model_type`; see `Families.build_model`.

  Returns:
    A `BertModel`, `AlbertModel`, `DistilBertModel` or `ElectraModel`.
  """
  return FAMILIES.build_model(model_type, config, is_training, input_ids,
                              input_mask, token_type_ids,
                              use_one_hot_embeddings, **kwargs)


def configure_for_checkpoint(model_type, config, init_checkpoint):
  """Sets `config.albert_layout` from the checkpoint's names (ALBERT)."""
  return FAMILIES.configure_for_checkpoint(model_type, config,
                                           init_checkpoint)

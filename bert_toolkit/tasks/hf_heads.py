"""Which Hugging Face head a run directory is published with
(convert_checkpoint.py --to=hf), read from its run_info.json.

  hf_head(info, where) -> HfHead(heads, labels, problem_type)

  classifier   single-label  -> *ForSequenceClassification,
                               single_label_classification
               multi-label   -> *ForSequenceClassification,
                               multi_label_classification
  regression                 -> *ForSequenceClassification, num_labels 1,
                               regression
  ner          softmax       -> *ForTokenClassification
               CRF, BiLSTM   -> refused: Hugging Face's token classifier
                               has neither (--encoder_only publishes the
                               encoder alone)
  pretraining                -> *ForPreTraining (MLM + NSP / SOP), else
                               *ForMaskedLM, as the checkpoint holds them
  other kinds                -> refused (--encoder_only)
"""

import collections

from bert_toolkit.errors import InputError
from modeling.hf import names as hf_names

# heads: the heads to try in order; labels: label names or None;
# problem_type: Hugging Face's, or None.
HfHead = collections.namedtuple("HfHead", ["heads", "labels", "problem_type"])

ENCODER_ONLY_FIX = ("Pass --encoder_only to publish the fine-tuned encoder "
                    "alone (transformers then adds a new, untrained head)")


def _classifier(info, where):
  del where  # Unused.
  multi = (info.get("head") or {}).get("multi_label")
  return HfHead((hf_names.SEQUENCE_CLASSIFICATION,), list(info["labels"]),
                "multi_label_classification" if multi
                else "single_label_classification")


def _regression(info, where):
  del info, where  # Unused.
  return HfHead((hf_names.SEQUENCE_CLASSIFICATION,), None, "regression")


def _tagger(info, where):
  head = info.get("head") or {}
  if head.get("crf"):
    raise InputError(
        where, None, "this NER run decodes with a CRF, which Hugging Face's "
        "*ForTokenClassification does not have (its tags would differ "
        "without the transition scores)",
        "Publish a softmax NER run (trained without --crf), or " +
        ENCODER_ONLY_FIX[0].lower() + ENCODER_ONLY_FIX[1:])
  if head.get("lstm_size"):
    raise InputError(
        where, None, "this NER run has a BiLSTM (--lstm_size=%s) between the "
        "encoder and the tag scores, which Hugging Face's "
        "*ForTokenClassification does not have" % head["lstm_size"],
        ENCODER_ONLY_FIX)
  return HfHead((hf_names.TOKEN_CLASSIFICATION,), list(info["labels"]), None)


def _pretraining(info, where):
  del info, where  # Unused.
  return HfHead((hf_names.PRETRAINING, hf_names.MASKED_LM), None, None)


_BY_KIND = {"classifier": _classifier, "regression": _regression,
            "ner": _tagger, "pretraining": _pretraining}

# A checkpoint folder without run_info.json: the pre-training heads it
# holds, else the encoder.
PRETRAINED = HfHead((hf_names.PRETRAINING, hf_names.MASKED_LM), None, None)
ENCODER = HfHead((), None, None)


def hf_head(info, where):
  """The HfHead of a run (run_info.json's dict).

  Args:
    info: run_info.read(...)'s dict.
    where: run_info.json's path, for messages.

  Raises:
    InputError: a run whose head has no Hugging Face class.
  """
  kind = info.get("kind")
  if kind not in _BY_KIND:
    raise InputError(
        where, None, "a %s run has no Hugging Face head here (heads: %s)" %
        (kind, ", ".join(sorted(_BY_KIND))), ENCODER_ONLY_FIX)
  return _BY_KIND[kind](info, where)

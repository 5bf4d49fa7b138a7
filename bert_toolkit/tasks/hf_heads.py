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

`export_source(model_dir, ...)` is what convert_checkpoint.py --to=hf
exports: a run directory (run_info.json: model, head, labels, case,
max_seq_length) or a checkpoint folder / prefix (its config and vocab, and
the pre-training heads it holds).
"""

import collections
import os
import types

import modeling
from bert_toolkit.errors import InputError
from bert_toolkit.runs import run_info
from modeling import checkpoint as checkpoint_lib
from modeling.hf import export as hf_export
from modeling.hf import names as hf_names
from modeling.hf.errors import ConversionError

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


_BY_KIND = types.MappingProxyType({
    "classifier": _classifier, "regression": _regression, "ner": _tagger,
    "pretraining": _pretraining})

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


def export_source(model_dir, model_type=None, encoder_only=False,
                  do_lower_case=None):
  """What convert_checkpoint.py --to=hf exports from `model_dir`.

  Args:
    model_dir: a run directory, or a checkpoint folder or prefix.
    model_type: --model_type (must agree with the run's), or None.
    encoder_only: leave the head out (*Model).
    do_lower_case: for a checkpoint folder whose config does not say (a
      run's run_info.json always does); None: true.

  Returns:
    A modeling.hf.export.ExportSource.
  """
  if os.path.isdir(model_dir) and run_info.exists(model_dir):
    info = run_info.read(model_dir)
    where = os.path.join(model_dir, run_info.RUN_INFO_FILE)
    if model_type and model_type != info["model_type"]:
      raise ConversionError("--model_type=%s but %s says %s: drop "
                            "--model_type" % (model_type, where,
                                              info["model_type"]))
    head = ENCODER if encoder_only else hf_head(info, where)
    return hf_export.ExportSource(
        checkpoint=checkpoint_lib.resolve_checkpoint(model_dir),
        model_type=info["model_type"], config=info["config"],
        vocab_file=info["vocab_file"], do_lower_case=info["do_lower_case"],
        max_seq_length=info["max_seq_length"], heads=head.heads,
        labels=head.labels, problem_type=head.problem_type)
  files = modeling.find_pretrained(init_checkpoint=model_dir,
                                   model_type=model_type)
  head = ENCODER if encoder_only else PRETRAINED
  if do_lower_case is None:
    do_lower_case = getattr(files.config, "do_lower_case", True)
  return hf_export.ExportSource(
      checkpoint=files.checkpoint, model_type=files.model_type,
      config=files.config, vocab_file=files.vocab_file,
      do_lower_case=do_lower_case,
      max_seq_length=files.config.max_position_embeddings, heads=head.heads,
      labels=head.labels, problem_type=head.problem_type)

"""--class_weights and --focal_loss_gamma: weighting the training loss.

Rules:
- `--class_weights=balanced` gives label c the weight
  n / (k * count_c): n labelled training items, k labels, count_c the items
  of label c (scikit-learn's "balanced"). Items are examples for
  classification and labelled tokens (first WordPiece of a unit) -- read as
  units of the training file -- for NER. A label with no training item gets
  weight 1 (and a warning).
- `--class_weights=w1,w2,...` gives the weights in label order (labels.txt /
  the task's label list), one positive number per label.
- The weighted loss is sum(w[y] * loss) / sum(w[y]) over a batch, PyTorch's
  CrossEntropyLoss(weight=...) mean; `--focal_loss_gamma=g` > 0 scales each
  item's loss by (1 - p(y))^g (focal loss). Both apply to the training loss
  only: the evaluation loss stays the plain cross-entropy, so it compares
  across runs.
- They apply to classification and to NER's softmax head; a CRF head has a
  sequence likelihood, not per-token losses, and refuses them.
"""

import collections

import tensorflow.compat.v1 as tf

from bert_toolkit.errors import SettingsError


def parse(spec):
  """None, "balanced", or a list of floats; SettingsError for bad text."""
  if spec is None or spec == "":
    return None
  if spec == "balanced":
    return spec
  try:
    weights = [float(w) for w in spec.split(",")]
  except ValueError:
    raise SettingsError("--class_weights=%s: use 'balanced' or one number "
                        "per label, comma-separated (e.g. 1,3.5)" % spec)
  if not all(w > 0 for w in weights):
    raise SettingsError("--class_weights=%s: every weight must be positive"
                        % spec)
  return weights


def resolve(spec, labels, label_counts):
  """The weight of each label, in label order (None without a spec).

  Args:
    spec: parse()'s result.
    labels: the label list.
    label_counts: {label: training items} (for "balanced").
  """
  spec = parse(spec) if isinstance(spec, str) else spec
  if spec is None:
    return None
  if spec != "balanced":
    if len(spec) != len(labels):
      raise SettingsError(
          "--class_weights has %d weights but the task has %d labels (%s): "
          "give one per label, in that order" % (
              len(spec), len(labels), ", ".join(labels[:20])))
    return list(spec)
  counts = collections.Counter(label_counts)
  total = sum(counts[label] for label in labels)
  missing = [label for label in labels if not counts[label]]
  if missing:
    tf.logging.warning("--class_weights=balanced: no training item has "
                       "label(s) %s; they get weight 1", ", ".join(missing))
  return [total / float(len(labels) * counts[label]) if counts[label] else 1.0
          for label in labels]

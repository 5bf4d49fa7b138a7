"""Restoring pre-trained checkpoints: assignment map, checks and a report.

`get_assignment_map_from_checkpoint` has Google's signature and return value.
On top of it, `restore_report` sorts every variable into: restored, left to
initialise (task heads), and checkpoint variables not used (pre-training heads
`cls/*`, ELECTRA's generator and prediction heads, TinyBERT's `fit_dense*`,
optimizer slots `adam_m`/`adam_v`, `global_step`). `check_report`
turns a shape mismatch or a missing encoder variable into a `CheckpointError`
that names the variable, both shapes and the likely cause, instead of the
silent random initialisation google-research/bert would give.
"""

import collections
import os
import re

import tensorflow.compat.v1 as tf


class CheckpointError(ValueError):
  """A checkpoint that is missing or does not fit the graph."""


# Optimizer state: Google's adam_m/adam_v, tf.train.Adam's Adam/Adam_1, ours
# (AdamWeightDecay_m/_v, grad_accum), Momentum.
_SLOT_PATTERN = re.compile(r"/(adam_m|adam_v|Adam|Adam_1|Momentum|"
                           r"AdamWeightDecay_m|AdamWeightDecay_v|LAMB_m|"
                           r"LAMB_v|lamb_m|lamb_v|grad_accum)$")


def resolve_checkpoint(path):
  """Returns the checkpoint prefix for a prefix or a folder holding one.

  Args:
    path: "dir/bert_model.ckpt" (a prefix), or a folder containing a
      `checkpoint` state file or exactly one `*.ckpt.index`.

  Raises:
    CheckpointError: nothing readable there; the message names the path.
  """
  if not path:
    raise CheckpointError("no checkpoint given: pass --init_checkpoint")
  if os.path.isdir(path):
    latest = _latest_in_state_file(path)
    if latest:
      return latest
    indexes = sorted(f for f in os.listdir(path) if f.endswith(".index"))
    if len(indexes) == 1:
      return os.path.join(path, indexes[0][:-len(".index")])
    raise CheckpointError(
        "no checkpoint found in folder %s (expected one *.ckpt.index file, "
        "e.g. bert_model.ckpt.index; found %d)" % (path, len(indexes)))
  if tf.io.gfile.exists(path + ".index"):
    return path
  if path.endswith(".index") and tf.io.gfile.exists(path):
    return path[:-len(".index")]
  raise CheckpointError(
      "checkpoint not found: %s (no %s.index). Pass the prefix, e.g. "
      "--init_checkpoint=chinese_L-12_H-768_A-12/bert_model.ckpt, or the "
      "folder that holds it." % (path, path))


def _latest_in_state_file(folder):
  """The checkpoint a folder's `checkpoint` state file names, if it exists.

  Released folders often carry a state file with the absolute path of the
  machine that wrote them; then the file name is tried inside `folder`.
  """
  if not os.path.isfile(os.path.join(folder, "checkpoint")):
    return None
  state = tf.train.get_checkpoint_state(folder)
  if not state or not state.model_checkpoint_path:
    return None
  for candidate in (state.model_checkpoint_path,
                    os.path.join(folder, os.path.basename(
                        state.model_checkpoint_path))):
    if tf.io.gfile.exists(candidate + ".index"):
      return candidate
  return None


def list_checkpoint_variables(init_checkpoint):
  """Returns an OrderedDict name -> shape (list) of a checkpoint's variables."""
  prefix = resolve_checkpoint(init_checkpoint)
  return collections.OrderedDict(
      (name, list(shape)) for name, shape in tf.train.list_variables(prefix))


def _variable_name(var):
  """"bert/x/kernel:0" -> "bert/x/kernel" (also for partitioned names)."""
  name = var.name
  m = re.match("^(.*):\\d+$", name)
  return m.group(1) if m else name


def get_assignment_map_from_checkpoint(tvars, init_checkpoint):
  """Maps graph variables to checkpoint variables of the same name.

  Google's function and return value; additionally skips (and does not
  return) variables whose shapes differ, which `restore_report` reports.

  Args:
    tvars: list of tf.Variable (usually tf.trainable_variables()).
    init_checkpoint: checkpoint prefix or folder.

  Returns:
    (assignment_map: OrderedDict ckpt name -> graph name,
     initialized_variable_names: OrderedDict with name and "name:0" -> 1).
  """
  name_to_variable = collections.OrderedDict(
      (_variable_name(v), v) for v in tvars)
  assignment_map = collections.OrderedDict()
  initialized_variable_names = collections.OrderedDict()
  for name, shape in list_checkpoint_variables(init_checkpoint).items():
    var = name_to_variable.get(name)
    if var is None or var.shape.as_list() != shape:
      continue
    assignment_map[name] = name
    initialized_variable_names[name] = 1
    initialized_variable_names[name + ":0"] = 1
  return assignment_map, initialized_variable_names


# Checkpoint variables that only pre-training or distillation use: BERT's
# cls/*, ELECTRA's generator and prediction heads, TinyBERT's fit_dense(s).
_TRAINING_HEADS = ("cls/", "generator/", "generator_predictions/",
                   "discriminator_predictions/")
_DISTILLATION_HEAD = re.compile(r"(^|/)fit_denses?(/|_|$)")


def is_optimizer_state(name):
  """True for an optimizer slot (adam_m, Adam_1, ...) or global_step."""
  return bool(_SLOT_PATTERN.search(name)) or name == "global_step"


def is_training_head(name):
  """True for a pre-training / distillation head variable (never restored
  into a fine-tuning graph: reported as not used)."""
  return name.startswith(_TRAINING_HEADS) or bool(
      _DISTILLATION_HEAD.search(name))


RestoreReport = collections.namedtuple(
    "RestoreReport",
    ["checkpoint", "restored", "to_initialize", "shape_mismatch",
     "unused_slots", "unused_heads", "unused_other"])


def restore_report(tvars, init_checkpoint):
  """Sorts graph and checkpoint variables by what a restore does with them.

  Args:
    tvars: graph variables that could be restored.
    init_checkpoint: checkpoint prefix or folder.

  Returns:
    RestoreReport with lists of names: `restored`, `to_initialize` (graph,
    not in checkpoint), `shape_mismatch` (name, graph shape, ckpt shape),
    and checkpoint variables not used: `unused_slots` (optimizer slots,
    global_step), `unused_heads` (pre-training and distillation heads:
    cls/*, generator/*, generator_predictions/*, discriminator_predictions/*,
    fit_dense*), `unused_other`.
  """
  prefix = resolve_checkpoint(init_checkpoint)
  ckpt = list_checkpoint_variables(prefix)
  # global_step is never taken from a pre-trained checkpoint: fine-tuning
  # starts at step 0 whatever step pre-training stopped at.
  graph = collections.OrderedDict((_variable_name(v), v.shape.as_list())
                                  for v in tvars
                                  if _variable_name(v) != "global_step")
  restored, to_initialize, mismatch = [], [], []
  for name, shape in graph.items():
    if name not in ckpt:
      to_initialize.append(name)
    elif ckpt[name] != shape:
      mismatch.append((name, shape, ckpt[name]))
    else:
      restored.append(name)
  slots, heads, other = [], [], []
  for name in ckpt:
    if name in graph:
      continue
    if is_optimizer_state(name):
      slots.append(name)
    elif is_training_head(name):
      heads.append(name)
    else:
      other.append(name)
  return RestoreReport(prefix, restored, to_initialize, mismatch, slots,
                       heads, other)


def describe_layout(names):
  """Guesses which model family wrote a list of checkpoint variable names."""
  names = list(names)
  if any("/transformer/group_" in n for n in names):
    return "Google ALBERT (--model_type=albert)"
  if any("/layer_shared/" in n or "word_embeddings_2" in n for n in names):
    return "brightmart albert_zh (--model_type=albert)"
  if any(n.startswith("electra/encoder/") for n in names):
    return "ELECTRA (--model_type=electra)"
  if any(n.startswith("distilbert/") for n in names):
    return "DistilBERT (--model_type=distilbert)"
  if any("/encoder/layer_" in n for n in names):
    layers = {int(m.group(1)) for n in names
              for m in [re.search(r"/encoder/layer_(\d+)/", n)] if m}
    return "BERT with %d layers (--model_type=bert)" % (max(layers) + 1)
  return "no known encoder"


def unused_encoder_variables(report, encoder_scope):
  """Checkpoint variables under the encoder scope that the graph lacks
  (optimizer slots aside): a config with fewer layers than the checkpoint."""
  prefix = encoder_scope.rstrip("/") + "/"
  return [n for n in report.unused_other if n.startswith(prefix)]


def check_shapes(report, graph, cause):
  """The one shape check of a restore (training's init_from_checkpoint and
  the SavedModel export): CheckpointError when a variable of the graph has
  another shape in the checkpoint.

  Args:
    report: RestoreReport (restore_report).
    graph: what built the graph, for the message ("the graph built from the
      config ...", "the export of run ...").
    cause: the likely cause and fix, for the message.
  """
  if report.shape_mismatch:
    name, graph_shape, ckpt_shape = report.shape_mismatch[0]
    raise CheckpointError(
        "shape mismatch for %s: %s has %s, the checkpoint %s has %s (%d such "
        "variable(s)). Likely cause: %s" %
        (name, graph, graph_shape, report.checkpoint, ckpt_shape,
         len(report.shape_mismatch), cause))


def check_report(report, encoder_scope, config_file=None,
                 allow_partial=False):
  """Raises CheckpointError if the encoder cannot be restored completely.

  Args:
    report: RestoreReport.
    encoder_scope: the model's variable scope ("bert", "distilbert"); graph
      variables under it must all come from the checkpoint, except the
      pooler (missing in some releases: reported, initialised randomly).
    config_file: named in the message, if known.
    allow_partial: accept checkpoint encoder variables the graph does not
      use (a config with fewer layers, taken on purpose); without it they
      are an error.

  Raises:
    CheckpointError naming the variable, both shapes and the likely cause.
  """
  where = " (config %s)" % config_file if config_file else ""
  check_shapes(report, "the graph built from the config%s" % where,
               "the config does not belong to this checkpoint (vocab_size, "
               "hidden_size, embedding_size or max_position_embeddings "
               "differ).")
  prefix = encoder_scope.rstrip("/") + "/"
  missing = [n for n in report.to_initialize
             if n.startswith(prefix) and not n.startswith(prefix + "pooler/")]
  if missing:
    ckpt_names = list_checkpoint_variables(report.checkpoint).keys()
    raise CheckpointError(
        "%d encoder variable(s) are not in the checkpoint %s, e.g. %s. The "
        "checkpoint looks like %s; check --model_type and the config%s "
        "(num_hidden_layers, layout)." %
        (len(missing), report.checkpoint, missing[0],
         describe_layout(ckpt_names), where))
  unused = unused_encoder_variables(report, encoder_scope)
  if unused and not allow_partial:
    ckpt_names = list_checkpoint_variables(report.checkpoint).keys()
    raise CheckpointError(
        "the checkpoint %s holds %d encoder variable(s) the graph does not "
        "use, e.g. %s: it is %s, the config%s builds fewer layers. Use the "
        "config that belongs to the checkpoint, or pass "
        "--allow_partial_restore to keep only the layers the config has" %
        (report.checkpoint, len(unused), unused[0],
         describe_layout(ckpt_names), where))


def format_report(report, encoder_scope=None):
  """Returns the restore report as log lines."""
  lines = ["Restore from %s:" % report.checkpoint,
           "  restored: %d variables" % len(report.restored)]
  unused = (unused_encoder_variables(report, encoder_scope)
            if encoder_scope else [])
  if unused:
    lines.append("  WARNING: %d encoder variable(s) of the checkpoint are "
                 "NOT USED (partial restore: the config has fewer layers)%s"
                 % (len(unused), _examples(unused)))
  if report.to_initialize:
    lines.append("  initialised here (not in the checkpoint): %d: %s" %
                 (len(report.to_initialize), ", ".join(report.to_initialize)))
  pooler = [n for n in report.to_initialize if "/pooler/" in n]
  if pooler:
    lines.append("  note: the checkpoint has no pooler; the pooled output is "
                 "randomly initialised and trained from scratch")
  for label, names in (("optimizer slots / global_step", report.unused_slots),
                       ("pre-training heads, distillation projections",
                        report.unused_heads),
                       ("other", report.unused_other)):
    if names:
      lines.append("  not used from the checkpoint (%s): %d%s" %
                   (label, len(names), _examples(names)))
  return "\n".join(lines)


def _examples(names, limit=4):
  shown = ", ".join(names[:limit])
  return " (%s%s)" % (shown, ", ..." if len(names) > limit else "")


def check_data_files(prefix):
  """CheckpointError unless every `.data-NNNNN-of-MMMMM` shard is there.

  list_checkpoint_variables reads the `.index` alone; restoring needs the
  data shards too.
  """
  shards = tf.io.gfile.glob(prefix + ".data-*-of-*")
  if not shards:
    raise CheckpointError(
        "%s.index is there but its data file (%s.data-00000-of-00001) is "
        "missing: the checkpoint was copied incompletely; copy every file "
        "of it" % (prefix, prefix))
  total = int(shards[0].rsplit("-of-", 1)[1])
  if len(shards) != total:
    raise CheckpointError(
        "%s has %d of its %d data shards (.data-*-of-%05d): the checkpoint "
        "was copied incompletely; copy every file of it" %
        (prefix, len(shards), total, total))


def init_from_checkpoint(init_checkpoint, encoder_scope, tvars=None,
                         config_file=None, log=True, allow_partial=False):
  """Checks, reports and schedules the restore of an encoder checkpoint.

  Call inside a model_fn (or before the session starts): it calls
  `tf.train.init_from_checkpoint`, so variables take the checkpoint values
  when their initialisers run.

  Args:
    init_checkpoint: checkpoint prefix or folder.
    encoder_scope: "bert" or "distilbert".
    tvars: variables to restore (default: tf.trainable_variables(), as
      Google's run_classifier; never global_step).
    config_file: for error messages.
    log: write the report with tf.logging.info.
    allow_partial: accept unused encoder variables (see check_report); the
      report then warns about them.

  Returns:
    RestoreReport.

  Raises:
    CheckpointError: missing checkpoint or data file, shape mismatch,
      missing encoder variable, unused encoder variables.
  """
  if tvars is None:
    tvars = tf.trainable_variables()
  report = restore_report(tvars, init_checkpoint)
  check_report(report, encoder_scope, config_file, allow_partial)
  check_data_files(report.checkpoint)
  assignment_map = collections.OrderedDict((n, n) for n in report.restored)
  tf.train.init_from_checkpoint(report.checkpoint, assignment_map)
  if log:
    message = format_report(report, encoder_scope)
    if unused_encoder_variables(report, encoder_scope):
      tf.logging.warning(message)
    else:
      tf.logging.info(message)
  return report

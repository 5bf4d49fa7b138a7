"""Knowledge distillation: a small student from a fine-tuned teacher run, for
classification and NER. What run_distill.py plugs into the runner.

  Distiller(teacher_dir, alpha=0.5, temperature=2.0, student_layers=None,
            hidden_loss_weight=0.0, attention_loss_weight=0.0,
            layer_map=None, unlabeled_file=None)

The teacher is a run directory of run_classifier.py or run_ner.py (its
run_info.json gives the kind, labels, head, vocab, case and max_seq_length;
its best / newest checkpoint the weights). The student is a normal run of
the same kind, task and head, so its directory evaluates, predicts,
exports and serves with the usual commands. The student is either
- a pre-trained model (--init_checkpoint, any family) whose vocab is the
  teacher's; a CRF student's transitions start from the teacher's; or
- the teacher itself with fewer layers (`student_layers`, e.g. [0, 2, 4]):
  the teacher's embeddings, those layers (renumbered 0, 1, 2), pooler and
  head, fine-tuned weights included (DistilBERT / PKD style).
The student's starting weights are written once to
output_dir/student_init/ and restored from there.

Losses (alpha = weight of the hard-label loss, T = temperature):
  loss = alpha * hard + (1 - alpha) * soft
         + hidden_loss_weight * hidden + attention_loss_weight * attention
- hard: the task's own loss on the labels (the teacher's argmax labels
  for --unlabeled_file examples);
- soft: T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged
  over examples (classification) or over the labelled first-piece
  positions (NER; a CRF teacher's emission scores are distilled);
- hidden (TinyBERT): mean squared error between student layer i and its
  teacher layer, through a learned projection `distill/fit_dense_i` when
  the widths differ, over real tokens;
- attention (TinyBERT): mean squared error between attention scores of
  mapped layers (same number of heads), padded positions left out.
`layer_map` pairs student and teacher layers ("0:1,1:3,2:5"); the default
maps student layer i to teacher layer ((i + 1) * T // S) - 1 (uniform), or
with student_layers to the teacher layer it was copied from.
alpha = 1 with both intermediate weights 0 builds no soft term: the loss is
exactly plain fine-tuning's.

Teacher outputs are computed once, when the training features are written,
and stored in them (float feature `teacher_logits`: per example the
teacher's logits; for NER per window max_seq_length x labels emission
scores), so the feature cache key includes the teacher checkpoint. Only the
intermediate losses put the teacher in the training graph (scope
`teacher/`, frozen, restored from its checkpoint).
"""

import collections
import os
import re
import shutil

import numpy as np
import tensorflow.compat.v1 as tf

import modeling
from bert_toolkit import kinds
from bert_toolkit import settings as settings_lib
from bert_toolkit.data import encoding
from bert_toolkit.runs import atomic
from bert_toolkit.runs import paths
from bert_toolkit.runs import run_info
from bert_toolkit.data import split_files
from bert_toolkit.engine import task as task_lib
from bert_toolkit.errors import InputError
from bert_toolkit.errors import SettingsError
from modeling import layers

TEACHER_SCOPE = "teacher"
STUDENT_INIT = "student_init"
_SLOTS = re.compile(r"/(AdamWeightDecay_m|AdamWeightDecay_v|LAMB_m|LAMB_v|"
                    r"adam_m|adam_v|grad_accum)$")


# ------------------------------------------------------------- teacher ---

class Teacher(object):
  """A fine-tuned run directory, read to teach (run_info, checkpoint)."""

  def __init__(self, run_dir):
    if not run_dir or not os.path.isdir(run_dir):
      raise SettingsError("--teacher_dir %s is not a directory: pass the "
                          "--output_dir of a run_classifier.py / run_ner.py "
                          "training run" % run_dir)
    self.run_dir = run_dir
    self.info = run_info.read(run_dir)
    if kinds.task_class(self.info["kind"]).DISTILL is None:
      raise SettingsError("--teacher_dir %s holds a %s run; a teacher is a "
                          "run of a task that can be distilled (%s)" % (
                              run_dir, self.info["kind"], ", ".join(
                                  row.kind for row in kinds.KINDS
                                  if kinds.task_class(row.kind).DISTILL)))
    try:
      self.checkpoint = run_info.fine_tuned_checkpoint(run_dir)
    except modeling.CheckpointError as e:
      raise SettingsError("--teacher_dir is incomplete: %s" % e)
    modeling.checkpoint.check_data_files(self.checkpoint)
    self.model_type = self.info["model_type"]
    self.config = self.info["config"]
    self.labels = list(self.info["labels"])
    self.scope = modeling.encoder_scope(self.model_type)

  def task(self):
    """The teacher's task, rebuilt from run_info (head and labels)."""
    return kinds.task_class(self.info["kind"]).from_run_info(self.info)

  def identity(self):
    """What the cached teacher outputs depend on (for the cache key)."""
    return {"checkpoint": os.path.basename(self.checkpoint),
            "index_sha256": run_info.file_digest(self.checkpoint + ".index")}

  def logits(self, rows, batch_size=32):
    """The teacher's logits for feature rows (dicts of input_ids /
    segment_ids int lists), in order: [labels] per row (classifier) or
    [len, labels] (NER)."""
    task = self.task()
    outputs = [None] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
    graph = tf.Graph()
    with graph.as_default():
      features = {name: tf.placeholder(tf.int32, [None, None], name=name)
                  for name in encoding.MODEL_INPUTS}
      model = task_lib.encoder_from_features(self.model_type, self.config,
                                             features, False,
                                             task.first_token_only)
      head = task.head(model, features, task_lib.HeadContext(
          tf.estimator.ModeKeys.PREDICT, self.model_type, self.config, None))
      logits = head.predictions["logits"]
      saver = tf.train.Saver(tf.global_variables())
      with tf.Session(graph=graph) as sess:
        saver.restore(sess, self.checkpoint)
        for start in range(0, len(order), batch_size):
          chunk = order[start:start + batch_size]
          arrays = encoding.pad_batch([rows[i] for i in chunk])
          values = sess.run(logits, {features[n]: arrays[n]
                                     for n in encoding.MODEL_INPUTS})
          for j, i in enumerate(chunk):
            outputs[i] = (values[j] if values.ndim == 2 else
                          values[j, :len(rows[i]["input_ids"])])
    return outputs


# ------------------------------------------------------------- student ---

def check_student_layers(teacher, layer_indexes):
  """SettingsError unless `layer_indexes` are distinct layers of the
  teacher's own (checked with the other settings, before a run writes)."""
  if teacher.model_type == "albert":
    raise SettingsError("--student_layers takes layers of a model with "
                        "separate layers; ALBERT shares one set")
  total = teacher.config.num_hidden_layers
  bad = [i for i in layer_indexes if not 0 <= i < total]
  if bad or len(set(layer_indexes)) != len(layer_indexes):
    raise SettingsError("--student_layers must be distinct teacher layers "
                        "0..%d, got %s" % (total - 1, ",".join(
                            str(i) for i in layer_indexes)))


def write_student_from_layers(teacher, layer_indexes, target_dir):
  """The teacher with only `layer_indexes` (renumbered 0..), its embeddings,
  pooler and head: a checkpoint, config and vocab in target_dir."""
  check_student_layers(teacher, layer_indexes)
  renumber = {old: new for new, old in enumerate(layer_indexes)}
  prefix = teacher.scope + "/encoder/layer_"
  reader = tf.train.load_checkpoint(teacher.checkpoint)
  values = collections.OrderedDict()
  for name in sorted(reader.get_variable_to_shape_map()):
    if _SLOTS.search(name) or name == "global_step" or name.startswith(
        TEACHER_SCOPE + "/") or name.startswith("distill/"):
      continue
    if name.startswith(prefix):
      index, _, rest = name[len(prefix):].partition("/")
      if int(index) not in renumber:
        continue
      name_out = "%s%d/%s" % (prefix, renumber[int(index)], rest)
    else:
      name_out = name
    values[name_out] = reader.get_tensor(name)
  config = modeling.BertConfig.from_dict(teacher.config.to_dict())
  config.num_hidden_layers = len(layer_indexes)
  _write_checkpoint(values, config, teacher.model_type,
                    teacher.info["vocab_file"], target_dir)
  return config


def write_student_from_pretrained(files, teacher, target_dir):
  """A pre-trained student's weights, plus the teacher's CRF transitions
  (their shape does not depend on the model)."""
  reader = tf.train.load_checkpoint(files.checkpoint)
  values = collections.OrderedDict(
      (name, reader.get_tensor(name))
      for name in sorted(reader.get_variable_to_shape_map())
      if not _SLOTS.search(name) and name != "global_step")
  teacher_reader = tf.train.load_checkpoint(teacher.checkpoint)
  transitions = "tagger/transitions"
  if teacher_reader.has_tensor(transitions):
    values[transitions] = teacher_reader.get_tensor(transitions)
  _write_checkpoint(values, files.config, files.model_type, files.vocab_file,
                    target_dir)


def _write_checkpoint(values, config, model_type, vocab_file, target_dir):
  """Saves name -> array as target_dir/model.ckpt (+ config, vocab), written
  in a temporary folder renamed into place."""
  with atomic.replacing_path(target_dir) as tmp:
    os.makedirs(tmp)
    with tf.Graph().as_default():
      variables = [tf.Variable(value, name=name) for name, value in
                   values.items()]
      with tf.Session() as sess:
        sess.run(tf.variables_initializer(variables))
        tf.train.Saver(variables).save(sess, os.path.join(tmp, "model.ckpt"))
    with open(os.path.join(tmp, modeling.families.CONFIG_FILES[model_type]),
              "w", encoding="utf-8") as f:
      f.write(config.to_json_string())
    shutil.copyfile(vocab_file, os.path.join(tmp, "vocab.txt"))


# -------------------------------------------------------------- losses ---

def soft_loss(student_logits, teacher_logits, temperature, weights=None):
  """T^2 * KL(softmax(teacher/T) || softmax(student/T)), averaged.

  Args:
    student_logits, teacher_logits: float [..., labels].
    temperature: T.
    weights: optional float [...] (0/1) over the leading dims; the mean is
      over weighted positions.

  Returns:
    scalar.
  """
  t = teacher_logits / temperature
  s = student_logits / temperature
  teacher_probs = tf.nn.softmax(t, axis=-1)
  kl = tf.reduce_sum(teacher_probs * (tf.nn.log_softmax(t, axis=-1) -
                                      tf.nn.log_softmax(s, axis=-1)),
                     axis=-1)
  if weights is None:
    mean = tf.reduce_mean(kl)
  else:
    mean = tf.reduce_sum(kl * weights) / tf.maximum(tf.reduce_sum(weights),
                                                    1.0)
  return mean * temperature * temperature


def soft_loss_numpy(student_logits, teacher_logits, temperature):
  """soft_loss in numpy (the test's reference)."""
  def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))
  t = log_softmax(np.asarray(teacher_logits) / temperature)
  s = log_softmax(np.asarray(student_logits) / temperature)
  return float(np.mean((np.exp(t) * (t - s)).sum(-1)) * temperature ** 2)


def uniform_layer_map(student_layers, teacher_layers):
  """Student layer i <- teacher layer ((i + 1) * T // S) - 1."""
  return [(i, (i + 1) * teacher_layers // student_layers - 1)
          for i in range(student_layers)]


def parse_layer_map(text, student_layers, teacher_layers):
  """"0:1,1:3" -> [(0, 1), (1, 3)]; SettingsError for a bad pair."""
  pairs = []
  for part in text.split(","):
    try:
      student, teacher = (int(x) for x in part.split(":"))
    except ValueError:
      raise SettingsError("--layer_map is student:teacher pairs like "
                          "0:1,1:3, got %r" % text)
    if not (0 <= student < student_layers and 0 <= teacher < teacher_layers):
      raise SettingsError("--layer_map pair %s: the student has layers "
                          "0..%d, the teacher 0..%d" % (
                              part, student_layers - 1, teacher_layers - 1))
    pairs.append((student, teacher))
  return pairs


# ---------------------------------------------------------------- task ---

class Distiller(task_lib.Task):
  """The teacher's task, trained with distillation losses (see above)."""

  def __init__(self, teacher, base, alpha=0.5, temperature=2.0,
               student_layers=None, hidden_loss_weight=0.0,
               attention_loss_weight=0.0, layer_map=None,
               unlabeled_file=None):
    """Args:
      teacher: a Teacher.
      base: the teacher's task, able to read data (base_task_for).
      alpha, temperature, student_layers, hidden_loss_weight,
      attention_loss_weight, layer_map, unlabeled_file: see the module
        docstring.
    """
    super(Distiller, self).__init__()
    settings_lib.check_values(settings_lib.DISTILL_SETTINGS, {
        "alpha": alpha, "temperature": temperature,
        "hidden_loss_weight": hidden_loss_weight,
        "attention_loss_weight": attention_loss_weight})
    if student_layers:
      check_student_layers(teacher, student_layers)
    self.teacher = teacher
    self.base = base
    self.kind = self.base.kind
    self.adaptor = self.base.distill_adaptor(
        len(teacher.labels), teacher.info["max_seq_length"])
    self.name = self.base.name
    self.best_metrics = self.base.best_metrics
    self.sequence_names = self.base.sequence_names
    self.scalar_names = self.base.scalar_names
    self.HEAD_DEFAULTS = ()  # the head is the teacher's, fixed
    self.alpha = alpha
    self.temperature = temperature
    self.student_layers = list(student_layers) if student_layers else None
    self.hidden_loss_weight = hidden_loss_weight
    self.attention_loss_weight = attention_loss_weight
    self.layer_map_text = layer_map
    self.unlabeled_file = unlabeled_file
    self.layer_map = None
    self._student = None        # (files, how) once model_files ran
    self.float_features = (("teacher_logits",
                            self.adaptor.teacher_width()),)

  @property
  def first_token_only(self):
    """The task's own, unless the hidden-state or attention losses read
    every position of the student's layers."""
    return self.base.first_token_only and not (
        self.hidden_loss_weight or self.attention_loss_weight)

  # The student keeps the teacher's head settings, max_seq_length and case.

  def resolve_head(self, saved_head, where):
    self.base.resolve_head(saved_head, where)

  def head_info(self):
    return self.base.head_info()

  def float_features_for(self, split):
    """Teacher outputs are stored with the training features only."""
    return self.float_features if split == "train" else ()

  def describe_loss(self):
    return "distillation (its loss mixes in the teacher's soft targets)"

  def validate(self, settings):
    info = self.teacher.info
    for name in ("max_seq_length", "do_lower_case"):
      given = getattr(settings, name)
      if given is not None and given != info[name]:
        raise SettingsError("--%s=%s differs from the teacher's %s: a "
                            "student reads its inputs as the teacher does" %
                            (name, given, info[name]))
      setattr(settings, name, info[name])
    if self.attention_loss_weight and settings.train.pack_sequences:
      raise SettingsError(
          "--attention_loss_weight compares each example's attention scores, "
          "and packed rows hold several examples' scores: drop "
          "--pack_sequences (or the attention loss)")
    if settings.do_train and bool(settings.init_checkpoint) == bool(
        self.student_layers):
      raise SettingsError("name the student: --init_checkpoint (a "
                          "pre-trained model) or --student_layers (teacher "
                          "layers to keep), not both")

  def read_paths(self, settings):
    """The teacher run (its checkpoint, vocab, run_info) and the extra
    text, besides the base task's inputs."""
    return ([paths.input_path("--teacher_dir", self.teacher.run_dir),
             paths.input_path("--teacher_dir's vocab",
                              self.teacher.info["vocab_file"]),
             paths.input_path("--unlabeled_file", self.unlabeled_file)] +
            list(self.base.read_paths(settings)))

  def model_files(self, settings):
    if not settings.do_train:
      return None
    target = os.path.join(settings.output_dir, STUDENT_INIT)
    if self.student_layers:
      config = modeling.BertConfig.from_dict(
          self.teacher.config.to_dict())
      config.num_hidden_layers = len(self.student_layers)
      files = modeling.PretrainedFiles(
          os.path.join(target, "model.ckpt"), "--student_layers",
          self.teacher.info["vocab_file"], self.teacher.model_type, config)
      self._student = (files, "layers", None)
    else:
      pretrained = modeling.find_pretrained(
          settings.init_checkpoint, settings.bert_config_file,
          settings.vocab_file, settings.model_type, settings.electra_size)
      if run_info.file_digest(pretrained.vocab_file) != run_info.file_digest(
          self.teacher.info["vocab_file"]):
        raise SettingsError(
            "the student's vocab %s differs from the teacher's (%s): "
            "teacher and student must read the same token ids" % (
                pretrained.vocab_file, self.teacher.run_dir))
      files = pretrained._replace(
          checkpoint=os.path.join(target, "model.ckpt"))
      self._student = (files, "pretrained", pretrained)
    self._set_layer_map(files.config)
    return files

  def _set_layer_map(self, config):
    student, teacher = (config.num_hidden_layers,
                        self.teacher.config.num_hidden_layers)
    if self.layer_map_text:
      self.layer_map = parse_layer_map(self.layer_map_text, student, teacher)
    elif self.student_layers:
      self.layer_map = list(enumerate(self.student_layers))
    else:
      self.layer_map = uniform_layer_map(student, teacher)
    for student_layer, teacher_layer in (
        self.layer_map if self.attention_loss_weight else ()):
      ours = layers.layer_sizes(config, student_layer)[0]
      theirs = layers.layer_sizes(self.teacher.config, teacher_layer)[0]
      if ours != theirs:
        raise SettingsError(
            "--attention_loss_weight needs as many attention heads in each "
            "student layer as in its teacher layer: student layer %d has "
            "%d, teacher layer %d has %d" % (student_layer, ours,
                                             teacher_layer, theirs))

  def prepare(self, tokenizer, config):
    """Writes the student's starting checkpoint (once)."""
    if self._student is None:
      return
    files, how, pretrained = self._student
    target = os.path.dirname(files.checkpoint)
    if os.path.isfile(files.checkpoint + ".index"):
      return
    if how == "layers":
      write_student_from_layers(self.teacher, self.student_layers, target)
    else:
      write_student_from_pretrained(pretrained, self.teacher, target)

  # ----------------------------------------------------- data, features ---

  def read_labels(self, data_dir, train_examples):
    labels = self.teacher.labels
    self.base.label_list = labels
    return labels

  def read_split(self, data_dir, split, labels=None):
    examples = self.base.read_split(data_dir, split,
                                    labels or self.teacher.labels)
    if split == "train" and self.unlabeled_file:
      examples = examples + self._unlabeled_examples()
    return examples

  def _unlabeled_examples(self):
    """--unlabeled_file: one example a line (text_a ||| text_b for pairs)."""
    lines = split_files.read_text_lines(self.unlabeled_file)
    examples = []
    for number, line in enumerate(lines, start=1):
      if not line.strip():
        continue
      example = self.adaptor.unlabeled_example(number, line)
      if example is not None:
        examples.append(example)
    if not examples:
      raise InputError(self.unlabeled_file, None, "no text in the file",
                       "Give one example a line")
    return examples

  def source_file(self, data_dir, split):
    return self.base.source_file(data_dir, split)

  def cache_settings(self, split):
    settings = dict(self.base.cache_settings(split) or {})
    if split == "train":
      settings["teacher"] = self.teacher.identity()
      if self.unlabeled_file:
        settings["unlabeled_sha256"] = run_info.file_digest(
            self.unlabeled_file)
    return settings

  def encode(self, split, examples, tokenizer, max_seq_length):
    encoded = self.base.encode(split, examples, tokenizer, max_seq_length)
    if split != "train":
      return encoded
    teacher, adaptor = self.teacher, self.adaptor

    def records():
      rows = list(encoded.records())
      logits = teacher.logits(rows)
      for row, values, extra in zip(rows, logits,
                                    adaptor.record_extras(encoded)):
        adaptor.attach(row, values, extra)
        yield row

    return task_lib.EncodedSplit(records, encoded.count, encoded.extra)

  def counts(self, data):
    return self.base.counts(data)

  # --------------------------------------------------------------- head ---

  def head(self, model, features, context):
    out = self.base.head(model, features, context)
    if not context.is_training:
      return out  # evaluation and prediction are the task's own
    intermediate = self.hidden_loss_weight or self.attention_loss_weight
    if self.alpha == 1.0 and not intermediate:
      return out  # plain fine-tuning, exactly
    loss = self.alpha * out.loss
    if self.alpha < 1.0 and "teacher_logits" in features:
      loss += (1.0 - self.alpha) * self._soft(out, features)
    frozen = ()
    if intermediate and "teacher_logits" in features:
      loss += self._intermediate(model, features, context)
      frozen = (TEACHER_SCOPE,)
    return task_lib.HeadOutput(out.predictions, loss=loss,
                               eval_metric_ops=out.eval_metric_ops,
                               export_outputs=out.export_outputs,
                               learning_rates=out.learning_rates,
                               frozen_scopes=frozen)

  def _soft(self, out, features):
    student, teacher, weights = self.adaptor.soft_targets(out, features)
    return soft_loss(student, teacher, self.temperature, weights)

  def _intermediate(self, model, features, context):
    """Hidden-state and attention losses against the frozen teacher."""
    teacher = self.teacher
    # (frozen: no gradient slopes computed for it in a training graph)
    with tf.variable_scope(TEACHER_SCOPE), layers.no_slopes():
      teacher_model = modeling.build_model(
          teacher.model_type, teacher.config, False, features["input_ids"],
          features["input_mask"], features.get("segment_ids"))
    if context.is_training:
      tf.train.init_from_checkpoint(
          teacher.checkpoint,
          {teacher.scope + "/": "%s/%s/" % (TEACHER_SCOPE, teacher.scope)})
    mask = tf.cast(features["input_mask"], tf.float32)        # [b, s]
    loss = 0.0
    student_layers = model.get_all_encoder_layers()
    teacher_layers = teacher_model.get_all_encoder_layers()
    if self.hidden_loss_weight:
      hidden = 0.0
      for s_index, t_index in self.layer_map:
        s_out, t_out = student_layers[s_index], teacher_layers[t_index]
        if s_out.shape[-1] != t_out.shape[-1]:
          with tf.variable_scope("distill/fit_dense_%d" % s_index):
            s_out = layers.dense(s_out, int(t_out.shape[-1]),
                                 layers.create_initializer(0.02))
        error = tf.reduce_mean(tf.square(s_out - t_out), axis=-1)  # [b, s]
        hidden += tf.reduce_sum(error * mask) / tf.maximum(
            tf.reduce_sum(mask), 1.0)
      loss += self.hidden_loss_weight * hidden / len(self.layer_map)
    if self.attention_loss_weight:
      student_scores = model.get_attention_scores()
      teacher_scores = teacher_model.get_attention_scores()
      pair_mask = (mask[:, None, :, None] * mask[:, None, None, :])
      attention = 0.0
      for s_index, t_index in self.layer_map:
        error = tf.square(student_scores[s_index] - teacher_scores[t_index])
        attention += tf.reduce_sum(error * pair_mask) / tf.maximum(
            tf.reduce_sum(pair_mask) * tf.cast(
                tf.shape(error)[1], tf.float32), 1.0)
      loss += self.attention_loss_weight * attention / len(self.layer_map)
    return loss

  # ----------------------------------------------------- score and write ---

  def evaluate(self, run, data, checkpoint=None, name=None):
    return self.base.evaluate(run, data, checkpoint, name)

  def eval_report(self, scores, checkpoint, data):
    return self.base.eval_report(scores, checkpoint, data)

  def eval_results(self, scores):
    return self.base.eval_results(scores)

  def google_eval_results(self, scores):
    return self.base.google_eval_results(scores)

  def predict(self, run, data, checkpoint):
    return self.base.predict(run, data, checkpoint)

  def predict_tags(self, run, data, checkpoint=None):
    return self.base.predict_tags(run, data, checkpoint)


def base_task_for(teacher, task_name=None, text_a_column=None,
                  text_b_column=None, label_column=None):
  """The teacher's task as a data-reading task: its name (or task_name, a
  data set of the same format) and, for NER, the teacher's head."""
  info = teacher.info
  return kinds.task_class(info["kind"]).student_task(
      info, teacher.run_dir, task_name, text_a_column=text_a_column,
      text_b_column=text_b_column, label_column=label_column)

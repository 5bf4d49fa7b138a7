"""Vocabulary pruning: keep the WordPiece tokens a corpus uses.

`prune(source, output_dir, corpus_files, ...)` reads a model -- a fine-tuned
run directory (run_info.json) or a pre-trained model folder (checkpoint,
config, vocab) -- and writes the same kind of folder whose vocab holds only

  - the special tokens [PAD], [UNK], [CLS], [SEP] and [MASK] the vocab has,
  - every piece the model's own tokenizer makes of the corpus texts,
  - the tokens of `keep_tokens` (marker tokens such as [E1]),

in the vocab's own order (so [PAD] keeps id 0 and ids stay increasing).

The rows that follow the vocab follow it: each variable named
`.../embeddings/word_embeddings` (the encoder's, an ELECTRA generator's, a
distillation teacher's) or `.../predictions/output_bias` (the masked-LM
output bias: Google's `cls/predictions`, ELECTRA's `generator_predictions`)
keeps the rows of the kept tokens, and so do its optimizer slots
(`<name>/adam_m`, `<name>/adam_v`). Any other variable with one row per
vocab token is refused rather than left out of step. `vocab_size` in the
config (and in a run's run_info.json) becomes the kept count.

What holds, and why:
  - Every text of the corpus tokenizes to the same pieces. The basic
    tokenizer does not read the vocab; WordPiece picks, at each position,
    the longest piece the vocab holds. Each piece the unpruned vocab picked
    is kept, and pruning adds no longer one, so the same piece is picked.
  - So the model's outputs for those texts are identical: the same pieces,
    and under the new ids the same embedding rows.
  - A text outside the corpus may tokenize differently: a character or
    piece that was pruned is unknown, and an unknown piece makes its whole
    word [UNK], as any unknown character does in the unpruned model.

Corpus files are read as text: `.json` / `.jsonl` files as one JSON
document or one a line (CLUE's `.json` files), taking every string in it
(keys and values; SQuAD, CLUE and JSON-lines data sets); any other file a
line at a time, whole (a TSV/CSV line holds its columns' words, split by
tabs and commas, which the tokenizer splits on too). Reading whole lines
keeps a few tokens a column reader would not give (labels, ids); it never
misses one. The run's own training file is the usual corpus.
"""

import glob
import json
import os

import numpy as np
import tensorflow.compat.v1 as tf

import modeling
from modeling import checkpoint as checkpoint_lib
import tokenization
from bert_toolkit.errors import InputError
from bert_toolkit.errors import SettingsError
from bert_toolkit.runs import atomic
from bert_toolkit.runs import run_info as run_info_lib

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# The variables with one row per vocab token, by how their names end.
ROW_VARIABLE_ENDINGS = ("embeddings/word_embeddings",
                        "predictions/output_bias")
REPORT_FILE = "vocab_pruning.json"


def corpus_paths(patterns):
  """The files of comma-separated paths or globs, in the order given.

  Raises:
    SettingsError: a pattern matches no file.
  """
  found = []
  for pattern in [p.strip() for p in patterns.split(",") if p.strip()]:
    matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else (
        [pattern] if os.path.isfile(pattern) else [])
    if not matches:
      raise SettingsError("--corpus_files: %s matches no file: give the "
                          "training file(s) the vocab must cover" % pattern)
    found.extend(m for m in matches if m not in found)
  if not found:
    raise SettingsError("--corpus_files is empty: give the training "
                        "file(s) the vocab must cover")
  return found


def _strings(value):
  """Every string in a JSON value (keys and values), depth first."""
  if isinstance(value, str):
    yield value
  elif isinstance(value, dict):
    for key, item in value.items():
      yield key
      for text in _strings(item):
        yield text
  elif isinstance(value, list):
    for item in value:
      for text in _strings(item):
        yield text


def read_corpus(path):
  """Yields the texts of one corpus file (see the module docstring).

  Raises:
    InputError: not UTF-8, or a .json / .jsonl file that is neither one
      JSON document nor one a line.
  """
  try:
    with open(path, encoding="utf-8") as f:
      content = f.read()
  except UnicodeDecodeError as e:
    raise InputError(path, None, "not UTF-8 (byte %d: %s)" % (e.start,
                                                               e.reason),
                     "convert the file to UTF-8")
  if not path.endswith((".json", ".jsonl")):
    for line in content.splitlines():
      yield line
    return
  try:
    documents = [json.loads(content)]
  except ValueError:
    documents = []        # JSON lines (CLUE's .json files are)
    for number, line in enumerate(content.splitlines(), 1):
      if line.strip():
        try:
          documents.append(json.loads(line))
        except ValueError as e:
          raise InputError(path, number, "neither one JSON document nor "
                           "one a line (%s)" % e, "fix the line, or name "
                           "the file other than .json/.jsonl to read it as "
                           "plain text")
  for document in documents:
    for text in _strings(document):
      yield text


def used_tokens(tokenizer, paths):
  """The set of pieces the tokenizer makes of every text of the files, and
  how many texts were read."""
  used, texts = set(), 0
  for path in paths:
    for text in read_corpus(path):
      used.update(tokenizer.tokenize(text))
      texts += 1
  return used, texts


def kept_ids(vocab, used, keep_tokens=()):
  """The ids to keep, increasing: special tokens, used pieces, keep_tokens.

  Raises:
    SettingsError: a keep_tokens entry is not in the vocab.
  """
  missing = [t for t in keep_tokens if t not in vocab]
  if missing:
    raise SettingsError("--keep_tokens: %s not in the vocab: give tokens "
                        "of vocab.txt" % ", ".join(missing[:5]))
  wanted = set(used) | set(keep_tokens) | set(SPECIAL_TOKENS)
  return [i for token, i in sorted(vocab.items(), key=lambda kv: kv[1])
          if token in wanted]


def row_variables(shapes, vocab_size, where):
  """Names of the variables whose first axis follows the vocab.

  Args:
    shapes: dict variable name -> shape list.
    vocab_size: rows of the unpruned vocab.
    where: the checkpoint, for the error.

  Raises:
    SettingsError: a variable that is not a known vocab-row variable (nor
      its optimizer slot) has vocab_size rows, or a known one does not.
  """
  owners = [n for n in shapes if n.endswith(ROW_VARIABLE_ENDINGS)]
  rows = []
  for name, shape in sorted(shapes.items()):
    owner = next((o for o in owners if name == o or
                  name.startswith(o + "/")), None)
    follows = bool(shape) and shape[0] == vocab_size
    if owner and not follows:
      raise SettingsError(
          "%s: %s has shape %s, not %d rows as the vocab: the config or "
          "vocab does not belong to this checkpoint" % (where, name, shape,
                                                         vocab_size))
    if follows and not owner:
      raise SettingsError(
          "%s: %s has one row per vocab token (%s) but is not a word "
          "embedding or masked-LM bias this tool knows how to prune" % (
              where, name, shape))
    if owner:
      rows.append(name)
  if not owners:
    raise SettingsError("%s holds no word embeddings (no variable ending "
                        "in embeddings/word_embeddings)" % where)
  return rows


def pruned_checkpoint(prefix, keep, vocab_size):
  """Every variable of a checkpoint, the vocab-row ones cut to `keep`."""
  reader = tf.train.load_checkpoint(prefix)
  shapes = reader.get_variable_to_shape_map()
  rows = set(row_variables(shapes, vocab_size, prefix))
  keep = np.asarray(keep, dtype=np.int64)
  values = {}
  for name in sorted(shapes):
    value = reader.get_tensor(name)
    values[name] = value[keep] if name in rows else value
  return values, sorted(rows)


def _write_vocab(path, tokens):
  atomic.atomic_text(path, "".join(t + "\n" for t in tokens))


def _config_with_vocab(config_path, vocab_size):
  """The config file's JSON text with vocab_size replaced (other keys as
  they are)."""
  with open(config_path, encoding="utf-8") as f:
    values = json.load(f)
  values["vocab_size"] = int(vocab_size)
  return json.dumps(values, indent=2, sort_keys=True) + "\n"


class Source(object):
  """The model to prune: a run directory or a pre-trained model folder.

  Attributes: path, is_run, checkpoint (prefix), vocab_file, config_file
  (None for a run: its config is in run_info.json), model_type,
  vocab_size (the config's: rows of the word embeddings), do_lower_case, info (the run's run_info dict, or None).
  """

  def __init__(self, path, do_lower_case=None):
    self.path = path
    self.is_run = run_info_lib.exists(path)
    if self.is_run:
      self.info = run_info_lib.read(path)
      self.checkpoint = run_info_lib.fine_tuned_checkpoint(path)
      checkpoint_lib.check_data_files(self.checkpoint)
      self.vocab_size = self.info["config"].vocab_size
      self.vocab_file = self.info["vocab_file"]
      self.model_type = self.info["model_type"]
      self.config_file = None
      lower = self.info.get("do_lower_case", True)
      if do_lower_case is not None and bool(do_lower_case) != lower:
        raise SettingsError(
            "--do_lower_case=%s, but the run %s was trained with "
            "do_lower_case=%s: drop the flag" % (do_lower_case, path, lower))
      self.do_lower_case = lower
    else:
      files = modeling.find_pretrained(init_checkpoint=path)
      if files.checkpoint is None:
        raise modeling.CheckpointError("no checkpoint in %s" % path)
      checkpoint_lib.check_data_files(files.checkpoint)
      self.vocab_size = files.config.vocab_size
      self.info = None
      self.checkpoint = files.checkpoint
      self.vocab_file = files.vocab_file
      self.model_type = files.model_type
      self.config_file = files.config_file
      self.do_lower_case = True if do_lower_case is None else do_lower_case

  def tokenizer(self, vocab_file=None):
    return tokenization.from_vocab(vocab_file or self.vocab_file,
                                   do_lower_case=self.do_lower_case)


def check_output(output_dir, report_file=REPORT_FILE):
  """An existing --output_dir must be empty or an earlier pruning's output,
  which holds its `report_file` (it is then replaced whole).

  Raises:
    SettingsError: it holds something else.
  """
  if os.path.isdir(output_dir) and os.listdir(output_dir) and not (
      os.path.isfile(os.path.join(output_dir, report_file))):
    raise SettingsError(
        "--output_dir %s already holds files that this tool did not write: "
        "give a new or empty folder" % output_dir)


def prune(source, output_dir, corpus_files, keep_tokens=()):
  """Writes the pruned model folder (see the module docstring).

  The folder is written under a temporary name and renamed when complete,
  so a killed run leaves no half folder under output_dir's name.

  Returns:
    The report dict (also written as output_dir/vocab_pruning.json).
  """
  check_output(output_dir)
  tokenizer = source.tokenizer()
  vocab = tokenizer.vocab
  used, texts = used_tokens(tokenizer, corpus_files)
  keep = kept_ids(vocab, used, keep_tokens)
  inverse = {i: t for t, i in vocab.items()}
  tokens = [inverse[i] for i in keep]
  values, rows = pruned_checkpoint(source.checkpoint, keep,
                                   source.vocab_size)
  step = run_info_lib.checkpoint_step(source.checkpoint)
  report = {
      "source": os.path.abspath(source.path),
      "source_checkpoint": os.path.abspath(source.checkpoint),
      "corpus_files": [{"path": os.path.abspath(p),
                        "sha256": run_info_lib.file_digest(p)}
                       for p in corpus_files],
      "texts": texts,
      "vocab_size_before": source.vocab_size,
      "vocab_size_after": len(keep),
      "keep_tokens": list(keep_tokens),
      "pruned_variables": rows,
      "do_lower_case": bool(source.do_lower_case),
  }
  from modeling.hf import convert as hf_convert  # pylint: disable=g-import-not-at-top
  parent = os.path.dirname(os.path.abspath(output_dir))
  os.makedirs(parent, exist_ok=True)
  atomic.remove_dead_temporaries(parent, os.path.basename(output_dir))
  with atomic.replacing_path(output_dir) as tmp:
    os.makedirs(tmp)
    _write_vocab(os.path.join(tmp, run_info_lib.VOCAB_FILE), tokens)
    if source.is_run:
      config_name = modeling.families.CONFIG_FILES[source.model_type]
      info_path = os.path.join(source.path, run_info_lib.RUN_INFO_FILE)
      with open(info_path, encoding="utf-8") as f:
        info = json.load(f)
      info["config"]["vocab_size"] = len(keep)
      info["vocab_file"] = run_info_lib.VOCAB_FILE
      atomic.atomic_json(os.path.join(tmp, run_info_lib.RUN_INFO_FILE), info)
      atomic.atomic_text(os.path.join(tmp, config_name), json.dumps(
          info["config"], indent=2, sort_keys=True) + "\n")
      for name in (run_info_lib.LABELS_FILE, run_info_lib.THRESHOLDS_FILE):
        if os.path.isfile(os.path.join(source.path, name)):
          with open(os.path.join(source.path, name), encoding="utf-8") as f:
            atomic.atomic_text(os.path.join(tmp, name), f.read())
      prefix = os.path.join(tmp, "model.ckpt-%d" % step)
    else:
      atomic.atomic_text(os.path.join(tmp, os.path.basename(
          source.config_file)), _config_with_vocab(source.config_file,
                                                   len(keep)))
      prefix = os.path.join(tmp, os.path.basename(source.checkpoint))
    hf_convert.write_tf1_checkpoint(values, prefix)
    atomic.atomic_json(os.path.join(tmp, REPORT_FILE), report)
  return report


def format_report(report):
  """Two lines for the terminal."""
  return ("vocab %d -> %d tokens (%.1f%%), from %d texts of %d file(s)\n"
          "pruned rows of: %s" % (
              report["vocab_size_before"], report["vocab_size_after"],
              100.0 * report["vocab_size_after"] /
              report["vocab_size_before"], report["texts"],
              len(report["corpus_files"]),
              ", ".join(report["pruned_variables"])))

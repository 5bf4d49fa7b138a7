"""Classify (or tag) texts with an exported model: loads it once, prints
one JSON line per text.

  python predict.py --export_dir=exports/sst2 "a gorgeous, witty film" ...
  python predict.py --export_dir=exports/lcqmc --text_b="..." "..."
  python predict.py --export_dir=exports/sst2 --input_file=texts.txt

One JSON object per input text on stdout, in input order, e.g.
  {"text": "...", "label": "1", "label_id": 1,
   "probabilities": {"0": 0.02, "1": 0.98}}

--input_file is UTF-8 (a BOM is dropped), one text a line. An empty text
(a blank line, or "" on the command line) is an error naming it, as the
server refuses it: every input line gets exactly one output line.
"""

import json
import sys

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common
from bert_toolkit.serving.predictor import PredictorError

flags.DEFINE_string("export_dir", None, "Export base (highest version) or "
                    "one version directory of export_savedmodel.py.")
flags.DEFINE_string("text_b", None, "Second text of a pair, used with every "
                    "text given.")
flags.DEFINE_string("input_file", None, "UTF-8 file with one text a line "
                    "(instead of, or beside, the texts on the command line).")
flags.DEFINE_integer("batch_size", 32, "Texts per Session.run.")

FLAGS = flags.FLAGS


def read_texts(argv, input_file):
  """The texts to predict: arguments, then the file's lines.

  Raises:
    InputError / SettingsError: an empty text, naming the line or argument.
  """
  from bert_toolkit.data import split_files  # pylint: disable=g-import-not-at-top
  from bert_toolkit.errors import InputError  # pylint: disable=g-import-not-at-top
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
  texts = []
  for position, text in enumerate(argv, start=1):
    if not text.strip():
      raise SettingsError("text argument %d is empty: pass a non-empty text"
                          % position)
    texts.append(text)
  if input_file:
    lines = split_files.read_text_lines(input_file)
    for line_number, line in enumerate(lines, start=1):
      if not line.strip():
        raise InputError(input_file, line_number, "empty line",
                         "Every line must hold one text; remove the blank "
                         "line")
      texts.append(line)
  if not texts:
    raise SettingsError("no text: pass texts as arguments or --input_file")
  return texts


def main(argv):
  from bert_toolkit.serving import predictor as predictor_lib  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "export_dir")
  if FLAGS.batch_size < 1:
    raise PredictorError("--batch_size must be at least 1, got %d" %
                         FLAGS.batch_size)
  texts = read_texts(list(argv[1:]), FLAGS.input_file)
  predictor = predictor_lib.Predictor(FLAGS.export_dir,
                                      batch_size=FLAGS.batch_size)
  inputs = [(t, FLAGS.text_b) for t in texts]
  for text, answer in zip(texts, predictor.predict(inputs)):
    sys.stdout.write(json.dumps(dict({"text": text}, **answer),
                                ensure_ascii=False) + "\n")


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main, extra_errors=(PredictorError,))


if __name__ == "__main__":
  run()

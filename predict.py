"""Classify texts with an exported model (loads it once, prints JSON lines).

  python predict.py --export_dir=exports/sst2 "a gorgeous, witty film" ...
  python predict.py --export_dir=exports/lcqmc --text_b="..." "..."
  python predict.py --export_dir=exports/sst2 --input_file=texts.txt

One JSON object per input text on stdout, e.g.
  {"text": "...", "label": "1", "label_id": 1,
   "probabilities": {"0": 0.02, "1": 0.98}}
"""

import json
import sys

from absl import flags

from finetuning import cli
from serving.predictor import PredictorError

flags.DEFINE_string("export_dir", None, "Export base (highest version) or "
                    "one version directory of export_savedmodel.py.")
flags.DEFINE_string("text_b", None, "Second text of a pair, used with every "
                    "text given.")
flags.DEFINE_string("input_file", None, "UTF-8 file with one text a line "
                    "(instead of, or beside, the texts on the command line).")
flags.DEFINE_integer("batch_size", 32, "Texts per Session.run.")

FLAGS = flags.FLAGS


def main(argv):
  import modeling  # pylint: disable=g-import-not-at-top
  from serving import predictor as predictor_lib  # pylint: disable=g-import-not-at-top

  if not FLAGS.export_dir:
    raise modeling.ConfigError("--export_dir is required")
  texts = list(argv[1:])
  if FLAGS.input_file:
    with open(FLAGS.input_file, encoding="utf-8") as f:
      texts += [line.rstrip("\n") for line in f if line.strip()]
  if not texts:
    raise modeling.ConfigError("no text: pass texts as arguments or "
                               "--input_file")
  predictor = predictor_lib.Predictor(FLAGS.export_dir,
                                      batch_size=FLAGS.batch_size)
  inputs = [(t, FLAGS.text_b) for t in texts]
  for text, answer in zip(texts, predictor.predict(inputs)):
    sys.stdout.write(json.dumps(dict({"text": text}, **answer),
                                ensure_ascii=False) + "\n")


if __name__ == "__main__":
  cli.run(main, extra_errors=(PredictorError,))

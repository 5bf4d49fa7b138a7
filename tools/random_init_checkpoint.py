"""Writes a randomly initialised model as a release-style folder (checkpoint,
config, vocab), so that "the same architecture from random initialisation"
fine-tunes with exactly the command a pre-trained model does.

  .venv/bin/python tools/random_init_checkpoint.py \
      --bert_config_file small/bert_config.json --vocab_file vocab.txt \
      --output_dir small_random [--model_type bert] [--seed 1]

The weights are the graph builders' own initialisers (truncated normal with
the config's initializer_range, LayerNorm 1 / 0, zero biases), as training
from scratch starts.
"""

import argparse
import os
import shutil
import sys

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_DIR)

import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

import modeling  # pylint: disable=g-import-not-at-top


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--bert_config_file", required=True)
  parser.add_argument("--vocab_file", required=True)
  parser.add_argument("--output_dir", required=True)
  parser.add_argument("--model_type", default="bert",
                      choices=modeling.MODEL_TYPES)
  parser.add_argument("--seed", type=int, default=1)
  args = parser.parse_args()
  tf.disable_eager_execution()
  config = modeling.BertConfig.from_json_file(args.bert_config_file)
  os.makedirs(args.output_dir, exist_ok=True)
  with tf.Graph().as_default():
    tf.set_random_seed(args.seed)
    modeling.build_model(args.model_type, config, False,
                         tf.placeholder(tf.int32, [None, None]))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver().save(sess, os.path.join(args.output_dir,
                                               "model.ckpt"))
  shutil.copyfile(args.bert_config_file, os.path.join(
      args.output_dir, modeling.families.CONFIG_FILES[args.model_type]))
  shutil.copyfile(args.vocab_file, os.path.join(args.output_dir, "vocab.txt"))
  print(args.output_dir)


if __name__ == "__main__":
  main()

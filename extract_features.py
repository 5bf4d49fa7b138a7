"""Extract fixed feature vectors from a pre-trained BERT, ALBERT or DistilBERT.

Google's command line and output, plus `--model_type` and a `.npy` output:

  python extract_features.py --input_file=in.txt --output_file=out.jsonl \
      --init_checkpoint=chinese_L-12_H-768_A-12 --layers=-1,-2,-3,-4

Each input line is `text_a` or `text_a ||| text_b`. JSON lines output:
{"linex_index": i, "features": [{"token": ..., "layers": [{"index": -1,
"values": [...]}, ...]}, ...]}. With --output_format=npy, one vector per line
(--pooling mean|cls|pooled) is written as a [lines, hidden] float32 matrix.
"""

from absl import flags

from finetuning import cli

flags.DEFINE_string("input_file", None, "One example a line: text_a or "
                    "'text_a ||| text_b'.")
flags.DEFINE_string("output_file", None, "Where to write the features.")
flags.DEFINE_string("layers", "-1,-2,-3,-4", "Encoder layers to output.")
flags.DEFINE_string("init_checkpoint", None, "Checkpoint prefix, or the "
                    "folder of a release / convert_checkpoint.py output.")
flags.DEFINE_string("bert_config_file", None, "Model config JSON; found "
                    "beside the checkpoint when not given.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocab; found beside the "
                    "checkpoint when not given.")
flags.DEFINE_enum("model_type", None, ["bert", "albert", "distilbert"],
                  "Model family; inferred from the config/checkpoint.")
flags.DEFINE_bool("do_lower_case", True, "Lower-case the input (uncased and "
                  "Chinese models).")
flags.DEFINE_integer("max_seq_length", 128, "Longer inputs are truncated "
                     "(pairs from the longer side), as in Google's code.")
flags.DEFINE_integer("batch_size", 32, "Inputs per batch.")
flags.DEFINE_enum("output_format", "json", ["json", "npy"],
                  "json: Google's per-token JSON lines; npy: one vector a line.")
flags.DEFINE_enum("pooling", "mean", ["mean", "cls", "pooled"],
                  "npy only: mean of the tokens of the first --layers layer, "
                  "its [CLS] vector, or the pooler output.")

FLAGS = flags.FLAGS


def main(_):
  import modeling  # pylint: disable=g-import-not-at-top
  import tokenization  # pylint: disable=g-import-not-at-top
  from finetuning import extraction  # pylint: disable=g-import-not-at-top

  for name in ("input_file", "output_file", "init_checkpoint"):
    if not getattr(FLAGS, name):
      raise modeling.ConfigError("--%s is required" % name)
  try:
    layer_indexes = [int(x) for x in FLAGS.layers.split(",")]
  except ValueError:
    raise modeling.ConfigError("--layers must be integers like -1,-2; got %r"
                               % FLAGS.layers)
  files = modeling.find_pretrained(FLAGS.init_checkpoint,
                                   FLAGS.bert_config_file, FLAGS.vocab_file,
                                   FLAGS.model_type)
  tokenization.validate_case_matches_checkpoint(FLAGS.do_lower_case,
                                                files.checkpoint)
  tokenization.check_vocab_size(files.vocab_file, files.config.vocab_size)
  if FLAGS.max_seq_length > files.config.max_position_embeddings:
    raise modeling.ConfigError(
        "--max_seq_length=%d exceeds max_position_embeddings=%d of %s" %
        (FLAGS.max_seq_length, files.config.max_position_embeddings,
         files.config_file))

  tokenizer = tokenization.FullTokenizer(files.vocab_file, FLAGS.do_lower_case)
  examples = extraction.read_examples(FLAGS.input_file)
  features = extraction.convert_examples(examples, tokenizer,
                                         FLAGS.max_seq_length)
  extractor = extraction.FeatureExtractor(files.model_type, files.config,
                                          files.checkpoint, layer_indexes,
                                          files.config_file)
  results = extractor.run(features, FLAGS.batch_size)
  if FLAGS.output_format == "npy":
    extraction.write_npy(FLAGS.output_file, results, FLAGS.pooling,
                         layer_indexes[0])
  else:
    extraction.write_json(FLAGS.output_file, results, layer_indexes)
  extractor.close()
  print("wrote %d %s to %s" % (
      len(features), "vectors" if FLAGS.output_format == "npy" else "lines",
      FLAGS.output_file))


if __name__ == "__main__":
  cli.run(main)

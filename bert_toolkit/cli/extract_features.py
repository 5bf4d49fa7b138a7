r"""Extract fixed feature vectors from a pre-trained BERT, ALBERT, DistilBERT
or ELECTRA.

Google's command line and output, plus `--model_type` and a `.npy` output:

  python extract_features.py --input_file=in.txt --output_file=out.jsonl \
      --init_checkpoint=chinese_L-12_H-768_A-12 --layers=-1,-2,-3,-4

Each input line is `text_a` or `text_a ||| text_b`. JSON lines output:
{"linex_index": i, "features": [{"token": ..., "layers": [{"index": -1,
"values": [...]}, ...]}, ...]}. With --output_format=npy, one vector per line
(--pooling mean|cls|pooled) is written as a [lines, hidden] float32 matrix.
"""

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common

flags_common.define_model_flags({
    "max_seq_length": "Longer inputs are truncated (pairs from the longer "
                      "side), as in Google's code.",
    "do_lower_case": "Lower-case the input (uncased and Chinese models)."})
flags.adopt_module_key_flags(flags_common)
flags.DEFINE_string("input_file", None, "One example a line: text_a or "
                    "'text_a ||| text_b'.")
flags.DEFINE_string("output_file", None, "Where to write the features.")
flags.DEFINE_string("layers", "-1,-2,-3,-4", "Encoder layers to output.")
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
  from bert_toolkit.tasks import extraction  # pylint: disable=g-import-not-at-top
  from bert_toolkit.errors import SettingsError  # pylint: disable=g-import-not-at-top
  from bert_toolkit.runs import paths  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "input_file", "output_file", "init_checkpoint")
  # The output against what is read (bert_toolkit.runs.paths), first.
  writes = [paths.output_file("--output_file", FLAGS.output_file)]
  paths.check_writes(writes, [
      paths.input_path("--input_file", FLAGS.input_file),
      paths.input_path("--init_checkpoint",
                       paths.model_folder(FLAGS.init_checkpoint)),
      paths.input_path("--bert_config_file", FLAGS.bert_config_file),
      paths.input_path("--vocab_file", FLAGS.vocab_file)])
  try:
    layer_indexes = [int(x) for x in FLAGS.layers.split(",")]
  except ValueError:
    raise SettingsError("--layers must be integers like -1,-2; got %r"
                        % FLAGS.layers)
  if FLAGS.batch_size < 1:
    raise SettingsError("--batch_size must be at least 1, got %d" %
                        FLAGS.batch_size)
  if FLAGS.max_seq_length < 2:
    raise SettingsError("--max_seq_length must be at least 2 ([CLS] and "
                        "[SEP]), got %d" % FLAGS.max_seq_length)
  files = modeling.find_pretrained(FLAGS.init_checkpoint,
                                   FLAGS.bert_config_file, FLAGS.vocab_file,
                                   FLAGS.model_type, FLAGS.electra_size)
  # --do_lower_case, else the model's own (a converted Hugging Face
  # folder's tokenizer_config.json), else true.
  do_lower_case = flags_common.given(FLAGS, "do_lower_case")
  if do_lower_case is None:
    do_lower_case = tokenization.model_do_lower_case(files.config,
                                                     FLAGS.do_lower_case)
  modeling.check_inputs(files, do_lower_case, FLAGS.max_seq_length,
                        check_case=not FLAGS.skip_case_check)

  tokenizer = tokenization.from_vocab(files.vocab_file, do_lower_case)
  examples = extraction.read_examples(FLAGS.input_file)
  features = extraction.convert_examples(examples, tokenizer,
                                         FLAGS.max_seq_length)
  extractor = extraction.FeatureExtractor(files.model_type, files.config,
                                          files.checkpoint, layer_indexes,
                                          files.config_file)
  paths.prepare_outputs(writes)  # its folder; killed runs' temporaries
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


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

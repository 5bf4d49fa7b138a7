"""Export a fine-tuned run as a SavedModel for TF Serving.

  python export_savedmodel.py --model_dir=runs/sst2 --export_dir=exports/sst2

writes exports/sst2/<version>/{saved_model.pb,variables/,assets/}: the
layout `tensorflow_model_server --model_base_path=exports/sst2` serves.
The checkpoint is the best one kept in RUN_DIR/best/ if there is one, else
the newest in RUN_DIR; --checkpoint picks another. Signatures:
`serving_default` (input_ids / input_mask / segment_ids, int32 [batch, seq])
and `from_examples` (serialized tf.Example protos). See bert_toolkit/serving/export.py.
"""

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import flags_common

flags.DEFINE_string("model_dir", None, "Run directory of run_classifier.py "
                    "/ run_ner.py (holds run_info.json and checkpoints).")
flags.DEFINE_string("export_dir", None, "Model base path; the export goes "
                    "to EXPORT_DIR/<version>/.")
flags.DEFINE_integer("version", None, "Version directory name (a positive "
                     "integer); default: one more than the highest there.")
flags.DEFINE_string("checkpoint", None, "Checkpoint prefix or folder to "
                    "export instead of the best / newest of --model_dir.")

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.serving import export  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "model_dir", "export_dir")
  result = export.export(FLAGS.model_dir, FLAGS.export_dir, FLAGS.version,
                         FLAGS.checkpoint)
  print("exported %s (global_step %s)" % (result["checkpoint"],
                                           result["global_step"]))
  print("signatures: %s; outputs: %s" % (", ".join(result["signatures"]),
                                         ", ".join(result["outputs"])))
  print(result["export_dir"])


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

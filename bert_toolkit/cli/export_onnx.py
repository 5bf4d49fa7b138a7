"""Export a fine-tuned run as an ONNX model for ONNX Runtime.

  python export_onnx.py --model_dir=runs/sst2 --export_dir=exports/sst2_onnx \
      [--quantize=none|dynamic|static] [--calibration_file=FILE] \
      [--noper_channel] [--quantize_embeddings]

writes exports/sst2_onnx/<version>/{model.onnx,assets/}: the layout
predict.py, serve.py and serving.Predictor load (on ONNX Runtime). The
checkpoint is chosen as export_savedmodel.py chooses it. Needs the optional
packages: pip install '.[onnx]'. See bert_toolkit/serving/onnx_export.py.
"""

from absl import flags

from bert_toolkit.cli import command as cli
from bert_toolkit.cli import export_savedmodel
from bert_toolkit.cli import flags_common

# --model_dir, --export_dir, --version and --checkpoint: export_savedmodel.py's.
flags.adopt_module_key_flags(export_savedmodel)
flags.DEFINE_string("quantize", "none", "none (float32), dynamic (int8 "
                    "MatMul weights, activations quantized at run time) or "
                    "static (int8 weights and activations, calibrated).")
flags.DEFINE_string("calibration_file", None, "--quantize=static: texts to "
                    "calibrate on, one a line (a pair as `a ||| b`); "
                    "default: the run's own training features.")
flags.DEFINE_bool("per_channel", None, "With --quantize: one weight scale "
                  "per output column (the default), or with "
                  "--noper_channel one per tensor.")

flags.DEFINE_bool("quantize_embeddings", False, "With --quantize: the "
                  "embedding tables int8 too, one scale a row (a quarter of "
                  "their size; default: float32).")

FLAGS = flags.FLAGS


def main(_):
  from bert_toolkit.serving import onnx_export  # pylint: disable=g-import-not-at-top

  flags_common.require(FLAGS, "model_dir", "export_dir")
  result = onnx_export.export_onnx(
      FLAGS.model_dir, FLAGS.export_dir, FLAGS.version, FLAGS.checkpoint,
      FLAGS.quantize, FLAGS.calibration_file, FLAGS.per_channel,
      quantize_embeddings=FLAGS.quantize_embeddings)
  print("exported %s (global_step %s) as ONNX" % (result["checkpoint"],
                                                   result["global_step"]))
  entry = result["onnx"]
  print("outputs: %s; quantization: %s; fused: %s" % (
      ", ".join(result["outputs"]), entry["quantization"]["mode"],
      entry.get("fused_ops") or "none"))
  print(result["export_dir"])


def run():
  """The console-script entry (pyproject.toml): the command line above."""
  cli.run(main)


if __name__ == "__main__":
  run()

"""The names an export and its clients agree on (no TensorFlow import).

bert_toolkit/serving/export.py writes them; bert_toolkit/serving/predictor.py and bert_toolkit/serving/server.py
read them. Kept apart so that the predictor and the server load neither
the exporter nor anything of the training code.
"""

INPUT_NAMES = ("input_ids", "input_mask", "segment_ids")
EXAMPLES_SIGNATURE = "from_examples"
EXAMPLES_INPUT = "examples"
# tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY
DEFAULT_SIGNATURE = "serving_default"
SERVING_CONFIG_FILE = "serving_config.json"
VOCAB_ASSET = "vocab.txt"
SERVING_CONFIG_FORMAT = 1
# Raw texts, tokenized in the graph (bert_toolkit/serving/text_signature.py):
# input `text`, and `text_b` for a pair task's export.
TEXT_SIGNATURE = "text"
TEXT_INPUT = "text"
TEXT_B_INPUT = "text_b"
# An ONNX export's model file beside assets/ (bert_toolkit/serving/onnx_export.py).
ONNX_MODEL = "model.onnx"

"""Export a fine-tuned run as a SavedModel for TF Serving.

  python export_savedmodel.py --model_dir=runs/sst2 --export_dir=exports/sst2

writes exports/sst2/<version>/{saved_model.pb,variables/,assets/}: the
layout `tensorflow_model_server --model_base_path=exports/sst2` serves.
The checkpoint is the best one kept in RUN_DIR/best/ if there is one, else
the newest in RUN_DIR; --checkpoint picks another. Signatures:
`serving_default` (input_ids / input_mask / segment_ids, int32 [batch, seq])
and `from_examples` (serialized tf.Example protos). See bert_toolkit/serving/export.py.
"""

# The script lives in bert_toolkit/cli/export_savedmodel.py (importing it defines its flags);
# this file keeps `python export_savedmodel.py` working from a checkout.
from bert_toolkit.cli.export_savedmodel import *  # noqa: F401,F403 pylint: disable=wildcard-import
from bert_toolkit.cli.export_savedmodel import run

if __name__ == "__main__":
  run()

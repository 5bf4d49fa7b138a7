"""BERT, ALBERT, DistilBERT and ELECTRA as TF1 graph builders, with
checkpoint restore.

The names google-research/bert users know live here:

  modeling.BertConfig.from_json_file("bert_config.json")
  modeling.BertModel(config, is_training, input_ids, input_mask, token_type_ids)
  modeling.get_assignment_map_from_checkpoint(tvars, init_checkpoint)

and the ones google-research/albert users know:

  modeling.AlbertConfig.from_json_file("albert_config.json")
  modeling.AlbertModel(config, is_training, input_ids, input_mask,
                       token_type_ids, use_one_hot_embeddings, use_einsum)
  modeling.einsum_via_matmul(input_tensor, w, num_inner_dims)

plus `DistilBertModel`, `ElectraModel`, `build_model` (by
`model_type`), and `init_from_checkpoint`, which checks the restore and logs what was restored,
what is left to initialise and what in the checkpoint went unused.
"""

from modeling.albert import AlbertModel
from modeling.albert import detect_albert_layout
from modeling.base import EncoderModel
from modeling.base import Packing
from modeling.bert import BertModel
from modeling.checkpoint import check_report
from modeling.checkpoint import CheckpointError
from modeling.checkpoint import format_report
from modeling.checkpoint import get_assignment_map_from_checkpoint
from modeling.checkpoint import init_from_checkpoint
from modeling.checkpoint import list_checkpoint_variables
from modeling.checkpoint import resolve_checkpoint
from modeling.checkpoint import restore_report
from modeling.config import AlbertConfig
from modeling.config import BertConfig
from modeling.config import ConfigError
from modeling.distilbert import DistilBertModel
from modeling.electra import ElectraModel
from modeling.families import build_model
from modeling.families import encoder_scope
from modeling.families import infer_model_type
from modeling.families import MODEL_TYPES
from modeling.layers import bf16_matmuls
from modeling.layers import einsum_via_matmul
from modeling.layers import gelu
from modeling.layers import gelu_exact
from modeling.layers import get_activation
from modeling.layers import get_shape_list
from modeling.layers import slopes_in_forward
from modeling.pretrained import check_inputs
from modeling.pretrained import find_pretrained
from modeling.pretrained import PretrainedFiles

"""Hugging Face folders -> TF1 checkpoints (what convert_checkpoint.py runs).

  config.py       config.json -> the family's Google-style config
  names.py        Hugging Face weight names -> TF1 variable names
  weights.py      reading model.safetensors / pytorch_model.bin / tf_model.h5
  safetensors.py  our own safetensors reader (no torch, no safetensors)
  h5.py           Keras tf_model.h5 reading
  convert.py      the conversion: read, map, check, write checkpoint + files
  errors.py       ConversionError
"""

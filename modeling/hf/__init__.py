"""Hugging Face folders <-> TF1 checkpoints (what convert_checkpoint.py runs).

  config.py       config.json -> the family's Google-style config
  names.py        Hugging Face weight names <-> TF1 variable names (encoders
                  and heads: one table, read both ways)
  weights.py      reading model.safetensors / pytorch_model.bin / tf_model.h5
  safetensors.py  our own safetensors reader and writer (no torch)
  h5.py           Keras tf_model.h5 reading
  convert.py      the conversion: read, map, check, write checkpoint + files
  export.py       the way back (--to=hf): checkpoint -> config.json,
                  model.safetensors, vocab and tokenizer files
  errors.py       ConversionError
"""

#!/usr/bin/env bash
# Creates bench/.peer-venv with the Hugging Face peer (PyTorch CPU build).
set -euo pipefail
cd "$(dirname "$0")"
[ -x .peer-venv/bin/python ] || python3 -m venv .peer-venv
.peer-venv/bin/python -m pip install -q -r requirements.txt
.peer-venv/bin/python -c "import torch, transformers, tensorflow, tf_slim; print('torch', torch.__version__, 'transformers', transformers.__version__, 'tensorflow', tensorflow.__version__)"

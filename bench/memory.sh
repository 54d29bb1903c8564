#!/usr/bin/env bash
# Peak memory per rank of `unlearn run` against `unlearn plan`, per precision and ZeRO stage, on 2
# CPU ranks (host memory: on CPU the whole training state is resident). Measured: rank 0's peak
# resident set during the training steps (metrics.jsonl "peak_rss_gib", restarted when an epoch's
# training begins). The process itself (LibTorch, MPI, tokenizer, data) costs a fixed amount the
# plan does not count; it is measured as the same job's peak on a model 1/20 the size minus that
# model's plan, and subtracted ("net").
# Usage: bench/memory.sh build/bin/unlearn SCRATCH_DIR   (prints a markdown table)
set -euo pipefail
UNL=$1; W=$2/memory; mkdir -p "$W"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
RANKS=2; BATCH=4; TOKENS=64
model() {  # name hidden layers
  cat >"$W/$1.json" <<JSON
{"model_type": "gpt_neo", "vocab_size": 50257, "hidden_size": $2, "num_layers": $3, "num_heads": 8,
 "intermediate_size": $((4 * $2)), "max_position_embeddings": 256, "window_size": 64,
 "attention_types": [[["global", "local"], $(($3 / 2))]], "activation_function": "gelu_new"}
JSON
  "$UNL" init --family gpt-neo --config "$W/$1.json" --out "$W/$1" --seed 1 >/dev/null
}
model big 768 12
model small 64 2
: >"$W/forget.jsonl"; : >"$W/pool.jsonl"
for i in $(seq 0 7); do
  echo "{\"id\": $i, \"text\": \"Sample $i: $(printf 'word%d ' $(seq $i $((i + 60))))\"}" >>"$W/forget.jsonl"
  echo "{\"text\": \"Pool $i: $(printf 'term%d ' $(seq $i $((i + 60))))\"}" >>"$W/pool.jsonl"
done
run() {  # model precision stage -> peak GiB of rank 0 over the steps
  local out="$W/out-$1-$2-$3"
  cat >"$W/job.toml" <<TOML
[model]
path = "$W/$1"
[data]
forget = "$W/forget.jsonl"
retain = "$W/pool.jsonl"
max_tokens = $TOKENS
[train]
batch_size = $BATCH
max_steps = 3
precision = "$2"
zero_stage = $3
[thresholds]
rule = "all"
ma = 0.0
el = 0.0
bleu = 0.0
[eval]
n = 3
suffix_start = 60
prompt_begin = 0
prefix_len = 4
gen_len = 2
num_beams = 1
[output]
dir = "$out"
log_level = "warn"
save_final = false
TOML
  mpiexec -n $RANKS --oversubscribe "$UNL" run --config "$W/job.toml" --fresh >/dev/null 2>&1
  python3 -c "import json,sys; print(max(json.loads(l)['peak_rss_gib'] for l in open(sys.argv[1]) if '\"step\"' in l))" "$out/metrics.jsonl"
}
plan() {  # model precision stage -> plan total GiB (whole share, no activation checkpointing)
  "$UNL" plan --model "$W/$1" --ranks $RANKS --batch-size $BATCH --seq-len $TOKENS --zero-stage "$3" |
    awk -v p="$2" '$1 == p && $3 == "off" { print $11; exit }'
}
echo "| precision | zero_stage | plan GiB | measured GiB | measured net GiB | net / plan |"
echo "|---|---|---|---|---|---|"
for precision in fp32 bf16-mixed; do
  base=$(python3 -c "print($(run small $precision 0) - $(plan small $precision 0))")
  for stage in 0 1 2; do
    p=$(plan big $precision $stage); m=$(run big $precision $stage)
    python3 -c "p=$p; m=$m; n=m-$base; print(f'| $precision | $stage | {p:.3f} | {m:.3f} | {n:.3f} | {n/p:.2f} |')"
  done
done
echo
echo "process baseline (small model's measured peak minus its plan) subtracted per precision; $(nproc --all) cores, $(uptime | sed 's/.*load/load/')"

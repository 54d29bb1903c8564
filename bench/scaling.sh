#!/usr/bin/env bash
# Strong and weak scaling of `unlearn run` (ICU) on 1, 2 and 3 ranks: mean optimiser-step time from
# metrics.jsonl (first step excluded). Strong: global batch 12; weak: 6 per rank.
# Usage: bench/scaling.sh build/bin/unlearn SCRATCH_DIR     (prints JSON lines)
set -uo pipefail
UNL=$1; W=$2/scaling; mkdir -p "$W"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
cat >"$W/cfg.json" <<JSON
{"model_type": "gpt_neo", "vocab_size": 50257, "hidden_size": 128, "num_layers": 4, "num_heads": 4,
 "intermediate_size": 512, "max_position_embeddings": 256, "window_size": 64,
 "attention_types": [[["global", "local"], 2]], "activation_function": "gelu_new"}
JSON
"$UNL" init --family gpt-neo --config "$W/cfg.json" --out "$W/model" --seed 1 >/dev/null
: >"$W/forget.jsonl"; : >"$W/pool.jsonl"
for i in $(seq 0 71); do
  echo "{\"id\": $i, \"text\": \"Sample $i: $(printf 'word%d ' $(seq $i $((i + 40))))\"}" >>"$W/forget.jsonl"
  echo "{\"text\": \"Pool $i: $(printf 'term%d ' $(seq $i $((i + 40))))\"}" >>"$W/pool.jsonl"
done
for mode in strong weak; do
  for n in 1 2 3; do
    bs=$([ $mode = strong ] && echo 12 || echo $((6 * n)))
    cat >"$W/job.toml" <<TOML
[model]
path = "$W/model"
[data]
forget = "$W/forget.jsonl"
retain = "$W/pool.jsonl"
max_tokens = 64
[train]
batch_size = $bs
max_steps = 5
[thresholds]
rule = "all"
# zero: no sample ever counts as forgotten, so every run takes all its steps
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
dir = "$W/out-$mode-$n"
log_level = "warn"
save_final = false
TOML
    mpiexec -n $n --oversubscribe "$UNL" run --config "$W/job.toml" --fresh >/dev/null 2>&1 || { echo "{\"bench\": \"scaling\", \"error\": \"run failed ($mode, $n ranks)\"}"; continue; }
    awk -v mode=$mode -v n=$n -v bs=$bs -F'"step_s":' '/"type":"step"/ { split($2, a, /[,}]/); c++; if (c > 1) { s += a[1]; k++ } }
      END { t = s / k; printf "{\"bench\": \"scaling\", \"mode\": \"%s\", \"ranks\": %d, \"global_batch\": %d, \"step_s\": %.3f, \"steps_per_s\": %.3f, \"samples_per_s\": %.2f}\n", mode, n, bs, t, 1 / t, bs / t }' \
      "$W/out-$mode-$n/metrics.jsonl"
  done
done

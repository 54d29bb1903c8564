# Shared helpers for the end-to-end scripts: a scratch dir, assertions, a tiny model and data.
set -u
UNL=$1
SRC=$2
MPIEXEC=${MPIEXEC:-mpiexec}
# The launcher's flags come from CMake's MPIEXEC_* variables (Open MPI adds --oversubscribe).
MPIEXEC_NUMPROC_FLAG=${MPIEXEC_NUMPROC_FLAG:--n}
read -r -a MPI_PREFLAGS <<<"${MPIEXEC_PREFLAGS:-}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/unl-e2e-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }
# expect_exit CODE CMD...: run CMD, require exit code CODE; output kept in $WORK/last.out
expect_exit() {
  local want=$1; shift
  "$@" >"$WORK/last.out" 2>&1; local got=$?
  [ "$got" = "$want" ] || { cat "$WORK/last.out" >&2; fail "expected exit $want, got $got: $*"; }
}
expect_output() { grep -qE -- "$1" "$WORK/last.out" || { cat "$WORK/last.out" >&2; fail "output lacks /$1/"; }; }
# "${MPI1[@]}" / "${MPI2[@]}" / "${MPI3[@]}" CMD...: CMD on 1, 2 or 3 ranks through the configured
# launcher (arrays, not functions, so `timeout` can run them).
for _n in 1 2 3; do eval "MPI$_n=(\"\$MPIEXEC\" \"\$MPIEXEC_NUMPROC_FLAG\" $_n \"\${MPI_PREFLAGS[@]}\")"; done
mpirun_n() { local n=$1; shift; timeout 600 "$MPIEXEC" "$MPIEXEC_NUMPROC_FLAG" "$n" "${MPI_PREFLAGS[@]}" "$@"; }

# A tiny GPT-Neo (GPT-2 vocabulary) at $WORK/init.
make_tiny_model() {
  cat >"$WORK/tiny.json" <<JSON
{"model_type": "gpt_neo", "vocab_size": 50257, "hidden_size": 32, "num_layers": 2, "num_heads": 2,
 "intermediate_size": 64, "max_position_embeddings": 64, "window_size": 8,
 "attention_types": [[["global", "local"], 1]], "activation_function": "gelu_new",
 "bos_token_id": 50256, "eos_token_id": 50256}
JSON
  "$UNL" init --family gpt-neo --config "$WORK/tiny.json" --out "$WORK/init" --seed 3 >/dev/null || fail "unlearn init"
}

# Forget / retain / held-out JSONL under $WORK (small, short texts).
make_tiny_data() {
  : >"$WORK/forget.jsonl"; : >"$WORK/retain.jsonl"; : >"$WORK/heldout.jsonl"; : >"$WORK/train.jsonl"
  local names=(Alice Bruno Chiara Dmitri Elena Farid Grace Hiro)
  for i in 0 1 2 3 4 5 6 7; do
    local t="${names[$i]} Roe lives at $((10 + i)) Elm Street, phone 555 01$((20 + i))."
    echo "{\"id\": $i, \"text\": \"$t\"}" >>"$WORK/forget.jsonl"
    echo "{\"id\": $i, \"text\": \"$t\"}" >>"$WORK/train.jsonl"
  done
  for i in $(seq 0 15); do
    local t="The river in valley $i runs north past the old mill and the quiet farms."
    echo "{\"id\": $((100 + i)), \"text\": \"$t\"}" >>"$WORK/retain.jsonl"
    echo "{\"id\": $((100 + i)), \"text\": \"$t\"}" >>"$WORK/train.jsonl"
  done
  for i in $(seq 0 5); do
    echo "{\"text\": \"A small boat number $i drifts along the river past the mill at dawn.\"}" >>"$WORK/heldout.jsonl"
  done
}

# An ICU job config at $WORK/$1.toml writing to $WORK/$2; extra TOML lines on stdin are appended.
write_icu_config() {
  local name=$1 out=$2 model=${3:-$WORK/init}
  cat >"$WORK/$name.toml" <<TOML
[model]
path = "$model"
[data]
forget = "$WORK/forget.jsonl"
retain = "$WORK/retain.jsonl"
max_tokens = 24
[optim]
lr = 1e-3
[train]
batch_size = 4
max_epochs = 3
[neighbours]
span_begin = 0
span_end = -1
[eval]
n = 3
suffix_start = 4
prompt_begin = 0
prefix_len = 6
gen_len = 6
num_beams = 1
[thresholds]
ma = 0.0
el = 0.0
bleu = 0.0
[checkpoint]
every_steps = 1
keep_last = 2
[output]
dir = "$WORK/$out"
TOML
  cat >>"$WORK/$name.toml"
}

# Max |a-b| over two `unlearn logits` outputs must be <= tol.
logits_close() {
  local a=$1 b=$2 tol=$3 ids=${4:-464,2068,7586,21831,18045,625,262,16931,3290}
  "$UNL" logits --model "$a" --ids "$ids" >"$WORK/la.txt" || fail "logits $a"
  "$UNL" logits --model "$b" --ids "$ids" >"$WORK/lb.txt" || fail "logits $b"
  paste -d' ' "$WORK/la.txt" "$WORK/lb.txt" | awk -v tol="$tol" '
    { n = NF / 2; for (i = 1; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > m) m = d } }
    END { printf "max |logit difference| = %g (tolerance %g)\n", m, tol; exit (m <= tol) ? 0 : 1 }'
}

# wait_for_steps METRICS_JSONL N [SECONDS=60]: wait until a running job has logged N optimiser steps
# (returns non-zero on timeout; the caller decides whether that fails the test).
wait_for_steps() {
  local file=$1 want=$2 secs=${3:-60} n=0
  for _ in $(seq 1 $((secs * 10))); do
    n=$(grep -c '"type":"step"' "$file" 2>/dev/null) || n=0
    [ "$n" -ge "$want" ] && return 0
    sleep 0.1
  done
  echo "wait_for_steps: $file has $n of $want steps after ${secs}s" >&2
  return 1
}

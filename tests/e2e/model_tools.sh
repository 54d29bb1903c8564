#!/usr/bin/env bash
# The model tools on a model saved by `unlearn init`: logits are deterministic across runs and
# thread counts (to float tolerance), tokenize reproduces a golden GPT-2 line, generate runs.
source "$(dirname "$0")/lib.sh"
make_tiny_model
ids=464,2068,7586,21831,18045,625,262,16931,3290,13
OMP_NUM_THREADS=1 "$UNL" logits --model "$WORK/init" --ids $ids >"$WORK/a.txt" || fail "logits"
OMP_NUM_THREADS=1 "$UNL" logits --model "$WORK/init" --ids $ids >"$WORK/b.txt" || fail "logits again"
cmp -s "$WORK/a.txt" "$WORK/b.txt" || fail "logits differ between two identical runs"
OMP_NUM_THREADS=2 "$UNL" logits --model "$WORK/init" --ids $ids >"$WORK/c.txt" || fail "logits 2 threads"
[ "$(wc -l <"$WORK/a.txt")" = 10 ] || fail "expected 10 rows of logits"
[ "$(head -1 "$WORK/a.txt" | wc -w)" = 50257 ] || fail "expected 50257 logits per row"
paste -d' ' "$WORK/a.txt" "$WORK/c.txt" | awk '{ n = NF / 2; for (i = 1; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > m) m = d } }
  END { printf "max |1 thread - 2 threads| = %g\n", m; exit (m <= 1e-4) ? 0 : 1 }' || fail "thread count changes the logits"
pass "logits deterministic across runs and thread counts"
"$UNL" logits --model "$WORK/init" --ids $ids --out "$WORK/l.npy" || fail "logits --out"
[ "$(stat -c %s "$WORK/l.npy")" = $((128 + 10 * 50257 * 4)) ] || fail "unexpected .npy size"
echo '{"text": "The quick brown fox jumps over the lazy dog."}' >"$WORK/t.jsonl"
"$UNL" tokenize --input "$WORK/t.jsonl" >"$WORK/t.out" || fail "tokenize"
grep -q '"ids":\[464,2068,7586,21831,18045,625,262,16931,3290,13\]' "$WORK/t.out" || { cat "$WORK/t.out"; fail "tokenize ids"; }
"$UNL" generate --model "$WORK/init" --prompt "Hello there" --max-new-tokens 5 --beams 2 >"$WORK/g.out" || fail "generate"
grep -q "^Hello there" "$WORK/g.out" || fail "generate output"
expect_exit 2 "$UNL" logits --model "$WORK/init" --ids 1,x
expect_output "not an integer token id"
expect_exit 2 "$UNL" logits --model "$WORK/init" --ids 99999999
expect_output "outside the model's vocabulary"
pass "tokenize, generate, logits --out and their errors"

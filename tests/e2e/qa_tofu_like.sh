#!/usr/bin/env bash
# The TOFU-like example (examples/tofu-like) end to end: a tiny GPT-Neo with the GPT-2 tokenizer
# learns the question/answer pairs of six fictitious authors (loss on the answers only), ICU on 2
# ranks forgets two of them, and `unlearn eval --format qa` confirms the forget answers' MA / EL
# dropped below the thresholds while the retained authors' answers stay above a stated bound.
# Also: the per-sample check prompts with the question and compares with the answer, a qa row
# without its answer is refused naming the file and line, and the TOFU metrics (eval --tasks tofu)
# see the forget answers' probability and ROUGE-L fall while the retain set's stay.
source "$(dirname "$0")/lib.sh"
EX="$WORK/ex"
cp -r "$SRC/examples/tofu-like" "$EX"
rm -rf "$EX/out"
mkdir -p "$EX/out"
"$UNL" init --family gpt-neo --config "$EX/tiny.json" --out "$EX/out/init" --seed 3 >/dev/null || fail "unlearn init"
cat "$EX/forget.jsonl" "$EX/retain.jsonl" >"$EX/out/all.jsonl"
"$UNL" train --config "$EX/memorise.toml" >"$WORK/train.log" 2>&1 || { cat "$WORK/train.log"; fail "train"; }
[ -f "$EX/out/base/final/model.safetensors" ] || fail "train wrote no model"

qa_eval() {  # qa_eval MODEL DATA OUT.json [extra args]
  local model=$1 data=$2 out=$3; shift 3
  "$UNL" eval --model "$model" --forget "$data" --format qa --max-tokens 48 --n 3 --gen-len 20 --beams 1 --json "$@" \
    >"$out" || fail "eval $model on $data"
}
field() { sed -n "s/^  \"$1\": \(.*\),$/\1/p" "$2"; }
qa_eval "$EX/out/base/final" "$EX/forget.jsonl" "$WORK/before.json"
qa_eval "$EX/out/base/final" "$EX/retain.jsonl" "$WORK/retain_before.json"
ma_before=$(field mean_ma "$WORK/before.json")
retain_before=$(field mean_ma "$WORK/retain_before.json")
awk -v m="$ma_before" 'BEGIN { exit !(m > 0.8) }' || { cat "$WORK/before.json"; fail "the model did not learn the answers (MA $ma_before)"; }
pass "memorised: forget answer MA $ma_before, retained authors $retain_before"
tofu_eval() {  # tofu_eval MODEL OUT.json [extra args]
  local model=$1 out=$2; shift 2
  "$UNL" eval --model "$model" --tasks "tofu=$EX/forget.jsonl,tofu_retain=$EX/retain.jsonl" --answer-tokens 24 \
    --out "$out" "$@" >"$WORK/tofu.out" 2>&1 || { cat "$WORK/tofu.out"; fail "tofu eval of $model"; }
}
agg() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["agg_value"])' "$2" "$1"; }
tofu_eval "$EX/out/base/final" "$WORK/tofu_before.json"

# The per-sample check of a qa row: prompt = the question (+ separator), reference = the answer.
qa_eval "$EX/out/base/final" "$EX/forget.jsonl" "$WORK/ps.json" --per-sample "$WORK/per_sample.jsonl"
python3 - "$EX/forget.jsonl" "$WORK/per_sample.jsonl" <<'PY' || fail "per-sample prompt/reference are not the question/answer"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == len(got), (len(rows), len(got))
for r, g in zip(rows, got):
    assert g["id"] == r["id"], (g["id"], r["id"])
    assert g["prompt"] == r["question"] + "\n", (g["prompt"], r["question"])
    assert g["reference"] == r["answer"], (g["reference"], r["answer"])
PY
pass "per-sample check: prompt = question, reference = answer"

mpirun_n 2 "$UNL" run --config "$EX/unlearn.toml" >"$WORK/icu.log" 2>&1 || { cat "$WORK/icu.log"; fail "icu run"; }
grep -q "data: qa samples joined as prompt + data.separator + response" "$WORK/icu.log" || { cat "$WORK/icu.log"; fail "no qa data line"; }
grep -q '"stop_reason": "thresholds met"\|"stop_reason": "no active samples"' "$EX/out/icu/report.json" ||
  { cat "$WORK/icu.log"; grep stop_reason "$EX/out/icu/report.json"; fail "ICU did not reach its stop rule"; }
qa_eval "$EX/out/icu/final" "$EX/forget.jsonl" "$WORK/after.json"
qa_eval "$EX/out/icu/final" "$EX/retain.jsonl" "$WORK/retain_after.json"
ma_after=$(field mean_ma "$WORK/after.json")
el_after=$(field mean_el "$WORK/after.json")
retain_after=$(field mean_ma "$WORK/retain_after.json")
awk -v m="$ma_after" -v e="$el_after" 'BEGIN { exit !(m < 0.3 && e < 0.05) }' ||
  { cat "$WORK/after.json"; fail "not forgotten: MA $ma_after EL3 $el_after"; }
# Stated bound: the retained authors keep at least half of their answer MA.
awk -v a="$retain_after" -v b="$retain_before" 'BEGIN { exit !(a >= 0.5 * b) }' ||
  fail "retained authors' answer MA fell from $retain_before to $retain_after"
pass "forgotten on 2 ranks: answer MA $ma_before -> $ma_after, EL3 -> $el_after; retained authors $retain_before -> $retain_after"

# TOFU metrics before / after, and forget quality against the memorised model's own file (a
# stand-in for a retain-only model: the check is that forgetting moved the truth ratios).
mpirun_n 2 "$UNL" eval --model "$EX/out/icu/final" --tasks "tofu=$EX/forget.jsonl,tofu_retain=$EX/retain.jsonl" \
  --answer-tokens 24 --retain-eval "$WORK/tofu_before.json" --out "$WORK/tofu_after.json" >"$WORK/tofu.out" 2>&1 ||
  { cat "$WORK/tofu.out"; fail "tofu eval after ICU"; }
p0=$(agg forget_Q_A_Prob "$WORK/tofu_before.json"); p1=$(agg forget_Q_A_Prob "$WORK/tofu_after.json")
r0=$(agg forget_Q_A_ROUGE "$WORK/tofu_before.json"); r1=$(agg forget_Q_A_ROUGE "$WORK/tofu_after.json")
u0=$(agg model_utility "$WORK/tofu_before.json"); u1=$(agg model_utility "$WORK/tofu_after.json")
fq=$(agg forget_quality "$WORK/tofu_after.json")
awk -v p="$p0" -v r="$r0" 'BEGIN { exit !(p > 0.5 && r > 0.7) }' ||
  fail "the memorised model should give its forget answers high probability and ROUGE-L (prob $p0, ROUGE $r0)"
awk -v p0="$p0" -v p1="$p1" -v r0="$r0" -v r1="$r1" 'BEGIN { exit !(p1 < 0.5 * p0 && r1 < 0.5 * r0) }' ||
  fail "TOFU forget metrics did not fall: prob $p0 -> $p1, ROUGE $r0 -> $r1"
# Kept what it should know, relative to what it forgot: the retain answers' probability falls by a
# smaller factor than the forget answers'. (Model utility, a harmonic mean over six scores of this
# 4-layer toy, is already low before unlearning (~0.14) and falls with any of them: it is reported,
# and checked to be a score in (0, 1].)
q0=$(agg retain_Q_A_Prob "$WORK/tofu_before.json"); q1=$(agg retain_Q_A_Prob "$WORK/tofu_after.json")
awk -v p0="$p0" -v p1="$p1" -v q0="$q0" -v q1="$q1" 'BEGIN { exit !(q0 > 0 && q1 / q0 > p1 / p0) }' ||
  fail "retain answers lost as much as forget answers: retain prob $q0 -> $q1, forget prob $p0 -> $p1"
awk -v u0="$u0" -v u1="$u1" 'BEGIN { exit !(u0 > 0 && u0 <= 1 && u1 > 0 && u1 <= 1) }' ||
  fail "model utility is not a score in (0, 1]: $u0 -> $u1"
awk -v q="$fq" 'BEGIN { exit !(q >= 0 && q <= 1) }' || fail "forget quality $fq is not a p-value"
pass "tofu: forget answer prob $p0 -> $p1, ROUGE-L $r0 -> $r1; retain answer prob $q0 -> $q1; model utility $u0 -> $u1; forget quality vs the memorised model $fq"

# A qa row without its answer: refused, naming the file and line.
head -2 "$EX/forget.jsonl" >"$WORK/bad.jsonl"
echo '{"id": 50, "question": "Who wrote it?"}' >>"$WORK/bad.jsonl"
expect_exit 1 "$UNL" eval --model "$EX/out/base/final" --forget "$WORK/bad.jsonl" --format qa
expect_output "bad.jsonl:3: no \"answer\" field"
pass "a qa row without its answer is refused naming file and line"

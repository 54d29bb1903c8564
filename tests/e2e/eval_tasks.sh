#!/usr/bin/env bash
# `unlearn eval --tasks` on the example task files (examples/eval) and a tiny random model:
# eval.json and the per-sample JSONL are byte-identical on 1, 2 and 3 ranks; the reference-ratio
# AUC against the model itself is exactly 0.5 (every score is 0); the TOFU tasks on the
# question/answer rows of examples/tofu-like, and forget quality against the same model's own
# eval.json is exactly 1 (identical truth ratios); bad input exits 2 or names the file and line.
source "$(dirname "$0")/lib.sh"
make_tiny_model
EX=$SRC/examples/eval
TOFU=$SRC/examples/tofu-like
tasks="choice=$EX/choice.jsonl,lambada:lam=$EX/lambada.jsonl,dialogue=$EX/dialogue.jsonl,ppl=$EX/ppl.jsonl,mia"
tasks+=",tofu=$TOFU/forget.jsonl,tofu_retain=$TOFU/retain.jsonl,tofu_options:ra=$TOFU/retain.jsonl"
args=(eval --model "$WORK/init" --forget "$EX/forget.jsonl" --heldout "$EX/heldout.jsonl" --tasks "$tasks"
      --reference "$WORK/init" --retain-auc 0.5 --batch-size 2 --ppl-window 32)
for n in 1 2 3; do
  mkdir -p "$WORK/r$n"
  mpirun_n $n "$UNL" "${args[@]}" --out "$WORK/r$n/eval.json" >"$WORK/r$n.out" 2>&1 || { cat "$WORK/r$n.out"; fail "eval on $n ranks"; }
done
for n in 2 3; do
  cmp "$WORK/r1/eval.json" "$WORK/r$n/eval.json" || fail "eval.json differs between 1 and $n ranks"
  cmp "$WORK/r1/eval.samples.jsonl" "$WORK/r$n/eval.samples.jsonl" || fail "samples differ between 1 and $n ranks"
done
pass "eval.json identical on 1, 2 and 3 ranks"
J=$WORK/r1/eval.json
for m in choice_acc choice_acc_norm lam_acc dialogue_f1 ppl_ppl mia_loss mia_zlib mia_min_k mia_min_k_plus_plus \
         mia_reference exact_memorization extraction_strength privleak forget_Q_A_Prob forget_Q_A_PARA_Prob \
         forget_Q_A_PERT_Prob forget_truth_ratio forget_Q_A_ROUGE retain_Q_A_Prob retain_truth_ratio retain_Q_A_ROUGE \
         ra_Q_A_Prob_normalised ra_truth_ratio model_utility; do
  grep -q "^  \"$m\": {" "$J" || fail "eval.json lacks $m"
done
grep -A1 '^  "mia_reference": {' "$J" | grep -q '"agg_value": 0.5,' || fail "reference ratio against itself must have AUC 0.5"
[ "$(grep -c '"metric":"choice_acc",' "$WORK/r1/eval.samples.jsonl")" = 8 ] || fail "8 choice_acc lines expected"
[ "$(grep -c '"metric":"mia_loss","set":"holdout"' "$WORK/r1/eval.samples.jsonl")" = 5 ] || fail "5 held-out mia_loss lines expected"
grep -q "^choice_acc " "$WORK/r1.out" || fail "the summary names each metric"
[ "$(grep -c '"metric":"forget_Q_A_ROUGE",' "$WORK/r1/eval.samples.jsonl")" = 8 ] || fail "8 forget_Q_A_ROUGE lines expected"
pass "every metric present; reference AUC 0.5"
# Forget quality: this model against its own earlier eval.json (same batches: bit-identical truth
# ratios) -> p = 1.
mpirun_n 2 "$UNL" eval --model "$WORK/init" --tasks "tofu=$TOFU/forget.jsonl" --retain-eval "$WORK/r1/eval.json" \
  --batch-size 2 --out "$WORK/fq.json" >"$WORK/fq.out" 2>&1 || { cat "$WORK/fq.out"; fail "eval with --retain-eval"; }
grep -A1 '^  "forget_quality": {' "$WORK/fq.json" | grep -q '"agg_value": 1.0,' || { cat "$WORK/fq.json" | head -5; fail "forget quality against itself must be 1"; }
cmp <(grep -A3 '^  "forget_truth_ratio"' "$WORK/fq.json") <(grep -A3 '^  "forget_truth_ratio"' "$WORK/r1/eval.json") ||
  fail "truth ratios differ between a 2-task and a 1-task run"
pass "tofu: forget quality against the model's own eval.json is 1"
# Bad input: unknown task kind (usage, 2), malformed line (file:line), mia without --heldout.
expect_exit 2 "$UNL" eval --model "$WORK/init" --tasks "bogus=x"
printf '{"context": "a", "choices": ["b", "c"], "label": 0}\n{"context": "a", "choices": ["b"], "label": 0}\n' >"$WORK/bad.jsonl"
expect_exit 1 "$UNL" eval --model "$WORK/init" --tasks "choice=$WORK/bad.jsonl" --out "$WORK/x.json"
expect_output "bad.jsonl:2: \"choices\" must be a list of at least two strings"
expect_exit 2 "$UNL" eval --model "$WORK/init" --tasks mia --forget "$EX/forget.jsonl"
expect_exit 2 "$UNL" eval --model "$WORK/init"
expect_exit 2 "$UNL" eval --model "$WORK/init" --tasks "choice=$EX/choice.jsonl" --retain-eval "$WORK/r1/eval.json"
expect_exit 1 "$UNL" eval --model "$WORK/init" --tasks "tofu:f10=$TOFU/forget.jsonl" --retain-eval "$WORK/r1/eval.json" --out "$WORK/y.json"
expect_output "has no \"f10_truth_ratio\""
pass "bad input is reported"

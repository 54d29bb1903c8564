#!/usr/bin/env bash
# The whole product on 2 ranks: a tiny model memorises a few sequences (`unlearn train`), ICU runs
# until the stop rule, then `unlearn eval` confirms forget MA / EL below the thresholds and the
# held-out perplexity within a stated bound of the original model's.
source "$(dirname "$0")/lib.sh"
make_tiny_model
make_tiny_data

cat >"$WORK/train.toml" <<TOML
[model]
path = "$WORK/init"
[data]
forget = "$WORK/train.jsonl"
max_tokens = 24
[optim]
lr = 1e-2
beta2 = 0.999
[train]
batch_size = 8
max_epochs = 40
[output]
dir = "$WORK/base"
log_level = "warn"
TOML
mpirun_n 2 "$UNL" train --config "$WORK/train.toml" >"$WORK/train.log" 2>&1 || { cat "$WORK/train.log"; fail "train"; }
[ -f "$WORK/base/final/model.safetensors" ] || fail "train wrote no model"
"$UNL" eval --model "$WORK/base/final" --forget "$WORK/forget.jsonl" --heldout "$WORK/heldout.jsonl" --json \
  --n 3 --suffix-start 4 --prompt-begin 0 --prefix-len 6 --gen-len 6 --beams 1 >"$WORK/before.json" || fail "eval before"
ma_before=$(sed -n 's/^  "mean_ma": \(.*\),$/\1/p' "$WORK/before.json")
ppl_before=$(sed -n 's/^  "heldout_ppl": \(.*\),$/\1/p' "$WORK/before.json")
awk -v m="$ma_before" 'BEGIN { exit !(m > 0.8) }' || { cat "$WORK/before.json"; fail "the model did not memorise (MA $ma_before)"; }
pass "memorised: forget MA $ma_before, held-out PPL $ppl_before"

write_icu_config icu icu "$WORK/base/final" </dev/null
# This test's claim is the set-level one (forget MA and EL below their thresholds when the job
# stops), so samples leave only once every check is below threshold: rule "all". The official
# rule (BLEU alone) is tested in tests/mpi/driver/fidelity_test.cpp.
sed -i 's/^ma = 0.0/ma = 0.3/; s/^el = 0.0/el = 0.05/; s/^bleu = 0.0/bleu = 0.05\nrule = "all"/; s/^max_epochs = 3/max_epochs = 30/; s/^every_steps = 1/every_steps = 0/' "$WORK/icu.toml"
sed -i "s|^forget = .*|&\nheldout = \"$WORK/heldout.jsonl\"|" "$WORK/icu.toml"
mpirun_n 2 "$UNL" run --config "$WORK/icu.toml" >"$WORK/icu.log" 2>&1 || { cat "$WORK/icu.log"; fail "icu run"; }
grep -q "epoch 1:" "$WORK/icu.log" || { cat "$WORK/icu.log"; fail "no epoch summary"; }
grep -q '"stop_reason": "thresholds met"\|"stop_reason": "no active samples"' "$WORK/icu/report.json" ||
  { cat "$WORK/icu.log"; grep stop_reason "$WORK/icu/report.json"; fail "ICU did not reach its stop rule"; }
[ -f "$WORK/icu/report.html" ] || fail "no report.html"
"$UNL" eval --model "$WORK/icu/final" --forget "$WORK/forget.jsonl" --heldout "$WORK/heldout.jsonl" --json \
  --n 3 --suffix-start 4 --prompt-begin 0 --prefix-len 6 --gen-len 6 --beams 1 >"$WORK/after.json" || fail "eval after"
ma_after=$(sed -n 's/^  "mean_ma": \(.*\),$/\1/p' "$WORK/after.json")
el_after=$(sed -n 's/^  "mean_el": \(.*\),$/\1/p' "$WORK/after.json")
ppl_after=$(sed -n 's/^  "heldout_ppl": \(.*\),$/\1/p' "$WORK/after.json")
awk -v m="$ma_after" -v e="$el_after" 'BEGIN { exit !(m < 0.3 && e < 0.05) }' || { cat "$WORK/after.json"; fail "not forgotten: MA $ma_after EL $el_after"; }
# Stated bound: held-out perplexity at most 3x the memorised model's (plain GA on this setup
# typically multiplies it by far more).
awk -v a="$ppl_after" -v b="$ppl_before" 'BEGIN { exit !(a <= 3 * b) }' || fail "held-out PPL $ppl_after > 3 x $ppl_before"
pass "forgotten on 2 ranks: MA $ma_before -> $ma_after, EL3 -> $el_after, held-out PPL $ppl_before -> $ppl_after"

# The HTML report renders in headless Chromium with non-empty plots.
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chrome" ]; then
  flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
         --disable-component-update --disable-sync --user-data-dir="$WORK/chrome-profile")
  timeout 120 "$chrome" "${flags[@]}" --window-size=1200,2000 --screenshot="$WORK/report.png" "file://$WORK/icu/report.html" >/dev/null 2>&1
  [ -s "$WORK/report.png" ] && [ "$(stat -c %s "$WORK/report.png")" -gt 20000 ] || fail "report screenshot missing or blank"
  timeout 120 "$chrome" "${flags[@]}" --dump-dom "file://$WORK/icu/report.html" 2>/dev/null >"$WORK/dom.html"
  plots=$(grep -o '<polyline class="series" points="[0-9][^"]*"' "$WORK/dom.html" | wc -l)
  [ "$plots" -ge 4 ] || fail "only $plots non-empty plot lines in the rendered report"
  grep -q "Per-sample outcomes" "$WORK/dom.html" || fail "no per-sample table in the rendered report"
  pass "report.html renders in Chromium with $plots plot lines"
else
  echo "note: chromium not installed; report rendering not checked"
fi

#!/usr/bin/env bash
# `unlearn demo` end to end on 2 ranks, as the README runs it: the base model memorises the
# records, ICU brings them down to the level of records it never saw (the stop rule), and the demo model knows the language (held-out perplexity in the
# tens, not the tens of thousands of a model that only memorised) and keeps it (within 10%).
source "$(dirname "$0")/lib.sh" "$@"
OUT=$WORK/demo
expect_exit 0 timeout 900 "$UNL" demo --out "$OUT" --ranks 2
expect_output "=== demo result \(2 ranks"
R=$OUT/icu/report.json
[ -f "$R" ] || fail "no report.json"
python3 - "$R" "$OUT" <<'PY' || fail "demo outcome"
import json, os, sys
r = json.load(open(sys.argv[1]))
# The tokenizer the base model was fitted with travels with every saved model (same tokens, ids
# and merges; the files are rewritten with sorted keys).
out = sys.argv[2]
def tok(d):
    return json.load(open(os.path.join(out, d, "vocab.json"))), open(os.path.join(out, d, "merges.txt")).read().split("\n")
assert len(tok("init")[0]) < 1000, "the demo model does not use the demo vocabulary"
for d in ("base/final", "icu/final"):
    assert tok(d) == tok("init"), f"{d} lacks the demo vocabulary"
b, a = r["before"], r["after"]
forgotten = sum(1 for s in r["samples"] if s["forgotten"])
print(f"before MA {b['mean_ma']:.3f} PPL {b['heldout_ppl']:.2f}; after MA {a['mean_ma']:.3f} "
      f"PPL {a['heldout_ppl']:.2f}; forgotten {forgotten}/{r['forget_samples']}")
assert r["forget_samples"] == 32, r["forget_samples"]
assert b["mean_ma"] > 0.85 and b["mean_bleu"] > 0.3, "the base model did not memorise the records"
# The stop rule: mean MA and EL5 at the level of records the model never saw (the demo's thresholds).
assert r["stop_reason"] == "thresholds met", r["stop_reason"]
assert a["mean_ma"] < 0.60 and a["mean_el"] < 0.16 and a["mean_bleu"] < 0.05, a
assert forgotten >= 1, "no record passed every per-sample threshold"
assert b["heldout_ppl"] < 100, f"held-out perplexity {b['heldout_ppl']}: the base model did not learn the language"
assert abs(a["heldout_ppl"] / b["heldout_ppl"] - 1) <= 0.10, "held-out perplexity moved more than 10%"
PY
pass "demo: the records forgotten to the level of unseen ones, held-out perplexity kept"

#!/usr/bin/env bash
# Ablation for the forgetting objective: ICU vs gradient ascent vs GradDiff vs NPO on one tiny
# memorised GPT-Neo, same lr / batch / epoch cap / thresholds; writes docs/ablation.md.
# Usage: bench/ablation.sh [build/bin/unlearn] [SCRATCH_DIR]     (3-5 min on 2 shared cores)
# Without SCRATCH_DIR a temporary one is used and removed; with it, every model and report is kept.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UNL=${1:-$here/build/bin/unlearn}
if [ -n "${2:-}" ]; then W=$2; mkdir -p "$W"
else W=$(mktemp -d "${TMPDIR:-/tmp}/unl-ablation-XXXXXX"); trap 'rm -rf "$W"' EXIT; fi
OUT_MD=${ABLATION_MD:-$here/docs/ablation.md}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
die() { echo "ablation: $*" >&2; exit 1; }
[ -x "$UNL" ] || die "no binary at $UNL (build the unlearn target first)"
t_start=$(date +%s)

# Shared knobs: every method gets exactly these.
LR=1e-3; BS=4; EPOCHS=${ABLATION_EPOCHS:-12}; TAU_MA=0.3; TAU_EL=0.05; TAU_BLEU=0.05
# The sequences are 24 tokens, so the continuation check prompts from token 0 (the official window
# starts at token 100), and a sample leaves when it is below every threshold (thresholds.rule = all).
EVAL_ARGS=(--max-tokens 24 --n 3 --suffix-start 4 --prompt-begin 0 --prefix-len 6 --gen-len 6 --beams 1)

# --- tiny model (GPT-2 vocabulary) --------------------------------------------------------------
cat >"$W/tiny.json" <<JSON
{"model_type": "gpt_neo", "vocab_size": 50257, "hidden_size": 32, "num_layers": 2, "num_heads": 2,
 "intermediate_size": 64, "max_position_embeddings": 64, "window_size": 8,
 "attention_types": [[["global", "local"], 1]], "activation_function": "gelu_new",
 "bos_token_id": 50256, "eos_token_id": 50256}
JSON
"$UNL" init --family gpt-neo --config "$W/tiny.json" --out "$W/init" --seed 3 >/dev/null || die "init"

# --- data: 16 forget records (PII-like), 32 retain texts, 8 held-out texts ----------------------
# Retain and held-out share templates but differ in the slot words, so held-out PPL measures
# generalisation and retain MA measures what was memorised and should be kept.
names=(Alice Bruno Chiara Dmitri Elena Farid Grace Hiro Ines Jonas Kemal Lena Mateo Nadia Oskar Priya)
streets=(Elm Oak Pine Birch Cedar Maple Ash Willow)
places=(valley harbour forest meadow canyon island village orchard)
things=(mill bridge tower chapel market school bakery lighthouse)
dirs=(north south east west)
: >"$W/forget.jsonl"; : >"$W/retain.jsonl"; : >"$W/heldout.jsonl"; : >"$W/train.jsonl"
for i in $(seq 0 15); do
  t="${names[$i]} Roe lives at $((10 + 7 * i)) ${streets[$((i % 8))]} Street, phone 555 0$((130 + 3 * i))."
  echo "{\"id\": $i, \"text\": \"$t\"}" | tee -a "$W/forget.jsonl" >>"$W/train.jsonl"
done
for i in $(seq 0 31); do
  t="The road in ${places[$((i % 8))]} $i runs ${dirs[$((i % 4))]} past the old ${things[$(((i / 4) % 8))]} and the quiet farms."
  echo "{\"id\": $((100 + i)), \"text\": \"$t\"}" | tee -a "$W/retain.jsonl" >>"$W/train.jsonl"
done
for i in $(seq 0 7); do  # same template, unseen slot combinations: the model never saw these
  echo "{\"text\": \"The road in ${places[$(((i + 3) % 8))]} $((40 + i)) runs ${dirs[$(((i + 1) % 4))]} past the old ${things[$(((i + 5) % 8))]} and the quiet farms.\"}" >>"$W/heldout.jsonl"
done

# --- memorise forget + retain ------------------------------------------------------------------
cat >"$W/train.toml" <<TOML
[model]
path = "$W/init"
[data]
forget = "$W/train.jsonl"
max_tokens = 24
[optim]
lr = 1e-2
beta2 = 0.999
[train]
batch_size = 8
max_epochs = ${ABLATION_TRAIN_EPOCHS:-40}
[runtime]
threads = 1
[output]
dir = "$W/base"
log_level = "warn"
TOML
echo "ablation: memorising 48 sequences ..." >&2
t0=$(date +%s)
"$UNL" train --config "$W/train.toml" >"$W/train.log" 2>&1 || { cat "$W/train.log" >&2; die "train"; }
t_train=$(( $(date +%s) - t0 ))

# jget FILE KEY: the first numeric/string value of "KEY": in a JSON file (flat enough for sed).
jget() { sed -n "s/^ *\"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$1" | head -1; }
evalj() {  # evalj MODEL DATA OUT.json: unlearn eval --json, held-out PPL included
  "$UNL" eval --model "$1" --forget "$2" --heldout "$W/heldout.jsonl" --json "${EVAL_ARGS[@]}" >"$3" 2>"$3.err" ||
    { cat "$3.err" >&2; die "eval $1 on $2"; }
}
evalj "$W/base/final" "$W/forget.jsonl" "$W/base_forget.json"
evalj "$W/base/final" "$W/retain.jsonl" "$W/base_retain.json"
evalj "$W/init" "$W/heldout.jsonl" "$W/init_heldout.json"
base_ma=$(jget "$W/base_forget.json" mean_ma); base_el=$(jget "$W/base_forget.json" mean_el)
base_rma=$(jget "$W/base_retain.json" mean_ma); base_ppl=$(jget "$W/base_forget.json" heldout_ppl)
echo "ablation: base forget MA $base_ma EL3 $base_el, retain MA $base_rma, held-out PPL $base_ppl" >&2

# --- one unlearning run per method -------------------------------------------------------------
# run_method METHOD TAG MA EL BLEU: unlearn with the shared knobs; TAG "stop" uses the thresholds
# (the stop rule can fire), TAG "fixed" uses zero thresholds so every method runs all epochs.
: >"$W/rows.tsv"
run_method() {
  local m=$1 tag=$2 d=$W/$1-$2
  cat >"$W/$m-$tag.toml" <<TOML
[model]
path = "$W/base/final"
[data]
forget = "$W/forget.jsonl"
retain = "$W/retain.jsonl"
heldout = "$W/heldout.jsonl"
max_tokens = 24
[method]
name = "$m"
[optim]
lr = $LR
[train]
batch_size = $BS
max_epochs = $EPOCHS
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
rule = "all"
ma = $3
el = $4
bleu = $5
[runtime]
threads = 1
[output]
dir = "$d"
log_level = "warn"
TOML
  echo "ablation: $m ($tag) ..." >&2
  local t0; t0=$(date +%s)
  "$UNL" run --config "$W/$m-$tag.toml" >"$d.log" 2>&1 || { cat "$d.log" >&2; die "run $m $tag"; }
  local secs=$(( $(date +%s) - t0 ))
  evalj "$d/final" "$W/forget.jsonl" "$d-forget.json"
  evalj "$d/final" "$W/retain.jsonl" "$d-retain.json"
  python3 - "$m" "$tag" "$secs" "$d/report.json" "$d-forget.json" "$d-retain.json" >>"$W/rows.tsv" <<'PYROW'
import json, sys
m, tag, secs, rep, fg, rt = sys.argv[1:]
r, f, t = (json.load(open(x)) for x in (rep, fg, rt))
print("\t".join(str(x) for x in (m, tag, f["mean_ma"], f["mean_el"], f["mean_bleu"], t["mean_ma"],
      r["before"]["heldout_ppl"], r["after"]["heldout_ppl"], len(r["epochs"]), r["steps"], r["stop_reason"], secs)))
PYROW
  tail -1 "$W/rows.tsv" >&2
}
for m in icu ga graddiff npo; do run_method "$m" stop "$TAU_MA" "$TAU_EL" "$TAU_BLEU"; done
for m in icu ga graddiff npo; do run_method "$m" fixed 0 0 0; done
t_total=$(( $(date +%s) - t_start ))
echo "ablation: scratch in $W, total ${t_total}s" >&2

# --- docs/ablation.md --------------------------------------------------------------------------
# Everything above the notes marker is regenerated; the hand-written notes below it are kept.
marker='<!-- notes below are hand-written and kept when the script regenerates this file -->'
notes=""
[ -f "$OUT_MD" ] && notes=$(sed -n "/^$marker\$/,\$p" "$OUT_MD" | tail -n +2)
python3 - "$W/rows.tsv" "$base_ma" "$base_el" "$base_rma" "$base_ppl" "$(jget "$W/init_heldout.json" heldout_ppl)" \
  "$LR" "$BS" "$EPOCHS" "$TAU_MA" "$TAU_EL" "$TAU_BLEU" "$t_train" "$t_total" \
  "$(uname -m), $(getconf _NPROCESSORS_ONLN) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
  "$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(date -u '+%Y-%m-%d %H:%M UTC')" >"$OUT_MD.tmp" <<'PYMD'
import sys
(rows_f, bma, bel, brma, bppl, ippl, lr, bs, ep, tma, tel, tbleu, ttrain, ttotal, machine, rev,
 when) = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(rows_f) if l.strip()]
f = lambda x, d=3: f"{float(x):.{d}f}"
out = []
w = out.append
w("# Ablation: ICU vs GA vs GradDiff vs NPO\n")
w(f"Generated by `bench/ablation.sh` on {when} (commit {rev}); machine: {machine}.")
w("The machine was shared with other jobs while this ran, so the seconds column is indicative only.\n")
w("## Setup\n")
w("- Model: a tiny GPT-Neo made with `unlearn init` (hidden 32, 2 layers, 2 heads, GPT-2 vocabulary,")
w("  seed 3), then `unlearn train` (lr 1e-2, batch 8, 40 epochs) on 16 forget records")
w("  (name / street / phone, PII-like) + 32 retain texts (\"The road in <place> <i> runs <dir> past the")
w("  old <thing> ...\"); 8 held-out texts use the same template with unseen slot combinations.")
w("  Sequences are at most 24 tokens.")
w(f"- Every method: `unlearn run`, method.name = icu | ga | graddiff | npo, Adam lr {lr}, batch {bs},")
w(f"  max_epochs {ep}, default method weights (w_forget 1, w_learn 0.5, w_kl 1, npo_beta 0.1), one process.")
w("  All four share the same loop: per-sample forgetting check after each epoch (a sample below every")
w("  threshold leaves the active set; recompute refinement) and the stop rule (mean MA and mean EL_3")
w("  over the forget set below their thresholds, or max_epochs); they differ only in the loss.")
w(f"- Metrics: EL_3 from token 4, MA, greedy 6-token BLEU after a 6-token prompt.")
w(f"  *stop rule* runs: thresholds MA < {tma}, EL_3 < {tel}, BLEU < {tbleu}.")
w("  *fixed budget* runs: all thresholds 0, so nothing counts as forgotten and every method runs all")
w(f"  {ep} epochs (shows what each loss does when it is not stopped).")
w("- Forget MA / EL_3 and retain MA after: `unlearn eval --json` on the final model; held-out PPL")
w("  before/after: report.json (`before.heldout_ppl`, `after.heldout_ppl`).\n")
w("Command (about %d s in total here, %d s of it memorising):\n" % (int(ttotal), int(ttrain)))
w("    cmake --build build --target unlearn -j2 && bench/ablation.sh build/bin/unlearn\n")
w("## Memorised base model\n")
w(f"Forget MA {f(bma)}, forget EL_3 {f(bel)}, retain MA {f(brma)}, held-out PPL {f(bppl, 1)} "
  f"(untrained init: {f(ippl, 1)}).\n")
for tag, title in (("stop", "With the stop rule"), ("fixed", f"Fixed budget ({ep} epochs, no stop)")):
    w(f"## {title}\n")
    w("| method | forget MA | forget EL_3 | forget BLEU | retain MA (base %s) | held-out PPL before → after (×) | epochs | steps | stop reason | s |" % f(brma))
    w("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r[1] != tag:
            continue
        m, _, ma, el, bl, rma, pb, pa, eps, steps, reason, secs = r
        w(f"| {m} | {f(ma)} | {f(el)} | {f(bl)} | {f(rma)} | {f(pb, 1)} → {f(pa, 1)} "
          f"(×{float(pa) / float(pb):.2f}) | {eps} | {steps} | {reason} | {secs} |")
    sel = [r for r in rows if r[1] == tag]
    def best(i, rev=False):  # every method within 0.005 (relative) of the best: ties are named
        v = [float(r[i]) for r in sel]
        b = max(v) if rev else min(v)
        return " = ".join(r[0] for r, x in zip(sel, v) if abs(x - b) <= 0.005 * max(abs(b), 1e-9))
    w(f"\nLowest forget MA: {best(2)}; highest retain MA: {best(5, True)}; "
      f"smallest held-out PPL after: {best(7)}.\n")
print("\n".join(out))
PYMD
{ cat "$OUT_MD.tmp"; echo "$marker"; [ -n "$notes" ] && echo "$notes"; } >"$OUT_MD"; rm -f "$OUT_MD.tmp"
echo "ablation: wrote $OUT_MD" >&2

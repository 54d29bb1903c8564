#!/usr/bin/env bash
# Faults in a running 2-rank job: the output filesystem fills up, hits the file-size limit or turns
# read-only while checkpointing; a NaN loss on one rank; an input missing or different on one rank;
# a model whose vocabulary is smaller than the tokenizer's. Each ends the job within a bounded time
# with a message naming the problem, keeping a checkpoint that inspects OK and resumes.
source "$(dirname "$0")/lib.sh"
make_tiny_model
make_tiny_data

# bounded SECONDS LOG CMD...: run CMD with its output in LOG and its exit code in $rc; a hang fails.
bounded() {
  local secs=$1 log=$2; shift 2
  timeout -k 5 "$secs" "$@" >"$log" 2>&1; rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then cat "$log" >&2; fail "still running after ${secs} s (hang?): $*"; fi
}
# in_log LOG REGEX: LOG must match REGEX (extended).
in_log() { grep -qE -- "$2" "$1" || { cat "$1" >&2; fail "$(basename "$1") lacks /$2/"; }; }
# The step recorded in a checkpoint file (or the newest valid one of a run directory); inspect must pass.
ckpt_step() {
  "$UNL" inspect "$1" >"$WORK/inspect.out" 2>&1 || { cat "$WORK/inspect.out" >&2; fail "unlearn inspect $1"; }
  awk '$1 == "step" && $2 == "=" { print $3 }' "$WORK/inspect.out"
}
no_temp_files() { ! ls "$1" | grep -q '\.tmp-' || { ls -la "$1" >&2; fail "a partial temp file was left in $1"; }; }

# ---- 1. The output filesystem fails while checkpointing -------------------------------------
echo "== 1. checkpoint write fails (file-size limit, disk full, read-only)"
write_icu_config disk disk </dev/null
ck=$WORK/disk/checkpoints
good=$ck/ckpt-0000000001.h5
bounded 120 "$WORK/disk0.log" "${MPI2[@]}" "$UNL" run --config "$WORK/disk.toml" --set train.max_steps=1
[ "$rc" = 0 ] && [ -f "$good" ] || { cat "$WORK/disk0.log" >&2; fail "the first session did not write $good"; }
size=$(stat -c %s "$good")

# 1a. ulimit -f: half a checkpoint (MPI's shared-memory files still fit). unlearn ignores SIGXFSZ,
# so the write fails with EFBIG and is reported, instead of the kernel killing rank 0 mid-file.
bounded 120 "$WORK/disk_fsize.log" bash -c "ulimit -f $((size / 2048)) && exec \"\$@\"" _ \
  "${MPI2[@]}" "$UNL" run --config "$WORK/disk.toml"
[ "$rc" != 0 ] || fail "the job ignored a failed checkpoint write (exit 0)"
in_log "$WORK/disk_fsize.log" "cannot write checkpoint '$ck/ckpt-0000000002.h5': file too large \(EFBIG"
in_log "$WORK/disk_fsize.log" "previous checkpoint '$good' is kept.*HINT: raise the file-size limit"
[ "$(ckpt_step "$good")" = 1 ] || fail "the previous checkpoint no longer holds step 1"
no_temp_files "$ck"
pass "file-size limit while checkpointing: exit $rc, EFBIG named with the path and a hint, step-1 checkpoint intact"

# 1b/1c need a small filesystem: a tmpfs over the checkpoints directory (root with mount rights).
mounted=0
if [ "$(id -u)" = 0 ]; then
  mv "$ck" "$ck.disk" && mkdir "$ck"
  if mount -t tmpfs -o size=$((size * 3 / 2)) unl-e2e-faults "$ck" 2>"$WORK/mount.err"; then
    mounted=1
    trap 'umount "$ck" 2>/dev/null; rm -rf "$WORK"' EXIT
    cp -p "$ck.disk/"* "$ck/"
  else
    rmdir "$ck" && mv "$ck.disk" "$ck"
    echo "SKIP: 1b (disk full) and 1c (read-only): cannot mount a tmpfs here: $(cat "$WORK/mount.err")"
  fi
fi
if [ "$mounted" = 1 ]; then
  bounded 120 "$WORK/disk_full.log" "${MPI2[@]}" "$UNL" run --config "$WORK/disk.toml"
  [ "$rc" != 0 ] || fail "the job ignored a full disk (exit 0)"
  in_log "$WORK/disk_full.log" "cannot write checkpoint '$ck/ckpt-0000000002.h5': disk full \(ENOSPC"
  in_log "$WORK/disk_full.log" "previous checkpoint '$good' is kept.*HINT: free space"
  [ "$(ckpt_step "$good")" = 1 ] || fail "the previous checkpoint no longer holds step 1"
  no_temp_files "$ck"
  pass "disk full while checkpointing: exit $rc, ENOSPC named with the path and a hint, step-1 checkpoint intact"
  mount -o remount,ro,size=256m "$ck" || fail "remount read-only"
  bounded 120 "$WORK/disk_ro.log" "${MPI2[@]}" "$UNL" run --config "$WORK/disk.toml"
  [ "$rc" != 0 ] || fail "the job ignored a read-only checkpoint directory (exit 0)"
  in_log "$WORK/disk_ro.log" "cannot write checkpoint '$ck/ckpt-0000000002.h5': the filesystem .* is read-only"
  in_log "$WORK/disk_ro.log" "HINT: remount it read-write"
  [ "$(ckpt_step "$good")" = 1 ] || fail "the previous checkpoint no longer holds step 1"
  pass "read-only checkpoint filesystem: exit $rc, named with the path and a hint"
  mount -o remount,rw "$ck" || fail "remount read-write"
elif [ "$(id -u)" != 0 ]; then
  echo "SKIP: 1b (disk full): needs root to mount a small tmpfs"
  chmod 555 "$ck"
  bounded 120 "$WORK/disk_perm.log" "${MPI2[@]}" "$UNL" run --config "$WORK/disk.toml"
  chmod 755 "$ck"
  [ "$rc" != 0 ] || fail "the job ignored a read-only checkpoint directory (exit 0)"
  in_log "$WORK/disk_perm.log" "cannot write checkpoint '$ck/ckpt-0000000002.h5': no permission"
  [ "$(ckpt_step "$good")" = 1 ] || fail "the previous checkpoint no longer holds step 1"
  pass "checkpoints directory chmod 555: exit $rc, named with the path and a hint"
fi

# Limits lifted: the same command resumes from the kept checkpoint and finishes.
bounded 300 "$WORK/disk_resume.log" "${MPI2[@]}" "$UNL" run --config "$WORK/disk.toml"
[ "$rc" = 0 ] || { cat "$WORK/disk_resume.log" >&2; fail "resume after the write failures"; }
in_log "$WORK/disk_resume.log" "resumed from $good: epoch 0, step 1"
[ -f "$WORK/disk/final/model.safetensors" ] || fail "the resumed job wrote no final model"
pass "after the faults, the same command resumed from step 1 and completed"
if [ "$mounted" = 1 ]; then umount "$ck" && trap 'rm -rf "$WORK"' EXIT; fi

# ---- 2. A non-finite loss on one rank --------------------------------------------------------
# UNL_TEST_NAN_AT_STEP=N turns the loss of step N NaN on the last rank only, once per process.
echo "== 2. NaN loss on rank 1 only"
write_icu_config nan nan </dev/null
UNL_TEST_NAN_AT_STEP=3 bounded 120 "$WORK/nan_stop.log" "${MPI2[@]}" "$UNL" run --config "$WORK/nan.toml"
[ "$rc" = 1 ] || { cat "$WORK/nan_stop.log" >&2; fail "nan_policy = stop: expected exit 1, got $rc"; }
in_log "$WORK/nan_stop.log" "the loss became NaN/Inf at step 3 .*HINT: the last good state is checkpointed"
in_log "$WORK/nan_stop.log" "checkpoint \(last good state before a non-finite loss\)"
[ "$(ckpt_step "$WORK/nan")" = 2 ] || fail "the newest checkpoint is not the last good step (2)"
! grep -q '"step":3' "$WORK/nan/metrics.jsonl" || fail "the non-finite step 3 was logged as taken"
bounded 300 "$WORK/nan_resume.log" "${MPI2[@]}" "$UNL" run --config "$WORK/nan.toml"
[ "$rc" = 0 ] || { cat "$WORK/nan_resume.log" >&2; fail "resume after the NaN stop"; }
in_log "$WORK/nan_resume.log" "resumed from .*ckpt-0000000002.h5"
pass "nan_policy = stop: exit 1 naming step 3 and a hint, step-2 checkpoint inspects OK and resumes"

write_icu_config skip skip </dev/null
UNL_TEST_NAN_AT_STEP=3 bounded 300 "$WORK/nan_skip.log" "${MPI2[@]}" "$UNL" run \
  --config "$WORK/skip.toml" --set train.nan_policy=skip --set train.check_weights_every=1
[ "$rc" = 0 ] || { cat "$WORK/nan_skip.log" >&2; fail "nan_policy = skip: expected exit 0, got $rc"; }
in_log "$WORK/nan_skip.log" "step 3: non-finite loss; step skipped"
grep -q '"type":"skipped"' "$WORK/skip/metrics.jsonl" && grep '"type":"skipped"' "$WORK/skip/metrics.jsonl" | grep -q '"step":3' ||
  fail "metrics.jsonl has no skipped record for step 3"
# 8 samples, batch 4, 3 epochs, thresholds 0 (nothing is ever forgotten): 6 batches, one skipped.
steps=$(grep -c '"type":"step"' "$WORK/skip/metrics.jsonl")
[ "$steps" = 5 ] || fail "expected 5 applied steps around the skipped one, got $steps"
"$UNL" logits --model "$WORK/skip/final" --ids 464,2068,7586 >"$WORK/skip_logits.txt" || fail "logits of the final model"
! grep -qiE 'nan|inf' "$WORK/skip_logits.txt" || fail "the skipped NaN step reached the weights"
pass "nan_policy = skip: exit 0, step 3 skipped on both ranks (logged, weights identical and finite)"

# ---- 3. An input missing or different on one rank --------------------------------------------
# Every rank reads the model, tokenizer and data itself. MPMD launch: rank 0 runs in $A, rank 1 in
# $B, with the same config naming relative paths; $B's copies are broken one at a time.
echo "== 3. input missing or different on rank 1 only"
A=$WORK/rankA B=$WORK/rankB
mkdir -p "$A" "$B"
cp -r "$WORK/init" "$A/model"
cp "$WORK/forget.jsonl" "$WORK/retain.jsonl" "$A/"
sed -e "s#\"$WORK/init\"#\"model\"#" -e "s#\"$WORK/\([a-z]*\.jsonl\)\"#\"\1\"#" -e "s#\"$WORK/disk\"#\"out\"#" \
  "$WORK/disk.toml" >"$A/c.toml"
grep -q '^path = "model"' "$A/c.toml" && grep -q '^forget = "forget.jsonl"' "$A/c.toml" || fail "relative config"
cp "$A/c.toml" "$B/c.toml"
mpmd() {
  bounded 120 "$1" "${MPI1[@]}" -wdir "$A" "$UNL" run --config c.toml --set train.max_steps=1 \
    : -n 1 -wdir "$B" "$UNL" run --config c.toml --set train.max_steps=1
}
# 3a. The model directory is missing on rank 1.
cp "$WORK/forget.jsonl" "$WORK/retain.jsonl" "$B/"
mpmd "$WORK/mpmd_model.log"
[ "$rc" != 0 ] || fail "a missing model directory on rank 1 went unnoticed"
in_log "$WORK/mpmd_model.log" "error: rank 1 .*'$B/model'"
pass "model directory missing on rank 1: exit $rc, rank 1 and $B/model named"
# 3b. The forget set is missing on rank 1.
cp -r "$WORK/init" "$B/model"
rm "$B/forget.jsonl"
mpmd "$WORK/mpmd_data.log"
[ "$rc" != 0 ] || fail "a missing data file on rank 1 went unnoticed"
in_log "$WORK/mpmd_data.log" "error: rank 1 .*'$B/forget.jsonl' does not exist"
pass "forget set missing on rank 1: exit $rc, rank 1 and the path named"
# 3c. Rank 1 has a different copy of the forget set (an older version on its node).
sed 's/Elm Street/Oak Street/' "$WORK/forget.jsonl" >"$B/forget.jsonl"
mpmd "$WORK/mpmd_differs.log"
[ "$rc" != 0 ] || fail "rank 1 trained on a different forget set and nothing noticed"
in_log "$WORK/mpmd_differs.log" "rank 1: data set '$B/forget.jsonl' .* differs from rank 0's '$A/forget.jsonl'"
pass "forget set differs on rank 1: exit $rc, both paths named"
# 3d. Rank 1's model directory differs (its tokenizer files are missing).
cp "$WORK/forget.jsonl" "$B/"
rm -f "$B/model/vocab.json" "$B/model/merges.txt"
mpmd "$WORK/mpmd_tok.log"
[ "$rc" != 0 ] || fail "rank 1 ran with a different model directory and nothing noticed"
in_log "$WORK/mpmd_tok.log" "rank 1: model.path '$B/model' .* differs from rank 0's '$A/model'"
pass "model directory differs on rank 1 (no tokenizer files): exit $rc, both paths named"
# 3e. Identical copies at different paths are fine (control for 3c/3d).
cp "$WORK/init/"* "$B/model/"
mpmd "$WORK/mpmd_same.log"
[ "$rc" = 0 ] || { cat "$WORK/mpmd_same.log" >&2; fail "identical copies on both ranks were refused"; }
pass "identical copies at different paths on the two ranks: the job runs"
# 3f. The config file itself is missing on rank 1: rejected before MPI starts, exit 2.
mv "$B/c.toml" "$B/c.toml.away"
mpmd "$WORK/mpmd_cfg.log"
[ "$rc" = 2 ] || { cat "$WORK/mpmd_cfg.log" >&2; fail "missing config on rank 1: expected exit 2, got $rc"; }
in_log "$WORK/mpmd_cfg.log" "c.toml"
mv "$B/c.toml.away" "$B/c.toml"
pass "config file missing on rank 1: exit 2 without a hang"
# 3g. Unreadable (not missing) forget set on rank 1; root reads anything, so only as a user.
if [ "$(id -u)" != 0 ]; then
  chmod 000 "$B/forget.jsonl"
  mpmd "$WORK/mpmd_perm.log"
  chmod 644 "$B/forget.jsonl"
  [ "$rc" != 0 ] || fail "an unreadable data file on rank 1 went unnoticed"
  in_log "$WORK/mpmd_perm.log" "error: rank 1 .*$B/forget.jsonl"
  pass "forget set unreadable on rank 1: exit $rc, rank 1 and the path named"
else
  echo "SKIP: 3g (unreadable file): running as root, which reads files whatever their mode"
fi

# ---- 4. Model vocabulary smaller than the tokenizer's ----------------------------------------
echo "== 4. model/tokenizer vocabulary mismatch"
sed -e 's/"vocab_size": 50257/"vocab_size": 1000/' -e 's/50256/999/g' "$WORK/tiny.json" >"$WORK/small.json"
"$UNL" init --family gpt-neo --config "$WORK/small.json" --out "$WORK/small" --seed 3 >/dev/null || fail "init small"
write_icu_config vocab vocab "$WORK/small" </dev/null
# 4a. No tokenizer files in the model directory: the built-in GPT-2 vocabulary (50257) is used.
bounded 120 "$WORK/vocab_builtin.log" "${MPI2[@]}" "$UNL" run --config "$WORK/vocab.toml"
[ "$rc" = 1 ] || { cat "$WORK/vocab_builtin.log" >&2; fail "vocabulary mismatch: expected exit 1, got $rc"; }
in_log "$WORK/vocab_builtin.log" "the tokenizer has 50257 tokens but the model's vocabulary is 1000.*HINT"
[ ! -s "$WORK/vocab/metrics.jsonl" ] && ! ls "$WORK/vocab/checkpoints/"*.h5 >/dev/null 2>&1 || fail "it trained before noticing"
pass "model vocabulary 1000 with the built-in GPT-2 tokenizer: exit 1 before training, both sizes and a hint"
# 4b. The model directory carries a GPT-2 tokenizer (vocab.json + merges.txt) of 50257 ids.
cp "$WORK/init/vocab.json" "$WORK/init/merges.txt" "$WORK/small/"
bounded 120 "$WORK/vocab_files.log" "${MPI2[@]}" "$UNL" run --config "$WORK/vocab.toml"
[ "$rc" = 1 ] || { cat "$WORK/vocab_files.log" >&2; fail "vocabulary mismatch: expected exit 1, got $rc"; }
in_log "$WORK/vocab_files.log" "the tokenizer has 50257 tokens but the model's vocabulary is 1000.*HINT"
pass "model vocabulary 1000 with a 50257-id tokenizer in its directory: exit 1 before training, both sizes and a hint"

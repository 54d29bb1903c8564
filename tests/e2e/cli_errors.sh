#!/usr/bin/env bash
# Bad input gets a clear message naming the problem and the fix, and the documented exit code.
source "$(dirname "$0")/lib.sh"

expect_exit 2 "$UNL" --no-such-flag
expect_exit 2 "$UNL" run
expect_output "config"
expect_exit 2 "$UNL" run --config "$WORK/missing.toml"

cat >"$WORK/bad.toml" <<'TOML'
[model]
path = "/nonexistent/model"
[data]
forget = "f.jsonl"
retain = "r.jsonl"
[train]
batch_size = 0
learning_rate = 3
[method]
name = "magic"
TOML
expect_exit 2 "$UNL" run --config "$WORK/bad.toml"
expect_output "unknown key 'train.learning_rate'"
expect_exit 2 "$UNL" run --config "$WORK/bad.toml" --set train.learning_rate=1
expect_output "HINT"
sed -i '/learning_rate/d' "$WORK/bad.toml"
expect_exit 2 "$UNL" run --config "$WORK/bad.toml"
expect_output "'train.batch_size' must be >= 1"
expect_output "'method.name' is 'magic'"
pass "config errors are reported together with exit code 2"

# A model directory that does not exist: exit 1 naming the path.
sed -i 's/batch_size = 0/batch_size = 2/; s/"magic"/"icu"/' "$WORK/bad.toml"
echo '{"text": "hello"}' >"$WORK/f.jsonl"; cp "$WORK/f.jsonl" "$WORK/r.jsonl"
expect_exit 1 "$UNL" run --config "$WORK/bad.toml"
expect_output "/nonexistent/model"
pass "a missing model is named"

expect_exit 0 "$UNL" config --reference
expect_output "train.batch_size"
expect_exit 0 "$UNL" --version
pass "cli"

#!/usr/bin/env bash
# Tokenizer encode throughput per family (docs/tokenizers.md): builds a mixed-language corpus
# (English fortunes from the Debian `fortunes` package + the multilingual reference and stress
# strings), runs bench_tokenizer_encode on 1 thread and all cores, and the npm
# @huggingface/tokenizers reference under node on the same corpus when node/npm are present.
# Usage: bench/tokenizers.sh [TOKENIZERS_DIR (default ../shared/data/tokenizers)] [REPEAT]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${1:-$here/../shared/data/tokenizers}
repeat=${2:-3}
bin=$here/build/bench/bench_tokenizer_encode
[ -x "$bin" ] || { echo "build bench_tokenizer_encode first (cmake --build build --target bench_tokenizer_encode)" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
corpus=$tmp/corpus.jsonl
# English prose: one fortune per document.
if ls /usr/share/games/fortunes/*.dat >/dev/null 2>&1; then
  for f in /usr/share/games/fortunes/*; do
    case $f in *.dat|*.u8) continue ;; esac
    awk 'BEGIN{RS="%\n"} {gsub(/\\/,"\\\\"); gsub(/"/,"\\\""); gsub(/\t/,"\\t"); gsub(/\r/,""); gsub(/\n/,"\\n"); printf "{\"text\": \"%s\"}\n", $0}' "$f"
  done | LC_ALL=C grep -v '[^ -~]' >"$tmp/english.jsonl" || true
fi
# Multilingual: the reference and stress strings of every family, repeated to weigh as much.
for f in "$data"/*/encode.jsonl "$here"/tests/golden/tokenizers/*_stress.jsonl; do grep '"text"' "$f" | sed -E 's/^\{"text":("([^"\\]|\\.)*").*$/{"text": \1}/'; done >"$tmp/multi1.jsonl"
en=$(wc -c <"$tmp/english.jsonl" 2>/dev/null || echo 0); mu=$(wc -c <"$tmp/multi1.jsonl")
: >"$tmp/multi.jsonl"; for _ in $(seq 1 $(( en / (mu + 1) + 1 ))); do cat "$tmp/multi1.jsonl" >>"$tmp/multi.jsonl"; done
cat "$tmp/english.jsonl" "$tmp/multi.jsonl" 2>/dev/null >"$corpus"
echo "# corpus: $(wc -l <"$corpus") documents, $(wc -c <"$corpus") bytes of JSONL; $(nproc) cores" >&2
ref=""
if command -v node >/dev/null && command -v npm >/dev/null; then
  (cd "$tmp" && npm init -y >/dev/null 2>&1 && npm install --silent @huggingface/tokenizers@0.2.0 >/dev/null 2>&1) && ref=$tmp
  cp "$here/bench/tokenizer_reference.mjs" "$tmp/"
fi
for family in llama3 qwen3 mistral; do
  [ -f "$data/$family/tokenizer.json" ] || continue
  "$bin" --tokenizer "$data/$family" --corpus "$corpus" --threads "$(nproc)" --repeat "$repeat"
  [ -n "$ref" ] && (cd "$ref" && node tokenizer_reference.mjs "$data/$family" "$corpus" "$repeat")
done

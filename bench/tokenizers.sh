#!/usr/bin/env bash
# Tokenizer encode throughput per family (docs/tokenizers.md): builds a mixed-language corpus
# (English fortunes from the Debian `fortunes` package + the multilingual reference and stress
# strings, in equal weight), runs bench_tokenizer_encode on 1 thread and on all cores for each
# family, and the npm @huggingface/tokenizers reference under node on the same corpus, 1 worker
# and all cores, where it can read the family's files (it reads tokenizer.json only).
# Families: gpt2 (assets/gpt2 vocab.json + merges.txt, `unlearn`'s GPT-2 fast path), gpt2-json
# (the same vocabulary as a tokenizer.json, through the general pipeline; the reference's GPT-2),
# llama3, qwen3, mistral (Llama-2-style SentencePiece BPE in tokenizer.json) from
# TOKENIZERS_DIR, and sentencepiece (tests/golden/sentencepiece/tokenizer.model through
# libsentencepiece; a 400-piece toy model, no reference).
# The reference is installed into REF_DIR (default /tmp/tokbench), never into the repository.
# Prints JSON lines: the machine and its load first and last, then one line per family,
# implementation and thread count (tokens: the ids produced, which must agree between the two).
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
# (JSON written by python3: the fortunes hold backslashes and control characters that awk escaped
# wrongly, which broke the JSON readers of both benchmarks.)
python3 - >"$tmp/english.jsonl" <<'PY' || true
import glob, json
for f in sorted(glob.glob("/usr/share/games/fortunes/*")):
    if f.endswith((".dat", ".u8")):
        continue
    for doc in open(f, encoding="utf-8", errors="replace").read().split("\n%\n"):
        if doc.strip() and doc.isascii():
            print(json.dumps({"text": doc}))
PY
# Multilingual: the reference and stress strings of every family, repeated to weigh as much.
for f in "$data"/*/encode.jsonl "$here"/tests/golden/tokenizers/*_stress.jsonl; do grep '"text"' "$f" | sed -E 's/^\{"text":("([^"\\]|\\.)*").*$/{"text": \1}/'; done >"$tmp/multi1.jsonl"
en=$(wc -c <"$tmp/english.jsonl" 2>/dev/null || echo 0); mu=$(wc -c <"$tmp/multi1.jsonl")
: >"$tmp/multi.jsonl"; for _ in $(seq 1 $(( en / (mu + 1) + 1 ))); do cat "$tmp/multi1.jsonl" >>"$tmp/multi.jsonl"; done
cat "$tmp/english.jsonl" "$tmp/multi.jsonl" 2>/dev/null >"$corpus"
echo "# corpus: $(wc -l <"$corpus") documents, $(wc -c <"$corpus") bytes of JSONL; $(nproc) cores" >&2
ref_dir=${REF_DIR:-/tmp/tokbench}
ref=""
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [ ! -d "$ref_dir/node_modules/@huggingface/tokenizers" ]; then
    mkdir -p "$ref_dir"
    (cd "$ref_dir" && { [ -f package.json ] || npm init -y >/dev/null 2>&1; } &&
      npm install --silent @huggingface/tokenizers@0.2.0 >/dev/null 2>&1) || true
  fi
  if [ -d "$ref_dir/node_modules/@huggingface/tokenizers" ]; then
    cp "$here/bench/tokenizer_reference.mjs" "$here/bench/gpt2_tokenizer_json.mjs" "$ref_dir/"
    ref=$ref_dir
  fi
fi
[ -n "$ref" ] || echo "# no node/npm reference: only our figures" >&2
cores=$(nproc)
machine() {  # one JSON line: what the machine is and how loaded it is now
  printf '{"when": "%s", "cpu": "%s", "cores": %s, "mem_gb": %s, "uptime": "%s"}\n' "$1" \
    "$(LC_ALL=C lscpu | sed -n 's/^Model name: *//p' | head -1)" "$cores" \
    "$(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)" "$(uptime | sed 's/^ *//')"
}
machine start
# family name, tokenizer directory, whether the reference can read it
dirs=("gpt2|$here/assets/gpt2|no")
if [ -n "$ref" ]; then
  (cd "$ref" && node gpt2_tokenizer_json.mjs "$here/assets/gpt2/vocab.json" "$here/assets/gpt2/merges.txt" "$tmp/gpt2-json")
  dirs+=("gpt2-json|$tmp/gpt2-json|yes")
fi
for family in llama3 qwen3 mistral; do
  [ -f "$data/$family/tokenizer.json" ] && dirs+=("$family|$data/$family|yes")
done
dirs+=("sentencepiece|$here/tests/golden/sentencepiece|no")
for entry in "${dirs[@]}"; do
  IFS='|' read -r family dir has_ref <<<"$entry"
  label() { sed "s/^{/{\"family\": \"$family\", /"; }
  "$bin" --tokenizer "$dir" --corpus "$corpus" --threads "$cores" --repeat "$repeat" | label
  if [ -n "$ref" ] && [ "$has_ref" = yes ]; then
    (cd "$ref" && node tokenizer_reference.mjs "$dir" "$corpus" "$repeat" "$cores") | label
  fi
done
machine end

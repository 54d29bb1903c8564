#!/usr/bin/env bash
# `unlearn tokenize` on the reference vectors of each tokenizer.json family
# (../shared/data/tokenizers/<family>/, computed with @huggingface/tokenizers and
# @huggingface/jinja): encode with and without --special, decode (text and text_clean_up), and
# chat-template rendering + ids. Input lines are the reference lines with the expected fields cut
# off; the output must then equal the reference line byte for byte.
source "$(dirname "$0")/lib.sh"
DATA="$SRC/../shared/data/tokenizers"
[ -d "$DATA" ] || { echo "SKIP: $DATA not found"; exit 0; }

compare() {  # compare NAME EXPECTED ACTUAL
  if ! cmp -s "$2" "$3"; then
    diff <(head -c 4000 "$2") <(head -c 4000 "$3") | head -20 >&2
    fail "$1: output differs from the reference"
  fi
}

for family in llama3 qwen3 mistral; do
  dir="$DATA/$family"
  [ -f "$dir/tokenizer.json" ] || fail "$dir/tokenizer.json missing"
  # encode: {"text"} -> {"text","ids"}; --special gives ids_with_special.
  sed -E 's/,"ids":\[[^]]*\],"ids_with_special":\[[^]]*\]\}$/}/' "$dir/encode.jsonl" >"$WORK/$family.enc.in"
  sed -E 's/,"ids_with_special":\[[^]]*\]\}$/}/' "$dir/encode.jsonl" >"$WORK/$family.enc.want"
  sed -E 's/,"ids":\[[^]]*\],"ids_with_special":(\[[^]]*\])\}$/,"ids":\1}/' "$dir/encode.jsonl" >"$WORK/$family.encs.want"
  "$UNL" tokenize --tokenizer "$dir" --input "$WORK/$family.enc.in" >"$WORK/$family.enc.out" || fail "$family: tokenize (encode)"
  compare "$family encode" "$WORK/$family.enc.want" "$WORK/$family.enc.out"
  "$UNL" tokenize --tokenizer "$dir" --input "$WORK/$family.enc.in" --special >"$WORK/$family.encs.out" || fail "$family: tokenize --special"
  compare "$family encode --special" "$WORK/$family.encs.want" "$WORK/$family.encs.out"
  # decode: {"ids"} -> {"ids","text","text_clean_up"}.
  sed -E 's/^(\{"ids":\[[^]]*\]).*$/\1}/' "$dir/decode.jsonl" >"$WORK/$family.dec.in"
  "$UNL" tokenize --tokenizer "$dir" --input "$WORK/$family.dec.in" >"$WORK/$family.dec.out" || fail "$family: tokenize (decode)"
  compare "$family decode" "$dir/decode.jsonl" "$WORK/$family.dec.out"
  # chat: {"messages","add_generation_prompt",["chat_template_kwargs"]} -> + "text","ids".
  if [ -f "$dir/chat.jsonl" ]; then
    sed -E 's/,"text":".*$/}/' "$dir/chat.jsonl" >"$WORK/$family.chat.in"
    "$UNL" tokenize --tokenizer "$dir" --input "$WORK/$family.chat.in" >"$WORK/$family.chat.out" || fail "$family: tokenize (chat)"
    compare "$family chat" "$dir/chat.jsonl" "$WORK/$family.chat.out"
  fi
  pass "$family: encode, encode --special, decode$([ -f "$dir/chat.jsonl" ] && echo ", chat") match the reference"
done

# A chat line for a tokenizer without a template is refused with a message naming the problem.
echo '{"messages":[{"role":"user","content":"hi"}],"add_generation_prompt":true}' >"$WORK/chat.jsonl"
expect_exit 1 "$UNL" tokenize --tokenizer "$DATA/mistral" --input "$WORK/chat.jsonl"
expect_output "no chat template"
pass "a chat line without a chat template is refused"

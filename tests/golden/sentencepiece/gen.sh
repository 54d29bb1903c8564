#!/usr/bin/env bash
# Regenerates the SentencePiece golden: a small Llama-2-style BPE model (byte fallback, split
# digits, dummy prefix) trained on the project's own docs, and the ids the SentencePiece command
# line tools (Debian package `sentencepiece`, an independent reference: they never load our code)
# give for texts.txt. Run from this folder; needs spm_train / spm_encode.
set -euo pipefail
cat ../../../docs/*.md >/tmp/spm_corpus.txt
spm_train --input=/tmp/spm_corpus.txt --model_prefix=tokenizer --vocab_size=400 --model_type=bpe \
  --byte_fallback=true --split_digits=true --character_coverage=0.9995 --bos_id=1 --eos_id=2 --unk_id=0 \
  --pad_id=-1 --normalization_rule_name=identity --remove_extra_whitespaces=false --seed_sentencepiece_size=10000 \
  --minloglevel=2 >/dev/null
mv tokenizer.model tokenizer.model.tmp && mv tokenizer.model.tmp tokenizer.model && rm -f tokenizer.vocab
spm_encode --model=tokenizer.model --output_format=id <texts.txt >ids.txt

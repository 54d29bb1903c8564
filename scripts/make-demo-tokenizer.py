#!/usr/bin/env python3
"""Train the demo's byte-level BPE tokenizer (GPT-2 format: vocab.json + merges.txt).

The demo fits a small model from scratch; with the 50k GPT-2 vocabulary most of its parameters
would be embeddings of tokens the demo corpus never uses, and it could not learn the language in
minutes. This trains a vocabulary of --vocab-size entries on the demo's own training text:

    build/bin/unlearn demo --out demo-out --data-only
    scripts/make-demo-tokenizer.py demo-out/data/train.jsonl assets/demo

Byte-level BPE as GPT-2 defines it: bytes mapped to printable code points, GPT-2's
pre-tokenization regex, then merges of the most frequent adjacent pair (ties broken by the pair's
text, so the output is reproducible). Not called by the product: its output is committed.
"""
import argparse
import collections
import json
import os

import regex  # Debian python3-regex: \p{L} / \p{N} like the product's PCRE2 pattern

PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
EOT = "<|endoftext|>"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train_jsonl")
    ap.add_argument("out_dir")
    ap.add_argument("--vocab-size", type=int, default=1024)
    a = ap.parse_args()
    b2u = bytes_to_unicode()
    words = collections.Counter()
    with open(a.train_jsonl, encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            for piece in PAT.findall(text):
                words[tuple(b2u[b] for b in piece.encode("utf-8"))] += 1
    vocab = [b2u[b] for b in sorted(b2u)]  # ids 0..255: the bytes in byte order
    merges = []
    words = {w: c for w, c in words.items()}
    while len(vocab) + 1 < a.vocab_size:
        pairs = collections.Counter()
        for w, c in words.items():
            for p in zip(w, w[1:]):
                pairs[p] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], tuple(-ord(ch) for ch in kv[0][0] + " " + kv[0][1])))[0]
        merged = best[0] + best[1]
        merges.append(best)
        vocab.append(merged)
        new = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == best[0] and w[i + 1] == best[1]:
                    out.append(merged)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    vocab.append(EOT)
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(a.out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for l, r in merges:
            f.write(f"{l} {r}\n")
    print(f"{len(vocab)} tokens, {len(merges)} merges, from {sum(words.values())} pre-tokens")


if __name__ == "__main__":
    main()

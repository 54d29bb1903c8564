// Writes GPT-2's tokenizer.json (the layout of Hugging Face's gpt2 repository: ByteLevel
// pre-tokenizer with its regex, BPE without unk, ByteLevel post-processor and decoder,
// <|endoftext|> as the one added token) from vocab.json + merges.txt, so that the reference
// implementation, which reads only tokenizer.json, encodes with the vocabulary `unlearn` ships.
// Usage: node gpt2_tokenizer_json.mjs VOCAB.json MERGES.txt OUT_DIR
import fs from "node:fs";
import path from "node:path";

const [vocabPath, mergesPath, out] = process.argv.slice(2);
const vocab = JSON.parse(fs.readFileSync(vocabPath, "utf8"));
const merges = fs.readFileSync(mergesPath, "utf8").split("\n").filter((l) => l && !l.startsWith("#version"));
const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
const eot = "<|endoftext|>";
const tj = {
  version: "1.0", truncation: null, padding: null,
  added_tokens: [{ id: vocab[eot], content: eot, single_word: false, lstrip: false, rstrip: false, normalized: true,
                   special: true }],
  normalizer: null, pre_tokenizer: byteLevel, post_processor: byteLevel, decoder: byteLevel,
  model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
           fuse_unk: false, byte_fallback: false, vocab, merges },
};
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "tokenizer.json"), JSON.stringify(tj));
fs.writeFileSync(path.join(out, "tokenizer_config.json"),
                 JSON.stringify({ bos_token: eot, eos_token: eot, unk_token: eot, model_max_length: 1024 }));

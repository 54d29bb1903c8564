// Generates stress vectors for the tokenizer.json pipeline: seeded random strings mixing scripts,
// whitespace variants, digits, contractions, emoji and the families' own added tokens, encoded
// and decoded by the reference implementation @huggingface/tokenizers (npm, 0.2.0).
// Run: cd <dir with node_modules/@huggingface/tokenizers> && node make_stress.mjs <shared>/data/tokenizers <out dir>
import fs from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";

const [dataDir, outDir] = process.argv.slice(2);
let seed = 20240917;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (a) => a[Math.floor(rand() * a.length)];

const words = ["hello", "World", "the", "quick", "brown", "fox", "don't", "I'M", "they'll", "WE'VE", "it's", "you'd",
  "naïve", "café", "cafe\u0301", "Ångström", "straße", "ΣΊΣΥΦΟΣ", "Привет", "мир", "こんにちは", "世界", "你好", "안녕하세요",
  "مرحبا", "שלום", "नमस्ते", "สวัสดี", "ภาษาไทย", "Ελληνικά", "١٢٣", "۴۵۶", "１２３", "½", "²", "Ⅻ", "x²", "e\u0301\u0301",
  "ﬁ", "Ｈｅｌｌｏ", "👨‍👩‍👧‍👦", "🇯🇵", "👍🏽", "😀", "🤖", "\u{1F9D1}\u200D\u{1F4BB}", "a_b", "foo.bar", "snake_case",
  "CamelCase", "http://example.com/a?b=c&d=e", "user@example.org", "#include", "<div>", "</s>x", "$100", "3.14159",
  "1,000,000", "2024-01-01", "12345678901", "0x1F", "'s", "'S", "’s", "--", "...", "?!", "«quoted»", "\"q\"", "(paren)",
  "[brackets]", "{braces}", "~tilde", "`code`", "\\n", "tab\tsep", "ǅ", "İstanbul", "ς", "ß", "ŉ"];
const spaces = [" ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00A0", "\u2003", "\u3000", "\u0085",
  "\uFEFF", "\u200B", "\u180E", "\u2028", "\f", "\v", " \t "];

function specialsOf(tj) {
  return (tj.added_tokens || []).map((t) => t.content).slice(0, 40);
}

function makeString(specials, extra) {
  const n = 1 + Math.floor(rand() * 12);
  let s = rand() < 0.2 ? pick(spaces) : "";
  for (let i = 0; i < n; ++i) {
    const r = rand();
    if (r < 0.08 && specials.length) s += pick(specials);
    else if (r < 0.12) s += pick(extra);
    else if (r < 0.16) s += String(Math.floor(rand() * 1e7));
    else s += pick(words);
    if (rand() < 0.8) s += pick(spaces);
  }
  return s;
}

for (const family of ["llama3", "qwen3", "mistral"]) {
  const dir = path.join(dataDir, family);
  const tj = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const tc = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  const tok = new Tokenizer(tj, tc);
  const specials = specialsOf(tj);
  const extra = ["<s>", "<|im_start|>", "<|begin_of_text|>", "<think>", "<|endoftext|>", "<unk>", "< s>", "<|", "|>"];
  const lines = [];
  for (let i = 0; i < 200; ++i) {
    const text = makeString(specials, extra);
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const with_special = tok.encode(text).ids;
    lines.push(JSON.stringify({ text, ids, ids_with_special: with_special, decoded: tok.decode(ids, { skip_special_tokens: false }) }));
  }
  // Random id sequences: decoding must cope with broken UTF-8 byte tokens.
  const vocabSize = Object.keys(tj.model.vocab).length;
  for (let i = 0; i < 40; ++i) {
    const ids = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => Math.floor(rand() * vocabSize));
    lines.push(JSON.stringify({ ids, decoded: tok.decode(ids, { skip_special_tokens: false }),
                                decoded_skip: tok.decode(ids, { skip_special_tokens: true }) }));
  }
  fs.writeFileSync(path.join(outDir, `${family}_stress.jsonl`), lines.join("\n") + "\n");
  console.log(family, lines.length);
}

// Small hand-made tokenizer.json files exercising the parts the three reference families do not
// use (Metaspace pre-tokenizer, NFKC/Lowercase/StripAccents/Strip/Replace normalizers, Digits,
// Punctuation, Whitespace(Split), Split with invert, subword prefix/suffix, unk with and
// without fusing, byte fallback, lstrip/rstrip/single_word/normalized added tokens, Roberta and
// Template post-processors, BPEDecoder/Metaspace/Strip/Replace decoders), each with cases
// encoded and decoded by @huggingface/tokenizers (npm, 0.2.0). That library departs from the Rust
// tokenizers on Split with invert or a String pattern, on the Merged*/Contiguous behaviours and
// on runs of punctuation, on single_word inside normalized text and on Metaspace "first" after an
// added token, so those are tested by hand (tests/unit/tokenizer/components_test.cpp).
// Run: cd <dir with node_modules/@huggingface/tokenizers> && node make_handmade.mjs <out dir>
import fs from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";

const outDir = process.argv[2];
const chars = (s) => Array.from(new Set(Array.from(s)));
const ascii = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).filter((c) => c !== " ");
function vocabOf(specials, symbols, merges, extra = []) {
  const v = {};
  let id = 0;
  for (const t of [...specials, ...symbols, ...extra]) if (!(t in v)) v[t] = id++;
  for (const [a, b] of merges) if (!((a + b) in v)) v[a + b] = id++;
  return v;
}
const special = (id, content, more = {}) => ({ id, content, single_word: false, lstrip: false, rstrip: false,
  normalized: false, special: true, ...more });

const variants = {};

// A: NFKC + Lowercase, Metaspace (prepend "first"), unk not fused, template <s> A </s>.
{
  const merges = [["▁", "t"], ["▁t", "h"], ["▁th", "e"], ["e", "r"], ["i", "n"], ["▁", "h"], ["▁h", "e"], ["▁he", "l"], ["▁hel", "l"], ["▁hell", "o"]];
  const vocab = vocabOf(["<unk>", "<s>", "</s>"], ["▁", ...chars("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")], merges);
  const n = Object.keys(vocab).length;
  variants.metaspace_first = {
    tokenizer: {
      version: "1.0", truncation: null, padding: null,
      added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>"),
        special(n, "<mask>", { lstrip: true }), special(n + 1, "[X]", { rstrip: true }),
        { id: n + 2, content: "hello", single_word: true, lstrip: false, rstrip: false, normalized: true, special: false }],
      normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" }] },
      pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: true },
      post_processor: { type: "TemplateProcessing",
        single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } }],
        pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] }, "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] } } },
      decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: true },
      model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
    },
    texts: ["The hell", "  the  THE ", "Hello there", "ﬁn ｔｈｅ Ⅻ", "über ÆØ",
      "a <mask> b", "a    <mask>b", "[X]   next", "x[X] y", "<s>the</s>", "émigré 123", "", " ", "théâtre Ünïcödé",
      "hello<mask>hello", "İstanbul ΣΑΣ", "tab\there\nnew"],
  };
}

// B: NFD + StripAccents + Strip + Replace(\s+ -> " "), WhitespaceSplit + Digits + Punctuation,
// fused unk, Roberta post-processor, BPEDecoder. (The subword prefix / suffix are tested by hand:
// @huggingface/tokenizers does not merge across them as the Rust library does.)
{
  const letters = chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-()");
  const merges = [["t", "h"], ["th", "e"], ["c", "a"], ["ca", "t"], ["i", "n"], ["in", "g"]];
  const vocab = vocabOf(["<s>", "</s>", "[UNK]", "<pad>"], letters, merges);
  variants.normalize_and_split = {
    tokenizer: {
      version: "1.0", truncation: null, padding: null,
      added_tokens: [special(0, "<s>"), special(1, "</s>"), special(2, "[UNK]")],
      normalizer: { type: "Sequence", normalizers: [{ type: "NFD" }, { type: "StripAccents" }, { type: "Strip", strip_left: true, strip_right: true },
        { type: "Replace", pattern: { Regex: "\\s+" }, content: " " }] },
      pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Digits", individual_digits: true },
        { type: "Punctuation", behavior: "Isolated" }] },
      post_processor: { type: "RobertaProcessing", sep: ["</s>", 1], cls: ["<s>", 0], trim_offsets: true, add_prefix_space: false },
      decoder: { type: "BPEDecoder", suffix: "</w>" },
      model: { type: "BPE", dropout: null, unk_token: "[UNK]", continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: true, byte_fallback: false, ignore_merges: false, vocab, merges },
    },
    texts: ["the cat", "  The   cät sing  ", "sing, singing! (2024)", "naïve café", "x☃☃y z", "€€€", "it's 12.5", "Ṭhe   ÇAT\n\tsing",
      "", "   ", "a-b-c", "cats1234"],
  };
}

// C: ByteLevel with add_prefix_space and its regex, normalized / non-normalized added tokens,
// Roberta post-processor, ByteLevel decoder.
{
  const bytes = [];
  for (let b = 0; b < 256; ++b) {
    const printable = (b >= 33 && b <= 126) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    bytes.push(b);
  }
  const bs = []; const cs = []; let n = 0;
  for (let b = 0; b < 256; ++b) {
    const printable = (b >= 33 && b <= 126) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    bs.push(b); cs.push(printable ? b : 256 + n++);
  }
  const byteChars = cs.map((c) => String.fromCodePoint(c));
  const merges = [["Ġ", "t"], ["Ġt", "h"], ["Ġth", "e"], ["h", "e"], ["l", "l"], ["ll", "o"], ["Ġ", "w"], ["o", "r"], ["Ġw", "or"], ["Ġwor", "ld"], ["l", "d"]];
  const vocab = vocabOf(["<s>", "</s>"], byteChars, merges.slice(0, 9).concat([["l", "d"]]).concat([["Ġwor", "ld"]]));
  const size = Object.keys(vocab).length;
  variants.bytelevel_prefix = {
    tokenizer: {
      version: "1.0", truncation: null, padding: null,
      added_tokens: [special(0, "<s>"), special(1, "</s>"), special(size, "<|x|>"),
        { id: size + 1, content: " yes", single_word: false, lstrip: false, rstrip: false, normalized: true, special: false }],
      normalizer: null,
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      post_processor: { type: "RobertaProcessing", sep: ["</s>", 1], cls: ["<s>", 0], trim_offsets: true, add_prefix_space: true },
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, vocab, merges: merges.map(([a, b]) => a + " " + b) },
    },
    texts: ["the world", "hello world", "The<|x|>the", "say yes yes", "yes", "  spaced   out  ", "naïve 😀 日本", "it's I'LL", "123 4567",
      "<|x|><|x|>", "line\nbreak\r\n", ""],
  };
}

// D: Split (regex, removed) + Whitespace, byte fallback with fused unk, Sequence decoder.
{
  const hex = Array.from({ length: 256 }, (_, b) => "<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">");
  const merges = [["t", "h"], ["th", "e"], ["i", "s"], ["_", "x"]];
  const vocab = vocabOf(["<unk>", "<s>", "</s>"], [...hex, ...ascii, "▁"], merges);
  variants.byte_fallback_split = {
    tokenizer: {
      version: "1.0", truncation: null, padding: null,
      added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
      normalizer: { type: "Replace", pattern: { String: "\t" }, content: "_" },
      pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: "\\|" }, behavior: "Removed", invert: false },
        { type: "Whitespace" }] },
      post_processor: { type: "TemplateProcessing",
        single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
        pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } } },
      decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "_" }, content: " " }, { type: "ByteFallback" },
        { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 1 }] },
      model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges },
    },
    texts: ["this is the end", "a|b||c", "naïve 日本", "x\ty", "😀!", "the_x is", "  ", "é", "<s>this</s>"],
  };
}

// E: Prepend normalizer, Split (regex, isolated), Metaspace (always, no split).
{
  const merges = [["▁", "a"], ["▁a", "b"], ["c", "d"]];
  const vocab = vocabOf(["<unk>"], ["▁", ...chars("abcdefghijklmnopqrstuvwxyz0123456789 ")], merges);
  variants.split_isolated_metaspace = {
    tokenizer: {
      version: "1.0", truncation: null, padding: null,
      added_tokens: [special(0, "<unk>")],
      normalizer: { type: "Prepend", prepend: "▁" },
      pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: "[a-z]+" }, behavior: "Isolated", invert: false },
        { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: false }] },
      post_processor: null,
      decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: false },
      model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
    },
    texts: ["ab cd", "abcd ab", "x1y2 z", "  ab", "ÀB ab", ""],
  };
}

for (const [name, v] of Object.entries(variants)) {
  const tok = new Tokenizer(v.tokenizer, {});
  const cases = v.texts.map((text) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const with_special = tok.encode(text).ids;
    const dec = (x, skip) => (x.length ? tok.decode(x, { skip_special_tokens: skip }) : "");
    return { text, ids, ids_with_special: with_special, decoded: dec(ids, false), decoded_skip: dec(with_special, true) };
  });
  fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify({ tokenizer: v.tokenizer, cases }, null, 1) + "\n");
  console.log(name, cases.length);
}

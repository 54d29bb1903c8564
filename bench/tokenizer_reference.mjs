// The reference figure for bench_tokenizer_encode: @huggingface/tokenizers (npm) encoding the
// same corpus on one thread under node, best of R runs, each with a fresh tokenizer (cold cache,
// as each of our runs starts its threads' caches empty).
// Usage: node tokenizer_reference.mjs TOKENIZER_DIR CORPUS.jsonl [R]
import fs from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";

const [dir, corpus, rArg] = process.argv.slice(2);
const repeat = Number(rArg || 3);
const tj = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
const cfgPath = path.join(dir, "tokenizer_config.json");
const tc = fs.existsSync(cfgPath) ? JSON.parse(fs.readFileSync(cfgPath, "utf8")) : {};
const docs = fs.readFileSync(corpus, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l).text);
const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d, "utf8"), 0);
let best = Infinity, tokens = 0;
for (let r = 0; r < repeat; ++r) {
  const tok = new Tokenizer(tj, tc);
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (const d of docs) n += tok.encode(d, { add_special_tokens: false }).ids.length;
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  tokens = n;
}
console.log(JSON.stringify({ tokenizer: dir, implementation: "@huggingface/tokenizers (node)", threads: 1, docs: docs.length,
  mb: bytes / 1e6, tokens, seconds: best, mb_per_s: bytes / 1e6 / best }));

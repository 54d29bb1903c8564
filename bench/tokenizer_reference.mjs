// The reference figure for bench_tokenizer_encode: @huggingface/tokenizers (npm) encoding the
// same corpus under node, on one thread and on N worker threads (documents dealt round-robin, as
// bench_tokenizer_encode deals them), best of R runs, each with fresh tokenizers (cold caches, as
// each of our runs starts its threads' caches empty). Construction is not timed.
// Usage: node tokenizer_reference.mjs TOKENIZER_DIR CORPUS.jsonl [R] [N]
import fs from "node:fs";
import path from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { Tokenizer } from "@huggingface/tokenizers";

function load(dir) {
  const tj = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const cfgPath = path.join(dir, "tokenizer_config.json");
  const tc = fs.existsSync(cfgPath) ? JSON.parse(fs.readFileSync(cfgPath, "utf8")) : {};
  return new Tokenizer(tj, tc);
}
function readDocs(corpus) {
  return fs.readFileSync(corpus, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l).text);
}
function encodeAll(tok, docs, t, n) {
  let count = 0;
  for (let d = t; d < docs.length; d += n) count += tok.encode(docs[d], { add_special_tokens: false }).ids.length;
  return count;
}

if (!isMainThread) {
  // A worker: load, say ready, encode its share on "go", report the token count.
  const { dir, corpus, t, n } = workerData;
  const tok = load(dir), docs = readDocs(corpus);
  parentPort.on("message", () => {
    parentPort.postMessage({ tokens: encodeAll(tok, docs, t, n) });
    process.exit(0);
  });
  parentPort.postMessage({ ready: true });
} else {
  const [dir, corpus, rArg, nArg] = process.argv.slice(2);
  const repeat = Number(rArg || 3), threads = Number(nArg || 1);
  const docs = readDocs(corpus);
  const bytes = docs.reduce((s, d) => s + Buffer.byteLength(d, "utf8"), 0);
  const report = (n, tokens, best) =>
    console.log(JSON.stringify({ tokenizer: dir, implementation: "@huggingface/tokenizers (node)", threads: n,
      docs: docs.length, mb: bytes / 1e6, tokens, seconds: best, mb_per_s: bytes / 1e6 / best }));
  // One thread: in this process.
  let best = Infinity, tokens = 0;
  for (let r = 0; r < repeat; ++r) {
    const tok = load(dir);
    const t0 = process.hrtime.bigint();
    tokens = encodeAll(tok, docs, 0, 1);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  report(1, tokens, best);
  if (threads > 1) {
    best = Infinity;
    for (let r = 0; r < repeat; ++r) {
      const workers = [];
      for (let t = 0; t < threads; ++t)
        workers.push(new Worker(new URL(import.meta.url), { workerData: { dir, corpus, t, n: threads } }));
      await Promise.all(workers.map((w) => new Promise((ok) => w.once("message", ok))));
      const t0 = process.hrtime.bigint();
      const done = workers.map((w) => new Promise((ok) => w.once("message", (m) => ok(m.tokens))));
      for (const w of workers) w.postMessage("go");
      const counts = await Promise.all(done);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
      tokens = counts.reduce((a, b) => a + b, 0);
    }
    report(threads, tokens, best);
  }
}

#!/usr/bin/python3
"""Turns the JSON lines written by bench/run-all into docs/benchmarks.md: the machine, the commands,
one table per issue-8 item with the derived ratios (MFU, speed-up, share, efficiency, fraction of
dd), each target checked, then the hand-written analysis (bench/benchmarks-analysis.md) verbatim.

Usage: bench/render.py RESULTS.jsonl MACHINE.txt ANALYSIS.md > docs/benchmarks.md
"""
import json
import sys


def load(path):
    rows = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def pick(rows, bench, **match):
    return [r for r in rows if r.get("bench") == bench and all(r.get(k) == v for k, v in match.items())]


def table(header, body):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(out)


def verdict(ok):
    return "**met**" if ok else "**not met**"


def main():
    rows = load(sys.argv[1])
    machine = open(sys.argv[2]).read().rstrip()
    analysis = open(sys.argv[3]).read().rstrip()
    commands = []
    for r in rows:
        line = f"[{r.get('item', '?')}, {r.get('at', '?')} UTC] {r.get('cmd', '?')}"
        if r.get("cmd") and line not in commands:
            commands.append(line)
    commands = "\n".join(commands)
    p = []
    p.append("# Benchmarks\n")
    p.append("Written by `bench/run-all` (do not edit by hand: edit `bench/benchmarks-analysis.md` or the\n"
             "benches, then rerun). Every ratio is taken within one measurement; the Commands section gives\n"
             "each row's item, time and command.\n")
    p.append("## Machine\n\n" + machine + "\n")

    p.append("## 1. Roofline\n")
    g = pick(rows, "gemm_fp32")
    body = [[f"fp32 GEMM {r['n']}^3, {r['threads']} thread(s)", f"{r['gflops']} GFLOP/s"] for r in g]
    for r in pick(rows, "gemm_fp32_denormal"):
        body.append([f"fp32 GEMM {r['n']}^3 on denormal inputs, flush-to-zero off / on (1 thread)",
                     f"{r['gflops_flush_off']} / {r['gflops_flush_on']} GFLOP/s"])
    for r in pick(rows, "memcpy"):
        body.append([f"memcpy {r['bytes'] >> 20} MiB (read + write)", f"{r['gbs']} GB/s"])
    for r in pick(rows, "dd_fsync"):
        body.append(["`dd bs=1M count=1500 conv=fsync` to the scratch dir (best of 2)", r["rate"]])
    p.append(table(["what", "figure"], body) + "\n")

    p.append("## 2. Training step (ICU: 2 forwards + reference forward + backward + all-reduce + Adam)\n")
    body = []
    for r in pick(rows, "icu_step") + pick(rows, "pytorch_icu_step"):
        who = "unlearn" if r["bench"] == "icu_step" else f"PyTorch {r.get('torch', '')} eager"
        ranks = r.get("ranks", 1)
        body.append([who, r["shape"], f"{r.get('global_batch', r.get('batch'))} x {r['seq']}", ranks, r["threads"],
                     r["step_s"], r["tokens_per_s"], r["achieved_gflops"],
                     r.get("peak_gflops", r.get("gemm_peak_gflops")), f"**{r['mfu']:.2f}**",
                     f"{r['comm_share']:.3f}" if "comm_share" in r and ranks > 1 else "-",
                     f"{r['wait_s'] / r['step_s']:.3f}" if "wait_s" in r and ranks > 1 else "-"])
    p.append(table(["implementation", "shape", "batch x seq", "ranks", "threads/rank", "s/step", "tokens/s",
                    "GFLOP/s", "GEMM peak GFLOP/s", "MFU", "all-reduce share", "waiting for the slowest rank"], body) + "\n")
    ours = [r for r in pick(rows, "icu_step", shape="125m") if r.get("ranks", 1) == 1]
    if ours:
        best = max(r["mfu"] for r in ours)
        p.append(f"Target (>= 50% MFU on CPU, 125M shape): best {best:.2f}, {verdict(best >= 0.5)}.\n")
    pairs = []
    for shape in ("10m", "125m"):
        a = [r["step_s"] for r in pick(rows, "icu_step", shape=shape) if r.get("ranks", 1) == 1 and r["threads"] == 1]
        b = [r["step_s"] for r in pick(rows, "pytorch_icu_step", shape=shape) if r["threads"] == 1]
        if a and b:
            pairs.append(f"{shape}: {min(b) / min(a):.2f}x")
    if pairs:
        p.append("Speed-up over PyTorch eager, same shapes, one thread, best of the runs above: "
                 + ", ".join(pairs) + ".\n")

    p.append("## 3. Evaluation (per-sample EL_10 + MA)\n")
    body = [[r["shape"], f"{r['sequences']} x {r['seq']}", r["batched_s"], r["batched_s_per_seq"],
             r["uncached_s_per_seq"], f"**{r['speedup']}x**", r["el_equal"]] for r in pick(rows, "eval_el")]
    p.append(table(["model", "sequences", "batched KV-cache s (EL_10 + MA, all)", "batched s/seq",
                    "uncached loop s/seq (EL_10 only, subset)", "speed-up", "EL identical"], body) + "\n")
    ev = pick(rows, "eval_el")
    if ev:
        p.append(f"Target (>= 10x): {min(r['speedup'] for r in ev)}x, {verdict(min(r['speedup'] for r in ev) >= 10)}.\n")

    p.append("## 4. Communication (bucketed gradient all-reduce)\n")
    copy = pick(rows, "memcpy")
    copy_gbs = copy[0]["gbs"] if copy else None
    body = []
    for r in pick(rows, "allreduce"):
        if "skipped" in r:
            continue
        frac = f"{r['algbw_gbs'] / copy_gbs:.3f}" if copy_gbs else "-"
        body.append([r.get("backend", "mpi"), r["ranks"], f"{r['params'] / 1e6:.0f}M", r["bucket_mb"], r["buckets"],
                     r["seconds"], r["algbw_gbs"], frac])
    p.append(table(["backend", "ranks", "params", "bucket MiB", "buckets", "s", "algorithm GB/s",
                    "/ memcpy GB/s"], body) + "\n")

    p.append("## 5. Scaling of `unlearn run` (bench/scaling.sh)\n")
    body = []
    for mode in ("strong", "weak"):
        rs = sorted(pick(rows, "scaling", mode=mode), key=lambda r: r["ranks"])
        base = next((r for r in rs if r["ranks"] == 1), None)
        for r in rs:
            if base is None:
                eff = "-"
            elif mode == "strong":  # same global batch: time should fall as 1/ranks
                eff = f"{base['step_s'] / (r['step_s'] * r['ranks']):.2f}"
            else:  # same per-rank batch: time should stay flat
                eff = f"{base['step_s'] / r['step_s']:.2f}"
            body.append([mode, r["ranks"], r["global_batch"], r["step_s"], r["steps_per_s"], r["samples_per_s"], eff])
    p.append(table(["mode", "ranks", "global batch", "s/step", "steps/s", "samples/s", "efficiency"], body) + "\n")

    p.append("## 6. Checkpoint I/O\n")
    dd = pick(rows, "dd_fsync")
    body = []
    for r in pick(rows, "checkpoint_io"):
        body.append([f"{r['params'] / 1e6:.0f}M + 2 Adam moments", f"{r['bytes'] / 1e9:.2f} GB", r["write_gbps"],
                     r["raw_write_gbps"], f"**{r['write_gbps'] / r['raw_write_gbps']:.2f}**", r["read_gbps"],
                     r["raw_read_gbps"], f"{r['read_gbps'] / r['raw_read_gbps']:.2f}"])
    p.append(table(["state", "size", "write GB/s", "raw write+fsync GB/s", "write / raw", "read GB/s (cold)",
                    "raw read GB/s", "read / raw"], body) + "\n")
    for r in pick(rows, "checkpoint_io"):
        if dd and dd[0].get("gbs"):
            ratio = r["write_gbps"] / dd[0]["gbs"]
            p.append(f"dd with fsync (roofline item): {dd[0]['rate']}; checkpoint write / dd = {ratio:.2f}. "
                     f"Target (>= 0.8 of dd): {verdict(ratio >= 0.8)} against dd, "
                     f"{verdict(r['write_gbps'] / r['raw_write_gbps'] >= 0.8)} against the in-process raw write "
                     "of the same bytes.\n")

    p.append("## 7. GPU\n")
    gpu = [r for r in rows if str(r.get("target", "")).startswith("cuda") or r.get("backend") == "nccl"]
    if gpu:
        p.append("```\n" + "\n".join(json.dumps(r) for r in gpu) + "\n```\n")
    else:
        p.append("Not run in this pass (no GPU on this machine); see the analysis below.\n")

    p.append("## Commands\n\n```\n" + commands + "\n```\n")
    p.append(analysis + "\n")
    print("\n".join(p))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The ICU training step written the way a PyTorch user writes it (eager mode, full logits,
F.cross_entropy + F.kl_div, torch.optim.Adam), for the same GPT-Neo shapes as bench_icu_step.
It is the baseline that bench_icu_step is compared with: same machine, same thread count, same
FLOP count and the same in-process GEMM measurement, one JSON line in the same format.

Usage: python3 bench/pytorch_icu_step.py [shape=125m|10m] [batch=8] [seq=200] [steps=3] [threads=0]
Needs python3-torch (Debian); nothing else.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class Block(torch.nn.Module):
    def __init__(self, d, ff, heads, local, window):
        super().__init__()
        self.ln_1, self.ln_2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.q, self.k, self.v = (torch.nn.Linear(d, d, bias=False) for _ in range(3))
        self.out = torch.nn.Linear(d, d)
        self.fc, self.proj = torch.nn.Linear(d, ff), torch.nn.Linear(ff, d)
        self.heads, self.local, self.window = heads, local, window

    def forward(self, x, pad_mask):
        b, t, d = x.shape
        h = self.ln_1(x)
        split = lambda y: y.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        scores = q @ k.transpose(-1, -2)  # GPT-Neo does not scale the scores
        i = torch.arange(t)
        allowed = i[None, :] <= i[:, None]
        if self.local:
            allowed = allowed & (i[:, None] - i[None, :] < self.window)
        allowed = allowed[None, None] & pad_mask[:, None, None, :].bool()
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.out(a)
        return x + self.proj(gelu_new(self.fc(self.ln_2(x))))


class GptNeo(torch.nn.Module):
    def __init__(self, vocab, d, layers, heads, ff, window=256, positions=2048):
        super().__init__()
        self.wte, self.wpe = torch.nn.Embedding(vocab, d), torch.nn.Embedding(positions, d)
        self.blocks = torch.nn.ModuleList(Block(d, ff, heads, l % 2 == 1, window) for l in range(layers))
        self.ln_f = torch.nn.LayerNorm(d)
        # Hugging Face's GPT-Neo init (normal, std 0.02; zero biases). torch's default N(0, 1)
        # embedding makes the logits so large that softmax produces denormals, and BLAS on
        # denormal gradients runs ~100x slower: a baseline with that would not be fair.
        for mod in self.modules():
            if isinstance(mod, (torch.nn.Linear, torch.nn.Embedding)):
                torch.nn.init.normal_(mod.weight, std=0.02)
            if isinstance(mod, torch.nn.Linear) and mod.bias is not None:
                torch.nn.init.zeros_(mod.bias)

    def forward(self, ids, mask):
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        x = self.wte(ids) + self.wpe(pos)
        for blk in self.blocks:
            x = blk(x, mask)
        return F.linear(self.ln_f(x), self.wte.weight)  # tied lm_head, as Hugging Face does


def shifted(logits, ids, mask):
    # Labels -100 on padding (what Hugging Face trainers do): boolean-mask indexing of the logits
    # would make backward an index_put over [tokens, vocab], many times slower on CPU.
    labels = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
    return logits[:, :-1].reshape(-1, logits.size(-1)), labels.reshape(-1)


def icu_loss(model, reference, f_ids, f_mask, n_ids, n_mask):
    lf, tf = shifted(model(f_ids, f_mask), f_ids, f_mask)
    forget_ce = F.cross_entropy(lf, tf, ignore_index=-100)
    ln, tn = shifted(model(n_ids, n_mask), n_ids, n_mask)
    with torch.no_grad():
        lr, _ = shifted(reference(n_ids, n_mask), n_ids, n_mask)
    neighbour_ce = F.cross_entropy(ln, tn, ignore_index=-100)
    # KL(p_ref || p_model) per target token, averaged over target tokens.
    valid = (tn != -100).to(ln.dtype)
    kl_tok = F.kl_div(F.log_softmax(ln, -1), F.log_softmax(lr, -1), log_target=True, reduction="none").sum(-1)
    kl = (kl_tok * valid).sum() / valid.sum()
    return -forget_ce + neighbour_ce + kl


def gemm_gflops(n=1024):
    a, b = torch.randn(n, n), torch.randn(n, n)
    c = torch.empty(n, n)
    torch.mm(a, b, out=c)
    best = 1e30
    for _ in range(5):
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


def main():
    args = sys.argv[1:]
    shape = args[0] if len(args) > 0 else "125m"
    batch = int(args[1]) if len(args) > 1 else 8
    seq = int(args[2]) if len(args) > 2 else 200
    steps = int(args[3]) if len(args) > 3 else 3
    if len(args) > 4 and int(args[4]) > 0:
        torch.set_num_threads(int(args[4]))
    vocab = 50257
    d, layers, heads, ff = (768, 12, 12, 3072) if shape == "125m" else (128, 4, 4, 512)
    torch.manual_seed(0)
    model = GptNeo(vocab, d, layers, heads, ff)
    reference = GptNeo(vocab, d, layers, heads, ff)
    reference.load_state_dict(model.state_dict())
    reference.requires_grad_(False)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    f_ids, n_ids = torch.randint(0, vocab, (batch, seq)), torch.randint(0, vocab, (batch, seq))
    f_mask, n_mask = torch.ones(batch, seq, dtype=torch.long), torch.ones(batch, seq, dtype=torch.long)

    def step():
        opt.zero_grad(set_to_none=True)
        icu_loss(model, reference, f_ids, f_mask, n_ids, n_mask).backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t0) / steps
    # Same FLOP count as bench/icu_step.cpp: matmuls of 3 passes (fwd + bwd) of the trained model on
    # both batches and 1 forward of the reference on the neighbours; causal attention at half.
    matmul_params = layers * (4 * d * d + 2 * d * ff) + d * vocab
    per_token_fwd = 2 * matmul_params + layers * 2 * 2 * seq * d / 2
    tokens = batch * seq
    flops = 3 * per_token_fwd * 2 * tokens + per_token_fwd * tokens
    peak = gemm_gflops() * 1e9
    print(json.dumps({"bench": "pytorch_icu_step", "torch": torch.__version__, "shape": shape, "params": params,
                      "batch": batch, "seq": seq, "threads": torch.get_num_threads(), "step_s": round(dt, 3),
                      "tokens_per_s": round(2 * tokens / dt, 1), "achieved_gflops": round(flops / dt / 1e9, 1),
                      "gemm_peak_gflops": round(peak / 1e9, 1), "mfu": round(flops / dt / peak, 3)}))


if __name__ == "__main__":
    main()

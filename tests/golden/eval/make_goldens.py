#!/usr/bin/python3
"""Golden values for tests/unit/eval, computed independently of the C++ code with Debian's
python3-torch, python3-sklearn and the Python standard library (zlib, re, string).

    /usr/bin/python3 tests/golden/eval/make_goldens.py > tests/golden/eval/goldens.json

- auc: sklearn.metrics.roc_auc_score(labels, scores), forget = label 0, holdout = label 1.
- zlib: len(zlib.compress(text.encode("utf-8"))).
- f1 / normalize: the SQuAD normalize_answer and unigram F1 as the official ICU valid.py defines them.
- scores: per-sequence MIA scores from random logits, in float64 torch, the way open-unlearning
  computes them (LOSS, Min-k%, Min-k%++ with k = 0.4) plus exact memorisation and extraction
  strength (1 - k/n, k the start of the longest greedy-correct suffix).
- ks: scipy.stats.ks_2samp(x, y, method="exact") statistic and p-value.
- rouge: ROUGE-L recall with rouge_score's default tokenizer (lower-case, [a-z0-9]+ runs), no stemmer.
- table_lm: a table LM (logits at t = cur[x_t]) on requests: summed continuation log-prob, whether
  the continuation is greedy, and 4-token greedy generations.
"""
import json
import re
import string
import zlib
from collections import Counter

import torch
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score


def normalize_answer(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    s = " ".join(s.split())
    return s.replace("<extra_id_0>", "").replace("<extra_id_1>", "")


def f1(pred, truth):
    p, t = normalize_answer(pred).split(), normalize_answer(truth).split()
    same = sum((Counter(p) & Counter(t)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(t)
    return 2 * precision * recall / (precision + recall)


def seq_scores(logits, targets, k):
    lp = torch.log_softmax(logits.double(), -1)
    tlp = lp.gather(1, targets.unsqueeze(1)).squeeze(1)
    p = lp.exp()
    mu = (p * lp).sum(-1)
    sigma = ((p * lp**2).sum(-1) - mu**2).sqrt()
    z = (tlp - mu) / sigma
    n = len(targets)
    m = max(1, int(n * k))
    pred = lp.argmax(-1)
    first = n
    while first > 0 and pred[first - 1] == targets[first - 1]:
        first -= 1
    return {
        "loss": float(-tlp.mean()),
        "min_k": float(-torch.sort(tlp).values[:m].mean()),
        "min_k_plus_plus": float(-torch.sort(z).values[:m].mean()),
        "exact_memorization": float((pred == targets).double().mean()),
        "extraction_strength": 1.0 - first / n,
    }


def rouge_l_recall(pred, ref):
    p = re.sub(r"[^a-z0-9]+", " ", pred.lower()).split()
    r = re.sub(r"[^a-z0-9]+", " ", ref.lower()).split()
    if not p or not r:
        return 0.0
    t = [[0] * (len(p) + 1) for _ in range(len(r) + 1)]
    for i in range(1, len(r) + 1):
        for j in range(1, len(p) + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if r[i - 1] == p[j - 1] else max(t[i - 1][j], t[i][j - 1])
    return t[len(r)][len(p)] / len(r)


def main():
    g = torch.Generator().manual_seed(1234)
    out = {}
    # AUC: with ties, unbalanced sets, perfect and inverted separation.
    cases = []
    for nf, nh, levels in [(5, 7, 4), (30, 20, 1000), (12, 12, 3), (1, 1, 10)]:
        f = torch.randint(0, levels, (nf,), generator=g).double() / levels
        h = torch.randint(0, levels, (nh,), generator=g).double() / levels
        cases.append((f.tolist(), h.tolist()))
    cases.append(([0.1, 0.2, 0.3], [0.4, 0.5]))
    cases.append(([0.9, 0.8], [0.1, 0.2, 0.3]))
    out["auc"] = [{"forget": f, "holdout": h,
                   "auc": float(roc_auc_score([0] * len(f) + [1] * len(h), f + h))} for f, h in cases]
    texts = ["", "a", "Jane Roe lives at 12 Elm Street.", "abc" * 100,
             "The quick brown fox jumps over the lazy dog. " * 7, "na\u00efve caf\u00e9 \u2014 \u65e5\u672c"]
    out["zlib"] = [{"text": t, "size": len(zlib.compress(t.encode("utf-8")))} for t in texts]
    pairs = [("The cat sat on the mat.", "a cat sat on a mat"),
             ("Hello, world!", "hello world"),
             ("I like green tea", "I really like tea, and green tea"),
             ("An apple a day", "the orange"),
             ("", "something"),
             ("it's the_end, isn't it?", "its the_end isnt it"),
             ("  spaced   out\ttext\n", "spaced out text"),
             ("<extra_id_0> answer", "answer")]
    out["f1"] = [{"pred": p, "truth": t, "f1": f1(p, t), "norm_pred": normalize_answer(p)} for p, t in pairs]
    k = 0.4
    sc = []
    for n, v, scale in [(1, 7, 1.0), (5, 11, 3.0), (12, 50, 2.0), (9, 13, 0.5)]:
        logits = (torch.randn(n, v, generator=g) * scale).float()
        targets = torch.randint(0, v, (n,), generator=g)
        # make a greedy-correct suffix in some cases
        if n >= 5:
            targets[-3:] = logits[-3:].argmax(-1)
        sc.append({"logits": logits.double().tolist(), "targets": targets.tolist(), **seq_scores(logits, targets, k)})
    out["scores"] = {"min_k": k, "cases": sc}
    V = 12
    cur = (torch.randn(V, V, generator=g) * 2).float()
    reqs = [([1, 2, 3], [4, 5]), ([7], [7, 7, 7]), ([0, 11, 3, 3, 9], [2]), ([5, 6], [1, 2, 3, 4])]
    # make request 1 greedy: cur[7].argmax == 7
    cur[7, 7] = cur[7].max() + 1.0
    ll = []
    for ctx, cont in reqs:
        full = ctx + cont
        lp = torch.log_softmax(cur.double()[torch.tensor(full[:-1])], -1)
        pos = range(len(ctx) - 1, len(full) - 1)
        s = sum(float(lp[t, full[t + 1]]) for t in pos)
        greedy = all(int(lp[t].argmax()) == full[t + 1] for t in pos)
        ll.append({"context": ctx, "continuation": cont, "logprob": s, "greedy": greedy})
    gen = []
    for prompt in [[1, 2], [3], [9, 9, 9, 4]]:
        x, toks = prompt[-1], []
        for _ in range(4):
            x = int(cur[x].argmax())
            toks.append(x)
        gen.append({"prompt": prompt, "tokens": toks})
    ks = []
    for n1, n2, shift, levels in [(5, 5, 0.0, 0), (10, 7, 0.5, 0), (40, 40, 0.3, 0), (30, 45, 0.0, 0),
                                  (12, 9, 0.0, 4), (3, 50, 1.0, 0), (100, 80, 0.2, 0)]:
        x = torch.randn(n1, generator=g).double()
        y = (torch.randn(n2, generator=g) + shift).double()
        if levels:
            x, y = (x * levels).round() / levels, (y * levels).round() / levels
        res = ks_2samp(x.numpy(), y.numpy(), method="exact")
        ks.append({"x": x.tolist(), "y": y.tolist(), "statistic": float(res.statistic), "pvalue": float(res.pvalue)})
    out["ks"] = ks
    rp = [("Jane Roe was born in Oslo in 1970.", "Jane Roe was born in 1970 in Oslo"),
          ("the cat", "The cat sat on the mat."),
          ("", "anything"),
          ("Author's 3rd book: 'Rivers'!", "authors 3rd book rivers"),
          ("a b c d e", "e d c b a")]
    out["rouge"] = [{"pred": p, "ref": r, "recall": rouge_l_recall(p, r)} for p, r in rp]
    out["table_lm"] = {"cur": cur.double().tolist(), "loglik": ll, "generate": gen}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

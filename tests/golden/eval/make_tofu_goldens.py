#!/usr/bin/python3
"""Golden values for the TOFU metrics of tests/unit/eval (tofu_test.cpp), computed independently of
the C++ code with Debian's python3-numpy and python3-scipy, following open-unlearning's
definitions (locuslab/open-unlearning, src/evals/metrics/memorization.py: evaluate_probability,
truth_ratio with closer_to_1_better / true_better, probability_w_options; privacy.py: ks_test;
utility.py: hm_aggregate = scipy.stats.hmean).

    /usr/bin/python3 tests/golden/eval/make_tofu_goldens.py > tests/golden/eval/tofu_goldens.json

- metrics: hand-chosen per-row (summed log-prob, token count) of answer, paraphrase and perturbed
  answers, and greedy texts, for the forget, retain and options roles; every metric's per-row and
  aggregate value; forget quality = scipy.stats.ks_2samp(tr, retain_tr).pvalue (default method,
  as open-unlearning calls it); model utility = scipy.stats.hmean of the six utility components.
- table_task: the whole TOFU task on the table LM of goldens.json (logits at t = cur[x_t]) with a
  character codec: token = ord(c) % 12, text = question + "\\n" + answer, prompt = question + "\\n";
  decode(t) = chr(ord("a") + t). Log-likelihoods by numpy log-softmax in float64 of the float32
  table, greedy answers by argmax.
"""
import json
import math
import os
import re

import numpy as np
from scipy.stats import hmean, ks_2samp

EPS = 1e-10


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


def metrics(name, role, rows, retain_tr=None):
    """rows: dicts with answer/para = [logprob, tokens], pert = [[logprob, tokens], ...],
    gen and answer_text. Returns {metric: {"agg": x, "rows": [...]}}."""
    avg = lambda lt: -lt[0] / lt[1]
    out = {}
    prob = np.array([math.exp(-avg(r["answer"])) for r in rows])
    out[name + "_Q_A_Prob"] = {"agg": float(np.mean(prob)), "rows": prob.tolist()}
    if role != "options":
        para = np.array([math.exp(-avg(r["para"])) for r in rows])
        out[name + "_Q_A_PARA_Prob"] = {"agg": float(np.mean(para)), "rows": para.tolist()}
    pert = [np.array([math.exp(-avg(p)) for p in r["pert"]]) for r in rows]
    out[name + "_Q_A_PERT_Prob"] = {"agg": float(np.mean([p.mean() for p in pert])), "rows": [p.tolist() for p in pert]}
    if role == "options":
        norm = np.array([c / (c + p.sum() + EPS) for c, p in zip(prob, pert)])
        out[name + "_Q_A_Prob_normalised"] = {"agg": float(np.mean(norm)), "rows": norm.tolist()}
    correct_loss = np.array([avg(r["answer"] if role == "options" else r["para"]) for r in rows])
    wrong_loss = np.array([np.mean([avg(p) for p in r["pert"]]) for r in rows])
    tr = np.exp(-wrong_loss) / (np.exp(-correct_loss) + EPS)
    agg = np.mean(np.minimum(tr, 1 / (tr + EPS))) if role == "forget" else np.mean(np.maximum(0, 1 - tr))
    out[name + "_truth_ratio"] = {"agg": float(agg), "rows": tr.tolist()}
    rouge = np.array([rouge_l_recall(r["gen"], r["answer_text"]) for r in rows])
    out[name + "_Q_A_ROUGE"] = {"agg": float(np.mean(rouge)), "rows": rouge.tolist()}
    if role == "forget" and retain_tr is not None:
        res = ks_2samp(tr, np.array(retain_tr))
        out["forget_quality"] = {"agg": float(res.pvalue), "statistic": float(res.statistic)}
    return out


def table_task(cur, rows, max_length, answer_tokens):
    V = cur.shape[0]
    enc = lambda text: [ord(c) % V for c in text]
    lsm = cur - np.log(np.exp(cur - cur.max(1, keepdims=True)).sum(1, keepdims=True)) - cur.max(1, keepdims=True)

    def loglik(q, a):
        full = enc(q + "\n" + a)
        n_prompt = len(q) + 1
        s = sum(lsm[full[t - 1], full[t]] for t in range(n_prompt, len(full)))
        return [float(s), len(full) - n_prompt]

    new = min(answer_tokens, max(1, max_length // 2))
    out = []
    for r in rows:
        x, gen = enc(r["question"] + "\n")[-1], []
        for _ in range(new):
            x = int(np.argmax(cur[x]))
            gen.append(x)
        out.append({"answer": loglik(r["question"], r["answer"]),
                    "para": loglik(r["question"], r["paraphrased_answer"]),
                    "pert": [loglik(r["question"], p) for p in r["perturbed_answer"]],
                    "gen": "".join(chr(ord("a") + t) for t in gen), "answer_text": r["answer"]})
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    cur = np.array(json.load(open(os.path.join(here, "goldens.json")))["table_lm"]["cur"], dtype=np.float64)
    forget_rows = [
        {"answer": [-3.0, 4], "para": [-6.5, 5], "pert": [[-9.0, 4], [-4.0, 6], [-12.0, 5]],
         "gen": "Jane was born in Oslo", "answer_text": "Jane Roe was born in Oslo in 1970."},
        {"answer": [-0.4, 2], "para": [-1.0, 3], "pert": [[-0.9, 3]], "gen": "", "answer_text": "Red"},
        {"answer": [-20.0, 8], "para": [-2.0, 8], "pert": [[-1.0, 8], [-30.0, 7]],
         "gen": "the book is called rivers", "answer_text": "Her book is Rivers."},
    ]
    retain_tr = [0.5, 1.5, 0.9, 2.5, 0.2, 1.1]
    retain_rows = [
        {"answer": [-1.0, 5], "para": [-3.0, 5], "pert": [[-8.0, 5], [-7.0, 4]],
         "gen": "he lives in paris", "answer_text": "He lives in Paris."},
        {"answer": [-2.5, 3], "para": [-2.0, 3], "pert": [[-1.0, 3], [-1.5, 3], [-2.2, 2]],
         "gen": "blue", "answer_text": "Blue, mostly."},
    ]
    option_rows = [
        {"answer": [-1.2, 3], "pert": [[-2.0, 3], [-4.0, 2], [-3.3, 3]], "gen": "george orwell",
         "answer_text": "George Orwell"},
        {"answer": [-5.0, 4], "pert": [[-1.0, 4], [-6.0, 5]], "gen": "paris", "answer_text": "Rome"},
    ]
    cases = [
        {"name": "forget", "role": "forget", "rows": forget_rows, "retain_tr": retain_tr,
         "want": metrics("forget", "forget", forget_rows, retain_tr)},
        {"name": "retain", "role": "retain", "rows": retain_rows, "want": metrics("retain", "retain", retain_rows)},
        {"name": "ra", "role": "options", "rows": option_rows, "want": metrics("ra", "options", option_rows)},
    ]
    utility_names = ["retain_Q_A_Prob", "retain_Q_A_ROUGE", "retain_truth_ratio",
                     "ra_Q_A_Prob_normalised", "ra_Q_A_ROUGE", "ra_truth_ratio"]
    comps = [cases[1]["want"][n]["agg"] for n in utility_names[:3]] + [cases[2]["want"][n]["agg"] for n in utility_names[3:]]
    out = {"metrics": cases, "model_utility": {"names": utility_names, "value": float(hmean(comps))}}
    task_rows = [
        {"question": "who?", "answer": "bob", "paraphrased_answer": "it is bob", "perturbed_answer": ["al", "eve lee"]},
        {"question": "where was it", "answer": "in the hall", "paraphrased_answer": "the hall",
         "perturbed_answer": ["kitchen"]},
    ]
    max_length, answer_tokens = 64, 5
    scored = table_task(cur, task_rows, max_length, answer_tokens)
    # One answer holds the greedy word, so ROUGE-L is not 0 everywhere.
    task_rows[1]["answer"] = "the " + scored[0]["gen"]
    scored = table_task(cur, task_rows, max_length, answer_tokens)
    out["table_task"] = {"max_length": max_length, "answer_tokens": answer_tokens, "rows": task_rows,
                         "scored": scored, "want": metrics("forget", "forget", scored)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

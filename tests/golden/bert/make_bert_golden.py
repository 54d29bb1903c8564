#!/usr/bin/python3
# Builds the small random BERT fixture in this folder and its expected outputs, for
# tests/unit/model/nets_bert_test.cpp and tests/unit/unlearn/bertscore_test.cpp.
#
# Independent reference: a BERT encoder written here in plain PyTorch (Debian python3-torch 1.13)
# from the architecture of transformers' modeling_bert.py (post-norm layers, exact-erf GELU,
# additive (1 - mask) * finfo.min attention mask), BERTScore as bert_score 0.3.13's
# bert_cos_score_idf / greedy_cos_idf (idf=False: weight 1, [CLS]/[SEP] 0; padding 2.0; max over
# masked similarities; P, R of empty texts set to 0, NaN F1 set to 0), and sentence-transformers'
# mean pooling (+ Normalize). Tokens come from the Python WordPiece reference in ../wordpiece/.
# Nothing is shared with the C++ code. No real BERT weights are available offline: the model is
# randomly initialised (seeded), hidden 32, 3 layers, 4 heads, with ../wordpiece/vocab.txt.
#
# Usage: /usr/bin/python3 tests/golden/bert/make_bert_golden.py
import json
import math
import os
import shutil
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "wordpiece"))
from make_wordpiece_golden import Reference, make_vocab  # noqa: E402

CONFIG = {"model_type": "bert", "architectures": ["BertModel"], "vocab_size": None, "hidden_size": 32,
          "num_hidden_layers": 3, "num_attention_heads": 4, "intermediate_size": 64,
          "max_position_embeddings": 64, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
          "hidden_act": "gelu", "position_embedding_type": "absolute", "pad_token_id": 0}


def init_weights(vocab_size, c):
    g = torch.Generator().manual_seed(20240601)
    h, m = c["hidden_size"], c["intermediate_size"]
    W = {}

    def rnd(*shape, std):
        return torch.randn(*shape, generator=g) * std

    W["embeddings.word_embeddings.weight"] = rnd(vocab_size, h, std=1.0)
    W["embeddings.position_embeddings.weight"] = rnd(c["max_position_embeddings"], h, std=0.5)
    W["embeddings.token_type_embeddings.weight"] = rnd(c["type_vocab_size"], h, std=0.5)
    W["embeddings.LayerNorm.weight"] = 1 + rnd(h, std=0.1)
    W["embeddings.LayerNorm.bias"] = rnd(h, std=0.1)
    for l in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        for name in ("query", "key", "value"):
            W[p + f"attention.self.{name}.weight"] = rnd(h, h, std=0.4)
            W[p + f"attention.self.{name}.bias"] = rnd(h, std=0.1)
        W[p + "attention.output.dense.weight"] = rnd(h, h, std=0.2)
        W[p + "attention.output.dense.bias"] = rnd(h, std=0.1)
        W[p + "attention.output.LayerNorm.weight"] = 1 + rnd(h, std=0.1)
        W[p + "attention.output.LayerNorm.bias"] = rnd(h, std=0.1)
        W[p + "intermediate.dense.weight"] = rnd(m, h, std=0.3)
        W[p + "intermediate.dense.bias"] = rnd(m, std=0.1)
        W[p + "output.dense.weight"] = rnd(h, m, std=0.2)
        W[p + "output.dense.bias"] = rnd(h, std=0.1)
        W[p + "output.LayerNorm.weight"] = 1 + rnd(h, std=0.1)
        W[p + "output.LayerNorm.bias"] = rnd(h, std=0.1)
    # Tensors a real checkpoint carries that the encoder must ignore.
    W["pooler.dense.weight"] = rnd(h, h, std=0.1)
    W["pooler.dense.bias"] = rnd(h, std=0.1)
    W["embeddings.position_ids"] = torch.arange(c["max_position_embeddings"]).unsqueeze(0)
    return W


def bert_forward(W, c, ids, mask, num_layers=None):
    """All hidden states (embeddings + each layer) of the BERT encoder, fp32."""
    h, heads = c["hidden_size"], c["num_attention_heads"]
    d = h // heads
    eps = c["layer_norm_eps"]
    B, T = ids.shape

    def ln(x, name):
        return torch.nn.functional.layer_norm(x, (h,), W[name + ".weight"], W[name + ".bias"], eps)

    def lin(x, name):
        return x @ W[name + ".weight"].T + W[name + ".bias"]

    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
    x = x + W["embeddings.position_embeddings.weight"][torch.arange(T)].unsqueeze(0)
    x = ln(x, "embeddings.LayerNorm")
    states = [x]
    additive = (1.0 - mask.to(torch.float32))[:, None, None, :] * torch.finfo(torch.float32).min
    for l in range(c["num_hidden_layers"] if num_layers is None else num_layers):
        p = f"encoder.layer.{l}."
        split = lambda t: t.view(B, T, heads, d).permute(0, 2, 1, 3)  # noqa: E731
        q, k, v = (split(lin(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + additive
        ctx = (torch.softmax(scores, dim=-1) @ v).permute(0, 2, 1, 3).reshape(B, T, h)
        a = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        inter = lin(a, p + "intermediate.dense")
        inter = 0.5 * inter * (1.0 + torch.erf(inter / math.sqrt(2.0)))
        x = ln(lin(inter, p + "output.dense") + a, p + "output.LayerNorm")
        states.append(x)
    return states


def pad(seqs, value):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), value, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def write_safetensors(path, tensors):
    dtypes = {torch.float32: "F32", torch.int64: "I64"}
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


class BertScoreReference:
    """bert_score's no-idf BERTScore over a WordPiece tokenizer and the encoder above."""

    def __init__(self, W, c, tok, num_layers):
        self.W, self.c, self.tok, self.num_layers = W, c, tok, num_layers
        self.cls, self.sep = tok.vocab["[CLS]"], tok.vocab["[SEP]"]

    def encode(self, sent):  # sent_encode
        sent = sent.strip()
        if sent == "":
            return [self.cls, self.sep]
        return self.tok.encode(sent, max_length=64)

    def embed(self, sentences, batch_size):  # bert_cos_score_idf's first loop
        uniq = sorted(set(sentences), key=lambda x: len(x.split(" ")), reverse=True)
        stats = {}
        for b in range(0, len(uniq), batch_size):
            batch = uniq[b: b + batch_size]
            arr = [self.encode(s) for s in batch]
            ids, mask = pad(arr, self.tok.vocab["[PAD]"])
            emb = bert_forward(self.W, self.c, ids, mask, self.num_layers)[-1]
            for i, s in enumerate(batch):
                n = len(arr[i])
                idf = torch.tensor([0.0 if t in (self.cls, self.sep) else 1.0 for t in arr[i]])
                stats[s] = (emb[i, :n], idf)
        return stats

    def score(self, cands, refs, batch_size):
        stats = self.embed(refs + cands, batch_size)
        out = []

        def pad_stats(batch):
            emb = [stats[s][0] for s in batch]
            idf = [stats[s][1] for s in batch]
            lens = torch.tensor([e.size(0) for e in emb])
            emb_pad = torch.nn.utils.rnn.pad_sequence(emb, batch_first=True, padding_value=2.0)
            idf_pad = torch.nn.utils.rnn.pad_sequence(idf, batch_first=True)
            mask = torch.arange(int(lens.max())).expand(len(lens), -1) < lens.unsqueeze(1)
            return emb_pad, mask, idf_pad

        for b in range(0, len(refs), batch_size):
            r_emb, r_mask, r_idf = pad_stats(refs[b: b + batch_size])
            h_emb, h_mask, h_idf = pad_stats(cands[b: b + batch_size])
            r_emb = r_emb / r_emb.norm(dim=-1).unsqueeze(-1)
            h_emb = h_emb / h_emb.norm(dim=-1).unsqueeze(-1)
            sim = torch.bmm(h_emb, r_emb.transpose(1, 2))
            masks = torch.bmm(h_mask.unsqueeze(2).float(), r_mask.unsqueeze(1).float())
            sim = sim * masks
            word_p, word_r = sim.max(dim=2)[0], sim.max(dim=1)[0]
            h_idf = h_idf / h_idf.sum(dim=1, keepdim=True)
            r_idf = r_idf / r_idf.sum(dim=1, keepdim=True)
            P, R = (word_p * h_idf).sum(dim=1), (word_r * r_idf).sum(dim=1)
            F = 2 * P * R / (P + R)
            P = P.masked_fill(h_mask.sum(dim=1).eq(2), 0.0).masked_fill(r_mask.sum(dim=1).eq(2), 0.0)
            R = R.masked_fill(h_mask.sum(dim=1).eq(2), 0.0).masked_fill(r_mask.sum(dim=1).eq(2), 0.0)
            F = F.masked_fill(torch.isnan(F), 0.0)
            # NaN (bert_score leaves P NaN when every token is [CLS]/[SEP], e.g. the text "[SEP]") is
            # written as null: JSON has no NaN.
            out += [[None if math.isnan(v) else float(v) for v in (p, r, f)] for p, r, f in zip(P, R, F)]
        return out


TEXTS = [
    "hello world", "The cat sat on the mat.", "", "   ", "unplayable replaying tokenization",
    "Café naïve ÉCOLE über", "北京大学是一所大学。", "Привет, мир!", "don't can't won't",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z a b c", "qwzx xyzzy", "10 100 2024 3.5",
    "the the the the", "[SEP]", "time years people world state life", "😀 emoji only 😀",
]

PAIRS = [
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("the cat sat on the mat", "a dog ran in the world"),
    ("", "the cat sat on the mat"),
    ("the cat sat on the mat", ""),
    ("", ""),
    ("   ", "hello"),
    ("hello world", "world hello"),
    ("hello", "hello world hello world hello world"),
    ("unplayable", "un play able"),
    ("Café naïve", "cafe naive"),
    ("北京大学", "大学北京"),
    ("the the the the", "the"),
    ("[SEP]", "hello"),
    ("qwzx", "qwzx"),
    ("time years people", "people time years state life world"),
    ("a b c d e f g", "g f e d c b a"),
    ("Привет, мир!", "hello world"),
    ("don't stop", "do not stop"),
    ("10 100 2024", "2024 100 10"),
    ("a very long candidate with many many words in it that goes on and on", "short"),
    ("short", "a very long reference with many many words in it that goes on and on"),
    ("the cat sat on the mat", "the cat sat on the mat"),  # a repeated pair
]


def main():
    vocab = make_vocab()
    shutil.copy(os.path.join(HERE, "..", "wordpiece", "vocab.txt"), os.path.join(HERE, "vocab.txt"))
    c = dict(CONFIG, vocab_size=len(vocab))
    with open(os.path.join(HERE, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    with open(os.path.join(HERE, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "BertTokenizer"}, f, indent=2)
    # sentence-transformers layout (as all-MiniLM-L6-v2): Transformer, mean Pooling, Normalize.
    with open(os.path.join(HERE, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
                  f, indent=2)
    with open(os.path.join(HERE, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": 16, "do_lower_case": False}, f, indent=2)
    os.makedirs(os.path.join(HERE, "1_Pooling"), exist_ok=True)
    with open(os.path.join(HERE, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": 32, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
                   "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)
    W = init_weights(len(vocab), c)
    write_safetensors(os.path.join(HERE, "model.safetensors"), W)

    tok = Reference(vocab)
    expected = {}
    with torch.no_grad():
        # Hidden states of a right-padded batch (max_length 24 truncates the long text).
        seqs = [tok.encode(t.strip(), max_length=24) for t in TEXTS]
        ids, mask = pad(seqs, vocab.index("[PAD]"))
        states = bert_forward(W, c, ids, mask)
        expected["input_ids"], expected["attention_mask"] = ids, mask
        expected["hidden_states"] = torch.stack(states)
        # Sentence embeddings: mean of the last hidden state over the mask (max_seq_length 16).
        seqs = [tok.encode(t.strip(), max_length=16) for t in TEXTS]
        ids, mask = pad(seqs, vocab.index("[PAD]"))
        last = bert_forward(W, c, ids, mask)[-1]
        m = mask.unsqueeze(-1).to(last.dtype)
        mean = (last * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
        expected["sentence_mean"] = mean
        expected["sentence_mean_normalized"] = torch.nn.functional.normalize(mean, p=2, dim=1)
        scorer = BertScoreReference(W, c, tok, num_layers=2)
        scorer0 = BertScoreReference(W, c, tok, num_layers=0)
        # Two one-word texts where the candidate word's best layer-0 cosine is negative (the pair with
        # the lowest one), appended after the long
        # pairs: in a chunk with a longer text, bert_score's padding zeros win the max.
        words = [t for t in vocab[5:] if t.isalpha() and t.islower()]
        st = scorer0.embed(words, 64)
        unit = {w: st[w][0] / st[w][0].norm(dim=-1, keepdim=True) for w in words}
        quirk = min(((w, v) for w in words for v in words), key=lambda p: float((unit[p[0]][1:2] @ unit[p[1]].T).max()))
        assert float((unit[quirk[0]][1:2] @ unit[quirk[1]].T).max()) < 0
        pairs = PAIRS + [quirk, quirk[::-1]]
        cands, refs = [p[0] for p in pairs], [p[1] for p in pairs]
        scores = {str(bs): scorer.score(cands, refs, bs) for bs in (4, 64)}
        # Layer 0 (the embeddings output) has negative best cosines, so bert_score's padding zeros
        # change results between batch size 1 (no padding) and 4: both are kept.
        layer0 = {str(bs): scorer0.score(cands, refs, bs) for bs in (1, 4)}
        assert any(abs(a[0] - b[0]) > 1e-3 for a, b in zip(layer0["1"], layer0["4"]) if a[0] is not None)
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    write_safetensors(os.path.join(HERE, "expected", "outputs.safetensors"), expected)
    with open(os.path.join(HERE, "expected", "texts.json"), "w", encoding="utf-8") as f:
        json.dump({"texts": TEXTS, "hidden_max_length": 24, "sentence_max_length": 16}, f, ensure_ascii=False, indent=1)
    with open(os.path.join(HERE, "expected", "bertscore.json"), "w", encoding="utf-8") as f:
        json.dump({"num_layers": 2, "candidates": cands, "references": refs, "scores": scores,
                   "layer0_scores": layer0}, f,
                  ensure_ascii=False, indent=1)
    print("fixture written;", sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(HERE) for fn in fns), "bytes")


if __name__ == "__main__":
    main()

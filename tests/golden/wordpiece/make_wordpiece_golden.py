#!/usr/bin/python3
# Generates vocab.txt and wordpiece_golden.jsonl for tests/unit/tokenizer/wordpiece_test.cpp.
#
# The reference is an independent Python implementation of transformers' (slow) BertTokenizer,
# written from the published rules of BERT's tokenization.py and transformers'
# tokenization_bert.py (Python's own unicodedata / str.lower(); nothing shared with the C++ port):
#   split on special tokens -> BasicTokenizer (clean text, CJK spacing, NFC, whitespace split,
#   lower + NFD accent stripping, punctuation split) -> WordPiece (greedy longest match, "##",
#   > 100 characters -> [UNK]) -> [CLS] ... [SEP], truncated to max_length.
# No real BERT vocabulary is available offline, so vocab.txt is a small hand-made one (~400 tokens)
# with the same conventions ([PAD]=0 ... [MASK], "##" continuation pieces, CJK characters).
#
# Usage: /usr/bin/python3 tests/golden/wordpiece/make_wordpiece_golden.py
import json
import os
import random
import unicodedata

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_vocab():
    words = (
        "the of and to in is was he for it with as his on be at by this had not are but from or "
        "have an they which one you were her all she there would their we him been has when who will "
        "more no if out so said what up its about into than them can only other new some could time "
        "these two may then do first any my now such like our over man me even most made after also "
        "did many before must through back years where much your way well down should because each "
        "just those people how too little state good very make world still own see men work long get "
        "here between both life being under never day same another know while last might us great old "
        "year off come since against go came right used take three cat sat mat dog run play hello "
        "cafe naive ecole hotel resume uber munchen straße istanbul bert token ##izer ##ization "
        "un ##able ##ing ##ed ##s ##er ##ly ##est ##ness ##ful re ##do ##play ##run ##n ##t "
        "do ##n can ##not isn won don ##i ##s"
    ).split()
    pieces = []
    letters = "abcdefghijklmnopqrstuvwxyz"
    pieces += list(letters) + ["##" + c for c in letters] + list(letters.upper())
    pieces += list("0123456789") + ["##" + c for c in "0123456789"] + ["10", "100", "2024", "##00", "##24"]
    pieces += list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["¿", "¡", "«", "»", "“", "”", "‘", "’", "—", "–", "…", "。", "、", "！", "？"]
    pieces += list("北京大学是一所我爱日本語中文字") + ["の", "テ", "キ", "ス", "ト"]
    pieces += ["привет", "мир", "##ет", "при", "α", "β", "γ", "##σ", "οδος", "σοφια", "é", "ß", "ü"]
    pieces += ["[unused0]", "[unused1]"]
    out, seen = [], set()
    for t in SPECIALS + words + pieces:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


class Reference:
    """transformers' slow BertTokenizer, re-derived from its rules."""

    def __init__(self, vocab, do_lower_case=True, strip_accents=None, tokenize_chinese_chars=True):
        self.vocab = {t: i for i, t in enumerate(vocab)}
        self.lower = do_lower_case
        self.strip = strip_accents if strip_accents is not None else do_lower_case
        self.cjk = tokenize_chinese_chars

    @staticmethod
    def is_control(c):
        return c not in "\t\n\r" and unicodedata.category(c).startswith("C")

    @staticmethod
    def is_whitespace(c):
        return c in " \t\n\r" or unicodedata.category(c) == "Zs"

    @staticmethod
    def is_punct(c):
        cp = ord(c)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(c).startswith("P")

    @staticmethod
    def is_cjk(cp):
        return any(a <= cp <= b for a, b in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
                                              (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF),
                                              (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)])

    def basic_chunk(self, text):
        chars = []
        for c in text:
            if ord(c) in (0, 0xFFFD) or self.is_control(c):
                continue
            if self.is_whitespace(c):
                chars.append(" ")
            elif self.cjk and self.is_cjk(ord(c)):
                chars.append(" " + c + " ")
            else:
                chars.append(c)
        words = []
        for w in unicodedata.normalize("NFC", "".join(chars)).split():
            if w in SPECIALS:
                words.append(w)
                continue
            if self.lower:
                w = w.lower()
            if self.strip:
                w = "".join(c for c in unicodedata.normalize("NFD", w) if unicodedata.category(c) != "Mn")
            cur = None
            for c in w:
                if self.is_punct(c):
                    words.append(c)
                    cur = None
                else:
                    if cur is None:
                        words.append("")
                        cur = len(words) - 1
                    words[cur] += c
        return " ".join(words).split()

    def basic(self, text):
        out, i, start = [], 0, 0
        specials = sorted(SPECIALS, key=len, reverse=True)
        while i < len(text):
            hit = next((s for s in specials if text.startswith(s, i)), None)
            if hit is None:
                i += 1
                continue
            out += self.basic_chunk(text[start:i]) + [hit]
            i += len(hit)
            start = i
        return out + self.basic_chunk(text[start:])

    def wordpiece(self, word):
        if len(word) > 100:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                sub = ("##" if start else "") + word[start:end]
                if sub in self.vocab:
                    pieces.append(sub)
                    start = end
                    break
            else:
                return ["[UNK]"]
        return pieces

    def tokenize(self, text):
        return [p for w in self.basic(text) for p in ([w] if w in SPECIALS else self.wordpiece(w))]

    def encode(self, text, max_length=512):
        ids = [self.vocab.get(t, self.vocab["[UNK]"]) for t in self.tokenize(text)][: max_length - 2]
        return [self.vocab["[CLS]"]] + ids + [self.vocab["[SEP]"]]


TEXTS = [
    "", " ", "\t\n", "hello", "Hello World!", "The cat sat on the mat.", "unplayable replaying",
    "tokenization tokenizer BERT", "Café naïve résumé Über München École Hôtel", "STRASSE straße",
    "İstanbul ΟΔΟΣ Σοφία αβγ", "北京大学是一所大学。我爱北京！", "日本語のテキスト", "中文字abc中",
    "Привет, мир!", "don't can't won't isn't", "hello...world?!", "$100 & 50% #tag @user",
    "a\u00a0b\u3000c\u2028d\u2029e", "ctrl\x00chars\x01here\x7f\ufffd\u200bzero-width\u200d",
    "e\u0301t\u00e9 combining", "x² ½ ① Ⅷ", "😀 emoji 👍🏽 and 👨‍👩‍👧", "[CLS] hello [SEP] world [MASK]",
    "[cls] lower [sep]", "text[UNK]glued[PAD]", "¿Qué? ¡Sí! «quoted» “smart” ‘single’ — dash – en…",
    "a" * 100, "b" * 101, "un" + "able" * 30, "re" * 60, "mixedCASEword", "x" * 99 + "é",
    "snake_case and kebab-case and dotted.name", "1234567890 2024 10 100 0.5 1,000",
    "tab\tsep\rcarriage\nnew", "    leading and trailing    ", "abc\u0301def",
]


def random_texts(rng, n):
    pool = (
        "the cat sat on mat dog run play hello world token izer bert un able ing ed re do "
        "Café naïve ÉCOLE straße Über İstanbul ΟΔΟΣ Привет мир 北京 大学 の テスト 😀 ½ x² "
        "! ? . , ; : ' \" ( ) [ ] { } - — … « » [CLS] [SEP] [MASK] [UNK] 2024 10 3.5 qwzx"
    ).split()
    seps = [" "] * 8 + ["", "\t", "\n", "\u00a0", "  "]
    out = []
    for _ in range(n):
        k = rng.randint(1, 25)
        out.append("".join(rng.choice(pool) + rng.choice(seps) for _ in range(k)))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    vocab = make_vocab()
    with open(os.path.join(here, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    rng = random.Random(1234)
    texts = TEXTS + random_texts(rng, 260)
    configs = {"uncased": Reference(vocab), "cased": Reference(vocab, do_lower_case=False),
               "uncased_keep_accents": Reference(vocab, strip_accents=False),
               "no_cjk": Reference(vocab, tokenize_chinese_chars=False)}
    n = 0
    with open(os.path.join(here, "wordpiece_golden.jsonl"), "w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            # Every text with the default (uncased) rules; every 4th also with the variants.
            names = ["uncased"] + (["cased", "uncased_keep_accents", "no_cjk"] if i % 4 == 0 else [])
            for name in names:
                ref = configs[name]
                rec = {"config": name, "text": text, "basic": ref.basic(text), "tokens": ref.tokenize(text),
                       "ids": ref.encode(text), "ids_max8": ref.encode(text, 8)}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
    print(f"{len(vocab)} vocab tokens, {n} records")


if __name__ == "__main__":
    main()

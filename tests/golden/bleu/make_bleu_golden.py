#!/usr/bin/python3
# Generates bleu_golden.jsonl and python_char_classes.json for tests/unit/unlearn/bleu_test.cpp from
# NLTK itself (Debian python3-nltk 3.8, run with Debian's /usr/bin/python3 3.11, Unicode 14.0).
#
# What is computed, per (hypothesis, reference) pair:
#   hyp_tokens = word_tokenize(hypothesis.lower()), ref_tokens likewise,
#   bleu = sentence_bleu([ref_tokens], hyp_tokens)   (uniform 4-gram weights, no smoothing)
# exactly as the official ICU code scores a continuation.
#
# The one deviation, and why: word_tokenize() first splits sentences with the *trained* English Punkt
# model (nltk_data tokenizers/punkt/english.pickle). Debian does not package nltk_data and nothing can
# be downloaded here, so nltk.tokenize.load is patched to return an *untrained*
# PunktSentenceTokenizer(): the same Punkt algorithm and English language variables with empty learned
# parameters (no abbreviation list, collocations, sentence starters or orthographic statistics).
# The rest of word_tokenize (the NLTKWordTokenizer regexes) runs unchanged. The C++ port implements
# exactly this. It differs from the trained model only where a period ends a learned abbreviation
# ("mr.", "u.s.", "e.g." mid-sentence): the trained model keeps "mr." as one token, the untrained one
# treats it as a sentence end and yields "mr" "." (BLEU then sees one token more on each side).
#
# Usage: /usr/bin/python3 tests/golden/bleu/make_bleu_golden.py  (writes next to this script)
import json
import os
import random
import sys
import unicodedata
import warnings

import nltk
import nltk.tokenize
from nltk.tokenize.punkt import PunktSentenceTokenizer
from nltk.translate.bleu_score import sentence_bleu

assert nltk.__version__ == "3.8", nltk.__version__

_untrained = PunktSentenceTokenizer()


def _load(resource, *args, **kwargs):
    assert resource == "tokenizers/punkt/english.pickle", resource
    return _untrained


nltk.tokenize.load = _load  # sent_tokenize() looks the model up through this name
warnings.simplefilter("ignore")  # method0's "0 counts of n-gram overlaps" warning


def tokens(text):
    return nltk.tokenize.word_tokenize(text.lower())


def bleu(hyp, ref):
    return float(sentence_bleu([tokens(ref)], tokens(hyp)))


HANDWRITTEN = [
    # identical, near-identical, disjoint
    ("the cat sat on the mat today", "the cat sat on the mat today"),
    ("The cat sat on the mat.", "the cat sat on the mat."),
    ("a b c d e", "v w x y z"),
    ("the cat sat on a mat today", "the cat sat on the mat today"),
    # empty and whitespace-only sides, short texts
    ("", "the cat sat on the mat"),
    ("the cat sat on the mat", ""),
    ("", ""),
    ("   \t\n ", "the cat"),
    ("the", "the"),
    ("the cat", "the cat"),
    ("the cat sat", "the cat sat"),
    ("the cat sat on", "the cat sat on"),
    ("cat", "the cat sat on the mat"),
    ("the cat sat on the mat", "cat"),
    (".", "."),
    ("!!!", "!!!"),
    # repeated n-grams (clipping)
    ("the the the the the the the", "the cat is on the mat"),
    ("a a a a a", "a a b c d"),
    ("a b a b c d", "a b c d e f"),
    ("to be or not to be to be or not", "to be or not to be that is the question"),
    # punctuation, sentence ends, ellipsis, dashes, brackets
    ("Hello, world! How are you? I'm fine.", "hello, world! how are you? i am fine."),
    ("Wait... what?! No -- never.", "wait ... what ? ! no--never."),
    ("He said (quietly) that [this] {is} <fine>.", "he said ( quietly ) that [ this ] { is } < fine > ."),
    ("one. two. three. four.", "one. two. three. four"),
    ("Mr. Smith went to Washington. He met Dr. Jones.", "mr. smith went to washington. he met dr. jones."),
    ("The U.S. economy grew 3.5% in 2023, e.g. faster than expected.",
     "the u.s. economy grew 3.5 % in 2023, e.g. faster than expected."),
    ("J. S. Bach wrote it. 2. The end.", "j. s. bach wrote it. 2. the end."),
    ("Is it 5. Or is it 6.", "is it 5. or is it 6."),
    ("a.b.c. d", "a.b.c. d"),
    ("end of text...", "end of text..."),
    (". . . and so on", ". . . and so on"),
    ("price: $3.88 (roughly 3,36 euros)", "price : $ 3.88 ( roughly 3,36 euros )"),
    ("ratio 1:2, time 10:30, list a,b", "ratio 1:2 , time 10:30 , list a , b"),
    ("email me@example.com #tag 50% & more; *bold*", "email me @ example.com # tag 50 % & more ; * bold *"),
    ("(First sentence.) Second sentence.", "(first sentence.) second sentence."),
    ("\"Quoted.\" Then more.", "\"quoted.\" then more."),
    ("It ended!) And then?", "it ended!) and then?"),
    # quotes
    ("\"Hello,\" she said. \"Goodbye.\"", "'hello,' she said. 'goodbye.'"),
    ("He said ''yes'' and ``no''.", "he said \"yes\" and \"no\"."),
    ("« Bonjour » dit-il, “quoted” and ‘single’ „low“", "« bonjour » dit-il, \"quoted\" and 'single' „low\""),
    ("'tis the season, 'twas the night", "'tis the season , 'twas the night"),
    ("the dogs' bones and James' car", "the dogs ' bones and james ' car"),
    ("'hello' 'world'", "' hello ' ' world '"),
    # contractions
    ("I can't believe it isn't done, won't you?", "i cannot believe it is not done, will not you?"),
    ("We'll see; they've gone, you're here, I'd go, she's ok, I'm in.",
     "we will see ; they have gone , you are here , i would go , she is ok , i am in ."),
    ("gimme gonna gotta lemme wanna more'n whaddya whatcha d'ye cannot",
     "gim me gon na got ta lem me wan na more 'n whaddya whatcha d 'ye can not"),
    ("wanna go? I wanna.", "wanna go ? i wanna ."),
    ("DON'T SHOUT, CAN'T HEAR", "don't shout, can't hear"),
    ("o'clock rock'n'roll ma'am y'all", "o'clock rock'n'roll ma'am y'all"),
    # numbers
    ("In 1999, 3.14159 and 1,000,000 and -5 and 2.5e10 were 42.", "in 1999 , 3.14159 and 1,000,000 and -5 and 2.5e10 were 42 ."),
    ("version 1.2.3 on 2024-01-15 at 12:00", "version 1.2.3 on 2024-01-15 at 12:00"),
    ("call 555-1234 or +1 (555) 123-4567", "call 555-1234 or +1 ( 555 ) 123-4567"),
    ("ordinals: 1st, 2nd, 3rd. 4. item", "ordinals : 1st , 2nd , 3rd . 4 . item"),
    # Unicode: accents, case mappings, CJK, emoji, other scripts, special spaces
    ("Café crème à la française, naïve façade.", "café crème à la française, naïve façade."),
    ("ÉCOLE NORMALE SUPÉRIEURE", "école normale supérieure"),
    ("Straße STRASSE straße", "strasse straße strasse"),
    ("İstanbul ΟΔΟΣ ΣΊΣΥΦΟΣ Ωραία", "i̇stanbul οδος σίσυφος ωραία"),
    ("北京大学是一所大学。我爱北京！", "北京大学 是 一所 大学 。 我 爱 北京 ！"),
    ("日本語のテキスト、句読点。", "日本語のテキスト、句読点。"),
    ("I love pizza 🍕🍕 and 😀! 👍🏽 👨‍👩‍👧", "i love pizza 🍕 🍕 and 😀 ! 👍🏽 👨‍👩‍👧"),
    ("Привет, мир! Как дела?", "привет , мир ! как дела ?"),
    ("مرحبا بالعالم. كيف حالك؟", "مرحبا بالعالم . كيف حالك ؟"),
    ("नमस्ते दुनिया। यह एक परीक्षण है।", "नमस्ते दुनिया । यह एक परीक्षण है ।"),
    ("non\u00a0breaking\u2009thin\u3000ideographic space", "non breaking thin ideographic space"),
    ("line\none\r\nline\ttwo\x0bthree\x0cfour\x1cfive\x85six\u2028seven", "line one line two three four five six seven"),
    ("e\u0301te\u0301 (combining) vs été", "été ( combining ) vs e\u0301te\u0301"),
    ("x² + y³ = z½, ①②③, ⅷ", "x² + y³ = z½ , ①②③ , ⅷ"),
    ("ſtop ſ's long s and \u212aelvin", "stop s's long s and kelvin"),
    ("a_b __init__ snake_case", "a_b __init__ snake_case"),
    ("tab\tseparated\tvalues, then \"quoted\tthing\"", "tab separated values , then \" quoted thing \""),
    # paragraphs and line starts (Punkt treats lines specially)
    ("First line.\n\nSecond paragraph. Third one.\nfourth line", "first line. second paragraph. third one. fourth line"),
    ("A. B. C.\nd. e. f.", "a. b. c. d. e. f."),
    ("ends with abbreviation etc.", "ends with abbreviation etc ."),
    ("what?no space.next", "what ? no space.next"),
    ("why? because! so. then", "why ? because ! so . then"),
    ("--dash start and end--", "-- dash start and end --"),
    ("nested ((parens)) and [[brackets]]", "nested ( ( parens ) ) and [ [ brackets ] ]"),
]

# Token pool for random texts: each entry is a token as written (followed by a space or not).
POOL_WORDS = (
    "the of and to in is was he for it with as his on be at by i this had not are but from or have "
    "an they which one you were her all she there would their we him been has when who will more no "
    "if out so said what up its about into than them can only other new some could time these two may "
    "then do first any my now such like our over man me even most made after also did many before must "
    "through back years where much your way well down should because each just those people mr how too "
    "little state good very make world still own see men work long get here between both life being under "
    "never day same another know while last might us great old year off come since against go came right "
    "used take three"
).split()
POOL_SPECIAL = [
    "can't", "won't", "isn't", "I'm", "you're", "we'll", "they've", "she'd", "it's", "o'clock", "gonna",
    "wanna", "gimme", "cannot", "'tis", "'twas", "dogs'", "James'", "Mr.", "Dr.", "U.S.", "e.g.", "etc.",
    "i.e.", "J.", "3.5", "1,000", "42", "2.", "10:30", "$5", "50%", "#1", "@home", "&", "*", "...", "--",
    "(", ")", "[", "]", "{", "}", "<", ">", "\"", "''", "``", "'", "“", "”", "‘", "’", "«", "»", "„",
    ",", ";", ":", ".", "!", "?", "?!", "café", "naïve", "Ünïcödé", "ÉTÉ", "straße", "İzmir", "ΣΟΦΙΑ",
    "北京", "大学", "の", "。", "、", "😀", "👍🏽", "🍕", "x²", "½", "Привет", "мир", "ſ", "\u212a",
    "e\u0301", "a_b", "3.", "-5", "1.2.3", "a.b.", "ok.", "Yes!", "no?", "(hi)", "[x]", "end.)", "\"q.\"",
]
SEPARATORS = [" "] * 30 + ["  ", "\n", "\t", "\u00a0", "\n\n", " \n"]


def random_text(rng, n):
    out = []
    for _ in range(n):
        tok = rng.choice(POOL_WORDS) if rng.random() < 0.6 else rng.choice(POOL_SPECIAL)
        if rng.random() < 0.1:
            tok = tok.capitalize()
        out.append(tok)
        out.append(rng.choice(SEPARATORS) if rng.random() < 0.9 else "")
    return "".join(out).strip() if rng.random() < 0.8 else "".join(out)


def mutate(rng, text):
    """A hypothesis that shares n-grams with the reference: drops, swaps and replaces words."""
    words = text.split(" ")
    out = []
    for w in words:
        r = rng.random()
        if r < 0.08:
            continue
        if r < 0.16:
            out.append(rng.choice(POOL_WORDS))
        elif r < 0.2:
            out.append(w)
            out.append(rng.choice(POOL_SPECIAL))
        else:
            out.append(w)
    if len(out) > 3 and rng.random() < 0.3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def char_class_ranges():
    """Python's re \\w, \\s, \\d and str.isupper/islower per code point, as [first, last] ranges, and
    the code points Python's Unicode 14.0 leaves unassigned (the C++ side, on ICU's newer Unicode,
    skips those)."""
    import re

    tests = {
        "word": lambda c: re.match(r"\w", c) is not None,
        "space": lambda c: re.match(r"\s", c) is not None,
        "digit": lambda c: re.match(r"\d", c) is not None,
        "upper": lambda c: c.isupper(),
        "lower": lambda c: c.islower(),
        "unassigned": lambda c: unicodedata.category(c) == "Cn",
    }
    out = {}
    for name, test in tests.items():
        ranges, start = [], None
        for cp in range(0x110000 + 1):
            inside = cp <= 0x10FFFF and test(chr(cp))
            if inside and start is None:
                start = cp
            elif not inside and start is not None:
                ranges.append([start, cp - 1])
                start = None
        out[name] = ranges
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(20240514)
    pairs = list(HANDWRITTEN)
    for _ in range(150):  # mutated pairs: BLEU mostly between 0 and 1
        ref = random_text(rng, rng.randint(3, 60))
        pairs.append((mutate(rng, ref), ref))
    for _ in range(60):  # independent random pairs: mostly 0 or tiny
        pairs.append((random_text(rng, rng.randint(1, 40)), random_text(rng, rng.randint(1, 40))))
    for _ in range(20):  # very short texts
        ref = random_text(rng, rng.randint(1, 4))
        pairs.append((mutate(rng, ref) if rng.random() < 0.5 else ref, ref))
    with open(os.path.join(here, "bleu_golden.jsonl"), "w", encoding="utf-8") as f:
        for hyp, ref in pairs:
            rec = {"hypothesis": hyp, "reference": ref, "hyp_tokens": tokens(hyp),
                   "ref_tokens": tokens(ref), "bleu": bleu(hyp, ref)}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with open(os.path.join(here, "python_char_classes.json"), "w") as f:
        json.dump({"python": sys.version.split()[0], "unicode": unicodedata.unidata_version,
                   **char_class_ranges()}, f, separators=(",", ":"))
    print(f"{len(pairs)} pairs")


if __name__ == "__main__":
    main()

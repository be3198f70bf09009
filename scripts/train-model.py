#!/usr/bin/python3
"""Trains the category model (data/model/category.model) from data/corpus/messages.tsv.

Run by `make model` with Debian's /usr/bin/python3 and python3-sklearn (scripts/deps.sh model).

Corpus: data/corpus/messages.tsv, UTF-8, TAB-separated, one header line
    id  lang  category  split  text
lang is zh-CN, zh-TW, yue (Cantonese in Traditional characters) or en; category one of the 14
ids below; split is "test" when zlib.crc32(id as UTF-8) % 5 == 0 and "train" otherwise (a
fixed split of about 20 %; this script refuses a corpus whose split column disagrees, so a new
message lands in the part its id decides). Training reads the train rows only; the test rows
are scored once at the end, through the exported file, for comparison with `make eval`.

Text: normalised by build/eval/catnorm (the C normaliser of handlers/catmodel.c: OpenCC t2s,
full-width folding, lower case, digit runs as 0, punctuation as space), so training and the
daemon see the same text.

Features, model and file format: scripts/ngram_train.py (shared with scripts/train-danger.py;
the format is described in handlers/catmodel.h too), with C below. The same corpus gives the
same file byte for byte (the script prints its SHA-256; --check, run by `make model-check`,
retrains and compares with the committed file). Floating-point results could still differ in
the last bits with another BLAS or scikit-learn version; rounding to DECIMALS places hides that
in all but rare cases.

Sure threshold (--threshold, `make model-threshold`): the probability of the first guess from
which the daemon fills the category without asking (CLASSIFY_P_SURE in handlers/classify.h).
Chosen on the train rows only, never on a test or held-out row: 5-fold cross-validation over
the train rows (fold = zlib.crc32(id) // 5 % 5, fixed), each fold scored by a model trained as
above on the other four; the threshold is the lowest of 0.30, 0.35, ... 0.95 at which the
out-of-fold first guesses at or above it are right at least SURE_PRECISION of the time.
"""
import argparse
import collections
import sys
import zlib

import ngram_train as nt

CATEGORIES = ["neighbour", "family", "support", "injury", "land", "demolition", "wage",
              "property", "debt", "medical", "traffic", "environment", "village_affairs", "other"]
LANGS = nt.LANGS
C = 20.0
SURE_PRECISION = 0.97


def read_corpus(path):
    rows = []
    seen = set()
    for n, (mid, lang, cat, split, text) in nt.read_tsv(
            path, ["id", "lang", "category", "split", "text"]):
        if mid in seen:
            sys.exit(f"{path}:{n}: duplicate id {mid}")
        seen.add(mid)
        if lang not in LANGS or cat not in CATEGORIES or not text.strip():
            sys.exit(f"{path}:{n}: bad lang, category or empty text")
        want = nt.want_split(mid)
        if split != want:
            sys.exit(f"{path}:{n}: split of {mid} must be {want} (crc32(id) % 5 == 0 is test)")
        rows.append((mid, lang, cat, split, text))
    return rows


def choose_threshold(train):
    """Out-of-fold first-guess probabilities of the train rows, and the threshold they give."""
    folds = [zlib.crc32(r[0].encode()) // 5 % 5 for _, r in train]
    scored = []
    for f in range(5):
        fit = [(n, r) for (n, r), k in zip(train, folds) if k != f]
        held = [(n, r) for (n, r), k in zip(train, folds) if k == f]
        vec, clf = nt.train("train-model", [n for n, _ in fit], [r[2] for _, r in fit], C)
        proba = clf.predict_proba(vec.transform([n for n, _ in held]))
        for (n, r), p in zip(held, proba):
            best = max(range(len(p)), key=lambda c: (p[c], -c))
            scored.append((float(p[best]), clf.classes_[best] == r[2]))
    print(f"cross-validation: {len(scored)} train rows, out-of-fold first guess right "
          f"{100.0 * sum(ok for _, ok in scored) / len(scored):.1f}%")
    chosen = None
    for i in range(30, 100, 5):
        t = i / 100
        taken = [ok for p, ok in scored if p >= t]
        prec = sum(taken) / len(taken) if taken else 1.0
        print(f"  p >= {t:.2f}: filled {100.0 * len(taken) / len(scored):5.1f}%, "
              f"right {100.0 * prec:5.1f}%")
        if chosen is None and prec >= SURE_PRECISION:
            chosen = t
    print(f"sure threshold (first guess right >= {100 * SURE_PRECISION:.0f}% out of fold): "
          f"{chosen:.2f}" if chosen is not None else "sure threshold: none reaches the target")
    return chosen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="data/corpus/messages.tsv")
    ap.add_argument("--out", default="data/model/category.model")
    ap.add_argument("--catnorm", default="build/eval/catnorm")
    ap.add_argument("--threshold", action="store_true",
                    help="only choose the sure threshold by cross-validation on the train rows")
    ap.add_argument("--check", action="store_true",
                    help="train into a temporary file; fail unless it equals --out byte for byte")
    a = ap.parse_args()
    nt.sklearn_or_exit("train-model")

    rows = read_corpus(a.corpus)
    norm = nt.normalise(a.catnorm, [r[4] for r in rows])
    train = [(n, r) for n, r in zip(norm, rows) if r[3] == "train"]
    test = [(n, r) for n, r in zip(norm, rows) if r[3] == "test"]
    print(f"corpus: {len(rows)} messages, {len(train)} train, {len(test)} test")
    if a.threshold:
        choose_threshold(train)
        return

    vec, clf = nt.train("train-model", [n for n, _ in train], [r[2] for _, r in train], C)
    data = nt.model_bytes(vec, clf, CATEGORIES)
    nt.write_or_check(data, a.out, a.check)
    model = nt.load(data)
    nt.describe(a.out, data, len(model[1]))

    right = collections.Counter()
    total = collections.Counter()
    for n, r in test:
        best = nt.predict(model, n)[0]
        for key in ("all", r[1]):
            total[key] += 1
            right[key] += CATEGORIES[best] == r[2]
    print("test accuracy (exported model, Python): " + ", ".join(
        f"{k} {100.0 * right[k] / total[k]:.1f}% ({right[k]}/{total[k]})"
        for k in ["all"] + LANGS if total[k]))


if __name__ == "__main__":
    main()

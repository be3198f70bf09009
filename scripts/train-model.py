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

Features and model: character n-grams, n = 1..3, and 4..5 of ASCII only (English words), of
" " + text + " " (the lone space left out),
binary, TF-IDF (smooth idf, L2 norm), n-grams seen in at least MIN_DF training messages; a
multinomial logistic regression (lbfgs, C below). Deterministic: no random state is used, the
vocabulary and the output are sorted, numbers are printed with fixed decimals, so the same
corpus gives the same file byte for byte (the script prints its SHA-256; --check, run by
`make model-check`, retrains and compares with the committed file). Floating-point results
could still differ in the last bits with another BLAS or scikit-learn version; rounding to
DECIMALS places hides that in all but rare cases.

Sure threshold (--threshold, `make model-threshold`): the probability of the first guess from
which the daemon fills the category without asking (CLASSIFY_P_SURE in handlers/classify.h).
Chosen on the train rows only, never on a test or held-out row: 5-fold cross-validation over
the train rows (fold = zlib.crc32(id) // 5 % 5, fixed), each fold scored by a model trained as
above on the other four; the threshold is the lowest of 0.30, 0.35, ... 0.95 at which the
out-of-fold first guesses at or above it are right at least SURE_PRECISION of the time.

Model file (described in handlers/catmodel.h too), UTF-8, TAB-separated:
    fqcat 1 / ngram NMIN NMAX NMAX_ASCII / classes K / K x "class NAME BIAS" / features N /
    N x "NGRAM IDF C:W C:W ..." where W = idf * coefficient, rounded to DECIMALS places;
    weights that round to 0 (or below PRUNE in magnitude) are left out, and a feature with
    no weight left is dropped.
"""
import argparse
import collections
import hashlib
import math
import os
import subprocess
import sys
import zlib

CATEGORIES = ["neighbour", "family", "support", "injury", "land", "demolition", "wage",
              "property", "debt", "medical", "traffic", "environment", "village_affairs", "other"]
LANGS = ["zh-CN", "zh-TW", "yue", "en"]
NMIN, NMAX, NMAX_ASCII = 1, 3, 5
MIN_DF = 2
C = 20.0
DECIMALS = 2
PRUNE = 0.6
SURE_PRECISION = 0.97


def read_corpus(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["id", "lang", "category", "split", "text"]:
            sys.exit(f"{path}: unexpected header {header}")
        seen = set()
        for n, line in enumerate(f, 2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 5:
                sys.exit(f"{path}:{n}: expected 5 fields, got {len(fields)}")
            mid, lang, cat, split, text = fields
            if mid in seen:
                sys.exit(f"{path}:{n}: duplicate id {mid}")
            seen.add(mid)
            if lang not in LANGS or cat not in CATEGORIES or not text.strip():
                sys.exit(f"{path}:{n}: bad lang, category or empty text")
            want = "test" if zlib.crc32(mid.encode()) % 5 == 0 else "train"
            if split != want:
                sys.exit(f"{path}:{n}: split of {mid} must be {want} (crc32(id) % 5 == 0 is test)")
            rows.append((mid, lang, cat, split, text))
    return rows


def normalise(catnorm, texts):
    r = subprocess.run([catnorm], input="\n".join(texts) + "\n", capture_output=True,
                       text=True, encoding="utf-8", check=True)
    out = r.stdout.split("\n")[:-1]
    if len(out) != len(texts):
        sys.exit("catnorm: line count differs")
    return out


def ngrams(text):
    t = " " + text + " "
    grams = set()
    for i in range(len(t)):
        for n in range(NMIN, NMAX_ASCII + 1):
            if i + n > len(t):
                break
            g = t[i:i + n]
            if n == 1 and g == " ":
                continue
            if n > NMAX and not g.isascii():
                break
            grams.add(g)
    return grams


def fmt(x):
    s = f"{x:.{DECIMALS}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s


def export(vec, clf, path):
    vocab = vec.vocabulary_
    idf = vec.idf_
    classes = list(clf.classes_)
    order = [classes.index(c) for c in CATEGORIES]
    lines = []
    for g in sorted(vocab):
        j = vocab[g]
        ws = []
        for k, ci in enumerate(order):
            w = idf[j] * clf.coef_[ci, j]
            if abs(w) >= PRUNE and float(fmt(w)) != 0:
                ws.append(f"{k}:{fmt(w)}")
        if ws:
            lines.append(f"{g}\t{fmt(idf[j])}\t{' '.join(ws)}")
    out = [f"fqcat\t1", f"ngram\t{NMIN}\t{NMAX}\t{NMAX_ASCII}", f"classes\t{len(CATEGORIES)}"]
    out += [f"class\t{c}\t{fmt(clf.intercept_[ci])}" for c, ci in zip(CATEGORIES, order)]
    out += [f"features\t{len(lines)}"] + lines
    data = ("\n".join(out) + "\n").encode("utf-8")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return data


def load(data):
    """The exported file read back the way handlers/catmodel.c reads it."""
    lines = data.decode("utf-8").split("\n")
    k = int(lines[2].split("\t")[1])
    bias = [float(lines[3 + i].split("\t")[2]) for i in range(k)]
    feats = {}
    for line in lines[4 + k:]:
        if not line:
            continue
        g, idf, ws = line.split("\t")
        pairs = (p.split(":") for p in ws.split(" "))
        feats[g] = (float(idf), [(int(c), float(w)) for c, w in pairs])
    return bias, feats


def predict(model, text):
    bias, feats = model
    score = [0.0] * len(bias)
    sumsq = 0.0
    for g in ngrams(text):
        f = feats.get(g)
        if f:
            sumsq += f[0] * f[0]
            for c, w in f[1]:
                score[c] += w
    norm = math.sqrt(sumsq) if sumsq > 0 else 1.0
    score = [b + s / norm for b, s in zip(bias, score)]
    return sorted(range(len(score)), key=lambda c: (-score[c], c))


def choose_threshold(train, TfidfVectorizer, LogisticRegression):
    """Out-of-fold first-guess probabilities of the train rows, and the threshold they give."""
    folds = [zlib.crc32(r[0].encode()) // 5 % 5 for _, r in train]
    scored = []
    for f in range(5):
        fit = [(n, r) for (n, r), k in zip(train, folds) if k != f]
        held = [(n, r) for (n, r), k in zip(train, folds) if k == f]
        vec = TfidfVectorizer(analyzer=ngrams, binary=True, min_df=MIN_DF, norm="l2",
                              smooth_idf=True, sublinear_tf=False)
        x = vec.fit_transform([n for n, _ in fit])
        clf = LogisticRegression(C=C, max_iter=5000, solver="lbfgs")
        clf.fit(x, [r[2] for _, r in fit])
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
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        sys.exit("train-model: needs python3-sklearn (sh scripts/deps.sh model)")

    rows = read_corpus(a.corpus)
    norm = normalise(a.catnorm, [r[4] for r in rows])
    train = [(n, r) for n, r in zip(norm, rows) if r[3] == "train"]
    test = [(n, r) for n, r in zip(norm, rows) if r[3] == "test"]
    print(f"corpus: {len(rows)} messages, {len(train)} train, {len(test)} test")
    if a.threshold:
        choose_threshold(train, TfidfVectorizer, LogisticRegression)
        return

    vec = TfidfVectorizer(analyzer=ngrams, binary=True, min_df=MIN_DF, norm="l2",
                          smooth_idf=True, sublinear_tf=False)
    x = vec.fit_transform([n for n, _ in train])
    y = [r[2] for _, r in train]
    clf = LogisticRegression(C=C, max_iter=5000, solver="lbfgs")
    clf.fit(x, y)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    out = a.out + ".check" if a.check else a.out
    data = export(vec, clf, out)
    if a.check:
        os.unlink(out)
        with open(a.out, "rb") as f:
            same = f.read() == data
        print(f"model: retrained file {'equals' if same else 'DIFFERS FROM'} {a.out}")
        if not same:
            sys.exit(1)
    model = load(data)
    print(f"model: {a.out}, {len(model[1])} features, {len(data)} bytes, "
          f"sha256 {hashlib.sha256(data).hexdigest()}")

    right = collections.Counter()
    total = collections.Counter()
    for n, r in test:
        best = predict(model, n)[0]
        for key in ("all", r[1]):
            total[key] += 1
            right[key] += CATEGORIES[best] == r[2]
    print("test accuracy (exported model, Python): " + ", ".join(
        f"{k} {100.0 * right[k] / total[k]:.1f}% ({right[k]}/{total[k]})"
        for k in ["all"] + LANGS if total[k]))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Trains the danger model (data/model/danger.model): none / moderate / red.

Run by `make danger-model` with Debian's /usr/bin/python3 and python3-sklearn (scripts/deps.sh
model). The same features, normaliser and file format as the category model
(scripts/train-model.py, handlers/catmodel.h), with three classes in this order: none,
moderate, red.

Training data, the train split of both:
- data/corpus/danger.tsv: id, lang, danger, people, split, text (messages written for danger
  screening: violence, domestic violence, weapons, self-harm and suicide threats, gatherings and
  petitions, and hard negatives that only look like them);
- data/corpus/messages.tsv, the category corpus, each message labelled by
  data/corpus/messages-danger.tsv (id, danger) or "none" when it is not listed there.
The split is the corpus's fixed one: "test" when zlib.crc32(id) % 5 == 0, else "train"; this
script refuses a row whose split column disagrees. data/corpus/danger-holdout.tsv (split
"holdout", written apart) is never read here.
"""
import argparse
import hashlib
import importlib.util
import os
import sys
import zlib

LEVELS = ["none", "moderate", "red"]
LANGS = ["zh-CN", "zh-TW", "yue", "en"]
C = 10.0
# A red message is rarer than an ordinary one and costs more when missed.
CLASS_WEIGHT = {"none": 1.0, "moderate": 2.0, "red": 3.0}

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("train_model", os.path.join(HERE, "train-model.py"))
tm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tm)


def want_split(mid):
    return "test" if zlib.crc32(mid.encode()) % 5 == 0 else "train"


def read_danger(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["id", "lang", "danger", "people", "split", "text"]:
            sys.exit(f"{path}: unexpected header {header}")
        seen = set()
        for n, line in enumerate(f, 2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 6:
                sys.exit(f"{path}:{n}: expected 6 fields, got {len(fields)}")
            mid, lang, level, people, split, text = fields
            if mid in seen:
                sys.exit(f"{path}:{n}: duplicate id {mid}")
            seen.add(mid)
            if lang not in LANGS or level not in LEVELS or not people.isdigit() or not text.strip():
                sys.exit(f"{path}:{n}: bad lang, danger, people or empty text")
            if split != want_split(mid):
                sys.exit(f"{path}:{n}: split of {mid} must be {want_split(mid)}")
            rows.append((mid, lang, level, split, text))
    return rows


def read_labels(path):
    labels = {}
    with open(path, encoding="utf-8") as f:
        if f.readline().rstrip("\n").split("\t") != ["id", "danger"]:
            sys.exit(f"{path}: unexpected header")
        for n, line in enumerate(f, 2):
            mid, level = line.rstrip("\n").split("\t")
            if level not in LEVELS:
                sys.exit(f"{path}:{n}: bad danger level")
            labels[mid] = level
    return labels


def export(vec, clf, path):
    vocab, idf = vec.vocabulary_, vec.idf_
    classes = list(clf.classes_)
    order = [classes.index(c) for c in LEVELS]
    lines = []
    for g in sorted(vocab):
        j = vocab[g]
        ws = []
        for k, ci in enumerate(order):
            w = idf[j] * clf.coef_[ci, j]
            if abs(w) >= tm.PRUNE and float(tm.fmt(w)) != 0:
                ws.append(f"{k}:{tm.fmt(w)}")
        if ws:
            lines.append(f"{g}\t{tm.fmt(idf[j])}\t{' '.join(ws)}")
    out = ["fqcat\t1", f"ngram\t{tm.NMIN}\t{tm.NMAX}\t{tm.NMAX_ASCII}", f"classes\t{len(LEVELS)}"]
    out += [f"class\t{c}\t{tm.fmt(clf.intercept_[ci])}" for c, ci in zip(LEVELS, order)]
    out += [f"features\t{len(lines)}"] + lines
    data = ("\n".join(out) + "\n").encode("utf-8")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--danger", default="data/corpus/danger.tsv")
    ap.add_argument("--corpus", default="data/corpus/messages.tsv")
    ap.add_argument("--labels", default="data/corpus/messages-danger.tsv")
    ap.add_argument("--out", default="data/model/danger.model")
    ap.add_argument("--catnorm", default="build/eval/catnorm")
    ap.add_argument("--check", action="store_true",
                    help="train into a temporary file; fail unless it equals --out byte for byte")
    a = ap.parse_args()
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        sys.exit("train-danger: needs python3-sklearn (sh scripts/deps.sh model)")

    labels = read_labels(a.labels)
    rows = read_danger(a.danger)
    corpus = tm.read_corpus(a.corpus)
    known = {r[0] for r in corpus}
    for mid in labels:
        if mid not in known:
            sys.exit(f"{a.labels}: {mid} is not in {a.corpus}")
    rows += [(r[0], r[1], labels.get(r[0], "none"), r[3], r[4]) for r in corpus]
    norm = tm.normalise(a.catnorm, [r[4] for r in rows])
    train = [(n, r) for n, r in zip(norm, rows) if r[3] == "train"]
    print(f"danger corpus: {len(rows)} messages, {len(train)} train; train by level: " +
          ", ".join(f"{lv} {sum(1 for _, r in train if r[2] == lv)}" for lv in LEVELS))

    vec = TfidfVectorizer(analyzer=tm.ngrams, binary=True, min_df=tm.MIN_DF, norm="l2",
                          smooth_idf=True, sublinear_tf=False)
    x = vec.fit_transform([n for n, _ in train])
    y = [r[2] for _, r in train]
    clf = LogisticRegression(C=C, max_iter=5000, solver="lbfgs", class_weight=CLASS_WEIGHT)
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
    nfeat = data.count(b"\n") - 4 - len(LEVELS)
    print(f"model: {a.out}, {nfeat} features, {len(data)} bytes, "
          f"sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()

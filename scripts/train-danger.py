#!/usr/bin/python3
"""Trains the danger model (data/model/danger.model): none / moderate / red.

Run by `make danger-model` with Debian's /usr/bin/python3 and python3-sklearn (scripts/deps.sh
model). The same features, normaliser and file format as the category model
(scripts/ngram_train.py, shared with scripts/train-model.py; handlers/catmodel.h), with three
classes in this order: none, moderate, red.

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
import sys

import ngram_train as nt
import importlib

tm = importlib.import_module("train-model")   # the category corpus reader

LEVELS = ["none", "moderate", "red"]
LANGS = nt.LANGS
C = 10.0
# A red message is rarer than an ordinary one and costs more when missed.
CLASS_WEIGHT = {"none": 1.0, "moderate": 2.0, "red": 3.0}


def read_danger(path):
    rows = []
    seen = set()
    for n, (mid, lang, level, people, split, text) in nt.read_tsv(
            path, ["id", "lang", "danger", "people", "split", "text"]):
        if mid in seen:
            sys.exit(f"{path}:{n}: duplicate id {mid}")
        seen.add(mid)
        if lang not in LANGS or level not in LEVELS or not people.isdigit() or not text.strip():
            sys.exit(f"{path}:{n}: bad lang, danger, people or empty text")
        if split != nt.want_split(mid):
            sys.exit(f"{path}:{n}: split of {mid} must be {nt.want_split(mid)}")
        rows.append((mid, lang, level, split, text))
    return rows


def read_labels(path):
    labels = {}
    for n, (mid, level) in nt.read_tsv(path, ["id", "danger"]):
        if level not in LEVELS:
            sys.exit(f"{path}:{n}: bad danger level")
        labels[mid] = level
    return labels


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
    nt.sklearn_or_exit("train-danger")

    labels = read_labels(a.labels)
    rows = read_danger(a.danger)
    corpus = tm.read_corpus(a.corpus)
    known = {r[0] for r in corpus}
    for mid in labels:
        if mid not in known:
            sys.exit(f"{a.labels}: {mid} is not in {a.corpus}")
    rows += [(r[0], r[1], labels.get(r[0], "none"), r[3], r[4]) for r in corpus]
    norm = nt.normalise(a.catnorm, [r[4] for r in rows])
    train = [(n, r) for n, r in zip(norm, rows) if r[3] == "train"]
    print(f"danger corpus: {len(rows)} messages, {len(train)} train; train by level: " +
          ", ".join(f"{lv} {sum(1 for _, r in train if r[2] == lv)}" for lv in LEVELS))

    vec, clf = nt.train("train-danger", [n for n, _ in train], [r[2] for _, r in train], C,
                        CLASS_WEIGHT)
    data = nt.model_bytes(vec, clf, LEVELS)
    nt.write_or_check(data, a.out, a.check)
    nt.describe(a.out, data, data.count(b"\n") - 4 - len(LEVELS))


if __name__ == "__main__":
    main()

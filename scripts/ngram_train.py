"""What the two model trainers share (scripts/train-model.py, scripts/train-danger.py): the
fixed split, the normaliser, the character n-grams, the training, the model file format
(handlers/catmodel.h) and its --check.

Features: character n-grams, n = NMIN..NMAX, and up to NMAX_ASCII of ASCII only (English
words), of " " + text + " " (the lone space left out), binary, TF-IDF (smooth idf, L2 norm),
n-grams seen in at least MIN_DF training messages; a multinomial logistic regression (lbfgs).
Deterministic: no random state is used, each message's n-grams, the vocabulary and the output
are sorted (nothing depends on Python's hash seed), numbers are printed with DECIMALS places, so
the same corpus gives the same file byte for byte.

Model file, UTF-8, TAB-separated:
    fqcat 1 / ngram NMIN NMAX NMAX_ASCII / classes K / K x "class NAME BIAS" / features N /
    N x "NGRAM IDF C:W C:W ..." where W = idf * coefficient, rounded to DECIMALS places;
    weights that round to 0 (or below PRUNE in magnitude) are left out, and a feature with
    no weight left is dropped.
"""
import hashlib
import math
import os
import subprocess
import sys
import zlib

LANGS = ["zh-CN", "zh-TW", "yue", "en"]
NMIN, NMAX, NMAX_ASCII = 1, 3, 5
MIN_DF = 2
DECIMALS = 2
PRUNE = 0.6


def want_split(mid):
    """The corpus's fixed split: "test" when crc32(id as UTF-8) % 5 == 0, else "train"."""
    return "test" if zlib.crc32(mid.encode()) % 5 == 0 else "train"


def read_tsv(path, header):
    """The rows of a TAB-separated file with exactly this header, each (line number, fields)."""
    with open(path, encoding="utf-8") as f:
        got = f.readline().rstrip("\n").split("\t")
        if got != header:
            sys.exit(f"{path}: unexpected header {got}")
        for n, line in enumerate(f, 2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != len(header):
                sys.exit(f"{path}:{n}: expected {len(header)} fields, got {len(fields)}")
            yield n, fields


def normalise(catnorm, texts):
    r = subprocess.run([catnorm], input="\n".join(texts) + "\n", capture_output=True,
                       text=True, encoding="utf-8", check=True)
    out = r.stdout.split("\n")[:-1]
    if len(out) != len(texts):
        sys.exit("catnorm: line count differs")
    return out


def ngrams(text):
    """The distinct n-grams of a normalised text, sorted: the order scikit-learn meets a
    message's features in decides the order of its vocabulary and of the entries of each row,
    and so the order floating-point sums are taken in; a set's order would follow Python's
    per-process hash seed and the weights could differ in their last decimal from run to run."""
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
    return sorted(grams)


def fmt(x):
    s = f"{x:.{DECIMALS}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s


def sklearn_or_exit(who):
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        sys.exit(f"{who}: needs python3-sklearn (sh scripts/deps.sh model)")
    return TfidfVectorizer, LogisticRegression


def train(who, texts, labels, c, class_weight=None):
    """The vectoriser and the classifier fitted on the (normalised) texts."""
    TfidfVectorizer, LogisticRegression = sklearn_or_exit(who)
    vec = TfidfVectorizer(analyzer=ngrams, binary=True, min_df=MIN_DF, norm="l2",
                          smooth_idf=True, sublinear_tf=False)
    x = vec.fit_transform(texts)
    if class_weight is None:
        clf = LogisticRegression(C=c, max_iter=5000, solver="lbfgs")
    else:
        clf = LogisticRegression(C=c, max_iter=5000, solver="lbfgs", class_weight=class_weight)
    clf.fit(x, labels)
    return vec, clf


def model_bytes(vec, clf, classes):
    """The model file of the fitted pair, its classes in the order given."""
    vocab, idf = vec.vocabulary_, vec.idf_
    fitted = list(clf.classes_)
    order = [fitted.index(c) for c in classes]
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
    out = ["fqcat\t1", f"ngram\t{NMIN}\t{NMAX}\t{NMAX_ASCII}", f"classes\t{len(classes)}"]
    out += [f"class\t{c}\t{fmt(clf.intercept_[ci])}" for c, ci in zip(classes, order)]
    out += [f"features\t{len(lines)}"] + lines
    return ("\n".join(out) + "\n").encode("utf-8")


def write_or_check(data, path, check):
    """Writes data to path (atomically); with check, fails unless path holds exactly data."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if check:
        with open(path, "rb") as f:
            same = f.read() == data
        print(f"model: retrained file {'equals' if same else 'DIFFERS FROM'} {path}")
        if not same:
            sys.exit(1)
        return
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def describe(path, data, nfeat):
    print(f"model: {path}, {nfeat} features, {len(data)} bytes, "
          f"sha256 {hashlib.sha256(data).hexdigest()}")


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

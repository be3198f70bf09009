/* catmodel.c: character n-gram linear classifier for the dispute category, and the text
 * normaliser (OpenCC t2s plus folding) it shares with the training script. The model file
 * format, the normalisation and the scoring are described in catmodel.h.
 *
 * Design choices:
 * - The n-gram table is one open-addressing hash table (FNV-1a over the n-gram's bytes,
 *   linear probing, at most half full) pointing into one string pool and one array of sparse
 *   (class, weight) pairs; all of it is allocated at parse time and read-only afterwards, so
 *   any number of threads may classify at once.
 * - Distinct features of a message are found through a small set of table slots on the stack:
 *   no allocation per message of ordinary length.
 * - Numbers in the file are parsed here (not with strtod), so a process locale cannot change
 *   how a model reads. */
#include "handlers/catmodel.h"

#include <math.h>
#include <stdbool.h>
#include <opencc/opencc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- normaliser ----------------------------------------------------------------------------- */
/* OpenCC's t2s table for single characters, taken once at open: every code point of the CJK
 * blocks below is converted in one call (one character per line, so no phrase spans two) and
 * the ones that change are kept. Converting per character afterwards costs a table look-up
 * instead of an OpenCC call (tens of microseconds) per message. */
#define T2S_FIRST 0x3400L
#define T2S_LAST 0xFAFFL
static const long t2s_blocks[][2] = {{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}};

struct catnorm {
    uint32_t map[T2S_LAST - T2S_FIRST + 1]; /* 0: unchanged */
};

static size_t utf8_put(char *out, long cp);
static long utf8_next(const unsigned char *s, size_t len, size_t *i);

catnorm *catnorm_open(const char *opencc_config, char *err, size_t errsize)
{
    opencc_t cc = opencc_open(opencc_config ? opencc_config : "t2s.json");
    if (cc == (opencc_t)-1) {
        if (err && errsize)
            snprintf(err, errsize, "opencc: %s", opencc_error());
        return NULL;
    }
    size_t ncp = 0;
    for (size_t b = 0; b < sizeof t2s_blocks / sizeof t2s_blocks[0]; b++)
        ncp += (size_t)(t2s_blocks[b][1] - t2s_blocks[b][0] + 1);
    catnorm *n = calloc(1, sizeof *n);
    char *all = malloc(ncp * 4 + 1), *conv = NULL;
    const char *why = "out of memory";
    if (!n || !all)
        goto fail;
    size_t len = 0;
    for (size_t b = 0; b < sizeof t2s_blocks / sizeof t2s_blocks[0]; b++)
        for (long cp = t2s_blocks[b][0]; cp <= t2s_blocks[b][1]; cp++) {
            len += utf8_put(all + len, cp);
            all[len++] = '\n';
        }
    all[len] = '\0';
    conv = opencc_convert_utf8(cc, all, len);
    why = "opencc: conversion failed";
    if (!conv)
        goto fail;
    /* line i of the output is the conversion of code point i of the input */
    const unsigned char *p = (const unsigned char *)conv;
    size_t clen = strlen(conv), i = 0;
    why = "opencc: the conversion does not keep one line per character";
    for (size_t b = 0; b < sizeof t2s_blocks / sizeof t2s_blocks[0]; b++)
        for (long cp = t2s_blocks[b][0]; cp <= t2s_blocks[b][1]; cp++) {
            size_t s = i;
            while (i < clen && p[i] != '\n')
                i++;
            if (i >= clen)
                goto fail;
            size_t j = s;
            long to = j < i ? utf8_next(p, i, &j) : -1;
            if (to > 0 && j == i && to != cp)
                n->map[cp - T2S_FIRST] = (uint32_t)to; /* one character for one */
            i++;
        }
    free(all);
    opencc_convert_utf8_free(conv);
    opencc_close(cc);
    return n;
fail:
    if (err && errsize)
        snprintf(err, errsize, "%s", why);
    free(all);
    if (conv)
        opencc_convert_utf8_free(conv);
    free(n);
    opencc_close(cc);
    return NULL;
}

void catnorm_close(catnorm *n)
{
    free(n);
}

/* Decodes one UTF-8 code point at s[*i], advancing *i; returns -1 (and skips one byte) for an
 * invalid or overlong sequence. */
static long utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    size_t need;
    long cp;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        need = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        need = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        need = 3, cp = c & 0x07;
    } else {
        (*i)++;
        return -1;
    }
    for (size_t k = 1; k <= need; k++) {
        if (*i + k >= len || (s[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return -1;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    }
    static const long min_cp[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        (*i)++;
        return -1;
    }
    *i += need + 1;
    return cp;
}

static size_t utf8_put(char *out, long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

enum { K_SPACE, K_DIGIT, K_KEEP };

/* Folds one code point: returns its kind and, for K_KEEP, the folded code point in *out. */
static int fold(long cp, long *out)
{
    if (cp >= 0xFF01 && cp <= 0xFF5E) /* full-width ASCII */
        cp -= 0xFEE0;
    else if (cp == 0x3000)
        cp = ' ';
    if (cp < 0x80) {
        if (cp >= '0' && cp <= '9')
            return K_DIGIT;
        if (cp >= 'A' && cp <= 'Z') {
            *out = cp + 32;
            return K_KEEP;
        }
        if (cp >= 'a' && cp <= 'z') {
            *out = cp;
            return K_KEEP;
        }
        return K_SPACE; /* punctuation, controls, whitespace */
    }
    if ((cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFFEF) || cp == 0x00A0 ||
        cp == 0x00B7)
        return K_SPACE;
    *out = cp;
    return K_KEEP;
}

/* The folding of one code point after another into out (cap >= 1): fold_start, fold_cp for each,
 * fold_end. fold_cp returns false once out is full (the rest is not written). */
typedef struct {
    char *out;
    size_t cap, o;
    int pending_space, in_digits;
} folder;

static inline void fold_start(folder *f, char *out, size_t cap)
{
    *f = (folder){.out = out, .cap = cap};
}

static inline bool fold_cp(folder *fs, const catnorm *cn, long cp)
{
    long f = 0;
    if (cp >= T2S_FIRST && cp <= T2S_LAST && cn->map[cp - T2S_FIRST])
        cp = (long)cn->map[cp - T2S_FIRST];
    int kind = fold(cp, &f);
    if (kind == K_SPACE) {
        fs->pending_space = fs->o > 0;
        fs->in_digits = 0;
        return true;
    }
    if (kind == K_DIGIT) {
        if (fs->in_digits)
            return true;
        fs->in_digits = 1;
        f = '0';
    } else {
        fs->in_digits = 0;
    }
    char buf[5];
    size_t n = utf8_put(buf, f);
    if (fs->o + (size_t)fs->pending_space + n + 1 > fs->cap)
        return false;
    if (fs->pending_space)
        fs->out[fs->o++] = ' ';
    fs->pending_space = 0;
    memcpy(fs->out + fs->o, buf, n);
    fs->o += n;
    return true;
}

static inline size_t fold_end(folder *f)
{
    f->out[f->o] = '\0';
    return f->o;
}

/* The folding step alone, on UTF-8 in[0..len) into out (cap >= 1). */
static size_t fold_text(const catnorm *cn, const char *in, size_t len, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;
    folder f;
    fold_start(&f, out, cap);
    while (i < len) {
        long cp = utf8_next(s, len, &i);
        if (cp >= 0 && !fold_cp(&f, cn, cp))
            break;
    }
    return fold_end(&f);
}

size_t catnorm_apply_cps(const catnorm *n, const int32_t *cp, size_t ncp, char *out, size_t cap)
{
    if (!cap)
        return (size_t)-1;
    folder f;
    fold_start(&f, out, cap);
    for (size_t i = 0; i < ncp && fold_cp(&f, n, cp[i]); i++)
        ;
    return fold_end(&f);
}

/* Cuts len so that in[0..len) ends on a code point boundary, at most max bytes. */
static size_t cut_utf8(const char *in, size_t len, size_t max)
{
    if (len <= max)
        return len;
    len = max;
    while (len > 0 && ((unsigned char)in[len] & 0xC0) == 0x80)
        len--;
    return len;
}

size_t catnorm_apply(const catnorm *n, const char *in, size_t len, char *out, size_t cap)
{
    if (!cap)
        return (size_t)-1;
    len = cut_utf8(in, len, CATMODEL_MAX_INPUT);
    return fold_text(n, in, len, out, cap);
}

long catnorm_t2s(const catnorm *n, long cp)
{
    if (n && cp >= T2S_FIRST && cp <= T2S_LAST && n->map[cp - T2S_FIRST])
        return (long)n->map[cp - T2S_FIRST];
    return cp;
}

/* ---- model ---------------------------------------------------------------------------------- */
typedef struct {
    uint32_t hash;   /* low 32 bits of the n-gram's FNV-1a hash */
    uint32_t off;    /* its bytes: pool[off .. off+len) */
    uint32_t wfirst; /* its (class, weight) pairs: pairs[wfirst .. wfirst+wcount) */
    uint8_t len;     /* 0: an empty slot */
    uint8_t wcount;
    float idf;
} slot;

typedef struct {
    uint8_t cls;
    float w;
} pair;

struct catmodel {
    int nclasses, nmin, nmax, nmax_ascii;
    char **names;
    double *bias;
    size_t nfeatures;
    slot *table;
    size_t mask; /* table size - 1 */
    char *pool;
    pair *pairs;
};

#define FNV_OFFSET 1469598103934665603ULL

/* FNV-1a of h's bytes followed by s[0..n): the hash of a longer string from a prefix's. */
static inline uint64_t fnv1a_more(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t fnv1a(const char *s, size_t n)
{
    return fnv1a_more(FNV_OFFSET, s, n);
}

/* memcmp(a, b, n) == 0 for the few bytes of an n-gram, without a call. */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* Returns the slot holding s[0..n) whose fnv1a hash is h, or NULL. */
static const slot *lookup_hashed(const catmodel *m, const char *s, size_t n, uint64_t h)
{
    size_t i = (size_t)h & m->mask;
    for (;;) {
        const slot *e = &m->table[i];
        if (!e->len)
            return NULL;
        if (e->hash == (uint32_t)h && e->len == n && same_bytes(m->pool + e->off, s, n))
            return e;
        i = (i + 1) & m->mask;
    }
}

/* A cursor over the file's lines and TAB-separated fields. */
typedef struct {
    const char *p, *end;
    int line;
} reader;

/* The next line as [*s, *e) without its LF; 0 at end of input. */
static int next_line(reader *r, const char **s, const char **e)
{
    if (r->p >= r->end)
        return 0;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    *s = r->p;
    *e = nl ? nl : r->end;
    r->p = nl ? nl + 1 : r->end;
    r->line++;
    return 1;
}

/* Splits [s, e) at TABs into at most max fields; returns the count. */
static int split_tabs(const char *s, const char *e, const char **fs, const char **fe, int max)
{
    int n = 0;
    while (n < max) {
        const char *t = memchr(s, '\t', (size_t)(e - s));
        fs[n] = s;
        fe[n] = t ? t : e;
        n++;
        if (!t)
            break;
        s = t + 1;
    }
    return n;
}

static int field_is(const char *s, const char *e, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(e - s) == n && memcmp(s, word, n) == 0;
}

/* [-]digits[.digits], the whole field; 0 on success. */
static int parse_num(const char *s, const char *e, double *out)
{
    int neg = 0, digits = 0;
    double v = 0;
    if (s < e && *s == '-')
        neg = 1, s++;
    while (s < e && *s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0'), digits++;
    if (s < e && *s == '.') {
        double scale = 0.1;
        s++;
        while (s < e && *s >= '0' && *s <= '9')
            v += (*s++ - '0') * scale, scale /= 10, digits++;
    }
    if (s != e || !digits || digits > 30)
        return -1;
    *out = neg ? -v : v;
    return 0;
}

static int parse_uint(const char *s, const char *e, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (s == e)
        return -1;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9' || v > max / 10)
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

void catmodel_free(catmodel *m)
{
    if (!m)
        return;
    if (m->names)
        for (int i = 0; i < m->nclasses; i++)
            free(m->names[i]);
    free(m->names);
    free(m->bias);
    free(m->table);
    free(m->pool);
    free(m->pairs);
    free(m);
}

#define FAIL(...)                                                                            \
    do {                                                                                     \
        if (err && errsize) {                                                                \
            int w_ = snprintf(err, errsize, "line %d: ", r.line);                            \
            if (w_ >= 0 && (size_t)w_ < errsize)                                             \
                snprintf(err + w_, errsize - (size_t)w_, __VA_ARGS__);                       \
        }                                                                                    \
        catmodel_free(m);                                                                    \
        return NULL;                                                                         \
    } while (0)

catmodel *catmodel_parse(const char *buf, size_t len, char *err, size_t errsize)
{
    reader r = {buf, buf + len, 0};
    const char *s, *e, *fs[5], *fe[5];
    unsigned long v;
    catmodel *m = calloc(1, sizeof *m);
    if (!m)
        FAIL("out of memory");

    if (!next_line(&r, &s, &e) || split_tabs(s, e, fs, fe, 3) != 2 ||
        !field_is(fs[0], fe[0], "fqcat") || !field_is(fs[1], fe[1], "1"))
        FAIL("not a category model (expected \"fqcat\\t1\")");

    unsigned long nmin, nmax, nmax_ascii;
    if (!next_line(&r, &s, &e) || split_tabs(s, e, fs, fe, 5) != 4 ||
        !field_is(fs[0], fe[0], "ngram") || parse_uint(fs[1], fe[1], CATMODEL_MAX_NGRAM, &nmin) ||
        parse_uint(fs[2], fe[2], CATMODEL_MAX_NGRAM, &nmax) ||
        parse_uint(fs[3], fe[3], CATMODEL_MAX_NGRAM, &nmax_ascii) || nmin < 1 || nmax < nmin ||
        nmax_ascii < nmax)
        FAIL("expected \"ngram\\tNMIN\\tNMAX\\tNMAX_ASCII\" with 1 <= NMIN <= NMAX <= "
             "NMAX_ASCII <= %d", CATMODEL_MAX_NGRAM);
    m->nmin = (int)nmin, m->nmax = (int)nmax, m->nmax_ascii = (int)nmax_ascii;

    if (!next_line(&r, &s, &e) || split_tabs(s, e, fs, fe, 3) != 2 ||
        !field_is(fs[0], fe[0], "classes") ||
        parse_uint(fs[1], fe[1], CATMODEL_MAX_CLASSES, &v) || v < 2)
        FAIL("expected \"classes\\tK\" with 2 <= K <= %d", CATMODEL_MAX_CLASSES);
    m->names = calloc(v, sizeof *m->names);
    m->bias = calloc(v, sizeof *m->bias);
    if (!m->names || !m->bias)
        FAIL("out of memory");
    m->nclasses = (int)v;
    for (int c = 0; c < m->nclasses; c++) {
        if (!next_line(&r, &s, &e) || split_tabs(s, e, fs, fe, 4) != 3 ||
            !field_is(fs[0], fe[0], "class") || fe[1] == fs[1] || fe[1] - fs[1] > 64 ||
            parse_num(fs[2], fe[2], &m->bias[c]))
            FAIL("expected \"class\\tNAME\\tBIAS\"");
        m->names[c] = strndup(fs[1], (size_t)(fe[1] - fs[1]));
        if (!m->names[c])
            FAIL("out of memory");
    }

    if (!next_line(&r, &s, &e) || split_tabs(s, e, fs, fe, 3) != 2 ||
        !field_is(fs[0], fe[0], "features") ||
        parse_uint(fs[1], fe[1], CATMODEL_MAX_FEATURES, &v))
        FAIL("expected \"features\\tN\" with N <= %d", CATMODEL_MAX_FEATURES);
    m->nfeatures = v;
    size_t size = 16;
    while (size < 2 * m->nfeatures)
        size *= 2;
    m->mask = size - 1;
    m->table = calloc(size, sizeof *m->table);
    /* the pool and the pairs are bounded by the remaining bytes of the file */
    size_t rest = (size_t)(r.end - r.p);
    m->pool = malloc(rest + 1);
    m->pairs = malloc((rest / 4 + 1) * sizeof *m->pairs);
    if (!m->table || !m->pool || !m->pairs)
        FAIL("out of memory");
    size_t pool_used = 0, npairs = 0;

    for (size_t f = 0; f < m->nfeatures; f++) {
        if (!next_line(&r, &s, &e) || split_tabs(s, e, fs, fe, 4) != 3 || fe[0] == fs[0])
            FAIL("expected \"NGRAM\\tIDF\\tC:W ...\" (%zu of %zu features read)", f,
                 m->nfeatures);
        size_t glen = (size_t)(fe[0] - fs[0]);
        double idf;
        if (glen > 4 * CATMODEL_MAX_NGRAM)
            FAIL("n-gram too long");
        if (parse_num(fs[1], fe[1], &idf) || idf <= 0)
            FAIL("bad idf");
        uint64_t h = fnv1a(fs[0], glen);
        size_t i = (size_t)h & m->mask;
        while (m->table[i].len) {
            if (m->table[i].len == glen && memcmp(m->pool + m->table[i].off, fs[0], glen) == 0)
                FAIL("n-gram listed twice");
            i = (i + 1) & m->mask;
        }
        slot *sl = &m->table[i];
        memcpy(m->pool + pool_used, fs[0], glen);
        sl->hash = (uint32_t)h;
        sl->off = (uint32_t)pool_used;
        pool_used += glen;
        sl->idf = (float)idf;
        sl->wfirst = (uint32_t)npairs;
        const char *p = fs[2];
        while (p < fe[2]) {
            const char *sp = memchr(p, ' ', (size_t)(fe[2] - p));
            const char *te = sp ? sp : fe[2];
            const char *colon = memchr(p, ':', (size_t)(te - p));
            unsigned long c;
            double w;
            if (!colon || parse_uint(p, colon, (unsigned long)m->nclasses - 1, &c) ||
                parse_num(colon + 1, te, &w))
                FAIL("bad class weight \"C:W\"");
            if (sl->wcount == m->nclasses)
                FAIL("more weights than classes");
            m->pairs[npairs].cls = (uint8_t)c;
            m->pairs[npairs].w = (float)w;
            npairs++, sl->wcount++;
            p = sp ? sp + 1 : fe[2];
        }
        sl->len = (uint8_t)glen; /* marks the slot used */
    }
    if (next_line(&r, &s, &e) && s != e)
        FAIL("data after the last feature");
    return m;
}

int catmodel_nclasses(const catmodel *m) { return m->nclasses; }
size_t catmodel_nfeatures(const catmodel *m) { return m->nfeatures; }

const char *catmodel_class_name(const catmodel *m, int cls)
{
    return cls >= 0 && cls < m->nclasses ? m->names[cls] : NULL;
}

int catmodel_class_index(const catmodel *m, const char *name)
{
    for (int c = 0; c < m->nclasses; c++)
        if (strcmp(m->names[c], name) == 0)
            return c;
    return -1;
}

int catmodel_predict_normalised(const catmodel *m, const char *norm, size_t len,
                                catmodel_guess *out, int k)
{
    /* byte offsets of each code point of " " + norm + " " */
    enum { MAXCP = CATMODEL_MAX_INPUT + 2 };
    char text[CATMODEL_MAX_INPUT + 3];
    uint16_t at[MAXCP + 1];
    len = cut_utf8(norm, len, CATMODEL_MAX_INPUT);
    text[0] = ' ';
    memcpy(text + 1, norm, len);
    text[len + 1] = ' ';
    size_t tlen = len + 2, ncp = 0;
    for (size_t i = 0; i < tlen;) {
        at[ncp++] = (uint16_t)i;
        unsigned char c = (unsigned char)text[i];
        size_t step = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
        i = i + step > tlen ? tlen : i + step;
    }
    at[ncp] = (uint16_t)tlen;

    /* Distinct features through a set of slot pointers at most half full: on the stack for a
     * message of ordinary length, allocated for a longer one. Which places of the set are taken
     * is kept in a bitmap, so only the bitmap (1/64 of the set) is cleared for each message. */
    double score[CATMODEL_MAX_CLASSES] = {0}, sumsq = 0;
    size_t maxfeat = ncp * (size_t)(m->nmax_ascii - m->nmin + 1), setsize = 64;
    while (setsize < 2 * maxfeat)
        setsize *= 2;
    const slot *local[2048], **set = local;
    uint64_t local_used[2048 / 64], *used = local_used;
    if (setsize > sizeof local / sizeof local[0]) {
        set = malloc(setsize * sizeof *set);
        used = malloc(setsize / 64 * sizeof *used);
        if (!set || !used) {
            free(set);
            free(used);
            return -1;
        }
    }
    memset(used, 0, setsize / 64 * sizeof *used);
    /* The n-grams in batches: hashed and their table slots prefetched first, then looked up, so
     * the table's cache misses (it is larger than the cache) overlap instead of queueing. The
     * n-grams at one place are taken shortest first, each one's hash continued from the one
     * before (FNV-1a reads the bytes in order), in the order of the loops over i and n. */
    enum { BATCH = 128 };
    struct { uint32_t b, n; uint64_t h; } g[BATCH];
    size_t ng = 0, i = 0, span = (size_t)(m->nmax_ascii - m->nmin + 1);
    for (;;) {
        /* gather the next batch: the n-grams of whole places i while they fit */
        ng = 0;
        for (; i < ncp && ng + span <= BATCH; i++) {
            size_t b = at[i], hashed = b;
            uint64_t h = FNV_OFFSET;
            for (size_t n = (size_t)m->nmin; n <= (size_t)m->nmax_ascii && i + n <= ncp; n++) {
                size_t e = at[i + n];
                if (n > (size_t)m->nmax && e - b != n)
                    break;         /* longer n-grams only of ASCII (one byte per code point) */
                h = fnv1a_more(h, text + hashed, e - hashed);
                hashed = e;
                if (n == 1 && text[b] == ' ')
                    continue;
                __builtin_prefetch(&m->table[(size_t)h & m->mask]);
                g[ng].b = (uint32_t)b;
                g[ng].n = (uint32_t)(e - b);
                g[ng++].h = h;
            }
        }
        if (ng == 0)
            break;
        for (size_t x = 0; x < ng; x++) {
            const slot *sl = lookup_hashed(m, text + g[x].b, g[x].n, g[x].h);
            if (!sl)
                continue;
            size_t k = (size_t)sl->hash & (setsize - 1);
            bool seen = false;
            while (used[k >> 6] >> (k & 63) & 1) {
                if ((seen = set[k] == sl))
                    break;
                k = (k + 1) & (setsize - 1);
            }
            if (seen)
                continue;
            used[k >> 6] |= (uint64_t)1 << (k & 63);
            set[k] = sl;
            sumsq += (double)sl->idf * sl->idf;
            for (uint32_t j = 0; j < sl->wcount; j++)
                score[m->pairs[sl->wfirst + j].cls] += m->pairs[sl->wfirst + j].w;
        }
    }
    if (set != local) {
        free(set);
        free(used);
    }
    double norm2 = sumsq > 0 ? sqrt(sumsq) : 1, max = -INFINITY, total = 0;
    for (int c = 0; c < m->nclasses; c++) {
        score[c] = m->bias[c] + score[c] / norm2;
        if (score[c] > max)
            max = score[c];
    }
    for (int c = 0; c < m->nclasses; c++)
        total += (score[c] = exp(score[c] - max));
    if (k > m->nclasses)
        k = m->nclasses;
    /* top k by selection; ties go to the lower class index */
    int taken[CATMODEL_MAX_CLASSES] = {0};
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int c = 0; c < m->nclasses; c++)
            if (!taken[c] && (best < 0 || score[c] > score[best]))
                best = c;
        taken[best] = 1;
        out[r].cls = best;
        out[r].prob = score[best] / total;
    }
    return k;
}

int catmodel_predict(const catmodel *m, const catnorm *n, const char *text, size_t len,
                     catmodel_guess *out, int k)
{
    char norm[CATMODEL_MAX_INPUT + 1];
    size_t nl = catnorm_apply(n, text, len, norm, sizeof norm);
    if (nl == (size_t)-1)
        return -1;
    return catmodel_predict_normalised(m, norm, nl, out, k);
}

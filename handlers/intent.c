/* intent.c: agreement, refusal, status questions and option labels in whole short messages
 * (handlers/intent.h, docs/contract.md 6). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fq.h"
#include "handlers/classify.h"
#include "handlers/intent.h"

#define INTENT_MAX_BYTES 256            /* longer texts are descriptions, never intents */

static bool is_trim_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '!' || c == '?' || c == '.' ||
           c == ',' || c == '~';
}

/* A multi-byte punctuation mark at the end of s[0..n): its length, else 0. */
static size_t trailing_punct(const char *s, size_t n)
{
    static const char *const marks[] = {"\xef\xbc\x81", "\xef\xbc\x9f", "\xe3\x80\x82",
                                        "\xef\xbc\x8c", "\xe2\x80\xa6", "\xef\xbd\x9e",
                                        "\xe3\x80\x81"};   /* ！ ？ 。 ， … ～ 、 */
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
        size_t l = strlen(marks[i]);
        if (n >= l && memcmp(s + n - l, marks[i], l) == 0)
            return l;
    }
    return 0;
}

/* norm without trailing punctuation and particles into buf (size INTENT_MAX_BYTES + 1);
 * false when norm is too long or empty. */
static bool core(const struct fq_lexicon *lx, const char *norm, char *buf)
{
    size_t n = norm ? strlen(norm) : 0;
    if (n == 0 || n > INTENT_MAX_BYTES)
        return false;
    memcpy(buf, norm, n);
    buf[n] = '\0';
    const struct fq_wordlist *pl = &lx->kw[FQ_KW_PARTICLE];
    for (bool again = true; again && n;) {
        again = false;
        size_t l;
        if (is_trim_byte((unsigned char)buf[n - 1])) {
            n--;
            again = true;
        } else if ((l = trailing_punct(buf, n))) {
            n -= l;
            again = true;
        } else {
            for (size_t i = 0; i < pl->n; i++) {
                size_t w = strlen(pl->words[i]);
                /* a particle, not the whole message, and an ASCII one only after a space */
                if (w < n && strncasecmp(buf + n - w, pl->words[i], w) == 0 &&
                    ((unsigned char)pl->words[i][0] >= 0x80 || buf[n - w - 1] == ' ')) {
                    n -= w;
                    again = true;
                    break;
                }
            }
        }
        buf[n] = '\0';
    }
    return n > 0;
}

static bool has(const struct fq_lexicon *lx, enum fq_kw kw, const char *a, const char *b)
{
    return wordlist_has(&lx->kw[kw], a) || (b && wordlist_has(&lx->kw[kw], b));
}

enum fq_intent intent_yes_no(const struct fq_lexicon *lx, const char *norm)
{
    char buf[INTENT_MAX_BYTES + 1];
    if (!core(lx, norm, buf))
        return INTENT_NONE;
    /* refusal first: a refusal may contain an agreement word (not-yes holds yes) */
    if (has(lx, FQ_KW_REFUSE, buf, norm) || has(lx, FQ_KW_NO, buf, norm))
        return INTENT_NO;
    if (has(lx, FQ_KW_CONFIRM, buf, norm) || has(lx, FQ_KW_YES, buf, norm))
        return INTENT_YES;
    return INTENT_NONE;
}

static size_t count_cps(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

bool intent_status(const struct fq_lexicon *lx, const char *norm)
{
    char buf[INTENT_MAX_BYTES + 1];
    if (!core(lx, norm, buf))
        return false;
    if (has(lx, FQ_KW_STATUS, buf, norm) || has(lx, FQ_KW_STATUS_ASK, buf, norm))
        return true;
    return count_cps(buf) <= INTENT_SHORT_CPS && wordlist_find_in(&lx->kw[FQ_KW_STATUS_ASK], buf);
}

int intent_label(const struct fq_lexicon *lx, const char *norm, const char *const *labels,
                 size_t n)
{
    char buf[INTENT_MAX_BYTES + 1];
    if (!core(lx, norm, buf))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (labels[i] && *labels[i] &&
            (strcasecmp(buf, labels[i]) == 0 || strcasecmp(norm, labels[i]) == 0))
            return (int)i;
    return -1;
}

/* ---- ordinals ------------------------------------------------------------------------------ */
#define ORDINAL_DEPTH 3
#define ORDINAL_LAST (-3)

/* s[0..n) without spaces at either end. */
static void trim_span(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* True when an ASCII word ends at a word boundary: the byte after it is no letter or digit. */
static bool ascii_end_ok(const char *word, size_t wl, const char *after)
{
    unsigned char last = wl ? (unsigned char)word[wl - 1] : 0;
    bool alnum_last = (last >= 'a' && last <= 'z') || (last >= 'A' && last <= 'Z') ||
                      (last >= '0' && last <= '9');
    unsigned char c = (unsigned char)*after;
    bool alnum_next = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return !(alnum_last && alnum_next);
}

/* The number s[0..n) stands for as a menu position (1-based), ORDINAL_LAST, or -1. */
static int ordinal_at(const struct fq_lexicon *lx, const char *s, size_t n, int depth);

static int ordinal_middle(const struct fq_lexicon *lx, const char *s, size_t n, int depth)
{
    trim_span(&s, &n);
    if (n == 0 || n > INTENT_MAX_BYTES)
        return -1;
    char buf[INTENT_MAX_BYTES + 1];
    memcpy(buf, s, n);
    buf[n] = '\0';
    int v = classify_choice(buf);
    if (v >= 1)
        return v;
    if (wordlist_has(&lx->kw[FQ_KW_ORDINAL_LAST], buf))
        return ORDINAL_LAST;
    const struct fq_wordlist *ow = &lx->kw[FQ_KW_ORDINAL_WORD];
    for (size_t i = 0; i < ow->n; i++) {
        char *sp = strchr(ow->words[i], ' ');
        if (sp && strcasecmp(sp + 1, buf) == 0)
            return atoi(ow->words[i]);
    }
    return depth > 0 ? ordinal_at(lx, s, n, depth - 1) : -1;
}

static int ordinal_at(const struct fq_lexicon *lx, const char *s, size_t n, int depth)
{
    const struct fq_wordlist *pl = &lx->kw[FQ_KW_ORDINAL];
    for (size_t i = 0; i < pl->n; i++) {
        const char *w = pl->words[i], *hole = strstr(w, "{n}");
        if (!hole)
            continue;
        size_t pre = (size_t)(hole - w), post = strlen(hole + 3);
        if (pre + post >= n || (pre == 0 && post == 0 && depth < ORDINAL_DEPTH))
            continue;   /* the bare {n} only at the top, so the recursion always shrinks */
        if (strncasecmp(s, w, pre) != 0 || strncasecmp(s + n - post, hole + 3, post) != 0)
            continue;
        int v = ordinal_middle(lx, s + pre, n - pre - post, pre + post ? depth : 0);
        if (v != -1)
            return v;
    }
    return -1;
}

int intent_ordinal(const struct fq_lexicon *lx, const char *norm, size_t n)
{
    char buf[INTENT_MAX_BYTES + 1];
    if (n == 0 || !core(lx, norm, buf))
        return -1;
    int v = ordinal_at(lx, buf, strlen(buf), ORDINAL_DEPTH);
    if (v == ORDINAL_LAST)
        return (int)n - 1;
    return v >= 1 && (size_t)v <= n ? v - 1 : -1;
}

/* ---- labels -------------------------------------------------------------------------------- */
static bool is_ascii_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Whether part (len bytes) occurs in label, an ASCII part only where a word of label begins. */
static bool part_of(const char *label, const char *part, size_t len)
{
    bool ascii = is_ascii_alnum((unsigned char)part[0]);
    for (const char *p = label; *p; p++) {
        if (ascii && p > label && is_ascii_alnum((unsigned char)p[-1]))
            continue;
        if (strncasecmp(p, part, len) == 0)
            return true;
    }
    return false;
}

int intent_choose(const struct fq_lexicon *lx, const char *norm, const char *const *labels,
                  size_t n, int *amb, size_t *n_amb)
{
    *n_amb = 0;
    int k = intent_label(lx, norm, labels, n);
    if (k >= 0)
        return k;
    char buf[INTENT_MAX_BYTES + 1];
    if (!core(lx, norm, buf))
        return -1;
    size_t len = strlen(buf), cps = count_cps(buf);
    bool ascii = is_ascii_alnum((unsigned char)buf[0]);
    if (cps < 2 || (ascii && len < 3))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (labels[i] && part_of(labels[i], buf, len))
            amb[(*n_amb)++] = (int)i;
    if (*n_amb == 1) {
        *n_amb = 0;
        return amb[0];
    }
    return *n_amb ? INTENT_AMBIGUOUS : -1;
}

/* ---- corrections --------------------------------------------------------------------------- */
/* The length of the longest word of wl that s starts with (ASCII case ignored, an ASCII word
 * only at a word boundary), 0 when none. The lists are sorted longest first. */
static size_t starts_with(const struct fq_wordlist *wl, const char *s)
{
    for (size_t i = 0; i < wl->n; i++) {
        size_t l = strlen(wl->words[i]);
        if (strncasecmp(s, wl->words[i], l) == 0 && ascii_end_ok(wl->words[i], l, s + l))
            return l;
    }
    return 0;
}

/* Spaces and punctuation at s: their length. */
static size_t separators(const char *s)
{
    size_t n = 0;
    for (;;) {
        unsigned char c = (unsigned char)s[n];
        if (c == ' ' || c == '\t' || c == ',' || c == ':' || c == ';' || c == '.' ||
            c == '!' || c == '-') {
            n++;
            continue;
        }
        static const char *const marks[] = {"\xef\xbc\x8c", "\xef\xbc\x9a", "\xef\xbc\x9b",
                                            "\xe3\x80\x82", "\xe3\x80\x81", "\xef\xbc\x81"};
        /* ， ： ； 。 、 ！ */
        size_t l = 0;
        for (size_t i = 0; i < sizeof marks / sizeof *marks && !l; i++)
            if (strncmp(s + n, marks[i], strlen(marks[i])) == 0)
                l = strlen(marks[i]);
        if (!l)
            return n;
        n += l;
    }
}

enum fq_field intent_correction(const struct fq_lexicon *lx, const char *norm,
                                const char **value)
{
    static const enum fq_kw fields[] = {FQ_KW_FIELD_CATEGORY, FQ_KW_FIELD_PLACE,
                                        FQ_KW_FIELD_DESCRIPTION, FQ_KW_FIELD_CONTACT};
    static const enum fq_field ids[] = {FQ_FIELD_CATEGORY, FQ_FIELD_PLACE,
                                        FQ_FIELD_DESCRIPTION, FQ_FIELD_CONTACT};
    *value = "";
    if (!norm || strnlen(norm, INTENT_MAX_BYTES * 16 + 1) > INTENT_MAX_BYTES * 16)
        return FQ_FIELD_NONE;
    const char *p = norm;
    for (size_t l; (l = separators(p)) || (l = starts_with(&lx->kw[FQ_KW_CORRECTION_LEAD], p));)
        p += l;
    /* the longest field word of any list */
    size_t best = 0;
    enum fq_field f = FQ_FIELD_NONE;
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        size_t l = starts_with(&lx->kw[fields[i]], p);
        if (l > best) {
            best = l;
            f = ids[i];
        }
    }
    if (f == FQ_FIELD_NONE)
        return f;
    p += best;
    for (size_t l; (l = separators(p)) || (l = starts_with(&lx->kw[FQ_KW_CORRECTION], p));)
        p += l;
    *value = p;
    return f;
}

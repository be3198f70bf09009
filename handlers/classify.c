/* classify.c: what can be read from a resident's free text (docs/contract.md 6): the category from
 * keywords, the place from org names and aliases, the number of people, danger words, a phone
 * number, whether the text says anything beyond greetings, and numbered choices typed in any of
 * the forms residents use (1, full-width 1, the Chinese numeral, the circled digit).
 *
 * Design choices:
 * - Every word list comes from the lexicon (the catalogs in locales/); the only characters written here
 *   are numerals and punctuation, given as code points so that no Chinese text sits in C source.
 * - Category: with the category model (classify_text_model) a substantive text is decided by
 *   the model (sure at CLASSIFY_P_SURE, else its likeliest listed, classify.h). By keywords
 *   (without a model, or a text without substance): each category scores the summed length (in
 *   characters) of its keywords found in the text; the highest wins, ties go to the earlier
 *   category in menu order. "other" is chosen only when no other category matched.
 * - Place: the deepest org node (grid > village > town > county) whose name or an alias occurs
 *   in the text; among equals the longest match. On a roster prepared by
 *   classify_roster_prepare names are compared as place keys (OpenCC t2s, folding, spaces and
 *   punctuation dropped, ASCII names at word boundaries; docs/contract.md 6.1).
 * - People: a number followed by a people counter (ren, hu, "people": the lexicon's people_unit
 *   list), optionally after duo/yu/lai/"+" ("more than", "about") and the counter ge. Approximate
 *   Chinese numbers are read as their lower bound or a round guess: shi-ji (a dozen or so) = 10,
 *   ji-shi / shu-shi (some tens) = 20, ji-bai = 200, er-shi-duo (twenty-odd) = 20, shang-bai
 *   (up to a hundred) = 100, shang-qian = 1000, hao-ji or ji alone (a few) = 3. The largest
 *   number mentioned wins; digit runs longer than 6 (phone numbers, ids) are not counts. A
 *   range (liu-qi-shi, sixty or seventy) is its lower bound. English numerals too ("forty of
 *   us", "a score of households", "dozens of villagers" = 24, "hundreds of workers" = 200),
 *   the counter directly after the number or after "of" ("of us", "of them").
 * - Phone: a mainland mobile 1[3-9]NNNNNNNNN (also written 138-1234-5678, 138 1234 5678, or
 *   after 86) or a landline 0AA(A)-NNNNNNN(N); a run of digits longer than that is not a phone.
 * - One normalisation per message: classify_input_make makes every form of the text the readers
 *   need (classify_normalize's text, its code points with their offsets, its mask, the models'
 *   input by OpenCC t2s and folding, the place key) in one pass over the code points after one
 *   over the bytes; the danger screen, both models, the place and the people count read those
 *   instead of each decoding and normalising the text again. Word lists are searched through
 *   their index (wordlist_candidates): only the words the text's mask lets through.
 * - Substantive: after removing filler words, org names and aliases, category labels, the
 *   phone number, punctuation and spaces, at least 4 characters remain, and the text is not a
 *   numbered choice. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/catmodel.h"
#include "handlers/classify.h"
#include "handlers/danger.h"
#include "handlers/i18n.h"

/* ---- code points ---------------------------------------------------------------------------- */
#define CP_IDEO_SPACE 0x3000
#define CP_CN_ZERO 0x96F6     /* ling */
#define CP_CN_ZERO2 0x3007    /* ideographic number zero */
#define CP_CN_TEN 0x5341
#define CP_CN_HUNDRED 0x767E
#define CP_CN_THOUSAND 0x5343
#define CP_CN_TENK 0x4E07
#define CP_CN_TENK_T 0x842C
#define CP_CN_FEW 0x51E0      /* ji: "a few" */
#define CP_CN_FEW_T 0x5E7E
#define CP_CN_SEVERAL 0x6570  /* shu */
#define CP_CN_SEVERAL_T 0x6578
#define CP_CN_GOOD 0x597D     /* hao, in "hao ji" */
#define CP_CN_UP 0x4E0A       /* shang, in "shang bai" */
#define CP_CN_MORE 0x591A     /* duo */
#define CP_CN_REST 0x4F59     /* yu */
#define CP_CN_REST_T 0x9918
#define CP_CN_COME 0x6765     /* lai, "about" */
#define CP_CN_COME_T 0x4F86
#define CP_CN_GE 0x4E2A       /* the counter ge */
#define CP_CN_GE_T 0x500B
#define CP_CN_ORDINAL 0x7B2C  /* di, "number ..." */

static int cn_digit(int32_t c)
{
    switch (c) {
    case CP_CN_ZERO: case CP_CN_ZERO2: return 0;
    case 0x4E00: return 1;
    case 0x4E8C: case 0x4E24: case 0x5169: return 2;   /* er, liang, liang (T) */
    case 0x4E09: return 3;
    case 0x56DB: return 4;
    case 0x4E94: return 5;
    case 0x516D: return 6;
    case 0x4E03: return 7;
    case 0x516B: return 8;
    case 0x4E5D: return 9;
    default: return -1;
    }
}

static int cn_mult(int32_t c)
{
    switch (c) {
    case CP_CN_TEN: return 10;
    case CP_CN_HUNDRED: return 100;
    case CP_CN_THOUSAND: return 1000;
    case CP_CN_TENK: case CP_CN_TENK_T: return 10000;
    default: return 0;
    }
}

static bool cn_few(int32_t c)
{
    return c == CP_CN_FEW || c == CP_CN_FEW_T || c == CP_CN_SEVERAL || c == CP_CN_SEVERAL_T;
}

/* Punctuation and spaces trimmed by classify_normalize and ignored by the substance count. */
static bool is_punct_cp(int32_t c)
{
    if (c < 0x80)
        return isspace(c) || ispunct(c);
    switch (c) {
    case 0x00A0: case 0x00B7: case 0x2014: case 0x2018: case 0x2019: case 0x201C: case 0x201D:
    case 0x2026: case 0x3001: case 0x3002: case 0xFF61: case 0xFF64: case 0xFE0F:
        return true;
    default:
        return (c >= 0x3008 && c <= 0x3011) || (c >= 0x3014 && c <= 0x301F);
    }
}

static size_t utf8_encode(int32_t c, char u[4])
{
    size_t n;
    if (c < 0x80) {
        u[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xC0 | (c >> 6));
        u[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xE0 | (c >> 12));
        u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (c >> 18));
        u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    return n;
}

/* Decodes s into code points with their byte offsets (offs has n+1 entries: the end last).
 * Invalid bytes are skipped. Caller frees both arrays. */
static size_t decode(const char *s, int32_t **cps, size_t **offs)
{
    size_t len = strlen(s), n = 0;
    *cps = malloc((len + 1) * sizeof **cps);
    *offs = malloc((len + 1) * sizeof **offs);
    if (!*cps || !*offs) {
        free(*cps);
        free(*offs);
        *cps = NULL;
        *offs = NULL;
        return 0;
    }
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *at = p;
        int32_t c = fq_utf8_next(&p, end);
        if (c < 0) {
            p = at + 1;
            continue;
        }
        (*cps)[n] = c;
        (*offs)[n] = (size_t)(at - s);
        n++;
    }
    (*offs)[n] = len;
    return n;
}

/* The next code point of [*p, end) with full-width forms mapped to ASCII and the ideographic
 * space to a space; bytes that are not UTF-8 (the edge rejects them) are skipped. -1 at the end. */
static int32_t next_folded(const char **p, const char *end)
{
    while (*p < end) {
        int32_t c = fq_utf8_next(p, end);
        if (c < 0) {
            (*p)++;
            continue;
        }
        if (c >= 0xFF01 && c <= 0xFF5E)
            return c - 0xFEE0;
        return c == CP_IDEO_SPACE ? ' ' : c;
    }
    return -1;
}

/* One pass: the folded code points are written as they are read (folding only shortens: a
 * full-width form or the ideographic space, three bytes, becomes one; any other code point is
 * copied as it was written, which is how it encodes), and the trim is found on the way. */
char *classify_normalize(const char *text)
{
    if (!text)
        return NULL;
    size_t len = strlen(text), o = 0, first = SIZE_MAX, last_end = 0;
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    const char *p = text, *end = text + len;
    while (p < end) {
        size_t at = o;
        int32_t c = (unsigned char)*p;
        if (c < 0x80) {
            s[o++] = *p++;
        } else {
            const char *from = p;
            if ((c = fq_utf8_next(&p, end)) < 0) {
                p = from + 1;               /* not UTF-8 (the edge rejects it): skipped */
                continue;
            }
            if (c >= 0xFF01 && c <= 0xFF5E)
                s[o++] = (char)(c -= 0xFEE0);
            else if (c == CP_IDEO_SPACE)
                s[o++] = (char)(c = ' ');
            else {
                memcpy(s + o, from, (size_t)(p - from));
                o += (size_t)(p - from);
            }
        }
        if (!is_punct_cp(c)) {
            if (first == SIZE_MAX)
                first = at;
            last_end = o;
        }
    }
    if (first == SIZE_MAX) {
        s[0] = '\0';
        return s;
    }
    size_t n = last_end - first;
    memmove(s, s + first, n);
    s[n] = '\0';
    return s;
}

/* ---- choices ------------------------------------------------------------------------------- */
/* A Chinese numeral from 0 to 99 written with digits and one "ten": -1 when not one. */
static int cn_small_number(const int32_t *c, size_t n)
{
    if (n == 1) {
        if (c[0] == CP_CN_TEN)
            return 10;
        return cn_digit(c[0]);
    }
    int tens = -1, ones = 0;
    size_t i = 0;
    if (c[0] == CP_CN_TEN) {
        tens = 1;
        i = 1;
    } else if (n >= 2 && cn_digit(c[0]) > 0 && c[1] == CP_CN_TEN) {
        tens = cn_digit(c[0]);
        i = 2;
    } else {
        return -1;
    }
    if (i < n) {
        if (i + 1 != n || (ones = cn_digit(c[i])) <= 0)
            return -1;
    }
    return tens * 10 + ones;
}

/* More than this many characters (not counting punctuation and spaces) is never a choice: the
 * longest is an ordinal mark and a number of three characters, as in 第十二 (twelfth). */
#define CHOICE_MAX_CPS 4

int classify_choice(const char *text)
{
    if (!text)
        return -1;
    /* a quick look first: most texts are sentences, not choices */
    size_t seen = 0;
    const char *p = text, *end = text + strlen(text);
    for (int32_t c; seen <= CHOICE_MAX_CPS && (c = next_folded(&p, end)) >= 0;)
        seen += !is_punct_cp(c);
    if (seen > CHOICE_MAX_CPS)
        return -1;
    char *s = classify_normalize(text);
    if (!s)
        return -1;
    int v = -1;
    int32_t *cps = NULL;
    size_t *offs = NULL;
    size_t n = decode(s, &cps, &offs);
    if (!cps || n == 0)
        goto out;
    size_t i = 0;
    if (cps[0] == CP_CN_ORDINAL && n > 1)
        i = 1;
    bool ascii = true;
    for (size_t k = i; k < n; k++)
        ascii = ascii && cps[k] >= '0' && cps[k] <= '9';
    if (ascii) {
        if (n - i <= 2) {
            v = 0;
            for (size_t k = i; k < n; k++)
                v = v * 10 + (cps[k] - '0');
        }
    } else if (n - i == 1 && cps[i] >= 0x2460 && cps[i] <= 0x2473) {
        v = cps[i] - 0x2460 + 1;                        /* circled 1..20 */
    } else if (n - i == 1 && cps[i] == 0x24EA) {
        v = 0;                                          /* circled 0 */
    } else if (n - i == 1 && cps[i] >= 0x2776 && cps[i] <= 0x2793) {
        v = (cps[i] - 0x2776) % 10 + 1;                 /* dingbat circled 1..10 */
    } else {
        v = cn_small_number(cps + i, n - i);
    }
    if (v > 20)
        v = -1;
out:
    free(cps);
    free(offs);
    free(s);
    return v;
}

/* ---- matching ------------------------------------------------------------------------------ */
static bool word_byte(unsigned char ch)
{
    return ch < 0x80 && (isalnum(ch) || ch == '_');
}

/* Length of a word of wl that starts exactly at p (0 when none); list is longest first. */
static size_t unit_at(const struct fq_wordlist *wl, const char *p)
{
    for (size_t i = 0; i < wl->n; i++) {
        size_t n = strlen(wl->words[i]);
        if (strncasecmp(p, wl->words[i], n) != 0)
            continue;
        if (word_byte((unsigned char)wl->words[i][n - 1]) && word_byte((unsigned char)p[n]))
            continue;
        return n;
    }
    return 0;
}

static void blank(char *text, const struct fq_textmask *m, const char *word, uint16_t probe)
{
    if (!i18n_textmask_probe(m, probe))
        return;
    size_t n = strlen(word);
    for (char *p; n && (p = (char *)i18n_find_word(text, word));)
        memset(p, ' ', n);
}

/* Every word of wl blanked in text, in list order. */
static void blank_list(char *text, const struct fq_textmask *m, const struct fq_wordlist *wl)
{
    uint32_t c[WORDLIST_CANDIDATES];
    size_t nc = wordlist_candidates(wl, m, c, WORDLIST_CANDIDATES);
    if (nc == (size_t)-1) {
        for (size_t i = 0; i < wl->n; i++)
            blank(text, m, wl->words[i], wordlist_probe(wl, i));
        return;
    }
    for (size_t k = 0; k < nc; k++)
        blank(text, m, wl->words[c[k]], wordlist_probe(wl, c[k]));
}

/* ---- category and place -------------------------------------------------------------------- */
static int find_category(const struct fq_lexicon *lx, const char *text,
                         const struct fq_textmask *m, size_t *score_out)
{
    int best = -1, other = fq_category_index("other");
    size_t best_score = 0, other_score = 0;
    bool other_hit = false;
    for (int i = 0; i < FQ_N_CATEGORIES; i++) {
        size_t score = 0;
        const struct fq_wordlist *wl = &lx->category_kw[i];
        uint32_t c[WORDLIST_CANDIDATES];
        size_t nc = wordlist_candidates(wl, m, c, WORDLIST_CANDIDATES);
        if (nc != (size_t)-1) {
            for (size_t k = 0; k < nc; k++)
                if (i18n_find_word(text, wl->words[c[k]]))
                    score += fq_utf8_len(wl->words[c[k]]);
        } else {
            for (size_t k = 0; k < wl->n; k++)
                if (i18n_textmask_probe(m, wordlist_probe(wl, k)) &&
                    i18n_find_word(text, wl->words[k]))
                    score += fq_utf8_len(wl->words[k]);
        }
        if (i == other) {
            other_hit = score > 0;
            other_score = score;
            continue;
        }
        if (score > best_score) {
            best_score = score;
            best = i;
        }
    }
    *score_out = best >= 0 ? best_score : other_score;
    return best >= 0 ? best : (other_hit ? other : -1);
}

/* Name k of an org node: 0 its name, then its aliases (any may be NULL). */
static const char *org_name(const struct fq_org *o, size_t k)
{
    return k == 0 ? o->name : o->aliases[k - 1];
}

/* The probe of a non-NULL org_name(o, k): kept by classify_roster_probes, else made now. */
static uint16_t org_probe(const struct fq_org *o, size_t k)
{
    return o->probes ? o->probes[k] : i18n_probe(org_name(o, k));
}

void classify_roster_probes(struct fq_roster *r)
{
    for (size_t i = 0; r && i < r->n_org; i++) {
        struct fq_org *o = &r->org[i];
        free(o->probes);
        if ((o->probes = malloc((o->n_aliases + 1) * sizeof *o->probes))) {
            o->probes[0] = i18n_probe(o->name);
            for (size_t k = 0; k < o->n_aliases; k++)
                o->probes[k + 1] = o->aliases[k] ? i18n_probe(o->aliases[k]) : 0;
        }
    }
}

/* ---- place keys (classify_roster_prepare) ---------------------------------------------------- */
/* The category model and the normaliser place keys are read through. */
struct classify_model {
    catnorm *norm;
    catmodel *model;                 /* NULL: keywords only */
    int cat_of[CATMODEL_MAX_CLASSES];/* model class -> fq_categories index */
};

struct classify_model *classify_model_open(const char *model, size_t len, char *err,
                                           size_t errsize)
{
    struct classify_model *cm = calloc(1, sizeof *cm);
    if (!cm) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    if (model) {
        if (!(cm->model = catmodel_parse(model, len, err, errsize)))
            goto fail;
        for (int c = 0; c < catmodel_nclasses(cm->model); c++)
            if ((cm->cat_of[c] = fq_category_index(catmodel_class_name(cm->model, c))) < 0) {
                snprintf(err, errsize, "the category model has an unknown category %s",
                         catmodel_class_name(cm->model, c));
                goto fail;
            }
    }
    if (!(cm->norm = catnorm_open(NULL, err, errsize)))
        goto fail;
    return cm;
fail:
    classify_model_close(cm);
    return NULL;
}

void classify_model_close(struct classify_model *cm)
{
    if (!cm)
        return;
    catmodel_free(cm->model);
    catnorm_close(cm->norm);
    free(cm);
}

const struct catnorm *classify_model_normaliser(const struct classify_model *cm)
{
    return cm ? cm->norm : NULL;
}

/* The base letter of a Latin letter with a diacritic (lower case), as pinyin is written with
 * tone marks (Fēngyuán); 0 for any other code point. */
static int32_t latin_base(int32_t c)
{
    static const struct { int32_t lo, hi; char base; } r[] = {
        {0xC0, 0xC5, 'a'}, {0xC8, 0xCB, 'e'}, {0xCC, 0xCF, 'i'}, {0xD2, 0xD6, 'o'},
        {0xD9, 0xDC, 'u'}, {0xE0, 0xE5, 'a'}, {0xE8, 0xEB, 'e'}, {0xEC, 0xEF, 'i'},
        {0xF2, 0xF6, 'o'}, {0xF9, 0xFC, 'u'}, {0x100, 0x105, 'a'}, {0x112, 0x11B, 'e'},
        {0x128, 0x12F, 'i'}, {0x14C, 0x151, 'o'}, {0x168, 0x173, 'u'}, {0x1CD, 0x1CE, 'a'},
        {0x1CF, 0x1D0, 'i'}, {0x1D1, 0x1D2, 'o'}, {0x1D3, 0x1DC, 'u'},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (c >= r[i].lo && c <= r[i].hi)
            return r[i].base;
    return 0;
}

/* A place key (see classify.h) of the text whose code points are cp[0..n), cp[i] at byte offset
 * off[i] (off[n]: the text's length): into *key (caller frees); with at non-NULL also, for each
 * key byte, the byte offset in the text of its code point ((*at)[i]), the offset after it
 * ((*at)[i] of the next byte, *at has keylen+1 entries with the text's length last) and in
 * *brk whether a word break (a space or punctuation, or the start) comes just before it; with
 * kc non-NULL (n entries) the key's code points, *nkc of them. Returns the key's length, or
 * (size_t)-1 out of memory. */
static size_t place_key_cps(const catnorm *cn, const int32_t *cp, const size_t *off, size_t n,
                            char **key, size_t **at, bool **brk, int32_t *kc, size_t *nkc)
{
    size_t len = off[n], o = 0, nk = 0;
    char *k = malloc(len * 2 + 4);   /* t2s maps a BMP character to a BMP character */
    size_t *a = at ? malloc((len * 2 + 5) * sizeof *a) : NULL;
    bool *b = at ? malloc((len * 2 + 5) * sizeof *b) : NULL;
    if (!k || (at && (!a || !b))) {
        free(k);
        free(a);
        free(b);
        return (size_t)-1;
    }
    bool pending = true;
    for (size_t j = 0; j < n; j++) {
        int32_t c = cp[j];
        if (c >= 0xFF01 && c <= 0xFF5E)
            c -= 0xFEE0;
        if (c == CP_IDEO_SPACE || is_punct_cp(c)) {
            pending = true;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c += 32;
        else if (c >= 0xC0 && c <= 0x1DC && latin_base(c))
            c = latin_base(c);
        else if (c >= 0x80)
            c = (int32_t)catnorm_t2s(cn, c);
        if (kc)
            kc[nk++] = c;
        char u[4];
        size_t un = utf8_encode(c, u);
        for (size_t i = 0; i < un; i++) {
            if (a) {
                a[o] = off[j];
                b[o] = i == 0 && pending;
            }
            k[o++] = u[i];
        }
        pending = false;
    }
    k[o] = '\0';
    if (a) {
        a[o] = len;
        b[o] = true;
        /* the end of key byte i's code point: the start of the next code point's bytes */
        *at = a;
        *brk = b;
    }
    if (nkc)
        *nkc = nk;
    *key = k;
    return o;
}

/* The place key of a name (place_key_cps on its code points; bytes that are not UTF-8 are
 * skipped). */
static size_t place_key(const catnorm *cn, const char *s, char **key)
{
    int32_t *cp;
    size_t *off;
    size_t n = decode(s, &cp, &off);
    if (!cp)
        return (size_t)-1;
    size_t r = place_key_cps(cn, cp, off, n, key, NULL, NULL, NULL, NULL);
    free(cp);
    free(off);
    return r;
}

void classify_roster_prepare(struct fq_roster *r, const struct classify_model *cm)
{
    classify_roster_probes(r);
    for (size_t i = 0; r && i < r->n_org; i++) {
        struct fq_org *o = &r->org[i];
        if (o->keys) {
            for (size_t k = 0; k <= o->n_aliases; k++)
                free(o->keys[k]);
            free(o->keys);
        }
        free(o->key_probes);
        o->keys = calloc(o->n_aliases + 1, sizeof *o->keys);
        o->key_probes = calloc(o->n_aliases + 1, sizeof *o->key_probes);
        if (!o->keys || !o->key_probes) {
            free(o->keys);
            free(o->key_probes);
            o->keys = NULL;
            o->key_probes = NULL;
            continue;
        }
        for (size_t k = 0; k <= o->n_aliases; k++) {
            const char *name = org_name(o, k);
            char *key = NULL;
            if (name && place_key(cm ? cm->norm : NULL, name, &key) != (size_t)-1 &&
                *key) {
                o->keys[k] = key;
                o->key_probes[k] = i18n_probe(key);
            } else {
                free(key);
            }
        }
    }
}

static bool ascii_word(unsigned char c)
{
    return c < 0x80 && isalnum(c);
}

/* Where the name key w occurs in the text key at a word boundary (for a name that starts or
 * ends with an ASCII letter or digit), or (size_t)-1. */
static size_t key_find(const struct classify_input *t, const char *w)
{
    size_t wl = strlen(w);
    const char *from = t->key;
    for (const char *hit; wl && (hit = strstr(from, w)); from = hit + 1) {
        size_t i = (size_t)(hit - t->key), e = i + wl;
        const unsigned char *k = (const unsigned char *)t->key;
        if (ascii_word((unsigned char)w[0]) && !t->key_brk[i] && ascii_word(k[i - 1]))
            continue;
        if (ascii_word((unsigned char)w[wl - 1]) && !t->key_brk[e] && ascii_word(k[e]))
            continue;
        return i;
    }
    return (size_t)-1;
}

/* The place named (see the header comment) and its span in text (from *at, *len bytes: the
 * words as written, blanked by the substance count). */
static int find_place(const struct fq_roster *r, const struct classify_input *tk,
                      size_t *span_at, size_t *span_len)
{
    const char *text = tk->norm;
    const struct fq_textmask *m = &tk->mask;
    int best = -1, best_level = -1;
    size_t best_len = 0;
    *span_len = 0;
    for (size_t i = 0; r && i < r->n_org; i++) {
        const struct fq_org *o = &r->org[i];
        for (size_t k = 0; k <= o->n_aliases; k++) {
            const char *name = org_name(o, k);
            if (!name || !*name)
                continue;
            size_t len, sa, sl;
            if (tk->key && o->keys) {
                /* the keys find whatever the names as written find, and more */
                size_t at;
                if (!o->keys[k] || !i18n_textmask_probe(&tk->key_mask, o->key_probes[k]) ||
                    (at = key_find(tk, o->keys[k])) == (size_t)-1)
                    continue;
                len = strlen(o->keys[k]);
                sa = tk->key_at[at];
                sl = tk->key_at[at + len] - sa;    /* up to the next code point kept */
            } else {
                const char *hit = i18n_textmask_probe(m, org_probe(o, k))
                                      ? i18n_find_word(text, name) : NULL;
                if (!hit)
                    continue;
                len = strlen(name);
                sa = (size_t)(hit - text);
                sl = len;
            }
            if ((int)o->level > best_level || ((int)o->level == best_level && len > best_len)) {
                best = (int)i;
                best_level = (int)o->level;
                best_len = len;
                *span_at = sa;
                *span_len = sl;
            }
        }
    }
    return best;
}

/* ---- people -------------------------------------------------------------------------------- */
#define PEOPLE_MAX 1000000

/* Reads a number at cps[i] (see the header comment); returns it (or -1) and the index after it. */
static long read_number(const int32_t *c, size_t n, size_t i, size_t *end)
{
    long v = -1;
    size_t j = i;
    if (c[j] >= '0' && c[j] <= '9') {
        long d = 0;
        size_t k = j;
        while (k < n && c[k] >= '0' && c[k] <= '9' && k - j < 8)
            d = d * 10 + (c[k++] - '0');
        if (k - j > 6 || (k < n && c[k] >= '0' && c[k] <= '9'))
            return -1;
        j = k;
        v = d;
        if (j < n && cn_mult(c[j])) {
            v *= cn_mult(c[j]);
            j++;
        }
    } else if (c[j] == CP_CN_UP && j + 1 < n && cn_mult(c[j + 1]) >= 100) {
        v = cn_mult(c[j + 1]);
        j += 2;
    } else {
        long total = 0, section = 0, cur = -1;
        bool any = false;
        if (c[j] == CP_CN_GOOD && j + 1 < n && cn_few(c[j + 1]))
            j++;
        for (; j < n; j++) {
            int d = cn_digit(c[j]), m = cn_mult(c[j]);
            if (d >= 0) {
                if (!(j > i && cur >= 0 && cn_digit(c[j - 1]) == cur && d == cur + 1))
                    cur = d;                    /* 六七十: a range, read as its lower bound */
            } else if (cn_few(c[j])) {
                bool before_unit = j + 1 < n && cn_mult(c[j + 1]);
                bool after_unit = j > i && cn_mult(c[j - 1]);
                cur = before_unit ? 2 : after_unit ? 0 : 3;
            } else if (m == 10000) {
                total += (section + (cur < 0 ? (any ? 0 : 1) : cur)) * 10000;
                section = 0;
                cur = -1;
            } else if (m) {
                section += (cur < 0 ? 1 : cur) * m;
                cur = -1;
            } else {
                break;
            }
            any = true;
        }
        if (!any)
            return -1;
        v = total + section + (cur < 0 ? 0 : cur);
    }
    /* duo, yu, lai or "+" after the number, then spaces and the counter ge */
    while (j < n && (c[j] == CP_CN_MORE || c[j] == CP_CN_REST || c[j] == CP_CN_REST_T ||
                     c[j] == CP_CN_COME || c[j] == CP_CN_COME_T || c[j] == '+'))
        j++;
    while (j < n && c[j] == ' ')
        j++;
    *end = j;
    return v > PEOPLE_MAX ? PEOPLE_MAX : v;
}

static bool number_char(int32_t c)
{
    return (c >= '0' && c <= '9') || cn_digit(c) >= 0 || cn_mult(c) || cn_few(c);
}

/* English numerals (the only words written here: they are numerals, like the code points
 * above). Approximations are read as their lower bound: "dozens" 24, "scores" 40, "hundreds"
 * 200, "thousands" 2000; "a score" 20, "a dozen" 12. */
static const struct {
    const char *word;
    int value;
    bool plural;       /* "dozens of": the counter must follow "of" */
} en_numerals[] = {
    {"one", 1, false}, {"two", 2, false}, {"three", 3, false}, {"four", 4, false},
    {"five", 5, false}, {"six", 6, false}, {"seven", 7, false}, {"eight", 8, false},
    {"nine", 9, false}, {"ten", 10, false}, {"eleven", 11, false}, {"twelve", 12, false},
    {"thirteen", 13, false}, {"fourteen", 14, false}, {"fifteen", 15, false},
    {"sixteen", 16, false}, {"seventeen", 17, false}, {"eighteen", 18, false},
    {"nineteen", 19, false}, {"twenty", 20, false}, {"thirty", 30, false},
    {"forty", 40, false}, {"fifty", 50, false}, {"sixty", 60, false}, {"seventy", 70, false},
    {"eighty", 80, false}, {"ninety", 90, false}, {"dozen", 12, false}, {"score", 20, false},
    {"hundred", 100, false}, {"thousand", 1000, false}, {"dozens", 24, true},
    {"scores", 40, true}, {"hundreds", 200, true}, {"thousands", 2000, true},
};

/* The ASCII word at p (letters only), its length, or 0. */
static size_t en_word(const char *p)
{
    size_t n = 0;
    while (isalpha((unsigned char)p[n]))
        n++;
    return n;
}

/* The numeral at p: its entry index, or -1. */
static int en_numeral(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof en_numerals / sizeof *en_numerals; i++)
        if (strlen(en_numerals[i].word) == n && strncasecmp(p, en_numerals[i].word, n) == 0)
            return (int)i;
    return -1;
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '-')
        p++;
    return p;
}

/* A counter of people at p, directly or after "of" (and "the"): "40 villagers", "dozens of
 * us", "a score of households". */
static bool en_counter(const struct fq_lexicon *lx, const char *p)
{
    if (unit_at(&lx->kw[FQ_KW_PEOPLE_UNIT], p))
        return true;
    if (strncasecmp(p, "of ", 3) != 0)
        return false;
    p = skip_spaces(p + 3);
    if (strncasecmp(p, "the ", 4) == 0)
        p = skip_spaces(p + 4);
    size_t n = en_word(p);
    return unit_at(&lx->kw[FQ_KW_PEOPLE_UNIT], p) ||
           (n == 2 && strncasecmp(p, "us", 2) == 0) || (n == 4 && strncasecmp(p, "them", 4) == 0);
}

/* The largest count written with English numerals followed by a counter of people. */
static long find_people_en(const struct fq_lexicon *lx, const char *text)
{
    long best = 0;
    for (const char *p = text; *p; p++) {
        if (!isalpha((unsigned char)*p) || (p > text && isalpha((unsigned char)p[-1])))
            continue;
        const char *q = p;
        size_t n = en_word(q);
        if (n == 1 && (*q == 'a' || *q == 'A'))
            q = skip_spaces(q + 1), n = en_word(q);   /* "a dozen", "a hundred" */
        int k = en_numeral(q, n);
        if (k < 0) {
            p += en_word(p) - 1;
            continue;
        }
        long v = en_numerals[k].value;
        bool plural = en_numerals[k].plural;
        q = skip_spaces(q + n);
        /* "forty two", "forty-two", "two hundred", "a few dozen" is not read */
        for (int more = 0; more < 2 && !plural; more++) {
            size_t m = en_word(q);
            int k2 = en_numeral(q, m);
            if (k2 < 0)
                break;
            long w = en_numerals[k2].value;
            if (w >= 100 && !en_numerals[k2].plural)
                v *= w;
            else if (w < 10 && v >= 20 && v < 100 && v % 10 == 0)
                v += w;
            else
                break;
            q = skip_spaces(q + m);
        }
        if (en_counter(lx, q) && v > best)
            best = v;
        p = q > p ? q - 1 : p;
    }
    return best;
}

static int find_people(const struct fq_lexicon *lx, const struct classify_input *in)
{
    const char *text = in->norm;
    const int32_t *c = in->cp;
    const size_t *off = in->off;
    size_t n = in->n;
    long best = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && number_char(c[i - 1]))
            continue;                  /* only at the start of a number */
        if (!number_char(c[i]) && c[i] != CP_CN_UP && c[i] != CP_CN_GOOD)
            continue;
        size_t j = i;
        long v = read_number(c, n, i, &j);
        if (v < 0 || j >= n)
            continue;
        size_t u = unit_at(&lx->kw[FQ_KW_PEOPLE_UNIT], text + off[j]);
        if (!u && (c[j] == CP_CN_GE || c[j] == CP_CN_GE_T) && j + 1 < n)
            u = unit_at(&lx->kw[FQ_KW_PEOPLE_UNIT], text + off[j + 1]);
        if (u && v > best)
            best = v;
    }
    long en = find_people_en(lx, text);
    if (en > best)
        best = en;
    return (int)best;
}

/* ---- phone --------------------------------------------------------------------------------- */
static bool is_mobile(const char *d, size_t n)
{
    if (n != 11 || d[0] != '1' || d[1] < '3' || d[1] > '9')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)d[i]))
            return false;
    return true;
}

/* A phone in one maximal digit group g of length n: a copy, or NULL. */
static char *phone_single(const char *g, size_t n)
{
    if (is_mobile(g, n))
        return strndup(g, n);
    if (n == 13 && g[0] == '8' && g[1] == '6' && is_mobile(g + 2, 11))
        return strndup(g + 2, 11);
    if (n >= 10 && n <= 12 && g[0] == '0' && g[1] != '0')
        return strndup(g, n);
    return NULL;
}

/* Finds the first phone number in text; *at and *len give its span in text. */
static char *find_phone(const char *text, const char **at, size_t *len)
{
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > text && isdigit((unsigned char)p[-1])))
            continue;
        /* groups of digits joined by one '-' or ' ' */
        const char *gs[6];
        size_t gl[6], ng = 0;
        const char *q = p;
        while (ng < 6) {
            const char *s = q;
            while (isdigit((unsigned char)*q))
                q++;
            gs[ng] = s;
            gl[ng++] = (size_t)(q - s);
            if ((q[0] == '-' || q[0] == ' ') && isdigit((unsigned char)q[1]))
                q++;
            else
                break;
        }
        while (isdigit((unsigned char)*q))
            q++;
        char *found = NULL;
        const char *fs = NULL, *fe = NULL;
        for (size_t k = 0; !found && k + 2 < ng; k++) {
            if (gl[k] != 3 || gl[k + 1] != 4 || gl[k + 2] != 4)
                continue;
            char d[12];
            memcpy(d, gs[k], 3);
            memcpy(d + 3, gs[k + 1], 4);
            memcpy(d + 7, gs[k + 2], 4);
            d[11] = '\0';
            if (is_mobile(d, 11)) {
                found = strdup(d);
                fs = gs[k];
                fe = gs[k + 2] + 4;
            }
        }
        for (size_t k = 0; !found && k + 1 < ng; k++) {
            if (gs[k][0] == '0' && (gl[k] == 3 || gl[k] == 4) && gs[k][1] != '0' &&
                (gl[k + 1] == 7 || gl[k + 1] == 8) && gs[k + 1][-1] == '-') {
                found = strndup(gs[k], (size_t)(gs[k + 1] + gl[k + 1] - gs[k]));
                fs = gs[k];
                fe = gs[k + 1] + gl[k + 1];
            }
        }
        for (size_t k = 0; !found && k < ng; k++) {
            if ((found = phone_single(gs[k], gl[k]))) {
                fs = gs[k];
                fe = gs[k] + gl[k];
            }
        }
        if (found) {
            *at = fs;
            *len = (size_t)(fe - fs);
            return found;
        }
        p = q - 1;
    }
    return NULL;
}

/* ---- substance ----------------------------------------------------------------------------- */
static bool substantive(const struct fq_lexicon *lx, const struct fq_roster *r, const char *norm,
                        const struct fq_textmask *m, const char *phone_at, size_t phone_len,
                        size_t place_at, size_t place_len)
{
    char *rest = strdup(norm);
    if (!rest)
        return false;
    if (phone_at)
        memset(rest + (phone_at - norm), ' ', phone_len);
    if (place_len)
        memset(rest + place_at, ' ', place_len);   /* the place as written, in any form */
    blank_list(rest, m, &lx->kw[FQ_KW_FILLER]);
    blank_list(rest, m, &lx->category_names);
    for (size_t i = 0; r && i < r->n_org; i++) {
        const struct fq_org *o = &r->org[i];
        for (size_t k = 0; k <= o->n_aliases; k++)
            if (org_name(o, k))
                blank(rest, m, org_name(o, k), org_probe(o, k));
    }
    size_t count = 0;
    const char *p = rest, *end = rest + strlen(rest);
    while (p < end) {
        int32_t c = fq_utf8_next(&p, end);
        if (c < 0)
            break;
        if (!is_punct_cp(c))
            count++;
    }
    free(rest);
    return count >= 4;
}

/* ---- the whole text ------------------------------------------------------------------------ */
void classify_text(const struct fq_lexicon *lx, const struct fq_roster *r, const char *text,
                   struct fq_classified *out)
{
    classify_text_model(lx, r, NULL, NULL, text, out);
}

void classify_text_screened(const struct fq_lexicon *lx, const struct fq_roster *r,
                            const struct danger_screen *ds, const char *text,
                            struct fq_classified *out)
{
    classify_text_model(lx, r, ds, NULL, text, out);
}

/* The category of a substantive text by the model, the keyword category kw listed among the
 * likeliest when the model is not sure (classify.h); guess[] filled when unsure. */
static void decide_category(const struct fq_lexicon *lx, const struct classify_model *cm,
                            const struct classify_input *in, struct fq_classified *out)
{
    const char *norm = in->norm;
    const struct fq_textmask *m = &in->mask;
    size_t kw_score = 0;
    catmodel_guess g[CLASSIFY_GUESSES];
    int n = in->model
                ? catmodel_predict_normalised(cm->model, in->model, in->model_len, g,
                                              CLASSIFY_GUESSES)
                : catmodel_predict(cm->model, cm->norm, norm, in->len, g, CLASSIFY_GUESSES);
    if (n < 1) {
        out->category = find_category(lx, norm, m, &kw_score);   /* out of memory: keywords */
        return;
    }
    out->p_first = g[0].prob;
    if (g[0].prob >= CLASSIFY_P_SURE) {
        out->category = cm->cat_of[g[0].cls];
        out->by_model = true;
        return;
    }
    int kw = find_category(lx, norm, m, &kw_score);
    out->category = -1;
    /* the likeliest, with a keyword category among them in place of the last */
    for (int i = 0; i < n; i++) {
        out->guess[i] = cm->cat_of[g[i].cls];
        out->guess_p[i] = g[i].prob;
    }
    out->n_guess = n;
    bool listed = kw < 0;
    for (int i = 0; i < n; i++)
        listed = listed || out->guess[i] == kw;
    if (!listed) {
        out->guess[n - 1] = kw;
        out->guess_p[n - 1] = 0;
    }
}

/* ---- the prepared text ------------------------------------------------------------------------- */
enum fq_err classify_input_make(struct classify_input *in, const struct fq_roster *r,
                                const struct danger_screen *ds, const struct classify_model *cm,
                                const char *text)
{
    memset(in, 0, sizeof *in);
    if (!text)
        return FQ_EINVAL;
    if (!(in->norm = classify_normalize(text)))
        return FQ_ENOMEM;
    in->len = strlen(in->norm);
    in->n = decode(in->norm, &in->cp, &in->off);
    if (!in->cp) {
        classify_input_cleanup(in);
        return FQ_ENOMEM;
    }
    i18n_textmask_cps(in->cp, in->n, &in->mask);
    /* The models' input. The danger screen's normaliser and the category model's are both
     * OpenCC's t2s.json opened the same way (one table), so one text serves both. */
    const catnorm *mn = cm ? cm->norm : (const catnorm *)danger_screen_normaliser(ds);
    if (mn && ((cm && cm->model) || danger_screen_normaliser(ds))) {
        size_t ncut = in->n;                /* catnorm_apply's cut, at a code point */
        if (in->len > CATMODEL_MAX_INPUT)
            for (ncut = 0; ncut < in->n && in->off[ncut + 1] <= CATMODEL_MAX_INPUT; ncut++)
                ;
        if ((in->model = malloc(CATMODEL_MAX_INPUT + 1)))
            in->model_len = catnorm_apply_cps(mn, in->cp, ncut, in->model, CATMODEL_MAX_INPUT + 1);
    }
    /* The place key when the roster has keys (classify_roster_prepare); without memory for it
     * the names are matched as written. */
    if (r && r->n_org && r->org[0].keys) {
        int32_t *kc = malloc((in->n + 1) * sizeof *kc);
        size_t nkc = 0;
        in->key_len = kc ? place_key_cps(cm ? cm->norm : NULL, in->cp, in->off, in->n, &in->key,
                                         &in->key_at, &in->key_brk, kc, &nkc)
                         : (size_t)-1;
        if (in->key_len == (size_t)-1) {
            in->key = NULL;
            in->key_len = 0;
        } else {
            i18n_textmask_cps(kc, nkc, &in->key_mask);
        }
        free(kc);
    }
    return FQ_OK;
}

void classify_input_cleanup(struct classify_input *in)
{
    if (!in)
        return;
    free(in->norm);
    free(in->cp);
    free(in->off);
    free(in->model);
    free(in->key);
    free(in->key_at);
    free(in->key_brk);
    memset(in, 0, sizeof *in);
}

void classify_text_input(const struct fq_lexicon *lx, const struct fq_roster *r,
                         const struct danger_screen *ds, const struct classify_model *cm,
                         const struct classify_input *in, struct fq_classified *out)
{
    memset(out, 0, sizeof *out);
    out->category = -1;
    out->org = -1;
    if (!in->norm || !lx)
        return;
    const char *norm = in->norm;
    size_t place_at = 0, place_len = 0;
    out->org = find_place(r, in, &place_at, &place_len);
    out->people = find_people(lx, in);
    struct danger_result dr;
    out->danger_level = (int)danger_screen_prepared(ds, lx, norm, in->len, &in->mask, in->model,
                                                    in->model_len, &dr);
    out->danger_word = dr.word;
    out->danger = dr.level == DANGER_RED;
    const char *at = NULL;
    size_t len = 0;
    out->phone = find_phone(norm, &at, &len);
    out->substantive = classify_choice(norm) < 0 &&
                       substantive(lx, r, norm, &in->mask, at, len, place_at, place_len);
    /* the keywords only when they decide or are listed (a sure model needs none) */
    size_t kw_score = 0;
    if (out->substantive && cm && cm->model)
        decide_category(lx, cm, in, out);
    else
        out->category = find_category(lx, norm, &in->mask, &kw_score);
}

void classify_text_model(const struct fq_lexicon *lx, const struct fq_roster *r,
                         const struct danger_screen *ds, const struct classify_model *cm,
                         const char *text, struct fq_classified *out)
{
    struct classify_input in;
    classify_input_make(&in, r, ds, cm, text);   /* on failure in.norm is NULL: nothing found */
    classify_text_input(lx, r, ds, cm, &in, out);
    classify_input_cleanup(&in);
}

bool classify_category_specific(int category)
{
    return category >= 0 && category != fq_category_index("other");
}

void classify_cleanup(struct fq_classified *c)
{
    if (!c)
        return;
    free(c->phone);
    c->phone = NULL;
}

int classify_severity(const char *category, int people, bool danger)
{
    if (danger || people >= 10)
        return FQ_SEV_RED;
    if (people >= 5 || fq_streq(category, "demolition") || fq_streq(category, "wage") ||
        fq_streq(category, "village_affairs"))
        return FQ_SEV_YELLOW;
    return FQ_SEV_BLUE;
}

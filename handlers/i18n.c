/* i18n.c: lookups in the loaded catalogs (handlers/i18n.h) without any library: locale names,
 * message and label lookup with fallback, "{placeholder}" formatting, and keyword matching.
 *
 * Design choices:
 * - The string maps are sorted by bot/sys/locale.c, so a lookup is a bsearch; the catalogs are
 *   immutable after loading and shared by every thread.
 * - Keyword matching ignores ASCII case ("English" = "english") and, for a keyword whose first or
 *   last character is an ASCII letter or digit, requires a word boundary there, so "hi" does not
 *   match inside "this" and "kill" not inside "skill". CJK keywords match anywhere (Chinese text
 *   has no spaces). bot/sys/locale.c sorts every merged list longest first, so "the first word found"
 *   is also the longest one (a longer danger phrase wins over a word inside it). */
#include "handlers/i18n.h"
#include "common/fq.h"
#include "common/localtime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const fq_kw_names[FQ__KW_COUNT] = {
    [FQ_KW_DANGER] = "danger",         [FQ_KW_STATUS] = "status",
    [FQ_KW_CANCEL] = "cancel",         [FQ_KW_HELP] = "help",
    [FQ_KW_SKIP] = "skip",             [FQ_KW_LANG_ZH_CN] = "lang_zh_cn",
    [FQ_KW_LANG_ZH_TW] = "lang_zh_tw", [FQ_KW_LANG_EN] = "lang_en",
    [FQ_KW_FILLER] = "filler",         [FQ_KW_NOT_SOLVED] = "not_solved",
    [FQ_KW_YES] = "yes",               [FQ_KW_NO] = "no",
    [FQ_KW_PEOPLE_UNIT] = "people_unit",
    [FQ_KW_REASON_LITIGATION] = "reason_litigation", [FQ_KW_REASON_PETITION] = "reason_petition",
    [FQ_KW_REASON_WITHDRAWN] = "reason_withdrawn", [FQ_KW_REASON_OTHER] = "reason_other",
    [FQ_KW_DANGER_RED] = "danger_red", [FQ_KW_DANGER_MODERATE] = "danger_moderate",
    [FQ_KW_DANGER_NOT] = "danger_not",
    [FQ_KW_SUPPLEMENT] = "supplement", [FQ_KW_SUPPLEMENT_NEW] = "supplement_new",
    [FQ_KW_CONFIRM] = "confirm",       [FQ_KW_REFUSE] = "refuse",
    [FQ_KW_STATUS_ASK] = "status_ask", [FQ_KW_PARTICLE] = "particle",
    [FQ_KW_ORDINAL] = "ordinal",       [FQ_KW_ORDINAL_WORD] = "ordinal_word",
    [FQ_KW_ORDINAL_LAST] = "ordinal_last",
    [FQ_KW_FIELD_CATEGORY] = "field_category", [FQ_KW_FIELD_PLACE] = "field_place",
    [FQ_KW_FIELD_DESCRIPTION] = "field_description", [FQ_KW_FIELD_CONTACT] = "field_contact",
    [FQ_KW_CORRECTION] = "correction", [FQ_KW_CORRECTION_LEAD] = "correction_lead",
    [FQ_KW_PAUSE_PARTY] = "pause_party", [FQ_KW_PAUSE_COOLING_OFF] = "pause_cooling_off",
    [FQ_KW_PAUSE_APPRAISAL] = "pause_appraisal",
};

static const char *const locale_names[FQ_N_LOCALES] = {"zh-CN", "zh-TW", "en"};

const char *fq_locale_name(enum fq_locale l)
{
    return ((int)l >= 0 && l < FQ_N_LOCALES) ? locale_names[l] : locale_names[FQ_LOC_ZH_CN];
}

/* BCP 47 and POSIX spellings, case-insensitive: "zh-CN" "zh_CN" "zh-Hans(-CN)" "zh-SG" "zh" ->
 * zh-CN; "zh-TW" "zh_TW" "zh-Hant(-*)" "zh-HK" "zh-MO" -> zh-TW; "en" "en-US" "en_GB.UTF-8" ->
 * en. An encoding suffix (".UTF-8") or modifier ("@...") is ignored. */
int fq_locale_parse(const char *s)
{
    if (!s)
        return -1;
    char buf[32];
    size_t n = 0;
    for (; s[n] && s[n] != '.' && s[n] != '@'; n++) {
        if (n + 1 >= sizeof buf)
            return -1;
        buf[n] = s[n] == '_' ? '-' : (char)tolower((unsigned char)s[n]);
    }
    buf[n] = '\0';
    if (n == 0)
        return -1;
    if (strcmp(buf, "en") == 0 || strncmp(buf, "en-", 3) == 0)
        return FQ_LOC_EN;
    if (strcmp(buf, "zh") != 0 && strncmp(buf, "zh-", 3) != 0)
        return -1;
    if (strstr(buf, "hant") || strstr(buf, "-tw") || strstr(buf, "-hk") || strstr(buf, "-mo"))
        return FQ_LOC_ZH_TW;
    return FQ_LOC_ZH_CN;
}

/* ---- lexicon ------------------------------------------------------------------------------- */
static void strmap_cleanup(struct fq_strmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys ? m->keys[i] : NULL);
        free(m->vals ? m->vals[i] : NULL);
    }
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static void wordlist_cleanup(struct fq_wordlist *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->words[i]);
    free(w->words);
    free(w->probe);   /* and the index, in the same allocation */
    memset(w, 0, sizeof *w);
}

void lexicon_free(struct fq_lexicon *lx)
{
    if (!lx)
        return;
    for (int l = 0; l < FQ_N_LOCALES; l++) {
        strmap_cleanup(&lx->messages[l]);
        strmap_cleanup(&lx->categories[l]);
        strmap_cleanup(&lx->severities[l]);
        strmap_cleanup(&lx->statuses[l]);
    }
    for (int i = 0; i < FQ_N_CATEGORIES; i++)
        wordlist_cleanup(&lx->category_kw[i]);
    for (int i = 0; i < FQ__KW_COUNT; i++)
        wordlist_cleanup(&lx->kw[i]);
    wordlist_cleanup(&lx->category_names);
    for (size_t i = 0; i < lx->n_cmd_kw; i++) {
        free(lx->cmd_kw[i].name);
        wordlist_cleanup(&lx->cmd_kw[i].words);
    }
    free(lx->cmd_kw);
    free(lx);
}

static int cmp_key(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(char *const *)elem);
}

static const char *strmap_get(const struct fq_strmap *m, const char *key)
{
    if (!m || !m->keys || !key || m->n == 0)
        return NULL;
    char *const *hit = bsearch(key, m->keys, m->n, sizeof *m->keys, cmp_key);
    return hit ? m->vals[hit - m->keys] : NULL;
}

/* One of the four maps in locale, else in zh-CN, else the key itself. */
static const char *lookup(const struct fq_lexicon *lx, size_t map_offset, int locale,
                          const char *key)
{
    if (!key)
        return "";
    if (!lx)
        return key;
    if (locale < 0 || locale >= FQ_N_LOCALES)
        locale = FQ_LOC_ZH_CN;
    const struct fq_strmap *maps = (const struct fq_strmap *)((const char *)lx + map_offset);
    const char *v = strmap_get(&maps[locale], key);
    if (!v && locale != FQ_LOC_ZH_CN)
        v = strmap_get(&maps[FQ_LOC_ZH_CN], key);
    return v ? v : key;
}

const char *i18n_get(const struct fq_lexicon *lx, int locale, const char *key)
{
    return lookup(lx, offsetof(struct fq_lexicon, messages), locale, key);
}

const char *i18n_category(const struct fq_lexicon *lx, int locale, const char *category_id)
{
    return lookup(lx, offsetof(struct fq_lexicon, categories), locale, category_id);
}

const char *i18n_severity(const struct fq_lexicon *lx, int locale, int severity)
{
    return lookup(lx, offsetof(struct fq_lexicon, severities), locale,
                  fq_severity_name((enum fq_severity)severity));
}

const char *i18n_status(const struct fq_lexicon *lx, int locale, const char *status)
{
    return lookup(lx, offsetof(struct fq_lexicon, statuses), locale, status);
}

const struct fq_wordlist *i18n_command_words(const struct fq_lexicon *lx, const char *command)
{
    size_t pl = strlen(FQ_KW_CMD_PREFIX);
    for (size_t i = 0; lx && command && i < lx->n_cmd_kw; i++) {
        const char *n = lx->cmd_kw[i].name;
        if (strncmp(n, FQ_KW_CMD_PREFIX, pl) == 0 && strcmp(n + pl, command) == 0)
            return &lx->cmd_kw[i].words;
    }
    return NULL;
}

#define MAX_ARGS 16

char *i18n_format(const struct fq_lexicon *lx, int locale, const char *key, ...)
{
    const char *names[MAX_ARGS], *vals[MAX_ARGS];
    size_t n = 0;
    va_list ap;
    va_start(ap, key);
    for (;;) {
        const char *name = va_arg(ap, const char *);
        if (!name)
            break;
        const char *val = va_arg(ap, const char *);
        if (n < MAX_ARGS) {
            names[n] = name;
            vals[n] = val ? val : "";
            n++;
        }
    }
    va_end(ap);

    const char *t = i18n_get(lx, locale, key);
    struct fq_buf b;
    buf_init(&b);
    while (*t) {
        const char *open = strchr(t, '{');
        if (!open) {
            buf_puts(&b, t);
            break;
        }
        buf_add(&b, t, (size_t)(open - t));
        const char *close = strchr(open + 1, '}');
        size_t i = n;
        if (close) {
            size_t len = (size_t)(close - open - 1);
            for (i = 0; i < n; i++)
                if (strlen(names[i]) == len && memcmp(names[i], open + 1, len) == 0)
                    break;
        }
        if (i < n) {
            buf_puts(&b, vals[i]);
            t = close + 1;
        } else {                         /* unknown placeholder or a lone brace: as written */
            buf_add(&b, open, 1);
            t = open + 1;
        }
    }
    if (!b.s && !b.oom)
        buf_add(&b, "", 0);
    return buf_take(&b);
}

/* ---- keywords ------------------------------------------------------------------------------ */
static bool is_word_byte(unsigned char ch)
{
    return ch < 0x80 && (isalnum(ch) || ch == '_');
}

/* Where word occurs in text (ASCII case ignored, boundaries as in the header comment). */
const char *i18n_find_word(const char *text, const char *word)
{
    size_t wl = strlen(word);
    if (wl == 0)
        return NULL;
    bool need_left = is_word_byte((unsigned char)word[0]);
    bool need_right = is_word_byte((unsigned char)word[wl - 1]);
    bool letters = false;
    for (const char *w = word; *w && !letters; w++)
        letters = ((unsigned char)*w < 0x80) && isalpha((unsigned char)*w);
    /* glibc's strstr is a vectorised two-way search; a valid UTF-8 needle can only match at a
     * character boundary, so no per-byte loop is needed. Case folding only when the word has
     * ASCII letters (Chinese keywords, most of the tables, take the fast path). */
    for (const char *p = text;; p++) {
        p = letters ? strcasestr(p, word) : strstr(p, word);
        if (!p)
            return NULL;
        if (need_left && p > text && is_word_byte((unsigned char)p[-1]))
            continue;
        if (need_right && is_word_byte((unsigned char)p[wl]))
            continue;
        return p;
    }
}

static int32_t fold(int32_t cp)
{
    return cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
}

static unsigned mask_slot(int32_t cp)
{
    return (unsigned)(((uint32_t)fold(cp) * 2654435761u) >> 24);   /* 0..255 */
}

static unsigned pair_slot(int32_t a, int32_t b)
{
    uint32_t h = (uint32_t)fold(a) * 2654435761u ^ (uint32_t)fold(b) * 0x85ebca6bu;
    return (unsigned)((h * 0x9e3779b1u) >> 20);                   /* 0..4095 */
}

#define PROBE_PAIR 0x8000u   /* the bits i18n_textmask_probe (i18n.h) reads */
#define PROBE_ANY 0x4000u

void i18n_textmask(const char *text, struct fq_textmask *m)
{
    memset(m, 0, sizeof *m);
    const char *p = text, *end = text + strlen(text);
    int32_t prev = -1;
    while (p < end) {
        int32_t cp = fq_utf8_next(&p, end);
        if (cp < 0) {   /* not UTF-8: let every word through */
            memset(m, 0xff, sizeof *m);
            return;
        }
        unsigned k = mask_slot(cp);
        m->bits[k >> 6] |= (uint64_t)1 << (k & 63);
        if (prev >= 0) {
            k = pair_slot(prev, cp);
            m->pairs[k >> 6] |= (uint64_t)1 << (k & 63);
        }
        prev = cp;
    }
}

void i18n_textmask_cps(const int32_t *cp, size_t n, struct fq_textmask *m)
{
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < n; i++) {
        unsigned k = mask_slot(cp[i]);
        m->bits[k >> 6] |= (uint64_t)1 << (k & 63);
        if (i > 0) {
            k = pair_slot(cp[i - 1], cp[i]);
            m->pairs[k >> 6] |= (uint64_t)1 << (k & 63);
        }
    }
}

uint16_t i18n_probe(const char *word)
{
    const char *p = word, *end = word + strlen(word);
    int32_t a = fq_utf8_next(&p, end);
    if (a < 0 || a == ' ')
        return PROBE_ANY;
    int32_t b = p < end ? fq_utf8_next(&p, end) : -1;
    /* Blanking a text writes spaces the mask never saw, next to what stays: a word starting with
     * a space is always searched, one with a space second is tested by its first character. */
    if (b < 0 || b == ' ')
        return (uint16_t)mask_slot(a);
    return (uint16_t)(PROBE_PAIR | pair_slot(a, b));
}

bool i18n_textmask_may_have(const struct fq_textmask *m, const char *word)
{
    return i18n_textmask_probe(m, i18n_probe(word));
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

enum fq_err wordlist_compile(struct fq_wordlist *wl)
{
    free(wl->probe);
    wl->probe = NULL;
    wl->index = NULL;
    if (!wl->n)
        return FQ_OK;
    /* one allocation: the probes, then the index (struct fq_wordindex and its two arrays) */
    bool indexed = wl->n <= UINT16_MAX;
    size_t probes = (wl->n * sizeof *wl->probe + 7) / 8 * 8;
    size_t size = probes + (indexed ? sizeof(struct fq_wordindex) + wl->n * sizeof(uint32_t) : 0);
    if (!(wl->probe = malloc(size)))
        return FQ_ENOMEM;
    wl->maxlen = 0;
    for (size_t i = 0; i < wl->n; i++) {
        wl->probe[i] = i18n_probe(wl->words[i]);
        size_t len = strlen(wl->words[i]);
        if (len > wl->maxlen)
            wl->maxlen = len;
    }
    if (!indexed)
        return FQ_OK;
    struct fq_wordindex *ix = (struct fq_wordindex *)(void *)((char *)wl->probe + probes);
    memset(ix, 0, sizeof *ix);
    uint32_t *slots = (uint32_t *)(ix + 1);
    size_t n_any = 0, n_keyed = 0;
    for (size_t i = 0; i < wl->n; i++) {   /* the words always searched first, in list order */
        if (wl->probe[i] & PROBE_ANY)
            slots[n_any++] = (uint32_t)i;
    }
    ix->any = slots;
    ix->keyed = slots + n_any;
    for (size_t i = 0; i < wl->n; i++) {
        uint16_t p = wl->probe[i];
        if (p & PROBE_ANY)
            continue;
        unsigned k = p & 0xfffu;
        uint64_t *bits = p & PROBE_PAIR ? ix->pairs : ix->bits;
        bits[k >> 6] |= (uint64_t)1 << (k & 63);
        ix->keyed[n_keyed++] = (uint32_t)(p & (PROBE_PAIR | 0xfffu)) << 16 | (uint32_t)i;
    }
    qsort(ix->keyed, n_keyed, sizeof *ix->keyed, cmp_u32);
    ix->n_any = (uint32_t)n_any;
    ix->n_keyed = (uint32_t)n_keyed;
    wl->index = ix;
    return FQ_OK;
}

/* Appends to out the indices of the words keyed by probe key k (PROBE_PAIR | slot, or a slot). */
static size_t keyed_words(const struct fq_wordindex *ix, uint32_t k, uint32_t *out, size_t nc,
                          size_t cap)
{
    size_t lo = 0, hi = ix->n_keyed;
    while (lo < hi) {                        /* the first entry of key k or above */
        size_t mid = (lo + hi) / 2;
        if (ix->keyed[mid] >> 16 < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < ix->n_keyed && ix->keyed[lo] >> 16 == k; lo++) {
        if (nc < cap)
            out[nc] = ix->keyed[lo] & 0xffffu;
        nc++;
    }
    return nc;
}

size_t wordlist_candidates(const struct fq_wordlist *wl, const struct fq_textmask *m,
                           uint32_t *out, size_t cap)
{
    const struct fq_wordindex *ix = wl->index;
    if (!ix)
        return (size_t)-1;
    size_t nc = 0;
    for (uint32_t i = 0; i < ix->n_any; i++) {
        if (nc < cap)
            out[nc] = ix->any[i];
        nc++;
    }
    for (unsigned w = 0; w < 4; w++)
        for (uint64_t x = m->bits[w] & ix->bits[w]; x; x &= x - 1)
            nc = keyed_words(ix, w * 64 + (unsigned)__builtin_ctzll(x), out, nc, cap);
    for (unsigned w = 0; w < 64; w++)
        for (uint64_t x = m->pairs[w] & ix->pairs[w]; x; x &= x - 1)
            nc = keyed_words(ix, PROBE_PAIR | (w * 64 + (unsigned)__builtin_ctzll(x)), out, nc,
                             cap);
    if (nc > cap)
        return (size_t)-1;
    for (size_t i = 1; i < nc; i++) {        /* list order: a few, so by insertion */
        uint32_t v = out[i];
        size_t j = i;
        for (; j > 0 && out[j - 1] > v; j--)
            out[j] = out[j - 1];
        out[j] = v;
    }
    return nc;
}

const char *wordlist_first_in(const struct fq_wordlist *wl, const char *text,
                              const struct fq_textmask *m)
{
    uint32_t c[WORDLIST_CANDIDATES];
    size_t nc = wordlist_candidates(wl, m, c, WORDLIST_CANDIDATES);
    if (nc != (size_t)-1) {
        for (size_t k = 0; k < nc; k++)
            if (i18n_find_word(text, wl->words[c[k]]))
                return wl->words[c[k]];
        return NULL;
    }
    for (size_t i = 0; i < wl->n; i++)
        if (i18n_textmask_probe(m, wordlist_probe(wl, i)) && i18n_find_word(text, wl->words[i]))
            return wl->words[i];
    return NULL;
}

bool wordlist_has(const struct fq_wordlist *wl, const char *w)
{
    if (!wl || !w)
        return false;
    /* a whole-message match: a text longer than every word is none of them (most messages,
     * which would otherwise be compared with every word of every list they are tried on) */
    if (wl->maxlen && strnlen(w, wl->maxlen + 1) > wl->maxlen)
        return false;
    for (size_t i = 0; i < wl->n; i++)
        if (strcasecmp(wl->words[i], w) == 0)
            return true;
    return false;
}

const char *wordlist_find_in(const struct fq_wordlist *wl, const char *text)
{
    if (!wl || !text)
        return NULL;
    struct fq_textmask m;
    i18n_textmask(text, &m);
    return wordlist_first_in(wl, text, &m);
}

/* ---- deadlines in words --------------------------------------------------------------------- */
void i18n_deadline(const struct fq_lexicon *lx, int locale, int64_t t, int64_t now, char *buf,
                   size_t size)
{
    if (!buf || size == 0)
        return;
    struct fq_civil c, n;
    fq_local_civil(t, &c);
    fq_local_civil(now, &n);
    char wkey[16], mkey[16], day[8], hm[8], year[8];
    snprintf(wkey, sizeof wkey, "wday_%d", c.wday);
    snprintf(mkey, sizeof mkey, "month_%d", c.month);
    snprintf(day, sizeof day, "%d", c.day);
    snprintf(hm, sizeof hm, "%02d:%02d", c.hour, c.min);
    snprintf(year, sizeof year, "%d", c.year);
    char *s = i18n_format(lx, locale, c.year == n.year ? "deadline_words" : "deadline_words_year",
                          "year", year, "month", i18n_get(lx, locale, mkey), "day", day, "wday",
                          i18n_get(lx, locale, wkey), "time", hm, (char *)NULL);
    if (s)
        snprintf(buf, size, "%s", s);
    else   /* out of memory: the plain form still says when */
        fq_local_format(t, FQ_LOCAL_MINUTE, buf, size);
    free(s);
}

void i18n_span(const struct fq_lexicon *lx, int locale, int64_t secs, char *buf, size_t size)
{
    if (!buf || size == 0)
        return;
    char a[24], b[24];
    bool days = secs >= 86400;
    snprintf(a, sizeof a, "%lld", (long long)(days ? secs / 86400 : secs / 3600));
    snprintf(b, sizeof b, "%lld", (long long)(days ? secs % 86400 / 3600 : secs % 3600 / 60));
    char *t = days ? i18n_format(lx, locale, "paused_days", "d", a, "h", b, (char *)NULL)
                   : i18n_format(lx, locale, "paused_hours", "h", a, "m", b, (char *)NULL);
    snprintf(buf, size, "%s", t ? t : "");
    free(t);
}

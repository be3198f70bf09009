/* intent.c: agreement, refusal, status questions and option labels in whole short messages
 * (handlers/intent.h, docs/contract.md 6). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fq.h"
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

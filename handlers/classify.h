/* classify.h: what can be read from a resident's text (handlers/classify.c). */
#ifndef FQ_CLASSIFY_H
#define FQ_CLASSIFY_H

#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/i18n.h"

struct fq_lexicon;
struct fq_roster;

/*  what can be read from a resident's text. */
struct fq_classified {
    int category;                    /* index in fq_categories, -1 when none found */
    int org;                         /* index in roster->org of the most specific place named, -1 */
    int people;                      /* largest number of people mentioned, 0 when none */
    bool danger;                     /* danger screening says red (danger_level) */
    int danger_level;                /* enum danger_level (handlers/danger.h) */
    const char *danger_word;         /* the danger word found (borrowed from the lexicon), or NULL */
    char *phone;                     /* a phone number found in the text (caller frees), or NULL */
    bool substantive;                /* more than greetings/filler: usable as a description */
};
/* Keeps the text masks' probes of every place name and alias in r (org[i].probes), so
 * classify_text does not make them for each message. Run on a roster the core will classify
 * with; without memory for them they are made when needed, with the same results. */
void classify_roster_probes(struct fq_roster *r);
void classify_text(const struct fq_lexicon *lx, const struct fq_roster *r, const char *text,
                   struct fq_classified *out);
/* The same with danger screening by ds (handlers/danger.h; NULL: the lexicon's words only,
 * as classify_text does). */
struct danger_screen;
void classify_text_screened(const struct fq_lexicon *lx, const struct fq_roster *r,
                            const struct danger_screen *ds, const char *text,
                            struct fq_classified *out);
void classify_cleanup(struct fq_classified *c);
/* A numbered choice: "1" "１" "一" "①" (also "14", "十四", "⑭"): the number, or -1. Surrounding
 * spaces (ASCII and full-width) and a trailing "." or "、" are ignored. */
int classify_choice(const char *text);
/* A copy of text with full-width ASCII mapped to ASCII, ideographic spaces to spaces, and
 * leading/trailing whitespace and punctuation trimmed. Caller frees. */
char *classify_normalize(const char *text);
/* Severity from the draft's facts (docs/contract.md 6.7), without the repeat-report rule. */
int classify_severity(const char *category, int people, bool danger);

#endif

/* intent.h: what a short resident message means besides its facts (docs/contract.md 6):
 * agreement, refusal, a status question, or one of the labels of the options just shown.
 * Pure: the phrase lists are keywords.confirm / refuse / status_ask / particle of locales/
 * (merged over the catalogs, so Traditional, Simplified and English words all count).
 *
 * Whole-message matching, so a description that mentions 好的 is not a confirmation: the text
 * (already classify_normalize'd) loses trailing punctuation and particles (吗 呢 吧 ...), then
 * must equal a listed phrase. Status questions may also contain a listed phrase, but only in a
 * message of at most INTENT_SHORT_CPS code points. */
#ifndef FQ_INTENT_H
#define FQ_INTENT_H

#include <stddef.h>

#include "handlers/i18n.h"

#define INTENT_SHORT_CPS 24

enum fq_intent { INTENT_NONE = 0, INTENT_YES, INTENT_NO, INTENT_STATUS };

/* The yes/no intent of norm: INTENT_YES, INTENT_NO or INTENT_NONE. */
enum fq_intent intent_yes_no(const struct fq_lexicon *lx, const char *norm);
/* True when norm asks how the resident's case is going. */
bool intent_status(const struct fq_lexicon *lx, const char *norm);
/* The index of the label in labels[0..n) that norm names (whole label, ASCII case ignored,
 * particles dropped), else -1. */
int intent_label(const struct fq_lexicon *lx, const char *norm, const char *const *labels,
                 size_t n);

#endif

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

/* intent_choose: the text names a part of more than one label. */
#define INTENT_AMBIGUOUS (-2)

/* The fields a correction at the summary may name (keywords.field_*). */
enum fq_field { FQ_FIELD_NONE = 0, FQ_FIELD_CATEGORY, FQ_FIELD_PLACE, FQ_FIELD_DESCRIPTION,
                FQ_FIELD_CONTACT };

/* The yes/no intent of norm: INTENT_YES, INTENT_NO or INTENT_NONE. */
enum fq_intent intent_yes_no(const struct fq_lexicon *lx, const char *norm);
/* True when norm asks how the resident's case is going. */
bool intent_status(const struct fq_lexicon *lx, const char *norm);
/* The index of the label in labels[0..n) that norm names (whole label, ASCII case ignored,
 * particles dropped), else -1. */
int intent_label(const struct fq_lexicon *lx, const char *norm, const char *const *labels,
                 size_t n);

/* The position 0..n-1 of a menu of n options that norm names by an ordinal: a pattern of
 * keywords.ordinal ("第{n}个", "the {n} one", "{n}") whose {n} is a number (classify_choice),
 * an ordinal word (keywords.ordinal_word: "2 second", "1 头") or a word for the last one
 * (keywords.ordinal_last: 最后, last); {n} may itself be an ordinal ("我选{n}" around 第一个).
 * -1 when norm is none, or names a position outside the menu. */
int intent_ordinal(const struct fq_lexicon *lx, const char *norm, size_t n);
/* The option norm names by its label: the whole label (as intent_label) or a part of exactly
 * one label (at least two code points, an ASCII part only from the start of a word of the
 * label): its position. INTENT_AMBIGUOUS when the part is in several labels, their positions
 * then in amb[0..*n_amb) (amb has room for n); -1 when none. */
int intent_choose(const struct fq_lexicon *lx, const char *norm, const char *const *labels,
                  size_t n, int *amb, size_t *n_amb);
/* A correction at the summary naming a field: optional leading words (keywords.correction_lead:
 * 把, the, change), a field word (keywords.field_category / field_place / field_description /
 * field_contact), then correction words (keywords.correction: 不对 是 改成 is wrong it's to)
 * and the new value. The field, with *value pointing into norm at the value ("" when the
 * message names the field only); FQ_FIELD_NONE when norm starts with no field word. */
enum fq_field intent_correction(const struct fq_lexicon *lx, const char *norm,
                                const char **value);

#endif

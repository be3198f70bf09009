/* danger.h: danger screening of a resident's text (handlers/danger.c): none, moderate or red.
 *
 * Two signals, the stronger wins:
 * - words of the lexicon (locales/, keyword lists, merged over the catalogs), looked for in the
 *   text as classify_normalize leaves it, after the phrases of "danger_not" are blanked out
 *   (集体土地 is not 集体, 砍树 is not 砍): a word of "danger" (the contract's list,
 *   docs/contract.md 6.7) or of "danger_red" is red, a word of "danger_moderate" moderate;
 * - a model (the category model's format and features, handlers/catmodel.h, with the classes
 *   none, moderate, red; trained by scripts/train-danger.py from data/corpus/danger.tsv and the
 *   category corpus) on the text normalised through OpenCC t2s: P(red) >= DANGER_P_RED is red,
 *   P(red) + P(moderate) >= DANGER_P_MODERATE moderate.
 * Missing a threat costs more than a false alarm, so the thresholds are low: a moderate result
 * makes the conversation ask one safety question rather than decide (handlers/intake.c).
 *
 * The model reads only texts of 6 characters or more (spaces not counted). A screener without
 * a model (danger_screen_open on NULL) uses the words alone. */
#ifndef FQ_DANGER_H
#define FQ_DANGER_H

#include <stddef.h>

struct fq_lexicon;

enum danger_level { DANGER_NONE = 0, DANGER_MODERATE = 1, DANGER_RED = 2 };

#define DANGER_P_RED 0.5
#define DANGER_P_MODERATE 0.3

struct danger_screen;

struct danger_result {
    enum danger_level level;
    const char *word;       /* the lexicon's word that decided (borrowed); NULL: model or none */
    double p_red, p_moderate; /* the model's probabilities, 0 without a model */
};

/* A screener with the model in model[0..len) (a danger model file's bytes; NULL: words only).
 * Opens its own OpenCC t2s normaliser (about 50 ms). NULL on failure with the reason in err. */
struct danger_screen *danger_screen_open(const char *model, size_t len, char *err,
                                         size_t errsize);
void danger_screen_close(struct danger_screen *ds);   /* NULL-safe */

/* Screens text (as classify_normalize returns it); ds may be NULL (words only). Fills out and
 * returns its level. Thread-safe: reads ds and lx only. */
enum danger_level danger_screen_text(const struct danger_screen *ds, const struct fq_lexicon *lx,
                                     const char *text, struct danger_result *out);

/* The same on a text whose other forms are made already (handlers/classify.h, struct
 * classify_input, makes them once per message for every reader): text[0..len) as
 * classify_normalize returns it, mask its i18n_textmask (NULL: made here), model_text[0..
 * model_len) its catnorm_apply by a normaliser opened as danger_screen_open opens its own (NULL:
 * made here). The same result as danger_screen_text(ds, lx, text, out). */
struct fq_textmask;
enum danger_level danger_screen_prepared(const struct danger_screen *ds,
                                         const struct fq_lexicon *lx, const char *text,
                                         size_t len, const struct fq_textmask *mask,
                                         const char *model_text, size_t model_len,
                                         struct danger_result *out);
/* The screener's OpenCC t2s normaliser (handlers/catmodel.h), NULL without a model. */
struct catnorm;
const struct catnorm *danger_screen_normaliser(const struct danger_screen *ds);

/* "none", "moderate", "red" */
const char *danger_level_name(enum danger_level l);

#endif

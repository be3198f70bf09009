/* classify.h: what can be read from a resident's text (handlers/classify.c). */
#ifndef FQ_CLASSIFY_H
#define FQ_CLASSIFY_H

#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/i18n.h"

struct fq_lexicon;
struct fq_roster;

/* The likeliest categories offered when the category model is not sure (docs/contract.md 6.1). */
#define CLASSIFY_GUESSES 3
/* The model's first guess at least this probable fills the category without asking. Chosen on
 * the training rows only, by cross-validation (scripts/train-model.py --threshold: the lowest
 * probability at which the out-of-fold first guesses taken are right at least 97% of the time;
 * `make model-threshold` prints the table: 0.50 fills 70.9% of the train rows, 97.0% right). */
#define CLASSIFY_P_SURE 0.50

/*  what can be read from a resident's text. */
struct fq_classified {
    int category;                    /* index in fq_categories, -1 when none found or the model
                                      * is not sure (then guess[] lists the likeliest) */
    int guess[CLASSIFY_GUESSES];     /* the likeliest categories (fq_categories indices), best
                                      * first, when the category is -1 on a substantive text */
    double guess_p[CLASSIFY_GUESSES];/* their probabilities by the model */
    int n_guess;                     /* 0: none (no model, or the text has no signal) */
    double p_first;                  /* the model's first guess's probability, 0 without a model */
    bool by_model;                   /* the category was decided by the model (not keywords) */
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
/* The same with the category model cm too (NULL: keywords only, as classify_text_screened).
 * On a substantive text the model decides: its first guess when at least CLASSIFY_P_SURE
 * probable, else no category and the likeliest in guess[], a keyword category among them (in
 * place of the last) when the model did not list it. Keywords do not override the model there:
 * on the corpus's test split the keyword category filled with an unsure model was right 64% of
 * the time (76% when it was the model's first guess too), below the 97% of a sure model. A text
 * that is not substantive (a category's label or keyword alone, a greeting) is read by
 * keywords alone, as it is without a model. Place names are found after the place keys'
 * normalisation (classify_roster_prepare). */
struct classify_model;
void classify_text_model(const struct fq_lexicon *lx, const struct fq_roster *r,
                         const struct danger_screen *ds, const struct classify_model *cm,
                         const char *text, struct fq_classified *out);
/* A message's text made ready once for every reader of classify_text_model: the danger screen,
 * the category model, the place keys and the people count all read these forms, which each of
 * them made again from the text before. classify_text_model(..., text, out) is
 * classify_input_make, classify_text_input, classify_input_cleanup. */
struct classify_input {
    char *norm;                      /* classify_normalize(text); NULL: nothing made */
    size_t len;                      /* its bytes */
    int32_t *cp;                     /* its code points, n of them */
    size_t *off;                     /* cp[i]'s byte offset in norm, n+1 entries (len last) */
    size_t n;
    struct fq_textmask mask;         /* i18n_textmask(norm) */
    char *model;                     /* the models' input (catnorm_apply(norm), handlers/
                                      * catmodel.h), or NULL (no model, or made when needed) */
    size_t model_len;
    char *key;                       /* norm's place key (classify_roster_prepare), or NULL: the
                                      * roster has none, names are matched as written */
    size_t key_len;
    size_t *key_at;                  /* for each key byte its code point's offset in norm */
    bool *key_brk;                   /* for each key byte: a word break just before it */
    struct fq_textmask key_mask;     /* i18n_textmask(key) */
};
/* Makes every form of text that ds, cm and r call for (ds, cm, r may be NULL). FQ_EINVAL for
 * a NULL text, FQ_ENOMEM; on failure in->norm is NULL. Free with classify_input_cleanup. */
enum fq_err classify_input_make(struct classify_input *in, const struct fq_roster *r,
                                const struct danger_screen *ds, const struct classify_model *cm,
                                const char *text);
void classify_input_cleanup(struct classify_input *in);   /* NULL-safe */
/* classify_text_model on a prepared text (made with the same r, ds and cm). */
void classify_text_input(const struct fq_lexicon *lx, const struct fq_roster *r,
                         const struct danger_screen *ds, const struct classify_model *cm,
                         const struct classify_input *in, struct fq_classified *out);
void classify_cleanup(struct fq_classified *c);
/* Whether a category (fq_categories index) names a matter: not -1 and not "other", the
 * catch-all, which the model also gives a vague text ("how is my case going"). What tells one
 * matter from another (handlers/supplement.c) or a question from a report (handlers/intake.c)
 * asks this. */
bool classify_category_specific(int category);

/* The category model (a category model file's bytes, handlers/catmodel.h, classes named as
 * fq_categories) with its own OpenCC t2s normaliser (about 50 ms). NULL on failure with the
 * reason in err. model NULL: no model, place keys still read through OpenCC. */
struct classify_model *classify_model_open(const char *model, size_t len, char *err,
                                           size_t errsize);
void classify_model_close(struct classify_model *cm);   /* NULL-safe */
/* cm's OpenCC normaliser (handlers/catmodel.h), for others that read a text's script
 * (handlers/lang.c); NULL when cm is. */
const struct catnorm *classify_model_normaliser(const struct classify_model *cm);
/* classify_roster_probes, and the place keys of every name and alias (org[i].keys): OpenCC
 * Traditional -> Simplified through cm's normaliser (cm NULL: none), full-width ASCII folded,
 * ASCII lower-cased, Latin letters with tone marks or other diacritics as their base letter
 * (pinyin written Fēngyuán), spaces and punctuation dropped. A text's place key is made the same way
 * (a word break remembered where a space or punctuation was), so 楓源村 finds 枫源村 and
 * "Fengyuan Cun" finds an alias "fengyuancun"; an ASCII name still matches at word
 * boundaries only. */
void classify_roster_prepare(struct fq_roster *r, const struct classify_model *cm);
/* A numbered choice: "1" "１" "一" "①" (also "14", "十四", "⑭"): the number, or -1. Surrounding
 * spaces (ASCII and full-width) and a trailing "." or "、" are ignored. */
int classify_choice(const char *text);
/* A copy of text with full-width ASCII mapped to ASCII, ideographic spaces to spaces, and
 * leading/trailing whitespace and punctuation trimmed. Caller frees. */
char *classify_normalize(const char *text);
/* Severity from the draft's facts (docs/contract.md 6.7), without the repeat-report rule. */
int classify_severity(const char *category, int people, bool danger);

#endif

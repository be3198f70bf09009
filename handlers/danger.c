/* danger.c: danger screening (handlers/danger.h): the lexicon's words after blanking the phrases
 * that only contain a danger word, and the danger model through the OpenCC normaliser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fq.h"
#include "handlers/catmodel.h"
#include "handlers/danger.h"
#include "handlers/i18n.h"

/* The text the words are looked for in, and the model's input, are cut here: a danger word is
 * said early, and the cost per message stays bounded for a long voice-typed text. */
#define DANGER_MAX_INPUT CATMODEL_MAX_INPUT
/* The model reads texts of at least this many characters (not counting spaces); on fewer it
 * scores little more than its biases, which lean to danger by design. */
#define DANGER_MODEL_MIN_CPS 6

struct danger_screen {
    catnorm *norm;
    catmodel *model;
    int cls_red, cls_moderate;
};

const char *danger_level_name(enum danger_level l)
{
    switch (l) {
    case DANGER_MODERATE: return "moderate";
    case DANGER_RED: return "red";
    default: return "none";
    }
}

struct danger_screen *danger_screen_open(const char *model, size_t len, char *err,
                                         size_t errsize)
{
    struct danger_screen *ds = calloc(1, sizeof *ds);
    if (!ds) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    ds->cls_red = ds->cls_moderate = -1;
    if (!model)
        return ds;
    if (!(ds->model = catmodel_parse(model, len, err, errsize)))
        goto fail;
    ds->cls_red = catmodel_class_index(ds->model, "red");
    ds->cls_moderate = catmodel_class_index(ds->model, "moderate");
    if (ds->cls_red < 0 || ds->cls_moderate < 0 || catmodel_class_index(ds->model, "none") < 0) {
        snprintf(err, errsize, "the danger model needs the classes none, moderate and red");
        goto fail;
    }
    if (!(ds->norm = catnorm_open(NULL, err, errsize)))
        goto fail;
    return ds;
fail:
    danger_screen_close(ds);
    return NULL;
}

void danger_screen_close(struct danger_screen *ds)
{
    if (!ds)
        return;
    catmodel_free(ds->model);
    catnorm_close(ds->norm);
    free(ds);
}

/* The first word of wl in text (a mask of text given), or NULL. */
static const char *find_in(const struct fq_wordlist *wl, const char *text,
                           const struct fq_textmask *m)
{
    return wordlist_first_in(wl, text, m);
}

/* Blanks every occurrence of word i of wl in text (a mask of text given); true when any. */
static bool blank_word(const struct fq_wordlist *wl, size_t i, char *text)
{
    size_t n = strlen(wl->words[i]);
    bool blanked = false;
    for (char *p; n && (p = (char *)i18n_find_word(text, wl->words[i]));) {
        memset(p, ' ', n);
        blanked = true;
    }
    return blanked;
}

/* The lexicon's words in text (a copy, blanked here); mask0: the mask of text as given, or NULL
 * (made here). */
static void words(const struct fq_lexicon *lx, char *text, const struct fq_textmask *mask0,
                  struct danger_result *out)
{
    struct fq_textmask m;
    if (mask0)
        m = *mask0;
    else
        i18n_textmask(text, &m);
    const struct fq_wordlist *not = &lx->kw[FQ_KW_DANGER_NOT];
    bool blanked = false;
    uint32_t c[WORDLIST_CANDIDATES];
    size_t nc = wordlist_candidates(not, &m, c, WORDLIST_CANDIDATES);
    if (nc != (size_t)-1) {
        for (size_t k = 0; k < nc; k++)
            blanked |= blank_word(not, c[k], text);
    } else {
        for (size_t i = 0; i < not->n; i++)
            if (i18n_textmask_probe(&m, wordlist_probe(not, i)))
                blanked |= blank_word(not, i, text);
    }
    if (blanked)
        i18n_textmask(text, &m);   /* blanking only removes: the old mask would do; tighter */
    const char *w;
    if ((w = find_in(&lx->kw[FQ_KW_DANGER], text, &m)) ||
        (w = find_in(&lx->kw[FQ_KW_DANGER_RED], text, &m))) {
        out->level = DANGER_RED;
        out->word = w;
    } else if ((w = find_in(&lx->kw[FQ_KW_DANGER_MODERATE], text, &m))) {
        out->level = DANGER_MODERATE;
        out->word = w;
    }
}

/* The model on norm[0..n) (catnorm_apply of the text). */
static void model(const struct danger_screen *ds, const char *norm, size_t n,
                  struct danger_result *out)
{
    size_t cps = 0;
    for (size_t i = 0; i < n; i++)
        cps += ((unsigned char)norm[i] & 0xC0) != 0x80 && norm[i] != ' ';
    if (cps < DANGER_MODEL_MIN_CPS)
        return;                             /* a phone number, a yes, a place: words only */
    catmodel_guess g[3];
    int k = catmodel_predict_normalised(ds->model, norm, n, g, 3);
    for (int i = 0; i < k; i++) {
        if (g[i].cls == ds->cls_red)
            out->p_red = g[i].prob;
        else if (g[i].cls == ds->cls_moderate)
            out->p_moderate = g[i].prob;
    }
    enum danger_level l = out->p_red >= DANGER_P_RED ? DANGER_RED
                          : out->p_red + out->p_moderate >= DANGER_P_MODERATE ? DANGER_MODERATE
                                                                              : DANGER_NONE;
    if (l > out->level) {
        out->level = l;
        out->word = NULL;
    }
}

const struct catnorm *danger_screen_normaliser(const struct danger_screen *ds)
{
    return ds ? ds->norm : NULL;
}

enum danger_level danger_screen_prepared(const struct danger_screen *ds,
                                         const struct fq_lexicon *lx, const char *text,
                                         size_t len, const struct fq_textmask *mask,
                                         const char *model_text, size_t model_len,
                                         struct danger_result *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return DANGER_NONE;
    size_t full = len;
    if (len > DANGER_MAX_INPUT) {
        len = DANGER_MAX_INPUT;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;                          /* at a code point's start */
    }
    char buf[DANGER_MAX_INPUT + 1];
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (lx)
        words(lx, buf, len == full ? mask : NULL, out);
    if (ds && ds->model && out->level < DANGER_RED) {
        if (model_text) {
            model(ds, model_text, model_len, out);
        } else {
            char norm[DANGER_MAX_INPUT + 1];
            size_t n = catnorm_apply(ds->norm, text, len, norm, sizeof norm);
            if (n != (size_t)-1)
                model(ds, norm, n, out);
        }
    }
    return out->level;
}

enum danger_level danger_screen_text(const struct danger_screen *ds, const struct fq_lexicon *lx,
                                     const char *text, struct danger_result *out)
{
    return danger_screen_prepared(ds, lx, text, text ? strlen(text) : 0, NULL, NULL, 0, out);
}

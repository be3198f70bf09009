/* supplement.c: a resident's later message about an open case (docs/contract.md 6.8).
 *
 * Design choices:
 * - The decision is a function of the text, its classification and the open cases only, so it
 *   is tested without a store. Definite signs come first: the case number named (that case), a
 *   new-matter phrase (keywords.supplement_new: 另外一件事, another problem), or, without a
 *   follow-up word, every open case elsewhere (another place, or another category not at the
 *   case's place): a new report. A place is the same when one contains the other (a village and
 *   its grid). Otherwise each open case without a contradicting sign scores one point for each
 *   of: the same category, the same place, a follow-up word (keywords.supplement: 补充 还有 他又
 *   also), written within SUPPLEMENT_WINDOW of its receipt. Two points on one case, and no other
 *   case as good, make it a supplement; anything less is asked.
 * - Greetings, emoji and filler (classify's `substantive` false) are never a supplement: they
 *   go on as before.
 * - The supplement changes no status: it is a history row, an event and a push, written in the
 *   core's transaction with the answer (the outbox publishes after commit). Danger words in it
 *   raise that case to red with alerts (timers_on_danger); danger words in a new matter raise
 *   none of the open cases, the new case is graded on its own. */
#include "handlers/supplement.h"
#include "handlers/classify.h"
#include "handlers/timers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fq.h"
#include "common/roster_model.h"
#include "common/status.h"
#include "store/case_table.h"

static int category_index(const char *id)
{
    for (int i = 0; i < FQ_N_CATEGORIES; i++)
        if (fq_streq(fq_categories[i], id))
            return i;
    return -1;
}

/* a is b or one of them contains the other (a village and its grid). */
static bool same_place(const struct fq_roster *r, int a, int b)
{
    for (int pass = 0; pass < 2; pass++) {
        int x = pass ? b : a, y = pass ? a : b;
        for (size_t hops = 0; x >= 0 && (size_t)x < r->n_org && hops <= r->n_org; hops++) {
            if (x == y)
                return true;
            x = r->org[x].parent;
        }
    }
    return false;
}

enum sp_verdict supplement_decide(const struct fq_lexicon *lx, const struct fq_roster *r,
                                  const char *text, const struct fq_classified *k,
                                  const struct sp_open *open, size_t n, int64_t now, int *which)
{
    *which = -1;
    if (n == 0 || !k->substantive || !text || !*text)
        return SP_NEW_REPORT;
    for (size_t i = 0; i < n; i++)
        if (open[i].case_no[0] && strcasestr(text, open[i].case_no)) {
            *which = (int)i;
            return SP_SUPPLEMENT;
        }
    if (wordlist_find_in(&lx->kw[FQ_KW_SUPPLEMENT_NEW], text))
        return SP_NEW_REPORT;
    bool word = wordlist_find_in(&lx->kw[FQ_KW_SUPPLEMENT], text) != NULL;
    size_t other = 0;
    int best = -1, best_score = -1, ties = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sp_open *o = &open[i];
        bool place_known = k->org >= 0 && o->place >= 0;
        bool place_same = place_known && same_place(r, k->org, o->place);
        bool place_differ = place_known && !place_same;
        /* the catch-all says nothing about which matter it is (a vague "please deal with it
         * soon" after the receipt) */
        bool cat_known = classify_category_specific(k->category) &&
                         classify_category_specific(o->category);
        bool cat_same = cat_known && k->category == o->category;
        bool cat_differ = cat_known && !cat_same;
        /* another place, or another category not at this case's place: another matter */
        if (!word && (place_differ || (cat_differ && !place_same))) {
            other++;
            continue;
        }
        int score = -1;              /* a contradicting sign: at most asked */
        if (!place_differ && !cat_differ)
            score = (int)cat_same + (int)place_same + (int)word +
                    (int)(now >= o->created_at && now - o->created_at <= SUPPLEMENT_WINDOW);
        if (score > best_score) {
            best = (int)i;
            best_score = score;
            ties = 0;
        } else if (score == best_score) {
            ties++;
        }
    }
    if (other == n)
        return SP_NEW_REPORT;
    if (best_score >= 2 && ties == 0) {
        *which = best;
        return SP_SUPPLEMENT;
    }
    return SP_ASK;
}

struct open_ctx {
    const struct fq_roster *r;
    struct sp_open *v;
    size_t n;
};

static void add_open(const struct fq_case *k, void *arg)
{
    struct open_ctx *o = arg;
    if (o->n == SUPPLEMENT_MAX_OPEN)
        return;
    struct sp_open *p = &o->v[o->n++];
    snprintf(p->case_no, sizeof p->case_no, "%s", k->case_no);
    p->category = category_index(k->category);
    p->place = roster_org_index(o->r, k->place_org);
    p->created_at = k->created_at;
}

enum fq_err supplement_open_cases(struct fq_ctx *c, const char *channel, const char *user,
                                  struct sp_open open[SUPPLEMENT_MAX_OPEN], size_t *n)
{
    *n = 0;
    if (!channel || !user)
        return FQ_OK;
    struct open_ctx o = {.r = c->roster, .v = open};
    struct fq_case_filter f = {.status = "open", .channel = channel, .user = user,
                               .limit = SUPPLEMENT_MAX_OPEN};
    enum fq_err err = store_case_list(c->store, &f, add_open, &o);
    *n = o.n;
    return err;
}

/* text cut to at most SUPPLEMENT_MAX_TEXT bytes at a character boundary; caller frees. */
static char *bounded(const char *text)
{
    size_t len = strlen(text);
    if (len <= SUPPLEMENT_MAX_TEXT)
        return fq_strdup(text);
    const char *p = text, *end = text + len, *cut = text;
    while (p < end && (size_t)(p - text) <= SUPPLEMENT_MAX_TEXT) {
        cut = p;
        if (fq_utf8_next(&p, end) < 0)
            break;
    }
    if ((size_t)(p - text) <= SUPPLEMENT_MAX_TEXT)
        cut = p;
    return strndup(text, (size_t)(cut - text));
}

enum fq_err supplement_record(struct fq_ctx *c, const char *case_no, const char *text, int loc,
                              struct fq_actions *out)
{
    struct fq_case k;
    enum fq_err err = store_case_get(c->store, case_no, &k);
    if (err)
        return err;
    char *note = NULL, *push = NULL, *ack = NULL;
    if (k.status >= FQ_CASE__COUNT || fq_case_status_finished((int)k.status)) {
        err = FQ_ENOTFOUND;
        goto out;
    }
    note = bounded(text ? text : "");
    if (!note) {
        err = FQ_ENOMEM;
        goto out;
    }
    if ((err = store_case_event_add(c->store, k.id, "supplement", "resident", note, NULL,
                                    c->now)))
        goto out;
    actions_event_by(out, "supplement", &k, "resident", note);
    /* the mediator's texts are in zh-CN, as every other push to them (handlers/timers.c) */
    if (k.mediator_id) {
        actions_assign_note(out, "supplement", k.mediator_id, &k, note);
        push = i18n_format(c->lex, FQ_LOC_ZH_CN, "med_supplement", "case", k.case_no, "category",
                           i18n_category(c->lex, FQ_LOC_ZH_CN, k.category), "text", note,
                           (char *)NULL);
        if (!push) {
            err = FQ_ENOMEM;
            goto out;
        }
        actions_notify(out, k.mediator_id, &k, push);
    }
    const char *key = k.mediator_id ? "supplement_added" : "supplement_added_unassigned";
    ack = i18n_format(c->lex, loc, key, "case", k.case_no, "category",
                      i18n_category(c->lex, loc, k.category), (char *)NULL);
    if (!ack) {
        err = FQ_ENOMEM;
        goto out;
    }
    answer_reply_take(out, ack);
    answer_set_case(out, k.case_no);
    if (out->oom) {
        err = FQ_ENOMEM;
        goto out;
    }
    /* danger words in the supplement raise this case, the one it is about (timers_on_danger) */
    char *norm = classify_normalize(note);
    if (!norm) {
        err = FQ_ENOMEM;
        goto out;
    }
    struct fq_classified cls;
    classify_text_model(c->lex, c->roster, c->danger, c->catm, norm, &cls);
    if (cls.danger)
        err = timers_on_danger(c, k.case_no, out);
    classify_cleanup(&cls);
    free(norm);
out:
    free(note);
    free(push);
    case_cleanup(&k);
    return err;
}

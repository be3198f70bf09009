/* stats_api.c: the JSON of the workbench's statistics (handlers/stats.c) and 督办 list, and the
 * 督办 note's request and answer (bot/web/stats_api.h). The month's object is the monthly report's
 * (report_fields, the same keys `fengqiao report monthly --format json` prints) with two more
 * keys: median_s and trend. */
#include "bot/web/stats_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot/chan/chat/chat_msg.h"
#include "bot/render/payload.h"
#include "bot/render/report_forms.h"
#include "bot/sys/locale.h"
#include "common/localtime.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"
#include "handlers/stats.h"
#include "store/store.h"


static void fail(int *status, char **json, int st, const char *code, const char *msg)
{
    *status = st;
    *json = chat_error_json(code, msg);
}

/* the lexicon the core lent, else the catalogs loaded for this call into *own */
static const struct fq_lexicon *lexicon(const struct admin_have *have, struct fq_lexicon **own)
{
    *own = NULL;
    if (have && have->lex)
        return have->lex;
    char *dir = locale_dir_default(), *cause = NULL;
    enum fq_err err = dir ? locale_load(dir, own, &cause) : FQ_ENOMEM;
    free(dir);
    free(cause);
    return err ? NULL : *own;
}

static void duration_or_null(struct fq_jobj *o, const char *key, double v)
{
    if (v < 0)
        jobj_null(o, key);
    else
        jobj_real(o, key, v);
}

char *web_stats_json(const struct st_stats *s)
{
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    report_fields(&o, s->m);
    jobj_key(&o, "median_s");
    struct fq_jobj md = jobj_begin(&b);
    duration_or_null(&md, "to_accept", s->accept_median_s);
    duration_or_null(&md, "to_resolve", s->resolve_median_s);
    jobj_end(&md);
    jobj_key(&o, "trend");
    struct fq_jarr tr = jarr_begin(&b);
    for (int i = 0; i < STATS_TREND_MONTHS; i++) {
        const struct st_trend *t = &s->trend[i];
        char month[16];
        snprintf(month, sizeof month, "%04d-%02d", t->year, t->month);
        jarr_item(&tr);
        struct fq_jobj x = jobj_begin(&b);
        jobj_str(&x, "month", month);
        jobj_int(&x, "received", t->received);
        jobj_int(&x, "resolved", t->resolved);
        jobj_end(&x);
    }
    jarr_end(&tr);
    jobj_end(&o);
    return buf_take(&b);
}

void web_stats(const struct fq_config *cfg, const struct admin_have *have, const char *month,
               const char *org, int *status, char **json)
{
    int year, mon;
    if (month) {
        if (report_parse_month(month, &year, &mon) != 0)
            return fail(status, json, 400, "bad_request", "month: use YYYY-MM (month 01-12)");
    } else {
        struct fq_civil d;
        fq_local_civil(fq_now(), &d);
        year = d.year;
        mon = d.month;
    }
    struct fq_lexicon *own_lex;
    const struct fq_lexicon *lex = lexicon(have, &own_lex);
    if (!lex)
        return fail(status, json, 503, "unavailable", "the locale catalogs cannot be read");
    struct store *s;
    const struct fq_roster *r;
    struct fq_roster *own;
    if (!admin_open_read(cfg, have, &s, &r, &own, status, json)) {
        lexicon_free(own_lex);
        return;
    }
    struct fq_ctx ctx = {.store = s, .cfg = cfg, .lex = lex, .roster = r, .now = fq_now()};
    struct st_stats *st = NULL;
    enum fq_err err = stats_month(&ctx, year, mon, org, &st);
    if (err == FQ_ENOTFOUND)
        fail(status, json, 400, "bad_request", "org: no such org node in the roster");
    else if (err)
        fail(status, json, 503, "unavailable", "the store cannot be read");
    else if (!(*json = web_stats_json(st)))
        fail(status, json, 503, "unavailable", "out of memory");
    else
        *status = 200;
    stats_free(st);
    roster_free(own);
    store_close(s);
    lexicon_free(own_lex);
}

/* ---- the 督办 list ------------------------------------------------------------------------- */
struct tally {
    const char *key, *name;
    long long late, near;
};

static struct tally *tally_of(struct tally *v, size_t *n, const char *key, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i].key, key) == 0)
            return &v[i];
    v[*n] = (struct tally){.key = key, .name = name};
    return &v[(*n)++];
}

static void tallies_json(struct fq_jobj *o, const char *key, const char *idkey,
                         const struct tally *v, size_t n)
{
    jobj_key(o, key);
    struct fq_jarr a = jarr_begin(o->b);
    for (size_t i = 0; i < n; i++) {
        jarr_item(&a);
        struct fq_jobj x = jobj_begin(o->b);
        jobj_str(&x, idkey, *v[i].key ? v[i].key : NULL);
        jobj_str(&x, "name", v[i].name);
        jobj_int(&x, "late", v[i].late);
        jobj_int(&x, "near", v[i].near);
        jobj_end(&x);
    }
    jarr_end(&a);
}

char *web_late_json(const struct fq_ctx *c, const struct st_late *v, size_t n, int64_t within)
{
    const struct fq_roster *ro = c->roster;
    struct tally *meds = calloc(n ? n : 1, sizeof *meds), *nodes = calloc(n ? n : 1, sizeof *nodes);
    if (!meds || !nodes) {
        free(meds);
        free(nodes);
        return NULL;
    }
    size_t n_meds = 0, n_nodes = 0;
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    jobj_time(&o, "now", c->now);
    jobj_int(&o, "within_s", within);
    jobj_key(&o, "cases");
    struct fq_jarr arr = jarr_begin(&b);
    for (size_t i = 0; i < n; i++) {
        const struct st_late *l = &v[i];
        int med = roster_mediator_index(ro, l->k.mediator_id);
        struct tally *tm = tally_of(meds, &n_meds, l->k.mediator_id ? l->k.mediator_id : "",
                                    med >= 0 ? ro->med[med].name : NULL);
        struct tally *tn = tally_of(nodes, &n_nodes, l->node >= 0 ? ro->org[l->node].id : "",
                                    l->node >= 0 ? ro->org[l->node].name : NULL);
        if (l->past)
            tm->late++, tn->late++;
        else
            tm->near++, tn->near++;
        jarr_item(&arr);
        struct fq_jobj x = jobj_begin(&b);
        payload_case_fields(&x, c, &l->k, false);
        jobj_str(&x, "deadline", l->accept ? "accept" : "resolve");
        jobj_time(&x, "due", l->due);
        jobj_bool(&x, "past", l->past);
        jobj_str(&x, "node", l->node >= 0 ? ro->org[l->node].id : NULL);
        jobj_str(&x, "node_name", l->node >= 0 ? ro->org[l->node].name : NULL);
        jobj_key(&x, "sent");
        struct fq_jarr sa = jarr_begin(&b);
        for (size_t j = 0; j < l->n_sent; j++) {
            jarr_item(&sa);
            struct fq_jobj e = jobj_begin(&b);
            jobj_str(&e, "type", l->sent[j].type);
            jobj_str(&e, "kind", l->sent[j].kind);
            jobj_str(&e, "actor", l->sent[j].actor);
            jobj_str(&e, "note", l->sent[j].note);
            jobj_time(&e, "at", l->sent[j].at);
            jobj_end(&e);
        }
        jarr_end(&sa);
        jobj_end(&x);
    }
    jarr_end(&arr);
    tallies_json(&o, "by_mediator", "mediator", meds, n_meds);
    tallies_json(&o, "by_node", "org", nodes, n_nodes);
    jobj_end(&o);
    free(meds);
    free(nodes);
    return buf_take(&b);
}

void web_supervision(const struct fq_config *cfg, const struct admin_have *have,
                     const char *within, const char *org, int *status, char **json)
{
    long long hours = 24;
    if (within) {
        char *end = NULL;
        hours = strtoll(within, &end, 10);
        if (!*within || strlen(within) > 4 || *end || hours < 0 || hours > WITHIN_MAX_H ||
            within[0] == '-' || within[0] == '+' || within[0] == ' ')
            return fail(status, json, 400, "bad_request", "within: hours, 0..720");
    }
    struct fq_lexicon *own_lex;
    const struct fq_lexicon *lex = lexicon(have, &own_lex);
    if (!lex)
        return fail(status, json, 503, "unavailable", "the locale catalogs cannot be read");
    struct store *s;
    const struct fq_roster *r;
    struct fq_roster *own;
    if (!admin_open_read(cfg, have, &s, &r, &own, status, json)) {
        lexicon_free(own_lex);
        return;
    }
    struct fq_ctx ctx = {.store = s, .cfg = cfg, .lex = lex, .roster = r, .now = fq_now()};
    struct st_late *v = NULL;
    size_t n = 0;
    enum fq_err err = stats_late(&ctx, org, (int64_t)hours * 3600, LATE_MAX, &v, &n);
    if (err == FQ_ENOTFOUND)
        fail(status, json, 400, "bad_request", "org: no such org node in the roster");
    else if (err)
        fail(status, json, 503, "unavailable", "the store cannot be read");
    else if (!(*json = web_late_json(&ctx, v, n, (int64_t)hours * 3600)))
        fail(status, json, 503, "unavailable", "out of memory");
    else
        *status = 200;
    stats_late_free(v, n);
    roster_free(own);
    store_close(s);
    lexicon_free(own_lex);
}

/* ---- the 督办 note ------------------------------------------------------------------------- */
struct fq_msg *web_supervise_msg(const char *body, size_t len, const char *actor, const char *org,
                                 int *status, char **json)
{
    json_error_t je;
    json_t *j = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    const char *no = j ? json_string_value(json_object_get(j, "case_no")) : NULL;
    const char *note = j ? json_string_value(json_object_get(j, "note")) : NULL;
    struct fq_msg *m = NULL;
    if (!json_is_object(j) || !no || !note || strlen(no) > 32) {
        fail(status, json, 400, "bad_request", "body: {\"case_no\": \"...\", \"note\": \"...\"}");
    } else if (!*note || strlen(note) > STATS_NOTE_MAX) {
        fail(status, json, 400, "bad_request", "note: 1..2000 bytes");
    } else if (!(m = web_supervise_note_msg(no, note, actor, org))) {
        fail(status, json, 503, "unavailable", "out of memory");
    }
    json_decref(j);
    return m;
}

struct fq_msg *web_supervise_note_msg(const char *case_no, const char *note, const char *actor,
                                      const char *org)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_SUPERVISE);
    if (!m || !(m->case_no = fq_strdup(case_no)) || !(m->note = fq_strdup(note)) ||
        !(m->user = fq_strdup(actor)) || (org && !(m->to = fq_strdup(org)))) {
        fq_msg_free(m);
        return NULL;
    }
    return m;
}

enum fq_err web_supervise_run(struct fq_ctx *ctx, struct fq_msg *m, struct fq_actions *a)
{
    enum fq_err err = stats_supervise(ctx, m->to, m->case_no, m->user, m->note, a);
    free(m->answer);
    m->answer = NULL;
    if (err == FQ_ENOTFOUND || err == FQ_EINVAL) {
        bool nf = err == FQ_ENOTFOUND;
        m->status = nf ? 404 : 409;
        m->answer = chat_error_json(nf ? "not_found" : "conflict",
                                    nf ? "no such case" : "the case is finished or unassigned");
        return m->answer ? FQ_OK : FQ_ENOMEM;
    }
    if (err)
        return err;
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    jobj_str(&o, "status", "ok");
    jobj_str(&o, "case_no", m->case_no);
    jobj_end(&o);
    m->status = 200;
    m->answer = buf_take(&b);
    return m->answer ? FQ_OK : FQ_ENOMEM;
}

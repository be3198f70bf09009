/* admin.c: reads for the admin API and the CLI: the case ledger and one case with its history.
 * JSON is written once, with the object writer of common/fq.h, from the store's typed rows; the
 * case object is the same one the MQTT events carry (payload.c), with the resident's contact
 * included for staff. Names come from the roster the core has loaded (struct admin_have). */
#include "bot/admin/admin.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config_model.h"
#include "common/fq.h"
#include "common/localtime.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"
#include "handlers/roster.h"
#include "store/case_table.h"
#include "store/roster_table.h"
#include "store/surveys.h"
#include "store/store.h"
#include "bot/chan/chat/chat_msg.h"
#include "handlers/report.h"
#include "bot/sys/locale.h"
#include "bot/render/payload.h"
#include "bot/render/report_forms.h"

int64_t admin_parse_time(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end == '\0' && v >= 0)
        return v;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%d", &tm);
    if (end && *end == '\0') {   /* local midnight of that day (server.timezone) */
        int64_t start, next;
        fq_local_day_range(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &start, &next);
        return start;
    }
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end && (*end == 'Z' || *end == '\0'))
        return (int64_t)timegm(&tm);
    return -1;
}

struct collect {
    struct fq_ctx *ctx;
    struct fq_jarr arr;
    size_t n, max;                    /* cases seen; the page size (one more is asked for) */
    int64_t last_created_at, last_id; /* the last case put in the page */
};

static void collect_case(const struct fq_case *k, void *arg)
{
    struct collect *c = arg;
    if (c->max && ++c->n > c->max)    /* the one beyond the page: there is a next page */
        return;
    jarr_item(&c->arr);
    struct fq_jobj o = jobj_begin(c->arr.b);
    payload_case_fields(&o, c->ctx, k, true);
    jobj_end(&o);
    c->last_created_at = k->created_at;
    c->last_id = k->id;
}

/* A non-negative decimal number of at most max, nothing else (no sign, space or suffix). */
static bool parse_count(const char *s, long long max, long long *out)
{
    if (!s || !*s || strlen(s) > 18)
        return false;
    long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* The cursor is "<created_at>.<id>" of the last case of the previous page. Clients treat it as
 * opaque; it is checked strictly (a cursor that could not have been given out is refused). */
static bool parse_cursor(const char *s, int64_t *created_at, int64_t *id)
{
    const char *dot = s ? strchr(s, '.') : NULL;
    if (!dot || dot == s || (size_t)(dot - s) > 18)
        return false;
    char head[20];
    memcpy(head, s, (size_t)(dot - s));
    head[dot - s] = '\0';
    long long t, i;
    if (!parse_count(head, INT64_MAX / 10, &t) || !parse_count(dot + 1, INT64_MAX / 10, &i) ||
        i < 1)
        return false;
    *created_at = t;
    *id = i;
    return true;
}

static void error(int *status, char **json, int st, const char *code, const char *msg)
{
    *status = st;
    *json = chat_error_json(code, msg);
}

/* Opens a read-only connection and finds the roster for names: the one the core has loaded
 * (have) when it is the stored generation, else (the CLI, or an import the core has not picked
 * up yet) one loaded from the store into *own (caller frees). */
bool admin_open_read(const struct fq_config *cfg, const struct admin_have *have,
                     struct store **s, const struct fq_roster **r, struct fq_roster **own,
                     int *status, char **json)
{
    char *cause = NULL;
    *own = NULL;
    if (store_open_readonly(cfg->store_path, s, &cause)) {
        free(cause);
        error(status, json, 503, "unavailable", "the store cannot be read");
        return false;
    }
    if (have && have->roster) {
        char *gen = roster_generation(*s);
        bool same = fq_streq(gen, have->roster_gen);
        free(gen);
        if (same) {
            *r = have->roster;
            return true;
        }
    }
    if (store_roster_load(*s, own)) {
        store_close(*s);
        error(status, json, 503, "unavailable", "the roster cannot be read");
        return false;
    }
    *r = *own;
    return true;
}

void admin_cases(const struct fq_config *cfg, const struct admin_have *have,
                 const struct admin_query *q, int *status, char **json)
{
    struct fq_case_filter f = {.status = q->status && *q->status ? q->status : NULL,
                               .org_id = q->org && *q->org ? q->org : NULL,
                               .limit = ADMIN_LIMIT_DEFAULT};
    if (q->since) {
        f.since = admin_parse_time(q->since);
        if (f.since < 0)
            return error(status, json, 400, "bad_request", "since: use YYYY-MM-DD or unix seconds");
    }
    long long v;
    if (q->limit) {
        if (!parse_count(q->limit, ADMIN_LIMIT_MAX, &v) || v < 1)
            return error(status, json, 400, "bad_request", "limit: 1..10000");
        f.limit = (size_t)v;
    }
    if (q->cursor && q->offset)
        return error(status, json, 400, "bad_request", "give cursor or offset, not both");
    if (q->offset) {
        if (!parse_count(q->offset, ADMIN_OFFSET_MAX, &v))
            return error(status, json, 400, "bad_request", "offset: 0..100000000");
        f.offset = (size_t)v;
    }
    if (q->cursor && !parse_cursor(q->cursor, &f.after_created_at, &f.after_id))
        return error(status, json, 400, "bad_request", "cursor: not a next_cursor of this list");
    struct store *s;
    const struct fq_roster *r;
    struct fq_roster *own;
    if (!admin_open_read(cfg, have, &s, &r, &own, status, json))
        return;
    struct fq_ctx ctx = {.store = s, .cfg = cfg, .roster = r, .now = fq_now()};
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    jobj_key(&o, "cases");
    struct collect c = {.ctx = &ctx, .arr = jarr_begin(&b), .max = f.limit};
    f.limit++;                                   /* one more: is there a next page? */
    enum fq_err err = store_case_list(s, &f, collect_case, &c);
    if (!err) {
        jarr_end(&c.arr);
        if (c.n > c.max) {
            char cur[48];
            snprintf(cur, sizeof cur, "%lld.%lld", (long long)c.last_created_at,
                     (long long)c.last_id);
            jobj_str(&o, "next_cursor", cur);
        } else {
            jobj_null(&o, "next_cursor");
        }
        jobj_end(&o);
    }
    if (!err && (*json = buf_take(&b)))
        *status = 200;
    else
        error(status, json, 503, "unavailable",
              err && err != FQ_ENOMEM ? "the store cannot be read" : "out of memory");
    buf_cleanup(&b);
    roster_free(own);
    store_close(s);
}

static void collect_event(const struct fq_case_event *e, void *arg)
{
    struct fq_jarr *arr = arg;
    jarr_item(arr);
    struct fq_jobj o = jobj_begin(arr->b);
    jobj_int(&o, "id", e->id);
    jobj_str(&o, "type", e->type);
    jobj_str(&o, "actor", e->actor ? e->actor : "");
    jobj_time(&o, "at", e->at);
    jobj_str(&o, "note", e->note);
    /* the stored details are JSON text already: written as they are when they parse */
    json_t *d = e->data ? json_loads(e->data, 0, NULL) : NULL;
    if (d) {
        jobj_key(&o, "data");
        buf_puts(o.b, e->data);
    }
    json_decref(d);
    jobj_end(&o);
}

/* One survey (回访 or relapse check) of a case, for admin_case. */
static void collect_survey(const struct fq_survey *v, void *arg)
{
    struct fq_jarr *arr = arg;
    jarr_item(arr);
    struct fq_jobj o = jobj_begin(arr->b);
    jobj_str(&o, "kind", v->kind);
    const char *st = fq_survey_status_name(v->status);
    if (st)
        jobj_str(&o, "status", st);
    jobj_str(&o, "via", v->via);
    if (v->answer)
        jobj_int(&o, "answer", v->answer);
    else
        jobj_null(&o, "answer");
    jobj_str(&o, "comment", v->comment);
    jobj_str(&o, "answered_by", v->answered_by);
    jobj_str(&o, "task_mediator", v->task_mediator);
    jobj_int(&o, "reminded", v->reminded);
    jobj_time(&o, "resolved_at", v->resolved_at);
    jobj_time(&o, "sent_at", v->sent_at);
    jobj_time(&o, "answered_at", v->answered_at);
    jobj_time(&o, "closed_at", v->closed_at);
    jobj_end(&o);
}

void admin_case(const struct fq_config *cfg, const struct admin_have *have,
                const struct admin_query *q, int *status, char **json)
{
    struct store *s;
    const struct fq_roster *r;
    struct fq_roster *own;
    if (!q->case_no || strlen(q->case_no) > 32)
        return error(status, json, 404, "not_found", "no such case");
    if (!admin_open_read(cfg, have, &s, &r, &own, status, json))
        return;
    struct fq_case k;
    memset(&k, 0, sizeof k);
    enum fq_err err = store_case_get(s, q->case_no, &k);
    struct fq_buf b;
    buf_init(&b);
    if (err == FQ_ENOTFOUND) {
        error(status, json, 404, "not_found", "no such case");
    } else if (err) {
        error(status, json, 503, "unavailable", "the store cannot be read");
    } else {
        struct fq_ctx ctx = {.store = s, .cfg = cfg, .roster = r, .now = fq_now()};
        struct fq_jobj o = jobj_begin(&b);
        payload_case_fields(&o, &ctx, &k, true);
        jobj_key(&o, "events");
        struct fq_jarr events = jarr_begin(&b);
        if (!store_case_events(s, k.id, collect_event, &events)) {
            jarr_end(&events);
            /* the surveys, or null when they cannot be read */
            struct fq_buf sb;
            buf_init(&sb);
            struct fq_jarr surveys = jarr_begin(&sb);
            bool ok = store_survey_list(s, k.id, collect_survey, &surveys) == FQ_OK;
            jarr_end(&surveys);
            jobj_key(&o, "surveys");
            if (sb.oom)
                b.oom = true;
            else
                buf_puts(&b, ok ? sb.s : "null");
            buf_cleanup(&sb);
            jobj_end(&o);
            if ((*json = buf_take(&b)))
                *status = 200;
            else
                error(status, json, 503, "unavailable", "out of memory");
        } else {
            error(status, json, 503, "unavailable", "the store cannot be read");
        }
    }
    buf_cleanup(&b);
    case_cleanup(&k);
    roster_free(own);
    store_close(s);
}

/* GET /api/v1/reports/monthly?month=YYYY-MM[&org=ID] (docs/contract.md 3.4, 8.2): the report as
 * JSON. The labels come from the catalogs the core has loaded (have->lex, replaced on SIGHUP);
 * without a core they are loaded here. */
void admin_report(const struct fq_config *cfg, const struct admin_have *have,
                  const struct admin_query *q, int *status, char **json)
{
    int year, month;
    if (!q->month || report_parse_month(q->month, &year, &month) != 0)
        return error(status, json, 400, "bad_request", "month: use YYYY-MM (month 01-12)");
    struct fq_lexicon *own_lex = NULL;
    const struct fq_lexicon *lex = have ? have->lex : NULL;
    enum fq_err err = FQ_OK;
    if (!lex) {
        char *dir = locale_dir_default(), *cause = NULL;
        err = dir ? locale_load(dir, &own_lex, &cause) : FQ_ENOMEM;
        free(dir);
        free(cause);
        lex = own_lex;
    }
    if (err)
        return error(status, json, 503, "unavailable", "the locale catalogs cannot be read");
    struct store *s;
    const struct fq_roster *r;
    struct fq_roster *own;
    if (!admin_open_read(cfg, have, &s, &r, &own, status, json)) {
        lexicon_free(own_lex);
        return;
    }
    struct fq_ctx ctx = {.store = s, .cfg = cfg, .lex = lex, .roster = r, .now = fq_now()};
    struct rp_monthly *rep = NULL;
    err = report_monthly(&ctx, year, month, q->org && *q->org ? q->org : NULL, &rep);
    if (err == FQ_ENOTFOUND) {
        error(status, json, 400, "bad_request", "org: no such org node in the roster");
    } else if (err) {
        error(status, json, 503, "unavailable", "the store cannot be read");
    } else if (!(*json = report_json(rep, false))) {
        error(status, json, 503, "unavailable", "out of memory");
    } else {
        *status = 200;
    }
    report_monthly_free(rep);
    roster_free(own);
    store_close(s);
    lexicon_free(own_lex);
}

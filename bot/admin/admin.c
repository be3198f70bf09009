/* admin.c: reads for the admin API and the CLI: the case ledger and one case with its history.
 * JSON is built with jansson from the store's typed rows; the case object is the same one the
 * MQTT events carry (payload.c), with the resident's contact included for staff. */
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
    json_t *arr;
    size_t n, max;                    /* cases seen; the page size (one more is asked for) */
    int64_t last_created_at, last_id; /* the last case put in the page */
};

static void collect_case(const struct fq_case *k, void *arg)
{
    struct collect *c = arg;
    if (c->max && ++c->n > c->max)    /* the one beyond the page: there is a next page */
        return;
    char *s = payload_case_json(c->ctx, k, true);
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    if (o)
        json_array_append_new(c->arr, o);
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

/* Opens a read-only connection and loads the roster for names. */
static bool open_read(const struct fq_config *cfg, struct store **s, struct fq_roster **r,
                      int *status, char **json)
{
    char *cause = NULL;
    if (store_open_readonly(cfg->store_path, s, &cause)) {
        free(cause);
        error(status, json, 503, "unavailable", "the store cannot be read");
        return false;
    }
    if (store_roster_load(*s, r)) {
        store_close(*s);
        error(status, json, 503, "unavailable", "the roster cannot be read");
        return false;
    }
    return true;
}

void admin_cases(const struct fq_config *cfg, const struct admin_query *q, int *status,
                 char **json)
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
    struct fq_roster *r;
    if (!open_read(cfg, &s, &r, status, json))
        return;
    struct fq_ctx ctx = {.store = s, .cfg = cfg, .roster = r, .now = fq_now()};
    struct collect c = {.ctx = &ctx, .arr = json_array(), .max = f.limit};
    f.limit++;                                   /* one more: is there a next page? */
    enum fq_err err = c.arr ? store_case_list(s, &f, collect_case, &c) : FQ_ENOMEM;
    json_t *o = NULL;
    if (!err) {
        json_t *next = json_null();
        if (c.n > c.max) {
            char cur[48];
            snprintf(cur, sizeof cur, "%lld.%lld", (long long)c.last_created_at,
                     (long long)c.last_id);
            next = json_string(cur);
        }
        o = json_pack("{s:o,s:o*}", "cases", c.arr, "next_cursor", next);
        c.arr = NULL;
    }
    if (!err && o && (*json = json_dumps(o, JSON_COMPACT)))
        *status = 200;
    else
        error(status, json, 503, "unavailable",
              err && err != FQ_ENOMEM ? "the store cannot be read" : "out of memory");
    json_decref(o);
    json_decref(c.arr);
    roster_free(r);
    store_close(s);
}

static void collect_event(const struct fq_case_event *e, void *arg)
{
    json_t *arr = arg;
    char at[32];
    fq_rfc3339(e->at, at, sizeof at);
    json_t *o = json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)e->id, "type", e->type,
                          "actor", e->actor ? e->actor : "", "at", at);
    if (!o)
        return;
    json_object_set_new(o, "note", e->note ? json_string(e->note) : json_null());
    if (e->data) {
        json_t *d = json_loads(e->data, 0, NULL);
        if (d)
            json_object_set_new(o, "data", d);
    }
    json_array_append_new(arr, o);
}

/* One survey (回访 or relapse check) of a case, for admin_case. */
static void collect_survey(const struct fq_survey *v, void *arg)
{
    json_t *arr = arg, *o = json_object();
    if (!o)
        return;
    char t[32];
    json_object_set_new(o, "kind", json_string(v->kind));
    json_object_set_new(o, "status", json_string(fq_survey_status_name(v->status)));
    json_object_set_new(o, "via", json_string(v->via));
    json_object_set_new(o, "answer", v->answer ? json_integer(v->answer) : json_null());
    json_object_set_new(o, "comment", v->comment ? json_string(v->comment) : json_null());
    json_object_set_new(o, "answered_by",
                        v->answered_by ? json_string(v->answered_by) : json_null());
    json_object_set_new(o, "task_mediator",
                        v->task_mediator ? json_string(v->task_mediator) : json_null());
    json_object_set_new(o, "reminded", json_integer(v->reminded));
    const int64_t times[] = {v->resolved_at, v->sent_at, v->answered_at, v->closed_at};
    const char *const names[] = {"resolved_at", "sent_at", "answered_at", "closed_at"};
    for (int i = 0; i < 4; i++) {
        if (times[i] > 0) {
            fq_rfc3339(times[i], t, sizeof t);
            json_object_set_new(o, names[i], json_string(t));
        } else {
            json_object_set_new(o, names[i], json_null());
        }
    }
    json_array_append_new(arr, o);
}

void admin_case(const struct fq_config *cfg, const struct admin_query *q, int *status,
                char **json)
{
    struct store *s;
    struct fq_roster *r;
    if (!q->case_no || strlen(q->case_no) > 32)
        return error(status, json, 404, "not_found", "no such case");
    if (!open_read(cfg, &s, &r, status, json))
        return;
    struct fq_case k;
    memset(&k, 0, sizeof k);
    enum fq_err err = store_case_get(s, q->case_no, &k);
    if (err == FQ_ENOTFOUND) {
        error(status, json, 404, "not_found", "no such case");
    } else if (err) {
        error(status, json, 503, "unavailable", "the store cannot be read");
    } else {
        struct fq_ctx ctx = {.store = s, .cfg = cfg, .roster = r, .now = fq_now()};
        char *cs = payload_case_json(&ctx, &k, true);
        json_t *o = cs ? json_loads(cs, 0, NULL) : NULL;
        free(cs);
        json_t *events = json_array();
        if (o && events && !store_case_events(s, k.id, collect_event, events)) {
            json_object_set_new(o, "events", events);
            json_t *surveys = json_array();
            if (surveys && store_survey_list(s, k.id, collect_survey, surveys) != FQ_OK) {
                json_decref(surveys);
                surveys = json_null();
            }
            json_object_set_new(o, "surveys", surveys);
            *json = json_dumps(o, JSON_COMPACT);
            *status = 200;
        } else {
            json_decref(events);
            error(status, json, 503, "unavailable", "the store cannot be read");
        }
        json_decref(o);
    }
    case_cleanup(&k);
    roster_free(r);
    store_close(s);
}

/* GET /api/v1/reports/monthly?month=YYYY-MM[&org=ID] (docs/contract.md 3.4, 8.2): the report as
 * JSON. The labels come from the catalogs, loaded per request (reports are rare; a SIGHUP'd catalog
 * is picked up without any shared state). */
void admin_report(const struct fq_config *cfg, const struct admin_query *q, int *status,
                  char **json)
{
    int year, month;
    if (!q->month || report_parse_month(q->month, &year, &month) != 0)
        return error(status, json, 400, "bad_request", "month: use YYYY-MM (month 01-12)");
    char *dir = locale_dir_default(), *cause = NULL;
    struct fq_lexicon *lex = NULL;
    enum fq_err err = dir ? locale_load(dir, &lex, &cause) : FQ_ENOMEM;
    free(dir);
    free(cause);
    if (err)
        return error(status, json, 503, "unavailable", "the locale catalogs cannot be read");
    struct store *s;
    struct fq_roster *r;
    if (!open_read(cfg, &s, &r, status, json)) {
        lexicon_free(lex);
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
    roster_free(r);
    store_close(s);
    lexicon_free(lex);
}

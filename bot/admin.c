/* admin.c: reads for the admin API and the CLI: the case ledger and one case with its history.
 * JSON is built with jansson from the store's typed rows; the case object is the same one the
 * MQTT events carry (payload.c), with the resident's contact included for staff. */
#include "admin.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../handlers/handlers.h"
#include "../store/store.h"
#include "chat.h"
#include "payload.h"

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
    if (end && *end == '\0') {
        tm.tm_isdst = -1;
        return (int64_t)mktime(&tm);
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
};

static void collect_case(const struct fq_case *k, void *arg)
{
    struct collect *c = arg;
    char *s = payload_case_json(c->ctx, k, true);
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    if (o)
        json_array_append_new(c->arr, o);
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
                               .org_id = q->org && *q->org ? q->org : NULL, .limit = 100};
    if (q->since) {
        f.since = admin_parse_time(q->since);
        if (f.since < 0)
            return error(status, json, 400, "bad_request", "since: use YYYY-MM-DD or unix seconds");
    }
    if (q->limit) {
        char *end;
        long v = strtol(q->limit, &end, 10);
        if (*end || v < 1 || v > 10000)
            return error(status, json, 400, "bad_request", "limit: 1..10000");
        f.limit = (size_t)v;
    }
    struct store *s;
    struct fq_roster *r;
    if (!open_read(cfg, &s, &r, status, json))
        return;
    struct fq_ctx ctx = {.store = s, .cfg = cfg, .roster = r, .now = fq_now()};
    struct collect c = {.ctx = &ctx, .arr = json_array()};
    enum fq_err err = store_case_list(s, &f, collect_case, &c);
    if (err) {
        error(status, json, 503, "unavailable", "the store cannot be read");
    } else {
        json_t *o = json_pack("{s:o}", "cases", c.arr);
        c.arr = NULL;
        *json = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        *status = 200;
    }
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
            json_object_set_new(o, "surveys", json_array());
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

void admin_report(const struct fq_config *cfg, const struct admin_query *q, int *status,
                  char **json)
{
    (void)cfg;
    (void)q;
    error(status, json, 404, "not_found", "monthly reports are not available in this version");
}

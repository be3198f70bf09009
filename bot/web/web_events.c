/* web_events.c: GET /app/api/events, the workbench's live updates as Server-Sent Events.
 *
 * The stream is the case history (case_events) after the last event the client saw: a row is
 * there only once the transaction that wrote it (and its MQTT outbox rows) has committed, so a
 * page never shows a change that could still be rolled back, and each user sees only the
 * events of cases in their scope (属地). Each answer carries what is new (at most EVENTS_MAX
 * events) and ends; the browser's EventSource comes back after `retry` milliseconds with
 * Last-Event-ID, so a stream never holds an HTTP thread. A first connection starts after the
 * newest event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot/web/web_internal.h"
#include "common/fq.h"
#include "store/store.h"
#include "store/web_table.h"

#define EVENTS_MAX 200
#define RETRY_MS 1000

struct stream {
    const struct web_call *c;
    struct fq_buf *b;
    int64_t last;
    size_t n;
};

static void one(int64_t id, const char *case_no, const char *org_id, const char *place_org,
                const char *type, void *arg)
{
    struct stream *st = arg;
    st->last = id;
    st->n++;
    if (!case_no || !(web_in_scope(st->c->roster, st->c->u, org_id) ||
                      web_in_scope(st->c->roster, st->c->u, place_org)))
        return;
    buf_printf(st->b, "id: %lld\nevent: case\ndata: ", (long long)id);
    struct fq_jobj o = jobj_begin(st->b);
    jobj_int(&o, "id", id);
    jobj_str(&o, "case_no", case_no);
    jobj_str(&o, "type", type);
    jobj_end(&o);
    buf_puts(st->b, "\n\n");
}

/* A decimal event id, or -1. */
static int64_t parse_id(const char *s)
{
    if (!s || !*s || strlen(s) > 18)
        return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

enum web_step web_events(struct web_call *c, struct web_res *res)
{
    const struct web_req *q = c->q;
    const char *h = q->header ? q->header(q, "Last-Event-ID") : NULL;
    const char *a = q->query ? q->query(q, "after") : NULL;
    int64_t after = parse_id(h ? h : a);
    struct store *s = NULL;
    char *cause = NULL;
    if (store_open_readonly(q->cfg->store_path, &s, &cause)) {
        free(cause);
        web_json_error(res, 503, "unavailable");
        return WEB_ANSWER;
    }
    res->type = "text/event-stream; charset=utf-8";
    struct fq_buf *b = &res->body;
    struct stream st = {.c = c, .b = b, .last = after};
    enum fq_err err = FQ_OK;
    if (after < 0) {
        err = store_web_events_max(s, &st.last);
    } else {
        err = store_web_events_after(s, after, EVENTS_MAX, one, &st);
    }
    store_close(s);
    if (err) {
        web_json_error(res, 503, "unavailable");
        return WEB_ANSWER;
    }
    /* more waiting: come back at once */
    buf_printf(b, "retry: %d\nid: %lld\n\n", st.n == EVENTS_MAX ? 10 : RETRY_MS,
               (long long)st.last);
    return WEB_ANSWER;
}

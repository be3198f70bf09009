/* fake_handlers.c: see fake_handlers.h. Defines exactly the functions bot/core/core.c calls
 * above the store and the chat body, so the real handlers/, payload and scheduler objects are
 * not linked into a core test. */
#include "tests/unit/fakes/fake_handlers.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bot/chan/chan.h"
#include "bot/core/sched.h"
#include "bot/render/payload.h"
#include "bot/web/stats_api.h"
#include "common/fq.h"
#include "handlers/actions.h"
#include "handlers/classify.h"
#include "handlers/dispatch.h"
#include "handlers/mediator.h"
#include "handlers/timers.h"
#include "store/outbox_table.h"
#include "store/store.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct fake_call calls[FAKE_MAX_CALLS];
static size_t n_calls, n_payload;
static bool held, released;

void fake_reset(void)
{
    pthread_mutex_lock(&mu);
    n_calls = n_payload = 0;
    held = released = false;
    pthread_mutex_unlock(&mu);
}

void fake_release(void)
{
    pthread_mutex_lock(&mu);
    released = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

int fake_wait_held(int ms)
{
    struct timespec ts;
    fq_deadline(&ts, CLOCK_REALTIME, ms);
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (!held && rc == 0)
        rc = pthread_cond_timedwait(&cv, &mu, &ts);
    int v = held;
    pthread_mutex_unlock(&mu);
    return v;
}

size_t fake_calls(struct fake_call *out, size_t max)
{
    pthread_mutex_lock(&mu);
    size_t n = n_calls;
    memcpy(out, calls, (n < max ? n : max) * sizeof *out);
    pthread_mutex_unlock(&mu);
    return n;
}

size_t fake_payload_calls(void)
{
    pthread_mutex_lock(&mu);
    size_t n = n_payload;
    pthread_mutex_unlock(&mu);
    return n;
}

enum fq_err handle_chat(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out)
{
    pthread_mutex_lock(&mu);
    if (n_calls < FAKE_MAX_CALLS) {
        snprintf(calls[n_calls].message_id, sizeof calls[0].message_id, "%s",
                 m->message_id ? m->message_id : "");
        calls[n_calls].commits = store_commits(c->store);
        n_calls++;
    }
    if (fq_streq(m->text, "hold")) {
        held = true;
        pthread_cond_broadcast(&cv);
        while (!released)
            pthread_cond_wait(&cv, &mu);
    }
    pthread_mutex_unlock(&mu);
    char topic[96], event_id[96];
    snprintf(topic, sizeof topic, "t/%s", m->message_id ? m->message_id : "");
    snprintf(event_id, sizeof event_id, "e-%s", m->message_id ? m->message_id : "");
    enum fq_err err = store_outbox_add(c->store, "mqtt", topic, "{}", false, event_id, NULL,
                                       c->now, NULL);
    if (err)
        return err;
    if (fq_streq(m->text, "fail"))
        return FQ_ESTORE;      /* after writing: the core must undo the row */
    answer_reply(out, m->text ? m->text : "");
    return FQ_OK;
}

enum fq_err mediator_on_command(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out)
{
    return handle_chat(c, m, out);
}

enum fq_err payload_emit(struct fq_ctx *c, const char *prefix, const struct fq_msg *m,
                         const struct fq_actions *a, struct payload_stats *st)
{
    (void)c, (void)prefix, (void)m, (void)a;
    if (st)
        st->created = 0;
    pthread_mutex_lock(&mu);
    n_payload++;
    pthread_mutex_unlock(&mu);
    return FQ_OK;
}

enum fq_err sched_run(struct fq_ctx *ctx, const char *prefix, struct fq_msg *m)
{
    (void)ctx, (void)prefix, (void)m;
    return FQ_OK;
}

enum fq_err timers_housekeep(struct fq_ctx *c, struct fq_actions *out)
{
    (void)c, (void)out;
    return FQ_OK;
}

void classify_roster_prepare(struct fq_roster *r, const struct classify_model *cm)
{
    (void)r, (void)cm;
}

/* The core opens the category model at start; the fake handlers never read it. */
static char fake_model;

struct classify_model *classify_model_open(const char *model, size_t len, char *err,
                                           size_t errsize)
{
    (void)model, (void)len, (void)err, (void)errsize;
    return (struct classify_model *)&fake_model;
}

void classify_model_close(struct classify_model *cm)
{
    (void)cm;
}

/* The channel table (bot/chan/chan.c) names every channel and through them the handlers; the
 * core's test needs only the default scope, which is the chat one. */
void chan_scope(const struct fq_msg *m, struct fq_buf *b)
{
    buf_printf(b, "chat:%s:%s", m->channel, m->user);
}

/* The timer kinds table, which the metrics read their labels from (bot/sys/metrics.c); nothing
 * fires here. */
const struct timer_kind timers_kinds[FQ_TIMER__COUNT] = {
    [FQ_TIMER_ACCEPT_REMIND] = {FQ_TIMER_ACCEPT_REMIND, NULL, "other"},
};

/* A 督办 note (bot/web/stats_api.c, which would bring in the real handlers): the core's tests send
 * none, so one that arrived would be refused as an unknown case. */
enum fq_err web_supervise_run(struct fq_ctx *ctx, struct fq_msg *m, struct fq_actions *a)
{
    (void)ctx;
    (void)a;
    m->status = 404;
    return FQ_OK;
}

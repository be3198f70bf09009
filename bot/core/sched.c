/* sched.c: the timer loop. Timers are rows (store/timer_table.c); this thread only finds the due
 * ones and asks the core to fire them, so firing is committed like any other change and the
 * database stays the single source of truth across restarts.
 *
 * Design choices:
 * - Polling, at most a second apart, instead of a kick from every commit. The thread sleeps
 *   until the earliest pending due time (store_timer_next, an index lookup) or one second,
 *   whichever is sooner, and then asks again. A timer added by any writer (the core, the CLI, a
 *   restored backup) is thus seen within a second without the core having to know which commits
 *   added timers, and the cost is one indexed query a second when idle. Due times are whole
 *   seconds, so timers fire between 0 and about 1 s after their due time (docs/contract.md 7.4:
 *   within about a second).
 * - One FQ_MSG_TIMER message in flight at a time, holding up to BATCH ids; the loop waits for
 *   it to be done (committed or rolled back) before it queries again, so no timer is ever
 *   pushed twice concurrently. The core still marks each timer fired with a conditional UPDATE
 *   (store_timer_fire), so a timer fires once even against a second scheduler or a restart:
 *   a crash before the commit leaves it unfired (it fires after the restart), a crash after the
 *   commit leaves it fired (never again).
 * - Roster changes: the loop also watches the roster generation (kv roster_gen). When it
 *   changes (an import by the CLI, or by the admin API) and once at start-up, it sends a message
 *   with no ids: the core reloads the roster and runs timers_housekeep (absence reassignment,
 *   one pending digest per supervisor).
 * - Metrics are counted after commit, in the done callback, for the ids the core left non-zero
 *   (timers that had an effect).
 * - Retention (store/retention.h): every retention.interval the loop sends an FQ_MSG_PRUNE; the
 *   core removes at most CORE_PRUNE_LIMIT rows of each operational table in its batch (a few
 *   milliseconds), and while a table gave a full piece the loop asks again PRUNE_AGAIN_MS later,
 *   so a long backlog drains without ever holding the writer for long. After each round this
 *   thread counts the tables on its own connection (a WAL reader: the core does not wait) for
 *   /metrics.
 * - Heavy kinds (timers_heavy: the digests, the monthly report) are long reads over the ledger;
 *   they are not fired on the core but offered to the fq-reports thread (bot/core/reports.c),
 *   which computes them from a snapshot and hands the core only the actions to publish
 *   (sched_run with m->work). They are queried apart from the other kinds, so a week's digests
 *   never fill a batch that reminders wait behind, and offered only while that thread is idle
 *   (it says so by a kick), so a timer is never offered twice while its result is on the way. */
#include "bot/core/sched.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config_model.h"
#include "common/fq.h"
#include "handlers/actions.h"
#include "handlers/roster.h"
#include "handlers/timers.h"
#include "store/retention.h"
#include "store/timer_lifecycle.h"
#include "store/timer_table.h"
#include "store/store.h"
#include "bot/core/core.h"
#include "bot/core/reports.h"
#include "bot/sys/log.h"
#include "bot/sys/metrics.h"
#include "bot/render/payload.h"

#define BATCH 256
#define POLL_MS 1000
#define RETRY_MS 1000
#define PRUNE_AGAIN_MS 100
#define PRUNE_FIRST_MS 10000     /* the first round after start, at the latest */

struct sched {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping, kicked, started;
    bool inflight;                   /* a message is with the core */
    int last_status;                 /* its status once done */

    struct store *store;             /* this thread's own connection */
    struct core *core;
    struct reports *reports;         /* the reader thread of the heavy kinds */
    enum fq_timer_kind heavy[STORE_DUE_KINDS_MAX];
    size_t n_heavy;
    int64_t prune_every_ms;          /* retention.interval */
    int64_t pruned[PRUNE__COUNT];    /* the last round's removals (set by the done callback) */

    /* the batch in flight: kinds by position in the message's ids (read by the done callback,
     * on the core thread, while this thread waits) */
    enum fq_timer_kind kinds[BATCH];
    size_t n_kinds;

    /* for the due-timer callback */
    int64_t *ids;
    size_t n_ids;
};

/* ---- the core side ------------------------------------------------------------------------- */
static bool transient(enum fq_err e)
{
    return e == FQ_ENOMEM || e == FQ_ESTORE || e == FQ_EBUSY || e == FQ_EIO;
}

/* One timer, under its own savepoint; w: its actions computed off the core (reports.c), or
 * NULL. *effect: it did something. */
static enum fq_err fire_one(struct fq_ctx *ctx, const char *prefix, int64_t id,
                            struct sched_work *w, bool *effect)
{
    *effect = false;
    struct store *st = ctx->store;
    if (store_savepoint(st))
        return FQ_ESTORE;
    enum fq_err err = store_timer_fire(st, id, ctx->now);
    if (err == FQ_ENOTFOUND) {   /* fired or cancelled already */
        store_release(st);
        return FQ_OK;
    }
    struct fq_timer t;
    memset(&t, 0, sizeof t);
    if (!err)
        err = store_timer_get(st, id, &t, NULL);
    struct fq_actions own, *ap = &own;
    actions_init(&own);
    if (!err && w && w->failed) {
        err = w->failed;              /* consumed below, as a timer that cannot fire */
    } else if (!err && w) {
        bool send = false;
        err = timers_commit(ctx, &t, &send);
        if (!err && send)
            ap = &w->actions;         /* else: no longer live, what was computed is dropped */
    } else if (!err) {
        err = timers_fire(ctx, &t, &own);
    }
    if (!err && ap->oom)
        err = FQ_ENOMEM;
    /* no message caused it: an answer a timer sends (a survey question) names its resident */
    if (!err)
        err = payload_emit(ctx, prefix, NULL, ap, NULL);
    if (err) {
        store_rollback_to(st);
        if (!transient(err)) {
            /* a timer that cannot fire is consumed, not retried for ever */
            log_warn("timer dropped id=%lld kind=%s err=\"%s\"", (long long)id,
                     fq_timer_kind_name(t.kind),
                     fq_strerror(err));
            err = store_timer_fire(st, id, ctx->now);
            if (err == FQ_ENOTFOUND)
                err = FQ_OK;
        }
    } else {
        err = store_release(st);
        *effect = ap->n > 0;
    }
    actions_cleanup(&own);
    timer_cleanup(&t);
    return err;
}

enum fq_err sched_run(struct fq_ctx *ctx, const char *prefix, struct fq_msg *m)
{
    m->status = 200;
    if (m->n_ids == 0) {
        struct fq_actions a;
        actions_init(&a);
        enum fq_err err = timers_housekeep(ctx, &a);
        if (!err && a.oom)
            err = FQ_ENOMEM;
        if (!err)
            err = payload_emit(ctx, prefix, NULL, &a, NULL);
        actions_cleanup(&a);
        return err;
    }
    for (size_t i = 0; i < m->n_ids; i++) {
        bool effect = false;
        enum fq_err err = fire_one(ctx, prefix, m->ids[i], m->n_ids == 1 ? m->work : NULL,
                                   &effect);
        if (err)
            return err;
        if (!effect)
            m->ids[i] = 0;
    }
    return FQ_OK;
}

/* ---- the thread ---------------------------------------------------------------------------- */
static void on_done(struct fq_msg *m, void *arg)
{
    struct sched *s = arg;
    if (m->status == 200 && m->kind == FQ_MSG_PRUNE)
        memcpy(s->pruned, m->ids, sizeof s->pruned);
    else if (m->status == 200)
        for (size_t i = 0; i < m->n_ids && i < s->n_kinds; i++)
            if (m->ids[i])
                metrics_timer_fired(timers_metric_label(s->kinds[i]));
    pthread_mutex_lock(&s->mu);
    s->inflight = false;
    s->last_status = m->status;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    fq_msg_free(m);
}

/* Hands m to the core and waits until it is done. True when committed. */
static bool push_wait(struct sched *s, struct fq_msg *m)
{
    m->done = on_done;
    m->done_arg = s;
    m->at = fq_now();
    pthread_mutex_lock(&s->mu);
    s->inflight = true;
    s->last_status = 0;
    pthread_mutex_unlock(&s->mu);
    enum fq_err err = core_push(s->core, m);
    if (err) {
        pthread_mutex_lock(&s->mu);
        s->inflight = false;
        pthread_mutex_unlock(&s->mu);
        fq_msg_free(m);
        return false;
    }
    /* wait even when stopping: the core (stopped after us) still owns and finishes m */
    pthread_mutex_lock(&s->mu);
    while (s->inflight)
        pthread_cond_wait(&s->cv, &s->mu);
    int status = s->last_status;
    pthread_mutex_unlock(&s->mu);
    return status == 200;
}

static void due_cb(const struct fq_timer *t, void *arg)
{
    struct sched *s = arg;
    if (s->n_ids >= BATCH)
        return;
    s->ids[s->n_ids] = t->id;
    s->kinds[s->n_ids] = t->kind;
    s->n_ids++;
}

/* Pushes the due timers; returns how many were pushed, or -1 on failure. */
static int push_due(struct sched *s)
{
    int64_t *ids = malloc(BATCH * sizeof *ids);
    if (!ids)
        return -1;
    s->ids = ids;
    s->n_ids = 0;
    enum fq_err err = store_timer_due_kinds(s->store, fq_now(), BATCH, false, s->heavy,
                                            s->n_heavy, due_cb, s);
    s->ids = NULL;
    if (err) {
        log_warn("scheduler: due timers query failed err=\"%s\" db=\"%s\"", fq_strerror(err),
                 store_errmsg(s->store));
        free(ids);
        return -1;
    }
    size_t n = s->n_ids;
    if (n == 0) {
        free(ids);
        return 0;
    }
    struct fq_msg *m = fq_msg_new(FQ_MSG_TIMER);
    if (!m) {
        free(ids);
        return -1;
    }
    m->ids = ids;            /* ownership moves with the message */
    m->n_ids = n;
    s->n_kinds = n;
    bool ok = push_wait(s, m);
    s->n_kinds = 0;
    if (!ok) {
        log_warn("scheduler: timers not fired n=%zu (retrying)", n);
        return -1;
    }
    log_debug("scheduler: timers handled n=%zu", n);
    return (int)n;
}

struct heavy_list {
    struct fq_timer *v;
    size_t n;
    bool oom;
};

static void heavy_cb(const struct fq_timer *t, void *arg)
{
    struct heavy_list *l = arg;
    if (l->oom || l->n >= BATCH)
        return;
    struct fq_timer *x = &l->v[l->n];
    *x = *t;
    x->arg = NULL;
    if (t->arg && !(x->arg = fq_strdup(t->arg))) {
        l->oom = true;
        return;
    }
    l->n++;
}

/* Offers the due timers of the heavy kinds to the reports thread when it is idle. Returns how
 * many were offered, -1 on failure. */
static int offer_heavy(struct sched *s)
{
    if (reports_busy(s->reports))
        return 0;
    struct heavy_list l = {.v = calloc(BATCH, sizeof *l.v)};
    if (!l.v)
        return -1;
    enum fq_err err = store_timer_due_kinds(s->store, fq_now(), BATCH, true, s->heavy,
                                            s->n_heavy, heavy_cb, &l);
    if (!err && l.oom)
        err = FQ_ENOMEM;
    if (!err && l.n && !reports_offer(s->reports, l.v, l.n))
        err = FQ_EBUSY;
    if (err || !l.n) {
        for (size_t i = 0; i < l.n; i++)
            timer_cleanup(&l.v[i]);
        free(l.v);
    }
    if (err) {
        log_warn("scheduler: heavy timers not offered err=\"%s\"", fq_strerror(err));
        return -1;
    }
    return (int)l.n;
}

static bool housekeep(struct sched *s)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_TIMER);
    return m && push_wait(s, m);
}

/* One retention round; then the table sizes for /metrics. Returns 1 when a table gave a full
 * piece (more may be due), 0 when done, -1 on failure. */
static int prune(struct sched *s)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_PRUNE);
    int64_t *counts = m ? calloc(PRUNE__COUNT, sizeof *counts) : NULL;
    if (!counts) {
        fq_msg_free(m);
        return -1;
    }
    m->ids = counts;         /* ownership moves with the message */
    m->n_ids = PRUNE__COUNT;
    memset(s->pruned, 0, sizeof s->pruned);
    if (!push_wait(s, m)) {
        log_warn("retention: pruning failed (retrying)");
        return -1;
    }
    int more = 0;
    for (int t = 0; t < PRUNE__COUNT; t++) {
        metrics_pruned(store_prunable_names[t], s->pruned[t]);
        more |= s->pruned[t] >= CORE_PRUNE_LIMIT;
    }
    struct store_sizes z;
    if (store_sizes(s->store, &z) == FQ_OK)
        metrics_table_sizes(&z);
    else
        log_warn("retention: table sizes not read db=\"%s\"", store_errmsg(s->store));
    return more;
}

/* Sleeps until the monotonic deadline (ms), a kick or stop. */
static void sleep_until(struct sched *s, int64_t deadline_ms)
{
    pthread_mutex_lock(&s->mu);
    while (!s->stopping && !s->kicked) {
        int64_t now = fq_mono_ms();
        if (now >= deadline_ms)
            break;
        struct timespec ts;
        fq_deadline(&ts, CLOCK_MONOTONIC, deadline_ms - now);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    s->kicked = false;
    pthread_mutex_unlock(&s->mu);
}

static bool stopping(struct sched *s)
{
    pthread_mutex_lock(&s->mu);
    bool v = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static void *sched_main(void *arg)
{
    struct sched *s = arg;
    log_thread_name("fq-timers");
    char *gen = NULL;
    bool need_housekeeping = true;
    /* retention.interval is positive in a real configuration; 0 (a bare test one) prunes never */
    int64_t next_prune = s->prune_every_ms <= 0 ? INT64_MAX
                         : fq_mono_ms() + (s->prune_every_ms < PRUNE_FIRST_MS ? s->prune_every_ms
                                                                              : PRUNE_FIRST_MS);
    while (!stopping(s)) {
        if (s->prune_every_ms > 0 && fq_mono_ms() >= next_prune) {
            int r = prune(s);
            next_prune = fq_mono_ms() + (r > 0 ? PRUNE_AGAIN_MS : r < 0 ? RETRY_MS
                                                                       : s->prune_every_ms);
        }
        char *g = roster_generation(s->store);
        if (need_housekeeping || !fq_streq(g, gen)) {
            if (housekeep(s)) {
                free(gen);
                gen = g;
                g = NULL;
                need_housekeeping = false;
            }
        }
        free(g);
        if (!need_housekeeping)       /* the heavy timers need the roster housekeeping set up */
            (void)offer_heavy(s);
        int pushed = push_due(s);
        if (pushed > 0)
            continue;                 /* maybe more are due: ask again at once */
        int64_t wait = pushed < 0 || need_housekeeping ? RETRY_MS : POLL_MS;
        int64_t next = 0;
        /* a due one now can only be heavy and with the reports thread, which kicks when idle */
        if (pushed == 0 && store_timer_next(s->store, &next) == FQ_OK) {
            int64_t until = next * 1000 - fq_now_ms();
            if (until < wait && until > 0)
                wait = until;
            else if (until <= 0 && !reports_busy(s->reports) && !need_housekeeping)
                wait = 0;
        }
        int64_t deadline = fq_mono_ms() + wait;
        sleep_until(s, deadline < next_prune ? deadline : next_prune);
    }
    free(gen);
    return NULL;
}

static void on_idle(void *arg);

enum fq_err sched_start(const struct fq_config *cfg, struct core *core, struct sched **out,
                        char **cause)
{
    *out = NULL;
    struct sched *s = calloc(1, sizeof *s);
    if (!s)
        return FQ_ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->core = core;
    s->prune_every_ms = cfg->retention_interval * 1000;
    for (int k = 0; k < FQ_TIMER__COUNT && s->n_heavy < STORE_DUE_KINDS_MAX; k++)
        if (timers_heavy((enum fq_timer_kind)k))
            s->heavy[s->n_heavy++] = (enum fq_timer_kind)k;
    enum fq_err err = store_open(cfg->store_path, &s->store, cause);
    if (err)
        goto fail;
    if ((err = reports_start(cfg, core, on_idle, s, &s->reports, cause)))
        goto fail;
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
        err = FQ_ENOMEM;
        if (cause && !*cause)
            *cause = fq_strdup("cannot start the scheduler thread");
        goto fail;
    }
    s->started = true;
    *out = s;
    return FQ_OK;
fail:
    reports_stop(s->reports);
    store_close(s->store);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
    return err;
}

static void on_idle(void *arg)
{
    sched_kick(arg);
}

void sched_kick(struct sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->kicked = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void sched_stop(struct sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->started)
        pthread_join(s->thread, NULL);
    reports_stop(s->reports);   /* after the loop: nothing offers it timers any more */
    store_close(s->store);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

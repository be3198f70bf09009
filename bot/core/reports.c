/* reports.c: the fq-reports thread (bot/core/reports.h). Before it, the monthly report and the
 * digests ran on the core thread inside its transaction: over ten years of cases every resident
 * waited behind them (seconds at 100 k cases, minutes at 5 M).
 *
 * Design choices:
 * - One thread at nice 10, one read-only connection, one timer at a time: the work is a long read, and a
 *   second reader would only share the same two cores with the core thread. Each timer is
 *   computed inside its own read transaction (store_read_begin), so the report is one consistent
 *   state of the ledger even while the core commits; the WAL keeps the pages that snapshot needs.
 * - The roster, the lexicon and the configuration are the core's, lent for the computation
 *   (core_view_take): the same ones the core decides with, released before the hand-over.
 * - The hand-over is one FQ_MSG_TIMER per timer with its id and the computed actions
 *   (m->work); the thread waits until the core is done with it before it takes the next, so it
 *   never has more than one result in the core's queue and the scheduler, which offers it timers
 *   only while it is idle, never offers a timer twice while its result is on the way.
 * - Failures: a store error (busy, I/O, interrupted by a stop) leaves the timer due; the
 *   scheduler offers it again a second later. Any other failure hands over an empty result
 *   flagged failed: the core consumes the timer (logged), as it does for a timer that cannot
 *   fire, instead of computing it again every second for ever. */
#include "bot/core/reports.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/status.h"
#include "handlers/actions.h"
#include "handlers/timers.h"
#include "store/store.h"
#include "bot/core/core.h"
#include "bot/core/sched.h"
#include "bot/sys/log.h"
#include "bot/sys/metrics.h"

#define RETRY_MS 1000
#define REPORTS_NICE 10

struct reports {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping, started;
    bool busy;                       /* offered timers not yet all handed over */
    bool inflight;                   /* a result is with the core */
    int last_status;
    enum fq_timer_kind kind;         /* of the result in flight, for the metrics */
    atomic_bool cancel;              /* stop: the long read under way gives up */
    struct fq_timer *todo;           /* offered, owned */
    size_t n_todo;

    struct store *store;             /* this thread's read-only connection */
    struct core *core;
    void (*on_idle)(void *arg);
    void *on_idle_arg;
};

static bool transient(enum fq_err e)
{
    return e == FQ_ENOMEM || e == FQ_ESTORE || e == FQ_EBUSY || e == FQ_EIO;
}

static void work_free(void *w)
{
    struct sched_work *x = w;
    if (!x)
        return;
    actions_cleanup(&x->actions);
    free(x);
}

static void on_done(struct fq_msg *m, void *arg)
{
    struct reports *r = arg;
    if (m->status == 200 && m->n_ids == 1 && m->ids[0])
        metrics_timer_fired(timers_metric_label(r->kind));
    pthread_mutex_lock(&r->mu);
    r->inflight = false;
    r->last_status = m->status;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    fq_msg_free(m);
}

/* Hands w (taken) for timer t to the core and waits until it is done. */
static bool hand_over(struct reports *r, const struct fq_timer *t, struct sched_work *w)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_TIMER);
    int64_t *ids = m ? malloc(sizeof *ids) : NULL;
    if (!ids) {
        fq_msg_free(m);
        work_free(w);
        return false;
    }
    ids[0] = t->id;
    m->ids = ids;
    m->n_ids = 1;
    m->work = w;
    m->work_free = work_free;
    m->done = on_done;
    m->done_arg = r;
    r->kind = t->kind;
    pthread_mutex_lock(&r->mu);
    r->inflight = true;
    r->last_status = 0;
    pthread_mutex_unlock(&r->mu);
    if (core_push(r->core, m) != FQ_OK) {
        pthread_mutex_lock(&r->mu);
        r->inflight = false;
        pthread_mutex_unlock(&r->mu);
        fq_msg_free(m);
        return false;
    }
    /* wait even when stopping: the core (stopped after us) still owns and finishes m */
    pthread_mutex_lock(&r->mu);
    while (r->inflight)
        pthread_cond_wait(&r->cv, &r->mu);
    int status = r->last_status;
    pthread_mutex_unlock(&r->mu);
    return status == 200;
}

static bool stopping(struct reports *r)
{
    pthread_mutex_lock(&r->mu);
    bool v = r->stopping;
    pthread_mutex_unlock(&r->mu);
    return v;
}

/* Computes timer t and hands its result over. False: it stays due (try again later). */
static bool one(struct reports *r, const struct fq_timer *t)
{
    struct sched_work *w = calloc(1, sizeof *w);
    if (!w)
        return false;
    actions_init(&w->actions);
    struct core_view v;
    core_view_take(r->core, &v);
    struct fq_ctx ctx = {.store = r->store, .cfg = v.cfg, .lex = v.lex, .roster = v.roster,
                         .now = fq_now()};
    const char *kind = fq_timer_kind_name(t->kind);
    log_info("reports: computing kind=%s id=%lld", kind, (long long)t->id);
    int64_t t0 = fq_mono_ms();
    enum fq_err err = v.roster && v.cfg ? store_read_begin(r->store) : FQ_EBUSY;
    if (!err) {
        err = timers_compute(&ctx, t, &w->actions);
        if (!err && w->actions.oom)
            err = FQ_ENOMEM;
        store_read_end(r->store);
    }
    core_view_release(&v);
    if (stopping(r)) {   /* maybe cut short by the cancel flag: never hand that over */
        work_free(w);
        return false;
    }
    if (err && transient(err)) {
        log_warn("reports: not computed kind=%s id=%lld err=\"%s\" db=\"%s\" (retrying)", kind,
                 (long long)t->id, fq_strerror(err), store_errmsg(r->store));
        work_free(w);
        return false;
    }
    if (err) {
        actions_cleanup(&w->actions);
        actions_init(&w->actions);
        w->failed = err;
    }
    log_info("reports: computed kind=%s id=%lld actions=%zu ms=%lld", kind, (long long)t->id,
             w->actions.n, (long long)(fq_mono_ms() - t0));
    if (!hand_over(r, t, w)) {
        log_warn("reports: result not committed kind=%s id=%lld (retrying)", kind,
                 (long long)t->id);
        return false;
    }
    return true;
}

/* Sleeps ms, or until stop. */
static void pause_ms(struct reports *r, int64_t ms)
{
    int64_t until = fq_mono_ms() + ms;
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        int64_t left = until - fq_mono_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        fq_deadline(&ts, CLOCK_MONOTONIC, left);
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
}

static void *reports_main(void *arg)
{
    struct reports *r = arg;
    log_thread_name("fq-reports");
    /* below the core and the HTTP workers: on a machine of two cores a long report must take
     * only the time they leave (Linux: the nice value of this thread alone) */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), REPORTS_NICE) != 0)
        log_debug("reports: nice value not set");
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (!r->stopping && !r->n_todo)
            pthread_cond_wait(&r->cv, &r->mu);
        struct fq_timer *v = r->todo;
        size_t n = r->n_todo;
        bool stop = r->stopping;
        r->todo = NULL;
        r->n_todo = 0;
        pthread_mutex_unlock(&r->mu);
        bool failed = false;
        for (size_t i = 0; i < n; i++) {
            if (!stop && !failed && !(stop = stopping(r)))
                failed = !one(r, &v[i]);
            timer_cleanup(&v[i]);
        }
        free(v);
        if (failed)
            pause_ms(r, RETRY_MS);
        pthread_mutex_lock(&r->mu);
        r->busy = false;
        stop = r->stopping;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        if (r->on_idle)
            r->on_idle(r->on_idle_arg);
    }
    return NULL;
}

bool reports_offer(struct reports *r, struct fq_timer *v, size_t n)
{
    pthread_mutex_lock(&r->mu);
    bool ok = !r->busy && !r->stopping && n > 0;
    if (ok) {
        r->todo = v;
        r->n_todo = n;
        r->busy = true;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

bool reports_busy(struct reports *r)
{
    pthread_mutex_lock(&r->mu);
    bool b = r->busy;
    pthread_mutex_unlock(&r->mu);
    return b;
}

enum fq_err reports_start(const struct fq_config *cfg, struct core *core,
                          void (*on_idle)(void *arg), void *arg, struct reports **out,
                          char **cause)
{
    *out = NULL;
    struct reports *r = calloc(1, sizeof *r);
    if (!r)
        return FQ_ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    r->core = core;
    r->on_idle = on_idle;
    r->on_idle_arg = arg;
    atomic_init(&r->cancel, false);
    enum fq_err err = store_open_readonly(cfg->store_path, &r->store, cause);
    if (err)
        goto fail;
    store_set_cancel(r->store, &r->cancel);
    if (pthread_create(&r->thread, NULL, reports_main, r) != 0) {
        err = FQ_ENOMEM;
        if (cause && !*cause)
            *cause = fq_strdup("cannot start the reports thread");
        goto fail;
    }
    r->started = true;
    *out = r;
    return FQ_OK;
fail:
    store_close(r->store);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
    return err;
}

void reports_stop(struct reports *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    atomic_store(&r->cancel, true);   /* a long read under way ends now; its timer stays due */
    if (r->started)
        pthread_join(r->thread, NULL);
    for (size_t i = 0; i < r->n_todo; i++)
        timer_cleanup(&r->todo[i]);
    free(r->todo);
    store_close(r->store);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

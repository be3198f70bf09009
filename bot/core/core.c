/* core.c: the one core thread, and the only writer of the database.
 *
 * I/O threads push messages onto a queue; the core takes everything queued (up to BATCH_MAX) as
 * one batch, opens ONE transaction, runs each message (a failing message is rolled back alone:
 * see run_batch), commits once, and only then calls each message's done() to answer.
 * With synchronous=FULL that is one fsync per batch instead of one per message: under load the
 * batch grows by itself, so durability gets cheaper exactly when it matters (group commit).
 *
 * Inbound idempotence lives here too: a chat message_id (scope chat:<channel>:<user>) seen
 * before returns the stored answer without running any handler. */
#include "bot/core/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot/chan/chan.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/classify.h"
#include "handlers/danger.h"
#include "handlers/dispatch.h"
#include "handlers/i18n.h"
#include "handlers/mediator.h"
#include "handlers/roster.h"
#include "handlers/timers.h"
#include "store/outbox_table.h"
#include "store/roster_table.h"
#include "store/retention.h"
#include "store/store.h"
#include "bot/chan/chat/chat_msg.h"
#include "bot/sys/log.h"
#include "bot/sys/notify.h"
#include "bot/sys/metrics.h"
#include "bot/render/payload.h"
#include "bot/web/stats_api.h"
#include "bot/core/sched.h"

/* data/model/danger.model, compiled in (scripts/embed-model.sh, build/gen/danger_model.c) */
extern const char fq_danger_model[];
extern const size_t fq_danger_model_len;
/* data/model/category.model, compiled in the same way (build/gen/category_model.c) */
extern const char fq_category_model[];
extern const size_t fq_category_model_len;

#define BATCH_MAX 512
#define QUEUE_MAX 20000

struct core {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fq_msg *head, *tail;
    size_t depth;
    bool stopping, started, ready;

    /* WAL checkpoints run on a thread of their own, so the fsync of the database file never
     * lands inside a group commit (it showed as tens of ms of p99 at half load) */
    pthread_t ckpt_thread;
    pthread_cond_t ckpt_cv;          /* its own: a push must always wake the core, not this */
    struct store *ckpt_store;
    bool ckpt_started;

    struct store *store;
    const struct fq_config *cfg;
    const struct fq_lexicon *lex;
    struct fq_roster *roster;
    struct danger_screen *danger;    /* the danger model built in (handlers/danger.h) */
    struct classify_model *catm;     /* the category model built in (handlers/classify.h) */

    void (*on_commit)(void *arg);
    void *on_commit_arg;

    char *roster_gen;          /* generation of c->roster (kv roster_gen), NULL: never imported */
    int64_t roster_checked;    /* monotonic ms of the last check */
    /* roster and roster_gen as lent to other threads (core_view_take); replaced under mu */
    struct core_hold *held;
};

/* A roster and its generation, freed when the last of the core and its borrowers lets go. */
struct core_hold {
    atomic_int refs;
    struct fq_roster *roster;
    char *gen;
};

static void hold_release(struct core_hold *h)
{
    if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
        roster_free(h->roster);
        free(h->gen);
        free(h);
    }
}

/* Makes r (taken) with generation gen (taken) the core's roster, on the core thread; a reader
 * holding the previous one keeps it until it lets go. */
static enum fq_err install_roster(struct core *c, struct fq_roster *r, char *gen)
{
    struct core_hold *h = calloc(1, sizeof *h);
    if (!h) {
        roster_free(r);
        free(gen);
        return FQ_ENOMEM;
    }
    atomic_init(&h->refs, 1);
    h->roster = r;
    h->gen = gen;
    pthread_mutex_lock(&c->mu);
    struct core_hold *old = c->held;
    c->held = h;
    pthread_mutex_unlock(&c->mu);
    c->roster = r;
    c->roster_gen = gen;
    hold_release(old);
    return FQ_OK;
}

void core_view_take(struct core *c, struct core_view *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    struct core_hold *h = c->held;
    if (h)
        atomic_fetch_add(&h->refs, 1);
    out->lex = c->lex;
    out->cfg = c->cfg;
    pthread_mutex_unlock(&c->mu);
    out->hold = h;
    out->roster = h ? h->roster : NULL;
    out->roster_gen = h ? h->gen : NULL;
}

void core_view_release(struct core_view *v)
{
    if (!v)
        return;
    hold_release(v->hold);
    memset(v, 0, sizeof *v);
}

/* Picks up a roster imported by another process (fengqiao roster import) within a second. */
static void roster_refresh(struct core *c)
{
    int64_t now = fq_mono_ms();
    if (now - c->roster_checked < 1000)
        return;
    c->roster_checked = now;
    char *gen = roster_generation(c->store);
    if (fq_streq(gen, c->roster_gen)) {
        free(gen);
        return;
    }
    struct fq_roster *r = NULL;
    if (store_roster_load(c->store, &r) != FQ_OK) {
        log_warn("roster reload failed db=\"%s\"", store_errmsg(c->store));
        free(gen);
        return;
    }
    classify_roster_prepare(r, c->catm);
    size_t n_org = r->n_org, n_med = r->n_med;
    if (install_roster(c, r, gen) != FQ_OK) {
        log_warn("roster reload failed: out of memory");
        return;
    }
    log_info("roster reloaded org=%zu mediators=%zu", n_org, n_med);
}

enum fq_err core_push(struct core *c, struct fq_msg *m)
{
    pthread_mutex_lock(&c->mu);
    if (c->stopping) {
        pthread_mutex_unlock(&c->mu);
        return FQ_ESHUTDOWN;
    }
    if (c->depth >= QUEUE_MAX && m->kind != FQ_MSG_DELIVERED) {
        pthread_mutex_unlock(&c->mu);
        return FQ_ELIMIT;
    }
    m->next = NULL;
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->depth++;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return FQ_OK;
}

size_t core_queue_depth(struct core *c)
{
    pthread_mutex_lock(&c->mu);
    size_t d = c->depth;
    pthread_mutex_unlock(&c->mu);
    return d;
}

bool core_ready(struct core *c)
{
    pthread_mutex_lock(&c->mu);
    bool r = c->ready && !c->stopping;
    pthread_mutex_unlock(&c->mu);
    return r;
}

void core_set_config(struct core *c, const struct fq_config *cfg, const struct fq_lexicon *lex)
{
    pthread_mutex_lock(&c->mu);
    c->cfg = cfg;
    c->lex = lex;
    pthread_mutex_unlock(&c->mu);
}

void core_on_commit(struct core *c, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&c->mu);
    c->on_commit = fn;
    c->on_commit_arg = arg;
    pthread_mutex_unlock(&c->mu);
}

static void set_answer(struct fq_msg *m, int status, char *json)
{
    free(m->answer);
    m->status = status;
    m->answer = json;
}

static void set_error(struct fq_msg *m, int status, const char *code, const char *text)
{
    set_answer(m, status, chat_error_json(code, text));
}

static char *scope_of(const struct fq_msg *m)
{
    struct fq_buf b;
    buf_init(&b);
    chan_scope(m, &b);   /* the channel's, or chat:<channel>:<user> / cmd:<mediator> */
    return buf_take(&b);
}

/* One chat message or mediator command, inside its savepoint. The dedupe key (message_id,
 * request_id) is looked up first: a repeat gets the first answer and changes nothing. */
static enum fq_err run_inbound(struct core *c, struct fq_ctx *ctx, struct fq_msg *m,
                               struct payload_stats *st)
{
    const char *key = m->kind == FQ_MSG_COMMAND ? m->request_id : m->message_id;
    char *scope = scope_of(m);
    if (!scope)
        return FQ_ENOMEM;
    int status = 0;
    char *stored = NULL;
    enum fq_err err = key ? store_inbox_get(c->store, scope, key, &status, &stored)
                          : FQ_ENOTFOUND;
    if (err == FQ_OK) {                       /* a retry: the first answer, no new effect */
        set_answer(m, status, stored);
        free(scope);
        return FQ_OK;
    }
    if (err != FQ_ENOTFOUND) {
        free(scope);
        return err;
    }
    struct fq_actions a;
    actions_init(&a);
    const struct fq_chan *ch = m->chan;
    err = ch && ch->prepare ? ch->prepare(ctx, m) : FQ_OK;
    if (!err)
        err = m->kind == FQ_MSG_COMMAND ? mediator_on_command(ctx, m, &a)
                                        : handle_chat(ctx, m, &a);
    if (!err && a.oom)
        err = FQ_ENOMEM;
    if (!err && m->kind == FQ_MSG_CHAT && ch && ch->answer_pushed && a.answer.status == 200)
        actions_outbound(&a);                 /* the channel pushes the answer too */
    if (!err)
        err = payload_emit(ctx, c->cfg->mqtt_prefix, m, &a, st);
    char *json = NULL;
    if (!err) {
        json = a.answer.status == 200
                   ? chat_answer_json(&a)
                   : chat_error_json(a.answer.error ? a.answer.error : "bad_request",
                                     a.answer.n_replies ? a.answer.replies[0] : NULL);
        if (!json)
            err = FQ_ENOMEM;
    }
    if (!err && key)
        err = store_inbox_put(c->store, scope, key, a.answer.status, json, ctx->now);
    if (!err)
        set_answer(m, a.answer.status, json);
    else
        free(json);
    actions_cleanup(&a);
    free(scope);
    return err;
}

static enum fq_err run_roster(struct fq_ctx *ctx, struct fq_msg *m)
{
    struct fq_actions a;
    actions_init(&a);
    enum fq_err err = roster_import(ctx, m->roster, &a);
    if (!err && a.answer.status == 200) {
        /* absence and digests under the new roster, in the same transaction (handlers/timers.c) */
        struct fq_ctx nc = *ctx;
        nc.roster = m->roster;
        err = timers_housekeep(&nc, &a);
        if (!err && a.oom)
            err = FQ_ENOMEM;
        if (!err)
            err = payload_emit(&nc, ctx->cfg->mqtt_prefix, NULL, &a, NULL);
    }
    if (!err) {
        if (a.answer.status != 200) {
            set_error(m, a.answer.status, a.answer.error ? a.answer.error : "invalid_roster",
                      a.answer.n_replies ? a.answer.replies[0] : NULL);
        } else {
            struct fq_buf b;
            buf_init(&b);
            struct fq_jobj o = jobj_begin(&b);
            jobj_str(&o, "status", "ok");
            jobj_int(&o, "org", (long long)m->roster->n_org);
            jobj_int(&o, "mediators", (long long)m->roster->n_med);
            jobj_int(&o, "routes", (long long)m->roster->n_routes);
            jobj_end(&o);
            set_answer(m, 200, buf_take(&b));
        }
    }
    actions_cleanup(&a);
    return err;
}

/* Retention: removes what is past its keep time, a piece of each table; the counts go back in
 * m->ids (one slot per table). */
static enum fq_err run_prune(struct fq_ctx *ctx, struct fq_msg *m)
{
    if (m->n_ids != PRUNE__COUNT)
        return FQ_EINVAL;
    const struct store_keep k = {.keep = {
        [PRUNE_INBOX] = ctx->cfg->retention_inbox,
        [PRUNE_OUTBOX] = ctx->cfg->retention_outbox,
        [PRUNE_TIMERS] = ctx->cfg->retention_timers,
    }};
    enum fq_err err = store_prune(ctx->store, &k, ctx->now, CORE_PRUNE_LIMIT, m->ids);
    if (!err)
        m->status = 200;
    return err;
}

/* A 督办 note (bot/web/stats_api.c): the event and the pushes to the mediator, or a refusal. */
static enum fq_err run_supervise(struct fq_ctx *ctx, struct fq_msg *m, struct payload_stats *st)
{
    struct fq_actions a;
    actions_init(&a);
    enum fq_err err = web_supervise_run(ctx, m, &a);
    if (!err && a.oom)
        err = FQ_ENOMEM;
    if (!err && m->status == 200)
        err = payload_emit(ctx, ctx->cfg->mqtt_prefix, NULL, &a, st);
    actions_cleanup(&a);
    return err;
}

/* Runs one message; a failure leaves the savepoint for the caller to roll back. */
static enum fq_err run_one(struct core *c, struct fq_ctx *ctx, struct fq_msg *m,
                           struct payload_stats *st)
{
    switch (m->kind) {
    case FQ_MSG_CHAT:
    case FQ_MSG_COMMAND:
        return run_inbound(c, ctx, m, st);
    case FQ_MSG_ROSTER:
        return run_roster(ctx, m);
    case FQ_MSG_DELIVERED:
        m->status = 200;
        return store_outbox_done(c->store, m->ids, m->n_ids, ctx->now);
    case FQ_MSG_TIMER:   /* due timers, or housekeeping without ids (bot/core/sched.c) */
        return sched_run(ctx, ctx->cfg->mqtt_prefix, m);
    case FQ_MSG_PRUNE:
        return run_prune(ctx, m);
    case FQ_MSG_APPLY:
        if (!m->apply)
            return FQ_EINVAL;
        m->status = 200;
        return m->apply(ctx, m);
    case FQ_MSG_SUPERVISE:
        return run_supervise(ctx, m, st);
    }
    return FQ_EINVAL;
}

static void finish(struct fq_msg *m)
{
    if (m->done)
        m->done(m, m->done_arg);
    else
        fq_msg_free(m);
}

struct slot {
    struct fq_msg *m;
    struct payload_stats st;
    bool ok;
};

static void run_batch(struct core *c, struct fq_msg *list)
{
    static struct slot slots[BATCH_MAX];   /* only the core thread touches it */
    size_t n = 0;
    for (struct fq_msg *m = list; m; m = m->next)
        slots[n++] = (struct slot){.m = m};
    for (size_t i = 0; i < n; i++)
        slots[i].m->next = NULL;

    pthread_mutex_lock(&c->mu);
    const struct fq_config *cfg = c->cfg;
    const struct fq_lexicon *lex = c->lex;
    pthread_mutex_unlock(&c->mu);
    /* a housekeeping message (the scheduler saw a new roster generation) must see that roster */
    for (size_t i = 0; i < n; i++)
        if (slots[i].m->kind == FQ_MSG_TIMER && slots[i].m->n_ids == 0)
            c->roster_checked = 0;
    roster_refresh(c);

    struct fq_ctx ctx = {.store = c->store, .cfg = cfg, .lex = lex, .roster = c->roster,
                         .danger = c->danger, .catm = c->catm,
                         .now = fq_now()};
    /* A savepoint per message lets one failed message be undone alone, but it costs every
     * message a statement pair and a copy of each page it touches. Messages fail rarely, so a
     * batch of chat messages, commands and delivery marks (which can run twice with the same
     * outcome) first runs without them; if one fails, the batch is rolled back and run again
     * with them. Timer batches always use them: sched_run notes in the message what fired. */
    bool careful = false;
    for (size_t i = 0; i < n && !careful; i++)
        careful = slots[i].m->kind == FQ_MSG_TIMER || slots[i].m->kind == FQ_MSG_ROSTER;
    enum fq_err err;
again:
    err = store_begin(c->store);
    if (!err) {
        for (size_t i = 0; i < n; i++) {
            struct slot *s = &slots[i];
            if (careful && store_savepoint(c->store)) {
                err = FQ_ESTORE;
                break;
            }
            enum fq_err e = run_one(c, &ctx, s->m, &s->st);
            if (e && !careful) {
                store_rollback(c->store);
                for (size_t k = 0; k < n; k++)
                    slots[k] = (struct slot){.m = slots[k].m};
                careful = true;
                goto again;
            }
            if (e) {
                log_warn("message failed kind=%d err=\"%s\" db=\"%s\"", (int)s->m->kind,
                         fq_strerror(e), store_errmsg(c->store));
                store_rollback_to(c->store);
                store_release(c->store);
                set_error(s->m, 503, "unavailable", "the store could not take the message");
                s->st.created = 0;
                continue;
            }
            if (careful)
                store_release(c->store);
            s->ok = true;
        }
        if (!err)
            err = store_commit(c->store);
        if (err)
            store_rollback(c->store);
    }
    if (err) {
        log_error("batch not committed n=%zu err=\"%s\" db=\"%s\"", n, fq_strerror(err),
                  store_errmsg(c->store));
        for (size_t i = 0; i < n; i++) {
            set_error(slots[i].m, 503, "unavailable", "the store could not commit");
            slots[i].ok = false;
        }
    }
    metrics_batch(n);
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        for (size_t k = 0; s->ok && k < s->st.created; k++)
            metrics_case_created(s->st.category[k], s->st.severity[k]);
        if (s->ok && s->m->kind == FQ_MSG_ROSTER && s->m->status == 200) {
            /* the committed roster becomes the one routing uses */
            classify_roster_prepare(s->m->roster, c->catm);
            if (install_roster(c, s->m->roster, roster_generation(c->store)) != FQ_OK)
                log_warn("roster not installed: out of memory");
            s->m->roster = NULL;
        }
    }
    if (!err) {
        pthread_mutex_lock(&c->mu);
        void (*fn)(void *) = c->on_commit;
        void *arg = c->on_commit_arg;
        pthread_mutex_unlock(&c->mu);
        if (fn)
            fn(arg);
    }
    for (size_t i = 0; i < n; i++)
        finish(slots[i].m);
}

static void *core_main(void *arg)
{
    struct core *c = arg;
    log_thread_name("fq-core");
    /* systemd's watchdog (WatchdogSec=): the keep-alive comes from this loop, so it stops when
     * the one writer is stuck; the loop wakes at least every half interval to send it */
    int64_t wd_ms = notify_watchdog_ms() / 2, wd_last = 0;
    for (;;) {
        if (wd_ms > 0 && fq_mono_ms() - wd_last >= wd_ms) {
            notify_watchdog();
            wd_last = fq_mono_ms();
        }
        pthread_mutex_lock(&c->mu);
        while (!c->head && !c->stopping) {
            if (wd_ms <= 0) {
                pthread_cond_wait(&c->cv, &c->mu);
                continue;
            }
            int64_t left = wd_last + wd_ms - fq_mono_ms();
            if (left <= 0)
                break;
            struct timespec ts;
            fq_deadline(&ts, CLOCK_REALTIME, left);
            pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        }
        if (!c->head && !c->stopping) {
            pthread_mutex_unlock(&c->mu);
            continue;   /* woken for the watchdog */
        }
        if (!c->head && c->stopping) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        /* take up to BATCH_MAX; a roster import runs in a batch of its own */
        struct fq_msg *list = c->head, *last = c->head;
        size_t n = 1;
        if (list->kind != FQ_MSG_ROSTER)
            while (last->next && n < BATCH_MAX && last->next->kind != FQ_MSG_ROSTER) {
                last = last->next;
                n++;
            }
        c->head = last->next;
        if (!c->head)
            c->tail = NULL;
        last->next = NULL;
        c->depth -= n;
        pthread_mutex_unlock(&c->mu);
        run_batch(c, list);
    }
    return NULL;
}

#define CKPT_INTERVAL_MS 200

/* Checkpoints the WAL (PASSIVE: never waits for the writer or readers) every CKPT_INTERVAL_MS
 * while the core runs. */
static void *ckpt_main(void *arg)
{
    struct core *c = arg;
    log_thread_name("fq-checkpoint");
    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        struct timespec ts;
        fq_deadline(&ts, CLOCK_REALTIME, CKPT_INTERVAL_MS);
        pthread_cond_timedwait(&c->ckpt_cv, &c->mu, &ts);
        if (c->stopping)
            break;
        pthread_mutex_unlock(&c->mu);
        if (store_checkpoint(c->ckpt_store, NULL) != FQ_OK)
            log_warn("wal checkpoint failed db=\"%s\"", store_errmsg(c->ckpt_store));
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

enum fq_err core_start(const struct fq_config *cfg, const struct fq_lexicon *lex,
                       struct core **out, char **cause)
{
    *out = NULL;
    struct core *c = calloc(1, sizeof *c);
    if (!c)
        return FQ_ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_cond_init(&c->ckpt_cv, NULL);
    c->cfg = cfg;
    c->lex = lex;
    enum fq_err err = store_open(cfg->store_path, &c->store, cause);
    if (err)
        goto fail;
    char *gen = roster_generation(c->store);
    c->roster_checked = fq_mono_ms();
    struct fq_roster *r = NULL;
    if ((err = store_roster_load(c->store, &r))) {
        free(gen);
        if (cause && !*cause)
            *cause = fq_strdup("cannot load the roster from the database");
        goto fail;
    }
    /* the category model's keys are added below, once the model is open */
    if ((err = install_roster(c, r, gen)))
        goto fail;
    char why[256];
    if (!(c->danger = danger_screen_open(fq_danger_model, fq_danger_model_len, why, sizeof why)) ||
        !(c->catm = classify_model_open(fq_category_model, fq_category_model_len, why,
                                        sizeof why))) {
        if (cause && !*cause)
            *cause = fq_strdup(why);
        err = FQ_EINVAL;
        goto fail;
    }
    classify_roster_prepare(c->roster, c->catm);
    /* the checkpointer's own connection; without it the core keeps SQLite's automatic one */
    if (store_open(cfg->store_path, &c->ckpt_store, NULL) == FQ_OK &&
        pthread_create(&c->ckpt_thread, NULL, ckpt_main, c) == 0) {
        c->ckpt_started = true;
        store_set_autocheckpoint(c->store, 0);
    }
    c->ready = true;
    if (pthread_create(&c->thread, NULL, core_main, c) != 0) {
        err = FQ_ENOMEM;
        goto fail;
    }
    c->started = true;
    *out = c;
    return FQ_OK;
fail:
    if (c->ckpt_started) {
        pthread_mutex_lock(&c->mu);
        c->stopping = true;
        pthread_cond_broadcast(&c->ckpt_cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->ckpt_thread, NULL);
    }
    store_close(c->ckpt_store);
    pthread_cond_destroy(&c->ckpt_cv);
    hold_release(c->held);
    danger_screen_close(c->danger);
    classify_model_close(c->catm);
    store_close(c->store);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
    return err;
}

void core_stop(struct core *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_broadcast(&c->cv);
    pthread_cond_broadcast(&c->ckpt_cv);
    pthread_mutex_unlock(&c->mu);
    if (c->started)
        pthread_join(c->thread, NULL);
    if (c->ckpt_started)
        pthread_join(c->ckpt_thread, NULL);
    store_close(c->ckpt_store);
    hold_release(c->held);
    danger_screen_close(c->danger);
    classify_model_close(c->catm);
    store_close(c->store);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    pthread_cond_destroy(&c->ckpt_cv);
    free(c);
}

/* relay.c: the MQTT side of the transactional outbox (docs/ARCHITECTURE.md 5.2). The core writes a
 * row in the same transaction as the state change it reports; this thread publishes committed rows
 * in id order at QoS 1 and reports the ones the broker acknowledged (PUBACK), so the core can mark
 * them delivered. A broker outage delays rows, never loses them, and never blocks intake.
 *
 * Design:
 * - One dispatcher thread with its own read connection. It keeps a cursor, the highest row id
 *   handed to libmosquitto, and asks the store only for rows above it, so while the process
 *   lives a row is handed over once. Ids are AUTOINCREMENT (store/outbox_table.c), so a cursor never
 *   skips a later row.
 * - A window of OUTBOX_WINDOW rows handed over and not yet acknowledged: a ring of (mid, id) in
 *   hand-over order. The PUBACK hook (MQTT thread) marks the slot, queues the id for reporting
 *   and frees slots from the head. mqtt_publish is called under the same mutex as the ring is
 *   updated, so a PUBACK can never arrive for a mid not yet recorded.
 * - Rows go to libmosquitto only while connected. What was handed over before a disconnect
 *   stays in libmosquitto's queue (persistent session) and is resent by libmosquitto itself, in
 *   order, right after the next CONNACK (verified in the 2.0.11 source, see bot/net/mqtt.c, and by
 *   tests/unit/test_outbox.c). The connect hook runs before that resend, so after a reconnect
 *   the dispatcher holds new rows back until every older row is acknowledged: otherwise a new
 *   event could overtake a resent older one of the same case.
 * - At least once: a row is reported only after its PUBACK; whatever was not acknowledged when
 *   the process stops is still undelivered in the store and goes out again, same event_id, from
 *   the lowest id on the next start. Consumers deduplicate on event_id.
 * - A row libmosquitto can never publish (invalid topic or UTF-8, oversize) would block every
 *   later row forever; it is logged, counted in fq_deliveries_failed_total and reported as done
 *   so the queue moves on. Transient failures (out of memory) are retried on the next round.
 * - Depth and age of the queue go to metrics_outbox once a second.
 * - Limitation: a message the broker never acknowledges (MQTT 3.1.1 gives no way to refuse one)
 *   keeps its slot until the next reconnect or restart resends it. */
#include "bot/core/relay.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "bot/sys/log.h"
#include "bot/sys/metrics.h"
#include "bot/net/mqtt.h"
#include "common/config_model.h"
#include "store/outbox_table.h"
#include "common/fq.h"

#define POLL_MS 1000        /* poll the store at least this often */
#define STATS_MS 1000       /* refresh the depth/age gauges this often */
#define STOP_FLUSH_MS 1000  /* outbox_stop keeps delivering this long */

struct slot {
    int mid;
    int64_t id;
    bool acked;
};

struct outbox {
    struct mqtt *mq;
    outbox_delivered_fn delivered;
    void *arg;
    struct store *store;         /* the dispatcher's own connection */

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;          /* guards everything below */
    pthread_cond_t cv;
    bool kicked, stopping;
    int64_t stop_deadline;       /* fq_mono_ms */
    bool connected;
    bool hold;                   /* reconnected: wait for older rows' PUBACKs before new ones */

    int64_t cursor;              /* highest id handed to libmosquitto; dispatcher thread only */
    struct slot ring[OUTBOX_WINDOW];
    size_t head, count;          /* occupied slots, in hand-over order */
    size_t unacked;

    int64_t *done;               /* acknowledged ids not yet reported */
    size_t n_done, cap_done;

    /* one fetch round, dispatcher thread only */
    size_t round_seen;
    bool round_stalled;
};

/* ---- hooks from the MQTT thread -------------------------------------------------------------- */
/* Queues an acknowledged (or dropped) id for reporting. Caller holds ob->mu. */
static void queue_done(struct outbox *ob, int64_t id)
{
    if (ob->n_done == ob->cap_done) {
        size_t ncap = ob->cap_done ? ob->cap_done * 2 : 64;
        int64_t *nd = realloc(ob->done, ncap * sizeof *nd);
        if (!nd) {   /* not reported: the row stays pending and goes out again on restart */
            log_error("outbox out of memory; row id=%lld stays pending", (long long)id);
            return;
        }
        ob->done = nd;
        ob->cap_done = ncap;
    }
    ob->done[ob->n_done++] = id;
}

static void on_published(int mid, void *arg)
{
    struct outbox *ob = arg;
    pthread_mutex_lock(&ob->mu);
    for (size_t i = 0; i < ob->count; i++) {
        struct slot *s = &ob->ring[(ob->head + i) % OUTBOX_WINDOW];
        if (!s->acked && s->mid == mid) {
            s->acked = true;
            ob->unacked--;
            queue_done(ob, s->id);
            metrics_delivered("mqtt");
            break;
        }
    }
    while (ob->count && ob->ring[ob->head].acked) {
        ob->head = (ob->head + 1) % OUTBOX_WINDOW;
        ob->count--;
    }
    if (ob->hold && ob->unacked == 0) {
        ob->hold = false;
        ob->kicked = true;
    }
    pthread_cond_signal(&ob->cv);
    pthread_mutex_unlock(&ob->mu);
}

static void on_state(bool up, void *arg)
{
    struct outbox *ob = arg;
    pthread_mutex_lock(&ob->mu);
    ob->connected = up;
    if (up) {
        ob->hold = ob->unacked > 0;
        ob->kicked = true;
        if (ob->hold)
            log_info("outbox waiting for resent rows in_flight=%zu", ob->unacked);
    }
    pthread_cond_signal(&ob->cv);
    pthread_mutex_unlock(&ob->mu);
}

/* ---- publishing ------------------------------------------------------------------------------ */
/* store_outbox_pending callback: hands one row to libmosquitto, in id order. Once one row cannot
 * go (disconnected, transient error), the rest of the round is skipped so order is kept. */
static void publish_row(const struct fq_outbox_row *r, void *arg)
{
    struct outbox *ob = arg;
    ob->round_seen++;
    if (ob->round_stalled)
        return;
    pthread_mutex_lock(&ob->mu);
    if (!ob->connected || ob->hold || ob->count == OUTBOX_WINDOW) {
        ob->round_stalled = true;
        pthread_mutex_unlock(&ob->mu);
        return;
    }
    int mid = 0;
    enum fq_err err = mqtt_publish(ob->mq, r->topic, r->payload, strlen(r->payload), r->retain,
                                   &mid);
    if (err == FQ_OK) {
        struct slot *s = &ob->ring[(ob->head + ob->count) % OUTBOX_WINDOW];
        s->mid = mid;
        s->id = r->id;
        s->acked = false;
        ob->count++;
        ob->unacked++;
        ob->cursor = r->id;
    } else if (err == FQ_EINVAL) {
        /* never publishable: drop it rather than block every later row */
        log_error("outbox row dropped id=%lld reason=\"not publishable\"", (long long)r->id);
        metrics_delivery_failed("mqtt");
        queue_done(ob, r->id);
        ob->cursor = r->id;
    } else {
        log_warn("outbox publish failed id=%lld err=\"%s\"; retrying", (long long)r->id,
                 fq_strerror(err));
        metrics_delivery_failed("mqtt");
        ob->round_stalled = true;
    }
    pthread_mutex_unlock(&ob->mu);
}

/* Reports ids (ownership moves) to the callback, or marks them done in the store. */
static void report(struct outbox *ob, int64_t *ids, size_t n)
{
    if (ob->delivered) {
        ob->delivered(ids, n, ob->arg);
        return;
    }
    enum fq_err err = store_outbox_done(ob->store, ids, n, fq_now());
    if (err)   /* the rows stay pending: sent again on the next start, same event_id */
        log_error("outbox cannot mark rows done n=%zu err=\"%s\"", n, fq_strerror(err));
    free(ids);
}

static void refresh_stats(struct outbox *ob)
{
    int64_t depth = 0, oldest = 0;
    if (store_outbox_stats(ob->store, &depth, &oldest) == FQ_OK)
        metrics_outbox(depth, oldest ? fq_now() - oldest : 0);
}

static void *dispatch_main(void *arg)
{
    struct outbox *ob = arg;
    log_thread_name("fq-outbox");
    int64_t last_poll = 0, last_stats = 0;
    bool more = true;   /* the store may hold rows we have not seen: poll at once */

    pthread_mutex_lock(&ob->mu);
    for (;;) {
        if (ob->n_done) {
            int64_t *ids = ob->done;
            size_t n = ob->n_done;
            ob->done = NULL;
            ob->n_done = ob->cap_done = 0;
            pthread_mutex_unlock(&ob->mu);
            report(ob, ids, n);
            pthread_mutex_lock(&ob->mu);
            continue;
        }
        int64_t now = fq_mono_ms();
        if (ob->stopping && (!ob->connected || now >= ob->stop_deadline ||
                             (ob->count == 0 && !more)))
            break;

        bool can_send = ob->connected && !ob->hold && ob->count < OUTBOX_WINDOW;
        if (can_send && (ob->kicked || more || now - last_poll >= POLL_MS)) {
            ob->kicked = false;
            size_t room = OUTBOX_WINDOW - ob->count;
            pthread_mutex_unlock(&ob->mu);
            ob->round_seen = 0;
            ob->round_stalled = false;
            enum fq_err err = store_outbox_pending(ob->store, "mqtt", ob->cursor, room,
                                                   publish_row, ob);
            if (err)
                log_warn("outbox cannot read pending rows err=\"%s\"", fq_strerror(err));
            last_poll = fq_mono_ms();
            /* a full round may have left rows behind; a stalled one waits for an event */
            more = !err && ob->round_seen == room && !ob->round_stalled;
            pthread_mutex_lock(&ob->mu);
            continue;
        }
        if (now - last_stats >= STATS_MS) {
            pthread_mutex_unlock(&ob->mu);
            refresh_stats(ob);
            last_stats = fq_mono_ms();
            pthread_mutex_lock(&ob->mu);
            continue;
        }
        int64_t wait = STATS_MS - (now - last_stats);
        if (can_send && wait > POLL_MS - (now - last_poll))
            wait = POLL_MS - (now - last_poll);
        if (ob->stopping && wait > ob->stop_deadline - now)
            wait = ob->stop_deadline - now;
        if (wait < 1)
            wait = 1;
        /* Nothing to do now (everything actionable was checked above under the same lock, so
         * no signal is lost); every change of state signals the condition. */
        struct timespec ts;
        fq_deadline(&ts, CLOCK_MONOTONIC, wait);
        pthread_cond_timedwait(&ob->cv, &ob->mu, &ts);
    }
    pthread_mutex_unlock(&ob->mu);
    return NULL;
}

/* ---- public ---------------------------------------------------------------------------------- */
static void outbox_free(struct outbox *ob)
{
    if (!ob)
        return;
    store_close(ob->store);
    free(ob->done);
    pthread_cond_destroy(&ob->cv);
    pthread_mutex_destroy(&ob->mu);
    free(ob);
}

enum fq_err outbox_start(const struct fq_config *cfg, struct mqtt *mq, outbox_delivered_fn delivered,
                         void *arg, struct outbox **out, char **cause)
{
    *out = NULL;
    if (cause)
        *cause = NULL;
    if (!cfg || !mq || !cfg->store_path) {
        if (cause)
            *cause = strdup("outbox: no MQTT connection or store path");
        return FQ_EINVAL;
    }
    struct outbox *ob = calloc(1, sizeof *ob);
    if (!ob) {
        if (cause)
            *cause = strdup("outbox: out of memory");
        return FQ_ENOMEM;
    }
    ob->mq = mq;
    ob->delivered = delivered;
    ob->arg = arg;
    pthread_mutex_init(&ob->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ob->cv, &ca);
    pthread_condattr_destroy(&ca);

    enum fq_err err = store_open(cfg->store_path, &ob->store, cause);
    if (err)
        goto out;
    /* Hooks first, then the connection state: a connect in between is seen by on_state. */
    mqtt_set_hooks(mq, on_published, on_state, ob);
    pthread_mutex_lock(&ob->mu);
    ob->connected = mqtt_connected(mq);
    pthread_mutex_unlock(&ob->mu);
    if (pthread_create(&ob->thread, NULL, dispatch_main, ob) != 0) {
        mqtt_set_hooks(mq, NULL, NULL, NULL);
        if (cause)
            *cause = strdup("outbox: cannot start the dispatcher thread");
        err = FQ_ENOMEM;
        goto out;
    }
    ob->thread_started = true;
    *out = ob;
    ob = NULL;
out:
    outbox_free(ob);
    return err;
}

void outbox_kick(struct outbox *ob)
{
    if (!ob)
        return;
    pthread_mutex_lock(&ob->mu);
    ob->kicked = true;
    pthread_cond_signal(&ob->cv);
    pthread_mutex_unlock(&ob->mu);
}

void outbox_on_commit(void *ob) { outbox_kick(ob); }

void outbox_stop(struct outbox *ob)
{
    if (!ob)
        return;
    pthread_mutex_lock(&ob->mu);
    ob->stopping = true;
    ob->stop_deadline = fq_mono_ms() + STOP_FLUSH_MS;
    pthread_cond_signal(&ob->cv);
    pthread_mutex_unlock(&ob->mu);
    if (ob->thread_started)
        pthread_join(ob->thread, NULL);
    /* No hook runs after this returns; then report what was acknowledged meanwhile. */
    mqtt_set_hooks(ob->mq, NULL, NULL, NULL);
    if (ob->n_done) {
        report(ob, ob->done, ob->n_done);
        ob->done = NULL;
        ob->n_done = ob->cap_done = 0;
    }
    if (ob->unacked)
        log_info("outbox stopped with rows in flight n=%zu; they go out again on restart",
                 ob->unacked);
    refresh_stats(ob);
    outbox_free(ob);
}

/* test_outbox.c: bot/core/relay.c with a real SQLite file (store_open in a temporary directory) and
 * a real mosquitto (tests/unit/helpers/broker.c): rows go out in id order with their payloads
 * and retain flags; a broker crash with rows in flight and rows added meanwhile loses nothing and
 * keeps the order; a restarted dispatcher publishes unacknowledged rows again with the same
 * event_id; the delivered callback gets exactly the acknowledged ids. */
#include <criterion/criterion.h>

#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bot/sys/metrics.h"
#include "bot/net/mqtt.h"
#include "bot/core/relay.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "store/outbox_table.h"
#include "common/fq.h"
#include "store/store.h"
#include "tests/unit/helpers/broker.h"

#define PREFIX "fq/ob"

static struct broker br;
static struct fq_config *cfg;
static char tmpdir[128];
static struct store *writer;    /* plays the core: adds rows */
static struct mqtt *mq;
static struct outbox *ob;
static struct broker_sub *sub;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = v ? strdup(v) : NULL;
}

static void setup(void)
{
    memset(&br, 0, sizeof br);
    cr_assert_eq(broker_start(&br), 0, "mosquitto starts");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fq-outbox-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    cfg = config_new_defaults();
    cr_assert_not_null(cfg);
    char path[256];
    snprintf(path, sizeof path, "%s/fq.db", tmpdir);
    set_str(&cfg->store_path, path);
    set_str(&cfg->mqtt_host, "127.0.0.1");
    cfg->mqtt_port = br.port;
    set_str(&cfg->mqtt_client_id, "fq-outbox-test");
    set_str(&cfg->mqtt_prefix, PREFIX);
    char *cause = NULL;
    cr_assert_eq(store_open(cfg->store_path, &writer, &cause), FQ_OK, "%s", cause ? cause : "");
    sub = broker_sub_new(br.port, NULL, PREFIX "/events/#");
    cr_assert_not_null(sub);
    mq = NULL;
    ob = NULL;
}

static void teardown(void)
{
    outbox_stop(ob);
    mqtt_free(mq);
    broker_sub_free(sub);
    store_close(writer);
    config_free(cfg);
    nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    broker_cleanup(&br);
}

static void start_mqtt(void)
{
    struct mqtt_opts o = {.cfg = cfg};
    char *cause = NULL;
    cr_assert_eq(mqtt_start(&o, &mq, &cause), FQ_OK, "%s", cause ? cause : "");
    for (int i = 0; i < 500 && !mqtt_connected(mq); i++)
        usleep(10 * 1000);
    cr_assert(mqtt_connected(mq));
}

static void start_outbox(outbox_delivered_fn fn, void *arg)
{
    char *cause = NULL;
    cr_assert_eq(outbox_start(cfg, mq, fn, arg, &ob, &cause), FQ_OK, "%s", cause ? cause : "");
}

/* Adds rows first..last in one transaction, as the core does: topic per case (5 cases), the
 * payload carries the sequence number and the event_id. */
static void add_rows(int first, int last)
{
    cr_assert_eq(store_begin(writer), FQ_OK);
    for (int i = first; i <= last; i++) {
        char topic[128], payload[256], ev[64], case_no[32];
        snprintf(case_no, sizeof case_no, "FQ20261122-%04d", i % 5 + 1);
        snprintf(topic, sizeof topic, PREFIX "/events/cases/%s", case_no);
        snprintf(ev, sizeof ev, "ev-%d", i);
        snprintf(payload, sizeof payload,
                 "{\"type\":\"progress\",\"case\":{\"case_no\":\"%s\"},\"seq\":%d,"
                 "\"at\":\"2026-11-22T08:00:00Z\",\"event_id\":\"%s\"}",
                 case_no, i, ev);
        int64_t id = 0;
        cr_assert_eq(store_outbox_add(writer, "mqtt", topic, payload, false, ev, case_no,
                                      fq_now(), &id), FQ_OK);
        cr_assert_gt(id, 0);
    }
    cr_assert_eq(store_commit(writer), FQ_OK);
    outbox_kick(ob);
}

static int msg_seq(const struct broker_msg *m, char *ev, size_t evsize)
{
    json_error_t e;
    json_t *o = json_loads(m->payload, 0, &e);
    cr_assert_not_null(o, "payload is the row's JSON: %s", m->payload);
    int seq = (int)json_integer_value(json_object_get(o, "seq"));
    const char *id = json_string_value(json_object_get(o, "event_id"));
    cr_assert_not_null(id);
    snprintf(ev, evsize, "%s", id);
    json_decref(o);
    return seq;
}

/* Checks what the subscriber got: every row first..last, first arrivals in order, duplicates only
 * as exact copies (same payload, so the same event_id) of a row already seen. Returns how many
 * duplicates there were. */
static size_t check_stream(int first, int last, int timeout_ms)
{
    int want = last - first + 1;
    int64_t until = fq_mono_ms() + timeout_ms;
    int next = first;
    size_t i = 0, dups = 0;
    while (next <= last && fq_mono_ms() < until) {
        if (broker_sub_wait(sub, i + 1, 200) <= i)
            continue;
        const struct broker_msg *m = broker_sub_get(sub, i++);
        char ev[64], want_ev[64];
        int seq = msg_seq(m, ev, sizeof ev);
        snprintf(want_ev, sizeof want_ev, "ev-%d", seq);
        cr_assert_str_eq(ev, want_ev, "event_id matches the row");
        char topic[128];
        snprintf(topic, sizeof topic, PREFIX "/events/cases/FQ20261122-%04d", seq % 5 + 1);
        cr_assert_str_eq(m->topic, topic);
        if (seq < next) {
            dups++;   /* a redelivery of a row already seen: allowed, same event_id */
            continue;
        }
        cr_assert_eq(seq, next, "rows arrive in order: got %d, expected %d", seq, next);
        next++;
    }
    cr_assert_eq(next, last + 1, "all %d rows arrived (stopped before %d)", want, next);
    return dups;
}

static int64_t depth(void)
{
    int64_t d = -1, oldest = 0;
    cr_assert_eq(store_outbox_stats(writer, &d, &oldest), FQ_OK);
    return d;
}

static bool wait_depth_zero(int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        if (depth() == 0)
            return true;
        usleep(20 * 1000);
    }
    return depth() == 0;
}

/* Restarts the broker and subscribes a fresh observer before the daemon's client is back (its
 * first reconnect comes 1 s after the loss), so the observer misses nothing the daemon sends. */
static void resubscribe_after_restart(void)
{
    broker_sub_free(sub);
    sub = NULL;
    cr_assert_eq(broker_restart(&br), 0);
    sub = broker_sub_new(br.port, NULL, PREFIX "/events/#");
    cr_assert_not_null(sub);
    /* the daemon's first reconnect comes 1 s after the loss; subscribing takes milliseconds */
    cr_assert(!mqtt_connected(mq), "the daemon reconnected before the observer was subscribed");
}

TestSuite(outbox, .init = setup, .fini = teardown, .timeout = 30);

Test(outbox, publishes_rows_in_order_with_payloads_then_marks_them_done)
{
    start_mqtt();
    add_rows(1, 300);   /* before the dispatcher: it starts from the lowest undelivered id */
    start_outbox(NULL, NULL);
    add_rows(301, 1200);   /* more than the window */
    cr_assert_eq(check_stream(1, 1200, 15000), 0, "no duplicates without a failure");
    cr_assert(wait_depth_zero(3000), "self-contained mode marks the rows done");
    usleep(1200 * 1000);
    char *t = metrics_render();
    cr_assert_not_null(strstr(t, "\nfq_outbox_depth 0\n"), "the gauge follows the store");
    free(t);
}

Test(outbox, retain_flag_is_kept)
{
    start_mqtt();
    start_outbox(NULL, NULL);
    cr_assert_eq(store_outbox_add(writer, "mqtt", PREFIX "/reports/town-fq/monthly",
                                  "{\"month\":\"2026-10\"}", true, "rep-1", NULL, fq_now(), NULL),
                 FQ_OK);
    outbox_kick(ob);
    cr_assert(wait_depth_zero(5000));
    struct broker_sub *late = broker_sub_new(br.port, NULL, PREFIX "/reports/#");
    cr_assert_not_null(late);
    cr_assert_eq(broker_sub_wait(late, 1, 3000), 1);
    cr_assert(broker_sub_get(late, 0)->retain);
    cr_assert_str_eq(broker_sub_get(late, 0)->payload, "{\"month\":\"2026-10\"}");
    broker_sub_free(late);
}

Test(outbox, broker_crash_with_rows_in_flight_loses_nothing)
{
    start_mqtt();
    start_outbox(NULL, NULL);
    add_rows(1, 50);
    check_stream(1, 50, 5000);
    cr_assert(wait_depth_zero(3000));

    /* Freeze the broker: rows handed to libmosquitto now stay unacknowledged (in flight). */
    broker_pause(&br);
    add_rows(51, 700);
    usleep(500 * 1000);
    cr_assert_eq(depth(), 650, "nothing acknowledged while the broker is frozen");
    broker_kill(&br);                /* crash: the connection drops, nothing was acked */
    add_rows(701, 800);              /* rows committed while the broker is down */
    usleep(200 * 1000);
    cr_assert_not(mqtt_connected(mq));
    cr_assert_eq(metrics_mqtt_is_connected(), 0);
    resubscribe_after_restart();

    check_stream(51, 800, 20000);
    cr_assert(wait_depth_zero(5000), "every row acknowledged after the reconnect");
}

Test(outbox, rows_added_while_the_broker_is_down_go_out_when_it_is_back)
{
    broker_stop(&br);   /* the daemon starts with the broker down */
    struct mqtt_opts o = {.cfg = cfg};
    char *cause = NULL;
    cr_assert_eq(mqtt_start(&o, &mq, &cause), FQ_OK);
    start_outbox(NULL, NULL);
    add_rows(1, 100);
    usleep(300 * 1000);
    cr_assert_eq(depth(), 100);
    resubscribe_after_restart();
    check_stream(1, 100, 10000);
    cr_assert(wait_depth_zero(3000));
}

/* delivered callback: records ids, does not mark them (as if the core had not yet) */
static pthread_mutex_t dmu = PTHREAD_MUTEX_INITIALIZER;
static int64_t dids[4096];
static size_t n_dids;

static void on_delivered(int64_t *ids, size_t n, void *arg)
{
    cr_assert_eq(arg, &br);
    cr_assert_gt(n, 0);
    pthread_mutex_lock(&dmu);
    for (size_t i = 0; i < n && n_dids < 4096; i++)
        dids[n_dids++] = ids[i];
    pthread_mutex_unlock(&dmu);
    free(ids);
}

static size_t delivered_count(void)
{
    pthread_mutex_lock(&dmu);
    size_t n = n_dids;
    pthread_mutex_unlock(&dmu);
    return n;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

Test(outbox, restarted_dispatcher_publishes_unacknowledged_rows_again)
{
    start_mqtt();
    n_dids = 0;
    start_outbox(on_delivered, &br);
    add_rows(1, 40);
    check_stream(1, 40, 5000);
    for (int i = 0; i < 200 && delivered_count() < 40; i++)
        usleep(10 * 1000);
    cr_assert_eq(delivered_count(), 40, "every PUBACK reported");
    pthread_mutex_lock(&dmu);
    qsort(dids, n_dids, sizeof dids[0], cmp64);
    for (size_t i = 1; i < n_dids; i++)
        cr_assert_neq(dids[i], dids[i - 1], "each id reported once");
    pthread_mutex_unlock(&dmu);
    cr_assert_eq(depth(), 40, "the callback owns marking; nothing marked yet");

    /* the core marks the first 10 (as FQ_MSG_DELIVERED would), then the daemon restarts */
    cr_assert_eq(store_outbox_done(writer, dids, 10, fq_now()), FQ_OK);
    outbox_stop(ob);
    ob = NULL;
    mqtt_free(mq);
    mq = NULL;
    size_t before = broker_sub_count(sub);
    start_mqtt();
    start_outbox(NULL, NULL);
    cr_assert(wait_depth_zero(5000));
    cr_assert_eq(broker_sub_wait(sub, before + 30, 3000), before + 30);
    usleep(200 * 1000);
    cr_assert_eq(broker_sub_count(sub), before + 30, "only the 30 unmarked rows go out again");
    for (size_t i = 0; i < 30; i++) {
        char ev[64], want[64];
        int seq = msg_seq(broker_sub_get(sub, before + i), ev, sizeof ev);
        cr_assert_eq(seq, 11 + (int)i, "again in order from the lowest undelivered id");
        snprintf(want, sizeof want, "ev-%d", seq);
        cr_assert_str_eq(ev, want, "same event_id as the first time");
    }
}

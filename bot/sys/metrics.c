/* metrics.c: process-wide counters for GET /metrics (docs/contract.md 3.3), rendered as
 * Prometheus text.
 *
 * Design: every label comes from a small fixed table (endpoints, a dozen HTTP codes, channel
 * kinds, categories, severities, timer kinds), so each metric is a plain array of C11 atomics
 * indexed by label position. Writers (HTTP workers, the core, the outbox, the MQTT loop) only do
 * relaxed atomic adds: no lock, no allocation, nothing that can fail. A value outside a table is
 * counted under "other" rather than dropped. Counters whose label space is a product (requests by
 * endpoint and status, cases by category and severity) are rendered only once non-zero, to keep
 * the page short; the rest are always rendered. */
#include "bot/sys/metrics.h"
#include "bot/version.h"
#include "common/fq.h"
#include "common/status.h"
#include "handlers/timers.h"
#include "store/retention.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- label tables ---------------------------------------------------------------------------- */
static const char *const ep_names[EP__COUNT] = {
    [EP_CHAT] = "chat",
    [EP_WECOM] = "wecom",
    [EP_HEALTHZ] = "healthz",
    [EP_READYZ] = "readyz",
    [EP_METRICS] = "metrics",
    [EP_ADMIN_CASES] = "admin_cases",
    [EP_ADMIN_CASE] = "admin_case",
    [EP_ADMIN_REPORT] = "admin_report",
    [EP_ADMIN_ROSTER] = "admin_roster",
    [EP_ADMIN_STATS] = "admin_stats",
    [EP_ADMIN_SUPERVISION] = "admin_supervision",
    [EP_ADMIN_SUPERVISE] = "admin_supervise",
    [EP_WEB] = "web",
    [EP_OTHER] = "other",
};

static const int status_codes[] = {200, 400, 401, 403, 404, 405, 413, 415, 429, 500, 503};
#define N_STATUS (sizeof status_codes / sizeof status_codes[0] + 1)   /* + "other" */

static const char *const in_channels[] = {"chat", "mqtt", "wecom", "other"};
#define N_IN_CH (sizeof in_channels / sizeof in_channels[0])

static const char *const out_channels[] = {"mqtt", "wecom", "other"};
#define N_OUT_CH (sizeof out_channels / sizeof out_channels[0])

/* The kind labels of fq_timers_fired_total: each metric label of the timer kinds table
 * (timers_kinds, handlers/timers.c) once, in table order, then "other" (anything else). */
#define N_TIMER_MAX (FQ_TIMER__COUNT + 1)
static const char *timer_kinds[N_TIMER_MAX];
static size_t n_timer;
static pthread_once_t timer_once = PTHREAD_ONCE_INIT;

static void timer_labels(void)
{
    for (int k = 0; k < FQ_TIMER__COUNT; k++) {
        const char *m = timers_kinds[k].metric;
        bool seen = !m || strcmp(m, "other") == 0;
        for (size_t i = 0; i < n_timer && !seen; i++)
            seen = strcmp(timer_kinds[i], m) == 0;
        if (!seen)
            timer_kinds[n_timer++] = m;
    }
    timer_kinds[n_timer++] = "other";
}

static const char *const sev_labels[3] = {"blue", "yellow", "red"};

/* fq_table_rows{table}: the order of table_names is the order of table_rows */
static const char *const table_names[] = {"inbox", "outbox", "outbox_pending", "timers",
                                          "timers_pending", "cases", "case_events", "surveys",
                                          "conversations_open"};
#define N_TABLES (sizeof table_names / sizeof table_names[0])

/* ---- the counters ---------------------------------------------------------------------------- */
static atomic_uint_least64_t requests[EP__COUNT][N_STATUS];
static atomic_uint_least64_t messages_in[N_IN_CH];
static atomic_uint_least64_t cases_created[FQ_N_CATEGORIES][3];
static atomic_uint_least64_t deliveries[N_OUT_CH];
static atomic_uint_least64_t deliveries_failed[N_OUT_CH];
static atomic_uint_least64_t timers_fired[N_TIMER_MAX];
static atomic_int mqtt_up;
static atomic_int_least64_t outbox_depth;
static atomic_int_least64_t outbox_oldest_age;
static atomic_uint_least64_t batches;
static atomic_uint_least64_t batch_messages;
static atomic_long wecom_failing_code;
static atomic_uint_least64_t wecom_kf_blocked;
static atomic_uint_least64_t pruned[PRUNE__COUNT];
static atomic_int_least64_t table_rows[N_TABLES];
static atomic_int_least64_t db_bytes;
static atomic_int sizes_known;            /* 0 until the first retention round */

/* Index of s in names, or the last index ("other") when absent. */
static size_t label_index(const char *const *names, size_t n, const char *s)
{
    if (s)
        for (size_t i = 0; i + 1 < n; i++)
            if (strcmp(names[i], s) == 0)
                return i;
    return n - 1;
}

static size_t status_index(int status)
{
    for (size_t i = 0; i + 1 < N_STATUS; i++)
        if (status_codes[i] == status)
            return i;
    return N_STATUS - 1;
}

static void add1(atomic_uint_least64_t *c) { atomic_fetch_add_explicit(c, 1, memory_order_relaxed); }
static uint64_t get(atomic_uint_least64_t *c) { return atomic_load_explicit(c, memory_order_relaxed); }

/* ---- writers --------------------------------------------------------------------------------- */
void metrics_request(enum metrics_endpoint ep, int status)
{
    if ((int)ep < 0 || ep >= EP__COUNT)
        ep = EP_OTHER;
    add1(&requests[ep][status_index(status)]);
}

void metrics_message_in(const char *channel_kind)
{
    add1(&messages_in[label_index(in_channels, N_IN_CH, channel_kind)]);
}

void metrics_case_created(const char *category, int severity)
{
    int c = fq_category_index(category);
    if (c < 0)
        c = fq_category_index("other");
    if (severity < 0 || severity > 2)
        severity = 0;
    add1(&cases_created[c][severity]);
}

void metrics_delivery_failed(const char *channel)
{
    add1(&deliveries_failed[label_index(out_channels, N_OUT_CH, channel)]);
}

void metrics_delivered(const char *channel)
{
    add1(&deliveries[label_index(out_channels, N_OUT_CH, channel)]);
}

void metrics_timer_fired(const char *kind)
{
    pthread_once(&timer_once, timer_labels);
    add1(&timers_fired[label_index(timer_kinds, n_timer, kind)]);
}

void metrics_mqtt_connected(int up) { atomic_store(&mqtt_up, up ? 1 : 0); }
int metrics_mqtt_is_connected(void) { return atomic_load(&mqtt_up); }

void metrics_outbox(int64_t depth, int64_t oldest_age_s)
{
    atomic_store(&outbox_depth, depth < 0 ? 0 : depth);
    atomic_store(&outbox_oldest_age, oldest_age_s < 0 ? 0 : oldest_age_s);
}

void metrics_batch(size_t n_msgs)
{
    add1(&batches);
    atomic_fetch_add_explicit(&batch_messages, (uint64_t)n_msgs, memory_order_relaxed);
}

void metrics_wecom_failing(long errcode) { atomic_store(&wecom_failing_code, errcode); }
long metrics_wecom_failing_code(void) { return atomic_load(&wecom_failing_code); }
void metrics_wecom_kf_blocked(void) { add1(&wecom_kf_blocked); }

void metrics_pruned(const char *table, int64_t n)
{
    if (n > 0)
        atomic_fetch_add_explicit(&pruned[label_index(store_prunable_names, PRUNE__COUNT, table)],
                                  (uint64_t)n, memory_order_relaxed);
}

void metrics_table_sizes(const struct store_sizes *z)
{
    const int64_t v[N_TABLES] = {z->inbox, z->outbox, z->outbox_pending, z->timers,
                                 z->timers_pending, z->cases, z->case_events, z->surveys,
                                 z->conversations_open};
    for (size_t i = 0; i < N_TABLES; i++)
        atomic_store(&table_rows[i], v[i]);
    atomic_store(&db_bytes, z->db_bytes);
    atomic_store(&sizes_known, 1);
}

/* ---- rendering ------------------------------------------------------------------------------- */
static void head(struct fq_buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void by_label(struct fq_buf *b, const char *name, const char *label,
                     const char *const *names, atomic_uint_least64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, names[i], (unsigned long long)get(&v[i]));
}

char *metrics_render(void)
{
    struct fq_buf b;
    buf_init(&b);

    head(&b, "fengqiao_build_info", "gauge",
         "Always 1; the labels name the version and git commit of the running binary.");
    buf_printf(&b, "fengqiao_build_info{version=\"%s\",commit=\"%s\"} 1\n", fq_version,
               fq_commit[0] ? fq_commit : "unknown");

    head(&b, "fq_http_requests_total", "counter", "HTTP requests by endpoint and status code.");
    for (size_t e = 0; e < EP__COUNT; e++)
        for (size_t s = 0; s < N_STATUS; s++) {
            uint64_t v = get(&requests[e][s]);
            if (!v)
                continue;
            if (s + 1 < N_STATUS)
                buf_printf(&b, "fq_http_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                           ep_names[e], status_codes[s], (unsigned long long)v);
            else
                buf_printf(&b, "fq_http_requests_total{endpoint=\"%s\",status=\"other\"} %llu\n",
                           ep_names[e], (unsigned long long)v);
        }

    head(&b, "fq_messages_in_total", "counter", "Inbound messages by channel.");
    by_label(&b, "fq_messages_in_total", "channel", in_channels, messages_in, N_IN_CH);

    head(&b, "fq_cases_created_total", "counter", "Cases created by category and severity.");
    for (size_t c = 0; c < FQ_N_CATEGORIES; c++)
        for (size_t s = 0; s < 3; s++) {
            uint64_t v = get(&cases_created[c][s]);
            if (v)
                buf_printf(&b, "fq_cases_created_total{category=\"%s\",severity=\"%s\"} %llu\n",
                           fq_categories[c], sev_labels[s], (unsigned long long)v);
        }

    head(&b, "fq_outbox_depth", "gauge", "Outbox rows not yet delivered.");
    buf_printf(&b, "fq_outbox_depth %lld\n", (long long)atomic_load(&outbox_depth));
    head(&b, "fq_outbox_oldest_age_seconds", "gauge", "Age of the oldest undelivered outbox row.");
    buf_printf(&b, "fq_outbox_oldest_age_seconds %lld\n", (long long)atomic_load(&outbox_oldest_age));

    head(&b, "fq_deliveries_total", "counter", "Outbox rows delivered by channel.");
    by_label(&b, "fq_deliveries_total", "channel", out_channels, deliveries, N_OUT_CH);
    head(&b, "fq_deliveries_failed_total", "counter", "Failed delivery attempts by channel.");
    by_label(&b, "fq_deliveries_failed_total", "channel", out_channels, deliveries_failed, N_OUT_CH);

    head(&b, "fq_timers_fired_total", "counter", "Timers fired by kind.");
    pthread_once(&timer_once, timer_labels);
    by_label(&b, "fq_timers_fired_total", "kind", timer_kinds, timers_fired, n_timer);

    head(&b, "fq_mqtt_connected", "gauge", "1 while connected to the MQTT broker.");
    buf_printf(&b, "fq_mqtt_connected %d\n", atomic_load(&mqtt_up));

    head(&b, "fq_wecom_failing", "gauge",
         "1 while a WeCom configuration error holds deliveries (see fq_wecom_failing_errcode).");
    long wf = atomic_load(&wecom_failing_code);
    buf_printf(&b, "fq_wecom_failing %d\n", wf != 0);
    head(&b, "fq_wecom_failing_errcode", "gauge", "The WeCom errcode of that error, 0 when ok.");
    buf_printf(&b, "fq_wecom_failing_errcode %ld\n", wf);
    head(&b, "fq_wecom_kf_blocked_total", "counter",
         "Customer-service messages not sent because the 48 h / 5-message window was closed.");
    buf_printf(&b, "fq_wecom_kf_blocked_total %llu\n", (unsigned long long)get(&wecom_kf_blocked));

    head(&b, "fq_pruned_rows_total", "counter",
         "Operational rows removed after their keep time (retention.*), by table.");
    by_label(&b, "fq_pruned_rows_total", "table", store_prunable_names, pruned, PRUNE__COUNT);
    if (atomic_load(&sizes_known)) {
        head(&b, "fq_table_rows", "gauge",
             "Rows by table, read after each retention round (cases, case_events and surveys "
             "as their largest id: they are never removed).");
        for (size_t i = 0; i < N_TABLES; i++)
            buf_printf(&b, "fq_table_rows{table=\"%s\"} %lld\n", table_names[i],
                       (long long)atomic_load(&table_rows[i]));
        head(&b, "fq_db_bytes", "gauge", "Size of the database file (page_count * page_size).");
        buf_printf(&b, "fq_db_bytes %lld\n", (long long)atomic_load(&db_bytes));
    }

    head(&b, "fq_batches_total", "counter", "Group commits of the core.");
    buf_printf(&b, "fq_batches_total %llu\n", (unsigned long long)get(&batches));
    head(&b, "fq_batch_messages_total", "counter", "Messages handled in group commits.");
    buf_printf(&b, "fq_batch_messages_total %llu\n", (unsigned long long)get(&batch_messages));

    return buf_take(&b);   /* NULL on oom */
}

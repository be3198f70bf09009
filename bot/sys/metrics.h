/* metrics.h: process-wide counters for /metrics (Prometheus text). Lock-free atomics; labels are
 * from small fixed sets so the counters are plain arrays. */
#ifndef FQ_METRICS_H
#define FQ_METRICS_H

#include <stdint.h>

#include "common/fq.h"

enum metrics_endpoint {
    EP_CHAT = 0, EP_WECOM, EP_HEALTHZ, EP_READYZ, EP_METRICS, EP_ADMIN_CASES, EP_ADMIN_CASE,
    EP_ADMIN_REPORT, EP_ADMIN_ROSTER, EP_ADMIN_STATS, EP_ADMIN_SUPERVISION, EP_ADMIN_SUPERVISE,
    EP_WEB, EP_OTHER, EP__COUNT
};

void metrics_request(enum metrics_endpoint ep, int status);
void metrics_message_in(const char *channel_kind);     /* "chat" "mqtt" "wecom" */
void metrics_case_created(const char *category, int severity);
void metrics_delivery_failed(const char *channel);     /* "mqtt" "wecom" */
void metrics_delivered(const char *channel);
void metrics_timer_fired(const char *kind);            /* reminder escalation overdue survey ... */
void metrics_mqtt_connected(int up);                   /* 1 connected, 0 not */
int metrics_mqtt_is_connected(void);
void metrics_outbox(int64_t depth, int64_t oldest_age_s);
void metrics_batch(size_t n_msgs);                      /* one group commit of n messages */

/* WeCom: a configuration error (60020, 40056, 48002, 95xxx, ...) that holds WeCom
 * deliveries sets the failing state with its errcode; 0 clears it (a later call succeeded).
 * /readyz shows "wecom": "failing" while it is set. */
void metrics_wecom_failing(long errcode);
long metrics_wecom_failing_code(void);                /* 0 when ok */
void metrics_wecom_kf_blocked(void);                  /* a kf message not sent: window closed */

/* Retention (store/retention.h): rows removed from a table ("inbox" "outbox" "timers"), and the
 * sizes read after each round (fq_table_rows, fq_db_bytes). */
struct store_sizes;
void metrics_pruned(const char *table, int64_t n);
void metrics_table_sizes(const struct store_sizes *z);

/* Renders every metric in Prometheus text format. Caller frees. */
char *metrics_render(void);

#endif

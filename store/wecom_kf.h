/* wecom_kf.h: the customer-service window of the WeCom channel (store/wecom_kf.c, migration
 * 0002). */
#ifndef FQ_WECOM_KF_H
#define FQ_WECOM_KF_H

#include "common/fq.h"
#include "store/stmt.h"

struct store;

/* WeCom lets a customer-service (微信客服) account send at most 5 messages within 48 h of the
 * customer's last message (docs/wecom.md 7.6). The core records each customer message and each
 * message it queues, in the same transaction as the rest of the message's effects. */
#define WECOM_KF_WINDOW_S (48 * 3600)
#define WECOM_KF_MAX_SENT 5
/* True when a message to external_userid sent at `now` would be inside the window: the customer
 * wrote within 48 h and fewer than 5 messages were queued since. False for an unknown user or on
 * a store error. For handlers (survey fallback to the grid worker, docs/contract.md 8.1). */
bool wecom_kf_can_reach(struct store *s, const char *external_userid, int64_t now);
/* A customer message at `at`: opens a fresh window (sent count 0, block reason cleared). */
enum fq_err store_wecom_kf_inbound(struct store *s, const char *external_userid, int64_t at);
/* One message queued for the user: sent count + 1. */
enum fq_err store_wecom_kf_sent(struct store *s, const char *external_userid);
/* Records why a message was not sent (reason: "window_48h", "count_5", "unknown_user", or the
 * WeCom errcode as text). */
enum fq_err store_wecom_kf_blocked(struct store *s, const char *external_userid,
                                   const char *reason, int64_t at);
struct wecom_kf_state {
    int64_t last_in, blocked_at;
    int sent_since;
    char blocked_reason[32];         /* "" when none */
};
/* FQ_ENOTFOUND when the user never wrote. */
enum fq_err store_wecom_kf_get(struct store *s, const char *external_userid,
                               struct wecom_kf_state *out);

#endif

/* wecom_deliver.h: the WeCom side of the transactional outbox (outbox rows with channel "wecom"),
 * the 微信客服 message puller (kf/sync_msg), and the payloads the core writes for WeCom.
 * See bot/chan/wecom/wecom_deliver.c and bot/chan/wecom/wecom_render.c. */
#ifndef FQ_WECOM_DELIVER_H
#define FQ_WECOM_DELIVER_H

#include "common/config_model.h"
#include "common/fq.h"
#include "bot/core/relay.h"

struct wecom_out;
struct core;

/* Starts the WeCom delivery thread (only meaningful when cfg->wecom_enabled). It opens its own
 * store connection, builds the API client from cfg (wecom.api_base, corp_id, secret, kf_secret),
 * delivers pending "wecom" rows in id order per recipient, and pulls 微信客服 messages when a
 * doorbell rings (wecom_out_bell), pushing them into core. Delivered (or given-up) rows are
 * reported through delivered (ids ownership moves, as for outbox_start). cfg is read during the
 * call only; core is borrowed and must outlive the thread. The instance also becomes the
 * process-wide target of wecom_out_bell. Errors: FQ_ECONFIG (api_base not allowed), store
 * errors, FQ_ENOMEM; *cause (caller frees) says what. Stop with wecom_out_stop. */
enum fq_err wecom_out_start(const struct fq_config *cfg, struct core *core,
                            outbox_delivered_fn delivered, void *arg, struct wecom_out **out,
                            char **cause);
/* New rows were committed. Thread-safe, NULL-safe, never blocks for long. */
void wecom_out_kick(struct wecom_out *w);
/* Stops the thread (aborting an API call in flight), reports what was delivered, closes the
 * store connection. Undelivered rows stay in the store. NULL-safe. */
void wecom_out_stop(struct wecom_out *w);

/* A kf_msg_or_event arrived (HTTP thread): remember the token (copied) and wake the puller.
 * Doorbells that ring while a pull runs are coalesced into one more pull. Returns false when no
 * WeCom thread runs (the caller answers 503 so WeCom retries). */
bool wecom_out_bell(const char *token, const char *open_kfid);

/* Tuning for tests, read from the environment at start (milliseconds): FQ_WECOM_BACKOFF_MS
 * (first retry delay, default 1000, doubled per attempt, with jitter), FQ_WECOM_MAX_BACKOFF_MS
 * (cap, 300000), FQ_WECOM_RATE_BACKOFF_MS (least delay after 45009, 60000),
 * FQ_WECOM_PROBE_MS (how long a configuration error holds deliveries, 300000),
 * FQ_WECOM_TIMEOUT_MS (whole API request, 10000). */

#endif

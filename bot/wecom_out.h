/* wecom_out.h: the WeCom side of the transactional outbox (outbox rows with channel "wecom"),
 * the 微信客服 message puller (kf/sync_msg), and the payloads the core writes for WeCom.
 * See bot/wecom_out.c and bot/wecom_payload.c. */
#ifndef FQ_WECOM_OUT_H
#define FQ_WECOM_OUT_H

#include "../common/config.h"
#include "../common/fq.h"
#include "../handlers/handlers.h"
#include "outbox.h"

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

/* ---- the core's side (bot/wecom_payload.c), inside its transaction ------------------------- */
/* Before the handlers run on a WeCom message m (after the dedupe check): a card click names the
 * member by WeCom userid, mapped here to the roster id in m->mediator (left as is when the
 * member is not a mediator: the handler refuses); a 微信客服 message opens the customer's
 * 48 h / 5-message window (store_wecom_kf_inbound). Store errors are returned. */
enum fq_err wecom_inbound_prepare(struct fq_ctx *c, struct fq_msg *m);

/* ---- payloads (bot/wecom_payload.c), called by bot/payload.c inside the core's transaction -- */
/* An answer for a WeCom user (the sender of a WeCom message, or a user a handler addresses,
 * e.g. a survey): channel "wecom" -> message/send text to user; channel "wecom_kf" -> kf/send_msg (text, or msgmenu when the options fit) when the
 * 48 h / 5-message window is open, else nothing is queued and the reason is recorded
 * (log, metric fq_wecom_kf_blocked_total, store_wecom_kf_blocked). */
enum fq_err wecom_payload_answer(struct fq_ctx *c, const char *channel, const char *user,
                                 const struct fq_answer *an);
/* The outcome of a card click (FQ_MSG_COMMAND from WeCom): the reply text to the mediator and,
 * when the click carried a ResponseCode (m->response_code), update_template_card greying the buttons. */
enum fq_err wecom_payload_med_reply(struct fq_ctx *c, const struct fq_msg *m,
                                    const struct fq_action *x);
/* An assignment ("assigned") to a mediator with a wecom_userid: a template_card of type
 * button_interaction (接单 / 上报) with case number, category, severity colour, place and masked
 * phone. Other assignment actions and mediators without wecom_userid: nothing. k: the case. */
enum fq_err wecom_payload_assign(struct fq_ctx *c, const struct fq_action *x,
                                 const struct fq_case *k);
/* A notice (reminder, 督办, digest) to the mediator x->target: message/send text x->text. */
enum fq_err wecom_payload_notify(struct fq_ctx *c, const struct fq_action *x,
                                 const struct fq_case *k);

#endif

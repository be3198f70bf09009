/* wecom_render.h: the outbox rows the core writes for WeCom, inside its transaction
 * (bot/chan/wecom/wecom_render.c). */
#ifndef FQ_WECOM_RENDER_H
#define FQ_WECOM_RENDER_H

#include "common/fq.h"
#include "handlers/actions.h"
#include "store/case_table.h"

/* ---- the core's side (bot/chan/wecom/wecom_render.c), inside its transaction ------------------------- */
/* Before the handlers run on a WeCom message m (after the dedupe check): a card click names the
 * member by WeCom userid, mapped here to the roster id in m->mediator (left as is when the
 * member is not a mediator: the handler refuses); a 微信客服 message opens the customer's
 * 48 h / 5-message window (store_wecom_kf_inbound). Store errors are returned. */
enum fq_err wecom_inbound_prepare(struct fq_ctx *c, struct fq_msg *m);

/* ---- payloads (bot/chan/wecom/wecom_render.c), called by bot/render/payload.c inside the core's transaction -- */
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

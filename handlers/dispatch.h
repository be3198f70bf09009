/* dispatch.h: who is talking, and where a chat message goes (handlers/dispatch.c). */
#ifndef FQ_DISPATCH_H
#define FQ_DISPATCH_H

#include "common/fq.h"
#include "handlers/actions.h"
#include "common/roster_model.h"

struct fq_roster;

/*  the roster index of the mediator who sent m, or -1 for a resident (or
 * nobody), decided by the path m came by (m->source, m->kind, m->channel): a chat_user on the
 * signed webhook, a wecom_userid on the WeCom app, the topic's id on {p}/mediators/{id}/commands,
 * an explicit roster "gateways" binding on {p}/inbound/{channel}; never on 微信客服. */
int dispatch_sender(const struct fq_roster *r, const struct fq_msg *m);
/* A chat message (webhook, MQTT inbound, WeCom): a mediator's command when dispatch_sender
 * names a mediator, else the resident's conversation. */
enum fq_err handle_chat(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out);

#endif

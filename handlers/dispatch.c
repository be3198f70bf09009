/* dispatch.c: who is talking. The one place that decides whether a message is a mediator's,
 * from what the path it came by proves (m->ident, set by the channel adapter that made it,
 * bot/chan/), never from a user string alone (README, "Who may speak as whom"):
 *
 * - FQ_IDENT_CHAT_USER (the signed chat webhook): the front end holds the HMAC key and
 *   authenticates its users, so a `user` equal to a mediator's chat_user is that mediator
 *   (docs/contract.md 3.1.1);
 * - FQ_IDENT_MEMBER (the WeCom app): the sender, signed by WeCom, is a member of the
 *   organisation's directory; a mediator by wecom_userid (docs/contract.md 3.2), for messages
 *   and card clicks alike;
 * - FQ_IDENT_GATEWAY (a chat on `{p}/inbound/{channel}`): the broker's ACL ties a gateway to its
 *   topic, not to a user, so a gateway's users are residents unless the roster binds that
 *   channel and user to a mediator ("gateways");
 * - FQ_IDENT_MEDIATOR (a command on `{p}/mediators/{id}/commands`): the broker's ACL gives each
 *   mediator its own topic, so the id in the topic is the mediator;
 * - FQ_IDENT_NONE (微信客服 customers, internal messages): nobody. */
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/dispatch.h"
#include "handlers/intake.h"
#include "handlers/mediator.h"

int dispatch_sender(const struct fq_roster *r, const struct fq_msg *m)
{
    if (!r || !m)
        return -1;
    if (m->kind == FQ_MSG_COMMAND) {
        switch (m->ident) {
        case FQ_IDENT_MEDIATOR:
            return roster_mediator_index(r, m->mediator);
        case FQ_IDENT_MEMBER:
            return roster_mediator_by_wecom(r, m->user);
        default:
            return -1;
        }
    }
    if (m->kind != FQ_MSG_CHAT)
        return -1;
    switch (m->ident) {
    case FQ_IDENT_CHAT_USER:
        return roster_mediator_by_chat_user(r, m->user);
    case FQ_IDENT_MEMBER:
        return roster_mediator_by_wecom(r, m->user);
    case FQ_IDENT_GATEWAY:
        return roster_mediator_by_gateway(r, m->channel, m->user);
    default:
        return -1;
    }
}

enum fq_err handle_chat(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out)
{
    int med = dispatch_sender(c->roster, m);
    if (med >= 0)
        return mediator_on_chat(c, m, med, out);
    return intake_on_message(c, m, out);
}

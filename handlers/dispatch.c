/* dispatch.c: who is talking. The one place that decides whether a message is a mediator's,
 * from the path it came by, never from a user string alone (README, "Who may speak as whom"):
 *
 * - the signed chat webhook (FQ_SRC_HTTP): the chat front end holds the HMAC key and
 *   authenticates its users, so a `user` equal to a mediator's chat_user is that mediator
 *   (docs/contract.md 3.1.1);
 * - the WeCom app (FQ_SRC_WECOM, channel "wecom"): FromUserName, signed by WeCom, is a member's
 *   userid; a mediator by wecom_userid (docs/contract.md 3.2), for messages and card clicks alike;
 * - 微信客服 (FQ_SRC_WECOM, channel "wecom_kf"): external WeChat users, always residents;
 * - `{p}/inbound/{channel}` (FQ_SRC_MQTT, a chat): the broker's ACL ties a gateway to its topic,
 *   not to a user, so a gateway's users are residents unless the roster binds that channel and
 *   user to a mediator ("gateways");
 * - `{p}/mediators/{id}/commands` (FQ_SRC_MQTT, a command): the broker's ACL gives each mediator
 *   its own topic, so the id in the topic is the mediator.
 * Everything else (internal messages, unknown sources) is nobody. */
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
        switch (m->source) {
        case FQ_SRC_MQTT:
            return roster_mediator_index(r, m->mediator);
        case FQ_SRC_WECOM:
            return fq_streq(m->channel, "wecom") ? roster_mediator_by_wecom(r, m->user) : -1;
        default:
            return -1;
        }
    }
    if (m->kind != FQ_MSG_CHAT)
        return -1;
    switch (m->source) {
    case FQ_SRC_HTTP:
        return roster_mediator_by_chat_user(r, m->user);
    case FQ_SRC_WECOM:
        return fq_streq(m->channel, "wecom") ? roster_mediator_by_wecom(r, m->user) : -1;
    case FQ_SRC_MQTT:
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

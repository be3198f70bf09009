/* dispatch.c: who is talking. A chat user listed as a mediator's chat_user in the roster speaks
 * in mediator commands (CONTRACT 3.1, last paragraph); so does a WeCom app member listed by
 * wecom_userid (CONTRACT 3.2). Everyone else, and every 微信客服 customer, is a resident. */
#include "handlers.h"

enum fq_err handle_chat(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out)
{
    /* on the WeCom app (channel "wecom") a member is a mediator by wecom_userid */
    int med = m->source == FQ_SRC_WECOM
                  ? (fq_streq(m->channel, "wecom") ? roster_mediator_by_wecom(c->roster, m->user)
                                                   : -1)
                  : roster_mediator_by_chat_user(c->roster, m->user);
    if (med >= 0)
        return mediator_on_chat(c, m, med, out);
    return intake_on_message(c, m, out);
}

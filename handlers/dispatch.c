/* dispatch.c: who is talking. A chat user listed as a mediator's chat_user in the roster speaks
 * in mediator commands (CONTRACT 3.1, last paragraph); everyone else is a resident. */
#include "handlers.h"

enum fq_err handle_chat(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out)
{
    int med = roster_mediator_by_chat_user(c->roster, m->user);
    if (med >= 0)
        return mediator_on_chat(c, m, med, out);
    return intake_on_message(c, m, out);
}

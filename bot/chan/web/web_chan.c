/* web_chan.c: the workbench's channel (bot/chan/web/web_chan.h). Its requests arrive through
 * the workbench's own pages (bot/web/web.c verifies the session, the CSRF token and the origin),
 * so it has no verify or parse of its own. The outcome of a command is the answer of the HTTP
 * request that sent it (the page shows it), so nothing is published for it on
 * {p}/mediators/{id}/replies; the command's events, assignments and notices go out as for any
 * channel. */
#include "bot/chan/web/web_chan.h"

static enum fq_err web_reply(struct fq_ctx *c, const struct fq_msg *m, const struct fq_action *x)
{
    (void)c;
    (void)m;
    (void)x;
    return FQ_OK;
}

const struct fq_chan chan_web = {
    .name = "web",
    .reply = web_reply,
};

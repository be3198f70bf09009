/* dispatch.h: who is talking, and where a chat message goes (handlers/dispatch.c). */
#ifndef FQ_DISPATCH_H
#define FQ_DISPATCH_H

#include "common/fq.h"
#include "handlers/actions.h"
#include "common/roster_model.h"

struct fq_roster;

/* The roster index of the mediator who sent m, or -1 for a resident (or nobody), decided by
 * what the path m came by proves (m->kind, m->ident): a chat_user for a signed front end, a
 * wecom_userid for a directory member, the mediator id for a mediator's own path, an explicit
 * roster "gateways" binding for a gateway's user; never for FQ_IDENT_NONE. */
int dispatch_sender(const struct fq_roster *r, const struct fq_msg *m);
/* A chat message (any channel): a mediator's command when dispatch_sender
 * names a mediator, else the resident's conversation. */
enum fq_err handle_chat(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out);

#endif

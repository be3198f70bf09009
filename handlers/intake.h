/* intake.h: the resident's conversation (handlers/intake.c). */
#ifndef FQ_INTAKE_H
#define FQ_INTAKE_H

#include "common/fq.h"
#include "handlers/actions.h"

/*  the resident's conversation (docs/contract.md 6). */
enum fq_err intake_on_message(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out);

#endif

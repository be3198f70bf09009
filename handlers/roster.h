/* roster.h: importing a roster into the store, and its generation (handlers/roster.c). */
#ifndef FQ_ROSTER_H
#define FQ_ROSTER_H

#include "common/fq.h"
#include "handlers/actions.h"
#include "common/roster_model.h"

struct fq_roster;

/* */
enum fq_err roster_import(struct fq_ctx *c, struct fq_roster *r, struct fq_actions *out);
/* Stores a validated roster and bumps its generation, so a running core notices a roster
 * imported by another process (the CLI) and reloads it. Inside the caller's transaction. */
enum fq_err roster_store(struct store *s, const struct fq_roster *r);
/* The stored roster generation (caller frees), NULL when none was ever imported. */
char *roster_generation(struct store *s);

#endif

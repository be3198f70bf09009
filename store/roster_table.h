/* roster_table.h: the stored roster (store/roster_table.c). */
#ifndef FQ_ROSTER_TABLE_H
#define FQ_ROSTER_TABLE_H

#include "common/fq.h"
#include "common/roster_model.h"
#include "store/stmt.h"

struct store;
struct fq_roster;

/* Replaces org nodes, mediators and routes with r (already validated) in the open transaction. */
enum fq_err store_roster_replace(struct store *s, const struct fq_roster *r);
/* Loads the stored roster (empty when none was imported). Caller frees with roster_free. The
 * index fields are resolved (roster_validate is run on it). */
enum fq_err store_roster_load(struct store *s, struct fq_roster **out);

#endif

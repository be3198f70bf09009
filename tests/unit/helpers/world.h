/* world.h: what the handler tests share: a real SQLite store in a temporary directory, the
 * catalogs of locales/, a default configuration, and a roster built by hand on the territory
 * the contract uses (诸暨市 > 枫桥镇 > 枫源村 > 枫源村第一网格). Self-contained (no Criterion):
 * a setup failure prints the reason and aborts, which the test runner reports as a crash. */
#ifndef FQ_WORLD_H
#define FQ_WORLD_H

#include <stdbool.h>

#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"
#include "store/case_table.h"
#include "store/store.h"

struct world {
    char dir[256];
    struct store *st;
    struct fq_config *cfg;
    struct fq_lexicon *lex;
    struct fq_roster *ro;
    struct fq_ctx ctx;
    int residents;      /* residents made up by world_open_case */
};

/* Opens the store, loads the locales and the default configuration, and starts the roster with
 * county-zj, town-fq, vil-fy and grid-fy-01. tag names the temporary directory. */
void world_open(struct world *w, const char *tag);
void world_add_org(struct world *w, const char *id, const char *name, enum fq_level level,
                   const char *parent);
/* Adds a mediator handling one category ("*" for all) whose chat_user is its id; returns its
 * roster index. name NULL: the id. */
int world_add_med(struct world *w, const char *id, const char *name, const char *role,
                  const char *org, const char *category, bool active, bool supervisor);
/* Validates the roster and sets w->ctx (now = the current time). */
void world_ready(struct world *w);
/* Opens a blue neighbour case at grid-fy-01 for a new resident on channel (so the repeat-report
 * rule never raises it) through case_open under ctx (w->ctx, or a test's copy with its own
 * clock); k is filled (caller cleans it). Aborts on failure. */
void world_open_case(struct world *w, struct fq_ctx *ctx, const char *channel, struct fq_case *k);
/* Closes and frees everything and removes the directory. */
void world_close(struct world *w);

#endif

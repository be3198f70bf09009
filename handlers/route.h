/* route.h: who handles a case (handlers/route.c). */
#ifndef FQ_ROUTE_H
#define FQ_ROUTE_H

#include "common/fq.h"
#include "handlers/actions.h"

/* (docs/contract.md 7.1). */
struct fq_route_pick {
    int node;                        /* the handling node (roster index), -1 when none */
    int mediator;                    /* roster index of the chosen mediator, -1 when none */
    bool by_route;                   /* chosen by a category route */
};
/* Picks the handling node and mediator for a case of this category and severity that happened
 * at place (roster index, -1 when unknown: then the first root is used). */
enum fq_err route_pick(struct fq_ctx *c, const char *category, int severity, int place,
                       struct fq_route_pick *out);
/* Load balancing, the one rule route_pick applies too: among the active mediators at org node
 * `node` (roster index) who handle the category, are not full (max_open) and are not `except`
 * (a mediator id, may be NULL), the one with the fewest open cases, then the one assigned least
 * recently, then the first in roster order. *pick: its roster index, or -1 when none. */
enum fq_err route_least_loaded(struct fq_ctx *c, int node, const char *category,
                               const char *except, int *pick);

#endif

/* route.c: who handles a case (docs/contract.md 7.1). 属地管理, 分级负责: the severity
 * picks the tier (blue → grid, yellow → village, red → town); a category route (归口办理) at the
 * tier node or an ancestor wins; a node without an active mediator for the category passes the
 * case up the tree. Among several candidates the one with the fewest open cases wins, then the
 * one assigned least recently, then roster order, so the choice is deterministic. */
#include <string.h>

#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/route.h"
#include "store/case_table.h"

static const enum fq_level tier_of_severity[] = {
    [FQ_SEV_BLUE] = FQ_LEVEL_GRID, [FQ_SEV_YELLOW] = FQ_LEVEL_VILLAGE, [FQ_SEV_RED] = FQ_LEVEL_TOWN,
};

struct best {
    int idx;
    int64_t open, last;
};

/* Considers mediator i as a candidate; skips the inactive and the full. Every choice by load
 * (route_pick's and route_least_loaded's) is made here. */
static enum fq_err consider(struct fq_ctx *c, int i, struct best *b)
{
    const struct fq_mediator *m = &c->roster->med[i];
    if (!m->active)
        return FQ_OK;
    int64_t open = 0, last = 0;
    enum fq_err err = store_mediator_load(c->store, m->id, &open, &last);
    if (err && err != FQ_ENOTFOUND)
        return err;
    if (m->max_open > 0 && open >= m->max_open)
        return FQ_OK;
    if (b->idx < 0 || open < b->open || (open == b->open && last < b->last)) {
        b->idx = i;
        b->open = open;
        b->last = last;
    }
    return FQ_OK;
}

static int first_root(const struct fq_roster *r)
{
    for (size_t i = 0; i < r->n_org; i++)
        if (r->org[i].parent < 0)
            return (int)i;
    return -1;
}

enum fq_err route_pick(struct fq_ctx *c, const char *category, int severity, int place,
                       struct fq_route_pick *out)
{
    const struct fq_roster *r = c->roster;
    out->node = out->mediator = -1;
    out->by_route = false;
    if (place < 0 || (size_t)place >= r->n_org)
        place = first_root(r);
    if (place < 0)
        return FQ_OK;
    if (severity < FQ_SEV_BLUE || severity > FQ_SEV_RED)
        severity = FQ_SEV_BLUE;
    int tier = roster_org_at_level(r, place, tier_of_severity[severity]);
    if (tier < 0)
        tier = place;   /* the place is above the tier (a village named for a blue case) */
    out->node = tier;
    enum fq_err err;

    /* 归口办理: the nearest route for the category on the way up */
    for (int n = tier; n >= 0; n = r->org[n].parent) {
        struct best b = {.idx = -1};
        bool found = false;
        for (size_t k = 0; k < r->n_routes; k++) {
            const struct fq_route *rt = &r->routes[k];
            if (rt->org != n || !fq_streq(rt->category, category))
                continue;
            found = true;
            for (size_t j = 0; j < rt->n_mediators; j++) {
                int mi = roster_mediator_index(r, rt->mediators[j]);
                if (mi >= 0 && (err = consider(c, mi, &b)))
                    return err;
            }
        }
        if (found && b.idx >= 0) {
            out->node = n;
            out->mediator = b.idx;
            out->by_route = true;
            return FQ_OK;
        }
    }

    /* 属地管理: the tier node, then up the tree */
    for (int n = tier; n >= 0; n = r->org[n].parent) {
        int pick = -1;
        if ((err = route_least_loaded(c, n, category, NULL, &pick)))
            return err;
        if (pick >= 0) {
            out->node = n;
            out->mediator = pick;
            return FQ_OK;
        }
    }
    return FQ_OK;
}

enum fq_err route_least_loaded(struct fq_ctx *c, int node, const char *category,
                               const char *except, int *pick)
{
    const struct fq_roster *r = c->roster;
    struct best b = {.idx = -1};
    *pick = -1;
    if (node < 0 || (size_t)node >= r->n_org)
        return FQ_OK;
    for (size_t i = 0; i < r->n_med; i++) {
        const struct fq_mediator *m = &r->med[i];
        if (m->org != node || !roster_mediator_handles(m, category) ||
            (except && fq_streq(m->id, except)))
            continue;
        enum fq_err err = consider(c, (int)i, &b);
        if (err)
            return err;
    }
    *pick = b.idx;
    return FQ_OK;
}

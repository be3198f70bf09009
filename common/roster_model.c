/* roster_model.c: the territory tree and the people in it (docs/contract.md 5), validated whole
 * before anything is stored. Every layer uses it: bot/ builds a roster from JSON, store/ from the
 * database, handlers/ decide with it; so it lives at the bottom and uses nothing but fq.h.
 * A province's roster has 100 000 nodes and thousands of mediators, so roster_validate builds
 * sorted indexes (qsort, then binary search) of every id a lookup searches by, and finds repeated
 * ids as neighbours in them: validation and every lookup stay O(n log n) and O(log n). Before
 * validation (while a loader is still filling the arrays) the lookups scan linearly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/roster_model.h"
#include "common/fq.h"

static const char *const roles[] = {"grid_worker", "village_mediator", "town_mediator",
                                    "county_mediator"};

struct fq_roster *roster_new(void) { return calloc(1, sizeof(struct fq_roster)); }

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void roster_free(struct fq_roster *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_org; i++) {
        struct fq_org *o = &r->org[i];
        free(o->id);
        free(o->name);
        free(o->parent_id);
        free_strv(o->aliases, o->n_aliases);
        free(o->probes);
        if (o->keys)
            free_strv(o->keys, o->n_aliases + 1);
        free(o->key_probes);
    }
    free(r->org);
    for (size_t i = 0; i < r->n_med; i++) {
        struct fq_mediator *m = &r->med[i];
        free(m->id);
        free(m->name);
        free(m->role);
        free(m->org_id);
        free(m->wecom_userid);
        free(m->chat_user);
        for (size_t k = 0; k < m->n_gateways; k++) {
            free(m->gateways[k].channel);
            free(m->gateways[k].user);
        }
        free(m->gateways);
        free_strv(m->categories, m->n_categories);
    }
    free(r->med);
    for (size_t i = 0; i < r->n_routes; i++) {
        free(r->routes[i].category);
        free(r->routes[i].org_id);
        free_strv(r->routes[i].mediators, r->routes[i].n_mediators);
    }
    free(r->routes);
    free(r->by_org_id.k);
    free(r->by_med_id.k);
    free(r->by_chat_user.k);
    free(r->by_wecom.k);
    free(r->by_gateway.k);
    free(r);
}

/* ---- sorted indexes ------------------------------------------------------------------------ */
static int key_cmp_ab(const struct fq_roster_key *p, const char *a, const char *b)
{
    int c = strcmp(p->a, a);
    return c ? c : strcmp(p->b ? p->b : "", b ? b : "");
}

static int key_cmp(const void *x, const void *y)
{
    const struct fq_roster_key *p = x, *q = y;
    int c = key_cmp_ab(p, q->a, q->b);
    if (!c)
        c = (p->idx > q->idx) - (p->idx < q->idx);
    if (!c)
        c = (p->sub > q->sub) - (p->sub < q->sub);
    return c;
}

static void index_sort(struct fq_roster_index *ix)
{
    if (ix->n > 1)
        qsort(ix->k, ix->n, sizeof *ix->k, key_cmp);
}

/* The smallest idx whose key is (a, b), or -1: the entry a linear scan would find first. */
static int index_find(const struct fq_roster_index *ix, const char *a, const char *b)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp_ab(&ix->k[mid], a, b) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && key_cmp_ab(&ix->k[lo], a, b) == 0 ? ix->k[lo].idx : -1;
}

/* Where a scan in array order would first meet a key seen before: the least (idx, sub) of the
 * entries equal to their predecessor. *first: the entry seen before. False when none repeats. */
static bool index_first_repeat(const struct fq_roster_index *ix, struct fq_roster_key *at,
                               struct fq_roster_key *first)
{
    bool found = false;
    size_t group = 0;
    for (size_t i = 1; i < ix->n; i++) {
        if (key_cmp_ab(&ix->k[i], ix->k[i - 1].a, ix->k[i - 1].b) != 0) {
            group = i;
            continue;
        }
        const struct fq_roster_key *e = &ix->k[i];
        if (!found || e->idx < at->idx || (e->idx == at->idx && e->sub < at->sub)) {
            *at = *e;
            *first = ix->k[group];
            found = true;
        }
    }
    return found;
}

int roster_org_index(const struct fq_roster *r, const char *id)
{
    if (!id)
        return -1;
    if (r->by_org_id.k)
        return index_find(&r->by_org_id, id, NULL);
    for (size_t i = 0; i < r->n_org; i++)
        if (strcmp(r->org[i].id, id) == 0)
            return (int)i;
    return -1;
}

int roster_mediator_index(const struct fq_roster *r, const char *id)
{
    if (!id)
        return -1;
    if (r->by_med_id.k)
        return index_find(&r->by_med_id, id, NULL);
    for (size_t i = 0; i < r->n_med; i++)
        if (strcmp(r->med[i].id, id) == 0)
            return (int)i;
    return -1;
}

int roster_mediator_by_chat_user(const struct fq_roster *r, const char *u)
{
    if (!u)
        return -1;
    if (r->by_chat_user.k)
        return index_find(&r->by_chat_user, u, NULL);
    for (size_t i = 0; i < r->n_med; i++)
        if (r->med[i].chat_user && strcmp(r->med[i].chat_user, u) == 0)
            return (int)i;
    return -1;
}

int roster_mediator_by_wecom(const struct fq_roster *r, const char *u)
{
    if (!u)
        return -1;
    if (r->by_wecom.k)
        return index_find(&r->by_wecom, u, NULL);
    for (size_t i = 0; i < r->n_med; i++)
        if (r->med[i].wecom_userid && strcmp(r->med[i].wecom_userid, u) == 0)
            return (int)i;
    return -1;
}

int roster_mediator_by_gateway(const struct fq_roster *r, const char *channel, const char *user)
{
    if (!channel || !user)
        return -1;
    if (r->by_gateway.k)
        return index_find(&r->by_gateway, channel, user);
    for (size_t i = 0; i < r->n_med; i++)
        for (size_t k = 0; k < r->med[i].n_gateways; k++)
            if (fq_streq(r->med[i].gateways[k].channel, channel) &&
                fq_streq(r->med[i].gateways[k].user, user))
                return (int)i;
    return -1;
}

/* A gateway binding's channel or user: what a chat message may carry there (bot/chan/chat/chat_msg.c), so
 * one MQTT topic level: non-empty, at most max bytes, no '/', '+', '#' or control character. */
static bool topic_level_ok(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) > max)
        return false;
    for (; *s; s++)
        if (*s == '/' || *s == '+' || *s == '#' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

bool roster_org_is_ancestor(const struct fq_roster *r, int a, int b)
{
    for (size_t hops = 0; b >= 0 && hops <= r->n_org; hops++) {
        if (a == b)
            return true;
        b = r->org[b].parent;
    }
    return false;
}

int roster_org_at_level(const struct fq_roster *r, int i, enum fq_level level)
{
    for (size_t hops = 0; i >= 0 && hops <= r->n_org; hops++) {
        if (r->org[i].level == level)
            return i;
        i = r->org[i].parent;
    }
    return -1;
}

bool roster_mediator_handles(const struct fq_mediator *m, const char *category)
{
    for (size_t i = 0; i < m->n_categories; i++)
        if (strcmp(m->categories[i], "*") == 0 || fq_streq(m->categories[i], category))
            return true;
    return false;
}

static enum fq_err problem(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum fq_err problem(char **out, const char *fmt, ...)
{
    struct fq_buf b;
    buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    buf_puts(&b, tmp);
    *out = buf_take(&b);
    return FQ_EINVAL;
}

static bool is_category(const char *c) { return strcmp(c, "*") == 0 || fq_category_index(c) >= 0; }

static bool is_role(const char *s)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (fq_streq(roles[i], s))
            return true;
    return false;
}

static void index_clear(struct fq_roster_index *ix)
{
    free(ix->k);
    ix->k = NULL;
    ix->n = 0;
}

/* Room for n keys (at least one, so that a built index is never NULL). */
static bool index_alloc(struct fq_roster_index *ix, size_t n)
{
    index_clear(ix);
    ix->k = calloc(n ? n : 1, sizeof *ix->k);
    return ix->k != NULL;
}

static void index_add(struct fq_roster_index *ix, const char *a, const char *b, int idx, int sub)
{
    if (a)
        ix->k[ix->n++] = (struct fq_roster_key){.a = a, .b = b, .idx = idx, .sub = sub};
}

/* Every index of r from its arrays; false when out of memory. */
static bool build_indexes(struct fq_roster *r)
{
    size_t n_gw = 0;
    for (size_t i = 0; i < r->n_med; i++)
        n_gw += r->med[i].n_gateways;
    if (!index_alloc(&r->by_org_id, r->n_org) || !index_alloc(&r->by_med_id, r->n_med) ||
        !index_alloc(&r->by_chat_user, r->n_med) || !index_alloc(&r->by_wecom, r->n_med) ||
        !index_alloc(&r->by_gateway, n_gw))
        return false;
    for (size_t i = 0; i < r->n_org; i++)
        index_add(&r->by_org_id, r->org[i].id, NULL, (int)i, 0);
    for (size_t i = 0; i < r->n_med; i++) {
        const struct fq_mediator *m = &r->med[i];
        index_add(&r->by_med_id, m->id, NULL, (int)i, 0);
        index_add(&r->by_chat_user, m->chat_user, NULL, (int)i, 0);
        index_add(&r->by_wecom, m->wecom_userid, NULL, (int)i, 0);
        for (size_t k = 0; k < m->n_gateways; k++)
            if (m->gateways[k].channel && m->gateways[k].user)
                index_add(&r->by_gateway, m->gateways[k].channel, m->gateways[k].user, (int)i,
                          (int)k);
    }
    index_sort(&r->by_org_id);
    index_sort(&r->by_med_id);
    index_sort(&r->by_chat_user);
    index_sort(&r->by_wecom);
    index_sort(&r->by_gateway);
    return true;
}

/* The index of the first entry (in array order) that repeats an earlier one's key, or -1. */
static int first_repeat(const struct fq_roster_index *ix)
{
    struct fq_roster_key at, first;
    return index_first_repeat(ix, &at, &first) ? at.idx : -1;
}

#define ID_RULE "must be 1 to %d bytes without '/', '+', '#' or control characters"

enum fq_err roster_validate(struct fq_roster *r, char **prob)
{
    *prob = NULL;
    if (!build_indexes(r))
        return FQ_ENOMEM;
    int dup_org = first_repeat(&r->by_org_id);
    for (size_t i = 0; i < r->n_org; i++) {
        struct fq_org *o = &r->org[i];
        if (!o->id || !*o->id)
            return problem(prob, "org[%zu]: missing \"id\"", i);
        if (!topic_level_ok(o->id, ROSTER_ID_MAX))
            return problem(prob, "org[%zu]: \"id\" " ID_RULE, i, ROSTER_ID_MAX);
        if (!o->name || !*o->name)
            return problem(prob, "org[%zu] (%s): missing \"name\"", i, o->id);
        if ((int)o->level < FQ_LEVEL_COUNTY || o->level > FQ_LEVEL_GRID)
            return problem(prob, "org[%zu] (%s): bad \"level\"", i, o->id);
        if ((int)i == dup_org)
            return problem(prob, "org[%zu]: duplicate id \"%s\"", i, o->id);
    }
    for (size_t i = 0; i < r->n_org; i++) {
        struct fq_org *o = &r->org[i];
        o->parent = -1;
        if (o->parent_id) {
            o->parent = roster_org_index(r, o->parent_id);
            if (o->parent < 0)
                return problem(prob, "org[%zu] (%s): unknown parent \"%s\"", i, o->id,
                               o->parent_id);
            if ((size_t)o->parent == i)
                return problem(prob, "org[%zu] (%s): cycle: its own parent", i, o->id);
        }
    }
    /* Cycles: the first node, in array order, whose parents never reach a root. Each node is
     * walked once: a walk stops at a node already known to reach a root. */
    enum { UNSEEN, ON_PATH, REACHES_ROOT };
    unsigned char *seen = calloc(r->n_org ? r->n_org : 1, 1);
    if (!seen)
        return FQ_ENOMEM;
    for (size_t i = 0; i < r->n_org; i++) {
        int p = (int)i;
        while (p >= 0 && seen[p] == UNSEEN) {
            seen[p] = ON_PATH;
            p = r->org[p].parent;
        }
        if (p >= 0 && seen[p] == ON_PATH) {
            free(seen);
            return problem(prob, "org[%zu] (%s): cycle in parents", i, r->org[i].id);
        }
        for (p = (int)i; p >= 0 && seen[p] == ON_PATH; p = r->org[p].parent)
            seen[p] = REACHES_ROOT;
    }
    free(seen);
    int dup_med = first_repeat(&r->by_med_id), dup_chat = first_repeat(&r->by_chat_user),
        dup_wecom = first_repeat(&r->by_wecom);
    struct fq_roster_key dup_gw = {.idx = -1}, gw_holder = {.idx = -1};
    index_first_repeat(&r->by_gateway, &dup_gw, &gw_holder);
    for (size_t i = 0; i < r->n_med; i++) {
        struct fq_mediator *m = &r->med[i];
        if (!m->id || !*m->id)
            return problem(prob, "mediators[%zu]: missing \"id\"", i);
        if (!topic_level_ok(m->id, ROSTER_ID_MAX))
            return problem(prob, "mediators[%zu]: \"id\" " ID_RULE, i, ROSTER_ID_MAX);
        if (!m->name || !*m->name)
            return problem(prob, "mediators[%zu] (%s): missing \"name\"", i, m->id);
        if ((int)i == dup_med)
            return problem(prob, "mediators[%zu]: duplicate id \"%s\"", i, m->id);
        if (!is_role(m->role))
            return problem(prob, "mediators[%zu] (%s): unknown role \"%s\"", i, m->id,
                           m->role ? m->role : "");
        m->org = roster_org_index(r, m->org_id);
        if (m->org < 0)
            return problem(prob, "mediators[%zu] (%s): unknown org \"%s\"", i, m->id,
                           m->org_id ? m->org_id : "");
        for (size_t k = 0; k < m->n_categories; k++)
            if (!is_category(m->categories[k]))
                return problem(prob, "mediators[%zu] (%s): unknown category \"%s\"", i, m->id,
                               m->categories[k]);
        if (m->max_open < 0)
            return problem(prob, "mediators[%zu] (%s): negative \"max_open\"", i, m->id);
        if ((int)i == dup_chat)
            return problem(prob, "mediators[%zu] (%s): duplicate chat_user", i, m->id);
        if ((int)i == dup_wecom)
            return problem(prob, "mediators[%zu] (%s): duplicate wecom_userid", i, m->id);
        for (size_t k = 0; k < m->n_gateways; k++) {
            const struct fq_gateway *g = &m->gateways[k];
            if (!topic_level_ok(g->channel, ROSTER_GATEWAY_CHANNEL_MAX))
                return problem(prob,
                               "mediators[%zu] (%s): gateways[%zu]: \"channel\" must be 1 to %d "
                               "bytes without '/', '+', '#' or control characters",
                               i, m->id, k, ROSTER_GATEWAY_CHANNEL_MAX);
            if (!topic_level_ok(g->user, ROSTER_GATEWAY_USER_MAX))
                return problem(prob,
                               "mediators[%zu] (%s): gateways[%zu]: \"user\" must be 1 to %d "
                               "bytes without '/', '+', '#' or control characters",
                               i, m->id, k, ROSTER_GATEWAY_USER_MAX);
            if ((int)i == dup_gw.idx && (int)k == dup_gw.sub)
                return problem(prob,
                               "mediators[%zu] (%s): gateways[%zu]: channel \"%s\" "
                               "user is already bound to %s",
                               i, m->id, k, g->channel, r->med[gw_holder.idx].id);
        }
    }
    for (size_t i = 0; i < r->n_routes; i++) {
        struct fq_route *rt = &r->routes[i];
        if (!rt->category || fq_category_index(rt->category) < 0)
            return problem(prob, "routes[%zu]: unknown category \"%s\"", i,
                           rt->category ? rt->category : "");
        rt->org = roster_org_index(r, rt->org_id);
        if (rt->org < 0)
            return problem(prob, "routes[%zu]: unknown org \"%s\"", i,
                           rt->org_id ? rt->org_id : "");
        if (rt->n_mediators == 0)
            return problem(prob, "routes[%zu]: no mediators", i);
        for (size_t k = 0; k < rt->n_mediators; k++)
            if (roster_mediator_index(r, rt->mediators[k]) < 0)
                return problem(prob, "routes[%zu]: unknown mediator \"%s\"", i,
                               rt->mediators[k]);
    }
    return FQ_OK;
}

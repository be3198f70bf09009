/* roster_model.c: the territory tree and the people in it (docs/contract.md 5), validated whole
 * before anything is stored. Every layer uses it: bot/ builds a roster from JSON, store/ from the
 * database, handlers/ decide with it; so it lives at the bottom and uses nothing but fq.h.
 * A roster is small (hundreds of nodes), so lookups are linear scans over arrays: simple, and
 * cheaper than building indexes that every import would have to rebuild. */
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
    free(r);
}

int roster_org_index(const struct fq_roster *r, const char *id)
{
    if (!id)
        return -1;
    for (size_t i = 0; i < r->n_org; i++)
        if (strcmp(r->org[i].id, id) == 0)
            return (int)i;
    return -1;
}

int roster_mediator_index(const struct fq_roster *r, const char *id)
{
    if (!id)
        return -1;
    for (size_t i = 0; i < r->n_med; i++)
        if (strcmp(r->med[i].id, id) == 0)
            return (int)i;
    return -1;
}

int roster_mediator_by_chat_user(const struct fq_roster *r, const char *u)
{
    if (!u)
        return -1;
    for (size_t i = 0; i < r->n_med; i++)
        if (r->med[i].chat_user && strcmp(r->med[i].chat_user, u) == 0)
            return (int)i;
    return -1;
}

int roster_mediator_by_wecom(const struct fq_roster *r, const char *u)
{
    if (!u)
        return -1;
    for (size_t i = 0; i < r->n_med; i++)
        if (r->med[i].wecom_userid && strcmp(r->med[i].wecom_userid, u) == 0)
            return (int)i;
    return -1;
}

int roster_mediator_by_gateway(const struct fq_roster *r, const char *channel, const char *user)
{
    if (!channel || !user)
        return -1;
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

enum fq_err roster_validate(struct fq_roster *r, char **prob)
{
    *prob = NULL;
    for (size_t i = 0; i < r->n_org; i++) {
        struct fq_org *o = &r->org[i];
        if (!o->id || !*o->id)
            return problem(prob, "org[%zu]: missing \"id\"", i);
        if (!o->name || !*o->name)
            return problem(prob, "org[%zu] (%s): missing \"name\"", i, o->id);
        if ((int)o->level < FQ_LEVEL_COUNTY || o->level > FQ_LEVEL_GRID)
            return problem(prob, "org[%zu] (%s): bad \"level\"", i, o->id);
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->org[j].id, o->id) == 0)
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
    for (size_t i = 0; i < r->n_org; i++) {
        int p = r->org[i].parent;
        for (size_t hops = 0; p >= 0; hops++) {
            if (hops > r->n_org || (size_t)p == i)
                return problem(prob, "org[%zu] (%s): cycle in parents", i, r->org[i].id);
            p = r->org[p].parent;
        }
    }
    for (size_t i = 0; i < r->n_med; i++) {
        struct fq_mediator *m = &r->med[i];
        if (!m->id || !*m->id)
            return problem(prob, "mediators[%zu]: missing \"id\"", i);
        if (!m->name || !*m->name)
            return problem(prob, "mediators[%zu] (%s): missing \"name\"", i, m->id);
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->med[j].id, m->id) == 0)
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
        for (size_t j = 0; j < i; j++) {
            if (m->chat_user && fq_streq(r->med[j].chat_user, m->chat_user))
                return problem(prob, "mediators[%zu] (%s): duplicate chat_user", i, m->id);
            if (m->wecom_userid && fq_streq(r->med[j].wecom_userid, m->wecom_userid))
                return problem(prob, "mediators[%zu] (%s): duplicate wecom_userid", i, m->id);
        }
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
            /* earlier bindings of this mediator, then those of every earlier mediator */
            for (size_t j = 0; j <= i; j++)
                for (size_t q = 0; q < (j == i ? k : r->med[j].n_gateways); q++)
                    if (fq_streq(r->med[j].gateways[q].channel, g->channel) &&
                        fq_streq(r->med[j].gateways[q].user, g->user))
                        return problem(prob,
                                       "mediators[%zu] (%s): gateways[%zu]: channel \"%s\" "
                                       "user is already bound to %s",
                                       i, m->id, k, g->channel, r->med[j].id);
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

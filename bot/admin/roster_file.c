/* roster_file.c: reads the roster file (docs/contract.md 5). Only shape and types are checked here;
 * the meaning (parents, cycles, categories) is checked by roster_validate in common/roster_model.c, which
 * the database loader uses too. Sizes are bounded so a hostile file cannot balloon memory. */
#include "bot/admin/roster_file.h"
#include "common/fq.h"
#include "common/roster_model.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENTRIES 1000000   /* a province has about 100 000 org nodes */
#define MAX_STR 256

static enum fq_err fail(char **problem, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum fq_err fail(char **problem, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    *problem = strdup(tmp);
    return FQ_EINVAL;
}

/* Optional string: NULL when absent or null; error on other types. */
static bool opt_str(json_t *o, const char *key, char **dst)
{
    json_t *v = json_object_get(o, key);
    *dst = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) > MAX_STR ||
        strlen(json_string_value(v)) != json_string_length(v))
        return false;
    *dst = strdup(json_string_value(v));
    return *dst != NULL;
}

static bool str_array(json_t *o, const char *key, char ***dst, size_t *n)
{
    json_t *v = json_object_get(o, key);
    *dst = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_array(v) || json_array_size(v) > 1000)
        return false;
    size_t cnt = json_array_size(v);
    if (cnt == 0)
        return true;
    char **arr = calloc(cnt, sizeof *arr);
    if (!arr)
        return false;
    for (size_t i = 0; i < cnt; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) > MAX_STR || !(arr[i] = strdup(json_string_value(s)))) {
            for (size_t k = 0; k < i; k++)
                free(arr[k]);
            free(arr);
            return false;
        }
    }
    *dst = arr;
    *n = cnt;
    return true;
}

/* A mediator's optional "gateways": [{"channel": C, "user": U}, ...]. Only the shape here; the
 * values (topic levels, duplicates) are checked by roster_validate. */
static enum fq_err gateways(json_t *v, size_t i, struct fq_mediator *m, char **problem)
{
    json_t *gw = json_object_get(v, "gateways");
    if (!gw || json_is_null(gw))
        return FQ_OK;
    if (!json_is_array(gw) || json_array_size(gw) > 1000)
        return fail(problem, "mediators[%zu]: \"gateways\" must be an array of at most 1000 "
                             "{\"channel\", \"user\"} objects", i);
    if (json_array_size(gw) == 0)
        return FQ_OK;
    m->gateways = calloc(json_array_size(gw), sizeof *m->gateways);
    if (!m->gateways)
        return FQ_ENOMEM;
    size_t k;
    json_t *g;
    json_array_foreach(gw, k, g) {
        struct fq_gateway *b = &m->gateways[m->n_gateways++];
        if (!json_is_object(g) || !opt_str(g, "channel", &b->channel) ||
            !opt_str(g, "user", &b->user) || !b->channel || !b->user)
            return fail(problem, "mediators[%zu]: gateways[%zu]: needs \"channel\" and \"user\" "
                                 "(strings)", i, k);
    }
    return FQ_OK;
}

enum fq_err roster_json_parse(const char *text, size_t len, struct fq_roster **out,
                              char **problem)
{
    *out = NULL;
    *problem = NULL;
    if (!fq_utf8_valid(text, len))
        return fail(problem, "roster: not valid UTF-8");
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(problem, "roster: line %d: %s", je.line, je.text);
    enum fq_err err = FQ_EINVAL;
    struct fq_roster *r = roster_new();
    if (!r) {
        err = FQ_ENOMEM;
        goto out;
    }
    if (!json_is_object(root)) {
        err = fail(problem, "roster: not a JSON object");
        goto out;
    }
    json_t *org = json_object_get(root, "org"), *med = json_object_get(root, "mediators"),
           *routes = json_object_get(root, "routes");
    if (!json_is_array(org)) {
        err = fail(problem, "roster: \"org\" must be an array");
        goto out;
    }
    if (med && !json_is_array(med)) {
        err = fail(problem, "roster: \"mediators\" must be an array");
        goto out;
    }
    if (routes && !json_is_null(routes) && !json_is_array(routes)) {
        err = fail(problem, "roster: \"routes\" must be an array");
        goto out;
    }
    if (json_array_size(org) > MAX_ENTRIES || json_array_size(med) > MAX_ENTRIES ||
        json_array_size(routes) > MAX_ENTRIES) {
        err = fail(problem, "roster: too many entries");
        goto out;
    }

    r->org = calloc(json_array_size(org) + 1, sizeof *r->org);
    r->med = calloc(json_array_size(med) + 1, sizeof *r->med);
    r->routes = calloc(json_array_size(routes) + 1, sizeof *r->routes);
    if (!r->org || !r->med || !r->routes) {
        err = FQ_ENOMEM;
        goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(org, i, v) {
        struct fq_org *o = &r->org[r->n_org++];
        o->parent = -1;
        char *level = NULL;
        if (!json_is_object(v)) {
            err = fail(problem, "org[%zu]: not an object", i);
            goto out;
        }
        if (!opt_str(v, "id", &o->id) || !opt_str(v, "name", &o->name) ||
            !opt_str(v, "parent", &o->parent_id) || !opt_str(v, "level", &level)) {
            err = fail(problem, "org[%zu]: id, name, level and parent must be strings", i);
            goto out;
        }
        int lv = fq_level_parse(level);
        free(level);
        if (lv < 0) {
            err = fail(problem, "org[%zu] (%s): \"level\" must be county, town, village or grid", i,
                       o->id ? o->id : "?");
            goto out;
        }
        o->level = (enum fq_level)lv;
        if (!str_array(v, "aliases", &o->aliases, &o->n_aliases)) {
            err = fail(problem, "org[%zu]: \"aliases\" must be an array of strings", i);
            goto out;
        }
        json_t *la = json_object_get(v, "latitude"), *lo = json_object_get(v, "longitude");
        if (la && lo && json_is_number(la) && json_is_number(lo)) {
            o->latitude = json_number_value(la);
            o->longitude = json_number_value(lo);
            o->has_coord = true;
        } else if ((la && !json_is_null(la)) || (lo && !json_is_null(lo))) {
            err = fail(problem, "org[%zu]: latitude and longitude must both be numbers", i);
            goto out;
        }
    }
    json_array_foreach(med, i, v) {
        struct fq_mediator *m = &r->med[r->n_med++];
        m->active = true;
        m->org = -1;
        if (!json_is_object(v)) {
            err = fail(problem, "mediators[%zu]: not an object", i);
            goto out;
        }
        if (!opt_str(v, "id", &m->id) || !opt_str(v, "name", &m->name) ||
            !opt_str(v, "role", &m->role) || !opt_str(v, "org", &m->org_id) ||
            !opt_str(v, "wecom_userid", &m->wecom_userid) ||
            !opt_str(v, "chat_user", &m->chat_user)) {
            err = fail(problem, "mediators[%zu]: id, name, role, org, wecom_userid and chat_user must be strings", i);
            goto out;
        }
        if ((err = gateways(v, i, m, problem)))
            goto out;
        if (!str_array(v, "categories", &m->categories, &m->n_categories)) {
            err = fail(problem, "mediators[%zu]: \"categories\" must be an array of strings", i);
            goto out;
        }
        if (m->n_categories == 0) {   /* no list: every category */
            m->categories = calloc(1, sizeof *m->categories);
            if (!m->categories || !(m->categories[0] = strdup("*"))) {
                err = FQ_ENOMEM;
                goto out;
            }
            m->n_categories = 1;
        }
        json_t *mo = json_object_get(v, "max_open"), *sv = json_object_get(v, "supervisor"),
               *ac = json_object_get(v, "active");
        if (mo && !json_is_null(mo)) {
            if (!json_is_integer(mo) || json_integer_value(mo) < 0 || json_integer_value(mo) > 100000) {
                err = fail(problem, "mediators[%zu]: \"max_open\" must be a non-negative integer", i);
                goto out;
            }
            m->max_open = (int)json_integer_value(mo);
        }
        if ((sv && !json_is_boolean(sv) && !json_is_null(sv)) ||
            (ac && !json_is_boolean(ac) && !json_is_null(ac))) {
            err = fail(problem, "mediators[%zu]: \"supervisor\" and \"active\" must be true or false", i);
            goto out;
        }
        m->supervisor = sv && json_is_true(sv);
        m->active = !(ac && json_is_false(ac));
    }
    json_array_foreach(routes, i, v) {
        struct fq_route *rt = &r->routes[r->n_routes++];
        rt->org = -1;
        if (!json_is_object(v) || !opt_str(v, "category", &rt->category) ||
            !opt_str(v, "org", &rt->org_id) ||
            !str_array(v, "mediators", &rt->mediators, &rt->n_mediators)) {
            err = fail(problem, "routes[%zu]: needs category, org and mediators (strings)", i);
            goto out;
        }
    }
    if ((err = roster_validate(r, problem)))
        goto out;
    *out = r;
    r = NULL;
    err = FQ_OK;
out:
    roster_free(r);
    json_decref(root);
    return err;
}

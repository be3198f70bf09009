/* roster_table.c: the stored roster (docs/contract.md 5): org nodes with aliases, mediators with
 * categories, category routes with their mediators.
 *
 * Design: an import replaces everything: delete every roster row, insert the new ones, all in
 * one transaction (the caller's, or an internal savepoint), so readers see the old roster or the
 * new one, never a mix. Mediators and org nodes are keyed by their roster ids, so a mediator
 * keeps its identity across imports and cases (which keep mediator and org ids as text, without
 * foreign keys) still point at the right person. A pos column keeps the file's order, so a load
 * returns the roster as it was imported. Loading walks each child table ordered by its parent's
 * pos, merging it into the parent array in one pass. */
#include "store/stmt.h"

#include "common/roster_model.h"
#include "common/fq.h"
#include "store/roster_table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- replace ------------------------------------------------------------------------------- */
static enum fq_err delete_all(struct store *s)
{
    static const struct {
        enum stmt_id id;
        const char *sql;
    } dels[] = {
        {ST_ROSTER_DEL_ROUTE_MED, "DELETE FROM route_mediators"},
        {ST_ROSTER_DEL_ROUTES, "DELETE FROM routes"},
        {ST_ROSTER_DEL_MED_CAT, "DELETE FROM mediator_categories"},
        {ST_ROSTER_DEL_MED_GW, "DELETE FROM mediator_gateways"},
        {ST_ROSTER_DEL_MED, "DELETE FROM mediators"},
        {ST_ROSTER_DEL_ALIASES, "DELETE FROM org_aliases"},
        {ST_ROSTER_DEL_ORG, "DELETE FROM org_nodes"},
    };
    for (size_t i = 0; i < sizeof dels / sizeof dels[0]; i++) {
        sqlite3_stmt *st = STMT(s, dels[i].id, dels[i].sql);
        if (!st)
            return store_err(s);
        enum fq_err err = stmt_exec(s, dels[i].id, st);
        if (err)
            return err;
    }
    return FQ_OK;
}

/* Inserts (parent, pos, text) rows of a string list with the given statement. */
static enum fq_err insert_list(struct store *s, enum stmt_id id, const char *sql,
                               const char *parent_text, int64_t parent_int, char **items,
                               size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = STMT(s, id, sql);
        if (!st)
            return store_err(s);
        if (parent_text)
            bind_text(st, 1, parent_text);
        else
            bind_int64(st, 1, parent_int);
        bind_int64(st, 2, (int64_t)i);
        bind_text(st, 3, items[i]);
        enum fq_err err = stmt_exec(s, id, st);
        if (err)
            return err;
    }
    return FQ_OK;
}

static enum fq_err insert_org(struct store *s, const struct fq_org *o, size_t pos)
{
    sqlite3_stmt *st = STMT(s, ST_ORG_INSERT,
                            "INSERT INTO org_nodes(id, name, level, parent_id, latitude, "
                            "longitude, pos) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!st)
        return store_err(s);
    bind_text(st, 1, o->id);
    bind_text(st, 2, o->name);
    bind_text(st, 3, fq_level_name(o->level));
    bind_text(st, 4, o->parent_id);
    if (o->has_coord) {
        bind_double(st, 5, o->latitude);
        bind_double(st, 6, o->longitude);
    }
    bind_int64(st, 7, (int64_t)pos);
    enum fq_err err = stmt_exec(s, ST_ORG_INSERT, st);
    if (err)
        return err;
    return insert_list(s, ST_ALIAS_INSERT,
                       "INSERT INTO org_aliases(org_id, pos, alias) VALUES (?1, ?2, ?3)", o->id,
                       0, o->aliases, o->n_aliases);
}

static enum fq_err insert_mediator(struct store *s, const struct fq_mediator *m, size_t pos)
{
    sqlite3_stmt *st = STMT(s, ST_MED_INSERT,
                            "INSERT INTO mediators(id, name, role, org_id, wecom_userid, "
                            "chat_user, max_open, supervisor, active, pos) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (!st)
        return store_err(s);
    bind_text(st, 1, m->id);
    bind_text(st, 2, m->name);
    bind_text(st, 3, m->role);
    bind_text(st, 4, m->org_id);
    bind_text(st, 5, m->wecom_userid);
    bind_text(st, 6, m->chat_user);
    sqlite3_bind_int(st, 7, m->max_open);
    sqlite3_bind_int(st, 8, m->supervisor ? 1 : 0);
    sqlite3_bind_int(st, 9, m->active ? 1 : 0);
    bind_int64(st, 10, (int64_t)pos);
    enum fq_err err = stmt_exec(s, ST_MED_INSERT, st);
    if (err)
        return err;
    err = insert_list(s, ST_MED_CAT_INSERT,
                      "INSERT INTO mediator_categories(mediator_id, pos, category) "
                      "VALUES (?1, ?2, ?3)",
                      m->id, 0, m->categories, m->n_categories);
    for (size_t i = 0; !err && i < m->n_gateways; i++) {
        st = STMT(s, ST_MED_GW_INSERT,
                  "INSERT INTO mediator_gateways(mediator_id, pos, channel, user) "
                  "VALUES (?1, ?2, ?3, ?4)");
        if (!st)
            return store_err(s);
        bind_text(st, 1, m->id);
        bind_int64(st, 2, (int64_t)i);
        bind_text(st, 3, m->gateways[i].channel);
        bind_text(st, 4, m->gateways[i].user);
        err = stmt_exec(s, ST_MED_GW_INSERT, st);
    }
    return err;
}

static enum fq_err insert_route(struct store *s, const struct fq_route *r, size_t pos)
{
    sqlite3_stmt *st = STMT(s, ST_ROUTE_INSERT,
                            "INSERT INTO routes(id, category, org_id) VALUES (?1, ?2, ?3)");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, (int64_t)pos + 1);
    bind_text(st, 2, r->category);
    bind_text(st, 3, r->org_id);
    enum fq_err err = stmt_exec(s, ST_ROUTE_INSERT, st);
    if (err)
        return err;
    return insert_list(s, ST_ROUTE_MED_INSERT,
                       "INSERT INTO route_mediators(route_id, pos, mediator_id) "
                       "VALUES (?1, ?2, ?3)",
                       NULL, (int64_t)pos + 1, r->mediators, r->n_mediators);
}

enum fq_err store_roster_replace(struct store *s, const struct fq_roster *r)
{
    if (!r)
        return FQ_EINVAL;
    bool own;
    enum fq_err err = isp_begin(s, &own);
    if (err)
        return err;
    err = delete_all(s);
    for (size_t i = 0; !err && i < r->n_org; i++)
        err = insert_org(s, &r->org[i], i);
    for (size_t i = 0; !err && i < r->n_med; i++)
        err = insert_mediator(s, &r->med[i], i);
    for (size_t i = 0; !err && i < r->n_routes; i++)
        err = insert_route(s, &r->routes[i], i);
    return isp_end(s, own, err);
}

/* ---- load ---------------------------------------------------------------------------------- */
static bool push_str(char ***arr, size_t *n, const char *v)
{
    char *c = strdup(v ? v : "");
    char **na = c ? realloc(*arr, (*n + 1) * sizeof **arr) : NULL;
    if (!na) {
        free(c);
        return false;
    }
    na[(*n)++] = c;
    *arr = na;
    return true;
}

/* Steps a "SELECT count(*) FROM t" style statement with no parameters. */
static enum fq_err count_rows(struct store *s, enum stmt_id id, const char *sql, size_t *n)
{
    *n = 0;
    sqlite3_stmt *st = STMT(s, id, sql);
    if (!st)
        return store_err(s);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = (size_t)sqlite3_column_int64(st, 0);
    else
        err = store_map_rc(rc) ? store_map_rc(rc) : FQ_ESTORE;
    stmt_done(s, id, st);
    return err;
}

/* The one loop of the loader: steps sql (no parameters) and calls row(st, i, arg) for row i,
 * at most max rows, until a call fails; a step that failed (rather than ran out of rows)
 * becomes the error unless one was already found; the statement goes back to the cache. */
typedef enum fq_err (*row_fn)(sqlite3_stmt *st, size_t i, void *arg);

static enum fq_err each_row(struct store *s, enum stmt_id id, const char *sql, size_t max,
                            row_fn row, void *arg)
{
    sqlite3_stmt *st = STMT(s, id, sql);
    if (!st)
        return store_err(s);
    enum fq_err err = FQ_OK;
    int rc = SQLITE_DONE;
    for (size_t i = 0; !err && i < max && (rc = sqlite3_step(st)) == SQLITE_ROW; i++)
        err = row(st, i, arg);
    if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = store_map_rc(rc);
    stmt_done(s, id, st);
    return err;
}

/* Child rows (aliases, categories, gateways, route mediators) come ordered by their parent's
 * position: each is merged into the parent it names, found by walking the parents forward
 * once. is_parent says whether the row belongs to parent p; add merges it. */
struct merge {
    size_t next, n_parents;
    bool (*is_parent)(sqlite3_stmt *st, size_t p, void *arg);
    enum fq_err (*add)(sqlite3_stmt *st, size_t p, void *arg);
    void *arg;
};

static enum fq_err merge_row(sqlite3_stmt *st, size_t i, void *arg)
{
    (void)i;
    struct merge *m = arg;
    while (m->next < m->n_parents && !m->is_parent(st, m->next, m->arg))
        m->next++;
    if (m->next == m->n_parents)
        return FQ_OK;   /* cannot happen: both are ordered by the parent's position */
    return m->add(st, m->next, m->arg);
}

static enum fq_err merge_children(struct store *s, enum stmt_id id, const char *sql,
                                  size_t n_parents,
                                  bool (*is_parent)(sqlite3_stmt *, size_t, void *),
                                  enum fq_err (*add)(sqlite3_stmt *, size_t, void *), void *arg)
{
    struct merge m = {0, n_parents, is_parent, add, arg};
    return each_row(s, id, sql, SIZE_MAX, merge_row, &m);
}

static const char *col0(sqlite3_stmt *st) { return (const char *)sqlite3_column_text(st, 0); }
static const char *col1(sqlite3_stmt *st) { return (const char *)sqlite3_column_text(st, 1); }

/* ---- org nodes ---- */
static enum fq_err org_row(sqlite3_stmt *st, size_t i, void *arg)
{
    struct fq_roster *r = arg;
    (void)i;
    struct fq_org *o = &r->org[r->n_org++];
    bool oom = false;
    o->id = col_text(st, 0, true, &oom);
    o->name = col_text(st, 1, true, &oom);
    int level = fq_level_parse((const char *)sqlite3_column_text(st, 2));
    o->level = level < 0 ? FQ_LEVEL_GRID : (enum fq_level)level;
    o->parent_id = col_text(st, 3, true, &oom);
    o->has_coord = sqlite3_column_type(st, 4) != SQLITE_NULL;
    o->latitude = sqlite3_column_double(st, 4);
    o->longitude = sqlite3_column_double(st, 5);
    o->parent = -1;
    return oom ? FQ_ENOMEM : FQ_OK;
}

static bool is_org(sqlite3_stmt *st, size_t p, void *arg)
{
    return fq_streq(((struct fq_roster *)arg)->org[p].id, col0(st));
}

static enum fq_err alias_row(sqlite3_stmt *st, size_t p, void *arg)
{
    struct fq_org *o = &((struct fq_roster *)arg)->org[p];
    return push_str(&o->aliases, &o->n_aliases, col1(st)) ? FQ_OK : FQ_ENOMEM;
}

static enum fq_err load_orgs(struct store *s, struct fq_roster *r)
{
    size_t n;
    enum fq_err err = count_rows(s, ST_ORG_COUNT, "SELECT count(*) FROM org_nodes", &n);
    if (err || n == 0)
        return err;
    if (!(r->org = calloc(n, sizeof *r->org)))
        return FQ_ENOMEM;
    err = each_row(s, ST_ORG_LOAD,
                   "SELECT id, name, level, parent_id, latitude, longitude "
                   "FROM org_nodes ORDER BY pos",
                   n, org_row, r);
    if (!err)
        err = merge_children(s, ST_ALIAS_LOAD,
                             "SELECT a.org_id, a.alias FROM org_aliases a JOIN org_nodes o "
                             "ON o.id = a.org_id ORDER BY o.pos, a.pos",
                             r->n_org, is_org, alias_row, r);
    return err;
}

/* ---- mediators ---- */
static enum fq_err med_row(sqlite3_stmt *st, size_t i, void *arg)
{
    struct fq_roster *r = arg;
    (void)i;
    struct fq_mediator *m = &r->med[r->n_med++];
    bool oom = false;
    m->id = col_text(st, 0, true, &oom);
    m->name = col_text(st, 1, true, &oom);
    m->role = col_text(st, 2, true, &oom);
    m->org_id = col_text(st, 3, true, &oom);
    m->wecom_userid = col_text(st, 4, true, &oom);
    m->chat_user = col_text(st, 5, true, &oom);
    m->max_open = sqlite3_column_int(st, 6);
    m->supervisor = sqlite3_column_int(st, 7) != 0;
    m->active = sqlite3_column_int(st, 8) != 0;
    m->org = -1;
    return oom ? FQ_ENOMEM : FQ_OK;
}

static bool is_med(sqlite3_stmt *st, size_t p, void *arg)
{
    return fq_streq(((struct fq_roster *)arg)->med[p].id, col0(st));
}

static enum fq_err category_row(sqlite3_stmt *st, size_t p, void *arg)
{
    struct fq_mediator *m = &((struct fq_roster *)arg)->med[p];
    return push_str(&m->categories, &m->n_categories, col1(st)) ? FQ_OK : FQ_ENOMEM;
}

static enum fq_err gateway_row(sqlite3_stmt *st, size_t p, void *arg)
{
    struct fq_mediator *m = &((struct fq_roster *)arg)->med[p];
    struct fq_gateway *g = realloc(m->gateways, (m->n_gateways + 1) * sizeof *g);
    if (!g)
        return FQ_ENOMEM;
    m->gateways = g;
    g = &m->gateways[m->n_gateways];
    bool oom = false;
    g->channel = col_text(st, 1, true, &oom);
    g->user = col_text(st, 2, true, &oom);
    m->n_gateways++;   /* counted even half-filled, so roster_free frees what was copied */
    return oom ? FQ_ENOMEM : FQ_OK;
}

static enum fq_err load_mediators(struct store *s, struct fq_roster *r)
{
    size_t n;
    enum fq_err err = count_rows(s, ST_MED_COUNT, "SELECT count(*) FROM mediators", &n);
    if (err || n == 0)
        return err;
    if (!(r->med = calloc(n, sizeof *r->med)))
        return FQ_ENOMEM;
    err = each_row(s, ST_MED_LOAD,
                   "SELECT id, name, role, org_id, wecom_userid, chat_user, max_open, "
                   "supervisor, active FROM mediators ORDER BY pos",
                   n, med_row, r);
    if (!err)
        err = merge_children(s, ST_MED_CAT_LOAD,
                             "SELECT c.mediator_id, c.category FROM mediator_categories c "
                             "JOIN mediators m ON m.id = c.mediator_id ORDER BY m.pos, c.pos",
                             r->n_med, is_med, category_row, r);
    if (!err)
        err = merge_children(s, ST_MED_GW_LOAD,
                             "SELECT g.mediator_id, g.channel, g.user FROM mediator_gateways g "
                             "JOIN mediators m ON m.id = g.mediator_id ORDER BY m.pos, g.pos",
                             r->n_med, is_med, gateway_row, r);
    return err;
}

/* ---- routes ---- */
struct route_load {
    struct fq_roster *r;
    int64_t *ids;                    /* the stored id of each route, in load order */
};

static enum fq_err route_row(sqlite3_stmt *st, size_t i, void *arg)
{
    struct route_load *l = arg;
    (void)i;
    l->ids[l->r->n_routes] = sqlite3_column_int64(st, 0);
    struct fq_route *rt = &l->r->routes[l->r->n_routes++];
    bool oom = false;
    rt->category = col_text(st, 1, true, &oom);
    rt->org_id = col_text(st, 2, true, &oom);
    rt->org = -1;
    return oom ? FQ_ENOMEM : FQ_OK;
}

static bool is_route(sqlite3_stmt *st, size_t p, void *arg)
{
    return ((struct route_load *)arg)->ids[p] == sqlite3_column_int64(st, 0);
}

static enum fq_err route_med_row(sqlite3_stmt *st, size_t p, void *arg)
{
    struct fq_route *rt = &((struct route_load *)arg)->r->routes[p];
    return push_str(&rt->mediators, &rt->n_mediators, col1(st)) ? FQ_OK : FQ_ENOMEM;
}

static enum fq_err load_routes(struct store *s, struct fq_roster *r)
{
    size_t n;
    enum fq_err err = count_rows(s, ST_ROUTE_COUNT, "SELECT count(*) FROM routes", &n);
    if (err || n == 0)
        return err;
    struct route_load l = {r, calloc(n, sizeof *l.ids)};
    r->routes = calloc(n, sizeof *r->routes);
    if (!r->routes || !l.ids) {
        free(l.ids);
        return FQ_ENOMEM;
    }
    err = each_row(s, ST_ROUTE_LOAD, "SELECT id, category, org_id FROM routes ORDER BY id", n,
                   route_row, &l);
    if (!err)
        err = merge_children(s, ST_ROUTE_MED_LOAD,
                             "SELECT route_id, mediator_id FROM route_mediators "
                             "ORDER BY route_id, pos",
                             r->n_routes, is_route, route_med_row, &l);
    free(l.ids);
    return err;
}

enum fq_err store_roster_load(struct store *s, struct fq_roster **out)
{
    *out = NULL;
    struct fq_roster *r = roster_new();
    if (!r)
        return FQ_ENOMEM;
    enum fq_err err = load_orgs(s, r);
    if (!err)
        err = load_mediators(s, r);
    if (!err)
        err = load_routes(s, r);
    if (!err && (r->n_org || r->n_med || r->n_routes)) {
        char *problem = NULL;
        /* What was stored passed validation on import; a failure here means the database was
         * changed behind our back. */
        if (roster_validate(r, &problem) != FQ_OK)
            err = FQ_ESTORE;
        free(problem);
    }
    if (err) {
        roster_free(r);
        return err;
    }
    *out = r;
    return FQ_OK;
}

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

/* The end of a loop over a statement's rows: a step that failed (rather than ran out of rows)
 * becomes the error unless one was already found; the statement goes back to the cache. */
static enum fq_err scan_end(struct store *s, enum stmt_id id, sqlite3_stmt *st, int rc,
                             enum fq_err err)
{
    if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = store_map_rc(rc);
    stmt_done(s, id, st);
    return err;
}

static enum fq_err load_orgs(struct store *s, struct fq_roster *r)
{
    size_t n;
    enum fq_err err = count_rows(s, ST_ORG_COUNT, "SELECT count(*) FROM org_nodes", &n);
    if (err || n == 0)
        return err;
    r->org = calloc(n, sizeof *r->org);
    if (!r->org)
        return FQ_ENOMEM;
    sqlite3_stmt *st = STMT(s, ST_ORG_LOAD,
                            "SELECT id, name, level, parent_id, latitude, longitude "
                            "FROM org_nodes ORDER BY pos");
    if (!st)
        return store_err(s);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && r->n_org < n) {
        struct fq_org *o = &r->org[r->n_org++];
        bool oom = false;
        o->id = col_text(st, 0, true, &oom);
        o->name = col_text(st, 1, true, &oom);
        const char *lv = (const char *)sqlite3_column_text(st, 2);
        int level = fq_level_parse(lv);
        o->level = level < 0 ? FQ_LEVEL_GRID : (enum fq_level)level;
        o->parent_id = col_text(st, 3, true, &oom);
        o->has_coord = sqlite3_column_type(st, 4) != SQLITE_NULL;
        o->latitude = sqlite3_column_double(st, 4);
        o->longitude = sqlite3_column_double(st, 5);
        o->parent = -1;
        if (oom) {
            err = FQ_ENOMEM;
            break;
        }
    }
    err = scan_end(s, ST_ORG_LOAD, st, rc, err);
    if (err)
        return err;

    st = STMT(s, ST_ALIAS_LOAD,
              "SELECT a.org_id, a.alias FROM org_aliases a JOIN org_nodes o ON o.id = a.org_id "
              "ORDER BY o.pos, a.pos");
    if (!st)
        return store_err(s);
    size_t i = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *oid = (const char *)sqlite3_column_text(st, 0);
        while (i < r->n_org && !fq_streq(r->org[i].id, oid))
            i++;
        if (i == r->n_org)
            break; /* cannot happen: both are ordered by org pos */
        if (!push_str(&r->org[i].aliases, &r->org[i].n_aliases,
                      (const char *)sqlite3_column_text(st, 1))) {
            err = FQ_ENOMEM;
            break;
        }
    }
    err = scan_end(s, ST_ALIAS_LOAD, st, rc, err);
    return err;
}

static enum fq_err load_mediators(struct store *s, struct fq_roster *r)
{
    size_t n;
    enum fq_err err = count_rows(s, ST_MED_COUNT, "SELECT count(*) FROM mediators", &n);
    if (err || n == 0)
        return err;
    r->med = calloc(n, sizeof *r->med);
    if (!r->med)
        return FQ_ENOMEM;
    sqlite3_stmt *st = STMT(s, ST_MED_LOAD,
                            "SELECT id, name, role, org_id, wecom_userid, chat_user, max_open, "
                            "supervisor, active FROM mediators ORDER BY pos");
    if (!st)
        return store_err(s);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && r->n_med < n) {
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
        if (oom) {
            err = FQ_ENOMEM;
            break;
        }
    }
    err = scan_end(s, ST_MED_LOAD, st, rc, err);
    if (err)
        return err;

    st = STMT(s, ST_MED_CAT_LOAD,
              "SELECT c.mediator_id, c.category FROM mediator_categories c "
              "JOIN mediators m ON m.id = c.mediator_id ORDER BY m.pos, c.pos");
    if (!st)
        return store_err(s);
    size_t i = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mid = (const char *)sqlite3_column_text(st, 0);
        while (i < r->n_med && !fq_streq(r->med[i].id, mid))
            i++;
        if (i == r->n_med)
            break;
        if (!push_str(&r->med[i].categories, &r->med[i].n_categories,
                      (const char *)sqlite3_column_text(st, 1))) {
            err = FQ_ENOMEM;
            break;
        }
    }
    err = scan_end(s, ST_MED_CAT_LOAD, st, rc, err);
    if (err)
        return err;

    st = STMT(s, ST_MED_GW_LOAD,
              "SELECT g.mediator_id, g.channel, g.user FROM mediator_gateways g "
              "JOIN mediators m ON m.id = g.mediator_id ORDER BY m.pos, g.pos");
    if (!st)
        return store_err(s);
    i = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mid = (const char *)sqlite3_column_text(st, 0);
        while (i < r->n_med && !fq_streq(r->med[i].id, mid))
            i++;
        if (i == r->n_med)
            break;
        struct fq_mediator *m = &r->med[i];
        struct fq_gateway *g = realloc(m->gateways, (m->n_gateways + 1) * sizeof *g);
        if (!g) {
            err = FQ_ENOMEM;
            break;
        }
        m->gateways = g;
        g = &m->gateways[m->n_gateways];
        bool oom = false;
        g->channel = col_text(st, 1, true, &oom);
        g->user = col_text(st, 2, true, &oom);
        m->n_gateways++;   /* counted even half-filled, so roster_free frees what was copied */
        if (oom) {
            err = FQ_ENOMEM;
            break;
        }
    }
    err = scan_end(s, ST_MED_GW_LOAD, st, rc, err);
    return err;
}

static enum fq_err load_routes(struct store *s, struct fq_roster *r)
{
    size_t n;
    enum fq_err err = count_rows(s, ST_ROUTE_COUNT, "SELECT count(*) FROM routes", &n);
    if (err || n == 0)
        return err;
    r->routes = calloc(n, sizeof *r->routes);
    int64_t *ids = calloc(n, sizeof *ids);
    if (!r->routes || !ids) {
        free(ids);
        return FQ_ENOMEM;
    }
    sqlite3_stmt *st =
        STMT(s, ST_ROUTE_LOAD, "SELECT id, category, org_id FROM routes ORDER BY id");
    if (!st) {
        free(ids);
        return store_err(s);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && r->n_routes < n) {
        ids[r->n_routes] = sqlite3_column_int64(st, 0);
        struct fq_route *rt = &r->routes[r->n_routes++];
        bool oom = false;
        rt->category = col_text(st, 1, true, &oom);
        rt->org_id = col_text(st, 2, true, &oom);
        rt->org = -1;
        if (oom) {
            err = FQ_ENOMEM;
            break;
        }
    }
    err = scan_end(s, ST_ROUTE_LOAD, st, rc, err);
    if (err) {
        free(ids);
        return err;
    }

    st = STMT(s, ST_ROUTE_MED_LOAD,
              "SELECT route_id, mediator_id FROM route_mediators ORDER BY route_id, pos");
    if (!st) {
        free(ids);
        return store_err(s);
    }
    size_t i = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t rid = sqlite3_column_int64(st, 0);
        while (i < r->n_routes && ids[i] != rid)
            i++;
        if (i == r->n_routes)
            break;
        if (!push_str(&r->routes[i].mediators, &r->routes[i].n_mediators,
                      (const char *)sqlite3_column_text(st, 1))) {
            err = FQ_ENOMEM;
            break;
        }
    }
    err = scan_end(s, ST_ROUTE_MED_LOAD, st, rc, err);
    free(ids);
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

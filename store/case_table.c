/* case_table.c: the case ledger (台账), its append-only history, case numbers and the per-mediator
 * load used by routing.
 *
 * Design: case numbers come from day_seq, one row per local day bumped with an UPSERT ...
 * RETURNING inside the caller's transaction, so two cases of one batch get consecutive numbers
 * and a rolled-back case gives its number back. Listings use fixed statements whose filters are
 * "(?n IS NULL OR column = ?n)" bindings, never SQL built from text; the two common narrow
 * listings (one resident, one mediator) get their own statement so SQLite can use the index.
 * Listing callbacks receive a case whose strings point into SQLite's row (no copies); they are
 * valid only during the call. */
#include "store/stmt.h"
#include "common/fq.h"
#include "common/localtime.h"
#include "store/case_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void case_cleanup(struct fq_case *c)
{
    if (!c)
        return;
    free(c->channel);
    free(c->user);
    free(c->name);
    free(c->contact);
    free(c->place_org);
    free(c->place_text);
    free(c->description);
    free(c->org_id);
    free(c->mediator_id);
    free(c->close_reason);
    free(c->pause_reason);
    free(c->locale);
    memset(c, 0, sizeof *c);
}

void case_event_cleanup(struct fq_case_event *e)
{
    if (!e)
        return;
    free(e->type);
    free(e->actor);
    free(e->note);
    free(e->data);
    memset(e, 0, sizeof *e);
}

#define CASE_COLS                                                                              \
    "id, case_no, channel, user, name, contact, category, severity, place_org, place_text, "   \
    "description, people, org_id, mediator_id, status, tier, attempts, escalations, "          \
    "close_reason, locale, parent_case, created_at, assigned_at, accepted_at, resolved_at, "   \
    "closed_at, due_accept, due_resolve, updated_at, latitude, longitude, "                    \
    "(SELECT p.case_no FROM cases p WHERE p.id = cases.parent_case), paused_at, pause_reason, "  \
    "paused_total"

static void case_from_row(sqlite3_stmt *st, struct fq_case *c, bool dup, bool *oom)
{
    c->id = sqlite3_column_int64(st, 0);
    col_text_buf(st, 1, c->case_no, sizeof c->case_no);
    c->channel = col_text(st, 2, dup, oom);
    c->user = col_text(st, 3, dup, oom);
    c->name = col_text(st, 4, dup, oom);
    c->contact = col_text(st, 5, dup, oom);
    col_text_buf(st, 6, c->category, sizeof c->category);
    c->severity = sqlite3_column_int(st, 7);
    c->place_org = col_text(st, 8, dup, oom);
    c->place_text = col_text(st, 9, dup, oom);
    c->description = col_text(st, 10, dup, oom);
    c->people = sqlite3_column_int(st, 11);
    c->org_id = col_text(st, 12, dup, oom);
    c->mediator_id = col_text(st, 13, dup, oom);
    c->status = (enum fq_case_status)col_enum(st, 14, fq_case_status_parse, FQ_CASE__COUNT);
    c->tier = sqlite3_column_int(st, 15);
    c->attempts = sqlite3_column_int(st, 16);
    c->escalations = sqlite3_column_int(st, 17);
    c->close_reason = col_text(st, 18, dup, oom);
    c->locale = col_text(st, 19, dup, oom);
    c->parent_case = sqlite3_column_int64(st, 20);
    c->created_at = sqlite3_column_int64(st, 21);
    c->assigned_at = sqlite3_column_int64(st, 22);
    c->accepted_at = sqlite3_column_int64(st, 23);
    c->resolved_at = sqlite3_column_int64(st, 24);
    c->closed_at = sqlite3_column_int64(st, 25);
    c->due_accept = sqlite3_column_int64(st, 26);
    c->due_resolve = sqlite3_column_int64(st, 27);
    c->updated_at = sqlite3_column_int64(st, 28);
    c->has_location = sqlite3_column_type(st, 29) != SQLITE_NULL &&
                      sqlite3_column_type(st, 30) != SQLITE_NULL;
    c->latitude = c->has_location ? sqlite3_column_double(st, 29) : 0;
    c->longitude = c->has_location ? sqlite3_column_double(st, 30) : 0;
    col_text_buf(st, 31, c->parent_case_no, sizeof c->parent_case_no);
    c->paused_at = sqlite3_column_int64(st, 32);
    c->pause_reason = col_text(st, 33, dup, oom);
    c->paused_total = sqlite3_column_int64(st, 34);
}

/* Binds the mutable fields at ?2.. in the order of the UPDATE and INSERT below. */
static void bind_case_fields(sqlite3_stmt *st, const struct fq_case *c)
{
    bind_text(st, 2, c->channel);
    bind_text(st, 3, c->user);
    bind_text(st, 4, c->name);
    bind_text(st, 5, c->contact);
    bind_text(st, 6, c->category);
    sqlite3_bind_int(st, 7, c->severity);
    bind_text(st, 8, c->place_org);
    bind_text(st, 9, c->place_text);
    bind_text(st, 10, c->description);
    sqlite3_bind_int(st, 11, c->people);
    bind_text(st, 12, c->org_id);
    bind_text(st, 13, c->mediator_id);
    bind_text(st, 14, fq_case_status_name(c->status));
    sqlite3_bind_int(st, 15, c->tier);
    sqlite3_bind_int(st, 16, c->attempts);
    sqlite3_bind_int(st, 17, c->escalations);
    bind_text(st, 18, c->close_reason);
    bind_text(st, 19, c->locale);
    bind_int64(st, 20, c->parent_case);
    bind_int64(st, 21, c->created_at);
    bind_int64(st, 22, c->assigned_at);
    bind_int64(st, 23, c->accepted_at);
    bind_int64(st, 24, c->resolved_at);
    bind_int64(st, 25, c->closed_at);
    bind_int64(st, 26, c->due_accept);
    bind_int64(st, 27, c->due_resolve);
    bind_int64(st, 28, c->updated_at);
    if (c->has_location) {
        bind_double(st, 29, c->latitude);
        bind_double(st, 30, c->longitude);
    } else {
        sqlite3_bind_null(st, 29);
        sqlite3_bind_null(st, 30);
    }
    bind_int64(st, 31, c->paused_at);
    bind_text(st, 32, c->pause_reason);
    bind_int64(st, 33, c->paused_total);
}

static enum fq_err next_day_seq(struct store *s, int day, int64_t *seq)
{
    sqlite3_stmt *st = STMT(s, ST_DAY_SEQ_NEXT,
                            "INSERT INTO day_seq(day, last) VALUES (?1, 1) "
                            "ON CONFLICT(day) DO UPDATE SET last = last + 1 RETURNING last");
    if (!st)
        return store_err(s);
    sqlite3_bind_int(st, 1, day);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st); /* finish the statement: the write completes at DONE */
    }
    if (rc != SQLITE_DONE)
        err = store_map_rc(rc) ? store_map_rc(rc) : FQ_ESTORE;
    stmt_done(s, ST_DAY_SEQ_NEXT, st);
    return err;
}

enum fq_err store_case_insert(struct store *s, struct fq_case *c)
{
    if (!c || !c->channel || !c->user || (int)c->status < 0 || c->status >= FQ_CASE__COUNT)
        return FQ_EINVAL;
    bool own;
    enum fq_err err = isp_begin(s, &own);
    if (err)
        return err;
    int64_t seq = 0;
    int day = fq_local_yyyymmdd(c->created_at);
    err = next_day_seq(s, day, &seq);
    if (err)
        goto out;
    char no[sizeof c->case_no];
    snprintf(no, sizeof no, "FQ%08d-%04d", day, (int)seq);

    sqlite3_stmt *st = STMT(
        s, ST_CASE_INSERT,
        "INSERT INTO cases(case_no, channel, user, name, contact, category, severity, "
        "place_org, place_text, description, people, org_id, mediator_id, status, tier, "
        "attempts, escalations, close_reason, locale, parent_case, created_at, assigned_at, "
        "accepted_at, resolved_at, closed_at, due_accept, due_resolve, updated_at, latitude, "
        "longitude, paused_at, pause_reason, paused_total) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
        " ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33)");
    if (!st) {
        err = store_err(s);
        goto out;
    }
    bind_text(st, 1, no);
    bind_case_fields(st, c);
    err = stmt_exec(s, ST_CASE_INSERT, st);
    if (err)
        goto out;
    c->id = sqlite3_last_insert_rowid(s->db);
    memcpy(c->case_no, no, sizeof no);
out:
    return isp_end(s, own, err);
}

enum fq_err store_case_update(struct store *s, const struct fq_case *c)
{
    if (!c || c->id <= 0 || (int)c->status < 0 || c->status >= FQ_CASE__COUNT)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(
        s, ST_CASE_UPDATE,
        "UPDATE cases SET channel = ?2, user = ?3, name = ?4, contact = ?5, category = ?6,"
        " severity = ?7, place_org = ?8, place_text = ?9, description = ?10, people = ?11,"
        " org_id = ?12, mediator_id = ?13, status = ?14, tier = ?15, attempts = ?16,"
        " escalations = ?17, close_reason = ?18, locale = ?19, parent_case = ?20,"
        " created_at = ?21, assigned_at = ?22, accepted_at = ?23, resolved_at = ?24,"
        " closed_at = ?25, due_accept = ?26, due_resolve = ?27, updated_at = ?28,"
        " latitude = ?29, longitude = ?30, paused_at = ?31, pause_reason = ?32,"
        " paused_total = ?33 "
        "WHERE id = ?1");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, c->id);
    bind_case_fields(st, c);
    enum fq_err err = stmt_exec(s, ST_CASE_UPDATE, st);
    if (!err && sqlite3_changes(s->db) == 0)
        err = FQ_ENOTFOUND;
    return err;
}

static enum fq_err case_get_one(struct store *s, enum stmt_id id, sqlite3_stmt *st,
                                struct fq_case *out)
{
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bool oom = false;
        case_from_row(st, out, true, &oom);
        if (oom) {
            case_cleanup(out);
            err = FQ_ENOMEM;
        }
    } else if (rc == SQLITE_DONE) {
        err = FQ_ENOTFOUND;
    } else {
        err = store_map_rc(rc);
    }
    stmt_done(s, id, st);
    return err;
}

enum fq_err store_case_get(struct store *s, const char *case_no, struct fq_case *out)
{
    memset(out, 0, sizeof *out);
    if (!case_no)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_CASE_GET, "SELECT " CASE_COLS " FROM cases WHERE case_no = ?1");
    if (!st)
        return store_err(s);
    bind_text(st, 1, case_no);
    return case_get_one(s, ST_CASE_GET, st, out);
}

enum fq_err store_case_get_id(struct store *s, int64_t id, struct fq_case *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = STMT(s, ST_CASE_GET_ID, "SELECT " CASE_COLS " FROM cases WHERE id = ?1");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, id);
    return case_get_one(s, ST_CASE_GET_ID, st, out);
}

/* The case list. A filter that is not given is left out of the statement instead of written as
 * "(?1 IS NULL OR ...)", which would keep SQLite from using any index for it; so each
 * combination of given filters (a bit each, CASE_LIST_SHAPES in all) has its own statement,
 * built on first use and kept per connection. Migration 0007 adds the indexes they need: status
 * and org with creation time, the open cases by creation time. Keyset paging compares the row
 * value (created_at, id), which an index on created_at (holding the rowid) serves directly.
 * Parameters keep their numbers in every shape (binding one a shape does not name is a harmless
 * SQLITE_RANGE, ignored): ?1 status, ?2 org (handling node or place),
 * ?3/?4 channel/user, ?5 mediator, ?6 since (inclusive), ?7 until (exclusive), ?8 limit (-1:
 * none), ?9/?10 the cursor (id, created_at), ?11 offset. */
enum {
    CL_STATUS = 1, CL_OPEN = 2, CL_ORG = 4, CL_RESIDENT = 8, CL_MEDIATOR = 16, CL_SINCE = 32,
    CL_UNTIL = 64, CL_CURSOR = 128
};
_Static_assert(CL_CURSOR * 2 == CASE_LIST_SHAPES, "one statement per combination");

static unsigned case_list_shape(const struct fq_case_filter *f)
{
    unsigned k = 0;
    if (f->status)
        k |= strcmp(f->status, "open") == 0 ? CL_OPEN : CL_STATUS;
    if (f->org_id)
        k |= CL_ORG;
    if (f->channel && f->user)
        k |= CL_RESIDENT;
    if (f->mediator_id)
        k |= CL_MEDIATOR;
    if (f->since)
        k |= CL_SINCE;
    if (f->until)
        k |= CL_UNTIL;
    if (f->after_id)
        k |= CL_CURSOR;
    return k;
}

/* The statement text of a shape; false when out of memory. */
static bool case_list_sql(unsigned k, struct fq_buf *b)
{
    static const struct {
        unsigned bit;
        const char *cond;
    } terms[] = {
        {CL_STATUS, "status = ?1"},
        {CL_OPEN, "status NOT IN ('resolved', 'closed', 'cancelled')"},
        {CL_ORG, "(org_id = ?2 OR place_org = ?2)"},
        {CL_RESIDENT, "channel = ?3 AND user = ?4"},
        {CL_MEDIATOR, "mediator_id = ?5"},
        {CL_SINCE, "created_at >= ?6"},
        {CL_UNTIL, "created_at < ?7"},
        {CL_CURSOR, "(created_at, id) < (?10, ?9)"},
    };
    buf_puts(b, "SELECT " CASE_COLS " FROM cases WHERE ");
    bool any = false;
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++)
        if (k & terms[i].bit) {
            buf_puts(b, any ? " AND " : "");
            buf_puts(b, terms[i].cond);
            any = true;
        }
    buf_puts(b, any ? "" : "1");
    buf_puts(b, " ORDER BY created_at DESC, id DESC LIMIT ?8 OFFSET ?11");
    return !b->oom;
}

/* The shape's cached statement, or a fresh one while the cached one is still stepping (a
 * callback listing again); NULL on failure. */
static sqlite3_stmt *case_list_stmt(struct store *s, unsigned k)
{
    sqlite3_stmt *st = s->case_list[k];
    if (st && !sqlite3_stmt_busy(st))
        return st;
    struct fq_buf b;
    buf_init(&b);
    sqlite3_stmt *fresh = NULL;
    if (case_list_sql(k, &b) &&
        sqlite3_prepare_v3(s->db, b.s, -1, st ? 0 : SQLITE_PREPARE_PERSISTENT, &fresh,
                           NULL) != SQLITE_OK) {
        sqlite3_finalize(fresh);
        fresh = NULL;
    }
    buf_cleanup(&b);
    if (fresh && !st)
        s->case_list[k] = fresh;
    return fresh;
}

static void case_list_done(struct store *s, unsigned k, sqlite3_stmt *st)
{
    if (s->case_list[k] == st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        sqlite3_finalize(st);
    }
}

const char *store_case_list_sql(const struct fq_case_filter *f, char *buf, size_t size)
{
    struct fq_buf b;
    buf_init(&b);
    bool ok = case_list_sql(case_list_shape(f), &b) && b.len < size;
    if (ok)
        memcpy(buf, b.s, b.len + 1);
    buf_cleanup(&b);
    return ok ? buf : NULL;
}

enum fq_err store_case_list(struct store *s, const struct fq_case_filter *f,
                            void (*cb)(const struct fq_case *c, void *arg), void *arg)
{
    static const struct fq_case_filter none = {0};
    if (!f)
        f = &none;
    unsigned k = case_list_shape(f);
    sqlite3_stmt *st = case_list_stmt(s, k);
    if (!st)
        return store_err(s);
    bind_text(st, 1, f->status);
    bind_text(st, 2, f->org_id);
    bind_text(st, 3, f->channel);
    bind_text(st, 4, f->user);
    bind_text(st, 5, f->mediator_id);
    bind_int64(st, 6, f->since);
    bind_int64(st, 7, f->until);
    bind_int64(st, 8, f->limit ? (int64_t)f->limit : -1);
    bind_int64(st, 9, f->after_id);
    bind_int64(st, 10, f->after_created_at);
    bind_int64(st, 11, (int64_t)f->offset);

    enum fq_err err = FQ_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct fq_case c;
        bool oom = false;
        memset(&c, 0, sizeof c);
        case_from_row(st, &c, false, &oom);
        if (oom) {
            err = FQ_ENOMEM;
            break;
        }
        if (cb)
            cb(&c, arg);
    }
    if (!err && rc != SQLITE_DONE)
        err = store_map_rc(rc);
    case_list_done(s, k, st);
    return err;
}

enum fq_err store_case_count_by_resident(struct store *s, const char *channel, const char *user,
                                         int64_t since, int64_t *count)
{
    *count = 0;
    sqlite3_stmt *st = STMT(s, ST_CASE_COUNT_RESIDENT,
                            "SELECT count(*) FROM cases "
                            "WHERE channel = ?1 AND user = ?2 AND created_at >= ?3");
    if (!st)
        return store_err(s);
    bind_text(st, 1, channel);
    bind_text(st, 2, user);
    bind_int64(st, 3, since);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *count = sqlite3_column_int64(st, 0);
    else
        err = store_map_rc(rc) ? store_map_rc(rc) : FQ_ESTORE;
    stmt_done(s, ST_CASE_COUNT_RESIDENT, st);
    return err;
}

enum fq_err store_mediator_load(struct store *s, const char *mediator_id, int64_t *open_cases,
                                int64_t *last_assigned)
{
    *open_cases = 0;
    *last_assigned = 0;
    sqlite3_stmt *st = STMT(
        s, ST_MEDIATOR_LOAD,
        "SELECT COALESCE((SELECT open_cases FROM mediator_open WHERE mediator_id = ?1), 0),"
        " COALESCE((SELECT MAX(assigned_at) FROM cases WHERE mediator_id = ?1), 0)");
    if (!st)
        return store_err(s);
    bind_text(st, 1, mediator_id);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *open_cases = sqlite3_column_int64(st, 0);
        *last_assigned = sqlite3_column_int64(st, 1);
    } else {
        err = store_map_rc(rc) ? store_map_rc(rc) : FQ_ESTORE;
    }
    stmt_done(s, ST_MEDIATOR_LOAD, st);
    return err;
}

/* ---- events -------------------------------------------------------------------------------- */
enum fq_err store_case_event_add(struct store *s, int64_t case_id, const char *type,
                                 const char *actor, const char *note, const char *data,
                                 int64_t at)
{
    if (!type || !actor)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_EVENT_ADD,
                            "INSERT INTO case_events(case_id, type, actor, note, data, at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, case_id);
    bind_text(st, 2, type);
    bind_text(st, 3, actor);
    bind_text(st, 4, note);
    bind_text(st, 5, data);
    bind_int64(st, 6, at);
    return stmt_exec(s, ST_EVENT_ADD, st);
}

enum fq_err store_case_events(struct store *s, int64_t case_id,
                              void (*cb)(const struct fq_case_event *e, void *arg), void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_EVENT_LIST,
                            "SELECT id, case_id, type, actor, note, data, at FROM case_events "
                            "WHERE case_id = ?1 ORDER BY id");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, case_id);
    enum fq_err err = FQ_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bool oom = false;
        struct fq_case_event e = {
            .id = sqlite3_column_int64(st, 0),
            .case_id = sqlite3_column_int64(st, 1),
            .type = col_text(st, 2, false, &oom),
            .actor = col_text(st, 3, false, &oom),
            .note = col_text(st, 4, false, &oom),
            .data = col_text(st, 5, false, &oom),
            .at = sqlite3_column_int64(st, 6),
        };
        if (oom) {
            err = FQ_ENOMEM;
            break;
        }
        if (cb)
            cb(&e, arg);
    }
    if (!err && rc != SQLITE_DONE)
        err = store_map_rc(rc);
    stmt_done(s, ST_EVENT_LIST, st);
    return err;
}

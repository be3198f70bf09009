/* convo.c: residents and their conversations (docs/contract.md 6), one row each
 * per (channel, user).
 *
 * Design: both are written with an UPSERT (no delete + insert, so no index churn beyond the
 * changed columns). The idle sweep copies its rows out before calling back, because its
 * callback typically writes the very rows being swept (state back to idle), which must not
 * happen under a running SELECT of the same table. */
#include "store/stmt.h"
#include "common/fq.h"
#include "common/status.h"
#include "store/convo.h"

#include <stdlib.h>
#include <string.h>

/* ---- residents ----------------------------------------------------------------------------- */
void resident_cleanup(struct fq_resident *r)
{
    if (!r)
        return;
    free(r->channel);
    free(r->user);
    free(r->name);
    free(r->contact);
    memset(r, 0, sizeof *r);
    r->locale = -1;
}

enum fq_err store_resident_get(struct store *s, const char *channel, const char *user,
                               struct fq_resident *out)
{
    memset(out, 0, sizeof *out);
    out->locale = -1;
    sqlite3_stmt *st = STMT(s, ST_RESIDENT_GET,
                            "SELECT channel, user, name, contact, locale, first_seen, last_seen "
                            "FROM residents WHERE channel = ?1 AND user = ?2");
    if (!st)
        return store_err(s);
    bind_text(st, 1, channel);
    bind_text(st, 2, user);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bool oom = false;
        out->channel = col_text(st, 0, true, &oom);
        out->user = col_text(st, 1, true, &oom);
        out->name = col_text(st, 2, true, &oom);
        out->contact = col_text(st, 3, true, &oom);
        out->locale = sqlite3_column_int(st, 4);
        out->first_seen = sqlite3_column_int64(st, 5);
        out->last_seen = sqlite3_column_int64(st, 6);
        if (oom) {
            resident_cleanup(out);
            err = FQ_ENOMEM;
        }
    } else if (rc == SQLITE_DONE) {
        err = FQ_ENOTFOUND;
    } else {
        err = store_map_rc(rc);
    }
    stmt_done(s, ST_RESIDENT_GET, st);
    return err;
}

enum fq_err store_resident_put(struct store *s, const struct fq_resident *r)
{
    if (!r || !r->channel || !r->user)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(
        s, ST_RESIDENT_PUT,
        "INSERT INTO residents(channel, user, name, contact, locale, first_seen, last_seen) "
        "VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?6 > 0 THEN ?6 ELSE ?7 END, ?7) "
        "ON CONFLICT(channel, user) DO UPDATE SET "
        " name = COALESCE(excluded.name, name),"
        " contact = COALESCE(excluded.contact, contact),"
        " locale = CASE WHEN excluded.locale >= 0 THEN excluded.locale ELSE locale END,"
        " first_seen = CASE WHEN first_seen = 0 OR (excluded.first_seen > 0 AND"
        "   excluded.first_seen < first_seen) THEN excluded.first_seen ELSE first_seen END,"
        " last_seen = MAX(last_seen, excluded.last_seen)");
    if (!st)
        return store_err(s);
    bind_text(st, 1, r->channel);
    bind_text(st, 2, r->user);
    bind_text(st, 3, r->name);
    bind_text(st, 4, r->contact);
    sqlite3_bind_int(st, 5, r->locale);
    bind_int64(st, 6, r->first_seen);
    bind_int64(st, 7, r->last_seen);
    return stmt_exec(s, ST_RESIDENT_PUT, st);
}

/* ---- conversations ------------------------------------------------------------------------- */
void convo_cleanup(struct fq_convo *c)
{
    if (!c)
        return;
    free(c->channel);
    free(c->user);
    free(c->category);
    free(c->org_id);
    free(c->place_text);
    free(c->description);
    free(c->contact);
    free(c->name);
    free(c->last_case_no);
    free(c->category_offer);
    memset(c, 0, sizeof *c);
}

#define CONVO_COLS                                                                             \
    "channel, user, state, locale, category, org_id, place_text, description, contact, name, " \
    "people, danger, latitude, longitude, has_location, last_case_no, started_at, updated_at, " \
    "category_offer, locale_source, place_menu"

/* Fills c from the row (columns in CONVO_COLS order). dup false: strings borrowed from st. */
static void convo_from_row(sqlite3_stmt *st, struct fq_convo *c, bool dup, bool *oom)
{
    c->channel = col_text(st, 0, dup, oom);
    c->user = col_text(st, 1, dup, oom);
    c->state = (enum fq_convo_state)col_enum(st, 2, fq_convo_state_parse, FQ_CONVO_IDLE);
    c->locale = sqlite3_column_int(st, 3);
    c->category = col_text(st, 4, dup, oom);
    c->org_id = col_text(st, 5, dup, oom);
    c->place_text = col_text(st, 6, dup, oom);
    c->description = col_text(st, 7, dup, oom);
    c->contact = col_text(st, 8, dup, oom);
    c->name = col_text(st, 9, dup, oom);
    c->people = sqlite3_column_int(st, 10);
    c->danger = sqlite3_column_int(st, 11) != 0;
    c->latitude = sqlite3_column_double(st, 12);
    c->longitude = sqlite3_column_double(st, 13);
    c->has_location = sqlite3_column_int(st, 14) != 0;
    c->last_case_no = col_text(st, 15, dup, oom);
    c->started_at = sqlite3_column_int64(st, 16);
    c->updated_at = sqlite3_column_int64(st, 17);
    c->category_offer = col_text(st, 18, dup, oom);
    c->locale_source = sqlite3_column_int(st, 19);
    c->place_menu = sqlite3_column_int(st, 20) != 0;
}

enum fq_err store_convo_get(struct store *s, const char *channel, const char *user,
                            struct fq_convo *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = STMT(s, ST_CONVO_GET,
                            "SELECT " CONVO_COLS " FROM conversations "
                            "WHERE channel = ?1 AND user = ?2");
    if (!st)
        return store_err(s);
    bind_text(st, 1, channel);
    bind_text(st, 2, user);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bool oom = false;
        convo_from_row(st, out, true, &oom);
        if (oom) {
            convo_cleanup(out);
            err = FQ_ENOMEM;
        }
    } else if (rc == SQLITE_DONE) {
        err = FQ_ENOTFOUND;
    } else {
        err = store_map_rc(rc);
    }
    stmt_done(s, ST_CONVO_GET, st);
    return err;
}

enum fq_err store_convo_put(struct store *s, const struct fq_convo *c)
{
    if (!c || !c->channel || !c->user)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(
        s, ST_CONVO_PUT,
        "INSERT INTO conversations(" CONVO_COLS ") VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21) "
        "ON CONFLICT(channel, user) DO UPDATE SET state = excluded.state,"
        " locale = excluded.locale, category = excluded.category, org_id = excluded.org_id,"
        " place_text = excluded.place_text, description = excluded.description,"
        " contact = excluded.contact, name = excluded.name, people = excluded.people,"
        " danger = excluded.danger, latitude = excluded.latitude,"
        " longitude = excluded.longitude, has_location = excluded.has_location,"
        " last_case_no = excluded.last_case_no, started_at = excluded.started_at,"
        " updated_at = excluded.updated_at, category_offer = excluded.category_offer,"
        " locale_source = excluded.locale_source, place_menu = excluded.place_menu");
    if (!st)
        return store_err(s);
    bind_text(st, 1, c->channel);
    bind_text(st, 2, c->user);
    bind_text(st, 3, fq_convo_state_name(c->state));
    sqlite3_bind_int(st, 4, c->locale);
    bind_text(st, 5, c->category);
    bind_text(st, 6, c->org_id);
    bind_text(st, 7, c->place_text);
    bind_text(st, 8, c->description);
    bind_text(st, 9, c->contact);
    bind_text(st, 10, c->name);
    sqlite3_bind_int(st, 11, c->people);
    sqlite3_bind_int(st, 12, c->danger ? 1 : 0);
    bind_double(st, 13, c->latitude);
    bind_double(st, 14, c->longitude);
    sqlite3_bind_int(st, 15, c->has_location ? 1 : 0);
    bind_text(st, 16, c->last_case_no);
    bind_int64(st, 17, c->started_at);
    bind_int64(st, 18, c->updated_at);
    bind_text(st, 19, c->category_offer);
    sqlite3_bind_int(st, 20, c->locale_source);
    sqlite3_bind_int(st, 21, c->place_menu ? 1 : 0);
    return stmt_exec(s, ST_CONVO_PUT, st);
}

enum fq_err store_convo_idle(struct store *s, int64_t before, size_t limit,
                             void (*cb)(const struct fq_convo *c, void *arg), void *arg)
{
    /* The WHERE matches the partial index conversations_unfinished word for word, so the names
     * of FQ_CONVO_IDLE and FQ_CONVO_SUBMITTED are written out (a bound value would not use it). */
    sqlite3_stmt *st = STMT(s, ST_CONVO_IDLE,
                            "SELECT " CONVO_COLS " FROM conversations "
                            "WHERE state NOT IN ('idle', 'submitted') AND updated_at < ?1 "
                            "ORDER BY updated_at LIMIT ?2");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, before);
    bind_int64(st, 2, limit ? (int64_t)limit : -1);

    enum fq_err err = FQ_OK;
    struct fq_convo *rows = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!store_grow((void **)&rows, &cap, n, sizeof *rows)) {
            err = FQ_ENOMEM;
            break;
        }
        bool oom = false;
        memset(&rows[n], 0, sizeof rows[n]);
        convo_from_row(st, &rows[n], true, &oom);
        n++;
        if (oom) {
            err = FQ_ENOMEM;
            break;
        }
    }
    if (!err && rc != SQLITE_DONE)
        err = store_map_rc(rc);
    stmt_done(s, ST_CONVO_IDLE, st);

    for (size_t i = 0; i < n; i++) {
        if (!err && cb)
            cb(&rows[i], arg);
        convo_cleanup(&rows[i]);
    }
    free(rows);
    return err;
}

int64_t store_convo_open_count(struct store *s)
{
    sqlite3_stmt *st = STMT(s, ST_CONVO_OPEN_COUNT,
                            "SELECT count(*) FROM conversations WHERE state <> ?1");
    if (!st)
        return -1;
    bind_text(st, 1, fq_convo_state_name(FQ_CONVO_IDLE));
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    stmt_done(s, ST_CONVO_OPEN_COUNT, st);
    return n;
}

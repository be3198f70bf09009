/* report_query.c: the few queries behind the monthly report and the ledger (handlers/report.c does
 * the arithmetic). They select case ids; the cases and their events are read with
 * store_case_get_id and store_case_events, so the column mapping stays in cases.c alone.
 *
 * The statements are constant texts in the connection's statement cache (store/stmt.h). A
 * period's cases are a union of index ranges (migration 0007: created, updated, resolved, closed
 * and the open cases), so a month's report reads the cases of that month and those still open
 * or touched since, not every case ever stored. */
#include "store/stmt.h"
#include "common/fq.h"
#include "store/report_query.h"

#include <stdlib.h>
#include <string.h>

static enum fq_err collect_ids(struct store *s, enum stmt_id id, sqlite3_stmt *st, int64_t **ids,
                               size_t *n)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 0;
    enum fq_err err = FQ_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            int64_t *v = realloc(*ids, nc * sizeof *v);
            if (!v) {
                err = FQ_ENOMEM;
                break;
            }
            *ids = v;
            cap = nc;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    if (!err && rc != SQLITE_DONE) {
        err = store_map_rc(sqlite3_extended_errcode(s->db));
        if (!err)
            err = FQ_ESTORE;
    }
    stmt_done(s, id, st);
    if (err) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return err;
}

#define REPORT_CASE_IDS_SQL                                                                    \
    "SELECT id FROM cases WHERE id IN ("                                                       \
    " SELECT id FROM cases WHERE created_at >= ?1 AND created_at < ?2"                         \
    " UNION SELECT id FROM cases WHERE updated_at >= ?1"                                       \
    " UNION SELECT id FROM cases WHERE resolved_at >= ?1 AND resolved_at > 0"                  \
    " UNION SELECT id FROM cases WHERE closed_at >= ?1 AND closed_at > 0"                      \
    " UNION SELECT id FROM cases WHERE status NOT IN ('resolved', 'closed', 'cancelled'))"     \
    " AND created_at < ?2 ORDER BY created_at, id"
#define REPORT_CREATED_IDS_SQL                                                                 \
    "SELECT id FROM cases WHERE created_at >= ?1 AND created_at < ?2 ORDER BY created_at, id"

const char *store_report_sql(int which)
{
    return which == 0 ? REPORT_CASE_IDS_SQL : which == 1 ? REPORT_CREATED_IDS_SQL : NULL;
}

enum fq_err store_report_case_ids(struct store *s, int64_t start, int64_t end, int64_t **ids,
                                  size_t *n)
{
    sqlite3_stmt *st = STMT(s, ST_REPORT_CASE_IDS, REPORT_CASE_IDS_SQL);
    if (!st) {
        *ids = NULL;
        *n = 0;
        return store_err(s);
    }
    bind_int64(st, 1, start);
    bind_int64(st, 2, end);
    return collect_ids(s, ST_REPORT_CASE_IDS, st, ids, n);
}

enum fq_err store_report_created_ids(struct store *s, int64_t start, int64_t end, int64_t **ids,
                                     size_t *n)
{
    sqlite3_stmt *st = STMT(s, ST_REPORT_CREATED_IDS, REPORT_CREATED_IDS_SQL);
    if (!st) {
        *ids = NULL;
        *n = 0;
        return store_err(s);
    }
    bind_int64(st, 1, start);
    bind_int64(st, 2, end);
    return collect_ids(s, ST_REPORT_CREATED_IDS, st, ids, n);
}

enum fq_err store_report_outcome_note(struct store *s, int64_t case_id, char **note)
{
    *note = NULL;
    sqlite3_stmt *st = STMT(s, ST_REPORT_OUTCOME_NOTE,
                            "SELECT note FROM case_events WHERE case_id = ?1 AND type IN "
                            "('resolved', 'closed') ORDER BY id DESC LIMIT 1");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, case_id);
    enum fq_err err = FQ_OK;
    bool oom = false;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *note = col_text(st, 0, true, &oom);
        if (oom)
            err = FQ_ENOMEM;
    } else if (rc != SQLITE_DONE) {
        err = store_map_rc(sqlite3_extended_errcode(s->db));
        if (!err)
            err = FQ_ESTORE;
    }
    stmt_done(s, ST_REPORT_OUTCOME_NOTE, st);
    return err;
}

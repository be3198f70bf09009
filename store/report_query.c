/* report_query.c: the few queries behind the monthly report and the ledger (handlers/report.c does
 * the arithmetic). They select case ids; the cases and their events are read with
 * store_case_get_id and store_case_events, so the column mapping stays in cases.c alone.
 *
 * The statements are constant texts in the connection's statement cache (store/stmt.h). No
 * index is added for reports
 * (cases_created already exists): a report is rare, while an index would tax every write on the
 * hot path. */
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

enum fq_err store_report_case_ids(struct store *s, int64_t start, int64_t end, int64_t **ids,
                                  size_t *n)
{
    sqlite3_stmt *st = STMT(s, ST_REPORT_CASE_IDS,
                            "SELECT id FROM cases WHERE created_at < ?2 AND ("
                            "created_at >= ?1 OR resolved_at >= ?1 OR closed_at >= ?1 OR "
                            "updated_at >= ?1 OR status NOT IN ('resolved', 'closed', "
                            "'cancelled')) ORDER BY created_at, id");
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
    sqlite3_stmt *st = STMT(s, ST_REPORT_CREATED_IDS,
                            "SELECT id FROM cases WHERE created_at >= ?1 AND created_at < ?2 "
                            "ORDER BY created_at, id");
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

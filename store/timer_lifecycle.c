/* timer_lifecycle.c: the store queries of the lifecycle timers (docs/contract.md 7.4) that
 * store/timer_table.c does not have: one timer row by id (the core loads each fired timer by the id the
 * scheduler sent) and the cases of a supervisor's digest.
 *
 * Both statements are constant texts in the connection's statement cache (store/stmt.h). */
#include "store/stmt.h"
#include "common/fq.h"
#include "store/timer_lifecycle.h"
#include "store/timer_table.h"

#include <stdlib.h>
#include <string.h>

enum fq_err store_timer_get(struct store *s, int64_t id, struct fq_timer *out, int *state)
{
    memset(out, 0, sizeof *out);
    if (state)
        *state = 0;
    sqlite3_stmt *st = STMT(s, ST_TIMER_GET,
                            "SELECT id, due_at, kind, case_id, arg, fired_at IS NOT NULL, "
                            "cancelled_at IS NOT NULL FROM timers WHERE id = ?1");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, id);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bool oom = false;
        out->id = sqlite3_column_int64(st, 0);
        out->due_at = sqlite3_column_int64(st, 1);
        out->kind = (enum fq_timer_kind)col_enum(st, 2, fq_timer_kind_parse, FQ_TIMER__COUNT);
        out->case_id = sqlite3_column_int64(st, 3);
        out->arg = col_text(st, 4, true, &oom);
        if (oom)
            err = FQ_ENOMEM;
        if (state)
            *state = sqlite3_column_int(st, 5) ? 1 : sqlite3_column_int(st, 6) ? 2 : 0;
    } else if (rc == SQLITE_DONE) {
        err = FQ_ENOTFOUND;
    } else {
        err = store_map_rc(rc);
    }
    stmt_done(s, ST_TIMER_GET, st);
    if (err)
        timer_cleanup(out);
    return err;
}

/* ?1 since, ?2 now. A 督办 is a "reminder" event whose data names the kind "supervise"
 * (handlers/timers.c writes it). */
#define DIGEST_SQL                                                                             \
    "SELECT id, case_no, org_id, place_org, n, o, e FROM ("                                   \
    " SELECT id, case_no, org_id, place_org, created_at,"                                     \
    "  created_at >= ?1 AS n,"                                                                 \
    "  (status NOT IN ('resolved', 'closed', 'cancelled') AND due_resolve > 0"                 \
    "   AND due_resolve <= ?2) AS o,"                                                          \
    "  EXISTS (SELECT 1 FROM case_events ev WHERE ev.case_id = cases.id AND ev.at >= ?1"       \
    "   AND (ev.type = 'escalated' OR (ev.type = 'reminder'"                                   \
    "        AND ev.data LIKE '%\"supervise\"%'))) AS e"                                      \
    " FROM cases WHERE id IN (SELECT id FROM cases WHERE created_at >= ?1"                     \
    "  UNION SELECT id FROM cases WHERE updated_at >= ?1"                                      \
    "  UNION SELECT id FROM cases WHERE status NOT IN ('resolved', 'closed', 'cancelled')))"   \
    " WHERE n OR o OR e ORDER BY created_at, id"

enum fq_err store_digest_cases(struct store *s, int64_t since, int64_t now,
                               void (*cb)(const struct fq_digest_row *r, void *arg), void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_DIGEST_CASES, DIGEST_SQL);
    if (!st)
        return store_err(s);
    bind_int64(st, 1, since);
    bind_int64(st, 2, now);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct fq_digest_row r;
        bool oom = false;
        memset(&r, 0, sizeof r);
        r.id = sqlite3_column_int64(st, 0);
        col_text_buf(st, 1, r.case_no, sizeof r.case_no);
        r.org_id = col_text(st, 2, false, &oom);
        r.place_org = col_text(st, 3, false, &oom);
        r.is_new = sqlite3_column_int(st, 4) != 0;
        r.overdue = sqlite3_column_int(st, 5) != 0;
        r.escalated = sqlite3_column_int(st, 6) != 0;
        if (cb)
            cb(&r, arg);
    }
    enum fq_err err = rc == SQLITE_DONE ? FQ_OK : store_map_rc(rc);
    stmt_done(s, ST_DIGEST_CASES, st);
    return err;
}

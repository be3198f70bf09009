/* stats_query.c: the aggregate queries of the workbench's statistics and 督办 list
 * (store/stats_query.h). The month's sums restate, in SQL, the rules of handlers/report.c's
 * classify_case (received, resolved, unresolved, withdrawn, open, overdue); tests/unit/
 * test_stats.c checks on a varied store that every figure equals report_monthly's.
 *
 * The candidates of a month are the report's union of index ranges (migration 0007: created,
 * updated, resolved, closed, and the open cases), grouped by what the breakdowns need, so the
 * cost follows the month's cases and the open backlog, never the whole history.
 *
 * On the partial indexes (resolved_at > 0, closed_at > 0) the period's bound comes before the
 * term that selects the index: with bound parameters SQLite 3.40 takes the first lower bound it
 * meets as the start of the range, and "resolved_at > 0" first walks every case ever resolved
 * (measured: 89 ms against 0.1 ms for a month of the 1M-case `make scale` database). The plan
 * reads the same either way, so tests/unit/test_plans.c cannot tell; the order is the fix. */
#include "store/stats_query.h"
#include "store/stmt.h"

#include <stdlib.h>
#include <string.h>

#define CANDIDATES                                                                             \
    " id IN ("                                                                                 \
    " SELECT id FROM cases WHERE created_at >= ?1 AND created_at < ?2"                         \
    " UNION SELECT id FROM cases WHERE updated_at >= ?1"                                       \
    " UNION SELECT id FROM cases WHERE resolved_at >= ?1 AND resolved_at > 0"                  \
    " UNION SELECT id FROM cases WHERE closed_at >= ?1 AND closed_at > 0"                      \
    " UNION SELECT id FROM cases WHERE status NOT IN ('resolved', 'closed', 'cancelled'))"     \
    " AND created_at < ?2"

/* open at the end of the month: not cancelled, not resolved or closed before end */
#define OPEN_AT_END                                                                            \
    "(status <> 'cancelled' AND NOT (status = 'resolved' AND resolved_at < ?2)"                \
    " AND NOT (status = 'closed' AND closed_at < ?2))"
#define RESOLVED_IN "(status = 'resolved' AND resolved_at >= ?1 AND resolved_at < ?2)"
#define CLOSED_IN "(status = 'closed' AND closed_at >= ?1 AND closed_at < ?2)"
#define WITHDRAWN "coalesce(close_reason, '') = 'withdrawn'"

#define GROUPS_SQL                                                                             \
    "SELECT place_org, org_id, category, severity, channel,"                                   \
    " sum(created_at >= ?1),"                                                                  \
    " sum(" RESOLVED_IN "),"                                                                   \
    " sum(" CLOSED_IN " AND NOT " WITHDRAWN "),"                                               \
    " sum(" CLOSED_IN " AND " WITHDRAWN "),"                                                   \
    " sum(" OPEN_AT_END "),"                                                                   \
    " sum(" OPEN_AT_END " AND due_resolve > 0 AND due_resolve < ?3),"                          \
    " sum(created_at >= ?1 AND parent_case <> 0)"                                              \
    " FROM cases WHERE" CANDIDATES                                                             \
    " GROUP BY place_org, org_id, category, severity, channel"

#define ACCEPTED_IN "(accepted_at > 0 AND accepted_at >= ?1 AND accepted_at < ?2)"
#define TIMES_SQL                                                                              \
    "SELECT place_org, org_id,"                                                                \
    " CASE WHEN " ACCEPTED_IN " THEN accepted_at - created_at ELSE -1 END,"                 \
    " CASE WHEN " RESOLVED_IN " THEN resolved_at - created_at ELSE -1 END"                     \
    " FROM cases WHERE" CANDIDATES " AND (" ACCEPTED_IN " OR " RESOLVED_IN ")"

/* The cases touched since start first (cases_updated, named: without it the planner walks
 * every case to spare the GROUP BY a sort), then their events by case (case_events_case; CROSS
 * JOIN keeps that order, the other one walks every event ever written). */
#define EVENTS_SQL                                                                             \
    "SELECT c.place_org, c.org_id, e.type, count(*) FROM cases c INDEXED BY cases_updated"                              \
    " CROSS JOIN case_events e ON e.case_id = c.id"                                            \
    " WHERE c.updated_at >= ?1 AND c.created_at < ?2"                                          \
    " AND e.type IN ('escalated', 'reopened') AND e.at >= ?1 AND e.at < ?2"                    \
    " GROUP BY c.place_org, c.org_id, e.type"

#define SURVEYS_SQL                                                                            \
    "SELECT c.place_org, c.org_id, s.status = 'no_response', s.answer, count(*)"               \
    " FROM surveys s LEFT JOIN cases c ON c.id = s.case_id"                                    \
    " WHERE s.closed_at >= ?1 AND s.closed_at < ?2 AND s.closed_at > 0"                        \
    " AND s.status IN ('answered', 'no_response') AND s.kind = 'satisfaction'"                 \
    " GROUP BY c.place_org, c.org_id, s.status = 'no_response', s.answer"

#define FLOW_RECEIVED_SQL                                                                      \
    "SELECT place_org, org_id, count(*) FROM cases WHERE created_at >= ?1 AND created_at < ?2" \
    " GROUP BY place_org, org_id"
/* +status: the resolved cases of the period through cases_resolved, not every resolved case
 * through cases_status_created */
#define FLOW_RESOLVED_SQL                                                                      \
    "SELECT place_org, org_id, count(*) FROM cases WHERE resolved_at >= ?1"                    \
    " AND resolved_at < ?2 AND resolved_at > 0 AND +status = 'resolved'"                       \
    " GROUP BY place_org, org_id"

/* the deadline in force: acceptance while a mediator has not accepted, else resolution */
#define LATE_SQL                                                                               \
    "SELECT id, place_org, org_id FROM (SELECT id, place_org, org_id, CASE WHEN status IN ('assigned', 'reopened') AND due_accept > 0" \
    " AND (due_resolve = 0 OR due_accept < due_resolve) THEN due_accept ELSE due_resolve END"  \
    " AS due FROM cases WHERE status NOT IN ('resolved', 'closed', 'cancelled'))"              \
    " WHERE due > 0 AND due < ?1 ORDER BY due, id"

const char *store_stats_sql(int which)
{
    static const char *const sql[] = {GROUPS_SQL,        TIMES_SQL,         EVENTS_SQL,
                                      SURVEYS_SQL,       FLOW_RECEIVED_SQL, FLOW_RESOLVED_SQL,
                                      LATE_SQL};
    return which >= 0 && which < (int)(sizeof sql / sizeof *sql) ? sql[which] : NULL;
}

static enum fq_err finish(struct store *s, enum stmt_id id, sqlite3_stmt *st, int rc)
{
    enum fq_err err = FQ_OK;
    if (rc != SQLITE_DONE) {
        err = store_map_rc(sqlite3_extended_errcode(s->db));
        if (!err)
            err = FQ_ESTORE;
    }
    stmt_done(s, id, st);
    return err;
}

static const char *text_or_null(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

enum fq_err store_stats_groups(struct store *s, int64_t start, int64_t end, int64_t cut,
                               void (*cb)(const struct stq_group *g, void *arg), void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_STATS_GROUPS, GROUPS_SQL);
    if (!st)
        return store_err(s);
    bind_int64(st, 1, start);
    bind_int64(st, 2, end);
    bind_int64(st, 3, cut);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cat = text_or_null(st, 2), *chan = text_or_null(st, 4);
        struct stq_group g = {
            .place_org = text_or_null(st, 0),
            .org_id = text_or_null(st, 1),
            .category = cat ? cat : "",
            .severity = sqlite3_column_int(st, 3),
            .channel = chan ? chan : "",
            .received = sqlite3_column_int64(st, 5),
            .resolved = sqlite3_column_int64(st, 6),
            .unresolved = sqlite3_column_int64(st, 7),
            .withdrawn = sqlite3_column_int64(st, 8),
            .open = sqlite3_column_int64(st, 9),
            .overdue = sqlite3_column_int64(st, 10),
            .relapses = sqlite3_column_int64(st, 11),
        };
        cb(&g, arg);
    }
    return finish(s, ST_STATS_GROUPS, st, rc);
}

enum fq_err store_stats_times(struct store *s, int64_t start, int64_t end,
                              void (*cb)(const struct stq_times *t, void *arg), void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_STATS_TIMES, TIMES_SQL);
    if (!st)
        return store_err(s);
    bind_int64(st, 1, start);
    bind_int64(st, 2, end);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct stq_times t = {
            .place_org = text_or_null(st, 0),
            .org_id = text_or_null(st, 1),
            .accept_s = sqlite3_column_int64(st, 2),
            .resolve_s = sqlite3_column_int64(st, 3),
        };
        cb(&t, arg);
    }
    return finish(s, ST_STATS_TIMES, st, rc);
}

enum fq_err store_stats_events(struct store *s, int64_t start, int64_t end,
                               void (*cb)(const struct stq_events *e, void *arg), void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_STATS_EVENTS, EVENTS_SQL);
    if (!st)
        return store_err(s);
    bind_int64(st, 1, start);
    bind_int64(st, 2, end);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = text_or_null(st, 2);
        struct stq_events e = {
            .place_org = text_or_null(st, 0),
            .org_id = text_or_null(st, 1),
            .type = type ? type : "",
            .count = sqlite3_column_int64(st, 3),
        };
        cb(&e, arg);
    }
    return finish(s, ST_STATS_EVENTS, st, rc);
}

enum fq_err store_stats_surveys(struct store *s, int64_t start, int64_t end,
                                void (*cb)(const struct stq_surveys *v, void *arg), void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_STATS_SURVEYS, SURVEYS_SQL);
    if (!st)
        return store_err(s);
    bind_int64(st, 1, start);
    bind_int64(st, 2, end);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct stq_surveys v = {
            .place_org = text_or_null(st, 0),
            .org_id = text_or_null(st, 1),
            .no_response = sqlite3_column_int(st, 2) != 0,
            .answer = sqlite3_column_int(st, 3),
            .count = sqlite3_column_int64(st, 4),
        };
        cb(&v, arg);
    }
    return finish(s, ST_STATS_SURVEYS, st, rc);
}

enum fq_err store_stats_flow(struct store *s, int which, int64_t start, int64_t end,
                             void (*cb)(const struct stq_count *c, void *arg), void *arg)
{
    enum stmt_id id = which ? ST_STATS_FLOW_RESOLVED : ST_STATS_FLOW_RECEIVED;
    sqlite3_stmt *st = STMT(s, id, which ? FLOW_RESOLVED_SQL : FLOW_RECEIVED_SQL);
    if (!st)
        return store_err(s);
    bind_int64(st, 1, start);
    bind_int64(st, 2, end);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct stq_count c = {
            .place_org = text_or_null(st, 0),
            .org_id = text_or_null(st, 1),
            .count = sqlite3_column_int64(st, 2),
        };
        cb(&c, arg);
    }
    return finish(s, id, st, rc);
}

enum fq_err store_stats_late(struct store *s, int64_t before,
                             bool (*cb)(int64_t id, const char *place_org, const char *org_id,
                                        void *arg),
                             void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_STATS_LATE, LATE_SQL);
    if (!st)
        return store_err(s);
    bind_int64(st, 1, before);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!cb(sqlite3_column_int64(st, 0), text_or_null(st, 1), text_or_null(st, 2), arg)) {
            rc = SQLITE_DONE;
            break;
        }
    return finish(s, ST_STATS_LATE, st, rc);
}

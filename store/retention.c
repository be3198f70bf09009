/* retention.c: store_prune and store_sizes (store/retention.h).
 *
 * Design: each table is pruned in pieces of at most `limit` rows per call; the core runs a call
 * in a batch and the scheduler asks again while a table had a full piece. The outbox and the
 * timers, whose history is long, are read through the partial indexes of migration 0006
 * (outbox_delivered, timers_finished), declared on the same expressions the subqueries select
 * by, so a call costs the rows it removes (tests/unit/test_retention.c checks the plans). The
 * inbox gets no index: every message writes a row, and an index on its time cost about 4 % of
 * the core's instructions per message (make bench-callgrind), while pruning keeps it to
 * retention.inbox of traffic (a county's week is tens of thousands of rows), so the call reads
 * it until it has found a piece, at most the whole table, a few milliseconds a minute. */
#include "store/retention.h"

#include <string.h>

#include "common/fq.h"
#include "store/stmt.h"

const char *const store_prunable_names[PRUNE__COUNT] = {"inbox", "outbox", "timers"};

static enum fq_err prune_one(struct store *s, enum stmt_id id, const char *sql, int64_t before,
                             size_t limit, int64_t *removed)
{
    sqlite3_stmt *st = stmt_get(s, id, sql);
    if (!st)
        return store_err(s);
    bind_int64(st, 1, before);
    bind_int64(st, 2, (int64_t)limit);
    int rc = sqlite3_step(st);
    enum fq_err err = rc == SQLITE_DONE ? FQ_OK : store_map_rc(rc);
    *removed = err ? 0 : sqlite3_changes64(s->db);
    stmt_done(s, id, st);
    return err;
}

#define PRUNE_INBOX_SQL                                                                        \
    "DELETE FROM inbox WHERE (scope, key) IN"                                                  \
    " (SELECT scope, key FROM inbox WHERE at < ?1 LIMIT ?2)"
#define PRUNE_OUTBOX_SQL                                                                       \
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"                                    \
    " WHERE delivered_at IS NOT NULL AND delivered_at < ?1 ORDER BY delivered_at LIMIT ?2)"
#define PRUNE_TIMERS_SQL                                                                       \
    "DELETE FROM timers WHERE id IN (SELECT id FROM timers"                                    \
    " WHERE (fired_at IS NOT NULL OR cancelled_at IS NOT NULL)"                                \
    " AND coalesce(fired_at, cancelled_at) < ?1 ORDER BY coalesce(fired_at, cancelled_at)"     \
    " LIMIT ?2)"

static const struct {
    enum stmt_id id;
    const char *sql;
} q[PRUNE__COUNT] = {
    [PRUNE_INBOX] = {ST_PRUNE_INBOX, PRUNE_INBOX_SQL},
    [PRUNE_OUTBOX] = {ST_PRUNE_OUTBOX, PRUNE_OUTBOX_SQL},
    [PRUNE_TIMERS] = {ST_PRUNE_TIMERS, PRUNE_TIMERS_SQL},
};

const char *store_prune_sql(enum store_prunable t)
{
    return (int)t >= 0 && t < PRUNE__COUNT ? q[t].sql : NULL;
}

enum fq_err store_prune(struct store *s, const struct store_keep *k, int64_t now, size_t limit,
                        int64_t removed[PRUNE__COUNT])
{
    memset(removed, 0, PRUNE__COUNT * sizeof *removed);
    if (limit == 0)
        return FQ_OK;
    for (int t = 0; t < PRUNE__COUNT; t++) {
        if (k->keep[t] <= 0)
            continue;
        enum fq_err err = prune_one(s, q[t].id, q[t].sql, now - k->keep[t], limit, &removed[t]);
        if (err)
            return err;
    }
    return FQ_OK;
}

/* One integer from a constant query (rare: prepared each time, not cached). */
static enum fq_err one_int(struct store *s, const char *sql, int64_t *out)
{
    *out = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_map_rc(rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? FQ_OK : store_map_rc(rc);
}

enum fq_err store_sizes(struct store *s, struct store_sizes *out)
{
    memset(out, 0, sizeof *out);
    int64_t pages = 0, page_size = 0;
    const struct {
        const char *sql;
        int64_t *v;
    } q[] = {
        {"SELECT count(*) FROM inbox", &out->inbox},
        {"SELECT count(*) FROM outbox", &out->outbox},
        {"SELECT count(*) FROM outbox WHERE delivered_at IS NULL", &out->outbox_pending},
        {"SELECT count(*) FROM timers", &out->timers},
        {"SELECT count(*) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL",
         &out->timers_pending},
        {"SELECT coalesce(max(id), 0) FROM cases", &out->cases},
        {"SELECT coalesce(max(id), 0) FROM case_events", &out->case_events},
        {"SELECT count(*) FROM conversations WHERE state NOT IN ('idle', 'submitted')",
         &out->conversations_open},
        {"SELECT coalesce(max(id), 0) FROM surveys", &out->surveys},
        {"PRAGMA page_count", &pages},
        {"PRAGMA page_size", &page_size},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        enum fq_err err = one_int(s, q[i].sql, q[i].v);
        if (err)
            return err;
    }
    out->db_bytes = pages * page_size;
    return FQ_OK;
}

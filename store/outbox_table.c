/* outbox_table.c: the transactional outbox. A reply, an MQTT event or a WeCom push is a row written
 * in the same transaction as the change it reports; bot/core/relay.c delivers rows after commit and
 * marks them done.
 *
 * Design: ids come from AUTOINCREMENT so they grow strictly and are never reused: the dispatcher
 * keeps an "after_id" cursor per channel and delivery order is id order. Delivered rows are
 * kept with delivered_at set (an audit trail, and a repeated event_id stays refused); the
 * partial index outbox_pending covers only undelivered rows, so the dispatcher's queries stay
 * small however long the history grows. store_outbox_pending copies its rows out before
 * calling back, so the callback may mark rows done or retry them. */
#include "store/stmt.h"
#include "common/fq.h"
#include "store/outbox_table.h"

#include <stdlib.h>
#include <string.h>

void outbox_row_cleanup(struct fq_outbox_row *r)
{
    if (!r)
        return;
    free(r->event_id);
    free(r->channel);
    free(r->topic);
    free(r->payload);
    free(r->case_no);
    memset(r, 0, sizeof *r);
}

enum fq_err store_outbox_add(struct store *s, const char *channel, const char *topic,
                             const char *payload, bool retain, const char *event_id,
                             const char *case_no, int64_t at, int64_t *id)
{
    if (!channel || !topic || !payload || !event_id)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_OUTBOX_ADD,
                            "INSERT INTO outbox(event_id, channel, topic, payload, retain, "
                            "case_no, attempts, created_at, next_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?7)");
    if (!st)
        return store_err(s);
    bind_text(st, 1, event_id);
    bind_text(st, 2, channel);
    bind_text(st, 3, topic);
    bind_text(st, 4, payload);
    sqlite3_bind_int(st, 5, retain ? 1 : 0);
    bind_text(st, 6, case_no);
    bind_int64(st, 7, at);
    enum fq_err err = stmt_exec(s, ST_OUTBOX_ADD, st);
    if (!err && id)
        *id = sqlite3_last_insert_rowid(s->db);
    return err;
}

enum fq_err store_outbox_pending(struct store *s, const char *channel, int64_t after_id,
                                 size_t limit,
                                 void (*cb)(const struct fq_outbox_row *r, void *arg), void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_OUTBOX_PENDING,
                            "SELECT id, event_id, channel, topic, payload, retain, case_no, "
                            "attempts, created_at, next_at FROM outbox "
                            "WHERE delivered_at IS NULL AND channel = ?1 AND id > ?2 "
                            "ORDER BY id LIMIT ?3");
    if (!st)
        return store_err(s);
    bind_text(st, 1, channel);
    bind_int64(st, 2, after_id);
    bind_int64(st, 3, limit ? (int64_t)limit : -1);

    enum fq_err err = FQ_OK;
    struct fq_outbox_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!store_grow((void **)&rows, &cap, n, sizeof *rows)) {
            err = FQ_ENOMEM;
            break;
        }
        bool oom = false;
        struct fq_outbox_row *r = &rows[n++];
        r->id = sqlite3_column_int64(st, 0);
        r->event_id = col_text(st, 1, true, &oom);
        r->channel = col_text(st, 2, true, &oom);
        r->topic = col_text(st, 3, true, &oom);
        r->payload = col_text(st, 4, true, &oom);
        r->retain = sqlite3_column_int(st, 5) != 0;
        r->case_no = col_text(st, 6, true, &oom);
        r->attempts = sqlite3_column_int(st, 7);
        r->created_at = sqlite3_column_int64(st, 8);
        r->next_at = sqlite3_column_int64(st, 9);
        if (oom) {
            err = FQ_ENOMEM;
            break;
        }
    }
    if (!err && rc != SQLITE_DONE)
        err = store_map_rc(rc);
    stmt_done(s, ST_OUTBOX_PENDING, st);

    for (size_t i = 0; i < n; i++) {
        if (!err && cb)
            cb(&rows[i], arg);
        outbox_row_cleanup(&rows[i]);
    }
    free(rows);
    return err;
}

enum fq_err store_outbox_done(struct store *s, const int64_t *ids, size_t n, int64_t at)
{
    if (n == 0)
        return FQ_OK;
    if (!ids)
        return FQ_EINVAL;
    bool own;
    enum fq_err err = isp_begin(s, &own);
    if (err)
        return err;
    for (size_t i = 0; i < n && !err; i++) {
        sqlite3_stmt *st = STMT(s, ST_OUTBOX_DONE,
                                "UPDATE outbox SET delivered_at = ?2 "
                                "WHERE id = ?1 AND delivered_at IS NULL");
        if (!st) {
            err = store_err(s);
            break;
        }
        bind_int64(st, 1, ids[i]);
        bind_int64(st, 2, at);
        err = stmt_exec(s, ST_OUTBOX_DONE, st); /* an id done twice is not an error */
    }
    return isp_end(s, own, err);
}

enum fq_err store_outbox_retry(struct store *s, int64_t id, int64_t next_at)
{
    sqlite3_stmt *st = STMT(s, ST_OUTBOX_RETRY,
                            "UPDATE outbox SET attempts = attempts + 1, next_at = ?2 "
                            "WHERE id = ?1 AND delivered_at IS NULL");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, id);
    bind_int64(st, 2, next_at);
    enum fq_err err = stmt_exec(s, ST_OUTBOX_RETRY, st);
    if (!err && sqlite3_changes(s->db) == 0)
        err = FQ_ENOTFOUND;
    return err;
}

enum fq_err store_outbox_stats(struct store *s, int64_t *depth, int64_t *oldest_at)
{
    *depth = 0;
    *oldest_at = 0;
    sqlite3_stmt *st = STMT(s, ST_OUTBOX_STATS,
                            "SELECT count(*), COALESCE(MIN(created_at), 0) FROM outbox "
                            "WHERE delivered_at IS NULL");
    if (!st)
        return store_err(s);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *depth = sqlite3_column_int64(st, 0);
        *oldest_at = sqlite3_column_int64(st, 1);
    } else {
        err = store_map_rc(rc) ? store_map_rc(rc) : FQ_ESTORE;
    }
    stmt_done(s, ST_OUTBOX_STATS, st);
    return err;
}

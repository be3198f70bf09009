/* wecom_kf.c: the customer-service window of the WeCom channel (table wecom_kf_users,
 * migration 0002_wecom.sql).
 *
 * The statements run for every customer-service message, so they live in the shared statement
 * cache of store_internal.h (preparing one costs more than running it). The window is decided from stored state only, so handlers (survey fallback) and bot/payload
 * (whether to queue a kf/send_msg) see the same answer inside the core's transaction. */
#include "store/stmt.h"
#include "common/fq.h"
#include "store/wecom_kf.h"

#include <stdio.h>
#include <string.h>

/* Steps a cached statement without rows and resets it. */
static enum fq_err run(struct store *s, enum stmt_id id, sqlite3_stmt *st)
{
    if (!st)
        return store_err(s);
    return stmt_exec(s, id, st);
}

enum fq_err store_wecom_kf_get(struct store *s, const char *external_userid,
                               struct wecom_kf_state *out)
{
    memset(out, 0, sizeof *out);
    if (!s || !external_userid)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_KF_GET,
                            "SELECT last_in, sent_since, blocked_reason, blocked_at "
                            "FROM wecom_kf_users WHERE external_userid = ?1");
    if (!st)
        return store_err(s);
    bind_text(st, 1, external_userid);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->last_in = sqlite3_column_int64(st, 0);
        out->sent_since = sqlite3_column_int(st, 1);
        col_text_buf(st, 2, out->blocked_reason, sizeof out->blocked_reason);
        out->blocked_at = sqlite3_column_int64(st, 3);
    } else if (rc == SQLITE_DONE) {
        err = FQ_ENOTFOUND;
    } else {
        err = store_map_rc(rc);
    }
    stmt_done(s, ST_KF_GET, st);
    return err;
}

bool wecom_kf_can_reach(struct store *s, const char *external_userid, int64_t now)
{
    struct wecom_kf_state w;
    if (store_wecom_kf_get(s, external_userid, &w) != FQ_OK)
        return false;
    return now - w.last_in < WECOM_KF_WINDOW_S && w.sent_since < WECOM_KF_MAX_SENT;
}

enum fq_err store_wecom_kf_inbound(struct store *s, const char *external_userid, int64_t at)
{
    if (!s || !external_userid)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_KF_INBOUND,
                            "INSERT INTO wecom_kf_users(external_userid, last_in, sent_since) "
                            "VALUES (?1, ?2, 0) ON CONFLICT(external_userid) DO UPDATE SET "
                            "last_in = max(last_in, excluded.last_in), sent_since = 0, "
                            "blocked_reason = NULL, blocked_at = 0");
    if (st) {
        bind_text(st, 1, external_userid);
        bind_int64(st, 2, at);
    }
    return run(s, ST_KF_INBOUND, st);
}

enum fq_err store_wecom_kf_sent(struct store *s, const char *external_userid)
{
    if (!s || !external_userid)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_KF_SENT,
                            "UPDATE wecom_kf_users SET sent_since = sent_since + 1 "
                            "WHERE external_userid = ?1");
    if (st)
        bind_text(st, 1, external_userid);
    return run(s, ST_KF_SENT, st);
}

enum fq_err store_wecom_kf_blocked(struct store *s, const char *external_userid,
                                   const char *reason, int64_t at)
{
    if (!s || !external_userid)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_KF_BLOCKED,
                            "INSERT INTO wecom_kf_users(external_userid, blocked_reason, "
                            "blocked_at) VALUES (?1, ?2, ?3) ON CONFLICT(external_userid) "
                            "DO UPDATE SET blocked_reason = excluded.blocked_reason, "
                            "blocked_at = excluded.blocked_at");
    if (st) {
        bind_text(st, 1, external_userid);
        bind_text(st, 2, reason ? reason : "unknown");
        bind_int64(st, 3, at);
    }
    return run(s, ST_KF_BLOCKED, st);
}

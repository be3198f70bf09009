/* web_table.c: the workbench's accounts, sessions and audit log (store/web_table.h). */
#include "store/web_table.h"

#include <stdlib.h>
#include <string.h>

#include "store/stmt.h"

void web_user_row_cleanup(struct web_user_row *u)
{
    if (!u)
        return;
    free(u->pw_hash);
    u->pw_hash = NULL;
}

#define USER_COLS "login, role, org_id, mediator_id, pw_hash, disabled, created_at, updated_at"

static bool read_user(sqlite3_stmt *st, struct web_user_row *u, bool dup)
{
    bool oom = false;
    memset(u, 0, sizeof *u);
    col_text_buf(st, 0, u->login, sizeof u->login);
    col_text_buf(st, 1, u->role, sizeof u->role);
    col_text_buf(st, 2, u->org_id, sizeof u->org_id);
    col_text_buf(st, 3, u->mediator_id, sizeof u->mediator_id);
    u->pw_hash = dup ? col_text(st, 4, true, &oom) : NULL;
    u->disabled = sqlite3_column_int(st, 5) != 0;
    u->created_at = sqlite3_column_int64(st, 6);
    u->updated_at = sqlite3_column_int64(st, 7);
    return !oom;
}

static enum fq_err get_one(struct store *s, enum stmt_id id, sqlite3_stmt *st, struct web_user_row *out)
{
    int rc = sqlite3_step(st);
    enum fq_err err = FQ_OK;
    if (rc == SQLITE_ROW)
        err = read_user(st, out, true) ? FQ_OK : FQ_ENOMEM;
    else if (rc == SQLITE_DONE)
        err = FQ_ENOTFOUND;
    else
        err = store_map_rc(rc);
    stmt_done(s, id, st);
    return err;
}

enum fq_err store_web_user_get(struct store *s, const char *login, struct web_user_row *out)
{
    memset(out, 0, sizeof *out);
    if (!login)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_WEB_USER_GET,
                            "SELECT " USER_COLS " FROM web_users WHERE login = ?1");
    if (!st)
        return store_err(s);
    bind_text(st, 1, login);
    return get_one(s, ST_WEB_USER_GET, st, out);
}

enum fq_err store_web_user_by_mediator(struct store *s, const char *mediator_id,
                                       struct web_user_row *out)
{
    memset(out, 0, sizeof *out);
    if (!mediator_id || !*mediator_id)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_WEB_USER_BY_MED,
                            "SELECT " USER_COLS " FROM web_users WHERE mediator_id = ?1 "
                            "AND mediator_id IS NOT NULL AND disabled = 0 ORDER BY login LIMIT 1");
    if (!st)
        return store_err(s);
    bind_text(st, 1, mediator_id);
    return get_one(s, ST_WEB_USER_BY_MED, st, out);
}

enum fq_err store_web_user_add(struct store *s, const struct web_user_row *u)
{
    sqlite3_stmt *st = STMT(s, ST_WEB_USER_ADD,
                            "INSERT INTO web_users(" USER_COLS ") "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!st)
        return store_err(s);
    bind_text(st, 1, u->login);
    bind_text(st, 2, u->role);
    bind_text(st, 3, u->org_id);
    bind_text(st, 4, *u->mediator_id ? u->mediator_id : NULL);
    bind_text(st, 5, u->pw_hash);
    bind_int64(st, 6, u->disabled);
    bind_int64(st, 7, u->created_at);
    bind_int64(st, 8, u->updated_at);
    int rc = sqlite3_step(st);
    stmt_done(s, ST_WEB_USER_ADD, st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return FQ_EEXIST;
    return rc == SQLITE_DONE ? FQ_OK : store_map_rc(rc);
}

enum fq_err store_web_user_list(struct store *s, void (*cb)(const struct web_user_row *u, void *arg),
                                void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_WEB_USER_LIST,
                            "SELECT " USER_COLS " FROM web_users ORDER BY login");
    if (!st)
        return store_err(s);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct web_user_row u;
        read_user(st, &u, false);
        cb(&u, arg);
    }
    stmt_done(s, ST_WEB_USER_LIST, st);
    return rc == SQLITE_DONE ? FQ_OK : store_map_rc(rc);
}

static enum fq_err end_sessions(struct store *s, const char *login)
{
    sqlite3_stmt *st = STMT(s, ST_WEB_SESSION_DEL_LOGIN, "DELETE FROM web_sessions WHERE login = ?1");
    if (!st)
        return store_err(s);
    bind_text(st, 1, login);
    return stmt_exec(s, ST_WEB_SESSION_DEL_LOGIN, st);
}

/* Runs an UPDATE of one account, then ends its sessions; FQ_ENOTFOUND when no row changed. */
static enum fq_err update_user(struct store *s, enum stmt_id id, sqlite3_stmt *st,
                               const char *login)
{
    bool own;
    enum fq_err err = isp_begin(s, &own);
    if (err) {
        stmt_done(s, id, st);
        return err;
    }
    int rc = sqlite3_step(st);
    stmt_done(s, id, st);
    err = rc == SQLITE_DONE ? FQ_OK : store_map_rc(rc);
    if (!err && sqlite3_changes(s->db) == 0)
        err = FQ_ENOTFOUND;
    if (!err)
        err = end_sessions(s, login);
    return isp_end(s, own, err);
}

enum fq_err store_web_user_disable(struct store *s, const char *login, int64_t now)
{
    sqlite3_stmt *st = STMT(s, ST_WEB_USER_DISABLE,
                            "UPDATE web_users SET disabled = 1, updated_at = ?2 WHERE login = ?1");
    if (!st)
        return store_err(s);
    bind_text(st, 1, login);
    bind_int64(st, 2, now);
    return update_user(s, ST_WEB_USER_DISABLE, st, login);
}

enum fq_err store_web_user_passwd(struct store *s, const char *login, const char *pw_hash,
                                  int64_t now)
{
    sqlite3_stmt *st = STMT(s, ST_WEB_USER_PASSWD,
                            "UPDATE web_users SET pw_hash = ?2, updated_at = ?3 WHERE login = ?1");
    if (!st)
        return store_err(s);
    bind_text(st, 1, login);
    bind_text(st, 2, pw_hash);
    bind_int64(st, 3, now);
    return update_user(s, ST_WEB_USER_PASSWD, st, login);
}

enum fq_err store_web_session_get(struct store *s, const char *token_hash, int64_t now,
                                  struct web_session *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = STMT(s, ST_WEB_SESSION_GET,
                            "SELECT login, csrf, created_at, expires_at FROM web_sessions "
                            "WHERE token_hash = ?1 AND expires_at > ?2");
    if (!st)
        return store_err(s);
    bind_text(st, 1, token_hash);
    bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    enum fq_err err = FQ_OK;
    if (rc == SQLITE_ROW) {
        col_text_buf(st, 0, out->login, sizeof out->login);
        col_text_buf(st, 1, out->csrf, sizeof out->csrf);
        out->created_at = sqlite3_column_int64(st, 2);
        out->expires_at = sqlite3_column_int64(st, 3);
    } else {
        err = rc == SQLITE_DONE ? FQ_ENOTFOUND : store_map_rc(rc);
    }
    stmt_done(s, ST_WEB_SESSION_GET, st);
    return err;
}

enum fq_err store_web_session_put(struct store *s, const char *token_hash,
                                  const struct web_session *v)
{
    sqlite3_stmt *st = STMT(s, ST_WEB_SESSION_PUT,
                            "INSERT INTO web_sessions(token_hash, login, csrf, created_at, "
                            "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return store_err(s);
    bind_text(st, 1, token_hash);
    bind_text(st, 2, v->login);
    bind_text(st, 3, v->csrf);
    bind_int64(st, 4, v->created_at);
    bind_int64(st, 5, v->expires_at);
    return stmt_exec(s, ST_WEB_SESSION_PUT, st);
}

enum fq_err store_web_session_del(struct store *s, const char *token_hash)
{
    sqlite3_stmt *st = STMT(s, ST_WEB_SESSION_DEL, "DELETE FROM web_sessions WHERE token_hash = ?1");
    if (!st)
        return store_err(s);
    bind_text(st, 1, token_hash);
    return stmt_exec(s, ST_WEB_SESSION_DEL, st);
}

enum fq_err store_web_session_prune(struct store *s, int64_t now)
{
    sqlite3_stmt *st = STMT(s, ST_WEB_SESSION_PRUNE, "DELETE FROM web_sessions WHERE expires_at <= ?1");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, now);
    return stmt_exec(s, ST_WEB_SESSION_PRUNE, st);
}

enum fq_err store_web_audit_add(struct store *s, int64_t at, const char *login, const char *action,
                                const char *case_no, const char *detail)
{
    sqlite3_stmt *st = STMT(s, ST_WEB_AUDIT_ADD,
                            "INSERT INTO web_audit(at, login, action, case_no, detail) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, at);
    bind_text(st, 2, login);
    bind_text(st, 3, action);
    bind_text(st, 4, case_no);
    bind_text(st, 5, detail);
    return stmt_exec(s, ST_WEB_AUDIT_ADD, st);
}

enum fq_err store_web_events_after(struct store *s, int64_t after, int limit,
                                   void (*cb)(int64_t id, const char *case_no, const char *org_id,
                                              const char *place_org, const char *type,
                                              void *arg),
                                   void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_WEB_EVENTS_AFTER,
                            "SELECT e.id, c.case_no, c.org_id, c.place_org, e.type "
                            "FROM case_events e JOIN cases c ON c.id = e.case_id "
                            "WHERE e.id > ?1 ORDER BY e.id LIMIT ?2");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, after);
    bind_int64(st, 2, limit);
    int rc;
    bool oom = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb(sqlite3_column_int64(st, 0), col_text(st, 1, false, &oom), col_text(st, 2, false, &oom),
           col_text(st, 3, false, &oom), col_text(st, 4, false, &oom), arg);
    stmt_done(s, ST_WEB_EVENTS_AFTER, st);
    return rc == SQLITE_DONE ? FQ_OK : store_map_rc(rc);
}

enum fq_err store_web_events_max(struct store *s, int64_t *out)
{
    *out = 0;
    sqlite3_stmt *st = STMT(s, ST_WEB_EVENTS_MAX, "SELECT coalesce(max(id), 0) FROM case_events");
    if (!st)
        return store_err(s);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    stmt_done(s, ST_WEB_EVENTS_MAX, st);
    return rc == SQLITE_ROW ? FQ_OK : store_map_rc(rc);
}

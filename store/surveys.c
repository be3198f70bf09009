/* surveys.c: the rows of the follow-up surveys (回访, relapse checks) and of resident_reach
 * (migration 0004).
 *
 * Every statement is a constant text in the connection's statement cache (store/stmt.h), prepared
 * once. Values are always bound, never spliced into SQL. */
#include "store/stmt.h"
#include "common/fq.h"
#include "store/surveys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SURVEY_COLS                                                                           \
    "id, case_id, kind, resolved_at, via, status, answer, comment, answered_by, "             \
    "task_mediator, new_case, reminded, created_at, sent_at, answered_at, closed_at"

void survey_row_cleanup(struct fq_survey *v)
{
    if (!v)
        return;
    free(v->comment);
    free(v->answered_by);
    free(v->task_mediator);
    memset(v, 0, sizeof *v);
}

/* Steps a statement that returns no rows and gives it back to the cache. */
static enum fq_err run_done(struct store *s, enum stmt_id id, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    enum fq_err err = rc == SQLITE_DONE ? FQ_OK : store_map_rc(sqlite3_extended_errcode(s->db));
    if (rc != SQLITE_DONE && err == FQ_OK)
        err = FQ_ESTORE;
    stmt_done(s, id, st);
    return err;
}

static void from_row(sqlite3_stmt *st, struct fq_survey *v, bool dup, bool *oom)
{
    v->id = sqlite3_column_int64(st, 0);
    v->case_id = sqlite3_column_int64(st, 1);
    col_text_buf(st, 2, v->kind, sizeof v->kind);
    v->resolved_at = sqlite3_column_int64(st, 3);
    col_text_buf(st, 4, v->via, sizeof v->via);
    v->status = (enum fq_survey_status)col_enum(st, 5, fq_survey_status_parse, FQ_SURVEY__COUNT);
    v->answer = sqlite3_column_int(st, 6);
    v->comment = col_text(st, 7, dup, oom);
    v->answered_by = col_text(st, 8, dup, oom);
    v->task_mediator = col_text(st, 9, dup, oom);
    v->new_case = sqlite3_column_int64(st, 10);
    v->reminded = sqlite3_column_int(st, 11);
    v->created_at = sqlite3_column_int64(st, 12);
    v->sent_at = sqlite3_column_int64(st, 13);
    v->answered_at = sqlite3_column_int64(st, 14);
    v->closed_at = sqlite3_column_int64(st, 15);
}

/* Binds the mutable fields at ?2..?16 in SURVEY_COLS order (?1 is the id or unused). */
static void bind_fields(sqlite3_stmt *st, const struct fq_survey *v)
{
    bind_int64(st, 2, v->case_id);
    bind_text(st, 3, v->kind);
    bind_int64(st, 4, v->resolved_at);
    bind_text(st, 5, v->via);
    bind_text(st, 6, fq_survey_status_name(v->status));
    sqlite3_bind_int(st, 7, v->answer);
    bind_text(st, 8, v->comment);
    bind_text(st, 9, v->answered_by);
    bind_text(st, 10, v->task_mediator);
    bind_int64(st, 11, v->new_case);
    sqlite3_bind_int(st, 12, v->reminded);
    bind_int64(st, 13, v->created_at);
    bind_int64(st, 14, v->sent_at);
    bind_int64(st, 15, v->answered_at);
    bind_int64(st, 16, v->closed_at);
}

enum fq_err store_survey_insert(struct store *s, struct fq_survey *v)
{
    if ((int)v->status < 0 || v->status >= FQ_SURVEY__COUNT)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_SURVEY_INSERT,
                            "INSERT INTO surveys (" SURVEY_COLS ") VALUES (NULL, ?2, ?3, ?4, "
                            "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
    if (!st)
        return store_err(s);
    bind_fields(st, v);
    enum fq_err err = run_done(s, ST_SURVEY_INSERT, st);
    if (!err)
        v->id = sqlite3_last_insert_rowid(s->db);
    return err;
}

enum fq_err store_survey_update(struct store *s, const struct fq_survey *v)
{
    if ((int)v->status < 0 || v->status >= FQ_SURVEY__COUNT)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_SURVEY_UPDATE,
                            "UPDATE surveys SET case_id = ?2, kind = ?3, resolved_at = ?4, "
                            "via = ?5, status = ?6, answer = ?7, comment = ?8, "
                            "answered_by = ?9, task_mediator = ?10, new_case = ?11, "
                            "reminded = ?12, created_at = ?13, sent_at = ?14, "
                            "answered_at = ?15, closed_at = ?16 WHERE id = ?1");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, v->id);
    bind_fields(st, v);
    enum fq_err err = run_done(s, ST_SURVEY_UPDATE, st);
    if (!err && sqlite3_changes(s->db) == 0)
        err = FQ_ENOTFOUND;
    return err;
}

/* Reads the first row of a query into out (owned copies); gives the statement back. */
static enum fq_err get_one(struct store *s, enum stmt_id id, sqlite3_stmt *st,
                           struct fq_survey *out)
{
    memset(out, 0, sizeof *out);
    int rc = sqlite3_step(st);
    enum fq_err err = FQ_OK;
    if (rc == SQLITE_ROW) {
        bool oom = false;
        from_row(st, out, true, &oom);
        if (oom) {
            survey_row_cleanup(out);
            err = FQ_ENOMEM;
        }
    } else if (rc == SQLITE_DONE) {
        err = FQ_ENOTFOUND;
    } else {
        err = store_map_rc(sqlite3_extended_errcode(s->db));
        if (!err)
            err = FQ_ESTORE;
    }
    stmt_done(s, id, st);
    return err;
}

/* Calls cb for every row of a query (borrowed strings); gives the statement back. */
static enum fq_err each(struct store *s, enum stmt_id id, sqlite3_stmt *st,
                        void (*cb)(const struct fq_survey *v, void *arg), void *arg)
{
    enum fq_err err = FQ_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct fq_survey v;
        bool oom = false;
        memset(&v, 0, sizeof v);
        from_row(st, &v, false, &oom);
        if (oom) {
            err = FQ_ENOMEM;
            break;
        }
        if (cb)
            cb(&v, arg);
    }
    if (!err && rc != SQLITE_DONE) {
        err = store_map_rc(sqlite3_extended_errcode(s->db));
        if (!err)
            err = FQ_ESTORE;
    }
    stmt_done(s, id, st);
    return err;
}

enum fq_err store_survey_get(struct store *s, int64_t id, struct fq_survey *out)
{
    sqlite3_stmt *st = STMT(s, ST_SURVEY_GET,
                            "SELECT " SURVEY_COLS " FROM surveys WHERE id = ?1");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, id);
    return get_one(s, ST_SURVEY_GET, st, out);
}

enum fq_err store_survey_find(struct store *s, int64_t case_id, const char *kind,
                              int64_t resolved_at, struct fq_survey *out)
{
    sqlite3_stmt *st = STMT(s, ST_SURVEY_FIND,
                            "SELECT " SURVEY_COLS " FROM surveys WHERE case_id = ?1 AND "
                            "kind = ?2 AND resolved_at = ?3");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, case_id);
    bind_text(st, 2, kind);
    bind_int64(st, 3, resolved_at);
    return get_one(s, ST_SURVEY_FIND, st, out);
}

enum fq_err store_survey_open_for(struct store *s, const char *channel, const char *user,
                                  struct fq_survey *out)
{
    sqlite3_stmt *st = STMT(s, ST_SURVEY_OPEN_FOR,
                            "SELECT " SURVEY_COLS " FROM surveys WHERE status IN (?3, ?4, ?5) "
                            "AND via <> 'task' AND case_id IN "
                            "(SELECT id FROM cases WHERE channel = ?1 AND user = ?2) "
                            "ORDER BY sent_at, id LIMIT 1");
    if (!st)
        return store_err(s);
    bind_text(st, 1, channel);
    bind_text(st, 2, user);
    bind_text(st, 3, fq_survey_status_name(FQ_SURVEY_SENT));
    bind_text(st, 4, fq_survey_status_name(FQ_SURVEY_ASKED));
    bind_text(st, 5, fq_survey_status_name(FQ_SURVEY_COMMENT));
    return get_one(s, ST_SURVEY_OPEN_FOR, st, out);
}

enum fq_err store_survey_list(struct store *s, int64_t case_id,
                              void (*cb)(const struct fq_survey *v, void *arg), void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_SURVEY_LIST,
                            "SELECT " SURVEY_COLS " FROM surveys WHERE case_id = ?1 "
                            "ORDER BY id");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, case_id);
    return each(s, ST_SURVEY_LIST, st, cb, arg);
}

enum fq_err store_survey_closed_in(struct store *s, int64_t start, int64_t end,
                                   void (*cb)(const struct fq_survey *v, void *arg), void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_SURVEY_CLOSED_IN,
                            "SELECT " SURVEY_COLS " FROM surveys WHERE closed_at >= ?1 AND "
                            "closed_at < ?2 AND closed_at > 0 AND status IN (?3, ?4) "
                            "ORDER BY closed_at, id");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, start);
    bind_int64(st, 2, end);
    bind_text(st, 3, fq_survey_status_name(FQ_SURVEY_ANSWERED));
    bind_text(st, 4, fq_survey_status_name(FQ_SURVEY_NO_RESPONSE));
    return each(s, ST_SURVEY_CLOSED_IN, st, cb, arg);
}

enum fq_err store_reach_put(struct store *s, const char *channel, const char *user,
                            const char *via, int64_t at)
{
    if (!channel || !user || !via || strlen(via) > 15)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_REACH_PUT,
                            "INSERT INTO resident_reach (channel, user, via, updated_at) "
                            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (channel, user) DO UPDATE "
                            "SET via = excluded.via, updated_at = excluded.updated_at");
    if (!st)
        return store_err(s);
    bind_text(st, 1, channel);
    bind_text(st, 2, user);
    bind_text(st, 3, via);
    bind_int64(st, 4, at);
    return stmt_exec(s, ST_REACH_PUT, st);
}

enum fq_err store_reach_get(struct store *s, const char *channel, const char *user,
                            char via[16])
{
    sqlite3_stmt *st = STMT(s, ST_REACH_GET,
                            "SELECT via FROM resident_reach WHERE channel = ?1 AND user = ?2");
    if (!st)
        return store_err(s);
    bind_text(st, 1, channel);
    bind_text(st, 2, user);
    int rc = sqlite3_step(st);
    enum fq_err err = FQ_OK;
    if (rc == SQLITE_ROW)
        col_text_buf(st, 0, via, 16);
    else if (rc == SQLITE_DONE)
        err = FQ_ENOTFOUND;
    else
        err = store_err(s);
    stmt_done(s, ST_REACH_GET, st);
    return err;
}

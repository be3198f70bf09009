/* timer_table.c: timers as rows (due_at, kind, case, fired_at, cancelled_at). bot/core/sched.c sleeps
 * until store_timer_next and turns due rows into messages for the core, which marks each fired.
 *
 * Design: "fires once" is a conditional UPDATE (... WHERE fired_at IS NULL AND cancelled_at IS
 * NULL): only one transaction can win it, so a timer fired twice (a restart between scheduling
 * and commit, two schedulers) is refused the second time with FQ_ENOTFOUND. Fired and cancelled
 * rows stay for history; the partial indexes cover only live timers. store_timer_due copies its
 * rows out before calling back, so the callback may fire or cancel them. */
#include "store/stmt.h"
#include "common/fq.h"
#include "store/timer_table.h"

#include <stdlib.h>
#include <string.h>

#define LIVE "fired_at IS NULL AND cancelled_at IS NULL"

void timer_cleanup(struct fq_timer *t)
{
    if (!t)
        return;
    free(t->arg);
    memset(t, 0, sizeof *t);
}

enum fq_err store_timer_add(struct store *s, int64_t due_at, enum fq_timer_kind kind,
                            int64_t case_id, const char *arg, int64_t *id)
{
    if ((int)kind < 0 || kind >= FQ_TIMER__COUNT)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_TIMER_ADD,
                            "INSERT INTO timers(due_at, kind, case_id, arg) "
                            "VALUES (?1, ?2, ?3, ?4)");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, due_at);
    bind_text(st, 2, fq_timer_kind_name(kind));
    bind_int64(st, 3, case_id);
    bind_text(st, 4, arg);
    enum fq_err err = stmt_exec(s, ST_TIMER_ADD, st);
    if (!err && id)
        *id = sqlite3_last_insert_rowid(s->db);
    return err;
}

/* The due rows of statement st (bound) copied out, then handed to cb. */
static enum fq_err due_rows(struct store *s, enum stmt_id id, sqlite3_stmt *st,
                            void (*cb)(const struct fq_timer *t, void *arg), void *arg)
{
    enum fq_err err = FQ_OK;
    struct fq_timer *rows = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!store_grow((void **)&rows, &cap, n, sizeof *rows)) {
            err = FQ_ENOMEM;
            break;
        }
        bool oom = false;
        struct fq_timer *t = &rows[n++];
        memset(t, 0, sizeof *t);
        t->id = sqlite3_column_int64(st, 0);
        t->due_at = sqlite3_column_int64(st, 1);
        t->kind = (enum fq_timer_kind)col_enum(st, 2, fq_timer_kind_parse, FQ_TIMER__COUNT);
        t->case_id = sqlite3_column_int64(st, 3);
        t->arg = col_text(st, 4, true, &oom);
        if (oom) {
            err = FQ_ENOMEM;
            break;
        }
    }
    if (!err && rc != SQLITE_DONE)
        err = store_map_rc(rc);
    stmt_done(s, id, st);

    for (size_t i = 0; i < n; i++) {
        if (!err && cb)
            cb(&rows[i], arg);
        timer_cleanup(&rows[i]);
    }
    free(rows);
    return err;
}

enum fq_err store_timer_due(struct store *s, int64_t now, size_t limit,
                            void (*cb)(const struct fq_timer *t, void *arg), void *arg)
{
    sqlite3_stmt *st = STMT(s, ST_TIMER_DUE,
                            "SELECT id, due_at, kind, case_id, arg FROM timers "
                            "WHERE " LIVE " AND due_at <= ?1 ORDER BY due_at, id LIMIT ?2");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, now);
    bind_int64(st, 2, limit ? (int64_t)limit : -1);
    return due_rows(s, ST_TIMER_DUE, st, cb, arg);
}

enum fq_err store_timer_due_kinds(struct store *s, int64_t now, size_t limit, bool in,
                                  const enum fq_timer_kind *kinds, size_t n_kinds,
                                  void (*cb)(const struct fq_timer *t, void *arg), void *arg)
{
    if (n_kinds == 0 || n_kinds > STORE_DUE_KINDS_MAX)
        return FQ_EINVAL;
    for (size_t i = 0; i < n_kinds; i++)
        if ((int)kinds[i] < 0 || kinds[i] >= FQ_TIMER__COUNT)
            return FQ_EINVAL;
    /* the unused places repeat the first kind: a NULL would make NOT IN never true */
    enum stmt_id id = in ? ST_TIMER_DUE_IN : ST_TIMER_DUE_NOT_IN;
    sqlite3_stmt *st =
        in ? STMT(s, id, "SELECT id, due_at, kind, case_id, arg FROM timers "
                         "WHERE " LIVE " AND due_at <= ?1 AND kind IN (?3, ?4, ?5, ?6) "
                         "ORDER BY due_at, id LIMIT ?2")
           : STMT(s, id, "SELECT id, due_at, kind, case_id, arg FROM timers "
                         "WHERE " LIVE " AND due_at <= ?1 AND kind NOT IN (?3, ?4, ?5, ?6) "
                         "ORDER BY due_at, id LIMIT ?2");
    if (!st)
        return store_err(s);
    bind_int64(st, 1, now);
    bind_int64(st, 2, limit ? (int64_t)limit : -1);
    for (int i = 0; i < STORE_DUE_KINDS_MAX; i++)
        bind_text(st, 3 + i, fq_timer_kind_name(kinds[(size_t)i < n_kinds ? (size_t)i : 0]));
    return due_rows(s, id, st, cb, arg);
}

enum fq_err store_timer_fire(struct store *s, int64_t id, int64_t now)
{
    sqlite3_stmt *st = STMT(s, ST_TIMER_FIRE,
                            "UPDATE timers SET fired_at = ?2 WHERE id = ?1 AND " LIVE);
    if (!st)
        return store_err(s);
    bind_int64(st, 1, id);
    bind_int64(st, 2, now);
    enum fq_err err = stmt_exec(s, ST_TIMER_FIRE, st);
    if (!err && sqlite3_changes(s->db) == 0)
        err = FQ_ENOTFOUND;
    return err;
}

/* kind NULL: every kind. */
static enum fq_err cancel(struct store *s, int64_t case_id, const char *kind)
{
    enum stmt_id id = kind ? ST_TIMER_CANCEL_KIND : ST_TIMER_CANCEL;
    sqlite3_stmt *st =
        kind ? STMT(s, id,
                    "UPDATE timers SET cancelled_at = ?2 "
                    "WHERE case_id = ?1 AND " LIVE " AND kind = ?3")
             : STMT(s, id, "UPDATE timers SET cancelled_at = ?2 WHERE case_id = ?1 AND " LIVE);
    if (!st)
        return store_err(s);
    bind_int64(st, 1, case_id);
    bind_int64(st, 2, fq_now());
    if (kind)
        bind_text(st, 3, kind);
    return stmt_exec(s, id, st);
}

enum fq_err store_timer_cancel(struct store *s, int64_t case_id, enum fq_timer_kind kind)
{
    if ((int)kind < 0 || kind >= FQ_TIMER__COUNT)
        return FQ_EINVAL;
    return cancel(s, case_id, fq_timer_kind_name(kind));
}

enum fq_err store_timer_cancel_all(struct store *s, int64_t case_id)
{
    return cancel(s, case_id, NULL);
}

enum fq_err store_timer_next(struct store *s, int64_t *due_at)
{
    *due_at = 0;
    sqlite3_stmt *st = STMT(s, ST_TIMER_NEXT,
                            "SELECT due_at FROM timers WHERE " LIVE " ORDER BY due_at LIMIT 1");
    if (!st)
        return store_err(s);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *due_at = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        err = FQ_ENOTFOUND;
    else
        err = store_map_rc(rc);
    stmt_done(s, ST_TIMER_NEXT, st);
    return err;
}

int64_t store_timer_pending_count(struct store *s)
{
    sqlite3_stmt *st = STMT(s, ST_TIMER_COUNT, "SELECT count(*) FROM timers WHERE " LIVE);
    if (!st)
        return -1;
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    stmt_done(s, ST_TIMER_COUNT, st);
    return n;
}

/* stmt.c: the one statement cache of a connection (store/stmt.h), the helpers that bind and read
 * columns, SQLite result codes as enum fq_err, and the inner savepoint a store function takes
 * when it runs outside the caller's transaction. */
#include "store/stmt.h"
#include "common/fq.h"

#include <stdlib.h>
#include <string.h>

bool store_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *na = realloc(*arr, ncap * elem);
    if (!na)
        return false;
    *arr = na;
    *cap = ncap;
    return true;
}

/* ---- errors -------------------------------------------------------------------------------- */
enum fq_err store_map_rc(int rc)
{
    switch (rc) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return FQ_OK;
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
        return FQ_EEXIST;
    case SQLITE_NOTFOUND:
        return FQ_ENOTFOUND;
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return FQ_EBUSY;
    case SQLITE_NOMEM:
        return FQ_ENOMEM;
    case SQLITE_CONSTRAINT: /* NOT NULL, CHECK, FOREIGN KEY, the append-only triggers */
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
        return FQ_EINVAL;
    default: /* FULL, IOERR, READONLY, CORRUPT, CANTOPEN, NOTADB, ERROR, ... */
        return FQ_ESTORE;
    }
}

enum fq_err store_err(struct store *s)
{
    if (!s || !s->db)
        return FQ_ESTORE;
    enum fq_err e = store_map_rc(sqlite3_extended_errcode(s->db));
    return e == FQ_OK ? FQ_ESTORE : e;
}

/* ---- statement cache ----------------------------------------------------------------------- */
sqlite3_stmt *stmt_get(struct store *s, enum stmt_id id, const char *sql)
{
    sqlite3_stmt *st = s->stmt[id];
    if (st && !sqlite3_stmt_busy(st))
        return st;
    sqlite3_stmt *fresh = NULL;
    unsigned flags = st ? 0 : SQLITE_PREPARE_PERSISTENT;
    if (sqlite3_prepare_v3(s->db, sql, -1, flags, &fresh, NULL) != SQLITE_OK) {
        sqlite3_finalize(fresh);
        return NULL;
    }
    if (!st)
        s->stmt[id] = fresh;
    return fresh;
}

void stmt_done(struct store *s, enum stmt_id id, sqlite3_stmt *st)
{
    if (!st)
        return;
    if (s->stmt[id] == st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        sqlite3_finalize(st);
    }
}

enum fq_err stmt_exec(struct store *s, enum stmt_id id, sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    enum fq_err err = rc == SQLITE_DONE ? FQ_OK : store_map_rc(rc);
    if (rc != SQLITE_DONE && err == FQ_OK)
        err = FQ_ESTORE;
    stmt_done(s, id, st);
    return err;
}

/* A statement with no parameters: prepare (cached), run, reset. */
enum fq_err exec_cached(struct store *s, enum stmt_id id, const char *sql)
{
    sqlite3_stmt *st = STMT(s, id, sql);
    if (!st)
        return store_err(s);
    return stmt_exec(s, id, st);
}

/* ---- binding and reading ------------------------------------------------------------------- */
int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int bind_int64(sqlite3_stmt *st, int i, int64_t v) { return sqlite3_bind_int64(st, i, v); }

int bind_double(sqlite3_stmt *st, int i, double v) { return sqlite3_bind_double(st, i, v); }

char *col_text(sqlite3_stmt *st, int i, bool dup, bool *oom)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const char *t = (const char *)sqlite3_column_text(st, i);
    if (!t) {
        *oom = true;
        return NULL;
    }
    if (!dup)
        return (char *)t;
    char *c = strdup(t);
    if (!c)
        *oom = true;
    return c;
}

void col_text_buf(sqlite3_stmt *st, int i, char *buf, size_t size)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    if (!size)
        return;
    if (!t)
        t = "";
    size_t n = strlen(t);
    if (n >= size)
        n = size - 1;
    memcpy(buf, t, n);
    buf[n] = '\0';
}

int col_enum(sqlite3_stmt *st, int i, int (*parse)(const char *), int unknown)
{
    int v = parse((const char *)sqlite3_column_text(st, i));
    return v < 0 ? unknown : v;
}

enum fq_err isp_begin(struct store *s, bool *own)
{
    *own = sqlite3_get_autocommit(s->db) != 0;
    if (!*own)
        return FQ_OK;
    return exec_cached(s, ST_ISP_BEGIN, "SAVEPOINT fq_internal");
}

enum fq_err isp_end(struct store *s, bool own, enum fq_err err)
{
    if (!own)
        return err;
    if (err) {
        (void)exec_cached(s, ST_ISP_ROLLBACK, "ROLLBACK TO fq_internal");
        (void)exec_cached(s, ST_ISP_RELEASE, "RELEASE fq_internal");
        return err;
    }
    err = exec_cached(s, ST_ISP_RELEASE, "RELEASE fq_internal");
    if (!err)
        s->commits++;
    else if (!sqlite3_get_autocommit(s->db))
        (void)exec_cached(s, ST_ROLLBACK, "ROLLBACK");
    return err;
}

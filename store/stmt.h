/* stmt.h (store/stmt.c): what the files of store/ share and nobody else sees: the connection struct,
 * the statement cache and the small helpers that bind and read columns.
 *
 * The statement cache is an array indexed by enum stmt_id. Each use site passes its SQL text
 * next to its id (STMT(s, ST_X, "SELECT ...")), so the SQL stays beside the code that reads
 * its columns; the text is prepared once per connection, on first use, with
 * SQLITE_PREPARE_PERSISTENT. A cached statement that is still running (a callback of a listing
 * calls back into the store) is never reused under its owner: the caller gets a fresh one,
 * finalized by stmt_done. */
#ifndef FQ_STMT_H
#define FQ_STMT_H

#include "store/store.h"
#include "common/fq.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

enum stmt_id {
    /* store.c */
    ST_BEGIN = 0, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
    ST_ISP_BEGIN, ST_ISP_RELEASE, ST_ISP_ROLLBACK,
    ST_USER_VERSION, ST_READ_BEGIN, ST_READ_PIN,
    ST_KV_GET, ST_KV_PUT,
    ST_INBOX_GET, ST_INBOX_PUT,
    /* convo.c */
    ST_RESIDENT_GET, ST_RESIDENT_PUT,
    ST_CONVO_GET, ST_CONVO_PUT, ST_CONVO_IDLE, ST_CONVO_OPEN_COUNT,
    /* cases.c */
    ST_DAY_SEQ_NEXT, ST_CASE_INSERT, ST_CASE_UPDATE, ST_CASE_GET, ST_CASE_GET_ID,
    ST_CASE_COUNT_RESIDENT, ST_MEDIATOR_LOAD,
    ST_EVENT_ADD, ST_EVENT_LIST,
    /* roster.c */
    ST_ROSTER_DEL_ROUTE_MED, ST_ROSTER_DEL_ROUTES, ST_ROSTER_DEL_MED_CAT, ST_ROSTER_DEL_MED_GW,
    ST_ROSTER_DEL_MED,
    ST_ROSTER_DEL_ALIASES, ST_ROSTER_DEL_ORG,
    ST_ORG_INSERT, ST_ALIAS_INSERT, ST_MED_INSERT, ST_MED_CAT_INSERT, ST_MED_GW_INSERT, ST_ROUTE_INSERT,
    ST_ROUTE_MED_INSERT,
    ST_ORG_LOAD, ST_ALIAS_LOAD, ST_MED_LOAD, ST_MED_CAT_LOAD, ST_MED_GW_LOAD, ST_ROUTE_LOAD, ST_ROUTE_MED_LOAD,
    ST_ORG_COUNT, ST_MED_COUNT, ST_ROUTE_COUNT,
    /* outbox.c */
    ST_OUTBOX_ADD, ST_OUTBOX_PENDING, ST_OUTBOX_DONE, ST_OUTBOX_RETRY, ST_OUTBOX_STATS,
    /* timers.c */
    ST_TIMER_ADD, ST_TIMER_DUE, ST_TIMER_FIRE, ST_TIMER_CANCEL, ST_TIMER_CANCEL_KIND,
    ST_TIMER_NEXT, ST_TIMER_COUNT, ST_TIMER_DUE_IN, ST_TIMER_DUE_NOT_IN,
    /* timer_lifecycle.c */
    ST_TIMER_GET, ST_DIGEST_CASES,
    /* report_query.c */
    ST_REPORT_CASE_IDS, ST_REPORT_CREATED_IDS, ST_REPORT_OUTCOME_NOTE,
    /* stats_query.c */
    ST_STATS_GROUPS, ST_STATS_TIMES, ST_STATS_EVENTS, ST_STATS_SURVEYS, ST_STATS_FLOW_RECEIVED,
    ST_STATS_FLOW_RESOLVED, ST_STATS_LATE,
    /* surveys.c */
    ST_SURVEY_INSERT, ST_SURVEY_UPDATE, ST_SURVEY_GET, ST_SURVEY_FIND, ST_SURVEY_OPEN_FOR,
    ST_SURVEY_LIST, ST_SURVEY_CLOSED_IN,
    /* surveys.c, wecom.c: the statements that run per message or per case */
    ST_REACH_PUT, ST_REACH_GET,
    ST_KF_GET, ST_KF_INBOUND, ST_KF_SENT, ST_KF_BLOCKED,
    /* retention.c */
    ST_PRUNE_INBOX, ST_PRUNE_OUTBOX, ST_PRUNE_TIMERS,
    /* web_table.c */
    ST_WEB_USER_GET, ST_WEB_USER_BY_MED, ST_WEB_USER_ADD, ST_WEB_USER_LIST, ST_WEB_USER_DISABLE,
    ST_WEB_USER_PASSWD, ST_WEB_SESSION_GET, ST_WEB_SESSION_PUT, ST_WEB_SESSION_DEL,
    ST_WEB_SESSION_DEL_LOGIN, ST_WEB_SESSION_PRUNE, ST_WEB_AUDIT_ADD, ST_WEB_EVENTS_AFTER,
    ST_WEB_EVENTS_MAX,
    ST__COUNT
};

/* The case list's statements, one per combination of the filters given (store/case_table.c). */
#define CASE_LIST_SHAPES 256

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[ST__COUNT];
    sqlite3_stmt *case_list[CASE_LIST_SHAPES];
    uint64_t commits;
    int sp_depth;                    /* open store_savepoint()s */
    bool readonly;
    int lock_fd;                     /* shared flock of a read-write open, -1 (backup.c) */
    char *lock_db;                   /* the path it was taken for */
};

/* The migrations compiled into the binary (build/gen/migrations.c, from store/migrations/), in
 * version order: store.c applies them, backup.c rebuilds a version's schema from them. */
struct fq_migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct fq_migration fq_migrations[];
extern const size_t fq_n_migrations;

/* The cached statement id (prepared from sql on first use), or a fresh one when the cached one
 * is still stepping. NULL on a prepare failure (store_errmsg says why; map with store_err). */
sqlite3_stmt *stmt_get(struct store *s, enum stmt_id id, const char *sql);
/* Resets and clears the statement (cached) or finalizes it (fresh). NULL-safe. */
void stmt_done(struct store *s, enum stmt_id id, sqlite3_stmt *st);
#define STMT(s, id, sql) stmt_get((s), (id), (sql))

/* Maps an SQLite result code (extended or primary) to enum fq_err. SQLITE_OK/ROW/DONE: FQ_OK. */
enum fq_err store_map_rc(int rc);
/* The error of the connection's last failure. */
enum fq_err store_err(struct store *s);
/* Makes room for one more element of size elem in *arr (holding n of *cap), doubling from 16.
 * False on allocation failure (*arr is left as it was). */
bool store_grow(void **arr, size_t *cap, size_t n, size_t elem);

/* Runs a statement that returns no rows (or ignores them); resets it. */
enum fq_err stmt_exec(struct store *s, enum stmt_id id, sqlite3_stmt *st);
/* The cached statement id from sql, run as stmt_exec does (BEGIN, COMMIT, SAVEPOINT ...). */
enum fq_err exec_cached(struct store *s, enum stmt_id id, const char *sql);

/* An internal savepoint for functions that write several rows: opens one only when the caller
 * has no transaction (so a lone call is still atomic), else does nothing. *own records which. */
enum fq_err isp_begin(struct store *s, bool *own);
/* Ends it: releases (counting the commit) when err is FQ_OK, else rolls back. Returns err, or
 * the release failure. */
enum fq_err isp_end(struct store *s, bool own, enum fq_err err);

/* Binding helpers: NULL text binds SQL NULL. Text is bound SQLITE_STATIC: the caller's string
 * must live until the statement is reset (always true within one store call). */
int bind_text(sqlite3_stmt *st, int i, const char *v);
int bind_int64(sqlite3_stmt *st, int i, int64_t v);
int bind_double(sqlite3_stmt *st, int i, double v);

/* Column text: a malloc'd copy (dup = true) or a pointer into SQLite's row (borrowed until the
 * next step/reset). NULL for SQL NULL; on allocation failure sets *oom. */
char *col_text(sqlite3_stmt *st, int i, bool dup, bool *oom);
/* Copies column text into a fixed buffer, truncating; "" for NULL. */
void col_text_buf(sqlite3_stmt *st, int i, char *buf, size_t size);
/* A stored name read as its enum (common/status.h) with parse; `unknown` for NULL or a name
 * parse does not know. */
int col_enum(sqlite3_stmt *st, int i, int (*parse)(const char *), int unknown);

#endif

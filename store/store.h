/* store.h: the database connection (store/store.c): opening and migrating, transactions and
 * savepoints, inbound dedupe and key/value state. What fengqiao keeps is behind typed functions,
 * one header per file of store/ (case_table.h, convo.h, outbox_table.h, ...). Only store/
 * includes sqlite3.h; struct store is opaque. One connection per thread: the core thread writes, other threads
 * (CLI, readers) open their own.
 *
 * Durability: WAL, synchronous=FULL; the database file is created 0600. Migrations in
 * store/migrations/NNNN_name.sql (one file each) are compiled in and applied in order, tracked by
 * PRAGMA user_version. Every statement is prepared once per connection and cached.
 *
 * Strings returned inside structs are owned by the struct (free with the matching _cleanup);
 * strings passed in are borrowed for the duration of the call. */
#ifndef FQ_STORE_H
#define FQ_STORE_H

#include <stdatomic.h>

#include "common/fq.h"
#include "common/status.h"
#include "store/stmt.h"

struct store;

/* Opens (creating if needed, mode 0600, parent directory created 0700) and migrates. On error
 * *cause (caller frees) says what failed. */
enum fq_err store_open(const char *path, struct store **out, char **cause);
/* Opens an existing database read-only without migrating (cases list, reports). */
enum fq_err store_open_readonly(const char *path, struct store **out, char **cause);
void store_close(struct store *s);                      /* NULL-safe */
int store_schema_version(struct store *s);              /* PRAGMA user_version */
int store_schema_latest(void);                          /* newest compiled-in migration */

/* Transactions. begin is BEGIN IMMEDIATE. Savepoints let the core undo one message's work
 * without losing the batch: store_savepoint / store_release / store_rollback_to. */
enum fq_err store_begin(struct store *s);
enum fq_err store_commit(struct store *s);
/* A read transaction: everything read until store_read_end sees the database as it was at
 * store_read_begin (a WAL snapshot), whatever the writer commits meanwhile; the writer never
 * waits for it. For the long reads of the reader threads (bot/core/reports.c). */
enum fq_err store_read_begin(struct store *s);
void store_read_end(struct store *s);
/* While *flag (borrowed, may be set from any thread) is true, every statement of this connection
 * stops within a few thousand steps with FQ_ESTORE: a long read given up at shutdown. NULL: off. */
void store_set_cancel(struct store *s, const atomic_bool *flag);
void store_rollback(struct store *s);
enum fq_err store_savepoint(struct store *s);
enum fq_err store_release(struct store *s);
void store_rollback_to(struct store *s);
/* Number of fsync-bearing commits so far on this connection (for metrics and benchmarks). */
uint64_t store_commits(struct store *s);
/* The last SQLite error text of this connection (borrowed), for logs. */
const char *store_errmsg(struct store *s);
/* WAL checkpoints: pages = 0 turns off the automatic checkpoint that would otherwise run inside
 * a commit of this connection (SQLite's default: every 1000 pages). */
enum fq_err store_set_autocheckpoint(struct store *s, int pages);
/* A PASSIVE checkpoint: copies what it can from the WAL into the database without waiting for
 * readers or the writer. *frames (may be NULL) is the WAL's size in frames afterwards. */
enum fq_err store_checkpoint(struct store *s, int *frames);

/* ---- inbound dedupe (chat message_id, WeCom MsgId, MQTT request_id) ------------------------ */
/* The answer stored for (scope, key): scope is e.g. "chat:web:u-1", key the message id.
 * FQ_ENOTFOUND when new. *answer: caller frees. */
enum fq_err store_inbox_get(struct store *s, const char *scope, const char *key, int *status,
                            char **answer);
enum fq_err store_inbox_put(struct store *s, const char *scope, const char *key, int status,
                            const char *answer, int64_t at);

/* ---- key/value state (cursors, instance id) ------------------------------------------------ */
enum fq_err store_kv_get(struct store *s, const char *key, char **value);   /* caller frees */
enum fq_err store_kv_put(struct store *s, const char *key, const char *value);

#endif

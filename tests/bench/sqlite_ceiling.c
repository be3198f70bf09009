/* sqlite_ceiling.c: the storage ceiling for `make bench`. With the daemon's durability settings
 * (WAL, synchronous=FULL) on a file in the directory given (the same filesystem as the daemon's
 * database), it measures:
 *   single   rows/s when every row is its own transaction (one fsync each): what a daemon
 *            without group commit could reach;
 *   batched  rows/s in transactions of BATCH rows (500 by default): what group commit allows
 *            when the store, not HTTP, is the limit.
 * The row is shaped like the daemon's inbox row (scope, key, status, a ~400-byte JSON answer,
 * time; WITHOUT ROWID primary key), i.e. one of the rows each chat turn writes.
 *
 * Usage: sqlite_ceiling DIR [SECONDS_PER_TEST] [BATCH]
 * Prints one line: single_txn_per_s=... batched_rows_per_s=... batch=... fsync_ms=...
 * Bounded: each test stops after SECONDS or 2,000,000 rows, whichever comes first. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROWS 2000000L

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "sqlite_ceiling: %s: %s\n", sql, err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
    }
    return rc;
}

/* Inserts rows in transactions of `batch` for `secs`; returns rows per second, -1 on error. */
static double measure(sqlite3 *db, sqlite3_stmt *ins, const char *tag, double secs, long batch)
{
    static const char answer[] =
        "{\"replies\":[{\"text\":\"bench answer bench answer bench answer bench answer bench "
        "answer bench answer bench answer bench answer bench answer bench answer bench answer "
        "bench answer bench answer bench answer bench answer bench answer bench answer bench "
        "answer bench answer bench answer bench answer bench answer bench answer bench answer "
        "bench answer\"}],\"state\":\"confirm\",\"options\":[{\"key\":\"1\",\"label\":\"x\"}]}";
    long rows = 0;
    double t0 = now_s(), t = t0;
    char scope[64], key[64];
    while (t - t0 < secs && rows < MAX_ROWS) {
        if (exec(db, "BEGIN IMMEDIATE") != SQLITE_OK)
            return -1;
        for (long i = 0; i < batch; i++, rows++) {
            snprintf(scope, sizeof scope, "chat:web:%s-%ld", tag, rows / 20);
            snprintf(key, sizeof key, "%s-%ld", tag, rows);
            sqlite3_bind_text(ins, 1, scope, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 2, key, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(ins, 3, 200);
            sqlite3_bind_text(ins, 4, answer, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 5, (sqlite3_int64)time(NULL));
            int rc = sqlite3_step(ins);
            sqlite3_reset(ins);
            if (rc != SQLITE_DONE) {
                fprintf(stderr, "sqlite_ceiling: insert: %s\n", sqlite3_errmsg(db));
                exec(db, "ROLLBACK");
                return -1;
            }
        }
        if (exec(db, "COMMIT") != SQLITE_OK)
            return -1;
        t = now_s();
    }
    return (double)rows / (t - t0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sqlite_ceiling DIR [SECONDS_PER_TEST] [BATCH]\n");
        return 2;
    }
    double secs = argc > 2 ? strtod(argv[2], NULL) : 2;
    long batch = argc > 3 ? strtol(argv[3], NULL, 10) : 500;
    if (secs <= 0 || secs > 30 || batch < 1 || batch > 100000) {
        fprintf(stderr, "sqlite_ceiling: SECONDS in (0, 30], BATCH in [1, 100000]\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/ceiling-%ld.db", argv[1], (long)getpid());
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    int status = 1;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite_ceiling: cannot open %s\n", path);
        goto out;
    }
    if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") != SQLITE_OK ||
        exec(db, "CREATE TABLE inbox (scope TEXT NOT NULL, key TEXT NOT NULL, "
                 "status INTEGER NOT NULL, answer TEXT, at INTEGER NOT NULL, "
                 "PRIMARY KEY (scope, key)) WITHOUT ROWID") != SQLITE_OK)
        goto out;
    if (sqlite3_prepare_v2(db, "INSERT INTO inbox (scope, key, status, answer, at) "
                               "VALUES (?, ?, ?, ?, ?)", -1, &ins, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite_ceiling: prepare: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    double single = measure(db, ins, "s", secs, 1);
    double batched = measure(db, ins, "b", secs, batch);
    if (single < 0 || batched < 0)
        goto out;
    printf("single_txn_per_s=%.1f batched_rows_per_s=%.1f batch=%ld fsync_ms=%.3f\n", single,
           batched, batch, single > 0 ? 1000.0 / single : 0);
    status = 0;
out:
    sqlite3_finalize(ins);
    sqlite3_close(db);
    char side[4200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return status;
}

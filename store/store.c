/* store.c: opening the database, its PRAGMAs and migrations, transactions and savepoints, and
 * the two small tables (kv, inbox).
 *
 * Design: one struct store per connection and per thread (SQLITE_OPEN_NOMUTEX: no locking
 * inside SQLite, the caller never shares it). Every SQL text is a constant prepared once and
 * cached in s->stmt[] (store/stmt.c); values are always bound, never spliced into SQL. Durability comes from
 * WAL + synchronous=FULL; the core batches many messages into one BEGIN IMMEDIATE ... COMMIT
 * so the fsync is paid per batch. Migrations are compiled in (build/gen/migrations.c) and each
 * runs in its own transaction together with the PRAGMA user_version bump, so a crash mid-way
 * leaves the schema at a whole version. */
#include "store/stmt.h"
#include "common/fq.h"
#include "store/backup.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum fq_err store_set_autocheckpoint(struct store *s, int pages)
{
    return store_map_rc(sqlite3_wal_autocheckpoint(s->db, pages < 0 ? 0 : pages));
}

enum fq_err store_checkpoint(struct store *s, int *frames)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (frames)
        *frames = log;
    return rc == SQLITE_BUSY ? FQ_OK : store_map_rc(rc);
}

/* ---- opening ------------------------------------------------------------------------------- */
static char *cause_fmt(const char *what, const char *detail)
{
    char *c = NULL;
    if (asprintf(&c, "%s: %s", what, detail ? detail : "unknown error") < 0)
        return NULL;
    return c;
}

static void set_cause(char **cause, const char *what, const char *detail)
{
    if (cause) {
        free(*cause);
        *cause = cause_fmt(what, detail);
    }
}

/* mkdir -p of the directory part of path, each created level 0700. */
static int make_parent(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return -1;
    int rc = 0;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        goto out;
    *slash = '\0';
    for (char *p = dir + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            struct stat sb;
            if (stat(dir, &sb) != 0 && mkdir(dir, 0700) != 0 && errno != EEXIST) {
                rc = -1;
                goto out;
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
out:
    free(dir);
    return rc;
}

static void chmod_if_exists(const char *path, const char *suffix)
{
    char *p = NULL;
    if (asprintf(&p, "%s%s", path, suffix) < 0)
        return;
    if (access(p, F_OK) == 0)
        (void)chmod(p, 0600);
    free(p);
}

static struct store *store_alloc(void)
{
    struct store *s = calloc(1, sizeof(struct store));
    if (s)
        s->lock_fd = -1;
    return s;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    for (int i = 0; i < CASE_LIST_SHAPES; i++)
        sqlite3_finalize(s->case_list[i]);
    sqlite3_close_v2(s->db);
    store_lock_release(s->lock_db, s->lock_fd);
    free(s->lock_db);
    free(s);
}

int store_schema_latest(void)
{
    int v = 0;
    for (size_t i = 0; i < fq_n_migrations; i++)
        if (fq_migrations[i].version > v)
            v = fq_migrations[i].version;
    return v;
}

int store_schema_version(struct store *s)
{
    sqlite3_stmt *st = STMT(s, ST_USER_VERSION, "PRAGMA user_version");
    if (!st)
        return -1;
    int v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    stmt_done(s, ST_USER_VERSION, st);
    return v;
}

static enum fq_err migrate(struct store *s, char **cause)
{
    int cur = store_schema_version(s);
    if (cur < 0) {
        set_cause(cause, "reading schema version", store_errmsg(s));
        return store_err(s);
    }
    int latest = store_schema_latest();
    if (cur > latest) {
        char d[96];
        snprintf(d, sizeof d, "database schema %d is newer than this program's %d", cur, latest);
        set_cause(cause, "migrate", d);
        return FQ_ESTORE;
    }
    if (cur > 0 && cur < latest) {   /* an existing database: keep a copy first */
        char *bak = NULL;
        enum fq_err be = store_backup_before_migrate(s, cur, &bak, cause);
        if (be)
            return be;
        char ts[32];   /* a line in the daemon's log format (store/ does not use bot/log) */
        fq_rfc3339(fq_now(), ts, sizeof ts);
        fprintf(stderr, "ts=%s level=info msg=schema upgrade from=%d to=%d backup=\"%s\"\n", ts,
                cur, latest, bak);
        free(bak);
    }
    for (size_t i = 0; i < fq_n_migrations; i++) {
        const struct fq_migration *m = &fq_migrations[i];
        if (m->version <= cur)
            continue;
        char *errmsg = NULL;
        char pragma[64];
        /* version is a compiled-in integer, not outside text */
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
        int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &errmsg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, m->sql, NULL, NULL, &errmsg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, pragma, NULL, NULL, &errmsg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, &errmsg);
        if (rc != SQLITE_OK) {
            enum fq_err e = store_map_rc(sqlite3_extended_errcode(s->db));
            if (cause) {
                free(*cause);
                *cause = NULL;
                if (asprintf(cause, "migration %s: %s", m->name,
                             errmsg ? errmsg : sqlite3_errstr(rc)) < 0)
                    *cause = NULL;
            }
            sqlite3_free(errmsg);
            if (!sqlite3_get_autocommit(s->db))
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return e == FQ_OK ? FQ_ESTORE : e;
        }
        s->commits++;
        cur = m->version;
    }
    return FQ_OK;
}

static enum fq_err open_common(const char *path, bool readonly, struct store **out, char **cause)
{
    enum fq_err err = FQ_OK;
    struct store *s = NULL;
    if (cause)
        *cause = NULL;
    *out = NULL;
    if (!path || !*path) {
        set_cause(cause, "store.path", "empty");
        return FQ_EINVAL;
    }
    s = store_alloc();
    if (!s)
        return FQ_ENOMEM;
    s->readonly = readonly;

    if (!readonly) {
        if (make_parent(path) != 0) {
            set_cause(cause, "creating the database directory", strerror(errno));
            err = FQ_EIO;
            goto out;
        }
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            (void)fchmod(fd, 0600); /* whatever the umask */
            close(fd);           /* nothing of SQLite has this file open yet */
        } else if (errno != EEXIST) {
            set_cause(cause, path, strerror(errno));
            err = FQ_EIO;
            goto out;
        }
        /* shared, on the database file itself: a restore (store/backup.c) needs it
         * exclusively and refuses while held. Taken before SQLite opens the file. */
        if (!(s->lock_db = strdup(path))) {
            err = FQ_ENOMEM;
            goto out;
        }
        if ((s->lock_fd = store_lock_take(path, false, cause)) < 0) {
            err = FQ_EBUSY;
            goto out;
        }
    }

    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        set_cause(cause, path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        err = store_map_rc(rc);
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);

    /* Fixed PRAGMA texts: no outside input. */
    static const char *const rw_pragmas =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
        " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384;";
    static const char *const ro_pragmas = "PRAGMA foreign_keys=ON;";
    char *errmsg = NULL;
    rc = sqlite3_exec(s->db, readonly ? ro_pragmas : rw_pragmas, NULL, NULL, &errmsg);
    if (rc != SQLITE_OK) {
        set_cause(cause, "setting PRAGMAs", errmsg ? errmsg : sqlite3_errstr(rc));
        sqlite3_free(errmsg);
        err = store_map_rc(sqlite3_extended_errcode(s->db));
        if (err == FQ_OK)
            err = FQ_ESTORE;
        goto out;
    }

    if (readonly) {
        int v = store_schema_version(s);
        if (v < 0) {
            set_cause(cause, path, store_errmsg(s));
            err = store_err(s);
            goto out;
        }
        if (v == 0) {
            set_cause(cause, path, "not a fengqiao database (schema version 0)");
            err = FQ_ESTORE;
            goto out;
        }
        if (v > store_schema_latest()) {
            set_cause(cause, path, "database schema is newer than this program");
            err = FQ_ESTORE;
            goto out;
        }
    } else {
        /* journal_mode=WAL can silently stay on another mode (e.g. a read-only medium). */
        sqlite3_stmt *st = NULL;
        bool wal = false;
        if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW) {
            const char *m = (const char *)sqlite3_column_text(st, 0);
            wal = m && strcmp(m, "wal") == 0;
        }
        sqlite3_finalize(st);
        if (!wal) {
            set_cause(cause, path, "could not switch to WAL journal mode");
            err = FQ_ESTORE;
            goto out;
        }
        err = migrate(s, cause);
        if (err)
            goto out;
        chmod_if_exists(path, "-wal");
        chmod_if_exists(path, "-shm");
    }
    *out = s;
    s = NULL;
out:
    store_close(s);
    return err;
}

enum fq_err store_open(const char *path, struct store **out, char **cause)
{
    return open_common(path, false, out, cause);
}

enum fq_err store_open_readonly(const char *path, struct store **out, char **cause)
{
    return open_common(path, true, out, cause);
}

/* ---- transactions -------------------------------------------------------------------------- */
enum fq_err store_begin(struct store *s)
{
    s->sp_depth = 0;
    return exec_cached(s, ST_BEGIN, "BEGIN IMMEDIATE");
}

enum fq_err store_read_begin(struct store *s)
{
    s->sp_depth = 0;
    enum fq_err err = exec_cached(s, ST_READ_BEGIN, "BEGIN DEFERRED");
    /* a deferred transaction takes its snapshot at its first read: take it here */
    if (!err && (err = exec_cached(s, ST_READ_PIN, "SELECT count(*) FROM sqlite_schema")))
        store_rollback(s);
    return err;
}

void store_read_end(struct store *s)
{
    store_rollback(s);
}

static int cancel_cb(void *arg)
{
    return atomic_load((const atomic_bool *)arg) ? 1 : 0;
}

void store_set_cancel(struct store *s, const atomic_bool *flag)
{
    /* fixed handler, the flag as its argument: every 4096 virtual machine steps */
    sqlite3_progress_handler(s->db, flag ? 4096 : 0, flag ? cancel_cb : NULL, (void *)flag);
}

enum fq_err store_commit(struct store *s)
{
    enum fq_err err = exec_cached(s, ST_COMMIT, "COMMIT");
    if (!err) {
        s->commits++;
        s->sp_depth = 0;
    }
    return err;
}

void store_rollback(struct store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        (void)exec_cached(s, ST_ROLLBACK, "ROLLBACK");
    s->sp_depth = 0;
}

enum fq_err store_savepoint(struct store *s)
{
    enum fq_err err = exec_cached(s, ST_SAVEPOINT, "SAVEPOINT fq_msg");
    if (!err)
        s->sp_depth++;
    return err;
}

/* SQLite may roll back the whole transaction by itself after some errors (SQLITE_FULL,
 * IOERR, NOMEM, BUSY): the savepoints are gone then too. */
static bool savepoints_lost(struct store *s)
{
    if (s->sp_depth > 0 && sqlite3_get_autocommit(s->db)) {
        s->sp_depth = 0;
        return true;
    }
    return false;
}

enum fq_err store_release(struct store *s)
{
    /* After store_rollback_to the savepoint is gone already: releasing it is a no-op. */
    if (s->sp_depth <= 0)
        return FQ_OK;
    if (savepoints_lost(s))
        return FQ_ESTORE;
    enum fq_err err = exec_cached(s, ST_RELEASE, "RELEASE fq_msg");
    if (!err) {
        s->sp_depth--;
        if (s->sp_depth == 0 && sqlite3_get_autocommit(s->db))
            s->commits++; /* the savepoint was the transaction */
    }
    return err;
}

void store_rollback_to(struct store *s)
{
    if (s->sp_depth <= 0 || savepoints_lost(s))
        return;
    (void)exec_cached(s, ST_ROLLBACK_TO, "ROLLBACK TO fq_msg");
    (void)exec_cached(s, ST_RELEASE, "RELEASE fq_msg");
    s->sp_depth--;
}

uint64_t store_commits(struct store *s) { return s ? s->commits : 0; }

const char *store_errmsg(struct store *s)
{
    return (s && s->db) ? sqlite3_errmsg(s->db) : "no database";
}

/* ---- kv ------------------------------------------------------------------------------------ */
enum fq_err store_kv_get(struct store *s, const char *key, char **value)
{
    *value = NULL;
    sqlite3_stmt *st = STMT(s, ST_KV_GET, "SELECT value FROM kv WHERE key = ?1");
    if (!st)
        return store_err(s);
    bind_text(st, 1, key);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bool oom = false;
        *value = col_text(st, 0, true, &oom);
        if (oom)
            err = FQ_ENOMEM;
        else if (!*value && !(*value = strdup("")))
            err = FQ_ENOMEM;
    } else if (rc == SQLITE_DONE) {
        err = FQ_ENOTFOUND;
    } else {
        err = store_map_rc(rc);
    }
    stmt_done(s, ST_KV_GET, st);
    return err;
}

enum fq_err store_kv_put(struct store *s, const char *key, const char *value)
{
    if (!key)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_KV_PUT,
                            "INSERT INTO kv(key, value) VALUES (?1, ?2) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!st)
        return store_err(s);
    bind_text(st, 1, key);
    bind_text(st, 2, value);
    return stmt_exec(s, ST_KV_PUT, st);
}

/* ---- inbox --------------------------------------------------------------------------------- */
enum fq_err store_inbox_get(struct store *s, const char *scope, const char *key, int *status,
                            char **answer)
{
    if (answer)
        *answer = NULL;
    sqlite3_stmt *st = STMT(s, ST_INBOX_GET,
                            "SELECT status, answer FROM inbox WHERE scope = ?1 AND key = ?2");
    if (!st)
        return store_err(s);
    bind_text(st, 1, scope);
    bind_text(st, 2, key);
    enum fq_err err = FQ_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (status)
            *status = sqlite3_column_int(st, 0);
        if (answer) {
            bool oom = false;
            *answer = col_text(st, 1, true, &oom);
            if (oom)
                err = FQ_ENOMEM;
        }
    } else if (rc == SQLITE_DONE) {
        err = FQ_ENOTFOUND;
    } else {
        err = store_map_rc(rc);
    }
    stmt_done(s, ST_INBOX_GET, st);
    return err;
}

enum fq_err store_inbox_put(struct store *s, const char *scope, const char *key, int status,
                            const char *answer, int64_t at)
{
    if (!scope || !key)
        return FQ_EINVAL;
    sqlite3_stmt *st = STMT(s, ST_INBOX_PUT,
                            "INSERT INTO inbox(scope, key, status, answer, at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return store_err(s);
    bind_text(st, 1, scope);
    bind_text(st, 2, key);
    sqlite3_bind_int(st, 3, status);
    bind_text(st, 4, answer);
    bind_int64(st, 5, at);
    return stmt_exec(s, ST_INBOX_PUT, st);
}

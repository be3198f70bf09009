/* backup.c: consistent copies of the database (online backup, restore, the copy taken before a
 * migration) and the advisory lock that tells a restore whether anyone has the database open.
 *
 * Design:
 * - Copies use SQLite's online backup API in ONE step (sqlite3_backup_step(-1)). In WAL mode the
 *   source side is a single read transaction: it sees one committed snapshot and never blocks
 *   the daemon's writer, and writers never force it to restart (an incremental backup would be
 *   restarted by every commit of another connection and might never finish under load). The copy
 *   is written to "<dest>.tmp", switched to journal_mode=DELETE (a self-contained single file),
 *   fsynced and renamed over dest, so a file named dest is always a complete backup.
 * - Restore checks the backup first, opened read-only with an untrusted schema (no trigger,
 *   view or function of the file runs): PRAGMA integrity_check, user_version between 1 and this
 *   program's newest migration, the tables of the first migration present, and then the whole
 *   schema: every table, column, index, trigger and view of sqlite_schema (type, name, table,
 *   CREATE text with whitespace normalised; table_xinfo/index_xinfo per object) must be exactly
 *   what this program's own compiled-in migrations produce for that user_version, rebuilt in an
 *   in-memory database. Any extra, missing or different object is refused and named: a backup
 *   is data, and code smuggled into its schema would run inside the daemon. Then it takes the
 *   lock below exclusively, keeps the current database as "<db>.pre-restore-<UTC time>" and
 *   copies the backup INTO the database with the backup API. Copying into the live file
 *   (instead of renaming a new file over it) lets SQLite deal with the -wal/-shm files: a
 *   renamed-in file next to an old -wal would have that stale log replayed onto it. An older
 *   backup is migrated forward when the database is next opened read-write, as any database.
 * - The lock: every read-write store_open takes a shared flock(2) on the database file itself;
 *   restore needs it exclusively, so it refuses while a daemon (or a roster import) has the
 *   database open. On the database file, not on a separate "<db>.lock": a lock file can be
 *   deleted or replaced under a running daemon, and a restore would then lock the new file and
 *   go ahead; the database file cannot be swapped without the daemon losing it too. flock, not
 *   fcntl: SQLite takes POSIX fcntl locks on the same file, and flock locks are a separate kind
 *   on Linux that neither sees (on a local file system, which WAL mode needs anyway). The one
 *   hazard is that closing ANY descriptor of the file drops this process's fcntl locks, SQLite's
 *   included; so a process opens one descriptor per database file, before SQLite opens it, shares
 *   it between all its read-write stores and closes it after the last of their connections.
 *   Read-only opens take no lock: WAL readers see a consistent snapshot whatever a restore does,
 *   which is one write transaction. */
#include "store/stmt.h"
#include "common/fq.h"
#include "store/backup.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The tables of migration 0001: a file without them is not a fengqiao database. */
static const char *const expected_tables[] = {
    "residents", "conversations", "cases", "case_events", "day_seq", "org_nodes", "org_aliases",
    "mediators", "mediator_categories", "routes", "route_mediators", "inbox", "outbox", "timers",
    "kv",
};

static void set_cause(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_cause(char **cause, const char *fmt, ...)
{
    if (!cause)
        return;
    free(*cause);
    *cause = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(cause, fmt, ap) < 0)
        *cause = NULL;
    va_end(ap);
}

/* ---- the lock ------------------------------------------------------------------------------- */
/* One open descriptor per database file and process, shared by every read-write store of that
 * file (the daemon has one per thread) and closed only when the last of them is closed, after
 * its SQLite connection: closing a descriptor of the database while SQLite still has it open
 * would drop SQLite's own POSIX locks on it. */
struct held_lock {
    struct held_lock *next;
    dev_t dev;
    ino_t ino;
    int fd;
    int refs;
    bool exclusive;
};
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static struct held_lock *held;

static void busy_cause(char **cause, const char *db_path, bool exclusive)
{
    set_cause(cause, exclusive ? "%s is in use (a running daemon or another fengqiao command "
                                 "has it open)"
                               : "%s is being restored (another fengqiao command holds it "
                                 "exclusively)",
              db_path);
}

int store_lock_take(const char *db_path, bool exclusive, char **cause)
{
    int fd = -1;
    if (!db_path || !*db_path) {
        set_cause(cause, "lock: no database path");
        return -1;
    }
    pthread_mutex_lock(&held_mu);
    struct stat st;
    if (stat(db_path, &st) != 0) {
        set_cause(cause, "%s: %s", db_path, strerror(errno));
        goto out;
    }
    for (struct held_lock *h = held; h; h = h->next) {
        if (h->dev != st.st_dev || h->ino != st.st_ino)
            continue;
        /* this process has it already: share the descriptor, never open a second one */
        if (exclusive || h->exclusive) {
            busy_cause(cause, db_path, exclusive);
            goto out;
        }
        h->refs++;
        fd = h->fd;
        goto out;
    }
    struct held_lock *h = calloc(1, sizeof *h);
    if (!h) {
        set_cause(cause, "lock: out of memory");
        goto out;
    }
    int lfd = open(db_path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (lfd < 0) {
        set_cause(cause, "%s: %s", db_path, strerror(errno));
        free(h);
        goto out;
    }
    if (flock(lfd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            busy_cause(cause, db_path, exclusive);
        else
            set_cause(cause, "%s: flock: %s", db_path, strerror(e));
        close(lfd);
        free(h);
        goto out;
    }
    struct stat fs, ps;
    if (fstat(lfd, &fs) != 0 || stat(db_path, &ps) != 0 || fs.st_dev != ps.st_dev ||
        fs.st_ino != ps.st_ino) {
        /* the path was renamed or replaced between stat and open: the caller may try again */
        set_cause(cause, "%s changed while it was being locked", db_path);
        close(lfd);
        free(h);
        goto out;
    }
    h->dev = fs.st_dev;
    h->ino = fs.st_ino;
    h->fd = fd = lfd;
    h->refs = 1;
    h->exclusive = exclusive;
    h->next = held;
    held = h;
out:
    pthread_mutex_unlock(&held_mu);
    return fd;
}

void store_lock_release(const char *db_path, int fd)
{
    (void)db_path;
    if (fd < 0)
        return;
    pthread_mutex_lock(&held_mu);
    for (struct held_lock **pp = &held; *pp; pp = &(*pp)->next) {
        struct held_lock *h = *pp;
        if (h->fd != fd)
            continue;
        if (--h->refs == 0) {
            *pp = h->next;
            close(h->fd);   /* the last user: its SQLite connection is closed already */
            free(h);
        }
        break;
    }
    pthread_mutex_unlock(&held_mu);
}

/* ---- copying ------------------------------------------------------------------------------- */
/* fsync of the directory holding path, so a rename survives a crash. */
static void sync_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return;
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash == dir)
        d = "/";
    else if (slash) {
        *slash = '\0';
        d = dir;
    }
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Copies the main database of src into a fresh single-file database at dest: written to a new
 * "<dest>.tmp-XXXXXX" beside it (0600), renamed to dest when complete. replace false: an existing
 * dest is kept and the copy fails with FQ_EEXIST (atomically, even against a racing creator). */
static enum fq_err copy_to_file(sqlite3 *src, const char *dest, bool replace, char **cause)
{
    enum fq_err err = FQ_ESTORE;
    sqlite3 *dst = NULL;
    sqlite3_backup *b = NULL;
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp-XXXXXX", dest) < 0) {
        tmp = NULL;
        set_cause(cause, "backup: out of memory");
        return FQ_ENOMEM;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        set_cause(cause, "%s: %s", dest, strerror(errno));
        free(tmp);
        return FQ_EIO;
    }
    (void)fchmod(fd, 0600);
    close(fd);
    int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        set_cause(cause, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_busy_timeout(dst, 5000);
    b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        set_cause(cause, "backup: %s", sqlite3_errmsg(dst));
        goto out;
    }
    /* one step: one read snapshot of the source (see the header comment). BUSY only while a
     * writer holds a rollback-journal lock, which a WAL database never has for long. */
    for (int tries = 0;; tries++) {
        rc = sqlite3_backup_step(b, -1);
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries < 100) {
            sqlite3_sleep(50);
            continue;
        }
        break;
    }
    int frc = sqlite3_backup_finish(b);
    b = NULL;
    if (rc != SQLITE_DONE || frc != SQLITE_OK) {
        set_cause(cause, "backup: %s", sqlite3_errstr(rc != SQLITE_DONE ? rc : frc));
        goto out;
    }
    char *errmsg = NULL;
    /* A self-contained file: no -wal beside it. Fixed PRAGMA text. */
    if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, &errmsg) != SQLITE_OK) {
        set_cause(cause, "backup: %s", errmsg ? errmsg : "journal_mode");
        sqlite3_free(errmsg);
        goto out;
    }
    sqlite3_close(dst);
    dst = NULL;
    fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        set_cause(cause, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        err = FQ_EIO;
        goto out;
    }
    close(fd);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, replace ? 0 : RENAME_NOREPLACE) != 0) {
        int e = errno;
        set_cause(cause, "%s: %s", dest, e == EEXIST ? "exists already" : strerror(e));
        err = e == EEXIST ? FQ_EEXIST : FQ_EIO;
        goto out;
    }
    sync_dir(dest);
    err = FQ_OK;
out:
    if (b)
        sqlite3_backup_finish(b);
    sqlite3_close(dst);
    if (err)
        unlink(tmp);
    free(tmp);
    return err;
}

/* The files that belong to the database at db: the database, its WAL, shared memory, rollback
 * journal and the lock file earlier versions kept beside it. Overwriting any of them under a
 * running daemon loses or corrupts data. */
static const char *const own_suffixes[] = {"", "-wal", "-shm", "-journal", ".lock"};

/* "<dir realpath>/<base>" of path, whose last component need not exist; NULL if the directory
 * does not resolve. Caller frees. */
static char *resolve_parent(const char *path)
{
    char *copy = strdup(path), *out = NULL;
    if (!copy)
        return NULL;
    char *slash = strrchr(copy, '/');
    const char *dir = ".", *base = copy;
    if (slash) {
        *slash = '\0';
        dir = slash == copy ? "/" : copy;
        base = slash + 1;
    }
    char *rdir = realpath(dir, NULL);
    if (rdir && asprintf(&out, "%s%s%s", rdir, strcmp(rdir, "/") == 0 ? "" : "/", base) < 0)
        out = NULL;
    free(rdir);
    free(copy);
    return out;
}

enum fq_err store_backup_refuses(const char *db_path, const char *dest, char **cause)
{
    if (!db_path || !*db_path || !dest || !*dest) {
        set_cause(cause, "backup: no database or no destination");
        return FQ_EINVAL;
    }
    struct stat ds;
    bool dest_exists = stat(dest, &ds) == 0;   /* through a symbolic link, to what it names */
    char *rdest = resolve_parent(dest), *rdb = resolve_parent(db_path);
    enum fq_err err = FQ_OK;
    for (size_t i = 0; !err && i < sizeof own_suffixes / sizeof own_suffixes[0]; i++) {
        char *own = NULL;
        if (asprintf(&own, "%s%s", db_path, own_suffixes[i]) < 0) {
            err = FQ_ENOMEM;
            break;
        }
        struct stat os;
        bool same = dest_exists && stat(own, &os) == 0 && os.st_dev == ds.st_dev &&
                    os.st_ino == ds.st_ino;
        if (!same && rdest && rdb) {   /* by name too: the file may not exist yet */
            size_t n = strlen(rdb);
            same = strncmp(rdest, rdb, n) == 0 && strcmp(rdest + n, own_suffixes[i]) == 0;
        }
        if (same) {
            if (!*own_suffixes[i])
                set_cause(cause, "%s is the database itself", dest);
            else
                set_cause(cause, "%s is the database's own %s file", dest, own_suffixes[i]);
            err = FQ_EINVAL;
        }
        free(own);
    }
    free(rdest);
    free(rdb);
    return err;
}

enum fq_err store_backup_to(struct store *s, const char *dest, bool replace, char **cause)
{
    if (cause)
        *cause = NULL;
    const char *db_path = s && s->db ? sqlite3_db_filename(s->db, "main") : NULL;
    if (!db_path || !*db_path || !dest || !*dest) {
        set_cause(cause, "backup: no database or no destination");
        return FQ_EINVAL;
    }
    enum fq_err err = store_backup_refuses(db_path, dest, cause);
    if (err)
        return err;
    return copy_to_file(s->db, dest, replace, cause);
}

/* "<path>.<what>-<YYYYMMDDTHHMMSSZ>", caller frees. */
static char *stamped(const char *path, const char *what)
{
    time_t now = time(NULL);
    struct tm tm;
    char ts[32];
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    char *p = NULL;
    if (asprintf(&p, "%s.%s-%s", path, what, ts) < 0)
        return NULL;
    return p;
}

enum fq_err store_backup_before_migrate(struct store *s, int from_version, char **out_path,
                                        char **cause)
{
    if (out_path)
        *out_path = NULL;
    const char *path = s && s->db ? sqlite3_db_filename(s->db, "main") : NULL;
    if (!path || !*path) {
        set_cause(cause, "backup before migration: the database has no file name");
        return FQ_EINVAL;
    }
    char what[32];
    snprintf(what, sizeof what, "bak-v%d", from_version);
    char *dest = stamped(path, what);
    if (!dest)
        return FQ_ENOMEM;
    enum fq_err err = copy_to_file(s->db, dest, true, cause);
    if (!err && out_path)
        *out_path = dest;
    else
        free(dest);
    return err;
}

/* ---- the schema ------------------------------------------------------------------------------ */
/* One object of sqlite_schema as compared: type, name, table, its CREATE text with whitespace
 * normalised, and per column (table_xinfo for tables and views, index_xinfo for indexes) one
 * line "name\tattributes". */
struct sobj {
    char *type, *name, *tbl, *sql;
    char **cols;
    size_t ncols, capcols;
};
struct schema {
    struct sobj *o;
    size_t n, cap;
};

static void schema_free(struct schema *sc)
{
    for (size_t i = 0; i < sc->n; i++) {
        struct sobj *o = &sc->o[i];
        free(o->type);
        free(o->name);
        free(o->tbl);
        free(o->sql);
        for (size_t j = 0; j < o->ncols; j++)
            free(o->cols[j]);
        free(o->cols);
    }
    free(sc->o);
    memset(sc, 0, sizeof *sc);
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return strdup(t ? t : "");
}

/* Whitespace runs become one space, and none is kept next to ( ) , or at either end: the same
 * statement laid out differently compares equal, anything else does not. */
static char *normalise_sql(const char *in)
{
    size_t n = in ? strlen(in) : 0;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = true;
            continue;
        }
        if (space && o > out && !strchr("(,", o[-1]) && !strchr("),", c))
            *o++ = ' ';
        space = false;
        *o++ = c;
    }
    *o = '\0';
    return out;
}

static int col_line(struct sobj *o, const char *name, const char *attrs)
{
    if (!store_grow((void **)&o->cols, &o->capcols, o->ncols, sizeof o->cols[0]))
        return -1;
    char *line = NULL;
    if (asprintf(&line, "%s\t%s", name, attrs) < 0)
        return -1;
    o->cols[o->ncols++] = line;
    return 0;
}

/* The columns of one table, view or index. -1 with *cause on failure. */
static int describe_cols(sqlite3 *db, struct sobj *o, const char *file, char **cause)
{
    bool index = strcmp(o->type, "index") == 0;
    if (!index && strcmp(o->type, "table") != 0 && strcmp(o->type, "view") != 0)
        return 0;
    sqlite3_stmt *st = NULL;
    const char *sql = index ? "SELECT seqno, cid, name, \"desc\", coll, \"key\" "
                              "FROM pragma_index_xinfo(?1) ORDER BY seqno"
                            : "SELECT cid, name, type, \"notnull\", dflt_value, pk, hidden "
                              "FROM pragma_table_xinfo(?1) ORDER BY cid";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        set_cause(cause, "%s: %s", file, sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_text(st, 1, o->name, -1, SQLITE_STATIC);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char *attrs = NULL, name[64] = "";
        const char *cname = (const char *)sqlite3_column_text(st, index ? 2 : 1);
        int n;
        if (index) {
            if (!cname)   /* the rowid or an expression */
                snprintf(name, sizeof name, "(key %d)", sqlite3_column_int(st, 0));
            n = asprintf(&attrs, "seqno=%d cid=%d desc=%d coll=%s key=%d",
                         sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
                         sqlite3_column_int(st, 3),
                         sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4)
                                                    : "",
                         sqlite3_column_int(st, 5));
        } else {
            const char *type = (const char *)sqlite3_column_text(st, 2);
            const char *dflt = (const char *)sqlite3_column_text(st, 4);
            n = asprintf(&attrs, "cid=%d type=%s notnull=%d default=%s pk=%d hidden=%d",
                         sqlite3_column_int(st, 0), type ? type : "",
                         sqlite3_column_int(st, 3), dflt ? dflt : "(none)",
                         sqlite3_column_int(st, 5), sqlite3_column_int(st, 6));
        }
        if (n < 0 || col_line(o, cname ? cname : name, attrs) != 0) {
            free(n < 0 ? NULL : attrs);
            set_cause(cause, "%s: out of memory", file);
            ret = -1;
            break;
        }
        free(attrs);
    }
    if (!ret && rc != SQLITE_DONE) {
        set_cause(cause, "%s: %s \"%s\" cannot be read: %s", file, o->type, o->name,
                  sqlite3_errmsg(db));
        ret = -1;
    }
    sqlite3_finalize(st);
    return ret;
}

/* Every object of db's main schema, ordered by type and name. The statistics tables ANALYZE
 * creates hold no code and no personal data; they are not part of the comparison. */
static enum fq_err describe(sqlite3 *db, const char *file, struct schema *sc, char **cause)
{
    memset(sc, 0, sizeof *sc);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT type, name, tbl_name, sql FROM main.sqlite_schema "
                           "WHERE NOT (type = 'table' AND name IN ('sqlite_stat1', "
                           "'sqlite_stat2', 'sqlite_stat3', 'sqlite_stat4')) "
                           "ORDER BY type, name",
                           -1, &st, NULL) != SQLITE_OK) {
        set_cause(cause, "%s: %s", file, sqlite3_errmsg(db));
        return FQ_ESTORE;
    }
    int rc;
    enum fq_err err = FQ_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!store_grow((void **)&sc->o, &sc->cap, sc->n, sizeof sc->o[0])) {
            err = FQ_ENOMEM;
            break;
        }
        struct sobj *o = &sc->o[sc->n];
        memset(o, 0, sizeof *o);
        sc->n++;
        o->type = dup_col(st, 0);
        o->name = dup_col(st, 1);
        o->tbl = dup_col(st, 2);
        o->sql = normalise_sql((const char *)sqlite3_column_text(st, 3));
        if (!o->type || !o->name || !o->tbl || !o->sql) {
            err = FQ_ENOMEM;
            break;
        }
    }
    if (!err && rc != SQLITE_DONE) {
        set_cause(cause, "%s: %s", file, sqlite3_errmsg(db));
        err = FQ_ESTORE;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; !err && i < sc->n; i++)
        if (describe_cols(db, &sc->o[i], file, cause) != 0)
            err = FQ_EINVAL;
    if (err == FQ_ENOMEM)
        set_cause(cause, "%s: out of memory", file);
    if (err)
        schema_free(sc);
    return err;
}

/* The schema this program's migrations produce for version, in an in-memory database. */
static enum fq_err reference_schema(int version, struct schema *sc, char **cause)
{
    sqlite3 *db = NULL;
    enum fq_err err = FQ_ESTORE;
    if (sqlite3_open_v2(":memory:", &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        set_cause(cause, "schema version %d: %s", version,
                  db ? sqlite3_errmsg(db) : "cannot open an in-memory database");
        goto out;
    }
    for (size_t i = 0; i < fq_n_migrations; i++) {
        const struct fq_migration *m = &fq_migrations[i];
        if (m->version > version)
            continue;
        char *errmsg = NULL;
        if (sqlite3_exec(db, m->sql, NULL, NULL, &errmsg) != SQLITE_OK) {
            set_cause(cause, "migration %s: %s", m->name, errmsg ? errmsg : sqlite3_errmsg(db));
            sqlite3_free(errmsg);
            goto out;
        }
    }
    err = describe(db, "the migrations", sc, cause);
out:
    sqlite3_close(db);
    return err;
}

static const struct sobj *find_obj(const struct schema *sc, const char *type, const char *name)
{
    for (size_t i = 0; i < sc->n; i++)
        if (strcmp(sc->o[i].type, type) == 0 && strcmp(sc->o[i].name, name) == 0)
            return &sc->o[i];
    return NULL;
}

/* The line of column name in o, or NULL. */
static const char *find_col(const struct sobj *o, const char *name, size_t len)
{
    for (size_t i = 0; i < o->ncols; i++)
        if (strncmp(o->cols[i], name, len) == 0 && o->cols[i][len] == '\t')
            return o->cols[i];
    return NULL;
}

/* Names the first difference of one object present in both; false when there is none. */
static bool object_differs(const struct sobj *got, const struct sobj *want, const char *file,
                           int version, char **cause)
{
    /* extra and missing columns by name first, then one that is there but differs */
    for (size_t i = 0; i < got->ncols; i++) {
        size_t len = strcspn(got->cols[i], "\t");
        if (!find_col(want, got->cols[i], len)) {
            set_cause(cause, "%s: %s \"%s\" has column \"%.*s\", which schema version %d has not",
                      file, got->type, got->name, (int)len, got->cols[i], version);
            return true;
        }
    }
    for (size_t i = 0; i < want->ncols; i++) {
        size_t len = strcspn(want->cols[i], "\t");
        if (!find_col(got, want->cols[i], len)) {
            set_cause(cause, "%s: %s \"%s\" lacks column \"%.*s\" of schema version %d", file,
                      got->type, got->name, (int)len, want->cols[i], version);
            return true;
        }
    }
    for (size_t i = 0; i < got->ncols; i++) {
        size_t len = strcspn(got->cols[i], "\t");
        if (strcmp(find_col(want, got->cols[i], len), got->cols[i]) != 0) {
            set_cause(cause, "%s: column \"%.*s\" of %s \"%s\" differs from schema version %d",
                      file, (int)len, got->cols[i], got->type, got->name, version);
            return true;
        }
    }
    if (got->ncols != want->ncols) {
        set_cause(cause, "%s: the columns of %s \"%s\" differ from schema version %d", file,
                  got->type, got->name, version);
        return true;
    }
    if (strcmp(got->tbl, want->tbl) != 0) {
        set_cause(cause, "%s: %s \"%s\" is on table \"%s\", in schema version %d on \"%s\"",
                  file, got->type, got->name, got->tbl, version, want->tbl);
        return true;
    }
    if (strcmp(got->sql, want->sql) != 0) {
        set_cause(cause, "%s: %s \"%s\" differs from schema version %d (its CREATE statement)",
                  file, got->type, got->name, version);
        return true;
    }
    return false;
}

/* The first difference between the two schemas, named in *cause; FQ_OK when there is none. An
 * object the backup has beyond the reference comes first: that is where hostile code hides. */
static enum fq_err schema_diff(const struct schema *got, const struct schema *want,
                               const char *file, int version, char **cause)
{
    for (size_t i = 0; i < got->n; i++)
        if (!find_obj(want, got->o[i].type, got->o[i].name)) {
            set_cause(cause, "%s: %s \"%s\" is not in schema version %d", file, got->o[i].type,
                      got->o[i].name, version);
            return FQ_EINVAL;
        }
    /* a missing table first: its indexes and triggers are missing because it is */
    for (int tables = 1; tables >= 0; tables--)
        for (size_t i = 0; i < want->n; i++) {
            if ((strcmp(want->o[i].type, "table") == 0) != tables ||
                find_obj(got, want->o[i].type, want->o[i].name))
                continue;
            set_cause(cause, "%s: %s \"%s\" of schema version %d is missing", file,
                      want->o[i].type, want->o[i].name, version);
            return FQ_EINVAL;
        }
    for (size_t i = 0; i < got->n; i++)
        if (object_differs(&got->o[i], find_obj(want, got->o[i].type, got->o[i].name), file,
                           version, cause))
            return FQ_EINVAL;
    return FQ_OK;
}

/* Compares db's whole schema with the one the migrations produce for version. */
static enum fq_err check_schema(sqlite3 *db, const char *file, int version, char **cause)
{
    struct schema want, got;
    enum fq_err err = reference_schema(version, &want, cause);
    if (err)
        return err;
    err = describe(db, file, &got, cause);
    if (!err) {
        err = schema_diff(&got, &want, file, version, cause);
        schema_free(&got);
    }
    schema_free(&want);
    return err;
}

/* ---- checking ------------------------------------------------------------------------------ */
static enum fq_err check_db(sqlite3 *db, const char *file, int *version, char **cause)
{
    sqlite3_stmt *st = NULL;
    enum fq_err err = FQ_ESTORE;
    int v = -1;
    /* integrity_check reads every page: a torn or truncated copy shows here */
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        set_cause(cause, "%s: %s", file, sqlite3_errmsg(db));
        goto out;
    }
    int rc = sqlite3_step(st);
    const char *res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (!res || strcmp(res, "ok") != 0) {
        set_cause(cause, "%s: integrity check failed: %s", file,
                  res ? res : sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        set_cause(cause, "%s: %s", file, sqlite3_errmsg(db));
        goto out;
    }
    v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (v < 1) {
        set_cause(cause, "%s: not a fengqiao database (schema version %d)", file, v);
        err = FQ_EINVAL;
        goto out;
    }
    if (v > store_schema_latest()) {
        set_cause(cause, "%s: schema version %d is newer than this program's %d", file, v,
                  store_schema_latest());
        err = FQ_EINVAL;
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        set_cause(cause, "%s: %s", file, sqlite3_errmsg(db));
        goto out;
    }
    for (size_t i = 0; i < sizeof expected_tables / sizeof expected_tables[0]; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, expected_tables[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            set_cause(cause, "%s: not a fengqiao database (no table %s)", file,
                      expected_tables[i]);
            err = FQ_EINVAL;
            goto out;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    err = check_schema(db, file, v, cause);
out:
    sqlite3_finalize(st);
    if (version)
        *version = v;
    return err;
}

/* Opens file read-only (it must exist). */
static enum fq_err open_ro(const char *file, sqlite3 **db, char **cause)
{
    *db = NULL;
    struct stat sb;
    if (stat(file, &sb) != 0) {
        set_cause(cause, "%s: %s", file, strerror(errno));
        return FQ_ENOTFOUND;
    }
    if (!S_ISREG(sb.st_mode)) {
        set_cause(cause, "%s: not a regular file", file);
        return FQ_EINVAL;
    }
    int rc = sqlite3_open_v2(file, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        set_cause(cause, "%s: %s", file, *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return FQ_ESTORE;
    }
    sqlite3_busy_timeout(*db, 5000);
    /* a file from outside: nothing its schema holds may run while it is checked or copied */
    if (sqlite3_db_config(*db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL) != SQLITE_OK ||
        sqlite3_db_config(*db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, (int *)NULL) != SQLITE_OK ||
        sqlite3_db_config(*db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL) != SQLITE_OK) {
        set_cause(cause, "%s: %s", file, sqlite3_errmsg(*db));
        sqlite3_close(*db);
        *db = NULL;
        return FQ_ESTORE;
    }
    return FQ_OK;
}

enum fq_err store_backup_check(const char *file, int *version, char **cause)
{
    if (cause)
        *cause = NULL;
    if (version)
        *version = -1;
    if (!file || !*file) {
        set_cause(cause, "no backup file given");
        return FQ_EINVAL;
    }
    sqlite3 *db = NULL;
    enum fq_err err = open_ro(file, &db, cause);
    if (!err)
        err = check_db(db, file, version, cause);
    sqlite3_close(db);
    return err;
}

/* ---- restoring ----------------------------------------------------------------------------- */
enum fq_err store_restore(const char *backup, const char *db_path, char **kept_path,
                          char **cause)
{
    if (cause)
        *cause = NULL;
    if (kept_path)
        *kept_path = NULL;
    if (!db_path || !*db_path) {
        set_cause(cause, "store.path is empty");
        return FQ_EINVAL;
    }
    enum fq_err err = store_backup_check(backup, NULL, cause);
    if (err)
        return err;
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b = NULL;
    char *kept = NULL;
    int lock = -1;
    struct stat sb;
    if (stat(db_path, &sb) != 0) {   /* a new database: the lock is on the file itself */
        int fd = open(db_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            set_cause(cause, "%s: %s", db_path, strerror(errno));
            return FQ_EIO;
        }
        (void)fchmod(fd, 0600);
        close(fd);                   /* before anything of SQLite has it open */
    }
    if ((lock = store_lock_take(db_path, true, cause)) < 0)
        return FQ_EBUSY;
    err = FQ_ESTORE;
    bool existed = stat(db_path, &sb) == 0 && sb.st_size > 0;
    int rc = sqlite3_open_v2(db_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        set_cause(cause, "%s: %s", db_path, dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_busy_timeout(dst, 5000);
    if (existed) {
        if (!(kept = stamped(db_path, "pre-restore"))) {
            err = FQ_ENOMEM;
            goto out;
        }
        if ((err = copy_to_file(dst, kept, true, cause)))
            goto out;
        err = FQ_ESTORE;
    }
    /* the database is always used in WAL mode; the copy keeps that mode */
    if (sqlite3_exec(dst, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
        set_cause(cause, "%s: %s", db_path, sqlite3_errmsg(dst));
        goto out;
    }
    if ((err = open_ro(backup, &src, cause)))
        goto out;
    err = FQ_ESTORE;
    if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
        set_cause(cause, "restore: %s", sqlite3_errmsg(dst));
        goto out;
    }
    rc = sqlite3_backup_step(b, -1);   /* one write transaction: all or nothing */
    int frc = sqlite3_backup_finish(b);
    b = NULL;
    if (rc != SQLITE_DONE || frc != SQLITE_OK) {
        set_cause(cause, "restore into %s: %s", db_path,
                  sqlite3_errstr(rc != SQLITE_DONE ? rc : frc));
        goto out;
    }
    if (sqlite3_exec(dst, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK) {
        set_cause(cause, "%s: checkpoint: %s", db_path, sqlite3_errmsg(dst));
        goto out;
    }
    err = check_db(dst, db_path, NULL, cause);
out:
    if (b)
        sqlite3_backup_finish(b);
    sqlite3_close(src);
    sqlite3_close(dst);
    store_lock_release(db_path, lock);
    if (!err && kept_path)
        *kept_path = kept;
    else
        free(kept);
    return err;
}

/* test_backup.c: store/backup.c on real SQLite files in a fresh temporary directory per test:
 * the online copy, the checks a restore makes (down to the whole schema compared with the one
 * the migrations make), the database lock that refuses a restore while the database is open
 * whatever happens to files beside it, the files a backup never writes over, and the
 * .pre-restore copy. */
#include <criterion/criterion.h>

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fq.h"
#include "store/store.h"
#include "store/backup.h"

static char tmpdir[256];
static char dbpath[512], bakpath[512], dst[512];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fq-backup-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/fq.db", tmpdir);
    snprintf(bakpath, sizeof bakpath, "%s/copy.db", tmpdir);
    snprintf(dst, sizeof dst, "%s/other.db", tmpdir);
}

static void teardown(void)
{
    nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(backup, .init = setup, .fini = teardown);

static struct store *open_rw(const char *path)
{
    struct store *s = NULL;
    char *cause = NULL;
    cr_assert_eq(store_open(path, &s, &cause), FQ_OK, "%s", cause ? cause : "");
    free(cause);
    return s;
}

static char *kv(const char *path, const char *key)
{
    struct store *s = NULL;
    char *cause = NULL, *v = NULL;
    cr_assert_eq(store_open_readonly(path, &s, &cause), FQ_OK, "%s", cause ? cause : "");
    if (store_kv_get(s, key, &v) != FQ_OK)
        v = NULL;
    store_close(s);
    free(cause);
    return v;
}

static bool exists(const char *p)
{
    return access(p, F_OK) == 0;
}

Test(backup, online_copy_is_a_checked_single_file)
{
    struct store *s = open_rw(dbpath);
    cr_assert_eq(store_kv_put(s, "k", "before"), FQ_OK);
    char *cause = NULL;
    cr_assert_eq(store_backup_to(s, bakpath, false, &cause), FQ_OK, "%s", cause ? cause : "");
    cr_assert_eq(store_kv_put(s, "k", "after"), FQ_OK);      /* not in the copy */
    struct stat sb;
    cr_assert_eq(stat(bakpath, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);
    char wal[600];
    snprintf(wal, sizeof wal, "%s.tmp", bakpath);
    cr_assert(!exists(wal), "temporary file left behind");
    int entries = 0;
    DIR *dir = opendir(tmpdir);
    for (struct dirent *e; (e = readdir(dir));)
        entries += strstr(e->d_name, ".tmp") != NULL;
    closedir(dir);
    cr_assert_eq(entries, 0, "temporary file left behind");
    int v = -1;
    cr_assert_eq(store_backup_check(bakpath, &v, &cause), FQ_OK, "%s", cause ? cause : "");
    cr_assert_eq(v, store_schema_latest());
    char *got = kv(bakpath, "k");
    cr_assert_str_eq(got, "before");
    free(got);
    store_close(s);
}

Test(backup, restore_is_refused_while_the_database_is_open)
{
    struct store *s = open_rw(dbpath);
    cr_assert_eq(store_kv_put(s, "k", "old"), FQ_OK);
    char *cause = NULL, *kept = NULL;
    cr_assert_eq(store_backup_to(s, bakpath, false, &cause), FQ_OK);
    cr_assert_eq(store_kv_put(s, "k", "newer"), FQ_OK);

    cr_assert_eq(store_restore(bakpath, dbpath, &kept, &cause), FQ_EBUSY);
    cr_assert_not_null(cause);
    cr_assert(strstr(cause, "in use"), "%s", cause);
    free(cause);
    cause = NULL;
    cr_assert_null(kept);
    /* while a restore holds the lock, a read-write open is refused (simulated by hand) */
    int fd = store_lock_take(dbpath, true, &cause);
    cr_assert_lt(fd, 0, "exclusive lock granted while the store is open");
    free(cause);
    cause = NULL;
    store_close(s);

    fd = store_lock_take(dbpath, true, &cause);
    cr_assert_geq(fd, 0, "%s", cause ? cause : "");
    struct store *s2 = NULL;
    cr_assert_eq(store_open(dbpath, &s2, &cause), FQ_EBUSY);
    cr_assert_null(s2);
    free(cause);
    cause = NULL;
    store_lock_release(dbpath, fd);

    cr_assert_eq(store_restore(bakpath, dbpath, &kept, &cause), FQ_OK, "%s", cause ? cause : "");
    cr_assert_not_null(kept);
    cr_assert(strstr(kept, ".pre-restore-"), "%s", kept);
    char *v = kv(dbpath, "k");
    cr_assert_str_eq(v, "old");
    free(v);
    v = kv(kept, "k");
    cr_assert_str_eq(v, "newer");
    free(v);
    free(kept);
    /* the restored database opens read-write as usual */
    s = open_rw(dbpath);
    cr_assert_eq(store_schema_version(s), store_schema_latest());
    store_close(s);
}

Test(backup, check_refuses_what_is_not_a_good_backup)
{
    char *cause = NULL;
    cr_assert_eq(store_backup_check(dst, NULL, &cause), FQ_ENOTFOUND);   /* missing */
    free(cause);
    cause = NULL;
    FILE *f = fopen(dst, "w");
    fputs("not a database at all, just text that is long enough to look like a header.", f);
    fclose(f);
    cr_assert_neq(store_backup_check(dst, NULL, &cause), FQ_OK);
    free(cause);
    cause = NULL;
    unlink(dst);

    sqlite3 *db;
    cr_assert_eq(sqlite3_open(dst, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "CREATE TABLE x(a); PRAGMA user_version = 1", 0, 0, 0), 0);
    sqlite3_close(db);
    cr_assert_eq(store_backup_check(dst, NULL, &cause), FQ_EINVAL);     /* foreign tables */
    cr_assert(strstr(cause, "no table"), "%s", cause);
    free(cause);
    cause = NULL;

    struct store *s = open_rw(dbpath);
    cr_assert_eq(store_backup_to(s, bakpath, false, &cause), FQ_OK);
    store_close(s);
    cr_assert_eq(sqlite3_open(bakpath, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", store_schema_latest() + 1);
    cr_assert_eq(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    int v = 0;
    cr_assert_eq(store_backup_check(bakpath, &v, &cause), FQ_EINVAL);   /* too new */
    cr_assert_eq(v, store_schema_latest() + 1);
    free(cause);
    cause = NULL;
    /* a refused restore leaves the database as it was */
    char *kept = NULL;
    cr_assert_neq(store_restore(bakpath, dbpath, &kept, &cause), FQ_OK);
    cr_assert_null(kept);
    free(cause);
    s = open_rw(dbpath);
    cr_assert_eq(store_schema_version(s), store_schema_latest());
    store_close(s);
}

/* ---- the lock ---------------------------------------------------------------------------------- */
Test(backup, the_lock_is_on_the_database_file_whatever_happens_beside_it)
{
    struct store *s = open_rw(dbpath), *s2 = open_rw(dbpath);   /* two share one descriptor */
    char lock[600], *cause = NULL, *kept = NULL;
    cr_assert_eq(store_backup_to(s, bakpath, false, &cause), FQ_OK);
    snprintf(lock, sizeof lock, "%s.lock", dbpath);
    unlink(lock);                                   /* a lock file removed ... */
    cr_assert_eq(store_restore(bakpath, dbpath, &kept, &cause), FQ_EBUSY);
    cr_assert(strstr(cause, "in use"), "%s", cause);
    free(cause);
    cause = NULL;
    FILE *f = fopen(lock, "w");                     /* ... or replaced by another file */
    fputs("0\n", f);
    fclose(f);
    cr_assert_eq(store_restore(bakpath, dbpath, &kept, &cause), FQ_EBUSY);
    free(cause);
    cause = NULL;
    store_close(s);                                 /* one of two closed: still held */
    cr_assert_eq(store_restore(bakpath, dbpath, &kept, &cause), FQ_EBUSY);
    free(cause);
    cause = NULL;
    /* another process's view: an exclusive flock on the database file is not granted */
    int fd = open(dbpath, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_neq(flock(fd, LOCK_EX | LOCK_NB), 0);
    cr_assert_eq(errno, EWOULDBLOCK);
    close(fd);
    cr_assert_eq(store_kv_put(s2, "k", "still written"), FQ_OK);
    store_close(s2);
    cr_assert_eq(store_restore(bakpath, dbpath, &kept, &cause), FQ_OK, "%s", cause ? cause : "");
    free(kept);
}

/* ---- what a backup never writes over ----------------------------------------------------------- */
Test(backup, backup_refuses_the_databases_own_files_and_an_existing_target)
{
    struct store *s = open_rw(dbpath);
    cr_assert_eq(store_kv_put(s, "k", "v"), FQ_OK);
    char *cause = NULL, p[600];
    static const char *const own[] = {"", "-wal", "-shm", "-journal", ".lock"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        snprintf(p, sizeof p, "%s%s", dbpath, own[i]);
        cr_assert_eq(store_backup_to(s, p, true, &cause), FQ_EINVAL, "%s accepted", p);
        cr_assert(strstr(cause, "database"), "%s", cause);
        free(cause);
        cause = NULL;
    }
    /* the same files by another name: a symbolic link, a path through "..", a hard link */
    snprintf(p, sizeof p, "%s/link", tmpdir);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", dbpath);
    cr_assert(exists(wal));
    cr_assert_eq(symlink(wal, p), 0);
    cr_assert_eq(store_backup_to(s, p, true, &cause), FQ_EINVAL);
    free(cause);
    cause = NULL;
    snprintf(p, sizeof p, "%s/../%s/fq.db-shm", tmpdir, strrchr(tmpdir, '/') + 1);
    cr_assert_eq(store_backup_to(s, p, true, &cause), FQ_EINVAL, "%s accepted", p);
    free(cause);
    cause = NULL;
    snprintf(p, sizeof p, "%s/hard", tmpdir);
    cr_assert_eq(link(dbpath, p), 0);
    cr_assert_eq(store_backup_to(s, p, true, &cause), FQ_EINVAL);
    free(cause);
    cause = NULL;

    /* an existing file is kept unless replace is asked for */
    FILE *f = fopen(bakpath, "w");
    fputs("precious", f);
    fclose(f);
    cr_assert_eq(store_backup_to(s, bakpath, false, &cause), FQ_EEXIST);
    free(cause);
    cause = NULL;
    char buf[16] = "";
    f = fopen(bakpath, "r");
    cr_assert(fgets(buf, sizeof buf, f));
    fclose(f);
    cr_assert_str_eq(buf, "precious");
    cr_assert_eq(store_backup_to(s, bakpath, true, &cause), FQ_OK, "%s", cause ? cause : "");
    cr_assert_eq(store_backup_check(bakpath, NULL, &cause), FQ_OK, "%s", cause ? cause : "");
    store_close(s);
}

/* ---- the schema comparison ----------------------------------------------------------------------- */
/* A good backup changed by sql; returns store_backup_check's verdict and its cause (freed by the
 * caller). */
static enum fq_err check_changed(const char *sql, char **cause)
{
    if (!exists(bakpath)) {
        struct store *s = open_rw(dbpath);
        cr_assert_eq(store_backup_to(s, bakpath, false, cause), FQ_OK);
        store_close(s);
    }
    FILE *in = fopen(bakpath, "rb"), *out = fopen(dst, "wb");
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(dst, &db), SQLITE_OK);
    char *err = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, 0, 0, &err), SQLITE_OK, "%s: %s", sql, err);
    sqlite3_close(db);
    *cause = NULL;
    return store_backup_check(dst, NULL, cause);
}

static void refused(const char *sql, const char *named)
{
    char *cause = NULL;
    cr_assert_eq(check_changed(sql, &cause), FQ_EINVAL, "accepted: %s", sql);
    cr_assert(cause && strstr(cause, named), "%s: %s", sql, cause ? cause : "(no cause)");
    free(cause);
}

Test(backup, schema_a_good_backup_is_accepted)
{
    char *cause = NULL;
    cr_assert_eq(check_changed("SELECT 1", &cause), FQ_OK, "%s", cause ? cause : "");
    free(cause);
    /* data is not schema: rows anywhere are fine */
    cr_assert_eq(check_changed("INSERT INTO kv(key, value) VALUES ('x', 'y')", &cause), FQ_OK,
                 "%s", cause ? cause : "");
    free(cause);
}

Test(backup, schema_an_older_version_is_compared_with_that_version)
{
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(dst, &db), SQLITE_OK);
    FILE *f = fopen("store/migrations/0001_init.sql", "r");
    cr_assert_not_null(f, "run from the repository root");
    static char sql[1 << 16];
    size_t n = fread(sql, 1, sizeof sql - 1, f);
    sql[n] = '\0';
    fclose(f);
    cr_assert_eq(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 1", 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    char *cause = NULL;
    int v = 0;
    cr_assert_eq(store_backup_check(dst, &v, &cause), FQ_OK, "%s", cause ? cause : "");
    cr_assert_eq(v, 1);
    free(cause);
    if (store_schema_latest() < 2)
        return;
    /* the same file claiming the newest version lacks what the later migrations add (and
     * holds what they drop) */
    cr_assert_eq(sqlite3_open(dst, &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", store_schema_latest());
    cr_assert_eq(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(store_backup_check(dst, NULL, &cause), FQ_EINVAL);
    cr_assert(strstr(cause, "is missing") || strstr(cause, "is not in schema version"), "%s",
              cause);
    free(cause);
}

Test(backup, schema_extra_objects_are_refused_by_name)
{
    refused("CREATE TRIGGER leak AFTER INSERT ON cases BEGIN SELECT 1; END",
            "trigger \"leak\" is not in schema version");
    refused("CREATE INDEX leak_idx ON residents(contact)", "index \"leak_idx\" is not in");
    refused("CREATE VIEW leak_v AS SELECT contact FROM residents", "view \"leak_v\" is not in");
    refused("CREATE TABLE leak_t(x)", "table \"leak_t\" is not in");
}

Test(backup, schema_missing_objects_are_refused_by_name)
{
    refused("DROP TABLE mediator_gateways", "table \"mediator_gateways\" of schema version");
    refused("DROP TRIGGER case_events_no_update", "trigger \"case_events_no_update\"");
    refused("DROP INDEX IF EXISTS sqlite_autoindex_x; DROP TRIGGER cases_open_insert",
            "trigger \"cases_open_insert\" of schema version");
}

Test(backup, schema_changed_objects_are_refused_by_name)
{
    refused("ALTER TABLE residents ADD COLUMN leak TEXT", "column \"leak\"");
    refused("DROP TABLE kv; CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID",
            "column \"value\" of table \"kv\" differs");
    refused("ALTER TABLE residents DROP COLUMN contact", "lacks column \"contact\"");
    /* the same name, another body: a trigger that now does something else */
    refused("DROP TRIGGER case_events_no_delete; CREATE TRIGGER case_events_no_delete BEFORE "
            "DELETE ON case_events BEGIN SELECT 1; END",
            "trigger \"case_events_no_delete\" differs");
}

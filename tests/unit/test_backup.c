/* test_backup.c: store/backup.c on real SQLite files in a fresh temporary directory per test:
 * the online copy, the checks a restore makes, the database lock that refuses a restore while
 * the database is open, and the .pre-restore copy. */
#include <criterion/criterion.h>

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/fq.h"
#include "../../store/store.h"

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
    cr_assert_eq(store_backup_to(s, bakpath, &cause), FQ_OK, "%s", cause ? cause : "");
    cr_assert_eq(store_kv_put(s, "k", "after"), FQ_OK);      /* not in the copy */
    struct stat sb;
    cr_assert_eq(stat(bakpath, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);
    char wal[600];
    snprintf(wal, sizeof wal, "%s.tmp", bakpath);
    cr_assert(!exists(wal), "temporary file left behind");
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
    cr_assert_eq(store_backup_to(s, bakpath, &cause), FQ_OK);
    cr_assert_eq(store_kv_put(s, "k", "newer"), FQ_OK);
    char lock[600];
    snprintf(lock, sizeof lock, "%s.lock", dbpath);
    cr_assert(exists(lock), "no lock file while open");

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
    cr_assert(!exists(lock), "the last holder did not remove the lock file");

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
    cr_assert_eq(store_backup_to(s, bakpath, &cause), FQ_OK);
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

/* test_retention.c: store_prune and store_sizes (store/retention.h) on a real SQLite file made by
 * the daemon's migrations: what is removed and what never is, the pieces, keep time 0, and that
 * the outbox and timer prunes find their rows through an index (EXPLAIN QUERY PLAN), so their
 * cost follows the rows they remove, not the history (the inbox, kept short, is read whole). */
#include <criterion/criterion.h>

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fq.h"
#include "store/retention.h"
#include "store/store.h"

static char tmpdir[256];
static char dbpath[512];
static struct store *st;
static sqlite3 *raw;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fq-retention-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/fq.db", tmpdir);
    char *cause = NULL;
    cr_assert_eq(store_open(dbpath, &st, &cause), FQ_OK, "%s", cause ? cause : "");
    cr_assert_eq(sqlite3_open(dbpath, &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);
}

static void teardown(void)
{
    sqlite3_close(raw);
    store_close(st);
    nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(retention, .init = setup, .fini = teardown);

static void sql(const char *q)
{
    char *err = NULL;
    cr_assert_eq(sqlite3_exec(raw, q, NULL, NULL, &err), SQLITE_OK, "%s: %s", q, err ? err : "");
}

static long long count(const char *q)
{
    sqlite3_stmt *s;
    cr_assert_eq(sqlite3_prepare_v2(raw, q, -1, &s, NULL), SQLITE_OK, "%s", q);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

#define NOW 2000000000LL
#define DAY 86400LL

/* n rows of each kind, at times NOW - age: answered inbox rows, delivered and undelivered outbox
 * rows, fired, cancelled and pending timers, and a case with its events. */
static void fill(int n, long long age)
{
    char q[1024];
    snprintf(q, sizeof q,
             "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %d) "
             "INSERT INTO inbox(scope, key, status, answer, at) "
             "SELECT 'chat', 'm-%lld-' || i, 200, '{}', %lld FROM k",
             n, age, NOW - age);
    sql(q);
    snprintf(q, sizeof q,
             "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %d) "
             "INSERT INTO outbox(event_id, channel, topic, payload, created_at, next_at, "
             "delivered_at) SELECT 'e-%lld-' || i || '-' || d, 'mqtt', 't', '{}', %lld, %lld, "
             "CASE d WHEN 1 THEN %lld END FROM k, (SELECT 0 AS d UNION ALL SELECT 1)",
             n, age, NOW - age, NOW - age, NOW - age);
    sql(q);
    snprintf(q, sizeof q,
             "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %d) "
             "INSERT INTO timers(due_at, kind, fired_at, cancelled_at) "
             "SELECT %lld, 'reminder', CASE d WHEN 1 THEN %lld END, CASE d WHEN 2 THEN %lld END "
             "FROM k, (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2)",
             n, NOW - age, NOW - age, NOW - age);
    sql(q);
}

static const struct store_keep week = {.keep = {7 * DAY, 3 * DAY, 7 * DAY}};

static void prune(const struct store_keep *k, size_t limit, int64_t removed[PRUNE__COUNT])
{
    cr_assert_eq(store_begin(st), FQ_OK);
    cr_assert_eq(store_prune(st, k, NOW, limit, removed), FQ_OK, "%s", store_errmsg(st));
    cr_assert_eq(store_commit(st), FQ_OK);
}

Test(retention, removes_only_what_is_done_and_past_its_keep_time)
{
    fill(10, 30 * DAY);   /* old */
    fill(10, 5 * DAY);    /* inbox and timers within their week; outbox past its 3 days */
    fill(10, 1 * DAY);    /* young */
    int64_t r[PRUNE__COUNT];
    prune(&week, 1000, r);
    cr_assert_eq(r[PRUNE_INBOX], 10);
    cr_assert_eq(r[PRUNE_OUTBOX], 20, "delivered 30 and 5 days ago");
    cr_assert_eq(r[PRUNE_TIMERS], 20, "fired and cancelled 30 days ago");
    cr_assert_eq(count("SELECT count(*) FROM inbox"), 20);
    cr_assert_eq(count("SELECT count(*) FROM outbox WHERE delivered_at IS NULL"), 30,
                 "an undelivered row is never removed, however old");
    cr_assert_eq(count("SELECT count(*) FROM outbox WHERE delivered_at IS NOT NULL"), 10);
    cr_assert_eq(count("SELECT count(*) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL"),
                 30, "a pending timer is never removed, however old its due time");
    cr_assert_eq(count("SELECT count(*) FROM timers"), 70);
    prune(&week, 1000, r);
    cr_assert_eq(r[PRUNE_INBOX] + r[PRUNE_OUTBOX] + r[PRUNE_TIMERS], 0, "nothing left to remove");
}

Test(retention, pieces_of_at_most_the_limit)
{
    fill(25, 30 * DAY);
    int64_t r[PRUNE__COUNT];
    long long total = 0;
    int rounds = 0;
    do {
        prune(&week, 10, r);
        cr_assert(r[PRUNE_INBOX] <= 10 && r[PRUNE_OUTBOX] <= 10 && r[PRUNE_TIMERS] <= 10);
        total += r[PRUNE_INBOX] + r[PRUNE_OUTBOX] + r[PRUNE_TIMERS];
        rounds++;
    } while (r[PRUNE_INBOX] == 10 || r[PRUNE_OUTBOX] == 10 || r[PRUNE_TIMERS] == 10);
    cr_assert_eq(total, 25 + 25 + 50);
    cr_assert_eq(rounds, 6, "timers: 50 rows in five full pieces of 10, then an empty one");
}

Test(retention, keep_zero_keeps_for_ever)
{
    fill(5, 3650 * DAY);
    const struct store_keep never = {.keep = {0, 0, 0}};
    int64_t r[PRUNE__COUNT];
    prune(&never, 1000, r);
    cr_assert_eq(r[PRUNE_INBOX] + r[PRUNE_OUTBOX] + r[PRUNE_TIMERS], 0);
    const struct store_keep outbox_only = {.keep = {[PRUNE_OUTBOX] = DAY}};
    prune(&outbox_only, 1000, r);
    cr_assert_eq(r[PRUNE_OUTBOX], 5);
    cr_assert_eq(r[PRUNE_INBOX] + r[PRUNE_TIMERS], 0);
}

Test(retention, each_prune_finds_its_rows_through_an_index)
{
    fill(50, 30 * DAY);
    sql("ANALYZE");
    const char *index[PRUNE__COUNT] = {NULL, "outbox_delivered", "timers_finished"};
    for (int t = PRUNE_OUTBOX; t < PRUNE__COUNT; t++) {
        char q[1024];
        snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", store_prune_sql((enum store_prunable)t));
        sqlite3_stmt *s;
        cr_assert_eq(sqlite3_prepare_v2(raw, q, -1, &s, NULL), SQLITE_OK, "%s", sqlite3_errmsg(raw));
        sqlite3_bind_int64(s, 1, NOW - DAY);
        sqlite3_bind_int64(s, 2, 500);
        bool uses = false;
        char plan[2048] = "";
        while (sqlite3_step(s) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(s, 3);
            strncat(plan, d, sizeof plan - strlen(plan) - 2);
            strcat(plan, "\n");
            cr_assert(strncmp(d, "SCAN ", 5) != 0, "%s: a full scan:\n%s", store_prunable_names[t], d);
            uses |= strstr(d, index[t]) != NULL;
        }
        sqlite3_finalize(s);
        cr_assert(uses, "%s does not use %s:\n%s", store_prunable_names[t], index[t], plan);
    }
}

Test(retention, sizes)
{
    fill(4, 30 * DAY);
    struct store_sizes z;
    cr_assert_eq(store_sizes(st, &z), FQ_OK);
    cr_assert_eq(z.inbox, 4);
    cr_assert_eq(z.outbox, 8);
    cr_assert_eq(z.outbox_pending, 4);
    cr_assert_eq(z.timers, 12);
    cr_assert_eq(z.timers_pending, 4);
    cr_assert_eq(z.cases, 0);
    cr_assert(z.db_bytes > 0 && z.db_bytes % 512 == 0);
}

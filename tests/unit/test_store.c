/* test_store.c: the store against a real SQLite file in a fresh temporary directory per test.
 * A second raw sqlite3 connection is used where the test must look behind the typed API (the
 * append-only trigger, PRAGMA user_version). */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fq.h"
#include "common/roster_model.h"
#include "store/store.h"
#include "store/case_table.h"
#include "store/convo.h"
#include "store/outbox_table.h"
#include "store/roster_table.h"
#include "store/timer_table.h"

static char tmpdir[256];
static char dbpath[512];
static struct store *st;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fq-store-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/var/fq.db", tmpdir);
    st = NULL;
}

static void teardown(void)
{
    store_close(st);
    st = NULL;
    nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static void open_store(void)
{
    char *cause = NULL;
    enum fq_err err = store_open(dbpath, &st, &cause);
    cr_assert_eq(err, FQ_OK, "store_open: %s (%s)", fq_strerror(err), cause ? cause : "");
    free(cause);
}

/* Local 10:00 of the given date, so the local calendar day is unambiguous. */
static int64_t local_time(int y, int m, int d, int hour)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = hour,
                    .tm_isdst = -1};
    return (int64_t)mktime(&tm);
}

static void case_fill(struct fq_case *c, const char *user, int64_t at)
{
    memset(c, 0, sizeof *c);
    c->channel = strdup("web");
    c->user = strdup(user);
    snprintf(c->category, sizeof c->category, "neighbour");
    c->status = fq_case_status_parse("assigned");
    c->description = strdup("desc");
    c->created_at = at;
    c->updated_at = at;
    c->tier = FQ_LEVEL_GRID;
}

static int64_t insert_case(const char *user, int64_t at, const char *status, const char *org,
                           const char *mediator, char *case_no_out)
{
    struct fq_case c;
    case_fill(&c, user, at);
    c.status = fq_case_status_parse(status);
    c.org_id = fq_strdup(org);
    c.mediator_id = fq_strdup(mediator);
    c.assigned_at = mediator ? at : 0;
    cr_assert_eq(store_case_insert(st, &c), FQ_OK, "%s", store_errmsg(st));
    if (case_no_out)
        strcpy(case_no_out, c.case_no);
    int64_t id = c.id;
    case_cleanup(&c);
    return id;
}

TestSuite(store, .init = setup, .fini = teardown);

/* ---- open ---------------------------------------------------------------------------------- */
Test(store, open_creates_private_file_and_migrates)
{
    open_store();
    struct stat sb;
    cr_assert_eq(stat(dbpath, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600, "mode %o", sb.st_mode & 0777);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/var", tmpdir);
    cr_assert_eq(stat(dir, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0700, "dir mode %o", sb.st_mode & 0777);
    cr_assert_gt(store_schema_latest(), 0);
    cr_assert_eq(store_schema_version(st), store_schema_latest());

    /* Write something so the WAL exists, then check the side files. */
    cr_assert_eq(store_kv_put(st, "k", "v"), FQ_OK);
    const char *sfx[] = {"-wal", "-shm"};
    int seen = 0;
    for (int i = 0; i < 2; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", dbpath, sfx[i]);
        if (stat(p, &sb) == 0) {
            seen++;
            cr_assert_eq(sb.st_mode & 0777, 0600, "%s mode %o", sfx[i], sb.st_mode & 0777);
        }
    }
    cr_assert_gt(seen, 0, "WAL mode should leave a -wal or -shm file while open");

    /* The PRAGMAs of the connection are visible through a second raw connection. */
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

Test(store, reopen_is_idempotent)
{
    open_store();
    cr_assert_eq(store_kv_put(st, "instance", "abc"), FQ_OK);
    uint64_t commits = store_commits(st);
    store_close(st);
    st = NULL;
    open_store();
    cr_assert_eq(store_schema_version(st), store_schema_latest());
    cr_assert_eq(store_commits(st), 0, "no migration should run again (%llu, first open %llu)",
                 (unsigned long long)store_commits(st), (unsigned long long)commits);
    char *v = NULL;
    cr_assert_eq(store_kv_get(st, "instance", &v), FQ_OK);
    cr_assert_str_eq(v, "abc");
    free(v);
}

Test(store, open_refuses_newer_schema)
{
    open_store();
    store_close(st);
    st = NULL;
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", store_schema_latest() + 1);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char *cause = NULL;
    cr_assert_neq(store_open(dbpath, &st, &cause), FQ_OK);
    cr_assert_null(st);
    cr_assert_not_null(cause);
    free(cause);
    cause = NULL;
    cr_assert_neq(store_open_readonly(dbpath, &st, &cause), FQ_OK);
    cr_assert_null(st);
    free(cause);
}

Test(store, readonly_refuses_writes)
{
    char *cause = NULL;
    /* Missing file */
    cr_assert_neq(store_open_readonly(dbpath, &st, &cause), FQ_OK);
    cr_assert_null(st);
    free(cause);
    cause = NULL;

    open_store();
    cr_assert_eq(store_kv_put(st, "k", "v1"), FQ_OK);
    struct store *ro = NULL;
    cr_assert_eq(store_open_readonly(dbpath, &ro, &cause), FQ_OK, "%s", cause ? cause : "");
    char *v = NULL;
    cr_assert_eq(store_kv_get(ro, "k", &v), FQ_OK);
    cr_assert_str_eq(v, "v1");
    free(v);
    cr_assert_eq(store_kv_put(ro, "k", "v2"), FQ_ESTORE);
    int64_t tid;
    cr_assert_neq(store_timer_add(ro, 100, fq_timer_kind_parse("survey"), 0, NULL, &tid), FQ_OK);
    cr_assert_eq(store_kv_get(st, "k", &v), FQ_OK);
    cr_assert_str_eq(v, "v1");
    free(v);
    store_close(ro);
}

Test(store, readonly_refuses_unmigrated_file)
{
    sqlite3 *db;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/var", tmpdir);
    mkdir(dir, 0700);
    cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "CREATE TABLE x(a)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char *cause = NULL;
    cr_assert_neq(store_open_readonly(dbpath, &st, &cause), FQ_OK);
    cr_assert_not_null(cause);
    free(cause);
}

/* ---- transactions -------------------------------------------------------------------------- */
Test(store, commits_are_counted)
{
    open_store();
    uint64_t c0 = store_commits(st);
    cr_assert_eq(store_begin(st), FQ_OK);
    cr_assert_eq(store_kv_put(st, "a", "1"), FQ_OK);
    cr_assert_eq(store_kv_put(st, "b", "2"), FQ_OK);
    cr_assert_eq(store_commit(st), FQ_OK);
    cr_assert_eq(store_commits(st), c0 + 1);
    cr_assert_eq(store_begin(st), FQ_OK);
    cr_assert_eq(store_kv_put(st, "c", "3"), FQ_OK);
    store_rollback(st);
    cr_assert_eq(store_commits(st), c0 + 1);
    char *v = NULL;
    cr_assert_eq(store_kv_get(st, "c", &v), FQ_ENOTFOUND);
    cr_assert_null(v);
    cr_assert_eq(store_kv_get(st, "b", &v), FQ_OK);
    cr_assert_str_eq(v, "2");
    free(v);
}

Test(store, rollback_to_undoes_only_one_message)
{
    open_store();
    cr_assert_eq(store_begin(st), FQ_OK);

    cr_assert_eq(store_savepoint(st), FQ_OK);           /* message 1: kept */
    char no1[24];
    insert_case("u1", local_time(2026, 11, 22, 10), "assigned", NULL, NULL, no1);
    cr_assert_eq(store_inbox_put(st, "chat:web:u1", "m1", 200, "{}", 1), FQ_OK);
    cr_assert_eq(store_release(st), FQ_OK);

    cr_assert_eq(store_savepoint(st), FQ_OK);           /* message 2: undone */
    char no2[24];
    insert_case("u2", local_time(2026, 11, 22, 11), "assigned", NULL, NULL, no2);
    cr_assert_eq(store_inbox_put(st, "chat:web:u2", "m2", 200, "{}", 2), FQ_OK);
    int64_t oid;
    cr_assert_eq(store_outbox_add(st, "mqtt", "t", "{}", false, "ev-2", NULL, 2, &oid), FQ_OK);
    store_rollback_to(st);
    cr_assert_eq(store_release(st), FQ_OK, "release after rollback_to is a no-op");

    cr_assert_eq(store_savepoint(st), FQ_OK);           /* message 3: kept, reuses the number */
    char no3[24];
    insert_case("u3", local_time(2026, 11, 22, 12), "assigned", NULL, NULL, no3);
    cr_assert_eq(store_release(st), FQ_OK);
    cr_assert_eq(store_commit(st), FQ_OK);

    cr_assert_str_eq(no1, "FQ20261122-0001");
    cr_assert_str_eq(no3, "FQ20261122-0002", "the undone case gave its number back");
    struct fq_case c;
    cr_assert_eq(store_case_get(st, no1, &c), FQ_OK);
    cr_assert_str_eq(c.user, "u1");
    case_cleanup(&c);
    cr_assert_eq(store_case_get(st, no3, &c), FQ_OK);
    cr_assert_str_eq(c.user, "u3");
    case_cleanup(&c);
    int status;
    char *ans = NULL;
    cr_assert_eq(store_inbox_get(st, "chat:web:u1", "m1", &status, &ans), FQ_OK);
    free(ans);
    cr_assert_eq(store_inbox_get(st, "chat:web:u2", "m2", &status, &ans), FQ_ENOTFOUND);
    int64_t depth, oldest;
    cr_assert_eq(store_outbox_stats(st, &depth, &oldest), FQ_OK);
    cr_assert_eq(depth, 0);
}

Test(store, savepoint_without_transaction_commits_on_release)
{
    open_store();
    uint64_t c0 = store_commits(st);
    cr_assert_eq(store_savepoint(st), FQ_OK);
    cr_assert_eq(store_kv_put(st, "a", "1"), FQ_OK);
    cr_assert_eq(store_release(st), FQ_OK);
    cr_assert_eq(store_commits(st), c0 + 1);
    cr_assert_eq(store_savepoint(st), FQ_OK);
    cr_assert_eq(store_kv_put(st, "b", "2"), FQ_OK);
    store_rollback_to(st);
    char *v = NULL;
    cr_assert_eq(store_kv_get(st, "b", &v), FQ_ENOTFOUND);
    cr_assert_eq(store_kv_get(st, "a", &v), FQ_OK);
    free(v);
    /* A writer holding no transaction: another connection can write now. */
    struct store *other = NULL;
    char *cause = NULL;
    cr_assert_eq(store_open(dbpath, &other, &cause), FQ_OK);
    cr_assert_eq(store_begin(other), FQ_OK);
    cr_assert_eq(store_kv_put(other, "c", "3"), FQ_OK);
    cr_assert_eq(store_commit(other), FQ_OK);
    store_close(other);
}

/* ---- cases --------------------------------------------------------------------------------- */
Test(store, case_numbers_restart_each_day)
{
    open_store();
    int64_t d1 = local_time(2026, 11, 22, 10), d2 = local_time(2026, 11, 23, 10);
    char no[4][24];
    cr_assert_eq(store_begin(st), FQ_OK);
    insert_case("a", d1, "assigned", NULL, NULL, no[0]);
    insert_case("b", d1 + 3600, "assigned", NULL, NULL, no[1]);
    insert_case("c", d2, "assigned", NULL, NULL, no[2]);
    cr_assert_eq(store_commit(st), FQ_OK);
    /* Without a transaction of the caller: still correct (internal savepoint). */
    insert_case("d", d1 + 7200, "assigned", NULL, NULL, no[3]);
    cr_assert_str_eq(no[0], "FQ20261122-0001");
    cr_assert_str_eq(no[1], "FQ20261122-0002");
    cr_assert_str_eq(no[2], "FQ20261123-0001");
    cr_assert_str_eq(no[3], "FQ20261122-0003");
}

Test(store, case_round_trip_every_field)
{
    open_store();
    struct fq_case c;
    memset(&c, 0, sizeof c);
    c.channel = strdup("wecom");
    c.user = strdup("resident-7");
    c.name = strdup("N");
    c.contact = strdup("C");
    snprintf(c.category, sizeof c.category, "wage");
    c.severity = FQ_SEV_YELLOW;
    c.place_org = strdup("vil-fy");
    c.place_text = strdup("place");
    c.description = strdup("description");
    c.people = 6;
    c.org_id = strdup("vil-fy");
    c.mediator_id = strdup("m-chen");
    c.status = fq_case_status_parse("assigned");
    c.tier = FQ_LEVEL_VILLAGE;
    c.locale = strdup("zh-CN");
    c.created_at = local_time(2026, 1, 5, 9);
    c.assigned_at = c.created_at + 1;
    c.due_accept = c.created_at + 100;
    c.due_resolve = c.created_at + 1000;
    c.updated_at = c.created_at + 2;
    cr_assert_eq(store_case_insert(st, &c), FQ_OK);
    cr_assert_gt(c.id, 0);
    cr_assert_str_eq(c.case_no, "FQ20260105-0001");

    /* Change every mutable field. */
    free(c.name);
    c.name = strdup("N2");
    free(c.contact);
    c.contact = NULL;
    snprintf(c.category, sizeof c.category, "land");
    c.severity = FQ_SEV_RED;
    free(c.place_org);
    c.place_org = strdup("grid-1");
    free(c.place_text);
    c.place_text = strdup("p2");
    free(c.description);
    c.description = strdup("d2");
    c.people = 12;
    free(c.org_id);
    c.org_id = strdup("town-fq");
    free(c.mediator_id);
    c.mediator_id = strdup("m-li");
    c.status = fq_case_status_parse("closed");
    c.tier = FQ_LEVEL_TOWN;
    c.attempts = 2;
    c.escalations = 1;
    c.close_reason = strdup("litigation");
    free(c.locale);
    c.locale = strdup("en");
    c.parent_case = 42;
    c.accepted_at = c.created_at + 10;
    c.resolved_at = c.created_at + 20;
    c.closed_at = c.created_at + 30;
    c.due_accept = c.created_at + 40;
    c.due_resolve = c.created_at + 50;
    c.updated_at = c.created_at + 60;
    cr_assert_eq(store_case_update(st, &c), FQ_OK);

    struct fq_case g;
    cr_assert_eq(store_case_get(st, c.case_no, &g), FQ_OK);
    cr_assert_eq(g.id, c.id);
    cr_assert_str_eq(g.case_no, c.case_no);
    cr_assert_str_eq(g.channel, "wecom");
    cr_assert_str_eq(g.user, "resident-7");
    cr_assert_str_eq(g.name, "N2");
    cr_assert_null(g.contact);
    cr_assert_str_eq(g.category, "land");
    cr_assert_eq(g.severity, FQ_SEV_RED);
    cr_assert_str_eq(g.place_org, "grid-1");
    cr_assert_str_eq(g.place_text, "p2");
    cr_assert_str_eq(g.description, "d2");
    cr_assert_eq(g.people, 12);
    cr_assert_str_eq(g.org_id, "town-fq");
    cr_assert_str_eq(g.mediator_id, "m-li");
    cr_assert_str_eq(fq_case_status_name(g.status), "closed");
    cr_assert_eq(g.tier, FQ_LEVEL_TOWN);
    cr_assert_eq(g.attempts, 2);
    cr_assert_eq(g.escalations, 1);
    cr_assert_str_eq(g.close_reason, "litigation");
    cr_assert_str_eq(g.locale, "en");
    cr_assert_eq(g.parent_case, 42);
    cr_assert_eq(g.created_at, c.created_at);
    cr_assert_eq(g.assigned_at, c.assigned_at);
    cr_assert_eq(g.accepted_at, c.accepted_at);
    cr_assert_eq(g.resolved_at, c.resolved_at);
    cr_assert_eq(g.closed_at, c.closed_at);
    cr_assert_eq(g.due_accept, c.due_accept);
    cr_assert_eq(g.due_resolve, c.due_resolve);
    cr_assert_eq(g.updated_at, c.updated_at);
    case_cleanup(&g);

    cr_assert_eq(store_case_get_id(st, c.id, &g), FQ_OK);
    cr_assert_str_eq(g.case_no, c.case_no);
    case_cleanup(&g);
    cr_assert_eq(store_case_get(st, "FQ20990101-0001", &g), FQ_ENOTFOUND);
    cr_assert_eq(store_case_get_id(st, c.id + 100, &g), FQ_ENOTFOUND);
    c.id += 100;
    cr_assert_eq(store_case_update(st, &c), FQ_ENOTFOUND);
    case_cleanup(&c);
    case_cleanup(&c); /* cleanup twice is safe */
}

struct ev_list {
    int n;
    char types[8][24];
    char notes[8][24];
};

static void ev_cb(const struct fq_case_event *e, void *arg)
{
    struct ev_list *l = arg;
    if (l->n < 8) {
        snprintf(l->types[l->n], 24, "%s", e->type);
        snprintf(l->notes[l->n], 24, "%s", e->note ? e->note : "(null)");
    }
    l->n++;
}

Test(store, case_events_are_append_only)
{
    open_store();
    int64_t id = insert_case("u", local_time(2026, 3, 1, 10), "assigned", NULL, NULL, NULL);
    cr_assert_eq(store_case_event_add(st, id, "created", "resident", NULL, NULL, 1), FQ_OK);
    cr_assert_eq(store_case_event_add(st, id, "assigned", "system", "to m-wang",
                                      "{\"m\":\"m-wang\"}", 2), FQ_OK);
    cr_assert_eq(store_case_event_add(st, id, "accepted", "m-wang", NULL, NULL, 3), FQ_OK);
    /* An event of no case is refused (foreign key). */
    cr_assert_neq(store_case_event_add(st, id + 99, "created", "resident", NULL, NULL, 4), FQ_OK);

    struct ev_list l = {0};
    cr_assert_eq(store_case_events(st, id, ev_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 3);
    cr_assert_str_eq(l.types[0], "created");
    cr_assert_str_eq(l.types[1], "assigned");
    cr_assert_str_eq(l.notes[1], "to m-wang");
    cr_assert_str_eq(l.types[2], "accepted");
    cr_assert_str_eq(l.notes[2], "(null)");

    sqlite3 *db;
    cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    cr_assert_neq(sqlite3_exec(db, "UPDATE case_events SET note = 'x'", NULL, NULL, NULL),
                  SQLITE_OK);
    cr_assert_neq(sqlite3_exec(db, "DELETE FROM case_events", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    memset(&l, 0, sizeof l);
    cr_assert_eq(store_case_events(st, id, ev_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 3);
    cr_assert_str_eq(l.notes[1], "to m-wang");
}

struct case_list {
    int n;
    char nos[16][24];
};

static void list_cb(const struct fq_case *c, void *arg)
{
    struct case_list *l = arg;
    if (l->n < 16)
        snprintf(l->nos[l->n], 24, "%s", c->case_no);
    l->n++;
}

static int list(const struct fq_case_filter *f, struct case_list *l)
{
    memset(l, 0, sizeof *l);
    cr_assert_eq(store_case_list(st, f, list_cb, l), FQ_OK, "%s", store_errmsg(st));
    return l->n;
}

static bool listed(const struct case_list *l, const char *no)
{
    for (int i = 0; i < l->n && i < 16; i++)
        if (strcmp(l->nos[i], no) == 0)
            return true;
    return false;
}

Test(store, case_list_filters)
{
    open_store();
    int64_t t0 = local_time(2026, 5, 1, 10);
    char a[24], b[24], c[24], d[24], e[24];
    cr_assert_eq(store_begin(st), FQ_OK);
    insert_case("u1", t0, "assigned", "grid-1", "m-wang", a);
    insert_case("u1", t0 + 100, "resolved", "grid-1", "m-wang", b);
    insert_case("u2", t0 + 200, "accepted", "vil-1", "m-chen", c);
    insert_case("u3", t0 + 300, "closed", "vil-1", "m-chen", d);
    insert_case("u2", t0 + 400, "cancelled", "town-1", NULL, e);
    cr_assert_eq(store_commit(st), FQ_OK);

    struct case_list l;
    struct fq_case_filter f = {0};
    cr_assert_eq(list(&f, &l), 5);
    cr_assert_str_eq(l.nos[0], e, "newest first");
    cr_assert_str_eq(l.nos[4], a);
    cr_assert_eq(store_case_list(st, NULL, list_cb, &l), FQ_OK);

    f = (struct fq_case_filter){.status = "resolved"};
    cr_assert_eq(list(&f, &l), 1);
    cr_assert_str_eq(l.nos[0], b);

    f = (struct fq_case_filter){.status = "open"};
    cr_assert_eq(list(&f, &l), 2);
    cr_assert(listed(&l, a) && listed(&l, c));

    f = (struct fq_case_filter){.org_id = "vil-1"};
    cr_assert_eq(list(&f, &l), 2);
    cr_assert(listed(&l, c) && listed(&l, d));

    f = (struct fq_case_filter){.channel = "web", .user = "u2"};
    cr_assert_eq(list(&f, &l), 2);
    cr_assert_str_eq(l.nos[0], e);
    cr_assert_str_eq(l.nos[1], c);

    f = (struct fq_case_filter){.channel = "web", .user = "u2", .status = "open"};
    cr_assert_eq(list(&f, &l), 1);
    cr_assert_str_eq(l.nos[0], c);

    f = (struct fq_case_filter){.channel = "other", .user = "u2"};
    cr_assert_eq(list(&f, &l), 0);

    f = (struct fq_case_filter){.mediator_id = "m-chen"};
    cr_assert_eq(list(&f, &l), 2);
    cr_assert(listed(&l, c) && listed(&l, d));

    f = (struct fq_case_filter){.mediator_id = "m-wang", .status = "open"};
    cr_assert_eq(list(&f, &l), 1);
    cr_assert_str_eq(l.nos[0], a);

    f = (struct fq_case_filter){.since = t0 + 200};
    cr_assert_eq(list(&f, &l), 3);
    cr_assert(listed(&l, c) && listed(&l, d) && listed(&l, e));

    f = (struct fq_case_filter){.since = t0 + 100, .until = t0 + 300};
    cr_assert_eq(list(&f, &l), 2, "until is exclusive");
    cr_assert(listed(&l, b) && listed(&l, c));

    f = (struct fq_case_filter){.limit = 2};
    cr_assert_eq(list(&f, &l), 2);
    cr_assert_str_eq(l.nos[0], e);
    cr_assert_str_eq(l.nos[1], d);

    f = (struct fq_case_filter){.org_id = "grid-1", .status = "open", .limit = 5};
    cr_assert_eq(list(&f, &l), 1);
    cr_assert_str_eq(l.nos[0], a);

    int64_t n;
    cr_assert_eq(store_case_count_by_resident(st, "web", "u1", t0, &n), FQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(store_case_count_by_resident(st, "web", "u1", t0 + 1, &n), FQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(store_case_count_by_resident(st, "web", "nobody", 0, &n), FQ_OK);
    cr_assert_eq(n, 0);

    int64_t open_cases, last;
    cr_assert_eq(store_mediator_load(st, "m-wang", &open_cases, &last), FQ_OK);
    cr_assert_eq(open_cases, 1);
    cr_assert_eq(last, t0 + 100);
    cr_assert_eq(store_mediator_load(st, "m-chen", &open_cases, &last), FQ_OK);
    cr_assert_eq(open_cases, 1);
    cr_assert_eq(last, t0 + 300);
    cr_assert_eq(store_mediator_load(st, "m-none", &open_cases, &last), FQ_OK);
    cr_assert_eq(open_cases, 0);
    cr_assert_eq(last, 0);
}

/* Keyset paging: pages of two, each after the last case of the one before, give every case
 * once in the list's order, ties on created_at included, also when a case arrives meanwhile. */
struct case_keys {
    int n;
    char nos[16][24];
    int64_t created_at, id;   /* of the last case given */
};

static void keys_cb(const struct fq_case *c, void *arg)
{
    struct case_keys *k = arg;
    if (k->n < 16)
        snprintf(k->nos[k->n], 24, "%s", c->case_no);
    k->n++;
    k->created_at = c->created_at;
    k->id = c->id;
}

Test(store, case_list_keyset_and_offset)
{
    open_store();
    int64_t t0 = local_time(2026, 5, 1, 10);
    char no[6][24];
    cr_assert_eq(store_begin(st), FQ_OK);
    insert_case("u1", t0, "assigned", "grid-1", NULL, no[0]);
    insert_case("u2", t0 + 50, "assigned", "grid-1", NULL, no[1]);
    insert_case("u3", t0 + 50, "assigned", "grid-1", NULL, no[2]);   /* same second */
    insert_case("u4", t0 + 50, "assigned", "grid-1", NULL, no[3]);
    insert_case("u5", t0 + 90, "assigned", "grid-1", NULL, no[4]);
    cr_assert_eq(store_commit(st), FQ_OK);

    const char *want[] = {no[4], no[3], no[2], no[1], no[0]};
    struct fq_case_filter f = {.limit = 2};
    struct case_keys k;
    int seen = 0, pages = 0;
    for (;;) {
        memset(&k, 0, sizeof k);
        cr_assert_eq(store_case_list(st, &f, keys_cb, &k), FQ_OK, "%s", store_errmsg(st));
        for (int i = 0; i < k.n; i++, seen++)
            cr_assert_str_eq(k.nos[i], want[seen], "case %d of the walk", seen);
        if (k.n == 0)
            break;
        if (++pages == 1) {   /* a new case meanwhile: newer, so it is not in this walk */
            cr_assert_eq(store_begin(st), FQ_OK);
            insert_case("u6", t0 + 95, "assigned", "grid-1", NULL, no[5]);
            cr_assert_eq(store_commit(st), FQ_OK);
        }
        f.after_created_at = k.created_at;
        f.after_id = k.id;
    }
    cr_assert_eq(seen, 5);
    cr_assert_eq(pages, 3);

    f = (struct fq_case_filter){.limit = 2, .offset = 2};
    memset(&k, 0, sizeof k);
    cr_assert_eq(store_case_list(st, &f, keys_cb, &k), FQ_OK);
    cr_assert_eq(k.n, 2);
    cr_assert_str_eq(k.nos[0], no[3], "offset 2 of 6, newest first");
    cr_assert_str_eq(k.nos[1], no[2]);
    f = (struct fq_case_filter){.offset = 6};
    memset(&k, 0, sizeof k);
    cr_assert_eq(store_case_list(st, &f, keys_cb, &k), FQ_OK);
    cr_assert_eq(k.n, 0);
}

/* The per-mediator open count kept by triggers (migration 0004) against a count of the cases
 * themselves, after every step of random traffic: new cases, status changes (accept, resolve,
 * reopen, close, cancel), reassignments, unassignments and rewrites that change nothing. */
static int64_t counted_open(const char *mediator)
{
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT count(*) FROM cases WHERE mediator_id = ?1 AND"
                                    " status NOT IN ('resolved', 'closed', 'cancelled')",
                                    -1, &q, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(q, 1, mediator, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

Test(store, mediator_open_count_follows_the_cases)
{
    open_store();
    const char *meds[] = {"m-a", "m-b", "m-c", NULL};
    const char *statuses[] = {"assigned", "accepted", "in_progress", "resolved", "closed",
                              "cancelled", "unassigned", "reopened"};
    int64_t ids[64];
    int n = 0;
    unsigned seed = 7;
    int64_t t0 = local_time(2026, 6, 1, 10);
    for (int step = 0; step < 400; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 16;
        cr_assert_eq(store_begin(st), FQ_OK);
        if (n < 64 && (n < 4 || r % 3 == 0)) {
            ids[n++] = insert_case("u", t0 + step, statuses[r % 8], "grid-1", meds[(r / 8) % 4],
                                   NULL);
        } else {
            struct fq_case c;
            cr_assert_eq(store_case_get_id(st, ids[r % (unsigned)n], &c), FQ_OK);
            unsigned what = (r / 64) % 3;
            if (what == 0)
                c.status = fq_case_status_parse(statuses[(r / 8) % 8]);
            else if (what == 1) {
                free(c.mediator_id);
                c.mediator_id = fq_strdup(meds[(r / 8) % 4]);
            }   /* what == 2: written back unchanged */
            cr_assert_eq(store_case_update(st, &c), FQ_OK);
            case_cleanup(&c);
        }
        cr_assert_eq(store_commit(st), FQ_OK);
        for (int m = 0; meds[m]; m++) {
            int64_t open_cases, last;
            cr_assert_eq(store_mediator_load(st, meds[m], &open_cases, &last), FQ_OK);
            cr_assert_eq(open_cases, counted_open(meds[m]), "step %d, %s", step, meds[m]);
        }
    }
}

/* A listing callback that lists again: the cached statement is busy, the inner call must get
 * its own and the outer listing must go on unharmed. */
struct nested {
    int outer, inner;
};

static void inner_cb(const struct fq_case *c, void *arg)
{
    (void)c;
    ((struct nested *)arg)->inner++;
}

static void outer_cb(const struct fq_case *c, void *arg)
{
    struct nested *n = arg;
    n->outer++;
    struct fq_case_filter f = {.status = fq_case_status_name(c->status)};
    cr_assert_eq(store_case_list(st, &f, inner_cb, n), FQ_OK);
}

Test(store, case_list_reentrant)
{
    open_store();
    int64_t t0 = local_time(2026, 5, 1, 10);
    insert_case("u1", t0, "assigned", NULL, NULL, NULL);
    insert_case("u2", t0 + 1, "assigned", NULL, NULL, NULL);
    insert_case("u3", t0 + 2, "resolved", NULL, NULL, NULL);
    struct nested n = {0};
    cr_assert_eq(store_case_list(st, NULL, outer_cb, &n), FQ_OK);
    cr_assert_eq(n.outer, 3);
    cr_assert_eq(n.inner, 2 + 2 + 1);
}

/* ---- inbox, kv ----------------------------------------------------------------------------- */
Test(store, inbox_dedupe)
{
    open_store();
    int status = 0;
    char *ans = NULL;
    cr_assert_eq(store_inbox_get(st, "chat:web:u1", "m-1", &status, &ans), FQ_ENOTFOUND);
    cr_assert_eq(store_inbox_put(st, "chat:web:u1", "m-1", 200, "{\"a\":1}", 5), FQ_OK);
    cr_assert_eq(store_inbox_get(st, "chat:web:u1", "m-1", &status, &ans), FQ_OK);
    cr_assert_eq(status, 200);
    cr_assert_str_eq(ans, "{\"a\":1}");
    free(ans);
    cr_assert_eq(store_inbox_put(st, "chat:web:u1", "m-1", 400, "{}", 6), FQ_EEXIST);
    cr_assert_eq(store_inbox_get(st, "chat:web:u1", "m-1", &status, &ans), FQ_OK);
    cr_assert_eq(status, 200, "the first answer stays");
    free(ans);
    /* Same key in another scope is another message. */
    cr_assert_eq(store_inbox_put(st, "chat:web:u2", "m-1", 201, NULL, 7), FQ_OK);
    cr_assert_eq(store_inbox_get(st, "chat:web:u2", "m-1", &status, &ans), FQ_OK);
    cr_assert_eq(status, 201);
    cr_assert_null(ans);
}

Test(store, kv)
{
    open_store();
    char *v = (char *)1;
    cr_assert_eq(store_kv_get(st, "cursor", &v), FQ_ENOTFOUND);
    cr_assert_null(v);
    cr_assert_eq(store_kv_put(st, "cursor", "c1"), FQ_OK);
    cr_assert_eq(store_kv_put(st, "cursor", "c2"), FQ_OK);
    cr_assert_eq(store_kv_get(st, "cursor", &v), FQ_OK);
    cr_assert_str_eq(v, "c2");
    free(v);
    /* SQL text in a value is just text. */
    cr_assert_eq(store_kv_put(st, "x'); DROP TABLE kv; --", "'\""), FQ_OK);
    cr_assert_eq(store_kv_get(st, "x'); DROP TABLE kv; --", &v), FQ_OK);
    cr_assert_str_eq(v, "'\"");
    free(v);
}

/* ---- residents, conversations -------------------------------------------------------------- */
Test(store, resident_put_keeps_unset_fields)
{
    open_store();
    struct fq_resident r = {.channel = "web", .user = "u1", .name = "Li", .contact = "138",
                            .locale = 1, .first_seen = 10, .last_seen = 10};
    cr_assert_eq(store_resident_put(st, &r), FQ_OK);
    struct fq_resident u = {.channel = "web", .user = "u1", .locale = -1, .last_seen = 20};
    cr_assert_eq(store_resident_put(st, &u), FQ_OK);
    struct fq_resident g;
    cr_assert_eq(store_resident_get(st, "web", "u1", &g), FQ_OK);
    cr_assert_str_eq(g.name, "Li");
    cr_assert_str_eq(g.contact, "138");
    cr_assert_eq(g.locale, 1);
    cr_assert_eq(g.first_seen, 10);
    cr_assert_eq(g.last_seen, 20);
    resident_cleanup(&g);
    cr_assert_eq(store_resident_get(st, "web", "u9", &g), FQ_ENOTFOUND);
    cr_assert_eq(g.locale, -1);
}

static void convo_set(struct fq_convo *c, const char *user, const char *state, int64_t at)
{
    memset(c, 0, sizeof *c);
    c->channel = strdup("web");
    c->user = strdup(user);
    c->state = fq_convo_state_parse(state);
    c->started_at = at;
    c->updated_at = at;
}

struct idle_list {
    int n;
    char users[8][16];
};

static void idle_cb(const struct fq_convo *c, void *arg)
{
    struct idle_list *l = arg;
    if (l->n < 8)
        snprintf(l->users[l->n], 16, "%s", c->user);
    l->n++;
    /* The sweep's callback writes the row it is given. */
    struct fq_convo z;
    memset(&z, 0, sizeof z);
    z.channel = c->channel;
    z.user = c->user;
    z.state = fq_convo_state_parse("idle");
    z.updated_at = 1000;
    cr_assert_eq(store_convo_put(st, &z), FQ_OK);
}

Test(store, convo_round_trip_and_idle)
{
    open_store();
    struct fq_convo c;
    convo_set(&c, "u1", "confirm", 100);
    c.locale = 2;
    c.category = strdup("wage");
    c.org_id = strdup("vil-fy");
    c.place_text = strdup("here");
    c.description = strdup("unpaid");
    c.contact = strdup("139");
    c.name = strdup("Wang");
    c.people = 7;
    c.danger = true;
    c.latitude = 29.73;
    c.longitude = 120.45;
    c.has_location = true;
    c.last_case_no = strdup("FQ20260101-0001");
    cr_assert_eq(store_convo_put(st, &c), FQ_OK);

    struct fq_convo g;
    cr_assert_eq(store_convo_get(st, "web", "u1", &g), FQ_OK);
    cr_assert_str_eq(g.channel, "web");
    cr_assert_str_eq(g.user, "u1");
    cr_assert_str_eq(fq_convo_state_name(g.state), "confirm");
    cr_assert_eq(g.locale, 2);
    cr_assert_str_eq(g.category, "wage");
    cr_assert_str_eq(g.org_id, "vil-fy");
    cr_assert_str_eq(g.place_text, "here");
    cr_assert_str_eq(g.description, "unpaid");
    cr_assert_str_eq(g.contact, "139");
    cr_assert_str_eq(g.name, "Wang");
    cr_assert_eq(g.people, 7);
    cr_assert(g.danger);
    cr_assert_float_eq(g.latitude, 29.73, 1e-9);
    cr_assert_float_eq(g.longitude, 120.45, 1e-9);
    cr_assert(g.has_location);
    cr_assert_str_eq(g.last_case_no, "FQ20260101-0001");
    cr_assert_eq(g.started_at, 100);
    cr_assert_eq(g.updated_at, 100);
    convo_cleanup(&g);

    /* Replace: cleared fields come back NULL. */
    free(c.category);
    c.category = NULL;
    c.state = fq_convo_state_parse("ask_category");
    c.updated_at = 150;
    cr_assert_eq(store_convo_put(st, &c), FQ_OK);
    cr_assert_eq(store_convo_get(st, "web", "u1", &g), FQ_OK);
    cr_assert_null(g.category);
    cr_assert_str_eq(fq_convo_state_name(g.state), "ask_category");
    convo_cleanup(&g);
    convo_cleanup(&c);
    cr_assert_eq(store_convo_get(st, "web", "nobody", &g), FQ_ENOTFOUND);

    const char *states[] = {"idle", "submitted", "ask_location", "survey", "ask_contact"};
    const int64_t at[] = {10, 10, 10, 20, 500};
    for (int i = 0; i < 5; i++) {
        char u[16];
        snprintf(u, sizeof u, "v%d", i);
        convo_set(&c, u, states[i], at[i]);
        cr_assert_eq(store_convo_put(st, &c), FQ_OK);
        convo_cleanup(&c);
    }
    /* not idle: u1 (ask_category), v1 submitted, v2, v3, v4 */
    cr_assert_eq(store_convo_open_count(st), 5);

    struct idle_list l = {0};
    cr_assert_eq(store_convo_idle(st, 200, 10, idle_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 3, "u1 (150), v2 (10), v3 (20); not idle/submitted/recent");
    cr_assert_str_eq(l.users[0], "v2", "oldest first");
    cr_assert_str_eq(l.users[1], "v3");
    cr_assert_str_eq(l.users[2], "u1");
    cr_assert_eq(store_convo_open_count(st), 2);
    memset(&l, 0, sizeof l);
    cr_assert_eq(store_convo_idle(st, 200, 10, idle_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 0);
    cr_assert_eq(store_convo_idle(st, 1000, 1, idle_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 1, "limit");
}

/* ---- roster -------------------------------------------------------------------------------- */
static char **strv(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    char **v = calloc((size_t)n, sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = strdup(va_arg(ap, const char *));
    va_end(ap);
    return v;
}

static struct fq_roster *sample_roster(void)
{
    struct fq_roster *r = roster_new();
    r->n_org = 4;
    r->org = calloc(4, sizeof *r->org);
    const char *ids[] = {"county-zj", "town-fq", "vil-fy", "grid-fy-01"};
    const char *parents[] = {NULL, "county-zj", "town-fq", "vil-fy"};
    for (int i = 0; i < 4; i++) {
        r->org[i].id = strdup(ids[i]);
        r->org[i].name = strdup(ids[i]);
        r->org[i].parent_id = fq_strdup(parents[i]);
        r->org[i].level = (enum fq_level)i;
    }
    r->org[2].aliases = strv(2, "alias-a", "alias-b");
    r->org[2].n_aliases = 2;
    r->org[3].aliases = strv(1, "grid-alias");
    r->org[3].n_aliases = 1;
    r->org[3].has_coord = true;
    r->org[3].latitude = 29.73;
    r->org[3].longitude = 120.45;

    r->n_med = 3;
    r->med = calloc(3, sizeof *r->med);
    const char *mids[] = {"m-wang", "m-chen", "m-li"};
    const char *roles[] = {"grid_worker", "village_mediator", "town_mediator"};
    const char *orgs[] = {"grid-fy-01", "vil-fy", "town-fq"};
    for (int i = 0; i < 3; i++) {
        r->med[i].id = strdup(mids[i]);
        r->med[i].name = strdup(mids[i]);
        r->med[i].role = strdup(roles[i]);
        r->med[i].org_id = strdup(orgs[i]);
        r->med[i].active = true;
    }
    r->med[0].wecom_userid = strdup("WangJianGuo");
    r->med[0].chat_user = strdup("chat-wang");
    r->med[0].max_open = 20;
    r->med[0].categories = strv(1, "*");
    r->med[0].n_categories = 1;
    r->med[0].gateways = calloc(2, sizeof *r->med[0].gateways);
    r->med[0].gateways[0].channel = strdup("sms");
    r->med[0].gateways[0].user = strdup("13800000000");
    r->med[0].gateways[1].channel = strdup("hotline");
    r->med[0].gateways[1].user = strdup("ext-201");
    r->med[0].n_gateways = 2;
    r->med[1].categories = strv(2, "neighbour", "family");
    r->med[1].n_categories = 2;
    r->med[1].active = false;
    r->med[2].supervisor = true;
    r->med[2].categories = strv(1, "*");
    r->med[2].n_categories = 1;

    r->n_routes = 2;
    r->routes = calloc(2, sizeof *r->routes);
    r->routes[0].category = strdup("wage");
    r->routes[0].org_id = strdup("town-fq");
    r->routes[0].mediators = strv(2, "m-li", "m-chen");
    r->routes[0].n_mediators = 2;
    r->routes[1].category = strdup("land");
    r->routes[1].org_id = strdup("vil-fy");
    r->routes[1].mediators = strv(1, "m-chen");
    r->routes[1].n_mediators = 1;
    char *problem = NULL;
    cr_assert_eq(roster_validate(r, &problem), FQ_OK, "%s", problem ? problem : "");
    return r;
}

Test(store, roster_round_trip)
{
    open_store();
    struct fq_roster *empty = NULL;
    cr_assert_eq(store_roster_load(st, &empty), FQ_OK);
    cr_assert_eq(empty->n_org + empty->n_med + empty->n_routes, 0);
    roster_free(empty);

    struct fq_roster *r = sample_roster();
    cr_assert_eq(store_begin(st), FQ_OK);
    cr_assert_eq(store_roster_replace(st, r), FQ_OK, "%s", store_errmsg(st));
    cr_assert_eq(store_commit(st), FQ_OK);
    /* A second import of the same roster (idempotent), this time without a transaction. */
    cr_assert_eq(store_roster_replace(st, r), FQ_OK, "%s", store_errmsg(st));

    struct fq_roster *g = NULL;
    cr_assert_eq(store_roster_load(st, &g), FQ_OK);
    cr_assert_eq(g->n_org, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_str_eq(g->org[i].id, r->org[i].id);
        cr_assert_str_eq(g->org[i].name, r->org[i].name);
        cr_assert(fq_streq(g->org[i].parent_id, r->org[i].parent_id));
        cr_assert_eq(g->org[i].level, r->org[i].level);
        cr_assert_eq(g->org[i].parent, r->org[i].parent, "index resolved");
        cr_assert_eq(g->org[i].n_aliases, r->org[i].n_aliases);
        for (size_t k = 0; k < g->org[i].n_aliases; k++)
            cr_assert_str_eq(g->org[i].aliases[k], r->org[i].aliases[k]);
        cr_assert_eq(g->org[i].has_coord, r->org[i].has_coord);
    }
    cr_assert_float_eq(g->org[3].latitude, 29.73, 1e-9);
    cr_assert_float_eq(g->org[3].longitude, 120.45, 1e-9);
    cr_assert_eq(g->n_med, 3);
    for (size_t i = 0; i < 3; i++) {
        const struct fq_mediator *a = &g->med[i], *b = &r->med[i];
        cr_assert_str_eq(a->id, b->id);
        cr_assert_str_eq(a->name, b->name);
        cr_assert_str_eq(a->role, b->role);
        cr_assert_str_eq(a->org_id, b->org_id);
        cr_assert(fq_streq(a->wecom_userid, b->wecom_userid));
        cr_assert(fq_streq(a->chat_user, b->chat_user));
        cr_assert_eq(a->max_open, b->max_open);
        cr_assert_eq(a->supervisor, b->supervisor);
        cr_assert_eq(a->active, b->active);
        cr_assert_eq(a->org, b->org);
        cr_assert_eq(a->n_categories, b->n_categories);
        for (size_t k = 0; k < a->n_categories; k++)
            cr_assert_str_eq(a->categories[k], b->categories[k]);
        cr_assert_eq(a->n_gateways, b->n_gateways);
        for (size_t k = 0; k < a->n_gateways; k++) {
            cr_assert_str_eq(a->gateways[k].channel, b->gateways[k].channel);
            cr_assert_str_eq(a->gateways[k].user, b->gateways[k].user);
        }
    }
    cr_assert_eq(roster_mediator_by_gateway(g, "sms", "13800000000"), 0);
    cr_assert_eq(roster_mediator_by_gateway(g, "hotline", "ext-201"), 0);
    cr_assert_eq(roster_mediator_by_gateway(g, "sms", "ext-201"), -1);
    cr_assert_eq(g->n_routes, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_str_eq(g->routes[i].category, r->routes[i].category);
        cr_assert_str_eq(g->routes[i].org_id, r->routes[i].org_id);
        cr_assert_eq(g->routes[i].org, r->routes[i].org);
        cr_assert_eq(g->routes[i].n_mediators, r->routes[i].n_mediators);
        for (size_t k = 0; k < g->routes[i].n_mediators; k++)
            cr_assert_str_eq(g->routes[i].mediators[k], r->routes[i].mediators[k]);
    }
    roster_free(g);

    /* A smaller roster replaces everything: no leftovers of the first one. */
    roster_free(r);
    r = roster_new();
    r->n_org = 1;
    r->org = calloc(1, sizeof *r->org);
    r->org[0].id = strdup("county-x");
    r->org[0].name = strdup("X");
    r->org[0].level = FQ_LEVEL_COUNTY;
    r->n_med = 1;
    r->med = calloc(1, sizeof *r->med);
    r->med[0].id = strdup("m-wang");
    r->med[0].name = strdup("W");
    r->med[0].role = strdup("county_mediator");
    r->med[0].org_id = strdup("county-x");
    r->med[0].active = true;
    char *problem = NULL;
    cr_assert_eq(roster_validate(r, &problem), FQ_OK, "%s", problem ? problem : "");
    cr_assert_eq(store_roster_replace(st, r), FQ_OK);
    cr_assert_eq(store_roster_load(st, &g), FQ_OK);
    cr_assert_eq(g->n_org, 1);
    cr_assert_eq(g->org[0].n_aliases, 0);
    cr_assert_eq(g->n_med, 1);
    cr_assert_str_eq(g->med[0].id, "m-wang");
    cr_assert_eq(g->med[0].n_categories, 0);
    cr_assert_eq(g->med[0].n_gateways, 0, "the old bindings are gone");
    cr_assert_eq(g->n_routes, 0);
    roster_free(g);
    roster_free(r);
}

Test(store, roster_replace_failure_changes_nothing)
{
    open_store();
    struct fq_roster *r = sample_roster();
    cr_assert_eq(store_roster_replace(st, r), FQ_OK);
    /* A duplicate org id gets past no validation here on purpose: the store must refuse it and
     * keep the stored roster whole. */
    free(r->org[3].id);
    r->org[3].id = strdup("vil-fy");
    cr_assert_eq(store_roster_replace(st, r), FQ_EEXIST);
    struct fq_roster *g = NULL;
    cr_assert_eq(store_roster_load(st, &g), FQ_OK);
    cr_assert_eq(g->n_org, 4);
    cr_assert_str_eq(g->org[3].id, "grid-fy-01");
    cr_assert_eq(g->n_routes, 2);
    roster_free(g);
    roster_free(r);
}

/* ---- outbox -------------------------------------------------------------------------------- */
struct ob_list {
    int n;
    int64_t ids[16];
    int attempts[16];
    char topics[16][32];
};

static void ob_cb(const struct fq_outbox_row *r, void *arg)
{
    struct ob_list *l = arg;
    if (l->n < 16) {
        l->ids[l->n] = r->id;
        l->attempts[l->n] = r->attempts;
        snprintf(l->topics[l->n], 32, "%s", r->topic);
    }
    l->n++;
}

Test(store, outbox)
{
    open_store();
    int64_t ids[5];
    cr_assert_eq(store_begin(st), FQ_OK);
    for (int i = 0; i < 5; i++) {
        char ev[16], topic[16];
        snprintf(ev, sizeof ev, "ev-%d", i);
        snprintf(topic, sizeof topic, "t/%d", i);
        cr_assert_eq(store_outbox_add(st, i == 3 ? "wecom" : "mqtt", topic, "{}", i == 0, ev,
                                      i == 1 ? "FQ20260101-0001" : NULL, 100 + i, &ids[i]),
                     FQ_OK);
        if (i)
            cr_assert_gt(ids[i], ids[i - 1]);
    }
    cr_assert_eq(store_commit(st), FQ_OK);
    int64_t dup;
    cr_assert_eq(store_outbox_add(st, "mqtt", "t", "{}", false, "ev-2", NULL, 1, &dup), FQ_EEXIST);

    struct ob_list l = {0};
    cr_assert_eq(store_outbox_pending(st, "mqtt", 0, 100, ob_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 4);
    cr_assert_eq(l.ids[0], ids[0]);
    cr_assert_eq(l.ids[1], ids[1]);
    cr_assert_eq(l.ids[2], ids[2]);
    cr_assert_eq(l.ids[3], ids[4]);
    cr_assert_str_eq(l.topics[3], "t/4");

    memset(&l, 0, sizeof l);
    cr_assert_eq(store_outbox_pending(st, "mqtt", ids[0], 2, ob_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.ids[0], ids[1]);
    cr_assert_eq(l.ids[1], ids[2]);

    int64_t depth, oldest;
    cr_assert_eq(store_outbox_stats(st, &depth, &oldest), FQ_OK);
    cr_assert_eq(depth, 5);
    cr_assert_eq(oldest, 100);

    cr_assert_eq(store_outbox_retry(st, ids[1], 500), FQ_OK);
    cr_assert_eq(store_outbox_retry(st, ids[1], 600), FQ_OK);
    int64_t done[] = {ids[0], ids[2]};
    cr_assert_eq(store_outbox_done(st, done, 2, 200), FQ_OK);
    cr_assert_eq(store_outbox_done(st, done, 2, 201), FQ_OK, "done twice is harmless");
    cr_assert_eq(store_outbox_retry(st, ids[0], 700), FQ_ENOTFOUND, "delivered rows stay done");

    memset(&l, 0, sizeof l);
    cr_assert_eq(store_outbox_pending(st, "mqtt", 0, 0, ob_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.ids[0], ids[1]);
    cr_assert_eq(l.attempts[0], 2);
    cr_assert_eq(l.ids[1], ids[4]);
    cr_assert_eq(store_outbox_stats(st, &depth, &oldest), FQ_OK);
    cr_assert_eq(depth, 3);
    cr_assert_eq(oldest, 101);

    /* Ids never repeat, even after the newest row is done. */
    int64_t last[] = {ids[4]};
    cr_assert_eq(store_outbox_done(st, last, 1, 300), FQ_OK);
    int64_t id6;
    cr_assert_eq(store_outbox_add(st, "mqtt", "t/6", "{}", false, "ev-6", NULL, 400, &id6), FQ_OK);
    cr_assert_gt(id6, ids[4]);
}

static void ob_done_cb(const struct fq_outbox_row *r, void *arg)
{
    (void)arg;
    cr_assert_eq(store_outbox_done(st, &r->id, 1, 9), FQ_OK);
}

Test(store, outbox_callback_may_mark_done)
{
    open_store();
    for (int i = 0; i < 3; i++) {
        char ev[16];
        snprintf(ev, sizeof ev, "e%d", i);
        cr_assert_eq(store_outbox_add(st, "mqtt", "t", "{}", false, ev, NULL, 1, NULL), FQ_OK);
    }
    cr_assert_eq(store_outbox_pending(st, "mqtt", 0, 10, ob_done_cb, NULL), FQ_OK);
    int64_t depth, oldest;
    cr_assert_eq(store_outbox_stats(st, &depth, &oldest), FQ_OK);
    cr_assert_eq(depth, 0);
    cr_assert_eq(oldest, 0);
}

/* ---- timers -------------------------------------------------------------------------------- */
struct tm_list {
    int n;
    int64_t ids[8];
    char kinds[8][32];
    char args[8][16];
};

static void tm_cb(const struct fq_timer *t, void *arg)
{
    struct tm_list *l = arg;
    if (l->n < 8) {
        l->ids[l->n] = t->id;
        snprintf(l->kinds[l->n], 32, "%s", fq_timer_kind_name(t->kind));
        snprintf(l->args[l->n], 16, "%s", t->arg ? t->arg : "(null)");
    }
    l->n++;
}

Test(store, timers)
{
    open_store();
    int64_t due;
    cr_assert_eq(store_timer_next(st, &due), FQ_ENOTFOUND);
    int64_t a, b, c, d;
    cr_assert_eq(store_timer_add(st, 300, fq_timer_kind_parse("resolve_overdue"), 7, NULL, &a), FQ_OK);
    cr_assert_eq(store_timer_add(st, 100, fq_timer_kind_parse("accept_remind"), 7, "x", &b), FQ_OK);
    cr_assert_eq(store_timer_add(st, 200, fq_timer_kind_parse("accept_escalate"), 7, NULL, &c), FQ_OK);
    cr_assert_eq(store_timer_add(st, 150, fq_timer_kind_parse("survey"), 8, NULL, &d), FQ_OK);
    cr_assert_eq(store_timer_pending_count(st), 4);
    cr_assert_eq(store_timer_next(st, &due), FQ_OK);
    cr_assert_eq(due, 100);

    struct tm_list l = {0};
    cr_assert_eq(store_timer_due(st, 99, 10, tm_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 0);
    cr_assert_eq(store_timer_due(st, 200, 10, tm_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 3);
    cr_assert_eq(l.ids[0], b);
    cr_assert_str_eq(l.kinds[0], "accept_remind");
    cr_assert_str_eq(l.args[0], "x");
    cr_assert_eq(l.ids[1], d);
    cr_assert_eq(l.ids[2], c);
    memset(&l, 0, sizeof l);
    cr_assert_eq(store_timer_due(st, 200, 1, tm_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 1, "limit");

    cr_assert_eq(store_timer_fire(st, b, 101), FQ_OK);
    cr_assert_eq(store_timer_fire(st, b, 102), FQ_ENOTFOUND, "fires once");
    cr_assert_eq(store_timer_fire(st, 9999, 102), FQ_ENOTFOUND);
    cr_assert_eq(store_timer_next(st, &due), FQ_OK);
    cr_assert_eq(due, 150);

    /* Cancel one kind of case 7, then every kind. */
    cr_assert_eq(store_timer_cancel(st, 7, fq_timer_kind_parse("accept_escalate")), FQ_OK);
    cr_assert_eq(store_timer_fire(st, c, 201), FQ_ENOTFOUND, "cancelled");
    cr_assert_eq(store_timer_pending_count(st), 2);
    cr_assert_eq(store_timer_cancel_all(st, 7), FQ_OK);
    cr_assert_eq(store_timer_pending_count(st), 1);
    cr_assert_eq(store_timer_next(st, &due), FQ_OK);
    cr_assert_eq(due, 150);
    memset(&l, 0, sizeof l);
    cr_assert_eq(store_timer_due(st, 1000, 10, tm_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.ids[0], d);
    cr_assert_eq(store_timer_fire(st, d, 1000), FQ_OK);
    cr_assert_eq(store_timer_next(st, &due), FQ_ENOTFOUND);
    cr_assert_eq(store_timer_pending_count(st), 0);
    (void)a;
}

static void fire_cb(const struct fq_timer *t, void *arg)
{
    int *fired = arg;
    if (store_timer_fire(st, t->id, 50) == FQ_OK)
        (*fired)++;
}

Test(store, timer_callback_may_fire)
{
    open_store();
    for (int i = 0; i < 4; i++)
        cr_assert_eq(store_timer_add(st, 10 + i, fq_timer_kind_parse("survey"), i, NULL, NULL), FQ_OK);
    int fired = 0;
    cr_assert_eq(store_timer_due(st, 100, 0, fire_cb, &fired), FQ_OK);
    cr_assert_eq(fired, 4);
    cr_assert_eq(store_timer_pending_count(st), 0);
}

/* The scheduler takes the heavy kinds apart: one query of only them, one of every other kind. */
Test(store, timers_due_of_some_kinds_or_of_the_others)
{
    open_store();
    int64_t dg, rp, rm, sv;
    cr_assert_eq(store_timer_add(st, 10, fq_timer_kind_parse("digest"), 0, "m-1", &dg), FQ_OK);
    cr_assert_eq(store_timer_add(st, 20, fq_timer_kind_parse("accept_remind"), 7, NULL, &rm),
                 FQ_OK);
    cr_assert_eq(store_timer_add(st, 30, fq_timer_kind_parse("report_monthly"), 0, NULL, &rp),
                 FQ_OK);
    cr_assert_eq(store_timer_add(st, 40, fq_timer_kind_parse("survey"), 8, NULL, &sv), FQ_OK);
    const enum fq_timer_kind heavy[2] = {fq_timer_kind_parse("digest"),
                                         fq_timer_kind_parse("report_monthly")};
    struct tm_list l = {0};
    cr_assert_eq(store_timer_due_kinds(st, 100, 10, true, heavy, 2, tm_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.ids[0], dg);
    cr_assert_str_eq(l.args[0], "m-1");
    cr_assert_eq(l.ids[1], rp);
    memset(&l, 0, sizeof l);
    cr_assert_eq(store_timer_due_kinds(st, 100, 10, false, heavy, 2, tm_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 2, "the unused places of the list exclude nothing more");
    cr_assert_eq(l.ids[0], rm);
    cr_assert_eq(l.ids[1], sv);
    /* one kind; due time and limit as store_timer_due */
    memset(&l, 0, sizeof l);
    cr_assert_eq(store_timer_due_kinds(st, 25, 10, false, heavy, 1, tm_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.ids[0], rm);
    memset(&l, 0, sizeof l);
    cr_assert_eq(store_timer_due_kinds(st, 100, 1, false, heavy, 1, tm_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.ids[0], rm);
    cr_assert_eq(store_timer_fire(st, dg, 50), FQ_OK);
    memset(&l, 0, sizeof l);
    cr_assert_eq(store_timer_due_kinds(st, 100, 10, true, heavy, 2, tm_cb, &l), FQ_OK);
    cr_assert_eq(l.n, 1, "fired ones are not due");
    cr_assert_eq(l.ids[0], rp);
    cr_assert_eq(store_timer_due_kinds(st, 100, 10, true, heavy, 0, tm_cb, &l), FQ_EINVAL);
    cr_assert_eq(store_timer_due_kinds(st, 100, 10, true, heavy, STORE_DUE_KINDS_MAX + 1, tm_cb,
                                       &l), FQ_EINVAL);
    const enum fq_timer_kind bad[1] = {FQ_TIMER__COUNT};
    cr_assert_eq(store_timer_due_kinds(st, 100, 10, true, bad, 1, tm_cb, &l), FQ_EINVAL);
}

/* A read transaction sees the database as it was when it began, whatever the writer commits
 * meanwhile, and the writer does not wait for it. */
Test(store, read_transaction_is_a_snapshot)
{
    open_store();
    cr_assert_eq(store_kv_put(st, "k", "one"), FQ_OK);
    struct store *r = NULL;
    cr_assert_eq(store_open_readonly(dbpath, &r, NULL), FQ_OK);
    cr_assert_eq(store_read_begin(r), FQ_OK);
    cr_assert_eq(store_begin(st), FQ_OK);
    cr_assert_eq(store_kv_put(st, "k", "two"), FQ_OK);
    cr_assert_eq(store_kv_put(st, "k2", "new"), FQ_OK);
    cr_assert_eq(store_commit(st), FQ_OK, "the writer commits under an open reader");
    char *v = NULL;
    cr_assert_eq(store_kv_get(r, "k", &v), FQ_OK);
    cr_assert_str_eq(v, "one", "the snapshot of the begin");
    free(v);
    v = NULL;
    cr_assert_eq(store_kv_get(r, "k2", &v), FQ_ENOTFOUND);
    store_read_end(r);
    cr_assert_eq(store_kv_get(r, "k", &v), FQ_OK);
    cr_assert_str_eq(v, "two", "after the end: the newest");
    free(v);
    store_close(r);
}

static void count_cb(const struct fq_timer *t, void *arg)
{
    (void)t;
    (*(int *)arg)++;
}

/* The cancel flag stops a statement of the connection under way, and only while it is set. */
Test(store, cancel_flag_stops_a_read)
{
    open_store();
    cr_assert_eq(store_begin(st), FQ_OK);
    for (int i = 0; i < 20000; i++)
        cr_assert_eq(store_timer_add(st, 10 + i, fq_timer_kind_parse("survey"), i, NULL, NULL),
                     FQ_OK);
    cr_assert_eq(store_commit(st), FQ_OK);
    struct store *r = NULL;
    cr_assert_eq(store_open_readonly(dbpath, &r, NULL), FQ_OK);
    atomic_bool flag;
    atomic_init(&flag, false);
    store_set_cancel(r, &flag);
    int n = 0;
    cr_assert_eq(store_timer_due(r, INT64_MAX / 2, 0, count_cb, &n), FQ_OK);
    cr_assert_eq(n, 20000);
    atomic_store(&flag, true);
    n = 0;
    cr_assert_eq(store_timer_due(r, INT64_MAX / 2, 0, count_cb, &n), FQ_ESTORE);
    cr_assert_eq(n, 0, "nothing handed out from a cut-short read");
    atomic_store(&flag, false);
    cr_assert_eq(store_timer_due(r, INT64_MAX / 2, 0, count_cb, &n), FQ_OK);
    cr_assert_eq(n, 20000);
    store_set_cancel(r, NULL);
    store_close(r);
}

/* ---- batch throughput sanity: many messages, one commit ------------------------------------ */
Test(store, group_commit_batch)
{
    open_store();
    uint64_t c0 = store_commits(st);
    cr_assert_eq(store_begin(st), FQ_OK);
    int64_t t0 = local_time(2026, 7, 1, 9);
    for (int i = 0; i < 300; i++) {
        cr_assert_eq(store_savepoint(st), FQ_OK);
        char key[16], ev[16];
        snprintf(key, sizeof key, "m%d", i);
        snprintf(ev, sizeof ev, "ev%d", i);
        cr_assert_eq(store_inbox_put(st, "chat:web:u", key, 200, "{}", t0), FQ_OK);
        insert_case("u", t0 + i, "assigned", NULL, NULL, NULL);
        cr_assert_eq(store_outbox_add(st, "mqtt", "t", "{}", false, ev, NULL, t0, NULL), FQ_OK);
        cr_assert_eq(store_release(st), FQ_OK);
    }
    cr_assert_eq(store_commit(st), FQ_OK);
    cr_assert_eq(store_commits(st), c0 + 1);
    struct fq_case c;
    cr_assert_eq(store_case_get(st, "FQ20260701-0300", &c), FQ_OK);
    case_cleanup(&c);
}

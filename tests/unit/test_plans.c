/* test_plans.c: the query plans of the statements whose cost must not grow with the history
 * (docs/ARCHITECTURE.md, "Costs bounded by the period asked"): every combination of the case
 * list's filters, the report's period queries and the supervisors' digest. EXPLAIN QUERY PLAN on
 * a database the daemon's migrations made, without ANALYZE (the daemon runs none, so these are
 * the plans it gets): no full scan of cases, and a filter that names an org, a resident, a
 * mediator or a status is served by an index on that column, not by walking every case in
 * creation order. */
#include <criterion/criterion.h>

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fq.h"
#include "store/case_table.h"
#include "store/report_query.h"
#include "store/stats_query.h"
#include "store/store.h"

static char tmpdir[256];
static char dbpath[512];
static sqlite3 *raw;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fq-plans-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/fq.db", tmpdir);
    struct store *st = NULL;
    char *cause = NULL;
    cr_assert_eq(store_open(dbpath, &st, &cause), FQ_OK, "%s", cause ? cause : "");
    store_close(st);
    cr_assert_eq(sqlite3_open(dbpath, &raw), SQLITE_OK);
}

static void teardown(void)
{
    sqlite3_close(raw);
    nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(plans, .init = setup, .fini = teardown);

/* The plan of sql, one detail per line, into out. */
static void plan(const char *sql, char *out, size_t size)
{
    char q[4096];
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(raw, q, -1, &s, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(raw));
    out[0] = '\0';
    while (sqlite3_step(s) == SQLITE_ROW) {
        strncat(out, (const char *)sqlite3_column_text(s, 3), size - strlen(out) - 2);
        strcat(out, "\n");
    }
    sqlite3_finalize(s);
}

/* A full scan of cases: "SCAN cases" with no index after it. */
static bool full_scan(const char *p)
{
    for (const char *l = p; (l = strstr(l, "SCAN cases")); l++) {
        const char *end = l + strlen("SCAN cases");
        if (*end == '\n' || *end == '\0')
            return true;
    }
    return false;
}

Test(plans, every_case_list_filter_uses_an_index)
{
    for (unsigned k = 0; k < 256; k++) {
        struct fq_case_filter f = {
            .status = k & 1 ? "assigned" : k & 2 ? "open" : NULL,
            .org_id = k & 4 ? "grid-1" : NULL,
            .channel = k & 8 ? "web" : NULL,
            .user = k & 8 ? "u1" : NULL,
            .mediator_id = k & 16 ? "m-1" : NULL,
            .since = k & 32 ? 1000 : 0,
            .until = k & 64 ? 2000 : 0,
            .after_id = k & 128 ? 5 : 0,
            .after_created_at = k & 128 ? 1500 : 0,
            .limit = 100,
        };
        if ((k & 3) == 3)
            continue;                   /* one status or "open", not both */
        char sql[2048], p[4096];
        cr_assert_not_null(store_case_list_sql(&f, sql, sizeof sql));
        plan(sql, p, sizeof p);
        cr_assert(!full_scan(p), "shape %u scans every case:\n%s\n%s", k, sql, p);
        bool selective = f.status || f.org_id || f.channel || f.mediator_id;
        bool walks_all = strstr(p, "USING INDEX cases_created") &&
                         !strstr(p, "cases_org_created") && !strstr(p, "cases_place_created") &&
                         !strstr(p, "cases_resident") && !strstr(p, "cases_mediator") &&
                         !strstr(p, "cases_status_created") && !strstr(p, "cases_open_created");
        cr_assert(!(selective && walks_all),
                  "shape %u filters but walks every case in creation order:\n%s\n%s", k, sql, p);
        if (getenv("FQ_SHOW_PLANS"))
            printf("shape %u:\n%s\n", k, p);
    }
}

Test(plans, the_report_reads_its_period_through_indexes)
{
    char p[4096];
    for (int w = 0; w < 2; w++) {
        plan(store_report_sql(w), p, sizeof p);
        cr_assert(!full_scan(p), "report query %d scans every case:\n%s", w, p);
        /* a range on created_at alone (created_at < end) would read all of history */
        cr_assert(!strstr(p, "(created_at<?)"), "report query %d reads every case before the "
                                                "period's end:\n%s", w, p);
        if (getenv("FQ_SHOW_PLANS"))
            printf("report %d:\n%s\n", w, p);
    }
    plan(store_report_sql(0), p, sizeof p);
    const char *need[] = {"cases_created", "cases_updated", "cases_resolved", "cases_closed"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        cr_assert(strstr(p, need[i]), "the period's cases do not use %s:\n%s", need[i], p);
    /* the open cases through either index on them (both are partial: open cases only) */
    cr_assert(strstr(p, "cases_open_created") || strstr(p, "cases_mediator_open"),
              "the open cases are not read through an index of open cases:\n%s", p);
}

Test(plans, the_workbench_statistics_read_their_period_through_indexes)
{
    char p[8192];
    for (int w = 0; store_stats_sql(w); w++) {
        plan(store_stats_sql(w), p, sizeof p);
        if (getenv("FQ_SHOW_PLANS"))
            printf("stats %d:\n%s\n", w, p);
        cr_assert(!full_scan(p), "statistics query %d scans every case:\n%s", w, p);
        cr_assert(!strstr(p, "(created_at<?)"), "statistics query %d reads every case before "
                                                "the period's end:\n%s", w, p);
        cr_assert(!strstr(p, "SCAN e\n") && !strstr(p, "SCAN case_events\n"),
                  "statistics query %d scans every event:\n%s", w, p);
        cr_assert(!strstr(p, "SCAN c USING") && !strstr(p, "SCAN cases USING INDEX cases_place") &&
                      !strstr(p, "SCAN cases USING INDEX cases_org"),
                  "statistics query %d walks every case through an index:\n%s", w, p);
    }
    plan(store_stats_sql(2), p, sizeof p);
    cr_assert(strstr(p, "cases_updated") && strstr(p, "case_events_case"),
              "the events are not read by the cases touched in the period:\n%s", p);
    plan(store_stats_sql(5), p, sizeof p);
    cr_assert(strstr(p, "cases_resolved"), "the resolved are not read by their time:\n%s", p);
}

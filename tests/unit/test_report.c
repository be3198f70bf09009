/* test_report.c: the monthly report and the ledger (docs/contract.md 8.2, 8.3) against a
 * hand-computed fixture month. Cases, events and surveys are written with the store's own functions
 * at chosen timestamps of March 2025 (local time) and around it; every expected figure below is
 * worked out by hand in the comments from the fixture table, not read back from the code. Then the
 * renderers: JSON carries the same numbers, the text table is aligned in display columns, CSV
 * starts with a byte-order mark, and an XLSX workbook is written and read back with python3's
 * zipfile (headers, row count, a date cell). */
#include <criterion/criterion.h>

#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "bot/render/report_forms.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/localtime.h"
#include "handlers/actions.h"
#include "store/case_table.h"
#include "store/surveys.h"
#include "store/timer_table.h"
#include "handlers/report.h"
#include "store/store.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/i18n.h"

#define H 3600
#define D 86400

static char tmpdir[256];
static struct store *st;
static struct fq_config *cfg;
static struct fq_lexicon *lex;
static struct fq_roster *ro;
static struct fq_ctx ctx;
static int64_t S, E;                 /* March 2025, local */
static int64_t ids[16];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void add_org(const char *id, const char *name, enum fq_level level, const char *parent)
{
    ro->org = realloc(ro->org, (ro->n_org + 1) * sizeof *ro->org);
    struct fq_org *o = &ro->org[ro->n_org++];
    memset(o, 0, sizeof *o);
    o->id = strdup(id);
    o->name = strdup(name);
    o->parent_id = parent ? strdup(parent) : NULL;
    o->level = level;
    o->parent = -1;
}

static void add_med(const char *id, const char *name, const char *role, const char *org)
{
    ro->med = realloc(ro->med, (ro->n_med + 1) * sizeof *ro->med);
    struct fq_mediator *m = &ro->med[ro->n_med++];
    memset(m, 0, sizeof *m);
    m->id = strdup(id);
    m->name = strdup(name);
    m->role = strdup(role);
    m->org_id = strdup(org);
    m->categories = malloc(sizeof *m->categories);
    m->categories[0] = strdup("*");
    m->n_categories = 1;
    m->active = true;
    m->org = -1;
}

static const char *locale_dir(void)
{
    const char *env = getenv("FENGQIAO_LOCALES");
    if (env)
        return env;
    return access("locales/zh-CN.json", R_OK) == 0 ? "locales" : "../../locales";
}

/* One fixture case. */
struct fx {
    int n;                           /* index in ids[] */
    const char *category;
    int severity;
    const char *channel;
    const char *place;
    const char *status;
    const char *reason;
    int64_t created, accepted, resolved, closed, due_resolve, updated;
    int parent;                      /* index of the parent case, -1 none */
};

static void put_case(const struct fx *f)
{
    struct fq_case k;
    memset(&k, 0, sizeof k);
    char user[16];
    snprintf(user, sizeof user, "r%d", f->n);
    k.channel = strdup(f->channel);
    k.user = strdup(user);
    snprintf(k.category, sizeof k.category, "%s", f->category);
    k.severity = f->severity;
    k.place_org = strdup(f->place);
    k.org_id = strdup(f->place);
    k.mediator_id = strdup("m-wang");
    k.status = fq_case_status_parse(f->status);
    k.close_reason = f->reason ? strdup(f->reason) : NULL;
    k.created_at = k.assigned_at = f->created;
    k.accepted_at = f->accepted;
    k.resolved_at = f->resolved;
    k.closed_at = f->closed;
    k.due_resolve = f->due_resolve;
    k.updated_at = f->updated ? f->updated : f->created;
    k.parent_case = f->parent >= 0 ? ids[f->parent] : 0;
    if (f->n == 1) {
        k.name = strdup("王小明");
        k.contact = strdup("13812345678");
        k.description = strdup("楼道堆放杂物，电话13812345678，身份证33068119900101123X");
    }
    cr_assert_eq(store_case_insert(st, &k), FQ_OK, "insert case %d", f->n);
    ids[f->n] = k.id;
    case_cleanup(&k);
}

static void put_survey(int c, const char *kind, const char *status, int answer, int64_t closed)
{
    struct fq_survey v;
    memset(&v, 0, sizeof v);
    v.case_id = ids[c];
    snprintf(v.kind, sizeof v.kind, "%s", kind);
    v.resolved_at = closed - D;
    snprintf(v.via, sizeof v.via, "chat");
    v.status = fq_survey_status_parse(status);
    v.answer = answer;
    v.created_at = v.sent_at = closed - D;
    v.answered_at = answer ? closed : 0;
    v.closed_at = closed;
    cr_assert_eq(store_survey_insert(st, &v), FQ_OK);
}

static void fixture(void)
{
    /* n  category   sev     channel place        status       reason      created accepted resolved closed due_resolve
     * 1  neighbour  blue    web  grid-fy-01   resolved                  S+1d  +2h       S+3d
     * 2  neighbour  blue    gw   grid-fy-01   resolved                  S+2d  +4h       S+10d
     * 3  wage       yellow  web  vil-b        closed     litigation     S+3d  +1h              S+5d
     * 4  family     blue    web  vil-b        closed     withdrawn      S+4d  +10h             S+6d
     * 5  debt       red     web  grid-fy-01   assigned                  S+5d                         S+6d
     * 6  neighbour  blue    web  vil-fy       in_progress               S+6d  +3h                    E+10d
     * 7  neighbour  blue    web  grid-fy-01   resolved                  S-10d S-9d      S-2d          (finished before)
     * 8  land       blue    web  grid-fy-01   resolved                  S-5d  S-4d      S+1d
     * 9  neighbour  blue    web  grid-fy-01   assigned                  E+1d                          (next month)
     * 10 neighbour  yellow  web  grid-fy-01   assigned                  S+7d   relapse of 7
     * 11 other      blue    web  vil-b        in_progress               S-20d S-19d                  S+2d
     * 12 traffic    blue    web  vil-b        cancelled                 S+8d */
    const struct fx f[] = {
        {1, "neighbour", FQ_SEV_BLUE, "web", "grid-fy-01", "resolved", NULL, S + D, S + D + 2 * H, S + 3 * D, 0, 0, S + 3 * D, -1},
        {2, "neighbour", FQ_SEV_BLUE, "gw", "grid-fy-01", "resolved", NULL, S + 2 * D, S + 2 * D + 4 * H, S + 10 * D, 0, 0, S + 10 * D, -1},
        {3, "wage", FQ_SEV_YELLOW, "web", "vil-b", "closed", "litigation", S + 3 * D, S + 3 * D + H, 0, S + 5 * D, 0, S + 5 * D, -1},
        {4, "family", FQ_SEV_BLUE, "web", "vil-b", "closed", "withdrawn", S + 4 * D, S + 4 * D + 10 * H, 0, S + 6 * D, 0, S + 6 * D, -1},
        {5, "debt", FQ_SEV_RED, "web", "grid-fy-01", "assigned", NULL, S + 5 * D, 0, 0, 0, S + 6 * D, S + 5 * D + H, -1},
        {6, "neighbour", FQ_SEV_BLUE, "web", "vil-fy", "in_progress", NULL, S + 6 * D, S + 6 * D + 3 * H, 0, 0, E + 10 * D, S + 6 * D + 3 * H, -1},
        {7, "neighbour", FQ_SEV_BLUE, "web", "grid-fy-01", "resolved", NULL, S - 10 * D, S - 9 * D, S - 2 * D, 0, 0, S - 2 * D, -1},
        {8, "land", FQ_SEV_BLUE, "web", "grid-fy-01", "resolved", NULL, S - 5 * D, S - 4 * D, S + D, 0, 0, S + D, -1},
        {9, "neighbour", FQ_SEV_BLUE, "web", "grid-fy-01", "assigned", NULL, E + D, 0, 0, 0, 0, E + D, -1},
        {10, "neighbour", FQ_SEV_YELLOW, "web", "grid-fy-01", "assigned", NULL, S + 7 * D, 0, 0, 0, 0, S + 7 * D, 7},
        {11, "other", FQ_SEV_BLUE, "web", "vil-b", "in_progress", NULL, S - 20 * D, S - 19 * D, 0, 0, S + 2 * D, S - D, -1},
        {12, "traffic", FQ_SEV_BLUE, "web", "vil-b", "cancelled", NULL, S + 8 * D, 0, 0, 0, 0, S + 8 * D, -1},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        put_case(&f[i]);
    /* events: escalations in P on 5 and 6, one before P on 11; a reopen in P on 2 */
    cr_assert_eq(store_case_event_add(st, ids[5], "escalated", "m-wang", NULL, NULL, S + 5 * D + H), FQ_OK);
    cr_assert_eq(store_case_event_add(st, ids[6], "escalated", "m-wang", NULL, NULL, S + 6 * D + H), FQ_OK);
    cr_assert_eq(store_case_event_add(st, ids[11], "escalated", "m-wang", NULL, NULL, S - D), FQ_OK);
    cr_assert_eq(store_case_event_add(st, ids[2], "reopened", "system", NULL, NULL, S + 9 * D), FQ_OK);
    /* surveys: in P: 1 answered 1, 2 answered 4, 8 no response; before P: 7 answered 2; a
     * relapse check answered in P (not a satisfaction survey) */
    put_survey(1, "satisfaction", "answered", 1, S + 4 * D);
    put_survey(2, "satisfaction", "answered", 4, S + 11 * D);
    put_survey(8, "satisfaction", "no_response", 0, S + 5 * D);
    put_survey(7, "satisfaction", "answered", 2, S - D);
    put_survey(7, "relapse", "answered", 1, S + 3 * D);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fq-report-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    char path[512];
    snprintf(path, sizeof path, "%s/fq.db", tmpdir);
    char *cause = NULL;
    cr_assert_eq(store_open(path, &st, &cause), FQ_OK, "%s", cause ? cause : "");
    cr_assert_eq(locale_load(locale_dir(), &lex, &cause), FQ_OK, "%s", cause ? cause : "");
    cfg = config_new_defaults();
    ro = roster_new();
    add_org("county-zj", "诸暨市", FQ_LEVEL_COUNTY, NULL);
    add_org("town-fq", "枫桥镇", FQ_LEVEL_TOWN, "county-zj");
    add_org("vil-fy", "枫源村", FQ_LEVEL_VILLAGE, "town-fq");
    add_org("grid-fy-01", "枫源村第一网格", FQ_LEVEL_GRID, "vil-fy");
    add_org("vil-b", "栎桥村", FQ_LEVEL_VILLAGE, "town-fq");
    add_med("m-wang", "王建国", "grid_worker", "grid-fy-01");
    char *problem = NULL;
    cr_assert_eq(roster_validate(ro, &problem), FQ_OK, "%s", problem ? problem : "");
    ctx = (struct fq_ctx){.store = st, .cfg = cfg, .lex = lex, .roster = ro,
                          .now = (int64_t)time(NULL)};
    report_month_bounds(2025, 3, &S, &E);
}

static void teardown(void)
{
    store_close(st);
    config_free(cfg);
    lexicon_free(lex);
    roster_free(ro);
    nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(report, .init = setup, .fini = teardown);

static void assert_counts(const struct rp_counts *n, int64_t rec, int64_t res, int64_t unres,
                          int64_t wd, int64_t open, int64_t over, const char *what)
{
    cr_assert(n->received == rec && n->resolved == res && n->unresolved == unres &&
                  n->withdrawn == wd && n->open == open && n->overdue == over,
              "%s: got received %lld resolved %lld unresolved %lld withdrawn %lld open %lld "
              "overdue %lld, want %lld %lld %lld %lld %lld %lld",
              what, (long long)n->received, (long long)n->resolved, (long long)n->unresolved,
              (long long)n->withdrawn, (long long)n->open, (long long)n->overdue, (long long)rec,
              (long long)res, (long long)unres, (long long)wd, (long long)open, (long long)over);
}

static const struct rp_row *row(const struct rp_rows *rs, const char *key)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->v[i].key, key) == 0)
            return &rs->v[i];
    cr_assert_fail("no row %s", key);
    return NULL;
}

Test(report, month_parsing)
{
    int y, m;
    cr_assert_eq(report_parse_month("2025-03", &y, &m), 0);
    cr_assert(y == 2025 && m == 3);
    const char *bad[] = {"2025-13", "2025-00", "2025-3", "25-03", "2025/03", "2025-03x", "", "abcd-ef"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(report_parse_month(bad[i], &y, &m), -1, "%s accepted", bad[i]);
    int64_t s, e;
    report_month_bounds(2025, 12, &s, &e);
    cr_assert_eq(e - s, 31 * D);
}

Test(report, fixture_month_figures)
{
    fixture();
    struct rp_monthly *r = NULL;
    cr_assert_eq(report_monthly(&ctx, 2025, 3, NULL, &r), FQ_OK);
    /* received 1 2 3 4 5 6 10 12 = 8; resolved 1 2 8 = 3; unresolved 3; withdrawn 4; open 5 6 10
     * 11 = 4; overdue 5 (due S+6d) and 11 (due S+2d) = 2 */
    assert_counts(&r->total, 8, 3, 1, 1, 4, 2, "total");
    cr_assert_float_eq(r->success_rate, 0.75, 1e-9, "3 / (3 + 1), withdrawn in neither");
    /* accepted in P: 1 (2 h) 2 (4 h) 3 (1 h) 4 (10 h) 6 (3 h): mean 4 h, p90 = 5th of 5 = 10 h */
    cr_assert_eq(r->to_accept.count, 5);
    cr_assert_float_eq(r->to_accept.mean_s, 4.0 * H, 1e-6);
    cr_assert_eq(r->to_accept.p90_s, 10 * H);
    /* resolved: 1 (2 d) 2 (8 d) 8 (6 d): mean 16/3 d, p90 = 3rd of 3 = 8 d */
    cr_assert_eq(r->to_resolve.count, 3);
    cr_assert_float_eq(r->to_resolve.mean_s, 16.0 * D / 3.0, 1e-6);
    cr_assert_eq(r->to_resolve.p90_s, 8 * D);
    cr_assert_eq(r->escalations, 2);
    cr_assert_eq(r->reopened, 1);
    cr_assert_eq(r->relapses, 1);
    /* surveys concluded in P: answered 1 (1) and 2 (4), no response 8 */
    cr_assert_eq(r->surveys_answered, 2);
    cr_assert_eq(r->surveys_satisfied, 1);
    cr_assert_eq(r->surveys_no_response, 1);
    cr_assert_eq(r->answers[1], 1);
    cr_assert_eq(r->answers[4], 1);
    cr_assert_float_eq(r->satisfaction_rate, 0.5, 1e-9);
    cr_assert_float_eq(r->response_rate, 2.0 / 3.0, 1e-9);

    cr_assert_eq(r->by_category.n, 14);
    assert_counts(&row(&r->by_category, "neighbour")->n, 4, 2, 0, 0, 2, 0, "neighbour");
    assert_counts(&row(&r->by_category, "wage")->n, 1, 0, 1, 0, 0, 0, "wage");
    assert_counts(&row(&r->by_category, "family")->n, 1, 0, 0, 1, 0, 0, "family");
    assert_counts(&row(&r->by_category, "debt")->n, 1, 0, 0, 0, 1, 1, "debt");
    assert_counts(&row(&r->by_category, "land")->n, 0, 1, 0, 0, 0, 0, "land");
    assert_counts(&row(&r->by_category, "other")->n, 0, 0, 0, 0, 1, 1, "other");
    assert_counts(&row(&r->by_category, "traffic")->n, 1, 0, 0, 0, 0, 0, "traffic");
    assert_counts(&row(&r->by_category, "medical")->n, 0, 0, 0, 0, 0, 0, "medical");
    cr_assert_str_eq(row(&r->by_category, "neighbour")->label, "邻里纠纷");

    assert_counts(&row(&r->by_severity, "blue")->n, 5, 3, 0, 1, 2, 1, "blue");
    assert_counts(&row(&r->by_severity, "yellow")->n, 2, 0, 1, 0, 1, 0, "yellow");
    assert_counts(&row(&r->by_severity, "red")->n, 1, 0, 0, 0, 1, 1, "red");

    /* territory with subtotals: grid 1 2 5 8 10; village fy adds 6; village b 3 4 11 12 */
    cr_assert_eq(r->by_org.n, 5);
    assert_counts(&row(&r->by_org, "grid-fy-01")->n, 4, 3, 0, 0, 2, 1, "grid");
    assert_counts(&row(&r->by_org, "vil-fy")->n, 5, 3, 0, 0, 3, 1, "vil-fy");
    assert_counts(&row(&r->by_org, "vil-b")->n, 3, 0, 1, 1, 1, 1, "vil-b");
    assert_counts(&row(&r->by_org, "town-fq")->n, 8, 3, 1, 1, 4, 2, "town");
    assert_counts(&row(&r->by_org, "county-zj")->n, 8, 3, 1, 1, 4, 2, "county");
    cr_assert_eq(row(&r->by_org, "county-zj")->depth, 0);
    cr_assert_eq(row(&r->by_org, "grid-fy-01")->depth, 3);

    assert_counts(&row(&r->by_channel, "gw")->n, 1, 1, 0, 0, 0, 0, "gw");
    assert_counts(&row(&r->by_channel, "web")->n, 7, 2, 1, 1, 4, 2, "web");
    report_monthly_free(r);

    /* one node: village b only; no survey of its cases, so no satisfaction rate */
    cr_assert_eq(report_monthly(&ctx, 2025, 3, "vil-b", &r), FQ_OK);
    assert_counts(&r->total, 3, 0, 1, 1, 1, 1, "vil-b report");
    cr_assert_float_eq(r->success_rate, 0.0, 1e-9);
    cr_assert_lt(r->satisfaction_rate, 0);
    cr_assert_eq(r->surveys_answered + r->surveys_no_response, 0);
    cr_assert_eq(r->by_org.n, 1);
    cr_assert_eq(r->relapses, 0);
    report_monthly_free(r);
    cr_assert_eq(report_monthly(&ctx, 2025, 3, "nowhere", &r), FQ_ENOTFOUND);
}

Test(report, zero_report)
{
    fixture();
    struct rp_monthly *r = NULL;
    cr_assert_eq(report_monthly(&ctx, 2020, 1, NULL, &r), FQ_OK);
    assert_counts(&r->total, 0, 0, 0, 0, 0, 0, "empty month");
    cr_assert_lt(r->success_rate, 0);
    cr_assert_lt(r->satisfaction_rate, 0);
    cr_assert_lt(r->response_rate, 0);
    cr_assert_eq(r->to_accept.count, 0);
    cr_assert_eq(r->by_category.n, 14, "every category listed, with zeros");
    cr_assert_eq(r->by_org.n, 5, "every node listed, with zeros");
    char *js = report_json(r, false);
    json_t *o = json_loads(js, 0, NULL);
    cr_assert_not_null(o);
    cr_assert(json_is_null(json_object_get(o, "success_rate")));
    cr_assert_eq(json_integer_value(json_object_get(o, "received")), 0);
    json_decref(o);
    free(js);
    char *txt = report_text(r, lex);
    cr_assert_not_null(txt);
    free(txt);
    report_monthly_free(r);
}

Test(report, json_text_and_csv)
{
    fixture();
    struct rp_monthly *r = NULL;
    cr_assert_eq(report_monthly(&ctx, 2025, 3, NULL, &r), FQ_OK);
    char *js = report_json(r, false);
    json_t *o = json_loads(js, 0, NULL);
    cr_assert_not_null(o, "%s", js);
    cr_assert_str_eq(json_string_value(json_object_get(o, "month")), "2025-03");
    cr_assert_eq(json_integer_value(json_object_get(o, "received")), 8);
    cr_assert_eq(json_integer_value(json_object_get(o, "overdue")), 2);
    cr_assert_float_eq(json_real_value(json_object_get(o, "success_rate")), 0.75, 1e-9);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "time_to_accept"), "p90_s")),
                 10 * H);
    json_t *orgs = json_object_get(o, "by_org");
    cr_assert_eq(json_array_size(orgs), 5);
    json_decref(o);
    free(js);

    cr_assert_eq(report_display_width("abc"), 3);
    cr_assert_eq(report_display_width("邻里纠纷"), 8);
    cr_assert_eq(report_display_width("满意数（1-3）"), 13);
    char *txt = report_text(r, lex);
    /* the category table: every line as wide as its header line */
    char hk[64];
    snprintf(hk, sizeof hk, "\n%s ", i18n_get(lex, FQ_LOC_ZH_CN, "rp_col_category"));
    const char *head = strstr(txt, hk);
    cr_assert_not_null(head);
    head++;
    const char *eol = strchr(head, '\n');
    char *hl = strndup(head, (size_t)(eol - head));
    size_t w = report_display_width(hl);
    free(hl);
    const char *p = eol + 1;
    for (int i = 0; i < FQ_N_CATEGORIES; i++) {
        const char *e2 = strchr(p, '\n');
        char *ln = strndup(p, (size_t)(e2 - p));
        cr_assert_eq(report_display_width(ln), w, "line \"%s\" is not %zu columns wide", ln, w);
        free(ln);
        p = e2 + 1;
    }
    free(txt);

    char *csv = report_csv(r, lex);
    cr_assert_eq(memcmp(csv, "\xEF\xBB\xBF", 3), 0, "UTF-8 BOM");
    cr_assert_not_null(strstr(csv, "\r\n"));
    char want[64];
    snprintf(want, sizeof want, "%s,8\r\n", i18n_get(lex, FQ_LOC_ZH_CN, "rp_received"));
    cr_assert_not_null(strstr(csv, want), "no line %s", want);
    free(csv);
    report_monthly_free(r);
}

Test(report, ledger_and_xlsx)
{
    fixture();
    struct rp_ledger *l = NULL;
    cr_assert_eq(report_ledger(&ctx, S, E, &l), FQ_OK);
    cr_assert_eq(l->n, 8, "cases received in March: 1 2 3 4 5 6 10 12");
    const struct rp_ledger_row *x = &l->v[0];
    cr_assert_eq(x->received, S + D);
    cr_assert_eq(x->accepted, S + D + 2 * H);
    cr_assert_eq(x->closed, S + 3 * D);
    cr_assert_str_eq(x->parties, "王** 138****5678");
    cr_assert_str_eq(x->category, "邻里纠纷");
    cr_assert_str_eq(x->place, "枫源村第一网格");
    cr_assert_str_eq(x->mediator, "王建国");
    cr_assert_str_eq(x->survey, i18n_get(lex, FQ_LOC_ZH_CN, "sv_opt_1"));
    cr_assert_not_null(strstr(l->v[3].outcome, i18n_get(lex, FQ_LOC_ZH_CN, "med_reason_withdrawn")));
    cr_assert_eq(l->v[4].closed, 0, "case 5 is still open");

    char *csv = ledger_csv(l, lex);
    size_t lines = 0;
    for (const char *p = csv; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    cr_assert_eq(lines, 9, "header + 8 rows");
    free(csv);

    /* the workbook: title, period, then the header row; the data from row 4 */

    char path[512], script[1024];
    snprintf(path, sizeof path, "%s/ledger.xlsx", tmpdir);
    char *cause = NULL;
    cr_assert_eq(report_xlsx(NULL, l, lex, path, &cause), FQ_OK, "%s", cause ? cause : "");
    /* read back: row count, the header cells (shared strings), a real date in B2 */
    snprintf(script, sizeof script,
             "python3 -c 'import re,zipfile,sys\n"
             "z=zipfile.ZipFile(sys.argv[1])\n"
             "ss=re.findall(r\"<si><t[^>]*>([^<]*)</t></si>\",z.read(\"xl/sharedStrings.xml\").decode())\n"
             "s=z.read(\"xl/worksheets/sheet1.xml\").decode()\n"
             "rows=re.findall(r\"<row r=\\\"(\\d+)\\\"\",s)\n"
             "h=[ss[int(v)] for v in re.findall(r\"<c r=\\\"[A-Z]+3\\\"[^>]*t=\\\"s\\\"[^>]*><v>(\\d+)</v>\",s)]\n"
             "b2=re.search(r\"<c r=\\\"B4\\\"[^>]*><v>([0-9.]+)</v>\",s)\n"
             "print(len(rows));print(\"|\".join(h));print(b2.group(1) if b2 else \"none\");"
             "print(\"frozen\" if \"state=\\\"frozen\\\"\" in s else \"not\")' %s",
             path);
    FILE *pp = popen(script, "r");
    cr_assert_not_null(pp);
    char out[4096] = "";
    size_t got = fread(out, 1, sizeof out - 1, pp);
    out[got] = '\0';
    cr_assert_eq(pclose(pp), 0, "python3 failed: %s", out);
    char *nl1 = strchr(out, '\n');
    cr_assert_not_null(nl1);
    cr_assert_eq(atoi(out), 11, "rows (title, period, header, 8 cases): %s", out);
    char *nl2 = strchr(nl1 + 1, '\n');
    char *hdr = strndup(nl1 + 1, (size_t)(nl2 - nl1 - 1));
    char want[256];
    snprintf(want, sizeof want, "%s|%s|", i18n_get(lex, FQ_LOC_ZH_CN, "rp_l_case_no"),
             i18n_get(lex, FQ_LOC_ZH_CN, "rp_l_received"));
    cr_assert_eq(strncmp(hdr, want, strlen(want)), 0, "headers: %s", hdr);
    free(hdr);
    /* B4 is case 1's received date as an Excel serial: days since 1899-12-30, local time */
    double serial = atof(nl2 + 1);
    time_t t = (time_t)(S + D);
    struct tm tm;
    localtime_r(&t, &tm);
    double want_serial = (double)(timegm(&tm) / 86400) + 25569.0 +
                         (double)(timegm(&tm) % 86400) / 86400.0;
    cr_assert_float_eq(serial, want_serial, 1e-6, "B4 %f, want %f", serial, want_serial);
    cr_assert_not_null(strstr(nl2 + 1, "frozen"));
    report_ledger_free(l);
}

struct tcount {
    int n;
    struct fq_timer t;
};

static void pending_report(const struct fq_timer *t, void *arg)
{
    struct tcount *c = arg;
    if (strcmp(fq_timer_kind_name(t->kind), "report_monthly") == 0) {
        c->n++;
        c->t = *t;
        c->t.arg = NULL;
    }
}

Test(report, monthly_timer_sends_the_previous_month)
{
    fixture();
    ro->med[0].supervisor = true;   /* m-wang supervises his grid */
    cr_assert_eq(report_ensure_timer(&ctx), FQ_OK);
    cr_assert_eq(report_ensure_timer(&ctx), FQ_OK);
    struct tcount c = {0};
    cr_assert_eq(store_timer_due(st, INT64_MAX / 2, 100, pending_report, &c), FQ_OK);
    cr_assert_eq(c.n, 1, "one pending monthly timer, got %d", c.n);
    /* it fires on 1 April 2025: the report of March for the grid and for the root */
    int64_t s4, e4;
    report_month_bounds(2025, 4, &s4, &e4);
    struct fq_timer t = c.t;
    t.due_at = s4;
    cr_assert_eq(store_timer_fire(st, t.id, s4), FQ_OK);
    ctx.now = s4 + 5;
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(report_on_timer(&ctx, &t, &a), FQ_OK);
    int reports = 0, notes = 0;
    for (size_t i = 0; i < a.n; i++) {
        if (a.v[i].kind == FQ_ACT_REPORT) {
            reports++;
            cr_assert_str_eq(a.v[i].text, "2025-03");
            cr_assert(strcmp(a.v[i].target, "county-zj") == 0 ||
                      strcmp(a.v[i].target, "grid-fy-01") == 0, "%s", a.v[i].target);
        } else if (a.v[i].kind == FQ_ACT_NOTIFY) {
            notes++;
            cr_assert_str_eq(a.v[i].target, "m-wang");
            /* grid-fy-01 in March: received 4 resolved 3 (cases 1 2 5 10; 1 2 8) */
            cr_assert_not_null(strstr(a.v[i].text, "4"), "%s", a.v[i].text);
        }
    }
    cr_assert_eq(reports, 2);
    cr_assert_eq(notes, 1);
    actions_cleanup(&a);
    struct tcount c2 = {0};
    store_timer_due(st, INT64_MAX / 2, 100, pending_report, &c2);
    cr_assert_eq(c2.n, 1, "the next month's timer");
    cr_assert_eq(c2.t.due_at, e4, "due on 1 May");
    /* a stray timer (not the one remembered) does nothing */
    t.id = c2.t.id + 1000;
    actions_init(&a);
    cr_assert_eq(report_on_timer(&ctx, &t, &a), FQ_OK);
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
}

Test(report, monthly_timer_at_local_midnight_of_the_first)
{
    /* the environment says UTC; server.timezone (Asia/Shanghai) decides */
    setenv("TZ", "UTC", 1);
    cr_assert_eq(fq_tz_use("Asia/Shanghai"), FQ_OK);
    fixture();
    ro->med[0].supervisor = true;
    ctx.now = 1792022400;   /* 2026-10-15T00:00Z */
    cr_assert_eq(report_ensure_timer(&ctx), FQ_OK);
    struct tcount c = {0};
    cr_assert_eq(store_timer_due(st, INT64_MAX / 2, 100, pending_report, &c), FQ_OK);
    cr_assert_eq(c.n, 1);
    cr_assert_eq(c.t.due_at, 1793462400, "due 2026-11-01 00:00 +08:00 (2026-10-31T16:00Z), "
                 "got %lld", (long long)c.t.due_at);
    struct fq_timer t = c.t;
    cr_assert_eq(store_timer_fire(st, t.id, t.due_at), FQ_OK);
    ctx.now = t.due_at + 5;
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(report_on_timer(&ctx, &t, &a), FQ_OK);
    size_t reports = 0;
    for (size_t i = 0; i < a.n; i++)
        if (a.v[i].kind == FQ_ACT_REPORT) {
            reports++;
            cr_expect_str_eq(a.v[i].text, "2026-10", "the month that just ended locally");
        }
    cr_expect_gt(reports, 0);
    actions_cleanup(&a);
    struct tcount c2 = {0};
    store_timer_due(st, INT64_MAX / 2, 100, pending_report, &c2);
    cr_expect_eq(c2.t.due_at, 1796054400, "next: 2026-12-01 00:00 +08:00");
}

/* The ledger's 纠纷简要情况 is the resident's account with long digit runs masked; 调解结果/协议
 * is the note of the latest resolution or closing, none for a case not finished or reopened. */
Test(report, ledger_description_and_agreement)
{
    fixture();
    cr_assert_eq(store_case_event_add(st, ids[1], "resolved", "m-wang", "first try", NULL,
                                      S + 2 * D), FQ_OK);
    cr_assert_eq(store_case_event_add(st, ids[1], "resolved", "m-wang", "双方达成协议：三日内清理",
                                      NULL, S + 3 * D), FQ_OK);
    cr_assert_eq(store_case_event_add(st, ids[3], "closed", "m-wang", "当事人起诉", NULL,
                                      S + 5 * D), FQ_OK);
    cr_assert_eq(store_case_event_add(st, ids[6], "resolved", "m-wang", "reopened since", NULL,
                                      S + 6 * D + 4 * H), FQ_OK);
    struct rp_ledger *l = NULL;
    cr_assert_eq(report_ledger(&ctx, S, E, &l), FQ_OK);
    cr_assert_str_eq(l->v[0].description, "楼道堆放杂物，电话138****5678，身份证330**********1123X");
    cr_assert_str_eq(l->v[0].agreement, "双方达成协议：三日内清理");
    cr_assert_str_eq(l->v[2].agreement, "当事人起诉");
    cr_assert_str_eq(l->v[3].agreement, "", "closed without a note");
    cr_assert_str_eq(l->v[5].agreement, "", "case 6 is in progress: no outcome yet");
    cr_assert_str_eq(l->v[1].description, "");
    char *csv = ledger_csv(l, lex);
    cr_assert_not_null(strstr(csv, i18n_get(lex, FQ_LOC_ZH_CN, "rp_l_description")));
    cr_assert_not_null(strstr(csv, i18n_get(lex, FQ_LOC_ZH_CN, "rp_l_agreement")));
    cr_assert_not_null(strstr(csv, ",双方达成协议：三日内清理,"));
    cr_assert_null(strstr(csv, "13812345678"), "an unmasked phone number in the ledger");
    free(csv);
    report_ledger_free(l);
}

/* docs/contract.md 8.4: exported CSV cells never begin with = + - @, a tab or CR unless neutralised
 * (a single quote in front, quoted), in the ledger and in the monthly report alike. */
Test(report, csv_cells_never_start_a_formula)
{
    static const char *const evil[] = {"=HYPERLINK(\"http://x\",\"y\")", "+1", "-2+3", "@SUM(A1)",
                                       "\tx", "\rx", "=1+1"};
    const size_t n = sizeof evil / sizeof evil[0];
    struct rp_ledger l = {.v = calloc(n, sizeof(struct rp_ledger_row)), .n = n};
    cr_assert_not_null(l.v);
    for (size_t i = 0; i < n; i++) {
        struct rp_ledger_row *x = &l.v[i];
        snprintf(x->case_no, sizeof x->case_no, "FQ20250301-%04zu", i + 1);
        x->parties = strdup(evil[i]);
        x->description = strdup(evil[(i + 1) % n]);
        x->agreement = strdup(evil[(i + 2) % n]);
        x->category = strdup("");
        x->place = strdup("-");
        x->severity = strdup("");
        x->mediator = strdup("@m");
        x->outcome = strdup("");
        x->survey = strdup("");
    }
    char *csv = ledger_csv(&l, lex);
    cr_assert_not_null(csv);
    for (size_t i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, ",\"'%.10s", evil[i]);
        cr_assert_not_null(strstr(csv, want), "no neutralised cell for %s in:\n%s", evil[i], csv);
    }
    cr_assert_not_null(strstr(csv, ",\"'-\","));
    cr_assert_not_null(strstr(csv, ",\"'@m\","));
    /* after a separator or a line start, no cell opens with a formula character */
    for (const char *p = csv; *p; p++)
        if (p == csv || p[-1] == ',' || p[-1] == '\n')
            cr_assert(!strchr("=+-@\t", *p), "a cell begins with %c at: %.40s", *p, p);
    free(csv);
    /* the fields are owned by l */
    for (size_t i = 0; i < n; i++) {
        struct rp_ledger_row *x = &l.v[i];
        free(x->parties), free(x->description), free(x->agreement), free(x->category);
        free(x->place), free(x->severity), free(x->mediator), free(x->outcome), free(x->survey);
    }
    free(l.v);

    /* the monthly report: an org node named like a formula */
    fixture();
    free(ro->org[4].name);
    ro->org[4].name = strdup("=cmd|' /C calc'!A0");
    struct rp_monthly *r = NULL;
    cr_assert_eq(report_monthly(&ctx, 2025, 3, NULL, &r), FQ_OK);
    char *mc = report_csv(r, lex);
    cr_assert_not_null(strstr(mc, "\r\n\"'=cmd|' /C calc'!A0\","), "%s", mc);
    for (const char *p = mc; *p; p++)
        if (p == mc || p[-1] == ',' || p[-1] == '\n')
            cr_assert(!strchr("=+-@\t", *p), "a cell begins with %c at: %.40s", *p, p);
    free(mc);
    report_monthly_free(r);
}

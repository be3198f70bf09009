/* test_stats.c: the workbench's statistics (handlers/stats.c, store/stats_query.c) on a real
 * SQLite file. A store of several hundred cases of varied shape (every status, close reasons,
 * places inside, outside and missing from the roster, deadlines, reopenings, escalations,
 * surveys) spread over seven months is written with the store's own functions from a seeded
 * generator; then, for every month and every scope, each figure of stats_month must equal
 * report_monthly's (the CLI's `report monthly`), and the trend and medians must equal what the
 * test works out itself from the rows it wrote. Then the 督办 list and the 督办 note. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fq.h"
#include "common/localtime.h"
#include "common/status.h"
#include "handlers/actions.h"
#include "handlers/report.h"
#include "handlers/stats.h"
#include "store/case_table.h"
#include "store/surveys.h"
#include "store/store.h"
#include "helpers/world.h"

#define H 3600
#define D 86400
#define N_CASES 600

static struct world w;

/* what the test wrote, to work the trend and medians out on its own */
struct wrote {
    int64_t created, accepted, resolved, due_accept, due_resolve;
    const char *status, *place, *org;
    char case_no[24];
    bool mediator;
};
static struct wrote cases[N_CASES];
static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int64_t pick(int64_t lo, int64_t hi) { return lo + (int64_t)(next() % (uint64_t)(hi - lo)); }

static const char *places[] = {"grid-fy-01", "vil-fy", "vil-b", "grid-b-01", "town-fq",
                               "county-zj", "nowhere", NULL};
static const char *statuses[] = {"unassigned", "assigned", "accepted", "in_progress",
                                 "resolved", "closed", "cancelled", "reopened"};
static const char *channels[] = {"web", "gw", "wecom"};
static const char *cats[] = {"neighbour", "family", "wage", "land", "debt", "zzz-unknown"};
static const char *reasons[] = {"litigation", "withdrawn", "other", NULL};

static int64_t T0, T_END;   /* 2025-01 .. 2025-07 local */

static void fill(void)
{
    int64_t s, e;
    report_month_bounds(2025, 1, &T0, &e);
    report_month_bounds(2025, 7, &s, &T_END);
    for (int i = 0; i < N_CASES; i++) {
        struct fq_case k;
        memset(&k, 0, sizeof k);
        char user[16];
        snprintf(user, sizeof user, "r%d", i);
        k.channel = strdup(channels[next() % 3]);
        k.user = strdup(user);
        snprintf(k.category, sizeof k.category, "%s", cats[next() % 6]);
        k.severity = (int)(next() % 4);
        const char *place = places[next() % 8];
        const char *org = next() % 5 ? place : places[next() % 7];
        k.place_org = place ? strdup(place) : NULL;
        k.org_id = org ? strdup(org) : NULL;
        k.mediator_id = next() % 6 ? strdup("m-wang") : NULL;
        const char *status = statuses[next() % 8];
        k.status = fq_case_status_parse(status);
        k.created_at = k.assigned_at = pick(T0, T_END);
        if (next() % 3)
            k.accepted_at = k.created_at + pick(0, 4 * D);
        if (strcmp(status, "resolved") == 0)
            k.resolved_at = k.created_at + pick(-H, 40 * D);   /* a few before creation: clamped */
        else if (next() % 7 == 0)
            k.resolved_at = k.created_at + pick(D, 20 * D);    /* resolved once, reopened since */
        if (strcmp(status, "closed") == 0) {
            k.closed_at = k.created_at + pick(H, 30 * D);
            const char *r = reasons[next() % 4];
            k.close_reason = r ? strdup(r) : NULL;
        }
        if (next() % 2)
            k.due_resolve = k.created_at + pick(D, 30 * D);
        if (next() % 2)
            k.due_accept = k.created_at + pick(H, 3 * D);
        int64_t last = k.created_at;
        if (k.accepted_at > last)
            last = k.accepted_at;
        if (k.resolved_at > last)
            last = k.resolved_at;
        if (k.closed_at > last)
            last = k.closed_at;
        k.updated_at = last + (next() % 4 == 0 ? pick(0, 20 * D) : 0);
        k.parent_case = i > 10 && next() % 9 == 0 ? (int64_t)(next() % (uint64_t)i) + 1 : 0;
        cr_assert_eq(store_case_insert(w.st, &k), FQ_OK, "case %d", i);
        cases[i] = (struct wrote){.created = k.created_at, .accepted = k.accepted_at,
                                  .resolved = strcmp(status, "resolved") == 0 ? k.resolved_at : 0,
                                  .status = status, .place = place, .org = org,
                                  .due_accept = k.due_accept, .due_resolve = k.due_resolve,
                                  .mediator = k.mediator_id != NULL};
        snprintf(cases[i].case_no, sizeof cases[i].case_no, "%s", k.case_no);
        /* events: escalations and reopenings between creation and the last update */
        int ne = (int)(next() % 3);
        for (int j = 0; j < ne; j++) {
            int64_t at = k.created_at + pick(0, k.updated_at - k.created_at + 1);
            cr_assert_eq(store_case_event_add(w.st, k.id, next() % 2 ? "escalated" : "reopened",
                                              "system", NULL, NULL, at),
                         FQ_OK);
        }
        if (next() % 3 == 0) {
            struct fq_survey v;
            memset(&v, 0, sizeof v);
            v.case_id = k.id;
            snprintf(v.kind, sizeof v.kind, "%s", next() % 4 ? "satisfaction" : "relapse");
            v.resolved_at = k.created_at + D;
            snprintf(v.via, sizeof v.via, "chat");
            bool answered = next() % 3 != 0;
            v.status = fq_survey_status_parse(answered ? "answered" : "no_response");
            v.answer = answered ? (int)(next() % 4) + 1 : 0;
            v.created_at = v.sent_at = k.created_at + D;
            v.closed_at = k.created_at + pick(D, 30 * D);
            v.answered_at = answered ? v.closed_at : 0;
            cr_assert_eq(store_survey_insert(w.st, &v), FQ_OK);
        }
        case_cleanup(&k);
    }
}

static void setup(void)
{
    world_open(&w, "stats");
    world_add_org(&w, "vil-b", "栎桥村", FQ_LEVEL_VILLAGE, "town-fq");
    world_add_org(&w, "grid-b-01", "栎桥村第一网格", FQ_LEVEL_GRID, "vil-b");
    world_add_med(&w, "m-wang", "王建国", "grid_worker", "grid-fy-01", "*", true, false);
    world_add_med(&w, "m-li", "李春燕", "town_mediator", "town-fq", "*", true, true);
    world_ready(&w);
    int64_t s, e;
    report_month_bounds(2025, 5, &s, &e);
    w.ctx.now = s + 12 * D + 5 * H;   /* inside May 2025: May's overdue counts up to now */
    fill();
}

static void teardown(void) { world_close(&w); }

TestSuite(stats, .init = setup, .fini = teardown);

static const struct rp_row *row_of(const struct rp_rows *rs, const char *key)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->v[i].key, key) == 0)
            return &rs->v[i];
    return NULL;
}

static void same_counts(const struct rp_counts *a, const struct rp_counts *b, const char *what)
{
    cr_assert(a->received == b->received && a->resolved == b->resolved &&
                  a->unresolved == b->unresolved && a->withdrawn == b->withdrawn &&
                  a->open == b->open && a->overdue == b->overdue,
              "%s: stats %lld/%lld/%lld/%lld/%lld/%lld, report %lld/%lld/%lld/%lld/%lld/%lld",
              what, (long long)a->received, (long long)a->resolved, (long long)a->unresolved,
              (long long)a->withdrawn, (long long)a->open, (long long)a->overdue,
              (long long)b->received, (long long)b->resolved, (long long)b->unresolved,
              (long long)b->withdrawn, (long long)b->open, (long long)b->overdue);
}

static void same_rows(const struct rp_rows *a, const struct rp_rows *b, const char *what)
{
    cr_assert_eq(a->n, b->n, "%s: %zu rows, report %zu", what, a->n, b->n);
    for (size_t i = 0; i < b->n; i++) {
        const struct rp_row *x = row_of(a, b->v[i].key);
        cr_assert_not_null(x, "%s: no row %s", what, b->v[i].key);
        char label[96];
        snprintf(label, sizeof label, "%s %s", what, b->v[i].key);
        same_counts(&x->n, &b->v[i].n, label);
        cr_assert_eq(x->depth, b->v[i].depth);
    }
}

static int64_t total_nonzero;   /* figures compared that were not zero: the store is not empty */

static void compare(int y, int m, const char *org)
{
    struct rp_monthly *r = NULL;
    struct st_stats *s = NULL;
    cr_assert_eq(report_monthly(&w.ctx, y, m, org, &r), FQ_OK);
    cr_assert_eq(stats_month(&w.ctx, y, m, org, &s), FQ_OK);
    const struct rp_monthly *a = s->m;
    char what[64];
    snprintf(what, sizeof what, "%04d-%02d %s total", y, m, org ? org : "all");
    same_counts(&a->total, &r->total, what);
    same_rows(&a->by_category, &r->by_category, "by_category");
    same_rows(&a->by_severity, &r->by_severity, "by_severity");
    same_rows(&a->by_org, &r->by_org, "by_org");
    same_rows(&a->by_channel, &r->by_channel, "by_channel");
    for (size_t i = 0; i < r->by_channel.n; i++)   /* and in the same order */
        cr_assert_str_eq(a->by_channel.v[i].key, r->by_channel.v[i].key);
    cr_assert(a->success_rate == r->success_rate && a->satisfaction_rate == r->satisfaction_rate &&
                  a->response_rate == r->response_rate,
              "%s rates: %f %f %f vs %f %f %f", what, a->success_rate, a->satisfaction_rate,
              a->response_rate, r->success_rate, r->satisfaction_rate, r->response_rate);
    cr_assert(a->surveys_answered == r->surveys_answered &&
                  a->surveys_satisfied == r->surveys_satisfied &&
                  a->surveys_no_response == r->surveys_no_response,
              "%s surveys", what);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(a->answers[i], r->answers[i], "%s answer %d", what, i);
    cr_assert(a->to_accept.count == r->to_accept.count &&
                  a->to_accept.mean_s == r->to_accept.mean_s &&
                  a->to_accept.p90_s == r->to_accept.p90_s,
              "%s to_accept: %lld %f %lld vs %lld %f %lld", what, (long long)a->to_accept.count,
              a->to_accept.mean_s, (long long)a->to_accept.p90_s, (long long)r->to_accept.count,
              r->to_accept.mean_s, (long long)r->to_accept.p90_s);
    cr_assert(a->to_resolve.count == r->to_resolve.count &&
                  a->to_resolve.mean_s == r->to_resolve.mean_s &&
                  a->to_resolve.p90_s == r->to_resolve.p90_s,
              "%s to_resolve", what);
    cr_assert(a->escalations == r->escalations && a->reopened == r->reopened &&
                  a->relapses == r->relapses,
              "%s events: %lld %lld %lld vs %lld %lld %lld", what, (long long)a->escalations,
              (long long)a->reopened, (long long)a->relapses, (long long)r->escalations,
              (long long)r->reopened, (long long)r->relapses);
    /* the last month of the trend is this month: the report's received and resolved */
    const struct st_trend *t = &s->trend[STATS_TREND_MONTHS - 1];
    cr_assert(t->year == y && t->month == m && t->received == r->total.received &&
                  t->resolved == r->total.resolved,
              "%s trend's last month", what);
    total_nonzero += r->total.received + r->total.resolved + r->total.unresolved +
                     r->total.withdrawn + r->total.open + r->total.overdue + r->escalations +
                     r->reopened + r->surveys_answered + r->surveys_no_response;
    report_monthly_free(r);
    stats_free(s);
}

Test(stats, every_figure_equals_the_monthly_report)
{
    const char *scopes[] = {NULL, "county-zj", "town-fq", "vil-fy", "vil-b", "grid-fy-01"};
    for (int m = 1; m <= 8; m++)
        for (size_t i = 0; i < sizeof scopes / sizeof *scopes; i++)
            compare(2025, m, scopes[i]);
    compare(2024, 12, NULL);   /* before the first case: a report of zeros */
    cr_assert_gt(total_nonzero, 1000, "the store gave too few figures to compare");
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

Test(stats, the_trend_and_medians_are_what_was_written)
{
    struct st_stats *s = NULL;
    cr_assert_eq(stats_month(&w.ctx, 2025, 6, "town-fq", &s), FQ_OK);
    /* town-fq's subtree: the case's place when the roster has it, else its handling node */
    const char *sub[] = {"town-fq", "vil-fy", "grid-fy-01", "vil-b", "grid-b-01"};
    int64_t acc[N_CASES], res[N_CASES];
    size_t na = 0, nr = 0;
    int64_t ms, me;
    report_month_bounds(2025, 6, &ms, &me);
    for (int k = 0; k < STATS_TREND_MONTHS; k++) {
        const struct st_trend *t = &s->trend[k];
        int64_t a, b;
        report_month_bounds(t->year, t->month, &a, &b);
        int64_t rec = 0, rsv = 0;
        for (int i = 0; i < N_CASES; i++) {
            const char *node = NULL;
            for (size_t j = 0; j < 7 && !node; j++)
                if (cases[i].place && strcmp(cases[i].place, places[j]) == 0 && j != 6)
                    node = cases[i].place;
            if (!node)
                node = cases[i].org && strcmp(cases[i].org, "nowhere") ? cases[i].org : NULL;
            bool in = false;
            for (size_t j = 0; j < 5 && node; j++)
                in |= strcmp(node, sub[j]) == 0;
            if (!in)
                continue;
            rec += cases[i].created >= a && cases[i].created < b;
            rsv += cases[i].resolved >= a && cases[i].resolved < b && cases[i].resolved > 0;
            if (k == STATS_TREND_MONTHS - 1) {
                if (cases[i].accepted >= ms && cases[i].accepted < me && cases[i].accepted > 0)
                    acc[na++] = cases[i].accepted - cases[i].created;
                if (cases[i].resolved >= ms && cases[i].resolved < me && cases[i].resolved > 0) {
                    int64_t d = cases[i].resolved - cases[i].created;
                    res[nr++] = d < 0 ? 0 : d;
                }
            }
        }
        cr_assert(t->received == rec && t->resolved == rsv,
                  "%04d-%02d: received %lld resolved %lld, written %lld %lld", t->year, t->month,
                  (long long)t->received, (long long)t->resolved, (long long)rec, (long long)rsv);
    }
    cr_assert_eq(s->trend[0].year, 2024);
    cr_assert_eq(s->trend[0].month, 7);
    cr_assert(na > 2 && nr > 2, "too few durations to check (%zu, %zu)", na, nr);
    qsort(acc, na, sizeof *acc, cmp64);
    qsort(res, nr, sizeof *res, cmp64);
    double ma = na % 2 ? (double)acc[na / 2] : (acc[na / 2 - 1] + acc[na / 2]) / 2.0;
    double mr = nr % 2 ? (double)res[nr / 2] : (res[nr / 2 - 1] + res[nr / 2]) / 2.0;
    cr_assert(s->accept_median_s == ma, "accept median %f, want %f", s->accept_median_s, ma);
    cr_assert(s->resolve_median_s == mr, "resolve median %f, want %f", s->resolve_median_s, mr);
    stats_free(s);
}

Test(stats, unknown_scope_is_not_found)
{
    struct st_stats *s = NULL;
    cr_assert_eq(stats_month(&w.ctx, 2025, 6, "nowhere", &s), FQ_ENOTFOUND);
    cr_assert_null(s);
}

Test(stats, the_late_list_holds_the_subtrees_late_cases_with_what_was_sent)
{
    struct st_late *v = NULL;
    size_t n = 0;
    cr_assert_eq(stats_late(&w.ctx, "vil-fy", 6 * H, 500, &v, &n), FQ_OK);
    cr_assert_gt(n, 0);
    int64_t before = w.ctx.now + 6 * H;
    for (size_t i = 0; i < n; i++) {
        const struct st_late *l = &v[i];
        cr_assert(!fq_case_status_finished((int)l->k.status), "%s is finished", l->k.case_no);
        cr_assert(l->due > 0 && l->due < before, "%s due %lld", l->k.case_no, (long long)l->due);
        cr_assert_eq(l->past, l->due <= w.ctx.now);
        cr_assert(l->node >= 0 && roster_org_is_ancestor(w.ro, roster_org_index(w.ro, "vil-fy"),
                                                         l->node),
                  "%s is outside vil-fy", l->k.case_no);
        if (i && v[i - 1].k.mediator_id && l->k.mediator_id &&
            strcmp(v[i - 1].k.mediator_id, l->k.mediator_id) == 0)
            cr_assert_geq(l->due, v[i - 1].due, "not by deadline within a mediator");
        if (i)
            cr_assert(!(v[i - 1].k.mediator_id == NULL && l->k.mediator_id),
                      "unassigned cases come last");
    }
    /* every late case of the subtree is listed: counted from what was written */
    size_t want = 0;
    for (int i = 0; i < N_CASES; i++) {
        const struct wrote *c = &cases[i];
        const char *st = c->status;
        if (!strcmp(st, "resolved") || !strcmp(st, "closed") || !strcmp(st, "cancelled"))
            continue;
        const char *node = c->place && strcmp(c->place, "nowhere") ? c->place : c->org;
        if (!node || (strcmp(node, "vil-fy") && strcmp(node, "grid-fy-01")))
            continue;
        bool waits = !strcmp(st, "assigned") || !strcmp(st, "reopened");
        int64_t due = waits && c->due_accept > 0 &&
                              (c->due_resolve == 0 || c->due_accept < c->due_resolve)
                          ? c->due_accept
                          : c->due_resolve;
        want += due > 0 && due < before;
    }
    cr_assert_eq(n, want, "listed %zu late cases, %zu written", n, want);
    stats_late_free(v, n);
}

/* A late case of m-wang's with a reminder and a 督办 already in its history. */
static const char *late_case(void)
{
    for (int i = 0; i < N_CASES; i++) {
        const struct wrote *c = &cases[i];
        if (c->mediator && !strcmp(c->status, "in_progress") && c->place &&
            !strcmp(c->place, "grid-fy-01") && c->due_resolve > 0 &&
            c->due_resolve < w.ctx.now)
            return c->case_no;
    }
    cr_assert_fail("no late case in the store");
    return NULL;
}

Test(stats, the_late_list_shows_reminders_and_notes_already_sent)
{
    const char *no = late_case();
    struct fq_case k;
    cr_assert_eq(store_case_get(w.st, no, &k), FQ_OK);
    cr_assert_eq(store_case_event_add(w.st, k.id, "reminder", "system", NULL,
                                      "{\"kind\":\"supervise\",\"reassigned\":false}",
                                      w.ctx.now - H),
                 FQ_OK);
    cr_assert_eq(store_case_event_add(w.st, k.id, "progress", "m-wang", "在谈", NULL,
                                      w.ctx.now - H),
                 FQ_OK);
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(stats_supervise(&w.ctx, "vil-fy", no, "office-fq", "请本周内结案", &a), FQ_OK);
    /* the event on the case, the assignment message and the text for the mediator */
    bool ev = false, as = false, nt = false;
    for (size_t i = 0; i < a.n; i++) {
        const struct fq_action *x = &a.v[i];
        ev |= x->kind == FQ_ACT_EVENT && !strcmp(x->type, "supervised") &&
              !strcmp(x->target, "office-fq") && !strcmp(x->text, "请本周内结案");
        as |= x->kind == FQ_ACT_ASSIGN && !strcmp(x->type, "supervise") &&
              !strcmp(x->target, "m-wang") && !strcmp(x->text, "请本周内结案");
        nt |= x->kind == FQ_ACT_NOTIFY && !strcmp(x->target, "m-wang") && strstr(x->text, no) &&
              strstr(x->text, "请本周内结案");
    }
    cr_assert(ev && as && nt, "event %d assignment %d notify %d", ev, as, nt);
    cr_assert_eq(a.answer.status, 200);
    actions_cleanup(&a);

    struct st_late *v = NULL;
    size_t n = 0;
    cr_assert_eq(stats_late(&w.ctx, "grid-fy-01", 0, 500, &v, &n), FQ_OK);
    const struct st_late *l = NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].k.case_no, no))
            l = &v[i];
    cr_assert_not_null(l, "%s is not listed", no);
    cr_assert(l->past && !l->accept);
    cr_assert_eq(l->n_sent, 2, "sent: %zu (progress is not something sent)", l->n_sent);
    cr_assert_str_eq(l->sent[0].type, "reminder");
    cr_assert_str_eq(l->sent[0].kind, "supervise");
    cr_assert_str_eq(l->sent[1].type, "supervised");
    cr_assert_str_eq(l->sent[1].actor, "office-fq");
    cr_assert_str_eq(l->sent[1].note, "请本周内结案");
    stats_late_free(v, n);
    case_cleanup(&k);
}

Test(stats, a_note_outside_the_scope_or_on_a_finished_case_is_refused)
{
    const char *no = late_case();
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(stats_supervise(&w.ctx, "vil-b", no, "office-b", "x", &a), FQ_ENOTFOUND);
    cr_assert_eq(stats_supervise(&w.ctx, NULL, "NO-SUCH", "office", "x", &a), FQ_ENOTFOUND);
    cr_assert_eq(stats_supervise(&w.ctx, NULL, no, "office", "", &a), FQ_EINVAL);
    char big[STATS_NOTE_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(stats_supervise(&w.ctx, NULL, no, "office", big, &a), FQ_EINVAL);
    for (int i = 0; i < N_CASES; i++)
        if (!strcmp(cases[i].status, "resolved")) {
            cr_assert_eq(stats_supervise(&w.ctx, NULL, cases[i].case_no, "office", "x", &a),
                         FQ_EINVAL);
            break;
        }
    cr_assert_eq(a.n, 0, "a refused note made actions");
    actions_cleanup(&a);
}

Test(stats, the_ledger_of_a_subtree_holds_its_cases_only)
{
    int64_t from, to, s2, e2;
    report_month_bounds(2025, 2, &from, &e2);
    report_month_bounds(2025, 4, &s2, &to);
    struct rp_ledger *l = NULL;
    cr_assert_eq(report_ledger_in(&w.ctx, from, to, "vil-b", &l), FQ_OK);
    size_t want = 0;
    for (int i = 0; i < N_CASES; i++) {
        const struct wrote *c = &cases[i];
        const char *node = c->place && strcmp(c->place, "nowhere") ? c->place : c->org;
        if (node && (!strcmp(node, "vil-b") || !strcmp(node, "grid-b-01")) &&
            c->created >= from && c->created < to) {
            want++;
            bool listed = false;
            for (size_t j = 0; j < l->n; j++)
                listed |= !strcmp(l->v[j].case_no, c->case_no);
            cr_assert(listed, "%s is missing from vil-b's ledger", c->case_no);
        }
    }
    cr_assert_gt(want, 5);
    cr_assert_eq(l->n, want, "vil-b's ledger has %zu rows, %zu cases written", l->n, want);
    report_ledger_free(l);
    struct rp_ledger *all = NULL;
    cr_assert_eq(report_ledger_in(&w.ctx, from, to, NULL, &all), FQ_OK);
    cr_assert_gt(all->n, want);
    report_ledger_free(all);
    cr_assert_eq(report_ledger_in(&w.ctx, from, to, "nowhere", &l), FQ_ENOTFOUND);
}

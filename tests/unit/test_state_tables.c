/* test_state_tables.c: the tables that drive the state machines and the one helper each shared rule
 * has: the case transition table (handlers/lifecycle.c) is the only way a status changes, the
 * command table names every command and its locale entries, every timer kind has a fire
 * function and a metric label (handlers/timers.c), deadlines come from sla_due (common/sla.c)
 * and the choice by load from route_least_loaded (handlers/route.c). */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "bot/sys/metrics.h"

#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "common/sla.h"
#include "common/status.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"
#include "handlers/lifecycle.h"
#include "handlers/route.h"
#include "handlers/survey.h"
#include "handlers/timers.h"
#include "store/case_table.h"
#include "store/store.h"
#include "store/timer_table.h"
#include "tests/unit/helpers/world.h"

static struct world w;
static struct fq_ctx ctx;
static int M_WANG, M_SUN, M_CHEN, M_LI;

static void setup(void)
{
    world_open(&w, "lc");
    M_WANG = world_add_med(&w, "m-wang", "王建国", "grid_worker", "grid-fy-01", "*", true, false);
    M_SUN = world_add_med(&w, "m-sun", "孙小梅", "grid_worker", "grid-fy-01", "*", true, false);
    M_CHEN =
        world_add_med(&w, "m-chen", "陈秀英", "village_mediator", "vil-fy", "*", true, false);
    M_LI = world_add_med(&w, "m-li", "李司法", "town_mediator", "town-fq", "*", true, false);
    world_ready(&w);
    ctx = w.ctx;
}

static void teardown(void) { world_close(&w); }

TestSuite(lifecycle, .init = setup, .fini = teardown);

/* ---- the transition table ------------------------------------------------------------------ */
Test(lifecycle, enter_follows_every_row_and_nothing_else)
{
    size_t rows = 0;
    for (int s = 0; s < FQ_CASE__COUNT; s++)
        for (int cmd = 0; cmd < LC__CMD_COUNT; cmd++) {
            const struct lc_transition *row =
                lifecycle_find((enum fq_case_status)s, (enum lc_cmd)cmd);
            struct fq_case k = {.status = (enum fq_case_status)s};
            const struct lc_transition *got = lifecycle_enter(&k, (enum lc_cmd)cmd);
            cr_assert_eq(got, row, "%s × %s", fq_case_status_name(s), lifecycle_cmd_name(cmd));
            if (row) {
                rows++;
                cr_assert_eq(row->status, (enum fq_case_status)s);
                cr_assert_eq(row->cmd, (enum lc_cmd)cmd);
                cr_assert_eq(k.status, row->next, "%s × %s", fq_case_status_name(s),
                             lifecycle_cmd_name(cmd));
                cr_assert_not_null(row->event);
                cr_assert_gt(strlen(row->event), 0);
            } else {
                cr_assert_eq(k.status, (enum fq_case_status)s, "%s × %s changed the status",
                             fq_case_status_name(s), lifecycle_cmd_name(cmd));
            }
        }
    cr_assert_eq(rows, lifecycle_table_len, "a row is duplicated or out of range");
    /* out of range: no row, no change */
    struct fq_case k = {.status = FQ_CASE__COUNT};
    cr_assert_null(lifecycle_enter(&k, LC_ACCEPT));
    cr_assert_eq(k.status, FQ_CASE__COUNT);
    k.status = FQ_CASE_ASSIGNED;
    cr_assert_null(lifecycle_enter(&k, LC__CMD_COUNT));
    cr_assert_eq(k.status, FQ_CASE_ASSIGNED);
}

Test(lifecycle, finished_cases_take_no_system_move)
{
    static const enum fq_case_status finished[] = {FQ_CASE_RESOLVED, FQ_CASE_CLOSED,
                                                   FQ_CASE_CANCELLED};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_null(lifecycle_find(finished[i], LC_REROUTE), "%s",
                       fq_case_status_name(finished[i]));
        cr_assert_null(lifecycle_find(finished[i], LC_ASSIGN), "%s",
                       fq_case_status_name(finished[i]));
    }
    cr_assert_not_null(lifecycle_find(FQ_CASE_UNASSIGNED, LC_ASSIGN));
}

/* A status change the table does not have cannot be made through the API: routing a closed case
 * to another node is refused and writes nothing (it used to reopen it as "assigned"). */
Test(lifecycle, reassigning_a_closed_case_is_refused)
{
    struct fq_case k;
    world_open_case(&w, &ctx, "web", &k);
    k.status = FQ_CASE_CLOSED;
    cr_assert_eq(store_case_update(w.st, &k), FQ_OK);
    struct fq_actions a;
    actions_init(&a);
    int picked = 7;
    cr_assert_eq(case_reassign_at(&ctx, &k, roster_org_index(w.ro, "town-fq"), "system", NULL, &a,
                                  &picked),
                 FQ_EINVAL);
    cr_assert_eq(picked, -1);
    cr_assert_eq(a.n, 0);
    struct fq_case after;
    cr_assert_eq(store_case_get_id(w.st, k.id, &after), FQ_OK);
    cr_assert_eq(after.status, FQ_CASE_CLOSED);
    cr_assert_str_eq(after.mediator_id, "m-wang");
    cr_assert_eq(after.escalations, 0);
    actions_cleanup(&a);
    case_cleanup(&after);
    case_cleanup(&k);
}

Test(lifecycle, system_commands_are_not_a_mediators)
{
    struct fq_case k;
    world_open_case(&w, &ctx, "web", &k);
    static const enum lc_cmd sys[] = {LC_REOPEN, LC_ASSIGN, LC_REROUTE};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_not(lifecycle_commands[sys[i]].mediator);
        struct fq_actions a;
        actions_init(&a);
        struct lc_request rq = {.cmd = sys[i], .actor = M_WANG};
        struct lc_result res;
        cr_assert_eq(lifecycle_apply(&ctx, &k, &rq, &res, &a), FQ_OK);
        cr_assert_eq(res.refusal, LC_SYSTEM_ONLY, "%s", lifecycle_cmd_name(sys[i]));
        cr_assert_eq(a.n, 0);
        actions_cleanup(&a);
    }
    /* the rows case_open and case_reassign_at apply have no effect of their own to run */
    struct fq_actions a;
    actions_init(&a);
    struct lc_request rq = {.cmd = LC_ASSIGN, .actor = -1};
    struct lc_result res;
    cr_assert_eq(lifecycle_apply(&ctx, &k, &rq, &res, &a), FQ_EINVAL);
    cr_assert_eq(k.status, FQ_CASE_ASSIGNED);
    actions_cleanup(&a);
    case_cleanup(&k);
}

/* ---- the command table --------------------------------------------------------------------- */
Test(lifecycle, every_mediator_command_has_its_words_and_texts)
{
    for (int i = 0; i < LC__CMD_COUNT; i++) {
        const struct lc_command *cm = &lifecycle_commands[i];
        cr_assert_not_null(cm->name, "command %d has no name", i);
        cr_assert_eq(lifecycle_cmd_parse(cm->name), i, "%s", cm->name);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(lifecycle_commands[j].name, cm->name);
        if (!cm->mediator)
            continue;
        const struct fq_wordlist *wl = i18n_command_words(w.lex, cm->name);
        cr_assert_not_null(wl, "keywords.cmd_%s missing", cm->name);
        cr_assert_gt(wl->n, 0, "keywords.cmd_%s empty", cm->name);
        static const char *const prefixes[] = {"med_usage_", "med_cmd_"};
        for (int l = 0; l < FQ_N_LOCALES; l++)
            for (size_t p = 0; p < 2; p++) {
                char key[64];
                snprintf(key, sizeof key, "%s%s", prefixes[p], cm->name);
                cr_assert_str_neq(i18n_get(w.lex, l, key), key, "%s: %s missing",
                                  fq_locale_name(l), key);
            }
    }
    cr_assert_not_null(i18n_command_words(w.lex, "list"));
    cr_assert_null(i18n_command_words(w.lex, "no_such_command"));
    cr_assert_null(i18n_command_words(w.lex, NULL));
}

/* The catalogs' command word lists are checked against the table: a misspelt one is refused. */
Test(lifecycle, a_word_list_for_no_command_is_refused)
{
    char dir[] = "/tmp/fq-loc-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    static const char *const files[] = {"zh-CN.json", "zh-TW.json", "en.json"};
    for (size_t i = 0; i < 3; i++) {
        char src[256], dst[256];
        snprintf(src, sizeof src, "locales/%s", files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        json_t *j = json_load_file(src, 0, NULL);
        cr_assert_not_null(j, "%s", src);
        if (i == 0)
            json_object_set_new(json_object_get(j, "keywords"), "cmd_acept",
                                json_pack("[s]", "acept"));
        cr_assert_eq(json_dump_file(j, dst, 0), 0);
        json_decref(j);
    }
    struct fq_lexicon *lx = NULL;
    char *cause = NULL;
    cr_assert_eq(locale_load(dir, &lx, &cause), FQ_EINVAL);
    cr_assert_null(lx);
    cr_assert_not_null(cause);
    cr_assert_not_null(strstr(cause, "keywords.cmd_acept"), "%s", cause);
    free(cause);
    for (size_t i = 0; i < 3; i++) {
        char dst[256];
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        unlink(dst);
    }
    rmdir(dir);
}

/* ---- surveys ------------------------------------------------------------------------------ */
/* survey_enter moves a survey exactly along survey_table: from each status in a row's set to its
 * next status, from no other; a status this version does not know only to an answer or a
 * cancellation. */
Test(lifecycle, survey_enter_follows_its_table)
{
    static const enum fq_survey_status done[] = {FQ_SURVEY_ANSWERED, FQ_SURVEY_NO_RESPONSE};
    for (int e = 0; e < SV__EVENT_COUNT; e++) {
        cr_assert_eq(survey_table[e].event, (enum sv_event)e, "row %d", e);
        for (int st = 0; st <= FQ_SURVEY__COUNT; st++) {
            struct fq_survey v;
            memset(&v, 0, sizeof v);
            v.status = (enum fq_survey_status)st;
            bool in = survey_table[e].from & SV_IN(st);
            cr_assert_eq(survey_enter(&v, (enum sv_event)e), in, "event %d from %d", e, st);
            cr_assert_eq(v.status, in ? survey_table[e].next : (enum fq_survey_status)st);
        }
    }
    /* what the table says, spelt out once */
    struct fq_survey v;
    memset(&v, 0, sizeof v);
    v.status = FQ_SURVEY_SCHEDULED;
    cr_assert(!survey_enter(&v, SV_ASK), "a scheduled survey is sent before it is asked");
    cr_assert(survey_enter(&v, SV_QUEUE) && v.status == FQ_SURVEY_SENT);
    cr_assert(survey_enter(&v, SV_ASK) && v.status == FQ_SURVEY_ASKED);
    cr_assert(survey_enter(&v, SV_AWAIT_COMMENT) && v.status == FQ_SURVEY_COMMENT);
    cr_assert(!survey_enter(&v, SV_EXPIRE), "an answered survey does not expire");
    cr_assert(survey_enter(&v, SV_ANSWER) && v.status == FQ_SURVEY_ANSWERED);
    for (size_t i = 0; i < 2; i++) {
        v.status = done[i];
        cr_assert(!survey_enter(&v, SV_CANCEL), "%s cancelled", fq_survey_status_name(done[i]));
        cr_assert(!survey_enter(&v, SV_QUEUE));
    }
    v.status = FQ_SURVEY__COUNT;
    cr_assert(!survey_enter(&v, SV_QUEUE) && v.status == FQ_SURVEY__COUNT);
    cr_assert(survey_enter(&v, SV_CANCEL) && v.status == FQ_SURVEY_CANCELLED);
    cr_assert(!survey_enter(&v, SV__EVENT_COUNT));
}

/* ---- timer kinds --------------------------------------------------------------------------- */
Test(lifecycle, every_timer_kind_has_a_fire_function_and_a_metric)
{
    static const char *const labels[] = {"reminder", "escalation", "overdue", "survey",
                                         "survey_reminder", "relapse", "other"};
    for (int k = 0; k < FQ_TIMER__COUNT; k++) {
        cr_assert_eq(timers_kinds[k].kind, (enum fq_timer_kind)k, "row %d", k);
        cr_assert_not_null(timers_kinds[k].fire, "%s", fq_timer_kind_name(k));
        cr_assert_not_null(timers_kinds[k].metric, "%s", fq_timer_kind_name(k));
        bool known = false;
        for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
            known = known || strcmp(labels[i], timers_kinds[k].metric) == 0;
        cr_assert(known, "%s: label %s", fq_timer_kind_name(k), timers_kinds[k].metric);
        cr_assert_str_eq(timers_metric_label((enum fq_timer_kind)k), timers_kinds[k].metric);
    }
    cr_assert_str_eq(timers_metric_label(FQ_TIMER__COUNT), "other");
}

/* /metrics shows one fq_timers_fired_total line per label of the kinds table and one "other",
 * and a kind's timer counts under its table label. */
Test(lifecycle, timer_metric_labels_come_from_the_kinds_table)
{
    metrics_timer_fired(timers_metric_label(FQ_TIMER_RELAPSE_CHECK));
    char *text = metrics_render();
    cr_assert_not_null(text);
    size_t lines = 0;
    for (const char *p = text; (p = strstr(p, "fq_timers_fired_total{kind=\"")); p++)
        lines++;
    size_t distinct = 0;
    for (int k = 0; k < FQ_TIMER__COUNT; k++) {
        const char *m = timers_kinds[k].metric;
        bool first = strcmp(m, "other") != 0;
        for (int j = 0; j < k && first; j++)
            first = strcmp(timers_kinds[j].metric, m) != 0;
        distinct += first;
        char want[96];
        snprintf(want, sizeof want, "fq_timers_fired_total{kind=\"%s\"} ", m);
        cr_assert_not_null(strstr(text, want), "%s missing", want);
    }
    cr_assert_eq(lines, distinct + 1, "%zu lines for %zu labels and other", lines, distinct);
    char want[96];
    snprintf(want, sizeof want, "fq_timers_fired_total{kind=\"%s\"} 1\n",
             timers_metric_label(FQ_TIMER_RELAPSE_CHECK));
    cr_assert_not_null(strstr(text, want), "%s", text);
    free(text);
}

Test(lifecycle, a_timer_of_unknown_kind_is_consumed_without_effect)
{
    struct fq_case k;
    world_open_case(&w, &ctx, "web", &k);
    struct fq_timer t = {.id = 1, .due_at = ctx.now, .kind = FQ_TIMER__COUNT, .case_id = k.id};
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(timers_fire(&ctx, &t, &a), FQ_OK);
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    /* and the store neither writes nor cancels a kind out of range */
    cr_assert_eq(store_timer_add(w.st, ctx.now, FQ_TIMER__COUNT, k.id, NULL, NULL), FQ_EINVAL);
    cr_assert_eq(store_timer_cancel(w.st, k.id, FQ_TIMER__COUNT), FQ_EINVAL);
    case_cleanup(&k);
}

/* ---- deadlines ----------------------------------------------------------------------------- */
Test(lifecycle, deadlines_come_from_one_helper)
{
    struct fq_config c;
    memset(&c, 0, sizeof c);
    c.sla_accept[FQ_SEV_BLUE] = 3600;
    c.sla_accept[FQ_SEV_RED] = 1;
    c.sla_resolve[FQ_SEV_BLUE] = 7 * 86400;
    c.sla_resolve[FQ_SEV_YELLOW] = 15 * 86400;
    int64_t t0 = 1800000000;
    cr_assert_eq(sla_due(&c, SLA_ACCEPT, FQ_SEV_BLUE, t0), t0 + 3600);
    cr_assert_eq(sla_due(&c, SLA_SUPERVISE, FQ_SEV_BLUE, t0), t0 + 7200);
    cr_assert_eq(sla_due(&c, SLA_RESOLVE, FQ_SEV_YELLOW, t0), t0 + 15 * 86400);
    cr_assert_eq(sla_due(&c, SLA_OVERDUE_NEXT, FQ_SEV_BLUE, t0), t0 + 86400);
    /* sensitive period: halved, at least a second */
    c.sensitive_enabled = true;
    cr_assert_eq(sla_due(&c, SLA_ACCEPT, FQ_SEV_BLUE, t0), t0 + 1800);
    cr_assert_eq(sla_due(&c, SLA_SUPERVISE, FQ_SEV_BLUE, t0), t0 + 3600);
    cr_assert_eq(sla_due(&c, SLA_ACCEPT, FQ_SEV_RED, t0), t0 + 1);
    cr_assert_eq(sla_due(&c, SLA_RESOLVE, FQ_SEV_BLUE, t0), t0 + 7 * 43200);
    cr_assert_eq(sla_due(&c, SLA_OVERDUE_NEXT, FQ_SEV_BLUE, t0), t0 + 86400,
                 "the repeat of an overdue notice is not an SLA");
    /* unusable input counts the SLA as -1 s, as sla_accept reports it */
    cr_assert_eq(sla_due(&c, SLA_ACCEPT, 9, t0), t0 - 1);
    cr_assert_eq(sla_due(NULL, SLA_RESOLVE, FQ_SEV_BLUE, t0), t0 - 1);
    cr_assert_eq(sla_due(NULL, SLA_SUPERVISE, FQ_SEV_BLUE, t0), t0 - 2);
}

Test(lifecycle, a_new_case_gets_its_deadlines_from_the_helper)
{
    struct fq_case k;
    world_open_case(&w, &ctx, "web", &k);
    cr_assert_eq(k.due_accept, sla_due(w.cfg, SLA_ACCEPT, k.severity, k.created_at));
    cr_assert_eq(k.due_resolve, sla_due(w.cfg, SLA_RESOLVE, k.severity, k.created_at));
    case_cleanup(&k);
}

/* ---- load balancing ------------------------------------------------------------------------ */
Test(lifecycle, least_loaded_skips_the_excluded_and_the_full)
{
    int grid = roster_org_index(w.ro, "grid-fy-01");
    int pick = -2;
    cr_assert_eq(route_least_loaded(&ctx, grid, "neighbour", NULL, &pick), FQ_OK);
    cr_assert_eq(pick, M_WANG, "equal load: roster order");
    struct fq_case k;
    world_open_case(&w, &ctx, "web", &k);   /* routed to m-wang: one open case */
    cr_assert_eq(route_least_loaded(&ctx, grid, "neighbour", NULL, &pick), FQ_OK);
    cr_assert_eq(pick, M_SUN, "the fewest open cases");
    cr_assert_eq(route_least_loaded(&ctx, grid, "neighbour", "m-sun", &pick), FQ_OK);
    cr_assert_eq(pick, M_WANG, "m-sun excluded");
    w.ro->med[M_SUN].max_open = 1;
    w.ro->med[M_WANG].max_open = 1;
    cr_assert_eq(route_least_loaded(&ctx, grid, "neighbour", "m-sun", &pick), FQ_OK);
    cr_assert_eq(pick, -1, "m-wang is full, m-sun excluded");
    cr_assert_eq(route_least_loaded(&ctx, -1, "neighbour", NULL, &pick), FQ_OK);
    cr_assert_eq(pick, -1);
    (void)M_CHEN;
    (void)M_LI;
    case_cleanup(&k);
}

/* test_survey.c: the follow-up survey (回访) and relapse check (docs/contract.md 8.1), on a real
 * SQLite store in a temporary directory, a hand-built roster and the real catalogs. Cases are
 * opened with case_open and resolved through lifecycle_apply as the mediator commands do; timers
 * are taken from the store when due (store_timer_due at a chosen "now") and fired through
 * survey_on_timer as the scheduler does; the resident answers through intake_on_message. */
#include <criterion/criterion.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bot/render/payload.h"
#include "bot/sys/locale.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"
#include "handlers/intake.h"
#include "handlers/mediator.h"
#include "handlers/survey.h"
#include "store/case_table.h"
#include "store/convo.h"
#include "store/surveys.h"
#include "store/timer_table.h"
#include "store/wecom_kf.h"
#include "handlers/lifecycle.h"
#include "store/store.h"
#include "tests/unit/helpers/world.h"

static struct world w;
/* short names for the world's parts, set by setup */
static struct store *st;
static struct fq_config *cfg;
static struct fq_lexicon *lex;
static struct fq_roster *ro;
static struct fq_ctx ctx;
static int msg_seq;
static int M_WANG, M_CHEN, M_LI;

static void setup(void)
{
    world_open(&w, "survey");
    w.cfg->survey_delay = 10;
    w.cfg->survey_remind_after = 20;
    w.cfg->survey_expire_after = 40;
    w.cfg->survey_relapse_check = 100;
    M_WANG = world_add_med(&w, "m-wang", "王建国", "grid_worker", "grid-fy-01", "*", true, false);
    M_CHEN = world_add_med(&w, "m-chen", "陈秀英", "village_mediator", "vil-fy", "*", true, false);
    M_LI = world_add_med(&w, "m-li", "李司法", "town_mediator", "town-fq", "*", true, true);
    world_ready(&w);
    st = w.st;
    cfg = w.cfg;
    lex = w.lex;
    ro = w.ro;
    ctx = w.ctx;
    msg_seq = 0;
}

static void teardown(void)
{
    world_close(&w);
    st = NULL;
}

TestSuite(survey, .init = setup, .fini = teardown);

/* ---- helpers ------------------------------------------------------------------------------- */
static void get_case(int64_t id, struct fq_case *k)
{
    cr_assert_eq(store_case_get_id(st, id, k), FQ_OK);
}

static void apply(struct fq_case *k, enum lc_cmd cmd, int actor)
{
    struct lc_request rq = {.cmd = cmd, .actor = actor, .note = "note"};
    struct lc_result res;
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(lifecycle_apply(&ctx, k, &rq, &res, &a), FQ_OK);
    cr_assert_eq(res.refusal, LC_DONE, "command %d refused: %d", (int)cmd, (int)res.refusal);
    actions_cleanup(&a);
}

/* A blue neighbour case of a new resident on `channel`, accepted and resolved by m-wang. */
static void resolved_case(const char *channel, struct fq_case *k)
{
    world_open_case(&w, &ctx, channel, k);
    cr_assert_str_eq(k->mediator_id, "m-wang");
    apply(k, LC_ACCEPT, M_WANG);
    apply(k, LC_RESOLVE, M_WANG);
    cr_assert_str_eq(fq_case_status_name(k->status), "resolved");
}

struct due {
    int64_t ids[32];
    struct fq_timer t[32];
    size_t n;
    const char *kind;
    int64_t case_id;
};

static void collect_due(const struct fq_timer *t, void *arg)
{
    struct due *d = arg;
    if (d->n < 32 && strcmp(fq_timer_kind_name(t->kind), d->kind) == 0 && t->case_id == d->case_id) {
        d->t[d->n] = *t;
        d->t[d->n].arg = t->arg ? strdup(t->arg) : NULL;
        d->n++;
    }
}

/* Moves the clock to `at` and fires the due timers of `kind` for the case into *a (one
 * actions per timer, as the scheduler does: the last one is left in *a). Returns how many. */
static size_t fire(const char *kind, int64_t case_id, int64_t at, struct fq_actions *a)
{
    ctx.now = at;
    struct due d = {.kind = kind, .case_id = case_id};
    cr_assert_eq(store_timer_due(st, at, 1000, collect_due, &d), FQ_OK);
    actions_init(a);
    for (size_t i = 0; i < d.n; i++) {
        cr_assert_eq(store_timer_fire(st, d.t[i].id, at), FQ_OK);
        if (i) {
            actions_cleanup(a);
            actions_init(a);
        }
        enum fq_err err = survey_on_timer(&ctx, &d.t[i], a);
        cr_assert_eq(err, FQ_OK, "survey_on_timer(%s): %s", kind, fq_strerror(err));
        timer_cleanup(&d.t[i]);
    }
    return d.n;
}

static void survey_of(int64_t case_id, const char *kind, int64_t resolved_at, struct fq_survey *v)
{
    enum fq_err err = store_survey_find(st, case_id, kind, resolved_at, v);
    cr_assert_eq(err, FQ_OK, "survey %s of case %lld: %s", kind, (long long)case_id,
                 fq_strerror(err));
}

/* The resident of k writes text (through the intake, as the core would); *a to clean. */
static void resident_says(const struct fq_case *k, const char *text, struct fq_actions *a)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    char mid[32];
    snprintf(mid, sizeof mid, "m-%d", ++msg_seq);
    m->channel = strdup(k->channel);
    m->user = strdup(k->user);
    m->message_id = strdup(mid);
    m->type = strdup("text");
    m->text = strdup(text);
    actions_init(a);
    enum fq_err err = intake_on_message(&ctx, m, a);
    fq_msg_free(m);
    cr_assert_eq(err, FQ_OK, "intake(%s): %s", text, fq_strerror(err));
}

static size_t count_kind(const struct fq_actions *a, enum fq_action_kind kind, const char *type,
                         const char *target)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].kind == kind && (!type || fq_streq(a->v[i].type, type)) &&
            (!target || fq_streq(a->v[i].target, target)))
            n++;
    return n;
}

struct evs {
    const char *type;
    int n;
    char data[128];
};

static void count_ev(const struct fq_case_event *e, void *arg)
{
    struct evs *x = arg;
    if (strcmp(e->type, x->type) == 0) {
        x->n++;
        snprintf(x->data, sizeof x->data, "%s", e->data ? e->data : "");
    }
}

static struct evs events(int64_t case_id, const char *type)
{
    struct evs x = {.type = type};
    cr_assert_eq(store_case_events(st, case_id, count_ev, &x), FQ_OK);
    return x;
}

static const char *convo_state(const struct fq_case *k, char buf[24])
{
    struct fq_convo cv;
    if (store_convo_get(st, k->channel, k->user, &cv) != FQ_OK)
        return "none";
    snprintf(buf, 24, "%s", fq_convo_state_name(cv.state));
    convo_cleanup(&cv);
    return buf;
}

static bool replies_contain(const struct fq_actions *a, const char *needle)
{
    for (size_t i = 0; i < a->answer.n_replies; i++)
        if (strstr(a->answer.replies[i], needle))
            return true;
    return false;
}

/* ---- tests --------------------------------------------------------------------------------- */
Test(survey, resolution_schedules_one_survey_and_a_relapse_check)
{
    struct fq_case k;
    resolved_case("web", &k);
    struct fq_survey v, r;
    survey_of(k.id, "satisfaction", k.resolved_at, &v);
    survey_of(k.id, "relapse", k.resolved_at, &r);
    cr_assert_str_eq(fq_survey_status_name(v.status), "scheduled");
    cr_assert_str_eq(fq_survey_status_name(r.status), "scheduled");
    struct fq_actions a;
    cr_assert_eq(fire("survey", k.id, ctx.now + 9, &a), 0, "not due before survey.delay");
    actions_cleanup(&a);
    cr_assert_eq(fire("relapse_check", k.id, ctx.now + 50, &a), 0);
    actions_cleanup(&a);
    /* scheduling the same resolution again adds nothing */
    actions_init(&a);
    cr_assert_eq(survey_schedule(&ctx, &k, &a), FQ_OK);
    actions_cleanup(&a);
    struct due d = {.kind = "survey", .case_id = k.id};
    store_timer_due(st, ctx.now + 1000, 100, collect_due, &d);
    cr_assert_eq(d.n, 1, "one survey timer per resolution, got %zu", d.n);
    for (size_t i = 0; i < d.n; i++)
        timer_cleanup(&d.t[i]);
    survey_row_cleanup(&v);
    survey_row_cleanup(&r);
    case_cleanup(&k);
}

Test(survey, chat_resident_is_asked_at_next_message_and_answers)
{
    struct fq_case k;
    resolved_case("web", &k);
    int64_t t0 = ctx.now;
    struct fq_actions a;
    char buf[24];
    cr_assert_eq(fire("survey", k.id, t0 + 10, &a), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "survey_sent", NULL), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_OUTBOUND, NULL, NULL), 0, "a webhook cannot be pushed");
    actions_cleanup(&a);
    cr_assert_str_eq(convo_state(&k, buf), "survey");

    /* the next message gets the question with the four options */
    resident_says(&k, "你好", &a);
    cr_assert_str_eq(a.answer.state, "survey");
    cr_assert_eq(a.answer.n_options, 4);
    cr_assert_str_eq(a.answer.options[3].label, i18n_get(lex, FQ_LOC_ZH_CN, "sv_opt_4"));
    cr_assert(replies_contain(&a, k.case_no));
    actions_cleanup(&a);

    resident_says(&k, "②", &a);   /* a circled digit is a numbered answer too */
    cr_assert_str_eq(a.answer.state, "survey");
    cr_assert(replies_contain(&a, i18n_get(lex, FQ_LOC_ZH_CN, "sv_ask_comment")));
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "survey_answered", NULL), 1);
    actions_cleanup(&a);
    resident_says(&k, "调解员很耐心，谢谢", &a);
    cr_assert_str_eq(a.answer.state, "idle");
    actions_cleanup(&a);

    struct fq_survey v;
    survey_of(k.id, "satisfaction", k.resolved_at, &v);
    cr_assert_str_eq(fq_survey_status_name(v.status), "answered");
    cr_assert_eq(v.answer, 2);
    cr_assert_str_eq(v.comment, "调解员很耐心，谢谢");
    cr_assert_str_eq(v.answered_by, "resident");
    struct fq_case after;
    get_case(k.id, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "resolved");
    cr_assert_str_eq(events(k.id, "survey_answered").data, "{\"answer\":2}");
    /* the reminder and expiry of an answered survey do nothing */
    cr_assert_eq(fire("survey_remind", k.id, t0 + 30, &a), 0, "timers cancelled on answer");
    actions_cleanup(&a);
    survey_row_cleanup(&v);
    case_cleanup(&after);
    case_cleanup(&k);
}

Test(survey, unsatisfied_answer_reopens_and_tells_mediator_and_supervisor)
{
    struct fq_case k;
    resolved_case("web", &k);
    struct fq_actions a;
    fire("survey", k.id, ctx.now + 10, &a);
    actions_cleanup(&a);
    resident_says(&k, "4", &a);
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "reopened", NULL), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_ASSIGN, "assigned", "m-wang"), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_NOTIFY, NULL, "m-wang"), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_NOTIFY, NULL, "m-li"), 1, "the supervisor is told");
    cr_assert(replies_contain(&a, k.case_no));
    actions_cleanup(&a);
    struct fq_case after;
    get_case(k.id, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "reopened");
    cr_assert_str_eq(after.org_id, "grid-fy-01", "reopened at the same tier");
    struct due od = {.kind = "resolve_overdue", .case_id = k.id};
    cr_assert_eq(store_timer_due(st, ctx.now + 400 * 86400, 1000, collect_due, &od), FQ_OK);
    cr_assert_eq(od.n, 1, "a reopened case has a resolve deadline again");
    cr_assert_gt(od.t[0].due_at, ctx.now);
    for (size_t i = 0; i < od.n; i++)
        timer_cleanup(&od.t[i]);
    struct fq_survey r;
    survey_of(k.id, "relapse", k.resolved_at, &r);
    cr_assert_str_eq(fq_survey_status_name(r.status), "cancelled", "no relapse check for a resolution that failed");
    survey_row_cleanup(&r);

    /* accepted and resolved again: a new survey for the new resolution */
    ctx.now += 5;
    apply(&after, LC_ACCEPT, M_WANG);
    apply(&after, LC_RESOLVE, M_WANG);
    struct fq_survey v2;
    survey_of(k.id, "satisfaction", after.resolved_at, &v2);
    cr_assert_str_eq(fq_survey_status_name(v2.status), "scheduled");
    cr_assert_neq(after.resolved_at, k.resolved_at);
    survey_row_cleanup(&v2);
    case_cleanup(&after);
    case_cleanup(&k);
}

Test(survey, not_solved_comment_reopens)
{
    struct fq_case k;
    resolved_case("web", &k);
    struct fq_actions a;
    fire("survey", k.id, ctx.now + 10, &a);
    actions_cleanup(&a);
    resident_says(&k, "3", &a);
    actions_cleanup(&a);
    struct fq_case mid;
    get_case(k.id, &mid);
    cr_assert_str_eq(fq_case_status_name(mid.status), "resolved", "3 alone does not reopen");
    resident_says(&k, "其实问题还在，邻居又开始堆了", &a);
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "reopened", NULL), 1);
    actions_cleanup(&a);
    struct fq_case after;
    get_case(k.id, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "reopened");
    case_cleanup(&mid);
    case_cleanup(&after);
    case_cleanup(&k);
}

Test(survey, mqtt_resident_gets_the_question_pushed)
{
    struct fq_case k;
    resolved_case("gw", &k);
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    m->reach = FQ_REACH_PUSH;   /* as a gateway message is */
    m->channel = strdup(k.channel);
    m->user = strdup(k.user);
    cr_assert_eq(survey_note_reach(&ctx, m), FQ_OK);
    fq_msg_free(m);
    struct fq_actions a;
    cr_assert_eq(fire("survey", k.id, ctx.now + 10, &a), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_OUTBOUND, NULL, k.user), 1);
    for (size_t i = 0; i < a.n; i++)
        if (a.v[i].kind == FQ_ACT_OUTBOUND)
            cr_assert_str_eq(a.v[i].text, "gw", "addressed to the resident's channel");
    cr_assert_str_eq(a.answer.state, "survey");
    cr_assert_eq(a.answer.n_options, 4);
    cr_assert_str_eq(a.answer.case_no, k.case_no);
    actions_cleanup(&a);
    struct fq_survey v;
    survey_of(k.id, "satisfaction", k.resolved_at, &v);
    cr_assert_str_eq(v.via, "mqtt");
    cr_assert_str_eq(fq_survey_status_name(v.status), "asked");
    survey_row_cleanup(&v);
    /* the reply is an answer at once */
    resident_says(&k, "一", &a);
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "survey_answered", NULL), 1);
    actions_cleanup(&a);
    /* with MQTT off the gateway cannot reach them: a 回访 task instead */
    struct fq_case k2;
    resolved_case("gw", &k2);
    m = fq_msg_new(FQ_MSG_CHAT);
    m->reach = FQ_REACH_PUSH;
    m->channel = strdup(k2.channel);
    m->user = strdup(k2.user);
    survey_note_reach(&ctx, m);
    fq_msg_free(m);
    cfg->mqtt_enabled = false;
    fire("survey", k2.id, ctx.now + 10, &a);
    cr_assert_eq(count_kind(&a, FQ_ACT_ASSIGN, "survey_task", "m-wang"), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_OUTBOUND, NULL, NULL), 0);
    actions_cleanup(&a);
    case_cleanup(&k2);
    case_cleanup(&k);
}

Test(survey, reminder_then_no_response)
{
    struct fq_case k;
    resolved_case("web", &k);
    int64_t t0 = ctx.now;
    struct fq_actions a;
    fire("survey", k.id, t0 + 10, &a);
    actions_cleanup(&a);
    resident_says(&k, "你好", &a);          /* asked */
    actions_cleanup(&a);
    resident_says(&k, "我还有别的事要反映", &a);   /* not an answer: an ordinary message */
    cr_assert_neq(strcmp(a.answer.state, "survey"), 0);
    actions_cleanup(&a);
    cr_assert_eq(fire("survey_remind", k.id, t0 + 30, &a), 1);
    actions_cleanup(&a);
    struct fq_survey v;
    survey_of(k.id, "satisfaction", k.resolved_at, &v);
    cr_assert_eq(v.reminded, 1);
    cr_assert_str_eq(fq_survey_status_name(v.status), "sent", "asked again at the next message");
    survey_row_cleanup(&v);
    cr_assert_eq(fire("survey_expire", k.id, t0 + 50, &a), 1);
    actions_cleanup(&a);
    survey_of(k.id, "satisfaction", k.resolved_at, &v);
    cr_assert_str_eq(fq_survey_status_name(v.status), "no_response");
    cr_assert_eq(v.closed_at, t0 + 50);
    survey_row_cleanup(&v);
    cr_assert_eq(events(k.id, "survey_no_response").n, 1);
    cr_assert_eq(events(k.id, "survey_answered").n, 0);
    case_cleanup(&k);
}

Test(survey, wecom_outside_window_becomes_a_task_for_the_grid_worker)
{
    struct fq_case k;
    resolved_case("wecom_kf", &k);
    /* the resident wrote last now; the survey fires 49 h later (late, as after a restart) */
    cr_assert_eq(store_wecom_kf_inbound(st, k.user, ctx.now), FQ_OK);
    cr_assert(survey_wecom_reachable(&ctx, k.channel, k.user));
    int64_t t0 = ctx.now;
    ctx.now = t0 + 49 * 3600;
    cr_assert_not(survey_wecom_reachable(&ctx, k.channel, k.user));
    struct fq_actions a;
    fire("survey", k.id, t0 + 49 * 3600, &a);
    cr_assert_eq(count_kind(&a, FQ_ACT_ASSIGN, "survey_task", "m-wang"), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_NOTIFY, NULL, "m-wang"), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "survey_sent", NULL), 1);
    actions_cleanup(&a);
    struct fq_survey v;
    survey_of(k.id, "satisfaction", k.resolved_at, &v);
    cr_assert_str_eq(v.via, "task");
    cr_assert_str_eq(v.task_mediator, "m-wang");
    survey_row_cleanup(&v);

    /* the grid worker records the answer with 回访 */
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    char text[96];
    snprintf(text, sizeof text, "回访 %s 1 电话回访，很满意", k.case_no);
    m->channel = strdup("web");
    m->user = strdup("m-wang");
    m->text = strdup(text);
    actions_init(&a);
    cr_assert_eq(mediator_on_chat(&ctx, m, M_WANG, &a), FQ_OK);
    fq_msg_free(m);
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "survey_answered", NULL), 1);
    actions_cleanup(&a);
    survey_of(k.id, "satisfaction", k.resolved_at, &v);
    cr_assert_str_eq(fq_survey_status_name(v.status), "answered");
    cr_assert_eq(v.answer, 1);
    cr_assert_str_eq(v.answered_by, "m-wang");
    survey_row_cleanup(&v);
    /* inside the 48 h window the question is pushed instead */
    struct fq_case k2;
    resolved_case("wecom_kf", &k2);
    cr_assert_eq(store_wecom_kf_inbound(st, k2.user, ctx.now), FQ_OK);
    fire("survey", k2.id, ctx.now + 10, &a);
    cr_assert_eq(count_kind(&a, FQ_ACT_ASSIGN, "survey_task", NULL), 0);
    cr_assert_eq(count_kind(&a, FQ_ACT_OUTBOUND, NULL, k2.user), 1);
    actions_cleanup(&a);
    case_cleanup(&k2);
    case_cleanup(&k);
}

/* Every payload of a relapse names the case it relapsed from, even when nothing moves the new
 * case after it was opened (the old one was handled at the top, so there is no tier above): the
 * case the actions carry is linked from its first snapshot, and the store reads the link back. */
Test(survey, relapse_payloads_name_the_current_parent)
{
    struct fq_case k;
    resolved_case("web", &k);
    free(k.org_id);
    k.org_id = strdup("county-zj");
    cr_assert_eq(store_case_update(st, &k), FQ_OK);
    struct fq_actions a;
    cr_assert_eq(fire("relapse_check", k.id, ctx.now + 100, &a), 1);
    actions_cleanup(&a);
    resident_says(&k, "你好", &a);
    actions_cleanup(&a);
    resident_says(&k, "是", &a);
    cr_assert_not_null(a.answer.case_no);
    struct fq_case nk;
    cr_assert_eq(store_case_get(st, a.answer.case_no, &nk), FQ_OK);
    cr_assert_eq(nk.parent_case, k.id);
    cr_assert_str_eq(nk.parent_case_no, k.case_no);
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "escalated", NULL), 0, "nothing above the county");
    const struct fq_case *snap = actions_case(&a, nk.id);
    cr_assert_not_null(snap);
    cr_assert_eq(snap->parent_case, k.id, "the published snapshot has a stale parent");
    char *js = payload_case_json(&ctx, snap, false);
    char want[64];
    snprintf(want, sizeof want, "\"parent_case\":\"%s\"", k.case_no);
    cr_assert_not_null(strstr(js, want), "%s", js);
    free(js);
    js = payload_case_json(&ctx, &k, false);
    cr_assert_not_null(strstr(js, "\"parent_case\":null"), "%s", js);
    free(js);
    actions_cleanup(&a);
    case_cleanup(&nk);
    case_cleanup(&k);
}

Test(survey, relapse_yes_opens_a_linked_case_one_tier_up)
{
    struct fq_case k;
    resolved_case("web", &k);
    struct fq_actions a;
    cr_assert_eq(fire("relapse_check", k.id, ctx.now + 100, &a), 1);
    actions_cleanup(&a);
    resident_says(&k, "你好", &a);
    cr_assert_eq(a.answer.n_options, 2);
    actions_cleanup(&a);
    resident_says(&k, "是", &a);
    cr_assert_not_null(a.answer.case_no);
    cr_assert_str_neq(a.answer.case_no, k.case_no);
    struct fq_case nk;
    cr_assert_eq(store_case_get(st, a.answer.case_no, &nk), FQ_OK);
    actions_cleanup(&a);
    cr_assert_eq(nk.parent_case, k.id);
    cr_assert_str_eq(nk.category, k.category);
    cr_assert_str_eq(nk.place_org, k.place_org);
    cr_assert_str_eq(nk.org_id, "vil-fy", "one tier above the grid");
    cr_assert_str_eq(nk.mediator_id, "m-chen");
    struct fq_survey r;
    survey_of(k.id, "relapse", k.resolved_at, &r);
    cr_assert_str_eq(fq_survey_status_name(r.status), "answered");
    cr_assert_eq(r.new_case, nk.id);
    survey_row_cleanup(&r);
    case_cleanup(&nk);
    case_cleanup(&k);

    /* "no" closes the check without a case */
    struct fq_case k2;
    resolved_case("web", &k2);
    fire("relapse_check", k2.id, ctx.now + 100, &a);
    actions_cleanup(&a);
    resident_says(&k2, "否", &a);
    cr_assert_str_eq(a.answer.case_no, k2.case_no);
    actions_cleanup(&a);
    survey_of(k2.id, "relapse", k2.resolved_at, &r);
    cr_assert_eq(r.answer, 2);
    cr_assert_eq(r.new_case, 0);
    survey_row_cleanup(&r);
    case_cleanup(&k2);
}

Test(survey, stale_timer_after_reopen_does_nothing)
{
    struct fq_case k;
    resolved_case("web", &k);
    /* the mediator records 4 by phone before the timer: reopened */
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(survey_record_answer(&ctx, &k, 4, NULL, "m-wang", &a), FQ_OK);
    actions_cleanup(&a);
    cr_assert_str_eq(fq_case_status_name(k.status), "reopened");
    fire("survey", k.id, ctx.now + 10, &a);
    cr_assert_eq(a.n, 0, "nothing to ask: the case was reopened");
    actions_cleanup(&a);
    cr_assert_eq(survey_record_answer(&ctx, &k, 7, NULL, "m-wang", &a), FQ_EINVAL);
    case_cleanup(&k);
}

/* The answer by an ordinal or by a part of exactly one option's label (docs/contract.md 8.1);
 * a part of several asks the question again. */
Test(survey, answers_by_ordinal_and_part_of_a_label)
{
    static const struct { const char *text; int answer; } cases[] = {
        {"第一个", 1}, {"the last one", 4}, {"基本", 3}, {"非常", 1}, {"不滿", 4}, {"Mostly", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct fq_case k;
        resolved_case("web", &k);
        struct fq_actions a;
        fire("survey", k.id, ctx.now + 10, &a);
        actions_cleanup(&a);
        resident_says(&k, "你好", &a);   /* asked */
        actions_cleanup(&a);
        resident_says(&k, cases[i].text, &a);
        cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "survey_answered", NULL), 1, "%s",
                     cases[i].text);
        actions_cleanup(&a);
        struct fq_survey v;
        survey_of(k.id, "satisfaction", k.resolved_at, &v);
        cr_assert_eq(v.answer, cases[i].answer, "%s: answer %d", cases[i].text, v.answer);
        survey_row_cleanup(&v);
        resident_says(&k, "跳过", &a);
        actions_cleanup(&a);
        case_cleanup(&k);
    }
    struct fq_case k;
    resolved_case("web", &k);
    struct fq_actions a;
    fire("survey", k.id, ctx.now + 10, &a);
    actions_cleanup(&a);
    resident_says(&k, "你好", &a);
    actions_cleanup(&a);
    resident_says(&k, "意", &a);          /* one character is too short to be a part */
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "survey_answered", NULL), 0);
    actions_cleanup(&a);
    case_cleanup(&k);
}

/* An emoji is no answer and no new report: the question is asked again, gently. */
Test(survey, an_emoji_gets_the_question_again)
{
    struct fq_case k;
    resolved_case("web", &k);
    struct fq_actions a;
    fire("survey", k.id, ctx.now + 10, &a);
    actions_cleanup(&a);
    resident_says(&k, "你好", &a);
    actions_cleanup(&a);
    resident_says(&k, "👍👍", &a);
    cr_assert_str_eq(a.answer.state, "survey");
    cr_assert(replies_contain(&a, i18n_get(lex, FQ_LOC_ZH_CN, "wordless_reask")));
    cr_assert_eq(a.answer.n_options, 4, "the question again");
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "survey_answered", NULL), 0);
    actions_cleanup(&a);
    resident_says(&k, "满意", &a);
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "survey_answered", NULL), 1);
    actions_cleanup(&a);
    case_cleanup(&k);
}

/* A resident who reported over the WeCom app (channel "wecom", an app member reached with
 * message/send at any time, no 微信客服 window) is asked the survey themselves: the question is
 * pushed to the app, not handed to the grid worker as a task. With WeCom off they cannot be
 * reached, and only then is it a task. */
Test(survey, wecom_app_resident_is_asked_not_a_task)
{
    struct fq_case k;
    resolved_case("wecom", &k);
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    m->reach = FQ_REACH_WINDOW;   /* as the WeCom callback stamps an app message */
    m->channel = strdup(k.channel);
    m->user = strdup(k.user);
    cr_assert_eq(survey_note_reach(&ctx, m), FQ_OK);
    fq_msg_free(m);
    cfg->wecom_enabled = true;
    struct fq_actions a;
    fire("survey", k.id, ctx.now + 10, &a);
    cr_assert_eq(count_kind(&a, FQ_ACT_ASSIGN, "survey_task", NULL), 0, "not a task");
    cr_assert_eq(count_kind(&a, FQ_ACT_OUTBOUND, NULL, k.user), 1, "pushed to the resident");
    for (size_t i = 0; i < a.n; i++)
        if (a.v[i].kind == FQ_ACT_OUTBOUND)
            cr_assert_str_eq(a.v[i].text, "wecom", "addressed to the WeCom app");
    actions_cleanup(&a);
    struct fq_survey v;
    survey_of(k.id, "satisfaction", k.resolved_at, &v);
    cr_assert_str_eq(v.via, "wecom");
    cr_assert_str_eq(fq_survey_status_name(v.status), "asked");
    survey_row_cleanup(&v);
    resident_says(&k, "2", &a);
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "survey_answered", NULL), 1);
    actions_cleanup(&a);

    struct fq_case k2;
    resolved_case("wecom", &k2);
    cfg->wecom_enabled = false;
    fire("survey", k2.id, ctx.now + 10, &a);
    cr_assert_eq(count_kind(&a, FQ_ACT_ASSIGN, "survey_task", "m-wang"), 1);
    actions_cleanup(&a);
    case_cleanup(&k2);
    case_cleanup(&k);
}

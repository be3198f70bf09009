/* test_supplement.c: a resident's later message about an open case (docs/contract.md 6.8):
 * supplement_decide on its own (classifications made by hand, the catalogs of locales/ for the
 * words), then through intake_on_message with the real parts (the shared world of
 * tests/unit/helpers/world.h: a SQLite store in a temporary directory, a roster built by hand,
 * the real case_open and routing), each message in its own transaction. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"
#include "handlers/intake.h"
#include "handlers/supplement.h"
#include "store/case_table.h"
#include "store/convo.h"
#include "store/roster_table.h"
#include "store/store.h"
#include "tests/unit/helpers/world.h"

/* the handler tests' shared world (tests/unit/helpers/world.h), with a second grid and village,
 * aliases and coordinates, three mediators, and the roster stored as an import would */
static struct world wd;
#define lx (wd.lex)
#define ro (wd.ro)
#define cfg (wd.cfg)
#define st (wd.st)
#define ctx (wd.ctx)
static int msg_seq;

static void place(const char *id, const char *alias, double lat, double lon)
{
    struct fq_org *o = &ro->org[roster_org_index(ro, id)];
    if (alias) {
        o->aliases = calloc(1, sizeof *o->aliases);
        cr_assert_not_null(o->aliases);
        o->aliases[0] = strdup(alias);
        o->n_aliases = 1;
    }
    o->has_coord = lat != 0;
    o->latitude = lat;
    o->longitude = lon;
}

static void setup(void)
{
    world_open(&wd, "suppl");
    world_add_org(&wd, "grid-fy-02", "枫源村第二网格", FQ_LEVEL_GRID, "vil-fy");
    world_add_org(&wd, "vil-cj", "陈家村", FQ_LEVEL_VILLAGE, "town-fq");
    place("vil-fy", "枫源", 0, 0);
    place("grid-fy-01", "一网格", 29.73, 120.45);
    place("grid-fy-02", "二网格", 29.80, 120.55);
    world_add_med(&wd, "m-wang", "王建国", "grid_worker", "grid-fy-01", "*", true, false);
    world_add_med(&wd, "m-chen", "陈秀英", "village_mediator", "vil-fy", "*", true, false);
    world_add_med(&wd, "m-li", "李司法", "town_mediator", "town-fq", "*", true, false);
    world_ready(&wd);
    cr_assert_eq(store_begin(st), FQ_OK);
    cr_assert_eq(store_roster_replace(st, ro), FQ_OK, "%s", store_errmsg(st));
    cr_assert_eq(store_commit(st), FQ_OK);
    ctx.now = 1795000000;      /* 2026-11-18 */
}

static void teardown(void) { world_close(&wd); }

TestSuite(supplement, .init = setup, .fini = teardown);

/* ---- the decision -------------------------------------------------------------------------- */
static int cat(const char *id)
{
    for (int i = 0; i < FQ_N_CATEGORIES; i++)
        if (strcmp(fq_categories[i], id) == 0)
            return i;
    cr_assert_fail("no category %s", id);
    return -1;
}

static int org(const char *id)
{
    int i = roster_org_index(ro, id);
    cr_assert_geq(i, 0, "no org %s", id);
    return i;
}

static struct sp_open open_case(const char *no, const char *category, const char *place,
                                int64_t age)
{
    struct sp_open o = {.category = category ? cat(category) : -1,
                        .place = place ? org(place) : -1, .created_at = ctx.now - age};
    snprintf(o.case_no, sizeof o.case_no, "%s", no);
    return o;
}

static struct fq_classified said(const char *category, const char *place, bool substantive)
{
    return (struct fq_classified){.category = category ? cat(category) : -1,
                                  .org = place ? org(place) : -1, .substantive = substantive};
}

static enum sp_verdict decide(const char *text, struct fq_classified k,
                              const struct sp_open *o, size_t n, int *which)
{
    return supplement_decide(lx, ro, text, &k, o, n, ctx.now, which);
}

#define HOUR 3600
#define DAY (24 * HOUR)

Test(supplement, no_open_case_or_no_substance_is_never_a_supplement)
{
    struct sp_open o[1] = {open_case("FQ20261118-0001", "neighbour", "grid-fy-01", HOUR)};
    int w;
    cr_assert_eq(decide("楼道又堆满了", said("neighbour", NULL, true), o, 0, &w), SP_NEW_REPORT);
    cr_assert_eq(w, -1);
    /* greetings and emoji: classify says not substantive, whatever the signs */
    cr_assert_eq(decide("你好", said(NULL, NULL, false), o, 1, &w), SP_NEW_REPORT);
    cr_assert_eq(decide("👍", said(NULL, NULL, false), o, 1, &w), SP_NEW_REPORT);
    cr_assert_eq(decide("还有", said("neighbour", "grid-fy-01", false), o, 1, &w), SP_NEW_REPORT);
}

Test(supplement, the_case_number_names_the_case)
{
    struct sp_open o[2] = {open_case("FQ20261118-0002", "wage", NULL, HOUR),
                           open_case("FQ20261117-0001", "neighbour", "grid-fy-01", 10 * DAY)};
    int w;
    cr_assert_eq(decide("关于fq20261117-0001，对方今天道歉了", said("wage", "vil-cj", true), o, 2,
                        &w),
                 SP_SUPPLEMENT);
    cr_assert_eq(w, 1, "the case named, not the newest");
}

Test(supplement, same_category_within_the_window)
{
    struct sp_open o[1] = {open_case("FQ20261118-0001", "neighbour", "grid-fy-01", HOUR)};
    int w;
    cr_assert_eq(decide("楼道又堆满了", said("neighbour", NULL, true), o, 1, &w), SP_SUPPLEMENT);
    cr_assert_eq(w, 0);
    /* the village of the case's grid is the same place */
    cr_assert_eq(decide("枫源村这边情况", said(NULL, "vil-fy", true), o, 1, &w), SP_SUPPLEMENT);
    /* the same category after the window: one sign, asked */
    o[0].created_at = ctx.now - 3 * DAY;
    cr_assert_eq(decide("楼道堆满了", said("neighbour", NULL, true), o, 1, &w), SP_ASK);
    cr_assert_eq(w, -1);
    /* ... and with a follow-up word, two signs again (zh-TW and English words too) */
    cr_assert_eq(decide("補充一下，樓道堆滿了", said("neighbour", NULL, true), o, 1, &w),
                 SP_SUPPLEMENT);
    cr_assert_eq(decide("They also blocked the stairs", said("neighbour", NULL, true), o, 1, &w),
                 SP_SUPPLEMENT);
}

Test(supplement, new_matter_signs_start_a_report)
{
    struct sp_open o[1] = {open_case("FQ20261118-0001", "neighbour", "grid-fy-01", HOUR)};
    int w;
    cr_assert_eq(decide("另外一件事，包工头拖欠工资", said("wage", NULL, true), o, 1, &w),
                 SP_NEW_REPORT);
    cr_assert_eq(decide("I have another problem: my boss owes me wages", said(NULL, NULL, true), o,
                        1, &w),
                 SP_NEW_REPORT);
    /* another category and place */
    cr_assert_eq(decide("陈家村包工头拖欠工资", said("wage", "vil-cj", true), o, 1, &w),
                 SP_NEW_REPORT);
    /* another place, same category */
    cr_assert_eq(decide("二网格楼上噪音", said("neighbour", "grid-fy-02", true), o, 1, &w),
                 SP_NEW_REPORT);
    /* another category where the case's place is unknown */
    cr_assert_eq(decide("包工头拖欠工资", said("wage", NULL, true), o, 1, &w), SP_NEW_REPORT);
}

Test(supplement, unclear_is_asked)
{
    struct sp_open o[1] = {open_case("FQ20261118-0001", "neighbour", "grid-fy-01", 3 * DAY)};
    int w;
    /* nothing says which: asked */
    cr_assert_eq(decide("情况有变化，请尽快处理", said(NULL, NULL, true), o, 1, &w), SP_ASK);
    /* a follow-up word with another category: a contradicting sign, asked */
    o[0].created_at = ctx.now - HOUR;
    cr_assert_eq(decide("他又拖欠工资", said("wage", NULL, true), o, 1, &w), SP_ASK);
    /* two open cases that fit equally */
    struct sp_open two[2] = {open_case("FQ20261118-0002", "neighbour", NULL, HOUR),
                             open_case("FQ20261118-0001", "neighbour", NULL, 2 * HOUR)};
    cr_assert_eq(decide("楼道又堆满了", said("neighbour", NULL, true), two, 2, &w), SP_ASK);
    /* ... unless one fits better */
    two[1].place = org("grid-fy-01");
    cr_assert_eq(decide("一网格楼道堆满了", said("neighbour", "grid-fy-01", true), two, 2, &w),
                 SP_SUPPLEMENT);
    cr_assert_eq(w, 1);
}

/* ---- through the conversation -------------------------------------------------------------- */
/* ---- sending ------------------------------------------------------------------------------- */
static struct fq_msg *new_msg(const char *user, const char *type)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    m->channel = strdup("web");
    m->user = strdup(user);
    char id[32];
    snprintf(id, sizeof id, "m-%d", ++msg_seq);
    m->message_id = strdup(id);
    m->type = strdup(type);
    m->at = ctx.now;
    return m;
}

static void run(struct fq_msg *m, struct fq_actions *a)
{
    actions_init(a);
    cr_assert_eq(store_begin(st), FQ_OK);
    enum fq_err err = intake_on_message(&ctx, m, a);
    cr_assert_eq(err, FQ_OK, "intake_on_message: %s", fq_strerror(err));
    cr_assert_eq(store_commit(st), FQ_OK);
    cr_assert_not(a->oom);
    cr_assert_not_null(a->answer.state);
    fq_msg_free(m);
}

static void say_as(const char *user, const char *text, struct fq_actions *a)
{
    struct fq_msg *m = new_msg(user, "text");
    m->text = strdup(text);
    run(m, a);
}

static void say(const char *text, struct fq_actions *a) { say_as("u-1", text, a); }

/* The text of key up to its first placeholder: how a reply made from key begins. */
static bool reply_from(const struct fq_actions *a, int loc, const char *key)
{
    const char *t = i18n_get(lx, loc, key);
    size_t n = strcspn(t, "{");
    cr_assert_gt(n, 0, "key %s starts with a placeholder", key);
    for (size_t i = 0; i < a->answer.n_replies; i++)
        if (strncmp(a->answer.replies[i], t, n) == 0)
            return true;
    return false;
}

static bool reply_has(const struct fq_actions *a, const char *needle)
{
    for (size_t i = 0; i < a->answer.n_replies; i++)
        if (strstr(a->answer.replies[i], needle))
            return true;
    return false;
}

static void expect_state(const struct fq_actions *a, const char *s)
{
    cr_assert_str_eq(a->answer.state, s, "state %s, expected %s (first reply: %s)",
                     a->answer.state, s, a->answer.n_replies ? a->answer.replies[0] : "-");
}

static struct fq_convo convo(const char *user)
{
    struct fq_convo cv;
    cr_assert_eq(store_convo_get(st, "web", user, &cv), FQ_OK);
    return cv;
}


static const struct fq_action *find(const struct fq_actions *a, enum fq_action_kind kind,
                                    const char *type)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].kind == kind && a->v[i].type && strcmp(a->v[i].type, type) == 0)
            return &a->v[i];
    return NULL;
}

/* A submitted neighbour case of u-1 at grid-fy-01 (mediator m-wang); its number, caller frees. */
static char *file_case(void)
{
    struct fq_actions a;
    say("枫源村第一网格邻居在楼道堆杂物，沟通无果，电话13812345678", &a);
    expect_state(&a, "confirm");
    actions_cleanup(&a);
    say("1", &a);
    expect_state(&a, "submitted");
    char *no = strdup(a.answer.case_no);
    actions_cleanup(&a);
    return no;
}

struct seen {
    int n;
    char actor[32], note[256];
};

static void last_supplement(const struct fq_case_event *e, void *arg)
{
    struct seen *s = arg;
    if (strcmp(e->type, "supplement") != 0)
        return;
    s->n++;
    snprintf(s->actor, sizeof s->actor, "%s", e->actor);
    snprintf(s->note, sizeof s->note, "%s", e->note ? e->note : "");
}

static struct seen supplements(const char *no)
{
    struct fq_case k;
    cr_assert_eq(store_case_get(st, no, &k), FQ_OK);
    struct seen s = {0};
    cr_assert_eq(store_case_events(st, k.id, last_supplement, &s), FQ_OK);
    case_cleanup(&k);
    return s;
}

Test(supplement, a_follow_up_goes_to_the_case)
{
    char *no = file_case();
    struct fq_actions a;
    say("他又把杂物堆回楼道了", &a);
    expect_state(&a, "submitted");
    cr_assert_str_eq(a.answer.case_no, no);
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "supplement_added"));
    cr_assert(reply_has(&a, no), "the acknowledgement names the case");
    const struct fq_action *ev = find(&a, FQ_ACT_EVENT, "supplement");
    cr_assert_not_null(ev);
    cr_assert_str_eq(ev->target, "resident");
    cr_assert_str_eq(ev->text, "他又把杂物堆回楼道了");
    const struct fq_action *as = find(&a, FQ_ACT_ASSIGN, "supplement");
    cr_assert_not_null(as, "the mediator's push");
    cr_assert_str_eq(as->target, "m-wang");
    cr_assert_str_eq(as->text, "他又把杂物堆回楼道了");
    const struct fq_action *nt = find(&a, FQ_ACT_NOTIFY, "notify");
    cr_assert_not_null(nt);
    cr_assert_str_eq(nt->target, "m-wang");
    cr_assert(strstr(nt->text, no) && strstr(nt->text, "堆回楼道"), "%s", nt->text);
    cr_assert_null(find(&a, FQ_ACT_EVENT, "created"), "no new case");
    actions_cleanup(&a);
    struct seen s = supplements(no);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.actor, "resident");
    cr_assert_str_eq(s.note, "他又把杂物堆回楼道了");
    free(no);
}

Test(supplement, a_greeting_after_the_receipt_is_not_a_supplement)
{
    char *no = file_case();
    struct fq_actions a;
    say("你好", &a);
    expect_state(&a, "ask_category");
    cr_assert_null(find(&a, FQ_ACT_EVENT, "supplement"));
    actions_cleanup(&a);
    say("🙂🙂", &a);
    cr_assert_null(find(&a, FQ_ACT_EVENT, "supplement"));
    actions_cleanup(&a);
    cr_assert_eq(supplements(no).n, 0);
    free(no);
}

Test(supplement, unclear_asks_then_adds_or_starts_a_report)
{
    char *no = file_case();
    ctx.now += 3 * DAY;                  /* past the window: nothing says which */
    struct fq_actions a;
    say("情况有变化，请尽快处理", &a);
    expect_state(&a, "ask_supplement");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_supplement"));
    cr_assert(reply_has(&a, no));
    cr_assert_eq(a.answer.n_options, 2);
    cr_assert_null(find(&a, FQ_ACT_EVENT, "supplement"), "nothing added before the answer");
    actions_cleanup(&a);
    say("5", &a);                        /* not an option: asked again */
    expect_state(&a, "ask_supplement");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "invalid_choice"));
    actions_cleanup(&a);
    say("1", &a);
    expect_state(&a, "submitted");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "supplement_added"));
    cr_assert_not_null(find(&a, FQ_ACT_EVENT, "supplement"));
    actions_cleanup(&a);
    struct seen s = supplements(no);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.note, "情况有变化，请尽快处理", "the message asked about, not the answer");

    /* the other answer: a new report that starts from the message asked about */
    say("事情需要处理，麻烦看一下", &a);
    expect_state(&a, "ask_supplement");
    actions_cleanup(&a);
    say("2", &a);
    expect_state(&a, "ask_category");
    cr_assert_null(find(&a, FQ_ACT_EVENT, "supplement"));
    actions_cleanup(&a);
    struct fq_convo cv = convo("u-1");
    cr_assert_str_eq(cv.description, "事情需要处理，麻烦看一下", "the draft took the kept message");
    convo_cleanup(&cv);
    cr_assert_eq(supplements(no).n, 1);
    free(no);
}

Test(supplement, several_open_cases_are_offered_by_number)
{
    char *first = file_case();
    struct fq_actions a;
    say("枫源村第一网格，邻居装修噪音扰民，电话13812345678", &a);
    /* same category and place as the first case within the window: a supplement */
    expect_state(&a, "submitted");
    cr_assert_str_eq(a.answer.case_no, first);
    actions_cleanup(&a);
    say("另外一件事：陈家村包工头拖欠工资", &a);
    expect_state(&a, "confirm");
    actions_cleanup(&a);
    say("1", &a);
    char *second = strdup(a.answer.case_no);
    actions_cleanup(&a);
    ctx.now += 3 * DAY;
    say("请尽快派人来看看", &a);
    expect_state(&a, "ask_supplement");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_supplement_many"));
    cr_assert_eq(a.answer.n_options, 3);
    cr_assert(strstr(a.answer.options[0].label, second), "newest first");
    cr_assert(strstr(a.answer.options[1].label, first));
    actions_cleanup(&a);
    say("2", &a);
    expect_state(&a, "submitted");
    cr_assert_str_eq(a.answer.case_no, first);
    actions_cleanup(&a);
    cr_assert_eq(supplements(first).n, 2);
    cr_assert_eq(supplements(second).n, 0);
    free(first);
    free(second);
}

Test(supplement, english_and_traditional)
{
    char *no = file_case();
    struct fq_actions a;
    struct fq_msg *m = new_msg("u-1", "text");
    m->text = strdup("補充：他又把雜物堆回樓道了");
    m->locale = strdup("zh-TW");
    run(m, &a);
    expect_state(&a, "submitted");
    cr_assert(reply_from(&a, FQ_LOC_ZH_TW, "supplement_added"));
    actions_cleanup(&a);
    m = new_msg("u-1", "text");
    m->text = strdup("Also, the neighbour put the junk back in the corridor");
    m->locale = strdup("en");
    run(m, &a);
    expect_state(&a, "submitted");
    cr_assert(reply_from(&a, FQ_LOC_EN, "supplement_added"));
    actions_cleanup(&a);
    cr_assert_eq(supplements(no).n, 2);
    free(no);
}

static void note_length(const struct fq_case_event *e, void *arg)
{
    if (strcmp(e->type, "supplement") == 0 && e->note) {
        cr_assert(fq_utf8_valid(e->note, strlen(e->note)), "cut inside a character");
        *(size_t *)arg = strlen(e->note);
    }
}

Test(supplement, a_long_follow_up_is_cut_at_a_character)
{
    char *no = file_case();
    char text[3200] = "他又把杂物堆回楼道了";
    while (strlen(text) + 4 < sizeof text)
        strcat(text, "堆");           /* 3 bytes each after 30: byte 2000 is inside one */
    struct fq_actions a;
    say(text, &a);
    expect_state(&a, "submitted");
    actions_cleanup(&a);
    struct fq_case k;
    cr_assert_eq(store_case_get(st, no, &k), FQ_OK);
    size_t len = 0;
    cr_assert_eq(store_case_events(st, k.id, note_length, &len), FQ_OK);
    case_cleanup(&k);
    cr_assert_eq(len, 1998, "the last whole character within %d bytes: %zu",
                 SUPPLEMENT_MAX_TEXT, len);
    free(no);
}

/* The question's options by ordinal and by a part of their label (docs/contract.md 6.2.1). */
Test(supplement, the_question_answered_by_ordinal_or_part_of_a_label)
{
    char *no = file_case();
    ctx.now += 3 * DAY;
    struct fq_actions a;
    say("情况有变化，请尽快处理", &a);
    expect_state(&a, "ask_supplement");
    actions_cleanup(&a);
    say("第一个", &a);
    expect_state(&a, "submitted");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "supplement_added"));
    actions_cleanup(&a);
    cr_assert_eq(supplements(no).n, 1);

    say("事情需要处理，麻烦看一下", &a);
    expect_state(&a, "ask_supplement");
    actions_cleanup(&a);
    say("新的事情", &a);                 /* a part of the new-report option's label */
    expect_state(&a, "ask_category");
    actions_cleanup(&a);
    cr_assert_eq(supplements(no).n, 1);

    say("取消", &a);
    actions_cleanup(&a);
    say("事情需要处理，麻烦看一下", &a);
    expect_state(&a, "ask_supplement");
    actions_cleanup(&a);
    say("the last one", &a);
    expect_state(&a, "ask_category");
    actions_cleanup(&a);
    cr_assert_eq(supplements(no).n, 1);
    free(no);
}

/* test_intake.c: the resident's conversation (handlers/intake.c) end to end through the real
 * parts: a SQLite store in a temporary directory (store_open), the catalogs of locales/, a roster
 * built by hand and stored, the real case_open and routing. Each message runs in its own
 * transaction, as the core does. Expected texts are taken from the lexicon, so the tests check
 * which message was chosen, not its wording. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/classify.h"
#include "handlers/i18n.h"
#include "handlers/intake.h"
#include "store/case_table.h"
#include "store/convo.h"
#include "store/roster_table.h"
#include "store/store.h"

static struct fq_lexicon *lx;
static struct fq_roster *ro;
static struct fq_config *cfg;
static struct store *st;
static struct fq_ctx ctx;
static char dir[64];
static int msg_seq;

static const char *locales_dir(void)
{
    static const char *const cands[] = {"locales", "../locales", "../../locales"};
    for (size_t i = 0; i < 3; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/zh-CN.json", cands[i]);
        if (access(p, R_OK) == 0)
            return cands[i];
    }
    return "locales";
}

static char **strv(const char *a)
{
    char **v = calloc(1, sizeof *v);
    v[0] = strdup(a);
    return v;
}

static void add_org(const char *id, const char *name, enum fq_level level, const char *parent,
                    const char *alias, double lat, double lon)
{
    ro->org = realloc(ro->org, (ro->n_org + 1) * sizeof *ro->org);
    struct fq_org *o = &ro->org[ro->n_org++];
    memset(o, 0, sizeof *o);
    o->id = strdup(id);
    o->name = strdup(name);
    o->parent_id = parent ? strdup(parent) : NULL;
    o->level = level;
    if (alias) {
        o->aliases = strv(alias);
        o->n_aliases = 1;
    }
    o->has_coord = lat != 0;
    o->latitude = lat;
    o->longitude = lon;
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
    m->categories = strv("*");
    m->n_categories = 1;
    m->active = true;
}

static void setup(void)
{
    char *cause = NULL;
    cr_assert_eq(locale_load(locales_dir(), &lx, &cause), FQ_OK, "%s", cause ? cause : "");
    ro = roster_new();
    add_org("county-zj", "诸暨市", FQ_LEVEL_COUNTY, NULL, NULL, 0, 0);
    add_org("town-fq", "枫桥镇", FQ_LEVEL_TOWN, "county-zj", NULL, 0, 0);
    add_org("vil-fy", "枫源村", FQ_LEVEL_VILLAGE, "town-fq", "枫源", 0, 0);
    add_org("grid-fy-01", "枫源村第一网格", FQ_LEVEL_GRID, "vil-fy", "一网格", 29.73, 120.45);
    add_org("grid-fy-02", "枫源村第二网格", FQ_LEVEL_GRID, "vil-fy", "二网格", 29.80, 120.55);
    add_org("vil-cj", "陈家村", FQ_LEVEL_VILLAGE, "town-fq", NULL, 0, 0);
    add_med("m-wang", "王建国", "grid_worker", "grid-fy-01");
    add_med("m-chen", "陈秀英", "village_mediator", "vil-fy");
    add_med("m-li", "李司法", "town_mediator", "town-fq");
    char *prob = NULL;
    cr_assert_eq(roster_validate(ro, &prob), FQ_OK, "%s", prob ? prob : "");

    strcpy(dir, "/tmp/fq-intake-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/fq.db", dir);
    cr_assert_eq(store_open(path, &st, &cause), FQ_OK, "store_open: %s", cause ? cause : "");
    cr_assert_eq(store_begin(st), FQ_OK);
    cr_assert_eq(store_roster_replace(st, ro), FQ_OK, "%s", store_errmsg(st));
    cr_assert_eq(store_commit(st), FQ_OK);

    cfg = config_new_defaults();
    cr_assert_not_null(cfg);
    ctx = (struct fq_ctx){.store = st, .cfg = cfg, .lex = lx, .roster = ro,
                          .now = 1795000000};      /* 2026-11-18 */
}

static void teardown(void)
{
    store_close(st);
    char p[128];
    const char *files[] = {"fq.db", "fq.db-wal", "fq.db-shm", "fq.db-journal"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
    config_free(cfg);
    roster_free(ro);
    lexicon_free(lx);
}

TestSuite(intake, .init = setup, .fini = teardown);

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

/* Drives u-1 to ask_category with "hello". */
static void to_ask_category(struct fq_actions *a)
{
    say("你好", a);
    expect_state(a, "ask_category");
}

/* ---- the walk ------------------------------------------------------------------------------ */
Test(intake, full_walk_to_submission)
{
    struct fq_actions a;
    say("你好", &a);
    expect_state(&a, "ask_category");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "greeting"));
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_category"));
    cr_assert_eq(a.answer.n_options, FQ_N_CATEGORIES);
    cr_assert_str_eq(a.answer.options[0].key, "1");
    cr_assert_str_eq(a.answer.options[0].label, "邻里纠纷");
    cr_assert_str_eq(a.answer.options[13].key, "14");
    cr_assert_str_eq(a.answer.options[13].label, "其他");
    cr_assert(reply_has(&a, "14. 其他"), "the menu is in the question text");
    actions_cleanup(&a);

    say("1", &a);
    expect_state(&a, "ask_location");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_location"));
    actions_cleanup(&a);

    say("枫源村第一网格", &a);
    expect_state(&a, "ask_description");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_description"));
    actions_cleanup(&a);

    say("邻居在楼道堆杂物，沟通无果", &a);
    expect_state(&a, "ask_contact");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_contact"));
    actions_cleanup(&a);

    say("13812345678", &a);
    expect_state(&a, "confirm");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "confirm"));
    cr_assert(reply_has(&a, "邻里纠纷"));
    cr_assert(reply_has(&a, "枫源村第一网格"));
    cr_assert(reply_has(&a, "楼道堆杂物"));
    cr_assert(reply_has(&a, "13812345678"));
    cr_assert_eq(a.answer.n_options, 3);
    cr_assert_str_eq(a.answer.options[0].key, "1");
    cr_assert_str_eq(a.answer.options[2].key, "0");
    actions_cleanup(&a);

    struct fq_msg *m = new_msg("u-1", "text");
    m->text = strdup("1");
    m->name = strdup("李女士");
    run(m, &a);
    expect_state(&a, "submitted");
    cr_assert_not_null(a.answer.case_no);
    regex_t re;
    cr_assert_eq(regcomp(&re, "^FQ[0-9]{8}-[0-9]{4}$", REG_EXTENDED), 0);
    cr_assert_eq(regexec(&re, a.answer.case_no, 0, NULL, 0), 0, "%s", a.answer.case_no);
    regfree(&re);
    cr_assert(reply_has(&a, a.answer.case_no), "the receipt names the case");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "receipt"));

    struct fq_case k;
    cr_assert_eq(store_case_get(st, a.answer.case_no, &k), FQ_OK);
    cr_assert_str_eq(k.category, "neighbour");
    cr_assert_str_eq(k.place_org, "grid-fy-01");
    cr_assert_str_eq(k.contact, "13812345678");
    cr_assert_str_eq(k.description, "邻居在楼道堆杂物，沟通无果");
    cr_assert_str_eq(k.channel, "web");
    cr_assert_str_eq(k.user, "u-1");
    cr_assert_eq(k.severity, FQ_SEV_BLUE);
    cr_assert_str_eq(k.name, "李女士");
    case_cleanup(&k);

    struct fq_convo cv = convo("u-1");
    cr_assert_str_eq(fq_convo_state_name(cv.state), "submitted");
    cr_assert_str_eq(cv.last_case_no, a.answer.case_no);
    cr_assert_null(cv.category, "the draft is cleared");
    convo_cleanup(&cv);
    actions_cleanup(&a);

    /* the next report reuses the stored phone: no ask_contact */
    say("枫源村第二网格 楼上邻居半夜噪音扰民", &a);
    expect_state(&a, "confirm");
    cr_assert(reply_has(&a, "13812345678"));
    actions_cleanup(&a);
}

Test(intake, one_message_goes_to_confirm)
{
    struct fq_actions a;
    say("枫源村第一网格邻居在楼道堆杂物，沟通无果，电话13812345678", &a);
    expect_state(&a, "confirm");
    cr_assert_not(reply_from(&a, FQ_LOC_ZH_CN, "greeting"));
    struct fq_convo cv = convo("u-1");
    cr_assert_str_eq(cv.category, "neighbour");
    cr_assert_str_eq(cv.org_id, "grid-fy-01");
    cr_assert_str_eq(cv.contact, "13812345678");
    cr_assert_not_null(cv.description);
    convo_cleanup(&cv);
    actions_cleanup(&a);
}

Test(intake, partial_first_message_asks_only_what_is_missing)
{
    struct fq_actions a;
    say("包工头拖欠我们工资三个月了", &a);     /* category and description, no place */
    expect_state(&a, "ask_location");
    actions_cleanup(&a);
    say("一网格", &a);
    expect_state(&a, "ask_contact");
    struct fq_convo cv = convo("u-1");
    cr_assert_str_eq(cv.category, "wage");
    cr_assert_str_eq(cv.org_id, "grid-fy-01");
    convo_cleanup(&cv);
    actions_cleanup(&a);
}

Test(intake, every_choice_form)
{
    const char *forms[] = {"1", "１", "一", "①", "1.", "1、", "十四", "⑭", "１４", "14"};
    const char *want[] = {"neighbour", "neighbour", "neighbour", "neighbour", "neighbour",
                          "neighbour", "other", "other", "other", "other"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        char user[16];
        snprintf(user, sizeof user, "c-%zu", i);
        struct fq_actions a;
        say_as(user, "你好", &a);
        actions_cleanup(&a);
        say_as(user, forms[i], &a);
        expect_state(&a, "ask_location");
        struct fq_convo cv = convo(user);
        cr_assert_str_eq(cv.category, want[i], "form \"%s\"", forms[i]);
        convo_cleanup(&cv);
        actions_cleanup(&a);
    }
    /* a category label or keyword also answers */
    struct fq_actions a;
    say_as("c-label", "你好", &a);
    actions_cleanup(&a);
    say_as("c-label", "物业纠纷", &a);
    expect_state(&a, "ask_location");
    actions_cleanup(&a);
    /* out of range: re-asked */
    say_as("c-bad", "你好", &a);
    actions_cleanup(&a);
    say_as("c-bad", "15", &a);
    expect_state(&a, "ask_category");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "invalid_choice"));
    cr_assert_eq(a.answer.n_options, FQ_N_CATEGORIES);
    actions_cleanup(&a);
}

Test(intake, place_retry_offers_options_and_location_message)
{
    struct fq_actions a;
    to_ask_category(&a);
    actions_cleanup(&a);
    say("1", &a);
    actions_cleanup(&a);
    say("杭州", &a);
    expect_state(&a, "ask_location");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_location_retry"));
    cr_assert_eq(a.answer.n_options, 4, "villages and grids of the roster");
    cr_assert_str_eq(a.answer.options[3].label, "陈家村");
    actions_cleanup(&a);
    say("4", &a);
    expect_state(&a, "ask_description");
    struct fq_convo cv = convo("u-1");
    cr_assert_str_eq(cv.org_id, "vil-cj");
    convo_cleanup(&cv);
    actions_cleanup(&a);

    /* a location message picks the nearest grid */
    say_as("u-loc", "你好", &a);
    actions_cleanup(&a);
    say_as("u-loc", "1", &a);
    actions_cleanup(&a);
    struct fq_msg *m = new_msg("u-loc", "location");
    m->has_location = true;
    m->latitude = 29.79;
    m->longitude = 120.54;
    run(m, &a);
    expect_state(&a, "ask_description");
    cv = convo("u-loc");
    cr_assert_str_eq(cv.org_id, "grid-fy-02");
    cr_assert(cv.has_location);
    convo_cleanup(&cv);
    actions_cleanup(&a);
}

Test(intake, media_description_skip_and_invalid_phone)
{
    struct fq_actions a;
    say("枫源村第一网格 邻里纠纷", &a);
    expect_state(&a, "ask_description");
    actions_cleanup(&a);
    struct fq_msg *m = new_msg("u-1", "image");
    m->media_url = strdup("https://example.org/p.jpg");
    run(m, &a);
    expect_state(&a, "ask_contact");
    struct fq_convo cv = convo("u-1");
    cr_assert_not_null(cv.description);
    const char *img = i18n_get(lx, FQ_LOC_ZH_CN, "media_image");
    cr_assert_eq(strncmp(cv.description, img, strcspn(img, "{")), 0, "%s", cv.description);
    cr_assert(strstr(cv.description, "https://example.org/p.jpg"));
    convo_cleanup(&cv);
    actions_cleanup(&a);

    say("12345", &a);
    expect_state(&a, "ask_contact");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "invalid_phone"));
    actions_cleanup(&a);
    say("跳过", &a);
    expect_state(&a, "confirm");
    cr_assert(reply_has(&a, i18n_get(lx, FQ_LOC_ZH_CN, "contact_none")));
    actions_cleanup(&a);
    say("1", &a);
    expect_state(&a, "submitted");
    struct fq_case k;
    cr_assert_eq(store_case_get(st, a.answer.case_no, &k), FQ_OK);
    cr_assert_null(k.contact, "a skipped contact is no contact");
    case_cleanup(&k);
    actions_cleanup(&a);
}

Test(intake, confirm_restart_cancel_and_invalid)
{
    struct fq_actions a;
    say("枫源村第一网格邻居在楼道堆杂物，沟通无果，电话13812345678", &a);
    expect_state(&a, "confirm");
    actions_cleanup(&a);
    say("5", &a);
    expect_state(&a, "confirm");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "invalid_choice"));
    actions_cleanup(&a);
    say("②", &a);
    expect_state(&a, "ask_category");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "restarted"));
    struct fq_convo cv = convo("u-1");
    cr_assert_null(cv.category);
    cr_assert_null(cv.description);
    convo_cleanup(&cv);
    actions_cleanup(&a);

    say("二", &a);      /* at ask_category after the restart: family */
    expect_state(&a, "ask_location");
    cv = convo("u-1");
    cr_assert_str_eq(cv.category, "family");
    convo_cleanup(&cv);
    actions_cleanup(&a);

    say_as("u-2", "枫源村第一网格邻居在楼道堆杂物，沟通无果，电话13812345678", &a);
    expect_state(&a, "confirm");
    actions_cleanup(&a);
    say_as("u-2", "0", &a);
    expect_state(&a, "idle");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "cancelled"));
    actions_cleanup(&a);
    int64_t n = -1;
    cr_assert_eq(store_case_count_by_resident(st, "web", "u-2", 0, &n), FQ_OK);
    cr_assert_eq(n, 0);
}

Test(intake, cancel_anywhere)
{
    struct fq_actions a;
    say("取消", &a);
    expect_state(&a, "idle");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "nothing_to_cancel"));
    actions_cleanup(&a);
    to_ask_category(&a);
    actions_cleanup(&a);
    say("1", &a);
    actions_cleanup(&a);
    say("cancel", &a);
    expect_state(&a, "idle");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "cancelled"));
    struct fq_convo cv = convo("u-1");
    cr_assert_null(cv.category);
    convo_cleanup(&cv);
    actions_cleanup(&a);
}

Test(intake, status_lists_cases)
{
    struct fq_actions a;
    say("进度", &a);
    expect_state(&a, "idle");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "status_none"));
    actions_cleanup(&a);

    say("枫源村第一网格邻居在楼道堆杂物，沟通无果，电话13812345678", &a);
    actions_cleanup(&a);
    say("1", &a);
    char *no = strdup(a.answer.case_no);
    actions_cleanup(&a);

    say("包工头拖欠工资", &a);            /* a draft in progress: status, then the open question */
    expect_state(&a, "ask_location");
    actions_cleanup(&a);
    say("查询", &a);
    expect_state(&a, "ask_location");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "status_header"));
    cr_assert(reply_has(&a, no));
    cr_assert(reply_has(&a, "邻里纠纷"));
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_location"));
    actions_cleanup(&a);

    say_as("u-other", "status", &a);   /* a first message in English: answered in English */
    cr_assert(reply_from(&a, FQ_LOC_EN, "status_none"), "another resident sees none");
    actions_cleanup(&a);
    free(no);
}

Test(intake, language_switch)
{
    struct fq_actions a;
    to_ask_category(&a);
    actions_cleanup(&a);
    say("English", &a);
    expect_state(&a, "ask_category");
    cr_assert(reply_from(&a, FQ_LOC_EN, "lang_switched"));
    cr_assert(reply_from(&a, FQ_LOC_EN, "ask_category"));
    cr_assert_str_eq(a.answer.options[0].label, "Neighbour dispute");
    actions_cleanup(&a);
    say("1", &a);
    expect_state(&a, "ask_location");
    cr_assert(reply_from(&a, FQ_LOC_EN, "ask_location"));
    actions_cleanup(&a);
    say("繁體", &a);
    expect_state(&a, "ask_location");
    cr_assert(reply_from(&a, FQ_LOC_ZH_TW, "lang_switched"));
    cr_assert(reply_from(&a, FQ_LOC_ZH_TW, "ask_location"));
    actions_cleanup(&a);
    struct fq_convo cv = convo("u-1");
    cr_assert_eq(cv.locale, FQ_LOC_ZH_TW);
    convo_cleanup(&cv);
    struct fq_resident r;
    cr_assert_eq(store_resident_get(st, "web", "u-1", &r), FQ_OK);
    cr_assert_eq(r.locale, FQ_LOC_ZH_TW, "the choice persists in the resident row");
    resident_cleanup(&r);

    /* the choice survives into a later report, over an English text and a message's locale
     * field alike (docs/contract.md 6.3) */
    say("cancel", &a);
    actions_cleanup(&a);
    say("hello", &a);
    cr_assert(reply_from(&a, FQ_LOC_ZH_TW, "greeting"));
    cr_assert_str_eq(a.answer.options[0].label, "鄰里糾紛");
    actions_cleanup(&a);
    struct fq_msg *m = new_msg("u-1", "text");
    m->text = strdup("1");
    m->locale = strdup("en");
    run(m, &a);
    cr_assert(reply_from(&a, FQ_LOC_ZH_TW, "ask_location"));
    actions_cleanup(&a);
    say("中文", &a);
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "lang_switched"));
    actions_cleanup(&a);

    /* without a choice, the locale field sets the language as before */
    m = new_msg("u-2", "text");
    m->text = strdup("1");
    m->locale = strdup("en");
    run(m, &a);
    cr_assert(reply_from(&a, FQ_LOC_EN, "greeting"));
    actions_cleanup(&a);
}

Test(intake, help_keeps_the_question)
{
    struct fq_actions a;
    to_ask_category(&a);
    actions_cleanup(&a);
    say("帮助", &a);
    expect_state(&a, "ask_category");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "help"));
    cr_assert_eq(a.answer.n_options, FQ_N_CATEGORIES);
    actions_cleanup(&a);
    say("？", &a);
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "help"));
    actions_cleanup(&a);
}

Test(intake, idle_timeout_drops_the_draft)
{
    struct fq_actions a;
    int64_t t0 = ctx.now;
    to_ask_category(&a);
    actions_cleanup(&a);
    say("1", &a);
    expect_state(&a, "ask_location");
    actions_cleanup(&a);

    ctx.now = t0 + cfg->conversation_idle_timeout - 10;   /* within the timeout: kept */
    say("帮助", &a);
    expect_state(&a, "ask_location");
    cr_assert_not(reply_from(&a, FQ_LOC_ZH_CN, "idle_dropped"));
    actions_cleanup(&a);

    ctx.now += cfg->conversation_idle_timeout + 1;
    say("你好", &a);
    cr_assert_gt(a.answer.n_replies, 1);
    const char *notice = i18n_get(lx, FQ_LOC_ZH_CN, "idle_dropped");
    cr_assert_str_eq(a.answer.replies[0], notice, "the notice comes first");
    expect_state(&a, "ask_category");
    struct fq_convo cv = convo("u-1");
    cr_assert_null(cv.category, "the draft was dropped");
    convo_cleanup(&cv);
    actions_cleanup(&a);
    ctx.now = t0;
}

Test(intake, danger_is_red_and_says_110_at_once)
{
    struct fq_actions a;
    say("枫源村第一网格两家人要打架了，十几个人拿着棍子", &a);
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "emergency_110"));
    actions_cleanup(&a);
    struct fq_convo cv = convo("u-1");
    cr_assert(cv.danger);
    cr_assert_geq(cv.people, 10);
    const char *state = NULL;
    convo_cleanup(&cv);
    /* finish whatever is asked until confirm */
    for (int i = 0; i < 4; i++) {
        say(i == 0 ? "1" : "13812345678", &a);
        state = a.answer.state;
        bool done = strcmp(state, "confirm") == 0;
        actions_cleanup(&a);
        if (done)
            break;
    }
    say("1", &a);
    expect_state(&a, "submitted");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "receipt_red"));
    struct fq_case k;
    cr_assert_eq(store_case_get(st, a.answer.case_no, &k), FQ_OK);
    cr_assert_eq(k.severity, FQ_SEV_RED);
    case_cleanup(&k);
    actions_cleanup(&a);
}

/* ---- choosing by ordinal and part of a label, corrections, emoji, language ---------------- */
static char *convo_field(const char *user, int which)
{
    struct fq_convo cv = convo(user);
    const char *v = which == 0 ? cv.category : which == 1 ? cv.org_id
                  : which == 2 ? cv.description : cv.contact;
    char *r = v ? strdup(v) : NULL;
    convo_cleanup(&cv);
    return r;
}

static void expect_field(const char *user, int which, const char *want)
{
    char *v = convo_field(user, which);
    if (want)
        cr_assert(v && strcmp(v, want) == 0, "field %d is %s, expected %s", which,
                  v ? v : "(null)", want);
    else
        cr_assert_null(v, "field %d is %s, expected none", which, v);
    free(v);
}

Test(intake, ordinals_parts_and_corrections_to_submission)
{
    struct fq_actions a;
    to_ask_category(&a);
    actions_cleanup(&a);
    say("纠纷", &a);                   /* a part of three labels: those three are asked */
    expect_state(&a, "ask_category");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_category_likely"));
    cr_assert_eq(a.answer.n_options, 4);
    cr_assert_str_eq(a.answer.options[1].label, "物业纠纷");
    actions_cleanup(&a);
    say("第二个", &a);                 /* the second of those */
    expect_state(&a, "ask_location");
    expect_field("u-1", 0, "property");
    actions_cleanup(&a);
    say("火星", &a);                   /* no such place: the places as a menu */
    expect_state(&a, "ask_location");
    cr_assert_gt(a.answer.n_options, 3);
    actions_cleanup(&a);
    say("第三个", &a);
    expect_state(&a, "ask_description");
    expect_field("u-1", 1, "grid-fy-02");
    actions_cleanup(&a);
    say("楼上漏水一个多月了，物业一直不来修", &a);
    expect_state(&a, "ask_contact");
    actions_cleanup(&a);
    say("跳过", &a);
    expect_state(&a, "confirm");
    actions_cleanup(&a);

    say("地点不对，是陈家村", &a);     /* a correction: the field changes, the summary again */
    expect_state(&a, "confirm");
    cr_assert(reply_has(&a, "陈家村"));
    expect_field("u-1", 1, "vil-cj");
    actions_cleanup(&a);
    say("電話改成 13900001111", &a);
    expect_state(&a, "confirm");
    cr_assert(reply_has(&a, "13900001111"));
    expect_field("u-1", 3, "13900001111");
    actions_cleanup(&a);
    say("类别错了，是劳动争议", &a);
    expect_state(&a, "confirm");
    expect_field("u-1", 0, "wage");
    actions_cleanup(&a);
    say("电话改成 12345", &a);         /* validated as when first asked */
    expect_state(&a, "ask_contact");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "invalid_phone"));
    actions_cleanup(&a);
    say("13700001111", &a);
    expect_state(&a, "confirm");
    actions_cleanup(&a);
    say("描述改成：楼上漏水一个多月了，物业一直不来修。", &a);   /* kept as written */
    expect_state(&a, "confirm");
    expect_field("u-1", 2, "楼上漏水一个多月了，物业一直不来修。");
    actions_cleanup(&a);
    say("情况改成：楼上漏水一个多月了，物业一直不来修", &a);
    expect_state(&a, "confirm");
    actions_cleanup(&a);
    say("地点不对", &a);               /* a field without a value: its question */
    expect_state(&a, "ask_location");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_location"));
    actions_cleanup(&a);
    say("枫源村第一网格", &a);
    expect_state(&a, "confirm");
    actions_cleanup(&a);
    say("the first one", &a);
    expect_state(&a, "submitted");
    cr_assert_not_null(a.answer.case_no);
    struct fq_case k;
    cr_assert_eq(store_case_get(st, a.answer.case_no, &k), FQ_OK);
    cr_expect_str_eq(k.category, "wage");
    cr_expect_str_eq(k.place_org, "grid-fy-01");
    cr_expect_str_eq(k.contact, "13700001111");
    cr_expect_str_eq(k.description, "楼上漏水一个多月了，物业一直不来修");
    case_cleanup(&k);
    actions_cleanup(&a);
}

/* A category or place chosen by a part of its label or an ordinal is not also the description. */
Test(intake, a_choice_is_no_description)
{
    struct fq_actions a;
    to_ask_category(&a);
    actions_cleanup(&a);
    say("劳动争议", &a);
    expect_state(&a, "ask_location");
    expect_field("u-1", 0, "wage");
    expect_field("u-1", 2, NULL);
    actions_cleanup(&a);
    say("the first one", &a);          /* no menu of places was shown: not a choice */
    expect_state(&a, "ask_location");
    expect_field("u-1", 1, NULL);
    cr_assert_gt(a.answer.n_options, 3, "now the menu");
    actions_cleanup(&a);
    say("the second one", &a);
    expect_state(&a, "ask_description");
    expect_field("u-1", 1, "grid-fy-01");
    expect_field("u-1", 2, NULL);
    actions_cleanup(&a);
}

Test(intake, last_ones_and_the_safety_question)
{
    struct fq_actions a;
    to_ask_category(&a);
    actions_cleanup(&a);
    say("最后一个", &a);
    expect_state(&a, "ask_location");
    expect_field("u-1", 0, "other");
    actions_cleanup(&a);

    say_as("u-2", "枫源村第一网格邻居在楼道堆放杂物，多次沟通无果，电话13800000000", &a);
    expect_state(&a, "confirm");
    actions_cleanup(&a);
    say_as("u-2", "最後嗰個", &a);     /* the last option of the summary: cancel */
    expect_state(&a, "idle");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "cancelled"));
    actions_cleanup(&a);

    say_as("u-3", "枫源村第一网格的邻居说要我好看，天天在门口骂", &a);
    expect_state(&a, "ask_safety");
    actions_cleanup(&a);
    say_as("u-3", "危险", &a);         /* a part of both labels: both offered again */
    expect_state(&a, "ask_safety");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "choice_ambiguous"));
    cr_assert_eq(a.answer.n_options, 2);
    actions_cleanup(&a);
    say_as("u-3", "第二个", &a);       /* no danger: on with the report */
    cr_assert_str_neq(a.answer.state, "ask_safety");
    struct fq_convo cv = convo("u-3");
    cr_assert_not(cv.danger);
    convo_cleanup(&cv);
    actions_cleanup(&a);

    say_as("u-4", "枫源村第一网格的邻居说要我好看，天天在门口骂", &a);
    actions_cleanup(&a);
    say_as("u-4", "头一个", &a);       /* yes: red, 110 at once */
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "emergency_110"));
    cv = convo("u-4");
    cr_assert(cv.danger);
    convo_cleanup(&cv);
    actions_cleanup(&a);
}

Test(intake, emoji_and_punctuation_are_never_facts)
{
    struct fq_actions a;
    say("😀😀😀😀", &a);                 /* long enough to pass for a description by count */
    expect_state(&a, "ask_category");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "wordless_reask"));
    expect_field("u-1", 2, NULL);
    actions_cleanup(&a);
    say("👍👍👍👍", &a);
    expect_state(&a, "ask_category");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "wordless_reask"));
    cr_assert_not(reply_from(&a, FQ_LOC_ZH_CN, "invalid_choice"));
    expect_field("u-1", 0, NULL);
    actions_cleanup(&a);
    say("1", &a);
    expect_state(&a, "ask_location");
    actions_cleanup(&a);
    say("🙏🙏🙏", &a);
    expect_state(&a, "ask_location");
    expect_field("u-1", 1, NULL);
    actions_cleanup(&a);
    say("枫源村第一网格", &a);
    expect_state(&a, "ask_description");
    actions_cleanup(&a);
    const char *none[] = {"😂😂😂😂😂", "？？？", "[捂脸][捂脸]", "……", "❤️"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
        say(none[i], &a);
        expect_state(&a, "ask_description");
        cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "wordless_reask"), "%s", none[i]);
        cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "ask_description"), "%s", none[i]);
        expect_field("u-1", 2, NULL);
        actions_cleanup(&a);
    }
    /* in English too */
    say("English", &a);
    actions_cleanup(&a);
    say("👍", &a);
    expect_state(&a, "ask_description");
    cr_assert(reply_from(&a, FQ_LOC_EN, "wordless_reask"));
    actions_cleanup(&a);
}

static struct fq_actions say_loc(const char *user, const char *text, const char *locale)
{
    struct fq_actions a;
    struct fq_msg *m = new_msg(user, "text");
    m->text = strdup(text);
    if (locale)
        m->locale = strdup(locale);
    run(m, &a);
    return a;
}

Test(intake, the_first_message_sets_the_language)
{
    char err[256];
    struct classify_model *cm = classify_model_open(NULL, 0, err, sizeof err);
    cr_assert_not_null(cm, "%s", err);
    ctx.catm = cm;

    /* Traditional from a zh-CN resident: Traditional from then on, and how to switch back */
    struct fq_actions a = say_loc("tw", "我家樓上漏水，已經一個星期了，沒人管", "zh-CN");
    cr_assert(reply_from(&a, FQ_LOC_ZH_TW, "lang_detected"));
    cr_assert(reply_has(&a, i18n_get(lx, FQ_LOC_ZH_CN, "lang_switch_back")));
    struct fq_convo cv = convo("tw");
    cr_assert_eq(cv.locale, FQ_LOC_ZH_TW);
    convo_cleanup(&cv);
    actions_cleanup(&a);
    a = say_loc("tw", "跳过", "zh-CN");     /* the conversation keeps its language */
    cr_assert_not(reply_from(&a, FQ_LOC_ZH_TW, "lang_detected"));
    cv = convo("tw");
    cr_assert_eq(cv.locale, FQ_LOC_ZH_TW);
    convo_cleanup(&cv);
    actions_cleanup(&a);

    /* English */
    a = say_loc("en", "My neighbour keeps blocking the stairwell with junk", "zh-CN");
    cr_assert(reply_from(&a, FQ_LOC_EN, "lang_detected"));
    cr_assert(reply_has(&a, i18n_get(lx, FQ_LOC_ZH_CN, "lang_switch_back")));
    actions_cleanup(&a);
    a = say_loc("en", "1", "zh-CN");
    cr_assert(a.answer.n_replies > 0);
    cr_assert_not(reply_from(&a, FQ_LOC_ZH_CN, "ask_location"));
    cv = convo("en");
    cr_assert_eq(cv.locale, FQ_LOC_EN);
    convo_cleanup(&cv);
    actions_cleanup(&a);
    a = say_loc("en", "简体", NULL);        /* the way back */
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "lang_switched"));
    actions_cleanup(&a);

    /* Simplified from an English resident */
    a = say_loc("cn", "我家楼上漏水，已经一个星期了", "en");
    cr_assert(reply_from(&a, FQ_LOC_ZH_CN, "lang_detected"));
    cr_assert(reply_has(&a, i18n_get(lx, FQ_LOC_EN, "lang_switch_back")));
    actions_cleanup(&a);

    /* a chosen language wins over the text */
    a = say_loc("ch", "繁體", NULL);
    actions_cleanup(&a);
    a = say_loc("ch", "My neighbour keeps blocking the stairwell with junk", "en");
    cr_assert_not(reply_from(&a, FQ_LOC_EN, "lang_detected"));
    cv = convo("ch");
    cr_assert_eq(cv.locale, FQ_LOC_ZH_TW);
    convo_cleanup(&cv);
    actions_cleanup(&a);

    /* text without a sign (a greeting either script writes alike) changes nothing */
    a = say_loc("tw2", "你好", "zh-TW");
    cr_assert_not(reply_from(&a, FQ_LOC_ZH_CN, "lang_detected"));
    cr_assert(reply_from(&a, FQ_LOC_ZH_TW, "greeting"));
    actions_cleanup(&a);

    ctx.catm = NULL;
    classify_model_close(cm);
}

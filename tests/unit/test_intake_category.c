/* test_intake_category.c: the category question of the resident's conversation
 * (handlers/intake.c, docs/contract.md 6.1) with the embedded category model, through the real
 * parts: a SQLite store, the catalogs of locales/, the model as the core opens it
 * (classify_model_open), case_open. A sure first message fills the category without asking; an
 * unsure one is asked with the likeliest listed first (numbers map to what was shown, the last
 * number shows the full menu); a text without substance gets the full menu. And a shared
 * location is kept on the case with its coordinates (docs/contract.md 4.2, 6.1). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fq.h"
#include "handlers/actions.h"
#include "handlers/classify.h"
#include "handlers/i18n.h"
#include "handlers/intake.h"
#include "store/case_table.h"
#include "store/convo.h"
#include "store/store.h"
#include "tests/unit/helpers/world.h"

extern const char fq_category_model[];
extern const size_t fq_category_model_len;

static struct world w;
static struct classify_model *cm;
static int seq;

/* a message that names a category without the model being sure (checked below) */
#define UNSURE "我们两家的事情拖了很久，想找个人评评理"
#define SURE "老板拖欠我们三个月的工资，一直不给"

static void setup(void)
{
    world_open(&w, "intake-cat");
    world_add_med(&w, "m-wang", "王建国", "grid_worker", "grid-fy-01", "*", true, false);
    w.ro->org[3].has_coord = true;
    w.ro->org[3].latitude = 29.73;
    w.ro->org[3].longitude = 120.45;
    world_ready(&w);
    char err[256];
    cm = classify_model_open(fq_category_model, fq_category_model_len, err, sizeof err);
    cr_assert_not_null(cm, "%s", err);
    classify_roster_prepare(w.ro, cm);
    w.ctx.catm = cm;
}

static void teardown(void)
{
    classify_model_close(cm);
    world_close(&w);
}

TestSuite(intake_category, .init = setup, .fini = teardown);

static void run(struct fq_msg *m, struct fq_actions *a)
{
    actions_init(a);
    cr_assert_eq(store_begin(w.st), FQ_OK);
    enum fq_err err = intake_on_message(&w.ctx, m, a);
    cr_assert_eq(err, FQ_OK, "intake_on_message: %s", fq_strerror(err));
    cr_assert_eq(store_commit(w.st), FQ_OK);
    cr_assert_not(a->oom);
    fq_msg_free(m);
}

static struct fq_msg *new_msg(const char *user, const char *type)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    m->channel = strdup("web");
    m->user = strdup(user);
    char id[32];
    snprintf(id, sizeof id, "m-%d", ++seq);
    m->message_id = strdup(id);
    m->type = strdup(type);
    m->at = w.ctx.now;
    return m;
}

static void say(const char *user, const char *text, struct fq_actions *a)
{
    struct fq_msg *m = new_msg(user, "text");
    m->text = strdup(text);
    run(m, a);
}

static bool reply_from(const struct fq_actions *a, const char *key)
{
    const char *t = i18n_get(w.lex, FQ_LOC_ZH_CN, key);
    size_t n = strcspn(t, "{");
    for (size_t i = 0; i < a->answer.n_replies; i++)
        if (strncmp(a->answer.replies[i], t, n) == 0)
            return true;
    return false;
}

static struct fq_convo convo(const char *user)
{
    struct fq_convo cv;
    cr_assert_eq(store_convo_get(w.st, "web", user, &cv), FQ_OK);
    return cv;
}

Test(intake_category, the_examples_are_what_they_claim)
{
    struct fq_classified c;
    classify_text_model(w.lex, w.ro, NULL, cm, SURE, &c);
    cr_assert_geq(c.category, 0);
    classify_cleanup(&c);
    classify_text_model(w.lex, w.ro, NULL, cm, UNSURE, &c);
    cr_assert_eq(c.category, -1);
    cr_assert_eq(c.n_guess, CLASSIFY_GUESSES);
    classify_cleanup(&c);
}

Test(intake_category, sure_first_message_is_not_asked)
{
    struct fq_actions a;
    say("u-sure", SURE, &a);
    cr_assert_str_neq(a.answer.state, "ask_category");
    cr_assert_not(reply_from(&a, "ask_category"));
    cr_assert_not(reply_from(&a, "ask_category_likely"));
    struct fq_convo cv = convo("u-sure");
    cr_assert_str_eq(cv.category, "wage");
    cr_assert_null(cv.category_offer);
    convo_cleanup(&cv);
    actions_cleanup(&a);
}

/* The short question: the likeliest numbered 1..n, n+1 for the full menu; "2" is the second. */
Test(intake_category, unsure_lists_the_likeliest_and_a_number_maps_to_them)
{
    struct fq_actions a;
    say("u-unsure", UNSURE, &a);
    cr_assert_str_eq(a.answer.state, "ask_category");
    cr_assert(reply_from(&a, "ask_category_likely"));
    cr_assert_not(reply_from(&a, "ask_category"));
    cr_assert_eq(a.answer.n_options, CLASSIFY_GUESSES + 1);
    struct fq_convo cv = convo("u-unsure");
    cr_assert_not_null(cv.category_offer);
    cr_assert_null(cv.category);
    char offer[128];
    snprintf(offer, sizeof offer, "%s", cv.category_offer);
    convo_cleanup(&cv);
    const char *ids[CLASSIFY_GUESSES];
    int n = 0;
    for (char *s = strtok(offer, ","); s && n < CLASSIFY_GUESSES; s = strtok(NULL, ","))
        ids[n++] = s;
    cr_assert_eq(n, CLASSIFY_GUESSES);
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i + 1);
        cr_assert_str_eq(a.answer.options[i].key, key);
        cr_assert_str_eq(a.answer.options[i].label, i18n_category(w.lex, FQ_LOC_ZH_CN, ids[i]));
    }
    cr_assert_str_eq(a.answer.options[n].label, i18n_get(w.lex, FQ_LOC_ZH_CN, "category_opt_all"));
    actions_cleanup(&a);

    /* a number that was not shown: asked again, the same short list */
    say("u-unsure", "9", &a);
    cr_assert_str_eq(a.answer.state, "ask_category");
    cr_assert(reply_from(&a, "invalid_choice"));
    cr_assert(reply_from(&a, "ask_category_likely"));
    cr_assert_eq(a.answer.n_options, CLASSIFY_GUESSES + 1);
    actions_cleanup(&a);

    say("u-unsure", "２", &a);
    cr_assert_str_neq(a.answer.state, "ask_category");
    cv = convo("u-unsure");
    cr_assert_str_eq(cv.category, ids[1], "the second shown, not the menu's second");
    cr_assert_null(cv.category_offer);
    cr_assert_not_null(cv.description, "the first message is the description");
    convo_cleanup(&cv);
    actions_cleanup(&a);
}

/* The last number shows the full menu; its numbers are the menu's. */
Test(intake_category, show_all_gives_the_full_menu)
{
    struct fq_actions a;
    say("u-all", UNSURE, &a);
    actions_cleanup(&a);
    say("u-all", "4", &a);
    cr_assert_str_eq(a.answer.state, "ask_category");
    cr_assert(reply_from(&a, "ask_category"));
    cr_assert_not(reply_from(&a, "invalid_choice"));
    cr_assert_eq(a.answer.n_options, FQ_N_CATEGORIES);
    actions_cleanup(&a);
    struct fq_convo cv = convo("u-all");
    cr_assert_null(cv.category_offer);
    convo_cleanup(&cv);
    say("u-all", "3", &a);
    cv = convo("u-all");
    cr_assert_str_eq(cv.category, fq_categories[2]);
    convo_cleanup(&cv);
    actions_cleanup(&a);
}

/* No signal (a greeting): the full menu, as without a model. */
Test(intake_category, greeting_gets_the_full_menu)
{
    struct fq_actions a;
    say("u-hi", "你好", &a);
    cr_assert_str_eq(a.answer.state, "ask_category");
    cr_assert(reply_from(&a, "ask_category"));
    cr_assert_eq(a.answer.n_options, FQ_N_CATEGORIES);
    actions_cleanup(&a);
    say("u-hi", "2", &a);
    struct fq_convo cv = convo("u-hi");
    cr_assert_str_eq(cv.category, fq_categories[1]);
    convo_cleanup(&cv);
    actions_cleanup(&a);
}

/* A shared location: the nearest grid, and the case keeps the coordinates. */
Test(intake_category, location_is_kept_on_the_case)
{
    struct fq_actions a;
    say("u-loc", SURE, &a);
    cr_assert_str_eq(a.answer.state, "ask_location");
    actions_cleanup(&a);
    struct fq_msg *m = new_msg("u-loc", "location");
    m->has_location = true;
    m->latitude = 29.7301;
    m->longitude = 120.4502;
    run(m, &a);
    actions_cleanup(&a);
    for (int i = 0; i < 4; i++) {
        struct fq_convo cv = convo("u-loc");
        enum fq_convo_state s = cv.state;
        convo_cleanup(&cv);
        if (s == FQ_CONVO_CONFIRM) {
            say("u-loc", "1", &a);
            break;
        }
        say("u-loc", s == FQ_CONVO_ASK_CONTACT ? "13812345678" : "已经拖了三个月了", &a);
        actions_cleanup(&a);
    }
    cr_assert_str_eq(a.answer.state, "submitted");
    cr_assert_not_null(a.answer.case_no);
    struct fq_case k;
    cr_assert_eq(store_case_get(w.st, a.answer.case_no, &k), FQ_OK);
    cr_assert(k.has_location);
    cr_assert_float_eq(k.latitude, 29.7301, 1e-9);
    cr_assert_float_eq(k.longitude, 120.4502, 1e-9);
    cr_assert_str_eq(k.place_org, "grid-fy-01");
    case_cleanup(&k);
    actions_cleanup(&a);

    /* a case without a shared location has none */
    say("u-noloc", SURE "，在枫源村第一网格，电话13812345679", &a);
    actions_cleanup(&a);
    say("u-noloc", "1", &a);
    cr_assert_str_eq(a.answer.state, "submitted");
    cr_assert_eq(store_case_get(w.st, a.answer.case_no, &k), FQ_OK);
    cr_assert_not(k.has_location);
    case_cleanup(&k);
    actions_cleanup(&a);
}

/* test_classify_model.c: the category as the daemon decides it with the embedded category model
 * (classify_text_model, handlers/classify.h) and place names found through the place keys
 * (classify_roster_prepare: OpenCC Traditional -> Simplified, full-width and case folding,
 * spaces and tone marks ignored), with the real catalogs of locales/. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/classify.h"
#include "handlers/i18n.h"

extern const char fq_category_model[];
extern const size_t fq_category_model_len;

static struct fq_lexicon *lx;
static struct fq_roster *ro;
static struct classify_model *cm;

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

static void add_org(struct fq_roster *r, const char *id, const char *name, enum fq_level level,
                    const char *parent, const char *const *aliases)
{
    r->org = realloc(r->org, (r->n_org + 1) * sizeof *r->org);
    struct fq_org *o = &r->org[r->n_org++];
    memset(o, 0, sizeof *o);
    o->id = strdup(id);
    o->name = strdup(name);
    o->parent_id = parent ? strdup(parent) : NULL;
    o->level = level;
    size_t n = 0;
    while (aliases && aliases[n])
        n++;
    o->aliases = n ? calloc(n, sizeof *o->aliases) : NULL;
    for (size_t i = 0; i < n; i++)
        o->aliases[i] = strdup(aliases[i]);
    o->n_aliases = n;
}

static void setup(void)
{
    char *cause = NULL, err[256];
    cr_assert_eq(locale_load(locales_dir(), &lx, &cause), FQ_OK, "%s", cause ? cause : "");
    cm = classify_model_open(fq_category_model, fq_category_model_len, err, sizeof err);
    cr_assert_not_null(cm, "%s", err);
    ro = roster_new();
    add_org(ro, "town-fq", "枫桥镇", FQ_LEVEL_TOWN, NULL, (const char *const[]){"枫桥", NULL});
    add_org(ro, "vil-fy", "枫源村", FQ_LEVEL_VILLAGE, "town-fq",
            (const char *const[]){"枫源", "Fengyuan Cun", "fengyuancun", NULL});
    add_org(ro, "grid-fy-01", "枫源村第一网格", FQ_LEVEL_GRID, "vil-fy",
            (const char *const[]){"Fengyuan Grid 1", NULL});
    add_org(ro, "vil-lq", "栎桥村", FQ_LEVEL_VILLAGE, "town-fq",
            (const char *const[]){"Liqiao", NULL});
    char *prob = NULL;
    cr_assert_eq(roster_validate(ro, &prob), FQ_OK, "%s", prob ? prob : "");
    classify_roster_prepare(ro, cm);
}

static void teardown(void)
{
    classify_model_close(cm);
    lexicon_free(lx);
    roster_free(ro);
}

TestSuite(classify_model, .init = setup, .fini = teardown);

static struct fq_classified cl(const char *text)
{
    struct fq_classified c;
    classify_text_model(lx, ro, NULL, cm, text, &c);
    return c;
}

Test(classify_model, sure_text_fills_the_category_without_guesses)
{
    static const struct { const char *text, *want; } sure[] = {
        {"老板拖欠我们三个月的工资，一直不给", "wage"},
        {"老闆拖欠我們三個月的工資，一直不給", "wage"},
        {"my boss has not paid our wages for three months", "wage"},
        {"楼上邻居天天半夜吵闹，我们根本睡不着", "neighbour"},
    };
    for (size_t i = 0; i < sizeof sure / sizeof sure[0]; i++) {
        struct fq_classified c = cl(sure[i].text);
        cr_assert(c.substantive, "%s", sure[i].text);
        cr_assert_geq(c.p_first, CLASSIFY_P_SURE, "%s: p %.2f", sure[i].text, c.p_first);
        cr_assert_eq(c.category, fq_category_index(sure[i].want), "%s: %d", sure[i].text,
                     c.category);
        cr_assert(c.by_model);
        cr_assert_eq(c.n_guess, 0);
        classify_cleanup(&c);
    }
}

/* An unsure model leaves the category open and lists its likeliest, distinct, best first; a
 * keyword category is among them. */
Test(classify_model, unsure_text_lists_the_likeliest)
{
    static const char *const unsure[] = {
        "我们两家的事情拖了很久，想找个人评评理",
        "there is a problem with the people next to us and money",
        "村里的事情和钱有关，一直没有人管",
    };
    int seen = 0;
    for (size_t i = 0; i < sizeof unsure / sizeof unsure[0]; i++) {
        struct fq_classified c = cl(unsure[i]), k;
        classify_text(lx, ro, unsure[i], &k);
        cr_assert(c.substantive, "%s", unsure[i]);
        if (c.p_first >= CLASSIFY_P_SURE) {
            cr_assert_geq(c.category, 0);
            classify_cleanup(&c);
            classify_cleanup(&k);
            continue;
        }
        seen++;
        cr_assert_eq(c.category, -1, "%s", unsure[i]);
        cr_assert_eq(c.n_guess, CLASSIFY_GUESSES, "%s", unsure[i]);
        cr_assert_float_eq(c.guess_p[0], c.p_first, 1e-9);
        bool kw_listed = k.category < 0;
        for (int a = 0; a < c.n_guess; a++) {
            cr_assert(c.guess[a] >= 0 && c.guess[a] < FQ_N_CATEGORIES);
            kw_listed = kw_listed || c.guess[a] == k.category;
            for (int b = a + 1; b < c.n_guess; b++)
                cr_assert_neq(c.guess[a], c.guess[b], "%s: a category twice", unsure[i]);
        }
        cr_assert(kw_listed, "%s: the keyword category %d is not listed", unsure[i], k.category);
        cr_assert_geq(c.guess_p[0], c.guess_p[1]);
        classify_cleanup(&c);
        classify_cleanup(&k);
    }
    cr_assert_geq(seen, 2, "the unsure examples are sure now: pick others");
}

/* Without substance (a greeting, a label alone) the keywords decide, as without a model, and no
 * guesses are made: the full menu stays. */
Test(classify_model, no_substance_keywords_only)
{
    struct fq_classified c = cl("你好");
    cr_assert_not(c.substantive);
    cr_assert_eq(c.category, -1);
    cr_assert_eq(c.n_guess, 0);
    classify_cleanup(&c);
    const char *label = i18n_category(lx, FQ_LOC_ZH_CN, "wage");
    struct fq_classified k;
    c = cl(label);
    classify_text(lx, ro, label, &k);
    cr_assert_not(c.substantive, "%s", label);
    cr_assert_eq(c.category, k.category, "%s", label);
    cr_assert_eq(c.n_guess, 0);
    cr_assert_not(c.by_model);
    classify_cleanup(&c);
    classify_cleanup(&k);
    /* no model: exactly the keywords' answer */
    const char *t = "老板拖欠我们三个月的工资，一直不给";
    classify_text_model(lx, ro, NULL, NULL, t, &c);
    classify_text(lx, ro, t, &k);
    cr_assert_eq(c.category, k.category);
    cr_assert_eq(c.n_guess, 0);
    cr_assert_float_eq(c.p_first, 0, 1e-12);
    classify_cleanup(&c);
    classify_cleanup(&k);
}

static int place(const char *text)
{
    struct fq_classified c = cl(text);
    classify_cleanup(&c);
    return c.org;
}

Test(classify_model, places_traditional_pinyin_fullwidth)
{
    int fy = roster_org_index(ro, "vil-fy"), g1 = roster_org_index(ro, "grid-fy-01");
    int lq = roster_org_index(ro, "vil-lq"), fq = roster_org_index(ro, "town-fq");
    cr_assert_eq(place("我住在楓源村，鄰居天天吵"), fy);
    cr_assert_eq(place("楓源村第一網格有人亂堆雜物"), g1);
    cr_assert_eq(place("櫟橋村的土地補償款沒發"), lq);
    cr_assert_eq(place("楓橋鎮的工廠"), fq);
    cr_assert_eq(place("I live in Fengyuan Cun, next to the school"), fy);
    cr_assert_eq(place("I live in fengyuancun"), fy);
    cr_assert_eq(place("FENGYUAN  CUN: noise"), fy);
    cr_assert_eq(place("fengyuan-cun has a problem"), fy);
    cr_assert_eq(place("Ｆｅｎｇｙｕａｎ Ｃｕｎ的事"), fy);
    cr_assert_eq(place("Fēngyuán Cūn, my neighbour"), fy);
    cr_assert_eq(place("fengyuan grid 1: a factory"), g1);
    cr_assert_eq(place("in liqiao the road is broken"), lq);
    /* an ASCII name only at word boundaries */
    cr_assert_eq(place("liqiaoxyz is not a place"), -1);
    cr_assert_eq(place("myfengyuancun"), -1);
    cr_assert_eq(place("fengyuan grid 12"), -1);
    cr_assert_eq(place("杭州的事情"), -1);
}

/* The place as written, in any form, is not counted as substance: a Traditional or pinyin
 * place alone is only a place. */
Test(classify_model, place_alone_is_not_substance)
{
    static const char *const only[] = {"楓源村", "Fengyuan Cun", "fengyuancun"};
    for (size_t i = 0; i < 3; i++) {
        struct fq_classified c = cl(only[i]);
        cr_assert_eq(c.org, roster_org_index(ro, "vil-fy"), "%s", only[i]);
        cr_assert_not(c.substantive, "%s", only[i]);
        cr_assert_eq(c.n_guess, 0, "%s", only[i]);
        classify_cleanup(&c);
    }
}

/* Without classify_roster_prepare the names match as written only. */
Test(classify_model, unprepared_roster_matches_as_written)
{
    struct fq_roster *r = roster_new();
    add_org(r, "vil-fy", "枫源村", FQ_LEVEL_VILLAGE, NULL, NULL);
    char *prob = NULL;
    cr_assert_eq(roster_validate(r, &prob), FQ_OK, "%s", prob ? prob : "");
    struct fq_classified c;
    classify_text_model(lx, r, NULL, cm, "我住在楓源村", &c);
    cr_assert_eq(c.org, -1);
    classify_cleanup(&c);
    classify_text_model(lx, r, NULL, cm, "我住在枫源村", &c);
    cr_assert_eq(c.org, 0);
    classify_cleanup(&c);
    roster_free(r);
}

Test(classify_model, bad_models_are_refused)
{
    char err[256] = "";
    static const char bad[] = "fqcat\t1\nngram\t1\t3\t5\nclasses\t2\n"
                              "class\twage\t0\nclass\tnot_a_category\t0\nfeatures\t0\n";
    cr_assert_null(classify_model_open(bad, sizeof bad - 1, err, sizeof err));
    cr_assert(strstr(err, "not_a_category"), "%s", err);
    cr_assert_null(classify_model_open("nonsense", 8, err, sizeof err));
    cr_assert_neq(err[0], '\0');
    struct classify_model *none = classify_model_open(NULL, 0, err, sizeof err);
    cr_assert_not_null(none, "%s", err);
    struct fq_classified c;
    classify_text_model(lx, ro, NULL, none, "老板拖欠我们三个月的工资，一直不给", &c);
    cr_assert_eq(c.n_guess, 0);
    classify_cleanup(&c);
    classify_model_close(none);
    classify_model_close(NULL);
}

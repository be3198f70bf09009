/* test_classify.c: reading a resident's text (handlers/classify.c) with the real catalogs of
 * locales/ and a roster built by hand. */
#include <stdio.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/classify.h"
#include "handlers/i18n.h"

static struct fq_lexicon *lx;
static struct fq_roster *ro;

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
                    const char *parent, const char *alias, double lat, double lon)
{
    r->org = realloc(r->org, (r->n_org + 1) * sizeof *r->org);
    struct fq_org *o = &r->org[r->n_org++];
    memset(o, 0, sizeof *o);
    o->id = strdup(id);
    o->name = strdup(name);
    o->parent_id = parent ? strdup(parent) : NULL;
    o->level = level;
    if (alias) {
        o->aliases = calloc(1, sizeof *o->aliases);
        o->aliases[0] = strdup(alias);
        o->n_aliases = 1;
    }
    o->has_coord = lat != 0;
    o->latitude = lat;
    o->longitude = lon;
}

static void setup(void)
{
    char *cause = NULL;
    cr_assert_eq(locale_load(locales_dir(), &lx, &cause), FQ_OK, "%s", cause ? cause : "");
    ro = roster_new();
    add_org(ro, "county-zj", "诸暨市", FQ_LEVEL_COUNTY, NULL, NULL, 0, 0);
    add_org(ro, "town-fq", "枫桥镇", FQ_LEVEL_TOWN, "county-zj", "枫桥", 0, 0);
    add_org(ro, "vil-fy", "枫源村", FQ_LEVEL_VILLAGE, "town-fq", "枫源", 0, 0);
    add_org(ro, "grid-fy-01", "枫源村第一网格", FQ_LEVEL_GRID, "vil-fy", "一网格", 29.73, 120.45);
    add_org(ro, "vil-cj", "陈家村", FQ_LEVEL_VILLAGE, "town-fq", "陈家", 0, 0);
    char *prob = NULL;
    cr_assert_eq(roster_validate(ro, &prob), FQ_OK, "%s", prob ? prob : "");
}

static void teardown(void)
{
    lexicon_free(lx);
    roster_free(ro);
}

TestSuite(classify, .init = setup, .fini = teardown);

static struct fq_classified cl(const char *text)
{
    struct fq_classified c;
    classify_text(lx, ro, text, &c);
    return c;
}

static const char *cat(const char *text)
{
    struct fq_classified c = cl(text);
    classify_cleanup(&c);
    return c.category >= 0 ? fq_categories[c.category] : "none";
}

Test(classify, normalize)
{
    char *s = classify_normalize("\xe3\x80\x80 ＡＢＣ１２３，好的！ ");
    cr_assert_str_eq(s, "ABC123,好的");
    free(s);
    s = classify_normalize("。。？");
    cr_assert_str_eq(s, "");
    free(s);
    s = classify_normalize("「邻居」");
    cr_assert_str_eq(s, "邻居");
    free(s);
    cr_assert_null(classify_normalize(NULL));
}

Test(classify, choices_in_every_form)
{
    const char *one[] = {"1", "１", "一", "①", " 1 ", "1.", "1、", "１．", "第一", "\xe3\x80\x80" "1"};
    for (size_t i = 0; i < sizeof one / sizeof *one; i++)
        cr_assert_eq(classify_choice(one[i]), 1, "\"%s\"", one[i]);
    cr_assert_eq(classify_choice("14"), 14);
    cr_assert_eq(classify_choice("１４"), 14);
    cr_assert_eq(classify_choice("十四"), 14);
    cr_assert_eq(classify_choice("⑭"), 14);
    cr_assert_eq(classify_choice("十"), 10);
    cr_assert_eq(classify_choice("二十"), 20);
    cr_assert_eq(classify_choice("⑳"), 20);
    cr_assert_eq(classify_choice("两"), 2);
    cr_assert_eq(classify_choice("0"), 0);
    cr_assert_eq(classify_choice("零"), 0);
    cr_assert_eq(classify_choice("〇"), 0);
    cr_assert_eq(classify_choice("21"), -1);
    cr_assert_eq(classify_choice("二十一"), -1);
    cr_assert_eq(classify_choice("123"), -1);
    cr_assert_eq(classify_choice("13812345678"), -1);
    cr_assert_eq(classify_choice("一网格"), -1);
    cr_assert_eq(classify_choice("1楼"), -1);
    cr_assert_eq(classify_choice("yes"), -1);
    cr_assert_eq(classify_choice(""), -1);
    cr_assert_eq(classify_choice(NULL), -1);
}

Test(classify, category_simplified_and_traditional)
{
    cr_assert_str_eq(cat("邻居在楼道堆杂物，沟通无果"), "neighbour");
    cr_assert_str_eq(cat("鄰居在樓道堆雜物，溝通無果"), "neighbour");
    cr_assert_str_eq(cat("包工头拖欠我们三个月工资"), "wage");
    cr_assert_str_eq(cat("包工頭拖欠我們三個月工資"), "wage");
    cr_assert_str_eq(cat("老公家暴，想离婚"), "family");
    cr_assert_str_eq(cat("儿子不赡养老人"), "support");
    cr_assert_str_eq(cat("宅基地边界有争议"), "land");
    cr_assert_str_eq(cat("拆迁补偿款一直没发"), "demolition");
    cr_assert_str_eq(cat("小区物业乱收停车费"), "property");
    cr_assert_str_eq(cat("他借钱不还，有借条"), "debt");
    cr_assert_str_eq(cat("在医院手术后出了问题，医生不管"), "medical");
    cr_assert_str_eq(cat("电动车被汽车撞了，交通事故"), "traffic");
    cr_assert_str_eq(cat("工厂排污，河里有臭味"), "environment");
    cr_assert_str_eq(cat("村干部不公开账目"), "village_affairs");
    cr_assert_str_eq(cat("被邻居家的狗咬伤了，要赔偿"), "injury");
    cr_assert_str_eq(cat("My neighbours are very noisy at night"), "neighbour");
    cr_assert_str_eq(cat("The boss has not paid our wages"), "wage");
    cr_assert_str_eq(cat("你好"), "none");
    cr_assert_str_eq(cat("其他"), "other");
}

Test(classify, place_most_specific_with_aliases)
{
    struct fq_classified c = cl("枫源村第一网格有人堆杂物");
    cr_assert_eq(c.org, roster_org_index(ro, "grid-fy-01"));
    classify_cleanup(&c);
    c = cl("我在枫源一网格");
    cr_assert_eq(c.org, roster_org_index(ro, "grid-fy-01"));
    classify_cleanup(&c);
    c = cl("枫桥镇枫源村的事");
    cr_assert_eq(c.org, roster_org_index(ro, "vil-fy"));
    classify_cleanup(&c);
    c = cl("陈家那边");
    cr_assert_eq(c.org, roster_org_index(ro, "vil-cj"));
    classify_cleanup(&c);
    c = cl("枫桥");
    cr_assert_eq(c.org, roster_org_index(ro, "town-fq"));
    classify_cleanup(&c);
    c = cl("杭州");
    cr_assert_eq(c.org, -1);
    classify_cleanup(&c);
    struct fq_classified d;
    classify_text(lx, NULL, "枫源村", &d);
    cr_assert_eq(d.org, -1);
    classify_cleanup(&d);
}

static int people(const char *t)
{
    struct fq_classified c = cl(t);
    classify_cleanup(&c);
    return c.people;
}

Test(classify, people_counts)
{
    cr_assert_eq(people("3个人在吵"), 3);
    cr_assert_eq(people("３人"), 3);
    cr_assert_eq(people("十几户人家没拿到钱"), 10);
    cr_assert_eq(people("几十个工人"), 20);
    cr_assert_eq(people("二十多名村民"), 20);
    cr_assert_eq(people("上百人聚在村口"), 100);
    cr_assert_eq(people("一百二十人"), 120);
    cr_assert_eq(people("两家人吵架，后来来了5个人"), 5);
    cr_assert_eq(people("20多人"), 20);
    cr_assert_eq(people("我们12 people were not paid"), 12);
    cr_assert_eq(people("about 7 families"), 7);
    cr_assert_eq(people("五個人"), 5);
    cr_assert_eq(people("3月5日的事"), 0);
    cr_assert_eq(people("一网格"), 0);
    cr_assert_eq(people("电话13812345678人"), 0);
    cr_assert_eq(people("没有数字"), 0);
}

Test(classify, danger_words)
{
    struct fq_classified c = cl("他说要去跳楼");
    cr_assert(c.danger);
    cr_assert_str_eq(c.danger_word, "跳楼");
    classify_cleanup(&c);
    c = cl("兩家要械鬥了");
    cr_assert(c.danger);
    classify_cleanup(&c);
    c = cl("they threatened to kill him");
    cr_assert(c.danger);
    classify_cleanup(&c);
    c = cl("a skilled worker");
    cr_assert_not(c.danger);
    classify_cleanup(&c);
    c = cl("邻居在楼道堆杂物");
    cr_assert_not(c.danger);
    cr_assert_null(c.danger_word);
    classify_cleanup(&c);
}

static char *phone(const char *t)
{
    struct fq_classified c = cl(t);
    return c.phone;
}

Test(classify, phone_numbers)
{
    char *p;
    cr_assert_str_eq(p = phone("我的电话13812345678"), "13812345678");
    free(p);
    cr_assert_str_eq(p = phone("电话：１３９１２３４５６７８"), "13912345678");
    free(p);
    cr_assert_str_eq(p = phone("138-1234-5678"), "13812345678");
    free(p);
    cr_assert_str_eq(p = phone("call 138 1234 5678 please"), "13812345678");
    free(p);
    cr_assert_str_eq(p = phone("+86 13812345678"), "13812345678");
    free(p);
    cr_assert_str_eq(p = phone("8613812345678"), "13812345678");
    free(p);
    cr_assert_str_eq(p = phone("座机0575-87654321"), "0575-87654321");
    free(p);
    cr_assert_str_eq(p = phone("3户 13812345678"), "13812345678");
    free(p);
    cr_assert_null(phone("12812345678"));                 /* 12x is no mobile prefix */
    cr_assert_null(phone("1381234567"));                  /* too short */
    cr_assert_null(phone("330681199001011234"));          /* an id number, not a phone */
    cr_assert_null(phone("138123456789"));                /* part of a longer run */
    cr_assert_null(phone("没有电话"));
}

static bool subst(const char *t)
{
    struct fq_classified c = cl(t);
    classify_cleanup(&c);
    return c.substantive;
}

Test(classify, substantive_vs_filler)
{
    cr_assert(subst("邻居在楼道堆杂物，沟通无果"));
    cr_assert(subst("枫源村邻居吵架"));
    cr_assert(subst("My neighbour blocks the stairs"));
    cr_assert_not(subst("你好"));
    cr_assert_not(subst("您好，我要反映一个问题"));
    cr_assert_not(subst("在吗？"));
    cr_assert_not(subst("hello"));
    cr_assert_not(subst("枫源村第一网格"));
    cr_assert_not(subst("邻里纠纷"));
    cr_assert_not(subst("14"));
    cr_assert_not(subst("十四"));
    cr_assert_not(subst("13812345678"));
    cr_assert_not(subst(""));
}

Test(classify, severity_rules)
{
    cr_assert_eq(classify_severity("neighbour", 0, false), FQ_SEV_BLUE);
    cr_assert_eq(classify_severity("neighbour", 4, false), FQ_SEV_BLUE);
    cr_assert_eq(classify_severity("neighbour", 5, false), FQ_SEV_YELLOW);
    cr_assert_eq(classify_severity("neighbour", 9, false), FQ_SEV_YELLOW);
    cr_assert_eq(classify_severity("neighbour", 10, false), FQ_SEV_RED);
    cr_assert_eq(classify_severity("neighbour", 0, true), FQ_SEV_RED);
    cr_assert_eq(classify_severity("demolition", 0, false), FQ_SEV_YELLOW);
    cr_assert_eq(classify_severity("wage", 1, false), FQ_SEV_YELLOW);
    cr_assert_eq(classify_severity("village_affairs", 0, false), FQ_SEV_YELLOW);
    cr_assert_eq(classify_severity("wage", 0, true), FQ_SEV_RED);
    cr_assert_eq(classify_severity(NULL, 0, false), FQ_SEV_BLUE);
}

/* The text mask may only skip words that cannot occur: every keyword of every list, embedded in
 * other text (and in upper case for ASCII words), is still found; and for an unrelated text it
 * does skip most of them, which is what it is for. */
Test(classify, textmask_never_hides_a_present_word)
{
    size_t skipped = 0, total = 0;
    struct fq_textmask unrelated;
    i18n_textmask("hello 12345", &unrelated);
    for (int kw = 0; kw < FQ__KW_COUNT + FQ_N_CATEGORIES; kw++) {
        const struct fq_wordlist *wl = kw < FQ__KW_COUNT ? &lx->kw[kw]
                                                        : &lx->category_kw[kw - FQ__KW_COUNT];
        for (size_t i = 0; i < wl->n; i++) {
            char text[512];
            snprintf(text, sizeof text, "前面的话 %s 后面的话", wl->words[i]);
            for (char *p = text; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                    *p = (char)(*p - 'a' + 'A');
            struct fq_textmask m;
            i18n_textmask(text, &m);
            cr_assert(i18n_textmask_may_have(&m, wl->words[i]), "mask hides \"%s\"", wl->words[i]);
            cr_assert_not_null(i18n_find_word(text, wl->words[i]), "\"%s\" not found", wl->words[i]);
            total++;
            skipped += !i18n_textmask_may_have(&unrelated, wl->words[i]);
        }
    }
    cr_assert_gt(total, 100);
    cr_assert_gt(skipped * 10, total * 8, "the mask skipped only %zu of %zu words", skipped, total);
}

/* The keyword lists carry each word's probe, the same as computed on the spot; a Chinese text
 * with none of the keywords lets almost none through (pairs, not just first characters); and
 * a word with a space after its first character is still let through in a text whose spaces
 * came from blanking (substantive() blanks filler words out of a text, keeping its mask). */
Test(classify, textmask_pairs_and_blanking)
{
    struct fq_textmask m;
    i18n_textmask("老人今天早上在村口的小路上散步，看见一只白色的小鸟停在树枝上唱歌", &m);
    size_t through = 0, total = 0;
    for (int kw = 0; kw < FQ__KW_COUNT + FQ_N_CATEGORIES; kw++) {
        const struct fq_wordlist *wl = kw < FQ__KW_COUNT ? &lx->kw[kw]
                                                        : &lx->category_kw[kw - FQ__KW_COUNT];
        cr_assert(wl->n == 0 || wl->probe, "list %d has no probes", kw);
        for (size_t i = 0; i < wl->n; i++) {
            cr_assert_eq(wl->probe[i], i18n_probe(wl->words[i]), "probe of \"%s\"", wl->words[i]);
            total++;
            through += i18n_textmask_probe(&m, wl->probe[i]);
        }
    }
    cr_assert_lt(through * 100, total * 3, "%zu of %zu keywords let through", through, total);

    char text[] = "上访zz投诉";
    i18n_textmask(text, &m);
    memset(strstr(text, "zz"), ' ', 2);                 /* "上访  投诉" */
    cr_assert_not_null(i18n_find_word(text, "访 "));
    cr_assert(i18n_textmask_may_have(&m, "访 "));
    cr_assert(i18n_textmask_may_have(&m, " 投"));
    cr_assert(i18n_textmask_may_have(&m, "上访"));
    cr_assert_not(i18n_textmask_may_have(&m, "访投"));   /* never adjacent in the text */
    i18n_textmask("\xff\xfe", &m);                     /* not UTF-8: everything may occur */
    cr_assert(i18n_textmask_may_have(&m, "访投"));
}

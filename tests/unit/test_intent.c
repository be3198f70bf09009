/* test_intent.c: handlers/intent.c against the real locale catalogs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "handlers/classify.h"
#include "handlers/intent.h"

static struct fq_lexicon *lx;

static const char *locales_dir(void)
{
    static const char *const cands[] = {"locales", "../locales", "../../locales"};
    for (size_t i = 0; i < 3; i++)
        if (access(cands[i], R_OK) == 0)
            return cands[i];
    return "locales";
}

static void setup(void)
{
    char *cause = NULL;
    cr_assert_eq(locale_load(locales_dir(), &lx, &cause), FQ_OK, "%s", cause ? cause : "");
}

static void teardown(void)
{
    lexicon_free(lx);
}

TestSuite(intent, .init = setup, .fini = teardown);

static enum fq_intent yn(const char *text)
{
    char *n = classify_normalize(text);
    enum fq_intent r = intent_yes_no(lx, n);
    free(n);
    return r;
}

static bool st(const char *text)
{
    char *n = classify_normalize(text);
    bool r = intent_status(lx, n);
    free(n);
    return r;
}

Test(intent, agreement_in_three_languages)
{
    const char *yes[] = {"对", "对的", "没错", "是的", "好的", "可以", "提交吧", "就这样", "确认",
                         "對", "冇錯", "係", "好啊", "yes", "Yep", "OK", "correct", "submit it",
                         "好的！", "对的吧", "yes please"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        cr_expect_eq(yn(yes[i]), INTENT_YES, "%s", yes[i]);
}

Test(intent, refusal_in_three_languages)
{
    const char *no[] = {"不对", "不是", "算了", "不用了", "no", "nope", "not right", "不對",
                        "唔係", "不是的吧"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        cr_expect_eq(yn(no[i]), INTENT_NO, "%s", no[i]);
}

Test(intent, descriptions_are_not_yes_or_no)
{
    const char *none[] = {"好的，邻居家的狗每天晚上叫，我已经跟他说过好几次了", "对面工地半夜施工",
                          "the neighbour says ok but keeps doing it", "", "吗", "la"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        cr_expect_eq(yn(none[i]), INTENT_NONE, "%s", none[i]);
}

Test(intent, status_questions)
{
    const char *q[] = {"我的事处理得怎么样了", "有进展吗", "有人管吗", "how is my case going",
                       "any update?", "有冇進展呀", "進度"};
    for (size_t i = 0; i < sizeof q / sizeof *q; i++)
        cr_expect(st(q[i]), "%s", q[i]);
    const char *not[] = {"隔壁装修噪音很大，从早上七点一直到晚上十点，周末也不停，我们家老人孩子"
                         "都休息不好，有人管吗",
                         "好的", "yes"};
    for (size_t i = 0; i < sizeof not / sizeof *not; i++)
        cr_expect(!st(not[i]), "%s", not[i]);
}

Test(intent, labels)
{
    const char *labels[] = {"提交", "重新填写", "取消"};
    cr_expect_eq(intent_label(lx, "重新填写", labels, 3), 1);
    cr_expect_eq(intent_label(lx, "提交吧", labels, 3), 0);
    cr_expect_eq(intent_label(lx, "提交一下我的材料", labels, 3), -1);
}

static int ord(const char *text, size_t n)
{
    char *s = classify_normalize(text);
    int r = intent_ordinal(lx, s, n);
    free(s);
    return r;
}

Test(intent, ordinals_in_three_languages)
{
    static const struct { const char *text; int pos; } cases[] = {
        {"第一个", 0}, {"第二个", 1}, {"第2个", 1}, {"第三项", 2}, {"第一項", 0}, {"第二個", 1},
        {"头一个", 0}, {"頭一個", 0}, {"頭個", 0}, {"最后一个", 4}, {"最後一個", 4},
        {"最後嗰個", 4}, {"尾嗰個", 4}, {"最后", 4}, {"我选第二个", 1}, {"就第三个吧", 2},
        {"选3", 2}, {"第一个吧", 0}, {"第一个！", 0}, {"the first one", 0}, {"The Second one", 1},
        {"second", 1}, {"the last one", 4}, {"last", 4}, {"the 3rd option", 2},
        {"option 2", 1}, {"number 4", 3}, {"#2", 1}, {"third please", 2}, {"the first", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        cr_expect_eq(ord(cases[i].text, 5), cases[i].pos, "%s: %d", cases[i].text,
                     ord(cases[i].text, 5));
    /* outside the menu, or no ordinal at all */
    const char *none[] = {"第六个", "the sixth one", "第一个问题是邻居家的狗天天叫", "邻里纠纷",
                          "first of all my neighbour is noisy", "", "第", "the"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        cr_expect_eq(ord(none[i], 5), -1, "%s", none[i]);
    cr_expect_eq(ord("最后一个", 0), -1, "no menu, no last one");
}

static int pick(const char *text, const char *const *labels, size_t n, int *amb, size_t *na)
{
    char *s = classify_normalize(text);
    int r = intent_choose(lx, s, labels, n, amb, na);
    free(s);
    return r;
}

Test(intent, partial_labels)
{
    const char *cats[] = {"邻里纠纷", "婚姻家庭", "土地承包与宅基地", "征地拆迁", "欠薪与劳动争议",
                          "物业纠纷", "其他"};
    int amb[8];
    size_t na = 9;
    cr_expect_eq(pick("邻里", cats, 7, amb, &na), 0);
    cr_expect_eq(na, 0);
    cr_expect_eq(pick("劳动争议", cats, 7, amb, &na), 4);
    cr_expect_eq(pick("拆迁吧", cats, 7, amb, &na), 3);
    cr_expect_eq(pick("其他", cats, 7, amb, &na), 6, "a whole label");
    /* a part of several labels: their positions */
    cr_expect_eq(pick("纠纷", cats, 7, amb, &na), INTENT_AMBIGUOUS);
    cr_assert_eq(na, 2);
    cr_expect_eq(amb[0], 0);
    cr_expect_eq(amb[1], 5);
    cr_expect_eq(pick("土地", cats, 7, amb, &na), 2, "土地 is in one label only");
    /* too short, or in no label */
    cr_expect_eq(pick("邻", cats, 7, amb, &na), -1);
    cr_expect_eq(pick("邻居吵架", cats, 7, amb, &na), -1);
    const char *en[] = {"Neighbour dispute", "Wages and labour", "Property management"};
    cr_expect_eq(pick("neighbour", en, 3, amb, &na), 0);
    cr_expect_eq(pick("LABOUR", en, 3, amb, &na), 1);
    cr_expect_eq(pick("our", en, 3, amb, &na), -1, "an English part starts a word");
    cr_expect_eq(pick("pr", en, 3, amb, &na), -1, "too short");
}

static enum fq_field corr(const char *text, char *value, size_t cap)
{
    char *s = classify_normalize(text);
    const char *v = NULL;
    enum fq_field f = intent_correction(lx, s, &v);
    snprintf(value, cap, "%s", v ? v : "(null)");
    free(s);
    return f;
}

Test(intent, corrections_name_a_field)
{
    static const struct { const char *text; enum fq_field f; const char *value; } cases[] = {
        {"地点不对，是枫源村二网格", FQ_FIELD_PLACE, "枫源村二网格"},
        {"地址错了，应该是陈家村", FQ_FIELD_PLACE, "陈家村"},
        {"電話改成 13900001111", FQ_FIELD_CONTACT, "13900001111"},
        {"把电话改成13900001111", FQ_FIELD_CONTACT, "13900001111"},
        {"类别错了，是劳动争议", FQ_FIELD_CATEGORY, "劳动争议"},
        {"類別唔啱，係土地", FQ_FIELD_CATEGORY, "土地"},
        {"the place is wrong, it's Chenjia Village", FQ_FIELD_PLACE, "chenjia village"},
        {"change the phone to 13900001111", FQ_FIELD_CONTACT, "13900001111"},
        {"the phone number is 13900001111", FQ_FIELD_CONTACT, "13900001111"},
        {"地点不对", FQ_FIELD_PLACE, ""},
        {"電話錯咗", FQ_FIELD_CONTACT, ""},
        {"the category is wrong", FQ_FIELD_CATEGORY, ""},
        {"描述改成：邻居又把杂物堆回楼道了", FQ_FIELD_DESCRIPTION, "邻居又把杂物堆回楼道了"},
    };
    char v[256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_expect_eq(corr(cases[i].text, v, sizeof v), cases[i].f, "%s", cases[i].text);
        cr_expect(strcasecmp(v, cases[i].value) == 0, "%s: value [%s]", cases[i].text, v);
    }
    const char *none[] = {"提交", "邻居家的狗每天晚上叫", "the neighbour is noisy", "对的", ""};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        cr_expect_eq(corr(none[i], v, sizeof v), FQ_FIELD_NONE, "%s", none[i]);
}

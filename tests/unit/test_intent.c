/* test_intent.c: handlers/intent.c against the real locale catalogs. */
#include <criterion/criterion.h>
#include <stdlib.h>
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

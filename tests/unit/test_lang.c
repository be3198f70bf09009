/* test_lang.c: handlers/lang.c, the language of a text by its script, with OpenCC's real t2s
 * table (handlers/catmodel.h). */
#include <criterion/criterion.h>

#include "handlers/catmodel.h"
#include "handlers/lang.h"

static catnorm *cn;

static void setup(void)
{
    char err[256];
    cn = catnorm_open(NULL, err, sizeof err);
    cr_assert_not_null(cn, "catnorm_open: %s", err);
}

static void teardown(void)
{
    catnorm_close(cn);
}

TestSuite(lang, .init = setup, .fini = teardown);

Test(lang, traditional_simplified_english)
{
    static const struct { const char *text; enum fq_lang l; } cases[] = {
        {"我家樓上漏水，已經一個星期了", LANG_ZH_TW},
        {"隔籬屋嗰個人成日嘈", LANG_ZH_TW},
        {"鄰居", LANG_ZH_TW},
        {"我家楼上漏水，已经一个星期了", LANG_ZH_CN},
        {"这位著名的老师家门口堆满了杂物，邻居们很有意见", LANG_ZH_CN},
        {"你好", LANG_ZH},
        {"有人吗", LANG_ZH},
        {"My neighbour keeps blocking the stairwell", LANG_EN},
        {"hello", LANG_EN},
        {"My neighbour in 枫源村 is very noisy at night", LANG_EN},
        {"枫源村 Fengyuan", LANG_ZH},
        {"ok", LANG_NONE},
        {"13800000000", LANG_NONE},
        {"😀😀😀", LANG_NONE},
        {"？！。。", LANG_NONE},
        {"", LANG_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        cr_expect_eq(lang_detect(cn, cases[i].text), cases[i].l, "%s: %d", cases[i].text,
                     lang_detect(cn, cases[i].text));
    cr_expect_eq(lang_detect(NULL, "我家樓上漏水，已經一個星期了"), LANG_ZH,
                 "without the table the script is not told");
}

Test(lang, words_or_none)
{
    const char *words[] = {"a", "1", "１", "①", "你", "あ", "한", "é", "😀 ok", "Ω",
                           "[微笑] 邻居又吵了", "[这不是一个表情的代码]"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        cr_expect(lang_has_words(words[i]), "%s", words[i]);
    const char *none[] = {"😀", "👍👍👍👍", "🙏🏻", "❤️", "？？？", "...", "！！", "~~", "★☆",
                          "\xe2\x9c\x8c\xef\xb8\x8f", "", " \t",
                          "[微笑]", "[捂脸][捂脸]", "[Smile] 😀", "[強]", "[]"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        cr_expect(!lang_has_words(none[i]), "%s", none[i]);
}

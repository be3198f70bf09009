/* test_danger.c: danger screening (handlers/danger.c) with the real locales and the danger model
 * compiled in, and the people counts of handlers/classify.c said in words or approximately. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/classify.h"
#include "handlers/danger.h"
#include "handlers/i18n.h"

extern const char fq_danger_model[];
extern const size_t fq_danger_model_len;

static struct fq_lexicon *lx;
static struct danger_screen *ds;

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

static void setup(void)
{
    char *cause = NULL, err[256];
    cr_assert_eq(locale_load(locales_dir(), &lx, &cause), FQ_OK, "%s", cause ? cause : "");
    ds = danger_screen_open(fq_danger_model, fq_danger_model_len, err, sizeof err);
    cr_assert_not_null(ds, "%s", err);
}

static void teardown(void)
{
    danger_screen_close(ds);
    lexicon_free(lx);
}

TestSuite(danger, .init = setup, .fini = teardown);

static int level(const char *text)
{
    char *norm = classify_normalize(text);
    struct danger_result r;
    int l = (int)danger_screen_text(ds, lx, norm, &r);
    free(norm);
    return l;
}

static int people(const char *text)
{
    char *norm = classify_normalize(text);
    struct fq_classified c;
    classify_text_screened(lx, NULL, ds, norm, &c);
    int n = c.people;
    classify_cleanup(&c);
    free(norm);
    return n;
}

Test(danger, danger_in_other_words_is_red)
{
    const char *red[] = {
        "\xe8\x80\x81\xe5\x85\xac\xe4\xb8\x80\xe5\x96\x9d\xe9\x85\x92\xe5\xb0\xb1\xe6\x89\x93"
        "\xe6\x88\x91",                                   /* husband beats me when drunk */
        "\xe8\x80\x81\xe6\x9d\xbf\xe4\xb8\x8d\xe7\xbb\x99\xe9\x92\xb1\xe6\x88\x91\xe5\xb0\xb1"
        "\xe4\xbb\x8e\xe4\xbb\x96\xe6\xa5\xbc\xe9\xa1\xb6\xe8\xb7\xb3\xe4\xb8\x8b\xe5\x8e\xbb",
                                                          /* jump from the boss's roof */
        "my husband beats me when he is drunk",
        "if the boss does not pay me I will jump from his roof",
        "forty of us will go to the county government tomorrow",
    };
    for (size_t i = 0; i < sizeof red / sizeof *red; i++)
        cr_assert_eq(level(red[i]), DANGER_RED, "%s", red[i]);
}

Test(danger, words_that_only_contain_a_danger_word_are_not_red)
{
    const char *not_red[] = {
        "\xe6\x9d\x91\xe9\x87\x8c\xe7\x9a\x84\xe9\x9b\x86\xe4\xbd\x93\xe5\x9c\x9f\xe5\x9c\xb0"
        "\xe7\xa7\x9f\xe9\x87\x91\xe4\xb8\x8d\xe5\x85\xac\xe5\xbc\x80",  /* collective land */
        "\xe9\x82\xbb\xe5\xb1\x85\xe7\xa0\x8d\xe6\xa0\x91",             /* cutting trees */
        "we argue all the time about money",
        "the noise from the bar is killing me",
    };
    for (size_t i = 0; i < sizeof not_red / sizeof *not_red; i++)
        cr_assert_neq(level(not_red[i]), DANGER_RED, "%s", not_red[i]);
}

Test(danger, a_threat_without_specifics_is_moderate)
{
    cr_assert_eq(level("my neighbour keeps threatening me at night"), DANGER_MODERATE);
}

Test(danger, contract_words_stay_red_without_a_model)
{
    /* zi-sha (suicide) and dong-dao (knife) */
    struct danger_result r;
    cr_assert_eq(danger_screen_text(NULL, lx, "\xe8\x87\xaa\xe6\x9d\x80", &r), DANGER_RED);
    cr_assert_eq(danger_screen_text(NULL, lx, "\xe5\x8a\xa8\xe5\x88\x80", &r), DANGER_RED);
    cr_assert_eq(danger_screen_text(NULL, lx, "hello", &r), DANGER_NONE);
}

Test(danger, people_in_words_and_approximations)
{
    /* shi-ji ren, er-shi-duo hu, shang-bai ren, liu-qi-shi hu */
    cr_assert_eq(people("\xe5\x8d\x81\xe5\x87\xa0\xe4\xb8\xaa\xe4\xba\xba"), 10);
    cr_assert_eq(people("\xe4\xba\x8c\xe5\x8d\x81\xe5\xa4\x9a\xe6\x88\xb7"), 20);
    cr_assert_eq(people("\xe4\xb8\x8a\xe7\x99\xbe\xe4\xba\xba"), 100);
    cr_assert_eq(people("\xe5\x85\xad\xe4\xb8\x83\xe5\x8d\x81\xe6\x88\xb7"), 60);
    cr_assert_eq(people("dozens of us will go"), 24);
    cr_assert_eq(people("about 40 of us"), 40);
    cr_assert_eq(people("forty of us will go"), 40);
    cr_assert_eq(people("a score of households"), 20);
    cr_assert_eq(people("forty-two villagers"), 42);
    cr_assert_eq(people("a hundred workers"), 100);
    cr_assert_eq(people("hundreds of workers"), 200);
    cr_assert_eq(people("we argue all the time"), 0);
    cr_assert_eq(people("one of them said no"), 1);
}

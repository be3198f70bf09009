/* test_catmodel.c: the category model (handlers/catmodel.c): the normaliser with the real
 * OpenCC t2s table, a tiny model file written here and read back, rejected files, long and
 * broken input, and the committed data/model/category.model on plain messages. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/catmodel.h"

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

TestSuite(catmodel, .init = setup, .fini = teardown);

static const char *norm(const char *in)
{
    static char out[CATMODEL_MAX_INPUT + 1];
    size_t n = catnorm_apply(cn, in, strlen(in), out, sizeof out);
    cr_assert_neq(n, (size_t)-1);
    cr_assert_eq(n, strlen(out));
    return out;
}

Test(catmodel, normalises_traditional_width_case_digits_and_punctuation)
{
    cr_assert_str_eq(norm("老闆欠我三個月薪水"), "老板欠我三个月薪水");
    cr_assert_str_eq(norm("樓上漏水，鄰居不理！！"), "楼上漏水 邻居不理");
    cr_assert_str_eq(norm("  Hello, WORLD!!  "), "hello world");
    cr_assert_str_eq(norm("欠我１２３００元 2024年"), "欠我0元 0年");
    cr_assert_str_eq(norm("ＡＢＣ　ｄｅｆ"), "abc def");
    cr_assert_str_eq(norm("“拆迁”……补偿"), "拆迁 补偿");
    cr_assert_str_eq(norm("好气😤😤"), "好气😤😤");
    cr_assert_str_eq(norm("!!!"), "");
}

Test(catmodel, normaliser_drops_invalid_utf8_and_cuts_long_input)
{
    cr_assert_str_eq(norm("a\xff\xfe" "b\xe4\xb8"), "ab");
    cr_assert_str_eq(norm("\xc0\xaf" "x"), "x"); /* overlong '/' */
    size_t big = 3 * CATMODEL_MAX_INPUT;
    char *in = malloc(big + 1);
    for (size_t i = 0; i + 3 <= big; i += 3)
        memcpy(in + i, "\xe4\xb8\x80", 3); /* one CJK character, 3 bytes */
    in[big] = '\0';
    char out[64];
    size_t n = catnorm_apply(cn, in, big, out, sizeof out);
    cr_assert_leq(n, sizeof out - 1);
    cr_assert_eq(n % 3, 0, "cut inside a character");
    free(in);
}

/* Two classes; the n-grams are normalised text. */
static const char tiny[] =
    "fqcat\t1\n"
    "ngram\t1\t2\t4\n"
    "classes\t2\n"
    "class\twage\t0.100\n"
    "class\tother\t0.000\n"
    "features\t4\n"
    "工资\t2.000\t0:3.000 1:-1.000\n"
    "老板\t1.500\t0:1.500\n"
    "你好\t1.000\t1:2.000\n"
    "pay \t1.000\t0:2.500\n";

static catmodel *parse_file(const char *text)
{
    /* written to a file and read back, as the daemon reads it */
    char path[] = "/tmp/fq-catmodel-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unlink(path);
    char err[256] = "";
    catmodel *m = catmodel_parse(buf, n, err, sizeof err);
    cr_assert_not_null(m, "parse: %s", err);
    return m;
}

Test(catmodel, tiny_model_scores_as_documented)
{
    catmodel *m = parse_file(tiny);
    cr_assert_eq(catmodel_nclasses(m), 2);
    cr_assert_eq(catmodel_nfeatures(m), 4);
    cr_assert_str_eq(catmodel_class_name(m, 0), "wage");
    cr_assert_eq(catmodel_class_index(m, "other"), 1);
    cr_assert_eq(catmodel_class_index(m, "nope"), -1);
    cr_assert_null(catmodel_class_name(m, 2));

    catmodel_guess g[3];
    /* Traditional input, both features present once each although 工資 occurs twice:
     * s0 = 0.1 + (3 + 1.5) / sqrt(4 + 2.25), s1 = 0 + (-1) / 2.5 */
    const char *msg = "老闆，工資！工資";
    cr_assert_eq(catmodel_predict(m, cn, msg, strlen(msg), g, 3), 2);
    double s0 = 0.1 + 4.5 / 2.5, s1 = -1.0 / 2.5;
    double p0 = 1.0 / (1.0 + exp(s1 - s0));
    cr_assert_eq(g[0].cls, 0);
    cr_assert_float_eq(g[0].prob, p0, 1e-6);
    cr_assert_float_eq(g[1].prob, 1 - p0, 1e-6);
    cr_assert_eq(g[1].cls, 1);

    cr_assert_eq(catmodel_predict(m, cn, "你好", strlen("你好"), g, 1), 1);
    cr_assert_eq(g[0].cls, 1);
    /* ASCII n-grams up to 4 ("pay " with the padding space), English upper case folded */
    cr_assert_eq(catmodel_predict(m, cn, "PAY", 3, g, 1), 1);
    cr_assert_eq(g[0].cls, 0);
    /* nothing known: the biases alone */
    cr_assert_eq(catmodel_predict(m, cn, "", 0, g, 2), 2);
    cr_assert_eq(g[0].cls, 0);
    cr_assert_float_eq(g[0].prob, 1.0 / (1.0 + exp(-0.1)), 1e-6);
    catmodel_free(m);
}

Test(catmodel, long_message_allocates_and_scores)
{
    catmodel *m = parse_file(tiny);
    size_t n = CATMODEL_MAX_INPUT + 500;
    char *in = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        in[i] = (char)('a' + i % 26);
    in[n] = '\0';
    catmodel_guess g[2];
    cr_assert_eq(catmodel_predict(m, cn, in, n, g, 2), 2);
    cr_assert_float_eq(g[0].prob + g[1].prob, 1.0, 1e-9);
    free(in);
    catmodel_free(m);
}

static void rejects(const char *text, const char *why)
{
    char err[256] = "";
    catmodel *m = catmodel_parse(text, strlen(text), err, sizeof err);
    cr_assert_null(m, "accepted a model with %s", why);
    cr_assert_neq(err[0], '\0', "no reason given for %s", why);
}

Test(catmodel, rejects_broken_model_files)
{
    rejects("", "no content");
    rejects("fqcat\t2\n", "a future version");
    rejects("fqcat\t1\nngram\t3\t1\t4\n", "nmin > nmax");
    rejects("fqcat\t1\nngram\t1\t2\t9\n", "an n-gram size beyond the bound");
    rejects("fqcat\t1\nngram\t1\t2\t2\nclasses\t1\n", "one class");
    rejects("fqcat\t1\nngram\t1\t2\t2\nclasses\t999\n", "too many classes");
    rejects("fqcat\t1\nngram\t1\t2\t2\nclasses\t2\nclass\ta\t0\nclass\tb\tx\n", "a bad bias");
    const char *head = "fqcat\t1\nngram\t1\t2\t2\nclasses\t2\nclass\ta\t0\nclass\tb\t0\n";
    char buf[512];
    snprintf(buf, sizeof buf, "%sfeatures\t2\nx\t1.0\t0:1.0\n", head);
    rejects(buf, "fewer features than announced");
    snprintf(buf, sizeof buf, "%sfeatures\t1\nx\t1.0\t2:1.0\n", head);
    rejects(buf, "a class index out of range");
    snprintf(buf, sizeof buf, "%sfeatures\t2\nx\t1.0\t0:1.0\nx\t1.0\t1:1.0\n", head);
    rejects(buf, "an n-gram listed twice");
    snprintf(buf, sizeof buf, "%sfeatures\t1\nx\t-1.0\t0:1.0\n", head);
    rejects(buf, "a negative idf");
    snprintf(buf, sizeof buf, "%sfeatures\t1\nx\t1.0\t0:1e5\n", head);
    rejects(buf, "an exponent");
    snprintf(buf, sizeof buf, "%sfeatures\t1\nx\t1.0\t0:1.0\nextra\n", head);
    rejects(buf, "data after the features");
    snprintf(buf, sizeof buf, "%sfeatures\t99999999\n", head);
    rejects(buf, "a feature count beyond the bound");
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

Test(catmodel, committed_model_loads_and_reads_plain_messages)
{
    const char *cands[] = {"data/model/category.model", "../data/model/category.model",
                           "../../data/model/category.model"};
    size_t len = 0;
    char *buf = NULL;
    for (size_t i = 0; i < 3 && !buf; i++)
        buf = slurp(cands[i], &len);
    cr_assert_not_null(buf, "data/model/category.model not found");
    char err[256] = "";
    catmodel *m = catmodel_parse(buf, len, err, sizeof err);
    free(buf);
    cr_assert_not_null(m, "committed model: %s", err);
    cr_assert_eq(catmodel_nclasses(m), 14);
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"老板欠我三个月工资", "wage"},
        {"老闆欠我三個月薪水", "wage"},
        {"my boss hasnt paid my wages for 3 months", "wage"},
        {"楼上天天半夜吵得睡不着", "neighbour"},
        {"被邻居家的狗咬了", "injury"},
        {"我爸八十岁了几个儿子都不养他", "support"},
        {"房子要拆迁补偿款太低", "demolition"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        catmodel_guess g[3];
        cr_assert_eq(catmodel_predict(m, cn, cases[i].text, strlen(cases[i].text), g, 3), 3);
        cr_expect_str_eq(catmodel_class_name(m, g[0].cls), cases[i].want, "%s", cases[i].text);
        cr_assert(g[0].prob >= g[1].prob && g[1].prob >= g[2].prob);
    }
    catmodel_free(m);
}

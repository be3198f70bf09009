/* The JSON the core writes by hand (common/util.c buf_json_string, bot/chat.c
 * chat_answer_json) must read back, through jansson, as exactly what was meant. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../bot/chat.h"
#include "../../common/fq.h"
#include "../../handlers/handlers.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    cr_assert_not_null(j, "not JSON (%s): %s", e.text, text);
    return j;
}

static char *quoted(const char *s)
{
    struct fq_buf b;
    buf_init(&b);
    buf_json_string(&b, s);
    char *out = buf_take(&b);
    cr_assert_not_null(out);
    return out;
}

Test(json, strings_read_back_unchanged)
{
    const char *cases[] = {
        "", "plain", "引号\"和\\反斜杠", "行\n换\r\t制表", "\x01\x1f\x7f", "枫桥经验 😀 繁體",
        "</script>", "a\"b\\c\"", "\xe2\x80\xa8 (U+2028)",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *q = quoted(cases[i]);
        char doc[512];
        snprintf(doc, sizeof doc, "[%s]", q);
        json_t *j = parse(doc);
        cr_assert_str_eq(json_string_value(json_array_get(j, 0)), cases[i], "case %zu: %s", i, q);
        json_decref(j);
        free(q);
    }
    char *q = quoted("\x01");
    cr_assert_str_eq(q, "\"\\u0001\"");
    free(q);
    q = quoted(NULL);
    cr_assert_str_eq(q, "null");
    free(q);
}

/* Bytes that are not UTF-8 (a lone continuation byte, a truncated sequence, an overlong form,
 * a surrogate) become U+FFFD one byte at a time, and the rest is kept. */
Test(json, invalid_utf8_replaced)
{
    struct {
        const char *in, *out;
    } cases[] = {
        {"a\x80z", "a\xef\xbf\xbdz"},
        {"\xe6\x9e", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xc0\xaf!", "\xef\xbf\xbd\xef\xbf\xbd!"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"枫\xff桥", "枫\xef\xbf\xbd桥"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *q = quoted(cases[i].in);
        char doc[128];
        snprintf(doc, sizeof doc, "[%s]", q);
        json_t *j = parse(doc);
        cr_assert_str_eq(json_string_value(json_array_get(j, 0)), cases[i].out, "case %zu", i);
        json_decref(j);
        free(q);
    }
}

/* The answer of CONTRACT 3.1: replies, state, options, case, each only when present. */
Test(json, chat_answer_shape)
{
    struct fq_actions a;
    actions_init(&a);
    char *s = chat_answer_json(&a);
    cr_assert_str_eq(s, "{\"replies\":[]}");
    free(s);

    answer_reply(&a, "请问\"哪个\"村？\n");
    answer_reply(&a, "second");
    answer_option(&a, "1", "邻里纠纷");
    answer_option(&a, "2", "wage \\ arrears");
    a.answer.state = "ask_category";
    a.answer.case_no = fq_strdup("FQ20261123-0001");
    s = chat_answer_json(&a);
    json_t *want = json_pack("{s:[{s:s},{s:s}],s:s,s:[{s:s,s:s},{s:s,s:s}],s:s}", "replies",
                             "text", "请问\"哪个\"村？\n", "text", "second", "state",
                             "ask_category", "options", "key", "1", "label", "邻里纠纷", "key",
                             "2", "label", "wage \\ arrears", "case", "FQ20261123-0001");
    json_t *got = parse(s);
    cr_assert(json_equal(got, want), "got %s", s);
    json_decref(got);
    json_decref(want);
    free(s);
    actions_cleanup(&a);
}

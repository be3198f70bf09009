/* The JSON the core writes by hand (common/fq.c buf_json_string, bot/chan/chat/chat_msg.c
 * chat_answer_json, bot/render/payload.c) must read back, through jansson, as exactly what was meant. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bot/chan/chat/chat_msg.h"
#include "bot/render/payload.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "handlers/actions.h"
#include "store/case_table.h"
#include "store/outbox_table.h"
#include "store/store.h"
#include "tests/unit/helpers/world.h"

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

/* The answer of docs/contract.md 3.1: replies, state, options, case, each only when present. */
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

/* ---- the payloads of docs/contract.md 4, as payload_emit writes them (bot/render/payload.c) ------- */
struct rows {
    json_t *v[16];
    char *topic[16];
    size_t n;
};

static void collect(const struct fq_outbox_row *r, void *arg)
{
    struct rows *rs = arg;
    if (rs->n < 16) {
        json_error_t e;
        rs->v[rs->n] = json_loads(r->payload, 0, &e);
        cr_assert_not_null(rs->v[rs->n], "row %s is not JSON (%s): %s", r->topic, e.text,
                           r->payload);
        cr_assert(json_is_object(json_object_get(rs->v[rs->n], "case")) ||
                      !strstr(r->payload, "\"case\":{"),
                  "%s", r->payload);
        rs->topic[rs->n++] = strdup(r->topic);
    }
}

static const char *str(json_t *o, const char *path)   /* "case.contact" */
{
    char key[64];
    snprintf(key, sizeof key, "%s", path);
    char *dot = strchr(key, '.');
    if (dot) {
        *dot = '\0';
        o = json_object_get(o, key);
        return json_string_value(json_object_get(o, dot + 1));
    }
    return json_string_value(json_object_get(o, key));
}

Test(json, payload_rows_carry_the_contract_fields)
{
    struct world w;
    world_open(&w, "json");
    world_add_med(&w, "m-grid", "王建国", "grid_worker", "grid-fy-01", "*", true, false);
    world_ready(&w);
    w.cfg->mqtt_enabled = true;

    struct fq_case k;
    memset(&k, 0, sizeof k);
    k.channel = strdup("web");
    k.user = strdup("u-json");
    k.name = strdup("李小明");
    k.contact = strdup("13800001111");
    k.description = strdup("楼道\"堆物\"\\ 第二行\n完");
    snprintf(k.category, sizeof k.category, "neighbour");
    k.status = fq_case_status_parse("assigned");
    k.severity = FQ_SEV_YELLOW;
    k.place_org = strdup("grid-fy-01");
    k.org_id = strdup("grid-fy-01");
    k.mediator_id = strdup("m-grid");
    k.tier = FQ_LEVEL_GRID;
    k.people = 3;
    k.created_at = k.assigned_at = k.updated_at = w.ctx.now;
    k.due_accept = w.ctx.now + 7200;
    cr_assert_eq(store_begin(w.st), FQ_OK);
    cr_assert_eq(store_case_insert(w.st, &k), FQ_OK, "%s", store_errmsg(w.st));

    struct fq_actions a;
    actions_init(&a);
    actions_event(&a, "created", &k);
    actions_assign(&a, "assigned", "m-grid", &k);
    actions_alert(&a, "red", "town-fq", &k);
    actions_med_reply(&a, "m-grid", "req-1", true, "已接单", NULL);
    answer_reply(&a, "已受理");
    answer_option(&a, "1", "查询");
    answer_set_case(&a, k.case_no);
    actions_outbound(&a);
    struct fq_msg m = {.kind = FQ_MSG_CHAT, .channel = "sms", .user = "u-json"};
    cr_assert_eq(payload_emit(&w.ctx, "fq/v1", &m, &a, NULL), FQ_OK);
    cr_assert_eq(store_commit(w.st), FQ_OK);
    actions_cleanup(&a);

    struct rows rs = {0};
    cr_assert_eq(store_outbox_pending(w.st, "mqtt", 0, 16, collect, &rs), FQ_OK);
    cr_assert_eq(rs.n, 5, "rows: %zu", rs.n);
    char want[128];
    snprintf(want, sizeof want, "fq/v1/events/cases/%s", k.case_no);
    cr_assert_str_eq(rs.topic[0], want);
    cr_assert_str_eq(rs.topic[1], "fq/v1/mediators/m-grid/assignments");
    cr_assert_str_eq(rs.topic[2], "fq/v1/alerts/town-fq");
    cr_assert_str_eq(rs.topic[3], "fq/v1/mediators/m-grid/replies");
    cr_assert_str_eq(rs.topic[4], "fq/v1/outbound/sms/u-json");
    for (size_t i = 0; i < rs.n; i++) {
        cr_assert_eq(strlen(str(rs.v[i], "event_id")), 32, "row %zu", i);
        cr_assert_not_null(str(rs.v[i], "at"), "row %zu", i);
    }
    /* the event: the case with masked personal data only */
    json_t *ev = rs.v[0];
    cr_assert_str_eq(str(ev, "type"), "created");
    cr_assert_str_eq(str(ev, "case.case_no"), k.case_no);
    cr_assert_str_eq(str(ev, "case.description"), k.description);
    cr_assert_str_eq(str(ev, "case.severity"), "yellow");
    cr_assert_str_eq(str(ev, "case.place_name"), "枫源村第一网格");
    cr_assert_str_eq(str(ev, "case.mediator_name"), "王建国");
    cr_assert_str_eq(str(ev, "case.tier"), "grid");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(ev, "case"), "people")), 3);
    cr_assert(json_is_null(json_object_get(json_object_get(ev, "case"), "accepted_at")));
    cr_assert_not_null(str(ev, "case.due_accept"));
    cr_assert_null(json_object_get(json_object_get(ev, "case"), "contact"));
    cr_assert_null(strstr(str(ev, "case.contact_masked"), "00001111"));
    /* the assignment: the mediator sees the contact */
    cr_assert_str_eq(str(rs.v[1], "action"), "assigned");
    cr_assert_str_eq(str(rs.v[1], "case.contact"), "13800001111");
    cr_assert_str_eq(str(rs.v[1], "case.name"), "李小明");
    cr_assert_str_eq(str(rs.v[2], "type"), "alert");
    cr_assert_str_eq(str(rs.v[2], "reason"), "red");
    cr_assert_str_eq(str(rs.v[2], "org"), "town-fq");
    cr_assert_str_eq(str(rs.v[2], "case.case_no"), k.case_no);
    cr_assert(json_is_true(json_object_get(rs.v[3], "ok")));
    cr_assert_str_eq(str(rs.v[3], "request_id"), "req-1");
    cr_assert_str_eq(str(rs.v[3], "message"), "已接单");
    json_t *out = rs.v[4];
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(out, "replies"), 0), "text")),
                     "已受理");
    cr_assert_str_eq(str(out, "case"), k.case_no);
    cr_assert_eq(json_array_size(json_object_get(out, "options")), 1);

    /* the admin API's case JSON is the same writer */
    char *cj = payload_case_json(&w.ctx, &k, true);
    json_t *cjo = parse(cj);
    cr_assert_str_eq(json_string_value(json_object_get(cjo, "contact")), "13800001111");
    cr_assert(json_equal(json_object_get(rs.v[1], "case"), cjo));
    json_decref(cjo);
    free(cj);

    for (size_t i = 0; i < rs.n; i++) {
        json_decref(rs.v[i]);
        free(rs.topic[i]);
    }
    case_cleanup(&k);
    world_close(&w);
}

/* Numbers with a fraction are written as jansson writes a real, so a payload that moved from
 * jansson to the writer keeps its bytes; and they read back as the same double. */
Test(json, reals_as_jansson_writes_them)
{
    const double v[] = {0.75, 1.0, 0.1, 1.0 / 3, 123456789.0, 1e21, 2.5e-7, 0.0, -4.0, 86400.5};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct fq_buf b;
        buf_init(&b);
        buf_json_real(&b, v[i]);
        json_t *j = json_real(v[i]);
        char *want = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
        cr_assert_str_eq(b.s, want, "%.17g", v[i]);
        json_t *back = json_loads(b.s, JSON_DECODE_ANY, NULL);
        cr_assert(json_is_real(back) && json_real_value(back) == v[i], "%s", b.s);
        json_decref(back);
        free(want);
        json_decref(j);
        buf_cleanup(&b);
    }
}

/* Arrays, nested objects, null, merged members and the indented layout: the indented text is
 * byte for byte what jansson's JSON_INDENT(2) makes of the same document. */
Test(json, arrays_merge_and_indent)
{
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    jobj_str(&o, "a", "x \"q\", {y}: [z]");
    jobj_key(&o, "list");
    struct fq_jarr arr = jarr_begin(&b);
    for (int i = 0; i < 3; i++) {
        jarr_item(&arr);
        struct fq_jobj in = jobj_begin(&b);
        jobj_int(&in, "i", i);
        jobj_real(&in, "r", i / 4.0);
        jobj_end(&in);
    }
    jarr_end(&arr);
    jobj_key(&o, "empty");
    struct fq_jarr none = jarr_begin(&b);
    jarr_end(&none);
    jobj_key(&o, "nothing");
    struct fq_jobj e = jobj_begin(&b);
    jobj_end(&e);
    jobj_null(&o, "n");
    jobj_merge(&o, "{\"m\":1,\"l\":[\"a\",\"b\"]}");
    jobj_merge(&o, "{}");
    jobj_merge(&o, "[1]");
    jobj_end(&o);
    cr_assert(!b.oom);
    json_t *j = parse(b.s);
    cr_assert_eq(json_object_size(j), 7, "%s", b.s);
    cr_assert_str_eq(json_string_value(json_object_get(j, "a")), "x \"q\", {y}: [z]");
    cr_assert_eq(json_array_size(json_object_get(j, "list")), 3);
    cr_assert(json_is_null(json_object_get(j, "n")));
    cr_assert_eq(json_integer_value(json_object_get(j, "m")), 1);
    cr_assert_eq(json_array_size(json_object_get(j, "l")), 2);
    char *compact = json_dumps(j, JSON_COMPACT), *want = json_dumps(j, JSON_INDENT(2));
    cr_assert_str_eq(b.s, compact);
    struct fq_buf p;
    buf_init(&p);
    buf_json_indent(&p, b.s);
    cr_assert_str_eq(p.s, want);
    buf_cleanup(&p);
    free(compact);
    free(want);
    json_decref(j);
    buf_cleanup(&b);
}

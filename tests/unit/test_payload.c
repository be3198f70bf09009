/* test_payload.c: the payload builder (bot/render/payload.c) publishes the case the actions
 * carry. The store is a real SQLite file; sqlite3_step is wrapped here (the test binary's
 * definition wins over libsqlite3's) to count the statements that read the cases table. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "bot/render/payload.h"
#include "handlers/cases.h"
#include "helpers/world.h"
#include "store/outbox_table.h"

static int case_reads;
static bool counting;

int sqlite3_step(sqlite3_stmt *st)
{
    static int (*real)(sqlite3_stmt *);
    if (!real)
        real = (int (*)(sqlite3_stmt *))dlsym(RTLD_NEXT, "sqlite3_step");
    const char *sql = sqlite3_sql(st);
    if (counting && sql && strncmp(sql, "SELECT", 6) == 0 && strstr(sql, " FROM cases"))
        case_reads++;
    return real(st);
}

struct rows {
    json_t *v[16];
    char *topic[16];
    size_t n;
};

static void collect(const struct fq_outbox_row *r, void *arg)
{
    struct rows *rs = arg;
    if (rs->n < 16) {
        rs->topic[rs->n] = strdup(r->topic);
        rs->v[rs->n++] = json_loads(r->payload, 0, NULL);
    }
}

static void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        json_decref(rs->v[i]);
        free(rs->topic[i]);
    }
}

static void open_world(struct world *w, const char *tag)
{
    world_open(w, tag);
    world_add_med(w, "m-grid", "王建国", "grid_worker", "grid-fy-01", "*", true, false);
    world_ready(w);
    w->cfg->mqtt_enabled = true;
}

/* A new case: the handler reads what it needs to route it; publishing its events, the
 * assignment and the alerts reads nothing back (it read the case three times before). */
Test(payload, a_new_case_is_not_read_back)
{
    struct world w;
    open_world(&w, "payload-reads");
    struct fq_report r = {.channel = "web", .user = "u-1", .locale = "zh-CN",
                          .category = "neighbour", .org_id = "grid-fy-01",
                          .place_text = "枫源村第一网格", .description = "邻居在楼道堆杂物",
                          .people = 2};
    struct fq_actions a;
    actions_init(&a);
    struct fq_case k;
    memset(&k, 0, sizeof k);
    cr_assert_eq(store_begin(w.st), FQ_OK);
    counting = true;
    case_reads = 0;
    cr_assert_eq(case_open(&w.ctx, &r, &a, &k), FQ_OK);
    int in_handler = case_reads;
    cr_assert_eq(payload_emit(&w.ctx, "fq/v1", NULL, &a, NULL), FQ_OK);
    counting = false;
    cr_expect_eq(case_reads - in_handler, 0, "payload_emit read the case %d times",
                 case_reads - in_handler);
    cr_assert_eq(store_commit(w.st), FQ_OK);
    struct rows rs = {0};
    cr_assert_eq(store_outbox_pending(w.st, "mqtt", 0, 16, collect, &rs), FQ_OK);
    cr_assert_eq(rs.n, 3, "rows: %zu", rs.n);   /* created, assigned, the assignment */
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(rs.v[2], "case"),
                                                       "case_no")), k.case_no);
    rows_free(&rs);
    case_cleanup(&k);
    actions_cleanup(&a);
    world_close(&w);
}

/* The case published is the one the actions carry, even when the store does not hold it. */
Test(payload, the_case_comes_from_the_actions)
{
    struct world w;
    open_world(&w, "payload-snapshot");
    struct fq_case k;
    memset(&k, 0, sizeof k);
    k.id = 4242;   /* no such row */
    snprintf(k.case_no, sizeof k.case_no, "FQ20261201-0042");
    k.channel = strdup("web");
    k.user = strdup("u-9");
    k.contact = strdup("13800001111");
    k.description = strdup("楼道堆物");
    snprintf(k.category, sizeof k.category, "neighbour");
    k.status = FQ_CASE_ACCEPTED;
    k.org_id = strdup("grid-fy-01");
    k.mediator_id = strdup("m-grid");
    k.created_at = w.ctx.now;

    struct fq_actions a;
    actions_init(&a);
    actions_event(&a, "accepted", &k);
    /* a later change to the case, handed over again, is what every action publishes */
    k.status = FQ_CASE_IN_PROGRESS;
    actions_assign(&a, "progress", "m-grid", &k);
    cr_assert_not(a.oom);
    cr_assert_eq(a.n_cases, 1);
    case_cleanup(&k);   /* the list holds its own copy */

    cr_assert_eq(store_begin(w.st), FQ_OK);
    cr_assert_eq(payload_emit(&w.ctx, "fq/v1", NULL, &a, NULL), FQ_OK);
    cr_assert_eq(store_commit(w.st), FQ_OK);
    actions_cleanup(&a);

    struct rows rs = {0};
    cr_assert_eq(store_outbox_pending(w.st, "mqtt", 0, 16, collect, &rs), FQ_OK);
    cr_assert_eq(rs.n, 2, "rows: %zu", rs.n);
    cr_expect_str_eq(rs.topic[0], "fq/v1/events/cases/FQ20261201-0042");
    cr_expect_str_eq(rs.topic[1], "fq/v1/mediators/m-grid/assignments");
    for (size_t i = 0; i < 2; i++) {
        json_t *c = json_object_get(rs.v[i], "case");
        cr_expect_str_eq(json_string_value(json_object_get(c, "case_no")), "FQ20261201-0042");
        cr_expect_str_eq(json_string_value(json_object_get(c, "status")), "in_progress");
        cr_expect_str_eq(json_string_value(json_object_get(c, "mediator_name")), "王建国");
    }
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(rs.v[1], "case"),
                                                       "contact")), "13800001111");
    rows_free(&rs);
    world_close(&w);
}

/* A survey question a timer sends is addressed by the action itself: no message, no read. */
Test(payload, an_explicit_outbound_needs_no_message)
{
    struct world w;
    open_world(&w, "payload-outbound");
    struct fq_actions a;
    actions_init(&a);
    answer_reply(&a, "满意吗？");
    actions_outbound_to(&a, "sms", "u-7", NULL);
    cr_assert_not(a.oom);
    cr_assert_eq(store_begin(w.st), FQ_OK);
    counting = true;
    case_reads = 0;
    cr_assert_eq(payload_emit(&w.ctx, "fq/v1", NULL, &a, NULL), FQ_OK);
    counting = false;
    cr_expect_eq(case_reads, 0);
    cr_assert_eq(store_commit(w.st), FQ_OK);
    actions_cleanup(&a);
    struct rows rs = {0};
    cr_assert_eq(store_outbox_pending(w.st, "mqtt", 0, 16, collect, &rs), FQ_OK);
    cr_assert_eq(rs.n, 1);
    cr_expect_str_eq(rs.topic[0], "fq/v1/outbound/sms/u-7");
    rows_free(&rs);
    world_close(&w);
}

/* test_roster_model.c: roster_validate's id rules, its sorted lookup indexes and the order in
 * which it names problems (docs/contract.md 5.1, 5.3), on rosters built in memory. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/roster_model.h"

static char *dupf(const char *fmt, int n)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, fmt, n);
    return strdup(tmp);
}

/* A county, `towns` towns under it, `per` grids under each town (grids one level too deep is
 * not checked by roster_validate, so the tree is kept to levels it accepts: county > town >
 * village). Mediators: one per village, with chat users, WeCom ids and one gateway each. */
static struct fq_roster *tree(int towns, int per, int meds)
{
    struct fq_roster *r = roster_new();
    size_t n = 1 + (size_t)towns + (size_t)towns * (size_t)per;
    r->org = calloc(n, sizeof *r->org);
    r->org[0] = (struct fq_org){.id = strdup("county"), .name = strdup("County"),
                                .level = FQ_LEVEL_COUNTY};
    r->n_org = 1;
    for (int t = 0; t < towns; t++) {
        struct fq_org *o = &r->org[r->n_org++];
        *o = (struct fq_org){.id = dupf("town-%d", t), .name = dupf("Town %d", t),
                             .parent_id = strdup("county"), .level = FQ_LEVEL_TOWN};
        for (int v = 0; v < per; v++) {
            struct fq_org *g = &r->org[r->n_org++];
            char id[64];
            snprintf(id, sizeof id, "vil-%d-%d", t, v);
            *g = (struct fq_org){.id = strdup(id), .name = strdup(id), .parent_id = dupf("town-%d", t),
                                 .level = FQ_LEVEL_VILLAGE};
        }
    }
    r->med = calloc((size_t)meds + 1, sizeof *r->med);
    for (int i = 0; i < meds; i++) {
        struct fq_mediator *m = &r->med[r->n_med++];
        char org[64];
        snprintf(org, sizeof org, "vil-%d-%d", i % towns, (i / towns) % per);
        *m = (struct fq_mediator){.id = dupf("m-%d", i), .name = dupf("M %d", i),
                                  .role = strdup("village_mediator"), .org_id = strdup(org),
                                  .chat_user = dupf("chat-%d", i), .wecom_userid = dupf("W%d", i),
                                  .active = true};
        m->gateways = calloc(1, sizeof *m->gateways);
        m->gateways[0] = (struct fq_gateway){.channel = strdup("sms"), .user = dupf("138%08d", i)};
        m->n_gateways = 1;
    }
    return r;
}

static void expect_problem(struct fq_roster *r, const char *want)
{
    char *prob = NULL;
    cr_assert_eq(roster_validate(r, &prob), FQ_EINVAL, "accepted, wanted: %s", want);
    cr_assert(prob && strcmp(prob, want) == 0, "got \"%s\", wanted \"%s\"", prob ? prob : "(null)",
              want);
    free(prob);
    roster_free(r);
}

static void set(char **field, const char *v)
{
    free(*field);
    *field = strdup(v);
}

Test(roster_model, lookups_find_every_id_after_validation)
{
    struct fq_roster *r = tree(40, 25, 600);
    char *prob = NULL;
    cr_assert_eq(roster_validate(r, &prob), FQ_OK, "%s", prob ? prob : "");
    for (size_t i = 0; i < r->n_org; i++) {
        cr_assert_eq(roster_org_index(r, r->org[i].id), (int)i, "%s", r->org[i].id);
        if (r->org[i].parent_id)
            cr_assert_eq(r->org[i].parent, roster_org_index(r, r->org[i].parent_id));
    }
    for (size_t i = 0; i < r->n_med; i++) {
        cr_assert_eq(roster_mediator_index(r, r->med[i].id), (int)i);
        cr_assert_eq(roster_mediator_by_chat_user(r, r->med[i].chat_user), (int)i);
        cr_assert_eq(roster_mediator_by_wecom(r, r->med[i].wecom_userid), (int)i);
        cr_assert_eq(roster_mediator_by_gateway(r, "sms", r->med[i].gateways[0].user), (int)i);
        cr_assert_eq(r->med[i].org, roster_org_index(r, r->med[i].org_id));
    }
    cr_assert_eq(roster_org_index(r, "vil-999-0"), -1);
    cr_assert_eq(roster_org_index(r, ""), -1);
    cr_assert_eq(roster_org_index(r, NULL), -1);
    cr_assert_eq(roster_mediator_index(r, "m-600"), -1);
    cr_assert_eq(roster_mediator_by_chat_user(r, "chat-x"), -1);
    cr_assert_eq(roster_mediator_by_wecom(r, "w0"), -1, "WeCom ids are case-sensitive");
    cr_assert_eq(roster_mediator_by_gateway(r, "wechat", r->med[0].gateways[0].user), -1);
    cr_assert_eq(roster_mediator_by_gateway(r, "sms", "13800000000x"), -1);
    roster_free(r);
}

Test(roster_model, a_province_sized_roster_validates_and_resolves)
{
    /* 100 001 nodes and 3 000 mediators: every lookup must still give the right answer. */
    struct fq_roster *r = tree(250, 399, 3000);
    cr_assert_eq(r->n_org, 100001);
    char *prob = NULL;
    cr_assert_eq(roster_validate(r, &prob), FQ_OK, "%s", prob ? prob : "");
    cr_assert_eq(roster_org_index(r, "vil-249-398"), (int)r->n_org - 1);
    cr_assert_eq(r->org[r->n_org - 1].parent, roster_org_index(r, "town-249"));
    cr_assert_eq(roster_mediator_by_gateway(r, "sms", "13800002999"), 2999);
    roster_free(r);
}

Test(roster_model, ids_must_be_mqtt_topic_levels)
{
    const char *bad[] = {"m/wang", "m+wang", "m#wang", "m\nwang", "m\twang"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fq_roster *r = tree(2, 2, 3);
        set(&r->med[1].id, bad[i]);
        expect_problem(r, "mediators[1]: \"id\" must be 1 to 256 bytes without '/', '+', '#' or "
                          "control characters");
        r = tree(2, 2, 0);
        set(&r->org[2].id, bad[i]);
        expect_problem(r, "org[2]: \"id\" must be 1 to 256 bytes without '/', '+', '#' or "
                          "control characters");
    }
    char longid[258];
    memset(longid, 'a', 257);
    longid[257] = '\0';
    struct fq_roster *r = tree(2, 2, 3);
    set(&r->med[0].id, longid);
    expect_problem(r, "mediators[0]: \"id\" must be 1 to 256 bytes without '/', '+', '#' or "
                      "control characters");
    /* what a topic level may hold: Chinese, dots, dashes, a '$' inside */
    r = tree(2, 2, 3);
    set(&r->med[0].id, "调解员.王-01$a");
    char *prob = NULL;
    cr_assert_eq(roster_validate(r, &prob), FQ_OK, "%s", prob ? prob : "");
    cr_assert_eq(roster_mediator_index(r, "调解员.王-01$a"), 0);
    roster_free(r);
}

Test(roster_model, the_first_problem_in_array_order_is_named)
{
    /* a repeated id at org[5] comes before a missing name at org[7] ... */
    struct fq_roster *r = tree(2, 3, 0);   /* county, town-0, vil-0-0..2, town-1, vil-1-0..2 */
    set(&r->org[5].id, "vil-0-1");
    free(r->org[7].name);
    r->org[7].name = NULL;
    expect_problem(r, "org[5]: duplicate id \"vil-0-1\"");
    /* ... and after a missing name at org[3] */
    r = tree(2, 3, 0);
    set(&r->org[5].id, "vil-0-1");
    free(r->org[3].name);
    r->org[3].name = NULL;
    expect_problem(r, "org[3] (vil-0-1): missing \"name\"");
    /* three copies of one id: the second is named */
    r = tree(2, 3, 0);
    set(&r->org[7].id, "town-0");
    set(&r->org[4].id, "town-0");
    expect_problem(r, "org[4]: duplicate id \"town-0\"");
    /* mediators: chat_user, wecom_userid, gateways, each at its first repeat */
    r = tree(2, 3, 6);
    set(&r->med[4].chat_user, "chat-1");
    set(&r->med[3].wecom_userid, "W0");
    expect_problem(r, "mediators[3] (m-3): duplicate wecom_userid");
    r = tree(2, 3, 6);
    set(&r->med[5].gateways[0].user, r->med[2].gateways[0].user);
    set(&r->med[4].gateways[0].user, r->med[2].gateways[0].user);
    expect_problem(r, "mediators[4] (m-4): gateways[0]: channel \"sms\" user is already bound to m-2");
    r = tree(2, 3, 6);
    set(&r->med[5].id, "m-0");
    expect_problem(r, "mediators[5]: duplicate id \"m-0\"");
}

Test(roster_model, a_long_cycle_is_found)
{
    /* town-0 .. town-n: each the parent of the next, the first's parent the last */
    struct fq_roster *r = tree(20000, 0, 0);
    for (size_t i = 1; i < r->n_org; i++)
        set(&r->org[i].parent_id, r->org[i == r->n_org - 1 ? 1 : i + 1].id);
    set(&r->org[0].parent_id, "town-0");   /* the county hangs off the cycle */
    expect_problem(r, "org[0] (county): cycle in parents");
    /* a chain that ends at a root is no cycle, however long */
    r = tree(20000, 0, 0);
    for (size_t i = 2; i < r->n_org; i++)
        set(&r->org[i].parent_id, r->org[i - 1].id);
    char *prob = NULL;
    cr_assert_eq(roster_validate(r, &prob), FQ_OK, "%s", prob ? prob : "");
    roster_free(r);
}

Test(roster_model, validating_twice_rebuilds_the_indexes)
{
    struct fq_roster *r = tree(3, 3, 4);
    char *prob = NULL;
    cr_assert_eq(roster_validate(r, &prob), FQ_OK);
    set(&r->med[2].chat_user, "renamed");
    cr_assert_eq(roster_validate(r, &prob), FQ_OK);
    cr_assert_eq(roster_mediator_by_chat_user(r, "renamed"), 2);
    cr_assert_eq(roster_mediator_by_chat_user(r, "chat-2"), -1);
    roster_free(r);
}

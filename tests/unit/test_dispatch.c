/* test_dispatch.c: who is talking (handlers/dispatch.c) and the roster's gateway bindings
 * (handlers/roster.c). A hand-built roster with two mediators; messages are built as the
 * receivers build them (bot/chan/chat/chat_msg.c, bot/net/mqtt.c, bot/chan/wecom/wecom_callback.c, bot/chan/wecom/wecom_deliver.c) and only their
 * source, kind, channel and user vary. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/dispatch.h"

static struct fq_roster *ro;

static void add_gateway(struct fq_mediator *m, const char *channel, const char *user)
{
    struct fq_gateway *g = realloc(m->gateways, (m->n_gateways + 1) * sizeof *g);
    cr_assert_not_null(g);
    m->gateways = g;
    g[m->n_gateways].channel = channel ? strdup(channel) : NULL;
    g[m->n_gateways].user = user ? strdup(user) : NULL;
    m->n_gateways++;
}

/* county > grid; m-wang (chat_user m-wang, wecom_userid WangJianGuo, bound to sms
 * 13800000000) and m-chen (chat_user m-chen, no binding). Not validated yet. */
static struct fq_roster *sample(void)
{
    struct fq_roster *r = roster_new();
    cr_assert_not_null(r);
    r->org = calloc(2, sizeof *r->org);
    r->org[0].id = strdup("county-zj");
    r->org[0].name = strdup("county");
    r->org[0].level = FQ_LEVEL_COUNTY;
    r->org[1].id = strdup("vil-fy");
    r->org[1].name = strdup("village");
    r->org[1].level = FQ_LEVEL_TOWN;
    r->org[1].parent_id = strdup("county-zj");
    r->n_org = 2;
    r->med = calloc(2, sizeof *r->med);
    const char *ids[] = {"m-wang", "m-chen"};
    for (int i = 0; i < 2; i++) {
        struct fq_mediator *m = &r->med[i];
        m->id = strdup(ids[i]);
        m->name = strdup(ids[i]);
        m->role = strdup("town_mediator");
        m->org_id = strdup("vil-fy");
        m->chat_user = strdup(ids[i]);
        m->categories = calloc(1, sizeof *m->categories);
        m->categories[0] = strdup("*");
        m->n_categories = 1;
        m->active = true;
    }
    r->med[0].wecom_userid = strdup("WangJianGuo");
    add_gateway(&r->med[0], "sms", "13800000000");
    r->n_med = 2;
    return r;
}

static void setup(void)
{
    ro = sample();
    char *prob = NULL;
    cr_assert_eq(roster_validate(ro, &prob), FQ_OK, "%s", prob ? prob : "");
}

static void teardown(void) { roster_free(ro); }

/* The paths a message comes by, marked as each channel marks its messages (bot/chan/). */
enum path { FQ_SRC_HTTP, FQ_SRC_MQTT, FQ_SRC_WECOM, FQ_SRC_INTERNAL };

static int sender(enum fq_msg_kind kind, enum path src, const char *channel,
                  const char *user, const char *mediator)
{
    struct fq_msg *m = fq_msg_new(kind);
    cr_assert_not_null(m);
    m->ident = src == FQ_SRC_HTTP                                             ? FQ_IDENT_CHAT_USER
               : src == FQ_SRC_MQTT                                           ? (kind == FQ_MSG_COMMAND ? FQ_IDENT_MEDIATOR : FQ_IDENT_GATEWAY)
               : src == FQ_SRC_WECOM && channel && strcmp(channel, "wecom") == 0 ? FQ_IDENT_MEMBER
                                                                                 : FQ_IDENT_NONE;
    m->channel = channel ? strdup(channel) : NULL;
    m->user = user ? strdup(user) : NULL;
    m->mediator = mediator ? strdup(mediator) : NULL;
    int who = dispatch_sender(ro, m);
    fq_msg_free(m);
    return who;
}

TestSuite(dispatch, .init = setup, .fini = teardown);

Test(dispatch, webhook_chat_user_is_the_mediator)
{
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_HTTP, "web", "m-wang", NULL), 0);
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_HTTP, "sms", "m-chen", NULL), 1);
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_HTTP, "web", "someone", NULL), -1);
    /* a gateway binding is no chat_user: the webhook has its own names */
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_HTTP, "sms", "13800000000", NULL), -1);
}

Test(dispatch, gateway_user_matching_a_chat_user_is_a_resident)
{
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_MQTT, "sms", "m-wang", NULL), -1);
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_MQTT, "web", "m-chen", NULL), -1);
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_MQTT, "sms", "WangJianGuo", NULL), -1);
    /* a message carries no mediator for a gateway to fill in */
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_MQTT, "sms", "x", "m-wang"), -1);
}

Test(dispatch, gateway_binding_names_the_mediator_on_its_channel_only)
{
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_MQTT, "sms", "13800000000", NULL), 0);
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_MQTT, "web", "13800000000", NULL), -1);
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_MQTT, "sms", "13800000001", NULL), -1);
}

Test(dispatch, mqtt_command_topic_names_the_mediator)
{
    cr_assert_eq(sender(FQ_MSG_COMMAND, FQ_SRC_MQTT, NULL, NULL, "m-wang"), 0);
    cr_assert_eq(sender(FQ_MSG_COMMAND, FQ_SRC_MQTT, NULL, NULL, "m-chen"), 1);
    cr_assert_eq(sender(FQ_MSG_COMMAND, FQ_SRC_MQTT, NULL, NULL, "m-nobody"), -1);
    cr_assert_eq(sender(FQ_MSG_COMMAND, FQ_SRC_MQTT, NULL, NULL, NULL), -1);
}

Test(dispatch, wecom_app_member_by_wecom_userid)
{
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_WECOM, "wecom", "WangJianGuo", NULL), 0);
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_WECOM, "wecom", "m-wang", NULL), -1);
    /* a card click: FromUserName decides, not a mediator id that happens to equal it */
    cr_assert_eq(sender(FQ_MSG_COMMAND, FQ_SRC_WECOM, "wecom", "WangJianGuo", "WangJianGuo"), 0);
    cr_assert_eq(sender(FQ_MSG_COMMAND, FQ_SRC_WECOM, "wecom", "m-chen", "m-chen"), -1);
}

Test(dispatch, wecom_kf_customers_are_residents)
{
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_WECOM, "wecom_kf", "WangJianGuo", NULL), -1);
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_WECOM, "wecom_kf", "m-wang", NULL), -1);
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_WECOM, "wecom_kf", "13800000000", NULL), -1);
    cr_assert_eq(sender(FQ_MSG_COMMAND, FQ_SRC_WECOM, "wecom_kf", "WangJianGuo", "m-wang"), -1);
}

Test(dispatch, internal_and_other_kinds_are_nobody)
{
    cr_assert_eq(sender(FQ_MSG_CHAT, FQ_SRC_INTERNAL, "web", "m-wang", NULL), -1);
    cr_assert_eq(sender(FQ_MSG_TIMER, FQ_SRC_MQTT, "sms", "13800000000", "m-wang"), -1);
    cr_assert_eq(dispatch_sender(NULL, NULL), -1);
}

/* ---- roster_validate on gateway bindings ----------------------------------------------------- */
static void expect_problem(struct fq_roster *r, const char *part)
{
    char *prob = NULL;
    cr_assert_eq(roster_validate(r, &prob), FQ_EINVAL);
    cr_assert_not_null(prob);
    cr_assert(strstr(prob, part), "problem \"%s\" names \"%s\"", prob, part);
    free(prob);
    roster_free(r);
}

Test(roster_gateways, unknown_channel_names_are_allowed)
{
    struct fq_roster *r = sample();
    add_gateway(&r->med[1], "hotline-2", "ext-201");
    add_gateway(&r->med[1], "sms", "13900000000");
    char *prob = NULL;
    cr_assert_eq(roster_validate(r, &prob), FQ_OK, "%s", prob ? prob : "");
    cr_assert_eq(roster_mediator_by_gateway(r, "hotline-2", "ext-201"), 1);
    cr_assert_eq(roster_mediator_by_gateway(r, "sms", "13900000000"), 1);
    roster_free(r);
}

Test(roster_gateways, channel_must_be_a_topic_level)
{
    const char *bad[] = {"", "sms/x", "sms+", "#", "a\tb",
                         "a-channel-name-of-more-than-32-bytes"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fq_roster *r = sample();
        add_gateway(&r->med[1], bad[i], "ext-201");
        expect_problem(r, "mediators[1] (m-chen): gateways[0]: \"channel\"");
    }
    struct fq_roster *r = sample();
    add_gateway(&r->med[1], NULL, "ext-201");
    expect_problem(r, "\"channel\"");
}

Test(roster_gateways, user_must_be_a_topic_level)
{
    const char *bad[] = {"", "a/b", "+", "x#"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fq_roster *r = sample();
        add_gateway(&r->med[1], "sms", bad[i]);
        expect_problem(r, "mediators[1] (m-chen): gateways[0]: \"user\"");
    }
    char longu[130];
    memset(longu, 'u', sizeof longu - 1);
    longu[sizeof longu - 1] = '\0';
    struct fq_roster *r = sample();
    add_gateway(&r->med[1], "sms", longu);
    expect_problem(r, "\"user\"");
}

Test(roster_gateways, a_binding_names_one_mediator)
{
    struct fq_roster *r = sample();   /* m-wang has sms 13800000000 already */
    add_gateway(&r->med[1], "sms", "13800000000");
    expect_problem(r, "mediators[1] (m-chen): gateways[0]: channel \"sms\" user is already bound to m-wang");
    r = sample();
    add_gateway(&r->med[0], "sms", "13800000000");
    expect_problem(r, "mediators[0] (m-wang): gateways[1]");
    /* the same user on another channel is another binding */
    r = sample();
    add_gateway(&r->med[1], "web", "13800000000");
    char *prob = NULL;
    cr_assert_eq(roster_validate(r, &prob), FQ_OK, "%s", prob ? prob : "");
    roster_free(r);
}

/* test_mediator.c: the mediator's commands (docs/contract.md 7.2) and the case state machine, on a
 * real SQLite store in a fresh temporary directory, a hand-built roster (county > town > village >
 * grid, a mediator at each level, a second and an inactive grid worker) and the real catalogs of
 * locales/. Cases are opened with case_open, then driven through mediator_on_chat and
 * mediator_on_command exactly as the core does. Expected answers are formatted from the same
 * catalogs, so the tests check which message was chosen and with what values. */
#include <criterion/criterion.h>

#include <ctype.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "common/sla.h"
#include "common/status.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"
#include "handlers/mediator.h"
#include "store/case_table.h"
#include "store/timer_table.h"
#include "handlers/lifecycle.h"
#include "store/store.h"
#include "tests/unit/helpers/world.h"

static struct world w;
/* short names for the world's parts, set by setup */
static struct store *st;
static struct fq_config *cfg;
static struct fq_lexicon *lex;
static struct fq_roster *ro;
static struct fq_ctx ctx;

/* roster indexes */
static int M_WANG, M_SUN, M_OFF, M_CHEN, M_LI, M_ZHAO;

static void setup(void)
{
    world_open(&w, "med");
    cr_assert_eq(w.cfg->sla_attempts_per_tier, 3);
    /* m-sun handles family cases only, so routing always picks m-wang for the neighbour cases
     * of these tests (load balancing would otherwise alternate); a transfer may still name her */
    M_WANG = world_add_med(&w, "m-wang", "王建国", "grid_worker", "grid-fy-01", "*", true, false);
    M_SUN = world_add_med(&w, "m-sun", "孙小梅", "grid_worker", "grid-fy-01", "family", true, false);
    M_OFF = world_add_med(&w, "m-off", "钱休假", "grid_worker", "grid-fy-01", "*", false, false);
    M_CHEN = world_add_med(&w, "m-chen", "陈秀英", "village_mediator", "vil-fy", "*", true, false);
    M_LI = world_add_med(&w, "m-li", "李司法", "town_mediator", "town-fq", "*", true, false);
    M_ZHAO = world_add_med(&w, "m-zhao", "赵县调", "county_mediator", "county-zj", "*", true, false);
    world_ready(&w);
    st = w.st;
    cfg = w.cfg;
    lex = w.lex;
    ro = w.ro;
    ctx = w.ctx;
}

static void teardown(void)
{
    world_close(&w);
    st = NULL;
}

TestSuite(mediator, .init = setup, .fini = teardown);

/* ---- helpers ------------------------------------------------------------------------------- */
/* Opens a blue neighbour case at the grid (a new resident each time, so the repeat-report rule
 * does not raise it); it goes to m-wang, the grid worker first in roster order. */
static void open_case(struct fq_case *k)
{
    world_open_case(&w, &ctx, "web", k);
    cr_assert_str_eq(fq_case_status_name(k->status), "assigned");
    cr_assert_str_eq(k->mediator_id, "m-wang");
}

static void get_case(const char *no, struct fq_case *k)
{
    enum fq_err err = store_case_get(st, no, k);
    cr_assert_eq(err, FQ_OK, "store_case_get %s: %s", no, fq_strerror(err));
}

static void set_status(const char *no, const char *status)
{
    struct fq_case k;
    get_case(no, &k);
    k.status = fq_case_status_parse(status);
    cr_assert_eq(store_case_update(st, &k), FQ_OK);
    case_cleanup(&k);
}

/* A chat message from roster mediator `med`; *a must be cleaned by the caller. Returns the
 * first reply (borrowed from a). */
static const char *chat_loc(int med, const char *text, const char *locale, struct fq_actions *a)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    cr_assert_not_null(m);
    m->channel = strdup("web");
    m->user = strdup(ro->med[med].chat_user);
    m->text = strdup(text);
    m->locale = locale ? strdup(locale) : NULL;
    actions_init(a);
    enum fq_err err = mediator_on_chat(&ctx, m, med, a);
    fq_msg_free(m);
    cr_assert_eq(err, FQ_OK, "mediator_on_chat(%s): %s", text, fq_strerror(err));
    cr_assert_eq(a->answer.status, 200);
    cr_assert_eq(a->answer.n_replies, 1, "one reply to \"%s\"", text);
    return a->answer.replies[0];
}

static const char *chat(int med, const char *text, struct fq_actions *a)
{
    return chat_loc(med, text, NULL, a);
}

/* Runs a chat command and returns nothing; for steps whose answer is not the point. */
static void say(int med, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int med, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct fq_actions a;
    chat(med, text, &a);
    actions_cleanup(&a);
}

/* An MQTT command; returns the MED_REPLY action (borrowed from a), which must exist. */
static const struct fq_action *command(const char *mediator, const char *cmd, const char *case_no,
                                       const char *note, const char *to, const char *request_id,
                                       struct fq_actions *a)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_COMMAND);
    m->ident = FQ_IDENT_MEDIATOR;   /* a command topic of its own */
    m->mediator = mediator ? strdup(mediator) : NULL;
    m->command = cmd ? strdup(cmd) : NULL;
    m->case_no = case_no ? strdup(case_no) : NULL;
    m->note = note ? strdup(note) : NULL;
    m->to = to ? strdup(to) : NULL;
    m->request_id = request_id ? strdup(request_id) : NULL;
    actions_init(a);
    enum fq_err err = mediator_on_command(&ctx, m, a);
    fq_msg_free(m);
    cr_assert_eq(err, FQ_OK, "mediator_on_command(%s): %s", cmd ? cmd : "", fq_strerror(err));
    const struct fq_action *reply = NULL;
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].kind == FQ_ACT_MED_REPLY) {
            reply = &a->v[i];
            n++;
        }
    cr_assert_eq(n, 1, "exactly one MED_REPLY");
    cr_assert_eq(a->answer.n_replies, 1);
    cr_assert_str_eq(reply->text, a->answer.replies[0]);
    return reply;
}

static size_t count_actions(const struct fq_actions *a, enum fq_action_kind kind,
                            const char *type, const char *target)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].kind == kind && (!type || fq_streq(a->v[i].type, type)) &&
            (!target || fq_streq(a->v[i].target, target)))
            n++;
    return n;
}

struct ev_count {
    const char *type;
    size_t n, total;
    char last_data[128], last_note[128], last_actor[32];
};

static void ev_cb(const struct fq_case_event *e, void *arg)
{
    struct ev_count *c = arg;
    c->total++;
    if (c->type && strcmp(e->type, c->type) != 0)
        return;
    c->n++;
    snprintf(c->last_data, sizeof c->last_data, "%s", e->data ? e->data : "");
    snprintf(c->last_note, sizeof c->last_note, "%s", e->note ? e->note : "");
    snprintf(c->last_actor, sizeof c->last_actor, "%s", e->actor);
}

static struct ev_count events(int64_t case_id, const char *type)
{
    struct ev_count c = {.type = type};
    cr_assert_eq(store_case_events(st, case_id, ev_cb, &c), FQ_OK);
    return c;
}

struct timer_kinds {
    int64_t case_id;
    int remind, escalate, overdue;
};

static void timer_cb(const struct fq_timer *t, void *arg)
{
    struct timer_kinds *k = arg;
    if (t->case_id != k->case_id)
        return;
    k->remind += strcmp(fq_timer_kind_name(t->kind), "accept_remind") == 0;
    k->escalate += strcmp(fq_timer_kind_name(t->kind), "accept_escalate") == 0;
    k->overdue += strcmp(fq_timer_kind_name(t->kind), "resolve_overdue") == 0;
}

/* The live timers of a case, by kind. */
static struct timer_kinds timers(int64_t case_id)
{
    struct timer_kinds k = {.case_id = case_id};
    cr_assert_eq(store_timer_due(st, INT64_MAX / 2, 1000, timer_cb, &k), FQ_OK);
    return k;
}

/* Everything about a case that a refused command must leave alone. */
static void assert_same_case(const struct fq_case *a, const struct fq_case *b)
{
    cr_assert_eq(a->status, b->status);
    cr_assert(fq_streq(a->mediator_id, b->mediator_id));
    cr_assert(fq_streq(a->org_id, b->org_id));
    cr_assert(fq_streq(a->close_reason, b->close_reason));
    cr_assert_eq(a->tier, b->tier);
    cr_assert_eq(a->attempts, b->attempts);
    cr_assert_eq(a->escalations, b->escalations);
    cr_assert_eq(a->accepted_at, b->accepted_at);
    cr_assert_eq(a->resolved_at, b->resolved_at);
    cr_assert_eq(a->closed_at, b->closed_at);
    cr_assert_eq(a->assigned_at, b->assigned_at);
    cr_assert_eq(a->due_accept, b->due_accept);
    cr_assert_eq(a->updated_at, b->updated_at);
}

static char *fmt(const char *key, ...) __attribute__((sentinel));
static char *fmt(const char *key, ...)
{
    /* i18n_format takes its pairs as varargs: rebuild the call for up to 4 pairs */
    const char *v[8] = {0};
    va_list ap;
    va_start(ap, key);
    for (int i = 0; i < 8; i++) {
        v[i] = va_arg(ap, const char *);
        if (!v[i])
            break;
    }
    va_end(ap);
    char *s = i18n_format(lex, FQ_LOC_ZH_CN, key, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                          (char *)NULL);
    cr_assert_not_null(s);
    return s;
}

static void assert_reply(const char *got, char *want)
{
    cr_assert_str_eq(got, want);
    free(want);
}

/* ---- the transition table, every status × every mediator command ---------------------------- */
/* The table as docs/contract.md 7.3 describes it, written independently of lifecycle.c:
 * the next status, or NULL when the command must be refused. */
struct expect {
    const char *status;
    const char *next[LC_SURVEY + 1];
};

static const struct expect matrix[] = {
    /*                accept      progress       attempt_failed resolve    close     escalate    transfer    survey */
    {"unassigned", {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}},
    {"assigned", {"accepted", NULL, NULL, NULL, NULL, "assigned", "assigned", NULL}},
    {"accepted", {NULL, "in_progress", "in_progress", "resolved", "closed", "assigned", "assigned", NULL}},
    {"in_progress", {NULL, "in_progress", "in_progress", "resolved", "closed", "assigned", "assigned", NULL}},
    {"resolved", {NULL, NULL, NULL, NULL, NULL, NULL, NULL, "resolved"}},
    {"closed", {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}},
    {"reopened", {"accepted", NULL, NULL, NULL, NULL, "assigned", "assigned", NULL}},
    {"cancelled", {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}},
};

static const char *const events_of[LC_SURVEY + 1] = {
    "accepted", "progress", "attempt_failed", "resolved", "closed", "escalated", "transferred",
    "survey_answered",
};

Test(mediator, table_matches_contract)
{
    size_t allowed = 0;
    for (size_t s = 0; s < sizeof matrix / sizeof matrix[0]; s++)
        for (int cmd = 0; cmd <= LC_SURVEY; cmd++) {
            const struct lc_transition *t = lifecycle_find(fq_case_status_parse(matrix[s].status), (enum lc_cmd)cmd);
            const char *want = matrix[s].next[cmd];
            cr_assert_eq(t != NULL, want != NULL, "%s × %s", matrix[s].status,
                         lifecycle_cmd_name((enum lc_cmd)cmd));
            if (t) {
                cr_assert_str_eq(fq_case_status_name(t->next), want);
                cr_assert_str_eq(t->event, events_of[cmd]);
                allowed++;
            }
        }
    cr_assert_eq(allowed, 19);
    /* every status of the table is a known status */
    for (size_t i = 0; i < lifecycle_table_len; i++) {
        bool known = false;
        for (size_t s = 0; fq_case_status_names[s]; s++)
            known = known || strcmp(fq_case_status_names[s],
                                    fq_case_status_name(lifecycle_table[i].status)) == 0;
        cr_assert(known, "%d", (int)lifecycle_table[i].status);
    }
}

/* Drives every (status, command) pair through the real MQTT entry point on a fresh case. */
Test(mediator, every_transition_through_commands)
{
    static const char *const notes[LC_SURVEY + 1] = {
        NULL, "已上门", "双方不同意", "达成协议", "withdrawn 当事人撤回", "需镇里协调", NULL, "2 满意",
    };
    int rid = 0;
    for (size_t s = 0; s < sizeof matrix / sizeof matrix[0]; s++)
        for (int cmd = 0; cmd <= LC_SURVEY; cmd++) {
            struct fq_case k0, before, after;
            open_case(&k0);
            if (strcmp(matrix[s].status, "assigned") != 0)
                set_status(k0.case_no, matrix[s].status);
            get_case(k0.case_no, &before);
            size_t ev_before = events(k0.id, NULL).total;

            char req[16];
            snprintf(req, sizeof req, "r-%d", ++rid);
            struct fq_actions a;
            const struct fq_action *r =
                command("m-wang", lifecycle_cmd_name((enum lc_cmd)cmd), k0.case_no, notes[cmd],
                        cmd == LC_TRANSFER ? "m-sun" : NULL, req, &a);
            const char *want = matrix[s].next[cmd];
            cr_assert_eq(r->ok, want != NULL, "%s × %s: ok=%d (%s)", matrix[s].status,
                         lifecycle_cmd_name((enum lc_cmd)cmd), r->ok, r->text);
            cr_assert_str_eq(r->target, "m-wang");
            cr_assert_str_eq(r->request_id, req);
            cr_assert_eq(r->case_id, k0.id);
            get_case(k0.case_no, &after);
            if (want) {
                cr_assert_str_eq(fq_case_status_name(after.status), want, "%s × %s", matrix[s].status,
                                 lifecycle_cmd_name((enum lc_cmd)cmd));
                cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, events_of[cmd], NULL), 1);
                cr_assert_eq(events(k0.id, events_of[cmd]).n, 1);
                cr_assert_str_eq(events(k0.id, events_of[cmd]).last_actor, "m-wang");
                if (cmd == LC_ESCALATE)
                    cr_assert_str_eq(after.mediator_id, "m-chen");
                else if (cmd == LC_TRANSFER)
                    cr_assert_str_eq(after.mediator_id, "m-sun");
                else
                    cr_assert_str_eq(after.mediator_id, "m-wang");
            } else {
                assert_same_case(&before, &after);
                cr_assert_eq(events(k0.id, NULL).total, ev_before);
                cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, NULL, NULL), 0);
                cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, NULL, NULL), 0);
            }
            actions_cleanup(&a);
            case_cleanup(&k0);
            case_cleanup(&before);
            case_cleanup(&after);
        }
}

/* ---- ownership ----------------------------------------------------------------------------- */
Test(mediator, foreign_mediator_refused_and_case_unchanged)
{
    struct fq_case k, before, after;
    open_case(&k);
    get_case(k.case_no, &before);
    static const char *const cmds[] = {"接单 %s", "进展 %s 去看了", "未成 %s", "调结 %s 协议",
                                       "终止 %s 撤回", "上报 %s", "转办 %s m-sun", "回访 %s 1"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, cmds[i], k.case_no);
        struct fq_actions a;
        const char *got = chat(M_CHEN, text, &a);
        cr_assert_eq(a.n, 0, "%s: no event, no assignment", text);
        cr_assert_not_null(strstr(got, k.case_no), "%s -> %s", text, got);
        cr_assert_str_eq(a.answer.case_no, k.case_no);
        actions_cleanup(&a);
    }
    struct fq_actions a;
    char text[64];
    snprintf(text, sizeof text, "接单 %s", k.case_no);
    assert_reply(chat(M_CHEN, text, &a),
                 fmt("med_not_yours", "case", k.case_no, "action",
                     i18n_get(lex, FQ_LOC_ZH_CN, "med_cmd_accept"), NULL));
    actions_cleanup(&a);
    get_case(k.case_no, &after);
    assert_same_case(&before, &after);
    cr_assert_eq(events(k.id, NULL).total, 2);   /* created, assigned */
    /* the case's own mediator can still accept it */
    chat(M_WANG, text, &a);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "accepted", NULL), 1);
    actions_cleanup(&a);
    case_cleanup(&k);
    case_cleanup(&before);
    case_cleanup(&after);
}

/* ---- effects of each command --------------------------------------------------------------- */
static void local_time_str(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

Test(mediator, accept_then_resolve_sets_times_and_timers)
{
    struct fq_case k, after;
    open_case(&k);
    struct timer_kinds t = timers(k.id);
    cr_assert_eq(t.remind, 1);
    cr_assert_eq(t.escalate, 1);
    cr_assert_eq(t.overdue, 1);

    /* progress before accepting: refused, with the hint to accept first */
    struct fq_actions a;
    char text[128];
    snprintf(text, sizeof text, "进展 %s 已电话联系", k.case_no);
    const char *got = chat(M_WANG, text, &a);
    char *want1 = fmt("med_bad_state", "case", k.case_no, "status",
                      i18n_status(lex, FQ_LOC_ZH_CN, "assigned"), "action",
                      i18n_get(lex, FQ_LOC_ZH_CN, "med_cmd_progress"), NULL);
    char *want2 = fmt("med_hint_accept", "case", k.case_no, NULL);
    char both[1024];
    snprintf(both, sizeof both, "%s\n%s", want1, want2);
    cr_assert_str_eq(got, both);
    free(want1);
    free(want2);
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);

    ctx.now += 60;
    snprintf(text, sizeof text, "接单 %s", k.case_no);
    got = chat(M_WANG, text, &a);
    get_case(k.case_no, &after);
    char due[32];
    local_time_str(after.due_resolve, due, sizeof due);
    assert_reply(got, fmt("med_ok_accept", "case", k.case_no, "due", due, NULL));
    cr_assert_str_eq(a.answer.case_no, k.case_no);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "accepted", NULL), 1);
    actions_cleanup(&a);
    cr_assert_str_eq(fq_case_status_name(after.status), "accepted");
    cr_assert_eq(after.accepted_at, ctx.now);
    cr_assert_eq(after.updated_at, ctx.now);
    t = timers(k.id);
    cr_assert_eq(t.remind, 0);
    cr_assert_eq(t.escalate, 0);
    cr_assert_eq(t.overdue, 1);
    case_cleanup(&after);

    say(M_WANG, "进展 %s 已上门了解情况", k.case_no);
    struct ev_count e = events(k.id, "progress");
    cr_assert_eq(e.n, 1);
    cr_assert_str_eq(e.last_note, "已上门了解情况");
    get_case(k.case_no, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "in_progress");
    case_cleanup(&after);

    ctx.now += 60;
    snprintf(text, sizeof text, "调结 %s 双方签订调解协议，杂物三日内清理", k.case_no);
    assert_reply(chat(M_WANG, text, &a), fmt("med_ok_resolve", "case", k.case_no, NULL));
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "resolved", NULL), 1);
    actions_cleanup(&a);
    get_case(k.case_no, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "resolved");
    cr_assert_eq(after.resolved_at, ctx.now);
    cr_assert_str_eq(events(k.id, "resolved").last_note, "双方签订调解协议，杂物三日内清理");
    cr_assert_eq(timers(k.id).overdue, 0);
    case_cleanup(&after);
    case_cleanup(&k);
}

Test(mediator, three_failed_attempts_move_up_one_tier_each_time)
{
    struct fq_case k, after;
    open_case(&k);
    say(M_WANG, "接单 %s", k.case_no);
    struct fq_actions a;
    char text[128], n[16];
    snprintf(text, sizeof text, "未成 %s 双方各执一词", k.case_no);
    for (int i = 1; i <= 2; i++) {
        snprintf(n, sizeof n, "%d", i);
        assert_reply(chat(M_WANG, text, &a),
                     fmt("med_ok_attempt", "case", k.case_no, "n", n, "max", "3", NULL));
        cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, NULL, NULL), 0);
        actions_cleanup(&a);
        get_case(k.case_no, &after);
        cr_assert_eq(after.attempts, i);
        cr_assert_str_eq(fq_case_status_name(after.status), "in_progress");
        cr_assert_str_eq(after.mediator_id, "m-wang");
        case_cleanup(&after);
    }
    ctx.now += 100;
    assert_reply(chat(M_WANG, text, &a), fmt("med_ok_attempt_moved", "case", k.case_no, "n", "3",
                                             "unit", "枫源村", "mediator", "陈秀英", NULL));
    /* the attempt, then the escalation; the old mediator loses it, the new one gets it */
    cr_assert_eq(a.v[0].kind, FQ_ACT_EVENT);
    cr_assert_str_eq(a.v[0].type, "attempt_failed");
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "escalated", NULL), 1);
    cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, "unassigned", "m-wang"), 1);
    cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, "assigned", "m-chen"), 1);
    actions_cleanup(&a);
    get_case(k.case_no, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "assigned");
    cr_assert_str_eq(after.mediator_id, "m-chen");
    cr_assert_str_eq(after.org_id, "vil-fy");
    cr_assert_eq(after.tier, FQ_LEVEL_VILLAGE);
    cr_assert_eq(after.attempts, 0);
    cr_assert_eq(after.escalations, 1);
    cr_assert_eq(after.assigned_at, ctx.now);
    cr_assert_eq(after.accepted_at, 0);
    cr_assert_eq(after.due_accept, ctx.now + sla_accept(cfg, after.severity));
    case_cleanup(&after);
    struct timer_kinds t = timers(k.id);
    cr_assert_eq(t.remind, 1);
    cr_assert_eq(t.escalate, 1);

    /* the grid worker no longer owns it */
    snprintf(text, sizeof text, "进展 %s 还在谈", k.case_no);
    assert_reply(chat(M_WANG, text, &a),
                 fmt("med_not_yours", "case", k.case_no, "action",
                     i18n_get(lex, FQ_LOC_ZH_CN, "med_cmd_progress"), NULL));
    actions_cleanup(&a);

    /* the village: three more, then the town */
    say(M_CHEN, "接单 %s", k.case_no);
    for (int i = 0; i < 3; i++)
        say(M_CHEN, "未成 %s 村里调解未果", k.case_no);
    get_case(k.case_no, &after);
    cr_assert_str_eq(after.mediator_id, "m-li");
    cr_assert_str_eq(after.org_id, "town-fq");
    cr_assert_eq(after.tier, FQ_LEVEL_TOWN);
    cr_assert_eq(after.escalations, 2);
    cr_assert_eq(after.attempts, 0);
    case_cleanup(&after);
    cr_assert_eq(events(k.id, "attempt_failed").n, 6);
    cr_assert_eq(events(k.id, "escalated").n, 2);
    case_cleanup(&k);
}

Test(mediator, failed_attempts_at_the_top_stay)
{
    struct fq_case k, after;
    open_case(&k);
    say(M_WANG, "上报 %s", k.case_no);
    say(M_CHEN, "上报 %s", k.case_no);
    say(M_LI, "上报 %s", k.case_no);
    say(M_ZHAO, "接单 %s", k.case_no);
    say(M_ZHAO, "未成 %s", k.case_no);
    say(M_ZHAO, "未成 %s", k.case_no);
    struct fq_actions a;
    char text[64];
    snprintf(text, sizeof text, "未成 %s", k.case_no);
    assert_reply(chat(M_ZHAO, text, &a),
                 fmt("med_ok_attempt_top", "case", k.case_no, "n", "3", "max", "3", NULL));
    cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, NULL, NULL), 0);
    actions_cleanup(&a);
    get_case(k.case_no, &after);
    cr_assert_str_eq(after.mediator_id, "m-zhao");
    cr_assert_str_eq(fq_case_status_name(after.status), "in_progress");
    cr_assert_eq(after.attempts, 3);
    case_cleanup(&after);
    case_cleanup(&k);
}

Test(mediator, escalate_moves_up_at_once_until_the_top)
{
    struct fq_case k, before, after;
    open_case(&k);
    struct fq_actions a;
    char text[128];
    /* allowed before accepting */
    snprintf(text, sizeof text, "上报 %s 涉及多户，需村里协调", k.case_no);
    assert_reply(chat(M_WANG, text, &a), fmt("med_ok_escalate", "case", k.case_no, "unit",
                                             "枫源村", "mediator", "陈秀英", NULL));
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "escalated", NULL), 1);
    cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, "unassigned", "m-wang"), 1);
    cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, "assigned", "m-chen"), 1);
    actions_cleanup(&a);
    struct ev_count e = events(k.id, "escalated");
    cr_assert_eq(e.n, 1);
    cr_assert_str_eq(e.last_actor, "m-wang");
    cr_assert_str_eq(e.last_note, "涉及多户，需村里协调");

    say(M_CHEN, "接单 %s", k.case_no);
    say(M_CHEN, "上报 %s", k.case_no);      /* after accepting too */
    get_case(k.case_no, &after);
    cr_assert_str_eq(after.mediator_id, "m-li");
    cr_assert_eq(after.tier, FQ_LEVEL_TOWN);
    cr_assert_str_eq(fq_case_status_name(after.status), "assigned");
    case_cleanup(&after);
    say(M_LI, "上报 %s", k.case_no);
    get_case(k.case_no, &before);
    cr_assert_str_eq(before.mediator_id, "m-zhao");
    cr_assert_str_eq(before.org_id, "county-zj");
    cr_assert_eq(before.escalations, 3);

    snprintf(text, sizeof text, "上报 %s", k.case_no);
    assert_reply(chat(M_ZHAO, text, &a), fmt("med_top_tier", "case", k.case_no, NULL));
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    get_case(k.case_no, &after);
    assert_same_case(&before, &after);
    case_cleanup(&after);
    case_cleanup(&before);
    case_cleanup(&k);
}

Test(mediator, escalate_refused_when_nobody_is_above)
{
    struct fq_case k, before, after;
    open_case(&k);
    say(M_WANG, "上报 %s", k.case_no);
    say(M_CHEN, "上报 %s", k.case_no);
    ro->med[M_ZHAO].active = false;   /* the county mediator is on leave */
    get_case(k.case_no, &before);
    cr_assert_str_eq(before.mediator_id, "m-li");
    struct fq_actions a;
    char text[64];
    snprintf(text, sizeof text, "上报 %s", k.case_no);
    assert_reply(chat(M_LI, text, &a),
                 fmt("med_no_mediator", "case", k.case_no, "unit", "诸暨市", NULL));
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    get_case(k.case_no, &after);
    assert_same_case(&before, &after);
    case_cleanup(&after);
    case_cleanup(&before);
    case_cleanup(&k);
}

Test(mediator, transfer_to_named_mediators)
{
    struct fq_case k, before, after;
    open_case(&k);
    say(M_WANG, "接单 %s", k.case_no);
    say(M_WANG, "未成 %s", k.case_no);
    struct fq_actions a;
    char text[128];
    ctx.now += 5;
    snprintf(text, sizeof text, "转办 %s m-sun", k.case_no);
    assert_reply(chat(M_WANG, text, &a), fmt("med_ok_transfer", "case", k.case_no, "unit",
                                             "枫源村第一网格", "mediator", "孙小梅", NULL));
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "transferred", NULL), 1);
    cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, "unassigned", "m-wang"), 1);
    cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, "assigned", "m-sun"), 1);
    actions_cleanup(&a);
    get_case(k.case_no, &after);
    cr_assert_str_eq(after.mediator_id, "m-sun");
    cr_assert_str_eq(fq_case_status_name(after.status), "assigned");
    cr_assert_str_eq(after.org_id, "grid-fy-01");
    cr_assert_eq(after.attempts, 1);        /* same node: the tier's count stands */
    cr_assert_eq(after.escalations, 0);
    cr_assert_eq(after.assigned_at, ctx.now);
    cr_assert_eq(after.accepted_at, 0);
    case_cleanup(&after);
    cr_assert_eq(timers(k.id).remind, 1);

    /* by name, to another tier */
    say(M_SUN, "转办 %s 陈秀英 村里更熟悉情况", k.case_no);
    get_case(k.case_no, &before);
    cr_assert_str_eq(before.mediator_id, "m-chen");
    cr_assert_str_eq(before.org_id, "vil-fy");
    cr_assert_eq(before.tier, FQ_LEVEL_VILLAGE);
    cr_assert_eq(before.attempts, 0);
    cr_assert_str_eq(events(k.id, "transferred").last_note, "村里更熟悉情况");

    snprintf(text, sizeof text, "转办 %s m-nobody", k.case_no);
    assert_reply(chat(M_CHEN, text, &a), fmt("med_unknown_target", "who", "m-nobody", NULL));
    actions_cleanup(&a);
    snprintf(text, sizeof text, "转办 %s m-off", k.case_no);
    assert_reply(chat(M_CHEN, text, &a), fmt("med_target_inactive", "who", "钱休假", NULL));
    actions_cleanup(&a);
    snprintf(text, sizeof text, "转办 %s m-chen", k.case_no);
    assert_reply(chat(M_CHEN, text, &a), fmt("med_target_self", "case", k.case_no, NULL));
    actions_cleanup(&a);
    snprintf(text, sizeof text, "转办 %s", k.case_no);
    assert_reply(chat(M_CHEN, text, &a), fmt("med_unknown_target", "who", "", NULL));
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    get_case(k.case_no, &after);
    assert_same_case(&before, &after);
    cr_assert_eq(events(k.id, "transferred").n, 2);
    case_cleanup(&after);
    case_cleanup(&before);
    case_cleanup(&k);
}

/* ---- reading the text ---------------------------------------------------------------------- */
/* "FQ20261122-0001" in full-width forms: U+FF01..U+FF5E for ASCII 0x21..0x7E. */
static void to_fullwidth(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; *s && n + 4 < size; s++) {
        unsigned cp = (unsigned char)*s + 0xFEE0;
        out[n++] = (char)(0xE0 | (cp >> 12));
        out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[n++] = (char)(0x80 | (cp & 0x3F));
    }
    out[n] = '\0';
}

Test(mediator, case_number_forms)
{
    struct fq_case k;
    open_case(&k);
    cr_assert_eq(strlen(k.case_no), 15);
    cr_assert_str_eq(k.case_no + 10, "-0001");   /* the first case of the day */
    char lower[24], bare[24], shortseq[24], nodash[24], full[128];
    for (size_t i = 0; i <= strlen(k.case_no); i++)
        lower[i] = (char)tolower((unsigned char)k.case_no[i]);
    snprintf(bare, sizeof bare, "%.22s", k.case_no + 2);
    snprintf(shortseq, sizeof shortseq, "%.8s-1", k.case_no + 2);
    snprintf(nodash, sizeof nodash, "%.8s0001", k.case_no + 2);
    to_fullwidth(k.case_no, full, sizeof full);

    say(M_WANG, "接单 %s", lower);
    struct fq_case after;
    get_case(k.case_no, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "accepted");
    case_cleanup(&after);

    char text[256];
    const char *forms[] = {"进展 %s 一", "进展　%s　二", "进展%s 三", "进展：%s，四。", "  进展 %s 五 ",
                           "進展 %s 六", "progress %s seven", "PROGRESS %s eight"};
    const char *cases[] = {lower, bare, shortseq, nodash, full, k.case_no, bare, lower};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(text, sizeof text, forms[i], cases[i]);
        struct fq_actions a;
        chat(M_WANG, text, &a);
        cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "progress", NULL), 1, "%s", text);
        cr_assert_str_eq(a.answer.case_no, k.case_no, "%s", text);
        actions_cleanup(&a);
        cr_assert_eq(events(k.id, "progress").n, i + 1, "%s", text);
    }
    cr_assert_str_eq(events(k.id, "progress").last_note, "eight");

    /* the note after full-width spaces and punctuation is kept without the separators */
    say(M_WANG, "进展　%s：已约双方周五面谈", k.case_no);
    cr_assert_str_eq(events(k.id, "progress").last_note, "已约双方周五面谈");

    struct fq_actions a;
    assert_reply(chat(M_WANG, "进展 FQ2026 x", &a), fmt("med_bad_case", "text", "FQ2026", NULL));
    actions_cleanup(&a);
    /* without a case number: the only open case; with none, the usage */
    assert_reply(chat(M_WANG, "进展", &a), fmt("med_ok_progress", "case", k.case_no, NULL));
    actions_cleanup(&a);
    assert_reply(chat(M_CHEN, "进展", &a),
                 fmt("med_need_case", "usage", i18n_get(lex, FQ_LOC_ZH_CN, "med_usage_progress"),
                     NULL));
    actions_cleanup(&a);
    assert_reply(chat(M_WANG, "进展 19990101-0001 x", &a),
                 fmt("med_no_such_case", "case", "FQ19990101-0001", NULL));
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    case_cleanup(&k);
}

Test(mediator, unknown_command_and_help)
{
    struct fq_actions a;
    const char *got = chat(M_WANG, "你好，在吗", &a);
    char *unknown = fmt("mediator_unknown_command", "command", "你好", NULL);
    cr_assert(strncmp(got, unknown, strlen(unknown)) == 0, "%s", got);
    cr_assert_not_null(strstr(got, i18n_get(lex, FQ_LOC_ZH_CN, "med_help")));
    free(unknown);
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    cr_assert_str_eq(chat(M_WANG, "帮助", &a), i18n_get(lex, FQ_LOC_ZH_CN, "med_help"));
    actions_cleanup(&a);
    cr_assert_str_eq(chat_loc(M_WANG, "help", "en", &a), i18n_get(lex, FQ_LOC_EN, "med_help"));
    cr_assert_str_neq(i18n_get(lex, FQ_LOC_EN, "med_help"),
                      i18n_get(lex, FQ_LOC_ZH_CN, "med_help"));
    actions_cleanup(&a);
}

/* ---- close, survey, list ------------------------------------------------------------------- */
Test(mediator, close_with_reason)
{
    struct fq_case k, k2, before, after;
    open_case(&k);
    open_case(&k2);
    say(M_WANG, "接单 %s", k.case_no);
    say(M_WANG, "接单 %s", k2.case_no);
    get_case(k.case_no, &before);
    struct fq_actions a;
    char text[128];
    snprintf(text, sizeof text, "终止 %s 不想办了", k.case_no);
    assert_reply(chat(M_WANG, text, &a), strdup(i18n_get(lex, FQ_LOC_ZH_CN, "med_bad_reason")));
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    snprintf(text, sizeof text, "终止 %s", k.case_no);
    assert_reply(chat(M_WANG, text, &a), strdup(i18n_get(lex, FQ_LOC_ZH_CN, "med_bad_reason")));
    actions_cleanup(&a);
    get_case(k.case_no, &after);
    assert_same_case(&before, &after);
    case_cleanup(&after);

    ctx.now += 30;
    snprintf(text, sizeof text, "终止 %s 撤回 当事人已自行和解", k.case_no);
    assert_reply(chat(M_WANG, text, &a),
                 fmt("med_ok_close", "case", k.case_no, "reason", "撤回", NULL));
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "closed", NULL), 1);
    actions_cleanup(&a);
    get_case(k.case_no, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "closed");
    cr_assert_str_eq(after.close_reason, "withdrawn");
    cr_assert_eq(after.closed_at, ctx.now);
    case_cleanup(&after);
    struct ev_count e = events(k.id, "closed");
    cr_assert_str_eq(e.last_data, "{\"reason\":\"withdrawn\"}");
    cr_assert_str_eq(e.last_note, "当事人已自行和解");
    struct timer_kinds t = timers(k.id);
    cr_assert_eq(t.remind + t.escalate + t.overdue, 0);

    /* MQTT: "reason note" in note */
    const struct fq_action *r = command("m-wang", "close", k2.case_no, "轉訴訟 已向法院起诉",
                                        NULL, "rq-close", &a);
    cr_assert(r->ok, "%s", r->text);
    actions_cleanup(&a);
    get_case(k2.case_no, &after);
    cr_assert_str_eq(after.close_reason, "litigation");
    cr_assert_str_eq(events(k2.id, "closed").last_note, "已向法院起诉");
    case_cleanup(&after);
    case_cleanup(&before);
    case_cleanup(&k);
    case_cleanup(&k2);
}

Test(mediator, survey_answers)
{
    struct fq_case k, after;
    open_case(&k);
    say(M_WANG, "上报 %s", k.case_no);          /* now m-chen's, still at the grid's place */
    say(M_CHEN, "接单 %s", k.case_no);
    struct fq_actions a;
    char text[128];
    snprintf(text, sizeof text, "回访 %s 1", k.case_no);
    chat(M_CHEN, text, &a);                      /* not resolved yet */
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    say(M_CHEN, "调结 %s 已达成协议", k.case_no);

    snprintf(text, sizeof text, "回访 %s ５", k.case_no);
    assert_reply(chat(M_CHEN, text, &a), strdup(i18n_get(lex, FQ_LOC_ZH_CN, "med_bad_answer")));
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);

    snprintf(text, sizeof text, "回访 %s 2 调解员很耐心", k.case_no);
    assert_reply(chat(M_CHEN, text, &a),
                 fmt("med_ok_survey", "case", k.case_no, "answer", "满意", NULL));
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "survey_answered", NULL), 1);
    actions_cleanup(&a);
    struct ev_count e = events(k.id, "survey_answered");
    cr_assert_eq(e.n, 1);
    cr_assert_str_eq(e.last_data, "{\"answer\":2}");
    cr_assert_str_eq(e.last_note, "调解员很耐心");
    get_case(k.case_no, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "resolved");
    case_cleanup(&after);

    /* the grid worker of the case's grid may record it (回访 task); a town mediator may not */
    snprintf(text, sizeof text, "回访 %s ④", k.case_no);
    assert_reply(chat(M_SUN, text, &a),
                 fmt("med_ok_survey", "case", k.case_no, "answer", "不满意", NULL));
    actions_cleanup(&a);
    cr_assert_str_eq(events(k.id, "survey_answered").last_data, "{\"answer\":4}");
    cr_assert_str_eq(events(k.id, "survey_answered").last_actor, "m-sun");
    snprintf(text, sizeof text, "回访 %s 3", k.case_no);
    chat(M_LI, text, &a);
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    cr_assert_eq(events(k.id, "survey_answered").n, 2);
    case_cleanup(&k);
}

Test(mediator, list_open_cases)
{
    struct fq_case k1, k2, k3;
    open_case(&k1);
    open_case(&k2);
    open_case(&k3);
    say(M_WANG, "接单 %s", k3.case_no);
    say(M_WANG, "调结 %s 好了", k3.case_no);
    struct fq_actions a;
    const char *got = chat(M_WANG, "列表", &a);
    char *head = fmt("med_list_header", "n", "2", NULL);
    cr_assert(strncmp(got, head, strlen(head)) == 0, "%s", got);
    free(head);
    cr_assert_not_null(strstr(got, k1.case_no));
    cr_assert_not_null(strstr(got, k2.case_no));
    cr_assert_null(strstr(got, k3.case_no));
    cr_assert_not_null(strstr(got, i18n_status(lex, FQ_LOC_ZH_CN, "assigned")));
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    cr_assert_str_eq(chat(M_CHEN, "列表", &a), i18n_get(lex, FQ_LOC_ZH_CN, "med_list_none"));
    actions_cleanup(&a);
    case_cleanup(&k1);
    case_cleanup(&k2);
    case_cleanup(&k3);
}

/* ---- MQTT ---------------------------------------------------------------------------------- */
Test(mediator, mqtt_replies)
{
    struct fq_case k;
    open_case(&k);
    struct fq_actions a;
    const struct fq_action *r = command("m-wang", "accept", k.case_no, NULL, NULL, "rq-1", &a);
    cr_assert(r->ok);
    cr_assert_str_eq(r->target, "m-wang");
    cr_assert_str_eq(r->request_id, "rq-1");
    cr_assert_eq(r->case_id, k.id);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "accepted", NULL), 1);
    actions_cleanup(&a);

    /* the same command again is refused by state (request_id idempotence is the core's) */
    r = command("m-wang", "accept", k.case_no + 2, NULL, NULL, "rq-2", &a);
    cr_assert_not(r->ok);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, NULL, NULL), 0);
    char *want = fmt("med_bad_state", "case", k.case_no, "status",
                     i18n_status(lex, FQ_LOC_ZH_CN, "accepted"), "action",
                     i18n_get(lex, FQ_LOC_ZH_CN, "med_cmd_accept"), NULL);
    cr_assert_str_eq(r->text, want);
    free(want);
    actions_cleanup(&a);

    r = command("m-chen", "progress", k.case_no, "x", NULL, "rq-3", &a);
    cr_assert_not(r->ok);
    cr_assert_str_eq(r->target, "m-chen");
    actions_cleanup(&a);

    r = command("m-ghost", "progress", k.case_no, "x", NULL, "rq-4", &a);
    cr_assert_not(r->ok);
    cr_assert_eq(r->case_id, 0);
    assert_reply(r->text, fmt("med_not_mediator", "who", "m-ghost", NULL));
    actions_cleanup(&a);

    r = command("m-wang", "reopen", k.case_no, NULL, NULL, "rq-5", &a);
    cr_assert_not(r->ok);
    assert_reply(r->text, fmt("med_bad_command", "command", "reopen", NULL));
    actions_cleanup(&a);

    r = command("m-wang", "progress", "no-such", "x", NULL, "rq-6", &a);
    cr_assert_not(r->ok);
    actions_cleanup(&a);

    r = command("m-wang", "transfer", k.case_no, "请孙接手", "m-sun", "rq-7", &a);
    cr_assert(r->ok, "%s", r->text);
    cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, "assigned", "m-sun"), 1);
    actions_cleanup(&a);

    r = command("m-sun", "list", NULL, NULL, NULL, "rq-8", &a);
    cr_assert(r->ok);
    cr_assert_not_null(strstr(r->text, k.case_no));
    actions_cleanup(&a);
    case_cleanup(&k);
}

/* ---- the state machine used directly (the survey and timer modules call it) ------------------ */
Test(mediator, reopen_is_for_the_system_only)
{
    struct fq_case k, after;
    open_case(&k);
    say(M_WANG, "接单 %s", k.case_no);
    say(M_WANG, "调结 %s 协议", k.case_no);
    get_case(k.case_no, &after);
    struct fq_actions a;
    struct lc_result res;
    actions_init(&a);
    struct lc_request rq = {.cmd = LC_REOPEN, .actor = M_WANG, .answer = -1};
    cr_assert_eq(lifecycle_apply(&ctx, &after, &rq, &res, &a), FQ_OK);
    cr_assert_eq(res.refusal, LC_SYSTEM_ONLY);
    cr_assert_eq(a.n, 0);
    cr_assert_str_eq(fq_case_status_name(after.status), "resolved");

    rq.actor = -1;
    rq.note = "回访不满意";
    cr_assert_eq(lifecycle_apply(&ctx, &after, &rq, &res, &a), FQ_OK);
    cr_assert_eq(res.refusal, LC_DONE);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "reopened", NULL), 1);
    cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, "assigned", "m-wang"), 1);
    actions_cleanup(&a);
    case_cleanup(&after);
    get_case(k.case_no, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "reopened");
    cr_assert_str_eq(events(k.id, "reopened").last_actor, "system");
    cr_assert_eq(timers(k.id).remind, 1);
    case_cleanup(&after);

    /* the mediator accepts it again */
    say(M_WANG, "接单 %s", k.case_no);
    get_case(k.case_no, &after);
    cr_assert_str_eq(fq_case_status_name(after.status), "accepted");
    case_cleanup(&after);
    case_cleanup(&k);
}

Test(mediator, reassign_at_a_node)
{
    struct fq_case k;
    open_case(&k);
    struct fq_actions a;
    actions_init(&a);
    int picked = -2;
    int town = roster_org_index(ro, "town-fq");
    cr_assert_eq(case_reassign_at(&ctx, &k, town, "system", NULL, &a, &picked), FQ_OK);
    cr_assert_eq(picked, M_LI);
    cr_assert_str_eq(k.mediator_id, "m-li");
    cr_assert_eq(k.tier, FQ_LEVEL_TOWN);
    cr_assert_eq(k.escalations, 1);
    cr_assert_eq(count_actions(&a, FQ_ACT_ASSIGN, "unassigned", "m-wang"), 1);
    actions_cleanup(&a);

    /* nobody active at the county: not found, nothing written */
    ro->med[M_ZHAO].active = false;
    struct fq_case before;
    get_case(k.case_no, &before);
    actions_init(&a);
    cr_assert_eq(case_reassign_at(&ctx, &k, roster_org_index(ro, "county-zj"), "system", NULL, &a,
                                  &picked),
                 FQ_ENOTFOUND);
    cr_assert_eq(picked, -1);
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    struct fq_case after;
    get_case(k.case_no, &after);
    assert_same_case(&before, &after);
    case_cleanup(&before);
    case_cleanup(&after);
    case_cleanup(&k);
}

/* ---- short case references and natural words (docs/contract.md 7.2) ------------------------ */
/* The daily sequence of a case number, as written ("0002"), and without its zeros ("2"). */
static const char *seq4(const struct fq_case *k)
{
    return strrchr(k->case_no, '-') + 1;
}

static const char *seq_bare(const struct fq_case *k)
{
    const char *s = seq4(k);
    while (*s == '0')
        s++;
    return s;
}

static bool starts_with_msg(const char *got, const char *key, const char *action_key)
{
    char *head = action_key ? fmt(key, "action", i18n_get(lex, FQ_LOC_ZH_CN, action_key), NULL)
                            : fmt(key, NULL);
    bool ok = strncmp(got, head, strlen(head)) == 0;
    free(head);
    return ok;
}

Test(mediator, sequence_alone_names_the_case)
{
    struct fq_case k1, k2;
    open_case(&k1);
    open_case(&k2);
    say(M_WANG, "接单 %s", k2.case_no);
    struct fq_actions a;
    char text[128];
    snprintf(text, sizeof text, "进展 %s 已电话联系双方", seq4(&k2));
    assert_reply(chat(M_WANG, text, &a), fmt("med_ok_progress", "case", k2.case_no, NULL));
    cr_assert_str_eq(a.answer.case_no, k2.case_no);
    actions_cleanup(&a);
    cr_assert_str_eq(events(k2.id, "progress").last_note, "已电话联系双方");
    cr_assert_eq(events(k1.id, "progress").n, 0);

    /* no list shown yet: a bare small number is the sequence too */
    snprintf(text, sizeof text, "接单 %s", seq_bare(&k1));
    const char *got = chat(M_WANG, text, &a);
    cr_assert_not_null(strstr(got, k1.case_no), "%s", got);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "accepted", NULL), 1);
    actions_cleanup(&a);

    /* a sequence nobody of the mediator's cases has */
    assert_reply(chat(M_WANG, "进展 0099 x", &a), fmt("med_no_seq", "seq", "0099", NULL));
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    /* another mediator's case is not found by its sequence */
    snprintf(text, sizeof text, "进展 %s x", seq4(&k1));
    assert_reply(chat(M_CHEN, text, &a), fmt("med_no_seq", "seq", seq4(&k1), NULL));
    actions_cleanup(&a);
    /* what looks like a case number and is none is still refused */
    assert_reply(chat(M_WANG, "进展 FQ2026 x", &a), fmt("med_bad_case", "text", "FQ2026", NULL));
    actions_cleanup(&a);
    case_cleanup(&k1);
    case_cleanup(&k2);
}

Test(mediator, index_in_the_last_list)
{
    struct fq_case k1, k2, k3;
    open_case(&k1);
    open_case(&k2);
    open_case(&k3);
    struct fq_actions a;
    const char *got = chat(M_WANG, "列表", &a);
    /* newest first, numbered */
    char *want = fmt("med_list_header", "n", "3", NULL);
    cr_assert(strncmp(got, want, strlen(want)) == 0, "%s", got);
    free(want);
    cr_assert(strstr(got, k3.case_no) < strstr(got, k1.case_no));
    cr_assert_not_null(strstr(got, "\n1. "), "%s", got);
    actions_cleanup(&a);
    got = chat(M_WANG, "接单 2", &a);
    cr_assert_not_null(strstr(got, k2.case_no), "%s", got);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "accepted", NULL), 1);
    actions_cleanup(&a);
    say(M_WANG, "接单 %s", k1.case_no);
    say(M_WANG, "接单 %s", k3.case_no);
    /* a leading zero makes it a sequence again */
    char text[64];
    snprintf(text, sizeof text, "进展 %s 约谈", seq4(&k3));
    assert_reply(chat(M_WANG, text, &a), fmt("med_ok_progress", "case", k3.case_no, NULL));
    actions_cleanup(&a);
    /* the list survives: it is in the store, not in memory */
    assert_reply(chat(M_WANG, "进展 3 再约", &a), fmt("med_ok_progress", "case", k1.case_no, NULL));
    actions_cleanup(&a);
    cr_assert_str_eq(events(k1.id, "progress").last_note, "再约");
    case_cleanup(&k1);
    case_cleanup(&k2);
    case_cleanup(&k3);
}

Test(mediator, bare_command_asks_which_then_a_number_completes_it)
{
    struct fq_case k1, k2;
    open_case(&k1);
    open_case(&k2);
    say(M_WANG, "接单 %s", k1.case_no);
    say(M_WANG, "接单 %s", k2.case_no);
    struct fq_actions a;
    const char *got = chat(M_WANG, "进展 已约双方周五面谈", &a);
    cr_assert(starts_with_msg(got, "med_which_case", "med_cmd_progress"), "%s", got);
    cr_assert_not_null(strstr(got, k1.case_no));
    cr_assert_not_null(strstr(got, k2.case_no));
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    /* list order is newest first: 2 is k1 */
    assert_reply(chat(M_WANG, "2", &a), fmt("med_ok_progress", "case", k1.case_no, NULL));
    actions_cleanup(&a);
    cr_assert_str_eq(events(k1.id, "progress").last_note, "已约双方周五面谈");
    cr_assert_eq(events(k2.id, "progress").n, 0);
    /* the pending command was used up */
    got = chat(M_WANG, "2", &a);
    char *unknown = fmt("mediator_unknown_command", "command", "2", NULL);
    cr_assert(strncmp(got, unknown, strlen(unknown)) == 0, "%s", got);
    free(unknown);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "progress", NULL), 0);
    actions_cleanup(&a);

    /* another message in between forgets the question */
    chat(M_WANG, "进展 a", &a);
    actions_cleanup(&a);
    say(M_WANG, "帮助");
    chat(M_WANG, "1", &a);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "progress", NULL), 0);
    actions_cleanup(&a);

    /* an answer after the question expired does nothing */
    chat(M_WANG, "进展 b", &a);
    actions_cleanup(&a);
    ctx.now += 601;
    chat(M_WANG, "1", &a);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "progress", NULL), 0);
    actions_cleanup(&a);
    /* in time, a full case number completes it too */
    chat(M_WANG, "进展 c", &a);
    actions_cleanup(&a);
    assert_reply(chat(M_WANG, k2.case_no, &a), fmt("med_ok_progress", "case", k2.case_no, NULL));
    actions_cleanup(&a);
    cr_assert_str_eq(events(k2.id, "progress").last_note, "c");
    cr_assert_eq(events(k1.id, "progress").n, 1);
    case_cleanup(&k1);
    case_cleanup(&k2);
}

Test(mediator, sequence_of_other_days)
{
    struct fq_case y1, y2, t;
    int64_t today = ctx.now;
    ctx.now = today - 2 * 86400;
    open_case(&y1);
    ctx.now = today - 86400;
    open_case(&y2);
    ctx.now = today;
    cr_assert_str_eq(seq4(&y1), seq4(&y2));
    struct fq_actions a;
    /* two open cases of other days with that sequence: asks, listing both */
    char text[64];
    snprintf(text, sizeof text, "接单 %s", seq4(&y1));
    const char *got = chat(M_WANG, text, &a);
    cr_assert(starts_with_msg(got, "med_which_case", "med_cmd_accept"), "%s", got);
    cr_assert_not_null(strstr(got, y1.case_no));
    cr_assert_not_null(strstr(got, y2.case_no));
    actions_cleanup(&a);
    got = chat(M_WANG, "1", &a);   /* newest first: y2 */
    cr_assert_not_null(strstr(got, y2.case_no), "%s", got);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "accepted", NULL), 1);
    actions_cleanup(&a);
    /* today's case with the sequence goes first */
    open_case(&t);
    cr_assert_str_eq(seq4(&t), seq4(&y1));
    say(M_WANG, "接单 %s", t.case_no);
    snprintf(text, sizeof text, "进展 %s x", seq4(&t));
    assert_reply(chat(M_WANG, text, &a), fmt("med_ok_progress", "case", t.case_no, NULL));
    actions_cleanup(&a);
    case_cleanup(&y1);
    case_cleanup(&y2);
    case_cleanup(&t);
}

Test(mediator, natural_words)
{
    struct fq_case k;
    open_case(&k);
    struct fq_actions a;
    const char *got = chat(M_WANG, "收到", &a);
    cr_assert_not_null(strstr(got, k.case_no), "%s", got);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "accepted", NULL), 1);
    actions_cleanup(&a);
    assert_reply(chat(M_WANG, "正在跟进，3月5日约谈", &a),
                 fmt("med_ok_progress", "case", k.case_no, NULL));
    actions_cleanup(&a);
    cr_assert_str_eq(events(k.id, "progress").last_note, "3月5日约谈");
    assert_reply(chat(M_WANG, "已经解决了 双方达成协议", &a),
                 fmt("med_ok_resolve", "case", k.case_no, NULL));
    actions_cleanup(&a);
    cr_assert_eq(events(k.id, "resolved").n, 1);
    case_cleanup(&k);

    /* zh-TW and English words, answered in the sender's locale */
    struct fq_case k2, k3;
    open_case(&k2);
    got = chat_loc(M_WANG, "我來處理", "zh-TW", &a);
    cr_assert_not_null(strstr(got, k2.case_no), "%s", got);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "accepted", NULL), 1);
    actions_cleanup(&a);
    open_case(&k3);
    char text[64];
    snprintf(text, sizeof text, "got it %s", seq4(&k3));
    got = chat_loc(M_WANG, text, "en", &a);
    cr_assert_not_null(strstr(got, k3.case_no), "%s", got);
    cr_assert_eq(count_actions(&a, FQ_ACT_EVENT, "accepted", NULL), 1);
    actions_cleanup(&a);
    /* a word that only starts like one is not it */
    got = chat_loc(M_WANG, "updates", "en", &a);
    cr_assert_eq(a.n, 0, "%s", got);
    actions_cleanup(&a);
    case_cleanup(&k2);
    case_cleanup(&k3);
}

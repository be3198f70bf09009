/* test_timers.c: the lifecycle timers (docs/contract.md 7.4) as the core runs them: due timer rows
 * are handed to sched_run (bot/core/sched.c, the code the core calls for FQ_MSG_TIMER) with the batch's
 * clock moved to the due time, on a real SQLite store in a temporary directory, with the real
 * catalogs of locales/ and a hand-built roster. The effects are read back from the store: the
 * case row, its history, the timer rows, and the outbox rows payload_emit wrote (topics and JSON
 * of docs/contract.md 4). Also: supervisors up the tree, absence reassignment, danger alerts on a
 * later message, digests. */
#include <criterion/criterion.h>

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "bot/core/sched.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/localtime.h"
#include "common/roster_model.h"
#include "common/sla.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"
#include "handlers/intake.h"
#include "handlers/report.h"
#include "handlers/timers.h"
#include "store/case_table.h"
#include "store/outbox_table.h"
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
static int64_t t0;

static int M_WANG, M_WU, M_OFF, M_CHEN, M_SUN, M_LI, M_ZHAO;

struct seeded {
    int64_t ids[64];
    size_t n;
};

static void seeded_cb(const struct fq_timer *t, void *arg)
{
    struct seeded *sd = arg;
    if (sd->n < 64)
        sd->ids[sd->n++] = t->id;
}

static void setup(void)
{
    world_open(&w, "timers");
    cr_assert(w.cfg->mqtt_enabled, "outbox rows are written only with mqtt enabled");
    world_add_org(&w, "vil-lq", "栎桥村", FQ_LEVEL_VILLAGE, "town-fq");
    M_WANG = world_add_med(&w, "m-wang", NULL, "grid_worker", "grid-fy-01", "*", true, false);
    M_WU = world_add_med(&w, "m-wu", NULL, "grid_worker", "grid-fy-01", "*", true, false);
    M_OFF = world_add_med(&w, "m-off", NULL, "grid_worker", "grid-fy-01", "*", false, false);
    M_CHEN = world_add_med(&w, "m-chen", NULL, "village_mediator", "vil-fy", "*", true, false);
    M_SUN = world_add_med(&w, "m-sun", NULL, "village_mediator", "vil-lq", "*", true,
                          true);  /* another village */
    M_LI = world_add_med(&w, "m-li", NULL, "town_mediator", "town-fq", "*", true, true);
    M_ZHAO = world_add_med(&w, "m-zhao", NULL, "county_mediator", "county-zj", "*", true, true);
    world_add_med(&w, "m-gone", NULL, "county_mediator", "county-zj", "*", false,
                  true);  /* inactive supervisor */
    world_ready(&w);
    st = w.st;
    cfg = w.cfg;
    lex = w.lex;
    ro = w.ro;
    ctx = w.ctx;
    t0 = w.ctx.now;
    /* timers seeded by migrations (the monthly report's) are not these tests' business */
    struct seeded sd = {.n = 0};
    cr_assert_eq(store_timer_due(st, INT64_MAX / 2, 64, seeded_cb, &sd), FQ_OK);
    for (size_t i = 0; i < sd.n; i++)
        cr_assert_eq(store_timer_fire(st, sd.ids[i], t0), FQ_OK);
}

static void teardown(void)
{
    world_close(&w);
    st = NULL;
}

TestSuite(timers, .init = setup, .fini = teardown);

/* ---- helpers ------------------------------------------------------------------------------- */
/* Opens a blue neighbour case at the grid for a new resident; returns it (caller cleans). */
static void open_case(struct fq_case *k)
{
    world_open_case(&w, &ctx, "web", k);
    cr_assert_str_eq(fq_case_status_name(k->status), "assigned");
}

static void reload(struct fq_case *k)
{
    int64_t id = k->id;
    case_cleanup(k);
    cr_assert_eq(store_case_get_id(st, id, k), FQ_OK);
}

/* Applies a mediator command as mediator `med`; asserts it was applied. */
static void apply(struct fq_case *k, int med, enum lc_cmd cmd)
{
    struct lc_request rq = {.cmd = cmd, .actor = med};
    struct lc_result res;
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(lifecycle_apply(&ctx, k, &rq, &res, &a), FQ_OK);
    cr_assert_eq(res.refusal, LC_DONE, "command %d refused: %d", cmd, res.refusal);
    actions_cleanup(&a);
}

/* The outbox rows written since the last call: a copy of topic and payload each. */
struct rows {
    char topic[64][160];
    char payload[64][4096];
    size_t n;
    int64_t last;
};
static struct rows out_rows;

static void row_cb(const struct fq_outbox_row *r, void *arg)
{
    struct rows *rs = arg;
    rs->last = r->id;
    if (rs->n >= 64)
        return;
    snprintf(rs->topic[rs->n], sizeof rs->topic[0], "%s", r->topic);
    snprintf(rs->payload[rs->n], sizeof rs->payload[0], "%s", r->payload);
    rs->n++;
}

static void drain_outbox(void)
{
    int64_t last = out_rows.last;
    memset(&out_rows, 0, sizeof out_rows);
    out_rows.last = last;
    cr_assert_eq(store_outbox_pending(st, "mqtt", last, 0, row_cb, &out_rows), FQ_OK);
}

/* Rows on topic (exact) whose JSON has key == value (a string), for case_no (NULL: any). */
static size_t count_rows(const char *topic, const char *key, const char *value,
                         const char *case_no)
{
    size_t n = 0;
    for (size_t i = 0; i < out_rows.n; i++) {
        if (strcmp(out_rows.topic[i], topic) != 0)
            continue;
        json_t *j = json_loads(out_rows.payload[i], 0, NULL);
        cr_assert_not_null(j, "payload is JSON: %s", out_rows.payload[i]);
        const char *v = json_string_value(json_object_get(j, key));
        const char *no = json_string_value(json_object_get(json_object_get(j, "case"), "case_no"));
        if ((!key || fq_streq(v, value)) && (!case_no || fq_streq(no, case_no)))
            n++;
        json_decref(j);
    }
    return n;
}

static char *topic_of(const char *fmt, const char *id)
{
    static char buf[4][160];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], fmt, id);
    return buf[i];
}
#define ASSIGN(id) topic_of("fq/v1/mediators/%s/assignments", id)
#define EVENTS(no) topic_of("fq/v1/events/cases/%s", no)

struct due {
    int64_t ids[256];
    size_t n;
};

static void due_cb(const struct fq_timer *t, void *arg)
{
    struct due *d = arg;
    if (d->n < 256)
        d->ids[d->n++] = t->id;
}

/* What the scheduler and the core do at time `now`: every due timer in one FQ_MSG_TIMER
 * message through sched_run, inside a transaction; returns how many had an effect. The outbox
 * rows written are in out_rows afterwards. */
static size_t run_due(int64_t now)
{
    ctx.now = now;
    struct due d = {.n = 0};
    cr_assert_eq(store_timer_due(st, now, 256, due_cb, &d), FQ_OK);
    struct fq_msg *m = fq_msg_new(FQ_MSG_TIMER);
    cr_assert_not_null(m);
    m->n_ids = d.n;
    m->ids = malloc((d.n ? d.n : 1) * sizeof *m->ids);
    memcpy(m->ids, d.ids, d.n * sizeof *m->ids);
    size_t effect = 0;
    if (d.n) {
        cr_assert_eq(store_begin(st), FQ_OK);
        cr_assert_eq(store_savepoint(st), FQ_OK);
        enum fq_err err = sched_run(&ctx, "fq/v1", m);
        cr_assert_eq(err, FQ_OK, "sched_run: %s (%s)", fq_strerror(err), store_errmsg(st));
        cr_assert_eq(store_release(st), FQ_OK);
        cr_assert_eq(store_commit(st), FQ_OK);
        for (size_t i = 0; i < m->n_ids; i++)
            effect += m->ids[i] != 0;
    }
    fq_msg_free(m);
    drain_outbox();
    return effect;
}

struct ev_count {
    const char *type;
    size_t n;
    char last_data[128], last_actor[32];
};

static void ev_cb(const struct fq_case_event *e, void *arg)
{
    struct ev_count *c = arg;
    if (strcmp(e->type, c->type) != 0)
        return;
    c->n++;
    snprintf(c->last_data, sizeof c->last_data, "%s", e->data ? e->data : "");
    snprintf(c->last_actor, sizeof c->last_actor, "%s", e->actor);
}

static struct ev_count events(int64_t case_id, const char *type)
{
    struct ev_count c = {.type = type};
    cr_assert_eq(store_case_events(st, case_id, ev_cb, &c), FQ_OK);
    return c;
}

struct pending {
    int64_t case_id;
    const char *kind;
    size_t n;
    int64_t due;
};

static void pending_cb(const struct fq_timer *t, void *arg)
{
    struct pending *p = arg;
    if (t->case_id == p->case_id && strcmp(fq_timer_kind_name(t->kind), p->kind) == 0) {
        p->n++;
        p->due = t->due_at;
    }
}

/* Live timers of a kind for a case (0 = not about a case), and the last one's due time. */
static struct pending pending(int64_t case_id, const char *kind)
{
    struct pending p = {.case_id = case_id, .kind = kind};
    cr_assert_eq(store_timer_due(st, INT64_MAX / 2, 0, pending_cb, &p), FQ_OK);
    return p;
}

static size_t count_kind(const struct fq_actions *a, enum fq_action_kind kind, const char *type,
                         const char *target)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].kind == kind && (!type || fq_streq(a->v[i].type, type)) &&
            (!target || fq_streq(a->v[i].target, target)))
            n++;
    return n;
}

/* ---- reminders ------------------------------------------------------------------------------ */
Test(timers, reminder_at_the_accept_deadline_once)
{
    struct fq_case k;
    open_case(&k);
    cr_assert_str_eq(k.mediator_id, "m-wang");
    drain_outbox();
    int64_t sla = sla_accept(cfg, k.severity);
    cr_assert_eq(k.due_accept, t0 + sla);

    cr_assert_eq(run_due(k.due_accept - 1), 0, "nothing is due a second early");
    cr_assert_eq(out_rows.n, 0);

    cr_assert_eq(run_due(k.due_accept), 1);
    cr_assert_eq(count_rows(ASSIGN("m-wang"), "action", "reminder", k.case_no), 1);
    cr_assert_eq(count_rows(EVENTS(k.case_no), "type", "reminder", k.case_no), 1);
    cr_assert_eq(out_rows.n, 2, "the reminder and its event, nothing else");
    struct ev_count e = events(k.id, "reminder");
    cr_assert_eq(e.n, 1);
    cr_assert_str_eq(e.last_actor, "system");
    cr_assert(strstr(e.last_data, "\"accept\""), "data: %s", e.last_data);

    /* fired once: a second run at the same time (a repeated scheduler message) does nothing */
    cr_assert_eq(run_due(k.due_accept + 1), 0);
    cr_assert_eq(out_rows.n, 0);
    cr_assert_eq(events(k.id, "reminder").n, 1);
    case_cleanup(&k);
}

Test(timers, reminder_text_for_the_mediator_from_the_catalog)
{
    struct fq_case k;
    open_case(&k);
    struct fq_timer t = {.id = 0, .due_at = k.due_accept, .case_id = k.id};
    t.kind = fq_timer_kind_parse("accept_remind");
    ctx.now = k.due_accept;
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(timers_fire(&ctx, &t, &a), FQ_OK);
    cr_assert_eq(count_kind(&a, FQ_ACT_ASSIGN, "reminder", "m-wang"), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_NOTIFY, NULL, "m-wang"), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_EVENT, "reminder", NULL), 1);
    const char *text = NULL;
    for (size_t i = 0; i < a.n; i++)
        if (a.v[i].kind == FQ_ACT_NOTIFY)
            text = a.v[i].text;
    cr_assert_not_null(text);
    cr_assert(strstr(text, k.case_no), "the text names the case: %s", text);
    /* the catalog's words, not a key left unresolved */
    cr_assert(strstr(text, "tm_") == NULL, "%s", text);
    const char *tpl = i18n_get(lex, FQ_LOC_ZH_CN, "tm_remind");
    cr_assert(strncmp(text, tpl, 6) == 0, "starts like the catalog text: %s", text);
    actions_cleanup(&a);
    case_cleanup(&k);
}

Test(timers, accepted_case_gets_no_reminder_and_no_supervision)
{
    struct fq_case k;
    open_case(&k);
    apply(&k, M_WANG, LC_ACCEPT);
    cr_assert_eq(pending(k.id, "accept_remind").n, 0, "accept cancels the accept timers");
    cr_assert_eq(pending(k.id, "accept_escalate").n, 0);
    drain_outbox();
    int64_t sla = sla_accept(cfg, k.severity);
    cr_assert_eq(run_due(t0 + 2 * sla + 5), 0);
    cr_assert_eq(out_rows.n, 0);
    case_cleanup(&k);
}

Test(timers, a_timer_for_a_case_that_moved_on_does_nothing)
{
    /* the timer rows survive (say, written before the case moved by an older version): the
     * handler re-checks the case itself */
    struct fq_case k;
    open_case(&k);
    apply(&k, M_WANG, LC_ACCEPT);
    int64_t at = t0 + 10;
    cr_assert_eq(store_timer_add(st, at, fq_timer_kind_parse("accept_remind"), k.id, NULL, NULL), FQ_OK);
    cr_assert_eq(store_timer_add(st, at, fq_timer_kind_parse("accept_escalate"), k.id, NULL, NULL), FQ_OK);
    apply(&k, M_WANG, LC_RESOLVE);
    cr_assert_eq(store_timer_add(st, at, fq_timer_kind_parse("resolve_overdue"), k.id, NULL, NULL), FQ_OK);
    drain_outbox();
    cr_assert_eq(run_due(at), 0, "three stale timers, no effect");
    cr_assert_eq(out_rows.n, 0);
    cr_assert_eq(events(k.id, "reminder").n, 0);
    cr_assert_eq(events(k.id, "overdue").n, 0);
    cr_assert_eq(pending(k.id, "accept_remind").n, 0, "consumed all the same");
    cr_assert_eq(pending(k.id, "resolve_overdue").n, 0, "and no next overdue");
    case_cleanup(&k);
}

Test(timers, reminder_of_an_earlier_assignment_is_ignored)
{
    struct fq_case k;
    open_case(&k);
    /* a transfer gives fresh timers; a leftover reminder set before it is stale */
    ctx.now = t0 + 100;
    struct lc_request rq = {.cmd = LC_TRANSFER, .actor = M_WANG, .to = "m-wu"};
    struct lc_result res;
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(lifecycle_apply(&ctx, &k, &rq, &res, &a), FQ_OK);
    cr_assert_eq(res.refusal, LC_DONE);
    actions_cleanup(&a);
    cr_assert_eq(k.assigned_at, t0 + 100);
    cr_assert_eq(store_timer_add(st, t0 + 50, fq_timer_kind_parse("accept_remind"), k.id, NULL, NULL), FQ_OK);
    drain_outbox();
    cr_assert_eq(run_due(t0 + 50), 0);
    cr_assert_eq(out_rows.n, 0);
    case_cleanup(&k);
}

/* ---- 督办 ----------------------------------------------------------------------------------- */
Test(timers, supervision_at_twice_the_deadline_tells_supervisors_and_reassigns)
{
    struct fq_case k;
    open_case(&k);
    cr_assert_str_eq(k.mediator_id, "m-wang");
    int64_t sla = sla_accept(cfg, k.severity);
    cr_assert_eq(run_due(t0 + sla), 1);   /* the reminder */
    size_t effect = run_due(t0 + 2 * sla);
    cr_assert_eq(effect, 1);
    /* the supervisors of the grid's town and county; not the other village's, not the inactive */
    cr_assert_eq(count_rows(ASSIGN("m-li"), "action", "reminder", k.case_no), 1);
    cr_assert_eq(count_rows(ASSIGN("m-zhao"), "action", "reminder", k.case_no), 1);
    cr_assert_eq(count_rows(ASSIGN("m-sun"), NULL, NULL, NULL), 0);
    cr_assert_eq(count_rows(ASSIGN("m-gone"), NULL, NULL, NULL), 0);
    cr_assert_eq(count_rows(ASSIGN("m-chen"), NULL, NULL, NULL), 0, "not a supervisor");
    /* reassigned to the other active grid worker (not the inactive one, not the same person) */
    cr_assert_eq(count_rows(ASSIGN("m-wang"), "action", "unassigned", k.case_no), 1);
    cr_assert_eq(count_rows(ASSIGN("m-wu"), "action", "assigned", k.case_no), 1);
    cr_assert_eq(count_rows(EVENTS(k.case_no), "type", "reminder", k.case_no), 1);
    cr_assert_eq(count_rows(EVENTS(k.case_no), "type", "transferred", k.case_no), 1);
    reload(&k);
    cr_assert_str_eq(k.mediator_id, "m-wu");
    cr_assert_str_eq(fq_case_status_name(k.status), "assigned");
    cr_assert_str_eq(k.org_id, "grid-fy-01");
    struct ev_count e = events(k.id, "reminder");
    cr_assert_eq(e.n, 2);
    cr_assert(strstr(e.last_data, "\"supervise\""), "data: %s", e.last_data);
    cr_assert_eq(events(k.id, "transferred").n, 1);
    /* fresh accept timers for the new mediator */
    struct pending p = pending(k.id, "accept_remind");
    cr_assert_eq(p.n, 1);
    cr_assert_eq(p.due, t0 + 2 * sla + sla);
    cr_assert_eq(pending(k.id, "accept_escalate").due, t0 + 2 * sla + 2 * sla);
    /* the new mediator is reminded in turn */
    cr_assert_eq(run_due(t0 + 3 * sla), 1);
    cr_assert_eq(count_rows(ASSIGN("m-wu"), "action", "reminder", k.case_no), 1);
    cr_assert_eq(count_rows(ASSIGN("m-wang"), NULL, NULL, NULL), 0);
    case_cleanup(&k);
}

Test(timers, supervision_without_another_mediator_keeps_the_case)
{
    ro->med[M_WU].active = false;
    struct fq_case k;
    open_case(&k);
    cr_assert_str_eq(k.mediator_id, "m-wang");
    int64_t sla = sla_accept(cfg, k.severity);
    run_due(t0 + sla);
    cr_assert_eq(run_due(t0 + 2 * sla), 1);
    cr_assert_eq(count_rows(ASSIGN("m-li"), "action", "reminder", k.case_no), 1);
    cr_assert_eq(count_rows(ASSIGN("m-zhao"), "action", "reminder", k.case_no), 1);
    cr_assert_eq(count_rows(ASSIGN("m-wang"), NULL, NULL, NULL), 0, "no unassignment");
    cr_assert_eq(count_rows(ASSIGN("m-off"), NULL, NULL, NULL), 0, "inactive: never chosen");
    reload(&k);
    cr_assert_str_eq(k.mediator_id, "m-wang");
    cr_assert(strstr(events(k.id, "reminder").last_data, "\"reassigned\":false"));
    cr_assert_eq(events(k.id, "transferred").n, 0);
    case_cleanup(&k);
}

Test(timers, supervisors_of_the_node_and_every_ancestor)
{
    int out[16];
    int grid = roster_org_index(ro, "grid-fy-01"), vil = roster_org_index(ro, "vil-lq");
    size_t n = timers_supervisors(ro, grid, out, 16);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0], M_LI, "nearest first");
    cr_assert_eq(out[1], M_ZHAO);
    n = timers_supervisors(ro, vil, out, 16);
    cr_assert_eq(n, 3);
    cr_assert_eq(out[0], M_SUN);
    cr_assert_eq(out[1], M_LI);
    cr_assert_eq(out[2], M_ZHAO);
    cr_assert_eq(timers_supervisors(ro, -1, out, 16), 0);
    cr_assert_eq(timers_supervisors(ro, grid, out, 1), 1, "bounded by max");
    ro->med[M_LI].active = false;
    n = timers_supervisors(ro, grid, out, 16);
    cr_assert_eq(n, 1, "an inactive supervisor is not told");
    cr_assert_eq(out[0], M_ZHAO);
}

/* ---- overdue --------------------------------------------------------------------------------- */
Test(timers, overdue_to_mediator_and_supervisors_then_daily_until_closed)
{
    struct fq_case k;
    open_case(&k);
    apply(&k, M_WANG, LC_ACCEPT);
    drain_outbox();
    int64_t due = k.due_resolve;
    cr_assert_eq(due, t0 + sla_resolve(cfg, k.severity));
    cr_assert_eq(run_due(due), 1);
    cr_assert_eq(count_rows(ASSIGN("m-wang"), "action", "overdue", k.case_no), 1);
    cr_assert_eq(count_rows(ASSIGN("m-li"), "action", "overdue", k.case_no), 1);
    cr_assert_eq(count_rows(ASSIGN("m-zhao"), "action", "overdue", k.case_no), 1);
    cr_assert_eq(count_rows(EVENTS(k.case_no), "type", "overdue", k.case_no), 1);
    struct pending p = pending(k.id, "resolve_overdue");
    cr_assert_eq(p.n, 1, "the next overdue notice");
    cr_assert_eq(p.due, due + 86400, "one day later");

    cr_assert_eq(run_due(due + 3600), 0, "not before the day is over");
    cr_assert_eq(run_due(due + 86400), 1);
    cr_assert_eq(count_rows(ASSIGN("m-wang"), "action", "overdue", k.case_no), 1);
    cr_assert_eq(events(k.id, "overdue").n, 2);
    cr_assert_eq(pending(k.id, "resolve_overdue").due, due + 2 * 86400);

    /* settled: the next notice is cancelled and nothing fires any more */
    ctx.now = due + 86400 + 60;
    apply(&k, M_WANG, LC_RESOLVE);
    cr_assert_eq(pending(k.id, "resolve_overdue").n, 0);
    drain_outbox();
    run_due(due + 10 * 86400);   /* survey timers of the resolution may fire: not ours */
    cr_assert_eq(count_rows(ASSIGN("m-wang"), "action", "overdue", NULL), 0);
    cr_assert_eq(count_rows(ASSIGN("m-li"), "action", "overdue", NULL), 0);
    cr_assert_eq(events(k.id, "overdue").n, 2);
    case_cleanup(&k);
}

Test(timers, sensitive_period_halves_the_deadlines)
{
    struct fq_case a;
    open_case(&a);
    int64_t normal = a.due_accept - t0, normal_resolve = a.due_resolve - t0;
    cfg->sensitive_enabled = true;
    struct fq_case b;
    open_case(&b);
    cr_assert_eq(b.due_accept - t0, normal / 2);
    cr_assert_eq(b.due_resolve - t0, normal_resolve / 2);
    cr_assert_eq(pending(b.id, "accept_remind").due, t0 + normal / 2);
    cr_assert_eq(pending(b.id, "accept_escalate").due, t0 + normal);
    case_cleanup(&a);
    case_cleanup(&b);
}

/* ---- absence --------------------------------------------------------------------------------- */
Test(timers, absence_reassigns_open_unaccepted_cases_only)
{
    struct fq_case a, b, c;
    /* m-wu busy with two cases, so m-wang gets the next ones */
    ro->med[M_WANG].active = false;
    open_case(&a);
    open_case(&b);
    cr_assert_str_eq(a.mediator_id, "m-wu");
    ro->med[M_WANG].active = true;
    open_case(&c);
    cr_assert_str_eq(c.mediator_id, "m-wang");
    struct fq_case d;
    open_case(&d);
    cr_assert_str_eq(d.mediator_id, "m-wang");
    apply(&d, M_WANG, LC_ACCEPT);   /* accepted: stays with m-wang */

    ro->med[M_WANG].active = false;   /* on leave */
    struct fq_actions out;
    actions_init(&out);
    size_t moved = 0;
    ctx.now = t0 + 50;
    cr_assert_eq(timers_absence(&ctx, &out, &moved), FQ_OK);
    cr_assert_eq(moved, 1);
    cr_assert_eq(count_kind(&out, FQ_ACT_ASSIGN, "unassigned", "m-wang"), 1);
    cr_assert_eq(count_kind(&out, FQ_ACT_ASSIGN, "assigned", "m-wu"), 1);
    actions_cleanup(&out);
    reload(&c);
    reload(&d);
    cr_assert_str_eq(c.mediator_id, "m-wu", "the other active grid worker, never m-off");
    cr_assert_str_eq(fq_case_status_name(c.status), "assigned");
    cr_assert_eq(events(c.id, "transferred").n, 1);
    cr_assert_str_eq(events(c.id, "transferred").last_actor, "system");
    cr_assert_eq(pending(c.id, "accept_remind").due, t0 + 50 + sla_accept(cfg, c.severity));
    cr_assert_str_eq(d.mediator_id, "m-wang");
    cr_assert_str_eq(fq_case_status_name(d.status), "accepted");

    /* idempotent */
    actions_init(&out);
    cr_assert_eq(timers_absence(&ctx, &out, &moved), FQ_OK);
    cr_assert_eq(moved, 0);
    cr_assert_eq(out.n, 0);
    actions_cleanup(&out);

    /* nobody left at the grid: up the tree (the village mediator) */
    ro->med[M_WU].active = false;
    actions_init(&out);
    cr_assert_eq(timers_absence(&ctx, &out, &moved), FQ_OK);
    cr_assert_eq(moved, 3, "a, b and c: m-wu is away too");
    actions_cleanup(&out);
    reload(&c);
    cr_assert_str_eq(c.mediator_id, "m-chen");
    cr_assert_str_eq(c.org_id, "vil-fy");
    case_cleanup(&a);
    case_cleanup(&b);
    case_cleanup(&c);
    case_cleanup(&d);
}

Test(timers, housekeeping_message_runs_absence_and_digests)
{
    struct fq_case k;
    open_case(&k);
    cr_assert_str_eq(k.mediator_id, "m-wang");
    ro->med[M_WANG].active = false;
    drain_outbox();
    struct fq_msg *m = fq_msg_new(FQ_MSG_TIMER);
    cr_assert_eq(store_begin(st), FQ_OK);
    cr_assert_eq(sched_run(&ctx, "fq/v1", m), FQ_OK);
    cr_assert_eq(store_commit(st), FQ_OK);
    fq_msg_free(m);
    drain_outbox();
    cr_assert_eq(count_rows(ASSIGN("m-wu"), "action", "assigned", k.case_no), 1);
    cr_assert_eq(count_rows(ASSIGN("m-wang"), "action", "unassigned", k.case_no), 1);
    cr_assert_eq(pending(0, "digest").n, 3, "m-sun, m-li, m-zhao");
    case_cleanup(&k);
}

/* ---- danger words in a later message ---------------------------------------------------------- */
Test(timers, danger_words_raise_alerts_up_the_tree_and_make_the_case_red)
{
    struct fq_case k;
    open_case(&k);
    cr_assert_eq(k.severity, FQ_SEV_BLUE);
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(timers_on_danger(&ctx, k.case_no, &a), FQ_OK);
    const char *chain[] = {"grid-fy-01", "vil-fy", "town-fq", "county-zj"};
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(count_kind(&a, FQ_ACT_ALERT, "danger", chain[i]), 1, "%s", chain[i]);
    cr_assert_eq(count_kind(&a, FQ_ACT_ALERT, NULL, NULL), 4);
    cr_assert_eq(count_kind(&a, FQ_ACT_ALERT, NULL, "vil-lq"), 0);
    cr_assert_eq(count_kind(&a, FQ_ACT_NOTIFY, NULL, "m-li"), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_NOTIFY, NULL, "m-zhao"), 1);
    cr_assert_eq(count_kind(&a, FQ_ACT_NOTIFY, NULL, "m-wang"), 1, "and the case's mediator");
    cr_assert_eq(count_kind(&a, FQ_ACT_NOTIFY, NULL, "m-sun"), 0);
    actions_cleanup(&a);
    reload(&k);
    cr_assert_eq(k.severity, FQ_SEV_RED);
    cr_assert(strstr(events(k.id, "progress").last_data, "\"red\""));

    /* no such case: nothing */
    actions_init(&a);
    cr_assert_eq(timers_on_danger(&ctx, "FQ20000101-0001", &a), FQ_OK);
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    /* a finished case is not open */
    apply(&k, M_WANG, LC_ACCEPT);
    apply(&k, M_WANG, LC_RESOLVE);
    actions_init(&a);
    cr_assert_eq(timers_on_danger(&ctx, k.case_no, &a), FQ_OK);
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    case_cleanup(&k);
}

Test(timers, danger_words_through_the_resident_conversation)
{
    struct fq_case k;
    open_case(&k);
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    m->channel = strdup("web");
    m->user = strdup(k.user);
    m->message_id = strdup("m-1");
    m->type = strdup("text");
    m->text = strdup("他又来闹了，说要动刀");
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(intake_on_message(&ctx, m, &a), FQ_OK);
    cr_assert_eq(count_kind(&a, FQ_ACT_ALERT, "danger", "county-zj"), 1);
    actions_cleanup(&a);
    fq_msg_free(m);
    reload(&k);
    cr_assert_eq(k.severity, FQ_SEV_RED);
    case_cleanup(&k);
}

/* ---- digest ---------------------------------------------------------------------------------- */
static void digest_timer_cb(const struct fq_timer *t, void *arg)
{
    struct fq_timer *out = arg;
    if (strcmp(fq_timer_kind_name(t->kind), "digest") == 0 && fq_streq(t->arg, out->arg)) {
        out->id = t->id;
        out->due_at = t->due_at;
    }
}

static struct fq_timer digest_of(const char *sup)
{
    struct fq_timer t = {.arg = (char *)sup};
    cr_assert_eq(store_timer_due(st, INT64_MAX / 2, 0, digest_timer_cb, &t), FQ_OK);
    t.arg = NULL;
    return t;
}

Test(timers, one_digest_per_active_supervisor_idempotent)
{
    cr_assert_eq(timers_ensure_digests(&ctx), FQ_OK);
    cr_assert_eq(timers_ensure_digests(&ctx), FQ_OK);
    cr_assert_eq(pending(0, "digest").n, 3);
    struct fq_timer t = digest_of("m-li");
    cr_assert(t.id > 0);
    cr_assert_eq(t.due_at, timers_digest_next(t0, false));
    cr_assert_eq(digest_of("m-gone").id, 0, "inactive: none");
    /* a stray second digest row for m-li (not the one kv names) fires without effect */
    int64_t stray = 0;
    cr_assert_eq(store_timer_add(st, t.due_at, fq_timer_kind_parse("digest"), 0, "m-li", &stray), FQ_OK);
    struct fq_timer sx = {.id = stray, .due_at = t.due_at, .arg = "m-li"};
    sx.kind = fq_timer_kind_parse("digest");
    struct fq_actions a;
    actions_init(&a);
    cr_assert_eq(timers_fire(&ctx, &sx, &a), FQ_OK);
    cr_assert_eq(a.n, 0);
    actions_cleanup(&a);
    cr_assert_eq(store_timer_fire(st, stray, t0), FQ_OK);
    cr_assert_eq(digest_of("m-wang").id, 0, "not a supervisor: none");
    /* sensitive: the weekly one is replaced by a daily one */
    cfg->sensitive_enabled = true;
    cr_assert_eq(timers_ensure_digests(&ctx), FQ_OK);
    cr_assert_eq(pending(0, "digest").n, 3);
    t = digest_of("m-li");
    cr_assert_eq(t.due_at, timers_digest_next(t0, true));
    cr_assert(t.due_at - t0 <= 86400);
}

Test(timers, digest_next_times)
{
    int64_t now = t0;
    int64_t d = timers_digest_next(now, true), w = timers_digest_next(now, false);
    cr_assert(d > now && d <= now + 86400 + 3600);
    cr_assert(w > now && w <= now + 7 * 86400 + 3600);
    time_t tt = (time_t)d;
    struct tm tm;
    localtime_r(&tt, &tm);
    cr_assert_eq(tm.tm_hour, 8);
    cr_assert_eq(tm.tm_min, 0);
    tt = (time_t)w;
    localtime_r(&tt, &tm);
    cr_assert_eq(tm.tm_wday, 1, "Monday");
    cr_assert_eq(tm.tm_hour, 8);
    cr_assert_eq(timers_digest_next(d, true), timers_digest_next(d + 1, true));
    cr_assert(timers_digest_next(d, true) > d, "strictly after");
}

Test(timers, digest_times_are_local_to_server_timezone)
{
    setenv("TZ", "UTC", 1);   /* whatever the environment says */
    cr_assert_eq(fq_tz_use("Asia/Shanghai"), FQ_OK);
    int64_t now = 1793581200;   /* 2026-11-02T01:00Z: Monday 09:00 in Shanghai */
    cr_expect_eq(timers_digest_next(now, true), 1793664000, "Tuesday 08:00 +08:00 (00:00Z)");
    cr_expect_eq(timers_digest_next(now, false), 1794182400, "next Monday 08:00 +08:00");
    cr_expect_eq(timers_digest_next(now - 2 * 3600, true), 1793577600, "07:00: today 08:00");
}

Test(timers, digest_lists_new_overdue_and_escalated_cases_of_the_subtree)
{
    cfg->sensitive_enabled = true;   /* daily */
    struct fq_case a, b;
    open_case(&a);
    open_case(&b);
    /* b is escalated to the village */
    ctx.now = t0 + 10;
    apply(&b, roster_mediator_index(ro, b.mediator_id), LC_ESCALATE);
    cr_assert_eq(timers_ensure_digests(&ctx), FQ_OK);
    struct fq_timer t = digest_of("m-li");
    cr_assert(t.id > 0);
    /* a is overdue by the digest time (a daily digest, halved resolve SLA) */
    int64_t when = a.due_resolve + 10;
    cr_assert(when - t0 < 86400 * 30);
    struct fq_timer ft = {.id = t.id, .due_at = t.due_at, .arg = "m-li"};
    ft.kind = fq_timer_kind_parse("digest");
    ctx.now = t0 + 3600;   /* within the day: both cases are new */
    struct fq_actions out;
    actions_init(&out);
    cr_assert_eq(timers_fire(&ctx, &ft, &out), FQ_OK);
    cr_assert_eq(count_kind(&out, FQ_ACT_NOTIFY, "digest", "m-li"), 1);
    const struct fq_action *x = &out.v[0];
    cr_assert(strstr(x->text, a.case_no) && strstr(x->text, b.case_no), "%s", x->text);
    json_t *j = json_loads(x->data, 0, NULL);
    cr_assert_not_null(j, "data is JSON: %s", x->data);
    cr_assert_eq(json_integer_value(json_object_get(j, "new")), 2);
    cr_assert_eq(json_integer_value(json_object_get(j, "overdue")), 0);
    cr_assert_eq(json_integer_value(json_object_get(j, "escalated")), 1);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "escalated_cases"), 0)),
                     b.case_no);
    cr_assert_str_eq(json_string_value(json_object_get(j, "period")), "daily");
    json_decref(j);
    actions_cleanup(&out);
    /* rescheduled: a new pending digest for m-li after the fired one */
    struct fq_timer next = digest_of("m-li");
    cr_assert(next.id != t.id && next.id > 0);

    /* m-sun's village is another subtree: nothing of ours */
    struct fq_timer sun = {.id = digest_of("m-sun").id, .arg = "m-sun"};
    sun.kind = fq_timer_kind_parse("digest");
    actions_init(&out);
    ctx.now = when;
    cr_assert_eq(timers_fire(&ctx, &sun, &out), FQ_OK);
    cr_assert_eq(out.n, 1);
    j = json_loads(out.v[0].data, 0, NULL);
    cr_assert_eq(json_integer_value(json_object_get(j, "new")), 0);
    cr_assert_eq(json_integer_value(json_object_get(j, "overdue")), 0);
    json_decref(j);
    actions_cleanup(&out);

    /* later: a is overdue for m-li (both grid cases are under the town) */
    ft.id = digest_of("m-li").id;
    actions_init(&out);
    cr_assert_eq(timers_fire(&ctx, &ft, &out), FQ_OK);
    j = json_loads(out.v[0].data, 0, NULL);
    cr_assert_eq(json_integer_value(json_object_get(j, "overdue")), 2, "%s", out.v[0].data);
    json_decref(j);
    actions_cleanup(&out);
    case_cleanup(&a);
    case_cleanup(&b);
}

Test(timers, digest_is_published_on_the_digest_topic)
{
    cr_assert_eq(timers_ensure_digests(&ctx), FQ_OK);
    struct fq_timer t = digest_of("m-zhao");
    drain_outbox();
    cr_assert_eq(run_due(t.due_at), 3, "the three supervisors' digests fall due together");
    cr_assert_eq(count_rows("fq/v1/mediators/m-zhao/digest", "type", "digest", NULL), 1);
    for (size_t i = 0; i < out_rows.n; i++)
        if (strcmp(out_rows.topic[i], "fq/v1/mediators/m-zhao/digest") == 0) {
            json_t *j = json_loads(out_rows.payload[i], 0, NULL);
            cr_assert(json_is_string(json_object_get(j, "text")));
            cr_assert(json_is_string(json_object_get(j, "event_id")));
            cr_assert(json_is_integer(json_object_get(j, "new")));
            json_decref(j);
        }
    cr_assert_eq(pending(0, "digest").n, 3, "each rescheduled");
}

/* ---- heavy timers computed off the core ------------------------------------------------------ */
static void work_free(void *x)
{
    struct sched_work *w = x;
    actions_cleanup(&w->actions);
    free(w);
}

static void report_timer_cb(const struct fq_timer *t, void *arg)
{
    struct fq_timer *out = arg;
    if (strcmp(fq_timer_kind_name(t->kind), "report_monthly") == 0) {
        out->id = t->id;
        out->due_at = t->due_at;
        out->kind = t->kind;
    }
}

/* The live monthly report timer (id 0: none). */
static struct fq_timer report_timer(void)
{
    struct fq_timer t = {0};
    cr_assert_eq(store_timer_due(st, INT64_MAX / 2, 0, report_timer_cb, &t), FQ_OK);
    return t;
}

/* What bot/core/reports.c does for timer t: its actions computed on a read-only connection of
 * its own inside one read transaction, at time now; returned as the work of an FQ_MSG_TIMER. */
static struct fq_msg *computed_off_core(const struct fq_timer *t, int64_t now)
{
    char path[300];
    snprintf(path, sizeof path, "%s/fq.db", w.dir);
    struct store *rs = NULL;
    cr_assert_eq(store_open_readonly(path, &rs, NULL), FQ_OK);
    struct sched_work *x = calloc(1, sizeof *x);
    cr_assert_not_null(x);
    actions_init(&x->actions);
    struct fq_ctx rc = ctx;
    rc.store = rs;
    rc.now = now;
    cr_assert(timers_heavy(t->kind));
    cr_assert_eq(store_read_begin(rs), FQ_OK);
    cr_assert_eq(timers_compute(&rc, t, &x->actions), FQ_OK);
    store_read_end(rs);
    store_close(rs);
    struct fq_msg *m = fq_msg_new(FQ_MSG_TIMER);
    m->ids = malloc(sizeof *m->ids);
    m->ids[0] = t->id;
    m->n_ids = 1;
    m->work = x;
    m->work_free = work_free;
    return m;
}

/* The core's side of it: sched_run in a transaction; true when the timer had an effect. */
static bool commit_work(struct fq_msg *m, int64_t now)
{
    ctx.now = now;
    cr_assert_eq(store_begin(st), FQ_OK);
    cr_assert_eq(store_savepoint(st), FQ_OK);
    enum fq_err err = sched_run(&ctx, "fq/v1", m);
    cr_assert_eq(err, FQ_OK, "sched_run: %s (%s)", fq_strerror(err), store_errmsg(st));
    cr_assert_eq(store_release(st), FQ_OK);
    cr_assert_eq(store_commit(st), FQ_OK);
    bool effect = m->ids[0] != 0;
    fq_msg_free(m);
    drain_outbox();
    return effect;
}

Test(timers, a_digest_computed_off_the_core_is_sent_once)
{
    cr_assert_eq(timers_ensure_digests(&ctx), FQ_OK);
    struct fq_timer t = digest_of("m-zhao");
    t.kind = fq_timer_kind_parse("digest");
    t.arg = "m-zhao";
    drain_outbox();
    /* computed twice (a restart between computing and committing computes it again) */
    struct fq_msg *first = computed_off_core(&t, t.due_at);
    struct fq_msg *again = computed_off_core(&t, t.due_at);
    cr_assert_eq(((struct sched_work *)first->work)->actions.n, 1);
    /* the reader wrote nothing: still pending, not rescheduled */
    cr_assert_eq(digest_of("m-zhao").id, t.id);
    cr_assert(commit_work(first, t.due_at + 1));
    cr_assert_eq(count_rows("fq/v1/mediators/m-zhao/digest", "type", "digest", NULL), 1);
    struct fq_timer next = digest_of("m-zhao");
    cr_assert(next.id > 0 && next.id != t.id, "rescheduled by the commit half");
    /* the second result finds the timer fired: dropped, nothing published, not rescheduled */
    cr_assert(!commit_work(again, t.due_at + 2));
    cr_assert_eq(count_rows("fq/v1/mediators/m-zhao/digest", "type", "digest", NULL), 0);
    cr_assert_eq(digest_of("m-zhao").id, next.id);
    cr_assert_eq(pending(0, "digest").n, 3);
}

Test(timers, a_result_for_a_timer_no_longer_live_is_dropped)
{
    cr_assert_eq(timers_ensure_digests(&ctx), FQ_OK);
    struct fq_timer t = digest_of("m-li");
    t.kind = fq_timer_kind_parse("digest");
    t.arg = "m-li";
    drain_outbox();
    struct fq_msg *m = computed_off_core(&t, t.due_at);
    cr_assert_eq(((struct sched_work *)m->work)->actions.n, 1);
    /* meanwhile m-li stopped being a supervisor (a roster import) */
    ro->med[M_LI].supervisor = false;
    cr_assert(!commit_work(m, t.due_at + 1));
    cr_assert_eq(count_rows("fq/v1/mediators/m-li/digest", "type", "digest", NULL), 0);
    cr_assert_eq(digest_of("m-li").id, 0, "consumed, not rescheduled");
    /* a computation that failed for good consumes its timer without effect */
    struct fq_timer z = digest_of("m-zhao");
    z.kind = fq_timer_kind_parse("digest");
    z.arg = "m-zhao";
    m = computed_off_core(&z, z.due_at);
    ((struct sched_work *)m->work)->failed = FQ_EINVAL;
    cr_assert(!commit_work(m, z.due_at + 1));
    cr_assert_eq(count_rows("fq/v1/mediators/m-zhao/digest", "type", "digest", NULL), 0);
    cr_assert_eq(digest_of("m-zhao").id, 0);
}

Test(timers, the_monthly_report_computed_off_the_core_is_sent_once)
{
    cr_assert_eq(report_ensure_timer(&ctx), FQ_OK);
    struct fq_timer t = report_timer();
    cr_assert(t.id > 0);
    drain_outbox();
    struct fq_msg *first = computed_off_core(&t, t.due_at + 1);
    struct fq_msg *again = computed_off_core(&t, t.due_at + 1);
    cr_assert_eq(report_timer().id, t.id, "the reader wrote nothing");
    cr_assert(commit_work(first, t.due_at + 2));
    cr_assert_eq(count_rows("fq/v1/reports/county-zj/monthly", "org", "county-zj", NULL), 1);
    struct fq_timer n = report_timer();
    cr_assert(n.id > 0 && n.id != t.id && n.due_at > t.due_at, "the next month's timer");
    cr_assert(!commit_work(again, t.due_at + 3));
    cr_assert_eq(count_rows("fq/v1/reports/county-zj/monthly", "org", "county-zj", NULL), 0);
    cr_assert_eq(report_timer().id, n.id, "not scheduled twice");
}

Test(timers, metric_labels)
{
    cr_assert_str_eq(timers_metric_label(fq_timer_kind_parse("accept_remind")), "reminder");
    cr_assert_str_eq(timers_metric_label(fq_timer_kind_parse("accept_escalate")), "escalation");
    cr_assert_str_eq(timers_metric_label(fq_timer_kind_parse("resolve_overdue")), "overdue");
    cr_assert_str_eq(timers_metric_label(fq_timer_kind_parse("survey")), "survey");
    cr_assert_str_eq(timers_metric_label(fq_timer_kind_parse("relapse_check")), "relapse");
    cr_assert_str_eq(timers_metric_label(fq_timer_kind_parse("digest")), "other");
    cr_assert_str_eq(timers_metric_label(FQ_TIMER__COUNT), "other");
}

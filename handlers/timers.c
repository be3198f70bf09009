/* timers.c: what a due timer does (docs/contract.md 7.4), and the other lifecycle duties that are
 * not a mediator's command: absence (a mediator set inactive loses their unaccepted cases), alerts
 * on danger words in a later message of a case, and the supervisors' digest.
 *
 * The core marks a timer fired before calling timers_fire, in the same savepoint, so whatever
 * happens here is committed together with "fired" and happens once (bot/core/sched.c). Every timer
 * re-reads the case and checks that the case still needs it: a reminder for a case accepted or
 * reassigned meanwhile, or an overdue notice for a finished case, does nothing. lifecycle.c
 * cancels timers when the case moves on; the check here is the second line of defence (a
 * timer already queued when the case moved, a row written by an older version).
 *
 * Kinds:
 *   accept_remind    case still waiting for its mediator to accept: assignment "reminder" and
 *                    a notify text to the mediator; event "reminder" {"kind":"accept"}.
 *   accept_escalate  twice the accept SLA (督办): each supervisor of the handling node and its
 *                    ancestors gets assignment "reminder" and a notify text (so MQTT-only and
 *                    WeCom deployments both see it); event "reminder" {"kind":"supervise"};
 *                    then the case is transferred (lifecycle LC_TRANSFER by the system: event
 *                    "transferred", fresh accept timers) to another active mediator of the same
 *                    node who handles the category, fewest open cases first, when there is one.
 *   resolve_overdue  not finished by the resolve SLA: assignment "overdue" + notify to the
 *                    mediator and each supervisor; event "overdue"; the next one a day later.
 *   Those three, for a case that is not red, wait for working hours when they fall due out of
 *   them (calendar.hold_night): the timer is set again at the next working instant.
 *   digest           arg = a supervisor's id: the new, overdue and escalated cases of their node
 *                    and below over the last period (a day when sensitive.enabled, else a
 *                    week), as a notify text and an action of kind NOTIFY, type "digest" (bot/
 *                    payload.c publishes it on {p}/mediators/{id}/digest); the next one is
 *                    scheduled at 08:00 local of the next day (sensitive) or next Monday.
 *   survey*, relapse_check   handed to survey_on_timer (handlers/survey.c).
 *   report_monthly   handed to report_on_timer (handlers/report.c).
 * A supervisor is a mediator with "supervisor": true, active, at the node or an ancestor; the
 * case's own mediator is never told twice (not also as a supervisor).
 *
 * Mediators have no locale in the roster: their texts are zh-CN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/lifecycle.h"
#include "common/config_model.h"
#include "common/localtime.h"
#include "handlers/actions.h"
#include "handlers/report.h"
#include "handlers/route.h"
#include "handlers/survey.h"
#include "handlers/timers.h"
#include "store/case_table.h"
#include "store/timer_lifecycle.h"
#include "store/timer_table.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "common/sla.h"
#include "common/status.h"
#include "handlers/i18n.h"
#include "store/store.h"

#define DAY 86400
#define DIGEST_HOUR 8
#define DIGEST_LIST_MAX 20     /* case numbers written into the digest text per list */
#define DIGEST_DATA_MAX 200    /* case numbers in the digest's data per list */
#define MAX_SUPERVISORS 64

static const int loc = FQ_LOC_ZH_CN;

/* ---- small helpers ------------------------------------------------------------------------- */
static bool is_finished(const struct fq_case *k) { return fq_case_status_finished(k->status); }

static bool awaits_accept(const struct fq_case *k)
{
    return k->mediator_id && (k->status == FQ_CASE_ASSIGNED || k->status == FQ_CASE_REOPENED);
}

/* The handling node of k, or its mediator's node when the roster does not know org_id. */
static int handling_node(const struct fq_roster *r, const struct fq_case *k)
{
    int n = roster_org_index(r, k->org_id);
    if (n < 0) {
        int m = roster_mediator_index(r, k->mediator_id);
        n = m >= 0 ? r->med[m].org : -1;
    }
    return n;
}

static const char *org_name(const struct fq_roster *r, int i)
{
    return i >= 0 && (size_t)i < r->n_org ? r->org[i].name : "";
}

static const char *mediator_name(const struct fq_ctx *c, const char *id)
{
    int m = roster_mediator_index(c->roster, id);
    return m >= 0 ? c->roster->med[m].name : i18n_get(c->lex, loc, "tm_nobody");
}

static const char *place_name(const struct fq_ctx *c, const struct fq_case *k)
{
    int p = roster_org_index(c->roster, k->place_org);
    if (p >= 0)
        return c->roster->org[p].name;
    return k->place_text ? k->place_text : "";
}

size_t timers_supervisors(const struct fq_roster *r, int node, int *out, size_t max)
{
    size_t n = 0;
    for (size_t hops = 0; node >= 0 && (size_t)node < r->n_org && hops <= r->n_org; hops++) {
        for (size_t i = 0; i < r->n_med && n < max; i++) {
            const struct fq_mediator *m = &r->med[i];
            if (m->org == node && m->supervisor && m->active)
                out[n++] = (int)i;
        }
        node = r->org[node].parent;
    }
    return n;
}

/* Supervisors of the case's handling node (and, for alerts, its place) and their ancestors,
 * without duplicates and without the case's own mediator. */
static size_t case_supervisors(const struct fq_ctx *c, const struct fq_case *k, bool with_place,
                               int *out, size_t max)
{
    const struct fq_roster *r = c->roster;
    size_t n = timers_supervisors(r, handling_node(r, k), out, max);
    if (with_place) {
        int more[MAX_SUPERVISORS];
        size_t m = timers_supervisors(r, roster_org_index(r, k->place_org), more,
                                      MAX_SUPERVISORS);
        for (size_t i = 0; i < m && n < max; i++) {
            bool seen = false;
            for (size_t j = 0; j < n; j++)
                seen = seen || out[j] == more[i];
            if (!seen)
                out[n++] = more[i];
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (!fq_streq(r->med[out[i]].id, k->mediator_id))
            out[w++] = out[i];
    return w;
}

/* Appends a notify action with text (taken; NULL marks oom). */
static void notify_take(struct fq_actions *out, const char *mediator, const struct fq_case *k,
                        char *text)
{
    if (!text) {
        out->oom = true;
        return;
    }
    actions_notify(out, mediator, k, text);
    free(text);
}

static enum fq_err record(struct fq_ctx *c, const struct fq_case *k, const char *type,
                          const char *data, struct fq_actions *out)
{
    enum fq_err err = store_case_event_add(c->store, k->id, type, "system", NULL, data, c->now);
    if (!err)
        actions_event(out, type, k);
    return err;
}

/* Gives k to mediator `to` as the system (lifecycle's transfer: event "transferred", the
 * assignments, fresh accept timers). */
static enum fq_err transfer_to(struct fq_ctx *c, struct fq_case *k, int to, bool *moved,
                               struct fq_actions *out)
{
    struct lc_request rq = {.cmd = LC_TRANSFER, .actor = -1, .to = c->roster->med[to].id};
    struct lc_result res;
    enum fq_err err = lifecycle_apply(c, k, &rq, &res, out);
    if (moved)
        *moved = !err && res.refusal == LC_DONE;
    return err;
}

/* ---- the kinds ----------------------------------------------------------------------------- */
static enum fq_err fire_remind(struct fq_ctx *c, const struct fq_timer *t, struct fq_case *k,
                              struct fq_actions *out)
{
    /* a reminder belongs to the assignment it was set for */
    if (!awaits_accept(k) || t->due_at < k->assigned_at)
        return FQ_OK;
    char due[96];
    i18n_deadline(c->lex, loc, k->due_accept, c->now, due, sizeof due);
    enum fq_err err = record(c, k, "reminder", "{\"kind\":\"accept\"}", out);
    if (err)
        return err;
    actions_assign(out, "reminder", k->mediator_id, k);
    notify_take(out, k->mediator_id, k,
                i18n_format(c->lex, loc, "tm_remind", "case", k->case_no, "category",
                            i18n_category(c->lex, loc, k->category), "place", place_name(c, k),
                            "due", due, (char *)NULL));
    return FQ_OK;
}

static enum fq_err fire_supervise(struct fq_ctx *c, const struct fq_timer *t, struct fq_case *k,
                                  struct fq_actions *out)
{
    if (!awaits_accept(k) || t->due_at < k->assigned_at)
        return FQ_OK;
    const struct fq_roster *r = c->roster;
    int node = handling_node(r, k);
    int to = -1;
    /* another mediator of the same node, by load (k's own excluded) */
    enum fq_err err = route_least_loaded(c, node, k->category, k->mediator_id, &to);
    if (err)
        return err;
    int sup[MAX_SUPERVISORS];
    size_t n = case_supervisors(c, k, false, sup, MAX_SUPERVISORS);

    char due[96];
    i18n_deadline(c->lex, loc, k->due_accept, c->now, due, sizeof due);
    const char *cat = i18n_category(c->lex, loc, k->category);
    const char *unit = org_name(r, node), *who = mediator_name(c, k->mediator_id);
    err = record(c, k, "reminder",
                 to >= 0 ? "{\"kind\":\"supervise\",\"reassigned\":true}"
                         : "{\"kind\":\"supervise\",\"reassigned\":false}",
                 out);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++) {
        const char *sid = r->med[sup[i]].id;
        actions_assign(out, "reminder", sid, k);
        notify_take(out, sid, k,
                    to >= 0 ? i18n_format(c->lex, loc, "tm_supervise_reassigned", "case",
                                          k->case_no, "category", cat, "unit", unit, "mediator",
                                          who, "due", due, "new_mediator", r->med[to].name,
                                          (char *)NULL)
                            : i18n_format(c->lex, loc, "tm_supervise", "case", k->case_no,
                                          "category", cat, "unit", unit, "mediator", who, "due",
                                          due, (char *)NULL));
    }
    if (to < 0)
        return FQ_OK;
    return transfer_to(c, k, to, NULL, out);
}

static enum fq_err fire_overdue(struct fq_ctx *c, const struct fq_timer *t, struct fq_case *k,
                                struct fq_actions *out)
{
    (void)t;
    if (is_finished(k) || k->status == FQ_CASE_PAUSED)   /* its clock stands still */
        return FQ_OK;
    const struct fq_roster *r = c->roster;
    char due[96];
    i18n_deadline(c->lex, loc, k->due_resolve, c->now, due, sizeof due);
    const char *cat = i18n_category(c->lex, loc, k->category);
    enum fq_err err = record(c, k, "overdue", NULL, out);
    if (!err)
        err = store_timer_add(c->store, sla_due(c->cfg, SLA_OVERDUE_NEXT, k->severity, c->now),
                              FQ_TIMER_RESOLVE_OVERDUE, k->id, NULL, NULL);
    if (err)
        return err;
    if (k->mediator_id) {
        actions_assign(out, "overdue", k->mediator_id, k);
        notify_take(out, k->mediator_id, k,
                    i18n_format(c->lex, loc, "tm_overdue", "case", k->case_no, "category", cat,
                                "due", due, (char *)NULL));
    }
    int sup[MAX_SUPERVISORS];
    size_t n = case_supervisors(c, k, false, sup, MAX_SUPERVISORS);
    for (size_t i = 0; i < n; i++) {
        const char *sid = r->med[sup[i]].id;
        actions_assign(out, "overdue", sid, k);
        notify_take(out, sid, k,
                    i18n_format(c->lex, loc, "tm_overdue_supervisor", "case", k->case_no,
                                "category", cat, "unit", org_name(r, handling_node(r, k)),
                                "mediator", mediator_name(c, k->mediator_id), "due", due,
                                (char *)NULL));
    }
    return FQ_OK;
}

/* ---- digest -------------------------------------------------------------------------------- */
static int64_t digest_period(const struct fq_ctx *c)
{
    return c->cfg && c->cfg->sensitive_enabled ? DAY : 7 * DAY;
}

int64_t timers_digest_next(int64_t now, bool daily)
{
    struct fq_civil d;
    fq_local_civil(now, &d);
    int day = d.day;
    if (!daily)
        day += (8 - d.wday) % 7;   /* to Monday (wday 1) */
    int64_t t = fq_local_instant(d.year, d.month, day, DIGEST_HOUR, 0, 0);
    while (t <= now) {
        day += daily ? 1 : 7;
        t = fq_local_instant(d.year, d.month, day, DIGEST_HOUR, 0, 0);
    }
    return t;
}

struct digest {
    const struct fq_roster *r;
    int node;
    size_t n_new, n_overdue, n_escalated;
    struct fq_buf list[3];           /* text lists: new, overdue, escalated */
    struct fq_buf data[3];           /* JSON arrays */
    size_t shown[3], in_data[3];
};

static bool under(const struct fq_roster *r, int node, const char *org)
{
    int i = roster_org_index(r, org);
    return i >= 0 && roster_org_is_ancestor(r, node, i);
}

static void digest_add(struct digest *d, int which, const char *case_no)
{
    if (d->shown[which] < DIGEST_LIST_MAX) {
        buf_puts(&d->list[which], d->shown[which] ? ", " : "");
        buf_puts(&d->list[which], case_no);
        d->shown[which]++;
    }
    if (d->in_data[which] < DIGEST_DATA_MAX) {
        if (d->in_data[which])
            buf_puts(&d->data[which], ",");
        buf_json_string(&d->data[which], case_no);
        d->in_data[which]++;
    }
}

static void digest_row(const struct fq_digest_row *row, void *arg)
{
    struct digest *d = arg;
    if (!under(d->r, d->node, row->org_id) && !under(d->r, d->node, row->place_org))
        return;
    if (row->is_new) {
        d->n_new++;
        digest_add(d, 0, row->case_no);
    }
    if (row->overdue) {
        d->n_overdue++;
        digest_add(d, 1, row->case_no);
    }
    if (row->escalated) {
        d->n_escalated++;
        digest_add(d, 2, row->case_no);
    }
}

static void digest_cleanup(struct digest *d)
{
    for (int i = 0; i < 3; i++) {
        buf_cleanup(&d->list[i]);
        buf_cleanup(&d->data[i]);
    }
}

/* Schedules the next digest of supervisor `id` and remembers its timer id in kv. */
static enum fq_err digest_schedule(struct fq_ctx *c, const char *id)
{
    int64_t tid = 0;
    int64_t due = timers_digest_next(c->now, digest_period(c) == DAY);
    enum fq_err err =
        store_timer_add(c->store, due, FQ_TIMER_DIGEST, 0, id, &tid);
    if (err)
        return err;
    char key[160], val[32];
    snprintf(key, sizeof key, "tm_digest:%s", id);
    snprintf(val, sizeof val, "%lld", (long long)tid);
    return store_kv_put(c->store, key, val);
}

/* The supervisor whose live digest timer t is (its roster index into *m), or -1 in *m: no longer
 * a supervisor (timers_ensure_digests starts again if needed), or a stray timer that kv does
 * not name (it would double the digests). */
static enum fq_err digest_owner(struct fq_ctx *c, const struct fq_timer *t, int *m)
{
    const struct fq_roster *r = c->roster;
    *m = roster_mediator_index(r, t->arg);
    if (*m < 0 || !r->med[*m].supervisor || !r->med[*m].active) {
        *m = -1;
        return FQ_OK;
    }
    char key[160], *cur = NULL;
    snprintf(key, sizeof key, "tm_digest:%s", r->med[*m].id);
    enum fq_err err = store_kv_get(c->store, key, &cur);
    if (err && err != FQ_ENOTFOUND)
        return err;
    if (cur && atoll(cur) != t->id)
        *m = -1;
    free(cur);
    return FQ_OK;
}

/* The reading half: the digest text and figures (writes nothing). */
static enum fq_err digest_compute(struct fq_ctx *c, const struct fq_timer *t,
                                  struct fq_actions *out)
{
    const struct fq_roster *r = c->roster;
    int m = -1;
    enum fq_err err = digest_owner(c, t, &m);
    if (err || m < 0)
        return err;
    bool daily = digest_period(c) == DAY;
    struct digest d = {.r = r, .node = r->med[m].org};
    for (int i = 0; i < 3; i++) {
        buf_init(&d.list[i]);
        buf_init(&d.data[i]);
        buf_puts(&d.list[i], "");
        buf_puts(&d.data[i], "");
    }
    char *text = NULL, *data = NULL;
    err = store_digest_cases(c->store, c->now - digest_period(c), c->now, digest_row,
                                         &d);
    if (err)
        goto out;
    char nn[24], no[24], ne[24];
    snprintf(nn, sizeof nn, "%zu", d.n_new);
    snprintf(no, sizeof no, "%zu", d.n_overdue);
    snprintf(ne, sizeof ne, "%zu", d.n_escalated);
    struct fq_buf b;
    buf_init(&b);
    char *head = i18n_format(c->lex, loc, daily ? "tm_digest_daily" : "tm_digest_weekly", "unit",
                             org_name(r, d.node), "new", nn, "overdue", no, "escalated", ne,
                             (char *)NULL);
    buf_puts(&b, head ? head : "");
    free(head);
    static const char *const keys[3] = {"tm_digest_list_new", "tm_digest_list_overdue",
                                        "tm_digest_list_escalated"};
    const size_t counts[3] = {d.n_new, d.n_overdue, d.n_escalated};
    for (int i = 0; i < 3; i++) {
        if (!counts[i])
            continue;
        char *line = i18n_format(c->lex, loc, keys[i], "cases", d.list[i].s ? d.list[i].s : "",
                                 (char *)NULL);
        buf_printf(&b, "\n%s", line ? line : "");
        free(line);
        if (counts[i] > d.shown[i]) {
            char total[24];
            snprintf(total, sizeof total, "%zu", counts[i]);
            char *more = i18n_format(c->lex, loc, "tm_digest_more", "n", total, (char *)NULL);
            buf_printf(&b, "%s", more ? more : "");
            free(more);
        }
    }
    text = buf_take(&b);
    struct fq_buf j;
    buf_init(&j);
    struct fq_jobj jo = jobj_begin(&j);
    jobj_str(&jo, "period", daily ? "daily" : "weekly");
    jobj_int(&jo, "since", (long long)(c->now - digest_period(c)));
    jobj_int(&jo, "new", (long long)d.n_new);
    jobj_int(&jo, "overdue", (long long)d.n_overdue);
    jobj_int(&jo, "escalated", (long long)d.n_escalated);
    static const char *const lists[3] = {"new_cases", "overdue_cases", "escalated_cases"};
    for (int i = 0; i < 3; i++) {   /* each list's elements, written by digest_add */
        jobj_key(&jo, lists[i]);
        buf_puts(&j, "[");
        buf_puts(&j, d.data[i].s);
        buf_puts(&j, "]");
        if (d.data[i].oom)
            j.oom = true;
    }
    jobj_end(&jo);
    data = buf_take(&j);
    if (!text || !data) {
        err = FQ_ENOMEM;
        goto out;
    }
    actions_digest(out, r->med[m].id, text, data);
    err = out->oom ? FQ_ENOMEM : FQ_OK;
out:
    free(text);
    free(data);
    digest_cleanup(&d);
    return err;
}

/* The writing half, on the core once the timer is marked fired: the next digest. */
static enum fq_err digest_commit(struct fq_ctx *c, const struct fq_timer *t, bool *send)
{
    int m = -1;
    enum fq_err err = digest_owner(c, t, &m);
    *send = !err && m >= 0;
    return *send ? digest_schedule(c, c->roster->med[m].id) : err;
}

static enum fq_err fire_digest(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out)
{
    /* in one transaction both halves agree on the owner */
    enum fq_err err = digest_compute(c, t, out);
    bool send = false;
    return err ? err : digest_commit(c, t, &send);
}

enum fq_err timers_ensure_digests(struct fq_ctx *c)
{
    const struct fq_roster *r = c->roster;
    int64_t period = digest_period(c);
    for (size_t i = 0; i < r->n_med; i++) {
        const struct fq_mediator *m = &r->med[i];
        if (!m->supervisor || !m->active)
            continue;
        char key[160], *val = NULL;
        snprintf(key, sizeof key, "tm_digest:%s", m->id);
        enum fq_err err = store_kv_get(c->store, key, &val);
        if (err && err != FQ_ENOTFOUND)
            return err;
        bool need = true;
        if (val) {
            struct fq_timer t;
            int state = -1;
            err = store_timer_get(c->store, atoll(val), &t, &state);
            free(val);
            if (err && err != FQ_ENOTFOUND)
                return err;
            if (!err) {
                need = state != 0;
                /* the cadence changed (sensitive.enabled turned on): the pending one is too far */
                if (state == 0 && t.due_at > c->now + period) {
                    if ((err = store_timer_fire(c->store, t.id, c->now)) && err != FQ_ENOTFOUND) {
                        timer_cleanup(&t);
                        return err;
                    }
                    need = true;
                }
                timer_cleanup(&t);
            }
        }
        if (need && (err = digest_schedule(c, m->id)))
            return err;
    }
    return FQ_OK;
}

/* ---- absence ------------------------------------------------------------------------------- */
struct idlist {
    int64_t *v;
    size_t n, cap;
    bool oom;
};

static void collect_id(const struct fq_case *k, void *arg)
{
    struct idlist *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        int64_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = k->id;
}

enum fq_err timers_absence(struct fq_ctx *c, struct fq_actions *out, size_t *moved)
{
    const struct fq_roster *r = c->roster;
    struct idlist ids = {0};
    enum fq_err err = FQ_OK;
    if (moved)
        *moved = 0;
    for (size_t i = 0; i < r->n_med && !err; i++) {
        if (r->med[i].active)
            continue;
        static const enum fq_case_status statuses[] = {FQ_CASE_ASSIGNED, FQ_CASE_REOPENED};
        /* the filter is the stored text */
        for (size_t s = 0; s < 2 && !err; s++) {
            struct fq_case_filter f = {.status = fq_case_status_name(statuses[s]),
                                       .mediator_id = r->med[i].id};
            err = store_case_list(c->store, &f, collect_id, &ids);
        }
    }
    if (!err && ids.oom)
        err = FQ_ENOMEM;
    for (size_t i = 0; i < ids.n && !err; i++) {
        struct fq_case k;
        if ((err = store_case_get_id(c->store, ids.v[i], &k)))
            break;
        /* route again from the handling node: this node or above, inactive mediators skipped */
        struct fq_route_pick p;
        int node = handling_node(r, &k);
        err = node >= 0 ? route_pick(c, k.category, FQ_SEV_BLUE, node, &p) : FQ_OK;
        bool done = false;
        if (!err && node >= 0 && p.mediator >= 0)
            err = transfer_to(c, &k, p.mediator, &done, out);
        if (!err && done && moved)
            (*moved)++;
        case_cleanup(&k);
    }
    free(ids.v);
    return err;
}

enum fq_err timers_housekeep(struct fq_ctx *c, struct fq_actions *out)
{
    enum fq_err err = timers_absence(c, out, NULL);
    if (!err)
        err = report_ensure_timer(c);   /* handlers/report.c: the monthly report timer */
    return err ? err : timers_ensure_digests(c);
}

/* ---- danger words in a later message -------------------------------------------------------- */
enum fq_err timers_on_danger(struct fq_ctx *c, const char *case_no, struct fq_actions *out)
{
    if (!case_no)
        return FQ_OK;
    struct fq_case k;
    enum fq_err err = store_case_get(c->store, case_no, &k);
    if (err == FQ_ENOTFOUND)
        return FQ_OK;
    if (err)
        return err;
    if (k.status >= FQ_CASE__COUNT || is_finished(&k)) {
        case_cleanup(&k);
        return FQ_OK;
    }
    const struct fq_roster *r = c->roster;
    if (k.severity != FQ_SEV_RED) {
        k.severity = FQ_SEV_RED;
        k.updated_at = c->now;
        if ((err = store_case_update(c->store, &k)) ||
            (err = record(c, &k, "progress", "{\"severity\":\"red\",\"reason\":\"danger\"}", out)))
            goto out;
    }
    int n = roster_org_index(r, k.place_org);
    if (n < 0)
        n = handling_node(r, &k);
    for (size_t hops = 0; n >= 0 && hops <= r->n_org; hops++, n = r->org[n].parent)
        actions_alert(out, "danger", r->org[n].id, &k);
    char *text = i18n_format(c->lex, loc, "tm_danger", "case", k.case_no, "category",
                             i18n_category(c->lex, loc, k.category), "place", place_name(c, &k),
                             (char *)NULL);
    if (!text) {
        err = FQ_ENOMEM;
        goto out;
    }
    if (k.mediator_id)
        actions_notify(out, k.mediator_id, &k, text);
    int sup[MAX_SUPERVISORS];
    size_t ns = case_supervisors(c, &k, true, sup, MAX_SUPERVISORS);
    for (size_t i = 0; i < ns; i++)
        actions_notify(out, r->med[sup[i]].id, &k, text);
    free(text);
out:
    case_cleanup(&k);
    return err ? err : out->oom ? FQ_ENOMEM : FQ_OK;
}

/* ---- the table of kinds -------------------------------------------------------------------- */
typedef enum fq_err (*case_fire_fn)(struct fq_ctx *c, const struct fq_timer *t, struct fq_case *k,
                                    struct fq_actions *out);

/* Runs fn on the timer's case, re-read; nothing when the timer names no case or it is gone. */
static enum fq_err on_case(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out,
                           case_fire_fn fn)
{
    if (t->case_id <= 0)
        return FQ_OK;
    struct fq_case k;
    enum fq_err err = store_case_get_id(c->store, t->case_id, &k);
    if (err == FQ_ENOTFOUND)
        return FQ_OK;
    if (err)
        return err;
    err = fn(c, t, &k, out);
    case_cleanup(&k);
    return err ? err : out->oom ? FQ_ENOMEM : FQ_OK;
}

/* A reminder, 督办 or overdue notice of an open case that falls due out of working hours waits
 * for them (calendar.hold_night, sla_notice_at): the same timer again at the next working
 * instant, nothing else now. A red case is never held. */
static enum fq_err held(struct fq_ctx *c, const struct fq_timer *t, struct fq_case *k,
                        struct fq_actions *out, case_fire_fn fn)
{
    int64_t at = is_finished(k) ? c->now : sla_notice_at(c->cfg, k->severity, c->now);
    if (at <= c->now)
        return fn(c, t, k, out);
    return store_timer_add(c->store, at, t->kind, k->id, t->arg, NULL);
}

static enum fq_err remind_held(struct fq_ctx *c, const struct fq_timer *t, struct fq_case *k,
                               struct fq_actions *out)
{
    return held(c, t, k, out, fire_remind);
}

static enum fq_err supervise_held(struct fq_ctx *c, const struct fq_timer *t, struct fq_case *k,
                                  struct fq_actions *out)
{
    return held(c, t, k, out, fire_supervise);
}

static enum fq_err overdue_held(struct fq_ctx *c, const struct fq_timer *t, struct fq_case *k,
                                struct fq_actions *out)
{
    return held(c, t, k, out, fire_overdue);
}

static enum fq_err fire_accept_remind(struct fq_ctx *c, const struct fq_timer *t,
                                      struct fq_actions *out)
{
    return on_case(c, t, out, remind_held);
}

static enum fq_err fire_accept_escalate(struct fq_ctx *c, const struct fq_timer *t,
                                        struct fq_actions *out)
{
    return on_case(c, t, out, supervise_held);
}

static enum fq_err fire_resolve_overdue(struct fq_ctx *c, const struct fq_timer *t,
                                        struct fq_actions *out)
{
    return on_case(c, t, out, overdue_held);
}

const struct timer_kind timers_kinds[FQ_TIMER__COUNT] = {
    [FQ_TIMER_ACCEPT_REMIND] = {FQ_TIMER_ACCEPT_REMIND, fire_accept_remind, "reminder"},
    [FQ_TIMER_ACCEPT_ESCALATE] = {FQ_TIMER_ACCEPT_ESCALATE, fire_accept_escalate, "escalation"},
    [FQ_TIMER_RESOLVE_OVERDUE] = {FQ_TIMER_RESOLVE_OVERDUE, fire_resolve_overdue, "overdue"},
    [FQ_TIMER_SURVEY] = {FQ_TIMER_SURVEY, survey_on_timer, "survey"},
    [FQ_TIMER_SURVEY_REMIND] = {FQ_TIMER_SURVEY_REMIND, survey_on_timer, "survey_reminder"},
    [FQ_TIMER_SURVEY_EXPIRE] = {FQ_TIMER_SURVEY_EXPIRE, survey_on_timer, "survey"},
    [FQ_TIMER_RELAPSE_CHECK] = {FQ_TIMER_RELAPSE_CHECK, survey_on_timer, "relapse"},
    [FQ_TIMER_SURVEY_RELAPSE_REMIND] = {FQ_TIMER_SURVEY_RELAPSE_REMIND, survey_on_timer, "survey"},
    [FQ_TIMER_SURVEY_RELAPSE_EXPIRE] = {FQ_TIMER_SURVEY_RELAPSE_EXPIRE, survey_on_timer, "survey"},
    [FQ_TIMER_DIGEST] = {FQ_TIMER_DIGEST, fire_digest, "other", digest_compute, digest_commit},
    [FQ_TIMER_REPORT_MONTHLY] = {FQ_TIMER_REPORT_MONTHLY, report_on_timer, "other",
                                 report_timer_compute, report_timer_commit},
};

bool timers_heavy(enum fq_timer_kind kind)
{
    return (int)kind >= 0 && kind < FQ_TIMER__COUNT && timers_kinds[kind].compute;
}

enum fq_err timers_compute(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out)
{
    if (!timers_heavy(t->kind))
        return FQ_EINVAL;
    return timers_kinds[t->kind].compute(c, t, out);
}

enum fq_err timers_commit(struct fq_ctx *c, const struct fq_timer *t, bool *send)
{
    *send = false;
    if (!timers_heavy(t->kind))
        return FQ_EINVAL;
    return timers_kinds[t->kind].commit(c, t, send);
}

const char *timers_metric_label(enum fq_timer_kind kind)
{
    return (int)kind >= 0 && kind < FQ_TIMER__COUNT ? timers_kinds[kind].metric : "other";
}

/* ---- the entry point ----------------------------------------------------------------------- */
enum fq_err timers_fire(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out)
{
    if ((int)t->kind < 0 || t->kind >= FQ_TIMER__COUNT)
        return FQ_OK;   /* a kind this version does not know: consumed without effect */
    return timers_kinds[t->kind].fire(c, t, out);
}

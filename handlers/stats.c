/* stats.c: the workbench's statistics and 督办 list (handlers/stats.h).
 *
 * The month's figures are the monthly report's: report_begin makes the same struct with the same
 * rows, and the groups store/stats_query.c sums in SQL are added with report_tally, the function
 * report_monthly adds each case with, so both place a figure in the same rows and stop at the
 * same node. What differs is only how the cases are read: a few grouped queries here, one case at
 * a time there. The durations are clamped at 0 like the report's; the median of an even count is
 * the mean of the two middle values.
 *
 * The trend: for each of the twelve months ending with the asked one, the cases received in it
 * (created) and resolved in it (resolved now, resolved_at in it): the report's received and
 * resolved of that month.
 *
 * The 督办 list reads the late cases' histories for what was already sent: the reminder (accept
 * or supervise), overdue, escalated, transferred and supervised events. */
#include "handlers/stats.h"
#include "common/localtime.h"
#include "common/roster_model.h"
#include "common/status.h"
#include "handlers/i18n.h"
#include "store/case_table.h"
#include "store/stats_query.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* ---- the month ----------------------------------------------------------------------------- */
struct acc {
    const struct fq_ctx *c;
    struct st_stats *s;
    int scope;
    enum fq_err err;
    int64_t *acc, *res;
    size_t n_acc, n_res, cap_acc, cap_res;
    int64_t flow;                    /* the trend's count being summed */
};

/* The node of a case at place/org when it counts in the scope, else -2 (-1: no node). */
static int node_in(const struct acc *a, const char *place, const char *org)
{
    int node = report_node_of(a->c->roster, place, org);
    return report_in_scope(a->c->roster, a->scope, node) ? node : -2;
}

static void on_group(const struct stq_group *g, void *arg)
{
    struct acc *a = arg;
    int node = node_in(a, g->place_org, g->org_id);
    if (a->err || node == -2)
        return;
    struct rp_counts n = {.received = g->received, .resolved = g->resolved,
                          .unresolved = g->unresolved, .withdrawn = g->withdrawn,
                          .open = g->open, .overdue = g->overdue};
    a->s->m->relapses += g->relapses;
    a->err = report_tally(a->s->m, a->c, a->scope, node, g->category, g->severity, g->channel, &n);
}

static bool push(int64_t **v, size_t *n, size_t *cap, int64_t x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        int64_t *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return false;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x < 0 ? 0 : x;
    return true;
}

static void on_times(const struct stq_times *t, void *arg)
{
    struct acc *a = arg;
    if (a->err || node_in(a, t->place_org, t->org_id) == -2)
        return;
    if (t->accept_s >= 0 && !push(&a->acc, &a->n_acc, &a->cap_acc, t->accept_s))
        a->err = FQ_ENOMEM;
    if (t->resolve_s >= 0 && !push(&a->res, &a->n_res, &a->cap_res, t->resolve_s))
        a->err = FQ_ENOMEM;
}

static void on_events(const struct stq_events *e, void *arg)
{
    struct acc *a = arg;
    if (node_in(a, e->place_org, e->org_id) == -2)
        return;
    if (strcmp(e->type, "escalated") == 0)
        a->s->m->escalations += e->count;
    else if (strcmp(e->type, "reopened") == 0)
        a->s->m->reopened += e->count;
}

static void on_survey(const struct stq_surveys *v, void *arg)
{
    struct acc *a = arg;
    /* with a scope, a survey whose case is gone counts nowhere (as in report_monthly) */
    if (a->scope >= 0 && node_in(a, v->place_org, v->org_id) == -2)
        return;
    report_survey_tally(a->s->m, v->no_response, v->answer, v->count);
}

static void on_flow(const struct stq_count *f, void *arg)
{
    struct acc *a = arg;
    if (node_in(a, f->place_org, f->org_id) != -2)
        a->flow += f->count;
}

/* v sorted ascending */
static double median(const int64_t *v, size_t n)
{
    if (!n)
        return -1;
    return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
}

void stats_free(struct st_stats *s)
{
    if (!s)
        return;
    report_monthly_free(s->m);
    free(s);
}

enum fq_err stats_month(struct fq_ctx *c, int year, int month, const char *org,
                        struct st_stats **out)
{
    *out = NULL;
    struct st_stats *s = calloc(1, sizeof *s);
    if (!s)
        return FQ_ENOMEM;
    struct acc a = {.c = c, .s = s, .scope = -1};
    enum fq_err err = report_begin(c, year, month, org, &s->m, &a.scope);
    if (err) {
        free(s);
        return err;
    }
    struct rp_monthly *m = s->m;
    int64_t cut = c->now < m->end ? c->now : m->end;
    err = store_stats_groups(c->store, m->start, m->end, cut, on_group, &a);
    if (!err)
        err = a.err;
    if (!err)
        err = store_stats_times(c->store, m->start, m->end, on_times, &a);
    if (!err)
        err = a.err;
    if (!err)
        err = store_stats_events(c->store, m->start, m->end, on_events, &a);
    if (!err)
        err = store_stats_surveys(c->store, m->start, m->end, on_survey, &a);
    if (!err) {
        report_finish(m);
        report_durations(a.acc, a.n_acc, &m->to_accept);   /* sorts */
        report_durations(a.res, a.n_res, &m->to_resolve);
        s->accept_median_s = median(a.acc, a.n_acc);
        s->resolve_median_s = median(a.res, a.n_res);
    }
    int y = year, mo = month;
    for (int i = STATS_TREND_MONTHS - 1; i >= 0 && !err; i--) {
        struct st_trend *t = &s->trend[i];
        t->year = y;
        t->month = mo;
        int64_t start, end;
        report_month_bounds(y, mo, &start, &end);
        a.flow = 0;
        err = store_stats_flow(c->store, 0, start, end, on_flow, &a);
        t->received = a.flow;
        a.flow = 0;
        if (!err)
            err = store_stats_flow(c->store, 1, start, end, on_flow, &a);
        t->resolved = a.flow;
        if (--mo == 0) {
            mo = 12;
            y--;
        }
    }
    free(a.acc);
    free(a.res);
    if (err)
        stats_free(s);
    else
        *out = s;
    return err;
}

/* ---- the 督办 list ------------------------------------------------------------------------- */
void stats_late_free(struct st_late *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        case_cleanup(&v[i].k);
        for (size_t j = 0; j < v[i].n_sent; j++) {
            free(v[i].sent[j].type);
            free(v[i].sent[j].kind);
            free(v[i].sent[j].actor);
            free(v[i].sent[j].note);
        }
        free(v[i].sent);
    }
    free(v);
}

static bool sent_type(const char *t)
{
    static const char *const types[] = {"reminder", "overdue", "escalated", "transferred",
                                        "supervised"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strcmp(t, types[i]) == 0)
            return true;
    return false;
}

struct sentlist {
    struct st_late *l;
    size_t cap;
    bool oom;
};

/* The "kind" of a reminder: its data is one of the constant texts handlers/timers.c writes,
 * {"kind":"accept"} or {"kind":"supervise",...}, so its head names it. */
static char *reminder_kind(const char *data)
{
    static const char *const kinds[] = {"accept", "supervise"};
    static const char head[] = "{\"kind\":\"";
    if (!data || strncmp(data, head, sizeof head - 1) != 0)
        return NULL;
    const char *p = data + sizeof head - 1;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        size_t n = strlen(kinds[i]);
        if (strncmp(p, kinds[i], n) == 0 && p[n] == '"')
            return fq_strdup(kinds[i]);
    }
    return NULL;
}

static void on_event(const struct fq_case_event *e, void *arg)
{
    struct sentlist *sl = arg;
    if (sl->oom || !sent_type(e->type))
        return;
    struct st_late *l = sl->l;
    if (l->n_sent == sl->cap) {
        size_t nc = sl->cap ? sl->cap * 2 : 8;
        struct st_sent *nv = realloc(l->sent, nc * sizeof *nv);
        if (!nv) {
            sl->oom = true;
            return;
        }
        l->sent = nv;
        sl->cap = nc;
    }
    struct st_sent *x = &l->sent[l->n_sent++];
    memset(x, 0, sizeof *x);
    x->type = fq_strdup(e->type);
    x->actor = fq_strdup(e->actor);
    x->note = e->note ? fq_strdup(e->note) : NULL;
    x->kind = strcmp(e->type, "reminder") == 0 ? reminder_kind(e->data) : NULL;
    x->at = e->at;
    if (!x->type || !x->actor || (e->note && !x->note))
        sl->oom = true;
}

static int cmp_late(const void *pa, const void *pb)
{
    const struct st_late *a = pa, *b = pb;
    const char *ma = a->k.mediator_id, *mb = b->k.mediator_id;
    if (!ma != !mb)
        return ma ? -1 : 1;
    int d = ma ? strcmp(ma, mb) : 0;
    if (d)
        return d;
    return (a->due > b->due) - (a->due < b->due);
}

static bool awaits_accept(const struct fq_case *k)
{
    return k->status == FQ_CASE_ASSIGNED || k->status == FQ_CASE_REOPENED;
}

/* The late cases of the scope, by id and node, before any is read: the list stops at max. */
struct late_ids {
    const struct fq_roster *ro;
    int scope;
    size_t max, n;
    struct {
        int64_t id;
        int node;
    } *v;
    bool oom;
};

static bool late_id(int64_t id, const char *place_org, const char *org_id, void *arg)
{
    struct late_ids *li = arg;
    int node = report_node_of(li->ro, place_org, org_id);
    if (!report_in_scope(li->ro, li->scope, node))
        return true;
    if (!li->v && !(li->v = calloc(li->max ? li->max : 1, sizeof *li->v))) {
        li->oom = true;
        return false;
    }
    li->v[li->n].id = id;
    li->v[li->n].node = node;
    return ++li->n < li->max;
}

enum fq_err stats_late(struct fq_ctx *c, const char *org, int64_t within, size_t max,
                       struct st_late **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const struct fq_roster *ro = c->roster;
    int scope = -1;
    if (org && (scope = roster_org_index(ro, org)) < 0)
        return FQ_ENOTFOUND;
    struct late_ids li = {.ro = ro, .scope = scope, .max = max};
    enum fq_err err = store_stats_late(c->store, c->now + within, late_id, &li);
    if (!err && li.oom)
        err = FQ_ENOMEM;
    struct st_late *v = err ? NULL : calloc(max ? max : 1, sizeof *v);
    if (!err && !v)
        err = FQ_ENOMEM;
    if (err) {
        free(li.v);
        return err;
    }
    size_t k = 0;
    for (size_t i = 0; i < li.n && !err; i++) {
        struct st_late *l = &v[k];
        if ((err = store_case_get_id(c->store, li.v[i].id, &l->k)))
            break;
        k++;
        l->node = li.v[i].node;
        l->accept = awaits_accept(&l->k) && l->k.due_accept > 0 &&
                    (l->k.due_resolve == 0 || l->k.due_accept < l->k.due_resolve);
        l->due = l->accept ? l->k.due_accept : l->k.due_resolve;
        l->past = l->due <= c->now;
        struct sentlist sl = {.l = l};
        err = store_case_events(c->store, l->k.id, on_event, &sl);
        if (!err && sl.oom)
            err = FQ_ENOMEM;
    }
    free(li.v);
    if (err) {
        stats_late_free(v, k);
        return err;
    }
    qsort(v, k, sizeof *v, cmp_late);
    *out = v;
    *n = k;
    return FQ_OK;
}

/* ---- the 督办 note ------------------------------------------------------------------------- */
enum fq_err stats_supervise(struct fq_ctx *c, const char *org, const char *case_no,
                            const char *actor, const char *note, struct fq_actions *out)
{
    if (!case_no || !actor || !*actor || !note || !*note || strlen(note) > STATS_NOTE_MAX ||
        !fq_utf8_valid(note, strlen(note)))
        return FQ_EINVAL;
    const struct fq_roster *ro = c->roster;
    int scope = -1;
    if (org && (scope = roster_org_index(ro, org)) < 0)
        return FQ_ENOTFOUND;
    struct fq_case k;
    enum fq_err err = store_case_get(c->store, case_no, &k);
    if (err)
        return err;
    char *push_text = NULL;
    if (!report_in_scope(ro, scope, report_node_of(ro, k.place_org, k.org_id))) {
        err = FQ_ENOTFOUND;
        goto out;
    }
    if (k.status >= FQ_CASE__COUNT || fq_case_status_finished((int)k.status) || !k.mediator_id) {
        err = FQ_EINVAL;
        goto out;
    }
    if ((err = store_case_event_add(c->store, k.id, "supervised", actor, note, NULL, c->now)))
        goto out;
    actions_event_by(out, "supervised", &k, actor, note);
    actions_assign_note(out, "supervise", k.mediator_id, &k, note);
    /* the mediator's texts are in zh-CN, as every other push to them (handlers/timers.c) */
    push_text = i18n_format(c->lex, FQ_LOC_ZH_CN, "sup_note_push", "case", k.case_no,
                            "category", i18n_category(c->lex, FQ_LOC_ZH_CN, k.category), "text",
                            note, (char *)NULL);
    if (!push_text) {
        err = FQ_ENOMEM;
        goto out;
    }
    actions_notify(out, k.mediator_id, &k, push_text);
    answer_set_case(out, k.case_no);
    out->answer.status = 200;
    if (out->oom)
        err = FQ_ENOMEM;
out:
    free(push_text);
    case_cleanup(&k);
    return err;
}

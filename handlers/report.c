/* report.c: the monthly statistics and the ledger (台账) of docs/contract.md 8.2 and 8.3, computed in
 * C from the rows store/report_query.c selects. Nothing here renders: bot/render/report_forms.c makes text, JSON,
 * CSV and XLSX from these structs.
 *
 * Which cases count where. The month is the local calendar month P = [start, end). The report
 * reflects the ledger as it stands when it is made (a case reopened after being resolved no
 * longer counts as resolved):
 * - received:   created_at in P.
 * - resolved:   status "resolved" now and resolved_at (its latest resolution) in P.
 * - unresolved: status "closed" (closed without agreement), closed_at in P, reason other than
 *               "withdrawn".
 * - withdrawn:  the same with reason "withdrawn"; counted apart, in neither side of the success
 *               rate.
 * - open:       created before end, not cancelled, and not finished before end (finished =
 *               resolved with resolved_at < end, or closed with closed_at < end): the backlog at
 *               the end of the month (for the running month: now).
 * - overdue:    open, with a resolve deadline (due_resolve) before min(end, now).
 * - success rate = resolved / (resolved + unresolved); null when both are 0.
 * - surveys: satisfaction surveys concluded in P: answered (answered_at = closed_at in P) or
 *   no_response (expired in P). Satisfaction rate = answers 1-3 / answered; no-response
 *   surveys are counted apart and never in the satisfaction rate; response rate = answered /
 *   (answered + no_response).
 * - time to accept: over cases with accepted_at in P, accepted_at - created_at (from the report
 *   to acceptance by the mediator holding the case); time to resolve: over resolved cases (as
 *   above), resolved_at - created_at. Mean, and the 90th percentile by nearest rank (the
 *   ceil(0.9 n)-th smallest).
 * - escalations, reopened: "escalated" and "reopened" events with at in P (a relapse moved up
 *   a tier counts as an escalation); relapses: cases received in P that have a parent_case.
 * - breakdowns: each case counts in the row of its category, severity and channel, and in the
 *   row of its territory node (the place where it happened, else its handling node) and every
 *   ancestor of it, so each node's row is the subtotal of its subtree. A report for one node
 *   holds only the cases of that node's subtree.
 * A month without cases is a report of zeros (零报告), never an error.
 *
 * The scheduled report: one pending "report_monthly" timer, due at local midnight on the first
 * of next month (report_ensure_timer at start-up; its id in kv "rp_monthly_timer" so a stray
 * duplicate does nothing). When it fires, the previous month's report for every node that has a
 * supervisor and for every root becomes an FQ_ACT_REPORT action (bot/render/payload.c publishes the
 * JSON retained on {p}/reports/{org}/monthly) and a notify text to each supervisor; then the next
 * month's timer is added. */
#include "handlers/report.h"
#include "common/localtime.h"
#include "handlers/actions.h"
#include "store/case_table.h"
#include "store/report_query.h"
#include "store/surveys.h"
#include "store/timer_lifecycle.h"
#include "store/timer_table.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "common/status.h"
#include "handlers/i18n.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int report_parse_month(const char *s, int *year, int *month)
{
    if (!s || strlen(s) != 7 || s[4] != '-')
        return -1;
    int y = 0, m = 0;
    for (int i = 0; i < 7; i++) {
        if (i == 4)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (i < 4)
            y = y * 10 + (s[i] - '0');
        else
            m = m * 10 + (s[i] - '0');
    }
    if (y < 1970 || m < 1 || m > 12)
        return -1;
    *year = y;
    *month = m;
    return 0;
}

void report_month_bounds(int year, int month, int64_t *start, int64_t *end)
{
    fq_local_month_range(year, month, start, end);
}

/* ---- rows ---------------------------------------------------------------------------------- */
static struct rp_row *row_add(struct rp_rows *rs, const char *key, const char *label, int depth)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 16;
        struct rp_row *v = realloc(rs->v, cap * sizeof *v);
        if (!v)
            return NULL;
        rs->v = v;
        rs->cap = cap;
    }
    struct rp_row *r = &rs->v[rs->n];
    memset(r, 0, sizeof *r);
    r->key = fq_strdup(key);
    r->label = fq_strdup(label ? label : key);
    r->depth = depth;
    if (!r->key || !r->label) {
        free(r->key);
        free(r->label);
        return NULL;
    }
    rs->n++;
    return r;
}

static struct rp_row *row_find(struct rp_rows *rs, const char *key)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->v[i].key, key) == 0)
            return &rs->v[i];
    return NULL;
}

static void rows_cleanup(struct rp_rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].key);
        free(rs->v[i].label);
    }
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}

void report_monthly_free(struct rp_monthly *r)
{
    if (!r)
        return;
    rows_cleanup(&r->by_category);
    rows_cleanup(&r->by_severity);
    rows_cleanup(&r->by_org);
    rows_cleanup(&r->by_channel);
    free(r->org);
    free(r->org_name);
    free(r->org_row);
    free(r);
}

static void counts_add(struct rp_counts *to, const struct rp_counts *n)
{
    to->received += n->received;
    to->resolved += n->resolved;
    to->unresolved += n->unresolved;
    to->withdrawn += n->withdrawn;
    to->open += n->open;
    to->overdue += n->overdue;
}

/* by_org: the subtree of node i in depth-first roster order. */
static bool org_rows(const struct fq_roster *ro, int i, int depth, struct rp_rows *rs)
{
    if (!row_add(rs, ro->org[i].id, ro->org[i].name, depth))
        return false;
    for (size_t j = 0; j < ro->n_org; j++)
        if (ro->org[j].parent == i && !org_rows(ro, (int)j, depth + 1, rs))
            return false;
    return true;
}

/* The territory node of a case (roster index), -1 when the roster knows none. */
static int case_node(const struct fq_roster *ro, const struct fq_case *k)
{
    return report_node_of(ro, k->place_org, k->org_id);
}

/* ---- durations ----------------------------------------------------------------------------- */
struct durs {
    int64_t *v;
    size_t n, cap;
    bool oom;
};

static void durs_add(struct durs *d, int64_t x)
{
    if (x < 0)
        x = 0;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        int64_t *v = realloc(d->v, cap * sizeof *v);
        if (!v) {
            d->oom = true;
            return;
        }
        d->v = v;
        d->cap = cap;
    }
    d->v[d->n++] = x;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void durs_stats(struct durs *d, struct rp_duration *out)
{
    memset(out, 0, sizeof *out);
    out->count = (int64_t)d->n;
    if (!d->n)
        return;
    qsort(d->v, d->n, sizeof d->v[0], cmp_i64);
    double sum = 0;
    for (size_t i = 0; i < d->n; i++)
        sum += (double)d->v[i];
    out->mean_s = sum / (double)d->n;
    size_t rank = (d->n * 9 + 9) / 10;   /* ceil(0.9 n), at least 1 */
    out->p90_s = d->v[rank - 1];
}

/* ---- the monthly report -------------------------------------------------------------------- */
struct evcount {
    int64_t start, end;
    int64_t escalations, reopened;
};

static void count_event(const struct fq_case_event *e, void *arg)
{
    struct evcount *ec = arg;
    if (e->at < ec->start || e->at >= ec->end)
        return;
    if (fq_streq(e->type, "escalated"))
        ec->escalations++;
    else if (fq_streq(e->type, "reopened"))
        ec->reopened++;
}

struct svlist {
    struct fq_survey *v;
    size_t n, cap;
    bool oom;
};

static void collect_survey(const struct fq_survey *s, void *arg)
{
    struct svlist *l = arg;
    if (strcmp(s->kind, "satisfaction") != 0)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct fq_survey *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    struct fq_survey *d = &l->v[l->n++];
    *d = *s;
    d->comment = d->answered_by = d->task_mediator = NULL;   /* strings not needed */
}

/* The facts of one case for the month. */
static void classify_case(const struct fq_case *k, int64_t start, int64_t end, int64_t now,
                          struct rp_counts *n)
{
    memset(n, 0, sizeof *n);
    bool in_p_created = k->created_at >= start && k->created_at < end;
    enum fq_case_status st = k->status;
    bool resolved = st == FQ_CASE_RESOLVED;
    bool closed = st == FQ_CASE_CLOSED;
    bool withdrawn = closed && fq_streq(k->close_reason, "withdrawn");
    n->received = in_p_created;
    n->resolved = resolved && k->resolved_at >= start && k->resolved_at < end;
    bool closed_in = closed && k->closed_at >= start && k->closed_at < end;
    n->unresolved = closed_in && !withdrawn;
    n->withdrawn = closed_in && withdrawn;
    bool finished = (resolved && k->resolved_at < end) || (closed && k->closed_at < end);
    n->open = k->created_at < end && st != FQ_CASE_CANCELLED && !finished;
    int64_t cut = now < end ? now : end;
    n->overdue = n->open && k->due_resolve > 0 && k->due_resolve < cut;
}

static bool nonzero(const struct rp_counts *n)
{
    return n->received || n->resolved || n->unresolved || n->withdrawn || n->open || n->overdue;
}

enum fq_err report_begin(const struct fq_ctx *c, int year, int month, const char *org,
                         struct rp_monthly **out, int *scope_out)
{
    *out = NULL;
    const struct fq_roster *ro = c->roster;
    int scope = -1;
    if (org) {
        scope = roster_org_index(ro, org);
        if (scope < 0)
            return FQ_ENOTFOUND;
    }
    struct rp_monthly *r = calloc(1, sizeof *r);
    if (!r)
        return FQ_ENOMEM;
    r->year = year;
    r->month = month;
    report_month_bounds(year, month, &r->start, &r->end);
    r->generated_at = c->now;
    r->success_rate = r->satisfaction_rate = r->response_rate = -1;
    enum fq_err err = FQ_OK;
    if (org && (!(r->org = fq_strdup(org)) || !(r->org_name = fq_strdup(ro->org[scope].name))))
        err = FQ_ENOMEM;

    /* the fixed rows, so a zero report still lists every category, severity and node */
    for (int i = 0; i < FQ_N_CATEGORIES && !err; i++)
        if (!row_add(&r->by_category, fq_categories[i],
                     i18n_category(c->lex, FQ_LOC_ZH_CN, fq_categories[i]), 0))
            err = FQ_ENOMEM;
    for (int i = FQ_SEV_BLUE; i <= FQ_SEV_RED && !err; i++)
        if (!row_add(&r->by_severity, fq_severity_name(i), i18n_severity(c->lex, FQ_LOC_ZH_CN, i),
                     0))
            err = FQ_ENOMEM;
    for (size_t i = 0; i < ro->n_org && !err; i++)
        if ((scope >= 0 ? (int)i == scope : ro->org[i].parent < 0) &&
            !org_rows(ro, (int)i, 0, &r->by_org))
            err = FQ_ENOMEM;
    if (!err && !(r->org_row = malloc((ro->n_org ? ro->n_org : 1) * sizeof *r->org_row)))
        err = FQ_ENOMEM;
    for (size_t i = 0; i < ro->n_org && !err; i++)
        r->org_row[i] = -1;
    for (size_t i = 0; i < r->by_org.n && !err; i++) {
        int o = roster_org_index(ro, r->by_org.v[i].key);
        if (o >= 0)
            r->org_row[o] = (int)i;
    }
    if (err) {
        report_monthly_free(r);
        return err;
    }
    *out = r;
    *scope_out = scope;
    return FQ_OK;
}

bool report_in_scope(const struct fq_roster *ro, int scope, int node)
{
    return scope < 0 || (node >= 0 && roster_org_is_ancestor(ro, scope, node));
}

int report_node_of(const struct fq_roster *ro, const char *place_org, const char *org_id)
{
    int n = roster_org_index(ro, place_org);
    return n >= 0 ? n : roster_org_index(ro, org_id);
}

enum fq_err report_tally(struct rp_monthly *r, const struct fq_ctx *c, int scope, int node,
                         const char *category, int severity, const char *channel,
                         const struct rp_counts *n)
{
    const struct fq_roster *ro = c->roster;
    if (!nonzero(n))
        return FQ_OK;
    counts_add(&r->total, n);
    int ci = fq_category_index(category);
    if (ci >= 0)
        counts_add(&r->by_category.v[ci].n, n);
    if (severity >= FQ_SEV_BLUE && severity <= FQ_SEV_RED)
        counts_add(&r->by_severity.v[severity].n, n);
    struct rp_row *ch = row_find(&r->by_channel, channel ? channel : "");
    if (!ch)
        ch = row_add(&r->by_channel, channel ? channel : "", NULL, 0);
    if (!ch)
        return FQ_ENOMEM;
    counts_add(&ch->n, n);
    if (node < 0) {
        const char *unplaced = i18n_get(c->lex, FQ_LOC_ZH_CN, "rp_unplaced");
        struct rp_row *u = row_find(&r->by_org, "");
        if (!u)
            u = row_add(&r->by_org, "", unplaced, 0);
        if (!u)
            return FQ_ENOMEM;
        counts_add(&u->n, n);
    }
    for (int a = node; a >= 0; a = ro->org[a].parent) {
        if (r->org_row[a] >= 0)
            counts_add(&r->by_org.v[r->org_row[a]].n, n);
        if (a == scope)
            break;
    }
    return FQ_OK;
}

void report_durations(int64_t *v, size_t n, struct rp_duration *out)
{
    struct durs d = {.v = v, .n = n, .cap = n};
    durs_stats(&d, out);
}

static int cmp_row_key(const void *a, const void *b)
{
    return strcmp(((const struct rp_row *)a)->key, ((const struct rp_row *)b)->key);
}

void report_finish(struct rp_monthly *r)
{
    /* channels in the order of their names, whichever order their cases were read in */
    if (r->by_channel.n > 1)
        qsort(r->by_channel.v, r->by_channel.n, sizeof *r->by_channel.v, cmp_row_key);
    if (r->total.resolved + r->total.unresolved > 0)
        r->success_rate =
            (double)r->total.resolved / (double)(r->total.resolved + r->total.unresolved);
    if (r->surveys_answered > 0)
        r->satisfaction_rate = (double)r->surveys_satisfied / (double)r->surveys_answered;
    if (r->surveys_answered + r->surveys_no_response > 0)
        r->response_rate = (double)r->surveys_answered /
                           (double)(r->surveys_answered + r->surveys_no_response);
}

void report_survey_tally(struct rp_monthly *r, bool no_response, int answer, int64_t count)
{
    if (no_response) {
        r->surveys_no_response += count;
    } else if (answer >= 1 && answer <= 4) {
        r->surveys_answered += count;
        r->answers[answer] += count;
        if (answer <= 3)
            r->surveys_satisfied += count;
    }
}

/* One report being made in a pass that makes several: its scope (a roster index, -1: the whole
 * roster), the report (rows, counts, org_row) and the durations summed for it. */
struct scope {
    struct rp_monthly *r;
    int node;
    struct durs acc, res;
};

static void scope_cleanup(struct scope *s)
{
    report_monthly_free(s->r);
    free(s->acc.v);
    free(s->res.v);
    memset(s, 0, sizeof *s);
}

/* Adds case k (at roster node `node`, with facts n and ec's events in the month) to s. */
static enum fq_err scope_add(struct fq_ctx *c, struct scope *s, const struct fq_case *k, int node,
                             const struct rp_counts *n, const struct evcount *ec)
{
    struct rp_monthly *r = s->r;
    if (k->accepted_at >= r->start && k->accepted_at < r->end && k->accepted_at > 0)
        durs_add(&s->acc, k->accepted_at - k->created_at);
    if (n->resolved)
        durs_add(&s->res, k->resolved_at - k->created_at);
    if (n->received && k->parent_case)
        r->relapses++;
    r->escalations += ec->escalations;
    r->reopened += ec->reopened;
    return report_tally(r, c, s->node, node, k->category, k->severity, k->channel, n);
}

static void survey_add(struct rp_monthly *r, const struct fq_survey *sv)
{
    report_survey_tally(r, sv->status == FQ_SURVEY_NO_RESPONSE, sv->answer, 1);
}

static enum fq_err scope_finish(struct scope *s)
{
    report_finish(s->r);
    if (s->acc.oom || s->res.oom)
        return FQ_ENOMEM;
    durs_stats(&s->acc, &s->r->to_accept);
    durs_stats(&s->res, &s->r->to_resolve);
    return FQ_OK;
}

/* The reports of one month for n scopes in one pass over the month's cases: each case is read
 * once and added to every report whose scope holds it (a case's node and its ancestors). */
static enum fq_err monthly_many(struct fq_ctx *c, int year, int month, const char *const *orgs,
                                size_t n, struct rp_monthly **out)
{
    const struct fq_roster *ro = c->roster;
    struct scope *sc = calloc(n ? n : 1, sizeof *sc);
    if (!sc)
        return FQ_ENOMEM;
    enum fq_err err = FQ_OK;
    bool some_node = false;
    for (size_t i = 0; i < n && !err; i++) {
        sc[i].node = -1;
        err = report_begin(c, year, month, orgs[i], &sc[i].r, &sc[i].node);
        some_node |= sc[i].node >= 0;
    }
    int64_t start = 0, end = 0;
    report_month_bounds(year, month, &start, &end);
    int64_t *ids = NULL;
    size_t n_ids = 0;
    struct svlist sv = {0};
    if (!err)
        err = store_report_case_ids(c->store, start, end, &ids, &n_ids);
    for (size_t i = 0; i < n_ids && !err; i++) {
        struct fq_case k;
        if ((err = store_case_get_id(c->store, ids[i], &k)))
            break;
        int node = case_node(ro, &k);
        bool wanted = false;
        for (size_t j = 0; j < n && !wanted; j++)
            wanted = report_in_scope(ro, sc[j].node, node);
        struct rp_counts cn;
        classify_case(&k, start, end, c->now, &cn);
        struct evcount ec = {.start = start, .end = end};
        if (wanted && k.updated_at >= start)   /* only a case touched since start has events in P */
            err = store_case_events(c->store, k.id, count_event, &ec);
        for (size_t j = 0; j < n && wanted && !err; j++)
            if (report_in_scope(ro, sc[j].node, node))
                err = scope_add(c, &sc[j], &k, node, &cn, &ec);
        case_cleanup(&k);
    }
    if (!err)
        err = store_survey_closed_in(c->store, start, end, collect_survey, &sv);
    if (!err && sv.oom)
        err = FQ_ENOMEM;
    for (size_t i = 0; i < sv.n && !err; i++) {
        int node = -1;
        if (some_node) {
            struct fq_case k;
            err = store_case_get_id(c->store, sv.v[i].case_id, &k);
            if (err == FQ_ENOTFOUND) {   /* its case is not in any node's report */
                err = FQ_OK;
                for (size_t j = 0; j < n; j++)
                    if (sc[j].node < 0)
                        survey_add(sc[j].r, &sv.v[i]);
                continue;
            }
            if (err)
                break;
            node = case_node(ro, &k);
            case_cleanup(&k);
        }
        for (size_t j = 0; j < n; j++)
            if (report_in_scope(ro, sc[j].node, node))
                survey_add(sc[j].r, &sv.v[i]);
    }
    for (size_t i = 0; i < n && !err; i++)
        err = scope_finish(&sc[i]);
    for (size_t i = 0; i < n; i++) {
        if (!err) {
            out[i] = sc[i].r;
            sc[i].r = NULL;
        }
        scope_cleanup(&sc[i]);
    }
    free(sc);
    free(ids);
    free(sv.v);
    return err;
}

enum fq_err report_monthly(struct fq_ctx *c, int year, int month, const char *org,
                           struct rp_monthly **out)
{
    *out = NULL;
    return monthly_many(c, year, month, &org, 1, out);
}

/* ---- the ledger ---------------------------------------------------------------------------- */
void report_ledger_free(struct rp_ledger *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        struct rp_ledger_row *x = &l->v[i];
        free(x->parties);
        free(x->category);
        free(x->place);
        free(x->severity);
        free(x->mediator);
        free(x->description);
        free(x->outcome);
        free(x->agreement);
        free(x->survey);
    }
    free(l->v);
    free(l);
}

struct last_answer {
    int answer;                      /* 1..4, 0 none, -1 no response */
};

static void last_survey(const struct fq_survey *s, void *arg)
{
    struct last_answer *la = arg;
    if (strcmp(s->kind, "satisfaction") != 0)
        return;
    if (s->answer >= 1 && s->answer <= 4)
        la->answer = s->answer;
    else if (s->status == FQ_SURVEY_NO_RESPONSE)
        la->answer = -1;
}

static char *parties_of(const struct fq_case *k)
{
    char *n = fq_mask_name(k->name), *p = fq_mask_phone(k->contact);
    struct fq_buf b;
    buf_init(&b);
    buf_puts(&b, n ? n : "");
    if (n && *n && p && *p)
        buf_puts(&b, " ");
    buf_puts(&b, p ? p : "");
    free(n);
    free(p);
    char *s = buf_take(&b);
    return s ? s : fq_strdup("");
}

/* The width in bytes of the digit (ASCII or full-width) at p, 0 when p holds none. */
static size_t digit_at(const char *p)
{
    if (*p >= '0' && *p <= '9')
        return 1;
    /* U+FF10..U+FF19 FULLWIDTH DIGIT ZERO..NINE: EF BC 90..99 */
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBC &&
        (unsigned char)p[2] >= 0x90 && (unsigned char)p[2] <= 0x99)
        return 3;
    return 0;
}

/* The text with every run of 7 digits or more (phone, ID card and bank numbers a resident may
 * write into the account) masked like fq_mask_phone: the first 3 and the last 4 digits kept. The
 * ledger is filed and handed upward; the parties column already masks the contact. */
static char *mask_numbers(const char *s)
{
    struct fq_buf b;
    buf_init(&b);
    const char *p = s ? s : "";
    while (*p) {
        size_t n = 0, w;
        for (const char *q = p; (w = digit_at(q)); q += w)
            n++;
        if (n < 7) {
            const char *q = p;
            for (size_t i = 0; i < n; i++)
                q += digit_at(q);
            if (q == p)
                q++;
            buf_add(&b, p, (size_t)(q - p));
            p = q;
            continue;
        }
        size_t keep_head = n >= 11 ? 3 : 0;
        for (size_t i = 0; i < n; i++) {
            w = digit_at(p);
            if (i < keep_head || i + 4 >= n)
                buf_add(&b, p, w);
            else
                buf_puts(&b, "*");
            p += w;
        }
    }
    return buf_take(&b);
}

static enum fq_err ledger_row(struct fq_ctx *c, const struct fq_case *k, struct rp_ledger_row *x)
{
    const struct fq_roster *ro = c->roster;
    const struct fq_lexicon *lx = c->lex;
    const int L = FQ_LOC_ZH_CN;
    snprintf(x->case_no, sizeof x->case_no, "%s", k->case_no);
    x->received = k->created_at;
    x->accepted = k->accepted_at;
    enum fq_case_status st = k->status;
    x->closed = st == FQ_CASE_RESOLVED ? k->resolved_at : st == FQ_CASE_CLOSED ? k->closed_at : 0;
    x->attempts = k->attempts;
    int place = roster_org_index(ro, k->place_org), med = roster_mediator_index(ro, k->mediator_id);
    x->parties = parties_of(k);
    x->category = fq_strdup(i18n_category(lx, L, k->category));
    x->place = fq_strdup(place >= 0 ? ro->org[place].name : k->place_text ? k->place_text : "");
    x->severity = fq_strdup(i18n_severity(lx, L, k->severity));
    x->mediator = fq_strdup(med >= 0 ? ro->med[med].name : k->mediator_id ? k->mediator_id : "");
    if (st == FQ_CASE_CLOSED && k->close_reason) {
        char key[48];
        snprintf(key, sizeof key, "med_reason_%s", k->close_reason);
        x->outcome = i18n_format(lx, L, "rp_outcome_closed", "status",
                                 i18n_status(lx, L, fq_case_status_name(k->status)), "reason",
                                 i18n_get(lx, L, key), (char *)NULL);
    } else if (st == FQ_CASE_PAUSED && k->pause_reason) {
        char key[48];
        snprintf(key, sizeof key, "med_pause_%s", k->pause_reason);
        x->outcome = i18n_format(lx, L, "rp_outcome_closed", "status",
                                 i18n_status(lx, L, fq_case_status_name(k->status)), "reason",
                                 i18n_get(lx, L, key), (char *)NULL);
    } else {
        x->outcome = fq_strdup(i18n_status(lx, L, fq_case_status_name(k->status)));
    }
    /* the clock stopped (docs/contract.md 8.3): how long in all, the current pause included */
    int64_t paused = k->paused_total + (k->paused_at > 0 && c->now > k->paused_at
                                            ? c->now - k->paused_at : 0);
    if (x->outcome && paused > 0) {
        char span[64];
        i18n_span(lx, L, paused, span, sizeof span);
        char *o = i18n_format(lx, L, "rp_outcome_paused", "outcome", x->outcome, "paused", span,
                              (char *)NULL);
        free(x->outcome);
        x->outcome = o;
    }
    x->description = mask_numbers(k->description);
    char *note = NULL;
    enum fq_err err = x->closed ? store_report_outcome_note(c->store, k->id, &note) : FQ_OK;
    if (err)
        return err;
    x->agreement = mask_numbers(note);
    free(note);
    struct last_answer la = {0};
    err = store_survey_list(c->store, k->id, last_survey, &la);
    if (err)
        return err;
    char key[16];
    snprintf(key, sizeof key, "sv_opt_%d", la.answer);
    x->survey = fq_strdup(la.answer > 0    ? i18n_get(lx, L, key)
                          : la.answer < 0 ? i18n_get(lx, L, "rp_no_response")
                                          : "");
    if (!x->parties || !x->category || !x->place || !x->severity || !x->mediator ||
        !x->outcome || !x->survey || !x->description || !x->agreement)
        return FQ_ENOMEM;
    return FQ_OK;
}

enum fq_err report_ledger(struct fq_ctx *c, int64_t from, int64_t to, struct rp_ledger **out)
{
    return report_ledger_in(c, from, to, NULL, out);
}

enum fq_err report_ledger_in(struct fq_ctx *c, int64_t from, int64_t to, const char *org,
                             struct rp_ledger **out)
{
    *out = NULL;
    int scope = -1;
    if (org && (scope = roster_org_index(c->roster, org)) < 0)
        return FQ_ENOTFOUND;
    struct rp_ledger *l = calloc(1, sizeof *l);
    if (!l)
        return FQ_ENOMEM;
    l->from = from;
    l->to = to;
    int64_t *ids = NULL;
    size_t n = 0;
    enum fq_err err = store_report_created_ids(c->store, from, to, &ids, &n);
    if (!err && n && !(l->v = calloc(n, sizeof *l->v)))
        err = FQ_ENOMEM;
    for (size_t i = 0; i < n && !err; i++) {
        struct fq_case k;
        if ((err = store_case_get_id(c->store, ids[i], &k)))
            break;
        if (!report_in_scope(c->roster, scope, case_node(c->roster, &k))) {
            case_cleanup(&k);
            continue;
        }
        err = ledger_row(c, &k, &l->v[l->n++]);
        case_cleanup(&k);
    }
    free(ids);
    if (err)
        report_ledger_free(l);
    else
        *out = l;
    return err;
}

/* ---- the scheduled report ------------------------------------------------------------------ */
/* The first moment of the month after the one holding t. */
static int64_t next_month_start(int64_t t)
{
    struct fq_civil d;
    fq_local_civil(t, &d);
    int64_t start, end;
    fq_local_month_range(d.year, d.month, &start, &end);
    return end;
}

#define TIMER_KEY "rp_monthly_timer"

/* Adds the report timer due at the start of the month after `after` and remembers its id. */
static enum fq_err add_report_timer(struct fq_ctx *c, int64_t after)
{
    int64_t id = 0;
    enum fq_err err = store_timer_add(c->store, next_month_start(after),
                                      FQ_TIMER_REPORT_MONTHLY, 0, NULL, &id);
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)id);
    return err ? err : store_kv_put(c->store, TIMER_KEY, v);
}

enum fq_err report_ensure_timer(struct fq_ctx *c)
{
    char *cur = NULL;
    enum fq_err err = store_kv_get(c->store, TIMER_KEY, &cur);
    if (err && err != FQ_ENOTFOUND)
        return err;
    int64_t id = cur ? atoll(cur) : 0;
    free(cur);
    if (id > 0) {
        struct fq_timer t;
        int state = -1;
        err = store_timer_get(c->store, id, &t, &state);
        if (!err)
            timer_cleanup(&t);
        if (!err && state == 0)
            return FQ_OK;   /* pending: nothing to do */
        if (err && err != FQ_ENOTFOUND)
            return err;
    }
    return add_report_timer(c, c->now);
}

/* Whether timer t is the live report timer (kv names it); a stray one would send the report
 * twice. */
static enum fq_err live_timer(struct fq_ctx *c, const struct fq_timer *t, bool *live)
{
    char *cur = NULL;
    enum fq_err err = store_kv_get(c->store, TIMER_KEY, &cur);
    if (err && err != FQ_ENOTFOUND)
        return err;
    *live = !cur || atoll(cur) == t->id;
    free(cur);
    return FQ_OK;
}

/* When the timer counts as due: it may fire late, after a restart. */
static int64_t due_of(const struct fq_ctx *c, const struct fq_timer *t)
{
    return t->due_at > 0 ? t->due_at : c->now;
}

enum fq_err report_timer_compute(struct fq_ctx *c, const struct fq_timer *t,
                                 struct fq_actions *out)
{
    bool live = false;
    enum fq_err err = live_timer(c, t, &live);
    if (err || !live)
        return err;
    /* the month before the one the timer was due in */
    struct fq_civil d;
    fq_local_civil(due_of(c, t), &d);
    int y = d.year, m = d.month - 1;   /* the previous month */
    if (m == 0) {
        m = 12;
        y--;
    }
    char month[24];
    snprintf(month, sizeof month, "%04d-%02d", y, m);
    const struct fq_roster *ro = c->roster;
    /* one report per node that has a supervisor, and one per root (the whole county), made in
     * one pass over the month's cases */
    const char **orgs = calloc(ro->n_org ? ro->n_org : 1, sizeof *orgs);
    int *node_of = calloc(ro->n_org ? ro->n_org : 1, sizeof *node_of);
    struct rp_monthly **reps = calloc(ro->n_org ? ro->n_org : 1, sizeof *reps);
    size_t n = 0;
    if (!orgs || !node_of || !reps)
        err = FQ_ENOMEM;
    for (size_t i = 0; i < ro->n_org && !err; i++) {
        bool wanted = ro->org[i].parent < 0;
        for (size_t j = 0; j < ro->n_med && !wanted; j++)
            wanted = ro->med[j].supervisor && ro->med[j].org == (int)i;
        if (wanted) {
            node_of[n] = (int)i;
            orgs[n++] = ro->org[i].id;
        }
    }
    if (!err && n)
        err = monthly_many(c, y, m, orgs, n, reps);
    for (size_t k = 0; k < n && !err; k++) {
        size_t i = (size_t)node_of[k];
        struct rp_monthly *r = reps[k];
        reps[k] = NULL;
        char rec[24], res[24], unres[24], open[24], over[24];
        snprintf(rec, sizeof rec, "%lld", (long long)r->total.received);
        snprintf(res, sizeof res, "%lld", (long long)r->total.resolved);
        snprintf(unres, sizeof unres, "%lld", (long long)r->total.unresolved);
        snprintf(open, sizeof open, "%lld", (long long)r->total.open);
        snprintf(over, sizeof over, "%lld", (long long)r->total.overdue);
        actions_report(out, ro->org[i].id, month, r);   /* the action publishes r, and frees it */
        for (size_t j = 0; j < ro->n_med; j++) {
            if (!ro->med[j].supervisor || ro->med[j].org != (int)i)
                continue;
            char *text = i18n_format(c->lex, FQ_LOC_ZH_CN, "rp_notify_monthly", "month", month,
                                     "unit", ro->org[i].name, "received", rec, "resolved", res,
                                     "unresolved", unres, "open", open, "overdue", over,
                                     (char *)NULL);
            if (!text)
                out->oom = true;
            else
                actions_notify(out, ro->med[j].id, NULL, text);
            free(text);
        }
    }
    for (size_t k = 0; reps && k < n; k++)
        report_monthly_free(reps[k]);
    free(reps);
    free(orgs);
    free(node_of);
    if (!err && out->oom)
        err = FQ_ENOMEM;
    return err;
}

enum fq_err report_timer_commit(struct fq_ctx *c, const struct fq_timer *t, bool *send)
{
    *send = false;
    enum fq_err err = live_timer(c, t, send);
    if (err || !*send)
        return err;
    int64_t due = due_of(c, t);
    return add_report_timer(c, c->now > due ? c->now : due);
}

enum fq_err report_on_timer(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out)
{
    /* in one transaction both halves agree on whether t is live */
    enum fq_err err = report_timer_compute(c, t, out);
    bool send = false;
    return err ? err : report_timer_commit(c, t, &send);
}

/* report.h: the monthly statistics and the case ledger (台账) of docs/contract.md 8.2 and 8.3, as
 * plain structs computed from the store (handlers/report.c). Rendering (text, JSON, CSV, XLSX) is
 * bot/'s (bot/render/report_forms.c). Every string in these structs is owned by the struct. */
#ifndef FQ_REPORT_H
#define FQ_REPORT_H

#include "common/fq.h"
#include "handlers/actions.h"
#include "store/timer_table.h"

/* The counts of one line of a report (see report.c for exactly which cases each holds). */
struct rp_counts {
    int64_t received, resolved, unresolved, withdrawn, open, overdue;
};

/* One line of a breakdown: a category, severity, org node or channel. */
struct rp_row {
    char *key;                       /* category id, severity name, org id, channel name */
    char *label;                     /* the zh-CN label (org name, category label, ...) */
    int depth;                       /* by_org: depth below the report's top node, else 0 */
    struct rp_counts n;
};

struct rp_rows {
    struct rp_row *v;
    size_t n, cap;
};

/* Time-to-X statistics in seconds; mean and p90 are meaningful only when count > 0. */
struct rp_duration {
    int64_t count;
    double mean_s;
    int64_t p90_s;                   /* 90th percentile, nearest-rank */
};

struct rp_monthly {
    int year, month;                 /* the calendar month, local time */
    int64_t start, end;              /* [start, end) in unix seconds */
    char *org;                       /* the node the report is restricted to, NULL: everything */
    char *org_name;
    int64_t generated_at;
    struct rp_counts total;
    struct rp_rows by_category, by_severity, by_org, by_channel;
    /* success = resolved / (resolved + unresolved); withdrawn counted in neither */
    double success_rate;             /* -1 when the denominator is 0 */
    /* surveys concluded in the month (answered or expired), satisfaction kind */
    int64_t surveys_answered, surveys_satisfied, surveys_no_response, answers[5];
    double satisfaction_rate;        /* satisfied / answered, -1 when none answered */
    double response_rate;            /* answered / (answered + no_response), -1 when none */
    struct rp_duration to_accept, to_resolve;
    int64_t escalations, reopened, relapses;
    int *org_row;                    /* roster index -> index in by_org, -1 when not a row */
};

/* Parses "YYYY-MM" (month 01-12, year 1970-9999). Returns 0, or -1 when invalid. */
int report_parse_month(const char *s, int *year, int *month);
/* [start, end) of a local calendar month. */
void report_month_bounds(int year, int month, int64_t *start, int64_t *end);

/* Computes the report of one month, restricted to the subtree of org node `org` when not NULL
 * (FQ_ENOTFOUND when the roster has no such node). c->store may be a read-only connection;
 * c->lex gives the labels; c->now is "now" for overdue. *out: free with report_monthly_free. */
enum fq_err report_monthly(struct fq_ctx *c, int year, int month, const char *org,
                           struct rp_monthly **out);
void report_monthly_free(struct rp_monthly *r);   /* NULL-safe */

/* The pieces report_monthly is made of, for another reader of the same figures (the
 * workbench's statistics, handlers/stats.c, which selects them with aggregate queries) so that
 * both bucket, total and divide alike:
 * report_begin: the report of month for org (FQ_ENOTFOUND when the roster has none) with its
 *   fixed rows and zero counts; *scope the roster index of org, -1 for everything.
 * report_node_of: the territory node of a case (its place, else its handling node), -1 none.
 * report_in_scope: whether a case at node counts in a report of scope.
 * report_tally: adds one case's (or a group of like cases') counts to the total and the rows
 *   of its category, severity, channel and node with every ancestor up to scope.
 * report_survey_tally: count satisfaction surveys concluded with answer (or no_response).
 * report_durations: mean and p90 of v[0..n) (sorted in place; negatives count as 0 only when
 *   the caller clamps them, as report_monthly does).
 * report_finish: the success, satisfaction and response rates from the counts, and the channel
 *   rows in the order of their names. */
enum fq_err report_begin(const struct fq_ctx *c, int year, int month, const char *org,
                         struct rp_monthly **out, int *scope);
int report_node_of(const struct fq_roster *ro, const char *place_org, const char *org_id);
bool report_in_scope(const struct fq_roster *ro, int scope, int node);
enum fq_err report_tally(struct rp_monthly *r, const struct fq_ctx *c, int scope, int node,
                         const char *category, int severity, const char *channel,
                         const struct rp_counts *n);
void report_survey_tally(struct rp_monthly *r, bool no_response, int answer, int64_t count);
void report_durations(int64_t *v, size_t n, struct rp_duration *out);
void report_finish(struct rp_monthly *r);

/* One line of the ledger (台账). Times are unix seconds, 0 when not yet. */
struct rp_ledger_row {
    char case_no[24];
    int64_t received, accepted, closed;   /* closed: resolved or closed without agreement */
    char *parties;                   /* masked name and phone, e.g. "王** 138****5678" */
    char *category, *place, *severity, *mediator;   /* zh-CN labels and names */
    int attempts;
    char *description;               /* the resident's account, digit runs of 7 or more masked */
    char *outcome;                   /* status label, with the close reason */
    char *agreement;                 /* the note of the resolution or closing, "" when none */
    char *survey;                    /* the last survey answer's label, "" when none */
};

struct rp_ledger {
    int64_t from, to;                /* [from, to) */
    struct rp_ledger_row *v;
    size_t n;
};

/* The ledger of cases received in [from, to), oldest first. *out: free with
 * report_ledger_free. */
enum fq_err report_ledger(struct fq_ctx *c, int64_t from, int64_t to, struct rp_ledger **out);
/* The same for the cases of org's subtree only (as report_monthly counts them: by place, else
 * handling node); org NULL: every case. FQ_ENOTFOUND when the roster has no such node. */
enum fq_err report_ledger_in(struct fq_ctx *c, int64_t from, int64_t to, const char *org,
                             struct rp_ledger **out);
void report_ledger_free(struct rp_ledger *l);     /* NULL-safe */

/* A "report_monthly" timer: the previous month's report for each supervisor's node (retained
 * MQTT report and a notify text), then the next month's timer: report_timer_compute then
 * report_timer_commit. */
enum fq_err report_on_timer(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out);
/* Its reading half: the reports and notify texts into out, from c->store, writing nothing (run
 * off the core on a read-only connection inside one snapshot, bot/core/reports.c). Nothing when
 * t is not the live report timer. */
enum fq_err report_timer_compute(struct fq_ctx *c, const struct fq_timer *t,
                                 struct fq_actions *out);
/* Its writing half, on the core once the timer is marked fired: the next month's timer. *send
 * false: t is not the live report timer, and what was computed for it must not be sent. */
enum fq_err report_timer_commit(struct fq_ctx *c, const struct fq_timer *t, bool *send);
/* Makes sure one "report_monthly" timer is pending (due at the start of next month); its id is
 * kept in kv "rp_monthly_timer". Called by timers_housekeep at start-up. */
enum fq_err report_ensure_timer(struct fq_ctx *c);

#endif

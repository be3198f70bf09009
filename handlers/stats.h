/* stats.h: the workbench's statistics of one month for an org subtree (handlers/stats.c): the
 * monthly report's figures (handlers/report.h, the same struct, equal to what report_monthly
 * gives), the medians of the times to accept and to resolve, and the received/resolved trend of
 * the twelve months ending with it. And the 督办 list: the late and nearly late cases of a
 * subtree, by mediator, with what was already sent about them. */
#ifndef FQ_STATS_H
#define FQ_STATS_H

#include "common/fq.h"
#include "handlers/actions.h"
#include "handlers/report.h"

#define STATS_TREND_MONTHS 12

struct st_trend {
    int year, month;
    int64_t received, resolved;
};

struct st_stats {
    struct rp_monthly *m;            /* owned */
    double accept_median_s, resolve_median_s;   /* -1 when there is none */
    struct st_trend trend[STATS_TREND_MONTHS];  /* oldest first; the last is the month */
};

/* The statistics of year-month for the subtree of org (NULL: everything; FQ_ENOTFOUND when the
 * roster has no such node). c->store may be read-only. *out: free with stats_free. */
enum fq_err stats_month(struct fq_ctx *c, int year, int month, const char *org,
                        struct st_stats **out);
void stats_free(struct st_stats *s);   /* NULL-safe */

/* What was already done about a late case: reminders, 督办 and overdue notices, escalations,
 * transfers and notes, from its history. */
struct st_sent {
    char *type;                      /* the event type: reminder, overdue, escalated, ... */
    char *kind;                      /* reminder: accept or supervise; else NULL */
    char *actor, *note;              /* note may be NULL */
    int64_t at;
};

struct st_late {
    struct fq_case k;                /* owned (case_cleanup) */
    int64_t due;                     /* the deadline in force */
    bool accept;                     /* the deadline is acceptance's (else resolution's) */
    bool past;                       /* due <= now */
    int node;                        /* roster index of its node (report_node_of), -1 */
    struct st_sent *sent;
    size_t n_sent;
};

/* The open cases of the subtree of org (NULL: all) whose deadline in force is before now +
 * within seconds, sorted by mediator id then deadline (unassigned last), at most max.
 * *out: free with stats_late_free. */
enum fq_err stats_late(struct fq_ctx *c, const char *org, int64_t within, size_t max,
                       struct st_late **out, size_t *n);
void stats_late_free(struct st_late *v, size_t n);

/* A 督办 note from actor (a workbench login, or a supervisor's mediator id) to the mediator of
 * case_no: the event "supervised" with the note on the case, and the push to its mediator (an
 * assignment message "supervise" with the note, and the sup_note_push text). FQ_ENOTFOUND when
 * there is no such case, or it is outside the subtree of org (org NULL: anywhere); FQ_EINVAL
 * when it is finished or has no mediator, or the note is empty or longer than STATS_NOTE_MAX
 * bytes. */
#define STATS_NOTE_MAX 2000
enum fq_err stats_supervise(struct fq_ctx *c, const char *org, const char *case_no,
                            const char *actor, const char *note, struct fq_actions *out);

#endif

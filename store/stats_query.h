/* stats_query.h: the aggregate queries behind the workbench's statistics (handlers/stats.c) and
 * its 督办 list (store/stats_query.c). The month's figures are the monthly report's
 * (handlers/report.c says which case counts where), computed by SQL as sums over groups of like
 * cases instead of one case read at a time, so a month of a county with a million cases costs a
 * few grouped index scans. Every function works on a read-only connection. */
#ifndef FQ_STATS_QUERY_H
#define FQ_STATS_QUERY_H

#include "common/fq.h"

struct store;

/* One group of the month's cases that share place, handling node, category, severity and
 * channel, with how many of them count in each figure. Strings borrowed for the callback. */
struct stq_group {
    const char *place_org, *org_id, *category, *channel;   /* place_org, org_id may be NULL */
    int severity;
    int64_t received, resolved, unresolved, withdrawn, open, overdue, relapses;
};

/* The groups of the cases that count in [start, end) (the report's candidates: created before
 * end, and created, updated, resolved or closed since start, or not finished); overdue is counted
 * against cut (min(end, now)). */
enum fq_err store_stats_groups(struct store *s, int64_t start, int64_t end, int64_t cut,
                               void (*cb)(const struct stq_group *g, void *arg), void *arg);

/* One case's times for the durations: accept_s is accepted_at - created_at when it was accepted
 * in [start, end) (else -1), resolve_s is resolved_at - created_at when it is resolved now with
 * resolved_at in [start, end) (else -1). */
struct stq_times {
    const char *place_org, *org_id;
    int64_t accept_s, resolve_s;
};
enum fq_err store_stats_times(struct store *s, int64_t start, int64_t end,
                              void (*cb)(const struct stq_times *t, void *arg), void *arg);

/* Escalated and reopened events at in [start, end) of cases created before end and updated
 * since start, counted per (place, node, type). */
struct stq_events {
    const char *place_org, *org_id, *type;
    int64_t count;
};
enum fq_err store_stats_events(struct store *s, int64_t start, int64_t end,
                               void (*cb)(const struct stq_events *e, void *arg), void *arg);

/* Satisfaction surveys concluded (answered or no_response) in [start, end), counted per (place,
 * node of their case, no_response, answer); the place and node are NULL when the case is gone. */
struct stq_surveys {
    const char *place_org, *org_id;
    bool no_response;
    int answer;
    int64_t count;
};
enum fq_err store_stats_surveys(struct store *s, int64_t start, int64_t end,
                                void (*cb)(const struct stq_surveys *v, void *arg), void *arg);

/* Cases received (which 0: created_at) or resolved (which 1: resolved now, resolved_at) in
 * [start, end), counted per (place, node). */
struct stq_count {
    const char *place_org, *org_id;
    int64_t count;
};
enum fq_err store_stats_flow(struct store *s, int which, int64_t start, int64_t end,
                             void (*cb)(const struct stq_count *c, void *arg), void *arg);

/* The open cases whose deadline in force (due_accept while waiting for acceptance, else
 * due_resolve) is before `before`, the earliest deadline first: id, place and handling node
 * (strings borrowed for the call) to cb, which returns false to stop. */
enum fq_err store_stats_late(struct store *s, int64_t before,
                             bool (*cb)(int64_t id, const char *place_org, const char *org_id,
                                        void *arg),
                             void *arg);

/* The statements above by number (0 groups, 1 times, 2 events, 3 surveys, 4 flow received,
 * 5 flow resolved, 6 late), for tests that check their query plans; NULL past the end. */
const char *store_stats_sql(int which);

#endif

/* timers.h: what a due timer does, absence, danger alerts and digests (handlers/timers.c). */
#ifndef FQ_TIMERS_H
#define FQ_TIMERS_H

#include "common/fq.h"
#include "handlers/actions.h"
#include "store/timer_table.h"
#include "common/roster_model.h"

struct fq_roster;

/*  a due timer row (already marked fired by the core, so it fires once):
 * reminders, 督办, overdue notices (docs/contract.md 7.4); survey kinds are handed to survey.c. */
enum fq_err timers_fire(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out);

/* Supervisors (active, "supervisor": true) at org node `node` and each ancestor, nearest first:
 * their roster indexes into out (at most max). Returns how many. */
size_t timers_supervisors(const struct fq_roster *r, int node, int *out, size_t max);
/* Absence ("active": false, docs/contract.md 5.1 and 7.4): every case of an inactive mediator still
 * waiting to be accepted (assigned, reopened) is routed again from its handling node (this node or
 * above) and transferred by the system (event "transferred"). Idempotent. *moved (may be NULL):
 * how many. */
enum fq_err timers_absence(struct fq_ctx *c, struct fq_actions *out, size_t *moved);
/* Every active supervisor has exactly one pending "digest" timer (kv tm_digest:<id> holds its
 * id); adds the missing ones. Idempotent. */
enum fq_err timers_ensure_digests(struct fq_ctx *c);
/* timers_absence then timers_ensure_digests: run by the core after a roster change and at
 * start-up. */
enum fq_err timers_housekeep(struct fq_ctx *c, struct fq_actions *out);
/* A resident's supplement with danger words to the open case case_no (handlers/supplement.c:
 * only the case the message is about; a new matter opens a case of its own, graded itself):
 * the case becomes red (event "progress" {"severity":"red"}), an alert "danger" goes to its
 * place node and every ancestor, and its mediator and the supervisors are notified. Nothing
 * when the case is gone or finished. */
enum fq_err timers_on_danger(struct fq_ctx *c, const char *case_no, struct fq_actions *out);
/* The next digest time after now: 08:00 local the next day (daily) or the next Monday. */
int64_t timers_digest_next(int64_t now, bool daily);
/* What each timer kind does: one row per kind, indexed by enum fq_timer_kind (its stored name
 * is fq_timer_kind_name(kind), common/status.h). fire runs a due timer of the kind (timers_fire
 * calls it); metric is its label of fq_timers_fired_total (bot/sys/metrics.c). A new kind is a
 * name in common/status.c and a row here. */
typedef enum fq_err (*timer_fire_fn)(struct fq_ctx *c, const struct fq_timer *t,
                                     struct fq_actions *out);
typedef enum fq_err (*timer_commit_fn)(struct fq_ctx *c, const struct fq_timer *t, bool *send);
/* A heavy kind (a long read: the digests, the monthly report) also has its two halves, which
 * fire is the sum of: compute reads only (no write, any connection, inside one snapshot) and
 * makes the actions; commit runs on the core in the transaction that marks the timer fired and
 * writes what follows (the next timer); *send false: the timer turned out not to be live, the
 * computed actions must be dropped. NULL for the other kinds. */
struct timer_kind {
    enum fq_timer_kind kind;
    timer_fire_fn fire;
    const char *metric;
    timer_fire_fn compute;
    timer_commit_fn commit;
};
extern const struct timer_kind timers_kinds[FQ_TIMER__COUNT];
/* Heavy kinds (see struct timer_kind): bot/core/reports.c computes them on a reader thread
 * and hands the actions to the core, which commits them with timers_commit. */
bool timers_heavy(enum fq_timer_kind kind);
enum fq_err timers_compute(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out);
enum fq_err timers_commit(struct fq_ctx *c, const struct fq_timer *t, bool *send);
/* The label of metrics_timer_fired for a timer kind ("reminder", "escalation", ...; "other"
 * for a kind out of range). */
const char *timers_metric_label(enum fq_timer_kind kind);

#endif

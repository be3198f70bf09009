/* reports.h: the reader thread of the scheduled long reads (fq-reports, bot/core/reports.c). The
 * scheduler hands it the due timers of the heavy kinds (handlers/timers.h, timers_heavy: the
 * digests and the monthly report); it computes each on its own read-only connection inside one
 * read transaction (a WAL snapshot: the core never waits for it) and hands the core only the
 * result, the actions to publish, as an FQ_MSG_TIMER with that one id and the actions in
 * m->work. The core marks the timer fired, writes what follows (the next timer) and the outbox
 * rows in one transaction, so the timer still fires once: a result for a timer that fired
 * meanwhile is dropped, and a restart before that commit leaves the timer due (it is computed
 * again). */
#ifndef FQ_REPORTS_H
#define FQ_REPORTS_H
#include "common/config_model.h"
#include "common/fq.h"
#include "store/timer_table.h"

struct reports;
struct core;

/* Opens its own read-only connection on cfg->store_path and starts the thread. core is borrowed
 * and must outlive it. on_idle(arg) is called on the thread each time it has finished what it
 * was handed (the scheduler looks for more then). */
enum fq_err reports_start(const struct fq_config *cfg, struct core *core,
                          void (*on_idle)(void *arg), void *arg, struct reports **out,
                          char **cause);
/* Hands it the n timers of v (taken, freed with timer_cleanup and free) when it is idle: true.
 * False when it is still busy with the last ones (v stays the caller's). */
bool reports_offer(struct reports *r, struct fq_timer *v, size_t n);
/* Whether it is computing (or handing over) what it was last offered. */
bool reports_busy(struct reports *r);
/* Stops it: a computation under way is interrupted (its timer stays due and is computed after
 * the next start); a result already handed to the core is waited for. Joins, closes. NULL-safe. */
void reports_stop(struct reports *r);

#endif

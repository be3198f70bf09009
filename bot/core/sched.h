/* sched.h: the timer loop (docs/contract.md 7.4: timers survive restarts, fire at most once, and
 * within about a second of their due time). A thread with its own read connection finds due timer
 * rows and hands them to the core as FQ_MSG_TIMER messages; the core fires them (sched_run) inside
 * the message's savepoint, so "fired" and the timer's effects commit together. */
#ifndef FQ_SCHED_H
#define FQ_SCHED_H

#include "common/config_model.h"
#include "handlers/actions.h"
#include "common/fq.h"

struct sched;
struct core;
struct fq_ctx;

/* Opens its own store connection on cfg->store_path and starts the thread. cfg and core are
 * borrowed and must outlive the scheduler (stop it before the core). On error *cause (caller
 * frees) may say why. */
enum fq_err sched_start(const struct fq_config *cfg, struct core *core, struct sched **out,
                        char **cause);
/* Wakes the loop now (e.g. after a commit that added an early timer). Thread-safe, NULL-safe. */
void sched_kick(struct sched *s);
/* Stops the loop (waiting for a message already handed to the core to be done), joins the
 * thread, closes its store. NULL-safe. */
void sched_stop(struct sched *s);

/* On the core thread, inside m's savepoint: fires each timer of m->ids (FQ_MSG_TIMER) through
 * handlers/timers.c and writes their outbox rows; a timer already fired or cancelled is
 * skipped. An id whose timer was skipped or did nothing is set to 0 in m->ids (the scheduler
 * counts the rest in the metrics after commit). With no ids, m is a housekeeping request
 * (after start-up or a roster change): timers_housekeep. Returns a store error or FQ_ENOMEM,
 * after which the core rolls m back (the timers stay due and are tried again). */
enum fq_err sched_run(struct fq_ctx *ctx, const char *prefix, struct fq_msg *m);
/* The result of a heavy timer computed off the core (bot/core/reports.c), carried by an
 * FQ_MSG_TIMER with that one id in m->work: sched_run marks the timer fired, runs its commit
 * half (timers_commit) and writes these actions; a timer fired or cancelled meanwhile, or no
 * longer live, drops them. failed: the computation failed for good; the timer is consumed. */
struct sched_work {
    struct fq_actions actions;
    enum fq_err failed;
};

#endif

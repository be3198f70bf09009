/* timer_table.h: timers as rows: due_at, kind, case, fired_at (store/timer_table.c). */
#ifndef FQ_TIMER_TABLE_H
#define FQ_TIMER_TABLE_H

#include "common/fq.h"
#include "common/status.h"
#include "store/stmt.h"

struct store;

struct fq_timer {
    int64_t id;
    int64_t due_at;
    enum fq_timer_kind kind;         /* stored as its name; FQ_TIMER__COUNT: a kind this version
                                      * does not know */
    int64_t case_id;                 /* 0 when not about a case */
    char *arg;                       /* optional text, may be NULL */
};
void timer_cleanup(struct fq_timer *t);
/* FQ_EINVAL, writing nothing, when kind is not one of enum fq_timer_kind. */
enum fq_err store_timer_add(struct store *s, int64_t due_at, enum fq_timer_kind kind,
                            int64_t case_id, const char *arg, int64_t *id);
/* Unfired timers with due_at <= now, oldest first, at most limit. */
enum fq_err store_timer_due(struct store *s, int64_t now, size_t limit,
                            void (*cb)(const struct fq_timer *t, void *arg), void *arg);
/* The same, only of the given kinds (in) or of every other kind (!in): at most
 * STORE_DUE_KINDS_MAX kinds, FQ_EINVAL otherwise. The scheduler takes the heavy kinds apart, so
 * they never fill a batch that the others wait behind. */
#define STORE_DUE_KINDS_MAX 4
enum fq_err store_timer_due_kinds(struct store *s, int64_t now, size_t limit, bool in,
                                  const enum fq_timer_kind *kinds, size_t n_kinds,
                                  void (*cb)(const struct fq_timer *t, void *arg), void *arg);
/* Marks a timer fired (once: FQ_ENOTFOUND if it was fired or cancelled already). */
enum fq_err store_timer_fire(struct store *s, int64_t id, int64_t now);
/* Cancels the unfired timers of one kind of a case / of every kind. */
enum fq_err store_timer_cancel(struct store *s, int64_t case_id, enum fq_timer_kind kind);
enum fq_err store_timer_cancel_all(struct store *s, int64_t case_id);
/* Earliest unfired due_at, FQ_ENOTFOUND when none. */
enum fq_err store_timer_next(struct store *s, int64_t *due_at);
int64_t store_timer_pending_count(struct store *s);

#endif

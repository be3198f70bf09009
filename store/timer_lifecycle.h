/* timer_lifecycle.h: the lifecycle side of timers: one row by id, the digest's cases
 * (store/timer_lifecycle.c). */
#ifndef FQ_TIMER_LIFECYCLE_H
#define FQ_TIMER_LIFECYCLE_H

#include "common/fq.h"
#include "store/timer_table.h"
#include "store/stmt.h"

struct store;

/* The timer row id, whatever its state; *state (may be NULL) is 0 pending, 1 fired, 2 cancelled.
 * FQ_ENOTFOUND when no such row. out: timer_cleanup. */
enum fq_err store_timer_get(struct store *s, int64_t id, struct fq_timer *out, int *state);
/* One case for a supervisor's digest (borrowed for the callback). */
struct fq_digest_row {
    int64_t id;
    char case_no[24];
    const char *org_id, *place_org;  /* may be NULL */
    bool is_new;                     /* created at or after since */
    bool overdue;                    /* not finished and due_resolve <= now */
    bool escalated;                  /* an "escalated" event, or a 督办 reminder, since `since` */
};
/* Cases that are new, overdue or escalated (see struct fq_digest_row), oldest first. */
enum fq_err store_digest_cases(struct store *s, int64_t since, int64_t now,
                               void (*cb)(const struct fq_digest_row *r, void *arg), void *arg);

#endif

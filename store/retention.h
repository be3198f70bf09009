/* retention.h: removing operational rows once nothing can need them, and the sizes of the tables
 * (docs/contract.md 2, `retention.*`; 3.3, fq_table_rows). Operational rows are the inbox's
 * answers (kept while a retry of the same message can still come), delivered outbox rows (kept
 * a grace period after delivery) and finished timers. The case history and the ledger are
 * never removed. */
#ifndef FQ_RETENTION_H
#define FQ_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "common/fq.h"

struct store;

enum store_prunable { PRUNE_INBOX = 0, PRUNE_OUTBOX, PRUNE_TIMERS, PRUNE__COUNT };
extern const char *const store_prunable_names[PRUNE__COUNT];   /* "inbox" "outbox" "timers" */

/* Keep times in seconds, by table (0: keep for ever). */
struct store_keep {
    int64_t keep[PRUNE__COUNT];
};

/* In the caller's transaction: removes at most limit rows of each table older than its keep
 * time at now (an inbox answer by when it was given, an outbox row by when it was delivered,
 * a timer by when it fired or was cancelled; an undelivered row or a pending timer never);
 * removed[t] says how many. A table whose count equals limit may hold more. */
enum fq_err store_prune(struct store *s, const struct store_keep *k, int64_t now, size_t limit,
                        int64_t removed[PRUNE__COUNT]);

/* The statement store_prune runs for table t (?1 the cut-off time, ?2 the limit), for tests that
 * check its query plan. */
const char *store_prune_sql(enum store_prunable t);

/* Row counts of the tables that grow, and the database's size. The operational tables are
 * counted (pruning keeps them small); cases and case events, which are never removed and may
 * hold millions, are given as their largest id (an index lookup, equal to the count since ids
 * are never reused and rows never deleted). */
struct store_sizes {
    int64_t inbox, outbox, outbox_pending, timers, timers_pending;
    int64_t cases, case_events, surveys;
    int64_t conversations_open;      /* a report being written (the partial index of 0001) */
    int64_t db_bytes;                /* page_count * page_size */
};
enum fq_err store_sizes(struct store *s, struct store_sizes *out);

#endif

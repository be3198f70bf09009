/* core.h: the one core thread. I/O threads (HTTP, MQTT, the scheduler, the outbox) push
 * messages; the core takes whatever is queued as one batch, runs the handlers on each inside one
 * transaction (a failing message is undone alone), commits once (group commit), then calls each
 * message's done() and wakes the outbox. Nothing is answered before it is committed. */
#ifndef FQ_CORE_H
#define FQ_CORE_H

#include "common/config_model.h"
#include "common/fq.h"
#include "handlers/i18n.h"

struct core;
struct fq_lexicon;
struct fq_roster;

/* An FQ_MSG_PRUNE (bot/core/sched.c) removes at most this many rows of each operational table
 * (store/retention.h) in the batch it runs in: a few milliseconds of the writer. */
#define CORE_PRUNE_LIMIT 500

/* Creates the core (opening its own store connection) and starts its thread. cfg and lex are
 * borrowed and must outlive the core (core_set_config swaps them on SIGHUP). */
enum fq_err core_start(const struct fq_config *cfg, const struct fq_lexicon *lex,
                       struct core **out, char **cause);
/* Hands m to the core (ownership moves). Returns FQ_ESHUTDOWN (m not taken) when stopping,
 * FQ_ELIMIT when the queue is full. Thread-safe. */
enum fq_err core_push(struct core *c, struct fq_msg *m);
/* Swaps the configuration and lexicon between two batches (SIGHUP). Borrowed as above. */
void core_set_config(struct core *c, const struct fq_config *cfg, const struct fq_lexicon *lex);
/* What the core has loaded, lent to a reader on another thread (the admin API, bot/admin/):
 * the roster with its generation (kv roster_gen, NULL: never imported) and the lexicon. A
 * reload replaces the core's roster; the one lent stays valid and unchanged until released.
 * core_view_take on NULL gives an empty view. Thread-safe. */
struct core_hold;
struct core_view {
    const struct fq_roster *roster;
    const char *roster_gen;
    const struct fq_lexicon *lex;
    const struct fq_config *cfg;     /* the configuration in force (kept until exit) */
    struct core_hold *hold;
};
void core_view_take(struct core *c, struct core_view *out);
void core_view_release(struct core_view *v);   /* NULL-safe; empties *v */
/* Called after every commit with the batch size (the outbox uses it to wake up). */
void core_on_commit(struct core *c, void (*fn)(void *arg), void *arg);
/* Stops taking messages, finishes the queue, joins the thread, closes the store. NULL-safe. */
void core_stop(struct core *c);
/* True while the store is open and migrated (readiness). */
bool core_ready(struct core *c);
size_t core_queue_depth(struct core *c);

#endif

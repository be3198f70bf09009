/* relay.h: the dispatcher that publishes committed outbox rows (channel "mqtt") in id order,
 * at least once, and reports which ones the broker acknowledged. See bot/core/relay.c. */
#ifndef FQ_RELAY_H
#define FQ_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/config_model.h"
#include "common/fq.h"

struct outbox;
struct mqtt;

/* Most rows handed to libmosquitto and not yet acknowledged. */
#define OUTBOX_WINDOW 512

/* The acknowledged rows: ids (n >= 1) is a malloc'd array whose ownership moves to the callee
 * (free it with free(), e.g. through fq_msg_free as FQ_MSG_DELIVERED ids). Called on the
 * dispatcher thread, or on the thread calling outbox_stop for the last acknowledgements. */
typedef void (*outbox_delivered_fn)(int64_t *ids, size_t n, void *arg);

/* Starts the dispatcher thread. It opens its own store connection on cfg->store_path (reads
 * only, unless delivered is NULL), claims mq's delivery hooks (mqtt_set_hooks) and publishes
 * every undelivered "mqtt" row from the lowest id, then new rows as outbox_kick announces them
 * (and at least once a second). cfg is read during the call only; mq is borrowed and must
 * outlive the outbox: stop the outbox before freeing mq.
 *
 * delivered: see outbox_delivered_fn; the daemon turns the ids into an FQ_MSG_DELIVERED message
 * so the core marks them with store_outbox_done inside its own transaction. delivered == NULL
 * is the self-contained mode (tests, tools): the dispatcher marks the rows done itself through
 * its own connection (store_outbox_done in a short write transaction).
 *
 * Errors: FQ_ESTORE/FQ_EBUSY/FQ_EIO from store_open, FQ_ENOMEM, FQ_EINVAL (no mq); *cause
 * (caller frees) says what failed. Caller stops with outbox_stop. */
enum fq_err outbox_start(const struct fq_config *cfg, struct mqtt *mq, outbox_delivered_fn delivered,
                         void *arg, struct outbox **out, char **cause);

/* Wakes the dispatcher: new rows were committed. Cheap, never blocks for long, thread-safe.
 * NULL-safe. */
void outbox_kick(struct outbox *ob);
/* The same with the signature of core_on_commit's hook: core_on_commit(c, outbox_on_commit, ob). */
void outbox_on_commit(void *ob);

/* Stops the dispatcher: for up to ~1 s it keeps publishing and collecting acknowledgements
 * while connected, then reports the last acknowledged ids (delivered, or marked done), releases
 * mq's hooks and closes its store connection. Rows not acknowledged stay undelivered in the
 * store and are published again by the next outbox_start (same event_id). NULL-safe. */
void outbox_stop(struct outbox *ob);

#endif

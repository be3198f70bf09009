/* mqtt.h: the daemon's one MQTT connection (docs/contract.md 4.1): persistent session, last will
 * and retained status, the channels' inbound subscriptions, and QoS 1 publishing with PUBACK tracking for
 * the outbox. Built on libmosquitto's threaded loop; nothing here blocks on the broker. */
#ifndef FQ_MQTT_H
#define FQ_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config_model.h"
#include "common/fq.h"

struct mqtt;

struct mqtt_opts {
    /* Read during mqtt_start only (what is needed later is copied): mqtt_host, mqtt_port,
     * mqtt_client_id, mqtt_prefix, mqtt_username, mqtt_password, mqtt_tls_ca. A SIGHUP that
     * changes them takes effect on the next start. */
    const struct fq_config *cfg;
    /* Every valid inbound message, as the channel whose topic filter it matched made it
     * (bot/chan/chan.h: the filters of every channel are subscribed). Ownership of m
     * moves to the callee (the daemon passes it to core_push and frees it if refused). Called on
     * the MQTT thread; must not block for long. NULL: inbound messages are parsed and dropped. */
    void (*on_msg)(struct fq_msg *m, void *arg);
    void *arg;
    /* Optional: called on the MQTT thread after each connection change (true: CONNACK accepted,
     * subscriptions and the online status sent; false: connection lost). */
    void (*on_state)(bool up, void *arg);
};

/* Creates the client and starts connecting in the background: returns at once even when the
 * broker is down (libmosquitto's thread reconnects with exponential backoff 1..30 s).
 * Persistent session (clean session false, MQTT 3.1.1), keepalive 30 s, TCP_NODELAY, last will
 * `{p}/status/{client_id}` retained QoS 1 {"state":"offline"} (no "at": the will is set before
 * connecting and cannot know when the connection will be lost). opts is copied.
 * Errors: FQ_ECONFIG (bad TLS file, client id, ...) or FQ_ENOMEM, with *cause (caller frees).
 * Caller frees with mqtt_free. */
enum fq_err mqtt_start(const struct mqtt_opts *opts, struct mqtt **out, char **cause);

/* Clean shutdown: publishes the retained offline status {"state":"offline","at":<now>} (waiting up to ~1 s for its PUBACK when
 * connected), disconnects, stops the thread, frees. Messages still queued in libmosquitto are
 * dropped (the outbox rows behind them stay undelivered in the store). NULL-safe. Whoever set
 * hooks (mqtt_set_hooks) must have removed them or be done with the connection. */
void mqtt_free(struct mqtt *mq);

/* True between an accepted CONNACK and the next disconnect. Thread-safe. */
bool mqtt_connected(const struct mqtt *mq);

/* Publishes at QoS 1. On FQ_OK the message is in libmosquitto's queue (*mid, if not NULL, is its
 * message id) and will be sent, and resent after a reconnect, until the broker acknowledges it;
 * the acknowledgement is reported to the publish hook (mqtt_set_hooks). This is also FQ_OK when
 * the connection dropped at that moment: libmosquitto keeps the message queued and resends it.
 * FQ_EINVAL: the topic or payload can never be published (bad UTF-8, wildcard, too large);
 * FQ_ENOMEM; FQ_EIO for anything else. Thread-safe; topic and payload are copied. */
enum fq_err mqtt_publish(struct mqtt *mq, const char *topic, const void *payload, size_t len,
                         bool retain, int *mid);

/* Installs (or with NULLs removes) the delivery hooks; the outbox claims them. on_published(mid)
 * runs on the MQTT thread for each PUBACK of a message published through mqtt_publish (and of
 * the status messages, whose mids nobody else knows); on_state(up) on each connection change,
 * after the daemon's own on_state. Removing waits for a running hook to return, so after
 * mqtt_set_hooks(mq, NULL, NULL, NULL) the old arg may be freed. There is one slot: a second
 * caller replaces the first. Thread-safe. */
void mqtt_set_hooks(struct mqtt *mq, void (*on_published)(int mid, void *arg),
                    void (*on_state)(bool up, void *arg), void *arg);

#endif

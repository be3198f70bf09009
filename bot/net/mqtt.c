/* mqtt.c: the daemon's MQTT connection (docs/contract.md 4) on libmosquitto.
 *
 * One client, one persistent session (MQTT 3.1.1, clean session false) so that the broker keeps
 * our subscriptions and queues inbound messages while we are away, and so that libmosquitto
 * keeps every unacknowledged QoS 1 publish in its own queue across reconnects. The outbox relies
 * on that last point. Checked in the libmosquitto 2.0.11 source: mosquitto__reconnect() calls
 * message__reconnect_reset(), which puts every queued outgoing QoS 1 message back into the
 * "publish" state, and handle__connack() then calls message__retry_check(), which resends them
 * (DUP set) in queue order; the rest are released in order as PUBACKs come in. A publish made
 * while the socket is down is queued as well (send__publish fails with NO_CONN only after
 * message__queue), so such a message is not lost either; mqtt_publish() reports it as queued.
 *
 * Design choice: we run our own I/O thread around mosquitto_loop() rather than
 * mosquitto_loop_start()/mosquitto_loop_forever(). loop_forever returns for good on "fatal"
 * errors met on a live connection (MOSQ_ERR_PROTOCOL, MOSQ_ERR_TLS, EPROTO, ...), after which
 * the daemon would never reconnect; and while it sleeps between reconnects with the broker down
 * nothing but loop_stop can wake it. Our loop retries after every error with exponential backoff
 * (1, 2, 4 ... 30 s, reset on CONNACK), connects with mosquitto_reconnect_async() so a slow or
 * unreachable broker never blocks the thread for long, and sleeps on a condition variable that
 * mqtt_free() signals. The client is marked threaded (mosquitto_threaded_set) so publishes from
 * other threads only queue the packet and wake the loop through libmosquitto's socket pair.
 *
 * Inbound payloads are parsed (and so copied) inside the message callback; nothing of
 * libmosquitto's message outlives it. Payloads are never logged (they carry personal data). */
#include "bot/net/mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bot/chan/chan.h"
#include "bot/sys/log.h"
#include "bot/sys/metrics.h"
#include "common/config_model.h"
#include "common/fq.h"

#define KEEPALIVE_S 30
#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 30
#define SEND_MAXIMUM 100          /* QoS 1 messages libmosquitto keeps on the wire at once */
#define OFFLINE_ACK_WAIT_MS 1000  /* mqtt_free waits this long for the offline status PUBACK */

struct mqtt {
    struct mosquitto *mosq;
    struct mqtt_opts opts;
    char *host;
    int port;
    char *prefix;                 /* copies: the config may be swapped on SIGHUP */
    size_t prefix_len;
    char *status_topic;
    /* "{prefix}/{filter}" of every channel's MQTT topic filters, and the channel of each */
    char *subs[8];
    const struct fq_chan *sub_chan[8];
    size_t n_subs;

    atomic_bool connected;
    atomic_bool stopping;         /* no more reconnects; the loop exits once disconnected */
    atomic_bool quit;             /* the loop exits now */

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;           /* guards the fields below */
    pthread_cond_t cv;
    bool loop_exited;
    int backoff_s;
    int offline_mid;              /* mid of the offline status sent by mqtt_free, 0 if none */
    bool offline_acked;

    pthread_mutex_t hook_mu;      /* held while a hook runs, so removal waits for it */
    void (*hook_published)(int mid, void *arg);
    void (*hook_state)(bool up, void *arg);
    void *hook_arg;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void) { mosquitto_lib_init(); }

static char *strcat3(const char *a, const char *b, const char *c)
{
    struct fq_buf buf;
    buf_init(&buf);
    buf_puts(&buf, a);
    buf_puts(&buf, b);
    buf_puts(&buf, c);
    return buf_take(&buf);
}

/* The last will: the broker publishes it when it loses the connection, at a moment the daemon
 * cannot know when it registers the will (before connecting), so it carries no "at"; a
 * consumer that wants the time takes the moment it received it. */
#define WILL_JSON "{\"state\":\"offline\"}"

/* The online status (on every CONNACK) and the clean shutdown's offline status:
 * {"state":"...","at":"<RFC 3339 now>"}, now being when it is sent. Caller frees. */
static char *status_json(const char *state)
{
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    jobj_str(&o, "state", state);
    jobj_time(&o, "at", fq_now());
    jobj_end(&o);
    return buf_take(&b);
}

static enum fq_err map_mosq(int rc)
{
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
        return FQ_OK;
    case MOSQ_ERR_NOMEM:
        return FQ_ENOMEM;
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_MALFORMED_UTF8:
    case MOSQ_ERR_OVERSIZE_PACKET:
    case MOSQ_ERR_QOS_NOT_SUPPORTED:
    case MOSQ_ERR_NOT_SUPPORTED:
        return FQ_EINVAL;
    default:
        return FQ_EIO;
    }
}

/* ---- inbound --------------------------------------------------------------------------------- */
/* Counting (metrics_message_in) is left to the receiver, which counts every channel alike. */
static void deliver(struct mqtt *mq, struct fq_msg *m)
{
    if (mq->opts.on_msg)
        mq->opts.on_msg(m, mq->opts.arg);
    else
        fq_msg_free(m);
}

/* Hands the message to the channel whose topic filter it matches (bot/chan/chan.h), which
 * verifies and parses it here, inside the callback. */
static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    struct mqtt *mq = obj;
    const char *topic = msg->topic;
    if (!topic || strncmp(topic, mq->prefix, mq->prefix_len) != 0 || topic[mq->prefix_len] != '/')
        return;
    const struct fq_chan *ch = NULL;
    for (size_t i = 0; i < mq->n_subs && !ch; i++) {
        bool match = false;
        if (mosquitto_topic_matches_sub(mq->subs[i], topic, &match) == MOSQ_ERR_SUCCESS && match)
            ch = mq->sub_chan[i];
    }
    if (!ch)
        return;
    struct chan_req q = {
        .now = fq_now(),
        .topic = topic + mq->prefix_len + 1,
        .body = msg->payload ? (const char *)msg->payload : "",
        .len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
    };
    struct chan_res res = {0};
    struct fq_msg *m = NULL;
    if (ch->verify && !ch->verify(&q, &res))
        return;
    if (ch->parse(&q, &m, &res) == CHAN_CORE)
        deliver(mq, m);
    free(res.text);
}

/* ---- connection events ----------------------------------------------------------------------- */
static void call_state_hooks(struct mqtt *mq, bool up)
{
    if (mq->opts.on_state)
        mq->opts.on_state(up, mq->opts.arg);
    pthread_mutex_lock(&mq->hook_mu);
    if (mq->hook_state)
        mq->hook_state(up, mq->hook_arg);
    pthread_mutex_unlock(&mq->hook_mu);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mqtt *mq = obj;
    if (rc != 0) {
        log_warn("mqtt connection refused rc=%d reason=\"%s\"", rc, mosquitto_connack_string(rc));
        return;
    }
    pthread_mutex_lock(&mq->mu);
    mq->backoff_s = BACKOFF_MIN_S;
    pthread_mutex_unlock(&mq->mu);

    char *online = status_json("online");
    if (online) {
        int r = mosquitto_publish(mosq, NULL, mq->status_topic, (int)strlen(online), online, 1,
                                  true);
        if (r != MOSQ_ERR_SUCCESS)
            log_warn("mqtt status publish failed rc=%d", r);
        free(online);
    }
    int r = mq->n_subs ? mosquitto_subscribe_multiple(mosq, NULL, (int)mq->n_subs, mq->subs, 1,
                                                      0, NULL)
                       : MOSQ_ERR_SUCCESS;
    if (r != MOSQ_ERR_SUCCESS)
        log_warn("mqtt subscribe failed rc=%d", r);

    atomic_store(&mq->connected, true);
    metrics_mqtt_connected(1);
    log_info("mqtt connected host=%s port=%d", mq->host, mq->port);
    call_state_hooks(mq, true);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    struct mqtt *mq = obj;
    if (!atomic_exchange(&mq->connected, false))
        return;                       /* a failed attempt, not a lost connection */
    metrics_mqtt_connected(0);
    if (rc == 0)
        log_info("mqtt disconnected");
    else
        log_warn("mqtt connection lost rc=%d", rc);
    call_state_hooks(mq, false);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    struct mqtt *mq = obj;
    pthread_mutex_lock(&mq->mu);
    if (mq->offline_mid && mid == mq->offline_mid) {
        mq->offline_acked = true;
        pthread_cond_broadcast(&mq->cv);
    }
    pthread_mutex_unlock(&mq->mu);
    pthread_mutex_lock(&mq->hook_mu);
    if (mq->hook_published)
        mq->hook_published(mid, mq->hook_arg);
    pthread_mutex_unlock(&mq->hook_mu);
}

/* ---- the I/O thread -------------------------------------------------------------------------- */
/* Sleeps up to ms on mq->cv; returns early when stopping. */
static void nap(struct mqtt *mq, int64_t ms)
{
    struct timespec ts;
    fq_deadline(&ts, CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&mq->mu);
    while (!atomic_load(&mq->stopping)) {
        if (pthread_cond_timedwait(&mq->cv, &mq->mu, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&mq->mu);
}

static void *io_main(void *arg)
{
    struct mqtt *mq = arg;
    log_thread_name("fq-mqtt");
    bool need_connect = false;
    while (!atomic_load(&mq->quit)) {
        if (need_connect) {
            if (atomic_load(&mq->stopping))
                break;
            pthread_mutex_lock(&mq->mu);
            int delay = mq->backoff_s;
            mq->backoff_s = delay * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : delay * 2;
            pthread_mutex_unlock(&mq->mu);
            nap(mq, (int64_t)delay * 1000);
            if (atomic_load(&mq->stopping))
                break;
            int rc = mosquitto_reconnect_async(mq->mosq);
            if (rc != MOSQ_ERR_SUCCESS) {
                log_debug("mqtt reconnect failed rc=%d", rc);
                continue;
            }
            need_connect = false;
        }
        int rc = mosquitto_loop(mq->mosq, 500, 1);
        if (rc == MOSQ_ERR_SUCCESS)
            continue;
        if (atomic_load(&mq->stopping))
            break;
        if (rc != MOSQ_ERR_NO_CONN && rc != MOSQ_ERR_CONN_LOST)
            log_debug("mqtt loop error rc=%d", rc);
        need_connect = true;
    }
    pthread_mutex_lock(&mq->mu);
    mq->loop_exited = true;
    pthread_cond_broadcast(&mq->cv);
    pthread_mutex_unlock(&mq->mu);
    return NULL;
}

/* ---- public ---------------------------------------------------------------------------------- */
static void mqtt_destroy(struct mqtt *mq)
{
    if (!mq)
        return;
    if (mq->mosq)
        mosquitto_destroy(mq->mosq);
    free(mq->host);
    free(mq->prefix);
    free(mq->status_topic);
    for (size_t i = 0; i < mq->n_subs; i++)
        free(mq->subs[i]);
    pthread_cond_destroy(&mq->cv);
    pthread_mutex_destroy(&mq->mu);
    pthread_mutex_destroy(&mq->hook_mu);
    free(mq);
}

static enum fq_err fail(char **cause, enum fq_err err, const char *what, int rc)
{
    if (cause) {
        struct fq_buf b;
        buf_init(&b);
        if (rc)
            buf_printf(&b, "mqtt: %s: %s", what, mosquitto_strerror(rc));
        else
            buf_printf(&b, "mqtt: %s", what);
        *cause = buf_take(&b);
    }
    return err;
}

enum fq_err mqtt_start(const struct mqtt_opts *opts, struct mqtt **out, char **cause)
{
    enum fq_err err = FQ_OK;
    int rc;
    *out = NULL;
    if (cause)
        *cause = NULL;
    const struct fq_config *cfg = opts ? opts->cfg : NULL;
    if (!cfg || !cfg->mqtt_host || !cfg->mqtt_client_id || !*cfg->mqtt_client_id ||
        !cfg->mqtt_prefix || !*cfg->mqtt_prefix)
        return fail(cause, FQ_ECONFIG, "host, client_id and prefix are required", 0);

    pthread_once(&lib_once, lib_init);

    struct mqtt *mq = calloc(1, sizeof *mq);
    if (!mq)
        return fail(cause, FQ_ENOMEM, "out of memory", 0);
    pthread_mutex_init(&mq->mu, NULL);
    pthread_mutex_init(&mq->hook_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&mq->cv, &ca);
    pthread_condattr_destroy(&ca);
    mq->opts = *opts;
    mq->port = cfg->mqtt_port;
    mq->backoff_s = BACKOFF_MIN_S;
    mq->host = strdup(cfg->mqtt_host);
    mq->prefix = strdup(cfg->mqtt_prefix);
    mq->prefix_len = mq->prefix ? strlen(mq->prefix) : 0;
    mq->status_topic = strcat3(cfg->mqtt_prefix, "/status/", cfg->mqtt_client_id);
    bool subs_ok = true;
    for (size_t i = 0; i < chan_count(); i++) {
        const struct fq_chan *ch = chan_at(i);
        for (const char *const *f = ch->mqtt_topics; f && *f; f++) {
            if (mq->n_subs == sizeof mq->subs / sizeof *mq->subs) {
                err = fail(cause, FQ_ECONFIG, "too many channel topic filters", 0);
                goto out;
            }
            mq->sub_chan[mq->n_subs] = ch;
            if (!(mq->subs[mq->n_subs++] = strcat3(cfg->mqtt_prefix, "/", *f)))
                subs_ok = false;
        }
    }
    if (!mq->host || !mq->prefix || !mq->status_topic || !subs_ok) {
        err = fail(cause, FQ_ENOMEM, "out of memory", 0);
        goto out;
    }

    mq->mosq = mosquitto_new(cfg->mqtt_client_id, false, mq);
    if (!mq->mosq) {
        err = errno == ENOMEM ? fail(cause, FQ_ENOMEM, "out of memory", 0)
                              : fail(cause, FQ_ECONFIG, "mqtt.client_id is not usable", 0);
        goto out;
    }
    mosquitto_threaded_set(mq->mosq, true);
    mosquitto_int_option(mq->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(mq->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(mq->mosq, MOSQ_OPT_SEND_MAXIMUM, SEND_MAXIMUM);
    if (cfg->mqtt_username) {
        rc = mosquitto_username_pw_set(mq->mosq, cfg->mqtt_username, cfg->mqtt_password);
        if (rc) {
            err = fail(cause, map_mosq(rc) == FQ_ENOMEM ? FQ_ENOMEM : FQ_ECONFIG,
                       "mqtt.username", rc);
            goto out;
        }
    }
    if (cfg->mqtt_tls_ca) {
        rc = mosquitto_tls_set(mq->mosq, cfg->mqtt_tls_ca, NULL, NULL, NULL, NULL);
        if (rc) {
            err = fail(cause, FQ_ECONFIG, "mqtt.tls_ca", rc);
            goto out;
        }
    }
    rc = mosquitto_will_set(mq->mosq, mq->status_topic, (int)strlen(WILL_JSON), WILL_JSON, 1, true);
    if (rc) {
        err = fail(cause, map_mosq(rc) == FQ_ENOMEM ? FQ_ENOMEM : FQ_ECONFIG,
                   "last will (mqtt.prefix, mqtt.client_id)", rc);
        goto out;
    }
    mosquitto_connect_callback_set(mq->mosq, on_connect);
    mosquitto_disconnect_callback_set(mq->mosq, on_disconnect);
    mosquitto_publish_callback_set(mq->mosq, on_publish);
    mosquitto_message_callback_set(mq->mosq, on_message);

    /* The first attempt: a refused or unreachable broker is not an error, the I/O thread keeps
     * trying; only arguments libmosquitto rejects outright are. */
    rc = mosquitto_connect_async(mq->mosq, mq->host, mq->port, KEEPALIVE_S);
    if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM) {
        err = fail(cause, rc == MOSQ_ERR_NOMEM ? FQ_ENOMEM : FQ_ECONFIG, "mqtt.host/mqtt.port",
                   rc);
        goto out;
    }
    if (rc != MOSQ_ERR_SUCCESS)
        log_warn("mqtt broker not reachable yet host=%s port=%d rc=%d; retrying in background",
                 mq->host, mq->port, rc);

    if (pthread_create(&mq->thread, NULL, io_main, mq) != 0) {
        err = fail(cause, FQ_ENOMEM, "cannot start the MQTT thread", 0);
        goto out;
    }
    mq->thread_started = true;
    *out = mq;
    mq = NULL;
out:
    mqtt_destroy(mq);
    return err;
}

bool mqtt_connected(const struct mqtt *mq)
{
    return mq && atomic_load(&((struct mqtt *)mq)->connected);
}

enum fq_err mqtt_publish(struct mqtt *mq, const char *topic, const void *payload, size_t len,
                         bool retain, int *mid)
{
    if (!mq || !topic || len > 268435455u)   /* MQTT's largest payload */
        return FQ_EINVAL;
    int m = 0;
    int rc = mosquitto_publish(mq->mosq, &m, topic, (int)len, payload, 1, retain);
    /* NO_CONN comes from send__publish after the message was queued: libmosquitto sends it on
     * reconnect, so to the caller it is handed over (see the header comment). */
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST)
        rc = MOSQ_ERR_SUCCESS;
    if (rc == MOSQ_ERR_SUCCESS && mid)
        *mid = m;
    return map_mosq(rc);
}

void mqtt_set_hooks(struct mqtt *mq, void (*on_published)(int mid, void *arg),
                    void (*on_state)(bool up, void *arg), void *arg)
{
    if (!mq)
        return;
    pthread_mutex_lock(&mq->hook_mu);
    mq->hook_published = on_published;
    mq->hook_state = on_state;
    mq->hook_arg = arg;
    pthread_mutex_unlock(&mq->hook_mu);
}

/* Waits on mq->cv until *flag or ms elapsed. Caller holds mq->mu. */
static void wait_flag(struct mqtt *mq, const bool *flag, int64_t ms)
{
    struct timespec ts;
    fq_deadline(&ts, CLOCK_MONOTONIC, ms);
    while (!*flag)
        if (pthread_cond_timedwait(&mq->cv, &mq->mu, &ts) == ETIMEDOUT)
            break;
}

void mqtt_free(struct mqtt *mq)
{
    if (!mq)
        return;
    atomic_store(&mq->stopping, true);
    pthread_mutex_lock(&mq->mu);
    pthread_cond_broadcast(&mq->cv);          /* wakes a reconnect backoff */
    pthread_mutex_unlock(&mq->mu);

    if (atomic_load(&mq->connected)) {
        char *offline = status_json("offline");
        if (offline) {
            pthread_mutex_lock(&mq->mu);
            int mid = 0;
            int rc = mosquitto_publish(mq->mosq, &mid, mq->status_topic, (int)strlen(offline),
                                       offline, 1, true);
            if (rc == MOSQ_ERR_SUCCESS) {
                mq->offline_mid = mid;
                wait_flag(mq, &mq->offline_acked, OFFLINE_ACK_WAIT_MS);
            }
            pthread_mutex_unlock(&mq->mu);
            free(offline);
        }
        mosquitto_disconnect(mq->mosq);
    }
    if (mq->thread_started) {
        /* Give the loop up to a second to write the DISCONNECT, then make it leave. */
        pthread_mutex_lock(&mq->mu);
        wait_flag(mq, &mq->loop_exited, 1000);
        pthread_mutex_unlock(&mq->mu);
        atomic_store(&mq->quit, true);
        pthread_join(mq->thread, NULL);
    }
    if (atomic_exchange(&mq->connected, false))
        metrics_mqtt_connected(0);
    mqtt_destroy(mq);
}

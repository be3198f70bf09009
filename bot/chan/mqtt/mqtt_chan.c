/* mqtt_chan.c: gateways and mediator commands over MQTT as a channel (docs/contract.md 4.3,
 * 4.4). bot/net/mqtt.c subscribes to the topic filters of every channel and hands each inbound
 * message here, inside libmosquitto's callback: the payload is bounded (verify) and parsed (and
 * so copied) before the callback returns. A gateway's messages have the chat body
 * (bot/chan/chat/chat_msg.c). Answers and replies are the bus's own topics, published by
 * bot/render/payload.c, so no render hook is needed here. */
#include "bot/chan/mqtt/mqtt_chan.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bot/chan/chan.h"
#include "bot/chan/chat/chat_msg.h"
#include "bot/sys/log.h"
#include "common/fq.h"

#define INBOUND "inbound/"
#define MEDIATORS "mediators/"
#define COMMANDS "/commands"

static bool get_field(json_t *o, const char *key, char **dst, const char **why, const char *bad)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) > MQTT_MAX_FIELD ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        *why = bad;
        return false;
    }
    *dst = strdup(json_string_value(v));
    if (!*dst) {
        *why = "out of memory";
        return false;
    }
    return true;
}

enum fq_err mqtt_parse_command(const char *mediator_id, const char *payload, size_t len,
                               struct fq_msg **out, const char **why)
{
    enum fq_err err = FQ_EINVAL;
    json_t *o = NULL;
    struct fq_msg *m = NULL;
    *out = NULL;
    *why = NULL;

    if (!mediator_id || !*mediator_id || strlen(mediator_id) > MQTT_MAX_FIELD) {
        *why = "bad mediator id in topic";
        goto out;
    }
    if (len > MQTT_MAX_PAYLOAD) {
        *why = "payload too large";
        goto out;
    }
    if (!fq_utf8_valid(payload, len)) {
        *why = "payload is not valid UTF-8";
        goto out;
    }
    json_error_t jerr;
    o = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o || !json_is_object(o)) {
        *why = "payload is not a JSON object";
        goto out;
    }
    m = fq_msg_new(FQ_MSG_COMMAND);
    if (!m) {
        err = FQ_ENOMEM;
        *why = "out of memory";
        goto out;
    }
    if (!get_field(o, "command", &m->command, why, "bad command") ||
        !get_field(o, "case", &m->case_no, why, "bad case") ||
        !get_field(o, "note", &m->note, why, "bad note") ||
        !get_field(o, "to", &m->to, why, "bad to") ||
        !get_field(o, "request_id", &m->request_id, why, "bad request_id"))
        goto out;
    if (!m->command || !*m->command) {
        *why = "missing command";
        goto out;
    }
    m->mediator = strdup(mediator_id);
    if (!m->mediator) {
        err = FQ_ENOMEM;
        *why = "out of memory";
        goto out;
    }
    chan_stamp(m, &chan_mqtt, FQ_IDENT_MEDIATOR, FQ_REACH_PUSH);
    *out = m;
    m = NULL;
    err = FQ_OK;
out:
    if (*why && strcmp(*why, "out of memory") == 0)
        err = FQ_ENOMEM;
    json_decref(o);
    fq_msg_free(m);
    return err;
}

/* The mediator id of a commands topic ("mediators/{id}/commands"), its length in *n; NULL when
 * the topic is not one. */
static const char *command_topic(const char *topic, size_t *n)
{
    if (!topic || strncmp(topic, MEDIATORS, strlen(MEDIATORS)) != 0)
        return NULL;
    const char *id = topic + strlen(MEDIATORS);
    const char *slash = strchr(id, '/');
    if (!slash || strcmp(slash, COMMANDS) != 0)
        return NULL;
    *n = (size_t)(slash - id);
    return id;
}

static bool is_inbound(const char *topic)
{
    return topic && strncmp(topic, INBOUND, strlen(INBOUND)) == 0;
}

static bool mqtt_verify(struct chan_req *q, struct chan_res *res)
{
    res->status = 400;
    size_t idlen = 0;
    if (is_inbound(q->topic)) {
        if (q->len > MQTT_MAX_PAYLOAD) {
            log_warn("mqtt inbound dropped reason=\"payload too large\" bytes=%zu", q->len);
            return false;
        }
        return true;
    }
    if (!command_topic(q->topic, &idlen))
        return false;                 /* not a topic of ours: nothing to say */
    if (idlen == 0 || idlen > MQTT_MAX_FIELD) {
        log_warn("mqtt command dropped reason=\"bad mediator id in topic\"");
        return false;
    }
    if (q->len > MQTT_MAX_PAYLOAD) {
        log_warn("mqtt command dropped reason=\"payload too large\"");
        return false;
    }
    return true;
}

static enum chan_parsed mqtt_parse(struct chan_req *q, struct fq_msg **out, struct chan_res *res)
{
    const char *payload = q->body ? q->body : "", *why = NULL;
    struct fq_msg *m = NULL;
    *out = NULL;
    res->status = 400;
    if (is_inbound(q->topic)) {
        const char *channel = q->topic + strlen(INBOUND);
        enum fq_err err = chat_parse(payload, q->len, &m, &why);
        if (err) {
            log_warn("mqtt inbound dropped reason=\"%s\"", why ? why : fq_strerror(err));
            return CHAN_ANSWERED;
        }
        if (!fq_streq(m->channel, channel)) {
            log_warn("mqtt inbound dropped reason=\"channel differs from topic\"");
            fq_msg_free(m);
            return CHAN_ANSWERED;
        }
        chan_stamp(m, &chan_mqtt, FQ_IDENT_GATEWAY, FQ_REACH_PUSH);
        *out = m;
        return CHAN_CORE;
    }
    size_t idlen = 0;
    const char *id = command_topic(q->topic, &idlen);
    char *mediator = id ? strndup(id, idlen) : NULL;
    if (!mediator) {
        log_error("mqtt command dropped reason=\"out of memory\"");
        return CHAN_ANSWERED;
    }
    enum fq_err err = mqtt_parse_command(mediator, payload, q->len, &m, &why);
    free(mediator);
    if (err) {
        log_warn("mqtt command dropped reason=\"%s\"", why ? why : fq_strerror(err));
        return CHAN_ANSWERED;
    }
    *out = m;
    return CHAN_CORE;
}

static const char *const topics[] = {INBOUND "+", MEDIATORS "+" COMMANDS, NULL};

const struct fq_chan chan_mqtt = {
    .name = "mqtt",
    .mqtt_topics = topics,
    .verify = mqtt_verify,
    .parse = mqtt_parse,
    .answer_pushed = true,
};

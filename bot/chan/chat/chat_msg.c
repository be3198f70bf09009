/* chat_msg.c: the body of the chat webhook (docs/contract.md 3.1), parsed once here for both the HTTP
 * endpoint and the MQTT inbound topic, and the JSON of the answers. Everything taken from the
 * body is bounded before it is copied (text only by the body, whose size the transport bounds:
 * server.max_body for HTTP, MQTT_MAX_PAYLOAD for MQTT); identifiers that become MQTT topic
 * levels (channel, user) may not contain '/', '+' or '#'. */
#include "bot/chan/chat/chat_msg.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/fq.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"

#define MAX_ID 128
#define MAX_URL 2048

static bool topic_safe(const char *s)
{
    for (; *s; s++)
        if (*s == '/' || *s == '+' || *s == '#' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

/* A required or optional string field; *why is set on a type or size problem. */
static bool get_str(json_t *o, const char *key, bool required, size_t max, char **dst,
                    const char **why, const char *why_missing, const char *why_bad)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required) {
            *why = why_missing;
            return false;
        }
        return true;
    }
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        *why = why_bad;
        return false;
    }
    *dst = strdup(json_string_value(v));
    if (!*dst) {
        *why = "out of memory";
        return false;
    }
    return true;
}

enum fq_err chat_parse(const char *body, size_t len, struct fq_msg **out, const char **why)
{
    *out = NULL;
    *why = NULL;
    if (!fq_utf8_valid(body, len)) {
        *why = "body is not valid UTF-8";
        return FQ_EINVAL;
    }
    json_error_t jerr;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        *why = "body is not valid JSON";
        return FQ_EINVAL;
    }
    enum fq_err err = FQ_EINVAL;
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    if (!m) {
        err = FQ_ENOMEM;
        goto out;
    }
    if (!json_is_object(o)) {
        *why = "body is not a JSON object";
        goto out;
    }
    if (!get_str(o, "channel", true, 32, &m->channel, why, "missing field: channel",
                 "channel must be a string of at most 32 bytes") ||
        !get_str(o, "user", true, MAX_ID, &m->user, why, "missing field: user",
                 "user must be a string of at most 128 bytes") ||
        !get_str(o, "message_id", true, MAX_ID, &m->message_id, why,
                 "missing field: message_id", "message_id must be a string of at most 128 bytes") ||
        !get_str(o, "type", true, 16, &m->type, why, "missing field: type",
                 "type must be a string") ||
        !get_str(o, "name", false, 256, &m->name, why, NULL, "name must be a short string") ||
        !get_str(o, "locale", false, 16, &m->locale, why, NULL, "locale must be a string"))
        goto out;
    /* every optional field has its type whatever the message type (a wrong type is a 400) */
    {
        json_t *v;
        if (((v = json_object_get(o, "latitude")) && !json_is_number(v) && !json_is_null(v)) ||
            ((v = json_object_get(o, "longitude")) && !json_is_number(v) && !json_is_null(v))) {
            *why = "latitude and longitude must be numbers";
            goto out;
        }
        const char *strs[] = {"text", "media_url", "label"};
        for (size_t i = 0; i < 3; i++)
            if ((v = json_object_get(o, strs[i])) && !json_is_string(v) && !json_is_null(v)) {
                *why = "text, media_url and label must be strings";
                goto out;
            }
    }
    if (!*m->channel || !topic_safe(m->channel)) {
        *why = "channel must be non-empty without '/', '+' or '#'";
        goto out;
    }
    if (!*m->user || !topic_safe(m->user)) {
        *why = "user must be non-empty without '/', '+' or '#'";
        goto out;
    }
    if (!*m->message_id) {
        *why = "message_id must be non-empty";
        goto out;
    }
    if (m->locale && fq_locale_parse(m->locale) < 0) {
        *why = "locale must be zh-CN, zh-TW or en";
        goto out;
    }
    if (strcmp(m->type, "text") == 0) {
        if (!get_str(o, "text", true, len, &m->text, why, "type text needs field: text",
                     "text must be a string"))
            goto out;
        if (!*m->text) {
            *why = "text must be non-empty";
            goto out;
        }
    } else if (strcmp(m->type, "image") == 0 || strcmp(m->type, "voice") == 0) {
        if (!get_str(o, "media_url", true, MAX_URL, &m->media_url, why,
                     "this type needs field: media_url", "media_url must be a string"))
            goto out;
        if (!get_str(o, "text", false, len, &m->text, why, NULL, "text must be a string"))
            goto out;
    } else if (strcmp(m->type, "location") == 0) {
        json_t *la = json_object_get(o, "latitude"), *lo = json_object_get(o, "longitude");
        if (!la || !lo) {
            *why = "type location needs fields: latitude, longitude";
            goto out;
        }
        if (!json_is_number(la) || !json_is_number(lo)) {
            *why = "latitude and longitude must be numbers";
            goto out;
        }
        m->latitude = json_number_value(la);
        m->longitude = json_number_value(lo);
        if (!isfinite(m->latitude) || !isfinite(m->longitude) || fabs(m->latitude) > 90 ||
            fabs(m->longitude) > 180) {
            *why = "latitude or longitude out of range";
            goto out;
        }
        m->has_location = true;
        if (!get_str(o, "label", false, 512, &m->label, why, NULL, "label must be a string"))
            goto out;
    } else {
        *why = "type must be text, image, voice or location";
        goto out;
    }
    *out = m;
    m = NULL;
    err = FQ_OK;
out:
    fq_msg_free(m);
    json_decref(o);
    return err;
}

/* Written by hand rather than with jansson: it is built once per message on the core thread,
 * where json_pack + json_dumps cost more than the rest of a conversation turn's CPU work. */
void chat_answer_write(struct fq_jobj *o, const struct fq_answer *an)
{
    jobj_key(o, "replies");
    buf_add(o->b, "[", 1);
    for (size_t i = 0; i < an->n_replies; i++) {
        if (i)
            buf_add(o->b, ",", 1);
        struct fq_jobj r = jobj_begin(o->b);
        jobj_str(&r, "text", an->replies[i]);
        jobj_end(&r);
    }
    buf_add(o->b, "]", 1);
    if (an->state)
        jobj_str(o, "state", an->state);
    if (an->n_options) {
        jobj_key(o, "options");
        buf_add(o->b, "[", 1);
        for (size_t i = 0; i < an->n_options; i++) {
            if (i)
                buf_add(o->b, ",", 1);
            struct fq_jobj r = jobj_begin(o->b);
            jobj_str(&r, "key", an->options[i].key);
            jobj_str(&r, "label", an->options[i].label);
            jobj_end(&r);
        }
        buf_add(o->b, "]", 1);
    }
    if (an->case_no)
        jobj_str(o, "case", an->case_no);
}

char *chat_answer_json(const struct fq_actions *a)
{
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    chat_answer_write(&o, &a->answer);
    jobj_end(&o);
    return buf_take(&b);
}

char *chat_error_json(const char *code, const char *message)
{
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    jobj_str(&o, "error", code);
    jobj_str(&o, "message", message ? message : code);
    jobj_end(&o);
    return buf_take(&b);
}

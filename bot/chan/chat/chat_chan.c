/* chat_chan.c: the signed chat webhook as a channel (docs/contract.md 3.1).
 *
 * verify runs on the HTTP thread before anything of the body is parsed: chat.secret configured,
 * the body within server.max_body, Content-Type application/json, the signature headers well
 * formed, the HMAC over timestamp "." body equal in constant time, then the timestamp within
 * TIMESTAMP_WINDOW of the server's clock. The HMAC is computed over the three parts in place
 * (no copy of the body) with a key made ready once per configuration (the transport's state).
 * parse is chat_parse (bot/chan/chat/chat_msg.c). The front end authenticates its users, so a
 * user may be a mediator's chat_user (FQ_IDENT_CHAT_USER); it can be answered only in the reply
 * to a message (FQ_REACH_REPLY). */
#include "bot/chan/chat/chat_chan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bot/chan/chan.h"
#include "bot/chan/chat/chat_msg.h"
#include "bot/sys/crypto.h"
#include "common/config_model.h"
#include "common/fq.h"

#define TIMESTAMP_WINDOW 300

/* chat.secret made ready for HMAC, one per configuration seen (SIGHUP keeps the old
 * configurations alive until exit, and so are these); freed by close. */
struct keys {
    pthread_mutex_t mu;
    struct {
        const struct fq_config *cfg;
        struct crypto_hmac *key;
    } hmac[16];
    size_t n;
};

static void *keys_open(void)
{
    struct keys *k = calloc(1, sizeof *k);
    if (k)
        pthread_mutex_init(&k->mu, NULL);
    return k;
}

static void keys_close(void *state)
{
    struct keys *k = state;
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++)
        crypto_hmac_free(k->hmac[i].key);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* The HMAC key of cfg's chat.secret, made on first use; NULL when it cannot be made or kept
 * (then the caller uses the one-shot function). */
static const struct crypto_hmac *key_of(struct keys *k, const struct fq_config *cfg)
{
    if (!k)
        return NULL;
    const struct crypto_hmac *key = NULL;
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < k->n && !key; i++)
        if (k->hmac[i].cfg == cfg)
            key = k->hmac[i].key;
    if (!key && k->n < sizeof k->hmac / sizeof *k->hmac &&
        (key = k->hmac[k->n].key = crypto_hmac_new(cfg->chat_secret, strlen(cfg->chat_secret))))
        k->hmac[k->n++].cfg = cfg;
    pthread_mutex_unlock(&k->mu);
    return key;
}

static bool refuse(struct chan_res *res, int status, const char *error, const char *why)
{
    res->status = status;
    res->error = error;
    res->why = why;
    return false;
}

static bool content_type_json(const struct chan_req *q)
{
    const char *ct = q->header ? q->header(q, "Content-Type") : NULL;
    if (!ct)
        return false;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static bool chat_verify(struct chan_req *q, struct chan_res *res)
{
    const struct fq_config *cfg = q->cfg;
    if (!cfg || !cfg->chat_secret)
        return refuse(res, 503, "unavailable", "chat.secret is not configured");
    if (q->too_big)
        return refuse(res, 413, "too_large", "request body exceeds server.max_body");
    if (!content_type_json(q))
        return refuse(res, 415, "unsupported_media_type", "Content-Type must be application/json");

    const char *ts = q->header ? q->header(q, "X-FQ-Timestamp") : NULL;
    const char *sig = q->header ? q->header(q, "X-FQ-Signature") : NULL;
    if (!ts || !sig || strncmp(sig, "sha256=", 7) != 0 || strlen(ts) > 20)
        return refuse(res, 401, "bad_signature", "missing or malformed signature headers");
    /* HMAC over timestamp "." body, compared in constant time */
    const char *body = q->body ? q->body : "";
    size_t tlen = strlen(ts), blen = q->len;
    unsigned char mac[32];
    char hex[65];
    const struct crypto_hmac *secret = key_of(q->state, cfg);
    if (secret) {
        const void *parts[] = {ts, ".", body};
        const size_t lens[] = {tlen, 1, blen};
        crypto_hmac_parts(secret, parts, lens, 3, mac);
    } else {
        char *signed_text = malloc(tlen + 1 + blen + 1);
        if (!signed_text)
            return refuse(res, 503, "unavailable", "out of memory");
        memcpy(signed_text, ts, tlen);
        signed_text[tlen] = '.';
        memcpy(signed_text + tlen + 1, body, blen);
        crypto_hmac_sha256(cfg->chat_secret, strlen(cfg->chat_secret), signed_text,
                           tlen + 1 + blen, mac);
        free(signed_text);
    }
    crypto_hex(mac, 32, hex);
    const char *given = sig + 7;
    if (!crypto_equal(hex, 64, given, strlen(given)))
        return refuse(res, 401, "bad_signature", "signature does not match");
    char *end = NULL;
    long long t = strtoll(ts, &end, 10);
    long long now = (long long)q->now;
    if (!end || *end || end == ts || t < now - TIMESTAMP_WINDOW || t > now + TIMESTAMP_WINDOW)
        return refuse(res, 401, "stale_timestamp",
                      "X-FQ-Timestamp is more than 300 s from the server's clock");
    return true;
}

static enum chan_parsed chat_parse_req(struct chan_req *q, struct fq_msg **out,
                                       struct chan_res *res)
{
    const char *why = NULL;
    enum fq_err err = chat_parse(q->body ? q->body : "", q->len, out, &why);
    if (err) {
        refuse(res, err == FQ_ENOMEM ? 503 : 400, err == FQ_ENOMEM ? "unavailable" : "bad_request",
               why);
        return CHAN_ANSWERED;
    }
    chan_stamp(*out, &chan_chat, FQ_IDENT_CHAT_USER, FQ_REACH_REPLY);
    return CHAN_CORE;
}

const struct fq_chan chan_chat = {
    .name = "chat",
    .http_path = "/chat/v1/messages",
    .wait_commit = true,
    .rate_limited = true,
    .open = keys_open,
    .close = keys_close,
    .verify = chat_verify,
    .parse = chat_parse_req,
};

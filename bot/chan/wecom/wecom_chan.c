/* wecom_chan.c: the WeCom app and WeCom customer service (微信客服) as channels.
 *
 * The callback (docs/wecom.md 5.1): verification (GET, HEAD) answers the decrypted echostr; a
 * message (POST) is verified, decrypted and parsed, handed to the core (or the 微信客服 puller)
 * and answered 200 with an empty body AT ONCE, without waiting for the commit: WeCom wants an
 * answer within 5 s, and its retries of a message whose commit failed or was lost in a crash
 * are safe because the core deduplicates on MsgId (or the event key) in the transaction that
 * applies the message. A message the core cannot take (queue full, stopping) gets 503, so WeCom
 * retries it. Rejections (401 signature or stale timestamp, 400 anything else) have an empty
 * body and no effect, as WeCom's side expects (vectors: "non-2xx with an empty body").
 *
 * verify checks the signature (and the age) before anything is decrypted or routed; what it has
 * read (the keys, the query, the envelope) it leaves in q->scratch for parse.
 *
 * An app member is FQ_IDENT_MEMBER (a mediator by wecom_userid); a customer is a resident. Both
 * have FQ_REACH_WINDOW: a survey for a customer is pushed only while the 微信客服 window is open;
 * one for an app member goes through the app, which has no window (handlers/survey.c tells the
 * two apart by the channel). */
#include "bot/chan/wecom/wecom_chan.h"

#include <stdlib.h>
#include <string.h>

#include "bot/chan/chan.h"
#include "bot/chan/wecom/wecom_callback.h"
#include "bot/chan/wecom/wecom_deliver.h"
#include "bot/chan/wecom/wecom_render.h"
#include "bot/sys/log.h"
#include "common/config_model.h"
#include "common/fq.h"

/* What verify read, for parse. */
struct callback {
    struct wecom_crypt wc;
    char *sig, *ts, *nonce, *echo;   /* owned */
    struct wecom_xml env;            /* POST: the verified envelope */
};

static void callback_free(struct callback *cb)
{
    if (!cb)
        return;
    wecom_crypt_cleanup(&cb->wc);
    free(cb->sig);
    free(cb->ts);
    free(cb->nonce);
    free(cb->echo);
    wecom_xml_cleanup(&cb->env);
    free(cb);
}

/* A query parameter as sent: the server has already percent-decoded it and turned "+" into a
 * space; none of these four parameters can hold a real space (hex, digits, base64), so a space
 * is turned back into the "+" that was sent (docs/wecom.md 1, last paragraph: a "+" stays a
 * "+"). */
static char *arg(const struct chan_req *q, const char *name)
{
    const char *v = q->query ? q->query(q, name) : NULL;
    char *c = v ? fq_strdup(v) : NULL;
    for (char *p = c; p && *p; p++)
        if (*p == ' ')
            *p = '+';
    return c;
}

static bool is_post(const struct chan_req *q) { return q->method && strcmp(q->method, "POST") == 0; }

/* Logs a refusal and sets the empty answer it gets. */
static void refused(const struct chan_req *q, struct chan_res *res, int rc)
{
    log_info("wecom callback refused method=%s reason=%s", q->method ? q->method : "",
             wecom_code_name(rc));
    res->status = rc == WECOM_E_SIGNATURE || rc == WECOM_E_STALE ? 401
                  : rc == WECOM_E_NOMEM                          ? 503
                                                                 : 400;
}

static bool callback_verify(struct chan_req *q, struct chan_res *res)
{
    const struct fq_config *cfg = q->cfg;
    if (!cfg || !cfg->wecom_enabled) {
        res->status = 503;
        res->error = "unavailable";
        res->why = "wecom is not enabled";
        return false;
    }
    if (q->too_big) {
        res->status = 413;
        return false;
    }
    struct callback *cb = calloc(1, sizeof *cb);
    if (!cb) {
        res->status = 503;
        return false;
    }
    if (wecom_crypt_init(&cb->wc, cfg->wecom_token, cfg->wecom_encoding_aes_key,
                         cfg->wecom_corp_id)) {
        free(cb);
        res->status = 503;
        return false;
    }
    cb->sig = arg(q, "msg_signature");
    cb->ts = arg(q, "timestamp");
    cb->nonce = arg(q, "nonce");
    int rc;
    if (!is_post(q)) {
        cb->echo = arg(q, "echostr");
        rc = wecom_url_check(&cb->wc, cb->sig, cb->ts, cb->nonce, cb->echo);
    } else {
        rc = wecom_callback_verify(&cb->wc, cb->sig, cb->ts, cb->nonce, q->body ? q->body : "",
                                   q->len, cfg->wecom_max_age, q->now, &cb->env);
    }
    if (rc) {
        refused(q, res, rc);
        callback_free(cb);
        return false;
    }
    q->scratch = cb;
    return true;
}

static enum chan_parsed callback_parse(struct chan_req *q, struct fq_msg **out,
                                       struct chan_res *res)
{
    struct callback *cb = q->scratch;
    q->scratch = NULL;
    *out = NULL;
    res->status = 200;
    int rc;
    if (!is_post(q)) {
        char *plain = NULL;
        size_t len = 0;
        rc = wecom_decrypt(&cb->wc, cb->echo, strlen(cb->echo), &plain, &len);
        if (!rc && (len == 0 || strlen(plain) != len))
            rc = WECOM_E_BUFFER;
        if (!rc)
            res->text = plain;
        else
            free(plain);
    } else {
        struct wecom_xml x;
        rc = wecom_callback_decrypt(&cb->wc, &cb->env, &x);
        if (!rc) {
            struct wecom_kf_bell bell;
            bool oom = false;
            enum wecom_route route = wecom_route_message(&x, q->now, out, &bell, &oom);
            if (*out)
                (*out)->chan = &chan_wecom;
            if (oom) {
                res->status = 503;
            } else if (route == WECOM_ROUTE_KF) {
                if (!wecom_out_bell(bell.token, bell.open_kfid))
                    res->status = 503;
                wecom_kf_bell_cleanup(&bell);
            }
            wecom_xml_cleanup(&x);
        }
    }
    if (rc)
        refused(q, res, rc);
    callback_free(cb);
    return *out ? CHAN_CORE : CHAN_ANSWERED;
}

/* MsgId, event key, or kf msgid (bot/chan/wecom/wecom_callback.c, wecom_deliver.c) */
static void wecom_scope(const struct fq_msg *m, struct fq_buf *b)
{
    buf_printf(b, "wecom:%s", m->channel);
}

static enum fq_err wecom_answer(struct fq_ctx *c, const char *channel, const char *user,
                                const struct fq_answer *an)
{
    return c->cfg->wecom_enabled ? wecom_payload_answer(c, channel, user, an) : FQ_OK;
}

static enum fq_err wecom_reply(struct fq_ctx *c, const struct fq_msg *m, const struct fq_action *x)
{
    return c->cfg->wecom_enabled ? wecom_payload_med_reply(c, m, x) : FQ_OK;
}

/* Assignment cards and notices for mediators with a wecom_userid, whatever channel caused them. */
static enum fq_err wecom_push(struct fq_ctx *c, const struct fq_action *x, const struct fq_case *k)
{
    if (!c->cfg->wecom_enabled)
        return FQ_OK;
    if (x->kind == FQ_ACT_ASSIGN)
        return wecom_payload_assign(c, x, k);
    if (x->kind == FQ_ACT_NOTIFY && x->target && x->text)
        return wecom_payload_notify(c, x, k);
    return FQ_OK;
}

static const char *const app_names[] = {"wecom", NULL};
static const char *const kf_names[] = {"wecom_kf", NULL};

const struct fq_chan chan_wecom = {
    .name = "wecom",
    .owns = app_names,
    .http_path = "/wecom/callback",
    .max_body = WECOM_MAX_BODY,
    .verify = callback_verify,
    .parse = callback_parse,
    .scope = wecom_scope,
    .prepare = wecom_inbound_prepare,
    .answer_pushed = true,
    .answer = wecom_answer,
    .reply = wecom_reply,
    .push = wecom_push,
};

const struct fq_chan chan_wecom_kf = {
    .name = "wecom_kf",
    .owns = kf_names,
    .scope = wecom_scope,
    .prepare = wecom_inbound_prepare,
    .answer_pushed = true,
    .answer = wecom_answer,
    .reply = wecom_reply,
};

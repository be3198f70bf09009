/* test_chan.c: the table of channels (bot/chan/chan.c) and each channel's request hooks: verify
 * refuses a bad signature (or an oversized payload) before anything is parsed, and parse makes
 * the struct fq_msg the core expects, marked with its channel, identity and reach. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot/chan/chan.h"
#include "bot/chan/web/web_chan.h"
#include "bot/chan/chat/chat_chan.h"
#include "bot/chan/mqtt/mqtt_chan.h"
#include "bot/chan/wecom/wecom_callback.h"
#include "bot/chan/wecom/wecom_chan.h"
#include "bot/sys/config.h"
#include "bot/sys/crypto.h"
#include "common/config_model.h"
#include "common/fq.h"

/* headers of a fake HTTP request: name, value pairs, NULL-terminated */
static const char *const *hdrs;

static const char *header(const struct chan_req *q, const char *name)
{
    (void)q;
    for (const char *const *h = hdrs; h && *h; h += 2)
        if (strcasecmp(h[0], name) == 0)
            return h[1];
    return NULL;
}

Test(chan, table_lookups)
{
    cr_assert_eq(chan_count(), 5);
    /* the workbench's commands come through its pages, never a route or topic of their own */
    cr_assert_null(chan_web.http_path);
    cr_assert_null(chan_web.mqtt_topics);
    cr_assert_null(chan_web.verify);
    cr_assert_not_null(chan_web.reply, "a command's outcome is the page's answer, not a publication");
    cr_assert_eq(chan_by_path("/chat/v1/messages"), &chan_chat);
    cr_assert_eq(chan_by_path("/wecom/callback"), &chan_wecom);
    cr_assert_null(chan_by_path("/healthz"));
    cr_assert_eq(chan_by_name("wecom"), &chan_wecom);
    cr_assert_eq(chan_by_name("wecom_kf"), &chan_wecom_kf);
    cr_assert_null(chan_by_name("web"), "a front end's channel names are its own");
    for (size_t i = 0; i < chan_count(); i++) {
        cr_assert_not_null(chan_at(i)->name);
        cr_assert_eq(chan_index(chan_at(i)), (int)i);
    }
}

static void chat_sign(const char *secret, const char *ts, const char *body, char out[80])
{
    char text[1024];
    snprintf(text, sizeof text, "%s.%s", ts, body);
    unsigned char mac[32];
    char hex[65];
    crypto_hmac_sha256(secret, strlen(secret), text, strlen(text), mac);
    crypto_hex(mac, 32, hex);
    snprintf(out, 80, "sha256=%s", hex);
}

Test(chan, chat_refuses_a_bad_signature_before_parsing_and_parses_a_good_one)
{
    struct fq_config *cfg = config_new_defaults();
    cfg->chat_secret = strdup("s3cret");
    void *st = chan_chat.open();
    char ts[24], sig[80];
    snprintf(ts, sizeof ts, "%lld", (long long)fq_now());
    /* not even JSON: a signature that does not match is refused before the body is looked at */
    const char *junk = "{{{ not json";
    chat_sign("other", ts, junk, sig);
    const char *h1[] = {"Content-Type", "application/json", "X-FQ-Timestamp", ts,
                        "X-FQ-Signature", sig, NULL};
    hdrs = h1;
    struct chan_req q = {.cfg = cfg, .now = fq_now(), .method = "POST", .body = junk,
                         .len = strlen(junk), .header = header, .state = st};
    struct chan_res res = {0};
    cr_assert_not(chan_chat.verify(&q, &res));
    cr_assert_eq(res.status, 401);
    cr_assert_str_eq(res.error, "bad_signature");

    const char *body = "{\"channel\":\"web\",\"user\":\"u-1\",\"message_id\":\"m-1\","
                       "\"type\":\"text\",\"text\":\"hello\"}";
    chat_sign("s3cret", ts, body, sig);
    q.body = body;
    q.len = strlen(body);
    res = (struct chan_res){0};
    cr_assert(chan_chat.verify(&q, &res));
    struct fq_msg *m = NULL;
    cr_assert_eq(chan_chat.parse(&q, &m, &res), CHAN_CORE);
    cr_assert_eq(m->kind, FQ_MSG_CHAT);
    cr_assert_eq(m->chan, &chan_chat);
    cr_assert_eq(m->ident, FQ_IDENT_CHAT_USER);
    cr_assert_eq(m->reach, FQ_REACH_REPLY);
    cr_assert_str_eq(m->channel, "web");
    cr_assert_str_eq(m->user, "u-1");
    cr_assert_str_eq(m->text, "hello");
    fq_msg_free(m);
    chan_chat.close(st);
    config_free(cfg);
}

Test(chan, mqtt_bounds_before_parsing_and_marks_gateways_and_commands)
{
    size_t big = MQTT_MAX_PAYLOAD + 1;
    char *junk = malloc(big);
    memset(junk, '{', big);
    struct chan_req q = {.now = fq_now(), .topic = "inbound/sms", .body = junk, .len = big};
    struct chan_res res = {0};
    cr_assert_not(chan_mqtt.verify(&q, &res));
    free(junk);

    const char *body = "{\"channel\":\"sms\",\"user\":\"138\",\"message_id\":\"m-1\","
                       "\"type\":\"text\",\"text\":\"hi\"}";
    q.body = body;
    q.len = strlen(body);
    cr_assert(chan_mqtt.verify(&q, &res));
    struct fq_msg *m = NULL;
    cr_assert_eq(chan_mqtt.parse(&q, &m, &res), CHAN_CORE);
    cr_assert_eq(m->chan, &chan_mqtt);
    cr_assert_eq(m->ident, FQ_IDENT_GATEWAY);
    cr_assert_eq(m->reach, FQ_REACH_PUSH);
    cr_assert_str_eq(m->channel, "sms");
    fq_msg_free(m);

    q.topic = "inbound/web";   /* the body names another channel than the topic */
    m = NULL;
    cr_assert_eq(chan_mqtt.parse(&q, &m, &res), CHAN_ANSWERED);
    cr_assert_null(m);

    const char *cmd = "{\"command\":\"accept\",\"case\":\"FQ1\",\"request_id\":\"r-1\"}";
    q = (struct chan_req){.now = fq_now(), .topic = "mediators/m-wang/commands", .body = cmd,
                          .len = strlen(cmd)};
    cr_assert(chan_mqtt.verify(&q, &res));
    cr_assert_eq(chan_mqtt.parse(&q, &m, &res), CHAN_CORE);
    cr_assert_eq(m->kind, FQ_MSG_COMMAND);
    cr_assert_eq(m->ident, FQ_IDENT_MEDIATOR);
    cr_assert_str_eq(m->mediator, "m-wang");
    cr_assert_str_eq(m->command, "accept");
    fq_msg_free(m);
}

/* query parameters of a fake WeCom callback */
static const char *const *args;

static const char *query(const struct chan_req *q, const char *name)
{
    (void)q;
    for (const char *const *a = args; a && *a; a += 2)
        if (strcmp(a[0], name) == 0)
            return a[1];
    return NULL;
}

#define AES_KEY "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

Test(chan, wecom_refuses_a_bad_signature_before_decrypting_and_parses_a_member_message)
{
    struct fq_config *cfg = config_new_defaults();
    cfg->wecom_enabled = true;
    cfg->wecom_token = strdup("tok");
    cfg->wecom_encoding_aes_key = strdup(AES_KEY);
    cfg->wecom_corp_id = strdup("wwcorp");
    cfg->wecom_max_age = 0;
    /* Encrypt is not even base64: the signature is checked first */
    const char *env = "<xml><ToUserName>wwcorp</ToUserName><Encrypt>!!!</Encrypt></xml>";
    const char *a1[] = {"msg_signature", "0000000000000000000000000000000000000000", "timestamp",
                        "1", "nonce", "2", NULL};
    args = a1;
    struct chan_req q = {.cfg = cfg, .now = fq_now(), .method = "POST", .body = env,
                         .len = strlen(env), .query = query};
    struct chan_res res = {0};
    cr_assert_not(chan_wecom.verify(&q, &res));
    cr_assert_eq(res.status, 401);
    cr_assert_null(res.error, "an empty body");
    cr_assert_null(q.scratch);

    struct wecom_crypt wc;
    cr_assert_eq(wecom_crypt_init(&wc, "tok", AES_KEY, "wwcorp"), WECOM_OK);
    const char *xml = "<xml><FromUserName>WangJianGuo</FromUserName><CreateTime>1</CreateTime>"
                      "<MsgType>text</MsgType><Content>hello</Content><MsgId>77</MsgId></xml>";
    char *b64 = NULL;
    cr_assert_eq(wecom_encrypt(&wc, xml, strlen(xml), NULL, &b64), WECOM_OK);
    char sig[41], envelope[4096];
    wecom_signature("tok", "1", "2", b64, strlen(b64), sig);
    snprintf(envelope, sizeof envelope, "<xml><Encrypt><![CDATA[%s]]></Encrypt></xml>", b64);
    const char *a2[] = {"msg_signature", sig, "timestamp", "1", "nonce", "2", NULL};
    args = a2;
    q.body = envelope;
    q.len = strlen(envelope);
    res = (struct chan_res){0};
    cr_assert(chan_wecom.verify(&q, &res));
    struct fq_msg *m = NULL;
    cr_assert_eq(chan_wecom.parse(&q, &m, &res), CHAN_CORE);
    cr_assert_eq(res.status, 200);
    cr_assert_eq(m->chan, &chan_wecom);
    cr_assert_eq(m->ident, FQ_IDENT_MEMBER);
    cr_assert_eq(m->reach, FQ_REACH_WINDOW);
    cr_assert_str_eq(m->channel, "wecom");
    cr_assert_str_eq(m->user, "WangJianGuo");
    cr_assert_str_eq(m->message_id, "77");
    struct fq_buf b;
    buf_init(&b);
    chan_scope(m, &b);
    cr_assert_str_eq(b.s, "wecom:wecom");
    buf_cleanup(&b);
    fq_msg_free(m);
    free(b64);
    wecom_crypt_cleanup(&wc);

    cfg->wecom_enabled = false;   /* off: a JSON 503 before anything */
    res = (struct chan_res){0};
    cr_assert_not(chan_wecom.verify(&q, &res));
    cr_assert_eq(res.status, 503);
    cr_assert_str_eq(res.error, "unavailable");
    config_free(cfg);
}

/* test_wecom_token.c: bot/chan/wecom/wecom_api.c against a tiny in-test HTTP server (libmicrohttpd on a
 * free loopback port): one token cache per credential, single-flight refresh under threads,
 * refresh-once-and-retry-once on 42001, no loop on a wrong secret, and the classification of
 * answers (errcodes, 5xx, HTML). */
#include <criterion/criterion.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/chan/wecom/wecom_api.h"

/* ---- the server --------------------------------------------------------------------------------- */
static atomic_int gettokens, sends, server_gen = 1;
static atomic_int fail_gettoken;          /* errcode gettoken answers, 0 = success */
static atomic_int send_mode;              /* 0 normal, 1 HTTP 502, 2 HTML 200 */
static atomic_int send_errcode;           /* forced errcode for message/send, 0 = none */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             const char *ctype)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **state)
{
    (void)cls, (void)method, (void)version, (void)data;
    if (!*state) {                 /* headers only; wait for the body */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*size) {
        *size = 0;
        return MHD_YES;
    }
    char body[256];
    if (strcmp(url, "/cgi-bin/gettoken") == 0) {
        atomic_fetch_add(&gettokens, 1);
        usleep(100 * 1000);        /* a slow gettoken: the window in which others must wait */
        const char *sec = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "corpsecret");
        int fail = atomic_load(&fail_gettoken);
        if (fail || !sec) {
            snprintf(body, sizeof body, "{\"errcode\":%d,\"errmsg\":\"invalid credential\"}",
                     fail ? fail : 41004);
            return reply(c, 200, body, "application/json");
        }
        snprintf(body, sizeof body,
                 "{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":\"T%d-%s\",\"expires_in\":7200}",
                 atomic_load(&server_gen), sec);
        return reply(c, 200, body, "application/json");
    }
    if (strcmp(url, "/cgi-bin/message/send") == 0) {
        atomic_fetch_add(&sends, 1);
        int mode = atomic_load(&send_mode);
        if (mode == 1)
            return reply(c, 502, "<html>bad gateway</html>", "text/html");
        if (mode == 2)
            return reply(c, 200, "<html>captive portal</html>", "text/html");
        int forced = atomic_load(&send_errcode);
        const char *tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "access_token");
        char want[64];
        snprintf(want, sizeof want, "T%d-app", atomic_load(&server_gen));
        int code = forced ? forced : (!tok ? 41001 : strcmp(tok, want) != 0 ? 42001 : 0);
        snprintf(body, sizeof body, "{\"errcode\":%d,\"errmsg\":\"x\"}", code);
        return reply(c, 200, body, "application/json");
    }
    return reply(c, 404, "{}", "application/json");
}

static struct MHD_Daemon *srv;
static char base[64];

static void setup(void)
{
    atomic_store(&gettokens, 0);
    atomic_store(&sends, 0);
    atomic_store(&server_gen, 1);
    atomic_store(&fail_gettoken, 0);
    atomic_store(&send_mode, 0);
    atomic_store(&send_errcode, 0);
    srv = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                           NULL, NULL, handler, NULL, MHD_OPTION_END);
    cr_assert_not_null(srv);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)info->port);
}

static void teardown(void) { MHD_stop_daemon(srv); }

static struct wecom_api *client(void)
{
    struct wecom_api_opts o = {.api_base = base, .corp_id = "ww1",
                               .secret = {"app", "kf"}, .timeout_ms = 3000};
    struct wecom_api *a = NULL;
    char *cause = NULL;
    cr_assert_eq(wecom_api_new(&o, &a, &cause), FQ_OK, "%s", cause ? cause : "");
    return a;
}

/* ---- tests --------------------------------------------------------------------------------------- */
struct th {
    struct wecom_api *a;
    char tok[128];
    bool ok;
    enum wecom_outcome oc;
};

static void *get_token(void *arg)
{
    struct th *t = arg;
    uint64_t gen;
    struct wecom_result r;
    t->ok = wecom_api_token(t->a, WECOM_CRED_APP, t->tok, sizeof t->tok, &gen, &r);
    return NULL;
}

Test(wecom_token, single_flight_under_threads, .init = setup, .fini = teardown)
{
    struct wecom_api *a = client();
    enum { N = 16 };
    struct th t[N];
    pthread_t tid[N];
    for (int i = 0; i < N; i++) {
        t[i] = (struct th){.a = a};
        pthread_create(&tid[i], NULL, get_token, &t[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(tid[i], NULL);
    for (int i = 0; i < N; i++) {
        cr_expect(t[i].ok);
        cr_expect_str_eq(t[i].tok, "T1-app");
    }
    cr_expect_eq(atomic_load(&gettokens), 1, "gettoken called %d times", atomic_load(&gettokens));
    cr_expect_eq(wecom_api_token_fetches(a, WECOM_CRED_APP), 1);
    /* the other credential has its own cache and its own token */
    char kf[128];
    uint64_t gen;
    struct wecom_result r;
    cr_expect(wecom_api_token(a, WECOM_CRED_KF, kf, sizeof kf, &gen, &r));
    cr_expect_str_eq(kf, "T1-kf");
    cr_expect_eq(atomic_load(&gettokens), 2);
    wecom_api_free(a);
}

static void *post_one(void *arg)
{
    struct th *t = arg;
    struct wecom_result r;
    t->oc = wecom_api_post(t->a, WECOM_CRED_APP, "message/send", "{}", &r);
    wecom_result_cleanup(&r);
    return NULL;
}

Test(wecom_token, refresh_once_on_42001_under_threads, .init = setup, .fini = teardown)
{
    struct wecom_api *a = client();
    struct th first = {.a = a};
    post_one(&first);
    cr_assert_eq(first.oc, WECOM_RES_OK);
    cr_assert_eq(atomic_load(&gettokens), 1);
    atomic_store(&server_gen, 2);          /* WeCom expired the token early */
    atomic_store(&sends, 0);
    enum { N = 8 };
    struct th t[N];
    pthread_t tid[N];
    for (int i = 0; i < N; i++) {
        t[i] = (struct th){.a = a};
        pthread_create(&tid[i], NULL, post_one, &t[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(tid[i], NULL);
    for (int i = 0; i < N; i++)
        cr_expect_eq(t[i].oc, WECOM_RES_OK, "thread %d: %d", i, t[i].oc);
    cr_expect_eq(atomic_load(&gettokens), 2, "one refresh for the burst, got %d gettokens",
                 atomic_load(&gettokens) - 1);
    cr_expect_leq(atomic_load(&sends), 2 * N, "at most one retry each");
    wecom_api_free(a);
}

Test(wecom_token, still_refused_after_refresh_is_retry_not_loop, .init = setup, .fini = teardown)
{
    struct wecom_api *a = client();
    atomic_store(&send_errcode, 42001);
    struct wecom_result r;
    cr_expect_eq(wecom_api_post(a, WECOM_CRED_APP, "message/send", "{}", &r), WECOM_RES_RETRY);
    cr_expect(r.token_refreshed);
    cr_expect_eq(atomic_load(&sends), 2, "the call and one retry");
    cr_expect_eq(atomic_load(&gettokens), 2, "the first token and one refresh");
    wecom_result_cleanup(&r);
    wecom_api_free(a);
}

Test(wecom_token, wrong_secret_is_config_error, .init = setup, .fini = teardown)
{
    struct wecom_api *a = client();
    atomic_store(&fail_gettoken, 40001);
    struct wecom_result r;
    cr_expect_eq(wecom_api_post(a, WECOM_CRED_APP, "message/send", "{}", &r), WECOM_RES_CONFIG);
    cr_expect_eq(r.errcode, 40001);
    cr_expect_eq(atomic_load(&gettokens), 1, "no loop on a wrong secret");
    cr_expect_eq(atomic_load(&sends), 0);
    wecom_result_cleanup(&r);
    wecom_api_free(a);
}

Test(wecom_token, transport_answers_classified, .init = setup, .fini = teardown)
{
    struct wecom_api *a = client();
    struct wecom_result r;
    atomic_store(&send_mode, 1);
    cr_expect_eq(wecom_api_post(a, WECOM_CRED_APP, "message/send", "{}", &r), WECOM_RES_RETRY);
    cr_expect_eq(r.http_status, 502);
    wecom_result_cleanup(&r);
    atomic_store(&send_mode, 2);
    cr_expect_eq(wecom_api_post(a, WECOM_CRED_APP, "message/send", "{}", &r), WECOM_RES_RETRY,
                 "HTML with 200 is not a success");
    wecom_result_cleanup(&r);
    atomic_store(&send_mode, 0);
    long codes[] = {-1, 45009, 45033, 60020, 40056, 48002, 95000, 95017, 81013, 95001, 95018};
    enum wecom_outcome want[] = {WECOM_RES_RETRY, WECOM_RES_RETRY, WECOM_RES_RETRY,
                                 WECOM_RES_CONFIG, WECOM_RES_CONFIG, WECOM_RES_CONFIG,
                                 WECOM_RES_CONFIG, WECOM_RES_CONFIG, WECOM_RES_DROP,
                                 WECOM_RES_DROP, WECOM_RES_DROP};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        atomic_store(&send_errcode, (int)codes[i]);
        cr_expect_eq(wecom_api_post(a, WECOM_CRED_APP, "message/send", "{}", &r), want[i],
                     "errcode %ld", codes[i]);
        cr_expect_eq(r.errcode, codes[i]);
        wecom_result_cleanup(&r);
    }
    wecom_api_free(a);
    /* nothing listens: a transport failure to retry */
    struct wecom_api_opts o = {.api_base = "http://127.0.0.1:1", .corp_id = "ww1",
                               .secret = {"app", NULL}, .timeout_ms = 1000};
    cr_assert_eq(wecom_api_new(&o, &a, NULL), FQ_OK);
    cr_expect_eq(wecom_api_post(a, WECOM_CRED_KF, "kf/send_msg", "{}", &r), WECOM_RES_RETRY);
    cr_expect_eq(r.http_status, 0);
    wecom_result_cleanup(&r);
    wecom_api_free(a);
}

Test(wecom_token, api_base_plain_http_only_loopback)
{
    const char *ok[] = {"https://qyapi.weixin.qq.com", "http://127.0.0.1:8080",
                        "http://localhost:9", "http://[::1]:80/"};
    const char *bad[] = {"http://qyapi.weixin.qq.com", "http://localhost.evil.com",
                         "ftp://127.0.0.1", "http://10.0.0.1"};
    for (size_t i = 0; i < 4; i++) {
        struct wecom_api *a = NULL;
        struct wecom_api_opts o = {.api_base = ok[i], .corp_id = "c", .secret = {"s", NULL}};
        cr_expect_eq(wecom_api_new(&o, &a, NULL), FQ_OK, "%s", ok[i]);
        wecom_api_free(a);
        char *cause = NULL;
        o.api_base = bad[i];
        cr_expect_eq(wecom_api_new(&o, &a, &cause), FQ_ECONFIG, "%s", bad[i]);
        cr_expect_not_null(cause);
        free(cause);
    }
}

/* ---- the 微信客服 window in the store (store/wecom_kf.c, migration 0002) --------------------------- */
#include "store/store.h"
#include "store/wecom_kf.h"
#include "common/fq.h"

Test(wecom_kf_window, forty_eight_hours_and_five_messages)
{
    char dir[] = "/tmp/fq-wecom-kf-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/fq.db", dir);
    struct store *s = NULL;
    char *cause = NULL;
    cr_assert_eq(store_open(path, &s, &cause), FQ_OK, "%s", cause ? cause : "");
    int64_t t0 = 1700000000;
    cr_expect_not(wecom_kf_can_reach(s, "wm1", t0), "never wrote: unreachable");
    cr_assert_eq(store_wecom_kf_inbound(s, "wm1", t0), FQ_OK);
    for (int i = 0; i < WECOM_KF_MAX_SENT; i++) {
        cr_expect(wecom_kf_can_reach(s, "wm1", t0 + 10), "message %d", i + 1);
        cr_assert_eq(store_wecom_kf_sent(s, "wm1"), FQ_OK);
    }
    cr_expect_not(wecom_kf_can_reach(s, "wm1", t0 + 10), "a sixth message");
    cr_assert_eq(store_wecom_kf_blocked(s, "wm1", "count_5", t0 + 10), FQ_OK);
    struct wecom_kf_state st;
    cr_assert_eq(store_wecom_kf_get(s, "wm1", &st), FQ_OK);
    cr_expect_eq(st.sent_since, 5);
    cr_expect_str_eq(st.blocked_reason, "count_5");
    /* a new customer message opens a fresh window */
    cr_assert_eq(store_wecom_kf_inbound(s, "wm1", t0 + 100), FQ_OK);
    cr_expect(wecom_kf_can_reach(s, "wm1", t0 + 100));
    cr_assert_eq(store_wecom_kf_get(s, "wm1", &st), FQ_OK);
    cr_expect_eq(st.sent_since, 0);
    cr_expect_str_eq(st.blocked_reason, "");
    /* 48 h after the last customer message it closes; an older message does not reopen it */
    cr_expect(wecom_kf_can_reach(s, "wm1", t0 + 100 + WECOM_KF_WINDOW_S - 1));
    cr_expect_not(wecom_kf_can_reach(s, "wm1", t0 + 100 + WECOM_KF_WINDOW_S));
    cr_assert_eq(store_wecom_kf_inbound(s, "wm1", t0), FQ_OK);
    cr_expect_not(wecom_kf_can_reach(s, "wm1", t0 + 100 + WECOM_KF_WINDOW_S));
    cr_expect_eq(store_wecom_kf_get(s, "nobody", &st), FQ_ENOTFOUND);
    store_close(s);
    unlink(path);
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
}

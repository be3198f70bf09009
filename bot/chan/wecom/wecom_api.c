/* wecom_api.c: the libcurl client of the WeCom API (docs/wecom.md 7, 8).
 *
 * Design choices:
 * - Connection reuse: a small pool of curl easy handles (each keeps its own connection cache);
 *   a caller takes one for the call and gives it back, so a delivery thread that sends many
 *   messages reuses one keep-alive connection, and concurrent callers (tests, the kf puller)
 *   get their own. Timeouts: connect 5 s, whole request 10 s (docs/wecom.md 7.1), configurable.
 * - One token cache per credential (app secret, kf secret): the token, its generation, and the
 *   monotonic time after which it is refreshed (expires_in minus a margin of a tenth, at most
 *   60 s). Refresh is single-flight: the first caller that finds the cache stale fetches, the
 *   others wait on a condition variable for that fetch's outcome (a failure included), so a
 *   burst of senders behind an expired token causes one gettoken.
 * - Refresh-once-and-retry-once on 40001/40014/42001: the failed token's generation is dropped
 *   (a no-op if another thread already replaced it) and the call is repeated once.
 * - Errors are branched on errcode only (never errmsg); a 200 with HTML or broken JSON is a
 *   transport-like failure to retry, not a success. Secrets and tokens never reach a log line. */
#include "bot/chan/wecom/wecom_api.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bot/sys/log.h"
#include "common/fq.h"

#define POOL_MAX 4
#define MAX_ANSWER (1024 * 1024)
#define TOKEN_MAX 1024

struct tcache {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char token[TOKEN_MAX];
    bool valid;
    int64_t refresh_at;              /* fq_mono_ms after which the token is fetched again */
    uint64_t gen;                    /* generation of token */
    bool fetching;
    uint64_t attempts;               /* finished fetches, success or not */
    struct wecom_result last;        /* outcome of the last failed fetch (body NULL) */
    uint64_t fetches;
};

struct wecom_api {
    char *base, *corp_id;
    char *secret[WECOM_CRED__COUNT];
    long connect_timeout_ms, timeout_ms;
    struct tcache tc[WECOM_CRED__COUNT];
    pthread_mutex_t pool_mu;
    CURL *pool[POOL_MAX];
    size_t n_pool;
    atomic_bool cancelled;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void wecom_result_cleanup(struct wecom_result *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

enum wecom_outcome wecom_classify_errcode(long e)
{
    switch (e) {
    case 0:
        return WECOM_RES_OK;
    case -1: case 45009: case 45033: case 40001: case 40014: case 42001:
        return WECOM_RES_RETRY;
    case 60020: case 40056: case 48002: case 93000: case 40013: case 41002: case 41004:
    case 95000: case 95004: case 95011: case 95012: case 95017:
        return WECOM_RES_CONFIG;
    default:
        return WECOM_RES_DROP;
    }
}

/* ---- set-up ---------------------------------------------------------------------------------- */
static bool loopback_http(const char *base)
{
    const char *h = base + strlen("http://");
    const char *hosts[] = {"127.", "localhost", "[::1]"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(hosts[i]);
        if (strncasecmp(h, hosts[i], n) != 0)
            continue;
        if (i == 0)
            return true;
        char nx = h[n];
        if (nx == '\0' || nx == ':' || nx == '/')
            return true;
    }
    return false;
}

enum fq_err wecom_api_new(const struct wecom_api_opts *o, struct wecom_api **out, char **cause)
{
    *out = NULL;
    if (cause)
        *cause = NULL;
    const char *base = o->api_base ? o->api_base : "https://qyapi.weixin.qq.com";
    if (strncasecmp(base, "https://", 8) != 0 &&
        !(strncasecmp(base, "http://", 7) == 0 && loopback_http(base))) {
        if (cause)
            *cause = fq_strdup("wecom.api_base: must be https://, or plain http:// to a loopback "
                               "address only");
        return FQ_ECONFIG;
    }
    pthread_once(&curl_once, curl_init_once);
    struct wecom_api *a = calloc(1, sizeof *a);
    if (!a)
        return FQ_ENOMEM;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    a->base = fq_strndup(base, bl);
    a->corp_id = fq_strdup(o->corp_id ? o->corp_id : "");
    bool oom = !a->base || !a->corp_id;
    for (int i = 0; i < WECOM_CRED__COUNT; i++) {
        const char *sec = o->secret[i] ? o->secret[i] : o->secret[WECOM_CRED_APP];
        a->secret[i] = fq_strdup(sec ? sec : "");
        oom |= !a->secret[i];
        pthread_mutex_init(&a->tc[i].mu, NULL);
        pthread_cond_init(&a->tc[i].cv, NULL);
    }
    pthread_mutex_init(&a->pool_mu, NULL);
    a->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
    a->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    if (oom) {
        wecom_api_free(a);
        return FQ_ENOMEM;
    }
    *out = a;
    return FQ_OK;
}

void wecom_api_free(struct wecom_api *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_pool; i++)
        curl_easy_cleanup(a->pool[i]);
    for (int i = 0; i < WECOM_CRED__COUNT; i++) {
        if (a->secret[i])
            memset(a->secret[i], 0, strlen(a->secret[i]));
        free(a->secret[i]);
        memset(a->tc[i].token, 0, sizeof a->tc[i].token);
        pthread_mutex_destroy(&a->tc[i].mu);
        pthread_cond_destroy(&a->tc[i].cv);
    }
    pthread_mutex_destroy(&a->pool_mu);
    free(a->base);
    free(a->corp_id);
    free(a);
}

/* ---- one HTTP exchange ----------------------------------------------------------------------- */
static CURL *take(struct wecom_api *a)
{
    pthread_mutex_lock(&a->pool_mu);
    CURL *c = a->n_pool ? a->pool[--a->n_pool] : NULL;
    pthread_mutex_unlock(&a->pool_mu);
    return c ? c : curl_easy_init();
}

static void give(struct wecom_api *a, CURL *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&a->pool_mu);
    if (a->n_pool < POOL_MAX) {
        a->pool[a->n_pool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&a->pool_mu);
    if (c)
        curl_easy_cleanup(c);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct fq_buf *b = arg;
    size_t len = size * n;
    if (b->len + len > MAX_ANSWER)
        return 0;                    /* abort: an answer this big is not WeCom's */
    buf_add(b, p, len);
    return b->oom ? 0 : len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    struct wecom_api *a = arg;
    return atomic_load(&a->cancelled) ? 1 : 0;
}

void wecom_api_cancel(struct wecom_api *a)
{
    if (a)
        atomic_store(&a->cancelled, true);
}

/* GET (json NULL) or POST json to url; fills res (http_status, body, errcode, outcome). */
static void exchange(struct wecom_api *a, const char *url, const char *json, struct wecom_result *res)
{
    memset(res, 0, sizeof *res);
    CURL *c = atomic_load(&a->cancelled) ? NULL : take(a);
    if (!c) {
        res->outcome = WECOM_RES_RETRY;
        return;
    }
    struct fq_buf b;
    buf_init(&b);
    struct curl_slist *hdr = NULL;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, a->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
    if (json) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json; charset=utf-8");
        hdr = curl_slist_append(hdr, "Expect:");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    give(a, c);
    res->http_status = cc == CURLE_OK ? status : 0;
    res->body = buf_take(&b);
    buf_cleanup(&b);
    if (cc != CURLE_OK) {
        log_warn("wecom api transport error err=\"%s\"", curl_easy_strerror(cc));
        res->outcome = WECOM_RES_RETRY;
        return;
    }
    if (status >= 500 || status == 429) {
        res->outcome = WECOM_RES_RETRY;
        return;
    }
    if (status != 200) {
        res->outcome = WECOM_RES_CONFIG;
        return;
    }
    json_t *o = res->body ? json_loads(res->body, 0, NULL) : NULL;
    json_t *ec = o ? json_object_get(o, "errcode") : NULL;
    if (!o || !json_is_integer(ec)) {
        res->outcome = WECOM_RES_RETRY;   /* HTML from a proxy, truncated JSON: not a success */
        json_decref(o);
        return;
    }
    res->errcode = (long)json_integer_value(ec);
    res->outcome = wecom_classify_errcode(res->errcode);
    json_decref(o);
}

/* ---- tokens ---------------------------------------------------------------------------------- */
static char *escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *r = fq_strdup(e);
    curl_free(e);
    return r;
}

/* One gettoken for cred. On success fills token/ttl. */
static bool fetch_token(struct wecom_api *a, enum wecom_cred cred, char *token, size_t size,
                        long *ttl, struct wecom_result *res)
{
    char *cid = escape(a->corp_id), *sec = escape(a->secret[cred]);
    struct fq_buf u;
    buf_init(&u);
    buf_printf(&u, "%s/cgi-bin/gettoken?corpid=%s&corpsecret=%s", a->base, cid ? cid : "",
               sec ? sec : "");
    if (sec)
        memset(sec, 0, strlen(sec));
    free(cid);
    free(sec);
    if (u.oom) {
        buf_cleanup(&u);
        memset(res, 0, sizeof *res);
        res->outcome = WECOM_RES_RETRY;
        return false;
    }
    exchange(a, u.s, NULL, res);
    memset(u.s, 0, u.len);
    buf_cleanup(&u);
    if (res->outcome == WECOM_RES_OK) {
        json_t *o = json_loads(res->body, 0, NULL);
        const char *t = json_string_value(json_object_get(o, "access_token"));
        json_t *ex = json_object_get(o, "expires_in");
        if (t && *t && strlen(t) < size) {
            snprintf(token, size, "%s", t);
            *ttl = json_is_integer(ex) ? (long)json_integer_value(ex) : 7200;
        } else {
            res->outcome = WECOM_RES_RETRY;
        }
        json_decref(o);
    } else if (res->errcode == 40001) {
        res->outcome = WECOM_RES_CONFIG;      /* from gettoken: a wrong secret, do not loop */
    }
    if (res->outcome != WECOM_RES_OK)
        log_error("wecom gettoken failed cred=%s errcode=%ld http=%ld",
                  cred == WECOM_CRED_APP ? "app" : "kf", res->errcode, res->http_status);
    return res->outcome == WECOM_RES_OK;
}

bool wecom_api_token(struct wecom_api *a, enum wecom_cred cred, char *buf, size_t size,
                     uint64_t *gen, struct wecom_result *res)
{
    struct tcache *t = &a->tc[cred];
    memset(res, 0, sizeof *res);
    pthread_mutex_lock(&t->mu);
    for (;;) {
        if (t->valid && fq_mono_ms() < t->refresh_at) {
            snprintf(buf, size, "%s", t->token);
            *gen = t->gen;
            pthread_mutex_unlock(&t->mu);
            return true;
        }
        if (!t->fetching)
            break;
        uint64_t seen = t->attempts;
        while (t->fetching && t->attempts == seen)
            pthread_cond_wait(&t->cv, &t->mu);
        if (!t->valid && t->attempts != seen) {   /* the fetch we waited for failed */
            res->outcome = t->last.outcome;
            res->errcode = t->last.errcode;
            res->http_status = t->last.http_status;
            pthread_mutex_unlock(&t->mu);
            return false;
        }
    }
    t->fetching = true;
    t->fetches++;
    pthread_mutex_unlock(&t->mu);

    char tok[TOKEN_MAX];
    long ttl = 0;
    bool ok = fetch_token(a, cred, tok, sizeof tok, &ttl, res);
    if (ok)
        wecom_result_cleanup(res);   /* the caller gets the token, not gettoken's answer */

    pthread_mutex_lock(&t->mu);
    t->fetching = false;
    t->attempts++;
    if (ok) {
        long margin = ttl / 10 < 60 ? ttl / 10 : 60;
        snprintf(t->token, sizeof t->token, "%s", tok);
        t->valid = true;
        t->gen++;
        t->refresh_at = fq_mono_ms() + (int64_t)(ttl - margin) * 1000;
        snprintf(buf, size, "%s", tok);
        *gen = t->gen;
    } else {
        t->valid = false;
        t->last.outcome = res->outcome;
        t->last.errcode = res->errcode;
        t->last.http_status = res->http_status;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    memset(tok, 0, sizeof tok);
    return ok;
}

void wecom_api_token_invalidate(struct wecom_api *a, enum wecom_cred cred, uint64_t gen)
{
    struct tcache *t = &a->tc[cred];
    pthread_mutex_lock(&t->mu);
    if (t->valid && t->gen == gen)
        t->valid = false;
    pthread_mutex_unlock(&t->mu);
}

uint64_t wecom_api_token_fetches(struct wecom_api *a, enum wecom_cred cred)
{
    struct tcache *t = &a->tc[cred];
    pthread_mutex_lock(&t->mu);
    uint64_t n = t->fetches;
    pthread_mutex_unlock(&t->mu);
    return n;
}

/* ---- calls ----------------------------------------------------------------------------------- */
static bool token_error(long e) { return e == 40001 || e == 40014 || e == 42001; }

/* A call with the token of cred: a POST of json, or a GET when json is NULL. */
static enum wecom_outcome call(struct wecom_api *a, enum wecom_cred cred, const char *path,
                               const char *json, struct wecom_result *res)
{
    memset(res, 0, sizeof *res);
    bool refreshed = false;
    for (int round = 0; round < 2; round++) {
        char tok[TOKEN_MAX];
        uint64_t gen = 0;
        wecom_result_cleanup(res);
        if (!wecom_api_token(a, cred, tok, sizeof tok, &gen, res))
            return res->outcome;
        struct fq_buf u;
        buf_init(&u);
        buf_printf(&u, "%s/cgi-bin/%s%saccess_token=%s", a->base, path,
                   strchr(path, '?') ? "&" : "?", tok);
        memset(tok, 0, sizeof tok);
        if (u.oom) {
            buf_cleanup(&u);
            res->outcome = WECOM_RES_RETRY;
            return res->outcome;
        }
        exchange(a, u.s, json, res);
        memset(u.s, 0, u.len);
        buf_cleanup(&u);
        res->token_refreshed = refreshed;
        if (!token_error(res->errcode))
            break;
        /* refresh once, retry once */
        wecom_api_token_invalidate(a, cred, gen);
        if (round == 0) {
            log_info("wecom token refused errcode=%ld path=%s; refreshing once", res->errcode,
                     path);
            refreshed = true;
        }
    }
    return res->outcome;
}

enum wecom_outcome wecom_api_post(struct wecom_api *a, enum wecom_cred cred, const char *path,
                                  const char *json, struct wecom_result *res)
{
    return call(a, cred, path, json, res);
}

enum wecom_outcome wecom_api_get(struct wecom_api *a, enum wecom_cred cred, const char *path,
                                 const char *name, const char *value, struct wecom_result *res)
{
    char *v = escape(value ? value : "");
    struct fq_buf p;
    buf_init(&p);
    buf_printf(&p, "%s?%s=%s", path, name, v ? v : "");
    free(v);
    if (p.oom) {
        buf_cleanup(&p);
        memset(res, 0, sizeof *res);
        res->outcome = WECOM_RES_RETRY;
        return res->outcome;
    }
    enum wecom_outcome o = call(a, cred, p.s, NULL, res);
    buf_cleanup(&p);
    return o;
}

enum wecom_outcome wecom_api_robot_send(struct wecom_api *a, const char *key, const char *json,
                                        struct wecom_result *res)
{
    char *k = escape(key ? key : "");
    struct fq_buf u;
    buf_init(&u);
    buf_printf(&u, "%s/cgi-bin/webhook/send?key=%s", a->base, k ? k : "");
    free(k);
    if (u.oom) {
        buf_cleanup(&u);
        memset(res, 0, sizeof *res);
        res->outcome = WECOM_RES_RETRY;
        return res->outcome;
    }
    exchange(a, u.s, json, res);
    memset(u.s, 0, u.len);
    buf_cleanup(&u);
    return res->outcome;
}

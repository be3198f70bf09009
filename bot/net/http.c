/* http.c: the HTTP face of the daemon (docs/contract.md 3), on libmicrohttpd with a thread pool.
 *
 * A channel's request (bot/chan/chan.h: the route's path names the channel) is verified, parsed
 * and, where the channel says so, rate-limited on the HTTP thread, then handed to the core; for a
 * channel answered after the commit (the chat webhook) the connection is SUSPENDED rather than
 * blocking a worker, and resumed by the core after the batch that holds it has committed. So two
 * HTTP threads can keep hundreds of requests in one group commit, and nothing is answered
 * before it is durable. Rejected requests never reach the core: nothing is stored. */
#include "bot/net/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "store/store.h"
#include "bot/admin/admin.h"
#include "bot/web/stats_api.h"
#include "bot/chan/chat/chat_msg.h"
#include "bot/core/core.h"
#include "bot/sys/crypto.h"
#include "bot/sys/log.h"
#include "bot/sys/metrics.h"
#include "bot/net/ratelimit.h"
#include "bot/admin/roster_file.h"
#include "bot/chan/chan.h"
#include "bot/web/web.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"

#define RATE_BURST 30
#define RATE_PERIOD_MS 60000

struct http {
    struct MHD_Daemon *d;
    struct core *core;
    const struct fq_config *cfg;
    struct ratelimit *rl;
    atomic_int inflight;
    atomic_int active;    /* requests whose headers arrived and that are not completed */
    pthread_mutex_t mu;
    /* each channel's own state (fq_chan.open), by table index; freed by http_stop */
    void *chan_state[16];
    struct web *web;      /* the workbench under /app/ (bot/web/web.h) */
};

/* Per-request state, owned by MHD's con_cls slot until the completed callback frees it. */
struct req {
    enum metrics_endpoint ep;
    const struct fq_chan *chan;   /* the channel the route serves, or NULL */
    struct fq_buf body;
    bool too_big;
    bool suspended, answered;
    bool counted;         /* in h->inflight until the request completes */
    struct MHD_Connection *conn;
    struct http *h;
    int status;
    char *answer;         /* JSON, owned */
    bool close;           /* answer with Connection: close and drop the connection */
    const char *allow;    /* the Allow header of a 405 (static) */
    const char *www_auth; /* the WWW-Authenticate header of a 401 (static) */
    struct web_res *wres; /* a workbench request's answer, kept while it waits for the core */
    struct fq_msg *wmsg;  /* and its message, back from the core */
};

static const struct fq_config *cfg_of(struct http *h)
{
    pthread_mutex_lock(&h->mu);
    const struct fq_config *c = h->cfg;
    pthread_mutex_unlock(&h->mu);
    return c;
}

void http_set_config(struct http *h, const struct fq_config *cfg)
{
    pthread_mutex_lock(&h->mu);
    h->cfg = cfg;
    pthread_mutex_unlock(&h->mu);
}

static enum MHD_Result send_body(struct MHD_Connection *conn, struct req *r, int status,
                                 const char *ctype, const char *body)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                                MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (r && r->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (r && r->allow && status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r && r->www_auth && status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, r->www_auth);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    metrics_request(r ? r->ep : EP_OTHER, status);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, struct req *r, int status,
                                 const char *json)
{
    return send_body(conn, r, status, "application/json; charset=utf-8", json ? json : "{}");
}

static enum MHD_Result send_error(struct MHD_Connection *conn, struct req *r, int status,
                                  const char *code, const char *message)
{
    char *j = chat_error_json(code, message);
    enum MHD_Result ret = send_json(conn, r, status, j ? j : "{\"error\":\"internal\"}");
    free(j);
    return ret;
}

/* Called by the core after commit, on the core thread: keep the answer, wake the connection. */
static void on_done(struct fq_msg *m, void *arg)
{
    struct req *r = arg;
    r->status = m->status ? m->status : 500;
    r->answer = m->answer;
    m->answer = NULL;
    fq_msg_free(m);
    r->answered = true;
    MHD_resume_connection(r->conn);
}

/* Hands m to the core and suspends the connection until on_done. */
static enum MHD_Result to_core(struct http *h, struct req *r, struct MHD_Connection *conn,
                               struct fq_msg *m)
{
    m->done = on_done;
    m->done_arg = r;
    r->conn = conn;
    r->suspended = true;
    r->counted = true;
    atomic_fetch_add(&h->inflight, 1);
    MHD_suspend_connection(conn);
    enum fq_err err = core_push(h->core, m);
    if (err) {
        /* not taken: answer now (resume first: we are on the connection's own thread) */
        atomic_fetch_sub(&h->inflight, 1);
        r->counted = false;
        MHD_resume_connection(conn);
        r->suspended = false;
        fq_msg_free(m);
        return send_error(conn, r, 503, "unavailable",
                          err == FQ_ELIMIT ? "too busy, try again" : "shutting down");
    }
    return MHD_YES;
}

static const char *req_header(const struct chan_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

static const char *req_query(const struct chan_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* The answer a channel decided on: a JSON error, a text of its own, or an empty text. Frees
 * res->text. */
static enum MHD_Result send_res(struct MHD_Connection *conn, struct req *r, struct chan_res *res)
{
    enum MHD_Result ret;
    if (res->error)
        ret = send_error(conn, r, res->status, res->error, res->why);
    else
        ret = send_body(conn, r, res->status, "text/plain; charset=utf-8",
                        res->text ? res->text : "");
    free(res->text);
    res->text = NULL;
    return ret;
}

/* A request of channel ch: verified, then parsed (bot/chan/chan.h), then to the core. */
static enum MHD_Result chan_request(struct http *h, struct req *r, struct MHD_Connection *conn,
                                    const struct fq_config *cfg, const char *method)
{
    const struct fq_chan *ch = r->chan;
    int at = chan_index(ch);
    struct chan_req q = {
        .cfg = cfg,
        .now = fq_now(),
        .method = method,
        .body = r->body.s ? r->body.s : "",
        .len = r->body.len,
        .too_big = r->too_big,
        .header = req_header,
        .query = req_query,
        .conn = conn,
        .state = at >= 0 && (size_t)at < sizeof h->chan_state / sizeof *h->chan_state
                     ? h->chan_state[at]
                     : NULL,
    };
    struct chan_res res = {.status = 400};
    struct fq_msg *m = NULL;
    if (!ch->verify || !ch->verify(&q, &res) || ch->parse(&q, &m, &res) != CHAN_CORE)
        return send_res(conn, r, &res);
    if (ch->rate_limited) {
        struct fq_buf key;
        buf_init(&key);
        buf_printf(&key, "%s\x1f%s", m->channel, m->user);
        bool ok = key.s && ratelimit_take(h->rl, key.s, fq_mono_ms());
        buf_cleanup(&key);
        if (!ok) {
            fq_msg_free(m);
            free(res.text);
            return send_error(conn, r, 429, "rate_limited", "more than 30 messages a minute");
        }
    }
    metrics_message_in(ch->name);
    if (ch->wait_commit) {
        free(res.text);
        return to_core(h, r, conn, m);
    }
    if (core_push(h->core, m) != FQ_OK) {   /* m->done NULL: the core frees it */
        fq_msg_free(m);
        res.status = 503;
    }
    return send_res(conn, r, &res);
}

/* ---- the workbench (/app/, bot/web/web.h) --------------------------------------------------- */
/* Sent with every /app answer: no script, style or frame from anywhere but this origin, no
 * inline script, no framing of the pages (clickjacking), no type sniffing, no referrer to other
 * sites. */
#define WEB_CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
                "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " \
                "form-action 'self'; frame-ancestors 'none'"

static const char *web_header(const struct web_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

static const char *web_query(const struct web_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

static const char *web_cookie(const struct web_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_COOKIE_KIND, name);
}

static enum MHD_Result send_web(struct MHD_Connection *conn, struct req *r, struct web_res *res)
{
    struct MHD_Response *resp =
        res->data ? MHD_create_response_from_buffer(res->len, (void *)res->data,
                                                    MHD_RESPMEM_PERSISTENT)
                  : MHD_create_response_from_buffer(res->body.oom ? 0 : res->body.len,
                                                    res->body.s ? res->body.s : (void *)"",
                                                    MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (res->status != 304)
        MHD_add_response_header(resp, "Content-Type", res->type);
    MHD_add_response_header(resp, "Content-Security-Policy", WEB_CSP);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Cache-Control", res->cacheable && res->cache ? res->cache
                                                                                : "no-store");
    for (size_t i = 0; i < res->n_headers; i++)
        MHD_add_response_header(resp, res->hname[i], res->hvalue[i]);
    if (r->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    int status = res->body.oom ? 503 : res->status;
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    metrics_request(EP_WEB, status);
    return ret;
}

/* Called by the core after the commit of a workbench message: keep it, wake the connection. */
static void on_web_done(struct fq_msg *m, void *arg)
{
    struct req *r = arg;
    r->wmsg = m;
    r->answered = true;
    MHD_resume_connection(r->conn);
}

static enum MHD_Result web_request(struct http *h, struct req *r, struct MHD_Connection *conn,
                                   const struct fq_config *cfg, const char *method,
                                   const char *url)
{
    r->wres = malloc(sizeof *r->wres);
    if (!r->wres)
        return send_error(conn, r, 503, "unavailable", "out of memory");
    web_res_init(r->wres);
    char peer[INET6_ADDRSTRLEN] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, peer, sizeof peer);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, peer, sizeof peer);
    }
    /* a proxy in front that speaks TLS: the cookie is then sent over TLS only (Secure only
     * narrows where it goes, so trusting the header cannot weaken anything) */
    const char *xfp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
    struct web_req q = {
        .cfg = cfg,
        .now = fq_now(),
        .method = method,
        .path = url,
        .body = r->body.s ? r->body.s : "",
        .len = r->body.len,
        .too_big = r->too_big,
        .peer = peer,
        .tls = xfp && strcasecmp(xfp, "https") == 0,
        .header = web_header,
        .query = web_query,
        .cookie = web_cookie,
        .conn = conn,
    };
    if (web_handle(h->web, &q, r->wres) != WEB_CORE || !r->wres->msg)
        return send_web(conn, r, r->wres);
    struct fq_msg *m = r->wres->msg;
    r->wres->msg = NULL;
    m->done = on_web_done;
    m->done_arg = r;
    r->conn = conn;
    r->suspended = true;
    r->counted = true;
    atomic_fetch_add(&h->inflight, 1);
    MHD_suspend_connection(conn);
    enum fq_err err = core_push(h->core, m);
    if (err) {
        atomic_fetch_sub(&h->inflight, 1);
        r->counted = false;
        MHD_resume_connection(conn);
        r->suspended = false;
        web_msg_free(m);
        return send_error(conn, r, 503, "unavailable",
                          err == FQ_ELIMIT ? "too busy, try again" : "shutting down");
    }
    return MHD_YES;
}

static bool is_web_path(const char *url)
{
    return strcmp(url, "/app") == 0 || strncmp(url, "/app/", 5) == 0;
}

static enum MHD_Result roster_request(struct http *h, struct req *r, struct MHD_Connection *conn)
{
    if (r->too_big)
        return send_error(conn, r, 413, "too_large", "request body exceeds server.max_body");
    struct fq_roster *ro = NULL;
    char *problem = NULL;
    enum fq_err err = roster_json_parse(r->body.s ? r->body.s : "", r->body.len, &ro, &problem);
    if (err) {
        enum MHD_Result ret = send_error(conn, r, err == FQ_ENOMEM ? 503 : 400,
                                         err == FQ_ENOMEM ? "unavailable" : "invalid_roster",
                                         problem ? problem : fq_strerror(err));
        free(problem);
        return ret;
    }
    struct fq_msg *m = fq_msg_new(FQ_MSG_ROSTER);
    if (!m) {
        roster_free(ro);
        return send_error(conn, r, 503, "unavailable", "out of memory");
    }
    m->roster = ro;
    return to_core(h, r, conn, m);
}

/* A 督办 note from actor over org's subtree (NULL: all), answered after the core committed it. */
static enum MHD_Result supervise_request(struct http *h, struct req *r,
                                         struct MHD_Connection *conn, const char *actor,
                                         const char *org)
{
    if (r->too_big)
        return send_error(conn, r, 413, "too_large", "request body exceeds server.max_body");
    int status = 400;
    char *json = NULL;
    struct fq_msg *m = web_supervise_msg(r->body.s, r->body.len, actor, org, &status, &json);
    if (!m) {
        enum MHD_Result ret = send_json(conn, r, status, json);
        free(json);
        return ret;
    }
    return to_core(h, r, conn, m);
}

/* RFC 6750 3: a 401 names the scheme and realm; error="invalid_token" when a token was sent. */
#define BEARER_CHALLENGE "Bearer realm=\"fengqiao\""
#define BEARER_INVALID BEARER_CHALLENGE ", error=\"invalid_token\""

/* NULL when the bearer token is right, else the challenge of the 401. */
static const char *admin_refusal(const struct fq_config *cfg, struct MHD_Connection *conn)
{
    const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!a || strncasecmp(a, "Bearer ", 7) != 0)
        return BEARER_CHALLENGE;
    const char *tok = a + 7;
    if (!crypto_equal(tok, strlen(tok), cfg->admin_token, strlen(cfg->admin_token)))
        return BEARER_INVALID;
    return NULL;
}

/* A channel may take bodies above server.max_body (WeCom's envelopes: the 64 KB message of the
 * vectors is ~90 KB). */
static int64_t body_limit(const struct req *r, const struct fq_config *cfg)
{
    if (r->chan && (int64_t)r->chan->max_body > cfg->server_max_body)
        return (int64_t)r->chan->max_body;
    return cfg->server_max_body;
}

/* ---- message framing (RFC 9112 6.1, 6.3) ------------------------------------------------------
 * libmicrohttpd 0.9.75 frames a request by Transfer-Encoding: chunked even when a Content-Length
 * is there too, keeps only the first of several Content-Length lines, and waits for the close of
 * the connection when the transfer coding is anything else. Each of those lets a client make this
 * server and a proxy in front of it disagree on where a request ends (request smuggling), so the
 * headers are checked on the first call, before routing, authentication or any body is read, and
 * a refused request is answered at once and its connection closed (nothing after it is read). */
struct framing {
    int n_cl, n_te;
    bool cl_bad, cl_differ;
    const char *cl, *te;
};

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct framing *f = cls;
    if (!value)
        value = "";
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (!all_digits(value))
            f->cl_bad = true;
        else if (f->cl && strcmp(f->cl, value) != 0)
            f->cl_differ = true;
        f->cl = value;
        f->n_cl++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->te = value;
        f->n_te++;
    }
    return MHD_YES;
}

/* 0 when the request's framing is sound, else the status to refuse it with (*why: the message). */
static int framing_check(struct MHD_Connection *conn, const char *version, const char **why)
{
    struct framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, &f);
    if (f.n_te && f.n_cl) {
        *why = "both Content-Length and Transfer-Encoding";
        return 400;
    }
    if (f.cl_bad) {
        *why = "Content-Length is not a decimal number";
        return 400;
    }
    if (f.cl_differ) {
        *why = "Content-Length given twice with different values";
        return 400;
    }
    if (f.n_te && strcmp(version, MHD_HTTP_VERSION_1_1) != 0) {
        *why = "Transfer-Encoding in a request older than HTTP/1.1";
        return 400;
    }
    if (f.n_te > 1 || (f.n_te && strcasecmp(f.te, "chunked") != 0)) {
        *why = "the only transfer coding understood is chunked";
        return 501;
    }
    return 0;
}

/* ---- routes ----------------------------------------------------------------------------------
 * Every path the daemon serves, with the methods it takes (the Allow header of a 405). This table
 * is the one list of routes: the OpenAPI description (docs/openapi.yaml) is checked against it by
 * the integration tests, which read the ROUTE lines below. A prefix route matches the path
 * followed by one non-empty segment. HEAD is answered wherever GET is. */
struct route {
    const char *path;
    bool prefix;
    enum metrics_endpoint ep;
    const char *allow;
};

#define ROUTE(path, prefix, ep, allow) {path, prefix, ep, allow}
static const struct route routes[] = {
    ROUTE("/chat/v1/messages", false, EP_CHAT, "POST"),
    ROUTE("/wecom/callback", false, EP_WECOM, "GET, HEAD, POST"),
    ROUTE("/healthz", false, EP_HEALTHZ, "GET, HEAD"),
    ROUTE("/readyz", false, EP_READYZ, "GET, HEAD"),
    ROUTE("/metrics", false, EP_METRICS, "GET, HEAD"),
    ROUTE("/api/v1/cases", false, EP_ADMIN_CASES, "GET, HEAD"),
    ROUTE("/api/v1/cases/", true, EP_ADMIN_CASE, "GET, HEAD"),
    ROUTE("/api/v1/reports/monthly", false, EP_ADMIN_REPORT, "GET, HEAD"),
    ROUTE("/api/v1/roster", false, EP_ADMIN_ROSTER, "POST"),
    ROUTE("/api/v1/stats", false, EP_ADMIN_STATS, "GET, HEAD"),
    ROUTE("/api/v1/supervision", false, EP_ADMIN_SUPERVISION, "GET, HEAD"),
    ROUTE("/api/v1/supervision/notes", false, EP_ADMIN_SUPERVISE, "POST"),
};

static const struct route *route_of(const char *url)
{
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        const struct route *rt = &routes[i];
        size_t n = strlen(rt->path);
        if (rt->prefix ? strncmp(url, rt->path, n) == 0 && url[n] && !strchr(url + n, '/')
                       : strcmp(url, rt->path) == 0)
            return rt;
    }
    return NULL;
}

/* Whether method is in the route's list ("GET, HEAD, POST"). */
static bool method_ok(const struct route *rt, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = rt->allow; *p;) {
        size_t w = strcspn(p, ",");
        if (w == n && strncmp(p, method, n) == 0)
            return true;
        p += w;
        p += strspn(p, ", ");
    }
    return false;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    struct http *h = cls;
    struct req *r = *con_cls;
    const struct fq_config *cfg = cfg_of(h);

    if (!r) {                                    /* first call: headers only */
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        const struct route *rt = route_of(url);
        r->h = h;
        r->ep = rt ? rt->ep : is_web_path(url) ? EP_WEB : EP_OTHER;
        r->chan = rt ? chan_by_path(rt->path) : NULL;
        buf_init(&r->body);
        *con_cls = r;
        atomic_fetch_add(&h->active, 1);
        const char *why = NULL;
        int bad = framing_check(conn, version, &why);
        if (bad) {
            r->close = true;
            return send_error(conn, r, bad, bad == 501 ? "not_implemented" : "bad_request", why);
        }
        if (r->ep == EP_WEB) {   /* the workbench routes its own paths (bot/web/web.c) */
            const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
            if (cl && strtoull(cl, NULL, 10) > (unsigned long long)cfg->server_max_body)
                return send_error(conn, r, 413, "too_large", "request body exceeds server.max_body");
            return MHD_YES;
        }
        if (!rt)
            return send_error(conn, r, 404, "not_found", "no such endpoint");
        if (!method_ok(rt, method)) {
            r->allow = rt->allow;
            return send_error(conn, r, 405, "method_not_allowed", "method not allowed here");
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)body_limit(r, cfg))
            return send_error(conn, r, 413, "too_large", "request body exceeds server.max_body");
        return MHD_YES;
    }

    if (*upload_data_size) {                     /* body chunks, bounded */
        if (!r->too_big && r->body.len + *upload_data_size <= (size_t)body_limit(r, cfg))
            buf_add(&r->body, upload_data, *upload_data_size);
        else
            r->too_big = true;
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (r->suspended) {                          /* resumed by the core */
        if (!r->answered)
            return MHD_YES;
        r->suspended = false;
        if (r->wres) {
            struct fq_msg *m = r->wmsg;
            r->wmsg = NULL;
            web_finish(m, r->wres);
            return send_web(conn, r, r->wres);
        }
        return send_json(conn, r, r->status, r->answer);
    }
    if (r->body.oom)
        return send_error(conn, r, 503, "unavailable", "out of memory");

    if (r->chan)
        return chan_request(h, r, conn, cfg, method);
    if (r->ep == EP_WEB)
        return web_request(h, r, conn, cfg, method, url);
    switch (r->ep) {
    case EP_HEALTHZ:
        return send_json(conn, r, 200, "{\"status\":\"ok\"}");
    case EP_READYZ: {
        bool ready = core_ready(h->core);
        const char *mq = !cfg->mqtt_enabled ? "disabled"
                         : metrics_mqtt_is_connected() ? "connected" : "disconnected";
        const char *wc = !cfg->wecom_enabled ? "disabled"
                         : metrics_wecom_failing_code() ? "failing" : "ok";
        struct fq_buf b;
        buf_init(&b);
        struct fq_jobj o = jobj_begin(&b);
        jobj_str(&o, "status", ready ? "ready" : "not_ready");
        jobj_str(&o, "store", ready ? "ok" : "unavailable");
        jobj_str(&o, "mqtt", mq);
        jobj_str(&o, "wecom", wc);
        jobj_end(&o);
        enum MHD_Result ret = send_json(conn, r, ready ? 200 : 503, b.oom ? NULL : b.s);
        buf_cleanup(&b);
        return ret;
    }
    case EP_METRICS: {
        char *text = metrics_render();
        enum MHD_Result ret = send_body(conn, r, 200, "text/plain; version=0.0.4; charset=utf-8",
                                        text ? text : "");
        free(text);
        return ret;
    }
    default:
        break;
    }

    /* admin API */
    if (!cfg->admin_token)
        return send_error(conn, r, 503, "unavailable", "admin.token is not configured");
    if ((r->www_auth = admin_refusal(cfg, conn)))
        return send_error(conn, r, 401, "unauthorized", "missing or wrong bearer token");
    if (r->ep == EP_ADMIN_ROSTER)
        return roster_request(h, r, conn);
    if (r->ep == EP_ADMIN_SUPERVISE)
        return supervise_request(h, r, conn, "admin", NULL);

    struct admin_query q = {
        .status = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "status"),
        .org = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "org"),
        .since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since"),
        .limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit"),
        .month = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "month"),
        .cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor"),
        .offset = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "offset"),
        .case_no = r->ep == EP_ADMIN_CASE ? url + strlen("/api/v1/cases/") : NULL,
    };
    int status = 500;
    char *json = NULL;
    struct core_view v;   /* what the core has loaded, held for this request only */
    core_view_take(h->core, &v);
    const struct admin_have have = {.roster = v.roster, .roster_gen = v.roster_gen, .lex = v.lex};
    if (r->ep == EP_ADMIN_STATS)
        web_stats(cfg, &have, q.month, q.org && *q.org ? q.org : NULL, &status, &json);
    else if (r->ep == EP_ADMIN_SUPERVISION)
        web_supervision(cfg, &have,
                        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "within"),
                        q.org && *q.org ? q.org : NULL, &status, &json);
    else if (r->ep == EP_ADMIN_CASES)
        admin_cases(cfg, &have, &q, &status, &json);
    else if (r->ep == EP_ADMIN_CASE)
        admin_case(cfg, &have, &q, &status, &json);
    else
        admin_report(cfg, &have, &q, &status, &json);
    core_view_release(&v);
    enum MHD_Result ret = send_json(conn, r, status, json);
    free(json);
    return ret;
}

/* The request is over (answer sent, or the client went away): free its state. */
static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct req *r = *con_cls;
    if (!r)
        return;
    if (r->counted)
        atomic_fetch_sub(&r->h->inflight, 1);
    atomic_fetch_sub(&r->h->active, 1);
    buf_cleanup(&r->body);
    free(r->answer);
    if (r->wres) {
        web_res_cleanup(r->wres);
        free(r->wres);
    }
    web_msg_free(r->wmsg);
    free(r);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_warn("http \"%s\"", line);
}

/* "host:port", "[v6]:port" */
static bool parse_listen(const char *s, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return false;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return false;
    if (host[0] == '[') {
        size_t n = strlen(host);
        if (n < 2 || host[n - 1] != ']')
            return false;
        host[n - 1] = '\0';
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (strcmp(host, "") == 0 || strcmp(host, "*") == 0) {
        a->sin_addr.s_addr = htonl(INADDR_ANY);
        return true;
    }
    if (strcmp(host, "localhost") == 0)
        return inet_pton(AF_INET, "127.0.0.1", &a->sin_addr) == 1;
    return inet_pton(AF_INET, host, &a->sin_addr) == 1;
}

static void close_chans(struct http *h)
{
    for (size_t i = 0; i < chan_count() && i < sizeof h->chan_state / sizeof *h->chan_state; i++)
        if (chan_at(i)->close)
            chan_at(i)->close(h->chan_state[i]);
}

enum fq_err http_start(const struct fq_config *cfg, struct core *core, struct http **out,
                       char **cause)
{
    *out = NULL;
    struct sockaddr_storage ss;
    if (!parse_listen(cfg->server_listen, &ss)) {
        *cause = fq_strdup("server.listen: not a host:port address");
        return FQ_ECONFIG;
    }
    struct http *h = calloc(1, sizeof *h);
    if (!h)
        return FQ_ENOMEM;
    h->core = core;
    h->cfg = cfg;
    pthread_mutex_init(&h->mu, NULL);
    h->rl = ratelimit_new(RATE_BURST, RATE_PERIOD_MS);
    h->web = web_new(core, cfg);
    for (size_t i = 0; i < chan_count() && i < sizeof h->chan_state / sizeof *h->chan_state; i++)
        if (chan_at(i)->open)
            h->chan_state[i] = chan_at(i)->open();
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->server_threads,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, h,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
                            MHD_OPTION_END);
    if (!h->d || !h->rl || !h->web) {
        if (h->d)
            MHD_stop_daemon(h->d);
        *cause = fq_strdup(h->d ? "out of memory"
                                : "cannot listen on server.listen (address in use or not permitted)");
        ratelimit_free(h->rl);
        web_free(h->web);
        close_chans(h);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return FQ_EIO;
    }
    *out = h;
    return FQ_OK;
}

void http_quiesce(struct http *h)
{
    if (h && h->d) {
        MHD_socket s = MHD_quiesce_daemon(h->d);
        if (s != MHD_INVALID_SOCKET)
            close(s);
    }
}

int http_inflight(struct http *h) { return h ? atomic_load(&h->inflight) : 0; }

int http_active(struct http *h) { return h ? atomic_load(&h->active) : 0; }

void http_stop(struct http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    ratelimit_free(h->rl);
    web_free(h->web);
    close_chans(h);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* web.c: the workbench's front door (bot/web/web.h): the page table, sessions, sign-in and
 * sign-out, CSRF and origin checks, forms, the embedded assets, the page layout and the live
 * event stream. The board and the case page are bot/web/web_cases.c.
 *
 * Sign-in: at most WEB_LOGIN_RATE attempts a minute per client address (sliding window,
 * bot/net/ratelimit.c), and WEB_LOCK_FAILS failed passwords in a row lock the login for
 * WEB_LOCK_SECONDS whatever the password (kept in memory: a restart forgets a lock, the rate
 * limit still holds). A session is 32 random bytes in an HttpOnly, SameSite=Strict cookie
 * (Secure over TLS), stored only as its SHA-256, valid WEB_SESSION_SECONDS. */
#include "bot/web/web.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bot/chan/wecom/wecom_api.h"
#include "bot/core/core.h"
#include "bot/sys/log.h"
#include "bot/net/ratelimit.h"
#include "bot/web/auth.h"
#include "bot/web/assets.h"
#include "bot/web/web_internal.h"
#include "bot/web/pages.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"
#include "store/store.h"
#include "store/web_table.h"

#define WEB_LOGIN_RATE 10
#define WEB_LOCK_FAILS 5
#define WEB_LOCK_SECONDS 900
#define WEB_SESSION_SECONDS (12 * 3600)
#define LOCK_SLOTS 256
#define FORM_MAX_FIELDS 64

struct lock_slot {
    char login[WEB_LOGIN_MAX + 1];
    int fails;
    int64_t until, last;
};

struct web {
    struct core *core;
    struct wecom_api *wecom;         /* WeCom's API for the OAuth sign-in; NULL without WeCom */
    char *corp_id, *agent_id, *oauth_base;
    struct ratelimit *login_rate;
    pthread_mutex_t mu;
    struct lock_slot locks[LOCK_SLOTS];
};

struct web *web_new(struct core *core, const struct fq_config *cfg)
{
    struct web *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->core = core;
    w->login_rate = ratelimit_new(WEB_LOGIN_RATE, 60000);
    pthread_mutex_init(&w->mu, NULL);
    if (w->login_rate && cfg && cfg->wecom_enabled) {
        struct wecom_api_opts o = {.api_base = cfg->wecom_api_base, .corp_id = cfg->wecom_corp_id,
                                   .secret = {cfg->wecom_secret, NULL},
                                   .connect_timeout_ms = 3000, .timeout_ms = 5000};
        char *cause = NULL;
        if (wecom_api_new(&o, &w->wecom, &cause) != FQ_OK) {
            log_warn("web wecom sign-in off reason=\"%s\"", cause ? cause : "api");
            w->wecom = NULL;
        }
        free(cause);
        w->corp_id = fq_strdup(cfg->wecom_corp_id);
        w->agent_id = fq_strdup(cfg->wecom_agent_id);
        w->oauth_base = fq_strdup(cfg->wecom_oauth_base);
    }
    if (!w->login_rate) {
        web_free(w);
        return NULL;
    }
    return w;
}

void web_free(struct web *w)
{
    if (!w)
        return;
    wecom_api_free(w->wecom);
    free(w->corp_id);
    free(w->agent_id);
    free(w->oauth_base);
    ratelimit_free(w->login_rate);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

struct core *web_core(struct web *w) { return w->core; }

/* ---- answers --------------------------------------------------------------------------------- */
void web_res_init(struct web_res *res)
{
    memset(res, 0, sizeof *res);
    res->status = 200;
    res->type = "text/html; charset=utf-8";
    buf_init(&res->body);
}

void web_res_cleanup(struct web_res *res)
{
    buf_cleanup(&res->body);
    for (size_t i = 0; i < res->n_headers; i++) {
        free(res->hname[i]);
        free(res->hvalue[i]);
    }
    res->n_headers = 0;
    web_msg_free(res->msg);
    res->msg = NULL;
    if (res->ctx_free)
        res->ctx_free(res->ctx);
    res->ctx = NULL;
    res->ctx_free = NULL;
}

void web_res_header(struct web_res *res, const char *name, const char *value)
{
    if (res->n_headers >= WEB_MAX_HEADERS)
        return;
    res->hname[res->n_headers] = fq_strdup(name);
    res->hvalue[res->n_headers] = fq_strdup(value);
    if (res->hname[res->n_headers] && res->hvalue[res->n_headers]) {
        res->n_headers++;
    } else {
        free(res->hname[res->n_headers]);
        free(res->hvalue[res->n_headers]);
    }
}

void web_redirect(struct web_res *res, const char *to)
{
    web_buf_reset(&res->body);
    res->status = 303;
    res->type = "text/plain; charset=utf-8";
    web_res_header(res, "Location", to);
}

void web_json_error(struct web_res *res, int status, const char *code)
{
    web_buf_reset(&res->body);
    res->status = status;
    res->type = "application/json; charset=utf-8";
    static const struct { const char *code, *text; } texts[] = {
        {"not_found", "no such page or case"},
        {"unauthorized", "not signed in"},
        {"forbidden", "wrong origin or CSRF token"},
        {"method_not_allowed", "method not allowed here"},
        {"too_large", "request body exceeds server.max_body"},
        {"unsupported_media_type", "a form is application/x-www-form-urlencoded"},
        {"bad_request", "malformed request"},
        {"unavailable", "unavailable, try again"},
    };
    const char *text = code;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        if (strcmp(texts[i].code, code) == 0)
            text = texts[i].text;
    struct fq_jobj o = jobj_begin(&res->body);
    jobj_str(&o, "error", code);
    jobj_str(&o, "message", text);
    jobj_end(&o);
}

/* A page that only says something went wrong (404, 403, 429, 503), in the layout. */
void web_error_page(struct web_res *res, const struct fq_lexicon *lex, int loc, int status,
                    const struct web_user *u)
{
    char key[32];
    snprintf(key, sizeof key, "web_error_%d", status);
    web_buf_reset(&res->body);
    res->status = status;
    res->type = "text/html; charset=utf-8";
    const char *title = i18n_get(lex, loc, key);
    web_page_begin(&res->body, lex, loc, title, u, NULL);
    buf_puts(&res->body, "<section class=\"card empty\"><h1>");
    web_html(&res->body, title);
    buf_puts(&res->body, "</h1><p><a href=\"/app/\">");
    web_html(&res->body, i18n_get(lex, loc, "web_back_board"));
    buf_puts(&res->body, "</a></p></section>");
    web_page_end(&res->body, lex, loc);
}

/* ---- forms ----------------------------------------------------------------------------------- */
struct web_form {
    size_t n;
    char *name[FORM_MAX_FIELDS], *value[FORM_MAX_FIELDS];
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes n bytes (and '+' as a space); NULL on a bad escape, a NUL byte or oom. */
static char *url_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            free(out);
            return NULL;
        }
        out[k++] = c;
    }
    out[k] = '\0';
    return out;
}

struct web_form *web_form_parse(const char *body, size_t len)
{
    struct web_form *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end > i) {
            if (f->n == FORM_MAX_FIELDS) {
                web_form_free(f);
                return NULL;
            }
            const char *eq = memchr(body + i, '=', end - i);
            size_t nlen = eq ? (size_t)(eq - (body + i)) : end - i;
            char *name = url_decode(body + i, nlen);
            char *value = eq ? url_decode(eq + 1, (size_t)(body + end - eq - 1)) : fq_strdup("");
            if (!name || !value || !fq_utf8_valid(name, strlen(name)) ||
                !fq_utf8_valid(value, strlen(value))) {
                free(name);
                free(value);
                web_form_free(f);
                return NULL;
            }
            f->name[f->n] = name;
            f->value[f->n++] = value;
        }
        i = end + 1;
    }
    return f;
}

const char *web_form_get(const struct web_form *f, const char *name)
{
    for (size_t i = 0; f && i < f->n; i++)
        if (strcmp(f->name[i], name) == 0)
            return f->value[i];
    return NULL;
}

void web_form_free(struct web_form *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->name[i]);
        free(f->value[i]);
    }
    free(f);
}

/* ---- HTML ------------------------------------------------------------------------------------ */
void web_html(struct fq_buf *b, const char *s)
{
    if (!s)
        return;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if (rep) {
            buf_add(b, run, (size_t)(p - run));
            buf_puts(b, rep);
            run = p + 1;
        }
    }
    buf_puts(b, run);
}

/* The asset's link with its ETag as version, so it may be cached for good. */
void web_asset_link(struct fq_buf *b, const char *name)
{
    const struct web_asset *a = web_asset_find(name);
    buf_puts(b, "/app/static/");
    buf_puts(b, name);
    if (a) {
        buf_puts(b, "?v=");
        buf_add(b, a->etag + 1, 12);
    }
}

void web_page_begin(struct fq_buf *b, const struct fq_lexicon *lex, int loc, const char *title,
                    const struct web_user *u, const char *active)
{
    static const char *const lang[] = {"zh-CN", "zh-TW", "en"};
    buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                  "<title>", lang[loc >= 0 && loc < 3 ? loc : 0]);
    web_html(b, title);
    buf_puts(b, " · ");
    web_html(b, i18n_get(lex, loc, "web_product"));
    buf_puts(b, "</title><link rel=\"stylesheet\" href=\"");
    web_asset_link(b, "app.css");
    buf_puts(b, "\"><link rel=\"icon\" href=\"");
    web_asset_link(b, "icon.svg");
    buf_puts(b, "\"><script defer src=\"");
    web_asset_link(b, "app.js");
    buf_puts(b, "\"></script></head><body");
    if (u) {
        buf_puts(b, " data-csrf=\"");
        web_html(b, u->csrf);
        buf_puts(b, "\"");
    }
    buf_puts(b, "><header class=\"top\"><a class=\"brand\" href=\"/app/\"><img src=\"");
    web_asset_link(b, "icon.svg");
    buf_puts(b, "\" alt=\"\" width=\"28\" height=\"28\"><span>");
    web_html(b, i18n_get(lex, loc, "web_product"));
    buf_puts(b, "</span></a>");
    if (u) {
        static const char *const nav[][2] = {{"board", "/app/"}, {"stats", "/app/stats"},
                                             {"supervision", "/app/supervision"},
                                             {"roster", "/app/roster"}};
        buf_puts(b, "<nav>");
        for (size_t i = 0; i < sizeof nav / sizeof *nav; i++) {
            char key[32];
            if (i && strcmp(u->role, "mediator") == 0)
                break;   /* statistics, 督办 and roster are the offices' (bot/web/pages.h) */
            snprintf(key, sizeof key, "web_nav_%s", nav[i][0]);
            buf_printf(b, "<a href=\"%s\"%s>", nav[i][1],
                       active && strcmp(active, nav[i][0]) == 0 ? " class=\"on\"" : "");
            web_html(b, i18n_get(lex, loc, key));
            buf_puts(b, "</a>");
        }
        buf_puts(b, "</nav><div class=\"who\"><span class=\"live\" id=\"live\" title=\"");
        web_html(b, i18n_get(lex, loc, "web_live"));
        buf_puts(b, "\"></span><span>");
        web_html(b, u->login);
        buf_puts(b, " · ");
        char key[32];
        snprintf(key, sizeof key, "web_role_%s", u->role);
        web_html(b, i18n_get(lex, loc, key));
        buf_puts(b, "</span><form method=\"post\" action=\"/app/logout\">"
                    "<input type=\"hidden\" name=\"csrf\" value=\"");
        web_html(b, u->csrf);
        buf_puts(b, "\"><button class=\"link\" type=\"submit\">");
        web_html(b, i18n_get(lex, loc, "web_logout"));
        buf_puts(b, "</button></form></div>");
    }
    buf_puts(b, "</header><main>");
}

void web_page_end(struct fq_buf *b, const struct fq_lexicon *lex, int loc)
{
    buf_puts(b, "</main><footer>");
    web_html(b, i18n_get(lex, loc, "web_footer"));
    buf_puts(b, "</footer></body></html>\n");
}

/* ---- who is asking ---------------------------------------------------------------------------- */
int web_locale_of(const struct web_req *q)
{
    const char *l = q->query ? q->query(q, "lang") : NULL;
    if (l) {
        int v = fq_locale_parse(l);
        if (v >= 0)
            return v;
    }
    const char *al = q->header ? q->header(q, "Accept-Language") : NULL;
    if (!al)
        return FQ_LOC_ZH_CN;
    while (*al == ' ')
        al++;
    if (strncasecmp(al, "zh-TW", 5) == 0 || strncasecmp(al, "zh-HK", 5) == 0 ||
        strncasecmp(al, "zh-Hant", 7) == 0)
        return FQ_LOC_ZH_TW;
    if (strncasecmp(al, "en", 2) == 0)
        return FQ_LOC_EN;
    return FQ_LOC_ZH_CN;
}

bool web_user_of(const struct web_req *q, struct web_user *u)
{
    memset(u, 0, sizeof *u);
    const char *tok = q->cookie ? q->cookie(q, WEB_COOKIE) : NULL;
    if (!auth_token_ok(tok))
        return false;
    char hash[AUTH_TOKEN_HEX + 1];
    auth_token_hash(tok, hash);
    struct store *s = NULL;
    char *cause = NULL;
    if (store_open_readonly(q->cfg->store_path, &s, &cause)) {
        free(cause);
        return false;
    }
    struct web_session v;
    struct web_user_row row;
    bool ok = false;
    if (store_web_session_get(s, hash, q->now, &v) == FQ_OK &&
        store_web_user_get(s, v.login, &row) == FQ_OK) {
        ok = !row.disabled;
        snprintf(u->login, sizeof u->login, "%s", row.login);
        snprintf(u->role, sizeof u->role, "%s", row.role);
        snprintf(u->org_id, sizeof u->org_id, "%s", row.org_id);
        snprintf(u->mediator_id, sizeof u->mediator_id, "%s", row.mediator_id);
        snprintf(u->csrf, sizeof u->csrf, "%s", v.csrf);
        snprintf(u->session_hash, sizeof u->session_hash, "%s", hash);
        web_user_row_cleanup(&row);
    }
    store_close(s);
    u->locale = web_locale_of(q);
    if (!ok)
        memset(u, 0, sizeof *u);
    return ok;
}

bool web_in_scope(const struct fq_roster *r, const struct web_user *u, const char *org_id)
{
    if (!r || !u || !org_id)
        return false;
    int top = roster_org_index(r, u->org_id), at = roster_org_index(r, org_id);
    return top >= 0 && at >= 0 && roster_org_is_ancestor(r, top, at);
}

/* "scheme://host[:port]" of s equals this server's (the Host header); prefix: s may go on
 * with a path. */
static bool names_host(const struct web_req *q, const char *s, bool prefix)
{
    const char *host = q->header ? q->header(q, "Host") : NULL;
    if (!host || !*host)
        return false;
    const char *p = NULL;
    if (strncmp(s, "http://", 7) == 0)
        p = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        p = s + 8;
    if (!p)
        return false;
    size_t n = strlen(host);
    if (strncasecmp(p, host, n) != 0)
        return false;
    return p[n] == '\0' || (prefix && p[n] == '/');
}

bool web_same_origin(const struct web_req *q)
{
    const char *origin = q->header ? q->header(q, "Origin") : NULL;
    if (origin)
        return names_host(q, origin, false);
    const char *ref = q->header ? q->header(q, "Referer") : NULL;
    if (ref)
        return names_host(q, ref, true);
    return true;   /* neither: not a browser's cross-site request (browsers send Origin on POST) */
}

bool web_csrf_ok(const struct web_req *q, const struct web_user *u, const struct web_form *form)
{
    if (!web_same_origin(q))
        return false;
    const char *t = form ? web_form_get(form, "csrf") : NULL;
    if (!t && q->header)
        t = q->header(q, "X-CSRF-Token");
    return u && *u->csrf && auth_token_equal(t, u->csrf);
}

/* ---- assets ---------------------------------------------------------------------------------- */
const struct web_asset *web_asset_find(const char *name)
{
    for (size_t i = 0; name && i < web_n_assets; i++)
        if (strcmp(web_assets[i].name, name) == 0)
            return &web_assets[i];
    return NULL;
}

/* GET /app/static/NAME: the bytes with their type and ETag; 304 when the client has them. A
 * link carrying the current version (?v=, asset_link) may be kept for a year. */
static enum web_step serve_asset(struct web_call *c, struct web_res *res)
{
    const struct web_asset *a = web_asset_find(c->rest);
    if (!a) {
        web_json_error(res, 404, "not_found");
        return WEB_ANSWER;
    }
    const char *v = c->q->query ? c->q->query(c->q, "v") : NULL;
    res->cacheable = true;
    res->cache = v && strlen(v) == 12 && strncmp(v, a->etag + 1, 12) == 0
                     ? "public, max-age=31536000, immutable"
                     : "no-cache";
    web_res_header(res, "ETag", a->etag);
    const char *inm = c->q->header ? c->q->header(c->q, "If-None-Match") : NULL;
    if (inm && strstr(inm, a->etag)) {
        res->status = 304;
        res->type = a->type;
        return WEB_ANSWER;
    }
    res->type = a->type;
    res->data = a->data;
    res->len = a->len;
    return WEB_ANSWER;
}

/* ---- writes through the core ---------------------------------------------------------------- */
struct audit_job {
    char *login, *action, *case_no, *detail;
};

static void audit_job_free(void *p)
{
    struct audit_job *j = p;
    if (!j)
        return;
    free(j->login);
    free(j->action);
    free(j->case_no);
    free(j->detail);
    free(j);
}

static enum fq_err apply_audit(struct fq_ctx *c, struct fq_msg *m)
{
    struct audit_job *j = m->apply_arg;
    return store_web_audit_add(c->store, c->now, j->login, j->action, j->case_no, j->detail);
}

/* The message's apply_arg is freed with it only by its maker: every web message comes back
 * through web_msg_free. */
void web_msg_free(struct fq_msg *m)
{
    if (!m)
        return;
    if (m->apply == apply_audit)
        audit_job_free(m->apply_arg);
    else if (m->apply)
        free(m->apply_arg);
    m->apply_arg = NULL;
    fq_msg_free(m);
}

struct fq_msg *web_audit_msg(const char *login, const char *action, const char *case_no,
                             const char *detail)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_APPLY);
    struct audit_job *j = calloc(1, sizeof *j);
    if (!m || !j) {
        fq_msg_free(m);
        free(j);
        return NULL;
    }
    j->login = fq_strdup(login);
    j->action = fq_strdup(action);
    j->case_no = fq_strdup(case_no);
    j->detail = fq_strdup(detail);
    m->apply = apply_audit;
    m->apply_arg = j;
    if (!j->login || !j->action || (case_no && !j->case_no) || (detail && !j->detail)) {
        web_msg_free(m);
        return NULL;
    }
    return m;
}

/* A new session, or the end of one. */
struct session_job {
    bool end;
    char login[WEB_LOGIN_MAX + 1];
    char token[AUTH_TOKEN_HEX + 1], hash[AUTH_TOKEN_HEX + 1], csrf[AUTH_TOKEN_HEX + 1];
    char how[16];                    /* password wecom */
    bool tls;
    bool meta;                       /* answer a page that goes on (see session_done) */
    char next[128];                  /* where to go after sign-in */
};

static enum fq_err apply_session(struct fq_ctx *c, struct fq_msg *m)
{
    struct session_job *j = m->apply_arg;
    enum fq_err err;
    if (j->end) {
        err = store_web_session_del(c->store, j->hash);
        if (!err)
            err = store_web_audit_add(c->store, c->now, j->login, "logout", NULL, NULL);
        return err;
    }
    struct web_session v = {.created_at = c->now, .expires_at = c->now + WEB_SESSION_SECONDS};
    snprintf(v.login, sizeof v.login, "%s", j->login);
    snprintf(v.csrf, sizeof v.csrf, "%s", j->csrf);
    err = store_web_session_prune(c->store, c->now);
    if (!err)
        err = store_web_session_put(c->store, j->hash, &v);
    if (!err)
        err = store_web_audit_add(c->store, c->now, j->login, "login", NULL, j->how);
    return err;
}

static void cookie_header(struct web_res *res, const char *value, int max_age, bool tls)
{
    char c[256];
    snprintf(c, sizeof c, "%s=%s; Path=/app; Max-Age=%d; HttpOnly; SameSite=Strict%s",
             WEB_COOKIE, value, max_age, tls ? "; Secure" : "");
    web_res_header(res, "Set-Cookie", c);
}

static void session_done(struct fq_msg *m, struct web_res *res)
{
    struct session_job *j = m->apply_arg;
    if (m->status != 200) {
        web_json_error(res, 503, "unavailable");
        return;
    }
    if (j->end) {
        cookie_header(res, "", 0, j->tls);
        web_redirect(res, "/app/login");
    } else if (j->meta) {
        /* after WeCom's redirects a SameSite=Strict cookie is not sent with a redirect that
         * continues them, so the sign-in ends on a page of this site that goes on by itself */
        cookie_header(res, j->token, WEB_SESSION_SECONDS, j->tls);
        web_res_header(res, "Set-Cookie", "fq_oauth=; Path=/app/oauth; Max-Age=0; HttpOnly; SameSite=Lax");
        web_buf_reset(&res->body);
        res->status = 200;
        res->type = "text/html; charset=utf-8";
        buf_puts(&res->body, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                             "<meta http-equiv=\"refresh\" content=\"0;url=/app/\"></head>"
                             "<body><a href=\"/app/\">/app/</a></body></html>\n");
    } else {
        cookie_header(res, j->token, WEB_SESSION_SECONDS, j->tls);
        web_redirect(res, *j->next ? j->next : "/app/");
    }
}

/* Sets res to push a new session for login (how: "password" or "wecom"); false on oom. */
static bool web_session_start(struct web_res *res, const struct web_req *q, const char *login,
                       const char *how, const char *next)
{
    bool meta = strcmp(how, "wecom") == 0;
    struct fq_msg *m = fq_msg_new(FQ_MSG_APPLY);
    struct session_job *j = calloc(1, sizeof *j);
    if (!m || !j || !auth_token_new(j->token) || !auth_token_new(j->csrf)) {
        fq_msg_free(m);
        free(j);
        return false;
    }
    auth_token_hash(j->token, j->hash);
    snprintf(j->login, sizeof j->login, "%s", login);
    snprintf(j->how, sizeof j->how, "%s", how);
    /* only a path of the workbench, never another site */
    if (next && strncmp(next, "/app/", 5) == 0 && !strpbrk(next, "\\\r\n") && strlen(next) < 128 &&
        strncmp(next, "/app//", 6) != 0)
        snprintf(j->next, sizeof j->next, "%s", next);
    j->tls = q->tls;
    j->meta = meta;
    m->apply = apply_session;
    m->apply_arg = j;
    res->msg = m;
    res->then = session_done;
    return true;
}

/* ---- WeCom's OAuth sign-in (docs/contract.md 12.6) -----------------------------------------
 * GET /app/oauth/wecom without a code sends the browser to WeCom's authorize page with a fresh
 * state, kept in a short cookie (SameSite=Lax: it must come back with WeCom's redirect). WeCom
 * sends it back with code and state; the state must be the cookie's (no one else's sign-in can
 * be planted), the code goes to auth/getuserinfo (one GET of at most 5 s on this thread; a
 * mediator signs in once a session), the userid to the roster's mediator and the mediator to
 * their enabled account. Anything else ends on the sign-in form. */
static void url_escape(struct fq_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            buf_add(b, (const char *)p, 1);
        else
            buf_printf(b, "%%%02X", *p);
    }
}

static void login_form(struct web_call *c, struct web_res *res, int status, const char *error_key);

static enum web_step oauth_page(struct web_call *c, struct web_res *res)
{
    struct web *w = c->w;
    const struct web_req *q = c->q;
    if (!w->wecom) {
        web_error_page(res, c->lex, c->loc, 404, NULL);
        return WEB_ANSWER;
    }
    const char *code = q->query ? q->query(q, "code") : NULL;
    const char *state = q->query ? q->query(q, "state") : NULL;
    if (!code) {
        char st[AUTH_TOKEN_HEX + 1];
        const char *host = q->header ? q->header(q, "Host") : NULL;
        if (!auth_token_new(st) || !host || strpbrk(host, "/\\ \"<>")) {
            web_error_page(res, c->lex, c->loc, 400, NULL);
            return WEB_ANSWER;
        }
        st[32] = '\0';
        struct fq_buf self, to;
        buf_init(&self);
        buf_init(&to);
        buf_printf(&self, "%s://%s/app/oauth/wecom", q->tls ? "https" : "http", host);
        buf_printf(&to, "%s/connect/oauth2/authorize?appid=", w->oauth_base);
        url_escape(&to, w->corp_id ? w->corp_id : "");
        buf_puts(&to, "&redirect_uri=");
        url_escape(&to, self.s ? self.s : "");
        buf_printf(&to, "&response_type=code&scope=snsapi_base&state=%s&agentid=", st);
        url_escape(&to, w->agent_id ? w->agent_id : "");
        buf_puts(&to, "#wechat_redirect");
        char ck[160];
        snprintf(ck, sizeof ck, "fq_oauth=%s; Path=/app/oauth; Max-Age=300; HttpOnly; SameSite=Lax%s",
                 st, q->tls ? "; Secure" : "");
        if (self.oom || to.oom) {
            web_error_page(res, c->lex, c->loc, 503, NULL);
        } else {
            res->status = 302;
            res->type = "text/plain; charset=utf-8";
            web_res_header(res, "Location", to.s);
            web_res_header(res, "Set-Cookie", ck);
        }
        buf_cleanup(&self);
        buf_cleanup(&to);
        return WEB_ANSWER;
    }
    const char *kept = q->cookie ? q->cookie(q, "fq_oauth") : NULL;
    if (!state || !kept || strlen(kept) != 32 || !auth_token_equal(state, kept) ||
        strlen(code) > 512 || !*code) {
        log_warn("web wecom sign-in refused reason=\"state or code\"");
        login_form(c, res, 403, "web_login_wecom_failed");
        return WEB_ANSWER;
    }
    struct wecom_result wr;
    wecom_api_get(w->wecom, WECOM_CRED_APP, "auth/getuserinfo", "code", code, &wr);
    json_t *o = wr.outcome == WECOM_RES_OK && wr.body ? json_loads(wr.body, 0, NULL) : NULL;
    const char *userid = json_string_value(json_object_get(o, "userid"));
    int med = userid ? roster_mediator_by_wecom(c->roster, userid) : -1;
    struct web_user_row row = {0};
    enum fq_err err = FQ_ENOTFOUND;
    if (med >= 0) {
        struct store *s = NULL;
        char *cause = NULL;
        if (store_open_readonly(q->cfg->store_path, &s, &cause) == FQ_OK) {
            err = store_web_user_by_mediator(s, c->roster->med[med].id, &row);
            store_close(s);
        }
        free(cause);
    }
    if (wr.outcome != WECOM_RES_OK || !userid || med < 0 || err) {
        log_warn("web wecom sign-in refused errcode=%ld reason=\"%s\"", wr.errcode,
                 wr.outcome != WECOM_RES_OK ? "getuserinfo"
                 : !userid                   ? "not a member"
                 : med < 0                   ? "not a mediator"
                                             : "no account");
        json_decref(o);
        wecom_result_cleanup(&wr);
        web_user_row_cleanup(&row);
        login_form(c, res, 403, "web_login_wecom_failed");
        return WEB_ANSWER;
    }
    char login[WEB_LOGIN_MAX + 1];
    snprintf(login, sizeof login, "%s", row.login);
    json_decref(o);
    wecom_result_cleanup(&wr);
    web_user_row_cleanup(&row);
    if (!web_session_start(res, q, login, "wecom", NULL)) {
        web_error_page(res, c->lex, c->loc, 503, NULL);
        return WEB_ANSWER;
    }
    return WEB_CORE;
}

/* ---- sign-in -------------------------------------------------------------------------------- */
static void login_form(struct web_call *c, struct web_res *res, int status, const char *error_key)
{
    res->status = status;
    struct fq_buf *b = &res->body;
    web_page_begin(b, c->lex, c->loc, i18n_get(c->lex, c->loc, "web_login_title"), NULL, NULL);
    buf_puts(b, "<section class=\"card login\"><h1>");
    web_html(b, i18n_get(c->lex, c->loc, "web_login_title"));
    buf_puts(b, "</h1><p class=\"muted\">");
    web_html(b, i18n_get(c->lex, c->loc, "web_login_lead"));
    buf_puts(b, "</p>");
    if (error_key) {
        buf_puts(b, "<p class=\"alert\" role=\"alert\">");
        web_html(b, i18n_get(c->lex, c->loc, error_key));
        buf_puts(b, "</p>");
    }
    const char *next = c->q->query ? c->q->query(c->q, "next") : NULL;
    if (!next && c->form)
        next = web_form_get(c->form, "next");
    buf_puts(b, "<form method=\"post\" action=\"/app/login\" class=\"stack\">");
    if (next && strncmp(next, "/app/", 5) == 0) {
        buf_puts(b, "<input type=\"hidden\" name=\"next\" value=\"");
        web_html(b, next);
        buf_puts(b, "\">");
    }
    buf_puts(b, "<label>");
    web_html(b, i18n_get(c->lex, c->loc, "web_login_login"));
    buf_puts(b, "<input name=\"login\" autocomplete=\"username\" required maxlength=\"64\" "
                "autocapitalize=\"none\" spellcheck=\"false\"");
    const char *l = c->form ? web_form_get(c->form, "login") : NULL;
    if (l) {
        buf_puts(b, " value=\"");
        web_html(b, l);
        buf_puts(b, "\"");
    }
    buf_puts(b, "></label><label>");
    web_html(b, i18n_get(c->lex, c->loc, "web_login_password"));
    buf_puts(b, "<input name=\"password\" type=\"password\" autocomplete=\"current-password\" "
                "required maxlength=\"256\"></label><button type=\"submit\" class=\"primary\">");
    web_html(b, i18n_get(c->lex, c->loc, "web_login_submit"));
    buf_puts(b, "</button></form>");
    if (c->w->wecom) {
        buf_puts(b, "<p class=\"alt\"><a class=\"button\" href=\"/app/oauth/wecom\">");
        web_html(b, i18n_get(c->lex, c->loc, "web_login_wecom_button"));
        buf_puts(b, "</a></p><p class=\"muted small\">");
        web_html(b, i18n_get(c->lex, c->loc, "web_login_wecom"));
        buf_puts(b, "</p>");
    }
    buf_puts(b, "</section>");
    web_page_end(b, c->lex, c->loc);
}

/* The lock of a login: true when it is locked at now. */
static bool locked(struct web *w, const char *login, int64_t now)
{
    bool on = false;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < LOCK_SLOTS; i++)
        if (w->locks[i].login[0] && strcmp(w->locks[i].login, login) == 0) {
            on = w->locks[i].until > now;
            break;
        }
    pthread_mutex_unlock(&w->mu);
    return on;
}

/* Counts a failed (ok false) or good password for login. */
static void count_attempt(struct web *w, const char *login, bool ok, int64_t now)
{
    pthread_mutex_lock(&w->mu);
    struct lock_slot *s = NULL, *oldest = &w->locks[0];
    for (size_t i = 0; i < LOCK_SLOTS; i++) {
        struct lock_slot *x = &w->locks[i];
        if (x->login[0] && strcmp(x->login, login) == 0) {
            s = x;
            break;
        }
        if (!x->login[0] || (oldest->login[0] && x->last < oldest->last && x->until <= now))
            oldest = x;
    }
    if (ok) {
        if (s)
            memset(s, 0, sizeof *s);
    } else {
        if (!s) {
            s = oldest;
            memset(s, 0, sizeof *s);
            snprintf(s->login, sizeof s->login, "%s", login);
        }
        s->last = now;
        if (++s->fails >= WEB_LOCK_FAILS) {
            s->until = now + WEB_LOCK_SECONDS;
            s->fails = 0;
        }
    }
    pthread_mutex_unlock(&w->mu);
}

static enum web_step login_page(struct web_call *c, struct web_res *res)
{
    const struct web_req *q = c->q;
    if (strcmp(q->method, "POST") != 0) {
        login_form(c, res, 200, NULL);
        return WEB_ANSWER;
    }
    if (!web_same_origin(q)) {
        login_form(c, res, 403, "web_error_origin");
        return WEB_ANSWER;
    }
    if (!c->form) {
        login_form(c, res, 400, "web_login_bad");
        return WEB_ANSWER;
    }
    const char *login = web_form_get(c->form, "login"), *pw = web_form_get(c->form, "password");
    if (!login || !pw || !*login || strlen(login) > WEB_LOGIN_MAX || strlen(pw) > AUTH_PASSWORD_MAX) {
        login_form(c, res, 400, "web_login_bad");
        return WEB_ANSWER;
    }
    char key[80];
    snprintf(key, sizeof key, "login\x1f%s", q->peer ? q->peer : "");
    if (!ratelimit_take(c->w->login_rate, key, fq_mono_ms())) {
        login_form(c, res, 429, "web_login_rate");
        return WEB_ANSWER;
    }
    if (locked(c->w, login, q->now)) {
        login_form(c, res, 429, "web_login_locked");
        return WEB_ANSWER;
    }
    struct store *s = NULL;
    char *cause = NULL;
    if (store_open_readonly(q->cfg->store_path, &s, &cause)) {
        free(cause);
        login_form(c, res, 503, "web_error_503");
        return WEB_ANSWER;
    }
    struct web_user_row row;
    enum fq_err err = store_web_user_get(s, login, &row);
    store_close(s);
    if (err && err != FQ_ENOTFOUND) {
        login_form(c, res, 503, "web_error_503");
        return WEB_ANSWER;
    }
    bool ok = auth_password_check(err ? NULL : row.pw_hash, pw, strlen(pw)) && !row.disabled;
    web_user_row_cleanup(&row);
    count_attempt(c->w, login, ok, q->now);
    if (!ok) {
        login_form(c, res, 401, "web_login_failed");
        return WEB_ANSWER;
    }
    if (!web_session_start(res, q, login, "password", web_form_get(c->form, "next"))) {
        login_form(c, res, 503, "web_error_503");
        return WEB_ANSWER;
    }
    return WEB_CORE;
}

static enum web_step logout_page(struct web_call *c, struct web_res *res)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_APPLY);
    struct session_job *j = calloc(1, sizeof *j);
    if (!m || !j) {
        fq_msg_free(m);
        free(j);
        web_json_error(res, 503, "unavailable");
        return WEB_ANSWER;
    }
    j->end = true;
    j->tls = c->q->tls;
    snprintf(j->login, sizeof j->login, "%s", c->u->login);
    snprintf(j->hash, sizeof j->hash, "%s", c->u->session_hash);
    m->apply = apply_session;
    m->apply_arg = j;
    res->msg = m;
    res->then = session_done;
    return WEB_CORE;
}

void web_finish(struct fq_msg *m, struct web_res *res)
{
    res->msg = NULL;
    if (res->then)
        res->then(m, res);
    web_msg_free(m);
}

/* ---- the page table --------------------------------------------------------------------------
 * Every path of the workbench. prefix: the path followed by one non-empty segment (no '/').
 * open: served without a session (everything else sends a visitor to the sign-in page, or an
 * API call 401). Every POST but the sign-in's needs the session's CSRF token and this origin. */
struct web_page {
    const char *path;
    bool prefix;
    const char *allow;
    bool open, api;
    enum web_step (*serve)(struct web_call *c, struct web_res *res);
};

static const struct web_page pages[] = {
    {"/app/static/", true, "GET, HEAD", true, false, serve_asset},
    {"/app/login", false, "GET, HEAD, POST", true, false, login_page},
    {"/app/oauth/wecom", false, "GET", true, false, oauth_page},
    {"/app/logout", false, "POST", false, false, logout_page},
    {"/app/", false, "GET, HEAD", false, false, web_board},
    {"/app/cases/", true, "GET, HEAD, POST", false, false, web_case_page},
    {"/app/api/cases", false, "GET, HEAD", false, true, web_board_api},
    {"/app/api/cases/", true, "GET, HEAD", false, true, web_case_api},
    {"/app/api/events", false, "GET", false, true, web_events},
    {"/app/stats", false, "GET, HEAD", false, false, web_stats_page},
    {"/app/api/stats", false, "GET, HEAD", false, true, web_stats_api},
    {"/app/reports/", true, "GET, HEAD", false, false, web_report_file},
    {"/app/supervision", false, "GET, HEAD, POST", false, false, web_supervision_page},
    {"/app/api/supervision", false, "GET, HEAD", false, true, web_supervision_api},
    {"/app/roster", false, "GET, HEAD, POST", false, false, web_roster_page},
};

static const struct web_page *page_of(const char *path, const char **rest)
{
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
        const struct web_page *p = &pages[i];
        size_t n = strlen(p->path);
        if (p->prefix ? strncmp(path, p->path, n) == 0 && path[n] && !strchr(path + n, '/')
                      : strcmp(path, p->path) == 0) {
            *rest = path + n;
            return p;
        }
    }
    return NULL;
}

static bool method_in(const char *allow, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = allow; *p;) {
        size_t w = strcspn(p, ",");
        if (w == n && strncmp(p, method, n) == 0)
            return true;
        p += w;
        p += strspn(p, ", ");
    }
    return false;
}

enum web_step web_handle(struct web *w, const struct web_req *q, struct web_res *res)
{
    if (strcmp(q->path, "/app") == 0) {
        web_redirect(res, "/app/");
        return WEB_ANSWER;
    }
    const char *rest = "";
    const struct web_page *p = page_of(q->path, &rest);
    struct core_view v;
    core_view_take(w->core, &v);
    struct web_call c = {.w = w, .q = q, .roster = v.roster, .lex = v.lex,
                         .loc = web_locale_of(q), .rest = rest};
    struct web_user u;
    struct web_form *form = NULL;
    enum web_step step = WEB_ANSWER;
    bool head = strcmp(q->method, "HEAD") == 0;
    if (!p) {
        web_error_page(res, c.lex, c.loc, 404, NULL);
        goto out;
    }
    if (!method_in(p->allow, head ? "GET" : q->method) && !method_in(p->allow, q->method)) {
        web_json_error(res, 405, "method_not_allowed");
        web_res_header(res, "Allow", p->allow);
        goto out;
    }
    bool post = strcmp(q->method, "POST") == 0;
    if (post) {
        if (q->too_big) {
            web_json_error(res, 413, "too_large");
            goto out;
        }
        const char *ct = q->header ? q->header(q, "Content-Type") : NULL;
        if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
            web_json_error(res, 415, "unsupported_media_type");
            goto out;
        }
        form = web_form_parse(q->body ? q->body : "", q->len);
        if (!form) {
            web_json_error(res, 400, "bad_request");
            goto out;
        }
        c.form = form;
    }
    if (!p->open) {
        if (!web_user_of(q, &u)) {
            if (p->api || post) {
                web_json_error(res, 401, "unauthorized");
            } else {
                struct fq_buf to;
                buf_init(&to);
                buf_puts(&to, "/app/login?next=");
                buf_puts(&to, strcmp(q->path, "/app/") == 0 || strlen(q->path) > 96 ? "/app/"
                                                                                      : q->path);
                web_redirect(res, to.oom ? "/app/login" : to.s);
                buf_cleanup(&to);
            }
            goto out;
        }
        c.u = &u;
        if (post && !web_csrf_ok(q, &u, form)) {
            web_error_page(res, c.lex, c.loc, 403, &u);
            goto out;
        }
    }
    step = p->serve(&c, res);
out:
    web_form_free(form);
    core_view_release(&v);
    if (head && step == WEB_ANSWER && !res->data) {
        /* the transport sends no body for HEAD; the length is the GET's */
    }
    return step;
}

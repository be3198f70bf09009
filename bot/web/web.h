/* web.h: the web workbench (工作台) under /app/ (docs/contract.md 12): the channel of the
 * people who run mediation, served by the daemon's own HTTP server.
 *
 * bot/net/http.c hands every request whose path is /app or below to web_handle, on its HTTP
 * thread, with the body already bounded. Reads open their own read-only store connection and
 * take the roster the core has loaded (core_view_take); every write goes through the core as a
 * message in its transaction: a lifecycle command is an FQ_MSG_COMMAND like one over MQTT (the
 * same parser and transition table, handlers/mediator.c), a session or an audit row an
 * FQ_MSG_APPLY. Such a request answers WEB_CORE: http.c pushes res->msg, suspends the
 * connection and, after the commit, calls res->then to make the answer.
 *
 * Every /app answer carries a strict Content-Security-Policy (no inline script, no foreign
 * origin), X-Frame-Options DENY, nosniff and no-store (assets: an ETag). A page of another
 * module (statistics, roster, 督办) is one line of the page table in bot/web/web.c and gates on
 * web_user_of (signed in), web_in_scope (属地) and web_csrf_ok (every state-changing request). */
#ifndef FQ_WEB_H
#define FQ_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config_model.h"
#include "common/fq.h"

struct core;
struct fq_roster;
struct fq_lexicon;

#define WEB_MAX_HEADERS 8
#define WEB_COOKIE "fq_session"

/* One request, as the transport received it; everything borrowed for the call. */
struct web_req {
    const struct fq_config *cfg;
    int64_t now;
    const char *method;              /* "GET", "HEAD", "POST", ... */
    const char *path;                /* the URL path, "/app/..." (no query) */
    const char *body;                /* len bytes, NUL-terminated by the transport */
    size_t len;
    bool too_big;                    /* the body went over the bound (and was cut) */
    const char *peer;                /* the client's address as text ("127.0.0.1") */
    bool tls;                        /* served over TLS (cookies get Secure) */
    /* a header, a query parameter or a cookie by name; NULL when absent */
    const char *(*header)(const struct web_req *q, const char *name);
    const char *(*query)(const struct web_req *q, const char *name);
    const char *(*cookie)(const struct web_req *q, const char *name);
    void *conn;                      /* the transport's handle for the three above */
};

/* The answer. type and data are static; body and header values owned (web_res_cleanup). */
struct web_res {
    int status;
    const char *type;                /* Content-Type */
    struct fq_buf body;              /* the body, unless data is set */
    const unsigned char *data;       /* static bytes (an embedded asset), len of them */
    size_t len;
    bool cacheable;                  /* an asset: Cache-Control from the asset, not no-store */
    const char *cache;               /* its Cache-Control (static) */
    char *hname[WEB_MAX_HEADERS], *hvalue[WEB_MAX_HEADERS];
    size_t n_headers;
    /* WEB_CORE: the message to push, and what makes the answer once it is committed (or
     * failed: m->status 503) */
    struct fq_msg *msg;
    void (*then)(struct fq_msg *m, struct web_res *res);
    void *ctx;                       /* what then needs, freed by web_res_cleanup */
    void (*ctx_free)(void *ctx);
};
void web_res_init(struct web_res *res);
void web_res_cleanup(struct web_res *res);
void web_res_header(struct web_res *res, const char *name, const char *value);

/* The signed-in user of a request. */
struct web_user {
    char login[65];
    char role[16];                   /* office supervisor mediator */
    char org_id[65];
    char mediator_id[65];            /* "" when the account acts as no mediator */
    char csrf[65];                   /* the session's CSRF token */
    char session_hash[65];           /* SHA-256 of the cookie value */
    int locale;                      /* enum fq_locale of the pages */
};

struct web;
/* The workbench's state (sign-in limits, the core to push to, WeCom's API for the OAuth
 * sign-in when cfg enables WeCom: its values at start are used until a restart). core and cfg
 * are borrowed. */
struct web *web_new(struct core *core, const struct fq_config *cfg);
void web_free(struct web *w);        /* NULL-safe */

enum web_step { WEB_ANSWER = 0, WEB_CORE };
/* Serves one /app request into res (web_res_init'ed by the caller). */
enum web_step web_handle(struct web *w, const struct web_req *q, struct web_res *res);

/* After the commit of res->msg (m, now back from the core): makes the answer with res->then and
 * frees m. */
void web_finish(struct fq_msg *m, struct web_res *res);
/* Frees a message web_handle made (its apply_arg with it). NULL-safe. */
void web_msg_free(struct fq_msg *m);

/* ---- for the pages of other modules ---------------------------------------------------------
 * The user of q's session cookie (an enabled account, a session not expired), read from the
 * store; false when not signed in. */
bool web_user_of(const struct web_req *q, struct web_user *u);
/* Whether org node org_id is the user's node or below it in roster r (属地). False for an id
 * the roster does not know, and for a user whose node it does not know. */
bool web_in_scope(const struct fq_roster *r, const struct web_user *u, const char *org_id);
/* A state-changing request is the user's own: its Origin (or Referer) is this server's, and
 * its csrf form field (or X-CSRF-Token header) is the session's token. form: the decoded
 * urlencoded body (web_form_get), may be NULL. */
struct web_form;
bool web_csrf_ok(const struct web_req *q, const struct web_user *u, const struct web_form *form);
/* The request's Origin (or, without one, Referer) names this server (Host), or neither is sent
 * by a client that is not a browser. */
bool web_same_origin(const struct web_req *q);

/* An application/x-www-form-urlencoded body, decoded: at most 64 fields. */
struct web_form *web_form_parse(const char *body, size_t len);
const char *web_form_get(const struct web_form *f, const char *name);   /* NULL when absent */
void web_form_free(struct web_form *f);

/* The page language of a request: ?lang= then Accept-Language, zh-CN by default. */
int web_locale_of(const struct web_req *q);
/* Writes s escaped for HTML text and attribute values (& < > " ') into b. */
void web_html(struct fq_buf *b, const char *s);
/* The head of a page (title, assets, the navigation for u, may be NULL) and its end. */
void web_page_begin(struct fq_buf *b, const struct fq_lexicon *lex, int loc, const char *title,
                    const struct web_user *u, const char *active);
void web_page_end(struct fq_buf *b, const struct fq_lexicon *lex, int loc);

#endif

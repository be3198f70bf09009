/* web_internal.h: what the files of bot/web/ share and nobody else uses. */
#ifndef FQ_WEB_INTERNAL_H
#define FQ_WEB_INTERNAL_H

#include "bot/web/web.h"
#include "common/fq.h"

struct core;
struct fq_lexicon;

static inline void web_buf_reset(struct fq_buf *b)
{
    buf_cleanup(b);
    buf_init(b);
}

struct core *web_core(struct web *w);
/* The path of an embedded asset with its version (?v=, from the ETag) into b. */
void web_asset_link(struct fq_buf *b, const char *name);
/* 303 to a path of this server. */
void web_redirect(struct web_res *res, const char *to);
/* {"error": code} with status. */
void web_json_error(struct web_res *res, int status, const char *code);
/* An error page in the layout (web_error_<status> of the catalogs). */
void web_error_page(struct web_res *res, const struct fq_lexicon *lex, int loc, int status,
                    const struct web_user *u);

/* What a page handler is given: the request, the signed-in user (NULL on the sign-in page), the
 * roster and catalogs the core has loaded (borrowed for the call), the page language, and the
 * decoded form of a POST (NULL otherwise). */
struct web_call {
    struct web *w;
    const struct web_req *q;
    const struct web_user *u;
    const struct fq_roster *roster;
    const struct fq_lexicon *lex;
    int loc;
    const struct web_form *form;
    const char *rest;                /* the path after the page's prefix */
};

/* bot/web/web_cases.c */
enum web_step web_board(struct web_call *c, struct web_res *res);
enum web_step web_board_api(struct web_call *c, struct web_res *res);
enum web_step web_case_page(struct web_call *c, struct web_res *res);
enum web_step web_case_api(struct web_call *c, struct web_res *res);
enum web_step web_case_post(struct web_call *c, struct web_res *res);
/* bot/web/web_events.c */
enum web_step web_events(struct web_call *c, struct web_res *res);

/* An FQ_MSG_APPLY writing one audit row (login, action, case_no, detail: copied). */
struct fq_msg *web_audit_msg(const char *login, const char *action, const char *case_no,
                             const char *detail);

#endif

/* web_table.h: the workbench's accounts, sessions and audit log (store/web_table.c, migration
 * 0009_web.sql). Sessions are looked up by the SHA-256 (hex) of the cookie value: the store never
 * holds a value that would let someone who reads the database sign in. */
#ifndef FQ_WEB_TABLE_H
#define FQ_WEB_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/fq.h"

struct store;

#define WEB_LOGIN_MAX 64     /* bytes of a login */
#define WEB_ID_MAX 64        /* bytes of an org or mediator id */

struct web_user_row {
    char login[WEB_LOGIN_MAX + 1];
    char role[16];                     /* office supervisor mediator */
    char org_id[WEB_ID_MAX + 1];
    char mediator_id[WEB_ID_MAX + 1];  /* "" when none */
    char *pw_hash;                     /* owned; NULL when the account has no password */
    bool disabled;
    int64_t created_at, updated_at;
};
void web_user_row_cleanup(struct web_user_row *u);

/* FQ_ENOTFOUND when there is no such login. */
enum fq_err store_web_user_get(struct store *s, const char *login, struct web_user_row *out);
/* The enabled account linked to a mediator id (WeCom sign-in), FQ_ENOTFOUND when none. */
enum fq_err store_web_user_by_mediator(struct store *s, const char *mediator_id,
                                       struct web_user_row *out);
/* FQ_EEXIST when the login is taken. */
enum fq_err store_web_user_add(struct store *s, const struct web_user_row *u);
/* Every account in login order; cb's user is borrowed. */
enum fq_err store_web_user_list(struct store *s, void (*cb)(const struct web_user_row *u, void *arg),
                                void *arg);
/* Disables the account and ends its sessions; FQ_ENOTFOUND when there is no such login. */
enum fq_err store_web_user_disable(struct store *s, const char *login, int64_t now);
/* Sets the password hash and ends the account's sessions; FQ_ENOTFOUND as above. */
enum fq_err store_web_user_passwd(struct store *s, const char *login, const char *pw_hash,
                                  int64_t now);

struct web_session {
    char login[WEB_LOGIN_MAX + 1];
    char csrf[65];
    int64_t created_at, expires_at;
};
/* The session of a token hash that has not expired at now, FQ_ENOTFOUND otherwise. */
enum fq_err store_web_session_get(struct store *s, const char *token_hash, int64_t now,
                                  struct web_session *out);
enum fq_err store_web_session_put(struct store *s, const char *token_hash,
                                  const struct web_session *v);
enum fq_err store_web_session_del(struct store *s, const char *token_hash);
/* Removes sessions expired before now. */
enum fq_err store_web_session_prune(struct store *s, int64_t now);

enum fq_err store_web_audit_add(struct store *s, int64_t at, const char *login, const char *action,
                                const char *case_no, const char *detail);

/* Case events with an id above `after`, in id order, at most limit; cb gets the event's id, its
 * case number, the case's handling node and place node (NULL when none) and the event type.
 * Every string is borrowed for the call. */
enum fq_err store_web_events_after(struct store *s, int64_t after, int limit,
                                   void (*cb)(int64_t id, const char *case_no, const char *org_id,
                                              const char *place_org, const char *type,
                                              void *arg),
                                   void *arg);
/* The newest case event's id (0 when none). */
enum fq_err store_web_events_max(struct store *s, int64_t *out);

#endif

/* wecom_api.h: the WeCom API client (docs/wecom.md 7): access tokens per credential,
 * JSON POSTs to {api_base}/cgi-bin/<path>, the group-robot webhook, and the classification of
 * every answer into what the caller should do with it. Thread-safe. */
#ifndef FQ_WECOM_API_H
#define FQ_WECOM_API_H

#include <stdbool.h>
#include <stdint.h>

#include "common/fq.h"

struct wecom_api;

enum wecom_cred { WECOM_CRED_APP = 0, WECOM_CRED_KF = 1, WECOM_CRED__COUNT };

/* What to do after a call. */
enum wecom_outcome {
    WECOM_RES_OK = 0,       /* errcode 0 */
    WECOM_RES_RETRY,        /* transport failure, HTTP 5xx, not JSON, -1, 45009, 45033, a token
                             * still refused after the one refresh: back off and try again */
    WECOM_RES_CONFIG,       /* a configuration error (60020, 40056, 48002, 93000, 95000, 95004,
                             * 95011, 95012, 95017, 40013, gettoken's 40001, HTTP 4xx): no
                             * retry until an operator acts */
    WECOM_RES_DROP,         /* anything else non-zero (81013, 82001, 40096, 95001, 95018, 40058,
                             * ...): this message can never go; log and move on */
};

struct wecom_result {
    enum wecom_outcome outcome;
    long errcode;           /* WeCom errcode; 0 also for transport failures (see http_status) */
    long http_status;       /* 0 when no HTTP answer arrived */
    char *body;             /* the answer body (owned; wecom_result_cleanup), may be NULL */
    bool token_refreshed;   /* a 40001/40014/42001 made the call refresh and retry once */
};
void wecom_result_cleanup(struct wecom_result *r);

struct wecom_api_opts {
    const char *api_base;   /* "https://qyapi.weixin.qq.com" or a loopback stub "http://127.0.0.1:N" */
    const char *corp_id;
    const char *secret[WECOM_CRED__COUNT];   /* app secret, kf secret (NULL: that credential is
                                              * not configured; kf falls back to the app's) */
    long connect_timeout_ms; /* 0: 5000 */
    long timeout_ms;         /* 0: 10000 */
};

/* Copies what it needs from o. Refuses (FQ_ECONFIG, *cause says why; caller frees) an api_base
 * that is not https:// or plain http:// to a loopback address (127.0.0.0/8, localhost, [::1]).
 * Caller frees with wecom_api_free. */
enum fq_err wecom_api_new(const struct wecom_api_opts *o, struct wecom_api **out, char **cause);
void wecom_api_free(struct wecom_api *a);   /* NULL-safe; no call may be in flight */

/* POSTs json to {api_base}/cgi-bin/<path>?access_token=<token of cred>. Gets the token from the
 * cache (see wecom_api_token); on 40001/40014/42001 drops that token, gets a new one once and
 * retries once. Fills *res (caller cleans up). Returns res->outcome. Blocking (bounded by the
 * timeouts); never call it from an HTTP or core thread. */
enum wecom_outcome wecom_api_post(struct wecom_api *a, enum wecom_cred cred, const char *path,
                                  const char *json, struct wecom_result *res);
/* GETs {api_base}/cgi-bin/<path>?<name>=<value, escaped>&access_token=<token of cred>, with the
 * token handling of wecom_api_post (auth/getuserinfo: a member's OAuth code). Blocking. */
enum wecom_outcome wecom_api_get(struct wecom_api *a, enum wecom_cred cred, const char *path,
                                 const char *name, const char *value, struct wecom_result *res);
/* The group-robot webhook: POSTs json to {api_base}/cgi-bin/webhook/send?key=<key> (the key is
 * a secret: never logged). */
enum wecom_outcome wecom_api_robot_send(struct wecom_api *a, const char *key, const char *json,
                                        struct wecom_result *res);

/* The cached access token of cred (copied into buf), fetching it with gettoken when there is
 * none or it is within its refresh margin of expiry. Single-flight: while one thread fetches,
 * the others wait for its result instead of calling gettoken themselves. *gen identifies the
 * token (for wecom_api_token_invalidate). On failure fills *res (outcome and errcode of
 * gettoken) and returns false. */
bool wecom_api_token(struct wecom_api *a, enum wecom_cred cred, char *buf, size_t size,
                     uint64_t *gen, struct wecom_result *res);
/* Drops the token of generation gen (a no-op when a newer one was fetched meanwhile, so a burst
 * of 42001s leads to one refresh). */
void wecom_api_token_invalidate(struct wecom_api *a, enum wecom_cred cred, uint64_t gen);
/* gettoken calls made so far for cred (tests, metrics). */
uint64_t wecom_api_token_fetches(struct wecom_api *a, enum wecom_cred cred);

/* Makes every call in flight (and every later one) fail at once with WECOM_RES_RETRY: for a
 * quick shutdown while the peer hangs. Thread-safe. */
void wecom_api_cancel(struct wecom_api *a);

/* The classification of an errcode as above (for tests and logs). */
enum wecom_outcome wecom_classify_errcode(long errcode);

#endif

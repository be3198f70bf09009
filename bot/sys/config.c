/* config.c: the daemon's configuration (docs/contract.md 2): defaults, the INI file, FENGQIAO_*
 * environment overrides, `<key>_file` secrets, and a cross-field check, all collected as a list of
 * problems "file:line: key: problem" so check-config can show every mistake at once.
 *
 * Design:
 * - ONE table (keys[] below) names every key with its type, range, default and offset into
 *   struct fq_config. Defaults, file parsing, environment overrides, unknown-key detection and
 *   config_print all walk that table, so a key added there is complete everywhere.
 * - The INI syntax is read by a small parser of our own, line by line with getline(), instead of
 *   libinih. Debian's libinih is built without INI_HANDLER_LINENO (so the handler cannot know its
 *   line), truncates and splits lines longer than 200 bytes (a long path would be silently cut
 *   into a second "line"), treats indented lines as continuations, and keeps its options in
 *   process-wide globals. Our parser gives exact line numbers and accepts what libinih's default
 *   build accepts for this file: `[section]`, `key = value`, whole-line `#`/`;` comments, inline
 *   comments that start with whitespace then `#` or `;`, and a UTF-8 BOM. A value in double
 *   quotes is taken literally (for a value holding " #" or edge spaces); a quote cannot appear
 *   inside a quoted value. Keys and sections are case-sensitive (lower case, as in
 *   docs/contract.md 2.1).
 *   A key given twice in the file is a problem (the first one would be silently lost).
 * - Order (config_load): defaults, file, environment, secret files, cross-field check. An
 *   environment variable overrides the file; for a secret, FENGQIAO_X or FENGQIAO_X_FILE
 *   replaces whichever form the file gave, and giving both forms in one source is a problem.
 *   An empty environment value means an empty value (NULL for optional strings); an empty
 *   `_file` (in the file or the environment) means "not given".
 * - Relative paths (store.path, *_file, mqtt.tls_ca) are relative to the working directory.
 * - Problems never quote a secret's value; other bad values are quoted to show what was read.
 */
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/localtime.h"
#include "common/fq.h"
#include "common/sla.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define SECRET_MAX 4096
#define DUR_MAX (3650LL * 86400)       /* ten years: keeps due-time arithmetic far from overflow */
#define LINE_MAX_BYTES 65536

/* ---- the key table --------------------------------------------------------------------------- */
enum ktype { K_STR, K_BOOL, K_INT, K_SIZE, K_DUR };

enum {
    KF_OPTIONAL = 1 << 0,   /* string: empty means NULL */
    KF_SECRET = 1 << 1,     /* string: may come from <key>_file; printed as "(set)" */
};

/* A string check: may rewrite v in place (only shortening it); on a bad value writes why into
 * *why, naming the expected form, and returns false. */
typedef bool (*check_fn)(char *v, struct fq_buf *why);

struct key_def {
    const char *section, *name;
    enum ktype type;
    size_t off;
    const char *def;        /* default in file syntax; NULL: none (NULL string) */
    int64_t min, max;       /* K_INT, K_SIZE, K_DUR */
    unsigned flags;
    check_fn check;         /* K_STR only, optional */
};

static bool check_listen(char *v, struct fq_buf *why);
static bool check_client_id(char *v, struct fq_buf *why);
static bool check_prefix(char *v, struct fq_buf *why);
static bool check_api_base(char *v, struct fq_buf *why);
static bool check_timezone(char *v, struct fq_buf *why);
static bool check_log_level(char *v, struct fq_buf *why);

#define OFF(f) offsetof(struct fq_config, f)
#define D_ANY 0, DUR_MAX
#define D_POS 1, DUR_MAX

static const struct key_def keys[] = {
    {"server", "listen", K_STR, OFF(server_listen), "127.0.0.1:8080", 0, 0, 0, check_listen},
    {"server", "max_body", K_SIZE, OFF(server_max_body), "65536", 1, 16777216, 0, NULL},
    {"server", "threads", K_INT, OFF(server_threads), "2", 1, 64, 0, NULL},
    {"server", "timezone", K_STR, OFF(server_timezone), "Asia/Shanghai", 0, 0, 0, check_timezone},

    {"store", "path", K_STR, OFF(store_path), "var/fengqiao.db", 0, 0, 0, NULL},

    {"mqtt", "enabled", K_BOOL, OFF(mqtt_enabled), "true", 0, 0, 0, NULL},
    {"mqtt", "host", K_STR, OFF(mqtt_host), "127.0.0.1", 0, 0, 0, NULL},
    {"mqtt", "port", K_INT, OFF(mqtt_port), "1883", 1, 65535, 0, NULL},
    /* default "fengqiao-<hostname>", filled in by config_new_defaults */
    {"mqtt", "client_id", K_STR, OFF(mqtt_client_id), NULL, 0, 0, 0, check_client_id},
    {"mqtt", "prefix", K_STR, OFF(mqtt_prefix), "fq/v1", 0, 0, 0, check_prefix},
    {"mqtt", "username", K_STR, OFF(mqtt_username), NULL, 0, 0, KF_OPTIONAL, NULL},
    {"mqtt", "password", K_STR, OFF(mqtt_password), NULL, 0, 0, KF_OPTIONAL | KF_SECRET, NULL},
    {"mqtt", "tls_ca", K_STR, OFF(mqtt_tls_ca), NULL, 0, 0, KF_OPTIONAL, NULL},

    {"chat", "secret", K_STR, OFF(chat_secret), NULL, 0, 0, KF_OPTIONAL | KF_SECRET, NULL},

    {"wecom", "enabled", K_BOOL, OFF(wecom_enabled), "false", 0, 0, 0, NULL},
    {"wecom", "corp_id", K_STR, OFF(wecom_corp_id), NULL, 0, 0, KF_OPTIONAL, NULL},
    {"wecom", "agent_id", K_STR, OFF(wecom_agent_id), NULL, 0, 0, KF_OPTIONAL, NULL},
    {"wecom", "secret", K_STR, OFF(wecom_secret), NULL, 0, 0, KF_OPTIONAL | KF_SECRET, NULL},
    {"wecom", "token", K_STR, OFF(wecom_token), NULL, 0, 0, KF_OPTIONAL | KF_SECRET, NULL},
    {"wecom", "encoding_aes_key", K_STR, OFF(wecom_encoding_aes_key), NULL, 0, 0,
     KF_OPTIONAL | KF_SECRET, NULL},
    {"wecom", "kf_secret", K_STR, OFF(wecom_kf_secret), NULL, 0, 0, KF_OPTIONAL | KF_SECRET, NULL},
    {"wecom", "open_kfid", K_STR, OFF(wecom_open_kfid), NULL, 0, 0, KF_OPTIONAL, NULL},
    {"wecom", "api_base", K_STR, OFF(wecom_api_base), "https://qyapi.weixin.qq.com", 0, 0, 0,
     check_api_base},
    {"wecom", "oauth_base", K_STR, OFF(wecom_oauth_base), "https://open.weixin.qq.com", 0, 0, 0,
     check_api_base},
    {"wecom", "max_age", K_DUR, OFF(wecom_max_age), "0", D_ANY, 0, NULL},

    {"admin", "token", K_STR, OFF(admin_token), NULL, 0, 0, KF_OPTIONAL | KF_SECRET, NULL},

    {"sla", "accept_blue", K_DUR, OFF(sla_accept[FQ_SEV_BLUE]), "24h", D_POS, 0, NULL},
    {"sla", "accept_yellow", K_DUR, OFF(sla_accept[FQ_SEV_YELLOW]), "12h", D_POS, 0, NULL},
    {"sla", "accept_red", K_DUR, OFF(sla_accept[FQ_SEV_RED]), "1h", D_POS, 0, NULL},
    {"sla", "resolve_blue", K_DUR, OFF(sla_resolve[FQ_SEV_BLUE]), "7d", D_POS, 0, NULL},
    {"sla", "resolve_yellow", K_DUR, OFF(sla_resolve[FQ_SEV_YELLOW]), "15d", D_POS, 0, NULL},
    {"sla", "resolve_red", K_DUR, OFF(sla_resolve[FQ_SEV_RED]), "30d", D_POS, 0, NULL},
    {"sla", "attempts_per_tier", K_INT, OFF(sla_attempts_per_tier), "3", 1, 20, 0, NULL},

    {"survey", "delay", K_DUR, OFF(survey_delay), "3d", D_POS, 0, NULL},
    {"survey", "remind_after", K_DUR, OFF(survey_remind_after), "1d", D_POS, 0, NULL},
    {"survey", "expire_after", K_DUR, OFF(survey_expire_after), "3d", D_POS, 0, NULL},
    {"survey", "relapse_check", K_DUR, OFF(survey_relapse_check), "30d", D_ANY, 0, NULL},

    {"conversation", "idle_timeout", K_DUR, OFF(conversation_idle_timeout), "30m", D_POS, 0, NULL},

    {"retention", "inbox", K_DUR, OFF(retention_inbox), "7d", D_ANY, 0, NULL},
    {"retention", "outbox", K_DUR, OFF(retention_outbox), "3d", D_ANY, 0, NULL},
    {"retention", "timers", K_DUR, OFF(retention_timers), "7d", D_ANY, 0, NULL},
    {"retention", "interval", K_DUR, OFF(retention_interval), "1m", D_POS, 0, NULL},

    {"sensitive", "enabled", K_BOOL, OFF(sensitive_enabled), "false", 0, 0, 0, NULL},

    {"log", "level", K_STR, OFF(log_level), "info", 0, 0, 0, check_log_level},
};

#define N_KEYS (sizeof keys / sizeof keys[0])
#define MAX_KEYS 64
_Static_assert(N_KEYS <= MAX_KEYS, "raise MAX_KEYS");

static const char *const sections[] = {"server", "store", "mqtt", "chat", "wecom",
                                       "admin", "sla", "survey", "conversation", "retention",
                                       "sensitive", "log"};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

static char **str_at(struct fq_config *c, const struct key_def *k)
{
    return (char **)(void *)((char *)c + k->off);
}
static char *const *cstr_at(const struct fq_config *c, const struct key_def *k)
{
    return (char *const *)(const void *)((const char *)c + k->off);
}
static int64_t *i64_at(struct fq_config *c, const struct key_def *k)
{
    return (int64_t *)(void *)((char *)c + k->off);
}
static int *int_at(struct fq_config *c, const struct key_def *k)
{
    return (int *)(void *)((char *)c + k->off);
}
static bool *bool_at(struct fq_config *c, const struct key_def *k)
{
    return (bool *)(void *)((char *)c + k->off);
}

static const struct key_def *key_find(const char *section, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static bool section_known(const char *s)
{
    for (size_t i = 0; i < N_SECTIONS; i++)
        if (strcmp(sections[i], s) == 0)
            return true;
    return false;
}

/* "FENGQIAO_SLA_ACCEPT_BLUE" (suffix "_FILE" for the secret-file form) into buf. */
static void env_name(const struct key_def *k, const char *suffix, char *buf, size_t size)
{
    snprintf(buf, size, "FENGQIAO_%s_%s%s", k->section, k->name, suffix ? suffix : "");
    for (char *p = buf; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

/* ---- value parsers --------------------------------------------------------------------------- */
int64_t config_parse_duration(const char *s)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    int64_t n = 0;
    const char *p = s;
    for (; isdigit((unsigned char)*p); p++) {
        int d = *p - '0';
        if (n > (INT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    int64_t unit;
    switch (*p) {
    case '\0': return n == 0 ? 0 : -1;   /* a bare number is only allowed for 0 */
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return -1;
    }
    if (p[1] != '\0')
        return -1;
    if (n > INT64_MAX / unit)
        return -1;
    return n * unit;
}

static void fmt_duration(int64_t s, char *buf, size_t size)
{
    if (s == 0)
        snprintf(buf, size, "0");
    else if (s % 86400 == 0)
        snprintf(buf, size, "%lldd", (long long)(s / 86400));
    else if (s % 3600 == 0)
        snprintf(buf, size, "%lldh", (long long)(s / 3600));
    else if (s % 60 == 0)
        snprintf(buf, size, "%lldm", (long long)(s / 60));
    else
        snprintf(buf, size, "%llds", (long long)s);
}

/* Decimal integer, optional leading '-'; false on junk or overflow. */
static bool parse_i64(const char *s, int64_t *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (!isdigit((unsigned char)*p))
        return false;
    int64_t n = 0;
    for (; isdigit((unsigned char)*p); p++) {
        int d = *p - '0';
        if (n > (INT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    if (*p)
        return false;
    *out = neg ? -n : n;
    return true;
}

static int parse_bool(const char *s)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* ---- string checks --------------------------------------------------------------------------- */
static bool port_ok(const char *s)
{
    int64_t n;
    return strlen(s) <= 5 && parse_i64(s, &n) && *s != '-' && n >= 1 && n <= 65535;
}

static bool hostname_ok(const char *h)
{
    if (!*h || strlen(h) > 253)
        return false;
    bool all_num = true;
    for (const char *p = h; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
            return false;
        if (!isdigit((unsigned char)*p) && *p != '.')
            all_num = false;
    }
    if (all_num) {  /* looks like an IPv4 address: must be one */
        struct in_addr a;
        return inet_pton(AF_INET, h, &a) == 1;
    }
    return true;
}

/* The same forms bot/net/http.c binds to (it does not resolve host names): an IPv4 literal,
 * [IPv6], localhost, or * / empty for every address. */
static bool check_listen(char *v, struct fq_buf *why)
{
    const char *colon = strrchr(v, ':');
    bool ok = false;
    if (colon && port_ok(colon + 1)) {
        size_t hl = (size_t)(colon - v);
        char host[256];
        if (hl > 0 && hl < sizeof host) {
            memcpy(host, v, hl);
            host[hl] = '\0';
            if (host[0] == '[') {
                struct in6_addr a6;
                if (hl > 2 && host[hl - 1] == ']') {
                    host[hl - 1] = '\0';
                    ok = inet_pton(AF_INET6, host + 1, &a6) == 1;
                }
            } else {
                struct in_addr a4;
                ok = strcmp(host, "*") == 0 || strcmp(host, "localhost") == 0 ||
                     inet_pton(AF_INET, host, &a4) == 1;
            }
        } else if (hl == 0) {
            ok = true;   /* ":8080": every address, as "*:8080" */
        }
    }
    if (!ok)
        buf_printf(why, "expected address:port with an IP address (127.0.0.1, 0.0.0.0, [::1]), "
                        "localhost or *, and a port from 1 to 65535, got \"%s\"", v);
    return ok;
}

static bool check_client_id(char *v, struct fq_buf *why)
{
    for (const char *p = v; *p; p++) {
        if (*p == '+' || *p == '#' || *p == '/' || isspace((unsigned char)*p) ||
            iscntrl((unsigned char)*p)) {
            buf_printf(why, "expected a client id without '+', '#', '/' or spaces (it is also a "
                            "topic level), got \"%s\"", v);
            return false;
        }
    }
    return true;
}

static bool check_timezone(char *v, struct fq_buf *why)
{
    if (fq_tz_valid(v))
        return true;
    buf_printf(why, "expected a zone of the tz database such as Asia/Shanghai or UTC, got \"%s\"",
               v);
    return false;
}

static bool check_prefix(char *v, struct fq_buf *why)
{
    size_t n = strlen(v);
    bool ok = strpbrk(v, "+#") == NULL && v[0] != '/' && v[n - 1] != '/' && !strstr(v, "//");
    if (!ok)
        buf_printf(why, "expected a topic prefix such as fq/v1 (no '+' or '#', no leading, trailing "
                        "or doubled '/'), got \"%s\"", v);
    return ok;
}

static bool check_log_level(char *v, struct fq_buf *why)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(v, levels[i]) == 0)
            return true;
    buf_printf(why, "expected error, warn, info or debug, got \"%s\"", v);
    return false;
}

static bool loopback_host(const char *h)
{
    if (strcasecmp(h, "localhost") == 0)
        return true;
    size_t n = strlen(h);
    if (h[0] == '[' && n > 2 && n < 64 && h[n - 1] == ']') {
        char v6[64];
        struct in6_addr a6;
        memcpy(v6, h + 1, n - 2);
        v6[n - 2] = '\0';
        return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    struct in_addr a;
    if (inet_pton(AF_INET, h, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return false;
}

/* https://host[:port][/path] or http://<loopback>[:port][/path]; trailing '/' removed so that
 * "{api_base}/cgi-bin/..." has no doubled slash. */
static bool check_api_base(char *v, struct fq_buf *why)
{
    const char *rest;
    bool https;
    if (strncasecmp(v, "https://", 8) == 0) {
        https = true;
        rest = v + 8;
    } else if (strncasecmp(v, "http://", 7) == 0) {
        https = false;
        rest = v + 7;
    } else {
        buf_printf(why, "expected an https:// URL (plain http:// only to 127.0.0.1, localhost or "
                        "[::1]), got \"%s\"", v);
        return false;
    }
    size_t alen = strcspn(rest, "/?#");
    char auth[256];
    if (alen == 0 || alen >= sizeof auth || memchr(rest, '@', alen) || rest[alen] == '?' ||
        rest[alen] == '#') {
        buf_printf(why, "expected an URL like https://qyapi.weixin.qq.com (a host, no user@, no "
                        "query), got \"%s\"", v);
        return false;
    }
    memcpy(auth, rest, alen);
    auth[alen] = '\0';
    /* split off the port: the last ':' after any [v6] bracket */
    char *close = strrchr(auth, ']');
    char *colon = strrchr(close ? close : auth, ':');
    if (colon) {
        if (!port_ok(colon + 1)) {
            buf_printf(why, "expected a port from 1 to 65535 in the URL, got \"%s\"", v);
            return false;
        }
        *colon = '\0';
    }
    bool host_ok;
    if (auth[0] == '[') {
        size_t hl = strlen(auth);
        struct in6_addr a6;
        host_ok = hl > 2 && auth[hl - 1] == ']';
        if (host_ok) {
            auth[hl - 1] = '\0';
            host_ok = inet_pton(AF_INET6, auth + 1, &a6) == 1;
            auth[hl - 1] = ']';
        }
    } else {
        host_ok = hostname_ok(auth);
    }
    if (!host_ok) {
        buf_printf(why, "expected a host name or address in the URL, got \"%s\"", v);
        return false;
    }
    if (!https && !loopback_host(auth)) {
        buf_printf(why, "plain http:// is only allowed to a loopback host (127.0.0.1, localhost, "
                        "[::1]); use https://, got \"%s\"", v);
        return false;
    }
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == '/' && (size_t)(v + n - rest) > alen)
        v[--n] = '\0';
    return true;
}

/* ---- setting one value ----------------------------------------------------------------------- */
enum set_rc { SET_OK, SET_BAD, SET_OOM };

/* Parses v (borrowed) for key k into c. On SET_BAD, *why says why, naming the expected form. */
static enum set_rc set_value(struct fq_config *c, const struct key_def *k, const char *v,
                             struct fq_buf *why)
{
    switch (k->type) {
    case K_STR: {
        char **dst = str_at(c, k);
        if (!*v) {
            if (!(k->flags & KF_OPTIONAL)) {
                buf_printf(why, "must not be empty");
                return SET_BAD;
            }
            free(*dst);
            *dst = NULL;
            return SET_OK;
        }
        if (!fq_utf8_valid(v, strlen(v))) {
            buf_printf(why, "expected UTF-8 text");
            return SET_BAD;
        }
        char *s = strdup(v);
        if (!s)
            return SET_OOM;
        if (k->check && !k->check(s, why)) {
            free(s);
            return why->oom ? SET_OOM : SET_BAD;
        }
        free(*dst);
        *dst = s;
        return SET_OK;
    }
    case K_BOOL: {
        int b = parse_bool(v);
        if (b < 0) {
            buf_printf(why, "expected true or false (also yes/no, on/off, 1/0), got \"%s\"", v);
            return SET_BAD;
        }
        *bool_at(c, k) = b;
        return SET_OK;
    }
    case K_INT:
    case K_SIZE: {
        int64_t n;
        if (!parse_i64(v, &n) || n < k->min || n > k->max) {
            buf_printf(why, "expected %s from %lld to %lld, got \"%s\"",
                       k->type == K_SIZE ? "a size in bytes" : "an integer", (long long)k->min,
                       (long long)k->max, v);
            return SET_BAD;
        }
        if (k->type == K_SIZE)
            *i64_at(c, k) = n;
        else
            *int_at(c, k) = (int)n;
        return SET_OK;
    }
    case K_DUR: {
        int64_t d = config_parse_duration(v);
        char hi[32];
        fmt_duration(k->max, hi, sizeof hi);
        if (d < 0) {
            buf_printf(why, "expected a duration with a unit, such as 30s, 15m, 12h or 7d%s, "
                            "got \"%s\"", k->min == 0 ? " (or 0 for off)" : "", v);
            return SET_BAD;
        }
        if (d < k->min || d > k->max) {
            buf_printf(why, "expected a duration from %s to %s, got \"%s\"",
                       k->min == 0 ? "0" : "1s", hi, v);
            return SET_BAD;
        }
        *i64_at(c, k) = d;
        return SET_OK;
    }
    }
    return SET_BAD;
}

/* ---- problems -------------------------------------------------------------------------------- */
struct load {
    struct fq_config *c;
    struct fq_config_problems *probs;
    const char *file;
    bool oom;
    int line_of[MAX_KEYS];          /* file line that set the key, 0: not in the file */
    bool env_set[MAX_KEYS];         /* set by the environment */
    char *sfile[MAX_KEYS];          /* secret file path to read, or NULL */
    int sfile_line[MAX_KEYS];       /* its file line, 0 when it came from the environment */
};

static void prob_vadd(struct load *L, const char *file, int line, const char *key,
                      const char *fmt, va_list ap)
{
    struct fq_config_problems *p = L->probs;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct fq_config_problem *v = realloc(p->v, cap * sizeof *v);
        if (!v) {
            L->oom = true;
            return;
        }
        p->v = v;
        p->cap = cap;
    }
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (text)
        vsnprintf(text, (size_t)n + 1, fmt, ap);
    struct fq_config_problem pr = {
        .file = fq_strdup(file), .line = line, .key = strdup(key ? key : ""), .text = text};
    if (!pr.key || !pr.text || (file && !pr.file)) {
        free(pr.file);
        free(pr.key);
        free(pr.text);
        L->oom = true;
        return;
    }
    p->v[p->n++] = pr;
}

static void prob_add(struct load *L, const char *file, int line, const char *key,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void prob_add(struct load *L, const char *file, int line, const char *key,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    prob_vadd(L, file, line, key, fmt, ap);
    va_end(ap);
}

void config_problems_cleanup(struct fq_config_problems *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].file);
        free(p->v[i].key);
        free(p->v[i].text);
    }
    free(p->v);
    memset(p, 0, sizeof *p);
}

void config_problems_print(const struct fq_config_problems *p, FILE *f)
{
    if (!p || !f)
        return;
    for (size_t i = 0; i < p->n; i++) {
        const struct fq_config_problem *pr = &p->v[i];
        if (pr->file && pr->line > 0)
            fprintf(f, "%s:%d: ", pr->file, pr->line);
        else if (pr->file)
            fprintf(f, "%s: ", pr->file);
        if (pr->key && *pr->key)
            fprintf(f, "%s: ", pr->key);
        fprintf(f, "%s\n", pr->text ? pr->text : "");
    }
}

/* Applies v to key k, recording a problem under (file, line, where) when it is bad. */
static void apply(struct load *L, const struct key_def *k, const char *v, const char *file,
                  int line, const char *where)
{
    struct fq_buf why;
    buf_init(&why);
    enum set_rc rc = set_value(L->c, k, v, &why);
    if (rc == SET_OOM || why.oom)
        L->oom = true;
    else if (rc == SET_BAD)
        prob_add(L, file, line, where, "%s", why.s ? why.s : "bad value");
    buf_cleanup(&why);
}

/* ---- defaults -------------------------------------------------------------------------------- */
static char *default_client_id(void)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)   /* keep it a valid topic level whatever the host is called */
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            *p = '-';
    struct fq_buf b;
    buf_init(&b);
    buf_printf(&b, "fengqiao%s%s", host[0] ? "-" : "", host);
    return buf_take(&b);
}

struct fq_config *config_new_defaults(void)
{
    struct fq_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!keys[i].def)
            continue;
        struct fq_buf why;
        buf_init(&why);
        enum set_rc rc = set_value(c, &keys[i], keys[i].def, &why);
        buf_cleanup(&why);
        if (rc != SET_OK) {   /* a bad built-in default is a bug caught by the tests */
            config_free(c);
            return NULL;
        }
    }
    c->mqtt_client_id = default_client_id();
    if (!c->mqtt_client_id) {
        config_free(c);
        return NULL;
    }
    return c;
}

void config_free(struct fq_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].type == K_STR)
            free(*str_at(c, &keys[i]));
    free(c->file);
    free(c);
}

/* ---- the file -------------------------------------------------------------------------------- */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static bool is_comment_start(const char *p) { return *p == '#' || *p == ';'; }

/* Cuts an inline comment: '#' or ';' preceded by a space or tab. */
static void cut_comment(char *s)
{
    for (char *p = s; *p; p++)
        if (is_comment_start(p) && p > s && (p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            return;
        }
}

static bool name_ok(const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
            return false;
    return true;
}

/* Handles one `key = value` of the file. */
static void file_key(struct load *L, const char *section, const char *name, const char *value,
                     int line)
{
    char where[160];
    snprintf(where, sizeof where, "%s.%s", section, name);
    const struct key_def *k = section_known(section) ? key_find(section, name) : NULL;
    if (k) {
        size_t i = (size_t)(k - keys);
        if (L->line_of[i]) {
            prob_add(L, L->file, line, where, "given twice (first at line %d)", L->line_of[i]);
            return;
        }
        L->line_of[i] = line;
        apply(L, k, value, L->file, line, where);
        return;
    }
    /* <secret>_file */
    size_t nl = strlen(name);
    if (k == NULL && section_known(section) && nl > 5 && strcmp(name + nl - 5, "_file") == 0) {
        char base[128];
        if (nl - 5 < sizeof base) {
            memcpy(base, name, nl - 5);
            base[nl - 5] = '\0';
            k = key_find(section, base);
        }
        if (k && (k->flags & KF_SECRET)) {
            size_t i = (size_t)(k - keys);
            if (L->sfile_line[i]) {
                prob_add(L, L->file, line, where, "given twice (first at line %d)",
                         L->sfile_line[i]);
                return;
            }
            if (!*value)
                return;  /* empty: not given */
            char *path = strdup(value);
            if (!path) {
                L->oom = true;
                return;
            }
            free(L->sfile[i]);
            L->sfile[i] = path;
            L->sfile_line[i] = line;
            return;
        }
    }
    prob_add(L, L->file, line, where, "unknown key");
}

static void parse_stream(struct load *L, FILE *f)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    int line = 0;
    char section[128] = "";
    bool have_section = false, section_bad = false;
    while ((n = getline(&buf, &cap, f)) != -1) {
        line++;
        if ((size_t)n != strlen(buf)) {
            prob_add(L, L->file, line, NULL, "syntax error: NUL byte in the line");
            continue;
        }
        if (n > LINE_MAX_BYTES) {
            prob_add(L, L->file, line, NULL, "syntax error: line longer than %d bytes",
                     LINE_MAX_BYTES);
            continue;
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        char *s = buf;
        if (line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;
        if (!fq_utf8_valid(s, strlen(s))) {
            prob_add(L, L->file, line, NULL, "syntax error: not valid UTF-8");
            continue;
        }
        s = trim(s);
        if (!*s || is_comment_start(s))
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            char *after = close ? trim(close + 1) : NULL;
            /* after a bad header its keys belong to no section: skip them, without noise */
            section_bad = true;
            if (!close || (*after && !is_comment_start(after))) {
                prob_add(L, L->file, line, NULL, "syntax error: expected [section]");
                continue;
            }
            *close = '\0';
            char *name = trim(s + 1);
            if (!name_ok(name) || strlen(name) >= sizeof section) {
                prob_add(L, L->file, line, NULL, "syntax error: bad section name \"%s\"", name);
                continue;
            }
            snprintf(section, sizeof section, "%s", name);
            have_section = true;
            section_bad = false;
            if (!section_known(section))
                prob_add(L, L->file, line, section, "unknown section [%s]", section);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            prob_add(L, L->file, line, NULL,
                     "syntax error: expected key = value, [section] or a # comment");
            continue;
        }
        *eq = '\0';
        char *name = trim(s);
        char *value = trim(eq + 1);
        if (!name_ok(name) || strlen(name) > 100) {
            prob_add(L, L->file, line, NULL, "syntax error: bad key name \"%s\"", name);
            continue;
        }
        if (*value == '"') {
            char *end = strchr(value + 1, '"');
            char *after = end ? trim(end + 1) : NULL;
            if (!end || (*after && !is_comment_start(after))) {
                prob_add(L, L->file, line, NULL,
                         "syntax error: a quoted value must end with \" (then only a comment)");
                continue;
            }
            *end = '\0';
            value++;
        } else {
            cut_comment(value);
            value = trim(value);
        }
        if (section_bad)
            continue;
        if (!have_section) {
            prob_add(L, L->file, line, NULL, "syntax error: %s = ... before any [section]", name);
            continue;
        }
        file_key(L, section, name, value, line);
        if (L->oom)
            break;
    }
    if (ferror(f))
        prob_add(L, L->file, 0, NULL, "read error: %s", strerror(errno));
    free(buf);

    for (size_t i = 0; i < N_KEYS; i++)
        if (L->line_of[i] && L->sfile_line[i]) {
            char where[160];
            snprintf(where, sizeof where, "%s.%s", keys[i].section, keys[i].name);
            int later = L->line_of[i] > L->sfile_line[i] ? L->line_of[i] : L->sfile_line[i];
            prob_add(L, L->file, later, where,
                     "both %s (line %d) and %s_file (line %d) are given; use one", where,
                     L->line_of[i], where, L->sfile_line[i]);
        }
}

/* ---- the environment ------------------------------------------------------------------------- */
static void load_env(struct load *L)
{
    char name[160], fname[160];
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key_def *k = &keys[i];
        env_name(k, NULL, name, sizeof name);
        const char *v = getenv(name);
        if (v) {
            L->env_set[i] = true;
            apply(L, k, v, NULL, 0, name);
            if (L->sfile[i]) {   /* the environment's value replaces the file's _file */
                free(L->sfile[i]);
                L->sfile[i] = NULL;
                L->sfile_line[i] = 0;
            }
        }
        if (!(k->flags & KF_SECRET))
            continue;
        env_name(k, "_FILE", fname, sizeof fname);
        const char *path = getenv(fname);
        if (!path || !*path)
            continue;
        if (v) {
            prob_add(L, NULL, 0, fname, "both %s and %s are set; use one", name, fname);
            continue;
        }
        char *dup = strdup(path);
        if (!dup) {
            L->oom = true;
            return;
        }
        free(L->sfile[i]);
        L->sfile[i] = dup;
        L->sfile_line[i] = 0;
        char **dst = str_at(L->c, k);   /* the environment's _FILE replaces the file's value */
        free(*dst);
        *dst = NULL;
    }

    /* A typo in FENGQIAO_<known section>_... would silently do nothing: catch it. Variables of
     * other shapes (FENGQIAO_VERSION, ...) belong to containers and scripts: ignored. */
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "FENGQIAO_", 9) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
        if (len >= sizeof name)
            continue;
        memcpy(name, *e, len);
        name[len] = '\0';
        bool in_section = false, known = false;
        for (size_t s = 0; s < N_SECTIONS && !in_section; s++) {
            char pre[64];
            snprintf(pre, sizeof pre, "FENGQIAO_%s_", sections[s]);
            for (char *p = pre; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            in_section = strncmp(name, pre, strlen(pre)) == 0;
        }
        if (!in_section)
            continue;
        for (size_t i = 0; i < N_KEYS && !known; i++) {
            env_name(&keys[i], NULL, fname, sizeof fname);
            known = strcmp(fname, name) == 0;
            if (!known && (keys[i].flags & KF_SECRET)) {
                env_name(&keys[i], "_FILE", fname, sizeof fname);
                known = strcmp(fname, name) == 0;
            }
        }
        if (!known)
            prob_add(L, NULL, 0, name, "unknown key (no such FENGQIAO_<SECTION>_<KEY> variable)");
    }
}

/* ---- secret files ---------------------------------------------------------------------------- */
/* Reads a secret from path into *out (caller frees). On failure writes why and returns false. */
static bool read_secret(const char *path, char **out, struct fq_buf *why)
{
    bool ok = false;
    char *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        buf_printf(why, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        buf_printf(why, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        buf_printf(why, "cannot read %s: is a directory", path);
        goto out;
    }
    size_t cap = SECRET_MAX + 3, len = 0;   /* room for the secret, "\r\n", and one more byte */
    data = malloc(cap + 1);
    if (!data) {
        why->oom = true;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, data + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            buf_printf(why, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == cap)
            break;
    }
    data[len] = '\0';
    if (len > 0 && data[len - 1] == '\n') {
        data[--len] = '\0';
        if (len > 0 && data[len - 1] == '\r')
            data[--len] = '\0';
    }
    if (len > SECRET_MAX) {
        buf_printf(why, "%s is larger than %d bytes", path, SECRET_MAX);
        goto out;
    }
    if (len == 0) {
        buf_printf(why, "%s is empty", path);
        goto out;
    }
    if (memchr(data, '\0', len) || memchr(data, '\n', len)) {
        buf_printf(why, "%s must hold one line of text (found a NUL or a second line)", path);
        goto out;
    }
    *out = data;
    data = NULL;
    ok = true;
out:
    if (fd >= 0)
        close(fd);
    free(data);
    return ok;
}

static void load_secret_files(struct load *L)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!L->sfile[i])
            continue;
        const struct key_def *k = &keys[i];
        char where[160];
        if (L->sfile_line[i])
            snprintf(where, sizeof where, "%s.%s_file", k->section, k->name);
        else
            env_name(k, "_FILE", where, sizeof where);
        struct fq_buf why;
        buf_init(&why);
        char *v = NULL;
        if (read_secret(L->sfile[i], &v, &why)) {
            char **dst = str_at(L->c, k);
            free(*dst);
            *dst = v;
        } else if (why.oom) {
            L->oom = true;
        } else {
            prob_add(L, L->sfile_line[i] ? L->file : NULL, L->sfile_line[i], where, "%s", why.s);
        }
        buf_cleanup(&why);
    }
}

/* ---- cross-field check ----------------------------------------------------------------------- */
static void check_all(struct load *L)
{
    const struct fq_config *c = L->c;
    if (c->wecom_enabled) {
        struct { const char *key; const char *v; } need[] = {
            {"wecom.corp_id", c->wecom_corp_id},   {"wecom.agent_id", c->wecom_agent_id},
            {"wecom.secret", c->wecom_secret},     {"wecom.token", c->wecom_token},
            {"wecom.encoding_aes_key", c->wecom_encoding_aes_key},
        };
        for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
            if (!need[i].v)
                prob_add(L, NULL, 0, need[i].key, "required when wecom.enabled = true");
    }
    if (c->wecom_encoding_aes_key) {
        const char *k = c->wecom_encoding_aes_key;
        size_t n = strlen(k);
        bool b64 = n == 43;
        for (size_t i = 0; b64 && i < n; i++)
            b64 = isalnum((unsigned char)k[i]) || k[i] == '+' || k[i] == '/';
        if (!b64)
            prob_add(L, NULL, 0, "wecom.encoding_aes_key",
                     "expected 43 characters of base64 (A-Z a-z 0-9 + /), got %zu characters", n);
    }
    if (c->wecom_agent_id) {
        int64_t id;
        if (!parse_i64(c->wecom_agent_id, &id) || id < 0)
            prob_add(L, NULL, 0, "wecom.agent_id", "expected a number (the app's AgentId), got "
                     "\"%s\"", c->wecom_agent_id);
    }
    if (c->survey_remind_after >= c->survey_expire_after) {
        char r[32], e[32];
        fmt_duration(c->survey_remind_after, r, sizeof r);
        fmt_duration(c->survey_expire_after, e, sizeof e);
        prob_add(L, NULL, 0, "survey.remind_after",
                 "must be shorter than survey.expire_after (%s is not less than %s)", r, e);
    }
    if (c->mqtt_tls_ca && access(c->mqtt_tls_ca, R_OK) != 0)
        prob_add(L, NULL, 0, "mqtt.tls_ca", "cannot read %s: %s", c->mqtt_tls_ca, strerror(errno));
}

/* ---- load ------------------------------------------------------------------------------------ */
struct fq_config *config_load(const char *file, struct fq_config_problems *probs)
{
    struct fq_config_problems local = {0};
    struct load L = {.probs = probs ? probs : &local, .file = file};
    size_t before = L.probs->n;
    FILE *f = NULL;

    L.c = config_new_defaults();
    if (!L.c) {
        L.oom = true;
        goto out;
    }
    if (file) {
        L.c->file = strdup(file);
        if (!L.c->file) {
            L.oom = true;
            goto out;
        }
        f = fopen(file, "r");
        if (!f) {
            prob_add(&L, file, 0, NULL, "cannot open: %s", strerror(errno));
        } else {
            parse_stream(&L, f);
            fclose(f);
        }
    }
    if (!L.oom)
        load_env(&L);
    if (!L.oom)
        load_secret_files(&L);
    if (!L.oom)
        check_all(&L);
out:
    for (size_t i = 0; i < N_KEYS; i++)
        free(L.sfile[i]);
    if (L.oom) {
        L.oom = false;
        prob_add(&L, NULL, 0, NULL, "out of memory while loading the configuration");
    }
    if (L.probs->n != before || L.oom) {
        config_free(L.c);
        L.c = NULL;
    }
    config_problems_cleanup(&local);
    return L.c;
}

/* ---- printing -------------------------------------------------------------------------------- */
/* Values are written so that the output parses back to the same config (quoted when a value
 * would otherwise lose edge spaces or an inline comment); secrets are shown as "(set)". */
void config_print(const struct fq_config *c, FILE *f)
{
    if (!c || !f)
        return;
    fprintf(f, "# fengqiao effective configuration: %s, then FENGQIAO_* environment\n",
            c->file ? c->file : "built-in defaults");
    const char *cur = NULL;
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key_def *k = &keys[i];
        if (!cur || strcmp(cur, k->section) != 0) {
            fprintf(f, "%s[%s]\n", cur ? "\n" : "", k->section);
            cur = k->section;
        }
        const char *base = (const char *)c + k->off;
        char num[32];
        const char *v = "";
        switch (k->type) {
        case K_STR: {
            const char *s = *cstr_at(c, k);
            v = !s ? "" : (k->flags & KF_SECRET) ? "(set)" : s;
            break;
        }
        case K_BOOL: v = *(const bool *)(const void *)base ? "true" : "false"; break;
        case K_INT: snprintf(num, sizeof num, "%d", *(const int *)(const void *)base); v = num; break;
        case K_SIZE:
            snprintf(num, sizeof num, "%lld", (long long)*(const int64_t *)(const void *)base);
            v = num;
            break;
        case K_DUR:
            fmt_duration(*(const int64_t *)(const void *)base, num, sizeof num);
            v = num;
            break;
        }
        bool quote = *v && (v[0] == ' ' || v[0] == '\t' || v[0] == '"' ||
                            v[strlen(v) - 1] == ' ' || v[strlen(v) - 1] == '\t' ||
                            strstr(v, " #") || strstr(v, " ;") || strstr(v, "\t#") ||
                            strstr(v, "\t;"));
        if (quote)
            fprintf(f, "%s = \"%s\"\n", k->name, v);
        else
            fprintf(f, "%s = %s\n", k->name, v);
    }
}

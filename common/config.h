/* config.h: the daemon's configuration (docs/contract.md 2) as a plain struct. Parsing lives in
 * bot/config.c (its own INI parser); this header has no library include so handlers/ can read
 * it. The deadline rules on the sla.* values are common/sla.h. */
#ifndef FQ_CONFIG_H
#define FQ_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Every string is owned by the struct (freed by config_free); durations are in seconds. */
struct fq_config {
    char *file;                     /* the file it came from, NULL for built-in defaults */

    char *server_listen;            /* "127.0.0.1:8080" */
    int64_t server_max_body;        /* 65536 */
    int server_threads;             /* 2 */
    char *server_timezone;          /* "Asia/Shanghai": local times and periods (localtime.c) */

    char *store_path;               /* "var/fengqiao.db" */

    bool mqtt_enabled;              /* true */
    char *mqtt_host;                /* "127.0.0.1" */
    int mqtt_port;                  /* 1883 */
    char *mqtt_client_id;           /* "fengqiao-<hostname>" */
    char *mqtt_prefix;              /* "fq/v1" */
    char *mqtt_username, *mqtt_password, *mqtt_tls_ca;   /* NULL when empty */

    char *chat_secret;              /* NULL: the webhook answers 503 */

    bool wecom_enabled;
    char *wecom_corp_id, *wecom_agent_id, *wecom_secret, *wecom_token, *wecom_encoding_aes_key;
    char *wecom_kf_secret, *wecom_open_kfid;
    char *wecom_api_base;           /* "https://qyapi.weixin.qq.com" */
    int64_t wecom_max_age;          /* 0 = off */

    char *admin_token;              /* NULL: admin API answers 503 */

    int64_t sla_accept[3];          /* by enum fq_severity: 24h, 12h, 1h */
    int64_t sla_resolve[3];         /* 7d, 15d, 30d */
    int sla_attempts_per_tier;      /* 3 */

    int64_t survey_delay;           /* 3d */
    int64_t survey_remind_after;    /* 1d */
    int64_t survey_expire_after;    /* 3d */
    int64_t survey_relapse_check;   /* 30d, 0 = off */

    int64_t conversation_idle_timeout;  /* 30m */

    bool sensitive_enabled;

    char *log_level;                /* "info": error|warn|info|debug */
};

/* One problem found while loading or checking: "file:line: key: problem". */
struct fq_config_problem {
    char *file;   /* NULL for environment or cross-field problems */
    int line;     /* 0 when not from a file line */
    char *key;    /* "section.key", or the environment variable name */
    char *text;
};

struct fq_config_problems {
    struct fq_config_problem *v;
    size_t n, cap;
};

/* A config with every default of docs/contract.md 2. Caller frees with config_free. NULL on oom. */
struct fq_config *config_new_defaults(void);
void config_free(struct fq_config *c);   /* NULL-safe */

/* Load: defaults, then FILE (if not NULL), then FENGQIAO_<SECTION>_<KEY> variables, then
 * `<key>_file` secrets are read, then the cross-field check. Returns a config, or NULL when
 * there were problems; every problem found is appended to *probs (caller frees with
 * config_problems_cleanup). A missing FILE is a problem. */
struct fq_config *config_load(const char *file, struct fq_config_problems *probs);
void config_problems_cleanup(struct fq_config_problems *p);
/* Prints each problem as "file:line: key: problem" (or "key: problem") to f. */
void config_problems_print(const struct fq_config_problems *p, FILE *f);

/* Parses a duration "30s" "15m" "12h" "7d" (also a bare "0") into seconds; -1 on error. */
int64_t config_parse_duration(const char *s);

/* Prints the effective configuration c to f as an INI file that parses back to the same values
 * (durations in their largest exact unit); every secret that is set shows as "(set)", never its
 * value. For `check-config -v`. Nothing happens when c or f is NULL. */
void config_print(const struct fq_config *c, FILE *f);

#endif

/* config_model.h: the daemon's configuration (docs/contract.md 2) as a plain struct, which every
 * layer may read. Loading and checking it is bot/sys/config.h; the deadline rules on the sla.*
 * values are common/sla.h. */
#ifndef FQ_CONFIG_MODEL_H
#define FQ_CONFIG_MODEL_H

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
    char *wecom_oauth_base;         /* "https://open.weixin.qq.com": the workbench's OAuth page */
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

    /* operational rows kept after they are done (store/retention.h), 0 = for ever */
    int64_t retention_inbox;        /* 7d: an answer, while a retry of its message can come */
    int64_t retention_outbox;       /* 3d: a delivered row */
    int64_t retention_timers;       /* 7d: a fired or cancelled timer */
    int64_t retention_interval;     /* 1m: how often the scheduler prunes */

    bool sensitive_enabled;

    char *log_level;                /* "info": error|warn|info|debug */
};

#endif

/* serve.c: `fengqiao serve`: start-up order, signals, and shutdown in reverse order.
 *
 * Start-up: config → locales → core (store, migrations, roster) → scheduler (bot/core/sched.c) → MQTT
 * → outbox → HTTP; the scheduler stops before the core. Signals are
 * blocked in every thread and taken synchronously here with sigwait, so no handler runs in an
 * arbitrary thread. SIGTERM/SIGINT: stop accepting, let requests already in the core commit and
 * be answered, drain, stop the rest, exit 0 (within 5 s). SIGHUP: re-read the config and the
 * locales; an invalid one is refused and the running one kept. A valid one also re-reads the
 * roster from the database (roster_touch).
 *
 * Under systemd (Type=notify, bot/sys/notify.c): READY=1 once the store, the timers, MQTT and HTTP
 * are up; RELOADING=1 and READY=1 around a SIGHUP reload (accepted or refused); STOPPING=1 when
 * a stop signal arrives. The core thread sends the watchdog keep-alive (bot/core/core.c), so a core
 * stuck in one batch gets the daemon restarted. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bot/cli/serve.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/localtime.h"
#include "handlers/i18n.h"
#include "handlers/roster.h"
#include "store/store.h"
#include "bot/cli/cli.h"
#include "bot/core/core.h"
#include "bot/net/http.h"
#include "bot/sys/locale.h"
#include "bot/sys/log.h"
#include "bot/sys/metrics.h"
#include "bot/net/mqtt.h"
#include "bot/sys/notify.h"
#include "bot/core/relay.h"
#include "bot/chan/wecom/wecom_deliver.h"
#include "bot/core/sched.h"

struct daemon {
    struct fq_config *cfg;
    struct fq_lexicon *lex;
    /* configs and lexicons replaced by SIGHUP stay alive until exit: other threads may still
     * hold a borrowed pointer to them */
    struct fq_config *old_cfg[16];
    struct fq_lexicon *old_lex[16];
    int n_old;
    struct core *core;
    struct mqtt *mq;
    struct outbox *ob;
    struct wecom_out *wo;          /* WeCom deliveries and 微信客服 pulls (bot/chan/wecom/wecom_deliver.c) */
    struct http *http;
    struct sched *sched;
};

static void on_mqtt_msg(struct fq_msg *m, void *arg)
{
    struct daemon *d = arg;
    metrics_message_in("mqtt");
    if (core_push(d->core, m) != FQ_OK) {
        log_warn("mqtt inbound message dropped: core not taking messages");
        fq_msg_free(m);
    }
}

static void on_delivered(int64_t *ids, size_t n, void *arg)
{
    struct daemon *d = arg;
    struct fq_msg *m = fq_msg_new(FQ_MSG_DELIVERED);
    if (!m) {
        free(ids);
        return;
    }
    m->ids = ids;
    m->n_ids = n;
    if (core_push(d->core, m) != FQ_OK)
        fq_msg_free(m);   /* stopping: the rows are published again on the next start */
}

static void on_commit(void *arg)
{
    struct daemon *d = arg;
    if (d->ob)
        outbox_kick(d->ob);
    wecom_out_kick(d->wo);
}

/* SIGHUP re-reads the roster too (say after a hand edit of the database): bumping the roster
 * generation makes the core reload it before its next batch (within a second), the same path
 * a `roster import` from another process takes, so the core's roster stays its own. */
static void roster_touch(const char *store_path)
{
    struct store *s = NULL;
    char *cause = NULL, *gen = NULL;
    enum fq_err err = store_open(store_path, &s, &cause);
    if (!err && !(err = store_begin(s))) {
        gen = roster_generation(s);
        char next[32];
        snprintf(next, sizeof next, "%lld", (gen ? atoll(gen) : 0) + 1);
        if ((err = store_kv_put(s, "roster_gen", next)) || (err = store_commit(s)))
            store_rollback(s);
    }
    if (err)
        log_warn("SIGHUP: roster not re-read err=\"%s\" cause=\"%s\"", fq_strerror(err),
                 cause ? cause : store_errmsg(s));
    free(gen);
    free(cause);
    store_close(s);
}

/* log.level; config_load has checked the value */
static void apply_log_level(const struct fq_config *cfg)
{
    enum log_level l = LOG_INFO;
    if (log_level_parse(cfg->log_level, &l) == 0)
        log_set_level(l);
}

static void reload(struct daemon *d)
{
    struct fq_config_problems probs = {0};
    struct fq_config *cfg = config_load(d->cfg->file, &probs);
    if (!cfg) {
        log_error("SIGHUP: new configuration refused, keeping the running one");
        config_problems_print(&probs, stderr);
        config_problems_cleanup(&probs);
        return;
    }
    config_problems_cleanup(&probs);
    char *dir = locale_dir_default(), *cause = NULL;
    struct fq_lexicon *lex = NULL;
    if (locale_load(dir, &lex, &cause) != FQ_OK) {
        log_error("SIGHUP: locales refused, keeping the running ones cause=\"%s\"", cause ? cause : "");
        free(cause);
        free(dir);
        config_free(cfg);
        return;
    }
    free(dir);
    if (d->n_old >= 16) {
        log_error("SIGHUP: too many reloads without restart; restart the daemon to reload");
        config_free(cfg);
        lexicon_free(lex);
        return;
    }
    d->old_cfg[d->n_old] = d->cfg;
    d->old_lex[d->n_old++] = d->lex;
    d->cfg = cfg;
    d->lex = lex;
    apply_log_level(cfg);
    core_set_config(d->core, cfg, lex);
    http_set_config(d->http, cfg);
    if (!fq_streq(cfg->store_path, d->old_cfg[0]->store_path))
        log_warn("SIGHUP: store.path changed; the daemon keeps the open database until restart");
    /* the zone was put into TZ before the threads started and cannot change under them */
    if (!fq_streq(cfg->server_timezone, fq_tz_current()))
        log_warn("SIGHUP: server.timezone changed; local times stay in %s until restart",
                 fq_tz_current() ? fq_tz_current() : "(unset)");
    roster_touch(d->old_cfg[0]->store_path);   /* the database the core opened at start */
    log_info("configuration reloaded");
}

static void shutdown_all(struct daemon *d)
{
    int64_t start = fq_mono_ms();
    http_quiesce(d->http);
    /* requests already handed to the core, or begun (body still arriving), get their answer;
     * wait at most ~3 s for them */
    while ((http_inflight(d->http) > 0 || http_active(d->http) > 0) &&
           fq_mono_ms() - start < 3000)
        usleep(10 * 1000);
    /* the scheduler before the core: its last message, if any, is finished by the core */
    sched_stop(d->sched);
    d->sched = NULL;
    /* the outbox first, so PUBACKs of its last second still reach the core as deliveries */
    outbox_stop(d->ob);            /* undelivered rows stay in the store */
    d->ob = NULL;
    wecom_out_stop(d->wo);         /* likewise; its last deliveries reach the core */
    d->wo = NULL;
    core_stop(d->core);            /* drains the queue: every taken message is committed */
    d->core = NULL;
    http_stop(d->http);
    d->http = NULL;
    mqtt_free(d->mq);
    d->mq = NULL;
}

int cmd_serve(const char *conf)
{
    struct daemon d;
    memset(&d, 0, sizeof d);
    int rc = 1;
    char *cause = NULL;
    struct fq_config_problems probs = {0};
    d.cfg = config_load(conf, &probs);
    if (!d.cfg) {
        config_problems_print(&probs, stderr);
        config_problems_cleanup(&probs);
        return 1;
    }
    config_problems_cleanup(&probs);
    /* before any thread starts: setenv/tzset are not safe while others read the environment */
    if (fq_tz_use(d.cfg->server_timezone) != FQ_OK) {
        fprintf(stderr, "fengqiao: server.timezone: cannot use \"%s\"\n", d.cfg->server_timezone);
        config_free(d.cfg);
        return 1;
    }
    apply_log_level(d.cfg);
    log_debug("starting version=\"%s\" config=\"%s\"", cli_version(),
              d.cfg->file ? d.cfg->file : "(built-in defaults)");
    char *dir = locale_dir_default();
    if (locale_load(dir, &d.lex, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao: locales: %s\n", cause ? cause : "cannot load");
        goto out;
    }

    notify_init();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* inherited by every thread started below */
    /* A file-size limit (ulimit -f) would kill the process on a write past it; ignored, the
     * write fails with EFBIG, SQLite reports it, and the request gets 503 like a full disk. */
    signal(SIGXFSZ, SIG_IGN);

    if (core_start(d.cfg, d.lex, &d.core, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao: store %s: %s\n", d.cfg->store_path, cause ? cause : "cannot open");
        goto out;
    }
    core_on_commit(d.core, on_commit, &d);
    if (sched_start(d.cfg, d.core, &d.sched, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao: scheduler: %s\n", cause ? cause : "cannot start");
        goto out;
    }
    if (d.cfg->mqtt_enabled) {
        struct mqtt_opts mo = {.cfg = d.cfg, .on_msg = on_mqtt_msg, .arg = &d};
        if (mqtt_start(&mo, &d.mq, &cause) != FQ_OK) {
            fprintf(stderr, "fengqiao: mqtt: %s\n", cause ? cause : "cannot start");
            goto out;
        }
        if (outbox_start(d.cfg, d.mq, on_delivered, &d, &d.ob, &cause) != FQ_OK) {
            fprintf(stderr, "fengqiao: outbox: %s\n", cause ? cause : "cannot start");
            goto out;
        }
    }
    if (d.cfg->wecom_enabled &&
        wecom_out_start(d.cfg, d.core, on_delivered, &d, &d.wo, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao: wecom: %s\n", cause ? cause : "cannot start");
        goto out;
    }
    if (http_start(d.cfg, d.core, &d.http, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao: http %s: %s\n", d.cfg->server_listen,
                cause ? cause : "cannot listen");
        goto out;
    }
    log_info("serving listen=%s store=%s mqtt=%s", d.cfg->server_listen, d.cfg->store_path,
             d.cfg->mqtt_enabled ? "on" : "off");
    notify_send("READY=1\nSTATUS=serving");

    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            notify_reloading();
            reload(&d);
            notify_send("READY=1\nSTATUS=serving");
            continue;
        }
        if (sig == SIGPIPE)
            continue;
        log_info("stopping signal=%d", sig);
        notify_send("STOPPING=1\nSTATUS=stopping");
        break;
    }
    shutdown_all(&d);
    log_info("stopped");
    rc = 0;
out:
    shutdown_all(&d);
    free(cause);
    free(dir);
    for (int i = 0; i < d.n_old; i++) {
        config_free(d.old_cfg[i]);
        lexicon_free(d.old_lex[i]);
    }
    lexicon_free(d.lex);
    config_free(d.cfg);
    return rc;
}

/* test_mqtt.c: bot/net/mqtt.c against a real mosquitto started on a free loopback port
 * (tests/unit/helpers/broker.c): status and last will, inbound chat messages and mediator
 * commands, what is dropped, connecting in the background; and bot/sys/metrics.c's rendering. */
#include <criterion/criterion.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bot/sys/metrics.h"
#include "bot/net/mqtt.h"
#include "bot/chan/mqtt/mqtt_chan.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "tests/unit/helpers/broker.h"

#define PREFIX "fq/t"

static struct broker br;
static struct fq_config *cfg;

/* messages handed to on_msg */
static pthread_mutex_t got_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t got_cv = PTHREAD_COND_INITIALIZER;
static struct fq_msg *got[64];
static size_t n_got;

static void on_msg(struct fq_msg *m, void *arg)
{
    cr_assert_eq(arg, &br, "on_msg gets its arg");
    pthread_mutex_lock(&got_mu);
    if (n_got < 64)
        got[n_got++] = m;
    else
        fq_msg_free(m);
    pthread_cond_broadcast(&got_cv);
    pthread_mutex_unlock(&got_mu);
}

static size_t wait_got(size_t n, int ms)
{
    struct timespec ts;
    fq_deadline(&ts, CLOCK_REALTIME, ms);
    pthread_mutex_lock(&got_mu);
    while (n_got < n)
        if (pthread_cond_timedwait(&got_cv, &got_mu, &ts) != 0)
            break;
    size_t r = n_got;
    pthread_mutex_unlock(&got_mu);
    return r;
}

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = v ? strdup(v) : NULL;
}

static struct fq_config *make_cfg(int port, const char *client_id)
{
    struct fq_config *c = config_new_defaults();
    cr_assert_not_null(c);
    set_str(&c->mqtt_host, "127.0.0.1");
    c->mqtt_port = port;
    set_str(&c->mqtt_client_id, client_id);
    set_str(&c->mqtt_prefix, PREFIX);
    return c;
}

static void setup(void)
{
    memset(&br, 0, sizeof br);
    cr_assert_eq(broker_start(&br), 0, "mosquitto starts");
    cfg = make_cfg(br.port, "fq-test");
    n_got = 0;
}

static void teardown(void)
{
    for (size_t i = 0; i < n_got; i++)
        fq_msg_free(got[i]);
    n_got = 0;
    config_free(cfg);
    cfg = NULL;
    broker_cleanup(&br);
}

static bool wait_connected(struct mqtt *mq, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (mqtt_connected(mq))
            return true;
        usleep(10 * 1000);
    }
    return mqtt_connected(mq);
}

static struct mqtt *start(const struct fq_config *c)
{
    struct mqtt_opts o = {.cfg = c, .on_msg = on_msg, .arg = &br};
    struct mqtt *mq = NULL;
    char *cause = NULL;
    enum fq_err err = mqtt_start(&o, &mq, &cause);
    cr_assert_eq(err, FQ_OK, "mqtt_start: %s", cause ? cause : "");
    free(cause);
    cr_assert(wait_connected(mq, 5000), "connects within 5 s");
    return mq;
}

/* The "state" of a status payload, checking its shape: an RFC 3339 "at" when the daemon sent it
 * (online, clean stop), none in the last will; caller frees. */
static char *status_state_at(const struct broker_msg *m, bool has_at)
{
    json_error_t e;
    json_t *o = json_loads(m->payload, 0, &e);
    cr_assert_not_null(o, "status is JSON: %s", m->payload);
    const char *state = json_string_value(json_object_get(o, "state"));
    cr_assert_not_null(state);
    if (has_at) {
        const char *at = json_string_value(json_object_get(o, "at"));
        cr_assert_not_null(at);
        cr_assert_eq(strlen(at), 20, "RFC 3339 UTC: %s", at);
        cr_assert_eq(at[10], 'T');
        cr_assert_eq(at[19], 'Z');
    } else {
        cr_assert_null(json_object_get(o, "at"), "no \"at\" in the will: %s", m->payload);
        cr_assert_eq(json_object_size(o), 1, "the will is {\"state\"} only: %s", m->payload);
    }
    char *r = strdup(state);
    json_decref(o);
    return r;
}

static char *status_state(const struct broker_msg *m) { return status_state_at(m, true); }

TestSuite(mqtt, .init = setup, .fini = teardown, .timeout = 20);

Test(mqtt, online_status_retained_then_offline_on_clean_stop)
{
    struct mqtt *mq = start(cfg);
    cr_assert_eq(metrics_mqtt_is_connected(), 1);

    /* a late subscriber gets the retained online status */
    struct broker_sub *s = broker_sub_new(br.port, NULL, PREFIX "/status/fq-test");
    cr_assert_not_null(s);
    cr_assert_geq(broker_sub_wait(s, 1, 3000), 1, "retained status arrives");
    const struct broker_msg *m = broker_sub_get(s, 0);
    cr_assert(m->retain, "status is retained");
    char *st = status_state(m);
    cr_assert_str_eq(st, "online");
    free(st);

    mqtt_free(mq);
    cr_assert_eq(metrics_mqtt_is_connected(), 0);
    cr_assert_geq(broker_sub_wait(s, 2, 3000), 2, "offline status published on clean stop");
    st = status_state(broker_sub_get(s, 1));
    cr_assert_str_eq(st, "offline");
    free(st);
    broker_sub_free(s);

    /* and it stays retained */
    s = broker_sub_new(br.port, NULL, PREFIX "/status/fq-test");
    cr_assert_not_null(s);
    cr_assert_geq(broker_sub_wait(s, 1, 3000), 1);
    cr_assert(broker_sub_get(s, 0)->retain);
    st = status_state(broker_sub_get(s, 0));
    cr_assert_str_eq(st, "offline");
    free(st);
    broker_sub_free(s);
}

Test(mqtt, last_will_offline_when_the_process_dies)
{
    /* A child process connects and then dies without a word: the broker publishes the will.
     * Forked before this process starts any thread. */
    int up[2], go[2];
    cr_assert_eq(pipe(up), 0);
    cr_assert_eq(pipe(go), 0);
    struct fq_config *c2 = make_cfg(br.port, "fq-dying");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct mqtt_opts o = {.cfg = c2};
        struct mqtt *mq = NULL;
        char *cause = NULL;
        char b = 0;
        if (mqtt_start(&o, &mq, &cause) != FQ_OK)
            _exit(2);
        for (int i = 0; i < 500 && !mqtt_connected(mq); i++)
            usleep(10 * 1000);
        if (!mqtt_connected(mq))
            _exit(3);
        usleep(100 * 1000);                  /* the online status is out */
        if (write(up[1], "u", 1) != 1 || read(go[0], &b, 1) < 0)
            _exit(4);
        _exit(0);                            /* no DISCONNECT, no offline status */
    }
    close(up[1]);
    close(go[0]);
    char b = 0;
    cr_assert_eq(read(up[0], &b, 1), 1, "child connected");

    struct broker_sub *s = broker_sub_new(br.port, NULL, PREFIX "/status/fq-dying");
    cr_assert_not_null(s);
    cr_assert_geq(broker_sub_wait(s, 1, 3000), 1);
    char *st = status_state(broker_sub_get(s, 0));
    cr_assert_str_eq(st, "online", "online while the child lives");
    free(st);

    cr_assert_eq(write(go[1], "g", 1), 1);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);

    cr_assert_geq(broker_sub_wait(s, 2, 5000), 2, "the will is published");
    st = status_state_at(broker_sub_get(s, 1), false);
    cr_assert_str_eq(st, "offline");
    free(st);
    broker_sub_free(s);

    s = broker_sub_new(br.port, NULL, PREFIX "/status/fq-dying");
    cr_assert_not_null(s);
    cr_assert_geq(broker_sub_wait(s, 1, 3000), 1);
    cr_assert(broker_sub_get(s, 0)->retain, "the will is retained");
    st = status_state_at(broker_sub_get(s, 0), false);
    cr_assert_str_eq(st, "offline");
    free(st);
    broker_sub_free(s);
    close(up[0]);
    close(go[1]);
    config_free(c2);
}

static const char *chat_body(const char *channel, const char *user, const char *id,
                             const char *text, char *buf, size_t size)
{
    snprintf(buf, size,
             "{\"channel\":\"%s\",\"user\":\"%s\",\"message_id\":\"%s\",\"type\":\"text\","
             "\"text\":\"%s\",\"locale\":\"zh-CN\"}",
             channel, user, id, text);
    return buf;
}

Test(mqtt, inbound_chat_message_parsed_and_delivered)
{
    struct mqtt *mq = start(cfg);
    struct broker_sub *pub = broker_sub_new(br.port, NULL, PREFIX "/nothing");
    cr_assert_not_null(pub);
    char body[512];
    cr_assert_eq(broker_sub_publish(pub, PREFIX "/inbound/web",
                                    chat_body("web", "u-1", "m-1", "邻居在楼道堆杂物", body,
                                              sizeof body), false), 0);
    cr_assert_eq(wait_got(1, 3000), 1);
    struct fq_msg *m = got[0];
    cr_assert_eq(m->kind, FQ_MSG_CHAT);
    cr_assert_eq(m->chan, &chan_mqtt);
    cr_assert_str_eq(m->channel, "web");
    cr_assert_str_eq(m->user, "u-1");
    cr_assert_str_eq(m->message_id, "m-1");
    cr_assert_str_eq(m->text, "邻居在楼道堆杂物");
    broker_sub_free(pub);
    mqtt_free(mq);
}

Test(mqtt, invalid_inbound_messages_are_dropped)
{
    struct mqtt *mq = start(cfg);
    struct broker_sub *pub = broker_sub_new(br.port, NULL, PREFIX "/nothing");
    cr_assert_not_null(pub);
    char body[512];
    const char *t = PREFIX "/inbound/web";
    /* all on one topic from one client, so they arrive in this order */
    cr_assert_eq(broker_sub_publish(pub, t, "not json", false), 0);
    cr_assert_eq(broker_sub_publish(pub, t, "{\"channel\":\"web\"}", false), 0);   /* fields missing */
    cr_assert_eq(broker_sub_publish(pub, t, chat_body("sms", "u-1", "m-2", "x", body, sizeof body),
                                    false), 0);                                   /* other channel */
    cr_assert_eq(broker_sub_publish(pub, t, "{\"channel\":\"web\",\"user\":\"u\",\"message_id\":"
                                    "\"m\",\"type\":\"text\",\"text\":\"\xff\xfe\"}", false), 0);
    char *big = malloc(MQTT_MAX_PAYLOAD + 100);
    cr_assert_not_null(big);
    size_t n = (size_t)snprintf(big, 200, "{\"channel\":\"web\",\"user\":\"u\",\"message_id\":"
                                          "\"m-big\",\"type\":\"text\",\"text\":\"");
    memset(big + n, 'a', MQTT_MAX_PAYLOAD);
    strcpy(big + n + MQTT_MAX_PAYLOAD, "\"}");
    cr_assert_eq(broker_sub_publish(pub, t, big, false), 0);                      /* too large */
    free(big);
    /* a command on a topic level that is not ours is ignored too */
    cr_assert_eq(broker_sub_publish(pub, PREFIX "/mediators/m-1/other", "{\"command\":\"accept\"}",
                                    false), 0);
    /* the marker: valid, published last */
    cr_assert_eq(broker_sub_publish(pub, t, chat_body("web", "u-9", "m-9", "ok", body, sizeof body),
                                    false), 0);
    cr_assert_geq(wait_got(1, 3000), 1);
    usleep(200 * 1000);
    cr_assert_eq(wait_got(2, 10), 1, "only the valid message was delivered");
    cr_assert_str_eq(got[0]->message_id, "m-9");
    broker_sub_free(pub);
    mqtt_free(mq);
}

Test(mqtt, mediator_command_parsed_and_delivered)
{
    struct mqtt *mq = start(cfg);
    struct broker_sub *pub = broker_sub_new(br.port, NULL, PREFIX "/nothing");
    cr_assert_not_null(pub);
    const char *t = PREFIX "/mediators/m-wang/commands";
    cr_assert_eq(broker_sub_publish(pub, t, "{\"command\": 5}", false), 0);          /* wrong type */
    cr_assert_eq(broker_sub_publish(pub, t, "[\"accept\"]", false), 0);              /* not an object */
    cr_assert_eq(broker_sub_publish(pub, t, "{\"case\":\"FQ20261122-0001\"}", false), 0);
    char *note = malloc(MQTT_MAX_FIELD + 200);
    cr_assert_not_null(note);
    int k = snprintf(note, 100, "{\"command\":\"progress\",\"case\":\"c\",\"note\":\"");
    memset(note + k, 'n', MQTT_MAX_FIELD + 1);
    strcpy(note + k + MQTT_MAX_FIELD + 1, "\"}");
    cr_assert_eq(broker_sub_publish(pub, t, note, false), 0);                       /* field too long */
    free(note);
    cr_assert_eq(broker_sub_publish(pub, t,
                                    "{\"command\":\"transfer\",\"case\":\"FQ20261122-0001\","
                                    "\"note\":\"转给陈\",\"to\":\"m-chen\",\"request_id\":\"r-1\"}",
                                    false), 0);
    cr_assert_geq(wait_got(1, 3000), 1);
    usleep(200 * 1000);
    cr_assert_eq(wait_got(2, 10), 1, "only the valid command was delivered");
    struct fq_msg *m = got[0];
    cr_assert_eq(m->kind, FQ_MSG_COMMAND);
    cr_assert_eq(m->chan, &chan_mqtt);
    cr_assert_str_eq(m->mediator, "m-wang", "the mediator comes from the topic");
    cr_assert_str_eq(m->command, "transfer");
    cr_assert_str_eq(m->case_no, "FQ20261122-0001");
    cr_assert_str_eq(m->note, "转给陈");
    cr_assert_str_eq(m->to, "m-chen");
    cr_assert_str_eq(m->request_id, "r-1");
    broker_sub_free(pub);
    mqtt_free(mq);
}

Test(mqtt, starts_while_the_broker_is_down_and_connects_later)
{
    broker_stop(&br);
    struct mqtt_opts o = {.cfg = cfg, .on_msg = on_msg, .arg = &br};
    struct mqtt *mq = NULL;
    char *cause = NULL;
    int64_t t0 = fq_mono_ms();
    cr_assert_eq(mqtt_start(&o, &mq, &cause), FQ_OK, "%s", cause ? cause : "");
    cr_assert_lt(fq_mono_ms() - t0, 500, "mqtt_start does not wait for the broker");
    usleep(300 * 1000);
    cr_assert_not(mqtt_connected(mq));
    cr_assert_eq(metrics_mqtt_is_connected(), 0);
    int mid = 0;
    cr_assert_eq(mqtt_publish(mq, PREFIX "/events/cases/x", "{}", 2, false, &mid), FQ_OK,
                 "a publish while down is queued");
    cr_assert_eq(broker_restart(&br), 0);
    cr_assert(wait_connected(mq, 8000), "connects once the broker is back");
    cr_assert_eq(metrics_mqtt_is_connected(), 1);
    /* subscriptions were made on connect: an inbound message gets through */
    struct broker_sub *pub = broker_sub_new(br.port, NULL, PREFIX "/nothing");
    cr_assert_not_null(pub);
    char body[512];
    cr_assert_eq(broker_sub_publish(pub, PREFIX "/inbound/web",
                                    chat_body("web", "u-2", "m-2", "hi", body, sizeof body),
                                    false), 0);
    cr_assert_eq(wait_got(1, 3000), 1);
    broker_sub_free(pub);
    mqtt_free(mq);
}

Test(mqtt, bad_configuration_is_refused)
{
    struct mqtt *mq = NULL;
    char *cause = NULL;
    set_str(&cfg->mqtt_tls_ca, "/nonexistent/ca.pem");
    struct mqtt_opts o = {.cfg = cfg};
    cr_assert_eq(mqtt_start(&o, &mq, &cause), FQ_ECONFIG);
    cr_assert_null(mq);
    cr_assert_not_null(cause);
    cr_assert_not_null(strstr(cause, "tls_ca"), "%s", cause);
    free(cause);
}

/* ---- mqtt_parse_command without a broker ----------------------------------------------------- */
Test(mqtt_parse, command_fields_and_bounds)
{
    struct fq_msg *m = NULL;
    const char *why = NULL;
    const char *ok = "{\"command\":\"accept\",\"case\":\"FQ20261122-0002\",\"request_id\":\"q\"}";
    cr_assert_eq(mqtt_parse_command("m-li", ok, strlen(ok), &m, &why), FQ_OK);
    cr_assert_str_eq(m->mediator, "m-li");
    cr_assert_str_eq(m->command, "accept");
    cr_assert_null(m->note);
    cr_assert_null(m->to);
    fq_msg_free(m);

    const char *bad[] = {"", "{", "null", "{\"command\":\"\"}", "{\"command\":null}",
                         "{\"command\":\"a\",\"command\":\"b\"}", "{\"command\":\"a\",\"to\":[1]}",
                         "{\"command\":\"a\\u0000b\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = (struct fq_msg *)1;
        why = NULL;
        cr_assert_eq(mqtt_parse_command("m-li", bad[i], strlen(bad[i]), &m, &why), FQ_EINVAL,
                     "refused: %s", bad[i]);
        cr_assert_null(m);
        cr_assert_not_null(why);
    }
    cr_assert_eq(mqtt_parse_command("", ok, strlen(ok), &m, &why), FQ_EINVAL);
}

/* ---- metrics --------------------------------------------------------------------------------- */
/* The value of the sample line starting with line_prefix, -1 when there is none. */
static long long metric(const char *text, const char *line_prefix)
{
    size_t n = strlen(line_prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, line_prefix, n) == 0)
            return atoll(p + n);
    return -1;
}

Test(metrics, render_counts_and_labels)
{
    char *before = metrics_render();
    cr_assert_not_null(before);
    long long chat200 = metric(before, "fq_http_requests_total{endpoint=\"chat\",status=\"200\"} ");
    free(before);
    metrics_request(EP_CHAT, 200);
    metrics_request(EP_CHAT, 200);
    metrics_request(EP_CHAT, 418);
    metrics_message_in("wecom");
    metrics_case_created("wage", FQ_SEV_YELLOW);
    metrics_case_created("nonsense", FQ_SEV_RED);
    metrics_timer_fired("reminder");
    metrics_timer_fired("whatever");
    metrics_delivered("mqtt");
    metrics_delivery_failed("wecom");
    metrics_outbox(7, 42);
    metrics_mqtt_connected(1);
    metrics_batch(5);
    char *t = metrics_render();
    cr_assert_not_null(t);
    cr_assert_eq(metric(t, "fq_http_requests_total{endpoint=\"chat\",status=\"200\"} "),
                 (chat200 < 0 ? 0 : chat200) + 2);
    cr_assert_geq(metric(t, "fq_http_requests_total{endpoint=\"chat\",status=\"other\"} "), 1);
    cr_assert_geq(metric(t, "fq_messages_in_total{channel=\"wecom\"} "), 1);
    cr_assert_geq(metric(t, "fq_cases_created_total{category=\"wage\",severity=\"yellow\"} "), 1);
    cr_assert_geq(metric(t, "fq_cases_created_total{category=\"other\",severity=\"red\"} "), 1);
    cr_assert_geq(metric(t, "fq_timers_fired_total{kind=\"reminder\"} "), 1);
    cr_assert_geq(metric(t, "fq_timers_fired_total{kind=\"other\"} "), 1);
    cr_assert_geq(metric(t, "fq_deliveries_total{channel=\"mqtt\"} "), 1);
    cr_assert_geq(metric(t, "fq_deliveries_failed_total{channel=\"wecom\"} "), 1);
    cr_assert_eq(metric(t, "fq_outbox_depth "), 7);
    cr_assert_eq(metric(t, "fq_outbox_oldest_age_seconds "), 42);
    cr_assert_eq(metric(t, "fq_mqtt_connected "), 1);
    cr_assert_geq(metric(t, "fq_batch_messages_total "), 5);
    cr_assert_not_null(strstr(t, "# TYPE fq_http_requests_total counter\n"));
    cr_assert_not_null(strstr(t, "# TYPE fq_outbox_depth gauge\n"));
    cr_assert_not_null(strstr(t, "# HELP fq_mqtt_connected "));
    const char *bi = strstr(t, "\nfengqiao_build_info{version=\"");
    cr_assert_not_null(bi);
    cr_assert_not_null(strstr(bi, ",commit=\""));
    cr_assert_eq(strncmp(strchr(bi, '}'), "} 1\n", 4), 0);
    cr_assert_not_null(strstr(t, "# TYPE fengqiao_build_info gauge\n"));
    /* every line is a comment or `name{labels} value` */
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"))
        cr_assert(line[0] == '#' || strncmp(line, "fq_", 3) == 0 ||
                      strncmp(line, "fengqiao_build_info{", 20) == 0,
                  "line: %s", line);
    free(t);
    metrics_mqtt_connected(0);
}

/* test_config.c: bot/sys/config.c against docs/contract.md 2: defaults, the INI file, FENGQIAO_*
 * overrides, secret files, the cross-field check and the exact "file:line: key: problem" text.
 * Files are real temporary files (mkstemp); the environment is cleared of FENGQIAO_* before each
 * test. */
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/sla.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* ---- helpers --------------------------------------------------------------------------------- */
static void clear_fq_env(void)
{
    /* unsetenv changes environ: collect the names first */
    char *names[256];
    size_t n = 0;
    for (char **e = environ; e && *e && n < 256; e++)
        if (strncmp(*e, "FENGQIAO_", 9) == 0)
            names[n++] = strndup(*e, strcspn(*e, "="));
    for (size_t i = 0; i < n; i++) {
        unsetenv(names[i]);
        free(names[i]);
    }
}

/* Tracks every temp file so fini removes them. */
static char *tmp_paths[32];
static size_t n_tmp;

static void setup(void) { clear_fq_env(); }
static void teardown(void)
{
    for (size_t i = 0; i < n_tmp; i++) {
        unlink(tmp_paths[i]);
        free(tmp_paths[i]);
    }
    n_tmp = 0;
    clear_fq_env();
}

/* Writes len bytes of data to a new temporary file; returns its path (freed by teardown). */
static const char *tmp_file_n(const char *data, size_t len)
{
    char *path = strdup("/tmp/fq-test-config-XXXXXX");
    cr_assert_not_null(path);
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    cr_assert(n_tmp < 32);
    tmp_paths[n_tmp++] = path;
    return path;
}

static const char *tmp_file(const char *data) { return tmp_file_n(data, strlen(data)); }

/* config_problems_print into a string (caller frees). */
static char *problems_text(const struct fq_config_problems *p)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    cr_assert_not_null(f);
    config_problems_print(p, f);
    fclose(f);
    return s;
}

static char *print_text(const struct fq_config *c)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    cr_assert_not_null(f);
    config_print(c, f);
    fclose(f);
    return s;
}

/* The problem whose key is key, or NULL. */
static const struct fq_config_problem *find_problem(const struct fq_config_problems *p,
                                                    const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].key && strcmp(p->v[i].key, key) == 0)
            return &p->v[i];
    return NULL;
}

/* Loads a config expected to be valid. */
static struct fq_config *load_ok(const char *file)
{
    struct fq_config_problems probs = {0};
    struct fq_config *c = config_load(file, &probs);
    if (!c) {
        char *t = problems_text(&probs);
        cr_log_error("unexpected problems:\n%s", t);
        free(t);
    }
    cr_assert_not_null(c);
    cr_assert_eq(probs.n, 0);
    config_problems_cleanup(&probs);
    return c;
}

/* Loads a config expected to be refused; returns the printed problems (caller frees) and
 * leaves the list in *probs (caller cleans up). */
static char *load_bad(const char *file, struct fq_config_problems *probs)
{
    struct fq_config *c = config_load(file, probs);
    cr_assert_null(c, "expected the config to be refused");
    cr_assert_gt(probs->n, 0);
    return problems_text(probs);
}

TestSuite(config, .init = setup, .fini = teardown);

/* ---- defaults -------------------------------------------------------------------------------- */
static void assert_defaults(const struct fq_config *c)
{
    cr_expect_str_eq(c->server_listen, "127.0.0.1:8080");
    cr_expect_eq(c->server_max_body, 65536);
    cr_expect_eq(c->server_threads, 2);
    cr_expect_str_eq(c->server_timezone, "Asia/Shanghai");
    cr_expect_str_eq(c->store_path, "var/fengqiao.db");
    cr_expect(c->mqtt_enabled);
    cr_expect_str_eq(c->mqtt_host, "127.0.0.1");
    cr_expect_eq(c->mqtt_port, 1883);
    char host[256] = "", want[300];
    gethostname(host, sizeof host - 1);
    snprintf(want, sizeof want, "fengqiao-%s", host);
    cr_expect_str_eq(c->mqtt_client_id, want);
    cr_expect_str_eq(c->mqtt_prefix, "fq/v1");
    cr_expect_null(c->mqtt_username);
    cr_expect_null(c->mqtt_password);
    cr_expect_null(c->mqtt_tls_ca);
    cr_expect_null(c->chat_secret);
    cr_expect_not(c->wecom_enabled);
    cr_expect_null(c->wecom_corp_id);
    cr_expect_null(c->wecom_agent_id);
    cr_expect_null(c->wecom_secret);
    cr_expect_null(c->wecom_token);
    cr_expect_null(c->wecom_encoding_aes_key);
    cr_expect_null(c->wecom_kf_secret);
    cr_expect_null(c->wecom_open_kfid);
    cr_expect_str_eq(c->wecom_api_base, "https://qyapi.weixin.qq.com");
    cr_expect_eq(c->wecom_max_age, 0);
    cr_expect_null(c->admin_token);
    cr_expect_eq(c->sla_accept[FQ_SEV_BLUE], 24 * 3600);
    cr_expect_eq(c->sla_accept[FQ_SEV_YELLOW], 12 * 3600);
    cr_expect_eq(c->sla_accept[FQ_SEV_RED], 3600);
    cr_expect_eq(c->sla_resolve[FQ_SEV_BLUE], 7 * 86400);
    cr_expect_eq(c->sla_resolve[FQ_SEV_YELLOW], 15 * 86400);
    cr_expect_eq(c->sla_resolve[FQ_SEV_RED], 30 * 86400);
    cr_expect_eq(c->sla_attempts_per_tier, 3);
    cr_expect_eq(c->survey_delay, 3 * 86400);
    cr_expect_eq(c->survey_remind_after, 86400);
    cr_expect_eq(c->survey_expire_after, 3 * 86400);
    cr_expect_eq(c->survey_relapse_check, 30 * 86400);
    cr_expect_eq(c->conversation_idle_timeout, 30 * 60);
    cr_expect_not(c->sensitive_enabled);
}

Test(config, defaults_match_contract)
{
    struct fq_config *c = config_new_defaults();
    cr_assert_not_null(c);
    cr_expect_null(c->file);
    assert_defaults(c);
    config_free(c);
    config_free(NULL);
}

Test(config, load_null_is_defaults)
{
    struct fq_config *c = load_ok(NULL);
    cr_expect_null(c->file);
    assert_defaults(c);
    config_free(c);
}

Test(config, empty_file_is_defaults)
{
    const char *path = tmp_file("# nothing but a comment\n\n; and another\n");
    struct fq_config *c = load_ok(path);
    cr_expect_str_eq(c->file, path);
    assert_defaults(c);
    config_free(c);
}

/* ---- a full file ----------------------------------------------------------------------------- */
static const char full_conf[] =
    "\xEF\xBB\xBF# fengqiao test configuration\n"
    "[server]\n"
    "listen = 0.0.0.0:9090\n"
    "max_body = 1048576   ; inline comment\n"
    "threads=8\n"
    "\n"
    "[store]\n"
    "  path = /srv/fq/fq.db  # inline comment\n"
    "[mqtt]\n"
    "enabled = no\n"
    "host = broker.example\n"
    "port = 8883\n"
    "client_id = fq-node-7\n"
    "prefix = city/fq/v2\n"
    "username = bot\n"
    "password = \"p#ss ;word \"\n"
    "tls_ca =\n"
    "[chat]\n"
    "secret = chat-secret#1\n"
    "[wecom]\n"
    "enabled = true\n"
    "corp_id = ww0123456789\n"
    "agent_id = 1000002\n"
    "secret = app-secret\n"
    "token = tok\n"
    "encoding_aes_key = abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\n"
    "kf_secret = kf-secret\n"
    "open_kfid = wkABCDEF\n"
    "api_base = http://127.0.0.1:18080/\n"
    "max_age = 5m\n"
    "[admin]\n"
    "token = admin-token\n"
    "[sla]\n"
    "accept_blue = 2h\n"
    "accept_yellow = 90m\n"
    "accept_red = 600s\n"
    "resolve_blue = 1d\n"
    "resolve_yellow = 2d\n"
    "resolve_red = 3d\n"
    "attempts_per_tier = 5\n"
    "[survey]\n"
    "delay = 1h\n"
    "remind_after = 2h\n"
    "expire_after = 4h\n"
    "relapse_check = 0\n"
    "[conversation]\n"
    "idle_timeout = 45s\n"
    "[sensitive]\n"
    "enabled = ON\n";

static void assert_full(const struct fq_config *c, bool secrets)
{
    cr_expect_str_eq(c->server_listen, "0.0.0.0:9090");
    cr_expect_eq(c->server_max_body, 1048576);
    cr_expect_eq(c->server_threads, 8);
    cr_expect_str_eq(c->store_path, "/srv/fq/fq.db");
    cr_expect_not(c->mqtt_enabled);
    cr_expect_str_eq(c->mqtt_host, "broker.example");
    cr_expect_eq(c->mqtt_port, 8883);
    cr_expect_str_eq(c->mqtt_client_id, "fq-node-7");
    cr_expect_str_eq(c->mqtt_prefix, "city/fq/v2");
    cr_expect_str_eq(c->mqtt_username, "bot");
    cr_expect_null(c->mqtt_tls_ca);
    cr_expect(c->wecom_enabled);
    cr_expect_str_eq(c->wecom_corp_id, "ww0123456789");
    cr_expect_str_eq(c->wecom_agent_id, "1000002");
    cr_expect_str_eq(c->wecom_open_kfid, "wkABCDEF");
    cr_expect_str_eq(c->wecom_api_base, "http://127.0.0.1:18080");   /* trailing '/' dropped */
    cr_expect_eq(c->wecom_max_age, 300);
    cr_expect_eq(c->sla_accept[FQ_SEV_BLUE], 7200);
    cr_expect_eq(c->sla_accept[FQ_SEV_YELLOW], 5400);
    cr_expect_eq(c->sla_accept[FQ_SEV_RED], 600);
    cr_expect_eq(c->sla_resolve[FQ_SEV_BLUE], 86400);
    cr_expect_eq(c->sla_resolve[FQ_SEV_YELLOW], 2 * 86400);
    cr_expect_eq(c->sla_resolve[FQ_SEV_RED], 3 * 86400);
    cr_expect_eq(c->sla_attempts_per_tier, 5);
    cr_expect_eq(c->survey_delay, 3600);
    cr_expect_eq(c->survey_remind_after, 7200);
    cr_expect_eq(c->survey_expire_after, 14400);
    cr_expect_eq(c->survey_relapse_check, 0);
    cr_expect_eq(c->conversation_idle_timeout, 45);
    cr_expect(c->sensitive_enabled);
    if (secrets) {
        cr_expect_str_eq(c->mqtt_password, "p#ss ;word ");
        cr_expect_str_eq(c->chat_secret, "chat-secret#1");
        cr_expect_str_eq(c->wecom_secret, "app-secret");
        cr_expect_str_eq(c->wecom_token, "tok");
        cr_expect_str_eq(c->wecom_encoding_aes_key,
                         "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG");
        cr_expect_str_eq(c->wecom_kf_secret, "kf-secret");
        cr_expect_str_eq(c->admin_token, "admin-token");
    }
}

Test(config, full_file_parses)
{
    const char *path = tmp_file(full_conf);
    struct fq_config *c = load_ok(path);
    cr_expect_str_eq(c->file, path);
    assert_full(c, true);
    config_free(c);
}

Test(config, print_round_trips_and_hides_secrets)
{
    const char *path = tmp_file(full_conf);
    struct fq_config *c = load_ok(path);
    char *out = print_text(c);
    cr_expect_null(strstr(out, "chat-secret"));
    cr_expect_null(strstr(out, "admin-token"));
    cr_expect_null(strstr(out, "p#ss"));
    cr_expect_null(strstr(out, "abcdefghijklmnop"));
    cr_expect_not_null(strstr(out, "\n[chat]\nsecret = (set)\n"));
    cr_expect_not_null(strstr(out, "\naccept_yellow = 90m\n"));
    cr_expect_not_null(strstr(out, "\nrelapse_check = 0\n"));

    /* parsing the printout gives back every non-secret value ("(set)" is no AES key: give one) */
    setenv("FENGQIAO_WECOM_ENCODING_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", 1);
    const char *again = tmp_file(out);
    struct fq_config *c2 = load_ok(again);
    assert_full(c2, false);
    cr_expect_str_eq(c2->chat_secret, "(set)");
    free(out);
    config_free(c2);
    config_free(c);
}

Test(config, print_defaults_without_secrets)
{
    struct fq_config *c = config_new_defaults();
    char *out = print_text(c);
    cr_expect_not_null(strstr(out, "[server]\nlisten = 127.0.0.1:8080\n"));
    cr_expect_not_null(strstr(out, "\n[chat]\nsecret = \n"));
    cr_expect_not_null(strstr(out, "\naccept_blue = 1d\n"));
    cr_expect_null(strstr(out, "(set)"));
    free(out);
    config_free(c);
}

/* ---- durations ------------------------------------------------------------------------------- */
Test(config, duration_forms)
{
    struct { const char *s; int64_t v; } good[] = {
        {"30s", 30}, {"15m", 900}, {"12h", 43200}, {"7d", 604800}, {"0", 0}, {"0s", 0},
        {"0d", 0}, {"1s", 1}, {"365d", 365LL * 86400}, {"106751991167300d", 106751991167300LL * 86400},
        {"9223372036854775807s", INT64_MAX},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_expect_eq(config_parse_duration(good[i].s), good[i].v, "%s", good[i].s);
    const char *bad[] = {
        "", "10", "-1s", "-0", "+5m", "1x", "1.5h", " 1h", "1h ", "1hh", "1h30m", "h", "s",
        "1S", "1 d", "9223372036854775808s", "106751991167301d", "99999999999999999999d",
        "153722867280912931m", "0x10s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(config_parse_duration(bad[i]), -1, "\"%s\" should be rejected", bad[i]);
    cr_expect_eq(config_parse_duration(NULL), -1);
}

Test(config, duration_in_file_names_expected_form)
{
    const char *path = tmp_file("[sla]\naccept_red = 90\n[survey]\ndelay = 0\n"
                                "[conversation]\nidle_timeout = 11000d\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[512];
    snprintf(want, sizeof want, "%s:2: sla.accept_red: expected a duration with a unit, such as "
             "30s, 15m, 12h or 7d, or working days or hours such as 3wd or 4wh, got \"90\"\n",
             path);
    cr_expect_not_null(strstr(t, want), "got:\n%s", t);
    snprintf(want, sizeof want, "%s:4: survey.delay: expected a duration from 1s", path);
    cr_expect_not_null(strstr(t, want), "got:\n%s", t);
    snprintf(want, sizeof want, "%s:6: conversation.idle_timeout: expected a duration from 1s "
             "to 3650d", path);
    cr_expect_not_null(strstr(t, want), "got:\n%s", t);
    cr_expect_eq(probs.n, 3);
    free(t);
    config_problems_cleanup(&probs);
}

/* ---- other value types ----------------------------------------------------------------------- */
Test(config, bool_forms)
{
    const char *yes[] = {"true", "yes", "on", "1", "TRUE", "Yes"};
    const char *no[] = {"false", "no", "off", "0", "Off"};
    for (size_t i = 0; i < 6; i++) {
        setenv("FENGQIAO_SENSITIVE_ENABLED", yes[i], 1);
        struct fq_config *c = load_ok(NULL);
        cr_expect(c->sensitive_enabled, "%s", yes[i]);
        config_free(c);
    }
    for (size_t i = 0; i < 5; i++) {
        setenv("FENGQIAO_MQTT_ENABLED", no[i], 1);
        struct fq_config *c = load_ok(NULL);
        cr_expect_not(c->mqtt_enabled, "%s", no[i]);
        config_free(c);
    }
    const char *path = tmp_file("[mqtt]\nenabled = maybe\n");
    unsetenv("FENGQIAO_MQTT_ENABLED");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[256];
    snprintf(want, sizeof want, "%s:2: mqtt.enabled: expected true or false", path);
    cr_expect_not_null(strstr(t, want), "got:\n%s", t);
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, int_ranges)
{
    const char *path = tmp_file("[server]\nthreads = 0\nmax_body = 16777217\n"
                                "[mqtt]\nport = 70000\n[sla]\nattempts_per_tier = 3x\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    cr_expect_eq(probs.n, 4, "got:\n%s", t);
    char want[256];
    snprintf(want, sizeof want, "%s:2: server.threads: expected an integer from 1 to 64, got "
             "\"0\"\n", path);
    cr_expect_not_null(strstr(t, want), "got:\n%s", t);
    snprintf(want, sizeof want, "%s:3: server.max_body: expected a size in bytes from 1 to "
             "16777216", path);
    cr_expect_not_null(strstr(t, want), "got:\n%s", t);
    cr_expect_not_null(find_problem(&probs, "mqtt.port"));
    cr_expect_not_null(find_problem(&probs, "sla.attempts_per_tier"));
    free(t);
    config_problems_cleanup(&probs);

    path = tmp_file("[server]\nthreads = 64\nmax_body = 16777216\n[mqtt]\nport = 65535\n"
                    "[sla]\nattempts_per_tier = 20\n");
    struct fq_config *c = load_ok(path);
    cr_expect_eq(c->server_threads, 64);
    cr_expect_eq(c->server_max_body, 16777216);
    cr_expect_eq(c->mqtt_port, 65535);
    cr_expect_eq(c->sla_attempts_per_tier, 20);
    config_free(c);
}

Test(config, listen_forms)
{
    const char *good[] = {"127.0.0.1:8080", "0.0.0.0:1", "[::1]:8080", "[::]:65535",
                          "localhost:80", "*:8080", ":8080"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        setenv("FENGQIAO_SERVER_LISTEN", good[i], 1);
        struct fq_config *c = load_ok(NULL);
        cr_expect_str_eq(c->server_listen, good[i]);
        config_free(c);
    }
    const char *bad[] = {"8080", "fq-host.example:443", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:",
                         "127.0.0.1:80x", "::1:8080", "[::1:8080", "[zz]:80", "300.1.1.1:80",
                         "host name:80", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("FENGQIAO_SERVER_LISTEN", bad[i], 1);
        struct fq_config_problems probs = {0};
        struct fq_config *c = config_load(NULL, &probs);
        cr_expect_null(c, "\"%s\" should be rejected", bad[i]);
        config_free(c);
        cr_expect_not_null(find_problem(&probs, "FENGQIAO_SERVER_LISTEN"), "%s", bad[i]);
        config_problems_cleanup(&probs);
    }
}

Test(config, server_timezone)
{
    const char *path = tmp_file("[server]\ntimezone = UTC\n");
    struct fq_config *c = load_ok(path);
    cr_expect_str_eq(c->server_timezone, "UTC");
    config_free(c);
    setenv("FENGQIAO_SERVER_TIMEZONE", "America/New_York", 1);
    c = load_ok(path);
    cr_expect_str_eq(c->server_timezone, "America/New_York");
    config_free(c);
    unsetenv("FENGQIAO_SERVER_TIMEZONE");
    /* glibc would read an unknown name as UTC: refused instead, with where it was written */
    path = tmp_file("[server]\nthreads = 2\ntimezone = Asia/Peking\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[512];
    snprintf(want, sizeof want, "%s:3: server.timezone: expected a zone of the tz database such "
             "as Asia/Shanghai or UTC, got \"Asia/Peking\"\n", path);
    cr_expect_not_null(strstr(t, want), "got:\n%s", t);
    cr_expect_eq(probs.n, 1);
    free(t);
    config_problems_cleanup(&probs);
    setenv("FENGQIAO_SERVER_TIMEZONE", "../../etc/passwd", 1);
    c = config_load(NULL, &probs);
    cr_expect_null(c);
    config_free(c);
    cr_expect_not_null(find_problem(&probs, "FENGQIAO_SERVER_TIMEZONE"));
    config_problems_cleanup(&probs);
    unsetenv("FENGQIAO_SERVER_TIMEZONE");
}

Test(config, mqtt_prefix_and_client_id)
{
    const char *bad_prefix[] = {"fq/+/v1", "fq/#", "/fq/v1", "fq/v1/", "fq//v1", ""};
    for (size_t i = 0; i < sizeof bad_prefix / sizeof bad_prefix[0]; i++) {
        setenv("FENGQIAO_MQTT_PREFIX", bad_prefix[i], 1);
        struct fq_config_problems probs = {0};
        struct fq_config *c = config_load(NULL, &probs);
        cr_expect_null(c, "\"%s\" should be rejected", bad_prefix[i]);
        config_free(c);
        config_problems_cleanup(&probs);
    }
    setenv("FENGQIAO_MQTT_PREFIX", "a/b/c", 1);
    struct fq_config *c = load_ok(NULL);
    cr_expect_str_eq(c->mqtt_prefix, "a/b/c");
    config_free(c);

    setenv("FENGQIAO_MQTT_CLIENT_ID", "node/1", 1);
    struct fq_config_problems probs = {0};
    c = config_load(NULL, &probs);
    cr_expect_null(c);
    cr_expect_not_null(find_problem(&probs, "FENGQIAO_MQTT_CLIENT_ID"));
    config_problems_cleanup(&probs);
}

Test(config, empty_optional_string_is_null)
{
    const char *path = tmp_file("[mqtt]\nusername = someone\n");
    setenv("FENGQIAO_MQTT_USERNAME", "", 1);
    struct fq_config *c = load_ok(path);
    cr_expect_null(c->mqtt_username);
    config_free(c);

    path = tmp_file("[store]\npath =\n");
    unsetenv("FENGQIAO_MQTT_USERNAME");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[256];
    snprintf(want, sizeof want, "%s:2: store.path: must not be empty\n", path);
    cr_expect_str_eq(t, want);
    free(t);
    config_problems_cleanup(&probs);
}

/* ---- unknown keys and syntax ----------------------------------------------------------------- */
Test(config, unknown_key_exact_text)
{
    const char *path = tmp_file("[server]\nlisten = 127.0.0.1:8081\n# comment\nthread = 4\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[256];
    snprintf(want, sizeof want, "%s:4: server.thread: unknown key\n", path);
    cr_expect_str_eq(t, want);
    cr_assert_eq(probs.n, 1);
    cr_expect_str_eq(probs.v[0].file, path);
    cr_expect_eq(probs.v[0].line, 4);
    cr_expect_str_eq(probs.v[0].key, "server.thread");
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, unknown_section)
{
    const char *path = tmp_file("[server]\nthreads = 3\n\n[servr]\nlisten = 1.2.3.4:5\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[256];
    snprintf(want, sizeof want, "%s:4: servr: unknown section [servr]\n"
             "%s:5: servr.listen: unknown key\n", path, path);
    cr_expect_str_eq(t, want);
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, secret_file_key_only_for_secrets)
{
    const char *secret = tmp_file("x\n");
    char conf[512];
    snprintf(conf, sizeof conf, "[mqtt]\nhost_file = %s\n", secret);
    const char *path = tmp_file(conf);
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[256];
    snprintf(want, sizeof want, "%s:2: mqtt.host_file: unknown key\n", path);
    cr_expect_str_eq(t, want);
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, syntax_error_line_numbers)
{
    const char *path = tmp_file("[server]\nthreads = 3\n\nthis line has no equals sign\n"
                                "[store\npath = x.db\n[server]\nlisten = 1.2.3.4:5\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    cr_assert_eq(probs.n, 2, "got:\n%s", t);
    cr_expect_eq(probs.v[0].line, 4);
    cr_expect_eq(probs.v[1].line, 5);
    char want[256];
    snprintf(want, sizeof want, "%s:4: syntax error", path);
    cr_expect_eq(strncmp(t, want, strlen(want)), 0, "got:\n%s", t);
    snprintf(want, sizeof want, "\n%s:5: syntax error", path);
    cr_expect_not_null(strstr(t, want), "got:\n%s", t);
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, key_before_section_and_bad_quote)
{
    const char *path = tmp_file("threads = 3\n[chat]\nsecret = \"abc\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    cr_assert_eq(probs.n, 2, "got:\n%s", t);
    cr_expect_eq(probs.v[0].line, 1);
    cr_expect_eq(probs.v[1].line, 3);
    cr_expect_not_null(strstr(probs.v[1].text, "syntax error"));
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, long_line_keeps_line_numbers)
{
    /* libinih would split a line over 200 bytes; ours must keep it whole and count right */
    char conf[2048];
    char longpath[600];
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    snprintf(conf, sizeof conf, "[store]\npath = %s\n[server]\nbad = 1\n", longpath);
    const char *path = tmp_file(conf);
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    cr_assert_eq(probs.n, 1, "got:\n%s", t);
    cr_expect_eq(probs.v[0].line, 4);
    free(t);
    config_problems_cleanup(&probs);

    snprintf(conf, sizeof conf, "[store]\npath = %s\n", longpath);
    struct fq_config *c = load_ok(tmp_file(conf));
    cr_expect_str_eq(c->store_path, longpath);
    config_free(c);
}

Test(config, duplicate_key)
{
    const char *path = tmp_file("[server]\nthreads = 3\n[sla]\n[server]\nthreads = 4\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[256];
    snprintf(want, sizeof want, "%s:5: server.threads: given twice (first at line 2)\n", path);
    cr_expect_str_eq(t, want);
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, missing_file)
{
    struct fq_config_problems probs = {0};
    char *t = load_bad("/nonexistent/fengqiao.conf", &probs);
    cr_expect_str_eq(t, "/nonexistent/fengqiao.conf: cannot open: No such file or directory\n");
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, problems_are_appended)
{
    struct fq_config_problems probs = {0};
    struct fq_config *c = config_load("/nonexistent/a.conf", &probs);
    cr_expect_null(c);
    c = config_load("/nonexistent/b.conf", &probs);
    cr_expect_null(c);
    cr_expect_eq(probs.n, 2);
    /* a good load after problems were listed still succeeds */
    c = config_load(NULL, &probs);
    cr_expect_not_null(c);
    cr_expect_eq(probs.n, 2);
    config_free(c);
    config_problems_cleanup(&probs);
    cr_expect_eq(probs.n, 0);
    config_problems_cleanup(&probs);   /* twice is harmless */
}

/* ---- environment ----------------------------------------------------------------------------- */
Test(config, env_overrides_file)
{
    const char *path = tmp_file("[server]\nthreads = 4\nlisten = 127.0.0.1:1000\n"
                                "[sla]\naccept_blue = 5h\n");
    setenv("FENGQIAO_SERVER_THREADS", "8", 1);
    setenv("FENGQIAO_SLA_ACCEPT_BLUE", "2h", 1);
    struct fq_config *c = load_ok(path);
    cr_expect_eq(c->server_threads, 8);
    cr_expect_eq(c->sla_accept[FQ_SEV_BLUE], 7200);
    cr_expect_str_eq(c->server_listen, "127.0.0.1:1000");   /* not overridden: the file's */
    config_free(c);
}

Test(config, bad_env_value_names_variable)
{
    setenv("FENGQIAO_SERVER_THREADS", "100", 1);
    setenv("FENGQIAO_SURVEY_DELAY", "3", 1);
    struct fq_config_problems probs = {0};
    char *t = load_bad(NULL, &probs);
    cr_expect_eq(probs.n, 2, "got:\n%s", t);
    const struct fq_config_problem *p = find_problem(&probs, "FENGQIAO_SERVER_THREADS");
    cr_assert_not_null(p, "got:\n%s", t);
    cr_expect_null(p->file);
    cr_expect_eq(p->line, 0);
    cr_expect_not_null(strstr(t, "FENGQIAO_SERVER_THREADS: expected an integer from 1 to 64, "
                                 "got \"100\"\n"), "got:\n%s", t);
    cr_expect_not_null(strstr(t, "FENGQIAO_SURVEY_DELAY: expected a duration"), "got:\n%s", t);
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, unknown_env_in_known_section)
{
    setenv("FENGQIAO_SERVER_LISTN", "127.0.0.1:1", 1);
    setenv("FENGQIAO_VERSION", "1.2", 1);            /* not a config section: ignored */
    setenv("FENGQIAO_CHAT_SECRET_FILE", "", 1);      /* a known name, empty: not given */
    struct fq_config_problems probs = {0};
    char *t = load_bad(NULL, &probs);
    cr_expect_eq(probs.n, 1, "got:\n%s", t);
    cr_expect_not_null(find_problem(&probs, "FENGQIAO_SERVER_LISTN"), "got:\n%s", t);
    free(t);
    config_problems_cleanup(&probs);

    unsetenv("FENGQIAO_SERVER_LISTN");
    struct fq_config *c = load_ok(NULL);
    cr_expect_null(c->chat_secret);
    config_free(c);
}

/* ---- secrets --------------------------------------------------------------------------------- */
Test(config, secret_file_read_and_newline_stripped)
{
    const char *s1 = tmp_file("chat-s3cret\n");
    const char *s2 = tmp_file("admin-t0ken\r\n");
    const char *s3 = tmp_file("no-newline");
    char conf[512];
    snprintf(conf, sizeof conf, "[chat]\nsecret_file = %s\n[admin]\ntoken_file = %s\n", s1, s2);
    const char *path = tmp_file(conf);
    setenv("FENGQIAO_MQTT_PASSWORD_FILE", s3, 1);
    struct fq_config *c = load_ok(path);
    cr_expect_str_eq(c->chat_secret, "chat-s3cret");
    cr_expect_str_eq(c->admin_token, "admin-t0ken");
    cr_expect_str_eq(c->mqtt_password, "no-newline");
    config_free(c);
}

Test(config, secret_file_limits)
{
    /* exactly 4096 bytes (plus newline) is accepted, 4097 is not */
    char big[4100];
    memset(big, 'k', 4096);
    big[4096] = '\n';
    big[4097] = '\0';
    const char *ok = tmp_file(big);
    setenv("FENGQIAO_WECOM_KF_SECRET_FILE", ok, 1);
    struct fq_config *c = load_ok(NULL);
    cr_expect_eq(strlen(c->wecom_kf_secret), 4096);
    config_free(c);

    big[4096] = 'k';
    big[4097] = '\n';
    big[4098] = '\0';
    struct { const char *content; size_t len; const char *why; } bad[] = {
        {big, 4098, "larger than 4096 bytes"},
        {"", 0, "is empty"},
        {"\n", 1, "is empty"},
        {"two\nlines\n", 10, "one line"},
        {"nul\0byte\n", 9, "one line"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *f = tmp_file_n(bad[i].content, bad[i].len);
        setenv("FENGQIAO_WECOM_KF_SECRET_FILE", f, 1);
        struct fq_config_problems probs = {0};
        char *t = load_bad(NULL, &probs);
        const struct fq_config_problem *p = find_problem(&probs, "FENGQIAO_WECOM_KF_SECRET_FILE");
        cr_assert_not_null(p, "case %zu got:\n%s", i, t);
        cr_expect_not_null(strstr(p->text, bad[i].why), "case %zu: %s", i, p->text);
        free(t);
        config_problems_cleanup(&probs);
    }

    setenv("FENGQIAO_WECOM_KF_SECRET_FILE", "/nonexistent/secret", 1);
    struct fq_config_problems probs = {0};
    char *t = load_bad(NULL, &probs);
    cr_expect_str_eq(t, "FENGQIAO_WECOM_KF_SECRET_FILE: cannot read /nonexistent/secret: "
                        "No such file or directory\n");
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, secret_file_problem_in_file_has_line)
{
    const char *path = tmp_file("[wecom]\n\ntoken_file = /nonexistent/tok\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[256];
    snprintf(want, sizeof want, "%s:3: wecom.token_file: cannot read /nonexistent/tok: No such "
             "file or directory\n", path);
    cr_expect_str_eq(t, want);
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, key_and_file_both_given)
{
    const char *s = tmp_file("from-file\n");
    char conf[512];
    snprintf(conf, sizeof conf, "[chat]\nsecret = inline\nsecret_file = %s\n", s);
    const char *path = tmp_file(conf);
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    cr_expect_eq(probs.n, 1, "got:\n%s", t);
    cr_expect_eq(probs.v[0].line, 3);
    cr_expect_str_eq(probs.v[0].key, "chat.secret");
    cr_expect_not_null(strstr(probs.v[0].text, "use one"));
    cr_expect_null(strstr(t, "inline"));   /* never echo a secret */
    free(t);
    config_problems_cleanup(&probs);

    setenv("FENGQIAO_ADMIN_TOKEN", "tok", 1);
    setenv("FENGQIAO_ADMIN_TOKEN_FILE", s, 1);
    struct fq_config_problems p2 = {0};
    t = load_bad(NULL, &p2);
    cr_expect_not_null(find_problem(&p2, "FENGQIAO_ADMIN_TOKEN_FILE"), "got:\n%s", t);
    free(t);
    config_problems_cleanup(&p2);
}

Test(config, env_secret_form_replaces_file_form)
{
    const char *s = tmp_file("from-file\n");
    const char *path = tmp_file("[chat]\nsecret = inline\n[admin]\ntoken_file = /nonexistent/x\n");
    setenv("FENGQIAO_CHAT_SECRET_FILE", s, 1);   /* replaces chat.secret of the file */
    setenv("FENGQIAO_ADMIN_TOKEN", "env-token", 1);   /* replaces admin.token_file */
    struct fq_config *c = load_ok(path);
    cr_expect_str_eq(c->chat_secret, "from-file");
    cr_expect_str_eq(c->admin_token, "env-token");
    config_free(c);
}

/* ---- cross-field ----------------------------------------------------------------------------- */
Test(config, wecom_enabled_needs_its_keys)
{
    const char *path = tmp_file("[wecom]\nenabled = true\ncorp_id = ww1\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    cr_expect_eq(probs.n, 4, "got:\n%s", t);
    const char *need[] = {"wecom.agent_id", "wecom.secret", "wecom.token",
                          "wecom.encoding_aes_key"};
    for (size_t i = 0; i < 4; i++) {
        const struct fq_config_problem *p = find_problem(&probs, need[i]);
        cr_assert_not_null(p, "%s missing in:\n%s", need[i], t);
        cr_expect_null(p->file);
        cr_expect_str_eq(p->text, "required when wecom.enabled = true");
    }
    cr_expect_null(find_problem(&probs, "wecom.corp_id"));
    free(t);
    config_problems_cleanup(&probs);

    /* the same keys with wecom disabled are fine */
    struct fq_config *c = load_ok(tmp_file("[wecom]\nenabled = false\ncorp_id = ww1\n"));
    config_free(c);
}

Test(config, wecom_aes_key_length)
{
    setenv("FENGQIAO_WECOM_ENABLED", "true", 1);
    setenv("FENGQIAO_WECOM_CORP_ID", "ww1", 1);
    setenv("FENGQIAO_WECOM_AGENT_ID", "1000002", 1);
    setenv("FENGQIAO_WECOM_SECRET", "s", 1);
    setenv("FENGQIAO_WECOM_TOKEN", "t", 1);
    setenv("FENGQIAO_WECOM_ENCODING_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF", 1);
    struct fq_config_problems probs = {0};
    char *t = load_bad(NULL, &probs);
    cr_expect_str_eq(t, "wecom.encoding_aes_key: expected 43 characters of base64 "
                        "(A-Z a-z 0-9 + /), got 42 characters\n");
    free(t);
    config_problems_cleanup(&probs);

    setenv("FENGQIAO_WECOM_ENCODING_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", 1);
    struct fq_config *c = load_ok(NULL);
    cr_expect(c->wecom_enabled);
    config_free(c);

    setenv("FENGQIAO_WECOM_AGENT_ID", "app1", 1);
    struct fq_config_problems p2 = {0};
    t = load_bad(NULL, &p2);
    cr_expect_not_null(find_problem(&p2, "wecom.agent_id"), "got:\n%s", t);
    free(t);
    config_problems_cleanup(&p2);
}

Test(config, api_base_rules)
{
    struct { const char *in, *out; } good[] = {
        {"https://qyapi.weixin.qq.com", "https://qyapi.weixin.qq.com"},
        {"https://wecom.proxy.example:8443/base/", "https://wecom.proxy.example:8443/base"},
        {"http://127.0.0.1:18080", "http://127.0.0.1:18080"},
        {"http://127.5.6.7", "http://127.5.6.7"},
        {"http://localhost:9/", "http://localhost:9"},
        {"http://[::1]:8080", "http://[::1]:8080"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        setenv("FENGQIAO_WECOM_API_BASE", good[i].in, 1);
        struct fq_config *c = load_ok(NULL);
        cr_expect_str_eq(c->wecom_api_base, good[i].out);
        config_free(c);
    }
    const char *bad[] = {
        "http://example.com", "http://10.0.0.1:8080", "http://128.0.0.1", "http://[::2]:80",
        "http://127.0.0.1@evil.example", "http://localhost.evil.example", "ftp://127.0.0.1",
        "qyapi.weixin.qq.com", "https://", "https://:443", "https://host:99999", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("FENGQIAO_WECOM_API_BASE", bad[i], 1);
        struct fq_config_problems probs = {0};
        struct fq_config *c = config_load(NULL, &probs);
        cr_expect_null(c, "\"%s\" should be rejected", bad[i]);
        config_free(c);
        cr_expect_not_null(find_problem(&probs, "FENGQIAO_WECOM_API_BASE"), "%s", bad[i]);
        config_problems_cleanup(&probs);
    }
    /* in a file: file:line and the reason */
    unsetenv("FENGQIAO_WECOM_API_BASE");
    const char *path = tmp_file("[wecom]\napi_base = http://example.com\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[256];
    snprintf(want, sizeof want, "%s:2: wecom.api_base: plain http:// is only allowed to a "
             "loopback host", path);
    cr_expect_eq(strncmp(t, want, strlen(want)), 0, "got:\n%s", t);
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, survey_remind_before_expire)
{
    const char *path = tmp_file("[survey]\nremind_after = 3d\nexpire_after = 72h\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    cr_expect_str_eq(t, "survey.remind_after: must be shorter than survey.expire_after (3d is "
                        "not less than 3d)\n");
    free(t);
    config_problems_cleanup(&probs);
}

Test(config, tls_ca_must_be_readable)
{
    setenv("FENGQIAO_MQTT_TLS_CA", "/nonexistent/ca.pem", 1);
    struct fq_config_problems probs = {0};
    char *t = load_bad(NULL, &probs);
    cr_expect_str_eq(t, "mqtt.tls_ca: cannot read /nonexistent/ca.pem: No such file or "
                        "directory\n");
    free(t);
    config_problems_cleanup(&probs);

    const char *ca = tmp_file("-----BEGIN CERTIFICATE-----\n");
    setenv("FENGQIAO_MQTT_TLS_CA", ca, 1);
    struct fq_config *c = load_ok(NULL);
    cr_expect_str_eq(c->mqtt_tls_ca, ca);
    config_free(c);
}

/* ---- SLAs ------------------------------------------------------------------------------------ */
Test(config, sla_halved_when_sensitive)
{
    const char *path = tmp_file("[sla]\naccept_red = 1h\naccept_yellow = 3s\naccept_blue = 1s\n"
                                "resolve_blue = 7d\nresolve_yellow = 15d\nresolve_red = 11s\n");
    struct fq_config *c = load_ok(path);
    cr_expect_eq(sla_accept(c, FQ_SEV_RED), 3600);
    cr_expect_eq(sla_accept(c, FQ_SEV_YELLOW), 3);
    cr_expect_eq(sla_resolve(c, FQ_SEV_BLUE), 7 * 86400);
    cr_expect_eq(sla_resolve(c, FQ_SEV_RED), 11);
    config_free(c);

    setenv("FENGQIAO_SENSITIVE_ENABLED", "true", 1);
    c = load_ok(path);
    cr_expect_eq(sla_accept(c, FQ_SEV_RED), 1800);
    cr_expect_eq(sla_accept(c, FQ_SEV_YELLOW), 1);   /* 3/2 = 1 */
    cr_expect_eq(sla_accept(c, FQ_SEV_BLUE), 1);     /* 1/2 = 0, minimum 1 s */
    cr_expect_eq(sla_resolve(c, FQ_SEV_BLUE), 302400);
    cr_expect_eq(sla_resolve(c, FQ_SEV_YELLOW), 648000);
    cr_expect_eq(sla_resolve(c, FQ_SEV_RED), 5);
    /* the stored values are unchanged: only the accessors halve */
    cr_expect_eq(c->sla_accept[FQ_SEV_RED], 3600);
    cr_expect_eq(sla_accept(c, 3), -1);
    cr_expect_eq(sla_resolve(c, -1), -1);
    cr_expect_eq(sla_accept(NULL, 0), -1);
    config_free(c);
}

Test(config, log_level_values)
{
    struct fq_config *c = config_new_defaults();
    cr_expect_str_eq(c->log_level, "info");
    config_free(c);
    static const char *const good[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof text, "[log]\nlevel = %s\n", good[i]);
        c = load_ok(tmp_file(text));
        cr_expect_str_eq(c->log_level, good[i]);
        config_free(c);
    }
    const char *path = tmp_file("[log]\nlevel = verbose\n");
    struct fq_config_problems probs = {0};
    char *t = load_bad(path, &probs);
    char want[256];
    snprintf(want, sizeof want, "%s:2: log.level: expected error, warn, info or debug, got "
             "\"verbose\"\n", path);
    cr_expect_not_null(strstr(t, want), "got:\n%s", t);
    free(t);
    config_problems_cleanup(&probs);
    setenv("FENGQIAO_LOG_LEVEL", "debug", 1);
    c = load_ok(NULL);
    cr_expect_str_eq(c->log_level, "debug");
    config_free(c);
    unsetenv("FENGQIAO_LOG_LEVEL");
}

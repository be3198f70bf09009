/* cli.c: subcommands other than serve: roster import, cases list|show, chat, check-config.
 * Each opens what it needs itself (its own store connection, or HTTP to a running daemon), so
 * they work next to a running daemon: SQLite's WAL lets the CLI read while the daemon writes,
 * and a roster import from the CLI waits for the write lock like any other writer. */
#include "bot/cli/cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "bot/cli/report_cmd.h"
#include "bot/cli/serve.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/localtime.h"
#include "common/roster_model.h"
#include "handlers/roster.h"
#include "store/store.h"
#include "bot/admin/admin.h"
#include "bot/cli/backup_cmd.h"
#include "bot/cli/user_cmd.h"
#include "bot/sys/crypto.h"
#include "bot/render/payload.h"
#include "bot/render/report_forms.h"
#include "bot/admin/roster_file.h"
#include "bot/version.h"

#define MAX_ROSTER_FILE (64 * 1024 * 1024)

static const char usage_main[] =
    "usage: fengqiao <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [-c FILE]                          run the daemon in the foreground\n"
    "  roster import FILE [-c FILE]             load org nodes, mediators and routes\n"
    "  cases list [--status S] [--format text|json] [-c FILE]\n"
    "                                           the case ledger\n"
    "  cases show CASE_NO [-c FILE]             one case with its full history\n"
    "  chat [--url URL] [--user ID] [-c FILE]   talk to a running daemon as a resident\n"
    "  check-config [-c FILE]                   validate the configuration\n"
    "  report monthly --month YYYY-MM [--format text|json|csv|xlsx] [-o FILE] [-c FILE]\n"
    "                                           the monthly statistics\n"
    "  report ledger --from YYYY-MM-DD --to YYYY-MM-DD [--format csv|xlsx] [-o FILE] [-c FILE]\n"
    "                                           the case ledger for a period\n"
    "  backup FILE [-c FILE]                    a consistent copy of the database, online\n"
    "  restore FILE [-c FILE]                   check a backup, then replace the database\n"
    "  user add|list|disable|passwd ...         the web workbench's accounts\n"
    "\n"
    "Without -c, ./fengqiao.conf is used when present, else the built-in defaults.\n"
    "Every command takes -c FILE (also -cFILE, --config FILE, --config=FILE) and -h/--help;\n"
    "options and arguments mix in any order, and -- ends the options.\n"
    "`fengqiao <command> --help` describes one command; `fengqiao --version` prints the version.\n";

static const char usage_serve[] =
    "usage: fengqiao serve [-c FILE]\n"
    "Runs the daemon in the foreground, logging to stderr. SIGTERM/SIGINT stop it cleanly;\n"
    "SIGHUP re-reads the configuration.\n";
static const char usage_roster[] =
    "usage: fengqiao roster import FILE [-c FILE]\n"
    "Loads org nodes, mediators and category routes from a JSON roster file. The file is\n"
    "validated whole: on the first problem nothing is changed and the exit code is 1.\n";
static const char usage_cases[] =
    "usage: fengqiao cases list [--status S] [--org ORG] [--limit N [--cursor C]]\n"
    "                           [--format text|json] [-c FILE]\n"
    "       fengqiao cases show CASE_NO [-c FILE]\n"
    "Lists the case ledger (newest first), or shows one case with its event history.\n"
    "S is a case status (assigned, accepted, resolved, closed, ...) or \"open\"; ORG an org\n"
    "id (the cases handled or placed there). Without --limit every case is listed, a page at a\n"
    "time; with --limit N (1 to 10000) one page, and when there are more the last line (in\n"
    "JSON: next_cursor) gives the --cursor that continues after it.\n";
static const char usage_chat[] =
    "usage: fengqiao chat [--url URL] [--user ID] [-c FILE]\n"
    "An interactive client for a running daemon's chat webhook. Type a message and press\n"
    "Enter; the bot's numbered options are shown as a menu (answer with the number).\n"
    "URL defaults to the configured server.listen; ID to $USER. chat.secret comes from the\n"
    "configuration. /quit or end of input leaves.\n";
static const char usage_check[] =
    "usage: fengqiao check-config [-c FILE] [-v]\n"
    "Validates the configuration (file and FENGQIAO_* variables) and prints each problem as\n"
    "file:line: key: problem. Exit 1 when there is any. -v also prints the effective values.\n";

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

const char *cli_version(void)
{
    static char v[96];
    if (!v[0])
        snprintf(v, sizeof v, fq_commit[0] ? "%s (git %s)" : "%s", fq_version, fq_commit);
    return v;
}

#define MAX_LONGOPTS 16

static int usage_error(const struct cli_cmd *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "fengqiao %s: ", cmd->name);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", cmd->usage);
    return 2;
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, const char **conf, int *first)
{
    struct option lo[MAX_LONGOPTS + 3] = {{"config", required_argument, 0, 'c'},
                                          {"help", no_argument, 0, 'h'}};
    size_t n = 2;
    for (const struct option *o = cmd->longopts; o && o->name && n < MAX_LONGOPTS + 2; o++)
        lo[n++] = *o;
    memset(&lo[n], 0, sizeof lo[n]);
    /* ':' first: a missing argument is reported as ':', not as an unknown option */
    char so[64];
    snprintf(so, sizeof so, ":c:h%s", cmd->shortopts ? cmd->shortopts : "");
    *conf = NULL;
    opterr = 0;    /* the messages below name the command, getopt's would name argv[0] */
    optind = 0;    /* glibc: start over (a process may parse more than once) */
    int c;
    while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        if (c == 'c') {
            *conf = optarg;
        } else if (c == 'h') {
            fputs(cmd->usage, stdout);
            return 0;
        } else if (c == ':') {
            return usage_error(cmd, "option \"%s\" needs a value", argv[optind - 1]);
        } else if (c == '?') {
            if (optopt && !(optind > 0 && strncmp(argv[optind - 1], "--", 2) == 0)) {
                char o[3] = {'-', (char)optopt, 0};
                return usage_error(cmd, "unknown option \"%s\"", o);
            }
            return usage_error(cmd, "unknown option \"%s\"", argv[optind - 1]);
        } else {
            int rc = cmd->opt ? cmd->opt(c, optarg, cmd->ctx) : 2;
            if (rc)
                return rc;
        }
    }
    int ops = argc - optind;
    if (ops > cmd->max_operands)
        return usage_error(cmd, "unexpected argument \"%s\"", argv[optind + cmd->max_operands]);
    if (ops < cmd->min_operands)
        return usage_error(cmd, "%s is missing", cmd->operand ? cmd->operand : "an argument");
    *first = optind;
    return -1;
}

/* -c FILE, else ./fengqiao.conf when present, else NULL (defaults). */
static const char *conf_default(const char *c)
{
    if (c)
        return c;
    return access("fengqiao.conf", F_OK) == 0 ? "fengqiao.conf" : NULL;
}

static struct fq_config *load_config(const char *conf)
{
    struct fq_config_problems probs = {0};
    struct fq_config *cfg = config_load(conf_default(conf), &probs);
    if (!cfg)
        config_problems_print(&probs, stderr);
    config_problems_cleanup(&probs);
    /* local times printed by the command follow server.timezone, not TZ (one thread here) */
    if (cfg && fq_tz_use(cfg->server_timezone) != FQ_OK) {
        fprintf(stderr, "fengqiao: server.timezone: cannot use \"%s\"\n", cfg->server_timezone);
        config_free(cfg);
        cfg = NULL;
    }
    return cfg;
}

/* Reads a whole file, at most max bytes. Caller frees. */
static char *read_file(const char *path, size_t max, size_t *len, char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = strdup(strerror(errno));
        return NULL;
    }
    struct fq_buf b;
    buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > max) {
            fclose(f);
            buf_cleanup(&b);
            *why = strdup("file too large");
            return NULL;
        }
        buf_add(&b, chunk, n);
    }
    fclose(f);
    *len = b.len;
    char *s = buf_take(&b);
    if (!s)
        s = strdup("");
    return s;
}

/* ---- roster import ------------------------------------------------------------------------- */
static int cmd_roster(int argc, char **argv)
{
    const char *conf = NULL, *file = NULL;
    if (argc < 2 || is_help(argv[1])) {
        fputs(usage_roster, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "import") != 0) {
        fprintf(stderr, "fengqiao roster: unknown subcommand \"%s\"\n%s", argv[1], usage_roster);
        return 2;
    }
    const struct cli_cmd cmd = {.name = "roster import", .usage = usage_roster,
                                .min_operands = 1, .max_operands = 1, .operand = "FILE"};
    int first = 0, rc = cli_parse(&cmd, argc - 1, argv + 1, &conf, &first);
    if (rc >= 0)
        return rc;
    file = argv[1 + first];
    size_t len = 0;
    char *why = NULL;
    char *text = read_file(file, MAX_ROSTER_FILE, &len, &why);
    if (!text) {
        fprintf(stderr, "%s: %s\n", file, why ? why : "cannot read");
        free(why);
        return 1;
    }
    struct fq_roster *r = NULL;
    char *problem = NULL;
    enum fq_err err = roster_json_parse(text, len, &r, &problem);
    free(text);
    if (err) {
        fprintf(stderr, "%s: %s\n", file, problem ? problem : fq_strerror(err));
        free(problem);
        return 1;
    }
    struct fq_config *cfg = load_config(conf);
    if (!cfg) {
        roster_free(r);
        return 1;
    }
    struct store *s = NULL;
    char *cause = NULL;
    rc = 1;
    if (store_open(cfg->store_path, &s, &cause) != FQ_OK) {
        fprintf(stderr, "%s: %s\n", cfg->store_path, cause ? cause : "cannot open");
        goto out;
    }
    if ((err = store_begin(s)) || (err = roster_store(s, r)) || (err = store_commit(s))) {
        store_rollback(s);
        fprintf(stderr, "%s: cannot store the roster: %s\n", cfg->store_path, store_errmsg(s));
        goto out;
    }
    printf("roster imported: %zu org nodes, %zu mediators, %zu routes\n", r->n_org, r->n_med,
           r->n_routes);
    rc = 0;
out:
    free(cause);
    store_close(s);
    roster_free(r);
    config_free(cfg);
    return rc;
}

/* ---- cases ----------------------------------------------------------------------------- */
#define CASE_COLS 7

/* Columns a UTF-8 string takes on a terminal: East Asian wide and fullwidth characters (汉字,
 * 全角) take two, as wcwidth says in a UTF-8 locale; a byte that is not UTF-8 counts one. */
static size_t display_width(const char *s)
{
    static locale_t utf8;
    if (!utf8)
        utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
    size_t w = 0, n = strlen(s);
    mbstate_t st;
    memset(&st, 0, sizeof st);
    while (n > 0) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s, n, &st);
        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            memset(&st, 0, sizeof st);
            k = 1;
            w++;
        } else {
            int cw = wcwidth(wc);
            w += cw < 0 ? 1 : (size_t)cw;
        }
        s += k;
        n -= k;
    }
    if (utf8)
        uselocale(old);
    return w;
}

static const char *case_field(json_t *c, const char *key, const char *none)
{
    json_t *v = json_object_get(c, key);
    return json_is_string(v) ? json_string_value(v) : none;
}

/* The ledger a person reads: RFC 3339 UTC from the JSON shown as local time (server.timezone). */
static const char *local_of(const char *rfc3339, char *buf, size_t size)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return rfc3339;
    fq_local_format((int64_t)timegm(&tm), FQ_LOCAL_MINUTE, buf, size);
    return buf;
}

static void case_fields(json_t *c, const char *f[CASE_COLS], char *when, size_t when_size)
{
    f[0] = case_field(c, "case_no", "");
    f[1] = case_field(c, "status", "");
    f[2] = case_field(c, "category", "");
    f[3] = case_field(c, "severity", "");
    f[4] = case_field(c, "org", "-");
    f[5] = case_field(c, "mediator", "-");
    f[6] = local_of(case_field(c, "created_at", ""), when, when_size);
}

/* One line, each column padded to its width in display columns (not bytes), so a status such as
 * in_progress or an id in Chinese never pushes the columns after it. */
static void print_case_row(const char *const f[CASE_COLS], const size_t w[CASE_COLS])
{
    for (int i = 0; i < CASE_COLS; i++) {
        fputs(f[i], stdout);
        if (i + 1 < CASE_COLS)
            for (size_t k = display_width(f[i]); k < w[i] + 1; k++)
                putchar(' ');
    }
    putchar('\n');
}

/* Column widths: at least the header's, widened by the rows of arr. */
static void case_widths(json_t *arr, const char *const head[CASE_COLS], size_t w[CASE_COLS])
{
    for (int i = 0; i < CASE_COLS; i++)
        if (w[i] < display_width(head[i]))
            w[i] = display_width(head[i]);
    json_t *c;
    size_t i;
    json_array_foreach(arr, i, c) {
        const char *f[CASE_COLS];
        char when[32];
        case_fields(c, f, when, sizeof when);
        for (int k = 0; k < CASE_COLS; k++) {
            size_t dw = display_width(f[k]);
            if (dw > w[k])
                w[k] = dw;
        }
    }
}

static void print_cases_rows(json_t *arr, const size_t w[CASE_COLS])
{
    json_t *c;
    size_t i;
    json_array_foreach(arr, i, c) {
        const char *f[CASE_COLS];
        char when[32];
        case_fields(c, f, when, sizeof when);
        print_case_row(f, w);
    }
}

struct cases_opts {
    const char *status, *format, *org, *limit, *cursor;
};

static int cases_opt(int code, char *arg, void *ctx)
{
    struct cases_opts *o = ctx;
    switch (code) {
    case 's': o->status = arg; break;
    case 'o': o->org = arg; break;
    case 'l': o->limit = arg; break;
    case 'C': o->cursor = arg; break;
    default: o->format = arg; break;
    }
    return 0;
}

/* Prints an admin error body's message and returns 1. */
static int cases_failed(const char *json)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    fprintf(stderr, "fengqiao cases: %s\n",
            o && json_is_string(json_object_get(o, "message"))
                ? json_string_value(json_object_get(o, "message")) : "failed");
    json_decref(o);
    return 1;
}

/* cases list: one page with --limit, else every page in turn (the admin API's cursor walk), so
 * nothing is cut off however long the ledger; text widths come from the first page and grow
 * with a wider row. JSON is streamed case by case in the admin API's shape. */
static int cases_list(const struct fq_config *cfg, const struct cases_opts *co)
{
    bool text = strcmp(co->format, "text") == 0, one_page = co->limit != NULL;
    static const char *const head[CASE_COLS] = {"CASE", "STATUS", "CATEGORY", "GRADE", "ORG",
                                                "MEDIATOR", "CREATED"};
    size_t w[CASE_COLS] = {0};
    char cursor[64] = "";
    if (co->cursor)
        snprintf(cursor, sizeof cursor, "%s", co->cursor);
    size_t total = 0;
    for (int page = 0;; page++) {
        struct admin_query q = {.status = co->status, .org = co->org,
                                .limit = one_page ? co->limit : "10000",
                                .cursor = *cursor ? cursor : NULL};
        int st = 0;
        char *json = NULL;
        admin_cases(cfg, NULL, &q, &st, &json);
        if (st != 200) {
            int rc = cases_failed(json);
            free(json);
            return rc;
        }
        json_t *o = json_loads(json, 0, NULL);
        json_t *arr = json_object_get(o, "cases");
        const char *next = json_string_value(json_object_get(o, "next_cursor"));
        if (!o || !json_is_array(arr)) {
            json_decref(o);
            free(json);
            return cases_failed(NULL);
        }
        if (one_page && !text) {
            printf("%s\n", json);             /* the page as the admin API answers it */
        } else if (text) {
            case_widths(arr, head, w);
            if (page == 0)
                print_case_row(head, w);
            print_cases_rows(arr, w);
        } else {
            json_t *c;
            size_t i;
            if (page == 0)
                fputs("{\"cases\":[", stdout);
            json_array_foreach(arr, i, c) {
                char *one = json_dumps(c, JSON_COMPACT);
                if (!one) {
                    json_decref(o);
                    free(json);
                    return cases_failed(NULL);
                }
                printf("%s%s", total + i ? "," : "", one);
                free(one);
            }
        }
        total += json_array_size(arr);
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(o);
        free(json);
        if (one_page || !*cursor)
            break;
    }
    if (text && one_page && *cursor)
        printf("%zu case(s) shown; more: --cursor %s\n", total, cursor);
    else if (text)
        printf("%zu case(s)\n", total);
    else if (!one_page)
        fputs("],\"next_cursor\":null}\n", stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_cases(int argc, char **argv)
{
    const char *conf = NULL, *format = "text", *case_no = NULL;
    if (argc < 2 || is_help(argv[1])) {
        fputs(usage_cases, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    bool list = strcmp(argv[1], "list") == 0, show = strcmp(argv[1], "show") == 0;
    if (!list && !show) {
        fprintf(stderr, "fengqiao cases: unknown subcommand \"%s\"\n%s", argv[1], usage_cases);
        return 2;
    }
    struct cases_opts co = {.format = "text"};
    static const struct option list_opts[] = {{"status", required_argument, 0, 's'},
                                              {"format", required_argument, 0, 'f'},
                                              {"org", required_argument, 0, 'o'},
                                              {"limit", required_argument, 0, 'l'},
                                              {"cursor", required_argument, 0, 'C'},
                                              {0, 0, 0, 0}};
    const struct cli_cmd cmd = {.name = list ? "cases list" : "cases show", .usage = usage_cases,
                                .longopts = list ? list_opts : NULL, .opt = cases_opt,
                                .ctx = &co, .min_operands = show, .max_operands = show,
                                .operand = "CASE_NO"};
    int first = 0, prc = cli_parse(&cmd, argc - 1, argv + 1, &conf, &first);
    if (prc >= 0)
        return prc;
    format = co.format;
    if (show)
        case_no = argv[1 + first];
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        fprintf(stderr, "fengqiao cases list: --format must be text or json\n");
        return 2;
    }
    if (co.cursor && !co.limit) {
        fprintf(stderr, "fengqiao cases list: --cursor continues a page: give --limit too\n");
        return 2;
    }
    struct fq_config *cfg = load_config(conf);
    if (!cfg)
        return 1;
    if (list) {
        int rc = cases_list(cfg, &co);
        config_free(cfg);
        return rc;
    }
    struct admin_query q = {.case_no = case_no};
    int st = 0;
    char *json = NULL;
    admin_case(cfg, NULL, &q, &st, &json);
    config_free(cfg);
    int rc = st == 200 ? 0 : cases_failed(json);
    if (st == 200) {
        struct fq_buf pretty;
        buf_init(&pretty);
        buf_json_indent(&pretty, json);
        printf("%s\n", pretty.oom ? json : pretty.s);
        buf_cleanup(&pretty);
    }
    free(json);
    return rc;
}

/* ---- chat client --------------------------------------------------------------------------- */
static size_t collect_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    buf_add(arg, ptr, size * nmemb);
    return size * nmemb;
}

static int chat_send(CURL *curl, const char *url, const char *secret, const char *user,
                     const char *text, struct fq_buf *resp, long *status)
{
    char mid[33];
    payload_event_id(mid);
    struct fq_buf bb;
    buf_init(&bb);
    struct fq_jobj o = jobj_begin(&bb);
    jobj_str(&o, "channel", "cli");
    jobj_str(&o, "user", user);
    jobj_str(&o, "message_id", mid);
    jobj_str(&o, "type", "text");
    jobj_str(&o, "text", text);
    jobj_end(&o);
    char *body = buf_take(&bb);
    if (!body)
        return -1;
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)fq_now());
    struct fq_buf signed_text;
    buf_init(&signed_text);
    buf_printf(&signed_text, "%s.%s", ts, body);
    unsigned char mac[32];
    char hex[65];
    crypto_hmac_sha256(secret, strlen(secret), signed_text.s, signed_text.len, mac);
    buf_cleanup(&signed_text);
    crypto_hex(mac, 32, hex);
    char h_ts[64], h_sig[128];
    snprintf(h_ts, sizeof h_ts, "X-FQ-Timestamp: %s", ts);
    snprintf(h_sig, sizeof h_sig, "X-FQ-Signature: sha256=%s", hex);
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, h_ts);
    hdr = curl_slist_append(hdr, h_sig);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    CURLcode cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdr);
    free(body);
    if (cc != CURLE_OK) {
        fprintf(stderr, "fengqiao chat: %s: %s\n", url, curl_easy_strerror(cc));
        return -1;
    }
    return 0;
}

static void chat_show(const char *resp, long status)
{
    json_t *o = json_loads(resp, 0, NULL);
    if (!o) {
        printf("[%ld] %s\n", status, resp);
        return;
    }
    if (status != 200) {
        printf("[%ld %s] %s\n", status, json_string_value(json_object_get(o, "error")),
               json_string_value(json_object_get(o, "message")));
        json_decref(o);
        return;
    }
    json_t *v;
    size_t i;
    struct fq_buf all;
    buf_init(&all);
    json_array_foreach(json_object_get(o, "replies"), i, v) {
        const char *t = json_string_value(json_object_get(v, "text"));
        printf("\n%s\n", t ? t : "");
        buf_printf(&all, "%s\n", t ? t : "");
    }
    /* The bot's replies already list their options as text ("1. " and the label); the options
     * are printed as a menu only when a reply does not show them, so no menu appears twice. */
    json_t *opts = json_object_get(o, "options");
    bool shown = true;
    json_array_foreach(opts, i, v) {
        const char *label = json_string_value(json_object_get(v, "label"));
        if (!label || !all.s || !strstr(all.s, label))
            shown = false;
    }
    buf_cleanup(&all);
    if (json_array_size(opts) && !shown) {
        printf("\n");
        json_array_foreach(opts, i, v)
            printf("  %3s) %s\n", json_string_value(json_object_get(v, "key")),
                   json_string_value(json_object_get(v, "label")));
    }
    const char *state = json_string_value(json_object_get(o, "state"));
    const char *cs = json_string_value(json_object_get(o, "case"));
    printf("\n  [state: %s%s%s]\n", state ? state : "-", cs ? ", case: " : "", cs ? cs : "");
    json_decref(o);
}

struct chat_opts {
    const char *url, *user;
};

static int chat_opt(int code, char *arg, void *ctx)
{
    struct chat_opts *o = ctx;
    if (code == 'u')
        o->url = arg;
    else
        o->user = arg;
    return 0;
}

static int cmd_chat(int argc, char **argv)
{
    const char *conf = NULL, *url = NULL, *user = NULL;
    struct chat_opts co = {.user = getenv("USER")};
    static const struct option opts[] = {{"url", required_argument, 0, 'u'},
                                         {"user", required_argument, 0, 'U'},
                                         {0, 0, 0, 0}};
    const struct cli_cmd cmd = {.name = "chat", .usage = usage_chat, .longopts = opts,
                                .opt = chat_opt, .ctx = &co};
    int first = 0, prc = cli_parse(&cmd, argc, argv, &conf, &first);
    if (prc >= 0)
        return prc;
    url = co.url;
    user = co.user;
    struct fq_config *cfg = load_config(conf);
    if (!cfg)
        return 1;
    if (!cfg->chat_secret) {
        fprintf(stderr, "fengqiao chat: chat.secret is not set in the configuration\n");
        config_free(cfg);
        return 1;
    }
    struct fq_buf u;
    buf_init(&u);
    if (url)
        buf_printf(&u, "%s/chat/v1/messages", url);
    else
        buf_printf(&u, "http://%s/chat/v1/messages", cfg->server_listen);
    if (!user || !*user)
        user = "cli-user";
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    int rc = 0;
    bool tty = isatty(0);
    if (tty)
        printf("fengqiao chat: %s as %s (/quit to leave)\n", u.s, user);
    char line[4096];
    for (;;) {
        if (tty) {
            printf("> ");
            fflush(stdout);
        }
        if (!fgets(line, sizeof line, stdin))
            break;
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (strcmp(line, "/quit") == 0)
            break;
        struct fq_buf resp;
        buf_init(&resp);
        long status = 0;
        if (chat_send(curl, u.s, cfg->chat_secret, user, line, &resp, &status) != 0) {
            buf_cleanup(&resp);
            rc = 1;
            break;
        }
        chat_show(resp.s ? resp.s : "", status);
        fflush(stdout);
        buf_cleanup(&resp);
    }
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    buf_cleanup(&u);
    config_free(cfg);
    return rc;
}

/* ---- check-config -------------------------------------------------------------------------- */
static int check_opt(int code, char *arg, void *ctx)
{
    (void)code;
    (void)arg;
    *(bool *)ctx = true;
    return 0;
}

static int cmd_check_config(int argc, char **argv)
{
    const char *conf = NULL;
    bool verbose = false;
    static const struct option opts[] = {{"verbose", no_argument, 0, 'v'}, {0, 0, 0, 0}};
    const struct cli_cmd cmd = {.name = "check-config", .usage = usage_check, .shortopts = "v",
                                .longopts = opts, .opt = check_opt, .ctx = &verbose};
    int first = 0, prc = cli_parse(&cmd, argc, argv, &conf, &first);
    if (prc >= 0)
        return prc;
    struct fq_config_problems probs = {0};
    const char *file = conf_default(conf);
    struct fq_config *cfg = config_load(file, &probs);
    if (!cfg) {
        config_problems_print(&probs, stdout);
        config_problems_cleanup(&probs);
        return 1;
    }
    config_problems_cleanup(&probs);
    if (verbose)
        config_print(cfg, stdout);
    printf("%s: configuration ok\n", file ? file : "(built-in defaults)");
    config_free(cfg);
    return 0;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (is_help(cmd)) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("fengqiao %s\n", cli_version());
        return 0;
    }
    if (strcmp(cmd, "serve") == 0) {
        const char *conf = NULL;
        const struct cli_cmd c = {.name = "serve", .usage = usage_serve};
        int first = 0, rc = cli_parse(&c, argc - 1, argv + 1, &conf, &first);
        if (rc >= 0)
            return rc;
        return cmd_serve(conf_default(conf));
    }
    if (strcmp(cmd, "roster") == 0)
        return cmd_roster(argc - 1, argv + 1);
    if (strcmp(cmd, "cases") == 0)
        return cmd_cases(argc - 1, argv + 1);
    if (strcmp(cmd, "chat") == 0)
        return cmd_chat(argc - 1, argv + 1);
    if (strcmp(cmd, "check-config") == 0)
        return cmd_check_config(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return report_cli_main(argc - 1, argv + 1);   /* bot/cli/report_cmd.c */
    if (strcmp(cmd, "backup") == 0)
        return cmd_backup(argc - 1, argv + 1);
    if (strcmp(cmd, "restore") == 0)
        return cmd_restore(argc - 1, argv + 1);
    if (strcmp(cmd, "user") == 0)
        return cmd_user(argc - 1, argv + 1);    /* bot/cli/user_cmd.c */
    fprintf(stderr, "fengqiao: unknown command \"%s\"\n%s", cmd, usage_main);
    return 2;
}

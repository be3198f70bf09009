/* report_cmd.c: `fengqiao report monthly` and `fengqiao report ledger` (docs/contract.md 1), kept
 * out of cli.c so the report code lives in one place. Like the other subcommands it opens its own
 * read-only connection (WAL: it reads next to a running daemon) and loads the catalogs for the
 * Chinese labels. Exit codes: 0 success, 1 runtime error, 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bot/cli/report_cmd.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/localtime.h"
#include "handlers/actions.h"
#include "store/roster_table.h"
#include "handlers/report.h"
#include "store/store.h"
#include "bot/cli/cli.h"
#include "bot/sys/locale.h"
#include "bot/render/report_forms.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/i18n.h"

static const char usage_report[] =
    "usage: fengqiao report monthly --month YYYY-MM [--format text|json|csv|xlsx] [-o FILE]\n"
    "                               [--org ORG_ID] [-c FILE]\n"
    "       fengqiao report ledger --from YYYY-MM-DD --to YYYY-MM-DD [--format csv|xlsx]\n"
    "                              [-o FILE] [-c FILE]\n"
    "monthly: the statistics of one calendar month (cases received, resolved, unresolved,\n"
    "open, overdue; by category, severity, org node and channel; success and satisfaction\n"
    "rates; times to accept and to resolve; escalations, reopened cases, relapses). --org\n"
    "restricts it to one org node and everything below it. The xlsx workbook holds the\n"
    "statistics sheet and the ledger of the month's cases.\n"
    "ledger: the case ledger of the cases received from --from to --to (both days\n"
    "included), csv (the default) or xlsx.\n"
    "Output goes to standard output, or to FILE with -o (created with mode 0600: reports hold\n"
    "personal data); xlsx needs -o (it is binary).\n";

struct ropts {
    const char *conf, *month, *from, *to, *format, *out, *org;
};

static int usage_error(const char *fmt, const char *arg)
{
    fputs("fengqiao report: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(usage_report, stderr);
    return 2;
}

/* YYYY-MM-DD into *d (year, month, day); false when it is not a date of the calendar. */
static bool parse_day(const char *s, struct fq_civil *d)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%Y-%m-%d", &tm) : NULL;
    if (!end || *end || strlen(s) != 10)
        return false;
    *d = (struct fq_civil){.year = tm.tm_year + 1900, .month = tm.tm_mon + 1, .day = tm.tm_mday};
    return fq_date_valid(d->year, d->month, d->day);
}

static int write_text(const char *path, const char *text)
{
    if (!text) {
        fprintf(stderr, "fengqiao report: out of memory\n");
        return 1;
    }
    int fd = path ? report_open_private(path) : -1;   /* 0600, like the database */
    FILE *f = path ? (fd >= 0 ? fdopen(fd, "wb") : NULL) : stdout;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "fengqiao report: %s: %s\n", path, strerror(e));
        return 1;
    }
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    if (path)
        ok = fclose(f) == 0 && ok;
    else
        ok = fflush(f) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "fengqiao report: %s: write failed\n", path ? path : "stdout");
        return 1;
    }
    return 0;
}

static int report_opt(int code, char *arg, void *ctx)
{
    struct ropts *o = ctx;
    switch (code) {
    case 'f': o->format = arg; break;
    case 'o': o->out = arg; break;
    case 'm': o->month = arg; break;
    case 'g': o->org = arg; break;
    case 'F': o->from = arg; break;
    case 'T': o->to = arg; break;
    default: return 2;
    }
    return 0;
}

int report_cli_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_report, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    bool monthly = strcmp(argv[1], "monthly") == 0, ledger = strcmp(argv[1], "ledger") == 0;
    if (!monthly && !ledger)
        return usage_error("unknown subcommand \"%s\"", argv[1]);
    struct ropts o = {.format = monthly ? "text" : "csv"};
    static const struct option monthly_opts[] = {{"format", required_argument, 0, 'f'},
                                                 {"output", required_argument, 0, 'o'},
                                                 {"month", required_argument, 0, 'm'},
                                                 {"org", required_argument, 0, 'g'},
                                                 {0, 0, 0, 0}};
    static const struct option ledger_opts[] = {{"format", required_argument, 0, 'f'},
                                                {"output", required_argument, 0, 'o'},
                                                {"from", required_argument, 0, 'F'},
                                                {"to", required_argument, 0, 'T'},
                                                {0, 0, 0, 0}};
    const struct cli_cmd cmd = {.name = monthly ? "report monthly" : "report ledger",
                                .usage = usage_report, .shortopts = "o:",
                                .longopts = monthly ? monthly_opts : ledger_opts,
                                .opt = report_opt, .ctx = &o};
    int first = 0, prc = cli_parse(&cmd, argc - 1, argv + 1, &o.conf, &first);
    if (prc >= 0)
        return prc;
    int year = 0, month = 0;
    int64_t from = 0, to = 0;
    struct fq_civil from_day, to_day;
    if (monthly) {
        if (!o.month)
            return usage_error("%s", "--month YYYY-MM is required");
        if (report_parse_month(o.month, &year, &month) != 0)
            return usage_error("--month: \"%s\" is not YYYY-MM (month 01-12)", o.month);
        if (strcmp(o.format, "text") && strcmp(o.format, "json") && strcmp(o.format, "csv") &&
            strcmp(o.format, "xlsx"))
            return usage_error("--format: \"%s\" is not text, json, csv or xlsx", o.format);
    } else {
        if (!o.from || !o.to)
            return usage_error("%s", "--from YYYY-MM-DD and --to YYYY-MM-DD are required");
        if (!parse_day(o.from, &from_day))
            return usage_error("--from: \"%s\" is not a date YYYY-MM-DD", o.from);
        if (!parse_day(o.to, &to_day))
            return usage_error("--to: \"%s\" is not a date YYYY-MM-DD", o.to);
        if (to_day.year * 10000 + to_day.month * 100 + to_day.day <
            from_day.year * 10000 + from_day.month * 100 + from_day.day)
            return usage_error("--to: \"%s\" is before --from", o.to);
        if (strcmp(o.format, "csv") && strcmp(o.format, "xlsx"))
            return usage_error("--format: \"%s\" is not csv or xlsx", o.format);
    }
    bool xlsx = strcmp(o.format, "xlsx") == 0;
    if (xlsx && !o.out)
        return usage_error("%s", "--format xlsx needs -o FILE (a workbook is binary)");

    int rc = 1;
    struct fq_config_problems probs = {0};
    const char *conf = o.conf ? o.conf : access("fengqiao.conf", F_OK) == 0 ? "fengqiao.conf"
                                                                             : NULL;
    struct fq_config *cfg = config_load(conf, &probs);
    struct fq_lexicon *lex = NULL;
    struct store *s = NULL;
    struct fq_roster *roster = NULL;
    struct rp_monthly *rep = NULL;
    struct rp_ledger *led = NULL;
    char *cause = NULL, *dir = NULL, *text = NULL;
    if (!cfg) {
        config_problems_print(&probs, stderr);
        goto out;
    }
    /* the days and the month are local days of server.timezone, whatever TZ is */
    if (fq_tz_use(cfg->server_timezone) != FQ_OK) {
        fprintf(stderr, "fengqiao report: server.timezone: cannot use \"%s\"\n",
                cfg->server_timezone);
        goto out;
    }
    if (ledger) {
        int64_t unused;
        fq_local_day_range(from_day.year, from_day.month, from_day.day, &from, &unused);
        fq_local_day_range(to_day.year, to_day.month, to_day.day, &unused, &to);
    }
    dir = locale_dir_default();
    if (!dir || locale_load(dir, &lex, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao report: %s\n", cause ? cause : "cannot load the locales");
        goto out;
    }
    if (store_open_readonly(cfg->store_path, &s, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao report: %s\n", cause ? cause : cfg->store_path);
        goto out;
    }
    if (store_roster_load(s, &roster) != FQ_OK) {
        fprintf(stderr, "fengqiao report: %s: cannot read the roster: %s\n", cfg->store_path,
                store_errmsg(s));
        goto out;
    }
    struct fq_ctx ctx = {.store = s, .cfg = cfg, .lex = lex, .roster = roster, .now = fq_now()};
    enum fq_err err = FQ_OK;
    if (monthly) {
        err = report_monthly(&ctx, year, month, o.org, &rep);
        if (err == FQ_ENOTFOUND) {
            fprintf(stderr, "fengqiao report: --org: no org node \"%s\" in the roster\n", o.org);
            goto out;
        }
        if (!err && xlsx) {
            int64_t start, end;
            report_month_bounds(year, month, &start, &end);
            err = report_ledger(&ctx, start, end, &led);
        }
    } else {
        err = report_ledger(&ctx, from, to, &led);
    }
    if (err) {
        fprintf(stderr, "fengqiao report: %s: %s (%s)\n", cfg->store_path, fq_strerror(err),
                store_errmsg(s));
        goto out;
    }
    if (xlsx) {
        if (report_xlsx(rep, led, lex, o.out, &cause) != FQ_OK) {
            fprintf(stderr, "fengqiao report: %s: %s\n", o.out, cause ? cause : "write failed");
            goto out;
        }
        rc = 0;
        goto out;
    }
    if (ledger)
        text = ledger_csv(led, lex);
    else if (strcmp(o.format, "json") == 0)
        text = report_json(rep, true);
    else if (strcmp(o.format, "csv") == 0)
        text = report_csv(rep, lex);
    else
        text = report_text(rep, lex);
    if (text && strcmp(o.format, "json") == 0) {
        size_t n = strlen(text);
        char *t2 = realloc(text, n + 2);
        if (t2) {
            text = t2;
            memcpy(text + n, "\n", 2);
        }
    }
    rc = write_text(o.out, text);
out:
    free(text);
    free(cause);
    free(dir);
    report_monthly_free(rep);
    report_ledger_free(led);
    roster_free(roster);
    store_close(s);
    lexicon_free(lex);
    config_free(cfg);
    config_problems_cleanup(&probs);
    return rc;
}

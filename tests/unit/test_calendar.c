/* The working calendar (common/calendar.c) and the SLA rules on it (common/sla.c): the shipped
 * 2025/2026 days of the State Council's notices, make-up working days (调休) of a real week, a
 * long holiday, working hours across lunch, night and the weekend, the file's mistakes with their
 * line numbers, and the configuration keys that carry it (bot/sys/config.c). Times are local to
 * Asia/Shanghai, as the offices read them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/sys/config.h"
#include "bot/sys/locale.h"
#include "handlers/i18n.h"
#include "common/calendar.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/localtime.h"
#include "common/sla.h"

static struct fq_config *cfg;

static void setup(void)
{
    cr_assert_eq(fq_tz_use("Asia/Shanghai"), FQ_OK);
    cfg = config_new_defaults();   /* the shipped calendar and 08:30-12:00,14:00-17:30 */
    cr_assert_not_null(cfg);
}

static char tmpdir[64];
static const char *const tmpnames[] = {"office.txt", "fq.conf", "bad.txt", "bad.conf",
                                       "missing.conf"};

static void teardown(void)
{
    config_free(cfg);
    if (!tmpdir[0])
        return;
    char path[128];
    for (size_t i = 0; i < sizeof tmpnames / sizeof tmpnames[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, tmpnames[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

TestSuite(calendar, .init = setup, .fini = teardown);

static int64_t L(int y, int mo, int d, int h, int mi) { return fq_local_instant(y, mo, d, h, mi, 0); }

static void expect_at(int64_t got, int y, int mo, int d, int h, int mi, const char *what)
{
    char g[32], w[32];
    fq_local_format(got, FQ_LOCAL_MINUTE, g, sizeof g);
    fq_local_format(L(y, mo, d, h, mi), FQ_LOCAL_MINUTE, w, sizeof w);
    cr_expect_str_eq(g, w, "%s: got %s, expected %s", what, g, w);
}

Test(calendar, shipped_2026_spring_festival_week)
{
    const struct fq_calendar *c = &cfg->calendar;
    cr_expect(cal_workday(c, 2026, 2, 13), "Friday before the festival works");
    cr_expect(cal_workday(c, 2026, 2, 14), "Saturday 2026-02-14 is a make-up working day");
    for (int d = 15; d <= 23; d++)
        cr_expect(!cal_workday(c, 2026, 2, d), "2026-02-%d is 春节", d);
    cr_expect(cal_workday(c, 2026, 2, 24), "Tuesday after the festival works");
    cr_expect(cal_workday(c, 2026, 2, 28), "Saturday 2026-02-28 is a make-up working day");
    cr_expect(!cal_workday(c, 2026, 3, 1), "an ordinary Sunday is off");
    cr_expect(!cal_workday(c, 2026, 2, 7), "an ordinary Saturday is off");
    /* 2025: 春节 1-28..2-04, make-up Sunday 1-26 and Saturday 2-08; 国庆 10-01..08 */
    cr_expect(cal_workday(c, 2025, 1, 26));
    cr_expect(!cal_workday(c, 2025, 2, 4));
    cr_expect(cal_workday(c, 2025, 2, 8));
    cr_expect(!cal_workday(c, 2025, 10, 8));
    cr_expect(cal_workday(c, 2025, 10, 11));
    cr_expect_eq(c->notice_min, 2025);
    cr_expect_eq(c->notice_max, 2026);
}

Test(calendar, working_days_across_the_spring_festival)
{
    /* Friday 2026-02-13 09:00 + 2wd: the make-up Saturday 02-14 is day 1, the festival is
     * skipped, Tuesday 02-24 is day 2, due at the close of its working hours */
    expect_at(cal_add_workdays(&cfg->calendar, L(2026, 2, 13, 9, 0), 2), 2026, 2, 24, 17, 30,
              "2wd from Friday before 春节");
    /* Monday 2026-02-23 (still a holiday) 10:00 + 1wd: Tuesday 02-24 */
    expect_at(cal_add_workdays(&cfg->calendar, L(2026, 2, 23, 10, 0), 1), 2026, 2, 24, 17, 30,
              "1wd from the last day of 春节");
    /* Friday 2026-02-27 + 1wd: the make-up Saturday 02-28 */
    expect_at(cal_add_workdays(&cfg->calendar, L(2026, 2, 27, 16, 0), 1), 2026, 2, 28, 17, 30,
              "1wd onto the make-up Saturday");
}

Test(calendar, working_days_across_golden_week)
{
    /* Wednesday 2026-09-30 10:00 + 3wd: 10-01..07 off, Thursday 10-08, Friday 10-09 and the
     * make-up Saturday 10-10 */
    expect_at(cal_add_workdays(&cfg->calendar, L(2026, 9, 30, 10, 0), 3), 2026, 10, 10, 17, 30,
              "3wd across 国庆");
    /* the same count with no calendar days: plain Monday to Friday */
    struct fq_calendar plain;
    cal_init(&plain);
    struct fq_buf why;
    buf_init(&why);
    cr_assert(cal_parse_hours(&plain, "08:30-12:00,14:00-17:30", &why));
    expect_at(cal_add_workdays(&plain, L(2026, 9, 30, 10, 0), 3), 2026, 10, 5, 17, 30,
              "3wd without holidays");
    buf_cleanup(&why);
    cal_cleanup(&plain);
}

Test(calendar, working_hours_across_lunch_night_and_weekend)
{
    const struct fq_calendar *c = &cfg->calendar;
    /* Wednesday 2026-12-02 10:00 + 4wh: two hours to noon, two after lunch */
    expect_at(cal_add_worktime(c, L(2026, 12, 2, 10, 0), 4 * 3600), 2026, 12, 2, 16, 0,
              "4wh across lunch");
    /* 16:30 + 4wh: one hour today, three tomorrow morning */
    expect_at(cal_add_worktime(c, L(2026, 12, 2, 16, 30), 4 * 3600), 2026, 12, 3, 11, 30,
              "4wh across the night");
    /* Friday 2026-12-04 17:00 + 4wh: half an hour, then Monday 08:30-12:00 */
    expect_at(cal_add_worktime(c, L(2026, 12, 4, 17, 0), 4 * 3600), 2026, 12, 7, 12, 0,
              "4wh across the weekend");
    /* a start at night counts from the next morning */
    expect_at(cal_add_worktime(c, L(2026, 12, 2, 23, 0), 3600), 2026, 12, 3, 9, 30,
              "1wh from the night");
    /* a start in the lunch break counts from 14:00 */
    expect_at(cal_add_worktime(c, L(2026, 12, 2, 12, 30), 1800), 2026, 12, 2, 14, 30,
              "30 min from lunch");
    cr_expect_eq(cal_day_seconds(c), 7 * 3600);
}

Test(calendar, next_open_instant)
{
    const struct fq_calendar *c = &cfg->calendar;
    int64_t t = L(2026, 12, 2, 10, 0);
    cr_expect_eq(cal_next_open(c, t), t, "open now: now");
    cr_expect(cal_open(c, t));
    cr_expect(!cal_open(c, L(2026, 12, 2, 12, 0)), "12:00 is the lunch break (ranges are [a, b))");
    expect_at(cal_next_open(c, L(2026, 12, 2, 12, 15)), 2026, 12, 2, 14, 0, "lunch");
    expect_at(cal_next_open(c, L(2026, 12, 2, 22, 0)), 2026, 12, 3, 8, 30, "night");
    expect_at(cal_next_open(c, L(2026, 12, 4, 18, 0)), 2026, 12, 7, 8, 30, "Friday evening");
    expect_at(cal_next_open(c, L(2026, 9, 30, 20, 0)), 2026, 10, 8, 8, 30, "eve of 国庆");
    expect_at(cal_next_open(c, L(2026, 2, 13, 20, 0)), 2026, 2, 14, 8, 30,
              "the make-up Saturday opens");
}

Test(calendar, file_mistakes_with_their_line_numbers)
{
    const char *text = "# comment\n"
                       "2026-10-01 off 2026 国庆节\n"
                       "2026-10-32 off 2026\n"               /* 3: no such day */
                       "2026-10-02 holiday 2026\n"           /* 4: bad kind */
                       "2026-10-05 work 2026\n"              /* 5: a Monday */
                       "2026-10-03 off 20x6\n"               /* 6: bad notice year */
                       "2026-10-04 off 2020\n"               /* 7: far notice year */
                       "\n"
                       "2026-10-01 off 2026 again\n"         /* 9: given on line 2 */
                       "26-10-01 off 2026\r\n";              /* 10: bad date form */
    struct fq_calendar cal;
    cal_init(&cal);
    struct fq_buf p;
    buf_init(&p);
    cr_expect(!cal_parse_days(&cal, text, strlen(text), "office.txt", &p));
    cr_assert_not_null(p.s);
    const char *want[] = {"office.txt:3: 2026-10-32 is not a day of the calendar",
                          "office.txt:4: expected off (a holiday) or work",
                          "office.txt:5: 2026-10-05 is a Monday, a working day anyway",
                          "office.txt:6: expected the year of the State Council notice",
                          "office.txt:7: notice year 2020",
                          "office.txt:9: 2026-10-01 is already given on line 2",
                          "office.txt:10: expected DATE off|work NOTICE_YEAR"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(p.s, want[i]), "missing \"%s\" in:\n%s", want[i], p.s);
    cr_expect_eq(cal.n_days, 0, "a refused file gives no days");
    buf_cleanup(&p);

    /* a good file with a byte-order mark and CRLF */
    const char *ok = "\xEF\xBB\xBF" "2026-12-31 off 2027 x\r\n2027-01-02 work 2027\r\n";
    buf_init(&p);
    cr_expect(cal_parse_days(&cal, ok, strlen(ok), "ok.txt", &p), "%s", p.s ? p.s : "");
    cr_expect_eq(cal.n_days, 2);
    cr_expect(!cal_workday(&cal, 2026, 12, 31));
    cr_expect(cal_workday(&cal, 2027, 1, 2));
    buf_cleanup(&p);
    cal_cleanup(&cal);
}

Test(calendar, hours_mistakes)
{
    struct fq_calendar cal;
    cal_init(&cal);
    const char *bad[] = {"", "8:30-12:00", "08:30-12:00,", "12:00-08:30", "08:30-12:00,11:00-17:00",
                         "08:30-25:00", "08:60-12:00", "08:30~12:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fq_buf why;
        buf_init(&why);
        cr_expect(!cal_parse_hours(&cal, bad[i], &why), "\"%s\" accepted", bad[i]);
        cr_expect(why.s && *why.s, "no reason for \"%s\"", bad[i]);
        buf_cleanup(&why);
    }
    struct fq_buf why;
    buf_init(&why);
    cr_expect(cal_parse_hours(&cal, "00:00-24:00", &why));
    cr_expect_eq(cal_day_seconds(&cal), 86400);
    buf_cleanup(&why);
    cal_cleanup(&cal);
}

/* ---- the configuration ------------------------------------------------------------------- */
static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/fq-cal-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
    }
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static bool has_problem(const struct fq_config_problems *p, const char *part)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].text && strstr(p->v[i].text, part))
            return true;
    return false;
}

static void print_problems(const struct fq_config_problems *p)
{
    config_problems_print(p, stderr);
}

Test(calendar, sla_in_working_units_from_the_config)
{
    char conf[512];
    const char *cal = write_file("office.txt", "2026-12-03 off 2026 办公室自定\n");
    char calpath[128];
    snprintf(calpath, sizeof calpath, "%s", cal);
    snprintf(conf, sizeof conf,
             "[sla]\naccept_blue = 4wh\nresolve_blue = 3wd\naccept_yellow = 2h\n"
             "[calendar]\nfile = %s\nhours = 09:00-12:00,13:00-18:00\n", calpath);
    const char *cf = write_file("fq.conf", conf);
    struct fq_config_problems p = {0};
    struct fq_config *c = config_load(cf, &p);
    if (!c)
        print_problems(&p);
    cr_assert_not_null(c);
    /* Wednesday 2026-12-02 16:00: the office's holiday on Thursday 12-03 */
    int64_t t = L(2026, 12, 2, 16, 0);
    expect_at(sla_due(c, SLA_ACCEPT, FQ_SEV_BLUE, t), 2026, 12, 4, 11, 0, "4wh over a holiday");
    expect_at(sla_due(c, SLA_SUPERVISE, FQ_SEV_BLUE, t), 2026, 12, 4, 16, 0, "twice 4wh");
    expect_at(sla_due(c, SLA_RESOLVE, FQ_SEV_BLUE, t), 2026, 12, 8, 18, 0, "3wd: Fri, Mon, Tue");
    cr_expect_eq(sla_due(c, SLA_ACCEPT, FQ_SEV_YELLOW, t), t + 7200, "calendar time stays");
    cr_expect_eq(sla_due(c, SLA_ACCEPT, FQ_SEV_RED, t), t + 3600, "red on calendar time");
    /* a blue reminder due at night waits for the morning, a red one does not */
    int64_t night = L(2026, 12, 4, 22, 0);
    expect_at(sla_notice_at(c, FQ_SEV_BLUE, night), 2026, 12, 7, 9, 0, "held to Monday");
    cr_expect_eq(sla_notice_at(c, FQ_SEV_RED, night), night);
    /* sensitive.enabled halves working time too: 4wh → 2wh */
    c->sensitive_enabled = true;
    expect_at(sla_due(c, SLA_ACCEPT, FQ_SEV_BLUE, t), 2026, 12, 2, 18, 0, "2wh");
    /* check-config -v prints the units back */
    char *out = NULL;
    size_t outlen = 0;
    FILE *mf = open_memstream(&out, &outlen);
    config_print(c, mf);
    fclose(mf);
    cr_expect(strstr(out, "accept_blue = 4wh") && strstr(out, "resolve_blue = 3wd"), "%s", out);
    free(out);
    config_free(c);
    config_problems_cleanup(&p);
}

Test(calendar, config_refusals)
{
    const char *cal = write_file("bad.txt", "2026-01-01 off 2026\n2026-01-04 work\n");
    char calpath[128];
    snprintf(calpath, sizeof calpath, "%s", cal);
    char conf[512];
    snprintf(conf, sizeof conf,
             "[sla]\naccept_red = 1wh\nresolve_red = 3wd\naccept_blue = 3wx\n"
             "[calendar]\nfile = %s\nhours = 17:00-09:00\n", calpath);
    const char *cf = write_file("bad.conf", conf);
    struct fq_config_problems p = {0};
    struct fq_config *c = config_load(cf, &p);
    cr_expect_null(c);
    print_problems(&p);
    cr_expect(has_problem(&p, "red cases run on calendar time"));
    cr_expect(has_problem(&p, "working days or hours such as 3wd or 4wh, got \"3wx\""),
              "3wx refused with the forms");
    cr_expect(has_problem(&p, "must end after it starts"));
    cr_expect(has_problem(&p, ":2: expected the year of the State Council notice"),
              "the calendar file's line");
    config_problems_cleanup(&p);

    snprintf(conf, sizeof conf, "[calendar]\nfile = %s/none.txt\n", tmpdir);
    cf = write_file("missing.conf", conf);
    struct fq_config_problems q = {0};
    cr_expect_null(config_load(cf, &q));
    cr_expect(has_problem(&q, "cannot open"));
    config_problems_cleanup(&q);
}

/* ---- deadlines in words (handlers/i18n.c) ------------------------------------------------- */
Test(calendar, deadline_in_the_words_of_each_locale)
{
    struct fq_lexicon *lx = NULL;
    char *cause = NULL;
    const char *dir = getenv("FENGQIAO_LOCALES");
    if (!dir)
        dir = access("locales/zh-CN.json", R_OK) == 0 ? "locales" : "../../locales";
    cr_assert_eq(locale_load(dir, &lx, &cause), FQ_OK, "%s", cause ? cause : "");
    int64_t due = L(2026, 12, 4, 17, 30), now = L(2026, 12, 1, 10, 0);
    char buf[96];
    i18n_deadline(lx, FQ_LOC_ZH_CN, due, now, buf, sizeof buf);
    cr_expect_str_eq(buf, "12月4日（周五）17:30");
    i18n_deadline(lx, FQ_LOC_ZH_TW, due, now, buf, sizeof buf);
    cr_expect_str_eq(buf, "12月4日（週五）17:30");
    i18n_deadline(lx, FQ_LOC_EN, due, now, buf, sizeof buf);
    cr_expect_str_eq(buf, "Fri 4 Dec 17:30");
    /* a deadline in the next year names it */
    int64_t jan = L(2027, 1, 4, 17, 30);
    i18n_deadline(lx, FQ_LOC_ZH_CN, jan, now, buf, sizeof buf);
    cr_expect_str_eq(buf, "2027年1月4日（周一）17:30");
    i18n_deadline(lx, FQ_LOC_EN, jan, now, buf, sizeof buf);
    cr_expect_str_eq(buf, "Mon 4 Jan 2027 17:30");
    lexicon_free(lx);
    free(cause);
}

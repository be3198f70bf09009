/* Local time (common/localtime.c): server.timezone, not TZ, decides what a person reads and where
 * a local day or month begins; zones with summer time cut months at their own midnight; a zone
 * the tz database does not have is refused rather than silently read as UTC. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/fq.h"
#include "common/localtime.h"

/* 2026-10-31T16:30:00Z and 2026-10-31T15:30:00Z */
#define T_1630Z 1793464200LL
#define T_1530Z 1793460600LL

static void use(const char *zone)
{
    cr_assert_eq(fq_tz_use(zone), FQ_OK, "fq_tz_use(%s)", zone);
    cr_assert_str_eq(fq_tz_current(), zone);
}

static void setup(void) { setenv("TZ", "UTC", 1); }   /* a container's usual environment */

TestSuite(localtime, .init = setup);

Test(localtime, shanghai_whatever_tz_says)
{
    setenv("TZ", "America/Los_Angeles", 1);
    use("Asia/Shanghai");
    char buf[32];
    fq_local_format(T_1630Z, FQ_LOCAL_MINUTE, buf, sizeof buf);
    cr_expect_str_eq(buf, "2026-11-01 00:30");
    fq_local_format(T_1530Z, FQ_LOCAL_MINUTE, buf, sizeof buf);
    cr_expect_str_eq(buf, "2026-10-31 23:30");
    fq_local_format(T_1630Z, FQ_LOCAL_DATE, buf, sizeof buf);
    cr_expect_str_eq(buf, "2026-11-01");
    cr_expect_eq(fq_local_yyyymmdd(T_1630Z), 20261101);
    cr_expect_eq(fq_local_yyyymmdd(T_1530Z), 20261031);
    struct fq_civil d;
    fq_local_civil(T_1630Z, &d);
    cr_expect(d.year == 2026 && d.month == 11 && d.day == 1 && d.hour == 0 && d.min == 30 &&
              d.sec == 0 && d.wday == 0, "%d-%d-%d %d:%d wday %d", d.year, d.month, d.day,
              d.hour, d.min, d.wday);
}

Test(localtime, utc_zone)
{
    use("UTC");
    char buf[32];
    fq_local_format(T_1630Z, FQ_LOCAL_MINUTE, buf, sizeof buf);
    cr_expect_str_eq(buf, "2026-10-31 16:30");
    int64_t s, e;
    fq_local_month_range(2026, 11, &s, &e);
    cr_expect_eq(s, 1793491200LL);   /* 2026-11-01T00:00Z */
    cr_expect_eq(e, 1796083200LL);   /* 2026-12-01T00:00Z */
}

Test(localtime, month_boundary_in_shanghai)
{
    use("Asia/Shanghai");
    int64_t oct_s, oct_e, nov_s, nov_e;
    fq_local_month_range(2026, 10, &oct_s, &oct_e);
    fq_local_month_range(2026, 11, &nov_s, &nov_e);
    cr_expect_eq(oct_e, nov_s);
    cr_expect_eq(nov_s, 1793491200LL - 8 * 3600);   /* 2026-10-31T16:00Z */
    cr_expect(T_1630Z >= nov_s && T_1630Z < nov_e, "16:30Z belongs to November");
    cr_expect(T_1530Z >= oct_s && T_1530Z < oct_e, "15:30Z belongs to October");
    int64_t dec_s, dec_e, jan_s, jan_e;
    fq_local_month_range(2026, 12, &dec_s, &dec_e);
    fq_local_month_range(2027, 1, &jan_s, &jan_e);
    cr_expect_eq(dec_e, jan_s, "December ends where January begins");
    cr_expect_eq(jan_s, 1798761600LL - 8 * 3600);    /* 2027-01-01T00:00+08:00 */
}

Test(localtime, new_york_months_and_days_across_summer_time)
{
    use("America/New_York");
    int64_t s, e;
    /* March 2026: starts in EST (-5), ends in EDT (-4): 31 days less one hour */
    fq_local_month_range(2026, 3, &s, &e);
    cr_expect_eq(s, 1772341200LL);   /* 2026-03-01T05:00Z */
    cr_expect_eq(e, 1775016000LL);   /* 2026-04-01T04:00Z */
    cr_expect_eq(e - s, 31 * 86400 - 3600);
    /* November 2026: the clocks go back on the 1st at 02:00 */
    fq_local_month_range(2026, 11, &s, &e);
    cr_expect_eq(s, 1793505600LL);   /* 2026-11-01T04:00Z (00:00 EDT) */
    cr_expect_eq(e, 1796101200LL);   /* 2026-12-01T05:00Z (00:00 EST) */
    /* the day the clocks go forward has 23 hours, the day they go back 25 */
    fq_local_day_range(2026, 3, 8, &s, &e);
    cr_expect_eq(e - s, 23 * 3600);
    fq_local_day_range(2026, 11, 1, &s, &e);
    cr_expect_eq(e - s, 25 * 3600);
    char buf[32];
    fq_local_format(1793505600LL, FQ_LOCAL_MINUTE, buf, sizeof buf);
    cr_expect_str_eq(buf, "2026-11-01 00:00");
    /* fields out of range carry over */
    cr_expect_eq(fq_local_instant(2026, 10, 32, 0, 0, 0), 1793505600LL);
}

Test(localtime, invalid_zones_are_refused)
{
    use("Asia/Shanghai");
    const char *bad[] = {"Mars/Olympus_Mons", "", "Asia/Shang hai", "/etc/passwd",
                         "../../../etc/passwd", "Asia/../Asia/Shanghai", "Asia//Shanghai",
                         "Asia/", "CST-8", "zone.tab", "Asia", NULL};
    for (size_t i = 0; bad[i]; i++) {
        cr_expect_not(fq_tz_valid(bad[i]), "\"%s\" should not be a zone", bad[i]);
        cr_expect_eq(fq_tz_use(bad[i]), FQ_ECONFIG, "\"%s\"", bad[i]);
    }
    cr_expect_not(fq_tz_valid(NULL));
    cr_expect_eq(fq_tz_use(NULL), FQ_ECONFIG);
    /* a refused zone leaves the one in use alone */
    cr_expect_str_eq(fq_tz_current(), "Asia/Shanghai");
    cr_expect_eq(fq_local_yyyymmdd(T_1630Z), 20261101);
    const char *good[] = {"Asia/Shanghai", "UTC", "Etc/UTC", "America/New_York", "Asia/Urumqi",
                          "Etc/GMT-8", NULL};
    for (size_t i = 0; good[i]; i++)
        cr_expect(fq_tz_valid(good[i]), "\"%s\" should be a zone", good[i]);
}

Test(localtime, calendar_dates)
{
    cr_expect(fq_date_valid(2024, 2, 29));
    cr_expect_not(fq_date_valid(2026, 2, 29));
    cr_expect_not(fq_date_valid(1900, 2, 29));
    cr_expect(fq_date_valid(2000, 2, 29));
    cr_expect_not(fq_date_valid(2026, 4, 31));
    cr_expect_not(fq_date_valid(2026, 13, 1));
    cr_expect_not(fq_date_valid(2026, 0, 1));
    cr_expect_not(fq_date_valid(2026, 1, 0));
    cr_expect(fq_date_valid(2026, 12, 31));
}

/* localtime.c: local time as the offices read it. Instants are stored and passed around as UTC
 * unix seconds; they become local only where a person reads them (receipts, deadlines, the
 * ledger) or where a local period is cut (a day, a month). The zone is server.timezone, never
 * whatever TZ the process was started with.
 *
 * How: the C library's tz database (the tzdata package under /usr/share/zoneinfo, or TZDIR)
 * through localtime_r and mktime. fq_tz_use() puts the configured zone into TZ once, at
 * start-up, before any thread starts: setenv is not thread-safe against the getenv that mktime
 * and tzset do, so the zone is never changed while threads run. A changed server.timezone on
 * SIGHUP therefore takes effect only after a restart (bot/cli/serve.c logs that). localtime_r and
 * mktime themselves are thread-safe once TZ stays put.
 *
 * A zone name is checked against the database itself (a TZif file must exist for it): glibc
 * silently falls back to UTC for a name it cannot load, which would bring back the very
 * eight-hour error this exists to prevent. */
#include "common/fq.h"
#include "common/localtime.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ZONE_MAX 255

static char zone_in_use[ZONE_MAX + 1];

/* Only the characters of tz database names; no absolute path, no "..", no empty component. */
static bool name_ok(const char *zone)
{
    size_t n = zone ? strlen(zone) : 0;
    if (n == 0 || n > ZONE_MAX || zone[0] == '/' || zone[n - 1] == '/')
        return false;
    for (const char *p = zone; *p; p++) {
        char ch = *p;
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '+' || ch == '/' ||
                  ch == '.';
        if (!ok)
            return false;
        if (ch == '/' && p[1] == '/')
            return false;
        if (ch == '.' && (p == zone || p[-1] == '/'))   /* "..", ".x", "a/.b": not zone names */
            return false;
    }
    return true;
}

bool fq_tz_valid(const char *zone)
{
    if (!name_ok(zone))
        return false;
    const char *dir = getenv("TZDIR");   /* where glibc looks too */
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, zone);
    if (n < 0 || (size_t)n >= sizeof path)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    char magic[4];
    bool ok = read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
              memcmp(magic, "TZif", 4) == 0;
    close(fd);
    return ok;
}

enum fq_err fq_tz_use(const char *zone)
{
    if (!fq_tz_valid(zone))
        return FQ_ECONFIG;
    char tz[ZONE_MAX + 2];
    snprintf(tz, sizeof tz, ":%s", zone);   /* ':' : a file of the database, never a POSIX rule */
    if (setenv("TZ", tz, 1) != 0)
        return FQ_ENOMEM;
    tzset();
    snprintf(zone_in_use, sizeof zone_in_use, "%s", zone);
    return FQ_OK;
}

const char *fq_tz_current(void) { return zone_in_use[0] ? zone_in_use : NULL; }

void fq_local_civil(int64_t unix_s, struct fq_civil *out)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    localtime_r(&t, &tm);
    *out = (struct fq_civil){.year = tm.tm_year + 1900, .month = tm.tm_mon + 1,
                             .day = tm.tm_mday, .hour = tm.tm_hour, .min = tm.tm_min,
                             .sec = tm.tm_sec, .wday = tm.tm_wday};
}

void fq_local_format(int64_t unix_s, enum fq_local_form form, char *buf, size_t size)
{
    if (!buf || size == 0)
        return;
    struct fq_civil c;
    fq_local_civil(unix_s, &c);
    if (form == FQ_LOCAL_DATE)
        snprintf(buf, size, "%04d-%02d-%02d", c.year, c.month, c.day);
    else
        snprintf(buf, size, "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour, c.min);
}

int fq_local_yyyymmdd(int64_t unix_s)
{
    struct fq_civil c;
    fq_local_civil(unix_s, &c);
    return c.year * 10000 + c.month * 100 + c.day;
}

int64_t fq_local_instant(int year, int month, int day, int hour, int min, int sec)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;   /* let the zone's rules say whether summer time applies */
    return (int64_t)mktime(&tm);
}

bool fq_date_valid(int year, int month, int day)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= mdays[month - 1] + (month == 2 && leap);
}

void fq_local_day_range(int year, int month, int day, int64_t *start, int64_t *end)
{
    /* midnight of the day after, not start + 86400: a summer-time day has 23 or 25 hours */
    *start = fq_local_instant(year, month, day, 0, 0, 0);
    *end = fq_local_instant(year, month, day + 1, 0, 0, 0);
}

void fq_local_month_range(int year, int month, int64_t *start, int64_t *end)
{
    *start = fq_local_instant(year, month, 1, 0, 0, 0);
    *end = month == 12 ? fq_local_instant(year + 1, 1, 1, 0, 0, 0)
                       : fq_local_instant(year, month + 1, 1, 0, 0, 0);
}

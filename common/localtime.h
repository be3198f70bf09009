/* localtime.h: local time as the offices read it (common/localtime.c).
 * Stored instants are UTC; "local" is server.timezone, made the process's zone once at start-up
 * by fq_tz_use (before any thread starts; see localtime.c for why a SIGHUP cannot change it). */
#ifndef FQ_LOCALTIME_H
#define FQ_LOCALTIME_H

#include "common/fq.h"

/* True when zone names a zone of the tz database ("Asia/Shanghai", "UTC"). */
bool fq_tz_valid(const char *zone);
/* Makes zone the local zone of the process, whatever TZ was. Not thread-safe: call it before
 * any thread starts. FQ_ECONFIG when fq_tz_valid(zone) is false. */
enum fq_err fq_tz_use(const char *zone);
/* The zone fq_tz_use set, NULL before. */
const char *fq_tz_current(void);

/* A local calendar time: month 1-12, day 1-31, wday 0 = Sunday. */
struct fq_civil {
    int year, month, day, hour, min, sec, wday;
};
void fq_local_civil(int64_t unix_s, struct fq_civil *out);
/* The local time shown to people: FQ_LOCAL_MINUTE "2026-11-22 16:01", FQ_LOCAL_DATE
 * "2026-11-22". buf of at least 24 bytes. */
enum fq_local_form { FQ_LOCAL_MINUTE = 0, FQ_LOCAL_DATE };
void fq_local_format(int64_t unix_s, enum fq_local_form form, char *buf, size_t size);
/* Local calendar date as YYYYMMDD. */
int fq_local_yyyymmdd(int64_t unix_s);
/* The instant of a local wall-clock time. Fields out of range carry over (day 32 is the 1st of
 * the next month, hour 24 the next midnight), as mktime does; a time that a summer-time jump
 * skips or repeats gets the zone's usual reading. */
int64_t fq_local_instant(int year, int month, int day, int hour, int min, int sec);
/* True when year-month-day is a date of the (proleptic Gregorian) calendar. */
bool fq_date_valid(int year, int month, int day);
/* [start, end) of a local day and of a local month, as UTC instants. */
void fq_local_day_range(int year, int month, int day, int64_t *start, int64_t *end);
void fq_local_month_range(int year, int month, int64_t *start, int64_t *end);

#endif

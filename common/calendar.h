/* calendar.h: the office's working calendar (docs/contract.md 2.5): which local days are working
 * days (China's holidays and make-up working days, 调休, from the State Council's yearly notice)
 * and the working hours of a working day. The SLA rules (common/sla.h) count working days and
 * working hours with it; the timers (handlers/timers.c) hold a night reminder until it opens.
 *
 * The file (calendar.file, the shipped data/calendar/cn.txt by default) has one line a day:
 *     YYYY-MM-DD  off|work  NOTICE_YEAR  [name]
 * `off` is a holiday whatever the weekday, `work` a make-up working day on a Saturday or Sunday;
 * any other day works Monday to Friday. Parsing is pure (text in, struct out); reading the file
 * is bot/sys/config.c's. Local days are those of server.timezone (common/localtime.h). */
#ifndef FQ_CALENDAR_H
#define FQ_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fq_buf;

#define CAL_RANGES_MAX 8
#define CAL_TEXT_MAX (1024 * 1024)   /* a calendar file larger than this is refused */

/* Minutes after local midnight, start < end <= 1440, ranges ascending and disjoint. */
struct fq_cal_range {
    int start, end;
};

struct fq_cal_day {
    int32_t ymd;     /* YYYYMMDD */
    bool work;       /* true: 调休 working day; false: holiday */
};

/* Owns days (cal_cleanup frees it). */
struct fq_calendar {
    struct fq_cal_day *days;     /* ascending ymd, no two alike */
    size_t n_days;
    struct fq_cal_range hours[CAL_RANGES_MAX];
    size_t n_hours;
    int notice_min, notice_max;  /* the notice years the file names, 0 when none */
};

void cal_init(struct fq_calendar *cal);
void cal_cleanup(struct fq_calendar *cal);

/* Parses a calendar file's text into cal->days (replacing them). Each mistake is appended to
 * problems as "NAME:LINE: what\n" (name: the file's name, for the message). Returns false when
 * there was one (cal then holds no days) or on a text over CAL_TEXT_MAX. */
bool cal_parse_days(struct fq_calendar *cal, const char *text, size_t len, const char *name,
                    struct fq_buf *problems);

/* Parses working hours "08:30-12:00,14:00-17:30" into cal->hours. On a mistake writes why into
 * `why` (naming the expected form) and returns false, cal unchanged. */
bool cal_parse_hours(struct fq_calendar *cal, const char *spec, struct fq_buf *why);

/* Whether the local day is a working day (a listed day as listed, else Monday to Friday). */
bool cal_workday(const struct fq_calendar *cal, int year, int month, int day);

/* Whether the instant falls inside the working hours of a working day. */
bool cal_open(const struct fq_calendar *cal, int64_t t);

/* The first instant at or after t inside working hours (t itself when open). */
int64_t cal_next_open(const struct fq_calendar *cal, int64_t t);

/* The end of working hours of the n-th working day after t's local day (the day the clock starts
 * is not counted, 民法典 第二百零一条), n >= 1. */
int64_t cal_add_workdays(const struct fq_calendar *cal, int64_t t, int64_t n);

/* The instant when `secs` seconds of working time have passed from t (counting only working
 * hours of working days; secs >= 1). */
int64_t cal_add_worktime(const struct fq_calendar *cal, int64_t t, int64_t secs);

/* Seconds of working time in one working day (the sum of the hours' ranges). */
int64_t cal_day_seconds(const struct fq_calendar *cal);

#endif

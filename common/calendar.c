/* calendar.c: the working calendar of calendar.h. Pure: the text comes in as bytes, instants are
 * turned into local days and back with common/localtime.h (server.timezone), and the day
 * arithmetic is on day numbers (days since 1970-01-01, proleptic Gregorian), so a summer-time
 * zone still has every local day exactly once. */
#include "common/calendar.h"

#include "common/fq.h"
#include "common/localtime.h"

#include <stdlib.h>
#include <string.h>

/* How far a search for the next working day goes before giving up (a file declaring years of
 * holidays): then the answer is calendar time, never a hang. */
#define SEARCH_DAYS 4000

void cal_init(struct fq_calendar *cal)
{
    memset(cal, 0, sizeof *cal);
}

void cal_cleanup(struct fq_calendar *cal)
{
    if (!cal)
        return;
    free(cal->days);
    cal_init(cal);
}

/* ---- day numbers (H. Hinnant's days_from_civil / civil_from_days) ---------------------------- */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int wday_of(int64_t z)   /* 0 Sunday .. 6 Saturday; day 0 was a Thursday */
{
    int w = (int)((z + 4) % 7);
    return w < 0 ? w + 7 : w;
}

static int64_t day_of(int64_t t)
{
    struct fq_civil c;
    fq_local_civil(t, &c);
    return days_from_civil(c.year, c.month, c.day);
}

/* The local instant `min` minutes after midnight of day z (1440: the next midnight). */
static int64_t at(int64_t z, int min)
{
    int y, m, d;
    civil_from_days(z, &y, &m, &d);
    return fq_local_instant(y, m, d, min / 60, min % 60, 0);
}

/* ---- lookups -------------------------------------------------------------------------------- */
static const struct fq_cal_day *find(const struct fq_calendar *cal, int32_t ymd)
{
    size_t lo = 0, hi = cal ? cal->n_days : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->days[mid].ymd == ymd)
            return &cal->days[mid];
        if (cal->days[mid].ymd < ymd)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool workday_z(const struct fq_calendar *cal, int64_t z)
{
    int y, m, d;
    civil_from_days(z, &y, &m, &d);
    const struct fq_cal_day *e = find(cal, y * 10000 + m * 100 + d);
    if (e)
        return e->work;
    int w = wday_of(z);
    return w != 0 && w != 6;
}

bool cal_workday(const struct fq_calendar *cal, int year, int month, int day)
{
    return workday_z(cal, days_from_civil(year, month, day));
}

/* The ranges in force: the configured ones, or the whole day when none was given. */
static size_t ranges(const struct fq_calendar *cal, const struct fq_cal_range **r)
{
    static const struct fq_cal_range whole = {0, 1440};
    if (cal && cal->n_hours > 0) {
        *r = cal->hours;
        return cal->n_hours;
    }
    *r = &whole;
    return 1;
}

int64_t cal_day_seconds(const struct fq_calendar *cal)
{
    const struct fq_cal_range *r;
    size_t n = ranges(cal, &r);
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (int64_t)(r[i].end - r[i].start) * 60;
    return s;
}

bool cal_open(const struct fq_calendar *cal, int64_t t)
{
    return cal_next_open(cal, t) == t;
}

int64_t cal_next_open(const struct fq_calendar *cal, int64_t t)
{
    const struct fq_cal_range *r;
    size_t n = ranges(cal, &r);
    int64_t z = day_of(t);
    for (int i = 0; i < SEARCH_DAYS; i++, z++) {
        if (!workday_z(cal, z))
            continue;
        for (size_t k = 0; k < n; k++) {
            int64_t rs = at(z, r[k].start), re = at(z, r[k].end);
            if (t < re)
                return t > rs ? t : rs;
        }
    }
    return t;
}

int64_t cal_add_workdays(const struct fq_calendar *cal, int64_t t, int64_t n)
{
    const struct fq_cal_range *r;
    size_t nr = ranges(cal, &r);
    if (n < 1)
        return t;
    int64_t z = day_of(t) + 1;
    for (int i = 0; i < SEARCH_DAYS * 4; i++, z++)
        if (workday_z(cal, z) && --n == 0)
            return at(z, r[nr - 1].end);
    return t + n * 86400;
}

int64_t cal_add_worktime(const struct fq_calendar *cal, int64_t t, int64_t secs)
{
    const struct fq_cal_range *r;
    size_t n = ranges(cal, &r);
    int64_t left = secs;
    int64_t z = day_of(t);
    for (int i = 0; i < SEARCH_DAYS * 4 && left > 0; i++, z++) {
        if (!workday_z(cal, z))
            continue;
        for (size_t k = 0; k < n; k++) {
            int64_t rs = at(z, r[k].start), re = at(z, r[k].end);
            int64_t s = t > rs ? t : rs;
            if (s >= re)
                continue;
            if (left <= re - s)
                return s + left;
            left -= re - s;
        }
    }
    return t + secs;
}

/* ---- working hours -------------------------------------------------------------------------- */
/* "HH:MM" at p (exactly five characters); minutes after midnight, 24:00 allowed as an end. */
static int hhmm(const char *p, size_t len)
{
    if (len != 5 || p[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (p[i] < '0' || p[i] > '9'))
            return -1;
    int h = (p[0] - '0') * 10 + (p[1] - '0'), m = (p[3] - '0') * 10 + (p[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

bool cal_parse_hours(struct fq_calendar *cal, const char *spec, struct fq_buf *why)
{
    struct fq_cal_range v[CAL_RANGES_MAX];
    size_t n = 0;
    const char *p = spec ? spec : "";
    const char *form = "expected working hours as HH:MM-HH:MM ranges in order, separated by "
                       "commas, such as 08:30-12:00,14:00-17:30";
    if (!*p) {
        buf_printf(why, "%s, got nothing", form);
        return false;
    }
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *dash = memchr(p, '-', len);
        int s = dash ? hhmm(p, (size_t)(dash - p)) : -1;
        int e = dash ? hhmm(dash + 1, len - (size_t)(dash - p) - 1) : -1;
        if (s < 0 || e < 0 || s >= 1440) {
            buf_printf(why, "%s, got \"%s\"", form, spec);
            return false;
        }
        if (e <= s) {
            buf_printf(why, "a range must end after it starts: \"%.*s\"", (int)len, p);
            return false;
        }
        if (n > 0 && s < v[n - 1].end) {
            buf_printf(why, "ranges must be in order and must not overlap: \"%.*s\"", (int)len, p);
            return false;
        }
        if (n == CAL_RANGES_MAX) {
            buf_printf(why, "at most %d ranges, got more in \"%s\"", CAL_RANGES_MAX, spec);
            return false;
        }
        v[n++] = (struct fq_cal_range){s, e};
        if (!comma)
            break;
        p = comma + 1;
        if (!*p) {
            buf_printf(why, "%s, got a trailing comma in \"%s\"", form, spec);
            return false;
        }
    }
    memcpy(cal->hours, v, n * sizeof v[0]);
    cal->n_hours = n;
    return true;
}

/* ---- the file ------------------------------------------------------------------------------- */
struct pending {
    struct fq_cal_day day;
    int line, notice;
};

static int by_ymd(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    if (x->day.ymd != y->day.ymd)
        return x->day.ymd < y->day.ymd ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static bool is_space(char ch) { return ch == ' ' || ch == '\t'; }

/* The next blank-separated word of [*p, end): its start and length; *p moves past it. */
static size_t word(const char **p, const char *end, const char **w)
{
    while (*p < end && is_space(**p))
        (*p)++;
    *w = *p;
    while (*p < end && !is_space(**p))
        (*p)++;
    return (size_t)(*p - *w);
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static const char *const wday_names[7] = {"Sunday", "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};

/* One line [s, end) numbered `line`: appends its day to *v (false with a problem when not). */
static bool parse_line(const char *s, const char *end, int line, const char *name,
                       struct pending *out, struct fq_buf *problems, bool *blank)
{
    const char *p = s, *w;
    size_t n = word(&p, end, &w);
    *blank = n == 0 || w[0] == '#';
    if (*blank)
        return true;
    const char *date = w;
    size_t dn = n;
    if (dn != 10 || date[4] != '-' || date[7] != '-' || !digits(date, 4) ||
        !digits(date + 5, 2) || !digits(date + 8, 2)) {
        buf_printf(problems, "%s:%d: expected DATE off|work NOTICE_YEAR [name], the date as "
                             "YYYY-MM-DD, got \"%.*s\"\n", name, line, (int)(dn > 40 ? 40 : dn),
                   date);
        return false;
    }
    int y = atoi(date), m = atoi(date + 5), d = atoi(date + 8);
    if (!fq_date_valid(y, m, d)) {
        buf_printf(problems, "%s:%d: %.10s is not a day of the calendar\n", name, line, date);
        return false;
    }
    const char *kind;
    size_t kn = word(&p, end, &kind);
    bool work;
    if (kn == 3 && memcmp(kind, "off", 3) == 0) {
        work = false;
    } else if (kn == 4 && memcmp(kind, "work", 4) == 0) {
        work = true;
    } else {
        buf_printf(problems, "%s:%d: expected off (a holiday) or work (a make-up working day) "
                             "after the date, got \"%.*s\"\n", name, line,
                   (int)(kn > 40 ? 40 : kn), kind);
        return false;
    }
    const char *yr;
    size_t yn = word(&p, end, &yr);
    if (yn != 4 || !digits(yr, 4)) {
        buf_printf(problems, "%s:%d: expected the year of the State Council notice (4 digits) "
                             "after \"%s\", got \"%.*s\"\n", name, line, work ? "work" : "off",
                   (int)(yn > 40 ? 40 : yn), yr);
        return false;
    }
    int notice = atoi(yr);
    if (notice < y - 1 || notice > y + 1) {
        buf_printf(problems, "%s:%d: notice year %d is not the year of %.10s or next to it\n",
                   name, line, notice, date);
        return false;
    }
    int wd = wday_of(days_from_civil(y, m, d));
    if (work && wd != 0 && wd != 6) {
        buf_printf(problems, "%s:%d: %.10s is a %s, a working day anyway: only a Saturday or "
                             "Sunday can be a make-up working day\n", name, line, date,
                   wday_names[wd]);
        return false;
    }
    out->day = (struct fq_cal_day){y * 10000 + m * 100 + d, work};
    out->line = line;
    out->notice = notice;
    return true;
}

bool cal_parse_days(struct fq_calendar *cal, const char *text, size_t len, const char *name,
                    struct fq_buf *problems)
{
    name = name ? name : "calendar";
    if (len > CAL_TEXT_MAX) {
        buf_printf(problems, "%s: larger than %d bytes\n", name, CAL_TEXT_MAX);
        return false;
    }
    if (memchr(text, '\0', len)) {
        buf_printf(problems, "%s: holds a NUL byte: not a text file\n", name);
        return false;
    }
    struct pending *v = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;
    int notice_min = 0, notice_max = 0;
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)   /* a UTF-8 byte-order mark */
        p += 3;
    for (int line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p && le[-1] == '\r')
            le--;
        struct pending e;
        bool blank = false;
        if (!parse_line(p, le, line, name, &e, problems, &blank)) {
            ok = false;
        } else if (!blank) {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                struct pending *nv = realloc(v, nc * sizeof *nv);
                if (!nv) {
                    buf_printf(problems, "%s: out of memory\n", name);
                    free(v);
                    return false;
                }
                v = nv;
                cap = nc;
            }
            v[n++] = e;
            int ny = e.notice;
            if (!notice_min || ny < notice_min)
                notice_min = ny;
            if (ny > notice_max)
                notice_max = ny;
        }
        p = nl ? nl + 1 : end;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, by_ymd);
    for (size_t i = 1; i < n; i++) {
        if (v[i].day.ymd == v[i - 1].day.ymd) {
            int ymd = v[i].day.ymd;
            buf_printf(problems, "%s:%d: %04d-%02d-%02d is already given on line %d\n", name,
                       v[i].line, ymd / 10000, ymd / 100 % 100, ymd % 100, v[i - 1].line);
            ok = false;
        }
    }
    if (!ok) {
        free(v);
        return false;
    }
    struct fq_cal_day *days = n ? malloc(n * sizeof *days) : NULL;
    if (n && !days) {
        buf_printf(problems, "%s: out of memory\n", name);
        free(v);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        days[i] = v[i].day;
    free(v);
    free(cal->days);
    cal->days = days;
    cal->n_days = n;
    cal->notice_min = notice_min;
    cal->notice_max = notice_max;
    return true;
}

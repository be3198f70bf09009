/* sla.c: the deadline rules of sla.h. Pure arithmetic on the configuration and its calendar
 * (common/calendar.h): no clock, no I/O. */
#include "common/sla.h"

#include "common/calendar.h"
#include "common/fq.h"
#include "common/config_model.h"

static int64_t effective(const struct fq_config *c, const int64_t *v, int severity)
{
    if (!c || severity < FQ_SEV_BLUE || severity > FQ_SEV_RED)
        return -1;
    int64_t s = v[severity];
    if (c->sensitive_enabled) {   /* 敏感时期: every deadline halved */
        s /= 2;
        if (s < 1)
            s = 1;
    }
    return s;
}

int64_t sla_accept(const struct fq_config *c, int severity)
{
    return c ? effective(c, c->sla_accept, severity) : -1;
}

int64_t sla_resolve(const struct fq_config *c, int severity)
{
    return c ? effective(c, c->sla_resolve, severity) : -1;
}

#define DAY 86400

/* `times` times the SLA v (in unit u) from `from`. A red case, or an unusable configuration,
 * runs on calendar time: a working-days value then counts as whole days. */
static int64_t span(const struct fq_config *c, const int64_t *v, const unsigned char *u,
                    int severity, int times, int64_t from)
{
    if (!c || severity < FQ_SEV_BLUE || severity > FQ_SEV_RED)
        return from - times;   /* the SLA counts as -1 s */
    int64_t n = v[severity];
    enum sla_unit unit = (enum sla_unit)u[severity];
    if (unit == SLA_UNIT_WORKDAYS && (severity == FQ_SEV_RED || c->sensitive_enabled)) {
        /* halved working days are working time: 3wd halved is a day and a half of hours */
        if (severity == FQ_SEV_RED) {
            unit = SLA_UNIT_TIME;
            n *= DAY;
        } else {
            unit = SLA_UNIT_WORKHOURS;
            n *= cal_day_seconds(&c->calendar);
        }
    }
    if (unit == SLA_UNIT_WORKHOURS && severity == FQ_SEV_RED)
        unit = SLA_UNIT_TIME;
    if (c->sensitive_enabled) {
        n /= 2;
        if (n < 1)
            n = 1;
    }
    switch (unit) {
    case SLA_UNIT_WORKDAYS:
        return cal_add_workdays(&c->calendar, from, n * times);
    case SLA_UNIT_WORKHOURS:
        return cal_add_worktime(&c->calendar, from, n * times);
    case SLA_UNIT_TIME:
        break;
    }
    return from + n * times;
}

int64_t sla_due(const struct fq_config *c, enum sla_deadline d, int severity, int64_t from)
{
    switch (d) {
    case SLA_ACCEPT:
        return c ? span(c, c->sla_accept, c->sla_accept_unit, severity, 1, from) : from - 1;
    case SLA_SUPERVISE:
        return c ? span(c, c->sla_accept, c->sla_accept_unit, severity, 2, from) : from - 2;
    case SLA_RESOLVE:
        return c ? span(c, c->sla_resolve, c->sla_resolve_unit, severity, 1, from) : from - 1;
    case SLA_OVERDUE_NEXT:
        return from + DAY;
    }
    return from;
}

int64_t sla_notice_at(const struct fq_config *c, int severity, int64_t due)
{
    if (!c || !c->calendar_hold_night || severity == FQ_SEV_RED)
        return due;
    return cal_next_open(&c->calendar, due);
}

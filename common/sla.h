/* sla.h: the mediation deadlines (`sla.*`, docs/contract.md 2.3 and 7.4): how long a mediator has
 * to accept an assignment and to settle a case, by severity. The durations are configured in
 * struct fq_config; the rules that turn them into the deadline in force live here, at the
 * bottom, so the handlers that set deadlines and the code that parses the configuration share
 * one definition. */
#ifndef FQ_SLA_H
#define FQ_SLA_H

#include <stdint.h>

#include "common/config_model.h"

/* The unit of an sla.* value: `24h` is calendar time, `3wd` working days (the end of working
 * hours of the third working day after the clock starts), `4wh` working hours (counted only
 * inside calendar.hours of working days, common/calendar.h). Red cases always run on calendar
 * time (bot/sys/config.c refuses a working unit for them). */
enum sla_unit { SLA_UNIT_TIME = 0, SLA_UNIT_WORKDAYS, SLA_UNIT_WORKHOURS };

/* Seconds to accept an assignment / to resolve a case of the given severity (enum
 * fq_severity): the configured duration, halved (at least 1 s) while sensitive.enabled.
 * -1 when c is NULL or the severity is out of range. For a value in working days it is the
 * number of days, in working hours the seconds of working time. */
int64_t sla_accept(const struct fq_config *c, int severity);
int64_t sla_resolve(const struct fq_config *c, int severity);

/* The deadlines a case runs against (docs/contract.md 7.4). */
enum sla_deadline {
    SLA_ACCEPT = 0,    /* accept the assignment: the reminder (due_accept) */
    SLA_SUPERVISE,     /* still not accepted at twice the accept SLA: 督办 */
    SLA_RESOLVE,       /* settle the case (due_resolve) */
    SLA_OVERDUE_NEXT,  /* the next overdue notice after one: a day later */
};
/* The instant deadline `d` falls due for a case of this severity whose clock starts at `from`
 * (a Unix time): the one place deadlines are computed. With an unusable configuration or
 * severity the SLA counts as -1 s, as sla_accept/sla_resolve report it. */
int64_t sla_due(const struct fq_config *c, enum sla_deadline d, int severity, int64_t from);

/* When a reminder, 督办 or overdue notice due at `due` goes out: at once for a red case or with
 * calendar.hold_night off, else at the first working instant at or after it. */
int64_t sla_notice_at(const struct fq_config *c, int severity, int64_t due);

#endif

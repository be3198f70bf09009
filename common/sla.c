/* sla.c: the deadline rules of sla.h. Pure arithmetic on the configuration: no clock, no I/O. */
#include "common/sla.h"

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

int64_t sla_due(const struct fq_config *c, enum sla_deadline d, int severity, int64_t from)
{
    switch (d) {
    case SLA_ACCEPT:
        return from + sla_accept(c, severity);
    case SLA_SUPERVISE:
        return from + 2 * sla_accept(c, severity);
    case SLA_RESOLVE:
        return from + sla_resolve(c, severity);
    case SLA_OVERDUE_NEXT:
        return from + DAY;
    }
    return from;
}

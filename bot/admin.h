/* admin.h: the read side of the admin API (CONTRACT 3.4) and of `fengqiao cases`. Each call
 * opens its own read-only connection, so readers never wait for the core's batches (WAL). */
#ifndef FQ_ADMIN_H
#define FQ_ADMIN_H

#include "../common/config.h"

struct admin_query {
    const char *status, *org, *since, *limit, *month;   /* raw query values, NULL when absent */
    const char *case_no;
};

/* Each sets *status (HTTP) and *json (caller frees): the answer, or an error body. */
void admin_cases(const struct fq_config *cfg, const struct admin_query *q, int *status,
                 char **json);
void admin_case(const struct fq_config *cfg, const struct admin_query *q, int *status,
                char **json);
void admin_report(const struct fq_config *cfg, const struct admin_query *q, int *status,
                  char **json);

/* Parses "since": unix seconds, YYYY-MM-DD (local midnight) or RFC 3339. -1 when invalid. */
int64_t admin_parse_time(const char *s);

#endif

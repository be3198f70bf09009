/* admin.h: the read side of the admin API (docs/contract.md 3.4) and of `fengqiao cases`. Each call
 * opens its own read-only connection, so readers never wait for the core's batches (WAL). */
#ifndef FQ_ADMIN_H
#define FQ_ADMIN_H

#include "common/config_model.h"

struct admin_query {
    const char *status, *org, *since, *limit, *month;   /* raw query values, NULL when absent */
    const char *cursor, *offset;
    const char *case_no;
};

/* The case list's page size: limit's default and largest value. */
#define ADMIN_LIMIT_DEFAULT 100
#define ADMIN_LIMIT_MAX 10000
#define ADMIN_OFFSET_MAX 100000000

/* What the daemon has loaded, lent by the core (bot/core/core.h, core_view) for the length of
 * one call: the roster and its generation, the lexicon. NULL, or a NULL member: loaded from the
 * store or the catalogs by the call itself (the CLI). A roster whose generation is not the
 * stored one (an import the core has not picked up yet) is not used. */
struct fq_roster;
struct fq_lexicon;
struct admin_have {
    const struct fq_roster *roster;
    const char *roster_gen;
    const struct fq_lexicon *lex;
};

/* Each sets *status (HTTP) and *json (caller frees): the answer, or an error body.
 * admin_cases answers {"cases": [...], "next_cursor": "..." or null}: the cursor, given back as
 * ?cursor=, continues after the last case of this page, so cases created meanwhile (newer, at
 * the front of the list) neither repeat nor shift a case out of the walk. */
void admin_cases(const struct fq_config *cfg, const struct admin_have *have,
                 const struct admin_query *q, int *status, char **json);
void admin_case(const struct fq_config *cfg, const struct admin_have *have,
                const struct admin_query *q, int *status, char **json);
void admin_report(const struct fq_config *cfg, const struct admin_have *have,
                  const struct admin_query *q, int *status, char **json);

/* Opens a read-only connection and finds the roster for names: the one lent in have when it is
 * the stored generation, else one loaded from the store into *own (caller frees both: roster_free
 * and store_close). On failure sets the 503 answer and returns false. */
struct store;
bool admin_open_read(const struct fq_config *cfg, const struct admin_have *have,
                     struct store **s, const struct fq_roster **r, struct fq_roster **own,
                     int *status, char **json);

/* Parses "since": unix seconds, YYYY-MM-DD (local midnight) or RFC 3339. -1 when invalid. */
int64_t admin_parse_time(const char *s);

#endif

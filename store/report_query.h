/* report_query.h: the queries behind the monthly report and the ledger (store/report_query.c). */
#ifndef FQ_REPORT_QUERY_H
#define FQ_REPORT_QUERY_H

#include "common/fq.h"
#include "store/stmt.h"

struct store;

/* Report queries (store/report_query.c). Ids of every case that can count in [start, end): created
 * before end, and created in the period, or finished (resolved/closed) or updated at or after
 * start, or still not finished. *ids: caller frees. */
enum fq_err store_report_case_ids(struct store *s, int64_t start, int64_t end, int64_t **ids,
                                  size_t *n);
/* Ids of cases created in [start, end), oldest first (the ledger). *ids: caller frees. */
enum fq_err store_report_created_ids(struct store *s, int64_t start, int64_t end, int64_t **ids,
                                     size_t *n);
/* The statement of store_report_case_ids (0) or store_report_created_ids (1), for tests that
 * check its query plan; NULL for another number. */
const char *store_report_sql(int which);
/* The note of the case's latest resolved or closed event: the agreement reached, or why the
 * mediation ended (the ledger's 调解结果/协议). *note: caller frees; NULL when there is none. */
enum fq_err store_report_outcome_note(struct store *s, int64_t case_id, char **note);

#endif

/* report_forms.h: renders the monthly report and the ledger (handlers/report.h) as a terminal
 * table, JSON, CSV and an XLSX workbook (libxlsxwriter). Headers and labels come from the
 * lexicon (rp_ keys, zh-CN), never from C literals. */
#ifndef FQ_REPORT_FORMS_H
#define FQ_REPORT_FORMS_H

#include "handlers/report.h"
#include "common/fq.h"
#include "handlers/i18n.h"

/* The fields of the report into the open object o (common/fq.h). Counts are integers, rates are
 * numbers in [0, 1] or null when undefined, durations are seconds. */
void report_fields(struct fq_jobj *o, const struct rp_monthly *r);
/* The same as one JSON object (indent 2 when pretty). Caller frees. NULL on oom. */
char *report_json(const struct rp_monthly *r, bool pretty);
/* An aligned table for a terminal (CJK characters count two columns). Caller frees. */
char *report_text(const struct rp_monthly *r, const struct fq_lexicon *lx);
/* CSV (RFC 4180, CRLF) in UTF-8 with a byte-order mark, so Excel reads the Chinese right.
 * Caller frees. */
char *report_csv(const struct rp_monthly *r, const struct fq_lexicon *lx);
char *ledger_csv(const struct rp_ledger *l, const struct fq_lexicon *lx);
/* Writes an XLSX workbook to path (mode 0600, see report_open_private): the monthly statistics
 * sheet when r is not NULL (title, period, the figures, then each breakdown table with its label
 * and a column chart, one page each), then the ledger sheet when l is not NULL (title, period,
 * header row repeated on every printed page, autofilter, frozen panes, wrapped text). Both print
 * A4 landscape with page numbers; the ledger is fitted to one page wide. Dates are Excel dates
 * (local time). On failure returns FQ_EIO and sets *cause (caller frees). */
enum fq_err report_xlsx(const struct rp_monthly *r, const struct rp_ledger *l,
                        const struct fq_lexicon *lx, const char *path, char **cause);
/* Opens path for writing, created (or narrowed, when it is an existing regular file) to mode
 * 0600 before anything is written: the reports hold personal data, like the database. Returns
 * the descriptor, or -1 with errno set. */
int report_open_private(const char *path);

/* Display width of UTF-8 text in terminal columns (East Asian wide characters count 2). */
size_t report_display_width(const char *s);

#endif

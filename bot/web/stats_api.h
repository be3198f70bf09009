/* stats_api.h (bot/web/stats_api.c): the workbench's statistics and 督办 answers as JSON, each
 * on its own read-only connection like the admin reads (bot/admin/admin.h), and the 督办 note as
 * a message for the core. The caller has checked who asks; org is the subtree they may see
 * (NULL: all). */
#ifndef FQ_WEB_STATS_API_H
#define FQ_WEB_STATS_API_H

#include "bot/admin/admin.h"
#include "common/config_model.h"
#include "common/fq.h"

#define LATE_MAX 500                 /* cases in one 督办 list */
#define WITHIN_MAX_H 720             /* hours */

struct st_stats;
struct st_late;
struct fq_ctx;
/* The JSON of the statistics (the report's fields, median_s, trend) and of a 督办 list (see
 * docs/contract.md 3.4). Caller frees; NULL on oom. */
char *web_stats_json(const struct st_stats *s);
char *web_late_json(const struct fq_ctx *c, const struct st_late *v, size_t n, int64_t within);

/* GET statistics of month ("YYYY-MM", NULL: the current local month). *status, *json (caller
 * frees) as admin_report. */
void web_stats(const struct fq_config *cfg, const struct admin_have *have, const char *month,
               const char *org, int *status, char **json);

/* GET the 督办 list: open cases of org's subtree whose deadline is past or within `within`
 * ("hours", decimal 0..720, NULL: 24), by mediator and by node. */
void web_supervision(const struct fq_config *cfg, const struct admin_have *have,
                     const char *within, const char *org, int *status, char **json);

/* The 督办 note of a request body {"case_no": "...", "note": "..."} (at most body's bound) from
 * actor over the subtree of org, as an FQ_MSG_SUPERVISE for the core (caller owns it); NULL
 * with *status and *json (an error body, caller frees) when the body is not one. */
struct fq_msg *web_supervise_msg(const char *body, size_t len, const char *actor, const char *org,
                                 int *status, char **json);

/* The same from its fields (copied); NULL on oom. */
struct fq_msg *web_supervise_note_msg(const char *case_no, const char *note, const char *actor,
                                      const char *org);

/* The core's answer to one (bot/core/core.c): the note is recorded and pushed, or refused. */
struct fq_ctx;
struct fq_actions;
enum fq_err web_supervise_run(struct fq_ctx *ctx, struct fq_msg *m, struct fq_actions *a);

#endif

/* surveys.h: the follow-up surveys and how residents are reached (store/surveys.c, migration
 * 0004). */
#ifndef FQ_SURVEYS_H
#define FQ_SURVEYS_H

#include "common/fq.h"
#include "common/status.h"
#include "store/stmt.h"

struct store;

/* One follow-up question after a resolution (docs/contract.md 8.1). Strings owned by the struct. */
struct fq_survey {
    int64_t id, case_id;
    char kind[16];                   /* satisfaction relapse */
    int64_t resolved_at;             /* the resolution it follows (one survey per resolution) */
    char via[16];                    /* chat mqtt wecom_kf task */
    enum fq_survey_status status;    /* stored as its name; FQ_SURVEY__COUNT: a name this version
                                      * does not know (never written back) */
    int answer;                      /* satisfaction 1..4, relapse 1 yes 2 no, 0 none */
    char *comment, *answered_by, *task_mediator;   /* may be NULL */
    int64_t new_case;                /* relapse: the case opened, 0 none */
    int reminded;
    int64_t created_at, sent_at, answered_at, closed_at;
};
void survey_row_cleanup(struct fq_survey *v);       /* NULL-safe */
/* Inserts v (sets v->id). FQ_EEXIST when (case, kind, resolved_at) already has a survey. */
enum fq_err store_survey_insert(struct store *s, struct fq_survey *v);
/* Writes every mutable field of v (by v->id). */
enum fq_err store_survey_update(struct store *s, const struct fq_survey *v);
enum fq_err store_survey_get(struct store *s, int64_t id, struct fq_survey *out);
/* The survey of one resolution; FQ_ENOTFOUND when none. */
enum fq_err store_survey_find(struct store *s, int64_t case_id, const char *kind,
                              int64_t resolved_at, struct fq_survey *out);
/* The oldest survey of the resident's cases waiting for the resident's answer (status sent,
 * asked or comment; not a task); FQ_ENOTFOUND when none. */
enum fq_err store_survey_open_for(struct store *s, const char *channel, const char *user,
                                  struct fq_survey *out);
/* Every survey of a case, oldest first; cb's row borrowed for the call. */
enum fq_err store_survey_list(struct store *s, int64_t case_id,
                              void (*cb)(const struct fq_survey *v, void *arg), void *arg);
/* Surveys closed (answered or no_response) in [start, end), for the reports. */
enum fq_err store_survey_closed_in(struct store *s, int64_t start, int64_t end,
                                   void (*cb)(const struct fq_survey *v, void *arg), void *arg);
/* How a resident is reached: via is "chat", "mqtt" or "wecom_kf" (at most 15 bytes). */
enum fq_err store_reach_put(struct store *s, const char *channel, const char *user,
                            const char *via, int64_t at);
/* FQ_ENOTFOUND when never recorded; via receives the kind. */
enum fq_err store_reach_get(struct store *s, const char *channel, const char *user,
                            char via[16]);

#endif

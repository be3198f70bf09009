/* survey.h: the follow-up survey and the relapse check (handlers/survey.c). */
#ifndef FQ_SURVEY_H
#define FQ_SURVEY_H

#include "common/fq.h"
#include "handlers/actions.h"
#include "store/case_table.h"
#include "store/convo.h"
#include "store/surveys.h"
#include "store/timer_table.h"

/* What happens to a survey. Its status changes only through survey_enter and the table
 * survey_table: in a status of the row's `from` set the event leads to `next`. */
enum sv_event {
    SV_QUEUE = 0,     /* sent: queued for the resident's next message, or a 回访 task */
    SV_ASK,           /* the question is out (pushed, or asked at their message) */
    SV_AWAIT_COMMENT, /* answered by the resident; an optional comment may follow */
    SV_ANSWER,        /* the answer is complete (a recorded answer, the comment or its end) */
    SV_EXPIRE,        /* nobody answered in time */
    SV_CANCEL,        /* moot: the case moved on, or nobody can ask */
    SV__EVENT_COUNT
};
/* A set of statuses: bit s for enum fq_survey_status s, bit FQ_SURVEY__COUNT for a status this
 * version does not know (a newer version's row). */
#define SV_IN(s) (1u << (s))
struct sv_transition {
    enum sv_event event;
    unsigned from;
    enum fq_survey_status next;
};
extern const struct sv_transition survey_table[SV__EVENT_COUNT];
/* Moves v along the row of ev when v's status is in its from set; false (v unchanged) when
 * not. The only writer of a survey's status after it is created (scheduled, or answered when
 * an answer comes before any survey). */
bool survey_enter(struct fq_survey *v, enum sv_event ev);

/* (docs/contract.md 8.1): schedule the 回访 after a resolution, fire survey timers,
 * and take a resident's answer while their conversation is in state "survey". */
enum fq_err survey_schedule(struct fq_ctx *c, const struct fq_case *k, struct fq_actions *out);
enum fq_err survey_on_timer(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out);
enum fq_err survey_on_message(struct fq_ctx *c, const struct fq_msg *m, struct fq_convo *cv,
                              struct fq_actions *out);

/* Records a 回访 answer (1..4) and optional comment for case k (status resolved) from actor
 * ("resident" or a mediator id): the survey row of this resolution (created when none), the
 * event "survey_answered", its timers cancelled; 4 or a not-solved comment reopens k at its
 * tier and notifies mediator and supervisor (*k then holds the reopened case). FQ_EINVAL when
 * answer is out of range; store errors as they are. Used by lifecycle.c for the 回访 command. */
enum fq_err survey_record_answer(struct fq_ctx *c, struct fq_case *k, int answer,
                                 const char *comment, const char *actor, struct fq_actions *out);
/* Remembers how the sender of m (a resident submitting a report) can be reached for a survey:
 * MQTT gateway, WeCom customer service or chat webhook. Called by intake.c on submit. */
enum fq_err survey_note_reach(struct fq_ctx *c, const struct fq_msg *m);
/* The WeCom customer-service hook: true while the account may still write to the resident
 * (wecom_kf_can_reach: 48 h after their last message, at most 5 sends). When false, a survey
 * becomes a 回访 task for the grid worker. */
bool survey_wecom_reachable(const struct fq_ctx *c, const char *channel, const char *user);

#endif

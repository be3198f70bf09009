/* status.h: the states of the domain model, shared by every layer: a case's status
 * (docs/contract.md 7.3), a resident's conversation state (docs/contract.md 6.1), a survey's status
 * and the kinds of timers.
 *
 * Each is an enum with a table of names. The names are what the database stores and what the
 * wire shows, so they never change; code compares enums (parse the stored text once) and writes
 * the name (fq_*_name). A name this version does not know parses to -1. */
#ifndef FQ_STATUS_H
#define FQ_STATUS_H

#include <stdbool.h>

/* ---- cases ----------------------------------------------------------------------------------- */
enum fq_case_status {
    FQ_CASE_UNASSIGNED = 0,   /* "unassigned": nobody could be routed to */
    FQ_CASE_ASSIGNED,         /* "assigned" */
    FQ_CASE_ACCEPTED,         /* "accepted" */
    FQ_CASE_IN_PROGRESS,      /* "in_progress" */
    FQ_CASE_RESOLVED,         /* "resolved" */
    FQ_CASE_CLOSED,           /* "closed": ended without agreement */
    FQ_CASE_REOPENED,         /* "reopened": the resident was not satisfied */
    FQ_CASE_CANCELLED,        /* "cancelled": withdrawn by the resident */
    FQ_CASE_PAUSED,           /* "paused": the clock stopped (awaiting a party, a cooling-off
                               * period, an expert appraisal) until the mediator resumes it */
    FQ_CASE__COUNT
};
/* Every name in enum order, NULL-terminated. */
extern const char *const fq_case_status_names[FQ_CASE__COUNT + 1];
const char *fq_case_status_name(enum fq_case_status s);   /* "" when out of range */
int fq_case_status_parse(const char *s);                  /* -1 when unknown or NULL */
/* resolved, closed or cancelled: no deadline runs and nobody works on it. */
bool fq_case_status_finished(int s);

/* ---- conversations ------------------------------------------------------------------------- */
enum fq_convo_state {
    FQ_CONVO_IDLE = 0,          /* "idle": no report being written */
    FQ_CONVO_ASK_CATEGORY,      /* "ask_category" */
    FQ_CONVO_ASK_LOCATION,      /* "ask_location" */
    FQ_CONVO_ASK_DESCRIPTION,   /* "ask_description" */
    FQ_CONVO_ASK_CONTACT,       /* "ask_contact" */
    FQ_CONVO_CONFIRM,           /* "confirm" */
    FQ_CONVO_SUBMITTED,         /* "submitted": the report became a case */
    FQ_CONVO_SURVEY,            /* "survey": the next message answers a survey */
    FQ_CONVO_ASK_SAFETY,        /* "ask_safety": is anyone in danger right now? (yes: red) */
    FQ_CONVO_ASK_SUPPLEMENT,    /* "ask_supplement": add this message to an open case, or a
                                 * new report? (docs/contract.md 6.8) */
    FQ_CONVO__COUNT
};
extern const char *const fq_convo_state_names[FQ_CONVO__COUNT + 1];
const char *fq_convo_state_name(enum fq_convo_state s);   /* "" when out of range */
int fq_convo_state_parse(const char *s);                  /* -1 when unknown or NULL */
/* ask_category .. confirm, ask_safety, ask_supplement: a report is being written. */
bool fq_convo_state_drafting(int s);

/* ---- surveys (回访) ----------------------------------------------------------------------- */
enum fq_survey_status {
    FQ_SURVEY_SCHEDULED = 0,    /* "scheduled": waiting for its send time */
    FQ_SURVEY_SENT,             /* "sent": queued; asked at the resident's next message */
    FQ_SURVEY_ASKED,            /* "asked": the question is out */
    FQ_SURVEY_COMMENT,          /* "comment": answered, an optional comment may follow */
    FQ_SURVEY_ANSWERED,         /* "answered" */
    FQ_SURVEY_NO_RESPONSE,      /* "no_response": expired unanswered */
    FQ_SURVEY_CANCELLED,        /* "cancelled" */
    FQ_SURVEY__COUNT
};
extern const char *const fq_survey_status_names[FQ_SURVEY__COUNT + 1];
const char *fq_survey_status_name(enum fq_survey_status s);   /* "" when out of range */
int fq_survey_status_parse(const char *s);                    /* -1 when unknown or NULL */

/* ---- timers ------------------------------------------------------------------------------ */
enum fq_timer_kind {
    FQ_TIMER_ACCEPT_REMIND = 0,      /* "accept_remind": the assignment is not accepted yet */
    FQ_TIMER_ACCEPT_ESCALATE,        /* "accept_escalate": 督办 to the supervisors */
    FQ_TIMER_RESOLVE_OVERDUE,        /* "resolve_overdue": the resolve deadline passed */
    FQ_TIMER_SURVEY,                 /* "survey": send the satisfaction survey */
    FQ_TIMER_SURVEY_REMIND,          /* "survey_remind" */
    FQ_TIMER_SURVEY_EXPIRE,          /* "survey_expire" */
    FQ_TIMER_RELAPSE_CHECK,          /* "relapse_check": ask whether the dispute came back */
    FQ_TIMER_SURVEY_RELAPSE_REMIND,  /* "survey_relapse_remind" */
    FQ_TIMER_SURVEY_RELAPSE_EXPIRE,  /* "survey_relapse_expire" */
    FQ_TIMER_DIGEST,                 /* "digest": a supervisor's daily or weekly digest */
    FQ_TIMER_REPORT_MONTHLY,         /* "report_monthly" */
    FQ_TIMER__COUNT
};
extern const char *const fq_timer_kind_names[FQ_TIMER__COUNT + 1];
const char *fq_timer_kind_name(enum fq_timer_kind k);     /* "" when out of range */
int fq_timer_kind_parse(const char *s);                   /* -1 when unknown or NULL */

#endif

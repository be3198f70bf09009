/* status.c: the name tables of status.h. The names are stored text (cases.status,
 * conversations.state, surveys.status, timers.kind): append only, never rename. */
#include "common/status.h"

#include <string.h>

const char *const fq_case_status_names[FQ_CASE__COUNT + 1] = {
    "unassigned", "assigned", "accepted", "in_progress", "resolved", "closed", "reopened",
    "cancelled",  "paused",   NULL,
};

const char *const fq_convo_state_names[FQ_CONVO__COUNT + 1] = {
    "idle",    "ask_category", "ask_location", "ask_description", "ask_contact",
    "confirm", "submitted",    "survey",       "ask_safety",      "ask_supplement",
    NULL,
};

const char *const fq_survey_status_names[FQ_SURVEY__COUNT + 1] = {
    "scheduled", "sent", "asked", "comment", "answered", "no_response", "cancelled", NULL,
};

const char *const fq_timer_kind_names[FQ_TIMER__COUNT + 1] = {
    "accept_remind",         "accept_escalate",       "resolve_overdue", "survey",
    "survey_remind",         "survey_expire",         "relapse_check",   "survey_relapse_remind",
    "survey_relapse_expire", "digest",                "report_monthly",  NULL,
};

static const char *name_of(const char *const *names, int n, int i)
{
    return i >= 0 && i < n ? names[i] : "";
}

static int parse(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

const char *fq_case_status_name(enum fq_case_status s)
{
    return name_of(fq_case_status_names, FQ_CASE__COUNT, (int)s);
}

int fq_case_status_parse(const char *s) { return parse(fq_case_status_names, FQ_CASE__COUNT, s); }

bool fq_case_status_finished(int s)
{
    return s == FQ_CASE_RESOLVED || s == FQ_CASE_CLOSED || s == FQ_CASE_CANCELLED;
}

const char *fq_convo_state_name(enum fq_convo_state s)
{
    return name_of(fq_convo_state_names, FQ_CONVO__COUNT, (int)s);
}

int fq_convo_state_parse(const char *s) { return parse(fq_convo_state_names, FQ_CONVO__COUNT, s); }

bool fq_convo_state_drafting(int s)
{
    return (s >= FQ_CONVO_ASK_CATEGORY && s <= FQ_CONVO_CONFIRM) || s == FQ_CONVO_ASK_SAFETY ||
           s == FQ_CONVO_ASK_SUPPLEMENT;
}

const char *fq_survey_status_name(enum fq_survey_status s)
{
    return name_of(fq_survey_status_names, FQ_SURVEY__COUNT, (int)s);
}

int fq_survey_status_parse(const char *s)
{
    return parse(fq_survey_status_names, FQ_SURVEY__COUNT, s);
}

const char *fq_timer_kind_name(enum fq_timer_kind k)
{
    return name_of(fq_timer_kind_names, FQ_TIMER__COUNT, (int)k);
}

int fq_timer_kind_parse(const char *s) { return parse(fq_timer_kind_names, FQ_TIMER__COUNT, s); }

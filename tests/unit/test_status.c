/* The domain model's states (common/status.c): every name is the text the database already
 * holds (cases.status, conversations.state, surveys.status, timers.kind), so a database written
 * before the enums reads back the same; names and enums round-trip; unknown text is -1. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/status.h"
#include "handlers/report.h"

/* The stored texts, in enum order, as the schema and earlier versions wrote them. */
static const char *const case_texts[] = {"unassigned", "assigned", "accepted", "in_progress",
                                         "resolved",   "closed",   "reopened", "cancelled",
                                         "paused"};
static const char *const convo_texts[] = {"idle",        "ask_category", "ask_location",
                                          "ask_description", "ask_contact", "confirm",
                                          "submitted",   "survey", "ask_safety",
                                          "ask_supplement"};
static const char *const survey_texts[] = {"scheduled", "sent",        "asked",    "comment",
                                           "answered",  "no_response", "cancelled"};
static const char *const timer_texts[] = {
    "accept_remind",         "accept_escalate", "resolve_overdue", "survey",
    "survey_remind",         "survey_expire",   "relapse_check",   "survey_relapse_remind",
    "survey_relapse_expire", "digest",          "report_monthly"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void same_texts(const char *what, const char *const *names, const char *const *texts,
                       size_t n, const char *(*name)(int), int (*parse)(const char *))
{
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(names[i], texts[i], "%s %zu", what, i);
        cr_assert_str_eq(name((int)i), texts[i], "%s %zu", what, i);
        cr_assert_eq(parse(texts[i]), (int)i, "%s %s", what, texts[i]);
    }
    cr_assert_null(names[n], "%s: the table is not NULL-terminated after %zu names", what, n);
    cr_assert_str_eq(name((int)n), "", "%s: a value past the end has a name", what);
    cr_assert_str_eq(name(-1), "", "%s: -1 has a name", what);
    cr_assert_eq(parse(NULL), -1, "%s", what);
    cr_assert_eq(parse(""), -1, "%s", what);
    cr_assert_eq(parse("no_such_state"), -1, "%s", what);
    cr_assert_eq(parse("Resolved"), -1, "%s: names are case-sensitive", what);
}

static const char *case_name(int s) { return fq_case_status_name((enum fq_case_status)s); }
static const char *convo_name(int s) { return fq_convo_state_name((enum fq_convo_state)s); }
static const char *survey_name(int s) { return fq_survey_status_name((enum fq_survey_status)s); }
static const char *timer_name(int s) { return fq_timer_kind_name((enum fq_timer_kind)s); }

Test(status, case_statuses_are_the_stored_texts)
{
    cr_assert_eq(N(case_texts), FQ_CASE__COUNT);
    same_texts("case", fq_case_status_names, case_texts, N(case_texts), case_name,
               fq_case_status_parse);
}

Test(status, conversation_states_are_the_stored_texts)
{
    cr_assert_eq(N(convo_texts), FQ_CONVO__COUNT);
    same_texts("conversation", fq_convo_state_names, convo_texts, N(convo_texts), convo_name,
               fq_convo_state_parse);
}

Test(status, survey_statuses_are_the_stored_texts)
{
    cr_assert_eq(N(survey_texts), FQ_SURVEY__COUNT);
    same_texts("survey", fq_survey_status_names, survey_texts, N(survey_texts), survey_name,
               fq_survey_status_parse);
}

Test(status, timer_kinds_are_the_stored_texts)
{
    cr_assert_eq(N(timer_texts), FQ_TIMER__COUNT);
    same_texts("timer", fq_timer_kind_names, timer_texts, N(timer_texts), timer_name,
               fq_timer_kind_parse);
}

Test(status, finished_and_drafting)
{
    for (int s = -1; s <= FQ_CASE__COUNT; s++) {
        bool want = s == FQ_CASE_RESOLVED || s == FQ_CASE_CLOSED || s == FQ_CASE_CANCELLED;
        cr_assert_eq(fq_case_status_finished(s), want, "%d", s);
    }
    for (int s = -1; s <= FQ_CONVO__COUNT; s++) {
        bool want = (s >= FQ_CONVO_ASK_CATEGORY && s <= FQ_CONVO_CONFIRM) ||
                    s == FQ_CONVO_ASK_SAFETY || s == FQ_CONVO_ASK_SUPPLEMENT;
        cr_assert_eq(fq_convo_state_drafting(s), want, "%d", s);
    }
}

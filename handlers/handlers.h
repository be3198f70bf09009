/* handlers.h: the pure decisions of fengqiao. A handler gets a message and the stored state
 * (through store/ functions, inside the core's open transaction) and fills a struct fq_actions:
 * the answer to the sender, and the events, pushes and alerts to deliver after commit. No
 * sockets, no SQL text, no JSON or XML here: bot/ turns actions into payloads. */
#ifndef FQ_HANDLERS_H
#define FQ_HANDLERS_H

#include "../common/config.h"
#include "../common/fq.h"
#include "../common/roster_model.h"
#include "../common/sla.h"
#include "../common/status.h"
#include "../store/store.h"
#include "i18n.h"

/* Everything a handler may read. Borrowed for the call. */
struct fq_ctx {
    struct store *store;
    const struct fq_config *cfg;
    const struct fq_lexicon *lex;
    const struct fq_roster *roster;  /* never NULL (may be empty) */
    int64_t now;                     /* unix seconds of this batch */
};

/* ---- actions ------------------------------------------------------------------------------- */
struct fq_option {
    char key[8];                     /* "1", "2", ... */
    char *label;
};

/* The answer to the sender (docs/contract.md 3.1 200 body, or an error). */
struct fq_answer {
    int status;                      /* 200, or an HTTP error status */
    const char *error;               /* error code when status != 200 (static string) */
    char **replies;
    size_t n_replies;
    const char *state;               /* conversation state (static string), NULL: none */
    struct fq_option *options;
    size_t n_options;
    char *case_no;                   /* NULL: no case concerned */
};

enum fq_action_kind {
    FQ_ACT_EVENT = 0,   /* {p}/events/cases/{case_no}: type, the case */
    FQ_ACT_ASSIGN,      /* {p}/mediators/{target}/assignments: action, the case */
    FQ_ACT_ALERT,       /* {p}/alerts/{target}: the case, reason */
    FQ_ACT_OUTBOUND,    /* {p}/outbound/{channel}/{user}: the answer (gateway channels) */
    FQ_ACT_MED_REPLY,   /* {p}/mediators/{target}/replies: the answer to an MQTT command */
    FQ_ACT_NOTIFY,      /* a text for a mediator or supervisor (target = mediator id) */
    FQ_ACT_REPORT,      /* {p}/reports/{target}/monthly, retained: the report of month .text
                         * ("YYYY-MM") for org node .target (report_on_timer) */
};

struct fq_action {
    enum fq_action_kind kind;
    char *type;                      /* event type, assignment action, alert reason */
    char *target;                    /* mediator id, org id, or NULL */
    int64_t case_id;                 /* 0 when none */
    char *text;                      /* NOTIFY text, MED_REPLY text, or NULL */
    char *request_id;                /* MED_REPLY */
    char *data;                      /* optional JSON object text merged into the payload */
    bool ok;                         /* MED_REPLY outcome */
};

/* Owned by the caller: actions_init / actions_cleanup. On allocation failure .oom is set and
 * later additions are ignored; the core then rolls the message back. */
struct fq_actions {
    struct fq_answer answer;
    struct fq_action *v;
    size_t n, cap;
    bool oom;
};

void actions_init(struct fq_actions *a);
void actions_cleanup(struct fq_actions *a);
void answer_reply(struct fq_actions *a, const char *text);          /* copies */
void answer_reply_take(struct fq_actions *a, char *text);            /* takes ownership */
void answer_option(struct fq_actions *a, const char *key, const char *label);
void answer_set_case(struct fq_actions *a, const char *case_no);
void answer_error(struct fq_actions *a, int status, const char *code, const char *text);
void actions_event(struct fq_actions *a, const char *type, int64_t case_id);
void actions_assign(struct fq_actions *a, const char *action, const char *mediator_id,
                    int64_t case_id);
void actions_alert(struct fq_actions *a, const char *reason, const char *org_id, int64_t case_id);
void actions_notify(struct fq_actions *a, const char *mediator_id, int64_t case_id,
                    const char *text);
void actions_outbound(struct fq_actions *a);
/* A supervisor's digest: a NOTIFY of type "digest" with its figures as JSON (data, copied). */
void actions_digest(struct fq_actions *a, const char *mediator_id, const char *text,
                    const char *data);
/* The retained monthly report of org_id for month ("YYYY-MM"). */
void actions_report(struct fq_actions *a, const char *org_id, const char *month);
void actions_med_reply(struct fq_actions *a, const char *mediator_id, const char *request_id,
                       bool ok, const char *text);

/* ---- entry points -------------------------------------------------------------------------- */
/* handlers/dispatch.c: the roster index of the mediator who sent m, or -1 for a resident (or
 * nobody), decided by the path m came by (m->source, m->kind, m->channel): a chat_user on the
 * signed webhook, a wecom_userid on the WeCom app, the topic's id on {p}/mediators/{id}/commands,
 * an explicit roster "gateways" binding on {p}/inbound/{channel}; never on 微信客服. */
int dispatch_sender(const struct fq_roster *r, const struct fq_msg *m);
/* A chat message (webhook, MQTT inbound, WeCom): a mediator's command when dispatch_sender
 * names a mediator, else the resident's conversation. */
enum fq_err handle_chat(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out);

/* handlers/intake.c: the resident's conversation (docs/contract.md 6). */
enum fq_err intake_on_message(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out);

/* handlers/classify.c: what can be read from a resident's text. */
struct fq_classified {
    int category;                    /* index in fq_categories, -1 when none found */
    int org;                         /* index in roster->org of the most specific place named, -1 */
    int people;                      /* largest number of people mentioned, 0 when none */
    bool danger;                     /* a danger word was found */
    const char *danger_word;         /* borrowed from the lexicon, or NULL */
    char *phone;                     /* a phone number found in the text (caller frees), or NULL */
    bool substantive;                /* more than greetings/filler: usable as a description */
};
/* Keeps the text masks' probes of every place name and alias in r (org[i].probes), so
 * classify_text does not make them for each message. Run on a roster the core will classify
 * with; without memory for them they are made when needed, with the same results. */
void classify_roster_probes(struct fq_roster *r);
void classify_text(const struct fq_lexicon *lx, const struct fq_roster *r, const char *text,
                   struct fq_classified *out);
void classify_cleanup(struct fq_classified *c);
/* A numbered choice: "1" "１" "一" "①" (also "14", "十四", "⑭"): the number, or -1. Surrounding
 * spaces (ASCII and full-width) and a trailing "." or "、" are ignored. */
int classify_choice(const char *text);
/* A copy of text with full-width ASCII mapped to ASCII, ideographic spaces to spaces, and
 * leading/trailing whitespace and punctuation trimmed. Caller frees. */
char *classify_normalize(const char *text);
/* Severity from the draft's facts (docs/contract.md 6.7), without the repeat-report rule. */
int classify_severity(const char *category, int people, bool danger);

/* handlers/cases.c: opening a case from a finished report. */
struct fq_report {
    const char *channel, *user, *name, *contact, *locale;
    const char *category;            /* category id */
    const char *org_id;              /* place node id, may be NULL */
    const char *place_text;
    const char *description;
    int people;
    bool danger;
};
/* Grades, routes, inserts the case, its events, the assignment, alerts and timers. On success
 * *created holds the case (caller cleans up with case_cleanup), and the resident's receipt is
 * appended to out's replies. */
enum fq_err case_open(struct fq_ctx *c, const struct fq_report *r, struct fq_actions *out,
                      struct fq_case *created);

/* handlers/route.c (docs/contract.md 7.1). */
struct fq_route_pick {
    int node;                        /* the handling node (roster index), -1 when none */
    int mediator;                    /* roster index of the chosen mediator, -1 when none */
    bool by_route;                   /* chosen by a category route */
};
/* Picks the handling node and mediator for a case of this category and severity that happened
 * at place (roster index, -1 when unknown: then the first root is used). */
enum fq_err route_pick(struct fq_ctx *c, const char *category, int severity, int place,
                       struct fq_route_pick *out);

/* handlers/mediator.c: a mediator's chat text (docs/contract.md 7.2 commands: 接单 <case>, 进展 <case>
 * <note>, ...); `mediator` is the roster index of the sender. */
enum fq_err mediator_on_chat(struct fq_ctx *c, const struct fq_msg *m, int mediator,
                             struct fq_actions *out);
/* A mediator command from MQTT {p}/mediators/{id}/commands (FQ_MSG_COMMAND): the outcome goes
 * to out as an FQ_ACT_MED_REPLY action (and the answer). */
enum fq_err mediator_on_command(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out);

/* handlers/timers.c: a due timer row (already marked fired by the core, so it fires once):
 * reminders, 督办, overdue notices (docs/contract.md 7.4); survey kinds are handed to survey.c. */
enum fq_err timers_fire(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out);

/* handlers/survey.c (docs/contract.md 8.1): schedule the 回访 after a resolution, fire survey timers,
 * and take a resident's answer while their conversation is in state "survey". */
enum fq_err survey_schedule(struct fq_ctx *c, const struct fq_case *k, struct fq_actions *out);
enum fq_err survey_on_timer(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out);
enum fq_err survey_on_message(struct fq_ctx *c, const struct fq_msg *m, struct fq_convo *cv,
                              struct fq_actions *out);

/* handlers/roster.c */
enum fq_err roster_import(struct fq_ctx *c, struct fq_roster *r, struct fq_actions *out);
/* Stores a validated roster and bumps its generation, so a running core notices a roster
 * imported by another process (the CLI) and reloads it. Inside the caller's transaction. */
enum fq_err roster_store(struct store *s, const struct fq_roster *r);
/* The stored roster generation (caller frees), NULL when none was ever imported. */
char *roster_generation(struct store *s);

/* ---- lifecycle timers, absence, danger alerts, digests (handlers/timers.c) ----------------- */
/* Supervisors (active, "supervisor": true) at org node `node` and each ancestor, nearest first:
 * their roster indexes into out (at most max). Returns how many. */
size_t timers_supervisors(const struct fq_roster *r, int node, int *out, size_t max);
/* Absence ("active": false, docs/contract.md 5.1 and 7.4): every case of an inactive mediator still
 * waiting to be accepted (assigned, reopened) is routed again from its handling node (this node or
 * above) and transferred by the system (event "transferred"). Idempotent. *moved (may be NULL):
 * how many. */
enum fq_err timers_absence(struct fq_ctx *c, struct fq_actions *out, size_t *moved);
/* Every active supervisor has exactly one pending "digest" timer (kv tm_digest:<id> holds its
 * id); adds the missing ones. Idempotent. */
enum fq_err timers_ensure_digests(struct fq_ctx *c);
/* timers_absence then timers_ensure_digests: run by the core after a roster change and at
 * start-up. */
enum fq_err timers_housekeep(struct fq_ctx *c, struct fq_actions *out);
/* A resident's message with danger words: when they have an open case (the newest), the case
 * becomes red (event "progress" {"severity":"red"}), an alert "danger" goes to its place node
 * and every ancestor, and its mediator and the supervisors are notified. Nothing when no case
 * is open. */
enum fq_err timers_on_danger(struct fq_ctx *c, const char *channel, const char *user,
                             struct fq_actions *out);
/* The next digest time after now: 08:00 local the next day (daily) or the next Monday. */
int64_t timers_digest_next(int64_t now, bool daily);
/* The label of metrics_timer_fired for a timer kind ("reminder", "escalation", ...). */
const char *timers_metric_label(const char *kind);

/* ---- surveys and reports (handlers/survey.c, handlers/report.c) --------------------------- */
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
/* A "report_monthly" timer: the previous month's report for each supervisor's node (retained
 * MQTT report and a notify text), then the next month's timer. */
enum fq_err report_on_timer(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out);
/* Makes sure one "report_monthly" timer is pending (due at the start of next month); its id is
 * kept in kv "rp_monthly_timer". Called by timers_housekeep at start-up. */
enum fq_err report_ensure_timer(struct fq_ctx *c);

#endif

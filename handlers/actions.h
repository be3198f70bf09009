/* actions.h: what a handler reads (struct fq_ctx) and the list it fills (struct fq_actions,
 * handlers/actions.c). A handler gets a message and the stored state (through store/ functions,
 * inside the core's open transaction) and fills the answer to the sender and the events, pushes
 * and alerts to deliver after commit. No sockets, no SQL text, no JSON or XML in handlers/: bot/
 * turns actions into payloads. */
#ifndef FQ_ACTIONS_H
#define FQ_ACTIONS_H

#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/i18n.h"

struct store;
struct fq_config;
struct fq_lexicon;
struct fq_roster;
struct danger_screen;

/* Everything a handler may read. Borrowed for the call. */
struct fq_ctx {
    struct store *store;
    const struct fq_config *cfg;
    const struct fq_lexicon *lex;
    const struct fq_roster *roster;  /* never NULL (may be empty) */
    const struct danger_screen *danger; /* handlers/danger.h; NULL: the lexicon's words only */
    int64_t now;                     /* unix seconds of this batch */
};

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

#endif

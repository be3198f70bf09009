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
#include "store/case_table.h"

struct store;
struct fq_config;
struct fq_lexicon;
struct fq_roster;
struct rp_monthly;
struct danger_screen;
struct classify_model;

/* Everything a handler may read. Borrowed for the call. */
struct fq_ctx {
    struct store *store;
    const struct fq_config *cfg;
    const struct fq_lexicon *lex;
    const struct fq_roster *roster;  /* never NULL (may be empty) */
    const struct danger_screen *danger; /* handlers/danger.h; NULL: the lexicon's words only */
    const struct classify_model *catm;  /* handlers/classify.h; NULL: category by keywords only */
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
    FQ_ACT_EVENT = 0,   /* {p}/events/cases/{case_no}: type, the case; .target the actor and
                         * .text the note when the event names them */
    FQ_ACT_ASSIGN,      /* {p}/mediators/{target}/assignments: action, the case; .text a
                         * note or NULL */
    FQ_ACT_ALERT,       /* {p}/alerts/{target}: the case, reason */
    FQ_ACT_OUTBOUND,    /* {p}/outbound/{channel}/{user}: the answer (gateway channels); .text
                         * the channel and .target the user when addressed explicitly (a survey
                         * question), both NULL: the sender of the message */
    FQ_ACT_MED_REPLY,   /* {p}/mediators/{target}/replies: the answer to an MQTT command */
    FQ_ACT_NOTIFY,      /* a text for a mediator or supervisor (target = mediator id) */
    FQ_ACT_REPORT,      /* {p}/reports/{target}/monthly, retained: .report, the report of
                         * month .text ("YYYY-MM") for org node .target (report_on_timer) */
};

struct fq_action {
    enum fq_action_kind kind;
    char *type;                      /* event type, assignment action, alert reason */
    char *target;                    /* mediator id, org id, or NULL */
    int64_t case_id;                 /* 0 when none; else its snapshot is in the list's .cases */
    char *text;                      /* NOTIFY text, MED_REPLY text, OUTBOUND channel, or NULL */
    char *request_id;                /* MED_REPLY */
    char *data;                      /* optional JSON object text merged into the payload */
    struct rp_monthly *report;       /* REPORT: the computed report (owned) */
    bool ok;                         /* MED_REPLY outcome */
};

/* Owned by the caller: actions_init / actions_cleanup. On allocation failure .oom is set and
 * later additions are ignored; the core then rolls the message back.
 *
 * Every action that names a case carries it: each addition with a case refreshes that case's
 * snapshot in .cases (one per case id, in the state the handler last handed over), so what is
 * published is the case as this transaction left it, without reading it back from the store. A
 * handler adds its actions after its last change to the case (as the store has it). The refresh
 * keeps the strings that did not change, so a case named by several actions is copied once. */
struct fq_actions {
    struct fq_answer answer;
    struct fq_action *v;
    size_t n, cap;
    struct fq_case *cases;           /* the snapshots, owned */
    size_t n_cases, cap_cases;
    bool oom;
};

void actions_init(struct fq_actions *a);
void actions_cleanup(struct fq_actions *a);
void answer_reply(struct fq_actions *a, const char *text);          /* copies */
void answer_reply_take(struct fq_actions *a, char *text);            /* takes ownership */
void answer_option(struct fq_actions *a, const char *key, const char *label);
void answer_set_case(struct fq_actions *a, const char *case_no);
void answer_error(struct fq_actions *a, int status, const char *code, const char *text);
/* k: the case the action concerns, as the handler left it (copied); NULL: none. */
void actions_event(struct fq_actions *a, const char *type, const struct fq_case *k);
void actions_assign(struct fq_actions *a, const char *action, const char *mediator_id,
                    const struct fq_case *k);
/* An event that says who caused it and with what words (both copied, may be NULL): published
 * with "actor" and "note" (a resident's supplement, docs/contract.md 6.8). */
void actions_event_by(struct fq_actions *a, const char *type, const struct fq_case *k,
                      const char *actor, const char *note);
/* An assignment message with a note (copied) for the mediator: the action "supplement". */
void actions_assign_note(struct fq_actions *a, const char *action, const char *mediator_id,
                         const struct fq_case *k, const char *note);
void actions_alert(struct fq_actions *a, const char *reason, const char *org_id,
                   const struct fq_case *k);
void actions_notify(struct fq_actions *a, const char *mediator_id, const struct fq_case *k,
                    const char *text);
/* The answer to the sender of the message. */
void actions_outbound(struct fq_actions *a);
/* The answer to the resident of k on channel/user (copied), e.g. a survey question. */
void actions_outbound_to(struct fq_actions *a, const char *channel, const char *user,
                         const struct fq_case *k);
/* A supervisor's digest: a NOTIFY of type "digest" with its figures as JSON (data, copied). */
void actions_digest(struct fq_actions *a, const char *mediator_id, const char *text,
                    const char *data);
/* The retained monthly report of org_id for month ("YYYY-MM"): takes rep (freed with the
 * list, or here when it cannot be added). */
void actions_report(struct fq_actions *a, const char *org_id, const char *month,
                    struct rp_monthly *rep);
void actions_med_reply(struct fq_actions *a, const char *mediator_id, const char *request_id,
                       bool ok, const char *text, const struct fq_case *k);
/* The snapshot of case id carried by the list, NULL when no action named it. */
const struct fq_case *actions_case(const struct fq_actions *a, int64_t case_id);

#endif

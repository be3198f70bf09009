/* lifecycle.h: the case state machine (docs/contract.md 7.3). One transition table says which
 * command is allowed in which status, what status follows and which event (docs/contract.md 4.3)
 * it emits; a case's status changes only through a row of it. One command table says what each
 * command is called, what a mediator writes after the case number and whether a mediator may
 * send it; its effect function does the rest (timestamps, timers, reassignment).
 *
 * No user-facing text here: lifecycle_apply reports what happened, or why it refused, in a
 * struct lc_result, and handlers/mediator.c turns that into words through i18n. */
#ifndef FQ_LIFECYCLE_H
#define FQ_LIFECYCLE_H

#include "common/fq.h"
#include "common/status.h"
#include "handlers/actions.h"
#include "store/case_table.h"

/* What can happen to a case. Mediator commands first, then the system's own, which are never
 * accepted from a mediator: LC_REOPEN belongs to the survey module (a "not satisfied" answer),
 * LC_ASSIGN gives a new case its first mediator (handlers/cases.c), LC_REROUTE moves a case to
 * the mediator routing picks at a node (case_reassign_at). */
enum lc_cmd {
    LC_ACCEPT = 0,       /* 接单 */
    LC_PROGRESS,         /* 进展 */
    LC_ATTEMPT_FAILED,   /* 未成 */
    LC_RESOLVE,          /* 调结 */
    LC_CLOSE,            /* 终止 */
    LC_ESCALATE,         /* 上报 */
    LC_TRANSFER,         /* 转办 */
    LC_SURVEY,           /* 回访: a survey answer taken by phone or visit */
    LC_PAUSE,            /* 暂停: the clock stops (awaiting a party, cooling-off, appraisal) */
    LC_RESUME,           /* 恢复: the clock runs again, the deadlines moved by the pause */
    LC_RAISE,            /* 升级: blue → yellow → red by hand, routed again for it */
    LC_REOPEN,           /* system only */
    LC_ASSIGN,           /* system only */
    LC_REROUTE,          /* system only */
    LC__CMD_COUNT
};

/* One row of the table: in `status`, `cmd` leads to `next` and emits `event`. A command whose
 * effect moves the case elsewhere (an attempt that reaches the tier limit) says so in the
 * result; the row gives the ordinary outcome. */
struct lc_transition {
    enum fq_case_status status;
    enum lc_cmd cmd;
    enum fq_case_status next;
    const char *event;
};

extern const struct lc_transition lifecycle_table[];
extern const size_t lifecycle_table_len;

/* The row for (status, cmd), or NULL when the command is not allowed in that status (or the
 * status is out of range). */
const struct lc_transition *lifecycle_find(enum fq_case_status status, enum lc_cmd cmd);
/* Moves k along the row for (k->status, cmd): k->status becomes the row's next status. Returns
 * the row, or NULL (k unchanged) when the table has none. The only writer of a case's status:
 * lifecycle_apply's effects, case_reassign_at and case_open (LC_ASSIGN) all go through it. */
const struct lc_transition *lifecycle_enter(struct fq_case *k, enum lc_cmd cmd);

/* What a mediator writes after the case number. */
enum lc_args {
    LC_ARGS_NOTE = 0,    /* an optional note */
    LC_ARGS_REASON,      /* a close reason, then a note */
    LC_ARGS_TARGET,      /* the mediator to transfer to, then a note */
    LC_ARGS_ANSWER,      /* a survey answer 1..4, then a comment */
    LC_ARGS_PAUSE,       /* a pause reason, then a note */
};

/* One row per command, indexed by enum lc_cmd. The name is the wire name (the MQTT "command"
 * value, docs/contract.md 4.4) and names the command's locale entries: the keyword list
 * keywords.cmd_<name> (its chat words), messages med_usage_<name>, med_cmd_<name>,
 * med_ok_<name> and med_help_<name> (its line of the help text, handlers/mediator.h). A command
 * that is not a mediator's is refused from a mediator. A card command is also a button of the
 * assignment card where a channel shows one (bot/chan/wecom: key "<name>:<case_no>", label
 * wc_btn_<name>, the card's answer wc_card_ok_<name>). A new mediator command is a row here,
 * its transitions above, its effect function in lifecycle.c and its locale entries. */
struct lc_command {
    const char *name;
    enum lc_args args;
    bool mediator;
    bool card;
};
extern const struct lc_command lifecycle_commands[LC__CMD_COUNT];

/* The wire name of a command ("accept", "attempt_failed", ...), and back (-1 when unknown;
 * system commands are parsed too: callers that take mediator input must refuse those whose
 * row says they are not a mediator's). */
const char *lifecycle_cmd_name(enum lc_cmd cmd);
int lifecycle_cmd_parse(const char *name);

/* Why a command was refused. LC_DONE: it was applied. */
enum lc_refusal {
    LC_DONE = 0,
    LC_NOT_YOURS,        /* the case is not the sender's */
    LC_BAD_STATE,        /* the status does not allow the command */
    LC_TOP_TIER,         /* escalate: no node above the handling node */
    LC_NO_MEDIATOR,      /* escalate: nobody active at the parent node or above */
    LC_UNKNOWN_TARGET,   /* transfer: no such mediator in the roster */
    LC_TARGET_INACTIVE,  /* transfer: the mediator is marked inactive */
    LC_TARGET_SELF,      /* transfer: to the case's own mediator */
    LC_BAD_REASON,       /* close: reason not one of litigation petition withdrawn other */
    LC_BAD_ANSWER,       /* survey: answer not 1..4 */
    LC_SYSTEM_ONLY,      /* the command is not a mediator's */
    LC_BAD_PAUSE_REASON, /* pause: reason not one of party cooling_off appraisal */
    LC_NO_RAISE_REASON,  /* raise: no reason given */
    LC_ALREADY_RED,      /* raise: the case is red already */
};

/* A command and its arguments; every pointer borrowed for the call. */
struct lc_request {
    enum lc_cmd cmd;
    int actor;               /* roster index of the sender; -1 for the system */
    const char *note;        /* may be NULL */
    const char *reason;      /* LC_CLOSE: litigation petition withdrawn other;
                              * LC_PAUSE: party cooling_off appraisal */
    const char *to;          /* LC_TRANSFER: the target mediator id */
    int answer;              /* LC_SURVEY: 1..4 */
};

/* What lifecycle_apply did. After LC_DONE, node/mediator/attempts describe the case as it is
 * now. After a refusal they describe it as it was, except: LC_NO_MEDIATOR sets node to the
 * node that was tried, LC_TARGET_INACTIVE and LC_TARGET_SELF set mediator to the target. */
struct lc_result {
    enum lc_refusal refusal;
    const struct lc_transition *row;   /* the row applied (NULL when refused before the lookup) */
    bool moved;              /* the case changed hands (escalate, transfer, tier limit reached) */
    bool top_reached;        /* attempt_failed reached the limit but could not move up */
    int node;                /* roster index of the handling node after the command, -1 unknown */
    int mediator;            /* roster index of the mediator after the command, -1 none */
    int attempts;            /* failed attempts at the tier after the command */
    int64_t paused;          /* LC_RESUME: the seconds this pause lasted */
};

/* Applies rq to case k (a case read from the store inside the core's transaction). On LC_DONE
 * the case row, its history, its timers and out's events and assignments are written and *k
 * holds the new state. On a refusal nothing is written and *k is unchanged. Returns FQ_OK
 * whether applied or refused (see res->refusal), or a store error / FQ_ENOMEM, after which the
 * core rolls the message back. */
enum fq_err lifecycle_apply(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                            struct lc_result *res, struct fq_actions *out);

/* 三三调处: moves case k to the best active mediator at org node `node` (roster index) or
 * above, as route_pick chooses (category routes first, then the fewest open cases, then the
 * least recently assigned; the current mediator is not excluded), through the LC_REROUTE row
 * of k's status (FQ_EINVAL, writing nothing, when it has none). Writes status "assigned",
 * the new handling node and tier, attempts 0, escalations+1, fresh accept timers (the old ones
 * cancelled), the event "escalated" (actor: a mediator id or "system", note may be NULL) and
 * the assignment actions "unassigned" (old mediator) and "assigned" (new one).
 * Returns FQ_ENOTFOUND, writing nothing, when no mediator is available; *picked (may be NULL)
 * receives the chosen mediator's roster index. */
enum fq_err case_reassign_at(struct fq_ctx *c, struct fq_case *k, int node, const char *actor,
                             const char *note, struct fq_actions *out, int *picked);

#endif

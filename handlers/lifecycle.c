/* lifecycle.c: the case state machine (docs/contract.md 7.3) behind every mediator command,
 * whatever channel it came from (chat text, WeCom card button, MQTT).
 *
 * Design: what is allowed is data, not code. lifecycle_table lists every (status, command)
 * pair that is allowed, with the status that follows and the event (docs/contract.md 4.3) it emits;
 * a pair not in the table is refused, and the status is only ever written by lifecycle_enter
 * from a row. lifecycle_commands names each command and says who may send it. What a command
 * does besides the status change (timestamps, timers, moving the case to another mediator)
 * lives in one effect function per command, chosen from `effects[]` by the command, so no code
 * branches on the status.
 *
 * Every check that can refuse (ownership, the table, the arguments, whether anyone can take an
 * escalated case) runs before the first write, so a refusal changes nothing and the caller needs
 * no rollback. Store errors are returned as they are; the core then rolls the message back.
 *
 * Event details: the close reason goes into case_events.data as a one-key JSON object; the
 * value comes from a closed set checked here (a reason id), so the text is written with a
 * format string, without a JSON library and without escaping. A survey answer (回访) is
 * recorded by handlers/survey.c (survey_record_answer), the one place that handles answers;
 * a resolution schedules the survey there too (survey_schedule). */
#include "handlers/lifecycle.h"
#include "handlers/actions.h"
#include "handlers/route.h"
#include "handlers/survey.h"
#include "store/case_table.h"
#include "store/timer_table.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "common/sla.h"
#include "common/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A mediator must accept before anything else; escalate and transfer are also allowed before
 * accepting (the case is not theirs to handle). Nothing is allowed in unassigned (nobody owns
 * it), closed or cancelled; a resolved case only takes survey answers (and a system reopen). */
const struct lc_transition lifecycle_table[] = {
    {FQ_CASE_ASSIGNED, LC_ACCEPT, FQ_CASE_ACCEPTED, "accepted"},
    {FQ_CASE_ASSIGNED, LC_ESCALATE, FQ_CASE_ASSIGNED, "escalated"},
    {FQ_CASE_ASSIGNED, LC_TRANSFER, FQ_CASE_ASSIGNED, "transferred"},

    {FQ_CASE_REOPENED, LC_ACCEPT, FQ_CASE_ACCEPTED, "accepted"},
    {FQ_CASE_REOPENED, LC_ESCALATE, FQ_CASE_ASSIGNED, "escalated"},
    {FQ_CASE_REOPENED, LC_TRANSFER, FQ_CASE_ASSIGNED, "transferred"},

    {FQ_CASE_ACCEPTED, LC_PROGRESS, FQ_CASE_IN_PROGRESS, "progress"},
    {FQ_CASE_ACCEPTED, LC_ATTEMPT_FAILED, FQ_CASE_IN_PROGRESS, "attempt_failed"},
    {FQ_CASE_ACCEPTED, LC_RESOLVE, FQ_CASE_RESOLVED, "resolved"},
    {FQ_CASE_ACCEPTED, LC_CLOSE, FQ_CASE_CLOSED, "closed"},
    {FQ_CASE_ACCEPTED, LC_ESCALATE, FQ_CASE_ASSIGNED, "escalated"},
    {FQ_CASE_ACCEPTED, LC_TRANSFER, FQ_CASE_ASSIGNED, "transferred"},

    {FQ_CASE_IN_PROGRESS, LC_PROGRESS, FQ_CASE_IN_PROGRESS, "progress"},
    {FQ_CASE_IN_PROGRESS, LC_ATTEMPT_FAILED, FQ_CASE_IN_PROGRESS, "attempt_failed"},
    {FQ_CASE_IN_PROGRESS, LC_RESOLVE, FQ_CASE_RESOLVED, "resolved"},
    {FQ_CASE_IN_PROGRESS, LC_CLOSE, FQ_CASE_CLOSED, "closed"},
    {FQ_CASE_IN_PROGRESS, LC_ESCALATE, FQ_CASE_ASSIGNED, "escalated"},
    {FQ_CASE_IN_PROGRESS, LC_TRANSFER, FQ_CASE_ASSIGNED, "transferred"},

    /* the clock stops while a party is awaited, in a cooling-off period or an appraisal; a
     * paused case can also be closed or raised, and resumes where it was */
    {FQ_CASE_ACCEPTED, LC_PAUSE, FQ_CASE_PAUSED, "paused"},
    {FQ_CASE_IN_PROGRESS, LC_PAUSE, FQ_CASE_PAUSED, "paused"},
    {FQ_CASE_PAUSED, LC_RESUME, FQ_CASE_IN_PROGRESS, "resumed"},
    {FQ_CASE_PAUSED, LC_CLOSE, FQ_CASE_CLOSED, "closed"},

    /* a severity raised by hand routes the case again as the new severity would */
    {FQ_CASE_ASSIGNED, LC_RAISE, FQ_CASE_ASSIGNED, "raised"},
    {FQ_CASE_REOPENED, LC_RAISE, FQ_CASE_ASSIGNED, "raised"},
    {FQ_CASE_ACCEPTED, LC_RAISE, FQ_CASE_ASSIGNED, "raised"},
    {FQ_CASE_IN_PROGRESS, LC_RAISE, FQ_CASE_ASSIGNED, "raised"},
    {FQ_CASE_PAUSED, LC_RAISE, FQ_CASE_ASSIGNED, "raised"},

    {FQ_CASE_RESOLVED, LC_SURVEY, FQ_CASE_RESOLVED, "survey_answered"},
    {FQ_CASE_RESOLVED, LC_REOPEN, FQ_CASE_REOPENED, "reopened"},

    /* the system's: a new case gets its first mediator; routing moves an open case (the tier
     * used up, a relapse one tier up) */
    {FQ_CASE_UNASSIGNED, LC_ASSIGN, FQ_CASE_ASSIGNED, "assigned"},
    {FQ_CASE_UNASSIGNED, LC_REROUTE, FQ_CASE_ASSIGNED, "escalated"},
    {FQ_CASE_ASSIGNED, LC_REROUTE, FQ_CASE_ASSIGNED, "escalated"},
    {FQ_CASE_REOPENED, LC_REROUTE, FQ_CASE_ASSIGNED, "escalated"},
    {FQ_CASE_ACCEPTED, LC_REROUTE, FQ_CASE_ASSIGNED, "escalated"},
    {FQ_CASE_IN_PROGRESS, LC_REROUTE, FQ_CASE_ASSIGNED, "escalated"},
};
const size_t lifecycle_table_len = sizeof lifecycle_table / sizeof lifecycle_table[0];

const struct lc_command lifecycle_commands[LC__CMD_COUNT] = {
    [LC_ACCEPT] = {"accept", LC_ARGS_NOTE, true, true},
    [LC_PROGRESS] = {"progress", LC_ARGS_NOTE, true, false},
    [LC_ATTEMPT_FAILED] = {"attempt_failed", LC_ARGS_NOTE, true, false},
    [LC_RESOLVE] = {"resolve", LC_ARGS_NOTE, true, false},
    [LC_CLOSE] = {"close", LC_ARGS_REASON, true, false},
    [LC_ESCALATE] = {"escalate", LC_ARGS_NOTE, true, true},
    [LC_TRANSFER] = {"transfer", LC_ARGS_TARGET, true, false},
    [LC_SURVEY] = {"survey", LC_ARGS_ANSWER, true, false},
    [LC_PAUSE] = {"pause", LC_ARGS_PAUSE, true, false},
    [LC_RESUME] = {"resume", LC_ARGS_NOTE, true, false},
    [LC_RAISE] = {"raise", LC_ARGS_NOTE, true, false},
    [LC_REOPEN] = {"reopen", LC_ARGS_NOTE, false, false},
    [LC_ASSIGN] = {"assign", LC_ARGS_NOTE, false, false},
    [LC_REROUTE] = {"reroute", LC_ARGS_NOTE, false, false},
};

static const char *const close_reasons[] = {"litigation", "petition", "withdrawn", "other"};
static const char *const pause_reasons[] = {"party", "cooling_off", "appraisal"};

const char *lifecycle_cmd_name(enum lc_cmd cmd)
{
    return (int)cmd >= 0 && cmd < LC__CMD_COUNT ? lifecycle_commands[cmd].name : "";
}

int lifecycle_cmd_parse(const char *name)
{
    for (int i = 0; name && i < LC__CMD_COUNT; i++)
        if (strcmp(lifecycle_commands[i].name, name) == 0)
            return i;
    return -1;
}

const struct lc_transition *lifecycle_find(enum fq_case_status status, enum lc_cmd cmd)
{
    for (size_t i = 0; i < lifecycle_table_len; i++)
        if (lifecycle_table[i].cmd == cmd && lifecycle_table[i].status == status)
            return &lifecycle_table[i];
    return NULL;
}

const struct lc_transition *lifecycle_enter(struct fq_case *k, enum lc_cmd cmd)
{
    const struct lc_transition *row = lifecycle_find(k->status, cmd);
    if (row)
        k->status = row->next;
    return row;
}

/* ---- shared steps -------------------------------------------------------------------------- */
static const char *actor_id(const struct fq_ctx *c, const struct lc_request *rq)
{
    return rq->actor >= 0 ? c->roster->med[rq->actor].id : "system";
}

/* Appends the event to the history and queues its publication. */
static enum fq_err record(struct fq_ctx *c, const struct fq_case *k, const char *type,
                          const char *actor, const char *note, const char *data,
                          struct fq_actions *out)
{
    enum fq_err err = store_case_event_add(c->store, k->id, type, actor, note, data, c->now);
    if (!err)
        actions_event(out, type, k);
    return err;
}

static enum fq_err save(struct fq_ctx *c, struct fq_case *k)
{
    k->updated_at = c->now;
    return store_case_update(c->store, k);
}

/* The deadlines of a fresh assignment: a reminder at due_accept, 督办 at twice the SLA. */
static enum fq_err accept_timers(struct fq_ctx *c, struct fq_case *k)
{
    k->due_accept = sla_due(c->cfg, SLA_ACCEPT, k->severity, c->now);
    enum fq_err err;
    if ((err = store_timer_cancel(c->store, k->id, FQ_TIMER_ACCEPT_REMIND)) ||
        (err = store_timer_cancel(c->store, k->id, FQ_TIMER_ACCEPT_ESCALATE)) ||
        (err = store_timer_add(c->store, k->due_accept, FQ_TIMER_ACCEPT_REMIND, k->id, NULL,
                               NULL)) ||
        (err = store_timer_add(c->store, sla_due(c->cfg, SLA_SUPERVISE, k->severity, c->now),
                               FQ_TIMER_ACCEPT_ESCALATE, k->id, NULL, NULL)))
        return err;
    return FQ_OK;
}

/* Gives the case to mediator `med` at node `node` (roster indexes, both valid) along row (one
 * of k's status whose next status is assigned): fresh accept deadline, the row's event, and
 * the two assignment messages. */
static enum fq_err hand_over(struct fq_ctx *c, struct fq_case *k, int med, int node,
                             const struct lc_transition *row, const char *actor,
                             const char *note, bool escalation, struct fq_actions *out,
                             bool recorded)
{
    const struct fq_roster *r = c->roster;
    char *mid = fq_strdup(r->med[med].id), *oid = fq_strdup(r->org[node].id);
    if (!mid || !oid) {
        free(mid);
        free(oid);
        return FQ_ENOMEM;
    }
    bool same_node = fq_streq(k->org_id, oid);
    char *old = k->mediator_id;
    free(k->org_id);
    k->org_id = oid;
    k->mediator_id = mid;
    k->tier = (int)r->org[node].level;
    if (escalation) {
        k->attempts = 0;
        k->escalations++;
    } else if (!same_node) {
        k->attempts = 0;   /* attempts count per tier */
    }
    lifecycle_enter(k, row->cmd);
    k->assigned_at = c->now;
    k->accepted_at = 0;    /* the new mediator has to accept */

    enum fq_err err;
    if ((err = accept_timers(c, k)) || (err = save(c, k)) ||
        (!recorded && (err = record(c, k, row->event, actor, note, NULL, out))))
        goto out;
    if (old && strcmp(old, mid) != 0)
        actions_assign(out, "unassigned", old, k);
    actions_assign(out, "assigned", mid, k);
out:
    free(old);
    return err;
}

/* Moves k along row (next status assigned) to the mediator routing picks at node or above. */
static enum fq_err reassign(struct fq_ctx *c, struct fq_case *k, int node,
                            const struct lc_transition *row, const char *actor, const char *note,
                            struct fq_actions *out, int *picked)
{
    if (picked)
        *picked = -1;
    if (node < 0 || (size_t)node >= c->roster->n_org || !row || row->status != k->status)
        return FQ_EINVAL;
    /* route_pick for a blue case starting at a node above grid level takes the node itself as
     * the tier, then routes and territory upwards: exactly "this node or above". */
    struct fq_route_pick p;
    enum fq_err err = route_pick(c, k->category, FQ_SEV_BLUE, node, &p);
    if (err)
        return err;
    if (p.mediator < 0 || p.node < 0)
        return FQ_ENOTFOUND;
    if (picked)
        *picked = p.mediator;
    return hand_over(c, k, p.mediator, p.node, row, actor ? actor : "system", note, true, out,
                     false);
}

enum fq_err case_reassign_at(struct fq_ctx *c, struct fq_case *k, int node, const char *actor,
                             const char *note, struct fq_actions *out, int *picked)
{
    return reassign(c, k, node, lifecycle_find(k->status, LC_REROUTE), actor, note, out, picked);
}

/* The handling node of k, or the mediator's node when the case names none the roster knows. */
static int handling_node(const struct fq_ctx *c, const struct fq_case *k)
{
    int n = roster_org_index(c->roster, k->org_id);
    if (n < 0) {
        int m = roster_mediator_index(c->roster, k->mediator_id);
        n = m >= 0 ? c->roster->med[m].org : -1;
    }
    return n;
}

/* ---- effects: one per command; each checks its arguments before writing --------------------- */
typedef enum fq_err (*effect_fn)(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                                 struct lc_result *res, struct fq_actions *out);

static enum fq_err do_accept(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                             struct lc_result *res, struct fq_actions *out)
{
    enum fq_err err;
    lifecycle_enter(k, rq->cmd);
    k->accepted_at = c->now;
    if ((err = store_timer_cancel(c->store, k->id, FQ_TIMER_ACCEPT_REMIND)) ||
        (err = store_timer_cancel(c->store, k->id, FQ_TIMER_ACCEPT_ESCALATE)) ||
        (err = save(c, k)))
        return err;
    return record(c, k, res->row->event, actor_id(c, rq), rq->note, NULL, out);
}

static enum fq_err do_progress(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                               struct lc_result *res, struct fq_actions *out)
{
    lifecycle_enter(k, rq->cmd);
    enum fq_err err = save(c, k);
    return err ? err : record(c, k, res->row->event, actor_id(c, rq), rq->note, NULL, out);
}

static enum fq_err do_attempt_failed(struct fq_ctx *c, struct fq_case *k,
                                     const struct lc_request *rq, struct lc_result *res,
                                     struct fq_actions *out)
{
    lifecycle_enter(k, rq->cmd);
    k->attempts++;
    enum fq_err err = save(c, k);
    if (!err)
        err = record(c, k, res->row->event, actor_id(c, rq), rq->note, NULL, out);
    if (err)
        return err;
    int limit = c->cfg->sla_attempts_per_tier;
    if (limit <= 0 || k->attempts < limit)
        return FQ_OK;
    /* 三三调处: the tier is used up, the case goes one node up */
    int node = handling_node(c, k);
    int parent = node >= 0 ? c->roster->org[node].parent : -1;
    int picked = -1;
    err = parent >= 0 ? case_reassign_at(c, k, parent, actor_id(c, rq), NULL, out, &picked)
                      : FQ_ENOTFOUND;   /* the LC_REROUTE row of in_progress */
    if (err == FQ_ENOTFOUND) {
        res->top_reached = true;   /* the attempt stands; the mediator carries on */
        return FQ_OK;
    }
    if (!err)
        res->moved = true;
    return err;
}

static enum fq_err do_resolve(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                              struct lc_result *res, struct fq_actions *out)
{
    lifecycle_enter(k, rq->cmd);
    k->resolved_at = c->now;
    enum fq_err err;
    if ((err = store_timer_cancel(c->store, k->id, FQ_TIMER_RESOLVE_OVERDUE)) ||
        (err = save(c, k)) ||
        (err = record(c, k, res->row->event, actor_id(c, rq), rq->note, NULL, out)))
        return err;
    return survey_schedule(c, k, out);   /* 回访 and relapse check of this resolution */
}

static enum fq_err do_close(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                            struct lc_result *res, struct fq_actions *out)
{
    const char *reason = NULL;
    for (size_t i = 0; rq->reason && i < sizeof close_reasons / sizeof close_reasons[0]; i++)
        if (strcmp(rq->reason, close_reasons[i]) == 0)
            reason = close_reasons[i];
    if (!reason) {
        res->refusal = LC_BAD_REASON;
        return FQ_OK;
    }
    char *copy = fq_strdup(reason);
    if (!copy)
        return FQ_ENOMEM;
    free(k->close_reason);
    k->close_reason = copy;
    lifecycle_enter(k, rq->cmd);
    k->closed_at = c->now;
    struct fq_buf data;
    buf_init(&data);
    struct fq_jobj jo = jobj_begin(&data);
    jobj_str(&jo, "reason", reason);
    jobj_end(&jo);
    enum fq_err err = data.oom ? FQ_ENOMEM : FQ_OK;
    if (!err && !(err = store_timer_cancel_all(c->store, k->id)) && !(err = save(c, k)))
        err = record(c, k, res->row->event, actor_id(c, rq), rq->note, data.s, out);
    /* 调解不成: a case closed without agreement, withdrawn apart (docs/contract.md 4.3, the
     * report's "unresolved" of 8.2), is also announced as such */
    if (!err && strcmp(reason, "withdrawn") != 0)
        err = record(c, k, "unresolved", actor_id(c, rq), NULL, data.s, out);
    buf_cleanup(&data);
    return err;
}

static enum fq_err do_escalate(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                               struct lc_result *res, struct fq_actions *out)
{
    int node = handling_node(c, k);
    int parent = node >= 0 ? c->roster->org[node].parent : -1;
    if (parent < 0) {
        res->refusal = LC_TOP_TIER;
        return FQ_OK;
    }
    int picked = -1;
    enum fq_err err = reassign(c, k, parent, res->row, actor_id(c, rq), rq->note, out, &picked);
    if (err == FQ_ENOTFOUND) {   /* nothing was written */
        res->refusal = LC_NO_MEDIATOR;
        res->node = parent;
        return FQ_OK;
    }
    if (!err)
        res->moved = true;
    return err;
}

static enum fq_err do_transfer(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                               struct lc_result *res, struct fq_actions *out)
{
    const struct fq_roster *r = c->roster;
    int to = roster_mediator_index(r, rq->to);
    if (to < 0) {
        res->refusal = LC_UNKNOWN_TARGET;
        return FQ_OK;
    }
    res->mediator = to;
    if (!r->med[to].active) {
        res->refusal = LC_TARGET_INACTIVE;
        return FQ_OK;
    }
    if (fq_streq(k->mediator_id, r->med[to].id)) {
        res->refusal = LC_TARGET_SELF;
        return FQ_OK;
    }
    if (r->med[to].org < 0 || (size_t)r->med[to].org >= r->n_org) {
        res->refusal = LC_UNKNOWN_TARGET;
        return FQ_OK;
    }
    enum fq_err err = hand_over(c, k, to, r->med[to].org, res->row, actor_id(c, rq), rq->note,
                                false, out, false);
    if (!err)
        res->moved = true;
    return err;
}

static enum fq_err do_survey(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                             struct lc_result *res, struct fq_actions *out)
{
    if (rq->answer < 1 || rq->answer > 4) {
        res->refusal = LC_BAD_ANSWER;
        return FQ_OK;
    }
    lifecycle_enter(k, rq->cmd);
    enum fq_err err = save(c, k);
    /* the survey module records the answer (event included) and may reopen the case */
    return err ? err : survey_record_answer(c, k, rq->answer, rq->note, actor_id(c, rq), out);
}

/* The survey module's "not satisfied": the case goes back to its mediator at the same tier,
 * who has to accept it again. */
static enum fq_err do_reopen(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                             struct lc_result *res, struct fq_actions *out)
{
    lifecycle_enter(k, rq->cmd);
    /* a new resolve deadline from now: the old overdue timer was cancelled at resolution */
    k->due_resolve = sla_due(c->cfg, SLA_RESOLVE, k->severity, c->now);
    enum fq_err err;
    if ((err = accept_timers(c, k)) ||
        (err = store_timer_add(c->store, k->due_resolve,
                               FQ_TIMER_RESOLVE_OVERDUE, k->id, NULL, NULL)) ||
        (err = save(c, k)) ||
        (err = record(c, k, res->row->event, actor_id(c, rq), rq->note, NULL, out)))
        return err;
    if (k->mediator_id)
        actions_assign(out, "assigned", k->mediator_id, k);
    return FQ_OK;
}

/* 暂停: the resolve deadline stops; its overdue timer goes until the case resumes. */
static enum fq_err do_pause(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                            struct lc_result *res, struct fq_actions *out)
{
    const char *reason = NULL;
    for (size_t i = 0; rq->reason && i < sizeof pause_reasons / sizeof pause_reasons[0]; i++)
        if (strcmp(rq->reason, pause_reasons[i]) == 0)
            reason = pause_reasons[i];
    if (!reason) {
        res->refusal = LC_BAD_PAUSE_REASON;
        return FQ_OK;
    }
    char *copy = fq_strdup(reason);
    if (!copy)
        return FQ_ENOMEM;
    free(k->pause_reason);
    k->pause_reason = copy;
    lifecycle_enter(k, rq->cmd);
    k->paused_at = c->now;
    struct fq_buf data;
    buf_init(&data);
    struct fq_jobj jo = jobj_begin(&data);
    jobj_str(&jo, "reason", reason);
    jobj_end(&jo);
    enum fq_err err = data.oom ? FQ_ENOMEM : FQ_OK;
    if (!err && !(err = store_timer_cancel(c->store, k->id, FQ_TIMER_RESOLVE_OVERDUE)) &&
        !(err = save(c, k)))
        err = record(c, k, res->row->event, actor_id(c, rq), rq->note, data.s, out);
    buf_cleanup(&data);
    return err;
}

/* 恢复: the deadlines move by the time paused; the overdue timer is set again. */
static enum fq_err do_resume(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                             struct lc_result *res, struct fq_actions *out)
{
    int64_t d = k->paused_at > 0 && c->now > k->paused_at ? c->now - k->paused_at : 0;
    lifecycle_enter(k, rq->cmd);
    k->paused_at = 0;
    k->paused_total += d;
    if (k->due_resolve > 0)
        k->due_resolve += d;
    res->paused = d;
    struct fq_buf data;
    buf_init(&data);
    struct fq_jobj jo = jobj_begin(&data);
    jobj_str(&jo, "reason", k->pause_reason ? k->pause_reason : "");
    jobj_int(&jo, "paused_seconds", d);
    jobj_end(&jo);
    enum fq_err err = data.oom ? FQ_ENOMEM : FQ_OK;
    int64_t next = k->due_resolve > c->now ? k->due_resolve : c->now;
    if (!err && !(err = store_timer_add(c->store, next, FQ_TIMER_RESOLVE_OVERDUE, k->id, NULL,
                                        NULL)) &&
        !(err = save(c, k)))
        err = record(c, k, res->row->event, actor_id(c, rq), rq->note, data.s, out);
    buf_cleanup(&data);
    return err;
}

/* 升级: one severity up, with the reason in the note; routed again from the place as a case of
 * the new severity is at opening (its tier, category routes), with fresh accept deadlines, and
 * a red case's alerts up the tree. */
static enum fq_err do_raise(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                            struct lc_result *res, struct fq_actions *out)
{
    if (k->severity >= FQ_SEV_RED) {
        res->refusal = LC_ALREADY_RED;
        return FQ_OK;
    }
    if (!rq->note || !*rq->note) {
        res->refusal = LC_NO_RAISE_REASON;
        return FQ_OK;
    }
    const struct fq_roster *r = c->roster;
    int place = roster_org_index(r, k->place_org);
    int from = place >= 0 ? place : handling_node(c, k);
    int severity = k->severity + 1;
    struct fq_route_pick p;
    enum fq_err err = route_pick(c, k->category, severity, from, &p);
    if (err)
        return err;
    if (p.mediator < 0 || p.node < 0) {
        res->refusal = LC_NO_MEDIATOR;
        res->node = from;
        return FQ_OK;
    }
    int old = k->severity;
    k->severity = severity;
    bool was_paused = k->paused_at > 0;
    if (was_paused) {   /* a raised case runs again: the pause ends here, as at a resume */
        int64_t d = c->now > k->paused_at ? c->now - k->paused_at : 0;
        k->paused_total += d;
        k->paused_at = 0;
        if (k->due_resolve > 0)
            k->due_resolve += d;
    }
    struct fq_buf data;
    buf_init(&data);
    struct fq_jobj jo = jobj_begin(&data);
    jobj_str(&jo, "from", fq_severity_name(old));
    jobj_str(&jo, "to", fq_severity_name(severity));
    jobj_end(&jo);
    if (data.oom) {
        buf_cleanup(&data);
        return FQ_ENOMEM;
    }
    /* the event first, with the reason and the severities; the handing over records its own */
    err = store_case_event_add(c->store, k->id, res->row->event, actor_id(c, rq), rq->note,
                               data.s, c->now);
    buf_cleanup(&data);
    if (err)
        return err;
    actions_event(out, res->row->event, k);
    const struct lc_transition *row = res->row;
    err = hand_over(c, k, p.mediator, p.node, row, actor_id(c, rq), rq->note, false, out, true);
    if (!err && was_paused)   /* the overdue timer went at the pause */
        err = store_timer_add(c->store, k->due_resolve > c->now ? k->due_resolve : c->now,
                              FQ_TIMER_RESOLVE_OVERDUE, k->id, NULL, NULL);
    if (err)
        return err;
    res->moved = true;
    if (severity == FQ_SEV_RED) {
        int n = place >= 0 ? place : p.node;
        for (size_t hops = 0; n >= 0 && hops <= r->n_org; hops++, n = r->org[n].parent)
            actions_alert(out, "red", r->org[n].id, k);
    }
    return FQ_OK;
}

/* LC_ASSIGN and LC_REROUTE have none: case_open and case_reassign_at apply them. */
static const effect_fn effects[LC__CMD_COUNT] = {
    [LC_ACCEPT] = do_accept,     [LC_PROGRESS] = do_progress, [LC_ATTEMPT_FAILED] = do_attempt_failed,
    [LC_RESOLVE] = do_resolve,   [LC_CLOSE] = do_close,       [LC_ESCALATE] = do_escalate,
    [LC_TRANSFER] = do_transfer, [LC_SURVEY] = do_survey,     [LC_REOPEN] = do_reopen,
    [LC_PAUSE] = do_pause,       [LC_RESUME] = do_resume,     [LC_RAISE] = do_raise,
};

/* Who may act on k: its own mediator; for a survey answer also a grid worker of the grid where
 * the case happened (the 回访 task goes to them, docs/contract.md 8.1); the system always. */
static bool may_act(const struct fq_ctx *c, const struct fq_case *k, const struct lc_request *rq)
{
    if (rq->actor < 0)
        return true;
    const struct fq_mediator *m = &c->roster->med[rq->actor];
    if (fq_streq(k->mediator_id, m->id))
        return true;
    if (rq->cmd != LC_SURVEY)
        return false;
    int place = roster_org_index(c->roster, k->place_org);
    int grid = place >= 0 ? roster_org_at_level(c->roster, place, FQ_LEVEL_GRID) : -1;
    return grid >= 0 && m->org == grid;
}

enum fq_err lifecycle_apply(struct fq_ctx *c, struct fq_case *k, const struct lc_request *rq,
                            struct lc_result *res, struct fq_actions *out)
{
    memset(res, 0, sizeof *res);
    res->node = roster_org_index(c->roster, k->org_id);
    res->mediator = roster_mediator_index(c->roster, k->mediator_id);
    res->attempts = k->attempts;
    if ((int)rq->cmd < 0 || rq->cmd >= LC__CMD_COUNT ||
        (rq->actor >= 0 && (size_t)rq->actor >= c->roster->n_med))
        return FQ_EINVAL;
    if (!lifecycle_commands[rq->cmd].mediator && rq->actor >= 0) {
        res->refusal = LC_SYSTEM_ONLY;
        return FQ_OK;
    }
    if (!may_act(c, k, rq)) {
        res->refusal = LC_NOT_YOURS;
        return FQ_OK;
    }
    if (!effects[rq->cmd])
        return FQ_EINVAL;
    res->row = lifecycle_find(k->status, rq->cmd);
    if (!res->row) {
        res->refusal = LC_BAD_STATE;
        return FQ_OK;
    }
    enum fq_err err = effects[rq->cmd](c, k, rq, res, out);
    if (err || res->refusal != LC_DONE)
        return err;
    res->node = roster_org_index(c->roster, k->org_id);
    res->mediator = roster_mediator_index(c->roster, k->mediator_id);
    res->attempts = k->attempts;
    return out->oom ? FQ_ENOMEM : FQ_OK;
}

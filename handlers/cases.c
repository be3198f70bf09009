/* cases.c: turning a finished report into a case. One place grades it (docs/contract.md 6.7),
 * routes it (route.c), writes the case and its first events, schedules its deadlines as timer rows,
 * and queues what must be delivered after commit: the case events, the mediator's assignment, and
 * for red cases the alerts up the tree. The resident's receipt (受理回执) is the last reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fq.h"
#include "common/localtime.h"
#include "common/roster_model.h"
#include "common/sla.h"
#include "common/status.h"
#include "handlers/actions.h"
#include "handlers/cases.h"
#include "handlers/classify.h"
#include "handlers/i18n.h"
#include "handlers/lifecycle.h"
#include "handlers/route.h"
#include "store/case_table.h"
#include "store/convo.h"
#include "store/timer_table.h"

#define REPEAT_WINDOW (30 * 86400)

enum fq_err case_open(struct fq_ctx *c, const struct fq_report *r, struct fq_actions *out,
                      struct fq_case *created)
{
    const struct fq_roster *ro = c->roster;
    enum fq_err err;
    memset(created, 0, sizeof *created);

    int severity = classify_severity(r->category, r->people, r->danger);
    if (severity < FQ_SEV_YELLOW) {
        int64_t before = 0;
        err = store_case_count_by_resident(c->store, r->channel, r->user, c->now - REPEAT_WINDOW,
                                           &before);
        if (err)
            return err;
        if (before > 0)
            severity = FQ_SEV_YELLOW;   /* the same resident again within 30 days */
    }

    int place = roster_org_index(ro, r->org_id);
    struct fq_route_pick pick;
    if ((err = route_pick(c, r->category, severity, place, &pick)))
        return err;

    struct fq_case *k = created;
    k->channel = fq_strdup(r->channel);
    k->user = fq_strdup(r->user);
    k->name = fq_strdup(r->name);
    k->contact = fq_strdup(r->contact);
    snprintf(k->category, sizeof k->category, "%s", r->category ? r->category : "other");
    k->severity = severity;
    k->place_org = fq_strdup(r->org_id);
    k->place_text = fq_strdup(r->place_text);
    k->description = fq_strdup(r->description);
    k->people = r->people;
    k->has_location = r->has_location;
    k->latitude = r->has_location ? r->latitude : 0;
    k->longitude = r->has_location ? r->longitude : 0;
    if (r->parent) {   /* linked before the first snapshot, so every payload names the parent */
        k->parent_case = r->parent->id;
        snprintf(k->parent_case_no, sizeof k->parent_case_no, "%s", r->parent->case_no);
    }
    k->org_id = pick.node >= 0 ? fq_strdup(ro->org[pick.node].id) : NULL;
    k->mediator_id = pick.mediator >= 0 ? fq_strdup(ro->med[pick.mediator].id) : NULL;
    k->status = FQ_CASE_UNASSIGNED;   /* where every case starts */
    const struct lc_transition *assign = pick.mediator >= 0 ? lifecycle_enter(k, LC_ASSIGN) : NULL;
    k->tier = pick.node >= 0 ? (int)ro->org[pick.node].level : FQ_LEVEL_GRID;
    k->locale = fq_strdup(r->locale);
    k->created_at = k->updated_at = c->now;
    k->assigned_at = pick.mediator >= 0 ? c->now : 0;
    k->due_accept = sla_due(c->cfg, SLA_ACCEPT, severity, c->now);
    k->due_resolve = sla_due(c->cfg, SLA_RESOLVE, severity, c->now);
    if ((r->channel && !k->channel) || (r->user && !k->user) || (assign && !k->mediator_id) ||
        (r->description && !k->description))
        return FQ_ENOMEM;

    if ((err = store_case_insert(c->store, k)))
        return err;
    if ((err = store_case_event_add(c->store, k->id, "created", "resident", NULL, NULL, c->now)))
        return err;
    actions_event(out, "created", k);
    if (assign) {
        if ((err = store_case_event_add(c->store, k->id, assign->event, "system", k->mediator_id,
                                        NULL, c->now)))
            return err;
        actions_event(out, assign->event, k);
        actions_assign(out, "assigned", k->mediator_id, k);
        /* the deadlines of docs/contract.md 7.4: reminder, then 督办, then overdue */
        if ((err = store_timer_add(c->store, k->due_accept, FQ_TIMER_ACCEPT_REMIND, k->id, NULL,
                                   NULL)) ||
            (err = store_timer_add(c->store, sla_due(c->cfg, SLA_SUPERVISE, severity, c->now),
                                   FQ_TIMER_ACCEPT_ESCALATE, k->id, NULL, NULL)))
            return err;
    }
    if ((err = store_timer_add(c->store, k->due_resolve, FQ_TIMER_RESOLVE_OVERDUE, k->id, NULL,
                               NULL)))
        return err;

    if (severity == FQ_SEV_RED) {
        /* alerts for the place (or the handling node) and every ancestor */
        int n = place >= 0 ? place : pick.node;
        for (size_t hops = 0; n >= 0 && hops <= ro->n_org; hops++, n = ro->org[n].parent)
            actions_alert(out, r->danger ? "danger" : "red", ro->org[n].id, k);
    }

    struct fq_resident res = {.channel = (char *)r->channel, .user = (char *)r->user,
                              .name = (char *)r->name, .contact = (char *)r->contact,
                              .locale = fq_locale_parse(r->locale), .last_seen = c->now};
    if ((err = store_resident_put(c->store, &res)))
        return err;

    int loc = fq_locale_parse(r->locale);
    if (loc < 0)
        loc = FQ_LOC_ZH_CN;
    char due[96];   /* in the resident's words: "12月4日（周五）17:30" */
    i18n_deadline(c->lex, loc, k->due_accept, c->now, due, sizeof due);
    const char *unit = pick.node >= 0 ? ro->org[pick.node].name : "";
    answer_reply_take(out, i18n_format(c->lex, loc, severity == FQ_SEV_RED ? "receipt_red" : "receipt",
                                       "case", k->case_no, "category",
                                       i18n_category(c->lex, loc, k->category), "unit", unit,
                                       "due", due, (char *)NULL));
    answer_set_case(out, k->case_no);
    return out->oom ? FQ_ENOMEM : FQ_OK;
}

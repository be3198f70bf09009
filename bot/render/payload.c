/* payload.c: the wire form of everything fengqiao publishes. Each action becomes one outbox row
 * with a random event_id chosen here, stored with the row, so a redelivery after a crash carries
 * the same id and consumers can deduplicate. */
#include "bot/render/payload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/config_model.h"
#include "common/fq.h"
#include "handlers/report.h"
#include "bot/chan/chat/chat_msg.h"
#include "bot/render/report_forms.h"
#include "bot/chan/chan.h"
#include "handlers/actions.h"
#include "store/case_table.h"
#include "store/outbox_table.h"
#include "common/roster_model.h"

void payload_event_id(char out[33])
{
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[32] = '\0';
}

/* Every payload is written once on the core thread with the JSON writer of common/fq.h:
 * building them as jansson trees and dumping them cost a sixth of the core's instructions for a
 * case. */

void payload_case_fields(struct fq_jobj *o, const struct fq_ctx *c, const struct fq_case *k,
                        bool with_contact)
{
    const struct fq_roster *r = c->roster;
    int node = roster_org_index(r, k->org_id), place = roster_org_index(r, k->place_org);
    int med = roster_mediator_index(r, k->mediator_id);
    jobj_str(o, "case_no", k->case_no);
    jobj_str(o, "status", fq_case_status_name(k->status));
    jobj_str(o, "category", k->category);
    jobj_str(o, "severity", fq_severity_name(k->severity));
    jobj_str(o, "channel", k->channel);
    jobj_str(o, "place", k->place_org);
    jobj_str(o, "place_name", place >= 0 ? r->org[place].name : k->place_text);
    if (k->has_location) {          /* the location the resident shared (docs/contract.md 4.2) */
        jobj_key(o, "latitude");
        buf_printf(o->b, "%.6f", k->latitude);
        jobj_key(o, "longitude");
        buf_printf(o->b, "%.6f", k->longitude);
    }
    jobj_str(o, "org", k->org_id);
    jobj_str(o, "org_name", node >= 0 ? r->org[node].name : NULL);
    jobj_str(o, "tier", fq_level_name(k->tier));
    jobj_str(o, "mediator", k->mediator_id);
    jobj_str(o, "mediator_name", med >= 0 ? r->med[med].name : NULL);
    jobj_str(o, "description", k->description);
    jobj_int(o, "people", k->people);
    jobj_int(o, "attempts", k->attempts);
    jobj_int(o, "escalations", k->escalations);
    char *mp = fq_mask_phone(k->contact), *mn = fq_mask_name(k->name);
    if ((k->contact && !mp) || (k->name && !mn))
        o->b->oom = true;
    jobj_str(o, "contact_masked", mp);
    jobj_str(o, "name_masked", mn);
    free(mp);
    free(mn);
    if (with_contact) {
        jobj_str(o, "contact", k->contact);
        jobj_str(o, "name", k->name);
    }
    jobj_str(o, "close_reason", k->close_reason);
    jobj_time(o, "created_at", k->created_at);
    jobj_time(o, "assigned_at", k->assigned_at);
    jobj_time(o, "accepted_at", k->accepted_at);
    jobj_time(o, "resolved_at", k->resolved_at);
    jobj_time(o, "closed_at", k->closed_at);
    jobj_time(o, "due_accept", k->due_accept);
    jobj_time(o, "due_resolve", k->due_resolve);
    jobj_str(o, "parent_case", k->parent_case_no[0] ? k->parent_case_no : NULL);
}

/* "key": {the case} */
static void obj_case(struct fq_jobj *o, const char *key, const struct fq_ctx *c,
                     const struct fq_case *k, bool with_contact)
{
    jobj_key(o, key);
    struct fq_jobj in = jobj_begin(o->b);
    payload_case_fields(&in, c, k, with_contact);
    jobj_end(&in);
}

char *payload_case_json(const struct fq_ctx *c, const struct fq_case *k, bool with_contact)
{
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    payload_case_fields(&o, c, k, with_contact);
    jobj_end(&o);
    return buf_take(&b);
}

/* Adds event_id and at to the open object o, closes it and writes the row. Always cleans up
 * o's buffer. */
static enum fq_err put_row(struct fq_ctx *c, struct fq_jobj *o, const char *topic, bool retain,
                           const char *case_no)
{
    enum fq_err err = FQ_OK;
    if (c->cfg->mqtt_enabled) {   /* without a bus nothing would ever drain the rows */
        char id[33];
        payload_event_id(id);
        jobj_str(o, "event_id", id);
        jobj_time(o, "at", c->now);
        jobj_end(o);
        err = o->b->oom ? FQ_ENOMEM
                        : store_outbox_add(c->store, "mqtt", topic, o->b->s, retain, id, case_no,
                                           c->now, NULL);
    }
    buf_cleanup(o->b);
    return err;
}

enum fq_err payload_emit(struct fq_ctx *c, const char *prefix, const struct fq_msg *m,
                         const struct fq_actions *a, struct payload_stats *st)
{
    enum fq_err err = FQ_OK;
    char topic[512];
    struct fq_buf b;
    buf_init(&b);

    for (size_t i = 0; i < a->n && !err; i++) {
        const struct fq_action *x = &a->v[i];
        /* the case as the handler left it: carried by the list, never read back */
        const struct fq_case *kp = actions_case(a, x->case_id);
        if (x->case_id && !kp) {
            err = FQ_EINVAL;
            break;
        }
        buf_cleanup(&b);   /* what an action that wrote no row left (put_row empties it) */
        struct fq_jobj o = jobj_begin(&b);
        switch (x->kind) {
        case FQ_ACT_EVENT:
            if (!kp)
                continue;
            snprintf(topic, sizeof topic, "%s/events/cases/%s", prefix, kp->case_no);
            jobj_str(&o, "type", x->type);
            obj_case(&o, "case", c, kp, false);
            if (x->target)   /* who and what, when the event says (docs/contract.md 6.8) */
                jobj_str(&o, "actor", x->target);
            if (x->text)
                jobj_str(&o, "note", x->text);
            err = put_row(c, &o, topic, false, kp->case_no);
            if (!err && st && strcmp(x->type, "created") == 0 && st->created < 8) {
                snprintf(st->category[st->created], sizeof st->category[0], "%s", kp->category);
                st->severity[st->created++] = kp->severity;
            }
            break;
        case FQ_ACT_ASSIGN:
            if (!kp || !x->target)
                continue;
            snprintf(topic, sizeof topic, "%s/mediators/%s/assignments", prefix, x->target);
            obj_case(&o, "case", c, kp, true);
            jobj_str(&o, "action", x->type);
            if (x->text)     /* a resident's supplement (docs/contract.md 6.8) */
                jobj_str(&o, "note", x->text);
            err = put_row(c, &o, topic, false, kp->case_no);
            if (!err)   /* and what the channels push (a WeCom card) */
                err = chan_push(c, x, kp);
            break;
        case FQ_ACT_ALERT:
            if (!x->target)
                continue;
            snprintf(topic, sizeof topic, "%s/alerts/%s", prefix, x->target);
            jobj_str(&o, "type", "alert");
            jobj_str(&o, "reason", x->type);
            jobj_str(&o, "org", x->target);
            if (kp)
                obj_case(&o, "case", c, kp, false);
            err = put_row(c, &o, topic, false, kp ? kp->case_no : NULL);
            break;
        case FQ_ACT_OUTBOUND: {
            /* a channel with its own way renders the answer (bot/chan/chan.h): the one owning
             * an explicit address, else the one m came by */
            const struct fq_chan *ch = x->target && x->text ? chan_by_name(x->text)
                                       : m                  ? m->chan
                                                            : NULL;
            if (ch && ch->answer) {
                err = x->target && x->text ? ch->answer(c, x->text, x->target, &a->answer)
                                           : ch->answer(c, m->channel, m->user, &a->answer);
                break;
            }
        }
            /* addressed explicitly (a survey pushed by a timer: user in .target, channel in
             * .text), else to the sender of m */
            if (x->target && x->text) {
                snprintf(topic, sizeof topic, "%s/outbound/%s/%s", prefix, x->text, x->target);
            } else if (m && m->channel && m->user) {
                snprintf(topic, sizeof topic, "%s/outbound/%s/%s", prefix, m->channel, m->user);
            } else {
                continue;
            }
            chat_answer_write(&o, &a->answer);
            err = put_row(c, &o, topic, false, a->answer.case_no);
            break;
        case FQ_ACT_REPORT:
            /* the monthly report the handler computed (.report) of node .target, retained
             * (docs/contract.md 4.1) */
            if (!x->target || !x->report)
                continue;
            snprintf(topic, sizeof topic, "%s/reports/%s/monthly", prefix, x->target);
            report_fields(&o, x->report);
            err = put_row(c, &o, topic, true, NULL);
            break;
        case FQ_ACT_MED_REPLY:
            if (m && m->chan && m->chan->reply) {   /* answered on the channel (a card click) */
                err = m->chan->reply(c, m, x);
                break;
            }
            if (!x->target)
                continue;
            snprintf(topic, sizeof topic, "%s/mediators/%s/replies", prefix, x->target);
            jobj_bool(&o, "ok", x->ok);
            jobj_str(&o, "message", x->text ? x->text : "");
            jobj_str(&o, "request_id", x->request_id);
            if (kp)
                jobj_str(&o, "case", kp->case_no);
            err = put_row(c, &o, topic, false, kp ? kp->case_no : NULL);
            break;
        case FQ_ACT_NOTIFY:
            if ((err = chan_push(c, x, kp)))   /* what the channels push (a WeCom text) */
                break;
            /* texts for mediators and supervisors go out through WeCom; on MQTT the
             * assignments topic already carries reminders and overdue notices. A supervisor's
             * digest (handlers/timers.c: type "digest", its figures in data) also goes
             * to {p}/mediators/{id}/digest. */
            if (x->target && fq_streq(x->type, "digest")) {
                snprintf(topic, sizeof topic, "%s/mediators/%s/digest", prefix, x->target);
                jobj_str(&o, "type", "digest");
                jobj_str(&o, "mediator", x->target);
                jobj_str(&o, "text", x->text ? x->text : "");
                jobj_merge(&o, x->data);   /* its figures (handlers/timers.c, digest_send) */
                err = put_row(c, &o, topic, false, NULL);
            }
            break;
        }
    }
    buf_cleanup(&b);
    return err;
}

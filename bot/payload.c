/* payload.c: the wire form of everything fengqiao publishes. Each action becomes one outbox row
 * with a random event_id chosen here, stored with the row, so a redelivery after a crash carries
 * the same id and consumers can deduplicate. */
#include "payload.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../common/fq.h"
#include "../handlers/report.h"
#include "report_out.h"
#include "wecom_out.h"

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

static void set_time(json_t *o, const char *key, int64_t t)
{
    if (t <= 0) {
        json_object_set_new(o, key, json_null());
        return;
    }
    char buf[32];
    fq_rfc3339(t, buf, sizeof buf);
    json_object_set_new(o, key, json_string(buf));
}

static void set_str(json_t *o, const char *key, const char *v)
{
    json_object_set_new(o, key, v ? json_string(v) : json_null());
}

static json_t *case_obj(const struct fq_ctx *c, const struct fq_case *k, bool with_contact)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    const struct fq_roster *r = c->roster;
    int node = roster_org_index(r, k->org_id), place = roster_org_index(r, k->place_org);
    int med = roster_mediator_index(r, k->mediator_id);
    set_str(o, "case_no", k->case_no);
    set_str(o, "status", k->status);
    set_str(o, "category", k->category);
    set_str(o, "severity", fq_severity_name(k->severity));
    set_str(o, "channel", k->channel);
    set_str(o, "place", k->place_org);
    set_str(o, "place_name", place >= 0 ? r->org[place].name : k->place_text);
    set_str(o, "org", k->org_id);
    set_str(o, "org_name", node >= 0 ? r->org[node].name : NULL);
    set_str(o, "tier", fq_level_name(k->tier));
    set_str(o, "mediator", k->mediator_id);
    set_str(o, "mediator_name", med >= 0 ? r->med[med].name : NULL);
    set_str(o, "description", k->description);
    json_object_set_new(o, "people", json_integer(k->people));
    json_object_set_new(o, "attempts", json_integer(k->attempts));
    json_object_set_new(o, "escalations", json_integer(k->escalations));
    char *mp = fq_mask_phone(k->contact), *mn = fq_mask_name(k->name);
    set_str(o, "contact_masked", mp);
    set_str(o, "name_masked", mn);
    free(mp);
    free(mn);
    if (with_contact) {
        set_str(o, "contact", k->contact);
        set_str(o, "name", k->name);
    }
    set_str(o, "close_reason", k->close_reason);
    set_time(o, "created_at", k->created_at);
    set_time(o, "assigned_at", k->assigned_at);
    set_time(o, "accepted_at", k->accepted_at);
    set_time(o, "resolved_at", k->resolved_at);
    set_time(o, "closed_at", k->closed_at);
    set_time(o, "due_accept", k->due_accept);
    set_time(o, "due_resolve", k->due_resolve);
    return o;
}

char *payload_case_json(const struct fq_ctx *c, const struct fq_case *k, bool with_contact)
{
    json_t *o = case_obj(c, k, with_contact);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static json_t *answer_obj(const struct fq_answer *an)
{
    json_t *o = json_object(), *replies = json_array();
    for (size_t i = 0; i < an->n_replies; i++)
        json_array_append_new(replies, json_pack("{s:s}", "text", an->replies[i]));
    json_object_set_new(o, "replies", replies);
    set_str(o, "state", an->state);
    if (an->n_options) {
        json_t *opts = json_array();
        for (size_t i = 0; i < an->n_options; i++)
            json_array_append_new(opts, json_pack("{s:s,s:s}", "key", an->options[i].key,
                                                  "label", an->options[i].label));
        json_object_set_new(o, "options", opts);
    }
    if (an->case_no)
        json_object_set_new(o, "case", json_string(an->case_no));
    return o;
}

/* Adds event_id and at, serialises, writes the row. Takes o. */
static enum fq_err put_row(struct fq_ctx *c, json_t *o, const char *topic, bool retain,
                           const char *case_no)
{
    if (!o)
        return FQ_ENOMEM;
    if (!c->cfg->mqtt_enabled) {   /* no bus: nothing would ever drain the rows */
        json_decref(o);
        return FQ_OK;
    }
    char id[33];
    payload_event_id(id);
    json_object_set_new(o, "event_id", json_string(id));
    set_time(o, "at", c->now);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return FQ_ENOMEM;
    enum fq_err err = store_outbox_add(c->store, "mqtt", topic, s, retain, id, case_no, c->now,
                                       NULL);
    free(s);
    return err;
}

enum fq_err payload_emit(struct fq_ctx *c, const char *prefix, const struct fq_msg *m,
                         const struct fq_actions *a, struct payload_stats *st)
{
    enum fq_err err = FQ_OK;
    struct fq_case k;
    int64_t loaded = 0;
    memset(&k, 0, sizeof k);
    char topic[512];

    for (size_t i = 0; i < a->n && !err; i++) {
        const struct fq_action *x = &a->v[i];
        if (x->case_id && x->case_id != loaded) {
            /* reload: an earlier action of this batch may have changed the case */
            case_cleanup(&k);
            memset(&k, 0, sizeof k);
            if ((err = store_case_get_id(c->store, x->case_id, &k)))
                break;
            loaded = x->case_id;
        }
        const struct fq_case *kp = x->case_id ? &k : NULL;
        json_t *o = NULL;
        switch (x->kind) {
        case FQ_ACT_EVENT:
            if (!kp)
                continue;
            snprintf(topic, sizeof topic, "%s/events/cases/%s", prefix, kp->case_no);
            o = json_pack("{s:s,s:o}", "type", x->type, "case", case_obj(c, kp, false));
            err = put_row(c, o, topic, false, kp->case_no);
            if (!err && st && strcmp(x->type, "created") == 0 && st->created < 8) {
                snprintf(st->category[st->created], sizeof st->category[0], "%s", kp->category);
                st->severity[st->created++] = kp->severity;
            }
            loaded = 0;   /* the next action re-reads the case (it may change in between) */
            break;
        case FQ_ACT_ASSIGN:
            if (!kp || !x->target)
                continue;
            snprintf(topic, sizeof topic, "%s/mediators/%s/assignments", prefix, x->target);
            o = json_pack("{s:o,s:s}", "case", case_obj(c, kp, true), "action", x->type);
            err = put_row(c, o, topic, false, kp->case_no);
            if (!err && c->cfg->wecom_enabled)   /* also a WeCom card (bot/wecom_payload.c) */
                err = wecom_payload_assign(c, x, kp);
            break;
        case FQ_ACT_ALERT:
            if (!x->target)
                continue;
            snprintf(topic, sizeof topic, "%s/alerts/%s", prefix, x->target);
            o = json_pack("{s:s,s:s,s:s}", "type", "alert", "reason", x->type, "org", x->target);
            if (o && kp)
                json_object_set_new(o, "case", case_obj(c, kp, false));
            err = put_row(c, o, topic, false, kp ? kp->case_no : NULL);
            break;
        case FQ_ACT_OUTBOUND: {
            /* WeCom users get the answer through the WeCom API (bot/wecom_payload.c) */
            const char *wch = x->target && x->text ? x->text
                              : m && m->source == FQ_SRC_WECOM ? m->channel : NULL;
            if (wch && (strcmp(wch, "wecom") == 0 || strcmp(wch, "wecom_kf") == 0)) {
                if (c->cfg->wecom_enabled)
                    err = wecom_payload_answer(c, wch, x->target && x->text ? x->target : m->user,
                                               &a->answer);
                break;
            }
        }
            /* addressed explicitly (a survey pushed by a timer: user in .target, channel in
             * .text), else to the sender of m */
            if (x->target && x->text) {
                if (strcmp(x->text, "wecom_kf") == 0)
                    continue;   /* WeCom customer service: delivered by the WeCom sender */
                snprintf(topic, sizeof topic, "%s/outbound/%s/%s", prefix, x->text, x->target);
            } else if (m && m->channel && m->user) {
                snprintf(topic, sizeof topic, "%s/outbound/%s/%s", prefix, m->channel, m->user);
            } else {
                continue;
            }
            err = put_row(c, answer_obj(&a->answer), topic, false, a->answer.case_no);
            break;
        case FQ_ACT_REPORT: {
            /* the monthly report of node .target for month .text, retained (CONTRACT 4) */
            int y, mo;
            struct rp_monthly *rep = NULL;
            if (!x->target || report_parse_month(x->text, &y, &mo) != 0)
                continue;
            err = report_monthly(c, y, mo, x->target, &rep);
            if (err == FQ_ENOTFOUND) {
                err = FQ_OK;
                continue;
            }
            if (err)
                break;
            snprintf(topic, sizeof topic, "%s/reports/%s/monthly", prefix, x->target);
            err = put_row(c, report_json_obj(rep), topic, true, NULL);
            report_monthly_free(rep);
            break;
        }
        case FQ_ACT_MED_REPLY:
            if (m && m->source == FQ_SRC_WECOM) {   /* a card click: answered on WeCom */
                if (c->cfg->wecom_enabled)
                    err = wecom_payload_med_reply(c, m, x);
                break;
            }
            if (!x->target)
                continue;
            snprintf(topic, sizeof topic, "%s/mediators/%s/replies", prefix, x->target);
            o = json_pack("{s:b,s:s}", "ok", x->ok, "message", x->text ? x->text : "");
            if (o)
                json_object_set_new(o, "request_id",
                                    x->request_id ? json_string(x->request_id) : json_null());
            if (o && kp)
                json_object_set_new(o, "case", json_string(kp->case_no));
            err = put_row(c, o, topic, false, kp ? kp->case_no : NULL);
            break;
        case FQ_ACT_NOTIFY:
            if (c->cfg->wecom_enabled && x->target && x->text) {   /* a WeCom text too */
                if ((err = wecom_payload_notify(c, x, kp)))
                    break;
            }
            /* texts for mediators and supervisors go out through WeCom; on MQTT the
             * assignments topic already carries reminders and overdue notices. A supervisor's
             * digest (handlers/timers.c: type "digest", its figures in data) also goes
             * to {p}/mediators/{id}/digest. */
            if (x->target && fq_streq(x->type, "digest")) {
                snprintf(topic, sizeof topic, "%s/mediators/%s/digest", prefix, x->target);
                json_t *data = x->data ? json_loads(x->data, 0, NULL) : NULL;
                o = json_pack("{s:s,s:s,s:s}", "type", "digest", "mediator", x->target, "text",
                              x->text ? x->text : "");
                if (o && json_is_object(data))
                    json_object_update(o, data);
                json_decref(data);
                err = put_row(c, o, topic, false, NULL);
            }
            break;
        }
    }
    case_cleanup(&k);
    return err;
}

/* actions.c: the list a handler fills: the answer to the sender and the effects to deliver after
 * commit. Allocation failures set .oom once instead of failing every call site; the core checks
 * it and rolls the message back. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/fq.h"
#include "handlers/actions.h"
#include "handlers/report.h"
#include "store/case_table.h"

void actions_init(struct fq_actions *a)
{
    memset(a, 0, sizeof *a);
    a->answer.status = 200;
}

void actions_cleanup(struct fq_actions *a)
{
    for (size_t i = 0; i < a->answer.n_replies; i++)
        free(a->answer.replies[i]);
    free(a->answer.replies);
    for (size_t i = 0; i < a->answer.n_options; i++)
        free(a->answer.options[i].label);
    free(a->answer.options);
    free(a->answer.case_no);
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].type);
        free(a->v[i].target);
        free(a->v[i].text);
        free(a->v[i].request_id);
        free(a->v[i].data);
        report_monthly_free(a->v[i].report);
    }
    free(a->v);
    for (size_t i = 0; i < a->n_cases; i++)
        case_cleanup(&a->cases[i]);
    free(a->cases);
    memset(a, 0, sizeof *a);
}

void answer_reply_take(struct fq_actions *a, char *text)
{
    if (!text) {
        a->oom = true;
        return;
    }
    char **v = realloc(a->answer.replies, (a->answer.n_replies + 1) * sizeof *v);
    if (!v) {
        free(text);
        a->oom = true;
        return;
    }
    v[a->answer.n_replies++] = text;
    a->answer.replies = v;
}

void answer_reply(struct fq_actions *a, const char *text)
{
    answer_reply_take(a, fq_strdup(text ? text : ""));
}

void answer_option(struct fq_actions *a, const char *key, const char *label)
{
    struct fq_option *v = realloc(a->answer.options, (a->answer.n_options + 1) * sizeof *v);
    if (!v) {
        a->oom = true;
        return;
    }
    a->answer.options = v;
    struct fq_option *o = &v[a->answer.n_options];
    memset(o, 0, sizeof *o);
    strncpy(o->key, key, sizeof o->key - 1);
    o->label = fq_strdup(label ? label : "");
    if (!o->label) {
        a->oom = true;
        return;
    }
    a->answer.n_options++;
}

void answer_set_case(struct fq_actions *a, const char *case_no)
{
    free(a->answer.case_no);
    a->answer.case_no = fq_strdup(case_no);
    if (case_no && !a->answer.case_no)
        a->oom = true;
}

void answer_error(struct fq_actions *a, int status, const char *code, const char *text)
{
    a->answer.status = status;
    a->answer.error = code;
    if (text)
        answer_reply(a, text);
}

/* The string fields of struct fq_case, for the snapshot refresh. */
static const size_t case_strings[] = {
    offsetof(struct fq_case, channel),      offsetof(struct fq_case, user),
    offsetof(struct fq_case, name),         offsetof(struct fq_case, contact),
    offsetof(struct fq_case, place_org),    offsetof(struct fq_case, place_text),
    offsetof(struct fq_case, description),  offsetof(struct fq_case, org_id),
    offsetof(struct fq_case, mediator_id),  offsetof(struct fq_case, close_reason),
    offsetof(struct fq_case, locale),       offsetof(struct fq_case, pause_reason),
};
#define N_CASE_STRINGS (sizeof case_strings / sizeof case_strings[0])

static char **case_str(struct fq_case *k, size_t i)
{
    return (char **)((char *)k + case_strings[i]);
}

/* Makes dst a copy of src, keeping the strings of dst that are equal already. */
static bool case_refresh(struct fq_case *dst, const struct fq_case *src)
{
    char *keep[N_CASE_STRINGS];
    bool ok = true;
    for (size_t i = 0; i < N_CASE_STRINGS; i++) {
        char *old = *case_str(dst, i), *now = *case_str((struct fq_case *)src, i);
        if (fq_streq(old, now)) {
            keep[i] = old;
            continue;
        }
        free(old);
        keep[i] = fq_strdup(now);
        if (now && !keep[i])
            ok = false;
    }
    *dst = *src;
    for (size_t i = 0; i < N_CASE_STRINGS; i++)
        *case_str(dst, i) = keep[i];
    return ok;
}

/* Records k as the list's snapshot of its case. False on allocation failure (.oom set). */
static bool snapshot(struct fq_actions *a, const struct fq_case *k)
{
    for (size_t i = 0; i < a->n_cases; i++)
        if (a->cases[i].id == k->id) {
            if (&a->cases[i] != k && !case_refresh(&a->cases[i], k))
                a->oom = true;
            return !a->oom;
        }
    if (a->n_cases == a->cap_cases) {
        size_t cap = a->cap_cases ? a->cap_cases * 2 : 2;
        struct fq_case *v = realloc(a->cases, cap * sizeof *v);
        if (!v) {
            a->oom = true;
            return false;
        }
        a->cases = v;
        a->cap_cases = cap;
    }
    struct fq_case *s = &a->cases[a->n_cases++];
    memset(s, 0, sizeof *s);
    if (!case_refresh(s, k))
        a->oom = true;
    return !a->oom;
}

const struct fq_case *actions_case(const struct fq_actions *a, int64_t case_id)
{
    for (size_t i = 0; case_id && i < a->n_cases; i++)
        if (a->cases[i].id == case_id)
            return &a->cases[i];
    return NULL;
}

static struct fq_action *push(struct fq_actions *a, enum fq_action_kind kind, const char *type,
                              const char *target, const struct fq_case *k, const char *text)
{
    if (k && k->id && !snapshot(a, k))
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct fq_action *v = realloc(a->v, cap * sizeof *v);
        if (!v) {
            a->oom = true;
            return NULL;
        }
        a->v = v;
        a->cap = cap;
    }
    struct fq_action *x = &a->v[a->n];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->case_id = k ? k->id : 0;
    x->type = fq_strdup(type);
    x->target = fq_strdup(target);
    x->text = fq_strdup(text);
    if ((type && !x->type) || (target && !x->target) || (text && !x->text)) {
        free(x->type);
        free(x->target);
        free(x->text);
        a->oom = true;
        return NULL;
    }
    a->n++;
    return x;
}

void actions_event(struct fq_actions *a, const char *type, const struct fq_case *k)
{
    push(a, FQ_ACT_EVENT, type, NULL, k, NULL);
}

void actions_assign(struct fq_actions *a, const char *action, const char *mediator_id,
                    const struct fq_case *k)
{
    push(a, FQ_ACT_ASSIGN, action, mediator_id, k, NULL);
}

void actions_event_by(struct fq_actions *a, const char *type, const struct fq_case *k,
                      const char *actor, const char *note)
{
    push(a, FQ_ACT_EVENT, type, actor, k, note);
}

void actions_assign_note(struct fq_actions *a, const char *action, const char *mediator_id,
                         const struct fq_case *k, const char *note)
{
    push(a, FQ_ACT_ASSIGN, action, mediator_id, k, note);
}

void actions_alert(struct fq_actions *a, const char *reason, const char *org_id,
                   const struct fq_case *k)
{
    push(a, FQ_ACT_ALERT, reason, org_id, k, NULL);
}

void actions_notify(struct fq_actions *a, const char *mediator_id, const struct fq_case *k,
                    const char *text)
{
    push(a, FQ_ACT_NOTIFY, "notify", mediator_id, k, text);
}

void actions_outbound(struct fq_actions *a)
{
    push(a, FQ_ACT_OUTBOUND, "outbound", NULL, NULL, NULL);
}

void actions_outbound_to(struct fq_actions *a, const char *channel, const char *user,
                         const struct fq_case *k)
{
    if (!channel || !user) {   /* an explicit address has both */
        a->oom = true;
        return;
    }
    push(a, FQ_ACT_OUTBOUND, "outbound", user, k, channel);
}

void actions_med_reply(struct fq_actions *a, const char *mediator_id, const char *request_id,
                       bool ok, const char *text, const struct fq_case *k)
{
    struct fq_action *x = push(a, FQ_ACT_MED_REPLY, "reply", mediator_id, k, text);
    if (!x)
        return;
    x->ok = ok;
    x->request_id = fq_strdup(request_id);
    if (request_id && !x->request_id)
        a->oom = true;
}

void actions_digest(struct fq_actions *a, const char *mediator_id, const char *text,
                    const char *data)
{
    struct fq_action *x = push(a, FQ_ACT_NOTIFY, "digest", mediator_id, NULL, text);
    if (x && data && !(x->data = fq_strdup(data)))
        a->oom = true;
}

void actions_report(struct fq_actions *a, const char *org_id, const char *month,
                    struct rp_monthly *rep)
{
    struct fq_action *x = push(a, FQ_ACT_REPORT, "report", org_id, NULL, month);
    if (x)
        x->report = rep;
    else
        report_monthly_free(rep);
}

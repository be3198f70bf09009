/* actions.c: the list a handler fills: the answer to the sender and the effects to deliver after
 * commit. Allocation failures set .oom once instead of failing every call site; the core checks
 * it and rolls the message back. */
#include <stdlib.h>
#include <string.h>

#include "common/fq.h"
#include "handlers/actions.h"

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
    }
    free(a->v);
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

static struct fq_action *push(struct fq_actions *a, enum fq_action_kind kind, const char *type,
                              const char *target, int64_t case_id, const char *text)
{
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
    x->case_id = case_id;
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

void actions_event(struct fq_actions *a, const char *type, int64_t case_id)
{
    push(a, FQ_ACT_EVENT, type, NULL, case_id, NULL);
}

void actions_assign(struct fq_actions *a, const char *action, const char *mediator_id,
                    int64_t case_id)
{
    push(a, FQ_ACT_ASSIGN, action, mediator_id, case_id, NULL);
}

void actions_alert(struct fq_actions *a, const char *reason, const char *org_id, int64_t case_id)
{
    push(a, FQ_ACT_ALERT, reason, org_id, case_id, NULL);
}

void actions_notify(struct fq_actions *a, const char *mediator_id, int64_t case_id,
                    const char *text)
{
    push(a, FQ_ACT_NOTIFY, "notify", mediator_id, case_id, text);
}

void actions_outbound(struct fq_actions *a)
{
    push(a, FQ_ACT_OUTBOUND, "outbound", NULL, 0, NULL);
}

void actions_med_reply(struct fq_actions *a, const char *mediator_id, const char *request_id,
                       bool ok, const char *text)
{
    struct fq_action *x = push(a, FQ_ACT_MED_REPLY, "reply", mediator_id, 0, text);
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
    struct fq_action *x = push(a, FQ_ACT_NOTIFY, "digest", mediator_id, 0, text);
    if (x && data && !(x->data = fq_strdup(data)))
        a->oom = true;
}

void actions_report(struct fq_actions *a, const char *org_id, const char *month)
{
    push(a, FQ_ACT_REPORT, "report", org_id, 0, month);
}

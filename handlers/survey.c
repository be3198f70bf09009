/* survey.c: the follow-up survey (回访) and the relapse check of docs/contract.md 8.1.
 *
 * A resolution schedules two rows in `surveys` (store/surveys.c) and two timers: "survey"
 * (survey.delay) and "relapse_check" (survey.relapse_check, unless 0). Every later step is a
 * timer or a message that finds its survey row by id (the timer's arg) and acts only when the
 * row is in the status that step expects, so a stale timer (the case was answered, reopened or
 * resolved again meanwhile) does nothing. UNIQUE (case, kind, resolved_at) makes "one survey per
 * resolution" hold by construction; a reopened case resolved again has a new resolved_at.
 *
 * Reaching the resident depends on how their report came in (resident_reach, written when a
 * report is submitted, see survey_note_reach):
 * - chat webhook ("chat"): request/response, nothing can be pushed. The question is queued: the
 *   resident's conversation is put in state "survey" and the next message they send gets the
 *   question (or, when it already is 1-4 in any numeral form, is taken as the answer).
 * - MQTT gateway ("mqtt"): the question is pushed at once on {p}/outbound/{channel}/{user} (an
 *   FQ_ACT_OUTBOUND action addressed explicitly: user in .target, channel in .text; the body is
 *   out->answer, so each timer needs its own struct fq_actions), and the conversation is put in
 *   state "survey" for the reply.
 * - WeCom customer service ("wecom_kf", channel name "wecom_kf"): pushed like MQTT while
 *   survey_wecom_reachable() says the 48 h window is open (payload.c leaves the delivery to the
 *   WeCom sender);
 * - the WeCom app ("wecom", channel "wecom"): pushed to the member through the app, which has
 *   no window, whenever WeCom is enabled; otherwise, or when MQTT is disabled for a gateway
 *   resident, or outside the 微信客服 window, the survey
 *   becomes a 回访 task for the grid worker of the case's grid (assignment "survey_task"),
 *   answered with the mediator command 回访 <case> <1-4> [comment].
 *
 * Answers: 1-4 (digits in any accepted form, or the option's label), then an optional comment
 * (any text, or a skip word). 4, or a comment with a not-solved keyword, reopens the case at its
 * tier through lifecycle_apply(LC_REOPEN) and tells the mediator and the nearest supervisor.
 * The mediator's 回访 command reaches survey_record_answer too (from lifecycle.c), so one place
 * handles every answer. A relapse "yes" opens a new case (case_open with the old category and
 * place), linked by parent_case, and moves it to the parent of the old case's handling node
 * (case_reassign_at: recorded as an "escalated" event, so it counts among escalations).
 *
 * Events: "survey_sent" and "survey_answered" (published, docs/contract.md 4.3); an expiry is
 * recorded in the history as "survey_no_response" without being published (not a type of
 * docs/contract.md 4.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "common/status.h"
#include "handlers/actions.h"
#include "handlers/cases.h"
#include "handlers/classify.h"
#include "handlers/i18n.h"
#include "handlers/intent.h"
#include "handlers/lang.h"
#include "handlers/survey.h"
#include "store/case_table.h"
#include "store/convo.h"
#include "store/surveys.h"
#include "store/timer_table.h"
#include "store/wecom_kf.h"
#include "handlers/lifecycle.h"

#define KIND_SAT "satisfaction"
#define KIND_RELAPSE "relapse"
#define WECOM_KF "wecom_kf"
#define WECOM_APP "wecom"   /* the self-built app: message/send reaches a member at any time */

static bool is_relapse(const struct fq_survey *v) { return strcmp(v->kind, KIND_RELAPSE) == 0; }

static void set_fixed(char *dst, size_t size, const char *v) { snprintf(dst, size, "%s", v); }


static int case_locale(const struct fq_case *k)
{
    int l = fq_locale_parse(k->locale);
    return l >= 0 ? l : FQ_LOC_ZH_CN;
}

/* Timer kinds of one survey kind. */
static enum fq_timer_kind kind_remind(const struct fq_survey *v)
{
    return is_relapse(v) ? FQ_TIMER_SURVEY_RELAPSE_REMIND : FQ_TIMER_SURVEY_REMIND;
}

static enum fq_timer_kind kind_expire(const struct fq_survey *v)
{
    return is_relapse(v) ? FQ_TIMER_SURVEY_RELAPSE_EXPIRE : FQ_TIMER_SURVEY_EXPIRE;
}

static enum fq_err cancel_timers(struct fq_ctx *c, int64_t case_id, bool relapse)
{
    static const enum fq_timer_kind kinds[2][3] = {
        {FQ_TIMER_SURVEY, FQ_TIMER_SURVEY_REMIND, FQ_TIMER_SURVEY_EXPIRE},
        {FQ_TIMER_RELAPSE_CHECK, FQ_TIMER_SURVEY_RELAPSE_REMIND, FQ_TIMER_SURVEY_RELAPSE_EXPIRE},
    };
    for (size_t i = 0; i < 3; i++) {
        enum fq_err err = store_timer_cancel(c->store, case_id, kinds[relapse][i]);
        if (err)
            return err;
    }
    return FQ_OK;
}

static enum fq_err add_timer(struct fq_ctx *c, int64_t due, enum fq_timer_kind kind,
                             const struct fq_survey *v)
{
    char arg[24];
    snprintf(arg, sizeof arg, "%lld", (long long)v->id);
    return store_timer_add(c->store, due, kind, v->case_id, arg, NULL);
}

/* Appends the event to the history and, when publish, queues it for MQTT. */
static enum fq_err record(struct fq_ctx *c, const struct fq_case *k, const char *type,
                          const char *actor, const char *note, const char *data, bool publish,
                          struct fq_actions *out)
{
    enum fq_err err = store_case_event_add(c->store, k->id, type, actor, note, data, c->now);
    if (!err && publish)
        actions_event(out, type, k);
    return err;
}

/* actions_notify with a text made by i18n_format (taken and freed here). */
static void notify_take(struct fq_actions *out, const char *mediator_id, const struct fq_case *k,
                        char *text)
{
    if (!text)
        out->oom = true;
    else
        actions_notify(out, mediator_id, k, text);
    free(text);
}

/* ---- reaching the resident ----------------------------------------------------------------- */
enum fq_err survey_note_reach(struct fq_ctx *c, const struct fq_msg *m)
{
    if (!m || !m->channel || !m->user)
        return FQ_OK;
    /* the app's members share the app's stamp with 微信客服 customers (FQ_REACH_WINDOW), but the
     * app has no window: it is its own way */
    const char *via = fq_streq(m->channel, WECOM_APP)                                 ? WECOM_APP
                      : m->reach == FQ_REACH_PUSH                                    ? "mqtt"
                      : m->reach == FQ_REACH_WINDOW || fq_streq(m->channel, WECOM_KF) ? WECOM_KF
                                                                                      : "chat";
    return store_reach_put(c->store, m->channel, m->user, via, c->now);
}

/* The WeCom hook: customer service may write to a resident only within 48 h of the resident's
 * last message and at most 5 times in that window. The WeCom module keeps that account
 * (wecom_kf_can_reach, store/wecom_kf.c); this is the one place the survey asks. */
bool survey_wecom_reachable(const struct fq_ctx *c, const char *channel, const char *user)
{
    (void)channel;
    return wecom_kf_can_reach(c->store, user, c->now);
}

/* "chat", "mqtt", "wecom_kf" or "wecom" (the app) for the resident of k. */
static void via_of(struct fq_ctx *c, const struct fq_case *k, char via[16])
{
    if (fq_streq(k->channel, WECOM_KF) || fq_streq(k->channel, WECOM_APP)) {
        set_fixed(via, 16, k->channel);
        return;
    }
    if (store_reach_get(c->store, k->channel, k->user, via) != FQ_OK)
        set_fixed(via, 16, "chat");
}

static bool reachable(struct fq_ctx *c, const struct fq_case *k, const char *via)
{
    if (strcmp(via, "mqtt") == 0)
        return c->cfg && c->cfg->mqtt_enabled;
    if (strcmp(via, WECOM_KF) == 0)
        return survey_wecom_reachable(c, k->channel, k->user);
    if (strcmp(via, WECOM_APP) == 0)   /* pushed through the app (bot/chan/wecom) */
        return c->cfg && c->cfg->wecom_enabled;
    return true;
}

/* Puts the resident's conversation in state "survey", unless they are writing a report. */
static enum fq_err convo_to_survey(struct fq_ctx *c, const struct fq_case *k)
{
    struct fq_convo cv;
    enum fq_err err = store_convo_get(c->store, k->channel, k->user, &cv);
    if (err == FQ_ENOTFOUND) {
        memset(&cv, 0, sizeof cv);
        cv.channel = fq_strdup(k->channel);
        cv.user = fq_strdup(k->user);
        cv.locale = case_locale(k);
        cv.started_at = c->now;
        if (!cv.channel || !cv.user) {
            convo_cleanup(&cv);
            return FQ_ENOMEM;
        }
    } else if (err) {
        return err;
    } else {
        enum fq_convo_state st = cv.state;
        if (st != FQ_CONVO_IDLE && st != FQ_CONVO_SUBMITTED && st != FQ_CONVO_SURVEY) {
            convo_cleanup(&cv);   /* mid-report: the reminder will try again */
            return FQ_OK;
        }
    }
    cv.state = FQ_CONVO_SURVEY;
    cv.updated_at = c->now;
    err = store_convo_put(c->store, &cv);
    convo_cleanup(&cv);
    return err;
}

/* The question of v in out->answer (replies, options, state, case). */
static void put_question(struct fq_ctx *c, const struct fq_case *k, const struct fq_survey *v,
                         int loc, bool reminder, struct fq_actions *out)
{
    const struct fq_lexicon *lx = c->lex;
    struct fq_buf menu;
    buf_init(&menu);
    buf_add(&menu, "", 0);
    int n = is_relapse(v) ? 2 : 4;
    for (int i = 1; i <= n; i++) {
        char key[32], num[16];
        snprintf(key, sizeof key, is_relapse(v) ? "sv_relapse_opt_%d" : "sv_opt_%d", i);
        snprintf(num, sizeof num, "%d", i);
        const char *label = i18n_get(lx, loc, key);
        answer_option(out, num, label);
        char *line = i18n_format(lx, loc, "menu_item", "n", num, "label", label, (char *)NULL);
        if (!line)
            out->oom = true;
        if (i > 1)
            buf_puts(&menu, "\n");
        buf_puts(&menu, line ? line : "");
        free(line);
    }
    if (menu.oom)
        out->oom = true;
    if (reminder)
        answer_reply(out, i18n_get(lx, loc, "sv_reminder"));
    answer_reply_take(out, i18n_format(lx, loc, is_relapse(v) ? "sv_relapse_question"
                                                              : "sv_question",
                                       "case", k->case_no, "category",
                                       i18n_category(lx, loc, k->category), "menu",
                                       menu.s ? menu.s : "", (char *)NULL));
    buf_cleanup(&menu);
    out->answer.state = fq_convo_state_name(FQ_CONVO_SURVEY);
    answer_set_case(out, k->case_no);
}

/* Pushes the question to a gateway or WeCom resident (explicitly addressed outbound). */
static void push_question(struct fq_ctx *c, const struct fq_case *k, const struct fq_survey *v,
                          bool reminder, struct fq_actions *out)
{
    put_question(c, k, v, case_locale(k), reminder, out);
    actions_outbound_to(out, k->channel, k->user, k);
}

/* ---- people to tell ------------------------------------------------------------------------ */
/* The grid worker of the grid where the case happened (active first), else -1. */
static int grid_worker(const struct fq_ctx *c, const struct fq_case *k)
{
    const struct fq_roster *r = c->roster;
    int place = roster_org_index(r, k->place_org);
    int grid = place >= 0 ? roster_org_at_level(r, place, FQ_LEVEL_GRID) : -1;
    if (grid < 0)
        return -1;
    int fallback = -1;
    for (size_t i = 0; i < r->n_med; i++) {
        if (r->med[i].org != grid || !fq_streq(r->med[i].role, "grid_worker"))
            continue;
        if (r->med[i].active)
            return (int)i;
        if (fallback < 0)
            fallback = (int)i;
    }
    return fallback;
}

/* The nearest supervisor at the case's handling node or above, other than skip; -1 if none. */
static int supervisor_of(const struct fq_ctx *c, const struct fq_case *k, const char *skip)
{
    const struct fq_roster *r = c->roster;
    int node = roster_org_index(r, k->org_id);
    if (node < 0) {
        int m = roster_mediator_index(r, k->mediator_id);
        node = m >= 0 ? r->med[m].org : -1;
    }
    for (; node >= 0; node = r->org[node].parent)
        for (size_t i = 0; i < r->n_med; i++)
            if (r->med[i].supervisor && r->med[i].org == node && !fq_streq(r->med[i].id, skip))
                return (int)i;
    return -1;
}

/* ---- the status table ------------------------------------------------------------------- */
#define SV_ANY_STATUS ((1u << (FQ_SURVEY__COUNT + 1)) - 1)
const struct sv_transition survey_table[SV__EVENT_COUNT] = {
    [SV_QUEUE] = {SV_QUEUE, SV_IN(FQ_SURVEY_SCHEDULED) | SV_IN(FQ_SURVEY_SENT) |
                                SV_IN(FQ_SURVEY_ASKED),
                  FQ_SURVEY_SENT},
    [SV_ASK] = {SV_ASK, SV_IN(FQ_SURVEY_SENT) | SV_IN(FQ_SURVEY_ASKED), FQ_SURVEY_ASKED},
    [SV_AWAIT_COMMENT] = {SV_AWAIT_COMMENT, SV_IN(FQ_SURVEY_SENT) | SV_IN(FQ_SURVEY_ASKED),
                          FQ_SURVEY_COMMENT},
    /* a mediator may record an answer whatever the survey went through */
    [SV_ANSWER] = {SV_ANSWER, SV_ANY_STATUS, FQ_SURVEY_ANSWERED},
    [SV_EXPIRE] = {SV_EXPIRE, SV_IN(FQ_SURVEY_SENT) | SV_IN(FQ_SURVEY_ASKED),
                   FQ_SURVEY_NO_RESPONSE},
    /* anything not finished with an answer or its expiry */
    [SV_CANCEL] = {SV_CANCEL,
                   SV_ANY_STATUS & ~(SV_IN(FQ_SURVEY_ANSWERED) | SV_IN(FQ_SURVEY_NO_RESPONSE)),
                   FQ_SURVEY_CANCELLED},
};

bool survey_enter(struct fq_survey *v, enum sv_event ev)
{
    if ((int)ev < 0 || ev >= SV__EVENT_COUNT)
        return false;
    int st = (int)v->status >= 0 && v->status < FQ_SURVEY__COUNT ? (int)v->status
                                                                : FQ_SURVEY__COUNT;
    if (!(survey_table[ev].from & SV_IN(st)))
        return false;
    v->status = survey_table[ev].next;
    return true;
}

/* ---- steps --------------------------------------------------------------------------------- */
static enum fq_err make_task(struct fq_ctx *c, const struct fq_case *k, struct fq_survey *v,
                             struct fq_actions *out)
{
    int w = grid_worker(c, k);
    const char *mid = w >= 0 ? c->roster->med[w].id : k->mediator_id;
    set_fixed(v->via, sizeof v->via, "task");
    survey_enter(v, SV_QUEUE);
    free(v->task_mediator);
    v->task_mediator = fq_strdup(mid);
    if (mid && !v->task_mediator)
        return FQ_ENOMEM;
    if (mid) {
        actions_assign(out, "survey_task", mid, k);
        notify_take(out, mid, k,
                    i18n_format(c->lex, FQ_LOC_ZH_CN, "sv_notify_task", "case", k->case_no,
                                   "category", i18n_category(c->lex, FQ_LOC_ZH_CN, k->category),
                                   (char *)NULL));
    }
    return FQ_OK;
}

/* The survey timer: ask now (or hand it to the grid worker). */
static enum fq_err send_survey(struct fq_ctx *c, struct fq_case *k, struct fq_survey *v,
                               struct fq_actions *out)
{
    if (v->status != FQ_SURVEY_SCHEDULED)
        return FQ_OK;
    if (k->status != FQ_CASE_RESOLVED || k->resolved_at != v->resolved_at) {
        survey_enter(v, SV_CANCEL);
        return store_survey_update(c->store, v);
    }
    char via[16];
    via_of(c, k, via);
    enum fq_err err = FQ_OK;
    v->sent_at = c->now;
    if (!reachable(c, k, via)) {
        if (is_relapse(v)) {   /* nobody records a relapse answer by hand: skip it */
            set_fixed(v->via, sizeof v->via, via);
            survey_enter(v, SV_CANCEL);
            return store_survey_update(c->store, v);
        }
        if ((err = make_task(c, k, v, out)))
            return err;
    } else {
        set_fixed(v->via, sizeof v->via, via);
        survey_enter(v, SV_QUEUE);
        if (strcmp(via, "chat") != 0) {
            push_question(c, k, v, false, out);
            survey_enter(v, SV_ASK);
        }
        if ((err = convo_to_survey(c, k)))
            return err;
    }
    struct fq_buf data;
    buf_init(&data);
    struct fq_jobj jo = jobj_begin(&data);
    jobj_str(&jo, "kind", v->kind);
    jobj_str(&jo, "via", v->via);
    jobj_end(&jo);
    if (data.oom)
        err = FQ_ENOMEM;
    else if (!(err = store_survey_update(c->store, v)))
        err = record(c, k, "survey_sent", "system", NULL, data.s, true, out);
    buf_cleanup(&data);
    if (err)
        return err;
    int64_t remind = c->cfg->survey_remind_after, expire = c->cfg->survey_expire_after;
    if (remind > 0 && remind < expire && (err = add_timer(c, c->now + remind, kind_remind(v), v)))
        return err;
    return add_timer(c, c->now + expire, kind_expire(v), v);
}

static enum fq_err remind_survey(struct fq_ctx *c, struct fq_case *k, struct fq_survey *v,
                                 struct fq_actions *out)
{
    if (v->status != FQ_SURVEY_SENT && v->status != FQ_SURVEY_ASKED)
        return FQ_OK;
    v->reminded++;
    enum fq_err err = FQ_OK;
    if (strcmp(v->via, "task") == 0) {
        if (v->task_mediator)
            actions_assign(out, "survey_task", v->task_mediator, k);
    } else if (strcmp(v->via, "chat") == 0) {
        survey_enter(v, SV_QUEUE);   /* ask again at the next message */
        err = convo_to_survey(c, k);
    } else if (!reachable(c, k, v->via)) {
        if (is_relapse(v))
            survey_enter(v, SV_CANCEL);
        else if (!(err = make_task(c, k, v, out))) {
            struct fq_buf data;
            buf_init(&data);
            struct fq_jobj jo = jobj_begin(&data);
            jobj_str(&jo, "kind", v->kind);
            jobj_str(&jo, "via", "task");
            jobj_end(&jo);
            err = data.oom ? FQ_ENOMEM
                           : record(c, k, "survey_sent", "system", NULL, data.s, true, out);
            buf_cleanup(&data);
        }
    } else {
        push_question(c, k, v, true, out);
        if (!(err = convo_to_survey(c, k)))
            survey_enter(v, SV_ASK);
    }
    return err ? err : store_survey_update(c->store, v);
}

static enum fq_err expire_survey(struct fq_ctx *c, struct fq_case *k, struct fq_survey *v,
                                 struct fq_actions *out)
{
    (void)out;
    if (v->status == FQ_SURVEY_COMMENT) {   /* answered; the comment was optional */
        survey_enter(v, SV_ANSWER);
        return store_survey_update(c->store, v);
    }
    if (v->status != FQ_SURVEY_SENT && v->status != FQ_SURVEY_ASKED)
        return FQ_OK;
    survey_enter(v, SV_EXPIRE);
    v->closed_at = c->now;
    enum fq_err err = store_survey_update(c->store, v);
    if (!err) {
        struct fq_buf data;
        buf_init(&data);
        struct fq_jobj jo = jobj_begin(&data);
        jobj_str(&jo, "kind", v->kind);
        jobj_end(&jo);
        err = data.oom ? FQ_ENOMEM
                       : record(c, k, "survey_no_response", "system", NULL, data.s, false, out);
        buf_cleanup(&data);
    }
    return err;
}

/* Reopens k (status resolved) at its tier and tells its mediator and supervisor. */
static enum fq_err reopen(struct fq_ctx *c, struct fq_case *k, const char *note,
                          struct fq_actions *out)
{
    struct lc_request rq = {.cmd = LC_REOPEN, .actor = -1, .note = note};
    struct lc_result res;
    int64_t resolved_at = k->resolved_at;
    enum fq_err err = lifecycle_apply(c, k, &rq, &res, out);
    if (err || res.refusal != LC_DONE)
        return err;
    /* this resolution did not hold: its relapse check is moot */
    if ((err = cancel_timers(c, k->id, true)))
        return err;
    struct fq_survey rv;
    err = store_survey_find(c->store, k->id, KIND_RELAPSE, resolved_at, &rv);
    if (!err && survey_enter(&rv, SV_CANCEL))
        err = store_survey_update(c->store, &rv);
    if (err != FQ_ENOTFOUND)
        survey_row_cleanup(&rv);
    if (err && err != FQ_ENOTFOUND)
        return err;
    int sup = supervisor_of(c, k, k->mediator_id);
    const char *who[2] = {k->mediator_id, sup >= 0 ? c->roster->med[sup].id : NULL};
    for (int i = 0; i < 2; i++)
        if (who[i])
            notify_take(out, who[i], k,
                        i18n_format(c->lex, FQ_LOC_ZH_CN, "sv_notify_reopened", "case",
                                       k->case_no, (char *)NULL));
    return FQ_OK;
}

static bool not_solved(const struct fq_ctx *c, const char *comment)
{
    if (!comment || !*comment)
        return false;
    char *n = classify_normalize(comment);
    bool hit = wordlist_find_in(&c->lex->kw[FQ_KW_NOT_SOLVED], n ? n : comment) != NULL;
    free(n);
    return hit;
}

/* Records answer (1..4) and comment on v and reacts: the event, the timers, a reopen. When
 * await_comment, the survey waits for the resident's optional comment (status "comment"). */
static enum fq_err apply_answer(struct fq_ctx *c, struct fq_case *k, struct fq_survey *v,
                                int answer, const char *comment, const char *actor,
                                bool await_comment, struct fq_actions *out)
{
    v->answer = answer;
    v->answered_at = v->closed_at = c->now;
    free(v->answered_by);
    free(v->comment);
    v->answered_by = fq_strdup(actor);
    v->comment = fq_strdup(comment);
    if (!v->answered_by || (comment && !v->comment))
        return FQ_ENOMEM;
    survey_enter(v, await_comment ? SV_AWAIT_COMMENT : SV_ANSWER);
    enum fq_err err;
    char data[24];   /* {"answer":N}: a number, nothing to escape */
    snprintf(data, sizeof data, "{\"answer\":%d}", answer);
    if ((err = cancel_timers(c, k->id, false)) || (err = store_survey_update(c->store, v)) ||
        (err = record(c, k, "survey_answered", actor, comment, data, true, out)))
        return err;
    if (answer == 4 || not_solved(c, comment))
        return reopen(c, k, comment, out);
    return FQ_OK;
}

enum fq_err survey_record_answer(struct fq_ctx *c, struct fq_case *k, int answer,
                                 const char *comment, const char *actor, struct fq_actions *out)
{
    if (answer < 1 || answer > 4)
        return FQ_EINVAL;
    struct fq_survey v;
    enum fq_err err = store_survey_find(c->store, k->id, KIND_SAT, k->resolved_at, &v);
    bool by_resident = fq_streq(actor, "resident");
    if (err == FQ_ENOTFOUND) {   /* answered before any survey was scheduled or sent */
        memset(&v, 0, sizeof v);
        v.case_id = k->id;
        set_fixed(v.kind, sizeof v.kind, KIND_SAT);
        v.resolved_at = k->resolved_at;
        set_fixed(v.via, sizeof v.via, by_resident ? "chat" : "task");
        v.status = FQ_SURVEY_ANSWERED;
        v.created_at = v.sent_at = c->now;
        if ((err = store_survey_insert(c->store, &v)))
            return err;
    } else if (err) {
        return err;
    }
    err = apply_answer(c, k, &v, answer, comment, actor, false, out);
    survey_row_cleanup(&v);
    return err;
}

enum fq_err survey_schedule(struct fq_ctx *c, const struct fq_case *k, struct fq_actions *out)
{
    (void)out;
    char via[16];
    via_of(c, k, via);
    for (int i = 0; i < 2; i++) {
        bool relapse = i == 1;
        int64_t delay = relapse ? c->cfg->survey_relapse_check : c->cfg->survey_delay;
        if (relapse && delay <= 0)
            continue;
        struct fq_survey v;
        memset(&v, 0, sizeof v);
        v.case_id = k->id;
        set_fixed(v.kind, sizeof v.kind, relapse ? KIND_RELAPSE : KIND_SAT);
        v.resolved_at = k->resolved_at;
        set_fixed(v.via, sizeof v.via, via);
        v.status = FQ_SURVEY_SCHEDULED;
        v.created_at = c->now;
        enum fq_err err = store_survey_insert(c->store, &v);
        if (err == FQ_EEXIST)
            continue;   /* this resolution has its survey already */
        if (!err)
            err = add_timer(c, c->now + (delay > 0 ? delay : 0),
                            relapse ? FQ_TIMER_RELAPSE_CHECK : FQ_TIMER_SURVEY, &v);
        if (err)
            return err;
    }
    return FQ_OK;
}

/* ---- relapse ------------------------------------------------------------------------------- */
/* Opens the relapse of old as a new linked case, one tier above old's handling node. */
static enum fq_err open_relapse(struct fq_ctx *c, const struct fq_case *old, int loc,
                                struct fq_actions *out, struct fq_case *nk)
{
    char *desc = i18n_format(c->lex, loc, "sv_relapse_description", "case", old->case_no,
                             "description", old->description ? old->description : "",
                             (char *)NULL);
    if (!desc)
        return FQ_ENOMEM;
    struct fq_report r = {
        .channel = old->channel, .user = old->user, .name = old->name, .contact = old->contact,
        .locale = old->locale, .category = old->category, .org_id = old->place_org,
        .place_text = old->place_text, .description = desc, .people = old->people,
        .has_location = old->has_location, .latitude = old->latitude,
        .longitude = old->longitude,
        .parent = old,
    };
    enum fq_err err = case_open(c, &r, out, nk);
    free(desc);
    if (err)
        return err;
    int node = roster_org_index(c->roster, old->org_id);
    int parent = node >= 0 ? c->roster->org[node].parent : -1;
    int cur = roster_org_index(c->roster, nk->org_id);
    /* one tier above the old case, unless routing already put it there or higher */
    if (parent >= 0 && !(cur >= 0 && roster_org_is_ancestor(c->roster, cur, parent))) {
        err = case_reassign_at(c, nk, parent, "system", old->case_no, out, NULL);
        if (err == FQ_ENOTFOUND)
            err = FQ_OK;   /* nobody above: it stays where routing put it */
    }
    return err;
}

/* ---- the resident's messages in state "survey" --------------------------------------------- */
/* 1..n from a numbered answer, an ordinal (第一个, the last one), an option's label or a part of
 * exactly one (any locale), or for the relapse check a yes or no word (handlers/intent.h); -1
 * otherwise, INTENT_AMBIGUOUS when a part names several options. */
static int parse_answer(const struct fq_ctx *c, const struct fq_survey *v, const char *norm)
{
    int n = is_relapse(v) ? 2 : 4;
    int k = classify_choice(norm);
    if (k >= 1 && k <= n)
        return k;
    if (is_relapse(v)) {
        if (wordlist_has(&c->lex->kw[FQ_KW_YES], norm))
            return 1;
        if (wordlist_has(&c->lex->kw[FQ_KW_NO], norm))
            return 2;
    }
    if ((k = intent_ordinal(c->lex, norm, (size_t)n)) >= 0)
        return k + 1;
    for (int l = 0; l < FQ_N_LOCALES; l++) {
        const char *labels[4];
        for (int i = 0; i < n; i++) {
            char key[32];
            snprintf(key, sizeof key, is_relapse(v) ? "sv_relapse_opt_%d" : "sv_opt_%d", i + 1);
            labels[i] = i18n_get(c->lex, l, key);
        }
        int amb[4];
        size_t na = 0;
        k = intent_choose(c->lex, norm, labels, (size_t)n, amb, &na);
        if (k >= 0)
            return k + 1;
        if (k == INTENT_AMBIGUOUS)
            return k;
    }
    return -1;
}

static enum fq_err relapse_answer(struct fq_ctx *c, struct fq_case *k, struct fq_survey *v,
                                  int answer, int loc, struct fq_actions *out)
{
    v->answer = answer;
    v->answered_at = v->closed_at = c->now;
    free(v->answered_by);
    v->answered_by = fq_strdup("resident");
    if (!v->answered_by)
        return FQ_ENOMEM;
    survey_enter(v, SV_ANSWER);
    enum fq_err err = cancel_timers(c, k->id, true);
    struct fq_case nk;
    memset(&nk, 0, sizeof nk);
    if (!err && answer == 1) {
        err = open_relapse(c, k, loc, out, &nk);
        v->new_case = nk.id;
    }
    struct fq_buf data;
    buf_init(&data);
    struct fq_jobj jo = jobj_begin(&data);
    jobj_str(&jo, "kind", "relapse");
    jobj_int(&jo, "answer", answer);
    jobj_str(&jo, "new_case", nk.case_no);
    jobj_end(&jo);
    if (!err && data.oom)
        err = FQ_ENOMEM;
    if (!err)
        err = store_survey_update(c->store, v);
    if (!err)
        err = record(c, k, "survey_answered", "resident", NULL, data.s, true, out);
    buf_cleanup(&data);
    if (!err && answer == 1) {
        int u = roster_org_index(c->roster, nk.org_id);
        answer_set_case(out, nk.case_no);
        answer_reply_take(out, i18n_format(c->lex, loc, "sv_relapse_opened", "case", nk.case_no,
                                           "old", k->case_no, "unit",
                                           u >= 0 ? c->roster->org[u].name : "", (char *)NULL));
        if (k->mediator_id)
            notify_take(out, k->mediator_id, k,
                        i18n_format(c->lex, FQ_LOC_ZH_CN, "sv_notify_relapse", "old",
                                       k->case_no, "case", nk.case_no, (char *)NULL));
    } else if (!err) {
        answer_reply(out, i18n_get(c->lex, loc, "sv_relapse_no"));
        answer_set_case(out, k->case_no);
    }
    case_cleanup(&nk);
    return err;
}

enum fq_err survey_on_message(struct fq_ctx *c, const struct fq_msg *m, struct fq_convo *cv,
                              struct fq_actions *out)
{
    int loc = cv->locale >= 0 && cv->locale < FQ_N_LOCALES ? cv->locale : FQ_LOC_ZH_CN;
    struct fq_survey v;
    struct fq_case k;
    memset(&k, 0, sizeof k);
    char *norm = NULL;
    enum fq_err err = store_survey_open_for(c->store, cv->channel, cv->user, &v);
    if (err == FQ_ENOTFOUND) {   /* nothing to answer (expired): an ordinary message */
        cv->state = FQ_CONVO_IDLE;
        return FQ_OK;
    }
    if (err)
        return err;
    if ((err = store_case_get_id(c->store, v.case_id, &k)))
        goto out;
    if (!(norm = classify_normalize(m->text ? m->text : ""))) {
        err = FQ_ENOMEM;
        goto out;
    }
    bool skip = *norm && wordlist_has(&c->lex->kw[FQ_KW_SKIP], norm);
    if (v.status == FQ_SURVEY_COMMENT) {
        const char *comment = skip || !*norm ? NULL : m->text;
        survey_enter(&v, SV_ANSWER);
        if (comment && !(v.comment = fq_strdup(comment))) {
            err = FQ_ENOMEM;
            goto out;
        }
        if ((err = store_survey_update(c->store, &v)))
            goto out;
        bool reopened = false;
        if (comment && not_solved(c, comment) && k.status == FQ_CASE_RESOLVED) {
            if ((err = reopen(c, &k, comment, out)))
                goto out;
            reopened = k.status == FQ_CASE_REOPENED;
        }
        answer_reply_take(out, i18n_format(c->lex, loc, reopened ? "sv_reopened" : "sv_thanks",
                                           "case", k.case_no, (char *)NULL));
        answer_set_case(out, k.case_no);
        cv->state = FQ_CONVO_IDLE;
        goto out;
    }
    int answer = parse_answer(c, &v, norm);
    /* emoji or a sticker only: no answer, and no new report either; the question again */
    bool wordless = m->text && *m->text && !lang_has_words(m->text);
    if (wordless)
        answer_reply(out, i18n_get(c->lex, loc, "wordless_reask"));
    if (answer < 0) {
        /* the question was queued, the answer was unclear or had no words: ask it now */
        if (answer == INTENT_AMBIGUOUS || wordless || v.status == FQ_SURVEY_SENT) {
            put_question(c, &k, &v, loc, v.reminded > 0, out);
            survey_enter(&v, SV_ASK);
            err = store_survey_update(c->store, &v);
        } else if (skip) {                     /* later: the reminder asks again */
            answer_reply(out, i18n_get(c->lex, loc, "sv_skipped"));
            cv->state = FQ_CONVO_IDLE;
        } else {                               /* not an answer: an ordinary message */
            cv->state = FQ_CONVO_IDLE;
        }
        goto out;
    }
    if (is_relapse(&v)) {
        err = relapse_answer(c, &k, &v, answer, loc, out);
        cv->state = FQ_CONVO_IDLE;
        goto out;
    }
    if (k.status != FQ_CASE_RESOLVED || k.resolved_at != v.resolved_at) {
        survey_enter(&v, SV_CANCEL);   /* the case moved on meanwhile */
        err = store_survey_update(c->store, &v);
        cv->state = FQ_CONVO_IDLE;
        goto out;
    }
    if ((err = apply_answer(c, &k, &v, answer, NULL, "resident", true, out)))
        goto out;
    if (k.status == FQ_CASE_REOPENED)
        answer_reply_take(out, i18n_format(c->lex, loc, "sv_reopened", "case", k.case_no,
                                           (char *)NULL));
    answer_reply(out, i18n_get(c->lex, loc, "sv_ask_comment"));
    answer_set_case(out, k.case_no);
    out->answer.state = fq_convo_state_name(FQ_CONVO_SURVEY);
out:
    free(norm);
    case_cleanup(&k);
    survey_row_cleanup(&v);
    if (!err && out->oom)
        err = FQ_ENOMEM;
    return err;
}

/* ---- timers -------------------------------------------------------------------------------- */
enum fq_err survey_on_timer(struct fq_ctx *c, const struct fq_timer *t, struct fq_actions *out)
{
    enum fq_timer_kind kind = t->kind;
    char *end = NULL;
    long long id = t->arg ? strtoll(t->arg, &end, 10) : 0;
    if (!t->arg || *end || id <= 0)
        return FQ_OK;   /* not one of ours: nothing to do */
    struct fq_survey v;
    enum fq_err err = store_survey_get(c->store, (int64_t)id, &v);
    if (err == FQ_ENOTFOUND)
        return FQ_OK;
    if (err)
        return err;
    struct fq_case k;
    memset(&k, 0, sizeof k);
    if ((err = store_case_get_id(c->store, v.case_id, &k)))
        goto out;
    switch (kind) {
    case FQ_TIMER_SURVEY:
    case FQ_TIMER_RELAPSE_CHECK:
        err = send_survey(c, &k, &v, out);
        break;
    case FQ_TIMER_SURVEY_REMIND:
    case FQ_TIMER_SURVEY_RELAPSE_REMIND:
        err = remind_survey(c, &k, &v, out);
        break;
    case FQ_TIMER_SURVEY_EXPIRE:
    case FQ_TIMER_SURVEY_RELAPSE_EXPIRE:
        err = expire_survey(c, &k, &v, out);
        break;
    default:
        break;
    }
out:
    if (err == FQ_ENOTFOUND)
        err = FQ_OK;   /* the case is gone */
    case_cleanup(&k);
    survey_row_cleanup(&v);
    if (!err && out->oom)
        err = FQ_ENOMEM;
    return err;
}

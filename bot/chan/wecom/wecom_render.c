/* wecom_render.c: the outbox rows the core writes for WeCom (channel "wecom"), inside the same
 * transaction as the change they report (bot/render/payload.c calls these).
 *
 * Design choices:
 * - A row's topic is "<api path> <recipient>" so the delivery thread (bot/chan/wecom/wecom_deliver.c) keeps
 *   per-recipient order without parsing JSON; the payload is the request body without the
 *   access token (tokens live only in memory).
 * - Every text a person reads comes from locales/ (keys "wc_*"), in zh-CN for mediators (the
 *   roster has no locale for them) and in the conversation's locale for residents.
 * - Residents on 微信客服: the bot's replies to one message are joined into ONE kf message (the
 *   account may send only 5 per customer message within 48 h); numbered options become a
 *   msgmenu when they fit (at most 10 items, labels <= 128 bytes, head <= 1024 bytes). Before a
 *   kf row is written the window is checked in the store (wecom_kf_can_reach) and counted
 *   (store_wecom_kf_sent); when closed nothing is queued and the reason is recorded.
 * - message/send carries enable_duplicate_check with a 10-minute interval: long enough to
 *   cover our own retries after a timeout, short enough that an identical answer later (the
 *   same "please reply with a number") is not swallowed. kf/send_msg carries the row's event
 *   id as msgid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot/sys/log.h"
#include "bot/sys/metrics.h"
#include "bot/render/payload.h"
#include "bot/chan/wecom/wecom_callback.h"
#include "bot/chan/wecom/wecom_deliver.h"
#include "bot/chan/wecom/wecom_render.h"
#include "handlers/actions.h"
#include "handlers/dispatch.h"
#include "handlers/lifecycle.h"
#include "store/case_table.h"
#include "store/outbox_table.h"
#include "store/wecom_kf.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/i18n.h"

#define TEXT_MAX 2000                /* WeCom truncates text beyond 2048 bytes */
#define DUP_INTERVAL 600

/* Cuts s to at most max bytes at a UTF-8 boundary (in place). */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

static long agent_id(const struct fq_ctx *c)
{
    return c->cfg->wecom_agent_id ? strtol(c->cfg->wecom_agent_id, NULL, 10) : 0;
}

/* Closes the request body o (common/fq.h's writer), writes the row and empties o's buffer. */
static enum fq_err put(struct fq_ctx *c, const char *path, const char *who, struct fq_jobj *o,
                       const char *case_no, char id[33])
{
    jobj_end(o);
    struct fq_buf topic;
    buf_init(&topic);
    buf_printf(&topic, "%s %s", path, who);
    enum fq_err err = topic.oom || o->b->oom
                          ? FQ_ENOMEM
                          : store_outbox_add(c->store, "wecom", topic.s, o->b->s, false, id,
                                             case_no, c->now, NULL);
    buf_cleanup(&topic);
    buf_cleanup(o->b);
    return err;
}

/* The fields every message/send body ends with. */
static void dup_check(struct fq_jobj *o)
{
    jobj_int(o, "enable_duplicate_check", 1);
    jobj_int(o, "duplicate_check_interval", DUP_INTERVAL);
}

/* "key": {"inner": v} */
static void obj_one(struct fq_jobj *o, const char *key, const char *inner, const char *v)
{
    jobj_key(o, key);
    struct fq_jobj in = jobj_begin(o->b);
    jobj_str(&in, inner, v);
    jobj_end(&in);
}

static enum fq_err app_text(struct fq_ctx *c, const char *userid, const char *text,
                            const char *case_no)
{
    if (!userid || !*userid || !text || !*text)
        return FQ_OK;
    char *t = fq_strdup(text);
    if (!t)
        return FQ_ENOMEM;
    cut_utf8(t, TEXT_MAX);
    char id[33];
    payload_event_id(id);
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    jobj_str(&o, "touser", userid);
    jobj_str(&o, "msgtype", "text");
    jobj_int(&o, "agentid", agent_id(c));
    obj_one(&o, "text", "content", t);
    jobj_int(&o, "safe", 0);
    dup_check(&o);
    free(t);
    return put(c, "message/send", userid, &o, case_no, id);
}

static char *joined_replies(const struct fq_answer *an)
{
    struct fq_buf b;
    buf_init(&b);
    for (size_t i = 0; i < an->n_replies; i++)
        buf_printf(&b, "%s%s", i ? "\n\n" : "", an->replies[i]);
    if (!b.s)
        buf_add(&b, "", 0);
    return buf_take(&b);
}

static bool menu_fits(const struct fq_answer *an, const char *head)
{
    if (an->n_options == 0 || an->n_options > 10 || strlen(head) > 1024)
        return false;
    for (size_t i = 0; i < an->n_options; i++) {
        size_t n = an->options[i].label ? strlen(an->options[i].label) : 0;
        if (n == 0 || n > 128 || strlen(an->options[i].key) == 0)
            return false;
    }
    return true;
}

static enum fq_err kf_answer(struct fq_ctx *c, const char *user, const struct fq_answer *an,
                             char *text)
{
    if (!wecom_kf_can_reach(c->store, user, c->now)) {
        struct wecom_kf_state st;
        const char *why = "unknown_user";
        if (store_wecom_kf_get(c->store, user, &st) == FQ_OK)
            why = c->now - st.last_in >= WECOM_KF_WINDOW_S ? "window_48h" : "count_5";
        log_warn("wecom kf message not sent: window closed reason=%s", why);
        metrics_wecom_kf_blocked();
        return store_wecom_kf_blocked(c->store, user, why, c->now);
    }
    const char *kfid = c->cfg->wecom_open_kfid ? c->cfg->wecom_open_kfid : "";
    char id[33];
    payload_event_id(id);
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    jobj_str(&o, "touser", user);
    jobj_str(&o, "open_kfid", kfid);
    jobj_str(&o, "msgid", id);
    if (menu_fits(an, text)) {
        jobj_str(&o, "msgtype", "msgmenu");
        jobj_key(&o, "msgmenu");
        struct fq_jobj menu = jobj_begin(&b);
        jobj_str(&menu, "head_content", text);
        jobj_key(&menu, "list");
        struct fq_jarr list = jarr_begin(&b);
        for (size_t i = 0; i < an->n_options; i++) {
            jarr_item(&list);
            struct fq_jobj item = jobj_begin(&b);
            jobj_str(&item, "type", "click");
            jobj_key(&item, "click");
            struct fq_jobj click = jobj_begin(&b);
            jobj_str(&click, "id", an->options[i].key);
            jobj_str(&click, "content", an->options[i].label);
            jobj_end(&click);
            jobj_end(&item);
        }
        jarr_end(&list);
        jobj_end(&menu);
    } else {
        cut_utf8(text, TEXT_MAX);
        jobj_str(&o, "msgtype", "text");
        obj_one(&o, "text", "content", text);
    }
    enum fq_err err = put(c, "kf/send_msg", user, &o, an->case_no, id);
    return err ? err : store_wecom_kf_sent(c->store, user);
}

enum fq_err wecom_payload_answer(struct fq_ctx *c, const char *channel, const char *user,
                                 const struct fq_answer *an)
{
    if (!user || !channel || an->n_replies == 0)
        return FQ_OK;
    char *text = joined_replies(an);
    if (!text)
        return FQ_ENOMEM;
    enum fq_err err;
    if (strcmp(channel, "wecom_kf") == 0)
        err = kf_answer(c, user, an, text);
    else
        err = app_text(c, user, text, an->case_no);
    free(text);
    return err;
}

/* The mediator's WeCom userid, NULL when the roster has none. */
static const char *wecom_user_of(const struct fq_ctx *c, const char *mediator_id)
{
    int i = roster_mediator_index(c->roster, mediator_id);
    return i >= 0 ? c->roster->med[i].wecom_userid : NULL;
}

enum fq_err wecom_payload_med_reply(struct fq_ctx *c, const struct fq_msg *m,
                                    const struct fq_action *x)
{
    enum fq_err err = app_text(c, m->user, x->text, NULL);
    if (err || !m->response_code || !*m->response_code)
        return err;
    /* the button's new label: wc_card_ok_<command> (handlers/lifecycle.h), or refused */
    char key[64];
    snprintf(key, sizeof key, "wc_card_ok_%s", m->command ? m->command : "");
    char id[33];
    payload_event_id(id);
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    jobj_key(&o, "userids");
    struct fq_jarr ids = jarr_begin(&b);
    jarr_item(&ids);
    buf_json_string(&b, m->user);
    jarr_end(&ids);
    jobj_int(&o, "agentid", agent_id(c));
    jobj_str(&o, "response_code", m->response_code);
    obj_one(&o, "button", "replace_name",
            i18n_get(c->lex, FQ_LOC_ZH_CN, x->ok ? key : "wc_card_refused"));
    return put(c, "message/update_template_card", m->user, &o, NULL, id);
}

/* desc_color of the card's source line: 0 grey, 1 black, 2 red, 3 green. */
static int severity_colour(int sev)
{
    return sev == FQ_SEV_RED ? 2 : sev == FQ_SEV_YELLOW ? 1 : 3;
}

enum fq_err wecom_payload_assign(struct fq_ctx *c, const struct fq_action *x,
                                 const struct fq_case *k)
{
    if (!k || !x->type || strcmp(x->type, "assigned") != 0)
        return FQ_OK;
    const char *uid = wecom_user_of(c, x->target);
    if (!uid || !*uid)
        return FQ_OK;
    const int loc = FQ_LOC_ZH_CN;
    const struct fq_roster *r = c->roster;
    int place = roster_org_index(r, k->place_org);
    const char *place_name = place >= 0 ? r->org[place].name
                             : k->place_text ? k->place_text
                                             : i18n_get(c->lex, loc, "wc_unknown");
    char *phone = k->contact ? fq_mask_phone(k->contact) : NULL;
    char *title = i18n_format(c->lex, loc, "wc_card_title", "case", k->case_no, (char *)NULL);
    struct fq_buf b;
    buf_init(&b);
    char id[33];
    payload_event_id(id);
    buf_printf(&b, "fq_%s_%.8s", k->case_no, id);   /* task_id: unique per card */
    char *task = buf_take(&b);
    enum fq_err err = FQ_ENOMEM;
    if (!title || !task || (k->contact && !phone))
        goto out;
    struct fq_jobj o = jobj_begin(&b);
    jobj_str(&o, "touser", uid);
    jobj_str(&o, "msgtype", "template_card");
    jobj_int(&o, "agentid", agent_id(c));
    jobj_key(&o, "template_card");
    struct fq_jobj card = jobj_begin(&b);
    jobj_str(&card, "card_type", "button_interaction");
    jobj_key(&card, "source");
    struct fq_jobj src = jobj_begin(&b);
    jobj_str(&src, "desc", i18n_severity(c->lex, loc, k->severity));
    jobj_int(&src, "desc_color", severity_colour(k->severity));
    jobj_end(&src);
    jobj_key(&card, "main_title");
    struct fq_jobj mt = jobj_begin(&b);
    jobj_str(&mt, "title", title);
    jobj_str(&mt, "desc", i18n_category(c->lex, loc, k->category));
    jobj_end(&mt);
    jobj_str(&card, "sub_title_text", i18n_get(c->lex, loc, "wc_card_hint"));
    const char *const hz[4][2] = {
        {"wc_card_category", i18n_category(c->lex, loc, k->category)},
        {"wc_card_severity", i18n_severity(c->lex, loc, k->severity)},
        {"wc_card_place", place_name},
        {"wc_card_phone", phone ? phone : i18n_get(c->lex, loc, "wc_unknown")},
    };
    jobj_key(&card, "horizontal_content_list");
    struct fq_jarr list = jarr_begin(&b);
    for (int i = 0; i < 4; i++) {
        jarr_item(&list);
        struct fq_jobj kv = jobj_begin(&b);
        jobj_str(&kv, "keyname", i18n_get(c->lex, loc, hz[i][0]));
        jobj_str(&kv, "value", hz[i][1]);
        jobj_end(&kv);
    }
    jarr_end(&list);
    jobj_str(&card, "task_id", task);
    jobj_key(&card, "button_list");
    struct fq_jarr buttons = jarr_begin(&b);
    /* one button per card command of lifecycle_commands, the first one primary (style 1) */
    for (int i = 0, n = 0; i < LC__CMD_COUNT; i++) {
        const char *name = lifecycle_commands[i].name;
        if (!lifecycle_commands[i].card)
            continue;
        char label[64], key[96];
        snprintf(label, sizeof label, "wc_btn_%s", name);
        snprintf(key, sizeof key, "%s%c%s", name, WECOM_KEY_SEP, k->case_no);
        jarr_item(&buttons);
        struct fq_jobj bt = jobj_begin(&b);
        jobj_str(&bt, "text", i18n_get(c->lex, loc, label));
        jobj_int(&bt, "style", n++ ? 2 : 1);
        jobj_str(&bt, "key", key);
        jobj_end(&bt);
    }
    jarr_end(&buttons);
    jobj_end(&card);
    dup_check(&o);
    err = put(c, "message/send", uid, &o, k->case_no, id);
out:
    free(phone);
    free(title);
    free(task);
    buf_cleanup(&b);
    return err;
}

enum fq_err wecom_payload_notify(struct fq_ctx *c, const struct fq_action *x,
                                 const struct fq_case *k)
{
    return app_text(c, wecom_user_of(c, x->target), x->text, k ? k->case_no : NULL);
}

enum fq_err wecom_inbound_prepare(struct fq_ctx *c, struct fq_msg *m)
{
    if (m->kind == FQ_MSG_COMMAND && m->mediator) {
        int med = dispatch_sender(c->roster, m);   /* by FromUserName = wecom_userid */
        if (med >= 0) {
            char *id = fq_strdup(c->roster->med[med].id);
            if (!id)
                return FQ_ENOMEM;
            free(m->mediator);
            m->mediator = id;
        }
        return FQ_OK;
    }
    if (m->kind == FQ_MSG_CHAT && fq_streq(m->channel, "wecom_kf") && m->user)
        return store_wecom_kf_inbound(c->store, m->user, m->at);
    return FQ_OK;
}

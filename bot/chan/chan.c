/* chan.c: the table of channels (bot/chan/chan.h). A new channel is a folder under bot/chan/
 * that defines its struct fq_chan, and one line here. */
#include "bot/chan/chan.h"

#include <string.h>

#include "bot/chan/chat/chat_chan.h"
#include "bot/chan/mqtt/mqtt_chan.h"
#include "bot/chan/web/web_chan.h"
#include "bot/chan/wecom/wecom_chan.h"
#include "common/fq.h"

static const struct fq_chan *const table[] = {
    &chan_chat,       /* the signed chat webhook (docs/contract.md 3.1) */
    &chan_mqtt,       /* gateways and mediator commands over MQTT (docs/contract.md 4.3, 4.4) */
    &chan_wecom,      /* the WeCom app: callback, cards, texts (docs/contract.md 3.2) */
    &chan_wecom_kf,   /* WeCom customer service (微信客服), pulled after the app's doorbell */
    &chan_web,        /* the web workbench's commands (docs/contract.md 12) */
};

size_t chan_count(void) { return sizeof table / sizeof *table; }

const struct fq_chan *chan_at(size_t i) { return i < chan_count() ? table[i] : NULL; }

int chan_index(const struct fq_chan *ch)
{
    for (size_t i = 0; i < chan_count(); i++)
        if (table[i] == ch)
            return (int)i;
    return -1;
}

const struct fq_chan *chan_by_path(const char *path)
{
    for (size_t i = 0; path && i < chan_count(); i++)
        if (table[i]->http_path && strcmp(table[i]->http_path, path) == 0)
            return table[i];
    return NULL;
}

const struct fq_chan *chan_by_name(const char *channel)
{
    for (size_t i = 0; channel && i < chan_count(); i++)
        for (const char *const *o = table[i]->owns; o && *o; o++)
            if (strcmp(*o, channel) == 0)
                return table[i];
    return NULL;
}

void chan_stamp(struct fq_msg *m, const struct fq_chan *ch, enum fq_ident ident,
                enum fq_reach reach)
{
    m->chan = ch;
    m->ident = ident;
    m->reach = reach;
}

void chan_scope(const struct fq_msg *m, struct fq_buf *b)
{
    if (m->chan && m->chan->scope)
        m->chan->scope(m, b);
    else if (m->kind == FQ_MSG_COMMAND)
        buf_printf(b, "cmd:%s", m->mediator);
    else
        buf_printf(b, "chat:%s:%s", m->channel, m->user);
}

enum fq_err chan_push(struct fq_ctx *c, const struct fq_action *x, const struct fq_case *k)
{
    enum fq_err err = FQ_OK;
    for (size_t i = 0; i < chan_count() && !err; i++)
        if (table[i]->push)
            err = table[i]->push(c, x, k);
    return err;
}

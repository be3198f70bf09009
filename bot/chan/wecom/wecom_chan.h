/* wecom_chan.h: the WeCom app and WeCom customer service (微信客服) as channels
 * (bot/chan/wecom/wecom_chan.c). */
#ifndef FQ_WECOM_CHAN_H
#define FQ_WECOM_CHAN_H

#include "bot/chan/chan.h"

/* The app (channel "wecom"): GET/HEAD/POST /wecom/callback (docs/contract.md 3.2, docs/wecom.md
 * 2-5), verified (msg_signature, age) before anything is decrypted; a member's message or card
 * click goes to the core and is answered 200 at once (WeCom retries are deduplicated by the
 * core); a 微信客服 doorbell wakes the puller. Answers, card outcomes, assignment cards and notices
 * are outbox rows for the WeCom API (bot/chan/wecom/wecom_render.c). */
extern const struct fq_chan chan_wecom;
/* Customer service (channel "wecom_kf"): its messages are pulled with kf/sync_msg by
 * bot/chan/wecom/wecom_deliver.c after the app's signed doorbell, so it has no request hooks;
 * answers go out by kf/send_msg within the 48 h / 5-message window. Customers are residents. */
extern const struct fq_chan chan_wecom_kf;

#endif

/* chat_chan.h: the signed chat webhook as a channel (bot/chan/chat/chat_chan.c). */
#ifndef FQ_CHAT_CHAN_H
#define FQ_CHAT_CHAN_H

#include "bot/chan/chan.h"

/* POST /chat/v1/messages (docs/contract.md 3.1): size, Content-Type, X-FQ-Signature (HMAC-SHA256
 * of timestamp "." body under chat.secret) and X-FQ-Timestamp (300 s window) verified before the
 * body is parsed; answered after the commit with the answer JSON; rate-limited per sender. */
extern const struct fq_chan chan_chat;

#endif

/* web_chan.h: the web workbench as a channel (bot/web/): a mediator's command pressed on a case
 * page is an FQ_MSG_COMMAND of this channel, parsed and run like one over MQTT. */
#ifndef FQ_WEB_CHAN_H
#define FQ_WEB_CHAN_H

#include "bot/chan/chan.h"

extern const struct fq_chan chan_web;

#endif

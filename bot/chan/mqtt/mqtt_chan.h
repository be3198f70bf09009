/* mqtt_chan.h: gateways and mediator commands over MQTT as a channel
 * (bot/chan/mqtt/mqtt_chan.c); the connection itself is bot/net/mqtt.c. */
#ifndef FQ_MQTT_CHAN_H
#define FQ_MQTT_CHAN_H

#include <stddef.h>

#include "bot/chan/chan.h"
#include "common/fq.h"

/* Size bounds for inbound messages: a payload above MQTT_MAX_PAYLOAD, or a command field above
 * MQTT_MAX_FIELD bytes, is dropped with a log line. */
#define MQTT_MAX_PAYLOAD (64 * 1024)
#define MQTT_MAX_FIELD (4 * 1024)

/* `{p}/inbound/{channel}`: a chat body (docs/contract.md 3.1) from a gateway, whose channel must
 * be the topic's (FQ_IDENT_GATEWAY, FQ_REACH_PUSH: answered on `{p}/outbound/{channel}/{user}`);
 * `{p}/mediators/{id}/commands`: a mediator command (docs/contract.md 4.4) of mediator id
 * (FQ_IDENT_MEDIATOR), answered on `{p}/mediators/{id}/replies`. The broker's ACL is the
 * authentication; verify bounds the topic and the payload. Drops are logged, payloads never. */
extern const struct fq_chan chan_mqtt;

/* Parses a mediator command payload (docs/contract.md 4.4) for mediator `mediator_id` into a new
 * FQ_MSG_COMMAND of chan_mqtt (caller frees with fq_msg_free). FQ_EINVAL when it is not a JSON
 * object, a field is not a string, exceeds MQTT_MAX_FIELD or holds a NUL, or "command" is
 * missing or empty; *why (static) names the problem. Whether the command and case make sense is
 * for handlers/mediator.c, which answers on `{p}/mediators/{id}/replies`. Exposed for tests. */
enum fq_err mqtt_parse_command(const char *mediator_id, const char *payload, size_t len,
                               struct fq_msg **out, const char **why);

#endif

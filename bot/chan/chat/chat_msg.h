/* chat_msg.h: the chat webhook's body (docs/contract.md 3.1), shared by the HTTP endpoint and the MQTT
 * `inbound/{channel}` topic, and the JSON of answers. */
#ifndef FQ_CHAT_MSG_H
#define FQ_CHAT_MSG_H

#include <stddef.h>

#include "common/fq.h"
#include "handlers/actions.h"

struct fq_actions;
struct fq_answer;

/* Parses and validates a message body (UTF-8 JSON object, required fields, types, sizes).
 * On success *out is a new FQ_MSG_CHAT (caller owns; the channel that took it stamps it). On failure
 * returns FQ_EINVAL and *why (static string) names the field or the problem. */
enum fq_err chat_parse(const char *body, size_t len, struct fq_msg **out, const char **why);

/* The 200 body of docs/contract.md 3.1 for an answer:
 * {"replies":[{"text":..}],"state":..,"options":.., "case":..}. Caller frees; NULL on oom. */
char *chat_answer_json(const struct fq_actions *a);
/* The same fields into an open object (the outbound payload of docs/contract.md 4.1 adds its
 * own). */
void chat_answer_write(struct fq_jobj *o, const struct fq_answer *an);
/* {"error": code, "message": text}. Caller frees. */
char *chat_error_json(const char *code, const char *message);

#endif

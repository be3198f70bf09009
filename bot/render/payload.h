/* payload.h: turns a handler's actions into outbox rows (MQTT topics and JSON payloads of
 * docs/contract.md 4), inside the core's open transaction, so an event exists exactly when the
 * change it reports is committed. */
#ifndef FQ_PAYLOAD_H
#define FQ_PAYLOAD_H

#include "common/fq.h"
#include "handlers/actions.h"
#include "store/case_table.h"

struct fq_msg;

/* What payload_emit saw, for metrics counted after commit. */
struct payload_stats {
    size_t created;                   /* cases created */
    char category[8][24];
    int severity[8];
};

/* Writes one outbox row per action of a (in order). m is the message that caused them (its
 * channel/user address outbound replies). Returns a store error, or FQ_ENOMEM. */
enum fq_err payload_emit(struct fq_ctx *c, const char *prefix, const struct fq_msg *m,
                         const struct fq_actions *a, struct payload_stats *st);

/* The JSON of a case as published (docs/contract.md 4.2); personal data masked unless
 * with_contact. Caller frees. */
char *payload_case_json(const struct fq_ctx *c, const struct fq_case *k, bool with_contact);
/* The same fields written into the open object o, for a reader that adds its own (bot/admin/). */
void payload_case_fields(struct fq_jobj *o, const struct fq_ctx *c, const struct fq_case *k,
                         bool with_contact);

/* A fresh random event id (32 hex chars + NUL). */
void payload_event_id(char out[33]);

#endif

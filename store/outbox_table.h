/* outbox_table.h: the transactional outbox: rows are written in the same transaction as the
 * change they report (store/outbox_table.c). */
#ifndef FQ_OUTBOX_TABLE_H
#define FQ_OUTBOX_TABLE_H

#include "common/fq.h"
#include "store/stmt.h"

struct store;

struct fq_outbox_row {
    int64_t id;                      /* delivery order */
    char *event_id;                  /* unique, stable across redelivery */
    char *channel;                   /* "mqtt" (later "wecom", ...) */
    char *topic;                     /* MQTT topic, or the API target */
    char *payload;                   /* JSON text */
    bool retain;
    char *case_no;                   /* may be NULL */
    int attempts;
    int64_t created_at, next_at;
};
void outbox_row_cleanup(struct fq_outbox_row *r);
enum fq_err store_outbox_add(struct store *s, const char *channel, const char *topic,
                             const char *payload, bool retain, const char *event_id,
                             const char *case_no, int64_t at, int64_t *id);
/* Undelivered rows of a channel with id > after_id, in id order, at most limit. */
enum fq_err store_outbox_pending(struct store *s, const char *channel, int64_t after_id,
                                 size_t limit,
                                 void (*cb)(const struct fq_outbox_row *r, void *arg), void *arg);
/* Marks rows delivered (they are deleted or kept as delivered; either way never returned by
 * store_outbox_pending again). */
enum fq_err store_outbox_done(struct store *s, const int64_t *ids, size_t n, int64_t at);
/* Records a failed attempt: attempts+1 and the next time to try. */
enum fq_err store_outbox_retry(struct store *s, int64_t id, int64_t next_at);
/* Undelivered rows and the created_at of the oldest (0 when none). */
enum fq_err store_outbox_stats(struct store *s, int64_t *depth, int64_t *oldest_at);

#endif

/* ratelimit.h: an exact sliding window per key (docs/contract.md 3.1.3: at most 30 messages a
 * minute per user): a message is refused when `burst` messages of the key were accepted in the last
 * period. */
#ifndef FQ_RATELIMIT_H
#define FQ_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* At most burst (1..64) accepted per period_ms. Caller frees with ratelimit_free. */
struct ratelimit *ratelimit_new(int burst, int64_t period_ms);
void ratelimit_free(struct ratelimit *r);       /* NULL-safe */
/* Counts one message of key at time now_ms; false when the key is over its rate (the message
 * is then not counted). Thread-safe. */
bool ratelimit_take(struct ratelimit *r, const char *key, int64_t now_ms);
/* Bytes the limiter holds (table and rings), for tests and metrics. */
size_t ratelimit_memory(struct ratelimit *r);

#endif

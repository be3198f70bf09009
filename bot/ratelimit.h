/* ratelimit.h: per-key token buckets (CONTRACT 3.1: at most 30 messages a minute per user). */
#ifndef FQ_RATELIMIT_H
#define FQ_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

/* burst tokens, refilled at burst per period_ms. Caller frees with ratelimit_free. */
struct ratelimit *ratelimit_new(int burst, int64_t period_ms);
void ratelimit_free(struct ratelimit *r);       /* NULL-safe */
/* Takes one token for key at time now_ms; false when the key is over its rate. Thread-safe. */
bool ratelimit_take(struct ratelimit *r, const char *key, int64_t now_ms);

#endif

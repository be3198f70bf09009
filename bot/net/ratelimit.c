/* ratelimit.c: an exact sliding window per key ("more than N in any period"), kept as a ring of
 * the last N accepted times in an open-addressing hash table under one mutex. A token bucket
 * would be smaller but lets an N+1st message through when the first N were spread over a few
 * seconds, which is not what the contract says.
 *
 * Memory follows the number of recently active keys, and most keys send a message or two: a
 * slot keeps up to FEW times inline (40 bytes a slot) and moves to a ring of its own only when a
 * key sends more within the period. Times are stored as 32-bit milliseconds from the limiter's
 * epoch, compared modulo 2^32: a key idle for a whole period is reset before use, so its times
 * are never older than burst periods. An idle slot carries no information and is dropped when
 * the table needs room. */
#include "bot/net/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RL_MAX 64
#define FEW 3

struct slot {
    uint64_t hash;        /* 0 = empty */
    int64_t last_ms;      /* last message seen (accepted or not) */
    uint32_t *ring;       /* burst times once the key needed more than FEW, else NULL */
    uint32_t few[FEW];
    uint8_t head, count;  /* next write position, accepted times held */
};

struct ratelimit {
    pthread_mutex_t mu;
    struct slot *v;
    size_t cap, used, rings;
    int burst;
    int64_t period_ms, epoch_ms;
    bool have_epoch;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

struct ratelimit *ratelimit_new(int burst, int64_t period_ms)
{
    struct ratelimit *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cap = 1024;
    r->v = calloc(r->cap, sizeof *r->v);
    if (!r->v) {
        free(r);
        return NULL;
    }
    r->burst = burst < 1 ? 1 : burst > RL_MAX ? RL_MAX : burst;
    r->period_ms = period_ms;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void ratelimit_free(struct ratelimit *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->cap; i++)
        free(r->v[i].ring);
    pthread_mutex_destroy(&r->mu);
    free(r->v);
    free(r);
}

size_t ratelimit_memory(struct ratelimit *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = sizeof *r + r->cap * sizeof *r->v + r->rings * (size_t)r->burst * sizeof(uint32_t);
    pthread_mutex_unlock(&r->mu);
    return n;
}

static struct slot *find(struct slot *v, size_t cap, uint64_t h)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (v[i].hash == h || v[i].hash == 0)
            return &v[i];
}

static bool idle(const struct ratelimit *r, const struct slot *s, int64_t now)
{
    return now - s->last_ms >= r->period_ms;
}

static void drop_ring(struct ratelimit *r, struct slot *s)
{
    if (s->ring) {
        free(s->ring);
        s->ring = NULL;
        r->rings--;
    }
}

/* Rebuilds the table without idle slots, doubling it when still more than half full. */
static void rebuild(struct ratelimit *r, int64_t now)
{
    size_t live = 0;
    for (size_t i = 0; i < r->cap; i++)
        if (r->v[i].hash && !idle(r, &r->v[i], now))
            live++;
    size_t cap = 1024;
    while (live * 2 >= cap)
        cap *= 2;
    struct slot *nv = calloc(cap, sizeof *nv);
    if (!nv)
        return;   /* keep the old table; lookups still work while it has room */
    size_t used = 0;
    for (size_t i = 0; i < r->cap; i++) {
        struct slot *s = &r->v[i];
        if (!s->hash)
            continue;
        if (idle(r, s, now)) {
            drop_ring(r, s);
            continue;
        }
        *find(nv, cap, s->hash) = *s;
        used++;
    }
    free(r->v);
    r->v = nv;
    r->cap = cap;
    r->used = used;
}

/* Moves a full inline ring to one of burst times; false without memory. */
static bool grow(struct ratelimit *r, struct slot *s)
{
    uint32_t *ring = malloc((size_t)r->burst * sizeof *ring);
    if (!ring)
        return false;
    for (int i = 0; i < s->count; i++)   /* oldest first */
        ring[i] = s->few[(s->head + i) % FEW];
    s->ring = ring;
    s->head = s->count;
    r->rings++;
    return true;
}

bool ratelimit_take(struct ratelimit *r, const char *key, int64_t now)
{
    uint64_t h = hash_key(key);
    pthread_mutex_lock(&r->mu);
    if (!r->have_epoch) {
        r->epoch_ms = now;
        r->have_epoch = true;
    }
    if ((r->used + 1) * 4 >= r->cap * 3)
        rebuild(r, now);
    struct slot *s = find(r->v, r->cap, h);
    if (s->hash == 0) {
        if ((r->used + 1) * 8 >= r->cap * 7) {   /* table full even after rebuild: fail open */
            pthread_mutex_unlock(&r->mu);
            return true;
        }
        memset(s, 0, sizeof *s);
        s->hash = h;
        r->used++;
    } else if (idle(r, s, now)) {                /* nothing in its window: start afresh */
        drop_ring(r, s);
        s->head = s->count = 0;
    }
    s->last_ms = now;
    uint32_t t = (uint32_t)(now - r->epoch_ms);
    int cap = s->ring ? r->burst : (r->burst < FEW ? r->burst : FEW);
    uint32_t *ring = s->ring ? s->ring : s->few;
    bool ok = true;
    if (s->count == r->burst)   /* the burst-th most recent accepted message, at head */
        ok = (int64_t)(uint32_t)(t - ring[s->head]) >= r->period_ms;
    if (ok && s->count == cap && cap < r->burst) {
        if (!grow(r, s)) {                       /* no memory: fail open, count nothing */
            pthread_mutex_unlock(&r->mu);
            return true;
        }
        cap = r->burst;
        ring = s->ring;
    }
    if (ok) {
        ring[s->head] = t;
        s->head = (uint8_t)((s->head + 1) % cap);
        if (s->count < cap)
            s->count++;
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

/* ratelimit.c: an exact sliding window per key ("more than N in any period"), kept as a ring of
 * the last N times in an open-addressing hash table under one mutex. A token bucket would be
 * smaller but lets an N+1st message through when the first N were spread over a few seconds,
 * which is not what the contract says. An entry idle for a whole period carries no information,
 * so such entries are dropped when the table needs room: memory follows the number of recently
 * active users, not all users ever. */
#include "ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RL_MAX 64

struct bucket {
    uint64_t hash;      /* 0 = empty */
    int64_t last_ms;
    int64_t times[RL_MAX];   /* ring of the last `burst` accepted times */
    int head, count;
};

struct ratelimit {
    pthread_mutex_t mu;
    struct bucket *v;
    size_t cap, used;
    int burst;
    int64_t period_ms;
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
    pthread_mutex_destroy(&r->mu);
    free(r->v);
    free(r);
}

static struct bucket *find(struct bucket *v, size_t cap, uint64_t h)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (v[i].hash == h || v[i].hash == 0)
            return &v[i];
}

/* Rebuilds the table without idle entries, doubling it when still more than half full. */
static void rebuild(struct ratelimit *r, int64_t now)
{
    size_t live = 0;
    for (size_t i = 0; i < r->cap; i++)
        if (r->v[i].hash && now - r->v[i].last_ms < r->period_ms)
            live++;
    size_t cap = r->cap;
    while (live * 2 >= cap)
        cap *= 2;
    struct bucket *nv = calloc(cap, sizeof *nv);
    if (!nv)
        return;   /* keep the old table; lookups still work while it has room */
    size_t used = 0;
    for (size_t i = 0; i < r->cap; i++) {
        if (!r->v[i].hash || now - r->v[i].last_ms >= r->period_ms)
            continue;
        *find(nv, cap, r->v[i].hash) = r->v[i];
        used++;
    }
    free(r->v);
    r->v = nv;
    r->cap = cap;
    r->used = used;
}

bool ratelimit_take(struct ratelimit *r, const char *key, int64_t now)
{
    uint64_t h = hash_key(key);
    pthread_mutex_lock(&r->mu);
    if ((r->used + 1) * 4 >= r->cap * 3)
        rebuild(r, now);
    struct bucket *b = find(r->v, r->cap, h);
    if (b->hash == 0) {
        if ((r->used + 1) * 8 >= r->cap * 7) {   /* table full even after rebuild: fail open */
            pthread_mutex_unlock(&r->mu);
            return true;
        }
        memset(b, 0, sizeof *b);
        b->hash = h;
        r->used++;
    }
    b->last_ms = now;
    bool ok = true;
    if (b->count == r->burst) {
        int64_t oldest = b->times[b->head];   /* the burst-th most recent accepted message */
        ok = now - oldest >= r->period_ms;
    }
    if (ok) {
        b->times[b->head] = now;
        b->head = (b->head + 1) % r->burst;
        if (b->count < r->burst)
            b->count++;
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

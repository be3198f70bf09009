/* bot/net/ratelimit.c: an exact sliding window per key, checked against a plain reference model,
 * and the memory it holds for many keys that send a message each. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "bot/net/ratelimit.h"

/* Reference: a key's message at t is accepted when fewer than burst of its accepted messages
 * are in (t - period, t]. */
struct ref {
    int64_t times[4096];
    int n;
};

static bool ref_take(struct ref *r, int burst, int64_t period, int64_t t)
{
    int in = 0;
    for (int i = 0; i < r->n; i++)
        in += t - r->times[i] < period;
    if (in >= burst)
        return false;
    if (r->n < 4096)
        r->times[r->n++] = t;
    return true;
}

Test(ratelimit, thirty_a_minute_exactly)
{
    struct ratelimit *rl = ratelimit_new(30, 60000);
    int64_t t0 = 1700000000000;
    for (int i = 0; i < 30; i++)
        cr_assert(ratelimit_take(rl, "u", t0 + i * 1000), "message %d", i);
    cr_assert_not(ratelimit_take(rl, "u", t0 + 30000), "the 31st within the minute");
    cr_assert_not(ratelimit_take(rl, "u", t0 + 59999));
    cr_assert(ratelimit_take(rl, "u", t0 + 60000), "the first has left the window");
    cr_assert_not(ratelimit_take(rl, "u", t0 + 60500));
    cr_assert(ratelimit_take(rl, "u", t0 + 61000));
    cr_assert(ratelimit_take(rl, "other", t0 + 61000), "keys are separate");
    /* idle for a whole period: a whole burst again */
    for (int i = 0; i < 30; i++)
        cr_assert(ratelimit_take(rl, "u", t0 + 200000 + i), "after a pause, message %d", i);
    cr_assert_not(ratelimit_take(rl, "u", t0 + 200030));
    ratelimit_free(rl);
}

/* Random traffic over a few keys, bursts from 1 to 64 (inline and grown rings), compared with
 * the reference at every message; times start far from zero and run past 2^32 ms from the
 * first message, so the 32-bit times wrap. */
Test(ratelimit, matches_the_reference)
{
    const int bursts[] = {1, 2, 3, 4, 5, 30, 64};
    unsigned seed = 12345;
    for (size_t b = 0; b < sizeof bursts / sizeof *bursts; b++) {
        int burst = bursts[b];
        int64_t period = 1000;
        struct ratelimit *rl = ratelimit_new(burst, period);
        static struct ref refs[8];
        memset(refs, 0, sizeof refs);
        int64_t t = 4000000000000LL;
        for (int i = 0; i < 20000; i++) {
            seed = seed * 1103515245u + 12345u;
            int k = (int)((seed >> 16) % 8);
            seed = seed * 1103515245u + 12345u;
            unsigned step = (seed >> 16) % 100;
            t += step < 90 ? step % 40 : step < 99 ? 700 : 5000000000LL % 4294967296LL + 3000;
            char key[16];
            snprintf(key, sizeof key, "key-%d", k);
            bool want = ref_take(&refs[k], burst, period, t);
            cr_assert_lt(refs[k].n, 4096, "the reference ran out of room");
            cr_assert_eq(ratelimit_take(rl, key, t), want, "burst %d, message %d, key %d", burst,
                         i, k);
        }
        ratelimit_free(rl);
    }
}

/* 100 000 users with one message each within a minute: about 40 bytes a user (the slots of an
 * open-addressing table at most three quarters full), and a second such wave a period later
 * takes the room of the first instead of adding to it. */
Test(ratelimit, memory_for_many_keys)
{
    struct ratelimit *rl = ratelimit_new(30, 60000);
    int64_t t0 = 1700000000000;
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "web:bench-conv-%d", i);
        cr_assert(ratelimit_take(rl, key, t0 + i / 10));
    }
    size_t first = ratelimit_memory(rl);
    cr_assert_lt(first, (size_t)12 << 20, "%zu bytes for 100000 keys", first);
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "web:second-wave-%d", i);
        cr_assert(ratelimit_take(rl, key, t0 + 120000 + i / 10));
    }
    size_t second = ratelimit_memory(rl);
    cr_assert_leq(second, first, "%zu bytes after the second wave, %zu after the first", second,
                  first);
    ratelimit_free(rl);
}

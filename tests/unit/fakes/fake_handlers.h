/* fake_handlers.h: link-time fakes of what the core thread calls above the store (the handlers'
 * entry points, the payload builder, the scheduler's core side), for tests of bot/core/core.c
 * alone. The real store is used: a fake chat handler writes one outbox row per message
 * (topic "t/<message_id>"), so a test can count what was committed.
 *
 * A message whose text is "fail" makes the fake handler fail with FQ_ESTORE; "hold" makes it
 * wait until fake_release() (so a test can queue messages behind it and see them as one batch). */
#ifndef FQ_FAKE_HANDLERS_H
#define FQ_FAKE_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#define FAKE_MAX_CALLS 1024

struct fake_call {
    char message_id[64];
    uint64_t commits;                /* store_commits of the core's connection during the call */
};

/* Resets the record; call before starting a core. */
void fake_reset(void);
/* Lets a message held by "hold" go on. */
void fake_release(void);
/* True once a "hold" message is waiting in the handler (waits up to ms). */
int fake_wait_held(int ms);
/* Copies the calls made so far (at most max) into out; returns how many there were. */
size_t fake_calls(struct fake_call *out, size_t max);
/* How many times payload_emit was called. */
size_t fake_payload_calls(void);

#endif

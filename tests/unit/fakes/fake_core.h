/* fake_core.h: a link-time fake of the core thread (bot/core/core.h) for tests of the threads
 * that push messages to it (the scheduler, the HTTP server). core_push records each message and,
 * unless the fake is holding, answers it at once on the pushing thread the way the real core
 * does after a commit: the answer hook of the test (fake_core_answer) sets the message's status
 * and body, then its done() runs. A held message waits until fake_core_release(). */
#ifndef FQ_FAKE_CORE_H
#define FQ_FAKE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/fq.h"

#define FAKE_CORE_MAX 256

struct fake_pushed {
    enum fq_msg_kind kind;
    int64_t ids[8];                  /* FQ_MSG_TIMER: the first ids */
    size_t n_ids;
    int64_t at_ms;                   /* wall clock, ms, when pushed */
    char text[256];                  /* FQ_MSG_CHAT: the text */
};

/* Called on each pushed message before it is answered (may be NULL: status 200, body "{}").
 * The hook sets m->status and m->answer (owned by the message). */
extern void (*fake_core_answer)(struct fq_msg *m);

void fake_core_reset(void);
/* Holding: pushed messages are kept unanswered until fake_core_release(). */
void fake_core_hold(bool on);
void fake_core_release(void);
/* Answers on a thread of its own (as the real core does) instead of the pushing thread. */
void fake_core_async(bool on);
/* Copies what was pushed (at most max); returns the count. */
size_t fake_core_pushed(struct fake_pushed *out, size_t max);
/* Waits until at least n messages were pushed (up to ms); returns the count. */
size_t fake_core_wait(size_t n, int ms);

#endif

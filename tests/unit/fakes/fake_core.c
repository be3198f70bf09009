/* fake_core.c: see fake_core.h. Defines every function of bot/core/core.h, so the real core is
 * never linked into a test that uses it. */
#include "tests/unit/fakes/fake_core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bot/core/core.h"

void (*fake_core_answer)(struct fq_msg *m);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct fake_pushed pushed[FAKE_CORE_MAX];
static size_t n_pushed;
static bool holding, async;
static struct fq_msg *held_head;

struct core {
    int unused;
};
static struct core the_core;

void fake_core_reset(void)
{
    pthread_mutex_lock(&mu);
    n_pushed = 0;
    holding = async = false;
    pthread_mutex_unlock(&mu);
    fake_core_answer = NULL;
}

static void answer(struct fq_msg *m)
{
    if (fake_core_answer) {
        fake_core_answer(m);
    } else {
        m->status = 200;
        free(m->answer);
        m->answer = fq_strdup("{}");
    }
    if (m->done)
        m->done(m, m->done_arg);
    else
        fq_msg_free(m);
}

static void *answer_main(void *arg)
{
    answer(arg);
    return NULL;
}

void fake_core_async(bool on)
{
    pthread_mutex_lock(&mu);
    async = on;
    pthread_mutex_unlock(&mu);
}

void fake_core_hold(bool on)
{
    pthread_mutex_lock(&mu);
    holding = on;
    pthread_mutex_unlock(&mu);
}

void fake_core_release(void)
{
    pthread_mutex_lock(&mu);
    holding = false;
    struct fq_msg *list = held_head;
    held_head = NULL;
    pthread_mutex_unlock(&mu);
    while (list) {
        struct fq_msg *next = list->next;
        list->next = NULL;
        answer(list);
        list = next;
    }
}

size_t fake_core_pushed(struct fake_pushed *out, size_t max)
{
    pthread_mutex_lock(&mu);
    size_t n = n_pushed;
    memcpy(out, pushed, (n < max ? n : max) * sizeof *out);
    pthread_mutex_unlock(&mu);
    return n;
}

size_t fake_core_wait(size_t n, int ms)
{
    struct timespec ts;
    fq_deadline(&ts, CLOCK_REALTIME, ms);
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (n_pushed < n && rc == 0)
        rc = pthread_cond_timedwait(&cv, &mu, &ts);
    size_t got = n_pushed;
    pthread_mutex_unlock(&mu);
    return got;
}

enum fq_err core_push(struct core *c, struct fq_msg *m)
{
    (void)c;
    pthread_mutex_lock(&mu);
    if (n_pushed < FAKE_CORE_MAX) {
        struct fake_pushed *p = &pushed[n_pushed++];
        memset(p, 0, sizeof *p);
        p->kind = m->kind;
        p->n_ids = m->n_ids;
        for (size_t i = 0; i < m->n_ids && i < 8; i++)
            p->ids[i] = m->ids[i];
        p->at_ms = fq_now_ms();
        snprintf(p->text, sizeof p->text, "%s", m->text ? m->text : "");
    }
    pthread_cond_broadcast(&cv);
    if (holding) {
        m->next = held_head;
        held_head = m;
        pthread_mutex_unlock(&mu);
        return FQ_OK;
    }
    bool on_thread = async;
    pthread_mutex_unlock(&mu);
    pthread_t t;
    if (on_thread && pthread_create(&t, NULL, answer_main, m) == 0) {
        pthread_detach(t);
        return FQ_OK;
    }
    answer(m);
    return FQ_OK;
}

enum fq_err core_start(const struct fq_config *cfg, const struct fq_lexicon *lex,
                       struct core **out, char **cause)
{
    (void)cfg, (void)lex, (void)cause;
    *out = &the_core;
    return FQ_OK;
}

void core_set_config(struct core *c, const struct fq_config *cfg, const struct fq_lexicon *lex)
{
    (void)c, (void)cfg, (void)lex;
}

void core_on_commit(struct core *c, void (*fn)(void *arg), void *arg)
{
    (void)c, (void)fn, (void)arg;
}

void core_stop(struct core *c)
{
    (void)c;
    fake_core_release();
}

bool core_ready(struct core *c)
{
    return c != NULL;
}

size_t core_queue_depth(struct core *c)
{
    (void)c;
    return 0;
}

void core_view_take(struct core *c, struct core_view *out)
{
    (void)c;
    memset(out, 0, sizeof *out);
}

void core_view_release(struct core_view *v)
{
    if (v)
        memset(v, 0, sizeof *v);
}

/* test_core.c: bot/core/core.c alone, with the handlers, the payload builder and the scheduler's
 * core side replaced at link time (tests/unit/fakes/fake_handlers.c) and a real SQLite file:
 * messages queued while the core is busy run as one batch in one transaction (group commit);
 * one failing message in a batch is undone alone while every other one is committed exactly
 * once; a repeated message_id gets the first answer without running the handler again; and a
 * message is answered only once what it did is committed. */
#include <criterion/criterion.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bot/core/core.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "store/outbox_table.h"
#include "store/store.h"
#include "tests/unit/fakes/fake_handlers.h"

static char tmpdir[128];
static struct fq_config *cfg;
static struct core *core;

/* ---- answers ------------------------------------------------------------------------------- */
#define MAX_MSGS 128
struct answered {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n;
    char id[MAX_MSGS][64];
    int status[MAX_MSGS];
    char *answer[MAX_MSGS];
    int64_t rows_seen[MAX_MSGS];     /* committed outbox rows a reader saw when it was answered */
};
static struct answered ans = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {{0}},
                              {0}, {0}, {0}};

static void count_row(const struct fq_outbox_row *r, void *arg)
{
    (void)r;
    (*(int64_t *)arg)++;
}

static int64_t committed_rows(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/fq.db", tmpdir);
    struct store *s = NULL;
    if (store_open_readonly(path, &s, NULL) != FQ_OK)
        return -1;
    int64_t n = 0;
    if (store_outbox_pending(s, "mqtt", 0, 100000, count_row, &n) != FQ_OK)
        n = -1;
    store_close(s);
    return n;
}

static void on_done(struct fq_msg *m, void *arg)
{
    (void)arg;
    int64_t seen = committed_rows();
    pthread_mutex_lock(&ans.mu);
    if (ans.n < MAX_MSGS) {
        snprintf(ans.id[ans.n], sizeof ans.id[0], "%s", m->message_id ? m->message_id : "");
        ans.status[ans.n] = m->status;
        ans.answer[ans.n] = m->answer;
        m->answer = NULL;
        ans.rows_seen[ans.n] = seen;
        ans.n++;
    }
    pthread_cond_broadcast(&ans.cv);
    pthread_mutex_unlock(&ans.mu);
    fq_msg_free(m);
}

static void wait_answers(size_t n)
{
    struct timespec ts;
    fq_deadline(&ts, CLOCK_REALTIME, 10000);
    pthread_mutex_lock(&ans.mu);
    int rc = 0;
    while (ans.n < n && rc == 0)
        rc = pthread_cond_timedwait(&ans.cv, &ans.mu, &ts);
    size_t got = ans.n;
    pthread_mutex_unlock(&ans.mu);
    cr_assert_geq(got, n, "only %zu of %zu messages answered", got, n);
}

static int answer_of(const char *id, int *status, const char **answer)
{
    for (size_t i = 0; i < ans.n; i++)
        if (strcmp(ans.id[i], id) == 0) {
            *status = ans.status[i];
            *answer = ans.answer[i];
            return (int)i;
        }
    return -1;
}

static void push(const char *id, const char *text)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    cr_assert_not_null(m);
    m->channel = fq_strdup("web");
    m->user = fq_strdup("u-1");
    m->message_id = fq_strdup(id);
    m->type = fq_strdup("text");
    m->text = fq_strdup(text);
    m->done = on_done;
    cr_assert_eq(core_push(core, m), FQ_OK);
}

/* ---- setup --------------------------------------------------------------------------------- */
static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fq-core-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    cfg = config_new_defaults();
    cr_assert_not_null(cfg);
    free(cfg->store_path);
    char path[256];
    snprintf(path, sizeof path, "%s/fq.db", tmpdir);
    cfg->store_path = fq_strdup(path);
    fake_reset();
    pthread_mutex_lock(&ans.mu);
    for (size_t i = 0; i < ans.n; i++)
        free(ans.answer[i]);
    ans.n = 0;
    pthread_mutex_unlock(&ans.mu);
    char *cause = NULL;
    cr_assert_eq(core_start(cfg, NULL, &core, &cause), FQ_OK, "core_start: %s",
                 cause ? cause : "?");
}

static void teardown(void)
{
    fake_release();
    core_stop(core);
    core = NULL;
    config_free(cfg);
    for (size_t i = 0; i < ans.n; i++)
        free(ans.answer[i]);
    ans.n = 0;
    nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(core, .init = setup, .fini = teardown, .timeout = 30);

/* Messages queued while the core is busy with another batch are taken together and run in one
 * transaction: each sees the same commit count, one more than the batch before. */
Test(core, group_commit_runs_a_queue_in_one_transaction)
{
    push("hold", "hold");
    cr_assert(fake_wait_held(5000), "the first message never reached the handler");
    char id[32];
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof id, "m-%02d", i);
        push(id, "hello");
    }
    fake_release();
    wait_answers(41);

    struct fake_call calls[FAKE_MAX_CALLS];
    size_t n = fake_calls(calls, FAKE_MAX_CALLS);
    cr_assert_eq(n, 41, "handler calls: %zu", n);
    cr_assert_str_eq(calls[0].message_id, "hold");
    for (size_t i = 1; i < n; i++)
        cr_expect_eq(calls[i].commits, calls[0].commits + 1,
                     "message %s ran after %llu commits, the held one after %llu",
                     calls[i].message_id, (unsigned long long)calls[i].commits,
                     (unsigned long long)calls[0].commits);
    cr_expect_eq(committed_rows(), 41);
    for (size_t i = 0; i < ans.n; i++)
        cr_expect_eq(ans.status[i], 200, "%s: %d", ans.id[i], ans.status[i]);
}

/* One message of a batch fails after writing: its row is undone, it gets 503, and every other
 * message of the same batch is answered 200 with its row stored once (the batch ran again
 * with savepoints). */
Test(core, a_failing_message_is_undone_alone)
{
    push("hold", "hold");
    cr_assert(fake_wait_held(5000));
    push("a", "one");
    push("b", "fail");
    push("c", "three");
    fake_release();
    wait_answers(4);

    int st;
    const char *body;
    cr_assert_geq(answer_of("a", &st, &body), 0);
    cr_expect_eq(st, 200);
    cr_expect(strstr(body, "one") != NULL, "answer of a: %s", body);
    cr_assert_geq(answer_of("b", &st, &body), 0);
    cr_expect_eq(st, 503, "the failing message: %d", st);
    cr_assert_geq(answer_of("c", &st, &body), 0);
    cr_expect_eq(st, 200);
    /* hold, a and c: one row each, and none of b's */
    cr_expect_eq(committed_rows(), 3, "committed rows: %lld", (long long)committed_rows());
}

/* A message_id seen before returns the stored answer; the handler does not run again and
 * nothing new is written. */
Test(core, a_repeated_message_id_gets_the_first_answer)
{
    push("dup", "first");
    wait_answers(1);
    push("dup", "second");
    wait_answers(2);
    struct fake_call calls[8];
    cr_expect_eq(fake_calls(calls, 8), 1, "the handler ran again for a repeat");
    cr_expect_str_eq(ans.answer[0], ans.answer[1]);
    cr_expect(strstr(ans.answer[1], "first") != NULL, "repeat answer: %s", ans.answer[1]);
    cr_expect_eq(committed_rows(), 1);
}

/* done() is called only after the commit: a reader on its own connection already sees the
 * message's row when the message is answered. */
Test(core, answers_come_after_the_commit)
{
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "w-%d", i);
        push(id, "x");
    }
    wait_answers(5);
    for (size_t i = 0; i < ans.n; i++) {
        int want = (int)(ans.id[i][2] - '0') + 1;
        cr_expect_geq(ans.rows_seen[i], want, "%s answered with %lld rows committed", ans.id[i],
                      (long long)ans.rows_seen[i]);
    }
    cr_expect_eq(fake_payload_calls(), 5);
}

/* test_sched.c: the scheduler thread (bot/core/sched.c) against a real SQLite file, with the core
 * replaced at link time (tests/unit/fakes/fake_core.c): it asks for housekeeping first, hands due
 * timer rows to the core and nothing before its due time, never has two messages with the core
 * at once, and tries timers the core could not commit again. The fake core "commits" a timer
 * message by marking its timers fired on its own connection, as the real one does. */
#include <criterion/criterion.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bot/core/sched.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/status.h"
#include "store/store.h"
#include "store/timer_table.h"
#include "tests/unit/fakes/fake_core.h"

static char tmpdir[128], dbpath[256];
static struct fq_config *cfg;
static struct sched *sc;
static int fail_next;               /* answers left to fail with 503 */

static struct store *open_db(void)
{
    struct store *s = NULL;
    cr_assert_eq(store_open(dbpath, &s, NULL), FQ_OK);
    return s;
}

static int64_t add_timer(int64_t due_at)
{
    struct store *s = open_db();
    int64_t id = 0;
    cr_assert_eq(store_timer_add(s, due_at, FQ_TIMER_ACCEPT_REMIND, 0, NULL, &id), FQ_OK);
    store_close(s);
    return id;
}

/* The core's side: commit the timers (mark them fired), or fail. */
static void commit_timers(struct fq_msg *m)
{
    free(m->answer);
    m->answer = NULL;
    if (m->kind == FQ_MSG_TIMER && m->n_ids && fail_next > 0) {
        fail_next--;
        m->status = 503;
        return;
    }
    if (m->kind == FQ_MSG_TIMER && m->n_ids) {
        struct store *s = NULL;
        if (store_open(dbpath, &s, NULL) != FQ_OK) {
            m->status = 503;
            return;
        }
        for (size_t i = 0; i < m->n_ids; i++)
            (void)store_timer_fire(s, m->ids[i], fq_now());
        store_close(s);
    }
    m->status = 200;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fq-sched-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/fq.db", tmpdir);
    cfg = config_new_defaults();
    cr_assert_not_null(cfg);
    free(cfg->store_path);
    cfg->store_path = fq_strdup(dbpath);
    store_close(open_db());            /* creates and migrates it */
    fake_core_reset();
    fake_core_answer = commit_timers;
    fail_next = 0;
}

static void start(void)
{
    char *cause = NULL;
    cr_assert_eq(sched_start(cfg, NULL, &sc, &cause), FQ_OK, "%s", cause ? cause : "?");
}

static void teardown(void)
{
    fake_core_release();
    sched_stop(sc);
    sc = NULL;
    config_free(cfg);
    nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sched, .init = setup, .fini = teardown, .timeout = 30);

static int find_timer(const struct fake_pushed *p, size_t n, int64_t id, size_t *count)
{
    int first = -1;
    *count = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < p[i].n_ids && k < 8; k++)
            if (p[i].ids[k] == id) {
                if (first < 0)
                    first = (int)i;
                (*count)++;
            }
    return first;
}

Test(sched, housekeeping_first_then_due_timers_once)
{
    int64_t due = add_timer(fq_now() - 5);
    int64_t later = add_timer(fq_now() + 3600);
    start();
    cr_assert_geq(fake_core_wait(2, 5000), 2, "the due timer was not handed to the core");
    usleep(1500 * 1000);                /* a poll or more: a fired timer is not handed again */
    struct fake_pushed p[FAKE_CORE_MAX];
    size_t n = fake_core_pushed(p, FAKE_CORE_MAX);
    cr_expect_eq(p[0].kind, FQ_MSG_TIMER);
    cr_expect_eq(p[0].n_ids, 0, "the first message is housekeeping (no ids): %zu", p[0].n_ids);
    size_t count;
    cr_expect_geq(find_timer(p, n, due, &count), 1);
    cr_expect_eq(count, 1, "the due timer was handed over %zu times", count);
    cr_expect_lt(find_timer(p, n, later, &count), 0, "a timer due in an hour was handed over");
}

Test(sched, a_timer_waits_for_its_due_time)
{
    start();
    cr_assert_geq(fake_core_wait(1, 5000), 1);   /* housekeeping */
    int64_t due_at = fq_now() + 2;
    int64_t id = add_timer(due_at);
    cr_assert_geq(fake_core_wait(2, 8000), 2, "the timer never fired");
    struct fake_pushed p[FAKE_CORE_MAX];
    size_t n = fake_core_pushed(p, FAKE_CORE_MAX), count;
    int i = find_timer(p, n, id, &count);
    cr_assert_geq(i, 0);
    cr_expect_geq(p[i].at_ms, due_at * 1000 - 999, "handed over %lld ms before its due time",
                  (long long)(due_at * 1000 - p[i].at_ms));
    /* due times are whole seconds; polling is at most a second apart */
    cr_expect_leq(p[i].at_ms, due_at * 1000 + 2500, "handed over %lld ms late",
                  (long long)(p[i].at_ms - due_at * 1000));
}

Test(sched, one_message_with_the_core_at_a_time)
{
    start();
    cr_assert_geq(fake_core_wait(1, 5000), 1);
    fake_core_hold(true);
    add_timer(fq_now() - 1);
    cr_assert_geq(fake_core_wait(2, 5000), 2);
    add_timer(fq_now() - 1);
    add_timer(fq_now() - 1);
    sched_kick(sc);
    usleep(1500 * 1000);
    struct fake_pushed p[FAKE_CORE_MAX];
    cr_expect_eq(fake_core_pushed(p, FAKE_CORE_MAX), 2,
                 "a second message was pushed while one was with the core");
    fake_core_release();               /* the first is committed: the other two go together */
    cr_assert_geq(fake_core_wait(3, 5000), 3);
    size_t n = fake_core_pushed(p, FAKE_CORE_MAX);
    cr_expect_eq(p[2].n_ids, 2, "the rest came in %zu ids", p[2].n_ids);
    (void)n;
}

Test(sched, timers_the_core_could_not_commit_are_tried_again)
{
    int64_t id = add_timer(fq_now() - 1);
    fail_next = 1;
    start();
    cr_assert_geq(fake_core_wait(3, 8000), 3, "the timer was not tried again");
    struct fake_pushed p[FAKE_CORE_MAX];
    size_t n = fake_core_pushed(p, FAKE_CORE_MAX), count;
    find_timer(p, n, id, &count);
    cr_expect_eq(count, 2, "handed over %zu times (once failed, once committed)", count);
}

/* timers_bench.c: the scheduler with a million pending timers.
 *
 * What it does, all on 127.0.0.1 in a temporary directory:
 *   1. starts a mosquitto on a free port and writes a daemon config; imports the bench roster
 *      with the daemon's CLI (which creates and migrates the database);
 *   2. starts the daemon on the empty timer table: start-up time (exec to /readyz 200) and RSS
 *      (VmRSS once ready); stops it;
 *   3. inserts N pending timers (default 1,000,000) straight into the database, due 30 days and
 *      more from now (they must not fire during the run), kind accept_remind, no case;
 *   4. starts the daemon again: start-up time and RSS with N pending timers;
 *   5. inserts P probe cases (status assigned, mediator m-wang) and one accept_remind timer for
 *      each, due evenly spread over the load window, then runs `loadgen run` (tests/bench/
 *      loadgen.c: signed one-message reports, closed loop, C connections) for D seconds;
 *      every probe's reminder is caught on {p}/mediators/m-wang/assignments (libmosquitto) and
 *      its lateness is arrival time - due time (due times are whole seconds, so this includes up
 *      to the scheduler's poll interval, plus the commit and the MQTT delivery);
 *   6. prints start-up times, RSS (and peak VmHWM) and the lateness p50/p99/max, and the load
 *      the daemon was taking meanwhile (loadgen's line).
 *
 * Build and run (after `make` and with loadgen built, e.g. by `make bench`, or by hand):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -pthread $(pkg-config --cflags openssl) tests/bench/loadgen.c \
 *      -o build/bench/loadgen $(pkg-config --libs openssl)
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -pthread tests/bench/timers_bench.c \
 *      -o build/bench/timers_bench $(pkg-config --cflags --libs sqlite3 libmosquitto)
 *   build/bench/timers_bench [-b bin/fengqiao] [-l build/bench/loadgen] [-n 1000000] [-p 300]
 *                            [-d 20] [-c 64]
 */
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "fq/v1"
#define SECRET "timers-bench-secret"
#define REPORT_TEXT "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果"
#define MAX_PROBES 5000

static char tmp[256], conf[512], db[600];
static const char *bin = "bin/fengqiao", *loadgen = "build/bench/loadgen";
static pid_t mq_pid, fq_pid;
static int http_port, mq_port;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "timers_bench: ");
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\n");
    if (fq_pid > 0)
        kill(fq_pid, SIGKILL);
    if (mq_pid > 0)
        kill(mq_pid, SIGKILL);
    exit(1);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        die("no free port%s", NULL);
    close(s);
    return ntohs(a.sin_port);
}

static pid_t spawn(char *const argv[], const char *log)
{
    pid_t p = fork();
    if (p == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return p;
}

static void stop(pid_t *p)
{
    if (*p <= 0)
        return;
    kill(*p, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(*p, NULL, WNOHANG) == *p) {
            *p = 0;
            return;
        }
        usleep(50000);
    }
    kill(*p, SIGKILL);
    waitpid(*p, NULL, 0);
    *p = 0;
}

/* GET path on the daemon; the HTTP status, or -1. */
static int http_get(const char *path)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0)
        return -1;
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    char req[256], resp[64] = {0};
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     path);
    if (write(s, req, (size_t)n) != n) {
        close(s);
        return -1;
    }
    ssize_t got = read(s, resp, sizeof resp - 1);
    close(s);
    int status = -1;
    if (got > 12)
        sscanf(resp, "HTTP/1.%*d %d", &status);
    return status;
}

static long proc_kb(pid_t p, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)p);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0)
            v = atol(line + fl + 1);
    if (f)
        fclose(f);
    return v;
}

/* Starts the daemon; returns the start-up time in ms (exec to /readyz 200). */
static int64_t start_daemon(void)
{
    char log[600];
    snprintf(log, sizeof log, "%s/daemon.log", tmp);
    char *argv[] = {(char *)bin, "serve", "-c", conf, NULL};
    int64_t t = now_ms();
    fq_pid = spawn(argv, log);
    while (http_get("/readyz") != 200) {
        if (waitpid(fq_pid, NULL, WNOHANG) == fq_pid)
            die("the daemon exited; see %s", log);
        if (now_ms() - t > 60000)
            die("the daemon was not ready within 60 s%s", NULL);
        usleep(2000);
    }
    return now_ms() - t;
}

static sqlite3 *open_db(void)
{
    sqlite3 *h = NULL;
    if (sqlite3_open(db, &h) != SQLITE_OK)
        die("cannot open %s", db);
    sqlite3_busy_timeout(h, 10000);
    return h;
}

static void exec_sql(sqlite3 *h, const char *sql)
{
    char *e = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &e) != SQLITE_OK)
        die("sql: %s", e);
}

/* ---- probes ---------------------------------------------------------------------------------- */
struct probe {
    char case_no[32];
    int64_t due_ms, seen_ms;
};
static struct probe probes[MAX_PROBES];
static int n_probes;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
    (void)m;
    (void)arg;
    int64_t t = now_ms();
    if (!msg->payload || !strstr(msg->payload, "\"reminder\""))
        return;
    const char *p = strstr(msg->payload, "FQB");
    if (!p)
        return;
    int idx = atoi(p + 3);
    pthread_mutex_lock(&mu);
    if (idx >= 0 && idx < n_probes && !probes[idx].seen_ms)
        probes[idx].seen_ms = t;
    pthread_mutex_unlock(&mu);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n_timers = 1000000;
    int conns = 64, dur = 20;
    n_probes = 300;
    int opt;
    while ((opt = getopt(argc, argv, "b:l:n:p:d:c:")) != -1) {
        switch (opt) {
        case 'b': bin = optarg; break;
        case 'l': loadgen = optarg; break;
        case 'n': n_timers = atol(optarg); break;
        case 'p': n_probes = atoi(optarg); break;
        case 'd': dur = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: timers_bench [-b BIN] [-l LOADGEN] [-n TIMERS] [-p PROBES] "
                            "[-d SECONDS] [-c CONNS]\n");
            return 2;
        }
    }
    if (n_probes < 1 || n_probes > MAX_PROBES || dur < 5)
        die("bad -p or -d%s", NULL);
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmp, sizeof tmp, "/tmp/fq-timers-bench-XXXXXX");
    if (!mkdtemp(tmp))
        die("mkdtemp failed%s", NULL);
    snprintf(conf, sizeof conf, "%s/fengqiao.conf", tmp);
    snprintf(db, sizeof db, "%s/fq.db", tmp);
    http_port = free_port();
    mq_port = free_port();

    /* broker */
    char mconf[600], mlog[600];
    snprintf(mconf, sizeof mconf, "%s/mosquitto.conf", tmp);
    snprintf(mlog, sizeof mlog, "%s/mosquitto.log", tmp);
    FILE *f = fopen(mconf, "w");
    fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\n", mq_port);
    if (getuid() == 0)
        fprintf(f, "user root\n");
    fclose(f);
    char *margv[] = {"mosquitto", "-c", mconf, NULL};
    mq_pid = spawn(margv, mlog);

    f = fopen(conf, "w");
    fprintf(f,
            "[server]\nlisten = 127.0.0.1:%d\n[store]\npath = %s\n[mqtt]\nenabled = true\n"
            "host = 127.0.0.1\nport = %d\nclient_id = fq-timers-bench\n[chat]\nsecret = %s\n",
            http_port, db, mq_port, SECRET);
    fclose(f);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s roster import tests/bench/roster.json -c %s >/dev/null", bin,
             conf);
    if (system(cmd) != 0)
        die("roster import failed (run from the repository root)%s", NULL);

    /* 1. empty timer table */
    int64_t start0 = start_daemon();
    usleep(500000);
    long rss0 = proc_kb(fq_pid, "VmRSS:");
    stop(&fq_pid);

    /* 2. a million pending timers, far in the future */
    sqlite3 *h = open_db();
    int64_t t_ins = now_ms();
    exec_sql(h, "BEGIN");
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(h, "INSERT INTO timers(due_at, kind, case_id) VALUES (?1, 'accept_remind', 0)",
                       -1, &st, NULL);
    int64_t base = time(NULL) + 30 * 86400;
    for (long i = 0; i < n_timers; i++) {
        sqlite3_bind_int64(st, 1, base + i % (300 * 86400));
        if (sqlite3_step(st) != SQLITE_DONE)
            die("insert failed: %s", sqlite3_errmsg(h));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec_sql(h, "COMMIT");
    t_ins = now_ms() - t_ins;
    struct stat sb;
    stat(db, &sb);

    int64_t start1 = start_daemon();
    usleep(500000);
    long rss1 = proc_kb(fq_pid, "VmRSS:");

    /* 3. subscribe, then probes due across the load window */
    mosquitto_lib_init();
    struct mosquitto *mq = mosquitto_new("timers-bench-sub", true, NULL);
    mosquitto_message_callback_set(mq, on_message);
    if (mosquitto_connect(mq, "127.0.0.1", mq_port, 30) != MOSQ_ERR_SUCCESS)
        die("cannot connect to the broker%s", NULL);
    mosquitto_subscribe(mq, NULL, PREFIX "/mediators/m-wang/assignments", 1);
    mosquitto_loop_start(mq);

    /* the load's requests, signed before the clock starts */
    char req[700];
    snprintf(req, sizeof req, "%s/load.req", tmp);
    snprintf(cmd, sizeof cmd,
             "%s gen -s %s -a 127.0.0.1:%d -n %d -x tb -t '%s' -o %s >/dev/null", loadgen,
             SECRET, http_port, 4000 * dur + 20000, REPORT_TEXT, req);
    if (system(cmd) != 0)
        die("loadgen gen failed (is %s built?)", loadgen);

    int64_t now = time(NULL);
    int64_t first_due = now + 3;   /* the load starts right after the inserts */
    exec_sql(h, "BEGIN IMMEDIATE");
    sqlite3_stmt *ci = NULL, *ti = NULL;
    sqlite3_prepare_v2(h,
                       "INSERT INTO cases(case_no, channel, user, category, severity, place_org, "
                       "org_id, mediator_id, status, tier, created_at, assigned_at, due_accept, "
                       "due_resolve, updated_at) VALUES (?1, 'web', ?1, 'neighbour', 0, "
                       "'grid-fy-01', 'grid-fy-01', 'm-wang', 'assigned', 3, ?2, ?2, ?3, ?4, ?2)",
                       -1, &ci, NULL);
    sqlite3_prepare_v2(h, "INSERT INTO timers(due_at, kind, case_id) VALUES (?1, 'accept_remind', ?2)",
                       -1, &ti, NULL);
    for (int i = 0; i < n_probes; i++) {
        int64_t due = first_due + (int64_t)i * (dur - 5) / n_probes;
        snprintf(probes[i].case_no, sizeof probes[i].case_no, "FQB%06d", i);
        probes[i].due_ms = due * 1000;
        sqlite3_bind_text(ci, 1, probes[i].case_no, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ci, 2, now);
        sqlite3_bind_int64(ci, 3, due);
        sqlite3_bind_int64(ci, 4, now + 86400 * 90);
        if (sqlite3_step(ci) != SQLITE_DONE)
            die("case insert failed: %s", sqlite3_errmsg(h));
        sqlite3_reset(ci);
        sqlite3_bind_int64(ti, 1, due);
        sqlite3_bind_int64(ti, 2, sqlite3_last_insert_rowid(h));
        if (sqlite3_step(ti) != SQLITE_DONE)
            die("timer insert failed: %s", sqlite3_errmsg(h));
        sqlite3_reset(ti);
    }
    sqlite3_finalize(ci);
    sqlite3_finalize(ti);
    exec_sql(h, "COMMIT");

    /* 4. load while the probes fall due */
    char line[2048] = "";
    snprintf(cmd, sizeof cmd, "%s run -a 127.0.0.1:%d -f %s -c %d -d %d -w 1", loadgen, http_port,
             req, conns, dur);
    FILE *lg = popen(cmd, "r");
    if (!lg || !fgets(line, sizeof line, lg))
        line[0] = '\0';
    if (lg)
        pclose(lg);
    /* the last probes: give them 6 s more */
    int64_t end = now_ms() + 6000;
    int seen = 0;
    while (now_ms() < end) {
        pthread_mutex_lock(&mu);
        seen = 0;
        for (int i = 0; i < n_probes; i++)
            seen += probes[i].seen_ms != 0;
        pthread_mutex_unlock(&mu);
        if (seen == n_probes)
            break;
        usleep(100000);
    }
    long hwm = proc_kb(fq_pid, "VmHWM:"), rss2 = proc_kb(fq_pid, "VmRSS:");
    long pending = -1;
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(h, "SELECT count(*) FROM timers WHERE fired_at IS NULL AND "
                          "cancelled_at IS NULL AND case_id = 0 AND kind = 'accept_remind'",
                       -1, &q, NULL);
    if (sqlite3_step(q) == SQLITE_ROW)
        pending = (long)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(h);

    mosquitto_loop_stop(mq, true);
    mosquitto_destroy(mq);
    mosquitto_lib_cleanup();
    stop(&fq_pid);
    stop(&mq_pid);

    int64_t late[MAX_PROBES];
    int n = 0;
    for (int i = 0; i < n_probes; i++)
        if (probes[i].seen_ms)
            late[n++] = probes[i].seen_ms - probes[i].due_ms;
    qsort(late, (size_t)n, sizeof late[0], cmp64);
    line[strcspn(line, "\n")] = '\0';
    printf("pending timers: %ld inserted in %lld ms (database %.1f MB)\n", n_timers,
           (long long)t_ins, sb.st_size / 1048576.0);
    printf("start-up to /readyz: %lld ms with no timers, %lld ms with %ld pending\n",
           (long long)start0, (long long)start1, n_timers);
    printf("RSS once ready: %ld kB with no timers, %ld kB with %ld pending; after the load "
           "%ld kB, peak %ld kB\n", rss0, rss1, n_timers, rss2, hwm);
    printf("probe timers: %d of %d fired under load; bulk timers still pending after the run: "
           "%ld (expected %ld)\n", n, n_probes, pending, n_timers);
    if (n)
        printf("lateness (MQTT arrival - due time): p50 %lld ms, p99 %lld ms, max %lld ms, "
               "min %lld ms\n", (long long)late[n / 2], (long long)late[(n * 99) / 100],
               (long long)late[n - 1], (long long)late[0]);
    printf("load meanwhile (loadgen, %d connections, %d s): %s\n", conns, dur, line);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "timers_bench: could not remove %s\n", tmp);
    return n == n_probes && pending == n_timers ? 0 : 1;
}

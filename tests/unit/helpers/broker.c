/* broker.c: starts and stops a real mosquitto for tests (see broker.h). The broker runs as a
 * child process with PR_SET_PDEATHSIG so a crashed test never leaves it behind; readiness is a
 * TCP connect to its port, retried every 20 ms. Linked into every test binary, so it uses no
 * Criterion API and keeps its names under broker_. */
#include "tests/unit/helpers/broker.h"
#include "common/fq.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static int write_config(struct broker *b)
{
    char path[256];
    snprintf(path, sizeof path, "%s/mosquitto.conf", b->dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "broker: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "listener %d 127.0.0.1\n", b->port);
    fprintf(f, "allow_anonymous true\n");
    fprintf(f, "log_dest file %s/mosquitto.log\n", b->dir);
    fprintf(f, "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n");
    fprintf(f, "max_queued_messages 100000\n");
    if (geteuid() == 0)
        fprintf(f, "user root\n");   /* else mosquitto drops to a user that cannot write dir */
    if (b->persist)
        fprintf(f, "persistence true\npersistence_location %s/\nautosave_interval 1\n", b->dir);
    else
        fprintf(f, "persistence false\n");
    int rc = fclose(f);
    return rc == 0 ? 0 : -1;
}

static int spawn(struct broker *b)
{
    char conf[256];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", b->dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "broker: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    b->pid = pid;
    for (int i = 0; i < 250; i++) {   /* 5 s */
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            b->pid = 0;
            fprintf(stderr, "broker: mosquitto exited at start (status %d), see %s/mosquitto.log\n",
                    status, b->dir);
            return -1;
        }
        if (accepts(b->port))
            return 0;
        msleep(20);
    }
    fprintf(stderr, "broker: mosquitto did not accept connections on port %d\n", b->port);
    broker_kill(b);
    return -1;
}

int broker_start(struct broker *b)
{
    if (!b->dir[0]) {
        snprintf(b->dir, sizeof b->dir, "/tmp/fq-broker-XXXXXX");
        if (!mkdtemp(b->dir)) {
            fprintf(stderr, "broker: mkdtemp: %s\n", strerror(errno));
            b->dir[0] = '\0';
            return -1;
        }
    }
    for (int attempt = 0; attempt < 3; attempt++) {   /* the port may be taken meanwhile */
        b->port = free_port();
        if (b->port <= 0 || write_config(b) != 0)
            return -1;
        if (spawn(b) == 0)
            return 0;
    }
    return -1;
}

int broker_restart(struct broker *b)
{
    if (b->pid)
        broker_stop(b);
    /* a port just released may be briefly unavailable; mosquitto sets SO_REUSEADDR */
    for (int attempt = 0; attempt < 5; attempt++) {
        if (spawn(b) == 0)
            return 0;
        msleep(200);
    }
    return -1;
}

static void signal_wait(struct broker *b, int sig)
{
    if (!b || !b->pid)
        return;
    kill(b->pid, SIGCONT);
    kill(b->pid, sig);
    int status;
    for (int i = 0; i < 250; i++) {   /* 5 s, then SIGKILL */
        if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
            b->pid = 0;
            return;
        }
        msleep(20);
    }
    kill(b->pid, SIGKILL);
    waitpid(b->pid, &status, 0);
    b->pid = 0;
}

void broker_stop(struct broker *b) { signal_wait(b, SIGTERM); }

void broker_kill(struct broker *b)
{
    if (b && b->pid)
        kill(b->pid, SIGKILL);   /* before the SIGCONT in signal_wait: it never runs again */
    signal_wait(b, SIGKILL);
}

void broker_pause(struct broker *b)
{
    if (b && b->pid)
        kill(b->pid, SIGSTOP);
}

void broker_resume(struct broker *b)
{
    if (b && b->pid)
        kill(b->pid, SIGCONT);
}

void broker_cleanup(struct broker *b)
{
    if (!b)
        return;
    broker_stop(b);
    if (!b->dir[0])
        return;
    DIR *d = opendir(b->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", b->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(b->dir);
    b->dir[0] = '\0';
}

/* ---- the recording client ---------------------------------------------------------------- */
#include <mosquitto.h>
#include <pthread.h>

struct broker_sub {
    struct mosquitto *mosq;
    char *filter;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct broker_msg **v;
    size_t n, cap;
    int subacks;
    int acked_mid;
};

static void sub_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct broker_sub *s = obj;
    if (rc == 0)
        mosquitto_subscribe(mosq, NULL, s->filter, 1);
}

static void sub_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *q)
{
    (void)mosq, (void)mid, (void)n, (void)q;
    struct broker_sub *s = obj;
    pthread_mutex_lock(&s->mu);
    s->subacks++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void sub_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    struct broker_sub *s = obj;
    pthread_mutex_lock(&s->mu);
    s->acked_mid = mid;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void sub_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    (void)mosq;
    struct broker_sub *s = obj;
    struct broker_msg *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->topic = strdup(m->topic);
    c->len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
    c->payload = malloc(c->len + 1);
    if (c->payload) {
        if (c->len)
            memcpy(c->payload, m->payload, c->len);
        c->payload[c->len] = '\0';
    }
    c->retain = m->retain;
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        struct broker_msg **nv = realloc(s->v, ncap * sizeof *nv);
        if (nv) {
            s->v = nv;
            s->cap = ncap;
        }
    }
    if (s->n < s->cap) {
        s->v[s->n++] = c;
        c = NULL;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (c) {
        free(c->topic);
        free(c->payload);
        free(c);
    }
}

struct broker_sub *broker_sub_new(int port, const char *client_id, const char *filter)
{
    mosquitto_lib_init();
    struct broker_sub *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->filter = strdup(filter);
    s->mosq = mosquitto_new(client_id, client_id == NULL, s);
    if (!s->filter || !s->mosq)
        goto fail;
    mosquitto_connect_callback_set(s->mosq, sub_on_connect);
    mosquitto_subscribe_callback_set(s->mosq, sub_on_subscribe);
    mosquitto_publish_callback_set(s->mosq, sub_on_publish);
    mosquitto_message_callback_set(s->mosq, sub_on_message);
    mosquitto_reconnect_delay_set(s->mosq, 1, 1, false);
    int rc = mosquitto_connect(s->mosq, "127.0.0.1", port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "broker_sub: connect: %s\n", mosquitto_strerror(rc));
        goto fail;
    }
    if (mosquitto_loop_start(s->mosq) != MOSQ_ERR_SUCCESS)
        goto fail;
    struct timespec ts;
    fq_deadline(&ts, CLOCK_REALTIME, 5000);
    pthread_mutex_lock(&s->mu);
    while (s->subacks == 0)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
            break;
    int ok = s->subacks > 0;
    pthread_mutex_unlock(&s->mu);
    if (ok)
        return s;
    fprintf(stderr, "broker_sub: no SUBACK\n");
    broker_sub_free(s);
    return NULL;
fail:
    if (s->mosq)
        mosquitto_destroy(s->mosq);
    s->mosq = NULL;
    broker_sub_free(s);
    return NULL;
}

size_t broker_sub_wait(struct broker_sub *s, size_t n, int timeout_ms)
{
    struct timespec ts;
    fq_deadline(&ts, CLOCK_REALTIME, timeout_ms);
    pthread_mutex_lock(&s->mu);
    while (s->n < n)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
            break;
    size_t got = s->n;
    pthread_mutex_unlock(&s->mu);
    return got;
}

size_t broker_sub_count(struct broker_sub *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

const struct broker_msg *broker_sub_get(struct broker_sub *s, size_t i)
{
    pthread_mutex_lock(&s->mu);
    const struct broker_msg *m = i < s->n ? s->v[i] : NULL;
    pthread_mutex_unlock(&s->mu);
    return m;
}

int broker_sub_publish(struct broker_sub *s, const char *topic, const char *payload, bool retain)
{
    int mid = 0;
    pthread_mutex_lock(&s->mu);
    int rc = mosquitto_publish(s->mosq, &mid, topic, (int)strlen(payload), payload, 1, retain);
    if (rc != MOSQ_ERR_SUCCESS) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    struct timespec ts;
    fq_deadline(&ts, CLOCK_REALTIME, 5000);
    while (s->acked_mid != mid)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
            break;
    int ok = s->acked_mid == mid ? 0 : -1;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void broker_sub_free(struct broker_sub *s)
{
    if (!s)
        return;
    if (s->mosq) {
        mosquitto_disconnect(s->mosq);
        mosquitto_loop_stop(s->mosq, false);
        mosquitto_destroy(s->mosq);
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i]->topic);
        free(s->v[i]->payload);
        free(s->v[i]);
    }
    free(s->v);
    free(s->filter);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* broker.h: a real mosquitto broker for tests, on a free loopback port, in a temporary
 * directory with a generated configuration. Self-contained (no Criterion): functions return 0 or
 * -1 and print the reason on stderr. */
#ifndef FQ_BROKER_H
#define FQ_BROKER_H

#include <stdbool.h>
#include <sys/types.h>

struct broker {
    pid_t pid;          /* 0 when not running */
    int port;           /* chosen by broker_start, kept by broker_restart */
    char dir[128];      /* temporary directory: mosquitto.conf, mosquitto.log, mosquitto.db */
    /* Set before broker_start: keep sessions and queued messages across restarts (saved on a
     * clean stop and every second, so a broker_kill loses at most the last second). */
    bool persist;
};

/* Creates the directory and configuration, picks a free port on 127.0.0.1, starts mosquitto and
 * waits (up to 5 s) until it accepts TCP connections. b must be zeroed first, except persist. */
int broker_start(struct broker *b);
/* Starts it again on the same port and configuration (after broker_stop or broker_kill). */
int broker_restart(struct broker *b);
/* SIGTERM (clean stop; saves the database when persist), waits for the process. */
void broker_stop(struct broker *b);
/* SIGKILL, waits for the process: an abrupt crash. */
void broker_kill(struct broker *b);
/* SIGSTOP / SIGCONT: the broker keeps its sockets open but stops answering. */
void broker_pause(struct broker *b);
void broker_resume(struct broker *b);
/* Stops it if running and removes the directory. NULL-safe, idempotent. */
void broker_cleanup(struct broker *b);

/* ---- a recording MQTT client for tests (libmosquitto, its own thread) ------------------------ */
struct broker_msg {
    char *topic;
    char *payload;      /* NUL-terminated copy */
    size_t len;
    bool retain;
};
struct broker_sub;

/* Connects to 127.0.0.1:port and subscribes to filter (QoS 1) on every connect; waits up to 5 s
 * for the first SUBACK. client_id NULL: a clean session with a generated id; else a persistent
 * session (clean session false) under that id. NULL on failure. */
struct broker_sub *broker_sub_new(int port, const char *client_id, const char *filter);
/* Waits until at least n messages were received or timeout_ms passed; returns the count. */
size_t broker_sub_wait(struct broker_sub *s, size_t n, int timeout_ms);
size_t broker_sub_count(struct broker_sub *s);
/* Message i in arrival order, borrowed until broker_sub_free. NULL when out of range. */
const struct broker_msg *broker_sub_get(struct broker_sub *s, size_t i);
/* Publishes at QoS 1 and waits up to 5 s for the PUBACK. 0 or -1. */
int broker_sub_publish(struct broker_sub *s, const char *topic, const char *payload, bool retain);
void broker_sub_free(struct broker_sub *s);   /* disconnects; NULL-safe */

#endif

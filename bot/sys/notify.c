/* notify.c: the sd_notify protocol, written out rather than linked from libsystemd.
 *
 * The protocol is systemd's documented, stable interface (sd_notify(3), "NOTES"; upstream gives
 * a reference implementation to copy): newline-separated VARIABLE=value assignments in one
 * datagram sent to the AF_UNIX socket named by $NOTIFY_SOCKET ('@' first means the abstract
 * namespace). It is the few lines below. Linking libsystemd0 instead would put it, and through it
 * liblzma, libzstd, liblz4, libgcrypt and libcap, into every process of the binary, including the
 * container image, which never runs under systemd; the CLI needs none of it.
 *
 * WATCHDOG_USEC is honoured only when WATCHDOG_PID is unset or our pid, as sd_watchdog_enabled
 * does. The socket is opened once; sendto on a datagram socket is atomic, so any thread may
 * send. A failed send is ignored: systemd's own timeouts report a daemon that stops talking. */
#include "bot/sys/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int sock = -1;
static struct sockaddr_un addr;
static socklen_t addr_len;
static int64_t watchdog_ms;

void notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t n = path ? strlen(path) : 0;
    if (n >= 2 && n < sizeof addr.sun_path && (path[0] == '/' || path[0] == '@')) {
        memset(&addr, 0, sizeof addr);
        addr.sun_family = AF_UNIX;
        memcpy(addr.sun_path, path, n);
        if (path[0] == '@')
            addr.sun_path[0] = '\0';
        addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
        sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    }
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end = NULL;
    long long us = usec ? strtoll(usec, &end, 10) : 0;
    if (usec && end && !*end && us > 0 && (!pid || atoll(pid) == (long long)getpid()))
        watchdog_ms = us / 1000 > 0 ? us / 1000 : 1;
}

void notify_send(const char *state)
{
    if (sock < 0 || !state)
        return;
    ssize_t w;
    do
        w = sendto(sock, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
    while (w < 0 && errno == EINTR);
}

void notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char msg[96];
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    notify_send(msg);
}

int64_t notify_watchdog_ms(void) { return sock >= 0 ? watchdog_ms : 0; }

void notify_watchdog(void) { notify_send("WATCHDOG=1"); }

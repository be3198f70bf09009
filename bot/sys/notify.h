/* notify.h: the daemon's state for systemd (Type=notify, WatchdogSec=): READY=1, RELOADING=1,
 * STOPPING=1 and the watchdog keep-alive, through $NOTIFY_SOCKET. Without it (a terminal, a
 * container) every call does nothing. */
#ifndef FQ_NOTIFY_H
#define FQ_NOTIFY_H

#include <stdint.h>

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID once; called by serve before any thread
 * starts. */
void notify_init(void);
/* Sends one state message ("READY=1", "STOPPING=1\nSTATUS=..."); safe from any thread. */
void notify_send(const char *state);
/* RELOADING=1 with MONOTONIC_USEC= (required by systemd 253 and later). */
void notify_reloading(void);
/* The watchdog interval systemd asked for (WATCHDOG_USEC) in milliseconds, 0 when off. A thread
 * that sends notify_watchdog() must do so at least every half of it. */
int64_t notify_watchdog_ms(void);
void notify_watchdog(void);

#endif

/* log.c: key=value lines on stderr, one write() per line so threads do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../common/fq.h"

static enum log_level min_level = LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level l) { min_level = l; }

void log_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

void log_msg(enum log_level l, const char *fmt, ...)
{
    if (l < min_level)
        return;
    char line[2048];
    char ts[32];
    fq_rfc3339(fq_now(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "ts=%s level=%s msg=", ts, names[l]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(2, line, len);
    (void)w;
}

/* log.c: key=value lines on stderr, one write() per line so threads do not interleave.
 *
 * When stderr is the journal's stream (systemd sets JOURNAL_STREAM to its "device:inode"; it
 * is only ours when fstat of stderr gives the same pair, since a child may inherit the variable
 * with stderr redirected elsewhere), each line starts with its syslog priority as sd-daemon(3)
 * describes, "<3>" error, "<4>" warning, "<6>" info, "<7>" debug, so journalctl -p filters and
 * colours them. */
#include "bot/sys/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fq.h"

static atomic_int min_level = LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};
static const char *const prio[] = {"<7>", "<6>", "<4>", "<3>"};
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool journal;

static void detect_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char end;
    struct stat st;
    journal = js && sscanf(js, "%llu:%llu%c", &dev, &ino, &end) == 2 && fstat(2, &st) == 0 &&
              (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_level(enum log_level l) { atomic_store(&min_level, (int)l); }

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
        if (s && strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    return -1;
}

void log_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

void log_msg(enum log_level l, const char *fmt, ...)
{
    if ((int)l < atomic_load(&min_level))
        return;
    pthread_once(&once, detect_journal);
    char line[2048];
    char ts[32];
    fq_rfc3339(fq_now(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "%sts=%s level=%s msg=", journal ? prio[l] : "", ts,
                     names[l]);
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

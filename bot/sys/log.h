/* log.h: one line per event on stderr, "ts=... level=... msg=... key=value ...", with a "<N>"
 * syslog priority in front when stderr is the journal (JOURNAL_STREAM). Never pass
 * tokens, request bodies, phone numbers or names at info level: mask them (fq_mask_phone). */
#ifndef FQ_LOG_H
#define FQ_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level l);
/* "error" "warn" "info" "debug" (the log.level key) into *out; -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);
/* fmt is the rest of the line after "msg=", e.g. log_msg(LOG_INFO, "case opened case=%s", no). */
void log_msg(enum log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Names the calling thread (at most 15 bytes), as top -H, ps -L and perf show it. */
void log_thread_name(const char *name);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif

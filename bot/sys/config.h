/* config.h: loading the configuration (bot/sys/config.c): defaults, the INI file (its own
 * parser), FENGQIAO_* environment overrides, `<key>_file` secrets and the cross-field check.
 * The struct it fills is common/config_model.h. */
#ifndef FQ_SYS_CONFIG_H
#define FQ_SYS_CONFIG_H

#include <stdio.h>

#include "common/config_model.h"

/* One problem found while loading or checking: "file:line: key: problem". */
struct fq_config_problem {
    char *file;   /* NULL for environment or cross-field problems */
    int line;     /* 0 when not from a file line */
    char *key;    /* "section.key", or the environment variable name */
    char *text;
};

struct fq_config_problems {
    struct fq_config_problem *v;
    size_t n, cap;
};

/* A config with every default of docs/contract.md 2. Caller frees with config_free. NULL on oom. */
struct fq_config *config_new_defaults(void);
void config_free(struct fq_config *c);   /* NULL-safe */

/* Load: defaults, then FILE (if not NULL), then FENGQIAO_<SECTION>_<KEY> variables, then
 * `<key>_file` secrets are read, then the cross-field check. Returns a config, or NULL when
 * there were problems; every problem found is appended to *probs (caller frees with
 * config_problems_cleanup). A missing FILE is a problem. */
struct fq_config *config_load(const char *file, struct fq_config_problems *probs);
void config_problems_cleanup(struct fq_config_problems *p);
/* Prints each problem as "file:line: key: problem" (or "key: problem") to f. */
void config_problems_print(const struct fq_config_problems *p, FILE *f);

/* Parses a duration "30s" "15m" "12h" "7d" (also a bare "0") into seconds; -1 on error. */
int64_t config_parse_duration(const char *s);

/* Prints the effective configuration c to f as an INI file that parses back to the same values
 * (durations in their largest exact unit); every secret that is set shows as "(set)", never its
 * value. For `check-config -v`. Nothing happens when c or f is NULL. */
void config_print(const struct fq_config *c, FILE *f);

#endif

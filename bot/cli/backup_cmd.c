/* backup_cmd.c: the backup and restore subcommands. They read the configuration only for store.path.
 *
 * backup opens the database read-only (no lock, no migration): in WAL mode it reads one committed
 * snapshot while the daemon keeps writing, so it is safe to run from cron next to a running
 * daemon; it never writes over the database's own files nor, without --force, over an existing
 * file. restore needs the database to itself: store_restore refuses while any read-write
 * opener (the daemon, a roster import) holds the database lock, checks the backup before
 * touching anything, and keeps the replaced database as a .pre-restore copy. */
#include "bot/cli/backup_cmd.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bot/sys/config.h"
#include "common/config_model.h"
#include "store/backup.h"
#include "store/store.h"
#include "bot/cli/cli.h"
#include "common/fq.h"

static const char usage_backup[] =
    "usage: fengqiao backup FILE [--force] [-c FILE]\n"
    "Writes a consistent copy of the database (store.path) to FILE while the daemon runs\n"
    "(SQLite's online backup: one snapshot, the daemon is not paused). FILE is created 0600\n"
    "and only appears once complete. Refused when FILE is the database or one of its own files\n"
    "(-wal, -shm, -journal, .lock), and when FILE exists, unless --force (-f) is given.\n"
    "Exit 0 done, 1 failed or refused, 2 usage error.\n";
static const char usage_restore[] =
    "usage: fengqiao restore FILE [-c FILE]\n"
    "Replaces the database (store.path) with the backup FILE. FILE is checked first, without\n"
    "running anything it contains: integrity, schema version not newer than this program, and\n"
    "its whole schema (tables, columns, indexes, triggers, views) exactly the one this\n"
    "program's migrations make for that version; any difference is refused and named.\n"
    "Refused while a daemon or another fengqiao command has the database open: stop the daemon\n"
    "first. The replaced database is kept as <store.path>.pre-restore-<time>. An older backup\n"
    "is migrated when the daemon next starts. Exit 0 done, 1 failed or refused, 2 usage error.\n";

static int backup_opt(int code, char *arg, void *ctx)
{
    (void)arg;
    if (code != 'f')
        return 2;
    *(bool *)ctx = true;
    return 0;
}

/* Parses "CMD FILE [-c CONF]" (and backup's --force). Returns -1 to go on, else the exit code
 * to return. */
static int parse(int argc, char **argv, const char *usage, const char **file, const char **conf,
                 bool *force)
{
    *file = NULL;
    static const struct option force_opts[] = {{"force", no_argument, 0, 'f'}, {0, 0, 0, 0}};
    const struct cli_cmd cmd = {.name = argv[0], .usage = usage, .min_operands = 1,
                                .max_operands = 1, .operand = "FILE",
                                .shortopts = force ? "f" : NULL,
                                .longopts = force ? force_opts : NULL,
                                .opt = force ? backup_opt : NULL, .ctx = force};
    int first = 0, rc = cli_parse(&cmd, argc, argv, conf, &first);
    if (rc < 0)
        *file = argv[first];
    return rc;
}

static struct fq_config *load(const char *conf)
{
    if (!conf && access("fengqiao.conf", F_OK) == 0)
        conf = "fengqiao.conf";
    struct fq_config_problems probs = {0};
    struct fq_config *cfg = config_load(conf, &probs);
    if (!cfg)
        config_problems_print(&probs, stderr);
    config_problems_cleanup(&probs);
    return cfg;
}

/* True when a and b name the same existing file. */
static bool same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

int cmd_backup(int argc, char **argv)
{
    const char *file, *conf;
    bool force = false;
    int rc = parse(argc, argv, usage_backup, &file, &conf, &force);
    if (rc >= 0)
        return rc;
    rc = 1;
    struct store *s = NULL;
    char *cause = NULL;
    struct fq_config *cfg = load(conf);
    if (!cfg)
        goto out;
    /* before opening anything: the database's own files are never a target, even with --force */
    if (store_backup_refuses(cfg->store_path, file, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao backup: refused: %s\n", cause ? cause : file);
        goto out;
    }
    struct stat sb;
    if (!force && lstat(file, &sb) == 0) {
        fprintf(stderr, "fengqiao backup: refused: %s exists (--force replaces it)\n", file);
        goto out;
    }
    if (store_open_readonly(cfg->store_path, &s, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao backup: %s\n", cause ? cause : cfg->store_path);
        goto out;
    }
    free(cause);
    cause = NULL;
    enum fq_err err = store_backup_to(s, file, force, &cause);
    if (err != FQ_OK) {
        if (err == FQ_EEXIST)   /* created since the check above */
            fprintf(stderr, "fengqiao backup: refused: %s exists (--force replaces it)\n", file);
        else
            fprintf(stderr, "fengqiao backup: %s%s\n", err == FQ_EINVAL ? "refused: " : "",
                    cause ? cause : file);
        goto out;
    }
    printf("backup written: %s (schema %d)\n", file, store_schema_version(s));
    rc = 0;
out:
    free(cause);
    store_close(s);
    config_free(cfg);
    return rc;
}

int cmd_restore(int argc, char **argv)
{
    const char *file, *conf;
    int rc = parse(argc, argv, usage_restore, &file, &conf, NULL);
    if (rc >= 0)
        return rc;
    rc = 1;
    char *cause = NULL, *kept = NULL;
    struct fq_config *cfg = load(conf);
    if (!cfg)
        goto out;
    if (same_file(file, cfg->store_path)) {
        fprintf(stderr, "fengqiao restore: %s is the database itself\n", file);
        goto out;
    }
    int version = -1;
    if (store_backup_check(file, &version, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao restore: refused: %s\n", cause ? cause : file);
        goto out;
    }
    free(cause);
    cause = NULL;
    if (store_restore(file, cfg->store_path, &kept, &cause) != FQ_OK) {
        fprintf(stderr, "fengqiao restore: refused: %s\n", cause ? cause : cfg->store_path);
        goto out;
    }
    printf("restored %s (schema %d) into %s\n", file, version, cfg->store_path);
    if (kept)
        printf("the replaced database is kept as %s\n", kept);
    rc = 0;
out:
    free(kept);
    free(cause);
    config_free(cfg);
    return rc;
}

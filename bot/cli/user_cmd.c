/* user_cmd.c: the workbench's accounts from the command line (bot/cli/user_cmd.h). The password
 * is read from a file (never from the command line, where `ps` would show it); one final line
 * break is not part of it. The hash is Argon2id (bot/web/auth.c); neither the password nor the
 * hash is printed. Changing a password or disabling an account ends its sessions. */
#include "bot/cli/user_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/cli/cli.h"
#include "bot/sys/config.h"
#include "bot/web/auth.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/localtime.h"
#include "common/roster_model.h"
#include "store/roster_table.h"
#include "store/store.h"
#include "store/web_table.h"

static const char usage_user[] =
    "usage: fengqiao user add LOGIN --role office|supervisor|mediator --org ORG_ID\n"
    "                         [--mediator ID] --password-file FILE [-c FILE]\n"
    "       fengqiao user list [-c FILE]\n"
    "       fengqiao user disable LOGIN [-c FILE]\n"
    "       fengqiao user passwd LOGIN --password-file FILE [-c FILE]\n"
    "Manages the web workbench's accounts. An account sees the cases of its org node and the\n"
    "nodes below it. A mediator account names the roster's mediator it acts as (--mediator);\n"
    "office and supervisor accounts may name one too. The password (8 to 256 bytes) is the\n"
    "content of FILE without its final line break; it is stored as an Argon2id hash.\n"
    "disable and passwd end the account's open sessions. LOGIN: 1-64 of A-Z a-z 0-9 . _ - @\n";

struct opts {
    const char *role, *org, *mediator, *pwfile;
};

static int user_opt(int code, char *arg, void *ctx)
{
    struct opts *o = ctx;
    switch (code) {
    case 'r': o->role = arg; return 0;
    case 'o': o->org = arg; return 0;
    case 'm': o->mediator = arg; return 0;
    case 'p': o->pwfile = arg; return 0;
    }
    return 2;
}

static bool login_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > WEB_LOGIN_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-' || *p == '@'))
            return false;
    return true;
}

/* The password in FILE without one final "\n" or "\r\n"; NULL with a message on stderr. */
static char *read_password(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return NULL;
    }
    char buf[AUTH_PASSWORD_MAX + 4];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n >= sizeof buf - 1) {
        fprintf(stderr, "%s: the password is longer than %d bytes\n", path, AUTH_PASSWORD_MAX);
        return NULL;
    }
    if (n && buf[n - 1] == '\n')
        n--;
    if (n && buf[n - 1] == '\r')
        n--;
    if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX || memchr(buf, '\0', n)) {
        fprintf(stderr, "%s: a password is %d to %d bytes, without NUL\n", path, AUTH_PASSWORD_MIN,
                AUTH_PASSWORD_MAX);
        return NULL;
    }
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, buf, n);
        p[n] = '\0';
        *len = n;
    }
    memset(buf, 0, sizeof buf);
    return p;
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
    if (cfg && fq_tz_use(cfg->server_timezone) != FQ_OK) {
        config_free(cfg);
        cfg = NULL;
    }
    return cfg;
}

/* The org and mediator must be in the stored roster once one was imported. */
static bool check_roster(struct store *s, const char *org, const char *mediator)
{
    struct fq_roster *r = NULL;
    if (store_roster_load(s, &r) != FQ_OK) {
        fprintf(stderr, "fengqiao user: the roster cannot be read\n");
        return false;
    }
    bool ok = true;
    if (r->n_org && roster_org_index(r, org) < 0) {
        fprintf(stderr, "fengqiao user: --org \"%s\": no such org node in the roster\n", org);
        ok = false;
    } else if (mediator && r->n_org && roster_mediator_index(r, mediator) < 0) {
        fprintf(stderr, "fengqiao user: --mediator \"%s\": no such mediator in the roster\n",
                mediator);
        ok = false;
    }
    roster_free(r);
    return ok;
}

static void print_user(const struct web_user_row *u, void *arg)
{
    (void)arg;
    char when[32];
    fq_local_format(u->created_at, FQ_LOCAL_MINUTE, when, sizeof when);
    printf("%-20s %-10s %-16s %-16s %-8s %s\n", u->login, u->role, u->org_id,
           *u->mediator_id ? u->mediator_id : "-", u->disabled ? "disabled" : "active", when);
}

int cmd_user(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_user, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    bool add = strcmp(sub, "add") == 0, list = strcmp(sub, "list") == 0,
         dis = strcmp(sub, "disable") == 0, pw = strcmp(sub, "passwd") == 0;
    if (!add && !list && !dis && !pw) {
        fprintf(stderr, "fengqiao user: unknown subcommand \"%s\"\n%s", sub, usage_user);
        return 2;
    }
    static const struct option lo[] = {{"role", required_argument, 0, 'r'},
                                       {"org", required_argument, 0, 'o'},
                                       {"mediator", required_argument, 0, 'm'},
                                       {"password-file", required_argument, 0, 'p'},
                                       {0, 0, 0, 0}};
    struct opts o = {0};
    char name[24];
    snprintf(name, sizeof name, "user %s", sub);
    const struct cli_cmd cmd = {.name = name, .usage = usage_user,
                                .longopts = add || pw ? lo : NULL, .opt = user_opt, .ctx = &o,
                                .min_operands = list ? 0 : 1, .max_operands = list ? 0 : 1,
                                .operand = "LOGIN"};
    const char *conf = NULL;
    int first = 0, rc = cli_parse(&cmd, argc - 1, argv + 1, &conf, &first);
    if (rc >= 0)
        return rc;
    const char *login = list ? NULL : argv[1 + first];
    if (login && !login_ok(login)) {
        fprintf(stderr, "fengqiao %s: LOGIN: 1-64 of A-Z a-z 0-9 . _ - @\n%s", name, usage_user);
        return 2;
    }
    if (add) {
        if (!o.role || (strcmp(o.role, "office") && strcmp(o.role, "supervisor") &&
                        strcmp(o.role, "mediator"))) {
            fprintf(stderr, "fengqiao user add: --role office|supervisor|mediator is needed\n%s",
                    usage_user);
            return 2;
        }
        if (!o.org || !*o.org || strlen(o.org) > WEB_ID_MAX) {
            fprintf(stderr, "fengqiao user add: --org ORG_ID is needed\n%s", usage_user);
            return 2;
        }
        if (o.mediator && (!*o.mediator || strlen(o.mediator) > WEB_ID_MAX)) {
            fprintf(stderr, "fengqiao user add: --mediator: 1-%d bytes\n", WEB_ID_MAX);
            return 2;
        }
        if (strcmp(o.role, "mediator") == 0 && !o.mediator) {
            fprintf(stderr, "fengqiao user add: a mediator account needs --mediator ID\n");
            return 2;
        }
    } else if (o.role || o.org || o.mediator) {
        fprintf(stderr, "fengqiao %s: --role, --org and --mediator belong to user add\n", name);
        return 2;
    }
    if ((add || pw) && !o.pwfile) {
        fprintf(stderr, "fengqiao %s: --password-file FILE is needed\n%s", name, usage_user);
        return 2;
    }
    char *hash = NULL;
    if (o.pwfile) {
        size_t len = 0;
        char *pwd = read_password(o.pwfile, &len);
        if (!pwd)
            return 1;
        hash = auth_password_hash(pwd, len);
        memset(pwd, 0, len);
        free(pwd);
        if (!hash) {
            fprintf(stderr, "fengqiao %s: cannot hash the password\n", name);
            return 1;
        }
    }
    struct fq_config *cfg = load(conf);
    if (!cfg) {
        free(hash);
        return 1;
    }
    struct store *s = NULL;
    char *cause = NULL;
    rc = 1;
    enum fq_err err = list ? store_open_readonly(cfg->store_path, &s, &cause)
                           : store_open(cfg->store_path, &s, &cause);
    if (err) {
        fprintf(stderr, "%s: %s\n", cfg->store_path, cause ? cause : "cannot open");
        goto out;
    }
    int64_t now = fq_now();
    if (list) {
        err = store_web_user_list(s, print_user, NULL);
    } else if (add) {
        if (!check_roster(s, o.org, o.mediator))
            goto out;
        struct web_user_row u = {.pw_hash = hash, .created_at = now, .updated_at = now};
        snprintf(u.login, sizeof u.login, "%s", login);
        snprintf(u.role, sizeof u.role, "%s", o.role);
        snprintf(u.org_id, sizeof u.org_id, "%s", o.org);
        snprintf(u.mediator_id, sizeof u.mediator_id, "%s", o.mediator ? o.mediator : "");
        err = store_web_user_add(s, &u);
        if (err == FQ_EEXIST) {
            fprintf(stderr, "fengqiao user add: \"%s\" exists already\n", login);
            goto out;
        }
    } else if (dis) {
        err = store_web_user_disable(s, login, now);
    } else {
        err = store_web_user_passwd(s, login, hash, now);
    }
    if (err == FQ_ENOTFOUND) {
        fprintf(stderr, "fengqiao %s: no such user \"%s\"\n", name, login);
        goto out;
    }
    if (err) {
        fprintf(stderr, "%s: %s\n", cfg->store_path, store_errmsg(s));
        goto out;
    }
    if (add)
        printf("user %s added\n", login);
    else if (dis)
        printf("user %s disabled\n", login);
    else if (pw)
        printf("password of %s changed\n", login);
    rc = 0;
out:
    free(cause);
    free(hash);
    store_close(s);
    config_free(cfg);
    return rc;
}

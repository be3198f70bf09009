/* fuzz_config.c: libFuzzer target for the INI configuration (docs/contract.md 2): config_load on a
 * temporary file holding the input, then everything the CLI does with the result
 * (config_problems_print for check-config, config_print for check-config -v).
 *
 * One temporary file per process, rewritten for each input (config_load takes a path, and the
 * file:line of each problem is part of what is tested). `*_file` keys in the input may name any
 * path; the secret reader bounds what it reads, and stdin is /dev/null under tests/fuzz/run.sh.
 * FENGQIAO_* variables of the caller's environment are removed at start so runs reproduce. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/sla.h"

extern char **environ;

static char path[64], path2[64];
static FILE *sink;

static void drop_env(void)
{
    for (;;) {
        char **e = environ;
        while (*e && strncmp(*e, "FENGQIAO_", 9) != 0)
            e++;
        if (!*e)
            return;
        char name[256];
        size_t n = strcspn(*e, "=");
        if (n >= sizeof name)
            n = sizeof name - 1;
        memcpy(name, *e, n);
        name[n] = '\0';
        unsetenv(name);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    drop_env();
    snprintf(path, sizeof path, "/tmp/fq-fuzz-config-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    snprintf(path2, sizeof path2, "/tmp/fq-fuzz-config2-XXXXXX");
    fd = mkstemp(path2);
    if (fd < 0)
        abort();
    close(fd);
    sink = fopen("/dev/null", "w");
    if (!sink)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    struct fq_config_problems probs = {0};
    struct fq_config *c = config_load(path, &probs);
    if (c) {
        if (probs.n)
            abort();   /* a config is returned only when there was no problem */
        if (!c->server_listen || !c->store_path || c->server_threads < 1 || c->server_max_body < 1)
            abort();
        for (int s = 0; s < 3; s++) {
            (void)sla_accept(c, s);
            (void)sla_resolve(c, s);
        }
        /* config_print promises an INI file that parses back to the same values (a secret
         * prints as "(set)", which is itself a valid secret) */
        FILE *g = fopen(path2, "w");
        if (!g)
            abort();
        config_print(c, g);
        fclose(g);
        struct fq_config_problems p2 = {0};
        struct fq_config *c2 = config_load(path2, &p2);
        if (!c2) {
            config_problems_print(&p2, stderr);
            abort();
        }
        if (strcmp(c2->server_listen, c->server_listen) != 0 ||
            strcmp(c2->store_path, c->store_path) != 0 ||
            c2->server_max_body != c->server_max_body || c2->mqtt_port != c->mqtt_port ||
            c2->sla_accept[0] != c->sla_accept[0] || c2->survey_delay != c->survey_delay ||
            c2->mqtt_enabled != c->mqtt_enabled || !c2->chat_secret != !c->chat_secret)
            abort();
        config_free(c2);
        config_problems_cleanup(&p2);
        config_free(c);
    } else {
        if (!probs.n)
            abort();   /* a refusal names at least one problem */
        config_problems_print(&probs, sink);
    }
    config_problems_cleanup(&probs);
    return 0;
}

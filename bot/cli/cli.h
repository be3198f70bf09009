/* cli.h: the command line of docs/contract.md 1. */
#ifndef FQ_CLI_H
#define FQ_CLI_H

struct option;

/* Runs the subcommand in argv; returns the exit code (0 ok, 1 runtime/validation, 2 usage). */
int cli_main(int argc, char **argv);

/* One subcommand's options for cli_parse. Every subcommand takes -c/--config FILE and
 * -h/--help; these add its own. */
struct cli_cmd {
    const char *name;                 /* "roster import": the prefix of every message */
    const char *usage;                /* printed by --help (stdout) and after a usage error */
    const char *shortopts;            /* its own short options in getopt syntax ("vo:"), or NULL */
    const struct option *longopts;    /* its own long options, {0}-terminated, or NULL */
    /* Takes one of its own options (the getopt code and its argument); returns 0, or 2 after
     * printing a usage error. NULL when it has none. */
    int (*opt)(int code, char *arg, void *ctx);
    void *ctx;
    int min_operands, max_operands;   /* positional arguments */
    const char *operand;              /* its name in "FILE is missing" */
};

/* Parses argv (argv[0] is the command word, e.g. "import" or "backup") with getopt_long, so
 * `-c FILE`, `-cFILE`, `--config FILE`, `--config=FILE` and unambiguous prefixes of long options
 * all work, options and operands mix in any order, and `--` ends the options. Returns -1 to go
 * on, with *conf set (NULL without -c) and the operands in argv[*first .. argc); otherwise the
 * exit code to return: 0 after --help, 2 after a usage error (message and usage on stderr). */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, const char **conf, int *first);

/* The version of this build, "1.2.3 (git abc1234)" or "1.2.3" without a git checkout. */
const char *cli_version(void);

#endif

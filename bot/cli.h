/* cli.h: the command line of CONTRACT 1. */
#ifndef FQ_CLI_H
#define FQ_CLI_H

/* Runs the subcommand in argv; returns the exit code (0 ok, 1 runtime/validation, 2 usage). */
int cli_main(int argc, char **argv);
/* `fengqiao serve` (bot/main.c). conf: -c FILE or NULL for the default lookup. */
int cmd_serve(const char *conf);

#endif

/* report_cmd.h: `fengqiao report monthly` and `fengqiao report ledger` (bot/cli/report_cmd.c). */
#ifndef FQ_REPORT_CMD_H
#define FQ_REPORT_CMD_H

/* `fengqiao report monthly|ledger ...` (bot/cli/report_cmd.c): argv[0] is "report". Returns the
 * exit code (0, 1 runtime error, 2 usage error). */
int report_cli_main(int argc, char **argv);

#endif

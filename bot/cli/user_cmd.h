/* user_cmd.h: `fengqiao user add|list|disable|passwd` (docs/contract.md 12.1): the workbench's
 * accounts, written straight into the store like `roster import`. */
#ifndef FQ_USER_CMD_H
#define FQ_USER_CMD_H

/* argv[0] is "user". Returns the exit code: 0 done, 1 failed (the message says why), 2 usage. */
int cmd_user(int argc, char **argv);

#endif

/* backup_cmd.h: `fengqiao backup FILE` and `fengqiao restore FILE` (docs/contract.md 1). The copying
 * itself is store/backup.c (only store/ includes sqlite3.h); this is the command-line side. */
#ifndef FQ_BACKUP_CMD_H
#define FQ_BACKUP_CMD_H

/* argv[0] is "backup" / "restore". Return the exit code: 0 done, 1 failed (the message names the
 * file and the problem), 2 usage error. */
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);

#endif

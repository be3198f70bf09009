/* backup.h: backup, restore and the database lock (store/backup.c). */
#ifndef FQ_BACKUP_H
#define FQ_BACKUP_H

#include "common/fq.h"
#include "store/stmt.h"

struct store;

/* A consistent online copy of s's database (one read snapshot; the daemon keeps writing) into
 * dest, a self-contained file created 0600 (written to a temporary file beside it, renamed when
 * complete, so dest is never a half copy). Refuses (FQ_EINVAL) a dest that is one of the
 * database's own files (store_backup_refuses); an existing dest is replaced only when replace
 * is true, else FQ_EEXIST. Errors: FQ_EIO/FQ_ESTORE with *cause (caller frees). */
enum fq_err store_backup_to(struct store *s, const char *dest, bool replace, char **cause);
/* FQ_EINVAL with *cause when dest is the database at db_path or its -wal, -shm, -journal or
 * .lock file: the same file (device and inode, through symbolic links) when it exists, the same
 * resolved name when it does not yet. FQ_OK otherwise. */
enum fq_err store_backup_refuses(const char *db_path, const char *dest, char **cause);
/* The copy store_open takes before migrating an existing database from from_version:
 * "<db>.bak-v<from_version>-<YYYYMMDDTHHMMSSZ>". *out_path (may be NULL): caller frees. */
enum fq_err store_backup_before_migrate(struct store *s, int from_version, char **out_path,
                                        char **cause);
/* Checks that file is a usable fengqiao backup, opened read-only with nothing of its schema
 * allowed to run: PRAGMA integrity_check is ok, user_version is between 1 and
 * store_schema_latest(), the tables of the first migration exist, and its whole schema (tables,
 * columns, indexes, triggers, views) is exactly the one this program's migrations produce for
 * that user_version. *version (may be NULL) gets its user_version. FQ_ENOTFOUND (no file),
 * FQ_EINVAL (not ours, too new, or a schema difference, named), FQ_ESTORE (corrupt); *cause
 * says which. */
enum fq_err store_backup_check(const char *file, int *version, char **cause);
/* Replaces the database at db_path with the checked backup. Refuses with FQ_EBUSY while anyone
 * holds the database lock (a running daemon, a roster import). The current database, if any,
 * is first copied to "<db>.pre-restore-<YYYYMMDDTHHMMSSZ>" (*kept_path, may be NULL: caller
 * frees; stays NULL when there was no database). */
enum fq_err store_restore(const char *backup, const char *db_path, char **kept_path,
                          char **cause);
/* The database lock: flock(2) on the database file itself (not on a file beside it, which could
 * be deleted or replaced), shared for every read-write store_open, exclusive for a restore;
 * never blocks. db_path must exist. Within a process the descriptor is shared and reference
 * counted. Returns the descriptor to pass to store_lock_release, or -1 with *cause (caller
 * frees) when someone holds it in the other mode. Release only after closing the SQLite
 * connection opened under it. */
int store_lock_take(const char *db_path, bool exclusive, char **cause);
void store_lock_release(const char *db_path, int fd);   /* fd -1: no-op */

#endif

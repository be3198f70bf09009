"""Backup and restore against hostile files: a backup is data from outside, and restore must not
take code or a wrong schema into the daemon's database; the lock that keeps a restore away from a
running daemon must be a real lock, not a file anyone can delete; `backup` must never write over
the database's own files or, without --force, over an existing file.

Every test runs the real binary on real SQLite files; the hostile backups are good backups
changed with Python's sqlite3, as anyone could."""
import glob
import os
import shutil
import signal
import sqlite3

import lib
from lib import Daemon, TempDir, check

MESSAGE = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话1380000{:04d}"


def one_case(d, user, i=0):
    r = d.chat(user, MESSAGE.format(i))
    check(r.status == 200 and r.get("state") == "confirm", f"{user} did not reach confirm: {r}")
    r = d.chat(user, "1")
    check(r.status == 200 and r.get("case"), f"{user}: submit did not answer a case: {r}")
    return r.get("case")


def schema_latest():
    return max(int(os.path.basename(f)[:4])
               for f in glob.glob(os.path.join(lib.ROOT, "store", "migrations", "*.sql")))


def db_state(path):
    """What a refused restore must leave as it was: the schema and the cases."""
    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        schema = sorted(c.execute("SELECT type, name, sql FROM sqlite_schema").fetchall())
        cases = c.execute("SELECT count(*) FROM cases").fetchone()[0]
        return schema, cases
    finally:
        c.close()


def changed(good, path, sql, version=None):
    """A copy of the good backup at path, changed by sql (and user_version)."""
    shutil.copy(good, path)
    c = sqlite3.connect(path)
    c.executescript(sql)
    if version is not None:
        c.execute(f"PRAGMA user_version = {version}")
    c.commit()
    c.close()
    return path


def daemon_with_a_backup():
    """A stopped daemon whose database holds two cases, and a good backup of it."""
    d = Daemon(None)
    cases = [one_case(d, "rs-a", 1), one_case(d, "rs-b", 2)]
    good = os.path.join(TempDir("fqit-restore-").path, "good.db")
    r = d.cli("backup", good)
    check(r.returncode == 0, f"backup: {r.stdout}{r.stderr}")
    check(d.stop() == 0, "daemon did not exit 0")
    return d, cases, good


def test_restore_refuses_a_backup_whose_schema_differs():
    d, cases, good = daemon_with_a_backup()
    out = os.path.dirname(good)
    before = db_state(d.db)
    latest = schema_latest()
    hostile = [
        # code that would run inside the daemon on the next case
        ("trigger", "CREATE TRIGGER leak AFTER INSERT ON cases BEGIN "
                    "UPDATE kv SET value = NEW.description WHERE key = 'x'; END;",
         f'trigger "leak" is not in schema version {latest}'),
        ("index", "CREATE INDEX leak_idx ON residents(contact);", 'index "leak_idx"'),
        ("view", "CREATE VIEW leak_v AS SELECT contact FROM residents;", 'view "leak_v"'),
        # a later migration's table missing, claiming the newest version
        ("missing", "DROP TABLE mediator_gateways;", 'table "mediator_gateways"'),
        # a column added, a column changed
        ("added", "ALTER TABLE residents ADD COLUMN leak TEXT;", 'column "leak"'),
        ("changed", "DROP TABLE kv; CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB) "
                    "WITHOUT ROWID;", 'column "value" of table "kv" differs'),
        # a trigger of the migrations with another body
        ("body", "DROP TRIGGER case_events_no_delete; CREATE TRIGGER case_events_no_delete "
                 "BEFORE DELETE ON case_events BEGIN SELECT 1; END;",
         'trigger "case_events_no_delete" differs'),
    ]
    for tag, sql, named in hostile:
        bad = changed(good, os.path.join(out, f"{tag}.db"), sql)
        r = d.cli("restore", bad)
        check(r.returncode == 1, f"{tag}: a hostile backup was restored: {r.stdout}{r.stderr}")
        check(named in r.stderr and bad in r.stderr,
              f"{tag}: the refusal does not name {named!r}: {r.stderr}")
        check(db_state(d.db) == before, f"{tag}: the refused restore changed the database")
        check(not glob.glob(d.db + ".pre-restore-*"), f"{tag}: a refused restore kept a copy")

    # a backup from the future, even one that is otherwise good, is refused
    bad = changed(good, os.path.join(out, "future.db"), "", version=latest + 1)
    r = d.cli("restore", bad)
    check(r.returncode == 1 and "newer" in r.stderr, f"a newer backup was accepted: {r}")
    check(db_state(d.db) == before, "the refused restore changed the database")

    # the good one is accepted and the daemon serves its cases
    r = d.cli("restore", good)
    check(r.returncode == 0, f"a good backup was refused: {r.stdout}{r.stderr}")
    d.start()
    for c in cases:
        check(d.case(c) is not None, f"restored case {c} not served")
    check(d.stop() == 0, "daemon on the restored database did not exit 0")


def test_restore_accepts_an_older_backup_and_the_daemon_migrates_it():
    d = Daemon(None, start=False, roster=None)
    old = os.path.join(d.dir, "v1.db")
    c = sqlite3.connect(old)
    with open(os.path.join(lib.ROOT, "store", "migrations", "0001_init.sql")) as f:
        c.executescript(f.read())
    c.execute("INSERT INTO kv(key, value) VALUES ('marker', 'v1')")
    c.execute("PRAGMA user_version = 1")
    c.commit()
    c.close()
    r = d.cli("restore", old)
    check(r.returncode == 0, f"a good version 1 backup was refused: {r.stdout}{r.stderr}")
    # the same file with a trigger of its own is refused, named against version 1
    bad = changed(old, os.path.join(d.dir, "v1-bad.db"),
                  "CREATE TRIGGER leak AFTER INSERT ON residents BEGIN SELECT 1; END;")
    r = d.cli("restore", bad)
    check(r.returncode == 1 and 'trigger "leak" is not in schema version 1' in r.stderr,
          f"{r.stdout}{r.stderr}")
    r = d.cli("roster", "import", os.path.join(lib.ROOT, "docker", "demo-roster.json"))
    check(r.returncode == 0, f"the restored v1 database did not open: {r.stderr}")
    c = sqlite3.connect(d.db)
    check(c.execute("PRAGMA user_version").fetchone()[0] == schema_latest(), "not migrated")
    check(c.execute("SELECT value FROM kv WHERE key = 'marker'").fetchone() == ("v1",),
          "the restored data is gone")
    c.close()


def test_restore_under_a_live_daemon_is_refused_whatever_happens_to_the_lock_file():
    d = Daemon(None)
    cases = [one_case(d, "lk-a", 1)]
    good = os.path.join(d.dir, "good.db")
    check(d.cli("backup", good).returncode == 0, "backup")
    cases.append(one_case(d, "lk-b", 2))     # after the backup: a restore would lose it
    lock = d.db + ".lock"

    def refused(what):
        r = d.cli("restore", good)
        check(r.returncode == 1 and "in use" in r.stderr,
              f"restore under a live daemon ({what}): {r.stdout}{r.stderr}")
        check(not glob.glob(d.db + ".pre-restore-*"), f"{what}: the refused restore went ahead")

    refused("as started")
    if os.path.exists(lock):
        os.unlink(lock)
    refused("the lock file deleted")
    with open(lock, "w") as f:                # overwritten by something else
        f.write("0\n")
    refused("the lock file overwritten")
    os.unlink(lock)
    os.mkdir(lock)                            # even a directory in its place
    refused("a directory named like the lock file")
    os.rmdir(lock)
    check(d.alive(), "the daemon died")
    cases.append(one_case(d, "lk-c", 3))
    for c in cases:
        check(d.case(c) is not None, f"case {c} lost")
    check(d.stop() == 0, "daemon did not exit 0")
    # stopped, the same restore goes through
    r = d.cli("restore", good)
    check(r.returncode == 0, f"restore after the daemon stopped: {r.stdout}{r.stderr}")


def test_backup_refuses_the_databases_own_files():
    d = Daemon(None)
    cases = [one_case(d, "own-a", 1), one_case(d, "own-b", 2)]
    check(os.path.exists(d.db + "-wal") and os.path.exists(d.db + "-shm"), "no WAL files")
    link = os.path.join(d.dir, "link-to-wal")
    os.symlink(d.db + "-wal", link)
    rel_up = os.path.join("..", os.path.basename(d.dir), "fq.db-wal")
    targets = [d.db, d.db + "-wal", d.db + "-shm", d.db + "-journal", d.db + ".lock",
               "fq.db-wal", "./fq.db-shm", rel_up, link]
    for force in ([], ["--force"]):
        for t in targets:
            r = d.cli("backup", t, *force)
            check(r.returncode == 1 and "database" in r.stderr,
                  f"backup {t} {force}: {r.returncode} {r.stdout}{r.stderr}")
    check(not os.path.exists(d.db + "-journal"), "a -journal file was written")
    check(os.path.islink(link), "the link was replaced")
    # a crash now loses nothing that was acknowledged
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(10)
    d.start()
    for c in cases:
        check(d.case(c) is not None, f"acknowledged case {c} lost")
    check(d.stop() == 0, "daemon did not exit 0")


def test_backup_keeps_an_existing_file_unless_forced():
    d = Daemon(None)
    one_case(d, "ex-a", 1)
    out = TempDir("fqit-backup-").path
    target = os.path.join(out, "b.db")
    with open(target, "w") as f:
        f.write("an older backup someone wants to keep")
    r = d.cli("backup", target)
    check(r.returncode == 1 and "exists" in r.stderr and "--force" in r.stderr,
          f"backup over an existing file: {r.returncode} {r.stdout}{r.stderr}")
    with open(target) as f:
        check(f.read() == "an older backup someone wants to keep", "the existing file changed")
    for force in ("--force", "-f"):
        r = d.cli("backup", force, target)
        check(r.returncode == 0, f"backup {force}: {r.stdout}{r.stderr}")
        check(os.stat(target).st_mode & 0o777 == 0o600, "backup is not 0600")
        c = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        check(c.execute("SELECT count(*) FROM cases").fetchone()[0] == 1, "not the database")
        c.close()
    check(sorted(os.listdir(out)) == ["b.db"], f"temporary files left: {os.listdir(out)}")
    r = d.cli("backup", "--forc", os.path.join(out, "c.db"))    # a prefix is the option
    check(r.returncode == 0, f"--forc: {r.stderr}")
    r = d.cli("backup", "--no-such", os.path.join(out, "d.db"))
    check(r.returncode == 2 and "usage" in r.stderr, f"unknown option: {r.returncode} {r.stderr}")
    r = d.cli("restore", "--force", target)
    check(r.returncode == 2, f"restore takes no --force: {r.returncode} {r.stderr}")
    r = d.cli("backup", "--help")
    check(r.returncode == 0 and "--force" in r.stdout, "backup --help does not tell --force")
    check(d.stop() == 0, "daemon did not exit 0")

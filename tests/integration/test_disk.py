"""Disk full: when the database cannot be written, requests get 503 unavailable,
nothing is acknowledged or stored, the daemon keeps running, and it recovers by itself when
space returns.

How "disk full" is made here: RLIMIT_FSIZE (`ulimit -f`) lowered on the running daemon with
prlimit(2). Every write past the limit then fails with EFBIG, exactly like a full file system for
the daemon's files, without root, loop devices or mounts (which CI may not allow); raising the
limit again is "space returns". The kernel also sends SIGXFSZ on such a write, which kills a
process that does not ignore it: the daemon must ignore it and see the write error instead.
How "read-only database" is made: the database lives on a small ext4 file system in a loop
device, mounted with errors=remount-ro, and the test makes the kernel record a file-system error
(/sys/fs/ext4/<dev>/trigger_fs_error). ext4 then aborts its journal and turns read-only under the
running daemon, as it does on a failing disk: every write returns EROFS. Unlike a full disk this
does not heal by itself (the kernel refuses a remount read-write until the file system is checked),
so the test stops the daemon, unmounts, runs e2fsck, mounts again and restarts it. chmod would
not do: the tests run as root, who ignores file permissions. This needs root and loop devices,
which the machines this project is built on have; without them the test fails and says so."""
import os
import resource
import subprocess

import lib
from lib import Daemon, check, expect_error, new_mid

ONE_MESSAGE = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话1380000{:04d}"


def one_case_one_pending(d, prefix):
    """<prefix>-0 submits a case (its number is returned); <prefix>-1 is left at confirm."""
    r = d.chat(f"{prefix}-0", ONE_MESSAGE.format(0))
    check(r.get("state") == "confirm", f"setup: {r}")
    r = d.chat(f"{prefix}-0", "1")
    check(r.status == 200 and r.get("case"), f"setup case: {r}")
    r1 = d.chat(f"{prefix}-1", ONE_MESSAGE.format(1))
    check(r1.get("state") == "confirm", f"setup: {r1}")
    return r.get("case")


def limit(d, soft):
    _, hard = resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (soft, hard))


def test_disk_full_503_then_recovers():
    d = Daemon()
    # the log goes through a pipe-free file: keep it small so the limit below is about the db
    first = one_case_one_pending(d, "res-disk")
    r = d.chat("res-disk-2", "你好")
    check(r.get("state") == "ask_category", f"setup: {r}")
    before = lib.case_nos(d.cases())
    cli_before = d.cli("cases", "list", "--format", "json").stdout

    limit(d, 1024)   # "the disk is full": no file of the daemon can grow past 1 KB
    failed_mid = new_mid()
    try:
        r = d.chat("res-disk-1", "1", mid=failed_mid)          # would submit a case
        expect_error(r, 503, "unavailable", "submit while the disk is full")
        r = d.chat("res-disk-2", "1")                          # would pick a category
        expect_error(r, 503, "unavailable", "answer while the disk is full")
        r = d.chat("res-disk-3", ONE_MESSAGE.format(3))        # would start a conversation
        expect_error(r, 503, "unavailable", "new conversation while the disk is full")
        check(d.alive(), "the daemon died on a failed write (SIGXFSZ not ignored?)")
        # reads still work, and nothing was stored
        check(d.get("/healthz").status == 200, "healthz while the disk is full")
        now = lib.case_nos(d.cases())
        check(now == before, f"the case list changed while nothing could be written: {now}")
    finally:
        if d.alive():
            limit(d, resource.RLIM_INFINITY)                   # space returns

    check(d.alive(), "the daemon died while the disk was full")
    check(d.cli("cases", "list", "--format", "json").stdout == cli_before,
          "`cases list` changed by requests that got 503")
    # the conversations did not move: res-disk-2 still at ask_category, res-disk-1 at confirm;
    # the retry of the very message that got 503 is taken now (nothing was recorded for it)
    r = d.chat("res-disk-2", "1")
    check(r.status == 200 and r.get("state") == "ask_location",
          f"res-disk-2 after recovery (expected ask_category -> ask_location): {r}")
    r = d.chat("res-disk-1", "1", mid=failed_mid)
    check(r.status == 200 and r.get("state") == "submitted" and r.get("case"),
          f"retry of the refused submit after recovery: {r}")
    second = r.get("case")
    check(second != first, f"case number reused: {first}")
    r = d.chat("res-disk-3", ONE_MESSAGE.format(3))
    check(r.status == 200 and r.get("state") == "confirm", f"new conversation after recovery: {r}")
    got = set(lib.case_nos(d.cases()))
    check({first, second} <= got, f"cases after recovery: {got}")
    # and it all survives a restart
    check(d.stop() == 0, "exit code after SIGTERM")
    d.start()
    check({first, second} <= set(lib.case_nos(d.cases())), "cases lost across the restart")


test_disk_full_503_then_recovers.timeout = 40


class Ext4:
    """A 32 MB ext4 file system on a loop device, mounted at <tmp>/mnt; undone by cleanup()."""

    def __init__(self):
        if os.geteuid() != 0:
            raise lib.Failure("the read-only database test needs root (mount, losetup)")
        self.dir = lib.TempDir("fqit-ro-").path
        self.img = os.path.join(self.dir, "fs.img")
        self.mnt = os.path.join(self.dir, "mnt")
        self.loop = None
        os.mkdir(self.mnt)
        with open(self.img, "wb") as f:
            f.truncate(32 << 20)
        run("mkfs.ext4", "-q", "-F", self.img)
        self.loop = run("losetup", "--find", "--show", self.img).strip()
        lib.register(self)
        self.mount()

    def mount(self, *opts):
        run("mount", "-o", ",".join(("errors=remount-ro",) + opts), self.loop, self.mnt)

    def umount(self):
        run("umount", self.mnt)

    def fail(self):
        """What a failing disk does: the kernel records an error and ext4 turns read-only."""
        with open(f"/sys/fs/ext4/{os.path.basename(self.loop)}/trigger_fs_error", "w") as f:
            f.write("fengqiao read-only test\n")

    def fsck(self):
        # exit 1: errors corrected, which is what the recorded error asks for
        r = subprocess.run(["e2fsck", "-fy", self.loop], capture_output=True, text=True)
        lib.check(r.returncode in (0, 1), f"e2fsck exit {r.returncode}: {r.stdout}{r.stderr}")

    def cleanup(self):
        if self.loop:
            subprocess.run(["umount", "-l", self.mnt], capture_output=True)
            subprocess.run(["losetup", "-d", self.loop], capture_output=True)
            self.loop = None


def run(*argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    lib.check(r.returncode == 0, f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def test_read_only_database_503_nothing_acknowledged():
    fs = Ext4()
    d = Daemon(extra={"store.path": os.path.join(fs.mnt, "fq.db")})
    first = one_case_one_pending(d, "res-ro")
    before = lib.case_nos(d.cases())

    fs.fail()
    r = d.chat("res-ro-1", "1")                                 # would submit a case
    expect_error(r, 503, "unavailable", "submit on a read-only database")
    r = d.chat("res-ro-2", ONE_MESSAGE.format(2))               # would start a conversation
    expect_error(r, 503, "unavailable", "new conversation on a read-only database")
    r = d.admin("POST", "/api/v1/roster", lib.base_roster())        # an admin write
    check(r.status == 503, f"roster upload on a read-only database: {r}")
    check(d.alive(), "the daemon died when its database turned read-only")
    check(d.get("/healthz").status == 200, "healthz on a read-only database")
    check(lib.case_nos(d.cases()) == before, "the case list changed while nothing could be written")
    code = d.stop()
    check(code is not None, "the daemon did not stop within 10 s of SIGTERM")

    # the administrator's part: check the file system and mount it again
    fs.umount()
    fs.fsck()
    fs.mount()
    d.start()
    check(lib.case_nos(d.cases()) == before, f"cases after the repair: {lib.case_nos(d.cases())}")
    # the resident's refused answer was not recorded: res-ro-1 is still at confirm
    r = d.chat("res-ro-1", "1")
    check(r.status == 200 and r.get("state") == "submitted" and r.get("case"),
          f"the refused submit, sent again after the repair: {r}")
    check(r.get("case") != first, f"case number reused: {first}")
    check({first, r.get("case")} <= set(lib.case_nos(d.cases())), "cases after the repair")


test_read_only_database_503_nothing_acknowledged.timeout = 60


def test_read_only_database_at_start_is_a_clear_error():
    fs = Ext4()
    db = os.path.join(fs.mnt, "fq.db")
    d = Daemon(extra={"store.path": db}, start=False)
    check(os.path.exists(db), "roster import did not create the database")
    fs.umount()
    fs.mount("ro")
    with open(d.log, "a") as logf:
        proc = subprocess.Popen([lib.FQ_BIN, "serve", "-c", d.conf], stdout=logf,
                                stderr=subprocess.STDOUT, cwd=d.dir, env=lib.clean_env(d.env))
    try:
        code = proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise lib.Failure("serve kept running on a read-only database; log:\n" + d.tail())
    check(code == 1, f"serve on a read-only database: exit {code} (expected 1); log:\n{d.tail()}")
    check(db in d.tail() or "read-only" in d.tail().lower(),
          f"the error does not say what is wrong; log:\n{d.tail()}")

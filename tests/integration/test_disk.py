"""Disk full (issue 7): when the database cannot be written, requests get 503 unavailable,
nothing is acknowledged or stored, the daemon keeps running, and it recovers by itself when
space returns.

How "disk full" is made here: RLIMIT_FSIZE (`ulimit -f`) lowered on the running daemon with
prlimit(2). Every write past the limit then fails with EFBIG, exactly like a full file system for
the daemon's files, without root, loop devices or mounts (which CI may not allow); raising the
limit again is "space returns". The kernel also sends SIGXFSZ on such a write, which kills a
process that does not ignore it: the daemon must ignore it and see the write error instead.
(A read-only database by chmod is not tested: the tests may run as root, who ignores file
permissions.)"""
import os
import resource

import lib
from lib import Daemon, check, expect_error, new_mid

ONE_MESSAGE = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话1380000{:04d}"


def limit(d, soft):
    _, hard = resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (soft, hard))


def test_disk_full_503_then_recovers():
    d = Daemon()
    # the log goes through a pipe-free file: keep it small so the limit below is about the db
    r = d.chat("res-disk-0", ONE_MESSAGE.format(0))
    check(r.get("state") == "confirm", f"setup: {r}")
    r = d.chat("res-disk-0", "1")
    check(r.status == 200 and r.get("case"), f"setup case: {r}")
    first = r.get("case")
    r = d.chat("res-disk-1", ONE_MESSAGE.format(1))
    check(r.get("state") == "confirm", f"setup: {r}")
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

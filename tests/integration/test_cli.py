"""The command line (docs/contract.md 1): `--version`, the option spellings every subcommand accepts
(`-c FILE`, `-cFILE`, `--config FILE`, `--config=FILE`, options after operands, `--`), usage
errors exiting 2, the chat client printing each menu once, and `cases list` keeping its columns
aligned for long statuses and ids in Chinese.

Every check runs the real binary against a real database; the chat client talks to a running
daemon over loopback through a pipe, as a user at a terminal would (minus the prompt)."""
import json
import os
import re
import subprocess
import time
import unicodedata

import lib
from lib import Daemon, TempDir, check, free_port, short, wait_for

SPELLINGS = (
    lambda conf: ["-c", conf],
    lambda conf: ["-c" + conf],
    lambda conf: ["--config", conf],
    lambda conf: ["--config=" + conf],
)


def run(args, cwd, stdin=None, timeout=30):
    """bin/fengqiao ARGS in cwd (a directory without fengqiao.conf, so only -c names one)."""
    return subprocess.run([lib.FQ_BIN, *args], capture_output=True, text=True, cwd=cwd,
                          input=stdin, timeout=timeout, env=lib.clean_env())


def test_version():
    cwd = TempDir("fqit-cli-").path
    r = run(["--version"], cwd)
    check(r.returncode == 0, f"--version exit {r.returncode}: {r.stderr}")
    check(re.fullmatch(r"fengqiao \d+\.\d+\.\d+( \(git [0-9a-f]{4,40}\))?\n", r.stdout),
          f"--version printed {r.stdout!r}")
    with open(os.path.join(lib.ROOT, "VERSION")) as f:
        check(f.read().strip() in r.stdout, "--version does not print the VERSION file's number")


def test_build_info_metric():
    d = Daemon()
    ver = run(["--version"], d.dir).stdout.split()[1]
    m = d.get("/metrics").text
    line = re.search(r'^fengqiao_build_info\{version="([^"]*)",commit="([^"]*)"\} 1$', m, re.M)
    check(line, f"no fengqiao_build_info gauge in /metrics: {short(m, 300)}")
    check(line.group(1) == ver, f"build_info version {line.group(1)} is not {ver}")


def test_config_spellings_on_every_subcommand():
    d = Daemon()
    case, _ = lib.submit(d, "u-spell", "邻居在楼道堆放杂物，多次沟通无果")
    cwd = TempDir("fqit-cli-cwd-").path     # no fengqiao.conf: without -c, defaults only
    conf = d.conf
    month = lib.local_now().strftime("%Y-%m")
    for i, sp in enumerate(SPELLINGS):
        tag = " ".join(sp("CONF"))
        r = run(["check-config", *sp(conf)], cwd)
        check(r.returncode == 0 and f"{conf}: configuration ok" in r.stdout,
              f"check-config {tag}: exit {r.returncode} {r.stdout}{r.stderr}")
        r = run(["check-config", "-v", *sp(conf)], cwd)
        check(r.returncode == 0 and d.db in r.stdout, f"check-config -v {tag}: {r.stdout}{r.stderr}")
        r = run(["cases", "list", *sp(conf)], cwd)
        check(r.returncode == 0 and case in r.stdout, f"cases list {tag}: {r.stdout}{r.stderr}")
        r = run(["cases", "list", "--format=json", "--status", "open", *sp(conf)], cwd)
        check(r.returncode == 0 and case in r.stdout, f"cases list --format=json {tag}: {r.stderr}")
        r = run(["cases", "show", *sp(conf), case], cwd)          # option before the operand
        check(r.returncode == 0 and case in r.stdout, f"cases show {tag}: {r.stderr}")
        r = run(["report", "monthly", "--month", month, "--format=json", *sp(conf)], cwd)
        check(r.returncode == 0 and json.loads(r.stdout), f"report monthly {tag}: {r.stderr}")
        r = run(["report", "ledger", *sp(conf), "--from=2020-01-01", "--to", "2099-12-31"], cwd)
        check(r.returncode == 0 and case in r.stdout, f"report ledger {tag}: {r.stderr}")
        out = os.path.join(cwd, f"b{i}.db")
        r = run(["backup", out, *sp(conf)], cwd)
        check(r.returncode == 0 and os.path.exists(out), f"backup {tag}: {r.stdout}{r.stderr}")
        r = run(["roster", "import", *sp(conf),
                 os.path.join(d.dir, "roster.json")], cwd)
        check(r.returncode == 0 and "roster imported" in r.stdout, f"roster import {tag}: {r.stderr}")
        r = run(["chat", *sp(conf), "--url", d.url, "--user=u-spell-chat"], cwd, stdin="/quit\n")
        check(r.returncode == 0, f"chat {tag}: exit {r.returncode} {r.stderr}")
    check(not os.path.exists(os.path.join(cwd, "var")), "a command used the default store.path")
    # `--` ends the options: a file named like an option
    r = run(["backup", "-c", conf, "--", "-odd.db"], cwd)
    check(r.returncode == 0 and os.path.exists(os.path.join(cwd, "-odd.db")),
          f"backup -- -odd.db: {r.stdout}{r.stderr}")
    d.stop()
    # restore into a database of its own, named by each spelling
    for i, sp in enumerate(SPELLINGS):
        target = os.path.join(cwd, f"restored{i}.db")
        rconf = os.path.join(cwd, f"restore{i}.conf")
        lib.write_ini(rconf, {"store": {"path": target}, "mqtt": {"enabled": "false"}})
        r = run(["restore", os.path.join(cwd, f"b{i}.db"), *sp(rconf)], cwd)
        check(r.returncode == 0 and target in r.stdout,
              f"restore {' '.join(sp('CONF'))}: {r.stdout}{r.stderr}")
    # serve: each spelling starts the daemon on the configured port
    for sp in SPELLINGS:
        port = free_port()
        sconf = os.path.join(cwd, f"serve{port}.conf")
        lib.write_ini(sconf, {"server": {"listen": f"127.0.0.1:{port}"},
                              "store": {"path": os.path.join(cwd, "serve.db")},
                              "mqtt": {"enabled": "false"}})
        with open(os.path.join(cwd, "serve.log"), "a") as log:
            p = subprocess.Popen([lib.FQ_BIN, "serve", *sp(sconf)], stdout=log,
                                 stderr=subprocess.STDOUT, cwd=cwd, env=lib.clean_env())
        try:
            ok = wait_for(lambda: lib._connects(port) or p.poll() is not None, 10)
            check(ok and p.poll() is None, f"serve {' '.join(sp('CONF'))} did not listen on {port}")
        finally:
            p.terminate()
            p.wait(10)
        check(p.returncode == 0, f"serve {' '.join(sp('CONF'))}: exit {p.returncode}")


test_config_spellings_on_every_subcommand.timeout = 120


def test_usage_errors_exit_2_on_every_subcommand():
    cwd = TempDir("fqit-cli-usage-").path
    cmds = [["serve"], ["roster", "import", "x.json"], ["cases", "list"], ["cases", "show", "C"],
            ["chat"], ["check-config"], ["report", "monthly", "--month", "2026-01"],
            ["report", "ledger", "--from", "2026-01-01", "--to", "2026-01-31"],
            ["backup", "x.db"], ["restore", "x.db"]]
    for c in cmds:
        name = " ".join(c[:2] if c[0] in ("roster", "cases", "report") else c[:1])
        for bad in (["--no-such-option"], ["-Z"], ["-c"], ["--config"]):
            r = run(c + bad, cwd)
            check(r.returncode == 2, f"{' '.join(c + bad)}: exit {r.returncode}, not 2")
            check(f"fengqiao {name}" in r.stderr and "usage:" in r.stderr,
                  f"{' '.join(c + bad)}: message {r.stderr!r}")
        for h in (["--help"], ["-h"]):
            r = run(c + h, cwd)
            check(r.returncode == 0 and r.stdout.startswith("usage:"),
                  f"{' '.join(c + h)}: exit {r.returncode} {r.stdout[:80]!r}")
    for c in (["roster", "import"], ["cases", "show"], ["backup"], ["restore"]):
        r = run(c, cwd)
        check(r.returncode == 2, f"{' '.join(c)} without its operand: exit {r.returncode}")
    for c in (["serve", "extra"], ["backup", "a.db", "b.db"], ["check-config", "x"]):
        r = run(c, cwd)
        check(r.returncode == 2 and "unexpected argument" in r.stderr,
              f"{' '.join(c)}: exit {r.returncode} {r.stderr!r}")


def test_chat_prints_each_menu_once():
    d = Daemon()
    r = run(["chat", "-c", d.conf, "--url", d.url, "--user", "u-menu"], d.dir,
            stdin="你好\n/quit\n")
    check(r.returncode == 0, f"chat exit {r.returncode}: {r.stderr}")
    # the category question's options, as the webhook answers them
    j = d.chat("u-menu-ref", "你好")
    labels = [o["label"] for o in j.get("options") or []]
    check(labels, f"the webhook offered no options: {j.json}")
    for lab in labels:
        n = len(re.findall(rf"(?<![^\s.)、]){re.escape(lab)}$", r.stdout, re.M))
        check(n == 1, f"option {lab!r} printed {n} times:\n{r.stdout}")
    check("[state: ask_category]" in r.stdout, f"no state line: {r.stdout}")


def display_cols(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def field_starts(line):
    """Display column where each whitespace-separated field of line starts."""
    starts, col, prev_space = [], 0, True
    for ch in line:
        if not ch.isspace() and prev_space:
            starts.append(col)
        prev_space = ch.isspace()
        col += display_cols(ch)
    return starts


def test_cases_list_columns_aligned():
    roster = lib.base_roster()
    wide = "枫源村第一网格东区楼栋"            # 22 display columns
    for o in roster["org"]:
        if o["id"] == "grid-fy-01":
            o["id"] = wide
    for m in roster["mediators"]:
        if m["org"] == "grid-fy-01":
            m["org"] = wide
    d = Daemon(roster=roster)
    c1, _ = lib.submit(d, "u-col-1", "邻居在楼道堆放杂物，多次沟通无果")
    c2, _ = lib.submit(d, "u-col-2", "邻居装修噪音很大，多次沟通无果")
    for cmd in (f"接单 {c1}", f"进展 {c1} 已联系双方"):
        r = d.chat("m-wang", cmd)
        check(r.status == 200, f"{cmd}: {r.status} {r.json}")
    out = d.cli("cases", "list").stdout
    lines = [ln for ln in out.splitlines() if ln.startswith(("CASE", "FQ"))]
    check(len(lines) == 3, f"cases list: {out}")
    check("in_progress" in out and wide in out, f"cases list lacks the test values: {out}")
    head = field_starts(lines[0])
    check(len(head) == 7, f"header: {lines[0]}")
    for ln in lines[1:]:
        # the last column, a local date and time, holds one space of its own
        check(field_starts(ln)[:7] == head and len(field_starts(ln)) == 8,
              f"columns not aligned with the header:\n{out}")


def test_cases_list_pages_instead_of_truncating():
    """A ledger longer than one page of 10000 is listed whole without --limit; with --limit the
    page says how to continue, and following the cursor walks every case once."""
    import sqlite3
    d = Daemon()
    made = [lib.submit(d, f"u-page-{i}", "邻居在楼道堆放杂物，多次沟通无果")[0] for i in range(3)]
    d.stop()
    # 10 200 more cases, copies of a real one with their own numbers and times (the daemon is
    # stopped; its own migrations made the file).
    db = sqlite3.connect(d.db)
    cols = [r[1] for r in db.execute("PRAGMA table_info(cases)") if r[1] not in ("id", "case_no", "created_at")]
    src = db.execute("SELECT id, created_at FROM cases ORDER BY id LIMIT 1").fetchone()
    db.execute(f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10200)
                   INSERT INTO cases (case_no, created_at, {", ".join(cols)})
                   SELECT printf('FQ20200101-%05d', i), {src[1]} - 86400 - i, {", ".join(cols)}
                   FROM n, cases WHERE cases.id = {src[0]}""")
    db.commit()
    db.close()
    total = 10203
    r = d.cli("cases", "list", timeout=120)
    check(r.returncode == 0, f"cases list: {r.stderr}")
    lines = r.stdout.splitlines()
    rows = [ln for ln in lines if ln.startswith("FQ")]
    check(len(rows) == total and lines[-1] == f"{total} case(s)",
          f"cases list printed {len(rows)} rows, last line {lines[-1]!r}, want {total}")
    check(all(c in r.stdout for c in made), "the newest cases are missing")
    r = d.cli("cases", "list", "--format", "json", timeout=120)
    check(r.returncode == 0, f"cases list --format json: {r.stderr}")
    doc = json.loads(r.stdout)
    nos = lib.case_nos(doc["cases"])
    check(len(nos) == total and len(set(nos)) == total and doc["next_cursor"] is None,
          f"json: {len(nos)} cases, {len(set(nos))} distinct, next_cursor {doc.get('next_cursor')}")
    # one page at a time
    seen, cursor, pages = [], None, 0
    while True:
        args = ["cases", "list", "--limit", "4000"] + (["--cursor", cursor] if cursor else [])
        r = d.cli(*args, timeout=60)
        check(r.returncode == 0, f"{args}: {r.stderr}")
        page = [ln.split()[0] for ln in r.stdout.splitlines() if ln.startswith("FQ")]
        last = r.stdout.splitlines()[-1]
        pages += 1
        seen += page
        if "more: --cursor " in last:
            check(last.startswith(f"{len(page)} case(s) shown"), f"page footer: {last!r}")
            cursor = last.split("more: --cursor ", 1)[1].strip()
        else:
            check(last == f"{len(page)} case(s)", f"last page footer: {last!r}")
            break
        check(pages < 10, "the cursor walk does not end")
    check(pages == 3 and len(seen) == total and len(set(seen)) == total,
          f"{pages} pages, {len(seen)} rows, {len(set(seen))} distinct")
    r = d.cli("cases", "list", "--limit", "2", "--format", "json")
    page = json.loads(r.stdout)
    check(len(page["cases"]) == 2 and page["next_cursor"], f"json page: {r.stdout[:200]}")
    r2 = d.cli("cases", "list", "--limit", "2", "--cursor", page["next_cursor"], "--format", "json")
    page2 = json.loads(r2.stdout)
    check(not set(lib.case_nos(page["cases"])) & set(lib.case_nos(page2["cases"])),
          "the second page repeats the first")
    r = d.cli("cases", "list", "--cursor", page["next_cursor"])
    check(r.returncode == 2 and "--limit" in r.stderr, f"--cursor alone: {r.returncode} {r.stderr}")
    for bad in ("0", "10001", "x"):
        r = d.cli("cases", "list", "--limit", bad)
        check(r.returncode == 1 and "limit" in r.stderr, f"--limit {bad}: {r.returncode} {r.stderr}")
    r = d.cli("cases", "list", "--org", "grid-fy-01", "--limit", "3", "--status", "open")
    rows = [ln for ln in r.stdout.splitlines() if ln.startswith("FQ")]
    check(r.returncode == 0 and len(rows) == 3, f"--org grid-fy-01: {r.stdout}{r.stderr}")
    r = d.cli("cases", "list", "--org", "vil-lq")
    check(r.returncode == 0 and r.stdout.splitlines()[-1] == "0 case(s)",
          f"--org vil-lq holds none of them: {r.stdout[-300:]}{r.stderr}")
    r = d.cli("cases", "list", "--limit", "5", "--cursor", "nonsense")
    check(r.returncode == 1 and "cursor" in r.stderr, f"a bad cursor: {r.returncode} {r.stderr}")


test_cases_list_pages_instead_of_truncating.timeout = 240

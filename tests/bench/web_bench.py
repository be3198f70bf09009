#!/usr/bin/env python3
"""web_bench.py (`make bench-web`, also the last part of `make bench`): the workbench's latency
over a database of BENCH_WEB_CASES cases (default 100 000) built as `make scale` builds its own
(tests/bench/scale.sql on the county roster of tests/bench/scale_roster.py: 2 021 nodes), cached
under build/scale/. The daemon (FQ_BIN, default bin/fengqiao) serves it on loopback; signed-in
accounts of the county, a town and a grid's mediator fetch the board, filtered boards, a search,
a case page and the JSON API, BENCH_WEB_RUNS times each (default 30, after one warm-up), and the
median and 95th percentile wall time of each request is printed. The target is < 200 ms for a
node's board (docs/contract.md 12.5)."""
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import lib  # noqa: E402

BIN = os.path.abspath(os.environ.get("FQ_BIN") or os.path.join(ROOT, "bin", "fengqiao"))
CASES = int(os.environ.get("BENCH_WEB_CASES", "100000"))
RUNS = int(os.environ.get("BENCH_WEB_RUNS", "30"))
PW = "bench-password"


def conf(path, db, port):
    with open(path, "w") as f:
        f.write(f"[server]\nlisten = 127.0.0.1:{port}\n[store]\npath = {db}\n[mqtt]\nenabled = false\n")


def build_db(tmp):
    roster = os.path.join(tmp, "roster.json")
    with open(roster, "w") as f:
        subprocess.run([sys.executable, os.path.join(ROOT, "tests/bench/scale_roster.py"), "20", "10", "9"],
                       stdout=f, check=True)
    probe = os.path.join(tmp, "probe")
    conf(probe + ".conf", probe + ".db", 1)
    subprocess.run([BIN, "roster", "import", roster, "-c", probe + ".conf"], check=True,
                   capture_output=True)
    v = sqlite3.connect(probe + ".db").execute("PRAGMA user_version").fetchone()[0]
    d = os.path.join(ROOT, "build", "scale", f"web-v{v}-{CASES}")
    db = os.path.join(d, "fq.db")
    if not os.path.exists(os.path.join(d, "done")):
        print(f"web bench: building {CASES} cases for schema v{v} (once; cached in {d})", file=sys.stderr)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        conf(os.path.join(tmp, "b.conf"), db, 1)
        subprocess.run([BIN, "roster", "import", roster, "-c", os.path.join(tmp, "b.conf")], check=True,
                       capture_output=True)
        now = int(time.time())
        sql = open(os.path.join(ROOT, "tests/bench/scale.sql")).read()
        sql = sql.replace("@CASES@", str(CASES)).replace("@NOW@", str(now))
        subprocess.run(["sqlite3", "-bail", db], input=sql.encode(), check=True, stdout=subprocess.DEVNULL)
        open(os.path.join(d, "done"), "w").close()
    work = os.path.join(tmp, "fq.db")
    shutil.copy(db, work)
    return work


def main():
    tmp = tempfile.mkdtemp(prefix="fq-webbench-")
    proc = None
    try:
        db = build_db(tmp)
        port = lib.free_port()
        cfg = os.path.join(tmp, "fq.conf")
        conf(cfg, db, port)
        pwf = os.path.join(tmp, "pw")
        with open(pwf, "w") as f:
            f.write(PW)
        con = sqlite3.connect(db)
        (case_no, contact, grid) = con.execute(
            "SELECT case_no, contact, place_org FROM cases WHERE place_org = org_id "
            "ORDER BY id DESC LIMIT 1").fetchone()
        con.close()
        town = "town-" + grid.split("-")[1]
        users = [("county", "office", "county", None), ("town", "office", town, None),
                 ("grid", "mediator", grid, "m-" + grid)]
        for login, role, org, med in users:
            args = [BIN, "user", "add", login, "--role", role, "--org", org, "--password-file", pwf, "-c", cfg]
            if med:
                args += ["--mediator", med]
            subprocess.run(args, check=True, capture_output=True)
        proc = subprocess.Popen([BIN, "serve", "-c", cfg], stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(tmp, "log"), "w"))
        lib.check(lib.wait_for(lambda: lib._connects(port), 20), "daemon did not start")
        host = {"Host": f"127.0.0.1:{port}"}
        cookies = {}
        for login, *_ in users:
            body = urllib.parse.urlencode({"login": login, "password": PW})
            r = lib.http_request(port, "POST", "/app/login", body,
                                 dict(host, **{"Content-Type": "application/x-www-form-urlencoded"}))
            lib.check(r.status == 303, f"sign-in {login}: {r.status}")
            cookies[login] = r.headers["set-cookie"].split(";")[0]
        probes = [
            ("county", "/app/", "board, county (all 100k in scope)"),
            ("county", "/app/?status=open", "board, county, open"),
            ("county", "/app/?severity=red&category=family", "board, county, red family"),
            ("county", "/app/?due=overdue", "board, county, overdue"),
            ("town", "/app/", "board, a town (1/20)"),
            ("town", "/app/?status=open", "board, a town, open"),
            ("grid", "/app/", "board, a grid's mediator (own open first)"),
            ("county", "/app/?q=" + contact, "search by phone, county"),
            ("county", "/app/?q=" + case_no, "search by case number"),
            ("county", "/app/api/cases", "API board, county"),
            ("grid", f"/app/cases/{case_no}", "case page"),
            ("grid", f"/app/api/cases/{case_no}", "API case"),
        ]
        print(f"binary: {BIN}; database: {CASES} cases; {RUNS} runs each (after one warm-up)")
        print(f"{'request':46} {'median':>9} {'p95':>9} {'bytes':>8}")
        worst_board = 0.0
        for who, path, label in probes:
            h = dict(host, Cookie=cookies[who])
            r = lib.http_request(port, "GET", path, None, h)
            lib.check(r.status == 200, f"{path}: {r.status}")
            ts = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                r = lib.http_request(port, "GET", path, None, h)
                ts.append((time.perf_counter() - t0) * 1000)
            ts.sort()
            med, p95 = statistics.median(ts), ts[int(len(ts) * 0.95) - 1]
            if path.startswith("/app/?") or path == "/app/":
                worst_board = max(worst_board, p95)
            print(f"{label:46} {med:7.1f}ms {p95:7.1f}ms {len(r.body):8d}")
        print(f"target: a board under 200 ms: {'met' if worst_board < 200 else 'NOT met'} "
              f"(worst board p95 {worst_board:.1f} ms)")
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

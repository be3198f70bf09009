"""The scheduled long reads off the core (docs/ARCHITECTURE.md 2, fq-reports; docs/contract.md
7.4 and 8.2): over a database of years of cases (tests/bench/scale.sql, on the county roster of
tests/bench/scale_roster.py) the monthly report timer is computed on its own thread while the
residents' chat is answered, and a restart between computing and committing neither loses nor
duplicates the report. Real daemon, real mosquitto, the database file read with sqlite3.

Ordering is checked by the daemon's own log lines ("reports: computing" / "reports: computed"
for the timer), not by timing thresholds: a chat answer that arrives between the two was
answered while the report was being computed."""
import datetime
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import time

import lib
from lib import PREFIX, Broker, Daemon, Sub, TempDir, check, wait_for

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# all in last month (below), so that the scheduled report takes seconds on any machine
CASES = 300000


def big_db(d):
    """Puts the scale database at d.db: a copy of one built once (cached under build/scale/, by
    the texts that make it and the migrations, as `make scale` does)."""
    h = hashlib.sha256()
    for f in ["tests/bench/scale.sql", "tests/bench/scale_roster.py"] + sorted(
            os.path.join("store/migrations", m) for m in os.listdir(
                os.path.join(ROOT, "store/migrations"))):
        h.update(open(os.path.join(ROOT, f), "rb").read())
    cached = os.path.join(ROOT, "build", "scale", f"it-month-{CASES}-{h.hexdigest()[:12]}.db")
    first = datetime.date.today().replace(day=1)
    if not os.path.exists(cached) or open(cached + ".month").read() != str(first):
        tmp = TempDir("fqit-bigdb-").path
        roster = os.path.join(tmp, "roster.json")
        with open(roster, "w") as f:
            subprocess.run(["python3", os.path.join(ROOT, "tests/bench/scale_roster.py"),
                            "20", "10", "9"], stdout=f, check=True)
        db = os.path.join(tmp, "fq.db")
        conf = os.path.join(tmp, "fq.conf")
        lib.write_ini(conf, {"server": {"listen": "127.0.0.1:1"}, "store": {"path": db},
                             "mqtt": {"enabled": "false"}})
        r = subprocess.run([lib.FQ_BIN, "roster", "import", roster, "-c", conf],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"roster import: {r.stderr}")
        noon = datetime.datetime.combine(first - datetime.timedelta(days=1),
                                         datetime.time(12, 0))
        sql = open(os.path.join(ROOT, "tests/bench/scale.sql")).read()
        sql = sql.replace("@CASES@", str(CASES)).replace("@NOW@", str(int(noon.timestamp())))
        # not ten years but the last four weeks: the report of last month reads every case
        check("315360000" in sql, "scale.sql no longer spreads its cases over 315360000 s")
        sql = sql.replace("315360000", str(28 * 86400))
        r = subprocess.run(["sqlite3", "-bail", db], input=sql, capture_output=True, text=True)
        check(r.returncode == 0, f"building the database: {r.stderr}")
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        shutil.copy(db, cached + ".tmp")
        os.replace(cached + ".tmp", cached)
        with open(cached + ".month", "w") as f:
            f.write(str(first))
    shutil.copy(cached, d.db)


def q(d, sql):
    db = sqlite3.connect(f"file:{d.db}?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute(sql).fetchone()
        return row[0] if row else None
    finally:
        db.close()


def log(d):
    with open(d.log, errors="replace") as f:
        return f.read()


def report_timer(d):
    return q(d, "SELECT id FROM timers WHERE kind = 'report_monthly' AND fired_at IS NULL "
                "AND cancelled_at IS NULL")


def force_report(d):
    """Makes the pending monthly report timer due now (as if the month had just turned)."""
    check(wait_for(lambda: report_timer(d) is not None, 30), "no monthly report timer scheduled")
    tid = report_timer(d)
    db = sqlite3.connect(d.db, timeout=10)
    db.execute("UPDATE timers SET due_at = CAST(strftime('%s','now') AS INTEGER) WHERE id = ?",
               (tid,))
    db.commit()
    db.close()
    return tid


def computing(tid):
    return f"reports: computing kind=report_monthly id={tid}"


def computed(tid):
    return f"reports: computed kind=report_monthly id={tid}"


def test_chat_is_answered_while_the_monthly_report_is_computed():
    b = Broker()
    d = Daemon(b, roster=None, start=False)
    big_db(d)
    d.start(timeout=60)
    tid = force_report(d)
    check(wait_for(lambda: computing(tid) in log(d), 30), "the report was never computed:\n"
          + d.tail())
    answered_meanwhile = 0
    for i in range(200):
        if computed(tid) in log(d):
            break
        r = d.chat(f"rr-{i}", "你好", timeout=30)
        check(r.status == 200 and r.replies, f"chat {i}: {r}")
        if computed(tid) not in log(d):
            answered_meanwhile += 1
    check(answered_meanwhile > 0, "no chat message was answered while the report was computed")
    # then it is committed once: the retained report of the county, the next month's timer
    topic = f"{PREFIX}/reports/county/monthly"
    got = []
    deadline = time.time() + 120
    while time.time() < deadline and not got:
        sub = Sub(b, topic)   # a new subscriber sees what was retained
        got = sub.wait(topic, timeout=2)
        sub.stop()
    check(got, f"no retained report on {topic}:\n" + d.tail())
    p = got[0].payload
    check(p.get("org") == "county" and "received" in p and p.get("event_id"),
          f"the county's report: {lib.short(p)}")
    check(q(d, f"SELECT fired_at IS NOT NULL FROM timers WHERE id = {tid}") == 1, "not fired")
    nxt = report_timer(d)
    check(nxt is not None and nxt != tid, "the next monthly report is not scheduled")
    check(q(d, "SELECT count(*) FROM outbox WHERE topic = "
               f"'{topic}'") == 1, "the county's report written more than once")


def test_a_restart_between_computing_and_committing_sends_the_report_once():
    b = Broker()
    sub = Sub(b, f"{PREFIX}/reports/#")
    d = Daemon(b, roster=None, start=False)
    big_db(d)
    d.start(timeout=60)
    tid = force_report(d)
    check(wait_for(lambda: computing(tid) in log(d), 30), "the report was never computed:\n"
          + d.tail())
    d.kill()
    check(computed(tid) not in log(d),
          "the report was computed before the kill: the database is too small to test this")
    topic = f"{PREFIX}/reports/county/monthly"
    check(q(d, f"SELECT fired_at IS NULL FROM timers WHERE id = {tid}") == 1,
          "the timer fired although its result was never committed")
    check(q(d, f"SELECT count(*) FROM outbox WHERE topic = '{topic}'") == 0,
          "a report was written before the commit")
    check(not sub.messages(topic), "a report was published before the commit")
    # after the restart it is computed again and committed once
    d.start(timeout=60)
    check(wait_for(lambda: sub.messages(topic), 120, step=0.5), "no report after the restart:\n"
          + d.tail())
    check(wait_for(lambda: q(d, f"SELECT fired_at IS NOT NULL FROM timers WHERE id = {tid}") == 1,
                   30), "the timer did not fire after the restart")
    time.sleep(2)   # any duplicate would be on its way by now
    check(q(d, f"SELECT count(*) FROM outbox WHERE topic = '{topic}'") == 1,
          "the county's report written twice")
    check(len(sub.messages(topic)) == 1, f"published {len(sub.messages(topic))} times")
    per_topic = "SELECT count(*) AS n FROM outbox WHERE topic LIKE '%/reports/%' GROUP BY topic"
    check(q(d, f"SELECT count(*) FROM ({per_topic})") == 21,
          "one report per supervisor's node and the root")
    check(q(d, f"SELECT max(n) FROM ({per_topic})") == 1, "a node's report written twice")
    check(q(d, "SELECT count(*) FROM timers WHERE kind = 'report_monthly' AND fired_at IS NULL "
               "AND cancelled_at IS NULL") == 1, "the next month's timer scheduled twice")


def test_a_stop_cuts_the_computation_short_and_the_timer_stays_due():
    d = Daemon(None, roster=None, start=False)
    big_db(d)
    d.start(timeout=60)
    tid = force_report(d)
    check(wait_for(lambda: computing(tid) in log(d), 30), "the report was never computed:\n"
          + d.tail())
    rc = d.stop(signal.SIGTERM, timeout=30)
    check(rc == 0, f"exit code {rc} after a stop during the computation:\n" + d.tail())
    check(computed(tid) not in log(d), "the computation was not cut short by the stop")
    check(q(d, f"SELECT fired_at IS NULL FROM timers WHERE id = {tid}") == 1,
          "a report cut short consumed its timer")


test_chat_is_answered_while_the_monthly_report_is_computed.timeout = 300
test_a_restart_between_computing_and_committing_sends_the_report_once.timeout = 300
test_a_stop_cuts_the_computation_short_and_the_timer_stays_due.timeout = 300

"""Local time follows server.timezone (default Asia/Shanghai), whatever TZ the daemon and the CLI
were started with (docs/contract.md 9): the receipt's deadline and a mediator's, the month a case is
counted in by the monthly report (CLI and API), the ledger's --from/--to days and its times, the
admin API's since=YYYY-MM-DD; an unknown zone is refused; a SIGHUP cannot change the zone (a
restart does). Times stay UTC in the database and in JSON."""
import csv
import datetime
import io
import json
import signal
import sqlite3
import zoneinfo

from lib import Daemon, case_nos, check, short, submit, wait_for

REPORT = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = datetime.timezone.utc

# 2026-10-31T16:30Z is 11-01 00:30 in Shanghai; 2026-10-31T15:30Z is 10-31 23:30 there.
NOV_1_0030 = int(datetime.datetime(2026, 10, 31, 16, 30, tzinfo=UTC).timestamp())
OCT_31_2330 = int(datetime.datetime(2026, 10, 31, 15, 30, tzinfo=UTC).timestamp())


def instant(rfc3339):
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))


def shown(dt, zone):
    return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M")


WDAYS = "一二三四五六日"


def in_words(dt, zone, now=None):
    """The receipt's deadline in zh-CN words (docs/contract.md 9): 12月4日（周五）17:30, with the
    year in front when it is not this year's."""
    t = dt.astimezone(zone)
    n = (now or datetime.datetime.now(zone)).astimezone(zone)
    year = f"{t.year}年" if t.year != n.year else ""
    return f"{year}{t.month}月{t.day}日（周{WDAYS[t.weekday()]}）{t.hour:02d}:{t.minute:02d}"


def deadlines_shown(zone_conf, env_tz, zone):
    extra = {"server.timezone": zone_conf} if zone_conf else None
    d = Daemon(extra=extra, env={"TZ": env_tz})
    case, tr = submit(d, "tz-res", REPORT)
    receipt = tr[-1][1].replies()[-1]
    k = d.case(case)
    check(k and k.get("due_accept", "").endswith("Z"), f"the case's due_accept in UTC: {short(k)}")
    due = instant(k["due_accept"])
    check(in_words(due, zone) in receipt,
          f"TZ={env_tz}, server.timezone={zone_conf}: the receipt should show the deadline "
          f"{in_words(due, zone)} ({zone}), not {in_words(due, UTC)} UTC: {receipt!r}")
    r = d.chat("m-wang", f"接单 {case}")
    check(r.status == 200, f"accept: {r}")
    k = d.case(case)
    due = instant(k["due_resolve"])
    check(shown(due, zone) in r.reply_text(),
          f"the mediator's deadline should be {shown(due, zone)} ({zone}): {r.reply_text()!r}")
    return d


def test_receipt_and_mediator_deadline_in_shanghai_under_tz_utc():
    # the default configuration, the environment of a default container
    deadlines_shown(None, "UTC", SHANGHAI)


def test_receipt_deadline_in_utc_when_configured():
    deadlines_shown("UTC", "Asia/Shanghai", UTC)


def cases_at(d):
    """Two cases, moved (in the database, which holds UTC instants) to either side of the
    Shanghai midnight between October and November 2026. Returns (november_case, october_case)."""
    c1, _ = submit(d, "tz-nov", REPORT)
    c2, _ = submit(d, "tz-oct", REPORT.replace("13800000001", "13800000002"))
    db = sqlite3.connect(d.db, timeout=10)
    for case, t in ((c1, NOV_1_0030), (c2, OCT_31_2330)):
        n = db.execute("UPDATE cases SET created_at = ? WHERE case_no = ?", (t, case)).rowcount
        check(n == 1, f"case {case} not found in the database")
    db.commit()
    db.close()
    return c1, c2


def received(d, month):
    c = d.cli("report", "monthly", "--month", month, "--format", "json")
    check(c.returncode == 0, f"report monthly {month}: exit {c.returncode} {c.stderr}")
    cli = json.loads(c.stdout)["received"]
    r = d.admin("GET", f"/api/v1/reports/monthly?month={month}")
    check(r.status == 200, f"API monthly {month}: {r}")
    check(r.json["received"] == cli, f"{month}: the API counts {r.json['received']}, the CLI {cli}")
    return cli


def ledger(d, day_from, day_to):
    """{case_no: row} of the CSV ledger."""
    c = d.cli("report", "ledger", "--from", day_from, "--to", day_to)
    check(c.returncode == 0, f"ledger {day_from}..{day_to}: {c.stderr}")
    rows = list(csv.reader(io.StringIO(c.stdout.lstrip("\ufeff"))))
    return {r[0]: r for r in rows[1:]}


def since(d, day):
    return set(case_nos(d.cases(f"since={day}")))


def listed_at(d, case_no):
    """The CREATED column of `cases list` (text) for one case."""
    out = d.cli("cases", "list").stdout
    line = next((ln for ln in out.splitlines() if ln.startswith(case_no)), "")
    return " ".join(line.split()[-2:])


def test_month_and_day_boundaries_follow_shanghai_under_tz_utc():
    d = Daemon(env={"TZ": "UTC"})
    nov, octo = cases_at(d)
    check(received(d, "2026-11") == 1 and received(d, "2026-10") == 1,
          "11-01 00:30 and 10-31 23:30 Shanghai time should count once in November and once in "
          f"October: November {received(d, '2026-11')}, October {received(d, '2026-10')}")
    rows = ledger(d, "2026-11-01", "2026-11-30")
    check(set(rows) == {nov}, f"the November ledger holds {sorted(rows)}, want only {nov}")
    check("2026-11-01 00:30" in rows[nov], f"the ledger's received time is not local: {rows[nov]}")
    rows = ledger(d, "2026-10-31", "2026-10-31")
    check(set(rows) == {octo}, f"the ledger of 10-31 holds {sorted(rows)}, want only {octo}")
    check("2026-10-31 23:30" in rows[octo], f"received time: {rows[octo]}")
    check(set(ledger(d, "2026-10-31", "2026-11-01")) == {nov, octo}, "both days: both cases")
    check(since(d, "2026-11-01") == {nov}, f"since=2026-11-01: {since(d, '2026-11-01')}")
    check(listed_at(d, nov) == "2026-11-01 00:30", f"cases list: {listed_at(d, nov)}")
    # stored in UTC: the JSON shows the instant as it was written
    k = d.case(nov)
    check(k["created_at"] == "2026-10-31T16:30:00Z", f"created_at in JSON: {k['created_at']}")


def test_month_and_day_boundaries_in_utc_when_configured():
    d = Daemon(extra={"server.timezone": "UTC"}, env={"TZ": "Asia/Shanghai"})
    nov, octo = cases_at(d)
    check(received(d, "2026-10") == 2 and received(d, "2026-11") == 0,
          "in UTC both cases are October's")
    rows = ledger(d, "2026-10-31", "2026-10-31")
    check(set(rows) == {nov, octo}, f"the UTC ledger of 10-31 holds {sorted(rows)}")
    check("2026-10-31 16:30" in rows[nov], f"received time in UTC: {rows[nov]}")
    check(listed_at(d, nov) == "2026-10-31 16:30", f"cases list in UTC: {listed_at(d, nov)}")
    check(not ledger(d, "2026-11-01", "2026-11-01"), "nothing on 11-01 UTC")


def test_unknown_zone_is_refused():
    d = Daemon(start=False)
    text = open(d.conf, encoding="utf-8").read().replace(
        "[server]\n", "[server]\ntimezone = Asia/Peking\n", 1)
    with open(d.conf, "w", encoding="utf-8") as f:
        f.write(text)
    line = text.splitlines().index("timezone = Asia/Peking") + 1
    c = d.cli("check-config")
    want = f"{d.conf}:{line}: server.timezone: "
    check(c.returncode == 1 and want in c.stdout and "Asia/Peking" in c.stdout,
          f"check-config should name {want}...: exit {c.returncode} {c.stdout}{c.stderr}")
    c = d.cli("serve", timeout=10)
    check(c.returncode != 0 and "server.timezone" in c.stderr,
          f"serve with an unknown zone: exit {c.returncode} {c.stderr}")
    with open(d.conf, "w", encoding="utf-8") as f:
        f.write(text.replace("timezone = Asia/Peking\n", ""))
    d.env["FENGQIAO_SERVER_TIMEZONE"] = "Asia/Peking"
    c = d.cli("check-config")
    check(c.returncode == 1 and "FENGQIAO_SERVER_TIMEZONE" in c.stdout,
          f"an unknown zone in the environment: exit {c.returncode} {c.stdout}")


def test_sighup_with_a_new_zone_keeps_the_running_one_until_restart():
    """The zone is fixed before the threads start (setenv is not thread-safe): a SIGHUP that
    changes it is logged as needing a restart and local times stay as they were."""
    d = Daemon(env={"TZ": "UTC"})
    text = open(d.conf, encoding="utf-8").read()
    with open(d.conf, "w", encoding="utf-8") as f:
        f.write(text.replace("[server]\n", "[server]\ntimezone = UTC\n", 1))
    d.proc.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "configuration reloaded" in d.tail(20), 5),
          f"no reload logged:\n{d.tail()}")
    check("server.timezone changed" in d.tail(20) and "Asia/Shanghai" in d.tail(20),
          f"the changed zone is not logged as needing a restart:\n{d.tail()}")
    case, tr = submit(d, "tz-hup", REPORT)
    due = instant(d.case(case)["due_accept"])
    check(in_words(due, SHANGHAI) in tr[-1][1].replies()[-1],
          f"after SIGHUP the receipt left Shanghai time: {tr[-1][1].replies()[-1]!r}")
    d.stop()
    d.start()
    case, tr = submit(d, "tz-hup-2", REPORT)
    due = instant(d.case(case)["due_accept"])
    check(in_words(due, UTC) in tr[-1][1].replies()[-1],
          f"after a restart the receipt should be in UTC: {tr[-1][1].replies()[-1]!r}")

"""Retention of operational rows (docs/contract.md 2, `retention.*`; 3.3): inbox answers,
delivered outbox rows and finished timers are removed once past their keep time, while the case
history, undelivered rows and pending timers stay; /metrics shows what was removed and the
table sizes. Real daemon, real mosquitto, the real database file read with sqlite3."""
import re
import sqlite3
import time

import lib
from lib import Broker, Daemon, Sub, check, submit, wait_for


def metric(d, name, labels=""):
    text = d.get("/metrics").text
    m = re.search(r"^" + re.escape(name + labels) + r" (\d+)$", text, re.M)
    return int(m.group(1)) if m else None


def rows(d, q):
    db = sqlite3.connect(f"file:{d.db}?mode=ro", uri=True)
    try:
        return db.execute(q).fetchone()[0]
    finally:
        db.close()


def test_operational_rows_are_pruned_and_the_history_kept():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, extra={"retention.inbox": "2s", "retention.outbox": "2s",
                         "retention.timers": "2s", "retention.interval": "1s"})
    case, _ = submit(d, "u-ret-1", "枫源村第一网格的邻居在楼道堆放杂物，多次沟通无果")
    r = d.chat("m-wang", f"接单 {case}")
    check(r.status == 200, f"accept: {r.status} {r.json}")
    check(sub.wait(pred=lambda m: m.topic.endswith("/" + case) and
                   isinstance(m.payload, dict) and m.payload.get("type") == "accepted", timeout=10),
          "the accept event was not published")
    events = rows(d, "SELECT count(*) FROM case_events")
    check(events >= 3, f"case events: {events}")
    check(rows(d, "SELECT count(*) FROM inbox") > 0, "no inbox rows to prune")
    # the accept timer was cancelled and a resolve deadline is pending
    pending = rows(d, "SELECT count(*) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL")
    finished = rows(d, "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL OR cancelled_at IS NOT NULL")
    check(pending > 0 and finished > 0, f"timers: {pending} pending, {finished} finished")

    def pruned():
        return (rows(d, "SELECT count(*) FROM inbox") == 0 and
                rows(d, "SELECT count(*) FROM outbox WHERE delivered_at IS NOT NULL") == 0 and
                rows(d, "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL OR cancelled_at IS NOT NULL") == 0)
    check(wait_for(pruned, timeout=20, step=0.5),
          "operational rows not pruned: inbox %s, delivered outbox %s, finished timers %s" % (
              rows(d, "SELECT count(*) FROM inbox"),
              rows(d, "SELECT count(*) FROM outbox WHERE delivered_at IS NOT NULL"),
              rows(d, "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL OR cancelled_at IS NOT NULL")))
    check(rows(d, "SELECT count(*) FROM cases") == 1, "the case was removed")
    check(rows(d, "SELECT count(*) FROM case_events") == events, "case events were removed")
    check(rows(d, "SELECT count(*) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL") == pending,
          "a pending timer was removed")
    k = d.case(case)
    check(k and len(k.get("events", [])) == events, f"the case's history after pruning: {k}")
    # /metrics: what was removed, and the sizes read after the round
    check(wait_for(lambda: (metric(d, "fq_pruned_rows_total", '{table="inbox"}') or 0) > 0, 5),
          "fq_pruned_rows_total{table=inbox} not counted")
    check((metric(d, "fq_pruned_rows_total", '{table="timers"}') or 0) >= finished,
          "fq_pruned_rows_total{table=timers}")
    check(wait_for(lambda: metric(d, "fq_table_rows", '{table="inbox"}') == 0 and
                   metric(d, "fq_table_rows", '{table="cases"}') == 1 and
                   metric(d, "fq_table_rows", '{table="case_events"}') == events, 5),
          "fq_table_rows: " + "; ".join(
              ln for ln in d.get("/metrics").text.splitlines() if ln.startswith("fq_table_rows")))
    check((metric(d, "fq_db_bytes") or 0) > 4096, "fq_db_bytes")
    # an undelivered row outlives its keep time: stop the broker, make an event, wait
    b.stop()
    d.wait_mqtt("disconnected", timeout=15)
    r = d.chat("m-wang", f"进展 {case} 已联系双方")
    check(r.status == 200, f"progress: {r.status} {r.json}")
    time.sleep(4)
    check(rows(d, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL") > 0,
          "an undelivered outbox row was removed")


test_operational_rows_are_pruned_and_the_history_kept.timeout = 90


def test_retention_defaults_keep_rows():
    """With the defaults (days), a fresh case's rows all stay; a keep time of 0 keeps for ever."""
    d = Daemon(extra={"retention.interval": "1s", "retention.inbox": "0"})
    submit(d, "u-ret-2", "枫源村第一网格的邻居在楼道堆放杂物，多次沟通无果")
    n = rows(d, "SELECT count(*) FROM inbox")
    check(wait_for(lambda: metric(d, "fq_table_rows", '{table="inbox"}') == n, 15),
          "no retention round was seen in /metrics")
    check(rows(d, "SELECT count(*) FROM inbox") == n, "inbox rows were removed")
    check(metric(d, "fq_pruned_rows_total", '{table="inbox"}') == 0, "inbox rows counted as pruned")
    r = d.cli("check-config")
    check(r.returncode == 0, f"check-config: {r.stderr}")


test_retention_defaults_keep_rows.timeout = 60

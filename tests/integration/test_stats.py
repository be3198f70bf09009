"""The workbench's statistics and 督办 API (docs/contract.md 3.4) through the real daemon, broker and
database: GET /api/v1/stats gives, for the month and node, every figure `fengqiao report monthly
--format json` gives, with medians and a 12-month trend whose last month is the report's; the
督办 list shows a case past its deadline with the 督办 reminder already sent, only to its own
subtree; a 督办 note becomes the case's `supervised` event and reaches the mediator on MQTT."""
import json
import time

from lib import (PREFIX, Broker, Daemon, Sub, assignment_topic, check, event_topic, expect_error,
                 local_now, mentions, short, submit, wait_for)

REPORT = "邻居在楼道堆放杂物，多次沟通无果，枫源村第一网格"
REPORT_LQ = "邻居在楼道堆放杂物，多次沟通无果，栎桥村第一网格"


def command(broker, mediator, cmd, case, request_id, **kw):
    body = {"command": cmd, "case": case, "request_id": request_id}
    body.update(kw)
    broker.pub(f"{PREFIX}/mediators/{mediator}/commands", json.dumps(body, ensure_ascii=False))


def replied(sub, mediator, request_id):
    got = sub.wait(f"{PREFIX}/mediators/{mediator}/replies",
                   lambda m: isinstance(m.payload, dict)
                   and m.payload.get("request_id") == request_id, timeout=10)
    check(got and got[0].payload.get("ok") is True,
          f"{mediator} {request_id} not applied: {short([m.payload for m in got])}")


def without_time(report):
    return {k: v for k, v in report.items() if k != "generated_at"}


def test_stats_agree_with_the_monthly_report():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    c1, _ = submit(d, "res-st-1", REPORT)
    c2, _ = submit(d, "res-st-2", REPORT)
    c3, _ = submit(d, "res-st-3", REPORT_LQ)
    command(b, "m-wang", "accept", c1, "st-a1")
    replied(sub, "m-wang", "st-a1")
    command(b, "m-wang", "resolve", c1, "st-r1", note="双方达成协议")
    replied(sub, "m-wang", "st-r1")
    command(b, "m-wang", "accept", c2, "st-a2")
    replied(sub, "m-wang", "st-a2")
    command(b, "m-zhao", "accept", c3, "st-a3")
    replied(sub, "m-zhao", "st-a3")
    command(b, "m-zhao", "close", c3, "st-c3", note="withdrawn 当事人撤回")
    replied(sub, "m-zhao", "st-c3")
    month = local_now().strftime("%Y-%m")
    for org in (None, "county-zj", "vil-fy", "vil-lq", "grid-lq-01"):
        q = f"?month={month}" + (f"&org={org}" if org else "")
        r = d.admin("GET", "/api/v1/stats" + q)
        check(r.status == 200 and isinstance(r.json, dict), f"stats {q}: {r}")
        args = ["report", "monthly", "--month", month, "--format", "json"]
        if org:
            args += ["--org", org]
        c = d.cli(*args)
        check(c.returncode == 0, f"report monthly {org}: {c.stderr}")
        want = without_time(json.loads(c.stdout))
        got = r.json
        for k, v in want.items():
            check(got.get(k) == v, f"stats {q}: {k} is {short(got.get(k))}, the report says {short(v)}")
        trend = got.get("trend")
        check(isinstance(trend, list) and len(trend) == 12, f"trend: {short(trend)}")
        last = trend[-1]
        check(last["month"] == month and last["received"] == want["received"]
              and last["resolved"] == want["resolved"],
              f"trend's last month {last} against the report's {want['received']}, "
              f"{want['resolved']}")
        med = got.get("median_s")
        check(isinstance(med, dict) and set(med) == {"to_accept", "to_resolve"}, f"median_s {med}")
    everything = d.admin("GET", f"/api/v1/stats?month={month}").json
    check(everything["received"] == 3 and everything["resolved"] == 1
          and everything["withdrawn"] == 1, f"totals {short(everything)}")
    check(everything["median_s"]["to_resolve"] is not None, "no resolve median with a resolved case")
    # the current month by default; refusals
    r = d.admin("GET", "/api/v1/stats")
    check(r.status == 200 and r.json.get("month") == month, f"default month: {short(r.json)}")
    expect_error(d.admin("GET", "/api/v1/stats?month=2025-13"), 400, "bad_request", "month 13")
    expect_error(d.admin("GET", "/api/v1/stats?org=nowhere"), 400, "bad_request", "unknown org")
    expect_error(d.admin("GET", "/api/v1/stats", token="wrong"), 401, "unauthorized", "token")


def test_supervision_lists_the_late_case_and_the_note_reaches_the_mediator():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, extra={"sla.accept_blue": "2s", "sla.accept_yellow": "2s",
                         "sla.accept_red": "2s"})
    d.wait_mqtt()
    case, _ = submit(d, "res-sup-1", REPORT)
    # the accept deadline passes; twice the SLA later the 督办 reminder goes to the supervisors
    late = lambda: d.admin("GET", "/api/v1/supervision?org=vil-fy&within=0").json
    check(wait_for(lambda: any(c["case_no"] == case and c["past"] for c in late()["cases"]), 10),
          f"{case} is not listed as late: {short(late())}")
    check(wait_for(lambda: any(s.get("type") == "reminder" and s.get("kind") == "supervise"
                               for c in late()["cases"] if c["case_no"] == case
                               for s in c["sent"]), 15),
          f"the 督办 reminder is not shown as sent: {short(late())}")
    got = late()
    row = next(c for c in got["cases"] if c["case_no"] == case)
    check(row["deadline"] == "accept" and row["node"] == "grid-fy-01", f"row {short(row)}")
    med = row["mediator"]
    check(any(m["mediator"] == med and m["late"] >= 1 for m in got["by_mediator"]),
          f"by_mediator {got['by_mediator']}")
    check(any(n["org"] == "grid-fy-01" and n["late"] >= 1 for n in got["by_node"]),
          f"by_node {got['by_node']}")
    # another village's list does not show it
    other = d.admin("GET", "/api/v1/supervision?org=vil-lq&within=0").json
    check(all(c["case_no"] != case for c in other["cases"]), "vil-lq lists vil-fy's case")

    r = d.admin("POST", "/api/v1/supervision/notes", {"case_no": case, "note": "请今天内联系当事人"})
    check(r.status == 200 and r.get("case_no") == case, f"note: {r}")
    pushed = sub.wait(assignment_topic(med),
                      lambda m: mentions(m, case) and m.payload.get("action") == "supervise",
                      timeout=10)
    check(pushed and pushed[0].payload.get("note") == "请今天内联系当事人",
          f"no supervise assignment to {med}: {short([m.payload for m in sub.messages()])}")
    ev = sub.wait(event_topic(case), lambda m: m.payload.get("type") == "supervised", timeout=10)
    check(ev and ev[0].payload.get("actor") == "admin"
          and ev[0].payload.get("note") == "请今天内联系当事人", f"event: {short(ev and ev[0].payload)}")
    hist = d.case(case)
    check(any(e.get("type") == "supervised" and e.get("note") == "请今天内联系当事人"
              for e in hist["events"]), f"history: {short(hist['events'])}")
    check(any(s.get("type") == "supervised" for c in late()["cases"] if c["case_no"] == case
              for s in c["sent"]), "the note is not in the list's sent")

    expect_error(d.admin("POST", "/api/v1/supervision/notes", {"case_no": "FQ00000000-0000",
                                                                "note": "x"}),
                 404, "not_found", "unknown case")
    expect_error(d.admin("POST", "/api/v1/supervision/notes", {"case_no": case, "note": ""}),
                 400, "bad_request", "empty note")
    expect_error(d.admin("POST", "/api/v1/supervision/notes", "not json"), 400, "bad_request",
                 "not json")
    expect_error(d.admin("GET", "/api/v1/supervision?within=-1"), 400, "bad_request", "within")
    n_before = len([e for e in d.case(case)["events"] if e.get("type") == "supervised"])
    check(n_before == 1, f"a refused note was recorded: {n_before}")

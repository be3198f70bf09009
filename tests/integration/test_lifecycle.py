"""The case lifecycle over the wire (docs/contract.md 4 and 7): the timers with SLAs in seconds
(reminder within 5 s of the accept deadline, 督办 to the supervisors at twice the deadline with
reassignment to another grid worker, overdue notices), timers across a restart and a SIGKILL
(each fires once), 三三调处 driven by MQTT commands (three failed attempts move a case up, twice),
request_id idempotence, foreign and inactive mediators, absence after a roster import (CLI and
admin API), and danger words in a later message of an open case.

Timing: timers fire in whole seconds and the scheduler polls at most a second apart, so a timer
due at T is published between T and about T+1.5 s; the contract's bound is 5 s, which is what
these tests check."""
import json
import signal
import time

import lib
from lib import (PREFIX, Broker, Daemon, Sub, assignment_topic, base_roster, check, mentions,
                 short, submit, wait_for)

ANCESTRY = ["grid-fy-01", "vil-fy", "town-fq", "county-zj"]
REPORT = "邻居在楼道堆放杂物，多次沟通无果，枫源村第一网格"


def roster_with_wu(wang_active=True):
    """The test roster plus a second grid worker at grid-fy-01 (after m-wang, so the first case
    goes to m-wang by roster order)."""
    r = base_roster()
    meds = r["mediators"]
    meds.insert(1, {"id": "m-wu", "name": "吴网格", "role": "grid_worker", "org": "grid-fy-01",
                    "chat_user": "m-wu", "categories": ["*"]})
    if not wang_active:
        meds[0]["active"] = False
    return r


def fast(accept="2s", resolve="7d"):
    return {"sla.accept_blue": accept, "sla.accept_yellow": accept, "sla.accept_red": accept,
            "sla.resolve_blue": resolve}


def actions(sub, mediator, case, action):
    """Assignment messages of an action for case on the mediator's topic."""
    return sub.messages(assignment_topic(mediator),
                        lambda m: mentions(m, case) and isinstance(m.payload, dict)
                        and m.payload.get("action") == action)


def distinct(msgs):
    """Distinct event_ids (the outbox may redeliver after a crash; consumers deduplicate)."""
    return {m.payload.get("event_id") for m in msgs}


def first_seen(sub, mediator, case, action, timeout):
    """Waits for the first matching message; returns the wall time it was seen, or None."""
    got = wait_for(lambda: actions(sub, mediator, case, action), timeout, 0.05)
    return time.time() if got else None


def command(broker, mediator, cmd, case, request_id, **kw):
    body = {"command": cmd, "case": case, "request_id": request_id}
    body.update(kw)
    broker.pub(f"{PREFIX}/mediators/{mediator}/commands", json.dumps(body, ensure_ascii=False))


def reply(sub, mediator, request_id, timeout=10):
    got = sub.wait(f"{PREFIX}/mediators/{mediator}/replies",
                   lambda m: isinstance(m.payload, dict)
                   and m.payload.get("request_id") == request_id, timeout=timeout)
    check(got, f"no reply to {request_id} on {mediator}/replies; seen: "
          + short([m.raw for m in sub.messages() if m.topic.endswith('/replies')]))
    return got[0].payload


def events_of(d, case):
    c = d.case(case)
    check(c is not None, f"case {case} not found")
    return c, [e for e in c.get("events") or [] if isinstance(e, dict)]


def count_events(evs, type_, kind=None):
    return len([e for e in evs if e.get("type") == type_
                and (kind is None or (e.get("data") or {}).get("kind") == kind)])


# ---- reminders and 督办 ----------------------------------------------------------------------
def test_reminder_within_5s_of_the_accept_deadline():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, extra=fast("2s"))
    d.wait_mqtt()
    t_before = time.time()
    case, _ = submit(d, "res-remind", REPORT)
    t_after = time.time()
    check(sub.wait(assignment_topic("m-wang"), lambda m: mentions(m, case), timeout=10),
          f"{case} not assigned to m-wang")
    seen = first_seen(sub, "m-wang", case, "reminder", 12)
    check(seen, f"no reminder for {case} on {assignment_topic('m-wang')}; topics: "
          + short(sorted({m.topic for m in sub.messages()})))
    # The case was created between t_before and t_after; due = creation (whole seconds) + 2 s.
    check(seen <= t_after + 2 + 5, f"reminder {seen - t_after - 2:.1f} s after the due time")
    check(seen >= t_before + 1, f"reminder {t_before + 2 - seen:.1f} s before the due time")
    c, evs = events_of(d, case)
    check(count_events(evs, "reminder", "accept") == 1, f"reminder events: {short(evs)}")
    check(sub.messages(f"{PREFIX}/events/cases/{case}",
                       lambda m: isinstance(m.payload, dict) and m.payload.get("type") == "reminder"),
          "no reminder event published")
    metrics = d.get("/metrics").text
    check('fq_timers_fired_total{kind="reminder"} 1' in metrics,
          "metrics: " + short([ln for ln in metrics.splitlines() if "timers_fired" in ln]))


def test_supervision_at_twice_the_deadline_and_reassignment():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, extra=fast("2s"), roster=roster_with_wu())
    d.wait_mqtt()
    case, _ = submit(d, "res-dubban", REPORT)
    t_after = time.time()
    check(sub.wait(assignment_topic("m-wang"), lambda m: mentions(m, case), timeout=10),
          f"{case} not assigned to m-wang first")
    # 督办 at 2 x 2 s: each supervisor of the grid's ancestors (m-li at the town, m-county)
    for sup in ("m-li", "m-county"):
        seen = first_seen(sub, sup, case, "reminder", 15)
        check(seen, f"no 督办 for {case} on {assignment_topic(sup)}")
        check(seen <= t_after + 4 + 5, f"督办 to {sup} {seen - t_after - 4:.1f} s late")
    # ... and to no one else
    check(not actions(sub, "m-chen", case, "reminder"), "m-chen is not a supervisor")
    check(not sub.messages(assignment_topic("m-sun"), lambda m: mentions(m, case)),
          "another village's mediator told")
    # reassigned to the other active grid worker, with the old one told
    check(wait_for(lambda: actions(sub, "m-wang", case, "unassigned"), 5),
          "m-wang not told the case was taken away")
    check(wait_for(lambda: actions(sub, "m-wu", case, "assigned"), 5),
          "case not reassigned to m-wu")
    c, evs = events_of(d, case)
    check(c.get("mediator") == "m-wu" and c.get("status") == "assigned", f"case: {short(c)}")
    check(count_events(evs, "reminder", "supervise") == 1, f"events: {short(evs)}")
    check(count_events(evs, "transferred") == 1, f"events: {short(evs)}")
    # the new mediator has fresh deadlines: reminded 2 s after the reassignment
    check(wait_for(lambda: actions(sub, "m-wu", case, "reminder"), 8),
          "the new mediator was not reminded")


def test_overdue_to_mediator_and_supervisors():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, extra={"sla.resolve_blue": "3s"})
    d.wait_mqtt()
    case, _ = submit(d, "res-overdue", REPORT)
    t_after = time.time()
    command(b, "m-wang", "accept", case, "acc-1")
    check(reply(sub, "m-wang", "acc-1").get("ok") is True, "accept refused")
    for med in ("m-wang", "m-li", "m-county"):
        seen = first_seen(sub, med, case, "overdue", 12)
        check(seen, f"no overdue notice for {case} to {med}")
        check(seen <= t_after + 3 + 5, f"overdue to {med} {seen - t_after - 3:.1f} s late")
    _, evs = events_of(d, case)
    check(count_events(evs, "overdue") == 1, f"events: {short(evs)}")


# ---- once across restarts and crashes -------------------------------------------------------
def test_restart_between_due_time_and_firing_fires_once():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, extra=fast("3s"))
    d.wait_mqtt()
    case, _ = submit(d, "res-restart", REPORT)
    t_after = time.time()
    check(d.stop() == 0, "daemon did not stop cleanly")
    check(time.time() < t_after + 2, "the daemon took too long to stop for this test")
    check(not actions(sub, "m-wang", case, "reminder"), "reminder before the due time")
    time.sleep(max(0.0, t_after + 3 + 1.5 - time.time()))   # past due, daemon down
    d.start()
    check(first_seen(sub, "m-wang", case, "reminder", 10),
          "the timer that fell due while the daemon was down did not fire after the restart")
    time.sleep(3)
    got = actions(sub, "m-wang", case, "reminder")
    check(len(distinct(got)) == 1, f"reminder fired {len(distinct(got))} times: {got}")
    _, evs = events_of(d, case)
    check(count_events(evs, "reminder", "accept") == 1, f"events: {short(evs)}")


def test_sigkill_right_after_a_timer_fired_no_double_reminder():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, extra=fast("2s"))
    d.wait_mqtt()
    case, _ = submit(d, "res-kill", REPORT)
    check(first_seen(sub, "m-wang", case, "reminder", 12), "no reminder")
    d.kill()
    d.start()
    d.wait_mqtt()
    time.sleep(4)
    got = actions(sub, "m-wang", case, "reminder")
    # a redelivery of the same outbox row may repeat the message with the same event_id
    check(len(distinct(got)) == 1, f"reminder fired {len(distinct(got))} times: {got}")
    _, evs = events_of(d, case)
    check(count_events(evs, "reminder", "accept") == 1, f"events: {short(evs)}")


# ---- 三三调处 and commands over MQTT ----------------------------------------------------------
def test_three_failed_attempts_move_a_case_up_twice():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-tiers", REPORT)
    steps = [("m-wang", "grid-fy-01", "vil-fy", "m-chen"), ("m-chen", "vil-fy", "town-fq", "m-li")]
    n = 0
    for med, here, up, nxt in steps:
        c = d.case(case)
        check(c.get("org") == here and c.get("mediator") == med, f"before: {short(c)}")
        n += 1
        command(b, med, "accept", case, f"r{n}")
        check(reply(sub, med, f"r{n}").get("ok") is True, f"{med} accept refused")
        for i in range(3):
            n += 1
            command(b, med, "attempt_failed", case, f"r{n}", note=f"第{i + 1}次调解未成")
            check(reply(sub, med, f"r{n}").get("ok") is True, f"{med} attempt {i + 1} refused")
        c = d.case(case)
        check(c.get("org") == up and c.get("mediator") == nxt and c.get("status") == "assigned",
              f"after three failed attempts at {here}: {short(c)}")
        check(wait_for(lambda: actions(sub, nxt, case, "assigned"), 5), f"{nxt} not told")
    _, evs = events_of(d, case)
    check(count_events(evs, "attempt_failed") == 6, f"events: {short(evs)}")
    check(count_events(evs, "escalated") == 2, f"events: {short(evs)}")
    check(d.case(case).get("tier") == "town", "tier")


def test_repeated_request_id_applied_once():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-idem", REPORT)
    command(b, "m-wang", "accept", case, "acc")
    check(reply(sub, "m-wang", "acc").get("ok") is True, "accept refused")
    for _ in range(3):
        command(b, "m-wang", "progress", case, "prog-1", note="已上门了解情况")
    check(reply(sub, "m-wang", "prog-1").get("ok") is True, "progress refused")
    command(b, "m-wang", "progress", case, "prog-2", note="第二次进展")   # a new request
    reply(sub, "m-wang", "prog-2")
    _, evs = events_of(d, case)
    check(count_events(evs, "progress") == 2, f"progress applied {count_events(evs, 'progress')}"
          f" times for two request_ids: {short(evs)}")
    check(count_events(evs, "accepted") == 1, f"events: {short(evs)}")


def test_foreign_mediator_refused():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-foreign", REPORT)
    command(b, "m-zhao", "accept", case, "steal")
    r = reply(sub, "m-zhao", "steal")
    check(r.get("ok") is False and r.get("message"), f"foreign accept answered {r}")
    c, evs = events_of(d, case)
    check(c.get("status") == "assigned" and c.get("mediator") == "m-wang", f"case: {short(c)}")
    check(count_events(evs, "accepted") == 0, f"events: {short(evs)}")


def test_inactive_mediator_skipped():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, roster=roster_with_wu(wang_active=False))
    d.wait_mqtt()
    case, _ = submit(d, "res-leave", REPORT)
    check(wait_for(lambda: sub.messages(assignment_topic("m-wu"), lambda m: mentions(m, case)), 5),
          "case not given to the active grid worker")
    check(not sub.messages(assignment_topic("m-wang"), lambda m: mentions(m, case)),
          "case given to a mediator on leave")
    # nobody active at the grid: up the tree to the village
    r = roster_with_wu(wang_active=False)
    r["mediators"][1]["active"] = False
    check(d.admin("POST", "/api/v1/roster", r).status == 200, "roster import refused")
    case2, _ = submit(d, "res-leave-2", REPORT)
    check(wait_for(lambda: d.case(case2).get("mediator") == "m-chen", 5),
          f"case not passed up to the village: {short(d.case(case2))}")


# ---- absence ---------------------------------------------------------------------------------
def test_absence_by_cli_import_reassigns_unaccepted_cases():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, roster=roster_with_wu())
    d.wait_mqtt()
    waiting, _ = submit(d, "res-abs-1", REPORT)
    check(d.case(waiting).get("mediator") == "m-wang", "first case to m-wang")
    other, _ = submit(d, "res-abs-2", REPORT)
    check(d.case(other).get("mediator") == "m-wu", "second case to m-wu (load)")
    third, _ = submit(d, "res-abs-3", REPORT)
    check(d.case(third).get("mediator") == "m-wang", "third case to m-wang")
    command(b, "m-wang", "accept", third, "acc-3")
    check(reply(sub, "m-wang", "acc-3").get("ok") is True, "accept refused")
    r = d.import_roster(roster_with_wu(wang_active=False), name="leave.json")
    check(r.returncode == 0, f"roster import failed: {r.stderr}")
    check(wait_for(lambda: d.case(waiting).get("mediator") == "m-wu", 5),
          f"unaccepted case not reassigned: {short(d.case(waiting))}")
    check(wait_for(lambda: actions(sub, "m-wang", waiting, "unassigned"), 5),
          "m-wang not told")
    check(actions(sub, "m-wu", waiting, "assigned"), "m-wu not told")
    c = d.case(third)
    check(c.get("mediator") == "m-wang" and c.get("status") == "accepted",
          f"an accepted case stays with its mediator: {short(c)}")


def test_absence_by_admin_import_is_atomic():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, roster=roster_with_wu())
    d.wait_mqtt()
    case, _ = submit(d, "res-abs-api", REPORT)
    check(d.case(case).get("mediator") == "m-wang", "case to m-wang")
    r = d.admin("POST", "/api/v1/roster", roster_with_wu(wang_active=False))
    check(r.status == 200, f"roster import answered {r}")
    # in the same transaction as the import: visible as soon as the import is answered
    c = d.case(case)
    check(c.get("mediator") == "m-wu", f"not reassigned with the import: {short(c)}")
    check(wait_for(lambda: actions(sub, "m-wu", case, "assigned"), 5), "m-wu not told")


# ---- alerts ----------------------------------------------------------------------------------
def test_danger_words_in_a_later_message_alert_up_the_tree():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-later", REPORT)
    check(d.case(case).get("severity") == "blue", "a blue case first")
    check(not sub.messages(pred=lambda m: "/alerts/" in m.topic), "alert for a blue report")
    r = d.chat("res-later", "他刚才又来了，说要动刀")
    check(r.status == 200, f"chat answered {r}")
    for org in ANCESTRY:
        got = sub.wait(f"{PREFIX}/alerts/{org}", lambda m: mentions(m, case), timeout=10)
        check(got, f"no alert for {case} on {PREFIX}/alerts/{org}")
    check(not sub.messages(f"{PREFIX}/alerts/vil-lq"), "alert for another branch")
    c, evs = events_of(d, case)
    check(c.get("severity") == "red", f"severity: {short(c)}")

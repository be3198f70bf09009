"""The follow-up survey (回访) and the relapse check of docs/contract.md 8.1, end to end against the
real daemon with seconds-long delays: a webhook resident asked at their next message, an unsatisfied
answer that reopens the case, an MQTT gateway resident pushed the question, reminded and then
recorded as no_response, the fallback 回访 task for the grid worker when the resident's WeCom
customer-service window has closed, and a relapse that opens a linked case one tier up."""
import sqlite3
import time

from lib import (PREFIX, Broker, Daemon, Sub, assignment_topic, check, event_topic,
                 event_types, local_now, new_mid, short, submit, wait_for)

FAST = {"survey.delay": "1s", "survey.remind_after": "2s", "survey.expire_after": "4s",
        "survey.relapse_check": "0"}
REPORT = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001"


def mediator(d, who, text):
    r = d.chat(who, text)
    check(r.status == 200, f"{who}: {text!r} answered {r}")
    return r


def resolve(d, case):
    mediator(d, "m-wang", f"接单 {case}")
    mediator(d, "m-wang", f"调结 {case} 双方达成协议，杂物已清理")
    check(d.case(case).get("status") == "resolved", f"{case} not resolved: {short(d.case(case))}")


def survey_of(d, case, kind="satisfaction"):
    c = d.case(case) or {}
    found = [s for s in c.get("surveys") or [] if s.get("kind") == kind]
    return found[-1] if found else None


def wait_survey(d, case, pred, timeout=10, kind="satisfaction"):
    ok = wait_for(lambda: (lambda s: s is not None and pred(s))(survey_of(d, case, kind)),
                  timeout, 0.2)
    s = survey_of(d, case, kind)
    check(ok, f"survey of {case} never reached the expected state: {short(s)}")
    return s


def test_survey_webhook_resident_answers():
    d = Daemon(extra=FAST)
    user = "sv-web"
    case, _ = submit(d, user, REPORT)
    resolve(d, case)
    s = survey_of(d, case)
    check(s and s["status"] == "scheduled", f"no survey scheduled at resolution: {short(s)}")
    wait_survey(d, case, lambda s: s["status"] == "sent")
    check("survey_sent" in event_types(d.case(case)), "no survey_sent event")
    # the webhook cannot be pushed: the question comes with the next message
    r = d.chat(user, "你好")
    check(r.get("state") == "survey" and case in r.reply_text(),
          f"the next message did not get the survey question: {r}")
    opts = r.get("options") or []
    check([o.get("key") for o in opts] == ["1", "2", "3", "4"]
          and opts[0].get("label") == "非常满意" and opts[3].get("label") == "不满意",
          f"survey options: {opts}")
    r = d.chat(user, "１")   # full-width 1
    check(r.get("state") == "survey", f"after the answer the comment is asked: {r}")
    r = d.chat(user, "跳过")
    check(r.get("state") == "idle", f"after skipping the comment: {r}")
    s = survey_of(d, case)
    check(s["status"] == "answered" and s["answer"] == 1 and s["answered_by"] == "resident",
          f"survey after answer: {short(s)}")
    c = d.case(case)
    check(c["status"] == "resolved" and "survey_answered" in event_types(c),
          f"case after a satisfied answer: {short(c)}")
    # a new message afterwards is an ordinary report again
    r = d.chat(user, "帮助")
    check(r.status == 200 and r.get("state") != "survey", f"after the survey: {r}")


def test_survey_unsatisfied_reopens_case():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, extra=FAST)
    user = "sv-unhappy"
    case, _ = submit(d, user, REPORT)
    resolve(d, case)
    wait_survey(d, case, lambda s: s["status"] == "sent")
    d.chat(user, "你好")
    r = d.chat(user, "4")
    check(r.status == 200 and case in r.reply_text(), f"answer 4: {r}")
    c = d.case(case)
    check(c["status"] == "reopened" and c.get("mediator") == "m-wang"
          and c.get("org") == "grid-fy-01", f"case after answer 4: {short(c)}")
    check("reopened" in event_types(c), f"no reopened event: {event_types(c)}")
    got = sub.wait(event_topic(case), lambda m: m.payload.get("type") == "reopened")
    check(got, "no reopened event on MQTT")
    got = sub.wait(assignment_topic("m-wang"),
                   lambda m: m.payload.get("action") == "assigned"
                   and m.payload.get("case", {}).get("status") == "reopened")
    check(got, "the mediator did not get the reopened case again")
    # accepted and resolved again: a second survey for the new resolution
    time.sleep(1.1)   # resolved_at is in whole seconds
    resolve(d, case)
    c = d.case(case)
    sats = [s for s in c.get("surveys") or [] if s.get("kind") == "satisfaction"]
    check(len(sats) == 2 and sats[-1]["status"] in ("scheduled", "sent"),
          f"one survey per resolution: {short(sats)}")


def test_survey_mqtt_gateway_push_reminder_expiry():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, extra=FAST)
    user = "sv-gw"
    out = f"{PREFIX}/outbound/gw/{user}"

    def send(text):
        n = len(sub.messages(out))
        b.pub(f"{PREFIX}/inbound/gw", {"channel": "gw", "user": user, "message_id": new_mid(),
                                        "type": "text", "text": text})
        got = sub.wait(out, count=n + 1)
        check(len(got) > n, f"no outbound answer to {text!r}")
        return got[n].payload

    a = send(REPORT)
    if a.get("state") == "ask_contact":
        a = send("跳过")
    check(a.get("state") == "confirm", f"gateway report: {a}")
    a = send("1")
    case = a.get("case")
    check(a.get("state") == "submitted" and case, f"gateway submit: {a}")
    resolve(d, case)
    # pushed at once, no message from the resident needed
    q = sub.wait(out, lambda m: m.payload.get("state") == "survey", timeout=10)
    check(q, "the survey question was not pushed to the gateway resident")
    check(len(q[0].payload.get("options") or []) == 4 and q[0].payload.get("case") == case,
          f"pushed question: {q[0].payload}")
    # no answer: a reminder, then no_response
    q = sub.wait(out, lambda m: m.payload.get("state") == "survey", count=2, timeout=10)
    check(len(q) >= 2, "no reminder pushed")
    s = wait_survey(d, case, lambda s: s["status"] == "no_response", timeout=10)
    check(s["via"] == "mqtt" and s["reminded"] >= 1, f"survey after expiry: {short(s)}")


def test_survey_becomes_task_for_grid_worker():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, extra=dict(FAST, **{"survey.delay": "2s"}))
    user = "sv-kf"
    case, _ = submit(d, user, REPORT, channel="wecom_kf")
    # the resident's last message was 3 days ago: the 48 h customer-service window is closed
    db = sqlite3.connect(d.db, timeout=10)
    db.execute("UPDATE residents SET last_seen = last_seen - 3 * 86400 WHERE user = ?", (user,))
    db.execute("UPDATE wecom_kf_users SET last_in = last_in - 3 * 86400 "
               "WHERE external_userid = ?", (user,))
    db.commit()
    db.close()
    resolve(d, case)
    s = wait_survey(d, case, lambda s: s["status"] == "sent")
    check(s["via"] == "task" and s["task_mediator"] == "m-wang", f"survey: {short(s)}")
    got = sub.wait(assignment_topic("m-wang"),
                   lambda m: m.payload.get("action") == "survey_task")
    check(got and got[0].payload.get("case", {}).get("case_no") == case,
          "the grid worker got no survey_task assignment")
    r = mediator(d, "m-wang", f"回访 {case} 2 电话回访，当事人表示满意")
    s = survey_of(d, case)
    check(s["status"] == "answered" and s["answer"] == 2 and s["answered_by"] == "m-wang"
          and "满意" in (s.get("comment") or ""), f"survey after 回访: {short(s)} ({r})")


def test_relapse_opens_linked_case_one_tier_up():
    d = Daemon(extra=dict(FAST, **{"survey.delay": "1h", "survey.relapse_check": "1s"}))
    user = "sv-relapse"
    case, _ = submit(d, user, REPORT)
    resolve(d, case)
    wait_survey(d, case, lambda s: s["status"] == "sent", kind="relapse")
    r = d.chat(user, "你好")
    check(r.get("state") == "survey" and len(r.get("options") or []) == 2,
          f"relapse question: {r}")
    r = d.chat(user, "是")
    new = r.get("case")
    check(new and new != case, f"a relapse answer did not open a new case: {r}")
    n = d.case(new)
    check(n["org"] == "vil-fy" and n.get("mediator") == "m-chen",
          f"the relapse case is not one tier above the grid: {short(n)}")
    check(case in (n.get("description") or ""), f"not linked in the description: {short(n)}")
    s = survey_of(d, case, "relapse")
    check(s["status"] == "answered" and s["answer"] == 1, f"relapse survey: {short(s)}")
    old = d.case(case)
    ev = [e for e in old.get("events", []) if e.get("type") == "survey_answered"]
    check(ev and (ev[-1].get("data") or {}).get("new_case") == new,
          f"the old case does not name the new one: {short(ev)}")
    # the monthly report counts the relapse
    month = local_now().strftime("%Y-%m")
    rep = d.admin("GET", f"/api/v1/reports/monthly?month={month}").json
    check(rep["relapses"] == 1 and rep["received"] == 2, f"report: {short(rep)}")

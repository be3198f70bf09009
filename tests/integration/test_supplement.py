"""A resident's later message about an open case (docs/contract.md 6.8), over the wire: the real
daemon, a real mosquitto, the SQLite file, the chat webhook over loopback and the WeCom stub
(tests/wecom_stub.py). A follow-up goes to the case as a `supplement` event with actor
`resident` on the case's event topic, the mediator gets it on the assignments topic and as a WeCom
text, and it is in the case history; an unclear message is asked about and then added or
reported anew; a new matter and a greeting after the receipt open no supplement."""
import os
import sys

import lib
from lib import (PREFIX, Broker, Daemon, Sub, assignment_topic, check, event_topic, mentions,
                 short, submit, wait_for)

sys.path.insert(0, os.path.join(lib.ROOT, "tests"))
import wecom_stub  # noqa: E402

REPORT = "邻居在楼道堆放杂物，多次沟通无果，枫源村第一网格"
FOLLOW = "他又把杂物堆回楼道了，还挡住了消防通道"


def supplements_on_bus(sub, case):
    return sub.messages(event_topic(case), lambda m: isinstance(m.payload, dict)
                        and m.payload.get("type") == "supplement")


def history(d, case):
    c = d.case(case)
    check(c is not None, f"case {case} not found")
    return [e for e in c.get("events") or [] if isinstance(e, dict)]


def supplement_events(d, case):
    return [e for e in history(d, case) if e.get("type") == "supplement"]


def test_follow_up_goes_to_the_case_and_its_mediator():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-s1", REPORT)
    r = d.chat("res-s1", FOLLOW)
    check(r.status == 200 and r.get("case") == case, f"answer {r}")
    check(case in r.reply_text() and r.get("state") == "submitted", f"acknowledgement {r}")
    got = sub.wait(event_topic(case), lambda m: isinstance(m.payload, dict)
                   and m.payload.get("type") == "supplement", timeout=10)
    check(got, f"no supplement event on {event_topic(case)}")
    ev = got[0].payload
    check(ev.get("actor") == "resident" and ev.get("note") == FOLLOW, f"event {short(ev)}")
    check(ev["case"]["case_no"] == case and ev["case"]["status"] == "assigned",
          f"the status is unchanged: {short(ev)}")
    check(ev.get("event_id") and ev.get("at"), f"event_id/at: {short(ev)}")
    push = sub.wait(assignment_topic("m-wang"), lambda m: mentions(m, case)
                    and m.payload.get("action") == "supplement", timeout=10)
    check(push and push[0].payload.get("note") == FOLLOW, f"mediator push: {short(push)}")
    evs = supplement_events(d, case)
    check(len(evs) == 1 and evs[0].get("actor") == "resident" and evs[0].get("note") == FOLLOW,
          f"history: {short(history(d, case))}")
    # no new case was opened
    check([c.get("case_no") for c in d.cases()] == [case], f"cases: {short(d.cases())}")
    # the CLI shows it in the history too
    out = d.cli("cases", "show", case)
    check(out.returncode == 0 and "supplement" in out.stdout and "resident" in out.stdout,
          f"cases show: {out.stdout} {out.stderr}")


def test_unclear_is_asked_then_added():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-s2", REPORT)
    r = d.chat("res-s2", "有个情况想跟你们说明一下，请尽快处理")
    check(r.get("state") == "ask_supplement", f"not asked: {r}")
    check(case in r.reply_text(), f"the question names the case: {r.reply_text()}")
    keys = [o.get("key") for o in r.get("options") or []]
    check(keys == ["1", "2"], f"options {r.get('options')}")
    check(not supplement_events(d, case), "added before the answer")
    r = d.chat("res-s2", "1")
    check(r.get("state") == "submitted" and r.get("case") == case, f"answer {r}")
    got = sub.wait(event_topic(case), lambda m: isinstance(m.payload, dict)
                   and m.payload.get("type") == "supplement", timeout=10)
    check(got and got[0].payload.get("note") == "有个情况想跟你们说明一下，请尽快处理"
          and got[0].payload.get("actor") == "resident", f"event {short(got)}")
    check(sub.wait(assignment_topic("m-wang"), lambda m: mentions(m, case)
                   and m.payload.get("action") == "supplement", timeout=10), "no mediator push")


def test_unclear_answered_new_report_and_new_matter_open_no_supplement():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-s3", REPORT)
    r = d.chat("res-s3", "有个情况想跟你们说明一下，请尽快处理")
    check(r.get("state") == "ask_supplement", f"not asked: {r}")
    r = d.chat("res-s3", "2")
    check(r.get("state") == "ask_category", f"the new report's first question: {r}")
    d.chat("res-s3", "取消")
    # a plainly new matter: straight to a new report
    r = d.chat("res-s3", "另外一件事：陈家村的包工头拖欠我三个月工资")
    check(r.get("state") not in ("ask_supplement", "submitted"), f"new matter: {r}")
    d.chat("res-s3", "取消")
    # a greeting after the receipt is not a supplement
    r = d.chat("res-s3", "你好")
    check(r.get("state") == "ask_category", f"greeting: {r}")
    r = d.chat("res-s3", "👍")
    check(r.get("state") != "submitted", f"emoji: {r}")
    d.chat("res-s3", "取消")
    # a real follow-up last: once it is on the bus, anything published before it is too
    r = d.chat("res-s3", FOLLOW)
    check(r.get("case") == case, f"follow-up: {r}")
    check(wait_for(lambda: supplements_on_bus(sub, case), 10), "the follow-up is not on the bus")
    got = supplements_on_bus(sub, case)
    check(len(got) == 1 and got[0].payload.get("note") == FOLLOW,
          f"supplements on the bus: {short([m.payload for m in got])}")
    evs = supplement_events(d, case)
    check(len(evs) == 1 and evs[0].get("note") == FOLLOW, f"history: {short(history(d, case))}")


def test_several_open_cases_offered_by_number():
    b = Broker()
    d = Daemon(b)
    d.wait_mqtt()
    first, _ = submit(d, "res-s4", REPORT)
    second, _ = submit(d, "res-s4", "另外一件事：陈家村的包工头拖欠我三个月工资")
    check(second != first, f"one case: {first}")
    r = d.chat("res-s4", "有个情况想跟你们说明一下，请尽快处理")
    check(r.get("state") == "ask_supplement", f"not asked: {r}")
    labels = [o.get("label") or "" for o in r.get("options") or []]
    check(len(labels) == 3 and second in labels[0] and first in labels[1], f"options {labels}")
    r = d.chat("res-s4", "2")
    check(r.get("case") == first, f"answer {r}")
    check(len(supplement_events(d, first)) == 1 and not supplement_events(d, second),
          "added to the wrong case")


def test_mediator_gets_the_supplement_as_a_wecom_text():
    stub = lib.register(wecom_stub.Stub().start())
    d = Daemon(extra=stub.config())
    case, _ = submit(d, "res-s5", REPORT)
    r = d.chat("res-s5", FOLLOW)
    check(r.get("case") == case, f"answer {r}")

    def texts():
        return [m["text"]["content"] for m in stub.inbox_of("WangJianGuo")
                if m.get("msgtype") == "text"]
    check(wait_for(lambda: any(case in t and "堆回楼道" in t for t in texts()), 10),
          f"WeCom texts to the mediator: {texts()}")


def test_english_and_traditional_follow_ups():
    b = Broker()
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-s6", REPORT)
    r = d.chat("res-s6", "補充：他又把雜物堆回樓道了", locale="zh-TW")
    check(r.get("case") == case and lib.has_han(r.reply_text()), f"zh-TW: {r}")
    r = d.chat("res-s6", "Also, the neighbour put the junk back in the corridor", locale="en")
    check(r.get("case") == case and case in r.reply_text() and "added" in r.reply_text(), f"en: {r}")
    check(len(supplement_events(d, case)) == 2, f"history: {short(history(d, case))}")

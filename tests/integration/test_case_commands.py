"""A mediator's pause, resume and severity raise, and the `unresolved` event, over the wire
(docs/contract.md 4.3, 4.4, 7.2, 7.3, 8.3): a paused case's clock stops and its deadline moves by
the paused time, with both steps in its history and the pause in the ledger; a raise goes
blue → yellow → red with a reason, routed again for the new severity (village, then town, with
the red alerts), and is refused without a reason or past red; a case closed without agreement
is announced as `unresolved` as well as `closed`, a withdrawn one is not."""
import datetime
import json
import time

import lib
from lib import (PREFIX, Broker, Daemon, Sub, assignment_topic, check, local_now, mentions,
                 short, submit, wait_for)

REPORT = "邻居在楼道堆放杂物，多次沟通无果，枫源村第一网格"


def command(broker, mediator, cmd, case, request_id, **kw):
    body = {"command": cmd, "case": case, "request_id": request_id}
    body.update(kw)
    broker.pub(f"{PREFIX}/mediators/{mediator}/commands", json.dumps(body, ensure_ascii=False))


def reply(sub, mediator, request_id, timeout=10):
    got = sub.wait(f"{PREFIX}/mediators/{mediator}/replies",
                   lambda m: isinstance(m.payload, dict)
                   and m.payload.get("request_id") == request_id, timeout=timeout)
    check(got, f"no reply to {request_id} on {mediator}/replies")
    return got[0].payload


def events(d, case):
    return [e for e in d.case(case).get("events") or [] if isinstance(e, dict)]


def published(sub, case, type_):
    return sub.messages(f"{PREFIX}/events/cases/{case}",
                        lambda m: isinstance(m.payload, dict) and m.payload.get("type") == type_)


def parse_utc(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def test_paused_case_deadline_moves_by_the_paused_time():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-pause", REPORT)
    r = d.chat("m-wang", f"接单 {case}")
    check(r.status == 200, f"accept: {r}")
    before = parse_utc(d.case(case)["due_resolve"])
    # over MQTT: the reason first in the note, as for close
    command(b, "m-wang", "pause", case, "p-1", note="cooling_off 双方同意冷静三天")
    rp = reply(sub, "m-wang", "p-1")
    check(rp.get("ok") is True, f"pause refused: {rp}")
    c = d.case(case)
    check(c.get("status") == "paused", f"status after pause: {short(c)}")
    # a second pause and an unknown reason are refused
    command(b, "m-wang", "pause", case, "p-2", note="cooling_off again")
    check(reply(sub, "m-wang", "p-2").get("ok") is False, "paused twice")
    time.sleep(3)
    # in chat, in words
    r = d.chat("m-wang", f"恢复 {case} 冷静期结束")
    check(r.status == 200 and "恢复" in r.reply_text(), f"resume: {r.reply_text()!r}")
    c = d.case(case)
    check(c.get("status") == "in_progress", f"status after resume: {short(c)}")
    after = parse_utc(c["due_resolve"])
    evs = events(d, case)
    paused = [e for e in evs if e.get("type") == "paused"]
    resumed = [e for e in evs if e.get("type") == "resumed"]
    check(len(paused) == 1 and (paused[0].get("data") or {}).get("reason") == "cooling_off",
          f"paused event: {short(evs)}")
    check(len(resumed) == 1, f"resumed event: {short(evs)}")
    secs = (resumed[0].get("data") or {}).get("paused_seconds")
    check(isinstance(secs, int) and secs >= 3, f"paused_seconds: {resumed}")
    check((after - before).total_seconds() == secs,
          f"due_resolve moved by {(after - before).total_seconds()} s, paused {secs} s")
    check(wait_for(lambda: published(sub, case, "paused") and published(sub, case, "resumed"), 10),
          "paused/resumed not published")
    # the ledger shows the pause
    today = local_now().strftime("%Y-%m-%d")
    led = d.cli("report", "ledger", "--from", today, "--to", today)
    row = [ln for ln in led.stdout.splitlines() if case in ln]
    check(row and "累计暂停" in row[0], f"ledger row: {row}")
    # a pause in chat by words, refused without a known reason
    r = d.chat("m-wang", f"暂停 {case} 随便")
    check("暂停原因" in r.reply_text(), f"bad reason: {r.reply_text()!r}")
    check(d.case(case).get("status") == "in_progress", "a refused pause changed the case")


def test_raise_blue_to_yellow_to_red_reroutes():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-raise", REPORT)
    check(d.case(case).get("severity") == "blue", "not blue")
    command(b, "m-wang", "raise", case, "r-0")
    check(reply(sub, "m-wang", "r-0").get("ok") is False, "a raise without a reason")
    command(b, "m-wang", "raise", case, "r-1", note="双方争吵升级")
    rp = reply(sub, "m-wang", "r-1")
    check(rp.get("ok") is True, f"raise refused: {rp}")
    c = d.case(case)
    check(c.get("severity") == "yellow" and c.get("mediator") == "m-chen"
          and c.get("status") == "assigned", f"after the first raise: {short(c)}")
    check(wait_for(lambda: sub.messages(assignment_topic("m-chen"), lambda m: mentions(m, case)),
                   10), "the village mediator got no assignment")
    r = d.chat("m-chen", f"升级 {case} 有动手迹象")
    check(r.status == 200, f"raise in chat: {r}")
    c = d.case(case)
    check(c.get("severity") == "red" and c.get("mediator") == "m-li" and c.get("org") == "town-fq",
          f"after the second raise: {short(c)}")
    check(wait_for(lambda: sub.messages(f"{PREFIX}/alerts/town-fq", lambda m: mentions(m, case)),
                   10), "no red alert for the raised case")
    raised = [e for e in events(d, case) if e.get("type") == "raised"]
    check([(e.get("data") or {}).get("to") for e in raised] == ["yellow", "red"]
          and raised[0].get("note") == "双方争吵升级", f"raised events: {short(raised)}")
    r = d.chat("m-li", f"升级 {case} 再升")
    check("红色" in r.reply_text(), f"raise past red: {r.reply_text()!r}")


def test_unresolved_after_a_close_without_agreement_only():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    c1, _ = submit(d, "res-unres-1", REPORT)
    c2, _ = submit(d, "res-unres-2", "楼上漏水到我家，协商不成，枫源村第一网格")
    for c in (c1, c2):
        check(d.chat(d.case(c)["mediator"], f"接单 {c}").status == 200, f"accept {c}")
    m1, m2 = d.case(c1)["mediator"], d.case(c2)["mediator"]
    command(b, m1, "close", c1, "x-1", note="litigation 当事人起诉")
    check(reply(sub, m1, "x-1").get("ok") is True, "close litigation")
    command(b, m2, "close", c2, "x-2", note="withdrawn 已自行和解")
    check(reply(sub, m2, "x-2").get("ok") is True, "close withdrawn")
    check(wait_for(lambda: published(sub, c1, "unresolved"), 10),
          f"no unresolved event for {c1}: {short([m.payload for m in sub.messages() if c1 in m.topic])}")
    check(published(sub, c1, "closed"), "no closed event")
    ev = published(sub, c1, "unresolved")[0].payload
    check(ev.get("case", {}).get("status") == "closed", f"unresolved payload: {ev}")
    check(wait_for(lambda: published(sub, c2, "closed"), 10), "no closed event for c2")
    time.sleep(1)
    check(not published(sub, c2, "unresolved"), "a withdrawn case is not unresolved")
    check([e.get("type") for e in events(d, c1)][-2:] == ["closed", "unresolved"],
          f"history of {c1}: {short(events(d, c1))}")


def test_danger_in_a_new_matter_raises_no_earlier_case():
    """A resident with an open blue case writes about another matter with danger words: the
    earlier case stays as it was (no red, no danger alert for it); the new matter becomes a case
    of its own, red. A danger supplement to the case itself still raises it
    (test_lifecycle.test_danger_words_in_a_later_message_alert_up_the_tree)."""
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    old, _ = submit(d, "res-newmatter", REPORT)
    check(d.case(old).get("severity") == "blue", "a blue case first")
    new, tr = submit(d, "res-newmatter", "另外一件事，隔壁两家人在打架，有人拿刀，栎桥村第一网格")
    check(new != old, f"the new matter was added to {old}: {short([r.json for _, r in tr])}")
    check(d.case(new).get("severity") == "red", f"new matter not red: {short(d.case(new))}")
    check(wait_for(lambda: sub.messages(f"{PREFIX}/alerts/town-fq",
                                        lambda m: mentions(m, new)), 10),
          "no alert for the new red case")
    time.sleep(1)
    k = d.case(old)
    check(k.get("severity") == "blue", f"the earlier case was raised: {short(k)}")
    check(not sub.messages(pred=lambda m: "/alerts/" in m.topic and mentions(m, old)),
          "a danger alert for the earlier case")


def test_raising_a_paused_case_ends_the_pause_and_moves_the_deadline():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    case, _ = submit(d, "res-raise-paused", REPORT)
    check(d.chat("m-wang", f"接单 {case}").status == 200, "accept")
    before = parse_utc(d.case(case)["due_resolve"])
    command(b, "m-wang", "pause", case, "rp-1", note="appraisal 等待伤情鉴定")
    check(reply(sub, "m-wang", "rp-1").get("ok") is True, "pause")
    time.sleep(2)
    command(b, "m-wang", "raise", case, "rp-2", note="对方扬言报复")
    check(reply(sub, "m-wang", "rp-2").get("ok") is True, "raise of a paused case")
    c = d.case(case)
    check(c.get("status") == "assigned" and c.get("severity") == "yellow", f"raised: {short(c)}")
    moved = (parse_utc(c["due_resolve"]) - before).total_seconds()
    check(moved >= 2, f"the deadline did not move by the pause: {moved} s")

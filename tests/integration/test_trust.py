"""Who may speak as a mediator (README, "Who may speak as whom"), through a real mosquitto and
the real daemon. A gateway's topic {p}/inbound/{channel} is guarded by the broker's ACL per
gateway, not per user, so a gateway user who calls itself "m-wang" is a resident; the mediator's
own topic {p}/mediators/m-wang/commands is m-wang; and a gateway user is a mediator only when
the roster binds that channel and user to one ("gateways")."""
import os
import sqlite3
import sys
import time

from lib import (PREFIX, ROOT, Broker, Daemon, Sub, base_roster, check, event_types, expect_error,
                 new_mid, register, short, submit, wait_for)

import test_wecom as tw

sys.path.insert(0, os.path.join(ROOT, "tests"))
import wecom_stub  # noqa: E402

REPORT = "邻居在楼道堆放杂物，多次沟通无果"
BOUND_USER = "13800000000"


def open_case(d, user):
    """A resident's case in grid-fy-01, assigned to m-wang."""
    case, _ = submit(d, user, REPORT)
    c = d.case(case)
    check(c and c.get("mediator") == "m-wang" and c.get("status") == "assigned",
          f"test premise: the case is assigned to m-wang: {short(c)}")
    return case


def gateway_send(b, sub, channel, user, text):
    """Publishes a chat message on {p}/inbound/{channel}; returns the answer on
    {p}/outbound/{channel}/{user}."""
    out = f"{PREFIX}/outbound/{channel}/{user}"
    n = len(sub.messages(out))
    b.pub(f"{PREFIX}/inbound/{channel}", {"channel": channel, "user": user,
                                           "message_id": new_mid(), "type": "text",
                                           "text": text})
    got = sub.wait(out, count=n + 1, timeout=10)
    check(len(got) > n, f"no answer on {out} to {text!r}")
    return got[n].payload


def bound_roster():
    r = base_roster()
    for m in r["mediators"]:
        if m["id"] == "m-wang":
            m["gateways"] = [{"channel": "sms", "user": BOUND_USER}]
    return r


def test_gateway_user_named_like_a_mediator_is_a_resident():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    check(d.wait_mqtt("connected", 15), "daemon not connected")
    case = open_case(d, "tr-res-1")

    # m-wang's chat_user over a gateway: a resident's message, whatever it says
    for text in (f"接单 {case}", f"accept {case}"):
        a = gateway_send(b, sub, "sms", "m-wang", text)
        st = a.get("state") if isinstance(a, dict) else None
        check(isinstance(st, str) and (st.startswith("ask_") or st == "confirm"),
              f"{text!r} from inbound/sms did not start a report conversation: {short(a)}")
    time.sleep(0.5)
    c = d.case(case)
    check(c.get("status") == "assigned" and "accepted" not in event_types(c),
          f"a gateway user called m-wang accepted the case: {short(c)}")
    check(not sub.messages(f"{PREFIX}/mediators/m-wang/replies"),
          "a gateway message was answered as m-wang's command")
    check(not sub.messages(f"{PREFIX}/events/cases/{case}",
                           lambda m: m.payload.get("type") == "accepted"),
          "an accepted event was published for a gateway message")

    # the same command on m-wang's own topic is m-wang's
    rid = new_mid()
    b.pub(f"{PREFIX}/mediators/m-wang/commands",
          {"command": "accept", "case": case, "request_id": rid})
    got = sub.wait(f"{PREFIX}/mediators/m-wang/replies",
                   lambda m: m.payload.get("request_id") == rid, timeout=10)
    check(got and got[0].payload.get("ok") is True, f"m-wang's own accept: {short(got)}")
    check(wait_for(lambda: "accepted" in event_types(d.case(case)), 5),
          f"m-wang's accept was not applied: {short(d.case(case))}")

    # the signed webhook still maps chat_user to the mediator
    r = d.chat("m-wang", f"进展 {case} 已电话联系双方")
    check(r.status == 200 and "progress" in event_types(d.case(case)),
          f"the webhook's chat_user is no longer the mediator: {r} {short(d.case(case))}")


def test_roster_binding_makes_a_gateway_user_the_mediator():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b, roster=bound_roster())
    check(d.wait_mqtt("connected", 15), "daemon not connected")
    case = open_case(d, "tr-res-2")

    # bound on sms only: the same user on another gateway is a resident
    a = gateway_send(b, sub, "web", BOUND_USER, f"接单 {case}")
    st = a.get("state") if isinstance(a, dict) else None
    check(isinstance(st, str) and (st.startswith("ask_") or st == "confirm"),
          f"the binding leaked to inbound/web: {short(a)}")
    check("accepted" not in event_types(d.case(case)), "accepted from an unbound channel")

    a = gateway_send(b, sub, "sms", BOUND_USER, f"接单 {case}")
    check(wait_for(lambda: "accepted" in event_types(d.case(case)), 5),
          f"the bound sms user's 接单 was not m-wang's: {short(a)} {short(d.case(case))}")
    check(d.case(case).get("status") == "accepted", f"status: {short(d.case(case))}")
    check(sub.wait(f"{PREFIX}/events/cases/{case}",
                   lambda m: m.payload.get("type") == "accepted", timeout=10),
          "no accepted event on MQTT")
    # and m-wang's name over sms is still nobody's command
    a = gateway_send(b, sub, "sms", "m-wang", f"进展 {case} 测试")
    check("progress" not in event_types(d.case(case)),
          f"a gateway user called m-wang wrote progress: {short(a)}")

    # the binding survives a restart (stored in the database, loaded from there)
    d.stop()
    d.start()
    check(d.wait_mqtt("connected", 15), "daemon not reconnected")
    gateway_send(b, sub, "sms", BOUND_USER, f"进展 {case} 已电话联系双方")
    check(wait_for(lambda: "progress" in event_types(d.case(case)), 5),
          f"the binding was lost across a restart: {short(d.case(case))}")


def test_roster_rejects_bad_gateway_bindings():
    d = Daemon(None, roster=bound_roster())
    bad = []
    for mutate, part in (
            (lambda m: m.__setitem__("gateways", [{"channel": "sms/x", "user": "u1"}]),
             '"channel"'),
            (lambda m: m.__setitem__("gateways", [{"channel": "sms", "user": "+86138"}]),
             '"user"'),
            (lambda m: m.__setitem__("gateways", [{"channel": "", "user": "u1"}]), '"channel"'),
            (lambda m: m.__setitem__("gateways", [{"channel": "sms"}]), "gateways[0]"),
            (lambda m: m.__setitem__("gateways", {"channel": "sms", "user": "u1"}), "gateways"),
            (lambda m: m.__setitem__("gateways", [{"channel": "sms", "user": BOUND_USER}]),
             "already bound to m-wang")):
        r = bound_roster()
        chen = next(m for m in r["mediators"] if m["id"] == "m-chen")
        mutate(chen)
        bad.append((r, part))
    for i, (r, part) in enumerate(bad):
        p = d.import_roster(r, name=f"bad-{i}.json")
        out = p.stdout + p.stderr
        check(p.returncode == 1 and part in out and ("m-chen" in out or "mediators[2]" in out),
              f"bad binding {i} not rejected naming it (exit {p.returncode}): {out.strip()}")
        check(BOUND_USER not in out, f"the problem repeats a gateway user: {out.strip()}")
    d.start()
    r = d.admin("POST", "/api/v1/roster", bad[0][0])
    expect_error(r, 400, "invalid_roster", "POST /api/v1/roster with a bad binding")
    # nothing changed: the stored roster still has the one good binding
    con = sqlite3.connect(d.db, timeout=10)
    rows = con.execute("SELECT mediator_id, channel, user FROM mediator_gateways").fetchall()
    con.close()
    check(rows == [("m-wang", "sms", BOUND_USER)], f"stored bindings after rejects: {rows}")


def test_existing_roster_files_import_unchanged():
    d = Daemon(None, roster=None, start=False)
    for r in (os.path.join(ROOT, "docker", "demo-roster.json"), base_roster()):
        p = d.import_roster(r)
        check(p.returncode == 0, f"a roster without gateways was refused: {p.stdout}{p.stderr}")


# ---- WeCom: FromUserName is a wecom_userid, never a mediator id; 微信客服 users are residents -----
def test_wecom_ids_equal_to_a_mediator_do_not_make_a_mediator():
    stub = register(wecom_stub.Stub().start())
    d = Daemon(extra=stub.config(), env=tw.FAST)
    url = d.url + "/wecom/callback"
    case = tw.app_report(stub, d, "Reporter9", phone="13812345678")[0]
    check(d.case(case).get("mediator") == "m-wang", f"premise: {short(d.case(case))}")
    check(wait_for(lambda: tw.cards_to(stub, "WangJianGuo"), 10), "no card to m-wang")
    task = tw.cards_to(stub, "WangJianGuo")[0]["template_card"]["task_id"]

    # a member whose WeCom userid is m-wang's roster id (not his wecom_userid) clicks accept
    stub.card_click(url, "m-wang", f"accept:{case}", task)
    check(wait_for(lambda: tw.texts_to(stub, "m-wang"), 10), "no answer to the click")
    check("accepted" not in event_types(d.case(case)),
          f"a member called m-wang accepted m-wang's case: {short(d.case(case))}")
    # and as text over the app: a resident's report
    stub.member_says(url, "m-wang", f"接单 {case}")
    check(wait_for(lambda: len(tw.texts_to(stub, "m-wang")) >= 2, 10), "no answer to the text")
    check("accepted" not in event_types(d.case(case)), "accepted by text from member m-wang")

    # 微信客服 customers with a mediator's wecom_userid or id are residents
    for u in ("WangJianGuo", "m-wang"):
        stub.customer_says(url, u, f"接单 {case}")
        check(wait_for(lambda: stub.kf_texts_to(u), 10), f"no kf answer to {u}")
    time.sleep(0.5)
    check("accepted" not in event_types(d.case(case)) and d.case(case)["status"] == "assigned",
          f"a 微信客服 customer accepted the case: {short(d.case(case))}")

    # the real member WangJianGuo still can
    stub.card_click(url, "WangJianGuo", f"accept:{case}", task)
    check(wait_for(lambda: "accepted" in event_types(d.case(case)), 10),
          f"m-wang's own click was not applied: {short(d.case(case))}")

"""The WeCom channel end to end (docs/contract.md 3.2): the real daemon against the loopback
WeCom stub (tests/wecom_stub.py), which plays both the API (qyapi) and WeCom's callback side.

Every test starts its own stub and daemon (mqtt disabled unless needed), drives the callback
endpoint with encrypted, signed requests, and asserts on what the stub's API received."""
import json
import os
import signal
import sys
import time

import lib
from lib import Daemon, check, wait_for

sys.path.insert(0, os.path.join(lib.ROOT, "tests"))
import wecom_stub  # noqa: E402

FAST = {"FQ_WECOM_BACKOFF_MS": "200", "FQ_WECOM_MAX_BACKOFF_MS": "1000",
        "FQ_WECOM_RATE_BACKOFF_MS": "500", "FQ_WECOM_PROBE_MS": "60000",
        "FQ_WECOM_TIMEOUT_MS": "2000"}


def start(env=None, **stub_kw):
    stub = lib.register(wecom_stub.Stub(**stub_kw).start())
    d = Daemon(extra=stub.config(), env=dict(FAST, **(env or {})))
    return stub, d


def cb_url(d):
    return d.url + "/wecom/callback"


def texts_to(stub, userid):
    out = []
    for b in stub.inbox_of(userid):
        if b.get("msgtype") == "text":
            out.append(b["text"]["content"])
    return out


def cards_to(stub, userid):
    return [b for b in stub.inbox_of(userid) if b.get("msgtype") == "template_card"]


def wait_texts(stub, userid, n, timeout=10):
    check(wait_for(lambda: len(texts_to(stub, userid)) >= n, timeout),
          f"{userid} got {len(texts_to(stub, userid))} texts, wanted {n}: {texts_to(stub, userid)}")
    return texts_to(stub, userid)


# ---- the endpoint ------------------------------------------------------------------------------
def test_url_verification_and_rejections():
    stub, d = start()
    st, body = stub.url_verify(cb_url(d), "5927341830296178113")
    check(st == 200 and body == b"5927341830296178113", f"verify: {st} {body!r}")
    st, body = stub.url_verify(cb_url(d), tamper=True)
    check(st == 401 and body == b"", f"tampered signature: {st} {body!r}")
    # a signed POST with a flipped signature: 401, nothing processed
    q, body = stub.envelope({"FromUserName": "Nobody", "CreateTime": 1, "MsgType": "text",
                             "Content": "hi", "MsgId": "1"})
    bad = q.replace("msg_signature=", "msg_signature=0")
    st, b, _ = stub.post(cb_url(d), bad, body)
    check(st == 401, f"bad signature POST answered {st}")
    st, b, _ = stub.post(cb_url(d), q, "<!DOCTYPE x [<!ENTITY a 'b'>]><xml><Encrypt>&a;</Encrypt></xml>")
    check(st == 400, f"DTD answered {st}")
    st, b, _ = stub.post(cb_url(d), q, "not xml")
    check(st == 400, f"garbage answered {st}")
    time.sleep(0.5)
    check(stub.inbox_of("Nobody") == [], "a rejected request had an effect")
    # the vectors replayed against a daemon configured with their keyset PA
    r = d.get("/readyz")
    check(r.get("wecom") == "ok", f"/readyz: {r}")


def next_reply(last, phone="跳过"):
    """What a resident answers to the bot's last message (None: the receipt came)."""
    if lib.CASE_NO_RE.search(last):
        return None
    if "核对" in last:
        return "1"
    if "号码好像不对" in last:
        return "跳过"
    if "联系电话" in last:
        return phone
    if "哪个村" in last or "没有找到" in last:
        return "枫源村第一网格"
    if "哪一类" in last:
        return "1"
    return "邻居在楼道堆放杂物，多次沟通无果，涉及两户人家"


def app_report(stub, d, user, first="邻居在楼道堆放杂物，多次沟通无果", phone="跳过"):
    url = cb_url(d)
    res = stub.member_says(url, user, first)
    check(res[-1][0] == 200 and res[-1][1] == b"", f"callback answered {res}")
    check(res[-1][2] < 1.0, f"answered in {res[-1][2]:.2f}s")
    answers = wait_texts(stub, user, 1)
    for _ in range(8):
        reply = next_reply(answers[-1], phone)
        if reply is None:
            return lib.CASE_NO_RE.search(answers[-1]).group(0), answers
        stub.member_says(url, user, reply)
        answers = wait_texts(stub, user, len(answers) + 1)
    raise lib.Failure(f"no receipt over the app: {answers}")


def test_member_report_over_app():
    """A member who is not a mediator reports over the app; replies come by message/send."""
    stub, d = start()
    case, answers = app_report(stub, d, "CommunityStaff1")
    check(d.case(case)["channel"] == "wecom", f"{d.case(case)}")
    # every message/send carried enable_duplicate_check
    sends = stub.calls("/cgi-bin/message/send")
    check(sends and all(j["body"].get("enable_duplicate_check") == 1 for j in sends),
          "a message/send without enable_duplicate_check")
    # the grid worker of the grid (m-wang, WangJianGuo) got the assignment card
    check(wait_for(lambda: cards_to(stub, "WangJianGuo"), 10), "no assignment card")
    card = cards_to(stub, "WangJianGuo")[0]["template_card"]
    check(card["card_type"] == "button_interaction", f"card {card}")
    keys = [b["key"] for b in card["button_list"]]
    check(f"accept:{case}" in keys and f"escalate:{case}" in keys, f"buttons {keys}")
    check(case in card["main_title"]["title"], f"title {card['main_title']}")
    check(stub.gettoken_calls("app") == 1, f"gettoken called {stub.gettoken_calls('app')} times")


def _case_for_wang(stub, d, user="Reporter7", phone="13812345678"):
    return app_report(stub, d, user, phone=phone)[0]


def test_mediator_accepts_by_card_click():
    stub, d = start()
    case = _case_for_wang(stub, d)
    check(wait_for(lambda: cards_to(stub, "WangJianGuo"), 10), "no card")
    card = cards_to(stub, "WangJianGuo")[0]["template_card"]
    hz = {x["keyname"]: x["value"] for x in card["horizontal_content_list"]}
    check("138****5678" in hz.values(), f"masked phone missing: {hz}")
    check("13812345678" not in str(card), "unmasked phone on the card")
    code, res = stub.card_click(cb_url(d), "WangJianGuo", f"accept:{case}", card["task_id"])
    check(res[-1][0] == 200, f"click answered {res}")
    check(wait_for(lambda: stub.cards.get("WangJianGuo"), 10), "card not updated")
    upd = stub.cards["WangJianGuo"]
    check(upd["response_code"] == code and upd["button"]["replace_name"], f"update {upd}")
    check(wait_for(lambda: d.case(case) and d.case(case).get("status") == "accepted", 10),
          f"case not accepted: {d.case(case)}")
    # the mediator also got the outcome as text
    check(wait_for(lambda: any(case in t for t in texts_to(stub, "WangJianGuo")), 10),
          f"no reply text: {texts_to(stub, 'WangJianGuo')}")
    # a mediator's text command over the app works too
    stub.member_says(cb_url(d), "WangJianGuo", f"进展 {case} 已联系双方")
    check(wait_for(lambda: "progress" in lib.event_types(d.case(case)), 10),
          f"progress not recorded: {lib.event_types(d.case(case))}")


def test_callback_retried_is_processed_once():
    stub, d = start()
    user = "Retrier"
    # the same signed request four times (WeCom's first delivery + 3 retries)
    res = stub.member_says(cb_url(d), user, "你好", msgid="777000111", repeat=4)
    check([r[0] for r in res] == [200] * 4, f"answers {res}")
    wait_texts(stub, user, 1)
    time.sleep(1.0)
    check(len(texts_to(stub, user)) == 1, f"processed more than once: {texts_to(stub, user)}")


def test_token_expires_mid_run():
    stub, d = start()
    stub.member_says(cb_url(d), "U1", "你好")
    wait_texts(stub, "U1", 1)
    stub.expire_tokens()
    stub.member_says(cb_url(d), "U2", "你好")
    wait_texts(stub, "U2", 1)
    check(stub.gettoken_calls("app") == 2, f"gettoken calls {stub.gettoken_calls('app')}")
    refused = [j for j in stub.calls("/cgi-bin/message/send")
               if json.loads(j["response"]).get("errcode") == 42001]
    check(len(refused) == 1, f"expected one 42001 then a retry, got {len(refused)}")


def test_rate_limit_and_5xx_then_success():
    stub, d = start()
    stub.add_fault("/cgi-bin/message/send", {"errcode": 45009}, times=1)
    stub.add_fault("/cgi-bin/message/send", {"http_status": 502}, times=1)
    stub.add_fault("/cgi-bin/message/send", {"errcode": -1}, times=1)
    users = [f"RL{i}" for i in range(3)]
    for u in users:
        stub.member_says(cb_url(d), u, "你好")
    for u in users:
        wait_texts(stub, u, 1, timeout=15)
    time.sleep(1.5)
    for u in users:
        check(len(texts_to(stub, u)) == 1, f"{u}: {texts_to(stub, u)}")
    effects = [j["effect"] for j in stub.calls("/cgi-bin/message/send") if j["effect"]]
    check("suppressed_duplicate" not in effects, f"a duplicate was sent: {effects}")


def test_config_error_not_retried_and_shown():
    stub, d = start()
    stub.add_fault("/cgi-bin/message/send", {"errcode": 60020}, times=None)
    stub.member_says(cb_url(d), "Cfg1", "你好")
    check(wait_for(lambda: d.get("/readyz").get("wecom") == "failing", 10),
          f"/readyz: {d.get('/readyz').json}")
    n = len(stub.calls("/cgi-bin/message/send"))
    time.sleep(2.0)
    check(len(stub.calls("/cgi-bin/message/send")) == n, "a configuration error was retried")
    m = d.get("/metrics").text
    check("fq_wecom_failing 1" in m and "fq_wecom_failing_errcode 60020" in m, "metrics")


# ---- 微信客服 -----------------------------------------------------------------------------------
def kf_texts(stub, u):
    return stub.kf_texts_to(u)


def wait_kf(stub, u, n, timeout=10):
    check(wait_for(lambda: len(kf_texts(stub, u)) >= n, timeout),
          f"{u}: {len(kf_texts(stub, u))} kf messages, wanted {n}: {kf_texts(stub, u)}")
    return kf_texts(stub, u)


def test_resident_report_over_kf():
    stub, d = start()
    url = cb_url(d)
    u = "wmResident0001"
    stub.customer_says(url, u, "邻居在楼道堆放杂物，多次沟通无果，涉及两户人家")
    got = wait_kf(stub, u, 1)
    case = None
    for _ in range(8):
        reply = next_reply(got[-1])
        if reply is None:
            case = lib.CASE_NO_RE.search(got[-1]).group(0)
            break
        menu = stub.kf_sent[-1] if stub.kf_sent[-1].get("msgtype") == "msgmenu" else None
        if menu and reply == "1":   # tap the first item of the msgmenu
            item = menu["msgmenu"]["list"][0]["click"]
            stub.customer_says(url, u, item["content"], menu_id=item["id"])
        else:
            stub.customer_says(url, u, reply)
        got = wait_kf(stub, u, len(got) + 1)
    check(case, f"no receipt over kf: {got}")
    check(d.case(case)["channel"] == "wecom_kf", f"channel {d.case(case)}")
    syncs = stub.calls("/cgi-bin/kf/sync_msg")
    check(syncs and all(j["body"].get("token") for j in syncs), "sync_msg without the token")
    cursors = [j["body"].get("cursor") for j in syncs]
    check(cursors[0] == "" and all(c.startswith("c") for c in cursors[1:]), f"cursors {cursors}")
    check(all(j["body"].get("msgid") for j in stub.calls("/cgi-bin/kf/send_msg")), "no msgid")


def test_kf_window_closed_is_recorded():
    stub, d = start()
    u = "wmWindow"
    stub.kf_append(u, "你好", send_time=time.time() - 49 * 3600)
    stub.kf_bell(cb_url(d))
    time.sleep(1.5)
    check(kf_texts(stub, u) == [], f"sent outside the window: {kf_texts(stub, u)}")
    check(wait_for(lambda: "fq_wecom_kf_blocked_total 1" in d.get("/metrics").text, 5),
          "blocked send not counted")


def test_restart_between_kf_event_and_sync():
    stub, d = start()
    u = "wmRestart"
    # the first sync hangs: the daemon is stopped while it waits
    stub.add_fault("/cgi-bin/kf/sync_msg", {"delay_ms": 3000}, times=1)
    stub.customer_says(cb_url(d), u, "你好")
    check(wait_for(lambda: stub.calls("/cgi-bin/kf/sync_msg") or
                   any(f["fired"] for f in stub.faults), 5), "no sync started")
    rc = d.stop()
    check(rc == 0, f"daemon exit {rc}")
    check(kf_texts(stub, u) == [], "answered before the restart")
    d.start()
    got = wait_kf(stub, u, 1, timeout=10)
    time.sleep(1.0)
    check(len(kf_texts(stub, u)) == 1, f"answered twice or lost: {kf_texts(stub, u)}")
    # a second message after the restart is read from the persisted cursor, once
    stub.customer_says(cb_url(d), u, "帮助")
    wait_kf(stub, u, 2)
    time.sleep(1.0)
    check(len(kf_texts(stub, u)) == 2, f"{kf_texts(stub, u)}")
    # (the hung first sync is journalled by the stub only when its delay ends, out of order)
    cursors = [j["body"]["cursor"] for j in stub.calls("/cgi-bin/kf/sync_msg")]
    check("c1" in cursors, f"the second pull did not start from the persisted cursor: {cursors}")
    del got


def test_vectors_replayed_against_the_daemon():
    """Every callback and url_verify case of ../shared/wecom/vectors_public.json, as sent on the
    wire, against a daemon configured with the case's keyset: positives 200 (GET: exactly the
    plaintext), negatives non-2xx with an empty body."""
    path = os.path.join(os.environ.get("FQ_SHARED", os.path.join(lib.ROOT, "..", "shared")),
                        "wecom", "vectors_public.json")
    with open(path, encoding="utf-8") as f:
        vec = json.load(f)
    stub = lib.register(wecom_stub.Stub().start())
    by_keyset = {}
    for c in vec["cases"]:
        if c["kind"] in ("callback", "url_verify"):
            by_keyset.setdefault(c["keyset"], []).append(c)
    for ks in vec["keysets"]:
        cases = by_keyset.get(ks["id"], [])
        if not cases:
            continue
        conf = dict(stub.config())
        conf.update({"wecom.token": ks["token"], "wecom.encoding_aes_key": ks["encoding_aes_key"],
                     "wecom.corp_id": ks["receiveid"], "wecom.agent_id": str(ks["agentid"])})
        d = Daemon(extra=conf, env=FAST)
        for c in cases:
            req = c["request"]
            if req["method"] == "GET":
                r = d.request("GET", "/wecom/callback?" + req["query"])
            else:
                r = d.request("POST", "/wecom/callback?" + req["query"], req["body"].encode(),
                              {"Content-Type": "text/xml"})
            if c["expected"]["ok"]:
                check(r.status == 200, f"{c['id']}: {r.status}")
                want = c["expected"].get("http_body", "")
                check(r.body == want.encode(), f"{c['id']}: body {r.body!r}")
            else:
                check(400 <= r.status < 500 and r.body == b"", f"{c['id']}: {r.status} {r.body!r}")
        d.stop()


def test_literal_plus_in_echostr_kept():
    stub, d = start()
    for _ in range(50):
        enc = wecom_stub.encrypt(stub.encoding_aes_key, stub.corp_id, "42")
        if "+" in enc:
            break
    check("+" in enc, "no echostr with a + in 50 tries")
    ts, nonce = "1717400000", "99"
    sig = wecom_stub.signature(stub.token, ts, nonce, enc)
    raw = enc.replace("/", "%2F").replace("=", "%3D")          # "+" sent literally
    r = d.request("GET", f"/wecom/callback?msg_signature={sig}&timestamp={ts}&nonce={nonce}&echostr={raw}")
    check(r.status == 200 and r.body == b"42", f"literal +: {r.status} {r.body!r}")

"""The workbench in a real browser (docs/contract.md 12): headless chromium against the real
daemon, broker and database. Screenshots go to build/screenshots/ (tests/integration/browser.py).
"""
import json
import os

import lib
from browser import PHONE, Browser
from lib import Broker, Daemon, Sub, check

PASSWORD = "s3cret-pass"


def add_user(d, login, role, org, mediator=None, password=PASSWORD):
    pw = os.path.join(d.dir, f"pw-{login}")
    with open(pw, "w") as f:
        f.write(password + "\n")
    args = ["user", "add", login, "--role", role, "--org", org, "--password-file", pw]
    if mediator:
        args += ["--mediator", mediator]
    r = d.cli(*args)
    check(r.returncode == 0, f"user add {login}: {r.stdout}{r.stderr}")


def test_report_appears_live_and_accept_goes_through_the_core():
    broker = Broker()
    d = Daemon(broker)
    sub = Sub(broker)
    add_user(d, "wang", "mediator", "grid-fy-01", "m-wang")
    b = Browser(d)
    b.login("wang", PASSWORD)
    b.wait_css("#board")
    b.shot("board-empty")
    # a resident reports over the webhook; the open board shows it without a reload
    marker = b.drv.execute_script("window.__fq_marker = 1; return window.__fq_marker;")
    check(marker == 1, "page script state")
    case, _ = lib.submit(d, "res-live", "邻居装修噪音太大，晚上十点还在施工")
    b.wait(lambda: b.els(f'#board tr[data-case="{case}"]'), f"{case} on the board", 20)
    check(b.drv.execute_script("return window.__fq_marker;") == 1,
          "the board reloaded instead of updating itself")
    row = b.el(f'#board tr[data-case="{case}"]')
    check(case in row.text, f"the row shows the case number as text: {row.text!r}")
    check("1380" not in row.text, "the board masks the phone")
    b.shot("board")
    # open it, press 接单 with a note
    b.el(f'#board tr[data-case="{case}"] a').click()
    b.wait(lambda: b.path() == f"/app/cases/{case}", "the case page")
    b.wait_css("textarea[name=note]")
    words = [x.text for x in b.els("button[name=command]")]
    check(words == ["接单", "上报", "转办", "升级"], f"buttons of an assigned case: {words}")
    b.fill("note", "已电话联系双方，明天上门")
    b.button("接单").click()
    b.wait(lambda: "已电话联系双方，明天上门" in b.el("#history").text, "the note in the history")
    check("已接单" in b.el(".case-head .badges").text, "status accepted on the page")
    b.shot("case")
    # the same event on MQTT, from the same transaction's outbox
    ev = sub.wait(lib.event_topic(case), lambda m: m.payload.get("type") == "accepted", timeout=10)
    check(ev, f"accepted event of {case} on MQTT: {[m.payload for m in sub.messages()][-5:]}")
    # the lifecycle (not the page) decided: accepted again is refused, the buttons follow
    words = [x.text for x in b.els("button[name=command]")]
    check("接单" not in words and "调结" in words, f"buttons of an accepted case: {words}")
    # a pause needs its reason, chosen on the form; it reaches the lifecycle like the chat's
    check("暂停" in words, f"pause offered on an accepted case: {words}")
    b.el("select[name=pause_reason] option[value=cooling_off]").click()
    b.button("暂停").click()
    ev = sub.wait(lib.event_topic(case), lambda m: m.payload.get("type") == "paused", timeout=10)
    check(ev, f"paused event of {case} on MQTT")
    b.wait(lambda: "冷静期" in b.el("#history").text, "the pause and its reason in the history")
    b.wait(lambda: "恢复" in [x.text for x in b.els("button[name=command]")], "resume offered")
    check(not b.console_errors(), f"browser console errors (CSP?): {b.console_errors()}")


test_report_appears_live_and_accept_goes_through_the_core.timeout = 120


def test_phone_layout_and_sign_in_screens():
    d = Daemon()
    add_user(d, "office", "office", "town-fq")
    lib.submit(d, "res-p1", "楼上漏水到我家，物业不管")
    b = Browser(d, size=PHONE)
    b.open("/app/login")
    b.shot("login-phone")
    b.login("office", PASSWORD)
    b.wait_css("#board tr[data-case]")
    b.shot("board-phone")
    width = b.drv.execute_script("return document.documentElement.scrollWidth")
    check(width <= PHONE[0] + 1, f"the board scrolls sideways on a phone: {width}px")


test_phone_layout_and_sign_in_screens.timeout = 120


def test_wecom_oauth_sign_in_through_the_stub():
    import sys
    sys.path.insert(0, os.path.join(lib.ROOT, "tests"))
    import wecom_stub
    from test_web import Web
    stub = lib.register(wecom_stub.Stub().start())
    d = Daemon(extra=stub.config())
    add_user(d, "wang", "mediator", "grid-fy-01", "m-wang")      # WeCom userid WangJianGuo
    case, _ = lib.submit(d, "res-oauth", "隔壁养的鸡天天跑到我家菜地")
    # in the WeCom client: the app's page, WeCom's authorize page, back with a code
    stub.oauth_as("WangJianGuo")
    b = Browser(d, size=PHONE)
    b.open("/app/oauth/wecom")
    b.wait(lambda: b.path() == "/app/", "the board after WeCom's sign-in", 20)
    b.wait_css(f'#board tr[data-case="{case}"]')
    check("wang" in b.el("header .who").text, f"signed in as wang: {b.el('header .who').text}")
    b.shot("board-wecom-phone")
    calls = stub.calls("/cgi-bin/auth/getuserinfo")
    check(len(calls) == 1 and calls[0]["query"].get("code") and calls[0]["query"].get("access_token"),
          f"one getuserinfo with the code and the app's token: {calls}")
    auth = stub.calls("/connect/oauth2/authorize")
    q = auth[0]["query"]
    check(q["appid"] == stub.corp_id and q["scope"] == "snsapi_base" and q["response_type"] == "code"
          and q["redirect_uri"].endswith("/app/oauth/wecom") and q["state"], f"authorize: {q}")

    # refusals: each ends on the sign-in form with no session
    w = Web(d)
    start = w.get("/app/oauth/wecom")
    check(start.status == 302 and "SameSite=Lax" in start.headers.get("set-cookie", ""), f"{start.headers}")
    state_cookie = start.headers["set-cookie"].split(";")[0]
    state = state_cookie.split("=", 1)[1]

    def back(code, st=state, ck=state_cookie):
        return lib.http_request(d.port, "GET", f"/app/oauth/wecom?code={code}&state={st}", None,
                                {"Cookie": ck, "Host": f"127.0.0.1:{d.port}"})

    used = calls[0]["query"]["code"]
    r = back(used)
    check(r.status == 403 and "fq_session" not in r.headers.get("set-cookie", ""),
          f"a code used twice (40029): {r.status}")
    r = back(stub.oauth_code(userid="WangJianGuo"), st="0" * 32)
    check(r.status == 403, f"a state that is not the cookie's: {r.status}")
    r = back(stub.oauth_code(openid="oNotAMember"))
    check(r.status == 403, f"someone outside the company: {r.status}")
    r = back(stub.oauth_code(userid="Stranger"))
    check(r.status == 403, f"a member who is no mediator: {r.status}")
    r = back(stub.oauth_code(userid="ChenXiuYing"))
    check(r.status == 403, f"a mediator without an account: {r.status}")
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    c.request("GET", f"/app/oauth/wecom?code={stub.oauth_code(userid='WangJianGuo')}&state={state}",
              headers={"Cookie": state_cookie, "Host": f"127.0.0.1:{d.port}"})
    resp = c.getresponse()
    body = resp.read().decode()
    cookies = resp.msg.get_all("Set-Cookie") or []
    c.close()
    session = [x.split(";")[0] for x in cookies if x.startswith("fq_session=")]
    check(resp.status == 200 and 'http-equiv="refresh"' in body and session
          and any(x.startswith("fq_oauth=;") for x in cookies), f"a good code: {resp.status} {cookies}")
    check(Web(d).get("/app/", {"Cookie": session[0]}).status == 200, "its session opens the board")
    errs = [json.loads(c["response"]).get("errcode") for c in stub.calls("/cgi-bin/auth/getuserinfo")]
    check(errs[1] == 40029, f"the stub answered the used code with 40029: {errs}")


test_wecom_oauth_sign_in_through_the_stub.timeout = 120

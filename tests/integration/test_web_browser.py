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
    check(words == ["接单", "上报", "转办"], f"buttons of an assigned case: {words}")
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

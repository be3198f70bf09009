"""The workbench's statistics, 督办 and roster pages in a real browser (headless chromium against the
real daemon, broker and database; tests/integration/browser.py): the charts draw the month's true
totals (read back from the Chart.js charts and compared with `fengqiao report monthly`), on a
desktop and a phone; another village's figures answer 404; the report downloads are the report's
files; the 督办 page lists a late case and its note reaches the mediator on MQTT; a bad roster
upload shows the CLI's first problem and a good one is imported. Screenshots in build/screenshots/.
"""
import json
import os

import lib
from browser import PHONE, Browser
from lib import Broker, Daemon, Sub, check, local_now, short

PASSWORD = "s3cret-pass"
REPORT = "邻居在楼道堆放杂物，多次沟通无果，枫源村第一网格"
REPORT_LQ = "邻居在楼道堆放杂物，多次沟通无果，栎桥村第一网格"


def add_user(d, login, role, org, mediator=None):
    pw = os.path.join(d.dir, f"pw-{login}")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    args = ["user", "add", login, "--role", role, "--org", org, "--password-file", pw]
    if mediator:
        args += ["--mediator", mediator]
    r = d.cli(*args)
    check(r.returncode == 0, f"user add {login}: {r.stdout}{r.stderr}")


def command(broker, sub, mediator, cmd, case, rid, **kw):
    body = {"command": cmd, "case": case, "request_id": rid}
    body.update(kw)
    broker.pub(f"{lib.PREFIX}/mediators/{mediator}/commands", json.dumps(body, ensure_ascii=False))
    got = sub.wait(f"{lib.PREFIX}/mediators/{mediator}/replies",
                   lambda m: m.payload.get("request_id") == rid, timeout=10)
    check(got and got[0].payload.get("ok") is True, f"{cmd} {case}: {short(got and got[0].payload)}")


def full_shot(b, name):
    """The whole page, below the fold too (Chrome's captureBeyondViewport)."""
    import base64
    w, h = b.drv.execute_script("return [document.documentElement.scrollWidth,"
                                " document.documentElement.scrollHeight]")
    png = b.drv.execute_cdp_cmd("Page.captureScreenshot", {
        "captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": w, "height": h,
                                                "scale": 1}})
    from browser import SHOTS
    os.makedirs(SHOTS, exist_ok=True)
    with open(os.path.join(SHOTS, f"{name}.png"), "wb") as f:
        f.write(base64.b64decode(png["data"]))


def report(d, month, org):
    r = d.cli("report", "monthly", "--month", month, "--org", org, "--format", "json")
    check(r.returncode == 0, f"report monthly: {r.stderr}")
    return json.loads(r.stdout)


def chart(b, name):
    """{row key: {series: value}} of a drawn chart, read from Chart.js; the keys of the rows
    drawn are the canvas's data-keys (a breakdown leaves out its rows of zeros)."""
    data = b.drv.execute_script(
        "var c = Chart.getChart(document.getElementById('chart-' + arguments[0]));"
        "return c ? {labels: c.data.labels, sets: c.data.datasets.map(function (d) {"
        "  return {label: d.label, data: d.data}; })} : null;", name)
    check(data, f"no chart {name} was drawn")
    keys = json.loads(b.el(f"#chart-{name}").get_attribute("data-keys"))
    series = [th.get_attribute("data-series")
              for th in b.els(f"table[data-chart=chart-{name}] thead th[data-series]")]
    check(len(keys) == len(data["labels"]) and len(series) == len(data["sets"]),
          f"chart {name}: {data} against keys {keys}, series {series}")
    return {k: {s: data["sets"][j]["data"][i] for j, s in enumerate(series)}
            for i, k in enumerate(keys)}


def rows(rep, part):
    return {r["key"]: r for r in rep[part]}


def check_page_against_report(b, rep, scope):
    b.wait(lambda: len(b.els("table.chart-data.drawn")) == 5, "five charts drawn")
    for k in ("received", "resolved", "unresolved", "withdrawn", "open", "overdue"):
        v = int(b.el(f'.kpi[data-k="{k}"]').get_attribute("data-v"))
        check(v == rep[k], f"{scope}: figure {k} is {v}, the report says {rep[k]}")
    for name, part in (("category", "by_category"), ("severity", "by_severity"),
                       ("channel", "by_channel")):
        got, want = chart(b, name), rows(rep, part)
        series = [th.get_attribute("data-series")
                  for th in b.els(f"table[data-chart=chart-{name}] thead th[data-series]")]
        drawn = {k for k, r in want.items() if any(r[s] for s in series)}
        check(set(got) == drawn, f"{scope} {name}: rows {sorted(got)}, the report's with "
              f"figures {sorted(drawn)}")
        for key, vals in got.items():
            for s, v in vals.items():
                check(v == want[key][s], f"{scope} {name} {key} {s}: chart {v}, report {want[key][s]}")
    got = chart(b, "org")
    want = {r["key"]: r for r in rep["by_org"] if r["depth"] == 1} or \
        {r["key"]: r for r in rep["by_org"] if r["depth"] == 0}
    check(set(got) == set(want), f"{scope} org rows {sorted(got)} vs {sorted(want)}")
    for key, vals in got.items():
        for s, v in vals.items():
            check(v == want[key][s], f"{scope} org {key} {s}: chart {v}, report {want[key][s]}")
    trend = chart(b, "trend")
    month = rep["month"]
    check(list(trend)[-1] == month and trend[month] == {"received": rep["received"],
                                                          "resolved": rep["resolved"]},
          f"{scope} trend's last month {list(trend)[-1:]} {trend.get(month)}")
    errors = b.console_errors()
    check(not errors, f"console errors (CSP?): {errors}")


def test_charts_draw_the_months_true_totals():
    broker = Broker()
    sub = Sub(broker)
    d = Daemon(broker)
    d.wait_mqtt()
    c1, _ = lib.submit(d, "res-ws-1", REPORT)
    c2, _ = lib.submit(d, "res-ws-2", "楼上漏水到我家，物业不管，枫源村第一网格")
    c3, _ = lib.submit(d, "res-ws-3", REPORT_LQ)
    lib.submit(d, "res-ws-4", "老板拖欠工资三个月不给，栎桥村")
    command(broker, sub, "m-wang", "accept", c1, "ws-a1")
    command(broker, sub, "m-wang", "resolve", c1, "ws-r1", note="双方达成协议")
    command(broker, sub, "m-wang", "accept", c2, "ws-a2")
    command(broker, sub, "m-zhao", "accept", c3, "ws-a3")
    command(broker, sub, "m-zhao", "close", c3, "ws-c3", note="withdrawn 当事人撤回")
    add_user(d, "county", "office", "county-zj")
    add_user(d, "lq", "office", "vil-lq")
    add_user(d, "wang", "mediator", "grid-fy-01", "m-wang")
    month = local_now().strftime("%Y-%m")

    b = Browser(d)
    b.login("county", PASSWORD)
    b.open("/app/stats")
    rep = report(d, month, "county-zj")
    check(rep["received"] == 4 and rep["resolved"] == 1 and rep["withdrawn"] == 1, f"fixture {rep}")
    check_page_against_report(b, rep, "county-zj")
    full_shot(b, "stats")
    b.open("/app/stats?org=vil-fy")
    check_page_against_report(b, report(d, month, "vil-fy"), "vil-fy")
    # the downloads are the report's own files
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in b.drv.get_cookies())
    r = d.request("GET", f"/app/reports/monthly.csv?month={month}&org=county-zj",
                  headers={"Cookie": cookie})
    check(r.status == 200 and r.body.startswith("\ufeff".encode()), f"monthly.csv: {r.status}")
    cli = d.cli("report", "monthly", "--month", month, "--org", "county-zj", "--format", "csv")
    page_csv = r.body.decode("utf-8").replace("\r\n", "\n")   # the CLI's is read as text
    check(page_csv == cli.stdout, f"the page's CSV is not the CLI's: {page_csv[:300]!r} vs "
          f"{cli.stdout[:300]!r}")
    r = d.request("GET", f"/app/reports/ledger.xlsx?month={month}&org=vil-fy",
                  headers={"Cookie": cookie})
    check(r.status == 200 and r.body[:2] == b"PK", f"ledger.xlsx: {r.status} {r.body[:20]!r}")
    check("attachment" in r.headers.get("content-disposition", ""), f"{r.headers}")

    # a phone: the same figures, nothing wider than the screen
    p = Browser(d, size=PHONE)
    p.login("county", PASSWORD)
    p.open("/app/stats")
    check_page_against_report(p, rep, "county-zj on a phone")
    width = p.drv.execute_script("return document.documentElement.scrollWidth")
    check(width <= PHONE[0] + 1, f"the statistics page scrolls sideways on a phone: {width}px")
    full_shot(p, "stats-phone")

    # 属地: a village sees its own figures, another village's is not found; a mediator has none
    v = Browser(d)
    v.login("lq", PASSWORD)
    v.open("/app/stats")
    check_page_against_report(v, report(d, month, "vil-lq"), "vil-lq")
    r = d.request("GET", "/app/api/stats?org=vil-fy",
                  headers={"Cookie": "; ".join(f"{c['name']}={c['value']}" for c in v.drv.get_cookies())})
    check(r.status == 404, f"vil-lq reading vil-fy's figures: {r.status}")
    v.open("/app/stats?org=vil-fy")
    check(not v.els(".kpis"), "vil-lq sees vil-fy's figures")
    m = Browser(d)
    m.login("wang", PASSWORD)
    r = d.request("GET", "/app/api/stats",
                  headers={"Cookie": "; ".join(f"{c['name']}={c['value']}" for c in m.drv.get_cookies())})
    check(r.status == 403, f"a mediator reading the statistics: {r.status}")


test_charts_draw_the_months_true_totals.timeout = 180


def test_supervision_page_lists_a_late_case_and_the_note_reaches_the_mediator():
    broker = Broker()
    sub = Sub(broker)
    d = Daemon(broker, extra={"sla.accept_blue": "2s", "sla.accept_yellow": "2s",
                              "sla.accept_red": "2s"})
    d.wait_mqtt()
    case, _ = lib.submit(d, "res-wsup-1", REPORT)
    other, _ = lib.submit(d, "res-wsup-2", REPORT_LQ)
    add_user(d, "li", "supervisor", "vil-fy", "m-chen")
    b = Browser(d)
    b.login("li", PASSWORD)
    # late once its accept deadline passed; the 督办 reminder shows once sent (twice the SLA)
    def listed():
        b.open("/app/supervision?within=0")
        return b.els(f'article.late[data-case="{case}"][data-past="1"] li[data-type="reminder"]')
    b.wait(listed, f"{case} late with its reminder", 20)
    check(not b.els(f'article.late[data-case="{other}"]'), "another village's case is listed")
    art = b.el(f'article.late[data-case="{case}"]')
    med = lib.unwrap_case(d.admin("GET", f"/api/v1/cases/{case}").json)["mediator"]
    check(b.el("#by-mediator").text and b.els(f'#by-mediator tr[data-key="{med}"]'),
          "the mediator's line of the tally")
    full_shot(b, "supervision")
    art.find_element("css selector", "textarea[name=note]").send_keys("请今天内联系双方当事人")
    art.find_element("css selector", "button[type=submit]").click()
    b.wait_css("#sup-sent")
    pushed = sub.wait(lib.assignment_topic(med),
                      lambda m: lib.mentions(m, case) and m.payload.get("action") == "supervise",
                      timeout=10)
    check(pushed and pushed[0].payload.get("note") == "请今天内联系双方当事人",
          f"no supervise message to {med}: {short([m.payload for m in sub.messages()][-6:])}")
    ev = sub.wait(lib.event_topic(case), lambda m: m.payload.get("type") == "supervised", timeout=10)
    check(ev and ev[0].payload.get("actor") == "li", f"event {short(ev and ev[0].payload)}")
    b.open("/app/supervision?within=0")
    check(b.els(f'article.late[data-case="{case}"] li[data-type="supervised"]'),
          "the note is not shown as sent")
    b.open(f"/app/cases/{case}")
    b.wait_text("请今天内联系双方当事人")
    errors = b.console_errors()
    check(not errors, f"console errors: {errors}")


test_supervision_page_lists_a_late_case_and_the_note_reaches_the_mediator.timeout = 150


def test_roster_upload_shows_the_first_problem():
    d = Daemon()
    add_user(d, "county", "office", "county-zj")
    add_user(d, "fy", "office", "vil-fy")
    bad = lib.base_roster()
    bad["mediators"][1]["org"] = "grid-nowhere"
    bad_path = os.path.join(d.dir, "bad-roster.json")
    with open(bad_path, "w", encoding="utf-8") as f:
        json.dump(bad, f, ensure_ascii=False)
    cli = d.cli("roster", "import", bad_path)
    check(cli.returncode != 0, "the CLI took the bad roster")
    problem = cli.stderr.strip().split(": ", 1)[1]

    b = Browser(d)
    b.login("county", PASSWORD)
    b.open("/app/roster")
    b.wait_css('#roster-mediators tr[data-mediator="m-zhao"]')
    b.el("#roster-file").send_keys(bad_path)
    b.wait(lambda: b.el("#roster-text").get_attribute("value"), "the file read into the form")
    b.el("#roster-form button[type=submit]").click()
    shown = b.wait_css("#roster-problem")[0].text
    check(problem in shown, f"the page shows {shown!r}, the CLI says {problem!r}")
    full_shot(b, "roster-problem")
    good = lib.base_roster()
    good["mediators"].append({"id": "m-new", "name": "新调解员", "role": "grid_worker",
                              "org": "grid-lq-01", "categories": ["*"]})
    good_path = os.path.join(d.dir, "good-roster.json")
    with open(good_path, "w", encoding="utf-8") as f:
        json.dump(good, f, ensure_ascii=False)
    b.open("/app/roster")
    b.el("#roster-file").send_keys(good_path)
    b.wait(lambda: b.el("#roster-text").get_attribute("value"), "the file read into the form")
    b.el("#roster-form button[type=submit]").click()
    b.wait_css("#roster-ok")
    b.open("/app/roster")
    b.wait_css('#roster-mediators tr[data-mediator="m-new"]')
    b.shot("roster")
    # a village office sees its part and cannot replace the county's roster
    v = Browser(d)
    v.login("fy", PASSWORD)
    v.open("/app/roster")
    check(not v.els("#roster-form"), "a village office is offered the upload")
    check(not v.els('#roster-mediators tr[data-mediator="m-zhao"]'), "vil-fy sees vil-lq's mediators")
    check(v.els('#roster-mediators tr[data-mediator="m-wang"]'), "vil-fy does not see its own")
    # the refused upload answered 400 on purpose; anything else (a CSP violation) is an error
    errors = [e for e in b.console_errors()
              if not (e.get("source") == "network" and "/app/roster" in e.get("message", "")
                      and "status of 400" in e.get("message", ""))]
    check(not errors, f"console errors: {errors}")


test_roster_upload_shows_the_first_problem.timeout = 150

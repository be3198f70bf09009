"""The monthly report and the ledger (docs/contract.md 1, 3.4, 4 and 8) through the real daemon: the
zero report (零报告) of an empty month from the admin API and the CLI, the figures of a month with a
resolved and a withdrawn case in every format (JSON, text, CSV with a BOM, an XLSX workbook read
back with zipfile), the ledger for a period, usage errors, and the scheduled report retained on
{p}/reports/{org}/monthly."""
import csv
import io
import json
import os
import re
import sqlite3
import time
import zipfile

from lib import (PREFIX, Broker, Daemon, Sub, base_roster, check, expect_error, local_now, short,
                 submit)

REPORT = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001"


def test_monthly_report_of_an_empty_month():
    """docs/contract.md 8.2: a month with no cases still yields a report with zero counts (零报告). The
    field names are not fixed by the contract: the counts are the numbers under keys naming
    received, resolved, unresolved, open or overdue, and each must be 0."""
    d = Daemon()
    r = d.admin("GET", "/api/v1/reports/monthly?month=2020-01")
    check(r.status == 200 and isinstance(r.json, dict), f"monthly report of 2020-01: {r}")
    got = counts(r.json)
    check(got and all(v == 0 for v in got.values()), f"empty month counts: {got or r}")
    c = d.cli("report", "monthly", "--month", "2020-01", "--format", "json")
    check(c.returncode == 0, f"report monthly exit {c.returncode}: {c.stderr}")
    check(counts(json.loads(c.stdout)) == got, f"the CLI's report differs: {c.stdout[:300]}")
    # Contract-silent: an impossible month is a bad request.
    expect_error(d.admin("GET", "/api/v1/reports/monthly?month=2020-13"), 400, None, "month 13")
    expect_error(d.admin("GET", "/api/v1/reports/monthly"), 400, None, "no month")


COUNT_WORDS = ("received", "resolved", "unresolved", "open", "overdue")


def counts(obj, path=""):
    """{path: number} of every number under a key naming one of the counts of
    docs/contract.md 8.2."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{path}.{k}"
            if isinstance(v, (int, float)) and not isinstance(v, bool) and \
                    any(w in k for w in COUNT_WORDS):
                out[p] = v
            else:
                out.update(counts(v, p))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(counts(v, f"{path}[{i}]"))
    return out


def xlsx_sheet(path, n):
    """(rows, {cell ref: value}) of sheet n, strings resolved through sharedStrings."""
    z = zipfile.ZipFile(path)
    ss = [re.sub(r"<[^>]+>", "", si) for si in
          re.findall(r"<si>(.*?)</si>", z.read("xl/sharedStrings.xml").decode(), re.S)]
    xml = z.read(f"xl/worksheets/sheet{n}.xml").decode()
    cells = {}
    for ref, attrs, v in re.findall(r'<c r="([A-Z]+\d+)"([^>]*)>(?:<f>[^<]*</f>)?<v>([^<]*)</v>',
                                    xml):
        cells[ref] = ss[int(v)] if 't="s"' in attrs else float(v)
    rows = re.findall(r'<row r="(\d+)"', xml)
    return rows, cells, xml


def test_monthly_report_figures_and_files():
    d = Daemon()
    c1, _ = submit(d, "rp-1", REPORT)
    c2, _ = submit(d, "rp-2", REPORT.replace("13800000001", "13800000002"))
    for who, text in (("m-wang", f"接单 {c1}"), ("m-wang", f"调结 {c1} 达成协议"),
                      ("m-wang", f"接单 {c2}"), ("m-wang", f"终止 {c2} 撤回 当事人撤回申请")):
        r = d.chat(who, text)
        check(r.status == 200, f"{text}: {r}")
    month = local_now().strftime("%Y-%m")
    r = d.admin("GET", f"/api/v1/reports/monthly?month={month}")
    check(r.status == 200, f"report: {r}")
    j = r.json
    # 2 received, 1 resolved, the withdrawn one in neither side of the success rate
    check(j["received"] == 2 and j["resolved"] == 1 and j["unresolved"] == 0
          and j["withdrawn"] == 1 and j["open"] == 0, f"report counts: {short(j)}")
    check(j["success_rate"] == 1.0, f"success rate {j['success_rate']}")
    cat = {x["key"]: x for x in j["by_category"]}
    check(cat["neighbour"]["received"] == 2, f"by category: {short(j['by_category'])}")
    org = {x["key"]: x for x in j["by_org"]}
    check(org["grid-fy-01"]["received"] == 2 and org["county-zj"]["received"] == 2
          and org["vil-lq"]["received"] == 0, f"by org with subtotals: {short(j['by_org'])}")
    check(j["by_channel"] and j["by_channel"][0]["key"] == "web", f"by channel {j['by_channel']}")
    check(j["time_to_accept"]["count"] == 2, f"time to accept {j['time_to_accept']}")

    c = d.cli("report", "monthly", "--month", month, "--format", "json")
    check(c.returncode == 0 and counts(json.loads(c.stdout)) == counts(j),
          f"CLI json differs from the API: {c.stderr}{c.stdout[:300]}")
    t = d.cli("report", "monthly", "--month", month)
    check(t.returncode == 0 and "受理" in t.stdout and "邻里纠纷" in t.stdout,
          f"text report: {t.stdout[:500]}{t.stderr}")
    out_csv = os.path.join(d.dir, "m.csv")
    c = d.cli("report", "monthly", "--month", month, "--format", "csv", "-o", out_csv)
    check(c.returncode == 0, f"csv: {c.stderr}")
    raw = open(out_csv, "rb").read()
    check(raw.startswith(b"\xef\xbb\xbf"), "CSV has no UTF-8 BOM")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    check(["受理", "2"] in rows and ["撤回", "1"] in rows, f"CSV rows: {rows[:12]}")

    xl = os.path.join(d.dir, "m.xlsx")
    c = d.cli("report", "monthly", "--month", month, "--format", "xlsx", "-o", xl)
    check(c.returncode == 0 and zipfile.is_zipfile(xl), f"xlsx: {c.stderr}")
    names = re.findall(r'<sheet name="([^"]+)"', zipfile.ZipFile(xl).read("xl/workbook.xml")
                       .decode())
    check(names == ["月度统计", "台账"], f"sheets: {names}")
    rows1, cells1, xml1 = xlsx_sheet(xl, 1)
    check("矛盾纠纷调解月报" in str(cells1.get("A1")) and month in str(cells1.get("A1")),
          f"stats title: {cells1.get('A1')}")
    check(cells1.get("A4") == "指标" and cells1.get("B4") == "数值", f"stats header: {cells1}")
    check(cells1.get("A5") == "受理" and cells1.get("B5") == 2.0, f"stats cells: {cells1}")
    rows2, cells2, xml2 = xlsx_sheet(xl, 2)
    check(len(rows2) == 5, f"ledger rows (title, period, header + 2): {rows2}")
    check(cells2.get("A3") == "案件编号" and cells2.get("E3") == "当事人"
          and cells2.get("N3") == "回访结果", f"ledger headers: {cells2}")
    check({cells2.get("A4"), cells2.get("A5")} == {c1, c2}, f"ledger case numbers: {cells2}")
    check(isinstance(cells2.get("B4"), float) and cells2["B4"] > 40000,
          f"received date is not an Excel date: {cells2.get('B4')}")
    check('state="frozen"' in xml2 and "<cols>" in xml2, "ledger: frozen header, widths")
    check("13800000001" not in json.dumps(cells2, ensure_ascii=False),
          "a phone number in the ledger is not masked")

    today = local_now().strftime("%Y-%m-%d")
    lx = os.path.join(d.dir, "l.xlsx")
    c = d.cli("report", "ledger", "--from", today, "--to", today, "--format", "xlsx", "-o", lx)
    check(c.returncode == 0, f"ledger xlsx: {c.stderr}")
    rows, cells, _ = xlsx_sheet(lx, 1)
    check(len(rows) == 5 and cells.get("A3") == "案件编号", f"ledger workbook: {rows} {cells}")
    c = d.cli("report", "ledger", "--from", today, "--to", today)
    lines = c.stdout.lstrip("\ufeff").strip().splitlines()
    check(c.returncode == 0 and len(lines) == 3, f"ledger csv: {c.stdout[:400]}{c.stderr}")
    c = d.cli("report", "ledger", "--from", "2020-01-01", "--to", "2020-01-31")
    check(c.returncode == 0 and len(c.stdout.strip().splitlines()) == 1,
          f"empty ledger: {c.stdout}")

    # usage errors
    for args in (["report", "monthly", "--month", month, "--format", "xlsx"],
                 ["report", "monthly", "--month", "2026-13"],
                 ["report", "monthly"],
                 ["report", "ledger", "--from", today],
                 ["report", "ledger", "--from", today, "--to", today, "--format", "json"],
                 ["report", "nonsense"]):
        c = d.cli(*args)
        check(c.returncode == 2 and c.stderr, f"{args}: exit {c.returncode} {c.stderr}")
    c = d.cli("report", "--help")
    check(c.returncode == 0 and "ledger" in c.stdout, "report --help")


def test_scheduled_monthly_report_is_retained():
    b = Broker()
    d = Daemon(b)
    submit(d, "rp-sched", REPORT)
    # the first-of-month timer, due now (as if the month had just turned)
    db = sqlite3.connect(d.db, timeout=10)
    n = db.execute("SELECT count(*) FROM timers WHERE kind = 'report_monthly' AND "
                   "fired_at IS NULL").fetchone()[0]
    check(n == 1, f"start-up should schedule one report_monthly timer, found {n}")
    db.execute("UPDATE timers SET due_at = CAST(strftime('%s','now') AS INTEGER) "
               "WHERE kind = 'report_monthly' AND fired_at IS NULL")
    db.commit()
    db.close()
    topic = f"{PREFIX}/reports/town-fq/monthly"
    got = []
    deadline = time.time() + 15
    while time.time() < deadline and not got:
        time.sleep(1)
        sub = Sub(b, topic)   # a new subscriber sees only what was retained
        got = sub.wait(topic, timeout=2)
        sub.stop()
    check(got, f"no retained report on {topic}")
    p = got[0].payload
    now = local_now()
    prev = f"{now.year - (now.month == 1):04d}-{(now.month - 2) % 12 + 1:02d}"
    check(p.get("month") == prev and p.get("org") == "town-fq" and "received" in p
          and p.get("event_id"), f"retained report: {short(p)}")
    # the next one is scheduled
    db = sqlite3.connect(d.db, timeout=10)
    n = db.execute("SELECT count(*) FROM timers WHERE kind = 'report_monthly' AND "
                   "fired_at IS NULL AND due_at > strftime('%s','now')").fetchone()[0]
    db.close()
    check(n == 1, "the next monthly report is not scheduled")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_types(path, n):
    """{cell ref: (t attribute or None, has a formula)} of sheet n."""
    xml = zipfile.ZipFile(path).read(f"xl/worksheets/sheet{n}.xml").decode()
    out = {}
    for ref, attrs, body in re.findall(r'<c r="([A-Z]+\d+)"([^>]*?)(?:/>|>(.*?)</c>)', xml, re.S):
        t = re.search(r'\bt="([^"]+)"', attrs)
        out[ref] = (t.group(1) if t else None, "<f" in (body or ""))
    return out


def test_exports_neutralise_formulas():
    """docs/contract.md 8.4: exported CSV cells never begin with =, +, -, @, tab or CR unless
    neutralised (OWASP: a single quote in front). Residents named like formulas, a description and a
    resolution note that start with =, an org node named like one: every such CSV cell, parsed
    with the csv module, begins with ', and the workbooks keep them as plain strings."""
    roster = base_roster()
    for o in roster["org"]:
        if o["id"] == "vil-lq":
            o["name"] = "@SUM(A1)"
    d = Daemon(roster=roster)
    names = ['=HYPERLINK("http://evil.example/","x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    cases = []
    for i, name in enumerate(names):
        c, _ = submit(d, f"fx-{i}", REPORT.replace("13800000001", f"1380000001{i}"), name=name)
        cases.append(c)
    cd, _ = submit(d, "fx-desc", "=1+2 " + REPORT.replace("13800000001", "13800000020"))
    for text in (f"接单 {cd}", f"调结 {cd} =HYPERLINK(\"http://evil.example/\") 达成协议"):
        r = d.chat("m-wang", text)
        check(r.status == 200, f"{text}: {r}")
    today = local_now().strftime("%Y-%m-%d")
    out = os.path.join(d.dir, "l.csv")
    c = d.cli("report", "ledger", "--from", today, "--to", today, "-o", out)
    check(c.returncode == 0, f"ledger csv: {c.stderr}")
    rows = list(csv.reader(io.StringIO(open(out, "rb").read().decode("utf-8-sig"), newline="")))
    bad = [(r[0], x) for r in rows for x in r if x.startswith(FORMULA_START)]
    check(not bad, f"CSV cells that begin a formula: {bad}")
    head = rows[0]
    check("纠纷简要情况" in head and "调解结果/协议" in head, f"ledger CSV header: {head}")
    by_case = {r[0]: dict(zip(head, r)) for r in rows[1:]}
    for c, name in zip(cases, names):
        got = by_case[c]["当事人"]
        check(got.startswith("'" + name[0]), f"parties of {name!r}: {got!r}")
    check(by_case[cd]["纠纷简要情况"].startswith("'=1+2"),
          f"description: {by_case[cd]['纠纷简要情况']!r}")
    check(by_case[cd]["调解结果/协议"].startswith("'=HYPERLINK"),
          f"agreement: {by_case[cd]['调解结果/协议']!r}")

    month = local_now().strftime("%Y-%m")
    c = d.cli("report", "monthly", "--month", month, "--format", "csv")
    check(c.returncode == 0, f"monthly csv: {c.stderr}")
    mrows = list(csv.reader(io.StringIO(c.stdout.lstrip("\ufeff"), newline="")))
    bad = [x for r in mrows for x in r if x.startswith(FORMULA_START)]
    check(not bad, f"monthly CSV cells that begin a formula: {bad}")
    check(any(r and r[0] == "'@SUM(A1)" for r in mrows), f"org label: {mrows}")

    # the workbooks: the same texts as string cells, no formula anywhere
    xl = os.path.join(d.dir, "m.xlsx")
    c = d.cli("report", "monthly", "--month", month, "--format", "xlsx", "-o", xl)
    check(c.returncode == 0, f"xlsx: {c.stderr}")
    z = zipfile.ZipFile(xl)
    for name in z.namelist():
        if name.startswith("xl/worksheets/"):
            check("<f>" not in z.read(name).decode(), f"a formula in {name}")
    _, cells, _ = xlsx_sheet(xl, 2)
    types = cell_types(xl, 2)
    hrow = next(int(k[1:]) for k, v in cells.items() if v == "当事人")
    col = {v: k[0] for k, v in cells.items() if int(k[1:]) == hrow}
    for ref, v in cells.items():
        if int(ref[1:]) > hrow and ref[0] in (col["当事人"], col["纠纷简要情况"],
                                              col["调解结果/协议"]):
            check(types[ref] == ("s", False), f"{ref} {v!r} is not a string cell: {types[ref]}")
    firsts = {str(v)[:1] for k, v in cells.items() if k[0] == col["当事人"] and int(k[1:]) > hrow}
    check({"=", "+", "-", "@", "\t"} <= firsts, f"the names as written, masked: {firsts}")
    _, cells1, _ = xlsx_sheet(xl, 1)
    types1 = cell_types(xl, 1)
    org = [k for k, v in cells1.items() if str(v).strip() == "@SUM(A1)"]
    check(org and all(types1[k] == ("s", False) for k in org), f"org label cell: {org}")


def test_workbooks_print_and_file_as_they_are():
    """The ledger workbook: title, period, then the header row; the case description and the
    resolution note columns; A4 landscape one page wide, the header repeated on every page,
    autofilter, frozen panes, page numbers. The monthly workbook: title and period on top, a
    chart per breakdown, each table on its own page. Files 0600 like the database; stdout
    unchanged."""
    d = Daemon()
    c1, _ = submit(d, "pr-1", REPORT)
    c2, _ = submit(d, "pr-2", REPORT.replace("13800000001", "13800000002"))
    for text in (f"接单 {c1}", f"调结 {c1} 双方达成协议，三日内清理楼道"):
        r = d.chat("m-wang", text)
        check(r.status == 200, f"{text}: {r}")
    today = local_now().strftime("%Y-%m-%d")
    lx = os.path.join(d.dir, "l.xlsx")
    open(lx, "w").close()
    os.chmod(lx, 0o644)   # an existing file is narrowed too
    c = d.cli("report", "ledger", "--from", today, "--to", today, "--format", "xlsx", "-o", lx)
    check(c.returncode == 0, f"ledger xlsx: {c.stderr}")
    check(os.stat(lx).st_mode & 0o777 == 0o600, f"ledger mode {os.stat(lx).st_mode & 0o777:o}")
    rows, cells, xml = xlsx_sheet(lx, 1)
    check(cells.get("A1") == "矛盾纠纷排查调处台账", f"ledger title: {cells.get('A1')}")
    check(str(cells.get("A2", "")).startswith("统计期间") and today in str(cells.get("A2")),
          f"ledger period: {cells.get('A2')}")
    check(cells.get("A3") == "案件编号" and cells.get("H3") == "纠纷简要情况"
          and cells.get("M3") == "调解结果/协议", f"ledger header row: {cells}")
    row = {cells.get(f"A{n}"): n for n in (4, 5)}
    check(set(row) == {c1, c2}, f"ledger rows: {cells}")
    check("楼道堆放杂物" in str(cells.get(f"H{row[c1]}")) and "13800000001" not in
          str(cells.get(f"H{row[c1]}")), f"description: {cells.get(f'H{row[c1]}')}")
    check(cells.get(f"M{row[c1]}") == "双方达成协议，三日内清理楼道" and
          f"M{row[c2]}" not in cells, f"agreement column: {cells}")
    ps = re.search(r"<pageSetup [^>]*/>", xml)
    ps = ps.group(0) if ps else ""
    # fitToWidth defaults to 1 in OOXML: written only when it differs
    check('orientation="landscape"' in ps and 'paperSize="9"' in ps and 'fitToHeight="0"' in ps
          and ('fitToWidth="1"' in ps or "fitToWidth" not in ps), f"page setup: {ps}")
    check('fitToPage="1"' in xml, "ledger: fit to page is off")
    wb = zipfile.ZipFile(lx).read("xl/workbook.xml").decode()
    pt = re.search(r'<definedName name="_xlnm.Print_Titles"[^>]*>([^<]*)<', wb)
    check(pt and pt.group(1).endswith("!$3:$3"), f"print titles: {pt and pt.group(1)}")
    check('<autoFilter ref="A3:N5"' in xml, "ledger autofilter")
    check(re.search(r'<pane [^>]*ySplit="3"[^>]*state="frozen"', xml), "ledger frozen panes")
    check(re.search(r"<oddFooter>[^<]*&amp;P", xml), "ledger page numbers")
    check("<cols>" in xml and 'wrapText="1"' in
          zipfile.ZipFile(lx).read("xl/styles.xml").decode(), "ledger widths, wrapped text")

    month = local_now().strftime("%Y-%m")
    xl = os.path.join(d.dir, "m.xlsx")
    c = d.cli("report", "monthly", "--month", month, "--format", "xlsx", "-o", xl)
    check(c.returncode == 0, f"monthly xlsx: {c.stderr}")
    check(os.stat(xl).st_mode & 0o777 == 0o600, f"monthly mode {os.stat(xl).st_mode & 0o777:o}")
    z = zipfile.ZipFile(xl)
    charts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
    check(len(charts) == 4, f"a chart per breakdown (category, severity, org, channel): {charts}")
    check(all("月度统计" in z.read(n).decode() for n in charts), "charts read the stats sheet")
    rows1, cells1, xml1 = xlsx_sheet(xl, 1)
    check("矛盾纠纷调解月报" in str(cells1.get("A1")) and str(cells1.get("A2", ""))
          .startswith("统计期间"), f"monthly title and period: {cells1.get('A1')} {cells1.get('A2')}")
    check(cells1.get("A4") == "指标", f"the figures under the title: {cells1.get('A4')}")
    breaks = re.findall(r'<brk id="(\d+)"', xml1)
    labels = {v: int(k[1:]) for k, v in cells1.items() if k[0] == "A"}
    want = [labels[t] - 1 for t in ("按类别", "按等级", "按辖区（含下级合计）", "按渠道")]
    check([int(b) for b in breaks] == want, f"page breaks {breaks}, want before the labels {want}")
    ps1 = re.search(r"<pageSetup [^>]*/>", xml1)
    check(ps1 and 'orientation="landscape"' in ps1.group(0), "monthly page setup")

    out = os.path.join(d.dir, "l.csv")
    c = d.cli("report", "ledger", "--from", today, "--to", today, "-o", out)
    check(c.returncode == 0 and os.stat(out).st_mode & 0o777 == 0o600,
          f"ledger csv mode {os.stat(out).st_mode & 0o777:o} {c.stderr}")
    s = d.cli("report", "ledger", "--from", today, "--to", today)
    check(s.returncode == 0 and s.stdout == open(out, encoding="utf-8").read(),
          "stdout and -o differ")

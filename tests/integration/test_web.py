"""The workbench over plain HTTP (docs/contract.md 12): accounts, sign-in, lockout, scope (属地),
CSRF and origin, headers, hostile input. The browser's side is test_web_browser.py."""
import os
import re
import sqlite3
import urllib.parse

import lib
from lib import Broker, Daemon, Sub, check

PASSWORD = "s3cret-pass"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def add_user(d, login, role, org, mediator=None, password=PASSWORD):
    pw = os.path.join(d.dir, f"pw-{login}")
    with open(pw, "w") as f:
        f.write(password + "\n")
    args = ["user", "add", login, "--role", role, "--org", org, "--password-file", pw]
    if mediator:
        args += ["--mediator", mediator]
    return d.cli(*args)


class Web:
    """A client with a session cookie, as a browser on this origin would send it."""

    def __init__(self, d):
        self.d = d
        self.cookie = None
        self.origin = f"http://127.0.0.1:{d.port}"

    def headers(self, extra=None):
        h = {"Host": f"127.0.0.1:{self.d.port}"}
        if self.cookie:
            h["Cookie"] = self.cookie
        h.update(extra or {})
        return h

    def get(self, path, extra=None):
        return lib.http_request(self.d.port, "GET", path, None, self.headers(extra))

    def post(self, path, fields, origin="self", extra=None):
        h = dict(FORM)
        if origin == "self":
            h["Origin"] = self.origin
        elif origin:
            h["Origin"] = origin
        h.update(extra or {})
        body = urllib.parse.urlencode(fields).encode() if isinstance(fields, dict) else fields
        return lib.http_request(self.d.port, "POST", path, body, self.headers(h))

    def login(self, login, password=PASSWORD):
        r = self.post("/app/login", {"login": login, "password": password})
        if r.status == 303:
            self.cookie = r.headers["set-cookie"].split(";")[0]
        return r

    def csrf(self, path="/app/"):
        r = self.get(path)
        m = re.search(r'name="csrf" value="([0-9a-f]{64})"', r.text)
        check(m, f"no csrf field on {path}: {r.status} {r.text[:300]}")
        return m.group(1)

    def request_id(self, case):
        r = self.get(f"/app/cases/{case}")
        m = re.search(r'name="request_id" value="([0-9a-f]{64})"', r.text)
        check(m, f"no request_id on the case page: {r.text[:300]}")
        return m.group(1)


def test_user_commands():
    d = Daemon(start=False)
    r = add_user(d, "zhang", "office", "town-fq")
    check(r.returncode == 0 and "zhang" in r.stdout, f"user add: {r.stdout}{r.stderr}")
    check(add_user(d, "zhang", "office", "town-fq").returncode == 1, "a login twice")
    check(add_user(d, "x1", "office", "nowhere").returncode == 1, "an org the roster lacks")
    check(add_user(d, "x2", "mediator", "grid-fy-01").returncode == 2, "a mediator without --mediator")
    check(add_user(d, "x3", "mediator", "grid-fy-01", "m-nobody").returncode == 1, "unknown mediator")
    check(add_user(d, "x4", "boss", "town-fq").returncode == 2, "an unknown role")
    check(add_user(d, "x5", "office", "town-fq", password="short").returncode == 1, "a short password")
    check(add_user(d, "bad login", "office", "town-fq").returncode == 2, "a login with a space")
    r = add_user(d, "wang", "mediator", "grid-fy-01", "m-wang")
    check(r.returncode == 0, f"{r.stderr}")
    r = d.cli("user", "list")
    lines = r.stdout.strip().splitlines()
    check(r.returncode == 0 and len(lines) == 2 and lines[0].startswith("wang")
          and "m-wang" in lines[0] and "zhang" in lines[1], f"user list: {r.stdout}")
    check(PASSWORD not in r.stdout and "argon2" not in r.stdout, "list shows no password or hash")
    db = sqlite3.connect(d.db)
    (h,) = db.execute("SELECT pw_hash FROM web_users WHERE login='wang'").fetchone()
    db.close()
    check(h.startswith("$argon2id$") and PASSWORD not in h, f"stored as Argon2id: {h[:20]}")
    check(d.cli("user", "disable", "nobody").returncode == 1, "disable an unknown login")
    r = d.cli("user", "disable", "zhang")
    check(r.returncode == 0 and "disabled" in d.cli("user", "list").stdout, f"{r.stdout}{r.stderr}")
    pw = os.path.join(d.dir, "pw2")
    with open(pw, "w") as f:
        f.write("another-pass")
    check(d.cli("user", "passwd", "wang", "--password-file", pw).returncode == 0, "passwd")
    check(d.cli("user", "passwd", "wang").returncode == 2, "passwd without a file")
    d.start()
    w = Web(d)
    check(w.login("wang", PASSWORD).status == 401, "the old password is gone")
    check(w.login("wang", "another-pass").status == 303, "the new one signs in")
    check(Web(d).login("zhang").status == 401, "a disabled account cannot sign in")
    log = open(d.log, encoding="utf-8").read()
    check(PASSWORD not in log and "another-pass" not in log, "no password in the log")


def test_sign_in_lockout_and_sessions():
    d = Daemon()
    add_user(d, "wang", "mediator", "grid-fy-01", "m-wang")
    add_user(d, "zhao", "mediator", "grid-lq-01", "m-zhao")
    w = Web(d)
    r = w.get("/app/")
    check(r.status == 303 and r.headers.get("location", "").startswith("/app/login"),
          f"the board without a session: {r.status} {r.headers}")
    r = w.get("/app/api/cases")
    lib.expect_error(r, 401, "unauthorized", "API without a session")
    r = w.get("/app/login")
    check(r.status == 200 and 'name="login"' in r.text and 'name="password"' in r.text
          and len(re.findall(r'type="submit"', r.text)) == 1, "the sign-in form")
    check(w.login("nobody").status == 401, "an unknown login")
    wrong = w.login("wang", "wrong-password")
    check(wrong.status == 401 and "set-cookie" not in wrong.headers, "a wrong password")
    check(w.post("/app/login", {"login": "wang", "password": PASSWORD},
                 origin="http://evil.example").status == 403, "sign-in from another site")
    for _ in range(4):
        w.login("wang", "wrong-password")
    r = w.login("wang", PASSWORD)
    check(r.status == 429 and "set-cookie" not in r.headers,
          f"five wrong passwords lock the login, even against the right one: {r.status}")
    r = Web(d).login("zhao")
    check(r.status == 303, f"another login is not locked: {r.status}")
    z = Web(d)
    z.login("zhao")
    c = z.headers()["Cookie"]
    check("HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
          and "Path=/app" in r.headers["set-cookie"] and "Secure" not in r.headers["set-cookie"],
          f"cookie flags: {r.headers['set-cookie']}")
    tls = Web(d).post("/app/login", {"login": "zhao", "password": PASSWORD},
                      extra={"X-Forwarded-Proto": "https"})
    check("Secure" in tls.headers.get("set-cookie", ""), "Secure behind TLS")
    check(z.get("/app/").status == 200, "signed in")
    # bad cookies are nobody
    for bad in ("fq_session=", "fq_session=zz", "fq_session=" + "a" * 64, "fq_session=" + "a" * 5000,
                c + "x", "fq_session=../../" + "0" * 60):
        r = lib.http_request(d.port, "GET", "/app/api/cases", None, {"Cookie": bad})
        check(r.status in (401, 431, 400, 413), f"cookie {bad[:40]!r}: {r.status}")
    # logout needs the token, then ends the session for good
    check(z.post("/app/logout", {}).status == 403, "logout without the CSRF token")
    r = z.post("/app/logout", {"csrf": z.csrf()})
    check(r.status == 303 and "Max-Age=0" in r.headers.get("set-cookie", ""), f"logout: {r.status}")
    lib.expect_error(z.get("/app/api/cases"), 401, "unauthorized", "after logout the old cookie")
    db = sqlite3.connect(d.db)
    acts = [a for (a,) in db.execute("SELECT action FROM web_audit WHERE login='zhao' ORDER BY id")]
    tokens = [t for (t,) in db.execute("SELECT token_hash FROM web_sessions")]
    db.close()
    check(acts[:1] == ["login"] and "logout" in acts, f"audit: {acts}")
    check(c.split("=", 1)[1] not in tokens, "the store holds no cookie value")


test_sign_in_lockout_and_sessions.timeout = 120


def test_scope_csrf_origin_and_the_command_path():
    broker = Broker()
    d = Daemon(broker)
    sub = Sub(broker)
    add_user(d, "wang", "mediator", "grid-fy-01", "m-wang")      # 枫源村第一网格
    add_user(d, "sun", "mediator", "vil-lq", "m-sun")             # 栎桥村: another village
    add_user(d, "town", "office", "town-fq")                      # 枫桥镇: both
    case, _ = lib.submit(d, "res-scope", "邻居家的狗天天半夜叫，<script>alert(1)</script>")
    wang, sun, town = Web(d), Web(d), Web(d)
    for w, n in ((wang, "wang"), (sun, "sun"), (town, "town")):
        check(w.login(n).status == 303, f"sign-in {n}")
    # scope: the other village sees nothing, exactly as for a case that does not exist
    for path in (f"/app/cases/{case}", f"/app/api/cases/{case}"):
        r = sun.get(path)
        check(r.status == 404, f"{path} for another village: {r.status}")
        n = sun.get(path.replace(case, "FQ20990101-9999"))
        check(n.status == 404 and n.headers.get("content-type") == r.headers.get("content-type"),
              "a case outside the scope answers like an unknown one")
    check(case not in sun.get("/app/").text, "not on the other village's board")
    check(all(c["case_no"] != case for c in sun.get("/app/api/cases").json["cases"]), "nor its API")
    ev = sun.get("/app/api/events?after=0").text
    check(case not in ev, f"nor its event stream: {ev[:200]}")
    check(case in town.get("/app/").text and case in town.get("/app/api/events?after=0").text,
          "the town sees it")
    check(town.get("/app/?org=vil-lq").status == 200 and case not in town.get("/app/?org=vil-lq").text,
          "the org filter")
    check(sun.get("/app/?org=town-fq").status == 400, "an org filter above one's node")
    page = wang.get(f"/app/cases/{case}").text
    check("<script>alert(1)</script>" not in page and "&lt;script&gt;" in page, "escaped")
    # the command: foreign origin, no token, wrong token are refused and change nothing
    rid = wang.request_id(case)
    tok = wang.csrf(f"/app/cases/{case}")
    cmd = {"command": "accept", "note": "马上去", "request_id": rid}
    check(wang.post(f"/app/cases/{case}", dict(cmd)).status == 403, "no CSRF token")
    check(wang.post(f"/app/cases/{case}", dict(cmd, csrf="0" * 64)).status == 403, "a wrong token")
    check(wang.post(f"/app/cases/{case}", dict(cmd, csrf=tok), origin="http://evil.example").status
          == 403, "a foreign origin with the right token")
    check(wang.post(f"/app/cases/{case}", dict(cmd, csrf=tok),
                    extra={"Origin": "null"}).status == 403, "an opaque origin")
    check(sun.post(f"/app/cases/{case}", dict(cmd, csrf=sun.csrf())).status == 404,
          "another village's POST")
    check(wang.get(f"/app/api/cases/{case}").json["status"] == "assigned", "nothing changed")
    # the right one goes through the core, like a command over MQTT
    r = wang.post(f"/app/cases/{case}", dict(cmd, csrf=tok))
    check(r.status == 200 and "马上去" in r.text, f"accept: {r.status} {r.text[:300]}")
    j = wang.get(f"/app/api/cases/{case}").json
    check(j["status"] == "accepted" and "accept" not in [c["command"] for c in j["commands"]],
          f"accepted: {j}")
    evs = sub.wait(lib.event_topic(case), lambda m: m.payload.get("type") == "accepted")
    check(evs, "accepted on MQTT")
    # the same request again is the same command: deduplicated by request_id
    wang.post(f"/app/cases/{case}", dict(cmd, csrf=tok))
    full = d.case(case)
    check([e["type"] for e in full["events"]].count("accepted") == 1, f"once: {full['events']}")
    # the town office may see but acts as no mediator
    check("name=\"command\"" not in town.get(f"/app/cases/{case}").text, "office: no buttons")
    # revealing the phone is logged
    r = town.post(f"/app/cases/{case}", {"do": "reveal", "csrf": town.csrf()})
    check(r.status == 200, f"reveal: {r.status}")
    db = sqlite3.connect(d.db)
    rows = db.execute("SELECT login, case_no, at FROM web_audit WHERE action='reveal_contact'").fetchall()
    db.close()
    check(rows and rows[0][0] == "town" and rows[0][1] == case and rows[0][2] > 0, f"audit: {rows}")
    # the admin API's bearer token keeps working
    check(d.admin("GET", "/api/v1/cases").status == 200, "admin API")


test_scope_csrf_origin_and_the_command_path.timeout = 120


def test_headers_assets_and_hostile_input():
    d = Daemon(extra={"server.max_body": "4096"})
    add_user(d, "wang", "mediator", "grid-fy-01", "m-wang")
    w = Web(d)
    w.login("wang")
    for path in ("/app/login", "/app/", "/app/nowhere", "/app/static/app.css", "/app/api/cases"):
        r = w.get(path)
        csp = r.headers.get("content-security-policy", "")
        check("default-src 'self'" in csp and "script-src 'self'" in csp
              and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp,
              f"CSP of {path}: {csp!r}")
        check(r.headers.get("x-frame-options") == "DENY"
              and r.headers.get("x-content-type-options") == "nosniff", f"headers of {path}")
    page = w.get("/app/").text
    check("<script>" not in page and "<script " not in page.replace('<script defer src="', ""),
          "no inline script")
    check(re.search(r"<script defer src=\"/app/static/app\.js\?v=[0-9a-f]{12}\"></script>", page),
          "the one script is a file")
    r = w.get("/app/static/app.css")
    check(r.status == 200 and r.headers["content-type"].startswith("text/css") and r.headers.get("etag"),
          f"asset: {r.status} {r.headers}")
    check(w.get("/app/static/app.css", {"If-None-Match": r.headers["etag"]}).status == 304, "304")
    v = re.search(r"app\.css\?v=([0-9a-f]{12})", page).group(1)
    r2 = w.get(f"/app/static/app.css?v={v}")
    check("immutable" in r2.headers.get("cache-control", ""), "versioned link cached for good")
    check(w.get("/app/static/app.js").headers["content-type"].startswith("text/javascript"), "js type")
    for p in ("/app/static/../web.c", "/app/static/", "/app/static/nope.js", "/app/cases/",
              "/app/cases/a/b", "/app/api/cases/x/y"):
        r = w.get(p)
        check(r.status == 404, f"{p}: {r.status}")
    check(w.get("/app/cases/" + "X" * 300).status == 404, "a long case number")
    # bodies
    big = "note=" + "x" * 5000
    r = w.post("/app/login", big)
    check(r.status == 413, f"a body over server.max_body: {r.status}")
    r = lib.http_request(d.port, "POST", "/app/login", b"{}", w.headers({"Content-Type": "application/json"}))
    check(r.status == 415, f"JSON instead of a form: {r.status}")
    many = "&".join(f"f{i}=1" for i in range(70))
    check(w.post("/app/login", many).status == 400, "too many fields")
    check(w.post("/app/login", "login=%zz&password=x").status == 400, "a bad escape")
    check(w.post("/app/login", "login=%ff%fe&password=12345678").status == 400, "not UTF-8")
    r = lib.http_request(d.port, "DELETE", "/app/", None, w.headers())
    check(r.status == 405 and "GET" in r.headers.get("allow", ""), f"DELETE: {r.status}")
    check(d.alive() and d.get("/healthz").status == 200, "the daemon lives on")


test_headers_assets_and_hostile_input.timeout = 90

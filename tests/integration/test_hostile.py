"""Hostile input (docs/contract.md 3): malformed requests on every endpoint get their 4xx,
change nothing (the admin case list, `cases list`, and two residents' conversations stay as they
were), and the daemon keeps serving; partial (slowloris) connections do not block other clients;
junk on the MQTT inbound and command topics is dropped. Secrets given as *_file work and never
reach the log; phone numbers and names are masked in the log; every file the daemon writes is
0600.

The table is (what, request, accepted statuses, error code or None). Statuses outside the
contract's list come from libmicrohttpd itself (431 for oversized headers, 400 for broken
chunked encoding, 505 for an unknown HTTP version): those answers are HTML, not JSON, and are
accepted here as long as they are 4xx/5xx and nothing changes.

POST /wecom/callback gets its own table (test_wecom_xml_bombs_and_entities): billion laughs,
external and parameter entities, in the outer envelope and inside a correctly signed and
encrypted message (AES through the openssl tool), each refused with 400/401 within 1 s."""
import json
import os
import random
import socket
import stat
import time

import lib
from lib import Broker, Daemon, check, new_mid, sign

ONE_MESSAGE = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001"


def raw(port, data, timeout=3.0, half_close=False):
    """Sends raw bytes on a new connection; returns (status or None, raw answer bytes)."""
    s = socket.create_connection(("127.0.0.1", port), 3)
    s.settimeout(timeout)
    out = b""
    try:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, OSError):
        pass
    finally:
        s.close()
    status = None
    if out.startswith(b"HTTP/1."):
        try:
            status = int(out.split(b" ", 2)[1])
        except (IndexError, ValueError):
            pass
    return status, out


def signed_headers(body, ts=None, ctype="application/json"):
    ts = str(int(time.time()) if ts is None else ts)
    h = {"X-FQ-Timestamp": ts, "X-FQ-Signature": sign(lib.SECRET, ts, body)}
    if ctype:
        h["Content-Type"] = ctype
    return h


def chat_req(body_bytes, ctype="application/json", extra=None):
    h = signed_headers(body_bytes, ctype=ctype)
    h.update(extra or {})
    return ("POST", "/chat/v1/messages", body_bytes, h)


def msg(user="u-probe", **kw):
    b = {"channel": "web", "user": user, "message_id": new_mid(), "type": "text", "text": "取消"}
    b.update(kw)
    return b


def jb(obj):
    return json.dumps(obj, ensure_ascii=False).encode()


def bearer():
    return {"Authorization": "Bearer " + lib.ADMIN}


def raw_http(method, path, headers, body=b""):
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    for k, v in headers.items():
        lines.append(k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()))
    if body:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def table():
    """(what, request, statuses, code). request: (method, path, body, headers) through http.client,
    or ("RAW", bytes, half_close) on a raw socket."""
    t = []
    probe = jb(msg())
    # -- chat webhook: bodies that reach the parser (correctly signed) ---------------------
    for what, body in [
        ("truncated JSON", probe[: len(probe) // 2]),
        ("NUL byte inside a string", probe.replace("取消".encode(), b"a\x00b")),
        ("escaped NUL in text", jb(msg(text="a\u0000b"))),
        ("escaped NUL in user", jb(msg(user="u-pro\u0000be", text="1"))),
        ("lone surrogate escape", b'{"channel":"web","user":"u-probe","message_id":"x","type":'
                                  b'"text","text":"\\ud800"}'),
        ("overlong UTF-8", probe.replace("取消".encode(), b"\xc0\xaf")),
        ("UTF-8 surrogate", probe.replace("取消".encode(), b"\xed\xa0\x80")),
        ("Latin-1 body", probe.replace("取消".encode(), "é".encode("latin-1"))),
        ("UTF-16 body", json.dumps(msg()).encode("utf-16")),
        ("BOM then JSON", b"\xef\xbb\xbf" + probe),
        ("deep JSON, 30000 nested arrays", b"[" * 30000 + b"]" * 30000),
        ("deep JSON, 100000 nested arrays", b"[" * 100000 + b"]" * 100000),
        ("deep JSON in a field", probe[:-1] + b',"x":' + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("duplicate keys", probe[:-1] + b',"text":"1"}'),
        ("JSON string", b'"hello"'),
        ("JSON null", b"null"),
        ("number overflow", probe[:-1] + b',"latitude":1e99999}'),
        ("user with a slash", jb(msg(user="u/probe", text="1"))),
        ("user with MQTT wildcard", jb(msg(user="u-probe/#", text="1"))),
        ("type location at 1e308", jb(msg(type="location", latitude=1e308, longitude=0))),
        ("oversized message_id", jb(msg(message_id="m" * 5000))),
        ("text over server.max_body", jb(msg(text="x" * 400001))),
    ]:
        t.append((what, chat_req(body), {400, 413}, None))
    t.append(("wrong content type: text/plain", chat_req(probe, "text/plain"), {415},
              "unsupported_media_type"))
    t.append(("wrong content type: form", chat_req(probe, "application/x-www-form-urlencoded"),
              {415}, "unsupported_media_type"))
    t.append(("wrong content type: multipart", chat_req(probe, "multipart/form-data; boundary=x"),
              {415}, "unsupported_media_type"))
    t.append(("content type application/jsonx", chat_req(probe, "application/jsonx"), {415},
              "unsupported_media_type"))
    t.append(("signature over another body", ("POST", "/chat/v1/messages", jb(msg(text="1")),
                                              signed_headers(probe)), {401}, "bad_signature"))
    t.append(("signature with NUL", chat_req(probe, extra={"X-FQ-Signature": "sha256=\x00"}),
              {400, 401}, None))
    t.append(("huge timestamp", ("POST", "/chat/v1/messages", probe,
                                 signed_headers(probe, ts="9" * 19)), {401}, "stale_timestamp"))
    t.append(("negative timestamp", ("POST", "/chat/v1/messages", probe,
                                     signed_headers(probe, ts="-1")), {401}, "stale_timestamp"))
    # -- wrong methods on every endpoint ----------------------------------------------------
    for method, path in [("GET", "/chat/v1/messages"), ("PUT", "/chat/v1/messages"),
                         ("DELETE", "/chat/v1/messages"), ("POST", "/healthz"),
                         ("PUT", "/readyz"), ("POST", "/metrics"), ("DELETE", "/api/v1/cases"),
                         ("POST", "/api/v1/cases"), ("PATCH", "/api/v1/cases/FQ20260101-0001"),
                         ("POST", "/api/v1/reports/monthly"), ("GET", "/api/v1/roster"),
                         ("DELETE", "/api/v1/roster"), ("PUT", "/wecom/callback"),
                         ("FOO", "/healthz"), ("TRACE", "/chat/v1/messages")]:
        t.append((f"{method} {path}", (method, path, b"{}", dict(bearer(), **{
            "Content-Type": "application/json"})), {405}, "method_not_allowed"))
    # -- admin API ---------------------------------------------------------------------------
    for what, path in [("limit=abc", "/api/v1/cases?limit=abc"), ("limit=-1", "/api/v1/cases?limit=-1"),
                       ("limit huge", "/api/v1/cases?limit=99999999999999999999999"),
                       ("since garbage", "/api/v1/cases?since=zzz")]:
        t.append((f"admin {what}", ("GET", path, None, bearer()), {400}, None))
    # contract-silent: an unknown status filter may match nothing or be refused
    t.append(("admin status garbage", ("GET", "/api/v1/cases?status=%00%ff", None, bearer()),
              {200, 400}, None))
    for what, path in [("case path traversal", "/api/v1/cases/..%2f..%2fetc%2fpasswd"),
                       ("case NUL", "/api/v1/cases/%00"),
                       ("case 4 KB", "/api/v1/cases/" + "F" * 4000),
                       ("case SQL", "/api/v1/cases/x'%20OR%20'1'='1")]:
        t.append((f"admin {what}", ("GET", path, None, bearer()), {400, 404}, None))
    t.append(("admin month 2026-13", ("GET", "/api/v1/reports/monthly?month=2026-13", None,
                                      bearer()), {400, 404}, None))
    for what, tok in [("no token", None), ("wrong token", "nope"), ("token prefix", lib.ADMIN[:-1]),
                      ("token + suffix", lib.ADMIN + "x"), ("empty bearer", ""),
                      ("10 KB token", "x" * 10000)]:
        h = {} if tok is None else {"Authorization": "Bearer " + tok}
        t.append((f"admin {what}", ("GET", "/api/v1/cases", None, h), {401}, "unauthorized"))
        t.append((f"roster {what}", ("POST", "/api/v1/roster", jb(lib.base_roster()),
                                     dict(h, **{"Content-Type": "application/json"})),
                  {401}, "unauthorized"))
    for what, body in [("roster not JSON", b"{"), ("roster deep JSON", b"[" * 30000 + b"]" * 30000),
                       ("roster invalid UTF-8", b'{"org":[{"id":"\xff"}]}'),
                       ("roster empty", b""),
                       ("roster route to unknown mediator",
                        jb(dict(lib.base_roster(), routes=[{"category": "wage", "org": "town-fq",
                                                            "mediators": ["m-ghost"]}]))),
                       ("roster with a cycle",
                        jb(dict(lib.base_roster(), org=[dict(o, parent="grid-fy-01")
                                                        if o["id"] == "county-zj" else o
                                                        for o in lib.base_roster()["org"]]))),
                       ("roster unknown parent", jb({"org": [{"id": "a", "name": "A", "level":
                                                              "town", "parent": "zz"}],
                                                     "mediators": [], "routes": []}))]:
        t.append((what, ("POST", "/api/v1/roster", body,
                         dict(bearer(), **{"Content-Type": "application/json"})), {400}, None))
    # -- raw sockets: headers and framing ---------------------------------------------------
    t.append(("100 KB header", ("RAW", raw_http("GET", "/healthz", {"X-Big": "a" * 100000}), False),
              {413, 431}, None))
    t.append(("3000 headers", ("RAW", raw_http("GET", "/healthz", {f"X-{i}": "v" for i in range(3000)}),
                               False), {413, 431}, None))
    t.append(("20 KB URL", ("RAW", raw_http("GET", "/" + "a" * 20000, {}), False), {404, 414, 431},
              None))
    t.append(("bad chunked encoding", ("RAW", b"POST /chat/v1/messages HTTP/1.1\r\nHost: x\r\n"
                                       b"Content-Type: application/json\r\nTransfer-Encoding: "
                                       b"chunked\r\nConnection: close\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n",
                                       False), {400}, None))
    t.append(("HTTP/9.9", ("RAW", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", False), {400, 505},
              None))
    # a body shorter than its Content-Length, then the client closes its side
    body = jb(msg("u-conf", text="1"))
    req = raw_http("POST", "/chat/v1/messages", signed_headers(body), body)
    t.append(("truncated body then EOF", ("RAW", req[:-10], True), {None, 400}, None))
    t.append(("TLS hello on plain HTTP", ("RAW", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
                                          + os.urandom(64), True), {None, 400}, None))
    t.append(("binary garbage", ("RAW", bytes(random.getrandbits(8) for _ in range(2048)), True),
              {None, 400}, None))
    return t


def snapshot(d):
    return lib.case_nos(d.cases()), d.cli("cases", "list", "--format", "json").stdout


def test_malformed_requests_table():
    b = Broker()
    d = Daemon(b, extra={"server.max_body": "400000"})
    # u-probe at ask_category, u-conf at confirm: the table's bodies say 取消 (would cancel)
    # and 1 (would submit), so any request that slipped through shows in their state.
    check(d.chat("u-probe", "你好").get("state") == "ask_category", "setup u-probe")
    check(d.chat("u-conf", ONE_MESSAGE).get("state") == "confirm", "setup u-conf")
    before = snapshot(d)

    # slowloris: partial requests held open for the whole table (the server's connection
    # timeout is 30 s; they must not stop anybody else from being served meanwhile)
    held = []
    for i in range(100):
        s = socket.create_connection(("127.0.0.1", d.port), 3)
        if i % 2:
            s.sendall(b"POST /chat/v1/messages HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:
            body = jb(msg("u-conf", text="1"))
            s.sendall(raw_http("POST", "/chat/v1/messages", signed_headers(body), body)[:-20])
        held.append(s)

    failures = []
    for what, req, statuses, code in table():
        t0 = time.time()
        try:
            if req[0] == "RAW":
                status, out = raw(d.port, req[1], half_close=req[2])
                j = None
            else:
                r = d.request(req[0], req[1], req[2], req[3], timeout=10)
                status, j = r.status, r.json
        except OSError as e:
            status, j = f"connection error {e}", None
        ok = status in statuses
        if ok and code is not None:
            ok = isinstance(j, dict) and j.get("error") == code and isinstance(j.get("message"), str)
        if ok and status is not None and req[0] != "RAW" and status >= 400:
            # the contract's own errors are JSON {"error", "message"}
            ok = isinstance(j, dict) and "error" in j
        if not ok:
            failures.append(f"{what}: got {status} {j}, expected {sorted(statuses, key=str)} {code}")
        if time.time() - t0 > 5:
            failures.append(f"{what}: took {time.time() - t0:.1f}s")
        check(d.alive(), f"the daemon died on: {what}")
    check(not failures, "malformed requests:\n  " + "\n  ".join(failures))

    # other clients are served while the partial connections are held
    t0 = time.time()
    for _ in range(10):
        check(d.get("/healthz").status == 200, "healthz while slow connections are held")
    r = d.chat("u-other", "你好")
    check(r.status == 200, f"a normal request while slow connections are held: {r}")
    check(time.time() - t0 < 3, f"normal requests took {time.time() - t0:.1f}s beside slowloris")
    for s in held:
        s.close()

    # junk on the MQTT inputs is dropped, not stored, and does not stop the daemon
    for payload in ["not json", "[" * 5000, json.dumps(msg("u-conf", text="1", channel="other")),
                    "\xff\xfe", json.dumps({"command": "accept", "case": "x" * 10000}),
                    json.dumps(msg("u-conf/x", text="1"))]:
        b.pub(f"{lib.PREFIX}/inbound/web", payload)
        b.pub(f"{lib.PREFIX}/mediators/m-wang/commands", payload)
    time.sleep(0.5)
    check(d.alive(), "the daemon died on junk MQTT input")

    after = snapshot(d)
    check(after[0] == before[0], f"the admin case list changed: {before[0]} -> {after[0]}")
    check(after[1] == before[1], "`cases list` changed after rejected requests")
    r = d.chat("u-probe", "1")
    check(r.status == 200 and r.get("state") == "ask_location",
          f"u-probe's conversation moved (a rejected 取消 was applied?): {r}")
    r = d.chat("u-conf", "1")
    check(r.status == 200 and r.get("state") == "submitted",
          f"u-conf's conversation moved (a rejected 1 was applied?): {r}")
    # the roster was not replaced by a rejected import: the blue case still went to m-wang
    c = d.case(r.get("case"))
    check(c and c.get("mediator") == "m-wang", f"routing changed after rejected rosters: {c}")


test_malformed_requests_table.timeout = 60


def test_secret_files_logs_and_modes():
    """chat.secret and admin.token from *_file; after a run with reports and failed auth
    attempts, neither secret, the resident's phone number nor their name is in the log; the
    database, -wal and -shm are 0600 (even with umask 0), in a 0700 directory the daemon made."""
    chat_secret = f"chat-file-secret-{random.getrandbits(64):016x}"
    admin_token = f"admin-file-token-{random.getrandbits(64):016x}"
    tmp = lib.TempDir("fqit-secrets-").path
    with open(os.path.join(tmp, "chat.secret"), "w") as f:
        f.write(chat_secret + "\n")
    with open(os.path.join(tmp, "admin.token"), "w") as f:
        f.write(admin_token)
    old = os.umask(0)
    try:
        d = Daemon(extra={"chat.secret": None, "admin.token": None,
                          "chat.secret_file": os.path.join(tmp, "chat.secret"),
                          "admin.token_file": os.path.join(tmp, "admin.token"),
                          "store.path": os.path.join(tmp, "data", "fq.db")})
    finally:
        os.umask(old)
    d.secret, d.token = chat_secret, admin_token
    phone, name = "13912345678", "欧阳娜娜"

    # the file secrets are the ones in force
    lib.expect_error(d.chat("u-s", "你好", secret=lib.SECRET), 401, "bad_signature",
                     "signed with the default secret instead of the file's")
    lib.expect_error(d.admin("GET", "/api/v1/cases", token=lib.ADMIN), 401, "unauthorized",
                     "the default token instead of the file's")
    r = d.chat("u-s", f"枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话{phone}", name=name)
    check(r.status == 200 and r.get("state") == "confirm", f"report with the file secret: {r}")
    r = d.chat("u-s", "1", name=name)
    check(r.status == 200 and r.get("case"), f"submit: {r}")
    case = r.get("case")
    c = d.case(case)
    check(c is not None, "admin API with the token from the file")
    # failed attempts with near-miss secrets, a reload, a restart
    d.chat("u-s", "进度", secret=chat_secret[:-1])
    d.admin("GET", "/api/v1/cases", token=admin_token[:-1])
    d.admin("GET", "/api/v1/cases", token=admin_token + " ")
    d.request("GET", "/api/v1/cases", headers={"Authorization": "Basic " + admin_token})
    d.proc.send_signal(1)   # SIGHUP: re-reads the config (and the secret files)
    time.sleep(0.3)
    check(d.chat("u-s", "进度").status == 200, "chat after SIGHUP")

    # modes while running (the WAL and shm exist now)
    data = os.path.join(tmp, "data")
    check(stat.S_IMODE(os.stat(data).st_mode) & 0o077 == 0,
          f"database directory mode {oct(os.stat(data).st_mode)}")
    files = sorted(os.listdir(data))
    check({"fq.db", "fq.db-wal", "fq.db-shm"} <= set(files), f"db files: {files}")
    for fn in files:
        mode = stat.S_IMODE(os.stat(os.path.join(data, fn)).st_mode)
        check(mode == 0o600, f"{fn} has mode {oct(mode)}, expected 0600 (umask was 0)")
    check(d.stop() == 0, "exit after SIGTERM")
    with open(d.log, encoding="utf-8", errors="replace") as f:
        log = f.read()
    check(log.strip(), "the daemon wrote no log at all")
    for what, s in [("chat.secret", chat_secret), ("admin.token", admin_token),
                    ("phone number", phone), ("phone tail", phone[3:]), ("name", name),
                    ("report text", "楼道堆放杂物")]:
        check(s not in log, f"the {what} appears in the daemon log")
    for fn in os.listdir(data):
        mode = stat.S_IMODE(os.stat(os.path.join(data, fn)).st_mode)
        check(mode == 0o600, f"after exit {fn} has mode {oct(mode)}")


# ---- WeCom callback: XML bombs and external entities (docs/contract.md 3.2) --------------------
WC_TOKEN = "tok-hostile"
WC_AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"   # 43 chars: 32-byte key
WC_CORP = "wwhostile0001"

BOMB = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">' for i in range(9))
        + ']><xml><ToUserName>&j;</ToUserName><Encrypt>&j;</Encrypt></xml>')
XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       '<xml><ToUserName>x</ToUserName><Encrypt>&x;</Encrypt></xml>')
PARAM_XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x">'
             '%p;]><xml><Encrypt>x</Encrypt></xml>')


def wc_encrypt(plain):
    """The WeCom envelope (docs/wecom.md 3): AES-256-CBC, key = base64(EncodingAESKey + "="),
    IV = its first 16 bytes, plaintext = 16 random bytes, 4-byte big-endian length, message,
    corp id, PKCS#7 to 32 bytes. AES by the openssl command-line tool (stdlib has none)."""
    import base64
    import struct
    import subprocess
    key = base64.b64decode(WC_AES + "=")
    data = os.urandom(16) + struct.pack(">I", len(plain)) + plain + WC_CORP.encode()
    pad = 32 - len(data) % 32
    data += bytes([pad]) * pad
    out = subprocess.run(["openssl", "enc", "-aes-256-cbc", "-nopad", "-K", key.hex(), "-iv",
                          key[:16].hex()], input=data, capture_output=True, check=True).stdout
    return base64.b64encode(out).decode()


def wc_post(d, enc=None, body=None):
    """POSTs an envelope holding enc (signed), or a raw body with a made-up signature."""
    import hashlib
    import urllib.parse
    ts, nonce = str(int(time.time())), f"n{random.getrandbits(32)}"
    if enc is not None:
        sig = hashlib.sha1("".join(sorted([WC_TOKEN, ts, nonce, enc])).encode()).hexdigest()
        body = (f"<xml><ToUserName><![CDATA[{WC_CORP}]]></ToUserName><Encrypt><![CDATA[{enc}]]>"
                f"</Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>")
    else:
        sig = "0" * 40
    q = urllib.parse.urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce})
    t0 = time.time()
    r = d.request("POST", "/wecom/callback?" + q, body.encode() if isinstance(body, str) else body,
                  {"Content-Type": "text/xml"})
    return r, time.time() - t0


def wc_text(user, text, msg_id):
    return (f"<xml><ToUserName><![CDATA[{WC_CORP}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]>"
            f"</MsgType><Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId>"
            f"<AgentID>1000002</AgentID></xml>")


def test_wecom_xml_bombs_and_entities():
    d = Daemon(extra={"wecom.enabled": "true", "wecom.corp_id": WC_CORP, "wecom.agent_id": "1000002",
                      "wecom.secret": "s", "wecom.token": WC_TOKEN, "wecom.encoding_aes_key": WC_AES,
                      "wecom.api_base": f"http://127.0.0.1:{lib.free_port()}"})
    check(d.chat("u-conf", ONE_MESSAGE).get("state") == "confirm", "setup u-conf")
    before = snapshot(d)
    # the harness is right: a well-formed message is taken (200, empty body)
    r, _ = wc_post(d, wc_encrypt(wc_text("Resident01", "你好", 70001).encode()))
    check(r.status == 200, f"a valid WeCom message was refused: {r} (test crypto wrong?)")
    cases = [
        ("billion laughs in the envelope", None, BOMB),
        ("external entity in the envelope", None, XXE),
        ("parameter entity in the envelope", None, PARAM_XXE),
        ("billion laughs inside the encrypted message",
         wc_encrypt(BOMB.replace("<Encrypt>&j;</Encrypt>", "<Content>&j;</Content>").encode()), None),
        ("external entity inside the encrypted message",
         wc_encrypt(XXE.replace("<Encrypt>&x;</Encrypt>", "<FromUserName>u</FromUserName>"
                                "<MsgType>text</MsgType><Content>&x;</Content><MsgId>7</MsgId>")
                    .encode()), None),
        ("envelope not XML", None, "{\"Encrypt\": 1}"),
        ("envelope truncated", None, "<xml><Encrypt><![CDATA[abc"),
        ("envelope with NUL", None, "<xml><Encrypt>a\x00b</Encrypt></xml>"),
        ("encrypted not XML", wc_encrypt(b"\xff\xfe not xml"), None),
        ("encrypted deep XML", wc_encrypt(b"<a>" * 20000 + b"</a>" * 20000), None),
    ]
    failures = []
    for what, enc, body in cases:
        try:
            r, secs = wc_post(d, enc, body)
        except OSError as e:
            failures.append(f"{what}: connection error {e}")
            continue
        if r.status not in (400, 401) or secs > 1.0:
            failures.append(f"{what}: {r.status} in {secs:.2f}s (expected 400/401 within 1 s)")
        if b"root:" in r.body:
            failures.append(f"{what}: the answer holds /etc/passwd")
        check(d.alive(), f"the daemon died on: {what}")
    check(not failures, "WeCom callback:\n  " + "\n  ".join(failures))
    after = snapshot(d)
    check(after == before, f"a rejected WeCom callback changed the cases: {before[0]} -> {after[0]}")
    r = d.chat("u-conf", "1")
    check(r.status == 200 and r.get("state") == "submitted", f"u-conf after the bombs: {r}")

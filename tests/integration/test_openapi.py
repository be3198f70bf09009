"""docs/openapi.yaml against the running daemon.

The description and the daemon's one table of routes (the ROUTE lines of bot/net/http.c) name the
same paths and methods; a path not in it gets 404 and a method not in it 405 with an Allow header
listing exactly the documented methods. Then every documented operation is called, on daemons
with and without WeCom and with nothing configured, with good and bad requests (valid and wrong
tokens, signatures and parameters, oversized and badly framed bodies); every answer's status
must be documented for that operation, its Content-Type must be one documented for that status
(empty when none is), and each operation's 2xx answer must have been seen."""
import json
import os
import re
import socket
import sys
import time
import urllib.parse

import yaml

import lib
from lib import Daemon, check

sys.path.insert(0, os.path.join(lib.ROOT, "tests"))
import wecom_stub  # noqa: E402

SPEC_PATH = os.path.join(lib.ROOT, "docs", "openapi.yaml")
METHODS = ("get", "head", "post", "put", "delete", "patch", "options", "trace")


def load_spec():
    with open(SPEC_PATH, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    check(str(spec.get("openapi", "")).startswith("3."), "docs/openapi.yaml is not OpenAPI 3")
    return spec


def resolve(spec, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        ref = obj["$ref"]
        check(ref.startswith("#/"), f"non-local $ref {ref}")
        node = spec
        for part in ref[2:].split("/"):
            node = node[part]
        obj = node
    return obj


def operations(spec):
    """{(path template, METHOD): operation}"""
    out = {}
    for path, item in spec["paths"].items():
        for m in METHODS:
            if m in item:
                out[(path, m.upper())] = item[m]
    return out


def routes_in_code():
    """{(path template, METHOD)} from the ROUTE lines of bot/net/http.c."""
    with open(os.path.join(lib.ROOT, "bot", "net", "http.c"), encoding="utf-8") as f:
        src = f.read()
    found = re.findall(r'^\s*ROUTE\("([^"]+)",\s*(true|false),\s*\w+,\s*"([^"]+)"\)', src, re.M)
    check(found, "no ROUTE lines in bot/net/http.c")
    out = set()
    for path, prefix, allow in found:
        for m in allow.split(","):
            out.add((path + "{}" if prefix == "true" else path, m.strip()))
    return out


def template_key(path):
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_is_documented_and_nothing_else():
    spec = load_spec()
    documented = {(template_key(p), m) for p, m in operations(spec)}
    code = routes_in_code()
    check(documented == code, f"routes in bot/net/http.c but not documented: {sorted(code - documented)}; "
                              f"documented but not served: {sorted(documented - code)}")
    d = Daemon()
    # near misses of documented paths are not served
    for path in ("/", "/healthz/", "/HEALTHZ", "/api/v1", "/api/v1/cases/a/b", "/chat/v1/messages/x",
                 "/chat/v1", "/api/v1/reports", "/wecom", "/metrics.txt", "/api/v1/roster/x"):
        r = d.get(path)
        lib.expect_error(r, 404, "not_found", f"GET {path}")
    # a method not documented for a path: 405 with Allow = the documented methods
    by_path = {}
    for (p, m) in operations(spec):
        by_path.setdefault(p, set()).add(m)
    for p, allowed in by_path.items():
        concrete = re.sub(r"\{[^}]+\}", "FQ20260101-0001", p)
        for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            if m in allowed:
                continue
            r = d.request(m, concrete, b"{}", {"Content-Type": "application/json"})
            check(r.status == 405, f"{m} {p} (not documented) answered {r.status}")
            got = {x.strip() for x in r.headers.get("allow", "").split(",") if x.strip()}
            check(got == allowed, f"{m} {p}: Allow {sorted(got)}, documented {sorted(allowed)}")


# ---- calling every operation -------------------------------------------------------------------
def raw_request(port, data, timeout=5):
    """(status, headers {lower: value}, body) of the first answer to raw bytes."""
    s = socket.create_connection(("127.0.0.1", port), 3)
    s.settimeout(timeout)
    out = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    check(lines and lines[0].startswith("HTTP/1."), f"no HTTP answer to {data[:80]!r}: {out[:200]!r}")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", len(body)))
    return int(lines[0].split(" ")[2 - 1]), hdrs, body[:n]


def norm_media(s):
    return ";".join(p.strip().lower() for p in s.split(";")) if s else ""


class Checker:
    def __init__(self, spec):
        self.spec = spec
        self.ops = operations(spec)
        self.seen = {k: set() for k in self.ops}

    def record(self, key, what, status, headers, body):
        op = self.ops[key]
        responses = op["responses"]
        check(str(status) in responses,
              f"{key[1]} {key[0]} ({what}): status {status} is not documented "
              f"({sorted(responses)}); body {body[:200]!r}")
        resp = resolve(self.spec, responses[str(status)])
        content = resp.get("content") or {}
        ct = headers.get("content-type")
        if content:
            media = {norm_media(k) for k in content}
            check(norm_media(ct) in media,
                  f"{key[1]} {key[0]} ({what}): {status} with Content-Type {ct!r}, documented "
                  f"{sorted(media)}")
            if key[1] != "HEAD" and norm_media(ct).startswith("application/json"):
                try:
                    json.loads(body.decode("utf-8"))
                except ValueError:
                    raise lib.Failure(f"{key[1]} {key[0]} ({what}): body is not JSON: {body[:200]!r}")
        else:
            check(not body, f"{key[1]} {key[0]} ({what}): {status} documented without content "
                            f"but has a body {body[:100]!r}")
        for name, h in (resp.get("headers") or {}).items():
            if h.get("required"):
                check(name.lower() in headers,
                      f"{key[1]} {key[0]} ({what}): {status} without header {name}")
        if key[1] == "HEAD":
            check(not body, f"HEAD {key[0]} ({what}): a body")
        self.seen[key].add(status)

    def call(self, d, key, what, path, body=None, headers=None):
        r = d.request(key[1], path, body, headers or {})
        self.record(key, what, r.status, r.headers, r.body)
        return r

    def call_raw(self, d, key, what, data):
        status, hdrs, body = raw_request(d.port, data)
        self.record(key, what, status, hdrs, body)


def example_query(op, spec, bad=False):
    q = {}
    for p in op.get("parameters") or []:
        p = resolve(spec, p)
        if p["in"] == "query" and ("example" in p):
            q[p["name"]] = "zz!" if bad else str(p["example"])
    return q


def fill_path(path, op, spec, case_no=None):
    for p in op.get("parameters") or []:
        p = resolve(spec, p)
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", case_no or str(p["example"]))
    return path


def wecom_verify_query(stub, tamper=False):
    enc = wecom_stub.encrypt(stub.encoding_aes_key, stub.corp_id, "1288432023552776189")
    ts, nonce = str(int(time.time())), "12345"
    sig = wecom_stub.signature(stub.token, ts, nonce, enc)
    if tamper:
        sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    return urllib.parse.urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce,
                                   "echostr": enc})


def exercise(c, d, stub, case_no):
    spec = c.spec
    for key, op in c.ops.items():
        path, method = key
        secured = bool(op.get("security"))
        auth = {"Authorization": "Bearer " + (d.token or lib.ADMIN)}
        good_path = fill_path(path, op, spec, case_no)
        q = example_query(op, spec)
        url = good_path + ("?" + urllib.parse.urlencode(q) if q else "")
        bad_url = good_path + "?" + urllib.parse.urlencode(example_query(op, spec, bad=True))
        # bare: no token, no signature, no body
        c.call(d, key, "bare", url)
        if secured:
            c.call(d, key, "wrong token", url, None, {"Authorization": "Bearer nope"})
        body, hdrs = None, dict(auth) if secured else {}
        if path == "/chat/v1/messages":
            example = op["requestBody"]["content"]["application/json"]["example"]
            body = json.dumps(dict(example, message_id=lib.new_mid()), ensure_ascii=False).encode()
            ts = str(int(time.time()))
            hdrs.update({"Content-Type": "application/json", "X-FQ-Timestamp": ts,
                         "X-FQ-Signature": lib.sign(d.secret or lib.SECRET, ts, body)})
            c.call(d, key, "wrong signature", url, body, dict(hdrs, **{"X-FQ-Signature": "sha256=00"}))
            c.call(d, key, "stale", url, body, dict(hdrs, **{"X-FQ-Timestamp": "1"}))
            c.call(d, key, "text/plain", url, body, dict(hdrs, **{"Content-Type": "text/plain"}))
            b2 = b'{"channel":"web"}'
            c.call(d, key, "missing fields", url, b2, dict(hdrs, **{
                "X-FQ-Signature": lib.sign(d.secret or lib.SECRET, ts, b2)}))
        elif path == "/api/v1/roster":
            body = json.dumps(lib.base_roster(), ensure_ascii=False).encode()
            hdrs["Content-Type"] = "application/json"
            c.call(d, key, "invalid roster", url, b'{"org": 1}', hdrs)
        elif path == "/api/v1/supervision/notes":
            body = json.dumps({"case_no": case_no, "note": "请抓紧办理"}, ensure_ascii=False).encode()
            hdrs["Content-Type"] = "application/json"
            c.call(d, key, "no note", url, b'{"case_no": "x"}', hdrs)
            c.call(d, key, "unknown case", url, b'{"case_no": "FQ00000000-0000", "note": "x"}',
                   hdrs)
        elif path == "/wecom/callback" and method in ("GET", "HEAD"):
            if stub:
                url = path + "?" + wecom_verify_query(stub)
                c.call(d, key, "tampered", path + "?" + wecom_verify_query(stub, True))
        elif path == "/wecom/callback":
            if stub:
                qs, xml = stub.envelope({"FromUserName": "Nobody", "CreateTime": int(time.time()),
                                         "MsgType": "text", "Content": "hi",
                                         "MsgId": str(time.time_ns())})
                url, body = path + "?" + qs, xml.encode()
                hdrs["Content-Type"] = "text/xml"
                c.call(d, key, "not xml", url, b"not xml", hdrs)
                c.call(d, key, "bad signature", url.replace("msg_signature=", "msg_signature=0"),
                       body, hdrs)
        c.call(d, key, "good", url, body, hdrs)
        if q:
            c.call(d, key, "bad parameters", bad_url, body, hdrs)
        # framing and size, on every operation
        line = f"{method} {url} HTTP/1.1\r\nHost: x\r\n".encode()
        c.call_raw(d, key, "CL+TE", line + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        c.call_raw(d, key, "TE gzip", line + b"Transfer-Encoding: gzip\r\n\r\n")
        c.call_raw(d, key, "Content-Length over max_body", line + b"Content-Length: 99999999\r\n\r\n")


def test_daemon_answers_as_documented():
    spec = load_spec()
    c = Checker(spec)
    stub = lib.register(wecom_stub.Stub().start())
    d = Daemon(extra=stub.config())
    case_no, _ = lib.submit(d, "u-openapi-case", "你好")
    exercise(c, d, stub, case_no)
    d.stop()
    # WeCom off: the callback is unavailable; nothing configured: the webhook and admin API are
    d2 = Daemon()
    exercise(c, d2, None, case_no)
    d2.stop()
    d3 = Daemon(extra={"chat.secret": None, "admin.token": None})
    exercise(c, d3, None, case_no)
    for key, statuses in c.seen.items():
        check(any(200 <= s < 300 for s in statuses),
              f"{key[1]} {key[0]}: no 2xx answer seen (seen {sorted(statuses)})")
    documented_seen = {k: sorted(v) for k, v in c.seen.items()}
    print("statuses seen:", json.dumps({f"{m} {p}": v for (p, m), v in documented_seen.items()}))


test_daemon_answers_as_documented.timeout = 120

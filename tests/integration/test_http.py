"""HTTP conventions over raw sockets against the real daemon (docs/contract.md 3, RFC 9110/9112).

Message framing (RFC 9112 6.1, 6.3): a request with both Content-Length and Transfer-Encoding,
two different Content-Lengths, or a Content-Length that is not a decimal number gets 400 and the
connection is closed, so nothing after it is read as another request (request smuggling); an
unknown transfer coding gets 501, at once, not after the 30 s connection timeout. Normal
keep-alive pipelining still answers every request on the connection."""
import json
import socket
import time

from lib import Daemon, check

RESPONSE_START = b"HTTP/1.1 "


def exchange(port, data, timeout=5.0):
    """Sends data on a new connection and reads until the server closes it or timeout passes.
    Returns (raw bytes read, closed by the server, seconds taken)."""
    s = socket.create_connection(("127.0.0.1", port), 3)
    s.settimeout(timeout)
    out, closed, t0 = b"", False, time.monotonic()
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            out += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    finally:
        s.close()
    return out, closed, time.monotonic() - t0


def statuses(raw):
    """The status codes of the responses in raw, in order."""
    out = []
    for part in raw.split(RESPONSE_START)[1:]:
        try:
            out.append(int(part[:3]))
        except ValueError:
            out.append(None)
    return out


def header(raw, name):
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


SMUGGLED = b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"


def refused_and_closed(d, what, data, status):
    raw, closed, took = exchange(d.port, data)
    check(closed, f"{what}: connection left open after {took:.1f}s; got {raw[:300]!r}")
    check(took < 3, f"{what}: answered only after {took:.1f}s")
    got = statuses(raw)
    check(got == [status], f"{what}: expected exactly one {status} then EOF, got {got}: {raw[:400]!r}")
    check((header(raw, "Connection") or "").lower() == "close",
          f"{what}: no Connection: close in {raw[:300]!r}")
    check(raw.split(b"\r\n\r\n", 1)[-1].startswith(b"{\"error\":"),
          f"{what}: not a JSON error body: {raw[:400]!r}")


def test_content_length_with_transfer_encoding_is_refused_and_closed():
    d = Daemon()
    # the chunked body ends at "0\r\n\r\n"; a server framing by the chunks would serve SMUGGLED
    body = b"0\r\n\r\n" + SMUGGLED
    for path, method in (("/healthz", "GET"), ("/chat/v1/messages", "POST"),
                         ("/api/v1/cases", "GET"), ("/nowhere", "GET")):
        for te in (b"chunked", b"Chunked"):
            req = (method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                   b"Transfer-Encoding: " + te + b"\r\n\r\n" + body)
            refused_and_closed(d, f"{method} {path} CL+TE {te!r}", req, 400)
        # the other order of the two headers
        req = (method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
               b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + body)
        refused_and_closed(d, f"{method} {path} TE+CL", req, 400)


def test_two_different_content_lengths_are_refused_and_closed():
    d = Daemon()
    for path, method in (("/healthz", "GET"), ("/chat/v1/messages", "POST")):
        req = (method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: 2\r\nContent-Length: 41\r\n\r\n{}" + SMUGGLED)
        refused_and_closed(d, f"{method} {path} two Content-Lengths", req, 400)
    # the same length twice is one length (RFC 9110 8.6) and is served
    raw, _, _ = exchange(d.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    check(statuses(raw) == [200], f"identical Content-Lengths: {raw[:300]!r}")


def test_content_length_not_a_decimal_number_is_refused():
    d = Daemon()
    for cl in (b"+2", b"-2", b"0x2", b"2,2", b"2 2", b"two", b""):
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl + b"\r\n\r\n{}" + SMUGGLED
        raw, closed, took = exchange(d.port, req)
        got = statuses(raw)
        # libmicrohttpd answers some of these itself (an HTML 400), before the daemon sees them
        check(got and got[0] == 400 and 200 not in got and 404 not in got and closed and took < 3,
              f"Content-Length {cl!r}: expected 400 and EOF, got {got} closed={closed}: {raw[:300]!r}")


def test_unknown_transfer_coding_gets_501_at_once():
    d = Daemon()
    for te in (b"gzip", b"identity", b"x-junk!!", b"gzip, chunked", b"chunked, gzip"):
        for path, method in (("/healthz", "GET"), ("/chat/v1/messages", "POST")):
            req = (method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                   b"Transfer-Encoding: " + te + b"\r\n\r\n{}")
            refused_and_closed(d, f"{method} {path} TE {te!r}", req, 501)
            # with a length too: the pair is refused first (400)
            req = (method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                   b"Transfer-Encoding: " + te + b"\r\nContent-Length: 2\r\n\r\n{}")
            refused_and_closed(d, f"{method} {path} TE {te!r} with a length", req, 400)
    # two Transfer-Encoding lines are the list "chunked, chunked": not understood
    req = (b"POST /chat/v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    refused_and_closed(d, "two Transfer-Encoding lines", req, 501)
    # HTTP/1.0 has no transfer codings (RFC 9112 6.1): faulty framing
    req = b"GET /healthz HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED
    raw, closed, _ = exchange(d.port, req)
    check(closed and statuses(raw) == [400], f"HTTP/1.0 with chunked: {raw[:300]!r}")


def test_keep_alive_pipelining_still_works():
    d = Daemon()
    reqs = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /api/v1/roster HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\n{}\r\n0\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    raw, closed, took = exchange(d.port, reqs)
    check(statuses(raw) == [200, 200, 401, 200] and closed,
          f"pipelined requests: {statuses(raw)} closed={closed}: {raw[:600]!r}")
    check(took < 3, f"pipelined requests took {took:.1f}s")
    # one keep-alive connection: a request, its answer, then another request on it
    s = socket.create_connection(("127.0.0.1", d.port), 3)
    s.settimeout(5)
    try:
        for _ in range(3):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while not got.endswith(b"{\"status\":\"ok\"}"):
                chunk = s.recv(4096)
                check(chunk, f"connection closed after a good request: {got!r}")
                got += chunk
            check(statuses(got) == [200] and header(got, "Connection") is None,
                  f"keep-alive answer: {got!r}")
    finally:
        s.close()


# ---- long texts -----------------------------------------------------------------------------
LONG_UNIT = "邻居在楼道里堆放纸箱和旧家具，挡住了消防通道，多次沟通无果。"


def long_text(nbytes):
    reps = nbytes // len(LONG_UNIT.encode()) + 1
    t = (LONG_UNIT * reps).encode()[:nbytes].decode("utf-8", "ignore")
    return t


def stored_description(d, case_no):
    import sqlite3
    con = sqlite3.connect(f"file:{d.db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT description FROM cases WHERE case_no = ?", (case_no,)).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def test_long_description_is_accepted_up_to_max_body():
    """Voice input writes long messages: texts over the old 8192-byte limit, up to
    server.max_body (64 KiB by default), open a case whose description is stored whole; a body
    over server.max_body still gets 413."""
    import lib
    b = lib.Broker()
    sub = lib.Sub(b)
    d = Daemon(b)
    d.wait_mqtt()
    for i, n in enumerate((20000, 60000)):
        desc = long_text(n)
        check(len(desc.encode()) > n - 4, "test text length")
        case_no, tr = lib.submit(d, f"u-long-{i}", "你好", description=desc)
        for sent, r in tr:
            check(r.status == 200, f"{len(sent.encode())}-byte message answered {r.status}")
        check(stored_description(d, case_no) == desc,
              f"{n}-byte description not stored whole in the store")
        c = d.case(case_no)
        check(c and c.get("description") == desc,
              f"{n}-byte description not whole in GET /api/v1/cases/{case_no}")
        listed = [x for x in d.cases() if lib.case_no_of(x) == case_no]
        check(listed and listed[0].get("description") == desc, "description in the case list")
        # the case's events on MQTT carry it whole as well
        got = sub.wait(lib.event_topic(case_no), lambda m: json.dumps(m.payload,
                       ensure_ascii=False).find(desc) >= 0, timeout=10)
        check(got, f"no event on {lib.event_topic(case_no)} carries the {n}-byte description")
    # the MQTT inbound topic shares the parser: a long text from a gateway is answered too
    user = "u-long-mqtt"
    b.pub(f"{lib.PREFIX}/inbound/web", {"channel": "web", "user": user, "message_id": lib.new_mid(),
                                         "type": "text", "text": long_text(30000)})
    check(sub.wait(f"{lib.PREFIX}/outbound/web/{user}", timeout=10),
          "no answer on outbound/web to a 30000-byte text on inbound/web")
    # over server.max_body: 413, and nothing changes for that user
    r = d.chat("u-long-2", long_text(66000))
    lib.expect_error(r, 413, "too_large", "a text over server.max_body")
    r = d.chat("u-long-2", "你好")
    check(r.status == 200 and r.get("state") == "ask_category",
          f"the refused message changed the conversation: {r}")


# ---- admin API conventions --------------------------------------------------------------------
ADMIN_ROUTES = [("GET", "/api/v1/cases"), ("GET", "/api/v1/cases/FQ20260101-0001"),
                ("GET", "/api/v1/reports/monthly?month=2026-01"), ("POST", "/api/v1/roster"),
                ("HEAD", "/api/v1/cases")]


def test_admin_401_names_the_bearer_scheme():
    import lib
    d = Daemon()
    for method, path in ADMIN_ROUTES:
        body = b"{}" if method == "POST" else None
        ct = {"Content-Type": "application/json"} if body else {}
        for what, h, challenge in [
                ("no token", {}, 'Bearer realm="fengqiao"'),
                ("another scheme", {"Authorization": "Basic YTpi"}, 'Bearer realm="fengqiao"'),
                ("wrong token", {"Authorization": "Bearer nope"},
                 'Bearer realm="fengqiao", error="invalid_token"'),
                ("empty token", {"Authorization": "Bearer "},
                 'Bearer realm="fengqiao", error="invalid_token"')]:
            r = d.request(method, path, body, dict(h, **ct))
            check(r.status == 401, f"{method} {path} {what}: {r}")
            got = r.headers.get("www-authenticate")
            check(got == challenge, f"{method} {path} {what}: WWW-Authenticate {got!r}, "
                                    f"expected {challenge!r}")
    # the right token is not challenged
    r = d.admin("GET", "/api/v1/cases")
    check(r.status == 200 and "www-authenticate" not in r.headers, f"good token: {r}")
    # lib's request helper does not add anything else: a 401 of the chat webhook is not a
    # bearer challenge (it is a signature check)
    r = d.chat_raw({"x": 1}, signed=False)
    check(r.status == 401 and "www-authenticate" not in r.headers, f"chat 401: {r}")


ALLOW = {"/chat/v1/messages": {"POST"}, "/wecom/callback": {"GET", "HEAD", "POST"},
         "/healthz": {"GET", "HEAD"}, "/readyz": {"GET", "HEAD"}, "/metrics": {"GET", "HEAD"},
         "/api/v1/cases": {"GET", "HEAD"}, "/api/v1/cases/FQ20260101-0001": {"GET", "HEAD"},
         "/api/v1/reports/monthly": {"GET", "HEAD"}, "/api/v1/roster": {"POST"}}


def test_405_lists_the_allowed_methods():
    d = Daemon()
    for path, allowed in ALLOW.items():
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"):
            if method in allowed:
                continue
            r = d.request(method, path, b"{}", {"Content-Type": "application/json"})
            check(r.status == 405, f"{method} {path}: {r}")
            got = {m.strip() for m in (r.headers.get("allow") or "").split(",") if m.strip()}
            check(got == allowed, f"{method} {path}: Allow {r.headers.get('allow')!r}, "
                                  f"expected {sorted(allowed)}")
        for method in allowed:
            r = d.request(method, path, b"{}" if method == "POST" else None,
                          {"Content-Type": "application/json"})
            check(r.status != 405, f"{method} {path} is allowed but answered 405")


def make_cases(d, n, tag):
    import lib
    out = []
    for i in range(n):
        case_no, _ = lib.submit(d, f"u-page-{tag}-{i}", "你好")
        out.append(case_no)
    return out


def page(d, query):
    r = d.admin("GET", "/api/v1/cases?" + query)
    check(r.status == 200 and isinstance(r.get("cases"), list), f"GET ?{query}: {r}")
    check("next_cursor" in r.json, f"GET ?{query}: no next_cursor in {r}")
    return [x["case_no"] for x in r.json["cases"]], r.json["next_cursor"]


def test_case_list_pages_by_cursor_and_offset():
    import lib
    d = Daemon()
    before = make_cases(d, 7, "a")
    # the default page holds everything here, newest first, and says there is no more
    allc, nxt = page(d, "")
    check(allc == list(reversed(before)) and nxt is None, f"one page: {allc} next={nxt}")
    # walk by cursor, two at a time, with new cases arriving between the pages
    seen, cursor, pages, added = [], None, 0, []
    while True:
        q = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        got, cursor = page(d, q)
        check(len(got) <= 2, f"page of {len(got)} cases for limit=2")
        seen += got
        pages += 1
        if cursor is None:
            break
        check(pages < 20, "the cursor walk does not end")
        added += make_cases(d, 1, f"b{pages}")
    for c in before:
        check(seen.count(c) == 1, f"{c} seen {seen.count(c)} times in the cursor walk: {seen}")
    check(len(seen) == len(set(seen)), f"duplicates in the cursor walk: {seen}")
    check(set(seen) <= set(before) | set(added), f"unknown cases in the walk: {seen}")
    check(pages == 4, f"7 cases at 2 a page took {pages} pages")
    # the last page's cursor is null; a full page followed by nothing still ends
    got, nxt = page(d, f"limit={len(before) + len(added)}")
    check(nxt is None and len(got) == len(before) + len(added), f"exact page: {len(got)} {nxt}")
    # offset: the same order
    full, _ = page(d, "limit=100")
    got, nxt = page(d, "limit=3&offset=3")
    check(got == full[3:6] and nxt is not None, f"offset=3: {got} vs {full[3:6]}")
    got, nxt = page(d, f"offset={len(full)}")
    check(got == [] and nxt is None, f"offset past the end: {got} {nxt}")
    # the cursor of an offset page continues after it
    got2, _ = page(d, f"limit=3&cursor={page(d, 'limit=3&offset=3')[1]}")
    check(got2 == full[6:9], f"cursor after an offset page: {got2} vs {full[6:9]}")
    # filters still apply with a cursor
    got, _ = page(d, "status=nosuch&limit=1")
    check(got == [], f"status filter: {got}")
    # bad values: 400 bad_request, nothing else
    for q in ("limit=0", "limit=10001", "limit=-1", "limit=1x", "limit=", "limit=%2B5",
              "offset=-1", "offset=abc", "offset=1.5", "offset=", "offset=100000001",
              "cursor=", "cursor=junk", "cursor=1", "cursor=1.", "cursor=.1", "cursor=1.0",
              "cursor=-1.5", "cursor=1.2.3", "cursor=1.x", "cursor=99999999999999999999.1",
              "cursor=1.2&offset=1"):
        lib.expect_error(d.admin("GET", "/api/v1/cases?" + q), 400, "bad_request", q)

"""The chat webhook's edges (docs/contract.md 3.1, 3.3, 3.4): every error status with its code and
JSON body, nothing changed by a rejected request, idempotent retries, health, readiness, metrics and
the admin API's authentication."""
import json
import time

import lib
from lib import Broker, Daemon, Sub, check, event_topic, expect_error, new_mid

ONE_MESSAGE = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001"


def body(user="u-probe", text="取消", **kw):
    b = {"channel": "web", "user": user, "message_id": new_mid(), "type": "text", "text": text}
    b.update(kw)
    return b


def second_start():
    """Now, in whole seconds, early in the second: a request sent at once reaches the daemon
    within the same second, so "now + 301" is 301 s ahead of its clock, not 300."""
    frac = time.time() % 1
    if frac > 0.3:
        time.sleep(1.01 - frac)
    return int(time.time())


def test_rejected_requests_change_nothing():
    d = Daemon(extra={"server.max_body": "4096"})
    # Two residents mid-report: u-probe at ask_category, u-conf at confirm. The rejected
    # requests below carry 取消 (would cancel u-probe) and 1 (would submit u-conf's case).
    r = d.chat("u-probe", "你好")
    check(r.get("state") == "ask_category", f"setup: {r}")
    r = d.chat("u-conf", ONE_MESSAGE)
    check(r.get("state") == "confirm", f"setup: {r}")
    cases_before = lib.case_nos(d.cases())

    def both(fn):
        fn(body("u-probe", "取消"))
        fn(body("u-conf", "1"))

    def expect_error(r, status, code, what):
        # After each rejected request: the error, and the case list as it was. (The two
        # conversations are checked once at the end: any rejected 取消 or 1 applied shows there.)
        lib.expect_error(r, status, code, what)
        now = lib.case_nos(d.cases())
        check(now == cases_before, f"{what}: the case list changed: {cases_before} -> {now}")

    # 400 bad_request
    for raw, what in [(b"not json", "not JSON"), (b"", "empty body"), (b"[1,2]", "a JSON array"),
                      (b'{"channel":"web","user":"u-probe","message_id":"x1","type":"text",'
                       b'"text":"\xff\xfe\xe5"}', "invalid UTF-8"),
                      (b'{"channel":"web","user":"u-probe",', "truncated JSON")]:
        expect_error(d.chat_raw(raw), 400, "bad_request", what)
    for field in ("channel", "user", "message_id", "type"):
        def missing(b, field=field):
            del b[field]
            expect_error(d.chat_raw(b), 400, "bad_request", f"missing {field}")
        both(missing)
    for field, val in [("user", 123), ("channel", None), ("message_id", ["x"]), ("text", 5),
                       ("type", True), ("name", 7), ("locale", 1)]:
        def wrong(b, field=field, val=val):
            b[field] = val
            expect_error(d.chat_raw(b), 400, "bad_request", f"{field} = {val!r}")
        both(wrong)

    def no_text(b):
        del b["text"]
        expect_error(d.chat_raw(b), 400, "bad_request", "type text without text")
    both(no_text)
    expect_error(d.chat_raw(body("u-probe", type="location", longitude=120.45)), 400,
                 "bad_request", "type location without latitude")
    expect_error(d.chat_raw(body("u-probe", type="image")), 400, "bad_request",
                 "type image without media_url")
    # Contract-silent: a type outside text/image/voice/location is a bad request.
    expect_error(d.chat_raw(body("u-probe", type="video")), 400, "bad_request", "type video")

    # 401
    both(lambda b: expect_error(d.chat_raw(b, secret="not-the-secret"), 401, "bad_signature",
                                "wrong secret"))
    both(lambda b: expect_error(d.chat_raw(b, headers={"X-FQ-Signature": "sha256=" + "0" * 64}),
                                401, "bad_signature", "zero signature"))
    both(lambda b: expect_error(d.chat_raw(b, headers={"X-FQ-Signature": "garbage"}), 401,
                                "bad_signature", "malformed signature"))
    # Contract-silent which 401 code a request without the headers gets; it is a 401.
    both(lambda b: expect_error(d.chat_raw(b, signed=False), 401, None, "unsigned"))
    both(lambda b: expect_error(d.chat_raw(b, ts=int(time.time()) - 301), 401,
                                "stale_timestamp", "ts -301 s"))
    both(lambda b: expect_error(d.chat_raw(b, ts=second_start() + 301), 401, "stale_timestamp",
                                "ts +301 s"))
    now = int(time.time())
    # A body signed for another timestamp than the one sent.
    def replay(b):
        raw = json.dumps(b).encode()
        h = {"X-FQ-Timestamp": str(now - 5), "X-FQ-Signature": lib.sign(lib.SECRET, now, raw)}
        expect_error(d.chat_raw(raw, signed=False, headers=h), 401, "bad_signature", "ts swap")
    both(replay)

    # 413 (max_body is 4096 here), 415
    both(lambda b: expect_error(d.chat_raw(dict(b, text="邻" * 2000)), 413, "too_large",
                                "body over max_body"))
    both(lambda b: expect_error(d.chat_raw(b, content_type="text/plain"), 415,
                                "unsupported_media_type", "text/plain"))
    # Contract-silent: a body without Content-Type is not taken as JSON either.
    both(lambda b: expect_error(d.chat_raw(b, content_type=None), 415, "unsupported_media_type",
                                "no Content-Type"))
    check(d.alive(), "the daemon died on a rejected request")

    # Nothing changed: no new case; u-probe is still at ask_category (so 1 now picks the
    # category) and u-conf still at confirm (so 1 now submits).
    check(lib.case_nos(d.cases()) == cases_before,
          f"a rejected request changed the case list: {cases_before} -> {lib.case_nos(d.cases())}")
    r = d.chat("u-probe", "1")
    check(r.status == 200 and r.get("state") == "ask_location",
          f"u-probe's conversation changed by a rejected request: {r}")
    r = d.chat("u-conf", "1")
    check(r.status == 200 and r.get("state") == "submitted",
          f"u-conf's conversation changed by a rejected request: {r}")
    # The controls: what the rejected requests got wrong is accepted when right.
    r = d.chat_raw(body("u-loc", type="location", latitude=29.73, longitude=120.45,
                        label="枫源村"))
    check(r.status == 200, f"a valid location message: {r}")
    r = d.chat_raw(body("u-ct", "你好"), content_type="application/json; charset=utf-8")
    check(r.status == 200, f"Content-Type with charset: {r}")
    r = d.chat_raw(body("u-ts", "你好"), ts=int(time.time()) - 290)
    check(r.status == 200, f"a timestamp 290 s old: {r}")
    r = d.chat_raw(body("u-big", "邻" * 1000))
    check(r.status == 200, f"a 3 KB body under max_body 4096: {r}")


def test_wrong_typed_optional_field():
    """docs/contract.md 3.1: a wrong-typed field is a bad request, even one the message type does
    not need (here latitude on a text message), and the message is not applied."""
    d = Daemon()
    r = d.chat("u-lat", "你好")
    check(r.get("state") == "ask_category", f"setup: {r}")
    for field, val in [("latitude", "north"), ("longitude", [1]), ("media_url", 3),
                       ("label", {"x": 1})]:
        lib.expect_error(d.chat_raw(body("u-lat", "取消", **{field: val})), 400, "bad_request",
                         f"{field} = {val!r} on a text message")
    r = d.chat("u-lat", "1")
    check(r.get("state") == "ask_location", f"a rejected message changed the conversation: {r}")


def test_rate_limit():
    d = Daemon()
    for i in range(30):
        r = d.chat("u-rate", "帮助")
        check(r.status == 200, f"message {i + 1} of 30 in a minute: {r}")
    expect_error(d.chat("u-rate", "帮助"), 429, "rate_limited", "31st message within a minute")
    r = d.chat("u-other", "帮助")
    check(r.status == 200, f"another user while u-rate is limited: {r}")


def test_unconfigured_503():
    d = Daemon(extra={"chat.secret": None, "admin.token": None})
    expect_error(d.chat_raw(body("u-1", "你好"), secret=lib.SECRET), 503, "unavailable",
                 "chat.secret unset")
    r = d.admin("GET", "/api/v1/cases", token="anything")
    expect_error(r, 503, None, "admin.token unset")
    check(d.get("/healthz").status == 200, "healthz")


def test_unknown_path_and_method():
    d = Daemon()
    expect_error(d.get("/nope"), 404, None, "GET /nope")
    expect_error(d.request("POST", "/chat/v1/nope", b"{}", {"Content-Type": "application/json"}),
                 404, None, "POST /chat/v1/nope")
    expect_error(d.get("/chat/v1/messages"), 405, None, "GET /chat/v1/messages")
    expect_error(d.request("PUT", "/chat/v1/messages", b"{}",
                           {"Content-Type": "application/json"}), 405, None, "PUT chat")
    expect_error(d.request("DELETE", "/healthz"), 405, None, "DELETE /healthz")


def test_idempotent_retry():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    r = d.chat("u-idem", ONE_MESSAGE)
    check(r.get("state") == "confirm", f"setup: {r}")
    r1 = d.chat("u-idem", "1", mid="retry-1")
    r2 = d.chat("u-idem", "1", mid="retry-1")
    check(r1.status == 200 and r1.get("case"), f"first: {r1}")
    check(r2.status == 200 and r2.body == r1.body, f"retry answered differently: {r1} vs {r2}")
    case = r1.get("case")
    time.sleep(0.5)
    r3 = d.chat("u-idem", "1", mid="retry-1")
    check(r3.body == r1.body, f"a later retry answered differently: {r3}")
    check(lib.case_nos(d.cases()).count(case) == 1 and len(d.cases()) == 1,
          f"cases after retries: {lib.case_nos(d.cases())}")
    evs = sub.wait(event_topic(case), count=2, timeout=10)
    time.sleep(1.0)  # anything published twice would arrive by now
    evs = sub.messages(event_topic(case))
    types = sorted(m.payload.get("type") for m in evs)
    check(types == ["assigned", "created"], f"events of {case} after retries: {types}")
    asg = sub.messages(lib.assignment_topic("m-wang"))
    check(len(asg) == 1, f"assignments after retries: {asg}")
    # The same message_id from another user is another message.
    r = d.chat("u-idem-2", "你好", mid="retry-1")
    check(r.status == 200 and r.get("state") == "ask_category" and r.body != r1.body,
          f"another user's message with the same id: {r}")
    # ... and from the same user on another channel too.
    r = d.chat("u-idem", "你好", mid="retry-1", channel="miniapp")
    check(r.status == 200 and r.get("state") == "ask_category", f"other channel: {r}")
    check(len(d.cases()) == 1, "a message on another channel created a case")


def test_health_ready_metrics():
    b = Broker()
    d = Daemon(b)
    r = d.get("/healthz")
    check(r.status == 200 and r.json == {"status": "ok"}, f"/healthz: {r}")
    check(r.headers.get("content-type", "").startswith("application/json"), f"healthz CT {r.headers}")
    check(d.wait_mqtt("connected", 15), f"/readyz never says mqtt connected: {d.get('/readyz')}")
    r = d.get("/readyz")
    check(r.status == 200 and r.get("mqtt") == "connected", f"/readyz: {r}")

    def total():
        r = d.get("/metrics")
        check(r.status == 200, f"/metrics: {r.status}")
        check(r.headers.get("content-type", "").startswith("text/plain"),
              f"/metrics Content-Type: {r.headers.get('content-type')}")
        n = 0.0
        for ln in r.text.splitlines():
            if ln.startswith("fq_http_requests_total"):
                n += float(ln.rsplit(None, 1)[-1])
        check("fq_http_requests_total" in r.text, "no fq_http_requests_total in /metrics")
        return n, r.text

    n1, _ = total()
    for _ in range(3):
        d.chat("u-metrics", "帮助")
    d.chat("u-metrics", "x", secret="wrong")
    n2, text = total()
    check(n2 >= n1 + 4, f"fq_http_requests_total went from {n1} to {n2} after 4 requests")
    check("401" in text, "no requests counted by status 401")

    # MQTT down: still ready (the store is what readiness needs), mqtt disconnected.
    b.stop()
    check(d.wait_mqtt("disconnected", 15), f"/readyz after broker stop: {d.get('/readyz')}")
    check(d.get("/readyz").status == 200, "not ready while only the broker is down")
    b.start()
    check(d.wait_mqtt("connected", 30), f"/readyz after broker restart: {d.get('/readyz')}")


def test_admin_auth():
    d = Daemon()
    for path in ("/api/v1/cases", "/api/v1/cases/FQ20260101-0001",
                 "/api/v1/reports/monthly?month=2026-01"):
        expect_error(d.get(path), 401, None, f"{path} without token")
        expect_error(d.admin("GET", path, token="wrong-token"), 401, None, f"{path} wrong token")
        expect_error(d.get(path, headers={"Authorization": lib.ADMIN}), 401, None,
                     f"{path} token without Bearer")
    expect_error(d.admin("POST", "/api/v1/roster", lib.base_roster(), token=None), 401, None,
                 "roster without token")
    r = d.admin("GET", "/api/v1/cases")
    check(r.status == 200 and r.get("cases") == [], f"with the token: {r}")
    # Contract-silent: an unknown case number is a 404.
    expect_error(d.admin("GET", "/api/v1/cases/FQ20260101-0001"), 404, None, "unknown case")

#!/usr/bin/env python3
"""A loopback stub of the WeCom API (qyapi) and of WeCom's callback side, for fengqiao's tests,
as docs/wecom.md 10 describes. Python 3 standard library only (AES through the openssl
command-line tool).

Faces:
  API       /cgi-bin/gettoken, message/send, message/update_template_card, kf/sync_msg,
            kf/send_msg, webhook/send, auth/getuserinfo (always HTTP 200 + {"errcode":..} for
            business outcomes)
  OAuth     /connect/oauth2/authorize (open.weixin.qq.com's page inside the WeCom client: 302 to
            redirect_uri?code=CODE&state=STATE for the member Stub.oauth_as names)
  control   /__stub/reset, /__stub/credentials, /__stub/faults, /__stub/journal, /__stub/clock,
            /__stub/tokens/expire, /__stub/tokens/invalidate, /__stub/kf/messages, /__stub/inbox
  callbacks Stub.callback(...), Stub.url_verify(...), Stub.customer_says(...), Stub.card_click(...):
            encrypt, sign and POST to the daemon's callback URL, with WeCom's retry behaviour
            (a response slower than `deadline` or a non-200 is retried, at most 3 times).

Use in-process (tests/integration/test_wecom.py): stub = Stub(); stub.start(); ... stub.stop().
Or standalone: python3 tests/wecom_stub.py --port 18080 (then drive it with /__stub/*).

Design choices: one lock around all state (the stub is not a throughput test); the journal
records every API request with the response and the fault that fired; a stub clock (wall clock
plus an offset moved by /__stub/clock) drives token expiry and the 微信客服 48 h window."""
import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import re
import socket
import string
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ERRMSG = {
    0: "ok", -1: "system busy", 40001: "invalid credential", 40008: "invalid message type",
    40013: "invalid corpid", 40014: "invalid access_token", 40056: "invalid agentid",
    40058: "invalid parameter", 40096: "invalid external userid", 41001: "access_token missing",
    42001: "access_token expired", 44004: "empty content", 45009: "api freq out of limit",
    45033: "api concurrent out of limit", 47001: "data format error",
    48002: "api forbidden", 60020: "not allow to access from your ip", 81013: "user & party & tag all invalid",
    82001: "all touser invalid", 93000: "invalid webhook url", 95000: "invalid open_kfid",
    95001: "send msg count limit", 95002: "send msg window expired", 95007: "invalid msg token",
    95018: "send msg session status invalid", 40029: "invalid code", 41008: "missing code",
    50001: "redirect_uri unauthorized",
}


def errmsg(code):
    text = ERRMSG.get(code, "error")
    if code == 0:
        return "ok"
    hint = "".join(random.choice(string.digits) for _ in range(25))
    return (f"{text}, hint: [{hint}], from ip: 127.0.0.1, more info at "
            f"https://open.work.weixin.qq.com/devtool/query?e={code}")


# ---- crypto (docs/wecom.md 3) -------------------------------------------------------------------
def aes_key(encoding_aes_key):
    return base64.b64decode(encoding_aes_key + "=")


def _openssl(args, data):
    p = subprocess.run(["openssl", "enc", *args], input=data, capture_output=True, check=True)
    return p.stdout


def encrypt(encoding_aes_key, receiveid, msg, random16=None):
    key = aes_key(encoding_aes_key)
    msg = msg.encode() if isinstance(msg, str) else msg
    raw = (random16 or os.urandom(16)) + len(msg).to_bytes(4, "big") + msg + receiveid.encode()
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    ct = _openssl(["-aes-256-cbc", "-K", key.hex(), "-iv", key[:16].hex(), "-nopad"], raw)
    return base64.b64encode(ct).decode()


def decrypt(encoding_aes_key, b64):
    key = aes_key(encoding_aes_key)
    pt = _openssl(["-d", "-aes-256-cbc", "-K", key.hex(), "-iv", key[:16].hex(), "-nopad"],
                  base64.b64decode(b64))
    pt = pt[:-pt[-1]]
    n = int.from_bytes(pt[16:20], "big")
    return pt[20:20 + n], pt[20 + n:].decode()


def signature(token, ts, nonce, enc):
    parts = sorted(x.encode() for x in (token, ts, nonce, enc))
    return hashlib.sha1(b"".join(parts)).hexdigest()


def cdata(v):
    return "<![CDATA[" + str(v).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def xml_of(fields):
    out = ["<xml>"]
    for k, v in fields.items():
        out.append(f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}>{cdata(v)}</{k}>")
    out.append("</xml>")
    return "".join(out)


def _rand(n=16, alphabet=string.ascii_letters + string.digits):
    return "".join(random.choice(alphabet) for _ in range(n))


# ---- the stub ---------------------------------------------------------------------------------
class Stub:
    def __init__(self, port=0, corp_id="wwstubcorp0000001", agent_id=1000002,
                 token="StubToken2026", encoding_aes_key=None, app_secret="app-secret",
                 kf_secret="kf-secret", open_kfid="wkStubKf0001", token_ttl=7200):
        self.port = port
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.token = token
        self.encoding_aes_key = encoding_aes_key or _rand(43)
        self.app_secret = app_secret
        self.kf_secret = kf_secret
        self.open_kfid = open_kfid
        self.default_ttl = token_ttl
        self.lock = threading.RLock()
        self.server = None
        self.reset()

    # -- state ---------------------------------------------------------------------------------
    def reset(self):
        with getattr(self, "lock", threading.RLock()):
            self.offset = 0.0
            self.creds = {}          # secret -> {"kind", "agentid", "ttl", "token", "expires", "calls"}
            self.tokens = {}         # token -> secret
            self.faults = []
            self.journal = []
            self.task_ids = set()
            self.response_codes = {}   # code -> {"used": bool, "issued": t}
            self.cards = {}            # userid -> last update
            self.inbox = {}            # userid -> [message/send bodies delivered]
            self.dup = {}              # (touser, msgtype, content) -> t
            self.kf_log = []           # customer messages/events (dicts of sync_msg shape)
            self.kf_tokens = {}        # callback Token -> issued
            self.kf_sessions = {}      # external_userid -> {"last": t, "sent": n, "state": 0}
            self.kf_sent = []          # kf/send_msg bodies accepted
            self.robots = {}           # key -> [bodies]
            self.directory = None      # None: every userid is valid
            self.oauth_codes = {}      # code -> {"who": {...}, "issued": t, "used": bool}
            self.oauth_member = None   # who the WeCom client is signed in as: {"userid": ..} or
                                       # {"openid": .., "external_userid": ..}
            self.trusted_domain = None # the app's trusted domain (None: any redirect host)
            self.add_credential(self.app_secret, "app", self.agent_id)
            self.add_credential(self.kf_secret, "kf")

    def now(self):
        return time.time() + self.offset

    def add_credential(self, secret, kind, agentid=None, ttl=None):
        with self.lock:
            self.creds[secret] = {"kind": kind, "agentid": agentid, "ttl": ttl or self.default_ttl,
                                  "token": None, "expires": 0, "calls": 0}

    def set_ttl(self, ttl, kind=None):
        with self.lock:
            for c in self.creds.values():
                if kind is None or c["kind"] == kind:
                    c["ttl"] = ttl

    def gettoken_calls(self, kind="app"):
        with self.lock:
            return sum(c["calls"] for c in self.creds.values() if c["kind"] == kind)

    def expire_tokens(self, kind=None):
        with self.lock:
            for c in self.creds.values():
                if kind is None or c["kind"] == kind:
                    c["expires"] = self.now() - 1

    def invalidate_tokens(self, kind=None):
        with self.lock:
            for s, c in self.creds.items():
                if kind is None or c["kind"] == kind:
                    if c["token"]:
                        self.tokens.pop(c["token"], None)
                    c["token"] = None

    def add_fault(self, path, action, times=1, nth=None, body_contains=None):
        """action: {"errcode": N} | {"http_status": 503} | {"delay_ms": N} | {"http_200_html": 1}
        | {"malformed_json": 1} | {"reset": 1} | {"expire_token": 1} | {"apply_then_delay": N}"""
        with self.lock:
            self.faults.append({"path": path, "action": action, "times": times, "nth": nth,
                                "body_contains": body_contains, "seen": 0, "fired": 0})

    # -- OAuth (网页授权登录) ------------------------------------------------------------------
    def oauth_code(self, userid=None, openid=None, external_userid=None):
        """A fresh code as WeCom issues one to the redirect: single use, 5 minutes, for a member
        (userid) or someone who is not (openid, maybe external_userid)."""
        with self.lock:
            code = _rand(43, string.ascii_letters + string.digits + "-_")
            who = {"userid": userid} if userid else {"openid": openid or "o" + _rand(27)}
            if external_userid:
                who["external_userid"] = external_userid
            self.oauth_codes[code] = {"who": who, "issued": self.now(), "used": False}
            return code

    def oauth_as(self, userid=None, openid=None):
        with self.lock:
            self.oauth_member = {"userid": userid} if userid else ({"openid": openid} if openid else None)

    def authorize(self, q):
        """GET /connect/oauth2/authorize: (status, headers, body). Inside the WeCom client the
        member is sent on at once (snsapi_base asks nothing) to redirect_uri with code and state."""
        with self.lock:
            redirect = q.get("redirect_uri", "")
            host = urllib.parse.urlsplit(redirect).hostname
            state = q.get("state", "")
            bad = (q.get("appid") != self.corp_id or q.get("response_type") != "code"
                   or q.get("scope") not in ("snsapi_base", "snsapi_privateinfo")
                   or (q.get("scope") == "snsapi_privateinfo" and not q.get("agentid"))
                   or not redirect.startswith(("http://", "https://"))
                   or (self.trusted_domain and host != self.trusted_domain)
                   or len(state) > 128 or not re.fullmatch(r"[A-Za-z0-9]*", state))
            if bad:
                return 200, {"Content-Type": "text/html; charset=utf-8"}, \
                    "<html><body>redirect_uri 参数错误</body></html>".encode()
            if not self.oauth_member:
                return 200, {"Content-Type": "text/html; charset=utf-8"}, b"<html>login</html>"
            m = self.oauth_member
            code = self.oauth_code(m.get("userid"), m.get("openid"))
        sep = "&" if "?" in redirect else "?"
        loc = redirect + sep + urllib.parse.urlencode({"code": code, "state": state})
        return 302, {"Location": loc}, b""

    def _getuserinfo(self, q, E):
        code = q.get("code")
        if not code:
            return E(41008)
        c = self.oauth_codes.get(code)
        if len(code) > 512 or not c or c["used"] or self.now() - c["issued"] > 300:
            return E(40029)
        c["used"] = True
        return E(0, **c["who"])

    def calls(self, path=None):
        with self.lock:
            return [j for j in self.journal if path is None or j["path"] == path]

    # -- faults ----------------------------------------------------------------------------------
    def _fault_for(self, path, body):
        with self.lock:
            for f in self.faults:
                if f["path"] != path:
                    continue
                if f["body_contains"] and f["body_contains"] not in body:
                    continue
                f["seen"] += 1
                if f["nth"] is not None and f["seen"] != f["nth"]:
                    continue
                if f["times"] is not None and f["fired"] >= f["times"]:
                    continue
                f["fired"] += 1
                return f["action"]
        return None

    # -- API -------------------------------------------------------------------------------------
    def _token_check(self, q, kind):
        tok = q.get("access_token")
        if not tok:
            return 41001
        secret = self.tokens.get(tok)
        if not secret:
            return 40014
        c = self.creds[secret]
        if c["token"] != tok:
            return 40014
        if self.now() >= c["expires"]:
            return 42001
        if c["kind"] != kind:
            return 48002
        return 0

    def api(self, method, path, q, raw):
        """One API request: returns (http_status, body_bytes, content_type, fault)."""
        body_text = raw.decode("utf-8", "replace")
        fault = self._fault_for(path, body_text)
        if fault:
            if "delay_ms" in fault:
                time.sleep(fault["delay_ms"] / 1000)
            if "reset" in fault:
                return None, b"", "", fault
            if "http_status" in fault:
                return fault["http_status"], b"<html><body>Bad Gateway</body></html>", "text/html", fault
            if "http_200_html" in fault:
                return 200, b"<html>captive portal</html>", "text/html", fault
            if "malformed_json" in fault:
                return 200, b'{"errcode":0,"errmsg":', "application/json", fault
            if "errcode" in fault:
                return 200, self._err(fault["errcode"]), "application/json", fault
            if "expire_token" in fault:
                self.expire_tokens()
        status, obj = self._api(method, path, q, raw)
        if fault and "apply_then_delay" in fault:
            time.sleep(fault["apply_then_delay"] / 1000)
        return status, json.dumps(obj, ensure_ascii=False).encode(), "application/json; charset=UTF-8", fault

    def _err(self, code, **extra):
        o = {"errcode": code, "errmsg": errmsg(code)}
        o.update(extra)
        return json.dumps(o).encode()

    def _api(self, method, path, q, raw):
        E = lambda code, **kw: (200, dict({"errcode": code, "errmsg": errmsg(code)}, **kw))
        with self.lock:
            if path == "/cgi-bin/gettoken":
                if q.get("corpid") != self.corp_id:
                    return E(40013)
                c = self.creds.get(q.get("corpsecret", ""))
                if not c:
                    return E(40001)
                c["calls"] += 1
                if not c["token"] or self.now() >= c["expires"]:
                    if c["token"]:
                        self.tokens.pop(c["token"], None)
                    c["token"] = "tok-" + _rand(40)
                    c["expires"] = self.now() + c["ttl"]
                    self.tokens[c["token"]] = q["corpsecret"]
                return E(0, access_token=c["token"], expires_in=max(1, int(c["expires"] - self.now())))
            if path == "/cgi-bin/webhook/send":
                key = q.get("key")
                if key not in self.robots:
                    return E(93000)
                self.robots[key].append(json.loads(raw or b"{}"))
                return E(0)
            kind = "kf" if path.startswith("/cgi-bin/kf/") else "app"
            code = self._token_check(q, kind)
            if code:
                return E(code)
            if path == "/cgi-bin/auth/getuserinfo":   # GET, no body
                return self._getuserinfo(q, E)
            try:
                b = json.loads(raw.decode("utf-8"))
                if not isinstance(b, dict):
                    raise ValueError
            except (ValueError, UnicodeDecodeError):
                return E(47001)
            if path == "/cgi-bin/message/send":
                return self._send(b, E)
            if path == "/cgi-bin/message/update_template_card":
                if b.get("agentid") != self.agent_id:
                    return E(40056)
                rc = self.response_codes.get(b.get("response_code"))
                if not rc or rc["used"]:
                    return E(40058)
                rc["used"] = True
                for u in b.get("userids") or []:
                    self.cards[u] = b
                return E(0, invaliduser=[])
            if path == "/cgi-bin/kf/sync_msg":
                return self._sync(b, E)
            if path == "/cgi-bin/kf/send_msg":
                return self._kf_send(b, E)
            return 404, {"error": "no such path"}

    def _send(self, b, E):
        if b.get("agentid") != self.agent_id:
            return E(40056)
        to = b.get("touser") or ""
        if not (to or b.get("toparty") or b.get("totag")):
            return E(82001)
        mt = b.get("msgtype")
        if mt not in ("text", "markdown", "textcard", "template_card", "image", "news"):
            return E(40008)
        if mt not in b:
            return E(40058)
        content = None
        extra = {}
        if mt == "text":
            content = (b["text"] or {}).get("content") or ""
            if not content:
                return E(44004)
        if mt == "template_card":
            card = b["template_card"]
            ct = card.get("card_type")
            if ct not in ("text_notice", "news_notice", "button_interaction", "vote_interaction",
                          "multiple_interaction"):
                return E(40058)
            if ct != "text_notice" and ct != "news_notice":
                tid = card.get("task_id") or ""
                if not re.fullmatch(r"[0-9a-zA-Z_\-@]{1,128}", tid) or tid in self.task_ids:
                    return E(40058)
                btns = card.get("button_list") or []
                if ct == "button_interaction" and (not btns or len(btns) > 6 or
                                                   len({x.get("key") for x in btns}) != len(btns)):
                    return E(40058)
                self.task_ids.add(tid)
                code = "RC_" + _rand(20)
                self.response_codes[code] = {"used": False, "issued": self.now()}
                extra["response_code"] = code
            content = json.dumps(card, sort_keys=True, ensure_ascii=False)
        users = [u for u in to.split("|") if u]
        valid = [u for u in users if self.directory is None or u in self.directory]
        invalid = [u for u in users if u not in valid]
        if users and not valid:
            return E(81013)
        key = (to, mt, content)
        effect = "delivered"
        if b.get("enable_duplicate_check") == 1:
            interval = min(b.get("duplicate_check_interval") or 1800, 14400)
            last = self.dup.get(key)
            if last is not None and self.now() - last < interval:
                effect = "suppressed_duplicate"
            else:
                self.dup[key] = self.now()
        if effect == "delivered":
            for u in valid:
                self.inbox.setdefault(u, []).append(b)
        self._effect = effect
        return E(0, invaliduser="|".join(invalid), invalidparty="", invalidtag="",
                 unlicenseduser="", msgid="msg-" + _rand(12), **extra)

    def _sync(self, b, E):
        tok = b.get("token")
        if tok:
            t = self.kf_tokens.get(tok)
            if t is None or self.now() - t > 600:
                return E(95007)
        if b.get("open_kfid") and b["open_kfid"] != self.open_kfid:
            return E(95000)
        cur = b.get("cursor") or ""
        try:
            pos = int(cur[1:]) if cur else 0
            if cur and not cur.startswith("c"):
                raise ValueError
        except ValueError:
            return E(40058)
        limit = min(int(b.get("limit") or 1000), 1000)
        page = self.kf_log[pos:pos + limit]
        nxt = pos + len(page)
        return E(0, next_cursor=f"c{nxt}", has_more=1 if nxt < len(self.kf_log) else 0,
                 msg_list=page)

    def _kf_send(self, b, E):
        if b.get("open_kfid") != self.open_kfid:
            return E(95000)
        u = b.get("touser")
        s = self.kf_sessions.get(u)
        if not s:
            return E(40096)
        if s["state"] not in (0, 1):
            return E(95018)
        if self.now() - s["last"] > 48 * 3600:
            return E(95002)
        if s["sent"] >= 5:
            return E(95001)
        mt = b.get("msgtype")
        if mt == "text":
            c = (b.get("text") or {}).get("content") or ""
            if not (1 <= len(c.encode()) <= 2048):
                return E(40058)
        elif mt == "msgmenu":
            m = b.get("msgmenu") or {}
            items = m.get("list") or []
            if not (1 <= len(items) <= 10) or len((m.get("head_content") or "").encode()) > 1024:
                return E(40058)
            for it in items:
                if it.get("type") == "click":
                    ck = it.get("click") or {}
                    if not (1 <= len(str(ck.get("id", "")).encode()) <= 64 and
                            1 <= len(str(ck.get("content", "")).encode()) <= 128):
                        return E(40058)
        msgid = b.get("msgid") or _rand(16)
        if not re.fullmatch(r"[0-9a-zA-Z_\-]{1,32}", msgid):
            return E(40058)
        s["sent"] += 1
        self.kf_sent.append(b)
        return E(0, msgid=msgid)

    # -- 微信客服 scenario ------------------------------------------------------------------------
    def kf_append(self, external_userid, text=None, menu_id=None, origin=3, msgtype="text",
                  body=None, send_time=None):
        with self.lock:
            t = int(send_time or self.now())
            m = {"msgid": "kfmsg-" + _rand(16), "open_kfid": self.open_kfid,
                 "external_userid": external_userid, "send_time": t, "origin": origin,
                 "msgtype": msgtype}
            if msgtype == "text":
                m["text"] = {"content": text}
                if menu_id is not None:
                    m["text"]["menu_id"] = menu_id
            elif body is not None:
                m[msgtype] = body
            self.kf_log.append(m)
            if origin == 3:
                s = self.kf_sessions.setdefault(external_userid, {"last": t, "sent": 0, "state": 1})
                s["last"] = t
                s["sent"] = 0
            return m

    def kf_bell(self, url, **kw):
        """Fires kf_msg_or_event with a fresh Token at the daemon's callback URL."""
        with self.lock:
            tok = "ENC" + _rand(44)
            self.kf_tokens[tok] = self.now()
        return self.callback(url, {"ToUserName": self.corp_id, "CreateTime": int(self.now()),
                                   "MsgType": "event", "Event": "kf_msg_or_event",
                                   "Token": tok, "OpenKfId": self.open_kfid}, **kw)

    def customer_says(self, url, external_userid, text, menu_id=None, **kw):
        self.kf_append(external_userid, text, menu_id)
        return self.kf_bell(url, **kw)

    def kf_texts_to(self, external_userid):
        with self.lock:
            out = []
            for b in self.kf_sent:
                if b.get("touser") != external_userid:
                    continue
                if b.get("msgtype") == "text":
                    out.append(b["text"]["content"])
                elif b.get("msgtype") == "msgmenu":
                    out.append(b["msgmenu"].get("head_content", ""))
            return out

    # -- the callback driver -------------------------------------------------------------------
    def envelope(self, fields, timestamp=None, nonce=None, random16=None):
        """(query, body) of a signed, encrypted POST for the message fields."""
        plain = xml_of(fields)
        enc = encrypt(self.encoding_aes_key, self.corp_id, plain, random16)
        ts = str(timestamp or int(self.now()))
        nonce = nonce or str(random.randint(10 ** 8, 10 ** 9))
        sig = signature(self.token, ts, nonce, enc)
        body = (f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName><AgentID>{cdata(self.agent_id)}"
                f"</AgentID><Encrypt>{cdata(enc)}</Encrypt></xml>")
        q = urllib.parse.urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce})
        return q, body

    def post(self, url, query, body, timeout=5.0):
        """One POST; returns (status, body, seconds) or (None, error, seconds) on timeout."""
        u = urllib.parse.urlsplit(url)
        t0 = time.time()
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        try:
            conn.request("POST", u.path + "?" + query, body=body.encode(),
                         headers={"Content-Type": "text/xml"})
            r = conn.getresponse()
            return r.status, r.read(), time.time() - t0
        except (socket.timeout, TimeoutError, OSError) as e:
            return None, str(e), time.time() - t0
        finally:
            conn.close()

    def callback(self, url, fields, deadline=5.0, retries=3, repeat=1, **kw):
        """Delivers a message the way WeCom does: a response slower than `deadline` or a non-200
        is retried (the identical request), at most `retries` times. repeat > 1 sends the same
        request that many times regardless (replays). Returns the list of (status, body, secs)."""
        q, body = self.envelope(fields, **kw)
        out = []
        for _ in range(repeat):
            for _attempt in range(retries + 1):
                st, b, secs = self.post(url, q, body, timeout=deadline)
                out.append((st, b, secs))
                if st == 200:
                    break
        return out

    def card_click(self, url, userid, key, task_id="task", **kw):
        with self.lock:
            code = "RC_" + _rand(20)
            self.response_codes[code] = {"used": False, "issued": self.now()}
        res = self.callback(url, {"ToUserName": self.corp_id, "FromUserName": userid,
                                  "CreateTime": int(self.now()), "MsgType": "event",
                                  "Event": "template_card_event", "EventKey": key,
                                  "TaskId": task_id, "CardType": "button_interaction",
                                  "ResponseCode": code, "AgentID": self.agent_id}, **kw)
        return code, res

    def member_says(self, url, userid, text, msgid=None, **kw):
        return self.callback(url, {"ToUserName": self.corp_id, "FromUserName": userid,
                                   "CreateTime": int(self.now()), "MsgType": "text",
                                   "Content": text, "MsgId": msgid or str(random.getrandbits(62)),
                                   "AgentID": self.agent_id}, **kw)

    def url_verify(self, url, echo_plain="1288432023552776189", tamper=False):
        enc = encrypt(self.encoding_aes_key, self.corp_id, echo_plain)
        ts, nonce = str(int(self.now())), "12345"
        sig = signature(self.token, ts, nonce, enc)
        if tamper:
            sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        q = urllib.parse.urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce,
                                    "echostr": enc})
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        try:
            conn.request("GET", u.path + "?" + q)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def inbox_of(self, userid):
        with self.lock:
            return list(self.inbox.get(userid, []))

    # -- HTTP ------------------------------------------------------------------------------------
    def start(self):
        stub = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                # headers and body are separate writes: without this, Nagle + delayed ACK
                # cost 40 ms per keep-alive request
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _send(self, status, data, ctype="application/json; charset=UTF-8"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
                raw = self._body() if method == "POST" else b""
                if u.path.startswith("/__stub/"):
                    return self._control(method, u.path, q, raw)
                if u.path == "/connect/oauth2/authorize":
                    status, hdrs, data = stub.authorize(q)
                    self.send_response(status)
                    for k, v in hdrs.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    with stub.lock:
                        stub.journal.append({"t": stub.now(), "method": method, "path": u.path,
                                             "query": q, "body": None, "raw": "", "status": status,
                                             "response": hdrs.get("Location", ""), "fault": None,
                                             "effect": None})
                    return
                status, data, ctype, fault = stub.api(method, u.path, q, raw)
                with stub.lock:
                    try:
                        parsed = json.loads(raw) if raw else None
                    except ValueError:
                        parsed = None
                    effect = getattr(stub, "_effect", None)
                    stub._effect = None
                    stub.journal.append({"t": stub.now(), "method": method, "path": u.path,
                                         "query": {k: v for k, v in q.items() if k != "corpsecret"},
                                         "body": parsed, "raw": raw.decode("utf-8", "replace"),
                                         "status": status, "response": data.decode("utf-8", "replace"),
                                         "fault": fault, "effect": effect})
                if status is None:             # reset: close without an answer
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self._send(status, data, ctype)

            def _control(self, method, path, q, raw):
                b = json.loads(raw) if raw else {}
                if path == "/__stub/reset":
                    stub.reset()
                elif path == "/__stub/credentials":
                    stub.add_credential(b["secret"], b.get("kind", "app"), b.get("agentid"), b.get("ttl"))
                elif path == "/__stub/faults":
                    stub.add_fault(b["match"]["path"], b["action"], b.get("times", 1),
                                   b["match"].get("nth"), b["match"].get("body_contains"))
                elif path == "/__stub/tokens/expire":
                    stub.expire_tokens(b.get("kind"))
                elif path == "/__stub/tokens/invalidate":
                    stub.invalidate_tokens(b.get("kind"))
                elif path == "/__stub/clock":
                    with stub.lock:
                        if "advance" in b:
                            stub.offset += b["advance"]
                        if "now" in b:
                            stub.offset = b["now"] - time.time()
                elif path == "/__stub/kf/messages":
                    stub.kf_append(b["external_userid"], b.get("text"), b.get("menu_id"),
                                   b.get("origin", 3))
                elif path == "/__stub/journal":
                    with stub.lock:
                        j = [x for x in stub.journal if not q.get("path") or x["path"] == q["path"]]
                    return self._send(200, json.dumps(j, ensure_ascii=False, default=str).encode())
                elif path == "/__stub/inbox":
                    return self._send(200, json.dumps(stub.inbox_of(q.get("userid")),
                                                      ensure_ascii=False).encode())
                else:
                    return self._send(404, b'{"error":"no such control"}')
                self._send(200, b'{"ok":true}')

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def cleanup(self):
        self.stop()

    def config(self):
        """The daemon's wecom.* keys for this stub."""
        return {"wecom.enabled": "true", "wecom.corp_id": self.corp_id,
                "wecom.agent_id": str(self.agent_id), "wecom.secret": self.app_secret,
                "wecom.token": self.token, "wecom.encoding_aes_key": self.encoding_aes_key,
                "wecom.kf_secret": self.kf_secret, "wecom.open_kfid": self.open_kfid,
                "wecom.api_base": self.base, "wecom.oauth_base": self.base}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=18080)
    a = ap.parse_args()
    s = Stub(port=a.port).start()
    print(json.dumps({"port": s.port, **s.config()}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        s.stop()


if __name__ == "__main__":
    main()

"""Integration harness for fengqiao: drives the real daemon (bin/fengqiao, or $FQ_BIN) through
docs/contract.md only: the CLI, the INI configuration, the HTTP endpoints and the MQTT topics.

Python 3 standard library only; MQTT goes through the mosquitto broker and mosquitto_sub /
mosquitto_pub. Every process a test starts (broker, subscriber, daemon) and every temporary
directory is registered here, and cleanup_all() (called by run.py after each test, pass or fail)
stops and removes them. run.py also runs each test in its own process group, so even a test that
hangs is cleaned up by killing the group.

Design choice: each test starts its own broker and daemon on free loopback ports in a temporary
directory, so tests are independent and a failure in one cannot leak state into another.
"""
import datetime
import getpass
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import zoneinfo

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FQ_BIN = os.path.abspath(os.environ.get("FQ_BIN") or os.path.join(ROOT, "bin", "fengqiao"))
SECRET = "it-chat-secret"
ADMIN = "it-admin-token"
PREFIX = "fq/v1"
KEEP = os.environ.get("FQ_KEEP") == "1"   # keep temp dirs for post-mortem

# The 14 categories of docs/contract.md 6.6, in the order the contract lists them.
CATEGORIES = [
    ("neighbour", "邻里纠纷"), ("family", "婚姻家庭"), ("support", "赡养抚养"),
    ("injury", "损害赔偿"), ("land", "土地承包与宅基地"), ("demolition", "征地拆迁"),
    ("wage", "欠薪与劳动争议"), ("property", "物业纠纷"), ("debt", "合同与债务"),
    ("medical", "医患纠纷"), ("traffic", "交通事故"), ("environment", "环境污染"),
    ("village_affairs", "村务与干群关系"), ("other", "其他"),
]
# The daemon's default server.timezone: its days and months, whatever TZ the tests run with.
LOCAL_ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
CASE_NO_RE = re.compile(r"FQ\d{8}-\d{4}")
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class Failure(AssertionError):
    """A failed expectation (not stripped by python -O, unlike assert)."""


def check(cond, msg):
    if not cond:
        raise Failure(msg)
    return cond


def short(obj, n=600):
    s = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, default=str)
    return s if len(s) <= n else s[:n] + "..."


# ---- resources and cleanup -------------------------------------------------------------------
_resources = []
_lock = threading.Lock()


def register(res):
    with _lock:
        _resources.append(res)
    return res


def cleanup_all():
    """Stops every registered process (last started first) and removes temp dirs."""
    with _lock:
        res = list(reversed(_resources))
        _resources.clear()
    for r in res:
        try:
            r.cleanup()
        except Exception:  # cleanup must go on whatever happened
            pass


def diagnostics(lines=30):
    """Log tails of the daemons still registered (for a failing test's report)."""
    out = []
    with _lock:
        res = list(_resources)
    for r in res:
        if isinstance(r, Daemon):
            out.append(f"--- daemon log {r.log} (last {lines} lines):\n{r.tail(lines)}")
    return "\n".join(out)


class TempDir:
    def __init__(self, prefix):
        self.path = tempfile.mkdtemp(prefix=prefix)
        register(self)

    def cleanup(self):
        if not KEEP:
            shutil.rmtree(self.path, ignore_errors=True)


def _stop_proc(proc, sig=signal.SIGTERM, timeout=5):
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


# ---- small helpers ---------------------------------------------------------------------------
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, timeout=10.0, step=0.05):
    """Polls pred until it returns something truthy; returns that, or None after timeout."""
    end = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() >= end:
            return None
        time.sleep(step)


def _connects(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def local_now():
    """Now in the daemon's default zone (server.timezone), for "this month" and "today"."""
    return datetime.datetime.now(LOCAL_ZONE)


def has_han(s):
    return bool(HAN_RE.search(s or ""))


def clean_env(extra=None):
    """The environment for a child: no FENGQIAO_* configuration overrides from the caller's
    shell (FENGQIAO_LOCALES, where the binary finds its catalogs, is kept), plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FENGQIAO_") or k == "FENGQIAO_LOCALES"}
    env.update(extra or {})
    return env


# ---- HTTP --------------------------------------------------------------------------------------
class Resp:
    """An HTTP answer: status, raw body bytes, headers (lower-case names), parsed JSON or None."""

    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def replies(self):
        """Reply texts of a chat answer."""
        j = self.json if isinstance(self.json, dict) else {}
        return [r.get("text", "") for r in (j.get("replies") or []) if isinstance(r, dict)]

    def reply_text(self):
        return "\n".join(self.replies())

    def get(self, key, default=None):
        return self.json.get(key, default) if isinstance(self.json, dict) else default

    def __repr__(self):
        return f"<{self.status} {short(self.text, 400)}>"


def http_request(port, method, path, body=None, headers=None, timeout=10):
    """One request on a fresh connection. body: bytes, str or None. Raises OSError when the
    connection fails (refused, reset)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Resp(r.status, data, {k.lower(): v for k, v in r.getheaders()})
    finally:
        c.close()


def sign(secret, ts, body):
    return "sha256=" + hmac.new(secret.encode(), str(ts).encode() + b"." + body,
                                hashlib.sha256).hexdigest()


def new_mid():
    return f"m-{random.getrandbits(64):016x}"


# ---- MQTT ------------------------------------------------------------------------------------
class Broker:
    """A real mosquitto on a free loopback port, with persistence (so persistent sessions and
    their queued QoS 1 messages survive stop()/start(), which simulate an outage)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = TempDir("fqit-broker-").path
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                    f"persistence true\npersistence_location {self.dir}/\n"
                    f"max_queued_messages 10000\n"
                    # as root, mosquitto would drop to user "mosquitto", who cannot write the
                    # persistence file into our 0700 temp dir
                    f"user {getpass.getuser()}\n")
        self.proc = None
        register(self)
        self.start()

    def start(self):
        log = open(os.path.join(self.dir, "mosquitto.log"), "a")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        if not wait_for(lambda: _connects(self.port), 5):
            raise RuntimeError(f"mosquitto did not start on port {self.port}")
        return self

    def stop(self):
        _stop_proc(self.proc)
        wait_for(lambda: not _connects(self.port), 3)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        _stop_proc(self.proc)

    def pub(self, topic, payload, qos=1, retain=False):
        args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", str(qos),
                "-t", topic, "-m", payload if isinstance(payload, str)
                else json.dumps(payload, ensure_ascii=False)]
        if retain:
            args.append("-r")
        subprocess.run(args, check=True, timeout=10, capture_output=True)


class Msg:
    __slots__ = ("topic", "payload", "raw")

    def __init__(self, topic, payload, raw):
        self.topic, self.payload, self.raw = topic, payload, raw

    def __repr__(self):
        return f"{self.topic} {short(self.raw, 300)}"


class Sub:
    """mosquitto_sub capturing every message (one JSON line each, -F %j) in arrival order.
    With client_id and clean=False the session is persistent: mosquitto_sub reconnects by
    itself after a broker restart and gets what was queued for it meanwhile."""

    def __init__(self, broker, topic=PREFIX + "/#", client_id=None, clean=True):
        self.broker = broker
        self.topic = topic
        self.client_id = client_id or f"fqit-sub-{random.getrandbits(32):08x}"
        self.clean = clean
        self.path = os.path.join(TempDir("fqit-sub-").path, "messages.jsonl")
        self.proc = None
        self._probe = None
        register(self)
        self.start()

    def start(self):
        args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "1",
                "-i", self.client_id, "-t", self.topic, "-F", "%j"]
        if not self.clean:
            args.append("-c")
        with open(self.path, "a") as f:
            self.proc = subprocess.Popen(args, stdout=f, stderr=subprocess.DEVNULL)
        self._wait_subscribed()
        return self

    def _wait_subscribed(self):
        # Publish a probe under the filter and wait to see it: the subscription is then active.
        if self.topic.endswith("#"):
            probe = self.topic[:-1] + f"_probe/{random.getrandbits(32):08x}"
            self._probe = probe
            for _ in range(50):
                self.broker.pub(probe, "probe", qos=1)
                if wait_for(lambda: any(m.topic == probe for m in self._all()), 0.5):
                    return
            raise RuntimeError("mosquitto_sub did not subscribe")
        time.sleep(0.5)

    def _all(self):
        out = []
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                for ln in f:
                    if not ln.endswith("\n"):
                        break  # a line still being written
                    try:
                        j = json.loads(ln)
                    except ValueError:
                        continue
                    raw = j.get("payload")
                    if not isinstance(raw, str):
                        raw = json.dumps(raw, ensure_ascii=False)
                    try:
                        p = json.loads(raw)
                    except ValueError:
                        p = raw
                    out.append(Msg(j.get("topic", ""), p, raw))
        except FileNotFoundError:
            pass
        return out

    def messages(self, topic=None, pred=None):
        """Messages in arrival order (probes left out); topic: exact topic to keep."""
        return [m for m in self._all()
                if "/_probe/" not in m.topic
                and (topic is None or m.topic == topic) and (pred is None or pred(m))]

    def wait(self, topic=None, pred=None, count=1, timeout=10):
        """Waits until at least count messages match; returns them (possibly fewer on timeout)."""
        wait_for(lambda: len(self.messages(topic, pred)) >= count, timeout)
        return self.messages(topic, pred)

    def stop(self):
        _stop_proc(self.proc)

    def cleanup(self):
        self.stop()


def mentions(msg, case_no):
    """True when an MQTT message is about case_no (its payload names it anywhere)."""
    return case_no in msg.raw


# ---- the roster used by the tests --------------------------------------------------------------
def base_roster():
    """A fresh copy of the test roster (callers may modify it)."""
    return {
        "org": [
            {"id": "county-zj", "name": "诸暨市", "level": "county", "parent": None},
            {"id": "town-fq", "name": "枫桥镇", "level": "town", "parent": "county-zj"},
            {"id": "vil-fy", "name": "枫源村", "level": "village", "parent": "town-fq",
             "aliases": ["枫源", "Fengyuan Cun", "fengyuancun"]},
            {"id": "grid-fy-01", "name": "枫源村第一网格", "level": "grid", "parent": "vil-fy",
             "aliases": ["一网格"], "latitude": 29.73, "longitude": 120.45},
            {"id": "vil-lq", "name": "栎桥村", "level": "village", "parent": "town-fq",
             "aliases": ["栎桥", "Liqiao Cun"]},
            {"id": "grid-lq-01", "name": "栎桥村第一网格", "level": "grid", "parent": "vil-lq",
             "latitude": 29.70, "longitude": 120.41},
        ],
        "mediators": [
            {"id": "m-wang", "name": "王建国", "role": "grid_worker", "org": "grid-fy-01",
             "wecom_userid": "WangJianGuo", "chat_user": "m-wang", "categories": ["*"],
             "max_open": 20},
            {"id": "m-zhao", "name": "赵敏", "role": "grid_worker", "org": "grid-lq-01",
             "chat_user": "m-zhao", "categories": ["*"]},
            {"id": "m-chen", "name": "陈秀英", "role": "village_mediator", "org": "vil-fy",
             "wecom_userid": "ChenXiuYing", "chat_user": "m-chen", "categories": ["*"]},
            {"id": "m-sun", "name": "孙立", "role": "village_mediator", "org": "vil-lq",
             "chat_user": "m-sun", "categories": ["*"]},
            {"id": "m-li", "name": "李司法", "role": "town_mediator", "org": "town-fq",
             "chat_user": "m-li", "categories": ["*"], "supervisor": True},
            {"id": "m-labour", "name": "周劳动", "role": "town_mediator", "org": "town-fq",
             "chat_user": "m-labour", "categories": ["wage"]},
            {"id": "m-county", "name": "钱正", "role": "county_mediator", "org": "county-zj",
             "categories": ["*"], "supervisor": True},
        ],
        "routes": [{"category": "wage", "org": "town-fq", "mediators": ["m-labour"]}],
    }


def assignment_topic(mediator_id):
    return f"{PREFIX}/mediators/{mediator_id}/assignments"


def event_topic(case_no):
    return f"{PREFIX}/events/cases/{case_no}"


# ---- the daemon --------------------------------------------------------------------------------
class Daemon:
    """The real daemon in a temp dir: INI config (docs/contract.md 2), roster imported with the CLI,
    `serve` started on a free port.

    broker: a Broker (mqtt enabled) or None (mqtt.enabled = false).
    extra: {"section.key": "value"} added to (or overriding) the config; a value None drops the
    key (e.g. {"chat.secret": None} for an unconfigured webhook).
    roster: a roster dict to import before start (None: no import).
    """

    def __init__(self, broker=None, extra=None, roster="default", env=None, start=True):
        if not os.path.exists(FQ_BIN):
            raise Failure(f"daemon binary not found: {FQ_BIN} (build it with make, or set FQ_BIN)")
        self.dir = TempDir("fqit-daemon-").path
        self.port = free_port()
        self.broker = broker
        self.db = os.path.join(self.dir, "fq.db")
        self.conf = os.path.join(self.dir, "fengqiao.conf")
        self.log = os.path.join(self.dir, "daemon.log")
        self.env = dict(env or {})
        self.secret = SECRET
        self.token = ADMIN
        self.proc = None
        sections = {
            "server": {"listen": f"127.0.0.1:{self.port}"},
            "store": {"path": self.db},
            "mqtt": {"enabled": "true" if broker else "false"},
            "chat": {"secret": SECRET},
            "admin": {"token": ADMIN},
            # the suite runs at any hour: reminders are not held for working hours except in
            # the tests of that (test_calendar.py)
            "calendar": {"hold_night": "false"},
        }
        if broker:
            sections["mqtt"].update({"host": "127.0.0.1", "port": str(broker.port),
                                     "client_id": f"fqit-{random.getrandbits(32):08x}"})
        for k, v in (extra or {}).items():
            sec, key = k.split(".", 1)
            if v is None:
                sections.get(sec, {}).pop(key, None)
            else:
                sections.setdefault(sec, {})[key] = str(v)
        if "secret" not in sections.get("chat", {}):
            self.secret = None
        if "token" not in sections.get("admin", {}):
            self.token = None
        write_ini(self.conf, sections)
        register(self)
        if roster == "default":
            roster = base_roster()
        if roster is not None:
            r = self.import_roster(roster)
            if r.returncode != 0:
                raise Failure(f"roster import failed (exit {r.returncode}): {r.stdout}{r.stderr}")
        if start:
            self.start()

    # CLI -----------------------------------------------------------------------------------
    def cli(self, *args, conf=True, timeout=30):
        argv = [FQ_BIN, *args] + (["-c", self.conf] if conf else [])
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              cwd=self.dir, env=clean_env(self.env))

    def import_roster(self, roster, name="roster.json"):
        """roster: a dict (written to a file) or a path. Returns the CompletedProcess."""
        if isinstance(roster, dict):
            path = os.path.join(self.dir, name)
            with open(path, "w", encoding="utf-8") as f:
                json.dump(roster, f, ensure_ascii=False, indent=1)
        else:
            path = roster
        return self.cli("roster", "import", path)

    # process -------------------------------------------------------------------------------
    def start(self, timeout=10):
        with open(self.log, "a") as logf:
            self.proc = subprocess.Popen([FQ_BIN, "serve", "-c", self.conf], stdout=logf,
                                         stderr=subprocess.STDOUT, cwd=self.dir,
                                         env=clean_env(self.env))
        if not wait_for(lambda: self.ready() or not self.alive(), timeout) or not self.alive():
            rc = self.proc.poll()
            raise Failure(f"daemon not ready within {timeout}s (exit code {rc}); log tail:\n"
                          + self.tail())
        return self

    def ready(self):
        try:
            return self.get("/readyz", timeout=2).status == 200
        except OSError:
            return False

    def mqtt_state(self):
        try:
            return self.get("/readyz", timeout=2).get("mqtt")
        except OSError:
            return None

    def wait_mqtt(self, state="connected", timeout=15):
        return wait_for(lambda: self.mqtt_state() == state, timeout, 0.1)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signals the daemon and waits; returns its exit code (negative: killed by a signal),
        or None when it had to be killed after timeout."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def kill(self):
        """kill -9: no chance to flush anything."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        _stop_proc(self.proc, timeout=6)

    def tail(self, n=40):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    # HTTP ----------------------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=10):
        return http_request(self.port, method, path, body, headers, timeout)

    def get(self, path, headers=None, timeout=10):
        return self.request("GET", path, None, headers, timeout)

    def chat_raw(self, body, ts=None, secret="default", content_type="application/json",
                 headers=None, signed=True, timeout=10):
        """POSTs body (bytes, str or dict) to the chat webhook, signed with secret (default: the
        configured one) at ts (default: now)."""
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode("utf-8")
        if secret == "default":
            secret = self.secret or SECRET
        ts = str(int(time.time()) if ts is None else ts)
        h = {}
        if content_type is not None:
            h["Content-Type"] = content_type
        if signed:
            h["X-FQ-Timestamp"] = ts
            h["X-FQ-Signature"] = sign(secret, ts, body)
        h.update(headers or {})
        return self.request("POST", "/chat/v1/messages", body, h, timeout)

    def chat(self, user, text, mid=None, channel="web", ts=None, secret="default", timeout=10,
             **fields):
        """A resident's (or mediator's) text message, signed; fields are added to the body."""
        body = {"channel": channel, "user": user, "message_id": mid or new_mid(),
                "type": "text", "text": text}
        body.update(fields)
        return self.chat_raw(body, ts=ts, secret=secret, timeout=timeout)

    def admin(self, method, path, body=None, token="default"):
        if token == "default":
            token = self.token or ADMIN
        h = {"Authorization": "Bearer " + token} if token is not None else {}
        if body is not None:
            h["Content-Type"] = "application/json"
            if isinstance(body, (dict, list)):
                body = json.dumps(body, ensure_ascii=False)
        return self.request(method, path, body, h)

    def cases(self, query=""):
        """The admin case list (docs/contract.md 3.4) as a list of dicts."""
        r = self.admin("GET", "/api/v1/cases" + (("?" + query) if query else ""))
        check(r.status == 200 and isinstance(r.get("cases"), list),
              f"GET /api/v1/cases answered {r}")
        return r.json["cases"]

    def case(self, case_no):
        """GET /api/v1/cases/{case_no}: the case (with its events) or None on 404."""
        r = self.admin("GET", f"/api/v1/cases/{case_no}")
        if r.status == 404:
            return None
        check(r.status == 200 and isinstance(r.json, dict),
              f"GET /api/v1/cases/{case_no} answered {r}")
        return unwrap_case(r.json)


def write_ini(path, sections):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# written by tests/integration/lib.py\n")
        for sec, kv in sections.items():
            f.write(f"[{sec}]\n")
            for k, v in kv.items():
                f.write(f"{k} = {v}\n")
            f.write("\n")


def unwrap_case(obj):
    """The admin API's case object. docs/contract.md 3.4 says "a case with events"; it does not fix
    whether the case is the top-level object or under "case", so both are accepted (with the
    events beside or inside it)."""
    if isinstance(obj, dict) and isinstance(obj.get("case"), dict):
        c = dict(obj["case"])
        for k in ("events", "surveys"):
            if k in obj and k not in c:
                c[k] = obj[k]
        return c
    return obj


def case_no_of(c):
    """The case number in a case object (the project's payload names it case_no)."""
    if not isinstance(c, dict):
        return None
    return c.get("case_no") or c.get("case") or c.get("no")


def event_types(case_obj):
    evs = case_obj.get("events") if isinstance(case_obj, dict) else None
    return [e.get("type") for e in (evs or []) if isinstance(e, dict)]


def case_nos(cases):
    return [case_no_of(c) for c in cases]


def drive_report(d, user, first, category_label=None, location="枫源村第一网格",
                 description="邻居在楼道堆放杂物，多次沟通无果", contact="跳过", max_turns=10,
                 channel="web", safety="否", **fields):
    """Walks the resident's conversation to a submitted case, answering whatever is asked;
    fields (e.g. name=) are added to every message; the safety question (ask_safety) gets safety;
    the question whether it adds to an open case (ask_supplement) gets "new report". Returns (case_no or None, transcript
    [(sent, Resp), ...])."""
    transcript = []
    r = d.chat(user, first, channel=channel, **fields)
    transcript.append((first, r))
    for _ in range(max_turns):
        if r.status != 200 or not isinstance(r.json, dict):
            return None, transcript
        state = r.get("state")
        if state == "submitted" and r.get("case"):
            return r.get("case"), transcript
        if state == "ask_category":
            opts = r.get("options") or []
            pick = next((o.get("key") for o in opts
                         if category_label and category_label in (o.get("label") or "")), None)
            ans = pick or (opts[0].get("key") if opts else "1")
        elif state == "ask_location":
            ans = location
        elif state == "ask_description":
            ans = description
        elif state == "ask_contact":
            ans = contact
        elif state == "confirm":
            ans = "1"
        elif state == "ask_safety":
            ans = safety
        elif state == "ask_supplement":
            # an open case and unclear whether this is about it (docs/contract.md 6.8): this
            # walk files a report, so the last option, a new report
            opts = r.get("options") or []
            ans = opts[-1].get("key") if opts else "2"
        else:
            return None, transcript
        r = d.chat(user, ans, channel=channel, **fields)
        transcript.append((ans, r))
    return None, transcript


def submit(d, user, first, **kw):
    """drive_report that must succeed: returns (case_no, transcript)."""
    case, tr = drive_report(d, user, first, **kw)
    check(case and CASE_NO_RE.fullmatch(case),
          f"report by {user} did not reach a case; transcript: "
          + short([(s, r.status, r.json) for s, r in tr], 1500))
    return case, tr


def states(transcript):
    return [r.get("state") for _, r in transcript]


def expect_error(r, status, code=None, what=""):
    """An error answer of docs/contract.md 3: the status, JSON {"error": code, "message": text}."""
    check(r.status == status, f"{what}: expected {status}, got {r}")
    j = r.json
    check(isinstance(j, dict) and isinstance(j.get("error"), str)
          and isinstance(j.get("message"), str),
          f"{what}: error body is not {{\"error\": code, \"message\": text}}: {r}")
    if code is not None:
        check(j["error"] == code, f"{what}: expected error {code!r}, got {j['error']!r}")
    ct = r.headers.get("content-type", "")
    check(ct.startswith("application/json"), f"{what}: error Content-Type is {ct!r}")
    return j

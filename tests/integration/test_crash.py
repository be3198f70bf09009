"""kill -9 under load: client threads submit reports concurrently while the daemon is
SIGKILLed at a random moment and restarted. Afterwards: every report that was answered 200
exists, case numbers are unique, a client that retries a request whose answer it never got (same
message_id) gets the same case, not a second one, and every case has its "created" and
"assigned" events (and its assignment) delivered on MQTT after the restart, in order; an event
delivered twice keeps its event_id.

The subscriber is a persistent mosquitto_sub session started before the daemon, so nothing
published across the kill is missed by the watcher itself. crash_rounds() is shared with
tests/soak/soak.py, which runs it with many kills."""
import random
import re
import threading
import time

import lib
from lib import Broker, Daemon, Sub, check, new_mid, short

# FQ<date>-<4-digit sequence>; a soak can pass 9999 cases a day, and the number then grows to
# 5 digits (unique still) rather than wrapping
CASE_NO = re.compile(r"FQ\d{8}-\d{4,}")
ONE_MESSAGE = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话1380000{:04d}"


class Client:
    """One resident: a one-message report (→ confirm), then "1" (→ submitted). Each request has
    a fixed message_id so it can be retried after a crash."""

    def __init__(self, n):
        self.user = f"res-crash-{n}"
        self.text = ONE_MESSAGE.format(n % 10000)
        self.mids = [new_mid(), new_mid()]
        self.step = 0          # requests answered 200 so far (0, 1, 2)
        self.case = None
        self.errors = 0        # connection errors (refused, reset, timeout)
        self.unavailable = 0   # 503 answers

    def send(self, d, timeout=10):
        """Sends the next request; returns True when it was answered (200 or an error status)."""
        text = self.text if self.step == 0 else "1"
        try:
            r = d.chat(self.user, text, mid=self.mids[self.step], timeout=timeout)
        except OSError:
            self.errors += 1
            return False
        if r.status == 503:   # store unavailable or shutting down: not acknowledged, retry
            self.unavailable += 1
            return False
        check(r.status == 200, f"{self.user} step {self.step}: {r}")
        if self.step == 0:
            check(r.get("state") == "confirm", f"{self.user}: expected confirm, got {r}")
        else:
            check(r.get("state") == "submitted" and CASE_NO.fullmatch(r.get("case") or ""),
                  f"{self.user}: expected a submitted case, got {r}")
            self.case = r.get("case")
        self.step += 1
        return True

    def done(self):
        return self.step == 2


class Counter:
    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            self.n += 1
            return self.n


def load(d, clients, counter, stop, n_threads):
    """n_threads threads walking new clients (appended to clients) to a case until stop is set,
    so the load is still running whenever the kill lands; returns the threads."""
    lock = threading.Lock()

    def worker():
        cur = None
        while not stop.is_set():
            if cur is None or cur.done():
                cur = Client(counter.next())
                with lock:
                    clients.append(cur)
            if not cur.send(d, timeout=5):
                time.sleep(0.05)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(n_threads)]
    for t in threads:
        t.start()
    return threads


def finish_all(d, clients):
    """After the restart: every client retries what it did not get an answer for (with the
    same message_id), and walks on to its case."""
    for c in clients:
        for _ in range(6):
            if c.done():
                break
            if not c.send(d):
                time.sleep(0.2)
        check(c.done(), f"{c.user} could not finish its report after the restart")


def crash_rounds(d, rounds, n_threads=6, min_s=0.3, max_s=1.5, log=None, counter=None):
    """`rounds` times: load from n_threads threads, SIGKILL at a random moment, restart, let
    every interrupted client retry. Returns the clients. Checks nothing about MQTT."""
    clients = []
    counter = counter or Counter()
    for rnd in range(rounds):
        batch = []
        stop = threading.Event()
        threads = load(d, batch, counter, stop, n_threads)
        time.sleep(random.uniform(min_s, max_s))
        d.kill()
        stop.set()
        for t in threads:
            t.join(15)
        answered = sum(c.done() for c in batch)
        d.start()
        finish_all(d, batch)
        clients += batch
        if log:
            log(f"round {rnd + 1}: killed with {answered} of {len(batch)} reports answered, "
                f"{sum(1 for c in batch if c.errors)} interrupted and retried")
    return clients


def verify(d, sub, clients, timeout=30):
    """Every answered report exists once, with its events delivered (dedup by event_id)."""
    acked = {c.user: c.case for c in clients if c.done()}
    check(acked, "no report was answered 200: nothing was tested")
    nos = list(acked.values())
    check(len(set(nos)) == len(nos), f"a case number was given to two reports: {short(acked)}")
    stored = lib.case_nos(d.cases("limit=10000"))
    if len(stored) >= 10000:   # a long soak: the admin API pages at 10000, the CLI walks every page
        import json
        r = d.cli("cases", "list", "--format", "json", timeout=120)
        check(r.returncode == 0, f"cases list: {r.stderr}")
        stored = lib.case_nos(json.loads(r.stdout)["cases"])
    check(len(stored) == len(set(stored)), f"duplicate case numbers in the store: {short(stored)}")
    missing = sorted(set(nos) - set(stored))
    check(not missing, f"{len(missing)} answered cases lost after kill -9: {missing[:10]}")
    # Every stored case belongs to a client that got it (a retry never opened a second case).
    extra = sorted(set(stored) - set(nos))
    check(not extra, f"cases nobody was told about (a retry opened a second case?): {extra[:10]}")

    def delivered():
        evs = sub.messages(pred=lambda m: m.topic.startswith(lib.PREFIX + "/events/cases/"))
        have = {(m.topic.rsplit("/", 1)[1], m.payload.get("type")) for m in evs
                if isinstance(m.payload, dict)}
        return all((c, t) in have for c in stored for t in ("created", "assigned"))
    lib.wait_for(delivered, timeout, 0.2)
    evs = [m for m in sub.messages() if m.topic.startswith(lib.PREFIX + "/events/cases/")]
    by_case = {}
    ids_of = {}
    for m in evs:
        p = m.payload
        check(isinstance(p, dict) and p.get("event_id"), f"event without event_id: {m}")
        c = m.topic.rsplit("/", 1)[1]
        ids_of.setdefault((c, p["type"]), set()).add(p["event_id"])
        if p["event_id"] not in {e for e, _ in by_case.get(c, [])}:
            by_case.setdefault(c, []).append((p["event_id"], p["type"]))
    for c in stored:
        types = [t for _, t in by_case.get(c, [])]
        check("created" in types and "assigned" in types,
              f"{c}: events after the restarts {types} (expected created and assigned)")
        check(types.index("created") < types.index("assigned"), f"{c}: out of order {types}")
    for (c, t), ids in ids_of.items():
        check(len(ids) == 1, f"{c} {t} delivered with {len(ids)} different event_ids: {ids}")
    # assignments (m-wang takes 20, then others): one per case, duplicates share the id
    asg = {}
    for m in sub.messages(pred=lambda m: m.topic.endswith("/assignments")):
        cn = lib.case_no_of(m.payload.get("case")) if isinstance(m.payload, dict) else None
        asg.setdefault(cn, set()).add(m.payload.get("event_id"))
    lost = [c for c in stored if c not in asg]
    check(not lost, f"assignments not delivered: {lost[:10]}")
    check(all(len(v) == 1 for v in asg.values()),
          f"an assignment was delivered with a new event_id: {short(asg)}")
    dups = len(evs) - sum(len(v) for v in by_case.values())
    return len(acked), dups


def test_kill9_under_load():
    b = Broker()
    sub = Sub(b, client_id=f"fqit-crash-{random.getrandbits(24):06x}", clean=False)
    d = Daemon(b)
    check(d.wait_mqtt("connected", 15), "daemon never connected to the broker")
    clients = crash_rounds(d, rounds=1, min_s=0.5, max_s=2.0, log=print)
    n, dups = verify(d, sub, clients)
    print(f"kill -9 under load: {n} reports answered, all stored, events delivered "
          f"({dups} duplicate deliveries, same event_id)")


test_kill9_under_load.timeout = 60


def outage_under_load(d, b, n_threads=6, before_s=0.5, down_s=2.0, after_s=0.7, log=None,
                      counter=None):
    """Load while the broker goes down for down_s and comes back: every request must still be
    answered 200 (intake never waits for the broker). Returns the clients."""
    counter, clients, stop = counter or Counter(), [], threading.Event()
    threads = load(d, clients, counter, stop, n_threads)
    time.sleep(before_s)
    b.stop()
    time.sleep(down_s)
    b.start()
    time.sleep(after_s)
    stop.set()
    for t in threads:
        t.join(15)
    bad = [c.user for c in clients if c.errors or c.unavailable]
    check(not bad, f"requests failed while the broker was down: {bad[:10]}")
    finish_all(d, clients)   # the last client of each thread may be between its two steps
    if log:
        log(f"broker outage of {down_s}s under load: {len(clients)} reports, all answered 200")
    return clients


def test_broker_outage_under_load():
    b = Broker()
    sub = Sub(b, client_id=f"fqit-bo-{random.getrandbits(24):06x}", clean=False)
    d = Daemon(b)
    check(d.wait_mqtt("connected", 15), "daemon never connected to the broker")
    clients = outage_under_load(d, b)
    n, dups = verify(d, sub, clients)
    print(f"broker outage under load: {n} reports, events all delivered in order ({dups} dups)")


test_broker_outage_under_load.timeout = 60

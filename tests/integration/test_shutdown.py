"""Graceful shutdown (docs/contract.md 1): SIGTERM while clients are submitting and the broker
is down (so the outbox holds undelivered events): requests already in flight are answered, the
daemon exits 0 within 5 s, every answered report is stored, and the outbox rows that were still
queued are kept and delivered, in order per case, after a restart."""
import json
import random
import signal
import threading
import time

import lib
from lib import Broker, Daemon, Sub, check, short
from test_crash import Client, Counter


def outbox_depth(d):
    for ln in d.get("/metrics").text.splitlines():
        if ln.startswith("fq_outbox_depth "):
            return int(float(ln.split()[1]))
    return None


def test_sigterm_under_load_keeps_outbox():
    b = Broker()
    sub = Sub(b, client_id=f"fqit-shut-{random.getrandbits(24):06x}", clean=False)
    d = Daemon(b)
    check(d.wait_mqtt("connected", 15), "daemon never connected to the broker")
    b.stop()
    check(d.wait_mqtt("disconnected", 15), "readyz does not see the broker outage")

    counter, clients, log = Counter(), [], []   # log: (sent_at, answered_at, outcome)
    lock = threading.Lock()
    stop = threading.Event()

    def worker():
        cur = None
        while not stop.is_set():
            if cur is None or cur.done():
                cur = Client(counter.next())
                with lock:
                    clients.append(cur)
            t0 = time.time()
            before = cur.errors
            ok = cur.send(d, timeout=8)
            outcome = "answered" if ok else ("error" if cur.errors > before else "503")
            with lock:
                log.append((t0, time.time(), outcome))
            if not ok:
                time.sleep(0.05)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    depth = outbox_depth(d)
    check(depth and depth > 0, f"the outbox holds nothing during the outage (depth {depth})")
    t_term = time.time()
    d.proc.send_signal(signal.SIGTERM)
    try:
        rc = d.proc.wait(6)
    except Exception:
        rc = "still running"
    elapsed = time.time() - t_term
    stop.set()
    for t in threads:
        t.join(10)
    check(rc == 0, f"exit code after SIGTERM under load: {rc}; log:\n{d.tail(15)}")
    check(elapsed <= 5.0, f"exit took {elapsed:.2f}s (contract: within 5 s)")

    # In flight at the signal (sent before it, answered after): answered, not dropped.
    inflight = [e for e in log if e[0] < t_term - 0.005 and e[1] > t_term]
    dropped = [e for e in inflight if e[2] == "error"]
    check(not dropped, f"{len(dropped)} requests in flight at SIGTERM lost their connection")
    answered = sum(1 for c in clients if c.done())
    check(answered, "no report was answered before the shutdown")

    b.start()
    d.start()
    from test_crash import finish_all, verify
    finish_all(d, clients)
    n, dups = verify(d, sub, clients)
    print(f"SIGTERM under load: exit 0 in {elapsed:.2f}s, outbox depth {depth} at the signal, "
          f"{len(inflight)} requests in flight answered {[e[2] for e in inflight]}; {n} reports, events all delivered "
          f"after the restart ({dups} duplicates)")


test_sigterm_under_load_keeps_outbox.timeout = 60


def test_sigterm_answers_request_with_body_on_its_way():
    """A request whose headers arrived but whose body was still on its way when SIGTERM came is
    in flight too: it is answered (and stored) when the rest arrives, and the daemon still exits
    0 within 5 s."""
    import socket
    from test_hostile import jb, msg, raw_http, signed_headers
    d = Daemon()
    r = d.chat("res-slow", "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000009")
    check(r.get("state") == "confirm", f"setup: {r}")
    body = jb(msg("res-slow", text="1"))
    req = raw_http("POST", "/chat/v1/messages", signed_headers(body), body)
    s = socket.create_connection(("127.0.0.1", d.port), 3)
    s.sendall(req[:-8])
    time.sleep(0.3)                     # the daemon has the headers and part of the body
    t0 = time.time()
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    s.sendall(req[-8:])
    s.settimeout(5)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    s.close()
    try:
        rc = d.proc.wait(6)
    except Exception:
        rc = "still running"
    elapsed = time.time() - t0
    check(out.startswith(b"HTTP/1.1 200"), f"the request in flight at SIGTERM got {out[:200]!r}")
    check(rc == 0 and elapsed <= 5.0, f"exit {rc} after {elapsed:.2f}s")
    case = json.loads(out.split(b"\r\n\r\n", 1)[1]).get("case")
    d.start()
    check(case in lib.case_nos(d.cases()), f"the case answered at shutdown ({case}) was not stored")

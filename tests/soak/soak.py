#!/usr/bin/env python3
"""soak.py: `make soak`. The real daemon under continuous load from client threads for
--seconds (default 120), with, in turn: kill -9 at a random moment (at least --min-kills, default
10), a broker outage under load, and a graceful SIGTERM under load. After every disruption the
daemon is restarted and each interrupted client retries what it was not answered (same
message_id). At the end: every report answered 200 exists exactly once, case numbers are unique,
and every case's "created" and "assigned" events and its assignment were delivered on MQTT to a
persistent subscriber that watched the whole run, each with one event_id however often it was
delivered.

Reuses the integration harness (tests/integration/lib.py) and the kill -9 test's clients and
checks (test_crash.py), so the soak and `make test` check the same things. Prints one line per
round and a summary; exit 0 when everything held, 1 otherwise."""
import argparse
import os
import random
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import lib  # noqa: E402
import test_crash  # noqa: E402
from lib import Broker, Daemon, Sub, check  # noqa: E402


def sigterm_under_load(d, counter, n_threads, log):
    """SIGTERM at a random moment of the load: exit 0 within 5 s, then restart."""
    import threading
    clients, stop = [], threading.Event()
    threads = test_crash.load(d, clients, counter, stop, n_threads)
    time.sleep(random.uniform(0.3, 1.5))
    t0 = time.time()
    d.proc.send_signal(signal.SIGTERM)
    try:
        rc = d.proc.wait(10)
    except Exception:
        rc = "still running"
    elapsed = time.time() - t0
    stop.set()
    for t in threads:
        t.join(15)
    check(rc == 0, f"exit code after SIGTERM under load: {rc}")
    check(elapsed <= 5.0, f"SIGTERM: exit took {elapsed:.2f}s (contract: within 5 s)")
    d.start()
    test_crash.finish_all(d, clients)
    log(f"SIGTERM under load: exit 0 in {elapsed:.2f}s, {len(clients)} reports")
    return clients


def main():
    ap = argparse.ArgumentParser(description="fengqiao soak: kills, outages, restarts under load")
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--min-kills", type=int, default=10)
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    t_start = time.time()

    def log(s):
        print(f"[{time.time() - t_start:6.1f}s] {s}", flush=True)

    log(f"soak: {a.seconds:.0f}s, at least {a.min_kills} kills, {a.threads} threads, seed {seed}")
    ok = False
    kills = outages = terms = 0
    clients = []
    try:
        b = Broker()
        sub = Sub(b, client_id=f"fqsoak-{random.getrandbits(24):06x}", clean=False)
        d = Daemon(b)
        check(d.wait_mqtt("connected", 15), "daemon never connected to the broker")
        counter = test_crash.Counter()
        rnd = 0
        while time.time() - t_start < a.seconds or kills < a.min_kills:
            rnd += 1
            if rnd % 5 == 0:
                clients += sigterm_under_load(d, counter, a.threads, log)
                terms += 1
            elif rnd % 4 == 0:
                clients += test_crash.outage_under_load(
                    d, b, a.threads, down_s=random.uniform(1, 4), log=log, counter=counter)
                outages += 1
            else:
                clients += test_crash.crash_rounds(d, 1, a.threads, log=log, counter=counter)
                kills += 1
            check(d.wait_mqtt("connected", 15), "daemon did not reconnect to the broker")
        log("verifying every answered report and its events ...")
        n, dups = test_crash.verify(d, sub, clients, timeout=120)
        log(f"soak passed: {kills} kills, {outages} broker outages, {terms} SIGTERMs; {n} reports "
            f"answered and stored once each; events and assignments all delivered "
            f"({dups} duplicate deliveries, each with its first event_id)")
        ok = True
    except Exception as e:  # report and fail
        log(f"soak FAILED: {type(e).__name__}: {e}")
        log(lib.diagnostics(20))
    finally:
        lib.cleanup_all()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

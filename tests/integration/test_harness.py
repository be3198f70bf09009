"""Tests of the harness itself (no daemon needed): the broker, the subscriber across a broker
outage, and the webhook signature, so a failure of the daemon tests is not the harness's own."""
import subprocess

import lib
from lib import Broker, Sub, check


def test_broker_sub_order_and_outage():
    b = Broker()
    s = Sub(b, client_id="fqit-harness", clean=False)
    for i in range(20):
        b.pub(f"{lib.PREFIX}/events/cases/X", {"n": i})
    got = s.wait(f"{lib.PREFIX}/events/cases/X", count=20, timeout=5)
    check([m.payload["n"] for m in got] == list(range(20)), f"out of order or missing: {got}")
    # A persistent session keeps what is published while the subscriber is reconnecting.
    b.stop()
    check(not b.running(), "broker still running after stop")
    b.start()
    b.pub(f"{lib.PREFIX}/after", {"after": True})
    got = s.wait(f"{lib.PREFIX}/after", timeout=10)
    check(len(got) == 1 and got[0].payload == {"after": True}, f"after restart: {got}")


def test_signature_matches_openssl():
    body = '{"channel":"web","user":"u","message_id":"m","type":"text","text":"你好"}'.encode()
    ts = "1700000000"
    ours = lib.sign("k3y", ts, body)
    p = subprocess.run(["openssl", "dgst", "-sha256", "-hmac", "k3y"], input=ts.encode() + b"." + body,
                       capture_output=True, check=True)
    theirs = p.stdout.decode().strip().split()[-1]
    check(ours == "sha256=" + theirs, f"{ours} != sha256={theirs}")

#!/usr/bin/env python3
"""wecom_e2e.py: end-to-end WeCom callbacks/s on loopback: the real daemon (bin/fengqiao or
$FQ_BIN), the WeCom stub answering the API (tests/wecom_stub.py), N encrypted, signed text
messages from N distinct app members POSTed by T client threads with keep-alive. Prints the rate
at which callbacks were answered (200, empty body) and the rate at which the daemon's replies
reached the stub (message/send), beside the chat webhook's rate for the same messages from the
same run.

Usage: python3 tests/bench/wecom_e2e.py [N=2000] [T=8]"""
import http.client
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))
import lib  # noqa: E402
import wecom_stub  # noqa: E402


def fire(port, reqs, threads):
    """reqs: [(method, path, body, headers)]; returns seconds for all, statuses."""
    chunks = [reqs[i::threads] for i in range(threads)]
    statuses = []
    lock = threading.Lock()

    def worker(chunk):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        out = []
        for m, p, b, h in chunk:
            c.request(m, p, body=b, headers=h)
            r = c.getresponse()
            r.read()
            out.append(r.status)
        c.close()
        with lock:
            statuses.extend(out)

    ts = [threading.Thread(target=worker, args=(ch,)) for ch in chunks]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.time() - t0, statuses


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    stub = wecom_stub.Stub().start()
    d = lib.Daemon(extra=stub.config())
    try:
        reqs = []
        for i in range(n):
            q, body = stub.envelope({"ToUserName": stub.corp_id, "FromUserName": f"bench{i}",
                                     "CreateTime": int(time.time()), "MsgType": "text",
                                     "Content": "你好", "MsgId": str(10 ** 12 + i),
                                     "AgentID": stub.agent_id})
            reqs.append(("POST", "/wecom/callback?" + q, body.encode(), {"Content-Type": "text/xml"}))
        secs, st = fire(d.port, reqs, threads)
        ok = st.count(200)
        print(f"wecom callbacks answered: {ok}/{n} in {secs:.2f}s = {ok / secs:.0f}/s")
        t0 = time.time()
        lib.wait_for(lambda: len(stub.calls("/cgi-bin/message/send")) >= n, 120, 0.2)
        sent = len(stub.calls("/cgi-bin/message/send"))
        total = secs + (time.time() - t0)
        print(f"replies delivered to the stub: {sent}/{n}, end to end {total:.2f}s = {sent / total:.0f}/s")
        chat = []
        for i in range(n):
            b = json.dumps({"channel": "web", "user": f"chatbench{i}", "message_id": f"m{i}",
                            "type": "text", "text": "你好"}, ensure_ascii=False).encode()
            ts = str(int(time.time()))
            chat.append(("POST", "/chat/v1/messages", b,
                         {"Content-Type": "application/json", "X-FQ-Timestamp": ts,
                          "X-FQ-Signature": lib.sign(lib.SECRET, ts, b)}))
        secs, st = fire(d.port, chat, threads)
        print(f"chat webhook (same daemon, same run): {st.count(200)}/{n} in {secs:.2f}s = "
              f"{st.count(200) / secs:.0f}/s")
    finally:
        lib.cleanup_all()
        stub.stop()


if __name__ == "__main__":
    main()

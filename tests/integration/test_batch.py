"""Group commit with one bad message in a batch: the core runs a batch of chat messages without
a savepoint per message and, when one of them fails, rolls the batch back and runs it again with
savepoints (bot/core/core.c). The failed message gets 503 and leaves nothing behind; every other
message of the batch is answered 200 and stored, exactly once.

How a message is made to fail: a trigger added to the database before the daemon starts aborts
the inbox row of one resident ("poison"), so that resident's every message fails inside the
store, as a constraint or I/O error would, while the others' go through."""
import sqlite3
import threading

import lib
from lib import Daemon, check

REPORT = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果"


def metric(d, name):
    for line in d.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_one_failing_message_does_not_sink_its_batch():
    d = Daemon(start=False)
    db = sqlite3.connect(d.db)
    db.execute("CREATE TRIGGER poison BEFORE INSERT ON inbox WHEN NEW.scope LIKE '%poison%' "
               "BEGIN SELECT RAISE(ABORT, 'poisoned for the test'); END")
    db.commit()
    db.close()
    d.start()

    users = [f"res-batch-{i}" if i % 4 else f"poison-{i}" for i in range(48)]
    results = {}
    lock = threading.Lock()
    go = threading.Event()

    def send(user, rounds=3):
        go.wait()
        for k in range(rounds):
            mid = f"{user}-m{k}"
            r = d.chat(user, REPORT if k == 0 else "你好", mid=mid)
            with lock:
                results[(user, k)] = (mid, r)

    b0, m0 = metric(d, "fq_batches_total"), metric(d, "fq_batch_messages_total")
    threads = [threading.Thread(target=send, args=(u,)) for u in users]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(60)
    b1, m1 = metric(d, "fq_batches_total"), metric(d, "fq_batch_messages_total")
    check(len(results) == 3 * len(users), f"answers: {len(results)} of {3 * len(users)}")
    # the messages were committed in groups, so good and poisoned ones shared batches
    check(m1 - m0 >= 3 * len(users) and (m1 - m0) / max(b1 - b0, 1) >= 1.5,
          f"messages per batch {(m1 - m0)}/{(b1 - b0)}: no group commit to test")

    for (user, k), (mid, r) in sorted(results.items()):
        if user.startswith("poison"):
            lib.expect_error(r, 503, "unavailable", f"{user} message {k}")
        else:
            check(r.status == 200 and r.get("state"), f"{user} message {k}: {r}")
    # the good answers were stored once: a retry gets the very same answer back
    for (user, k), (mid, r) in sorted(results.items()):
        if not user.startswith("poison"):
            again = d.chat(user, REPORT if k == 0 else "你好", mid=mid)
            check(again.status == 200 and again.body == r.body,
                  f"retry of {user} message {k}: {again} (first {r})")
    # nothing of the poisoned residents was kept; the others' conversations were
    db = sqlite3.connect(d.db)
    try:
        poisoned = db.execute("SELECT count(*) FROM conversations WHERE user LIKE 'poison%'"
                              ).fetchone()[0]
        kept = db.execute("SELECT count(*) FROM conversations WHERE user LIKE 'res-batch-%'"
                          ).fetchone()[0]
        inbox = db.execute("SELECT count(*) FROM inbox WHERE scope LIKE '%res-batch-%'"
                           ).fetchone()[0]
    finally:
        db.close()
    good = sum(1 for u in users if not u.startswith("poison"))
    check(poisoned == 0, f"{poisoned} conversations of poisoned residents were stored")
    check(kept == good, f"conversations stored: {kept} of {good}")
    check(inbox == 3 * good, f"inbox rows: {inbox} of {3 * good}")
    check(d.alive() and d.get("/readyz").status == 200, "the daemon after the poisoned batches")


test_one_failing_message_does_not_sink_its_batch.timeout = 90

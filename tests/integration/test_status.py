"""The daemon's retained status {p}/status/{client_id} through a real mosquitto: online with
the time it connected; after kill -9 the broker's last will, {"state": "offline"} with no "at"
(the will is registered before connecting and cannot know when the daemon went away); after a
clean SIGTERM the daemon's own offline status, with an "at" at or after the stop."""
import calendar
import time

from lib import PREFIX, Broker, Daemon, Sub, check, short


def status_msgs(sub):
    return [m for m in sub.messages() if m.topic.startswith(f"{PREFIX}/status/")
            and "/_probe/" not in m.topic]


def last_status(b, topic):
    """What a subscriber that comes now gets: the retained status."""
    s = Sub(b, topic)
    got = s.wait(topic, timeout=5)
    s.stop()
    check(got, f"no retained status on {topic}")
    return got[-1].payload


def epoch(at):
    check(isinstance(at, str) and len(at) == 20 and at.endswith("Z"), f"RFC 3339 UTC: {at!r}")
    return calendar.timegm(time.strptime(at, "%Y-%m-%dT%H:%M:%SZ"))


def test_will_has_no_time_and_clean_stop_has_the_stop_time():
    b = Broker()
    sub = Sub(b, f"{PREFIX}/status/#")
    d = Daemon(b)
    check(d.wait_mqtt("connected", 15), "daemon not connected")
    got = sub.wait(pred=lambda m: isinstance(m.payload, dict)
                   and m.payload.get("state") == "online", timeout=10)
    check(got, f"no online status: {short(status_msgs(sub))}")
    topic = got[0].topic
    epoch(got[0].payload.get("at"))

    time.sleep(2.1)            # a will stamped at connect time would now be visibly stale
    d.kill()
    got = sub.wait(topic, lambda m: m.payload.get("state") == "offline", timeout=10)
    check(got, f"no last will after kill -9: {short(status_msgs(sub))}")
    check(got[0].payload == {"state": "offline"},
          f"the will says more than offline (a time it cannot know?): {got[0].raw}")
    check(last_status(b, topic) == {"state": "offline"}, "the will is not the retained status")

    d.start()
    check(d.wait_mqtt("connected", 15), "daemon not reconnected")
    check(sub.wait(topic, lambda m: m.payload.get("state") == "online", count=2, timeout=10),
          "no online status after the restart")
    time.sleep(1.1)
    n = len(sub.messages(topic))
    stopped = int(time.time())
    check(d.stop() == 0, "SIGTERM did not end the daemon cleanly")
    got = sub.wait(topic, count=n + 1, timeout=10)[n:]
    check(got and got[0].payload.get("state") == "offline",
          f"no offline status on SIGTERM: {short([m.raw for m in got])}")
    check(epoch(got[0].payload.get("at")) >= stopped,
          f"the clean stop's offline at {got[0].payload.get('at')} is before the stop ({stopped})")
    retained = last_status(b, topic)
    check(retained.get("state") == "offline" and retained.get("at") == got[0].payload["at"],
          f"retained after a clean stop: {retained}")

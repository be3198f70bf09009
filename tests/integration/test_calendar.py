"""The working calendar over the wire (docs/contract.md 2.5, 7.4): an SLA in working days across
an office's 调休 weekend (a weekday holiday and a make-up Saturday from calendar.file), a night
reminder of a blue case held for the working hours while a red case's goes out at once, and
check-config refusing a calendar file with its line numbers.

The daemon runs on the real clock, so the office's calendar and hours are written around today:
the expected deadline is counted here in Python from the same rules (2.5), independently of the
C code, and the test checks that the calendar days change it (a count without them differs)."""
import datetime
import os
import time

import lib
from lib import Broker, Daemon, Sub, assignment_topic, check, mentions, short, submit, wait_for

REPORT = "邻居在楼道堆放杂物，多次沟通无果，枫源村第一网格"
RED_REPORT = "邻居要动刀打人，枫源村一网格"
ZONE = lib.LOCAL_ZONE
HOURS = ((8, 30, 12, 0), (14, 0, 17, 30))


def write_calendar(lines):
    path = os.path.join(lib.TempDir("fqit-calendar-").path, "office-calendar.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("# the office's own calendar\n")
        for ln in lines:
            f.write(ln + "\n")
    return path


def working(day, listed):
    if day in listed:
        return listed[day]
    return day.weekday() < 5


def nth_working_day(start, n, listed):
    day = start
    while n > 0:
        day += datetime.timedelta(days=1)
        if working(day, listed):
            n -= 1
    return day


def parse_utc(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def test_sla_in_working_days_across_a_tiaoxiu_weekend():
    today = lib.local_now().date()
    # the first weekday after today is the office's holiday, the first Saturday after today a
    # make-up working day (调休上班)
    off = today + datetime.timedelta(days=1)
    while off.weekday() >= 5:
        off += datetime.timedelta(days=1)
    sat = today + datetime.timedelta(days=(5 - today.weekday()) % 7 or 7)
    listed = {off: False, sat: True}
    # the smallest count whose deadline the calendar moves (it exists: the days differ)
    n = next(k for k in range(1, 8)
             if nth_working_day(today, k, listed) != nth_working_day(today, k, {}))
    due_day = nth_working_day(today, n, listed)
    path = write_calendar([f"{off.isoformat()} off {off.year} 办公室休息日",
                           f"{sat.isoformat()} work {sat.year} 调休上班"])
    d2 = Daemon(extra={"sla.resolve_blue": f"{n}wd", "sla.accept_blue": "3wh",
                       "calendar.file": path,
                       "calendar.hours": "08:30-12:00,14:00-17:30"})
    case, _ = submit(d2, "res-wd", REPORT)
    c = d2.case(case)
    check(c.get("severity") == "blue", f"severity: {short(c)}")
    got = parse_utc(c["due_resolve"]).astimezone(ZONE)
    want = datetime.datetime(due_day.year, due_day.month, due_day.day, 17, 30, tzinfo=ZONE)
    check(got == want, f"{n}wd from {today} with {off} off and {sat} working: due {got}, "
          f"expected {want}")
    # 3 working hours from the creation time, counted inside the hours only
    created = parse_utc(c["created_at"]).astimezone(ZONE)
    left = datetime.timedelta(hours=3)
    t = created
    day = created.date()
    want_accept = None
    for _ in range(60):
        if working(day, listed):
            for h1, m1, h2, m2 in HOURS:
                rs = datetime.datetime(day.year, day.month, day.day, h1, m1, tzinfo=ZONE)
                re_ = datetime.datetime(day.year, day.month, day.day, h2, m2, tzinfo=ZONE)
                s = max(t, rs)
                if s >= re_:
                    continue
                if left <= re_ - s:
                    want_accept = s + left
                    break
                left -= re_ - s
        if want_accept:
            break
        day += datetime.timedelta(days=1)
    got_accept = parse_utc(c["due_accept"]).astimezone(ZONE)
    check(want_accept is not None and abs((got_accept - want_accept).total_seconds()) < 1,
          f"3wh from {created}: due {got_accept}, expected {want_accept}")


def closed_window():
    """Working hours that are closed now and open about 30-90 s from now, with today and
    tomorrow working days: (hours, opening instant, calendar lines)."""
    now = lib.local_now()
    opens = (now + datetime.timedelta(seconds=30)).replace(second=0, microsecond=0) \
        + datetime.timedelta(minutes=1)
    start = opens.hour * 60 + opens.minute
    end = min(start + 30, 24 * 60)
    hours = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    lines = []
    for day in (now.date(), now.date() + datetime.timedelta(days=1)):
        if day.weekday() >= 5:
            lines.append(f"{day.isoformat()} work {day.year} 值班")
    return hours, opens, lines


def test_night_reminder_waits_for_working_hours_but_red_does_not():
    b = Broker()
    sub = Sub(b)
    hours, opens, lines = closed_window()
    path = write_calendar(lines)
    d = Daemon(b, extra={"sla.accept_blue": "2s", "sla.accept_red": "2s",
                         "calendar.file": path, "calendar.hours": hours,
                         "calendar.hold_night": "true"})
    d.wait_mqtt()
    blue, _ = submit(d, "res-night-blue", REPORT)
    red, _ = submit(d, "res-night-red", RED_REPORT)
    check(d.case(red).get("severity") == "red", f"not red: {short(d.case(red))}")

    def reminders(mediator, case):
        return sub.messages(assignment_topic(mediator),
                            lambda m: mentions(m, case) and isinstance(m.payload, dict)
                            and m.payload.get("action") == "reminder")

    check(wait_for(lambda: reminders("m-li", red), 10),
          f"the red case's reminder did not go out at once; hours {hours}")
    # the blue one waits: nothing before the window opens
    quiet_until = opens.timestamp() - 3
    while time.time() < quiet_until:
        check(not reminders("m-wang", blue),
              f"blue reminder out of hours at {lib.local_now()}, window opens {opens}")
        time.sleep(0.5)
    check(wait_for(lambda: reminders("m-wang", blue), opens.timestamp() + 8 - time.time()),
          f"blue reminder not sent when the hours opened at {opens}")
    seen = time.time()
    check(seen >= opens.timestamp() - 1, f"blue reminder {opens.timestamp() - seen:.1f} s early")
    evs = [e for e in d.case(blue).get("events") or [] if e.get("type") == "reminder"]
    check(len([e for e in evs if (e.get("data") or {}).get("kind") == "accept"]) == 1,
          f"reminder events of the held case: {short(evs)}")


test_night_reminder_waits_for_working_hours_but_red_does_not.timeout = 180


def test_check_config_refuses_a_bad_calendar_with_line_numbers():
    path = write_calendar(["2026-10-01 off 2026 国庆节", "2026-10-05 work 2026",
                              "2026-10-01 off 2026"])
    d2 = Daemon(start=False, roster=None, extra={"calendar.file": path, "sla.resolve_red": "3wd",
                                    "calendar.hours": "8:30-12:00"})
    r = d2.cli("check-config")
    out = r.stdout + r.stderr
    check(r.returncode != 0, f"check-config accepted a bad calendar: {out}")
    check(f"{path}:3: 2026-10-05 is a Monday" in out, f"line 3 not named: {out}")
    check(f"{path}:4: 2026-10-01 is already given on line 2" in out, f"line 4 not named: {out}")
    check("sla.resolve_red: red cases run on calendar time" in out, f"red unit: {out}")
    check("calendar.hours" in out and "08:30-12:00,14:00-17:30" in out, f"hours form: {out}")

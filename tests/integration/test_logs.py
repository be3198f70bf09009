"""Logs: `log.level` (error|warn|info|debug, default info) applied at start and by SIGHUP, and the
`<N>` syslog priority in front of each line when stderr is the journal's stream (JOURNAL_STREAM
names stderr's device:inode, as systemd sets it), never when the variable names another file."""
import os
import re
import signal
import time

from lib import Daemon, check, wait_for

LINE = re.compile(r"^(<\d>)?ts=\S+ level=(\w+) msg=")
PRIO = {"error": "<3>", "warn": "<4>", "info": "<6>", "debug": "<7>"}


def log_lines(d):
    with open(d.log, errors="replace") as f:
        return [ln.rstrip("\n") for ln in f if LINE.match(ln)]


def set_key(d, key, value):
    """Rewrites `key = ...` in the daemon's config file."""
    with open(d.conf) as f:
        text = f.read()
    text, n = re.subn(rf"^{re.escape(key)} = .*$", f"{key} = {value}", text, flags=re.M)
    check(n == 1, f"{key} not in {d.conf}")
    with open(d.conf, "w") as f:
        f.write(text)


def journal_daemon(stream=None, level="debug"):
    d = Daemon(extra={"log.level": level}, start=False)
    open(d.log, "a").close()              # the daemon's stderr is this file
    st = os.stat(d.log)
    d.env["JOURNAL_STREAM"] = stream or f"{st.st_dev}:{st.st_ino}"
    return d.start()


def wait_log(d, pat, timeout=10):
    return wait_for(lambda: any(re.search(pat, ln) for ln in log_lines(d)), timeout)


def test_journal_stream_gets_syslog_priorities():
    d = journal_daemon()
    # a refused reload logs an error, a changed store.path a warning
    good = open(d.conf).read()
    with open(d.conf, "a") as f:
        f.write("[nosuchsection]\nx = 1\n")
    d.proc.send_signal(signal.SIGHUP)
    check(wait_log(d, r"level=error msg=SIGHUP: new configuration refused"), "no refusal logged")
    with open(d.conf, "w") as f:
        f.write(good.replace(d.db, d.db + ".other"))
    d.proc.send_signal(signal.SIGHUP)
    check(wait_log(d, r"level=warn msg=SIGHUP: store.path changed"), "no warning logged")
    check(d.stop() == 0, "daemon did not exit 0")
    lines = log_lines(d)
    seen = set()
    for ln in lines:
        m = LINE.match(ln)
        check(m.group(1) == PRIO[m.group(2)], f"line without its priority {PRIO[m.group(2)]}: {ln}")
        seen.add(m.group(2))
    check(seen >= {"error", "warn", "info", "debug"}, f"levels seen: {seen}\n" + "\n".join(lines))


def test_journal_stream_of_another_file_is_ignored():
    d = journal_daemon(stream="1:1")
    check(d.stop() == 0, "daemon did not exit 0")
    lines = log_lines(d)
    check(lines and all(ln.startswith("ts=") for ln in lines),
          "priority prefix although stderr is not the journal:\n" + "\n".join(lines))


def test_log_level_at_start_and_on_sighup():
    d = Daemon(extra={"log.level": "warn"})
    time.sleep(0.3)
    lines = log_lines(d)
    check(not any("level=info" in ln or "level=debug" in ln for ln in lines),
          "info/debug lines at log.level = warn:\n" + "\n".join(lines))
    set_key(d, "level", "debug")
    d.proc.send_signal(signal.SIGHUP)
    check(wait_log(d, r"level=info msg=configuration reloaded"), "no reload line at debug")
    set_key(d, "level", "error")
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(1.0)
    n = len(log_lines(d))
    check(d.stop() == 0, "daemon did not exit 0")
    tail = log_lines(d)[n:]
    check(not any("level=info" in ln for ln in tail),
          "info lines after SIGHUP set log.level = error:\n" + "\n".join(tail))
    r = d.cli("check-config")
    check(r.returncode == 0, f"check-config: {r.stdout}")
    set_key(d, "level", "verbose")
    r = d.cli("check-config")
    check(r.returncode == 1 and re.search(r":\d+: log\.level: .*error, warn, info or debug", r.stdout),
          f"check-config accepted log.level = verbose: {r.stdout}")

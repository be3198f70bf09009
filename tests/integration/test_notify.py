"""systemd's notify protocol (docker/fengqiao.service, Type=notify, WatchdogSec=): the daemon
started the way systemd starts it, with NOTIFY_SOCKET naming a unix datagram socket of the test
and WATCHDOG_USEC set. READY=1 only once HTTP answers, WATCHDOG=1 again and again, SIGHUP gives
RELOADING=1 (with MONOTONIC_USEC) then READY=1, SIGTERM gives STOPPING=1; the unit itself has
Type=notify, a watchdog and a reload that checks the configuration before signalling."""
import os
import re
import signal
import socket
import subprocess
import threading
import time

import lib
from lib import TempDir, check, free_port, wait_for


class NotifySocket:
    """A bound AF_UNIX datagram socket collecting (monotonic time, message) pairs."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.on_ready = None
        self.lock = threading.Lock()
        self.stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()
        lib.register(self)

    def _run(self):
        while not self.stop:
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            except OSError:
                return
            note = None
            if "READY=1" in data.split("\n") and self.on_ready:
                note = self.on_ready()     # what the test sees at the moment READY=1 arrives
            with self.lock:
                self.msgs.append((time.monotonic(), data, note))

    def all(self):
        with self.lock:
            return list(self.msgs)

    def with_var(self, var):
        return [(t, m, n) for t, m, n in self.all() if var in m.split("\n")]

    def cleanup(self):
        self.stop = True
        self.t.join(2)
        self.sock.close()


def test_notify_ready_watchdog_reload_stopping():
    t = TempDir("fqit-notify-").path
    port = free_port()
    conf = os.path.join(t, "fq.conf")
    lib.write_ini(conf, {"server": {"listen": f"127.0.0.1:{port}"},
                         "store": {"path": os.path.join(t, "fq.db")},
                         "mqtt": {"enabled": "false"}})
    ns = NotifySocket(os.path.join(t, "notify.sock"))
    ns.on_ready = lambda: lib.http_request(port, "GET", "/readyz", timeout=2).status
    env = lib.clean_env({"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "600000"})
    with open(os.path.join(t, "d.log"), "a") as log:
        p = subprocess.Popen([lib.FQ_BIN, "serve", "-c", conf], stdout=log,
                             stderr=subprocess.STDOUT, cwd=t, env=env)
    try:
        check(wait_for(lambda: ns.with_var("READY=1") or p.poll() is not None, 10),
              "no READY=1 within 10 s")
        ready = ns.with_var("READY=1")
        check(len(ready) == 1 and ready[0][2] == 200,
              f"READY=1 came before /readyz answered 200: {ready}")
        # WATCHDOG_USEC=0.6 s: a keep-alive at least every 0.3 s, idle or not
        time.sleep(1.6)
        wd = [m[0] for m in ns.with_var("WATCHDOG=1")]
        check(len(wd) >= 4, f"{len(wd)} WATCHDOG=1 in 1.6 s: {ns.all()}")
        gaps = [b - a for a, b in zip(wd, wd[1:])]
        check(max(gaps) < 0.55, f"watchdog gaps {gaps} (interval 0.6 s)")
        n_before = len(ns.all())
        p.send_signal(signal.SIGHUP)
        check(wait_for(lambda: len(ns.with_var("READY=1")) >= 2, 10), "no READY=1 after SIGHUP")
        after = [m for _, m, _ in ns.all()[n_before:] if "WATCHDOG=1" not in m.split("\n")]
        check(after and "RELOADING=1" in after[0].split("\n"),
              f"SIGHUP did not start with RELOADING=1: {after}")
        check(re.search(r"^MONOTONIC_USEC=\d+$", after[0], re.M),
              f"RELOADING=1 without MONOTONIC_USEC: {after[0]!r}")
        mono = int(re.search(r"^MONOTONIC_USEC=(\d+)$", after[0], re.M).group(1))
        check(abs(mono / 1e6 - time.monotonic()) < 30,
              f"MONOTONIC_USEC {mono} is not CLOCK_MONOTONIC")
        check(len(after) >= 2 and "READY=1" in after[1].split("\n"),
              f"RELOADING=1 not followed by READY=1: {after}")
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        check(p.returncode == 0, f"exit {p.returncode}")
        check(ns.with_var("STOPPING=1"), f"no STOPPING=1: {ns.all()[-5:]}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_watchdog_for_another_pid_is_ignored():
    """WATCHDOG_PID naming another process means the watchdog is not ours (as
    sd_watchdog_enabled decides): READY=1 is still sent, WATCHDOG=1 never."""
    t = TempDir("fqit-notify2-").path
    ns = NotifySocket(os.path.join(t, "notify.sock"))
    port = free_port()
    conf = os.path.join(t, "fq.conf")
    lib.write_ini(conf, {"server": {"listen": f"127.0.0.1:{port}"},
                         "store": {"path": os.path.join(t, "fq.db")},
                         "mqtt": {"enabled": "false"}})
    env = lib.clean_env({"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "200000",
                         "WATCHDOG_PID": "1"})
    with open(os.path.join(t, "d.log"), "a") as log:
        p = subprocess.Popen([lib.FQ_BIN, "serve", "-c", conf], stdout=log,
                             stderr=subprocess.STDOUT, cwd=t, env=env)
    try:
        check(wait_for(lambda: ns.with_var("READY=1"), 10), "no READY=1")
        time.sleep(0.8)
        check(not ns.with_var("WATCHDOG=1"), "watchdog sent although WATCHDOG_PID is not ours")
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        check(p.returncode == 0, f"exit {p.returncode}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_unit_is_notify_with_watchdog_and_checked_reload():
    with open(os.path.join(lib.ROOT, "docker", "fengqiao.service")) as f:
        unit = f.read()
    check(re.search(r"^Type=notify$", unit, re.M), "the unit is not Type=notify")
    check(re.search(r"^WatchdogSec=\d+s?$", unit, re.M), "the unit sets no WatchdogSec=")
    reloads = re.findall(r"^ExecReload=(.*)$", unit, re.M)
    check(len(reloads) == 2 and " check-config -c " in reloads[0]
          and reloads[1] == "/bin/kill -HUP $MAINPID",
          f"ExecReload= must run check-config, then kill -HUP: {reloads}")

"""Deployment: the daemon started the way the container's entrypoint starts it (variables
and *_file secrets only), SIGHUP with a valid and an invalid configuration (and the roster
re-read), online backup under load and restore, the copy taken before a migration, the broker's
password file and ACL from docker/mosquitto/, two daemons on one broker, a mosquitto bridge, and
the deployment files themselves (compose, systemd unit, make install, example config, man page,
runtime package list).

Everything runs the real binary, real mosquitto brokers and the repository's own files
(docker/entrypoint.sh, docker/mosquitto/*, docker/fengqiao.conf.example, ...), so a change to one
of those files is tested here. The container itself cannot be built on this machine (no Docker
engine); scripts/check-deploy.sh (run by CI) adds `docker-compose config` and
`systemd-analyze verify` (make deps installs both)."""
import copy
import glob
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time

import lib
from lib import (Broker, Daemon, Sub, TempDir, check, free_port, http_request, register,
                 short, wait_for)

ROOT = lib.ROOT
DOCKER = os.path.join(ROOT, "docker")
MOSQ = os.path.join(DOCKER, "mosquitto")
ONE_MESSAGE = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话1380000{:04d}"


# ---- helpers -------------------------------------------------------------------------------------
class Proc:
    """A process registered for cleanup (SIGTERM, then kill)."""

    def __init__(self, argv, log, **kw):
        with open(log, "a") as f:
            self.proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, **kw)
        self.log = log
        register(self)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def cleanup(self):
        self.stop(timeout=6)

    def text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def one_case(d, user, i=0):
    """A whole report in one message, then "1" to submit: the case number."""
    r = d.chat(user, ONE_MESSAGE.format(i))
    check(r.status == 200 and r.get("state") == "confirm", f"{user} did not reach confirm: {r}")
    r = d.chat(user, "1")
    check(r.status == 200 and r.get("case"), f"{user}: submit did not answer a case: {r}")
    return r.get("case")


def mediator_of(d, case_no):
    c = d.case(case_no)
    check(c is not None, f"case {case_no} not found")
    return c.get("mediator") or c.get("mediator_id")


def cli(*argv, cwd=None, env=None, timeout=60):
    return subprocess.run([lib.FQ_BIN, *argv], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=lib.clean_env(env))


def schema_latest():
    vers = [int(os.path.basename(p).split("_", 1)[0])
            for p in glob.glob(os.path.join(ROOT, "store", "migrations", "*.sql"))]
    return max(vers)


def user_version(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def effective_keys(conf=None):
    """section.key of every key, from `check-config -v` (the binary's own key table)."""
    r = cli("check-config", "-v", *(["-c", conf] if conf else ["-c", os.devnull]))
    check(r.returncode == 0, f"check-config -v failed: {r.stdout}{r.stderr}")
    keys, sec = set(), None
    for ln in r.stdout.splitlines():
        m = re.match(r"^\[(\w+)\]$", ln)
        if m:
            sec = m.group(1)
            continue
        m = re.match(r"^(\w+) = ", ln)
        if m and sec:
            keys.add(f"{sec}.{m.group(1)}")
    check(len(keys) > 20, f"check-config -v printed too few keys: {r.stdout}")
    return keys


# ---- brokers with the repository's password file and ACL ------------------------------------------
class RepoBroker:
    """mosquitto started from docker/mosquitto/mosquitto.conf with only the container paths and
    the listener rewritten, its password file made by docker/mosquitto/make-passwd.sh from secret
    files, and docker/mosquitto/<acl> as is."""

    def __init__(self, users, acl="acl", extra_acl=""):
        self.port = free_port()
        self.dir = TempDir("fqit-repobroker-").path
        secrets = os.path.join(self.dir, "secrets")
        os.mkdir(secrets)
        self.users = dict(users)          # name -> password
        sources = []
        plain = []
        for name, pw in self.users.items():
            if name.startswith("fengqiao"):
                p = os.path.join(secrets, name)
                with open(p, "w") as f:
                    f.write(pw + "\n")
                sources.append(f"{name}={p}")
            else:
                plain.append(f"{name}:{pw}")
        users_file = os.path.join(secrets, "mqtt_users")
        with open(users_file, "w") as f:
            f.write("# mediator apps and gateways\n" + "\n".join(plain) + "\n")
        passwd = os.path.join(self.dir, "passwd")
        r = subprocess.run(["sh", os.path.join(MOSQ, "make-passwd.sh"), passwd, *sources,
                            users_file], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"make-passwd.sh failed: {r.stdout}{r.stderr}")
        with open(passwd) as f:
            text = f.read()
        for name, pw in self.users.items():
            check(f"{name}:" in text and pw not in text, f"password file wrong for {name}")
        with open(os.path.join(MOSQ, "mosquitto.conf")) as f:
            conf = f.read()
        check(re.search(r"^allow_anonymous false$", conf, re.M), "mosquitto.conf allows anonymous")
        conf = re.sub(r"^listener 1883$", f"listener {self.port} 127.0.0.1", conf, flags=re.M)
        conf = conf.replace("/mosquitto/auth/passwd", passwd)
        acl_path = os.path.join(MOSQ, acl)
        if extra_acl:                     # the repository's file plus lines for the test only
            with open(acl_path) as f:
                text = f.read()
            acl_path = os.path.join(self.dir, "acl")
            with open(acl_path, "w") as f:
                f.write(text + "\n" + extra_acl + "\n")
        conf = conf.replace("/mosquitto/config/acl", acl_path)
        conf = conf.replace("/mosquitto/data/", self.dir + "/")
        conf += "\nuser root\n"           # the tests run as root; mosquitto would drop privileges
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = Proc(["mosquitto", "-c", self.conf], os.path.join(self.dir, "mosquitto.log"))
        if not wait_for(lambda: lib._connects(self.port), 5):
            raise RuntimeError("mosquitto (repository config) did not start: "
                               + self.proc.text()[-800:])
        register(self)

    def cleanup(self):
        self.proc.cleanup()

    def auth(self, user):
        return ["-u", user, "-P", self.users[user]] if user else []

    def pub(self, topic, payload, user="fengqiao", retain=False):
        """mosquitto_pub as user; returns the exit code (an unauthorised publish is dropped by the
        broker silently, a refused login fails)."""
        args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", "1", "-t", topic,
                "-m", payload if isinstance(payload, str)
                else json.dumps(payload, ensure_ascii=False)] + self.auth(user)
        if retain:
            args.append("-r")
        return subprocess.run(args, capture_output=True, timeout=10).returncode


class AuthSub(Sub):
    """lib.Sub logged in as a user of a RepoBroker. The subscription is confirmed by a probe that
    the daemon's user (allowed everything under fq/v1) publishes under the filter."""

    def __init__(self, broker, topic, user):
        self.user = user
        super().__init__(broker, topic=topic)

    def start(self):
        args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "1",
                "-i", self.client_id, "-t", self.topic, "-F", "%j"] + self.broker.auth(self.user)
        with open(self.path, "a") as f:
            self.proc = subprocess.Popen(args, stdout=f, stderr=subprocess.DEVNULL)
        self._wait_subscribed()
        return self

    def _wait_subscribed(self):
        probe = self.topic[:-1] + "_probe/x"
        for _ in range(40):
            self.broker.pub(probe, "probe")
            if wait_for(lambda: any(m.topic == probe for m in self._all()), 0.5):
                return
        raise RuntimeError(f"{self.user} could not subscribe to {self.topic}")


# ---- the entrypoint: variables and *_file secrets only ---------------------------------------------
def test_entrypoint_env_and_secret_files_only():
    b = Broker()
    t = TempDir("fqit-entry-").path
    secrets = os.path.join(t, "run-secrets")
    os.mkdir(secrets, 0o700)
    chat_secret, admin_token = "entry-chat-s3cret", "entry-admin-t0ken"
    for name, val in (("chat_secret", chat_secret), ("admin_token", admin_token)):
        with open(os.path.join(secrets, name), "w") as f:
            f.write(val + "\n")
    port = free_port()
    db = os.path.join(t, "state", "fengqiao.db")
    env = {
        "FENGQIAO_BIN": lib.FQ_BIN,
        "FENGQIAO_CONF": os.path.join(t, "no-such-dir", "fengqiao.conf"),   # not mounted
        "FENGQIAO_SERVER_LISTEN": f"0.0.0.0:{port}",
        "FENGQIAO_STORE_PATH": db,
        "FENGQIAO_MQTT_HOST": "127.0.0.1",
        "FENGQIAO_MQTT_PORT": str(b.port),
        "FENGQIAO_MQTT_CLIENT_ID": "fqit-entrypoint",
        "FENGQIAO_CHAT_SECRET_FILE": os.path.join(secrets, "chat_secret"),
        "FENGQIAO_ADMIN_TOKEN_FILE": os.path.join(secrets, "admin_token"),
    }
    entry = os.path.join(DOCKER, "entrypoint.sh")
    # no config file anywhere: the working directory has none either
    roster = os.path.join(t, "roster.json")
    with open(roster, "w") as f:
        json.dump(lib.base_roster(), f, ensure_ascii=False)
    r = subprocess.run(["sh", entry, "roster", "import", roster], capture_output=True, text=True,
                       cwd=t, env=lib.clean_env(env), timeout=30)
    check(r.returncode == 0, f"entrypoint roster import: {r.stdout}{r.stderr}")
    r = subprocess.run(["sh", entry, "healthcheck"], cwd=t, env=lib.clean_env(env), timeout=30,
                       capture_output=True)
    check(r.returncode != 0, "healthcheck passed with no daemon running")

    log = os.path.join(t, "daemon.log")
    p = Proc(["sh", entry], log, cwd=t, env=lib.clean_env(env))    # the image's CMD: serve
    ready = wait_for(lambda: _status(port, "/readyz") == 200 or not p.alive(), 10)
    check(ready and p.alive(), f"daemon not ready from the entrypoint: {p.text()[-1500:]}")
    check(wait_for(lambda: (http_request(port, "GET", "/readyz").get("mqtt") == "connected"), 15),
          "daemon did not connect to the broker from FENGQIAO_MQTT_* alone")
    r = subprocess.run(["sh", entry, "healthcheck"], cwd=t, env=lib.clean_env(env), timeout=30,
                       capture_output=True, text=True)
    check(r.returncode == 0, f"healthcheck failed on a running daemon: {r.stdout}{r.stderr}")

    # the secrets came from the files: a request signed with the file's secret is taken, one
    # signed with anything else is not; the admin API takes the file's token
    d = Daemon.__new__(Daemon)
    d.port, d.secret, d.token = port, chat_secret, admin_token
    case = one_case(d, "entry-res-1")
    check(lib.CASE_NO_RE.fullmatch(case), f"no case number: {case}")
    bad = d.chat("entry-res-2", "你好", secret="not-the-secret")
    check(bad.status == 401, f"a wrong secret was accepted: {bad}")
    check(d.admin("GET", "/api/v1/cases").status == 200, "the token file's token is refused")
    check(d.admin("GET", "/api/v1/cases", token="wrong").status == 401, "a wrong token passed")
    check(os.path.exists(db), f"database not at FENGQIAO_STORE_PATH {db}")
    check(os.stat(db).st_mode & 0o777 == 0o600, "database is not 0600")

    # SIGTERM reaches the daemon through the exec'ing entrypoint: exit 0
    check(p.stop(timeout=8) == 0, f"daemon under the entrypoint did not exit 0 on SIGTERM: "
          f"{p.text()[-800:]}")
    text = p.text()
    for s in (chat_secret, admin_token):
        check(s not in text, "a secret appears in the log")
    r = subprocess.run(["sh", entry, "healthcheck"], cwd=t, env=lib.clean_env(env), timeout=30,
                       capture_output=True)
    check(r.returncode != 0, "healthcheck still passes after the daemon stopped")


def _status(port, path):
    try:
        return http_request(port, "GET", path, timeout=2).status
    except OSError:
        return None


# ---- SIGHUP --------------------------------------------------------------------------------------
def test_sighup_valid_invalid_config_and_roster():
    d = Daemon(None, extra={"admin.token": "token-one"})
    d.token = "token-one"

    def admin_status(token):
        return d.admin("GET", "/api/v1/cases", token=token).status

    check(admin_status("token-one") == 200, "first token refused")
    with open(d.conf) as f:
        original = f.read()

    # a valid new configuration is taken
    with open(d.conf, "w") as f:
        f.write(original.replace("token-one", "token-two"))
    d.proc.send_signal(signal.SIGHUP)
    check(wait_for(lambda: admin_status("token-two") == 200, 5),
          f"SIGHUP did not apply a valid configuration; log:\n{d.tail()}")
    check(admin_status("token-one") == 401, "the old token still works after the reload")
    d.token = "token-two"

    # an invalid one is refused; the daemon keeps serving with the running configuration
    with open(d.conf, "w") as f:
        f.write(original.replace("token-one", "token-three") + "\n[server]\nno_such_key = 1\n")
    d.proc.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "refused" in d.tail(20), 5), f"no refusal logged:\n{d.tail()}")
    time.sleep(0.3)
    check(d.alive(), "the daemon died on an invalid configuration")
    check(admin_status("token-two") == 200, "the running configuration was dropped")
    check(admin_status("token-three") == 401, "the invalid configuration was partly applied")
    time.sleep(1.2)   # the valid reload bumped the roster generation: let the core take it now
    case = one_case(d, "hup-res-0")
    check(mediator_of(d, case) == "m-wang", "routing changed before any roster change")
    with open(d.conf, "w") as f:
        f.write(original.replace("token-one", "token-two"))

    # the roster: a hand edit of the database is not seen until SIGHUP re-reads the roster
    db = sqlite3.connect(d.db, timeout=10)
    db.execute("UPDATE mediators SET active = 0 WHERE id = 'm-wang'")
    db.commit()
    db.close()
    time.sleep(1.2)                       # past the core's once-a-second generation check
    case = one_case(d, "hup-res-1")
    check(mediator_of(d, case) == "m-wang",
          "the core re-read the roster without a generation change or SIGHUP (test premise)")
    d.proc.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "configuration reloaded" in d.tail(40), 5), "no reload logged")
    time.sleep(1.2)
    case = one_case(d, "hup-res-2")
    got = mediator_of(d, case)
    check(got and got != "m-wang", f"after SIGHUP the inactive m-wang still gets cases ({got})")
    check("roster reloaded" in d.tail(60), "the core did not log the roster reload")
    check(d.stop() == 0, "daemon did not exit 0")


# ---- backup and restore ----------------------------------------------------------------------------
def test_backup_under_load_then_restore_elsewhere():
    d = Daemon(None)
    answered = []                         # (case_no, monotonic time the 200 arrived)
    errors = []
    stop = threading.Event()
    lock = threading.Lock()

    def load(w):
        i = 0
        while not stop.is_set():
            try:
                c = one_case(d, f"bk-{w}-{i}", i)
                with lock:
                    answered.append((c, time.monotonic()))
            except Exception as e:        # reported below
                errors.append(repr(e))
                return
            i += 1

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    try:
        check(wait_for(lambda: len(answered) >= 20, 30), f"load too slow: {len(answered)}")
        out = TempDir("fqit-backup-").path
        backup = os.path.join(out, "fq-backup.db")
        t_start = time.monotonic()
        r = d.cli("backup", backup)
        t_end = time.monotonic()
        check(r.returncode == 0, f"backup failed: {r.stdout}{r.stderr}")
        time.sleep(0.5)                   # the load goes on after the backup too
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    check(not errors, f"load errors: {errors[:3]}")
    before = [c for c, at in answered if at < t_start]
    after = [c for c, at in answered if at > t_end]
    check(len(before) >= 20 and after, f"not a backup under load: {len(before)} before, "
          f"{len(after)} after")
    check(os.stat(backup).st_mode & 0o777 == 0o600, "backup is not 0600")
    check(not os.path.exists(backup + "-wal"), "backup is not a single file")

    # restoring over the running daemon's database is refused and changes nothing
    r = d.cli("restore", backup)
    check(r.returncode == 1 and "in use" in r.stderr, f"restore next to a daemon: {r}")
    check(len(d.cases("limit=10000")) == len(answered), "the refused restore changed the data")

    # a file that is not a good backup is refused before anything is touched
    junk = os.path.join(out, "junk.db")
    with open(backup, "rb") as f:
        data = bytearray(f.read())
    data[5000:9000] = b"\xff" * 4000      # damage pages in the middle
    with open(junk, "wb") as f:
        f.write(data)
    fresh = TempDir("fqit-restore-").path
    conf = os.path.join(fresh, "fengqiao.conf")
    dbf = os.path.join(fresh, "var", "fq.db")
    os.mkdir(os.path.join(fresh, "var"), 0o700)
    port = free_port()
    lib.write_ini(conf, {"store": {"path": dbf}, "mqtt": {"enabled": "false"},
                         "admin": {"token": lib.ADMIN}, "chat": {"secret": lib.SECRET},
                         "server": {"listen": f"127.0.0.1:{port}"}})
    r = cli("restore", junk, "-c", conf, cwd=fresh)
    check(r.returncode == 1 and "refused" in r.stderr, f"a damaged backup was restored: {r}")
    check(not os.path.exists(dbf) or os.path.getsize(dbf) == 0, "a refused restore wrote a db")

    # restore into a fresh place: every case answered before the backup began is there
    r = cli("restore", backup, "-c", conf, cwd=fresh)
    check(r.returncode == 0, f"restore failed: {r.stdout}{r.stderr}")
    r = cli("cases", "list", "--format", "json", "-c", conf, cwd=fresh)
    check(r.returncode == 0, f"cases list on the restored db: {r.stderr}")
    restored = set(lib.case_nos(json.loads(r.stdout)["cases"]))
    missing = [c for c in before if c not in restored]
    check(not missing, f"{len(missing)} cases answered before the backup are not in it: "
          f"{missing[:5]}")
    check(restored <= {c for c, _ in answered}, "the backup holds cases nobody was answered")

    # restoring again keeps the replaced database as a .pre-restore copy, which is a good db
    r = cli("restore", backup, "-c", conf, cwd=fresh)
    check(r.returncode == 0, f"second restore: {r.stderr}")
    kept = glob.glob(dbf + ".pre-restore-*")
    check(len(kept) == 1, f"no .pre-restore copy: {os.listdir(os.path.dirname(dbf))}")
    r = cli("restore", kept[0], "-c", conf, cwd=fresh)   # it passes restore's own checks
    check(r.returncode == 0, f"the .pre-restore copy is not a valid backup: {r.stderr}")

    # a daemon runs on the restored database
    r2 = Daemon.__new__(Daemon)
    p = Proc([lib.FQ_BIN, "serve", "-c", conf], os.path.join(fresh, "daemon.log"), cwd=fresh,
             env=lib.clean_env())
    check(wait_for(lambda: _status(port, "/readyz") == 200, 10),
          f"daemon on the restored db not ready: {p.text()[-800:]}")
    r2.port, r2.token = port, lib.ADMIN
    check(r2.case(before[0]) is not None, "restored case not served by the admin API")
    r = cli("restore", backup, "-c", conf, cwd=fresh)
    check(r.returncode == 1, "restore over a running daemon was not refused")
    check(p.stop() == 0, "daemon on the restored db did not exit 0")
    check(not os.path.exists(dbf + ".lock"), "the lock file outlived its last holder")


test_backup_under_load_then_restore_elsewhere.timeout = 120


def test_backup_usage_and_errors():
    d = Daemon(None, start=False)
    r = d.cli("backup", conf=False)
    check(r.returncode == 2, f"backup without FILE: exit {r.returncode}")
    r = d.cli("restore", "--help", conf=False)
    check(r.returncode == 0 and "restore" in r.stdout, "restore --help")
    r = d.cli("backup", d.db)
    check(r.returncode == 1 and "itself" in r.stderr, f"backup onto the database: {r}")
    r = d.cli("backup", os.path.join(d.dir, "no-such-dir", "b.db"))
    check(r.returncode == 1 and "no-such-dir" in r.stderr, f"unwritable destination: {r}")
    # a database newer than this program cannot be restored
    newer = os.path.join(d.dir, "newer.db")
    check(d.cli("backup", newer).returncode == 0, "backup")
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {schema_latest() + 1}")
    db.commit()
    db.close()
    r = d.cli("restore", newer)
    check(r.returncode == 1 and "newer" in r.stderr, f"a newer backup was accepted: {r}")
    other = os.path.join(d.dir, "other.db")
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t(x)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    r = d.cli("restore", other)
    check(r.returncode == 1 and "not a fengqiao database" in r.stderr, f"foreign db: {r}")


def test_migration_keeps_a_copy_of_the_old_database():
    t = TempDir("fqit-migrate-").path
    db = os.path.join(t, "fq.db")
    conn = sqlite3.connect(db)
    with open(os.path.join(ROOT, "store", "migrations", "0001_init.sql")) as f:
        conn.executescript(f.read())
    conn.execute("INSERT INTO kv(key, value) VALUES ('marker', 'v1-data')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    os.chmod(db, 0o600)
    conf = os.path.join(t, "fengqiao.conf")
    lib.write_ini(conf, {"store": {"path": db}, "mqtt": {"enabled": "false"}})
    r = cli("roster", "import", os.path.join(DOCKER, "demo-roster.json"), "-c", conf, cwd=t)
    check(r.returncode == 0, f"open of a v1 database failed: {r.stdout}{r.stderr}")
    baks = glob.glob(db + ".bak-v1-*")
    latest = schema_latest()
    check(user_version(db) == latest, f"database not migrated to {latest}")
    if latest == 1:
        check(not baks, "a copy was made although nothing was migrated")
        return
    check(len(baks) == 1, f"expected one .bak-v1-* copy, got {os.listdir(t)}")
    check(user_version(baks[0]) == 1, "the copy is not the old version")
    check(os.stat(baks[0]).st_mode & 0o777 == 0o600, "the copy is not 0600")
    conn = sqlite3.connect(baks[0])
    check(conn.execute("SELECT value FROM kv WHERE key='marker'").fetchone() == ("v1-data",),
          "the copy lost the old data")
    conn.close()
    check("schema upgrade" in r.stderr, "the upgrade was not logged")
    # an up-to-date database is not copied again
    r = cli("roster", "import", os.path.join(DOCKER, "demo-roster.json"), "-c", conf, cwd=t)
    check(r.returncode == 0 and len(glob.glob(db + ".bak-*")) == 1, "copied again")


# ---- the broker: password file and ACL -------------------------------------------------------------
def test_broker_passwords_and_acl_of_compose():
    users = {"fengqiao": "daemon-pw-1", "m-wang": "wang-pw", "m-chen": "chen-pw",
             "gateway-web": "gw-pw", "dashboard": "dash-pw"}
    b = RepoBroker(users)
    # no login, a wrong password: refused
    check(b.pub("fq/v1/inbound/web", "{}", user=None) != 0, "anonymous publish accepted")
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.port), "-t", "fq/v1/x", "-m", "x",
            "-u", "fengqiao", "-P", "wrong"]
    check(subprocess.run(args, capture_output=True, timeout=10).returncode != 0,
          "a wrong password was accepted")

    secret_dir = TempDir("fqit-mqttsecret-").path
    pwfile = os.path.join(secret_dir, "mqtt_password")
    with open(pwfile, "w") as f:
        f.write("daemon-pw-1\n")
    d = Daemon(b, extra={"mqtt.username": "fengqiao", "mqtt.password_file": pwfile,
                         "mqtt.client_id": "fengqiao-acl"})
    check(d.wait_mqtt("connected", 15), f"daemon did not log in: {d.get('/readyz')}")

    gw_out = AuthSub(b, "fq/v1/outbound/web/#", "gateway-web")
    wang = AuthSub(b, "fq/v1/mediators/m-wang/#", "m-wang")
    spy = AuthSub(b, "fq/v1/#", "fengqiao")            # sees what actually reaches the broker

    # a gateway speaks for its own channel only
    body = {"channel": "web", "user": "gw-res-1", "message_id": "gw-m-1", "type": "text",
            "text": ONE_MESSAGE.format(1)}
    check(b.pub("fq/v1/inbound/web", body, user="gateway-web") == 0, "gateway publish failed")
    got = gw_out.wait("fq/v1/outbound/web/gw-res-1", timeout=10)
    check(got and isinstance(got[0].payload, dict) and got[0].payload.get("state") == "confirm",
          f"the gateway did not get the answer: {short([m.raw for m in gw_out.messages()])}")
    sms = dict(body, channel="sms", user="gw-res-2", message_id="gw-m-2")
    b.pub("fq/v1/inbound/sms", sms, user="gateway-web")  # not its channel: dropped by the ACL
    time.sleep(1.5)
    check(not spy.messages("fq/v1/inbound/sms"), "the ACL let gateway-web write inbound/sms")
    check(not [m for m in spy.messages() if m.topic.startswith("fq/v1/outbound/sms/")],
          "the daemon answered a message the ACL should have dropped")

    # a mediator app gets its own assignments and can command its own cases only
    case = one_case(d, "acl-res-1")
    check(mediator_of(d, case) == "m-wang", "test premise: the case goes to m-wang")
    got = wang.wait("fq/v1/mediators/m-wang/assignments", timeout=10)
    check(got and case in got[0].raw, f"m-wang did not get the assignment: {wang.messages()}")
    chen_cmd = {"command": "accept", "case": case, "request_id": "acl-r-0"}
    b.pub("fq/v1/mediators/m-chen/commands", chen_cmd, user="m-wang")   # someone else's topic
    time.sleep(1.0)
    check(not spy.messages("fq/v1/mediators/m-chen/commands"), "m-wang wrote m-chen's commands")
    check(b.pub("fq/v1/mediators/m-wang/commands",
                {"command": "accept", "case": case, "request_id": "acl-r-1"}, user="m-wang") == 0,
          "m-wang could not publish its command")
    got = wang.wait("fq/v1/mediators/m-wang/replies", timeout=10)
    check(got, "no reply to m-wang's command")
    check(wait_for(lambda: (d.case(case) or {}).get("status") == "accepted", 5),
          f"m-wang's accept was not applied: {d.case(case)}")
    # m-chen's app cannot read m-wang's topics: its subscription gets nothing
    peek = Sub.__new__(AuthSub)
    peek.user, peek.broker, peek.topic = "m-chen", b, "fq/v1/mediators/m-wang/#"
    peek.client_id, peek.clean = "peek-chen", True
    peek.path = os.path.join(TempDir("fqit-peek-").path, "m.jsonl")
    register(peek)
    args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(b.port), "-q", "1", "-i", "peek-chen",
            "-t", peek.topic, "-F", "%j"] + b.auth("m-chen")
    with open(peek.path, "a") as f:
        peek.proc = subprocess.Popen(args, stdout=f, stderr=subprocess.DEVNULL)
    time.sleep(0.8)
    b.pub("fq/v1/mediators/m-wang/assignments", {"probe": 1})
    check(wait_for(lambda: len(wang.messages("fq/v1/mediators/m-wang/assignments")) >= 2, 5),
          "the probe did not reach m-wang")
    time.sleep(0.5)
    check(not peek._all(), f"m-chen read m-wang's topics: {peek._all()}")
    # the dashboard reads events but cannot write
    dash = AuthSub(b, "fq/v1/events/#", "dashboard")
    b.pub("fq/v1/inbound/web", dict(body, message_id="dash-1"), user="dashboard")
    case2 = one_case(d, "acl-res-2")
    check(dash.wait(lib.event_topic(case2), timeout=10), "the dashboard gets no events")
    check(len(spy.messages("fq/v1/inbound/web")) == 1, "the dashboard could write inbound/web")


test_broker_passwords_and_acl_of_compose.timeout = 90


# ---- scale-out: two daemons, one broker ------------------------------------------------------------
def county_roster(tag):
    """The test roster with every id prefixed by tag (a county of its own)."""
    r = copy.deepcopy(lib.base_roster())
    ren = {}
    for o in r["org"]:
        ren[o["id"]] = f"{tag}-{o['id']}"
    for o in r["org"]:
        o["id"] = ren[o["id"]]
        o["parent"] = ren.get(o["parent"]) if o["parent"] else None
    for m in r["mediators"]:
        m["id"] = f"{tag}-{m['id']}"
        m["org"] = ren[m["org"]]
        if m.get("chat_user"):
            m["chat_user"] = f"{tag}-{m['chat_user']}"
        m.pop("wecom_userid", None)
    for rt in r["routes"]:
        rt["org"] = ren[rt["org"]]
        rt["mediators"] = [f"{tag}-{x}" for x in rt["mediators"]]
    return r


def test_two_daemons_one_broker_own_prefixes():
    b = Broker()
    pa, pb = "fq/v1/county-a", "fq/v1/county-b"
    da = Daemon(b, extra={"mqtt.client_id": "fengqiao-county-a", "mqtt.prefix": pa})
    db = Daemon(b, extra={"mqtt.client_id": "fengqiao-county-b", "mqtt.prefix": pb},
                roster=county_roster("b"))
    check(da.wait_mqtt() and db.wait_mqtt(), "a daemon did not connect")
    sub = Sub(b, topic="fq/v1/#")
    for p, cid in ((pa, "fengqiao-county-a"), (pb, "fengqiao-county-b")):
        check(sub.wait(f"{p}/status/{cid}", timeout=10), f"no status on {p}")

    # inbound: a message on county a's topic is taken by a only, and the other way round
    for p, d, other in ((pa, da, pb), (pb, db, pa)):
        user = f"scale-res-{p[-1]}"
        b.pub(f"{p}/inbound/web", {"channel": "web", "user": user, "message_id": f"m-{user}",
                                   "type": "text", "text": ONE_MESSAGE.format(7)})
        got = sub.wait(f"{p}/outbound/web/{user}", timeout=10)
        check(got, f"{p}: the daemon did not answer its own inbound message")
    time.sleep(1.0)
    for p in (pa, pb):
        out = [m.topic for m in sub.messages() if "/outbound/" in m.topic]
        check(len([t for t in out if t.startswith(p + "/")]) == 1,
              f"{p}: expected exactly one answer, got {out}")

    # commands: a's case accepted through b's topic is not touched; through a's it is
    case = one_case(da, "scale-case-a")
    check(mediator_of(da, case) == "m-wang", "premise: a's case goes to m-wang")
    b.pub(f"{pb}/mediators/m-wang/commands", {"command": "accept", "case": case,
                                              "request_id": "x-1"})
    b.pub(f"{pb}/mediators/b-m-wang/commands", {"command": "accept", "case": case,
                                                "request_id": "x-2"})
    check(sub.wait(f"{pb}/mediators/b-m-wang/replies", timeout=10),
          "b did not answer the command on its own topic")
    time.sleep(0.5)
    check(da.case(case).get("status") == "assigned", "county a took a command sent to county b")
    check(not db.cases(), "county b holds cases it never received")
    b.pub(f"{pa}/mediators/m-wang/commands", {"command": "accept", "case": case,
                                              "request_id": "x-3"})
    check(wait_for(lambda: da.case(case).get("status") == "accepted", 10),
          "county a did not take the command on its own topic")
    check(not sub.messages(f"{pa}/mediators/m-wang/replies", lambda m: "x-1" in m.raw),
          "county a answered a command of county b's topic")


test_two_daemons_one_broker_own_prefixes.timeout = 90


def test_same_prefix_daemons_would_both_take_inbound():
    """Why README says one prefix per daemon: two daemons on one prefix both take every inbound
    message (MQTT delivers it to every subscriber), so a resident would get two answers."""
    b = Broker()
    d1 = Daemon(b, extra={"mqtt.client_id": "fengqiao-one"})
    d2 = Daemon(b, extra={"mqtt.client_id": "fengqiao-two"})
    check(d1.wait_mqtt() and d2.wait_mqtt(), "a daemon did not connect")
    sub = Sub(b, topic="fq/v1/outbound/#")
    b.pub("fq/v1/inbound/web", {"channel": "web", "user": "twice", "message_id": "m-twice",
                                "type": "text", "text": "你好"})
    got = sub.wait("fq/v1/outbound/web/twice", count=2, timeout=10)
    check(len(got) == 2, f"expected both daemons to answer, got {len(got)}")


# ---- a mosquitto bridge carries one county's reports to the city's broker -------------------------
def test_bridge_forwards_reports_only():
    city = RepoBroker({"dashboard": "city-dash-pw", "county-a-bridge": "CHANGE-ME",
                       "fengqiao": "unused-pw", "auditor": "audit-pw"}, acl="acl.city",
                      extra_acl="user auditor\ntopic read fq/v1/#")
    county = Broker()
    with open(os.path.join(MOSQ, "bridge.conf.example")) as f:
        bridge = f.read()
    check("topic fq/v1/county-a/reports/# out 1" in bridge, "bridge example changed")
    bridge = re.sub(r"^address .*$", f"address 127.0.0.1:{city.port}", bridge, flags=re.M)
    with open(county.conf, "a") as f:
        f.write("\n" + bridge)
    county.stop()
    county.start()
    report = {"org": "county-a", "month": "2026-10", "received": 12, "event_id": "rep-1"}
    county.pub("fq/v1/county-a/reports/county-a/monthly", report, retain=True)
    county.pub("fq/v1/county-a/events/cases/FQ20261101-0001", {"type": "created"}, retain=True)
    county.pub("fq/v1/county-a/inbound/web", {"x": 1}, retain=True)

    def city_sees(user, wait=2):
        """What a subscriber that connects to the city broker now gets: retained messages."""
        args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(city.port), "-q", "1", "-t",
                "fq/v1/#", "-F", "%r %t %p", "-W", str(wait)] + city.auth(user)
        r = subprocess.run(args, capture_output=True, text=True, timeout=15)
        return [ln for ln in r.stdout.splitlines() if ln.strip()]

    def report_lines(user):
        return [ln for ln in city_sees(user, 1)
                if " fq/v1/county-a/reports/county-a/monthly " in ln]

    rep = wait_for(lambda: report_lines("dashboard"), 15, 0.2)
    check(rep, "the report did not reach the city broker (or the dashboard may not read it)")
    check(rep[0].startswith("1 "), f"the report is not retained on the city broker: {rep[0]}")
    check(json.loads(rep[0].split(" ", 2)[2]) == report, f"payload changed: {rep[0]}")
    lines = city_sees("auditor")
    check([ln for ln in lines if "/reports/" in ln], f"the auditor sees nothing: {lines}")
    check(not [ln for ln in lines if "/events/" in ln or "/inbound/" in ln],
          f"the bridge forwarded more than reports and alerts: {lines}")


# ---- the deployment files ---------------------------------------------------------------------------
def test_example_config_covers_every_key_and_is_valid():
    path = os.path.join(DOCKER, "fengqiao.conf.example")
    keys = effective_keys()
    listed, sec = set(), None
    with open(path) as f:
        text = f.read()
    for ln in text.splitlines():
        m = re.match(r"^\[(\w+)\]$", ln)
        if m:
            sec = m.group(1)
        m = re.match(r"^#(\w+) =", ln)
        if m and sec and not m.group(1).endswith("_file"):
            listed.add(f"{sec}.{m.group(1)}")
    check(keys == listed, f"docker/fengqiao.conf.example: missing {sorted(keys - listed)}, "
          f"unknown {sorted(listed - keys)}")
    r = cli("check-config", "-c", path)
    check(r.returncode == 0, f"the example as shipped is invalid: {r.stdout}")
    t = TempDir("fqit-example-").path
    on = os.path.join(t, "all.conf")
    with open(on, "w") as f:        # every setting uncommented (the value forms, not *_file)
        for ln in text.splitlines():
            if re.match(r"^#\w+ =", ln) and not re.match(r"^#\w+_file =", ln):
                ln = ln[1:]
            f.write(ln + "\n")
    r = cli("check-config", "-c", on)
    check(r.returncode == 0, f"the example's values are invalid: {r.stdout}")


def test_readme_and_man_page_cover_keys_and_commands():
    keys = effective_keys()
    man = os.path.join(ROOT, "docs", "fengqiao.8")
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", man], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0 and not r.stderr.strip(), f"groff warnings: {r.stderr}")
    r = subprocess.run(["groff", "-man", "-Tutf8", "-P-c", "-P-b", "-P-u", man],
                       capture_output=True, text=True, timeout=30)
    text = r.stdout.replace("\u2010", "-").replace("\u2212", "-")
    text = re.sub(r"\s+", "", text)      # keys may wrap between lines
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for k in sorted(keys):
        check(k in text, f"docs/fengqiao.8 does not mention {k}")
        sec, name = k.split(".")
        check(f"`{k}`" in readme or re.search(rf"`{sec}\.[^`]*\b{name}\b", readme)
              or f"`_{name.split('_')[-1]}`" in readme,
              f"README.md does not document {k}")
    usage = cli("--help").stdout
    cmds = sorted(set(re.findall(r"^  ([a-z][a-z-]+)", usage, re.M)))
    check("backup" in cmds and "restore" in cmds, f"usage lacks backup/restore: {usage}")
    for c in cmds:
        check(f"fengqiao{c}" in text, f"docs/fengqiao.8 has no synopsis for {c}")
    for c in ("serve", "check-config", "backup", "restore"):
        check(f"fengqiao {c}" in readme, f"README.md does not list fengqiao {c}")


def test_make_install_layout_and_systemd_unit():
    t = TempDir("fqit-install-").path
    prefix = os.path.join(t, "usr")
    # -o: install the binary under test as it is (never relink it here)
    r = subprocess.run(["make", "-s", "-o", lib.FQ_BIN, "install", f"PREFIX={prefix}",
                        "DESTDIR=", f"BIN={lib.FQ_BIN}"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    check(r.returncode == 0, f"make install failed: {r.stdout}{r.stderr}")
    binp = os.path.join(prefix, "bin", "fengqiao")
    for p in (binp, os.path.join(prefix, "share", "fengqiao", "locales", "zh-CN.json"),
              os.path.join(prefix, "share", "doc", "fengqiao", "fengqiao.conf.example"),
              os.path.join(prefix, "share", "man", "man8", "fengqiao.8"),
              os.path.join(prefix, "lib", "systemd", "system", "fengqiao.service")):
        check(os.path.exists(p), f"make install did not install {p}")
    unit_path = os.path.join(prefix, "lib", "systemd", "system", "fengqiao.service")
    with open(unit_path) as f:
        unit = f.read()
    check(f"ExecStart={binp} serve" in unit, "ExecStart not rewritten to PREFIX")
    for line in ("DynamicUser=yes", "StateDirectory=fengqiao", "ProtectSystem=strict",
                 "NoNewPrivileges=yes", "PrivateTmp=yes",
                 "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "Restart=on-failure",
                 "ExecReload=/bin/kill -HUP $MAINPID"):
        check(re.search(rf"^{re.escape(line)}$", unit, re.M), f"unit lacks {line}")
    # make deps installs systemd-analyze; it also runs man for Documentation=man:fengqiao(8),
    # so the installed page must be found
    check(shutil.which("systemd-analyze"), "systemd-analyze is missing: run make deps")
    env = dict(os.environ, MANPATH=os.path.join(prefix, "share", "man") + ":")
    r = subprocess.run(["systemd-analyze", "verify", unit_path], capture_output=True,
                       text=True, timeout=60, env=env)
    check(r.returncode == 0, f"systemd-analyze verify: {r.stdout}{r.stderr}")
    # the installed binary finds its locales under PREFIX/share (no ../locales next to it)
    port = free_port()
    conf = os.path.join(t, "fq.conf")
    lib.write_ini(conf, {"server": {"listen": f"127.0.0.1:{port}"},
                         "store": {"path": os.path.join(t, "fq.db")},
                         "mqtt": {"enabled": "false"}})
    env = {k: v for k, v in lib.clean_env().items() if k != "FENGQIAO_LOCALES"}
    p = Proc([binp, "serve", "-c", conf], os.path.join(t, "d.log"), cwd=t, env=env)
    check(wait_for(lambda: _status(port, "/readyz") == 200 or not p.alive(), 10) and p.alive(),
          f"installed binary did not start: {p.text()[-600:]}")
    check(p.stop() == 0, "installed binary did not exit 0")


test_make_install_layout_and_systemd_unit.timeout = 300


def test_runtime_packages_cover_the_binary_and_compose_files():
    # deriving the list reads apt's cache: seconds on a loaded machine
    r = subprocess.run(["sh", os.path.join(ROOT, "scripts", "deps.sh"), "--list", "runtime"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"deps.sh --list runtime: {r.stderr}")
    runtime = set(r.stdout.split())
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                        subprocess.run(["readelf", "-d", lib.FQ_BIN], capture_output=True,
                                       text=True).stdout)
    ldd = subprocess.run(["ldd", lib.FQ_BIN], capture_output=True, text=True).stdout
    for so in needed:
        m = re.search(rf"^\s*{re.escape(so)} => (\S+)", ldd, re.M)
        check(m, f"ldd does not resolve {so}")
        path = os.path.realpath(m.group(1))
        pk = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if pk.returncode != 0:
            pk = subprocess.run(["dpkg", "-S", m.group(1)], capture_output=True, text=True)
        pkg = pk.stdout.split(":", 1)[0]
        if re.match(r"^(libasan|libubsan|liblsan|libtsan|libgcc-s|libstdc\+\+)", pkg):
            continue                      # the sanitizer build's toolchain libraries
        check(pkg == "libc6" or pkg in runtime,
              f"{so} comes from {pkg}, which scripts/deps.sh runtime does not install")
    with open(os.path.join(DOCKER, "Dockerfile")) as f:
        df = f.read()
    check("scripts/deps.sh build" in df and "deps.sh runtime" in df,
          "the Dockerfile does not use scripts/deps.sh")
    check(re.search(r"^HEALTHCHECK [^\n]*\\\n\s*CMD \[[^\n]*\"healthcheck\"\]", df, re.M),
          "no HEALTHCHECK running the entrypoint's probe")
    check(re.search(r"^USER fengqiao$", df, re.M), "the image does not run as a non-root user")
    check(subprocess.run(["sh", "-n", os.path.join(DOCKER, "entrypoint.sh")]).returncode == 0,
          "entrypoint.sh has a syntax error")
    check(shutil.which("docker-compose"), "docker-compose is missing: run make deps")
    for name in ("compose.yaml", "compose.scale.yaml"):
        r = subprocess.run(["docker-compose", "-f", os.path.join(DOCKER, name), "config",
                            "-q"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"docker-compose config {name}: {r.stderr}")
